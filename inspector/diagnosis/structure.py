"""Structural checks: the graph is a well-formed dataflow graph with something to feed and fetch.

EMPTY_GRAPH, DUPLICATE_NODE, MISSING_INPUT (an input names a node that does not exist), CYCLE
(outside while loops: the NextIteration -> Merge back edges of control flow v1 are how loops are
written and are not cycles), NO_INPUTS and NO_OUTPUTS. Each check takes a :class:`GraphIndex`.
"""

from __future__ import annotations

from inspector import tfops
from inspector.diagnosis.findings import Finding
from inspector.diagnosis.graphindex import DT_RESOURCE, DT_VARIANT, GraphIndex, accepts_graph_def, attr_type

_SHOWN = 10  # names listed in a message; the evidence keeps up to 50


def _names(items: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


@accepts_graph_def
def check_empty(index: GraphIndex) -> list[Finding]:
    if index.nodes:
        return []
    functions = len(index.graph_def.library.function)
    return [Finding(
        "EMPTY_GRAPH", "error",
        "The graph has no nodes" + (f" (only {functions} library functions)" if functions else "")
        + ": an empty or failed write, or a graph exported before anything was built in it.",
        "Write the graph again after building the model (tf.io.write_graph(sess.graph_def, ...) "
        "or freeze from the checkpoint with ckpt2pb's `freeze`).",
        {"nodes": 0, "functions": functions})]


@accepts_graph_def
def check_duplicates(index: GraphIndex) -> list[Finding]:
    if not index.duplicates:
        return []
    names = sorted(index.duplicates)
    return [Finding(
        "DUPLICATE_NODE", "error",
        f"{len(names)} node name(s) occur more than once: {_names(names)}. TensorFlow refuses to "
        "import such a graph ('Node ... is not unique').",
        "The file was concatenated or edited by hand; regenerate it, or rename/remove the duplicates.",
        {"duplicates": {n: index.duplicates[n] for n in names[:50]}})]


@accepts_graph_def
def check_missing_inputs(index: GraphIndex) -> list[Finding]:
    missing = [(name, source.node) for name, inputs in index.inputs.items() for source in inputs
               if source.node not in index.nodes]
    if not missing:
        return []
    targets = sorted({target for _, target in missing})
    return [Finding(
        "MISSING_INPUT", "error",
        f"{len(missing)} input(s) name node(s) that are not in the graph: {_names(targets)} "
        f"(needed by {_names(sorted({n for n, _ in missing}))}). Import fails with "
        "'Unknown input node'.",
        "The graph was pruned or edited without its producers (or weights were stripped); re-export "
        "it whole, or freeze again with outputs whose ancestors are all kept.",
        {"missing": [{"node": n, "input": t} for n, t in missing[:50]], "count": len(missing)})]


@accepts_graph_def
def check_cycles(index: GraphIndex) -> list[Finding]:
    if not _has_cycle(index):
        return []
    import networkx as nx  # only to name a cycle once one is known to exist

    graph = nx.DiGraph()
    graph.add_nodes_from(index.nodes)
    for name, inputs in index.inputs.items():
        for source in inputs:
            if source.node in index.nodes and index.op(source.node) not in tfops.NEXT_ITERATIONS:
                graph.add_edge(source.node, name)
    cyclic = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    cyclic += [{n} for n in graph.nodes if graph.has_edge(n, n)]
    if not cyclic:
        return []
    loop = nx.find_cycle(graph.subgraph(cyclic[0]))
    path = [edge[0] for edge in loop]
    return [Finding(
        "CYCLE", "error",
        f"{len(cyclic)} cycle(s) outside while loops (no NextIteration closes them), e.g. "
        f"{' -> '.join(path[:8])}{' -> …' if len(path) > 8 else ''} -> {path[0]}. TensorFlow cannot "
        "schedule such a graph.",
        "An input was rewired to one of its own consumers; restore the original input, or re-export "
        "the graph.",
        {"cycles": len(cyclic), "example": path[:50], "nodes": sorted(set().union(*cyclic))[:50]})]


@accepts_graph_def
def check_no_inputs(index: GraphIndex) -> list[Finding]:
    if not index.outputs:
        return []
    needed = index.needed
    if any(index.op(n) in tfops.PLACEHOLDERS for n in needed):
        return []
    feeders = sorted(n for n in needed if tfops.is_input_pipeline(index.op(n)))
    producers = [n for n in feeders if index.op(n) in tfops.DATA_PRODUCERS] or feeders
    if feeders:
        message = (f"No Placeholder feeds the outputs: the model reads its input from a pipeline "
                   f"({_names(feeders)}), so a caller cannot feed it data.")
        fix = ("Rebuild the inference graph with a tf.compat.v1.placeholder in place of the iterator and "
               "freeze that, or map the input in at import: import_graph_def(..., input_map="
               f"{{'{producers[0]}': your_tensor}}).")
    else:
        message = "No Placeholder feeds the outputs: they are computed from constants only."
        fix = ("If the model should take input, freeze a graph that has a placeholder for it "
               "(an input replaced by a constant at export time cannot be fed).")
    return [Finding("NO_INPUTS", "warning", message, fix,
                    {"outputs": index.outputs[:50], "pipeline_nodes": feeders[:50]})]


@accepts_graph_def
def check_no_outputs(index: GraphIndex) -> list[Finding]:
    if not index.nodes or index.outputs:
        return []
    sinks = index.sinks
    return [Finding(
        "NO_OUTPUTS", "error",
        f"Nothing in the graph computes a result: every end node ({_names(sinks)}) is bookkeeping — a "
        "NoOp, Const, Placeholder, assignment, save or summary.",
        "Freeze again naming the node that computes the prediction (ckpt2pb's freeze with --auto-outputs "
        "ranks the candidates).",
        {"sinks": [{"node": n, "op": index.op(n)} for n in sinks[:50]]})]


@accepts_graph_def
def check_unfeedable_placeholders(index: GraphIndex) -> list[Finding]:
    """DT_RESOURCE / DT_VARIANT placeholders the outputs need (other than captured variables).

    A TF2 function graph exported with ``graph.as_graph_def()`` turns every captured resource
    (lookup tables, iterators, TensorLists) into such a placeholder; no session can feed one.
    """
    needed = index.inference_path
    found = []
    for name in index.nodes:
        node = index.nodes[name]
        dtype = attr_type(node, "dtype")
        if node.op != "Placeholder" or dtype not in (DT_RESOURCE, DT_VARIANT) or name not in needed:
            continue
        users = [c for c, _, _ in index.consumers[name]]
        if dtype == DT_RESOURCE and users and all(index.op(c) in tfops.RESOURCE_READS for c in users):
            continue  # a captured variable: NOT_FROZEN
        found.append({"node": name, "dtype": "resource" if dtype == DT_RESOURCE else "variant",
                      "consumers": users[:5]})
    if not found:
        return []
    shown = ", ".join(f"'{f['node']}' ({f['dtype']}, read by {', '.join(f['consumers'][:2])})"
                      for f in found[:5])
    return [Finding(
        "UNFEEDABLE_PLACEHOLDER", "error",
        f"{len(found)} placeholder(s) the outputs need hold a resource or variant that no caller can "
        f"feed: {shown}. This is what a TF2 function's captured tables, iterators or lists become when "
        "its graph is exported as a plain GraphDef.",
        "Export through tf.saved_model.save (which keeps resources and their initializers), or freeze "
        "with convert_variables_to_constants_v2 and initialise tables inside the graph.",
        {"placeholders": found[:50]})]


@accepts_graph_def
def check_device_pins(index: GraphIndex) -> list[Finding]:
    """Explicit device strings other than CPU: a frozen graph carrying them may fail to place."""
    pinned: dict[str, list[str]] = {}
    for name, node in index.nodes.items():
        device = node.device
        if device and "CPU" not in device.upper():
            pinned.setdefault(device, []).append(name)
    if not pinned:
        return []
    devices = sorted(pinned)
    total = sum(len(v) for v in pinned.values())
    return [Finding(
        "DEVICE_PINNED", "info",
        f"{total} node(s) are pinned to {', '.join(devices[:4])}: a TF1 Session without "
        "allow_soft_placement fails on a machine that lacks that device ('Cannot assign a device').",
        "Import with clear_devices (import_meta_graph) or strip node.device before freezing, or run with "
        "ConfigProto(allow_soft_placement=True).",
        {"devices": {d: pinned[d][:20] for d in devices}})]


CHECKS = (check_empty, check_duplicates, check_missing_inputs, check_cycles, check_no_inputs,
          check_no_outputs, check_unfeedable_placeholders, check_device_pins)


def _has_cycle(index: GraphIndex) -> bool:
    """Kahn's algorithm over data and control edges, loop back edges (NextIteration) left out."""
    ops, back = index.ops, tfops.NEXT_ITERATIONS
    indegree = dict.fromkeys(index.nodes, 0)
    for name, inputs in index.inputs.items():
        for source in inputs:
            op = ops.get(source.node)
            if op is not None and op not in back:
                indegree[name] += 1
    ready = [name for name, count in indegree.items() if count == 0]
    visited = 0
    while ready:
        name = ready.pop()
        visited += 1
        if ops[name] in back:
            continue
        for consumer, _, _ in index.consumers[name]:
            indegree[consumer] -= 1
            if indegree[consumer] == 0:
                ready.append(consumer)
    return visited < len(indegree)
