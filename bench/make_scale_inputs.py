"""Build (once) the inputs of the scale benchmarks (issue 12): big frozen graphs, a big training graph,
a long chain.

  frozen263   a frozen MLP GraphDef: 63 layers of MatMul(1024x1024 float32 Const) + BiasAdd + Relu,
              ~265 MB, almost all of it Const ``tensor_content``
  frozen2g    the same with 127 layers of 2048x2048: ~2.13 GB, just under protobuf's 2 GiB limit
  train260k   a TF1 training graph with ~20k variables (100 towers x 100 small dense layers, Adam, Saver,
              summaries): its ``.meta`` as ``Saver.save`` writes it, and a checkpoint of every saved
              variable (weights, Adam slots, beta powers, global_step; seeded values) written by SaveV2
              (TensorFlow builds both; the graph itself is never run)
  chain1m     a GraphDef of one Placeholder and 10^6 unary ops in a chain

The frozen graphs and the chain are written without TensorFlow, node by node with ckpt2pb's streaming
writer (so building them takes little memory); TensorFlow imports them like any GraphDef. Weights are
seeded pseudo-random float32 values. Each input is cached under ``--out`` (default bench/work/scale,
git-ignored) with a JSON stamp of its configuration; a second run with the same configuration does nothing.

Usage: python bench/make_scale_inputs.py [--out DIR] [--only frozen263,frozen2g,train260k,chain1m] [--force]
Prints one JSON object: input name -> path (the checkpoint prefix for train260k).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = HERE / "work" / "scale"
sys.path.insert(0, str(ROOT))

CONFIGS = {
    "frozen263": {"kind": "frozen", "layers": 63, "width": 1024, "seed": 1},
    "frozen2g": {"kind": "frozen", "layers": 127, "width": 2048, "seed": 2},
    "train260k": {"kind": "train", "towers": 100, "layers": 100, "width": 4, "seed": 3},
    "chain1m": {"kind": "chain", "length": 1_000_000},
}
OUTPUTS = {"frozen263": "output", "frozen2g": "output", "chain1m": "output"}
FILES = {"frozen": "frozen.pb", "chain": "chain.pb", "train": "model.ckpt-1"}


def _node(name: str, op: str, inputs=(), **attrs):
    from inspector.proto import pb

    node = pb.NodeDef(name=name, op=op)
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node


def _type_attr(dtype: int):
    from inspector.proto import pb

    return pb.AttrValue(type=dtype)


def _frozen_items(layers: int, width: int, seed: int):
    """Placeholder -> layers x (MatMul with a Const kernel, BiasAdd with a Const bias, Relu) -> output."""
    import numpy as np

    from freezer.writer import StreamedConst
    from inspector.proto import pb

    f32 = _type_attr(1)
    shape = pb.AttrValue(shape=pb.TensorShapeProto(dim=[pb.TensorShapeProto.Dim(size=-1),
                                                        pb.TensorShapeProto.Dim(size=width)]))
    yield _node("input", "Placeholder", dtype=f32, shape=shape)
    rng = np.random.default_rng(seed)
    previous = "input"
    for i in range(layers):
        scope = f"dense_{i}"

        def kernel_chunks(i=i):
            block = np.random.default_rng(seed * 100003 + i)
            for _ in range(width // 256):
                yield (block.standard_normal((256, width), dtype=np.float32) * 0.02).tobytes()

        yield StreamedConst(f"{scope}/kernel", 1, (width, width), width * width * 4, kernel_chunks)
        bias = (rng.standard_normal(width, dtype=np.float32) * 0.02).tobytes()
        yield StreamedConst(f"{scope}/bias", 1, (width,), width * 4, lambda b=bias: [b])
        yield _node(f"{scope}/MatMul", "MatMul", [previous, f"{scope}/kernel"], T=f32,
                    transpose_a=pb.AttrValue(b=False), transpose_b=pb.AttrValue(b=False))
        yield _node(f"{scope}/BiasAdd", "BiasAdd", [f"{scope}/MatMul", f"{scope}/bias"], T=f32)
        yield _node(f"{scope}/Relu", "Relu", [f"{scope}/BiasAdd"], T=f32)
        previous = f"{scope}/Relu"
    yield _node("output", "Identity", [previous], T=f32)


def _chain_items(length: int):
    """Placeholder -> ``length`` unary ops (Relu, Tanh, Sigmoid, Identity in turn) -> output."""
    from inspector.proto import pb

    f32 = _type_attr(1)
    yield _node("input", "Placeholder", dtype=f32, shape=pb.AttrValue(shape=pb.TensorShapeProto()))
    ops = ("Relu", "Tanh", "Sigmoid", "Identity")
    previous = "input"
    template = _node("x", "Relu", T=f32)
    for i in range(length - 1):
        node = pb.NodeDef()
        node.CopyFrom(template)
        node.name = f"chain/op_{i}"
        node.op = ops[i % 4]
        node.input.append(previous)
        yield node
        previous = node.name
    yield _node("output", "Identity", [previous], T=f32)


def _write_graph(path: Path, items) -> None:
    from freezer import writer
    from inspector.proto import pb

    versions = pb.VersionDef(producer=1087, min_consumer=0)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        writer.write_binary(fh, items, None, versions)
    os.replace(tmp, path)


def build(name: str, out: Path, force: bool) -> str:
    config = CONFIGS[name]
    folder = out / name
    stamp = folder / "stamp.json"
    target = folder / FILES[config["kind"]]
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("config") == config:
        return str(target)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if config["kind"] == "frozen":
        _write_graph(target, _frozen_items(config["layers"], config["width"], config["seed"]))
        facts = {"bytes": target.stat().st_size}
    elif config["kind"] == "chain":
        _write_graph(target, _chain_items(config["length"]))
        facts = {"bytes": target.stat().st_size}
    else:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run([sys.executable, str(HERE / "make_scale_inputs.py"), "--tf-train",
                               json.dumps(config), str(target)], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"building {name} failed:\n{proc.stderr[-3000:]}")
        facts = json.loads(proc.stdout.strip().splitlines()[-1])
    facts["build_s"] = round(time.monotonic() - started, 1)
    stamp.write_text(json.dumps({"config": config, "facts": facts}, indent=1))
    return str(target)


def _dense(tf, x, units: int, name: str, activation=None):
    """x @ kernel + bias, variables named like tf.layers.dense (``name/kernel``, ``name/bias``)."""
    with tf.compat.v1.variable_scope(name):
        kernel = tf.compat.v1.get_variable("kernel", [int(x.shape[-1]), units],
                                           initializer=tf.compat.v1.glorot_uniform_initializer())
        bias = tf.compat.v1.get_variable("bias", [units], initializer=tf.compat.v1.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
    return activation(y) if activation is not None else y


def _tf_train(config: dict, prefix: str) -> dict:
    """The training graph, built by TensorFlow: towers of dense layers, a loss, Adam, summaries, a Saver."""
    import numpy as np
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.set_random_seed(config["seed"])
    width = config["width"]
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, width], name="features")
        y = tf.compat.v1.placeholder(tf.float32, [None, 1], name="labels")
        heads = []
        for t in range(config["towers"]):
            h = x
            with tf.compat.v1.variable_scope(f"tower_{t}"):
                for i in range(config["layers"]):
                    h = _dense(tf, h, width, f"dense_{i}", tf.nn.relu)
            heads.append(h)
        merged = tf.add_n(heads, name="merged")
        with tf.compat.v1.variable_scope("head"):
            logits = _dense(tf, merged, 1, "logits")
        predictions = tf.sigmoid(logits, name="predictions")
        loss = tf.compat.v1.losses.sigmoid_cross_entropy(y, logits)
        tf.compat.v1.summary.scalar("loss", loss)
        step = tf.compat.v1.train.get_or_create_global_step()
        tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=step)
        tf.compat.v1.summary.merge_all()
        saver = tf.compat.v1.train.Saver()
        # Written without running the graph: TensorFlow's optimizer passes over a 10^5-node graph take
        # far longer than the benchmark itself. The .meta is what Saver.save writes; the checkpoint
        # holds every saved variable (weights, Adam slots, beta powers, global_step) with seeded values.
        saver.export_meta_graph(prefix + ".meta")
        saved = [(v.op.name, v.shape.as_list(), v.dtype.base_dtype) for v in tf.compat.v1.global_variables()]
        nodes = len(graph.as_graph_def().node)
        variables = len(saved)
        trainable = len(tf.compat.v1.trainable_variables())
    rng = np.random.default_rng(config["seed"])
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        values = [tf.constant(rng.standard_normal(shape).astype(dtype.as_numpy_dtype) if shape else
                              np.asarray(1, dtype.as_numpy_dtype)) for _, shape, dtype in saved]
        sess.run(tf.raw_ops.SaveV2(prefix=prefix, tensor_names=[name for name, _, _ in saved],
                                   shape_and_slices=[""] * len(saved), tensors=values))
    Path(prefix).with_name("checkpoint").write_text(f'model_checkpoint_path: "{Path(prefix).name}"\n')
    return {"nodes": nodes, "variables": variables, "trainable": trainable, "output": predictions.op.name,
            "meta_bytes": os.path.getsize(prefix + ".meta")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--tf-train"]:
        print(json.dumps(_tf_train(json.loads(argv[1]), argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", default=",".join(CONFIGS))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    paths = {name: build(name, args.out, args.force) for name in args.only.split(",")}
    print(json.dumps(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
