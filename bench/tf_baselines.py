"""The TensorFlow side of the benchmarks: what a user would run without ckpt2pb.

Each subcommand is meant to run as its own child process under bench/measure.py, so TensorFlow's import,
its work and its exit are all counted, exactly as for our CLI.

  inspect PREFIX                      tf.train.list_variables + tf.compat.v1.train.import_meta_graph
  inspect-graph GRAPH.pb              parse a binary GraphDef + tf.import_graph_def (TF's look at a .pb)
  freeze-graph PREFIX OUTPUTS OUT.pb  tensorflow.python.tools.freeze_graph.freeze_graph (from the .meta)
  convert PREFIX OUTPUTS OUT.pb       restore + convert_variables_to_constants + write
  compare OURS.pb THEIRS.pb           every Const of THEIRS against OURS: dtype, shape and tensor bytes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _tf():
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    return tf


def tf_inspect(prefix: str) -> dict:
    """List the checkpoint's variables and import its graph: the TF way to see what a checkpoint holds."""
    tf = _tf()
    variables = tf.train.list_variables(prefix)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)
    ops = graph.get_operations()
    return {
        "variables": [{"name": n, "shape": list(s)} for n, s in variables],
        "nodes": len(ops),
        "placeholders": [op.name for op in ops if op.type == "Placeholder"],
    }


def tf_inspect_graph(path: str) -> dict:
    """Read a frozen GraphDef and import it: the TF way to see what a .pb holds."""
    tf = _tf()
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    ops = graph.get_operations()
    return {"nodes": len(ops), "placeholders": [op.name for op in ops if op.type == "Placeholder"]}


def tf_freeze_graph(prefix: str, outputs: str, out: str) -> dict:
    """TensorFlow's own freeze_graph tool, driven from the .meta as its docs describe."""
    _tf()
    from tensorflow.python.tools import freeze_graph

    freeze_graph.freeze_graph(
        input_graph=None,
        input_saver="",
        input_binary=True,
        input_checkpoint=prefix,
        output_node_names=outputs,
        restore_op_name="",
        filename_tensor_name="",
        output_graph=out,
        clear_devices=True,
        initializer_nodes="",
        input_meta_graph=prefix + ".meta",
    )
    return {"output": out, "bytes": os.path.getsize(out)}


def tf_convert(prefix: str, outputs: str, out: str) -> dict:
    """The classic recipe: restore in a session, convert_variables_to_constants, write the GraphDef."""
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)
        saver.restore(sess, prefix)
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), outputs.split(",")
        )
    with open(out, "wb") as f:
        f.write(frozen.SerializeToString())
    return {"output": out, "bytes": os.path.getsize(out), "nodes": len(frozen.node)}


def _consts(tf, path: str) -> tuple[dict, set[str]]:
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    consts = {n.name: n.attr["value"].tensor for n in graph_def.node if n.op == "Const"}
    return consts, {n.name for n in graph_def.node}


def compare(ours: str, theirs: str) -> dict:
    """Every Const of `theirs` must exist in `ours` with the same dtype, shape and tensor bytes.

    Values are decoded with tf.make_ndarray, so a tensor stored as tensor_content on one side and as a
    repeated *_val field on the other still compares by its bytes; `raw_identical` counts the Consts whose
    serialized TensorProto is identical as well.
    """
    tf = _tf()
    our_consts, our_nodes = _consts(tf, ours)
    their_consts, their_nodes = _consts(tf, theirs)
    mismatched, missing, raw_identical, compared_bytes = [], [], 0, 0
    digest = hashlib.sha256()
    for name in sorted(their_consts):
        if name not in our_consts:
            missing.append(name)
            continue
        a, b = tf.make_ndarray(our_consts[name]), tf.make_ndarray(their_consts[name])
        same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        if not same:
            mismatched.append(
                {"name": name, "ours": [str(a.dtype), list(a.shape)], "theirs": [str(b.dtype), list(b.shape)]}
            )
            continue
        compared_bytes += b.nbytes
        digest.update(b.tobytes())
        raw_identical += our_consts[name].SerializeToString() == their_consts[name].SerializeToString()
    return {
        "identical": not mismatched and not missing,
        "consts_theirs": len(their_consts),
        "consts_ours": len(our_consts),
        "consts_compared": len(their_consts) - len(missing),
        "bytes_compared": compared_bytes,
        "raw_tensorproto_identical": raw_identical,
        "mismatched": mismatched[:20],
        "missing_in_ours": missing[:20],
        "nodes_ours": len(our_nodes),
        "nodes_theirs": len(their_nodes),
        "nodes_only_in_ours": sorted(our_nodes - their_nodes)[:20],
        "nodes_only_in_theirs": sorted(their_nodes - our_nodes)[:20],
        "sha256_of_compared_values": digest.hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("inspect").add_argument("prefix")
    sub.add_parser("inspect-graph").add_argument("path")
    for name in ("freeze-graph", "convert"):
        p = sub.add_parser(name)
        p.add_argument("prefix")
        p.add_argument("outputs")
        p.add_argument("out")
    p = sub.add_parser("compare")
    p.add_argument("ours")
    p.add_argument("theirs")
    args = parser.parse_args(argv)
    if args.what == "inspect":
        result = tf_inspect(args.prefix)
    elif args.what == "inspect-graph":
        result = tf_inspect_graph(args.path)
    elif args.what == "freeze-graph":
        result = tf_freeze_graph(args.prefix, args.outputs, args.out)
    elif args.what == "convert":
        result = tf_convert(args.prefix, args.outputs, args.out)
    else:
        result = compare(args.ours, args.theirs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
