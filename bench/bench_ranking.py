"""Output-ranking speed on a synthetic 50,000-node TF1 training graph (a benchmark, not a test).

The graph is built with our own protobuf classes (no TensorFlow): a stack of residual dense
blocks with ref variables, initializers, a softmax loss against labels, one gradient chain per
layer, Momentum updates with slots, summaries, a saver and a global step — the proportions of a
real training graph, where the forward pass is a small part of the nodes.

Prints the timings (median of several runs, each on a fresh GraphModel so no cache helps; wall
time and CPU time, since a shared machine inflates wall time) and,
as its last line, a JSON object with the figures (``make bench`` collects it).
Target: ranking (outputs and inputs together, graph model already built) under 1 s.

Usage: python bench/bench_ranking.py [--nodes 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspector.graph.model import GraphModel
from inspector.proto import pb

FLOAT = pb.DataType.DT_FLOAT
INT64 = pb.DataType.DT_INT64


class _Graph:
    def __init__(self) -> None:
        self.graph = pb.GraphDef()

    def add(self, name: str, op: str, *inputs: str, shape: tuple[int, ...] | None = None,
            dtype: int = FLOAT) -> str:
        node = self.graph.node.add(name=name, op=op)
        node.input.extend(inputs)
        node.attr["dtype" if op in ("VariableV2", "Placeholder", "Const") else "T"].type = dtype
        if shape is not None:
            for dim in shape:
                node.attr["shape"].shape.dim.add(size=dim)
        return name

    def variable(self, name: str, shape: tuple[int, ...]) -> str:
        self.add(name, "VariableV2", shape=shape)
        init = self.add(f"{name}/Initializer/random", "Const", shape=shape)
        self.add(f"{name}/Assign", "Assign", name, init)
        return self.add(f"{name}/read", "Identity", name)


def build_graph(target_nodes: int) -> pb.GraphDef:
    """Residual dense blocks until the graph holds about ``target_nodes`` nodes."""
    g = _Graph()
    x = g.add("inputs", "Placeholder", shape=(-1, 64))
    labels = g.add("labels", "Placeholder", shape=(-1,), dtype=INT64)
    g.variable("global_step", ())
    lr = g.add("learning_rate", "Const")
    momentum = g.add("momentum", "Const")
    seed = g.add("gradients/grad_ys_0", "Const")
    per_block = 53
    blocks = max(1, (target_nodes - 40) // per_block)
    net, grads, updates = x, [], []
    for b in range(blocks):
        scope = f"block{b}"
        skip = net
        for k in range(2):
            w = g.variable(f"{scope}/dense{k}/kernel", (64, 64))
            bias = g.variable(f"{scope}/dense{k}/bias", (64,))
            mm = g.add(f"{scope}/dense{k}/MatMul", "MatMul", net, w)
            net = g.add(f"{scope}/dense{k}/BiasAdd", "BiasAdd", mm, bias)
            net = g.add(f"{scope}/dense{k}/Relu", "Relu", net)
            grads.append((f"{scope}/dense{k}", net, mm))
        net = g.add(f"{scope}/add", "AddV2", net, skip)
        g.add(f"{scope}/activations", "HistogramSummary", g.add(f"{scope}/tag", "Const"), net)
    logits = g.add("logits/BiasAdd", "BiasAdd", g.add("logits/MatMul", "MatMul", net,
                                                        g.variable("logits/kernel", (64, 10))),
                   g.variable("logits/bias", (10,)))
    g.add("probabilities", "Softmax", logits)
    xent = g.add("loss/xent", "SparseSoftmaxCrossEntropyWithLogits", logits, labels)
    loss = g.add("loss/Mean", "Mean", xent, g.add("loss/axis", "Const"))
    g.add("loss/summary", "ScalarSummary", g.add("loss/tag", "Const"), loss)
    upstream = g.add("gradients/Fill", "Fill", g.add("gradients/Shape", "Shape", loss), seed)
    for scope, act, mm in reversed(grads):
        relu_grad = g.add(f"gradients/{scope}/Relu_grad/ReluGrad", "ReluGrad", upstream, act)
        bias_grad = g.add(f"gradients/{scope}/BiasAdd_grad/BiasAddGrad", "BiasAddGrad", relu_grad)
        w_grad = g.add(f"gradients/{scope}/MatMul_grad/MatMul_1", "MatMul", mm, relu_grad)
        upstream = g.add(f"gradients/{scope}/MatMul_grad/MatMul", "MatMul", relu_grad, f"{scope}/kernel/read")
        for var, grad in ((f"{scope}/kernel", w_grad), (f"{scope}/bias", bias_grad)):
            slot = g.variable(f"{var}/Momentum", (64,))
            updates.append("^" + g.add(f"Momentum/update_{var}/ApplyMomentum", "ApplyMomentum",
                                       var, slot[: -len("/read")], lr, grad, momentum))
    step = g.add("Momentum/global_step", "AssignAdd", "global_step", g.add("Momentum/one", "Const"))
    g.add("train_op", "NoOp", *updates, "^" + step)
    g.add("save/SaveV2", "SaveV2", g.add("save/Const", "Const"), g.add("save/names", "Const"),
          g.add("save/slices", "Const"), *[n.name for n in g.graph.node if n.op == "VariableV2"][:500])
    return g.graph


def main(argv: list[str] | None = None) -> int:
    from inspector.graph.index import GraphIndex
    from inspector.ranking import rank_inputs, rank_outputs
    from inspector.roles import _gc_paused, roles_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    graph_def = build_graph(args.nodes)
    start = time.perf_counter()
    model = GraphModel.from_graph_def(graph_def)
    model_s = time.perf_counter() - start
    index_times, ranking_times, cpu_times, roles_s = [], [], [], []
    top = None
    for _ in range(args.runs):
        model = GraphModel.from_graph_def(graph_def)  # fresh object: the roles cache is empty
        with _gc_paused():  # as inside roles_of()
            start = time.perf_counter()
            GraphIndex.from_model(model)
            index_times.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        roles_of(model)
        roles_s.append(time.perf_counter() - start)
        outputs = rank_outputs(model)
        rank_inputs(model)
        ranking_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        top = outputs[0].name
    figures = {
        "nodes": len(graph_def.node),
        "edges": model.g.number_of_edges(),
        "graph_model_build_s": round(model_s, 3),
        "index_build_s_median": round(statistics.median(index_times), 3),
        "roles_s_median": round(statistics.median(roles_s), 3),
        "ranking_s_median": round(statistics.median(ranking_times), 3),
        "ranking_s_max": round(max(ranking_times), 3),
        "ranking_cpu_s_median": round(statistics.median(cpu_times), 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "top_output": top,
        "target_s": 1.0,
    }
    print(f"graph: {figures['nodes']} nodes, {figures['edges']} edges "
          f"(GraphModel built in {figures['graph_model_build_s']} s, not counted)")
    print(f"ranking outputs + inputs: median {figures['ranking_s_median']} s over {args.runs} runs "
          f"(max {figures['ranking_s_max']} s; of which the roles pass {figures['roles_s_median']} s, "
          f"the integer index {figures['index_build_s_median']} s); "
          f"CPU time median {figures['ranking_cpu_s_median']} s "
          f"(load average {figures['load_average_1min']} on {os.cpu_count()} CPUs); top output: {top}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
