"""``freeze --verify``: run the restored checkpoint and the frozen graph side by side in TensorFlow.

The only module of ckpt2pb that imports TensorFlow, and only inside :func:`verify_frozen`.
Both graphs get the same generated inputs (dtype- and shape-aware, ``--input-shape`` for dims
the graph leaves open, inference values for switches: boolean placeholders ``False``, scalar
float placeholders ``1.0`` as for ``keep_prob``; a ``PlaceholderWithDefault`` keeps a constant
default, and one defaulting to a computed tensor such as a queue's dequeue is fed like a
placeholder, as are dequeue/iterator outputs, which would otherwise block forever).
Every folded weight must be bit-identical to the value TensorFlow restores, every output equal
within 1e-5 relative (TensorFlow is not bit-exact between a variable-backed and a
constant-backed graph), with NaN exactly where the checkpoint gives NaN.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from inspector import tfops
from inspector.errors import MissingDependencyError, UsageError, VerificationError

LOG = logging.getLogger("ckpt2pb.freeze.verify")

RUN_TIMEOUT_MS = 120_000
"""No single TF operation of a verification may block longer (a queue nobody fills, say)."""

RTOL = 1e-5
ATOL = 1e-6
DEFAULT_DIM = 2


def tf_error_line(message: str) -> str:
    """The informative line of a TensorFlow error, and its node: TF 2 starts the message with
    "Graph execution error:" and a "Detected at node" stack, the real reason comes after."""
    node = None
    for line in (raw.strip() for raw in message.splitlines()):
        if line.startswith("Node: "):
            node = line[len("Node: "):].strip("'\"")
        elif line and not line.startswith(("[[", "Detected at node", "File ", "Original stack")) \
                and line != "Graph execution error:":
            return f"{line} (node {node!r})" if node else line
    return ""


def _import_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingDependencyError(
            "--verify runs both graphs in TensorFlow, which is not installed",
            fix="pip install 'ckpt2pb[tf]' (or tensorflow-cpu), or freeze without --verify") from None
    if not LOG.isEnabledFor(logging.DEBUG):  # TF's own deprecation notices about the v1 APIs used here
        tf.get_logger().setLevel(logging.ERROR)
    return tf


def _config(tf):
    return tf.compat.v1.ConfigProto(operation_timeout_in_ms=RUN_TIMEOUT_MS, allow_soft_placement=True)


def make_feeds(placeholders: Sequence, input_shapes: dict[str, Sequence[int]] | None = None,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for ``(tensor or node name, numpy dtype, shape list or None)``; tensor name -> value."""
    rng = np.random.default_rng(seed)
    shapes = {k.split(":")[0]: list(v) for k, v in (input_shapes or {}).items()}
    feeds: dict[str, np.ndarray] = {}
    for name, dtype, shape in placeholders:
        tensor = name if ":" in name else name + ":0"
        node = tensor.rsplit(":", 1)[0]
        if node in shapes:
            shape = shapes[node]
        if shape is None:
            raise UsageError(f"input {node!r} has an unknown rank, so --verify cannot make a value for it",
                             fix=f"give its shape with --input-shape {node}=1,224,224,3")
        dims = [DEFAULT_DIM if d is None or d < 0 else int(d) for d in shape]
        feeds[tensor] = _value(rng, np.dtype(dtype), dims)
    fed = [tensor.rsplit(":", 1)[0] for tensor in feeds]
    unknown = sorted(set(shapes) - set(fed))
    if unknown:  # a typo would otherwise be ignored silently and the default shape used
        raise UsageError(f"--input-shape names {', '.join(map(repr, unknown))}, which is not an input of the "
                         "frozen graph", fix="its inputs are " + (", ".join(fed) or "none")
                         + " (run `inspect` on the checkpoint to list them)")
    return feeds


def graph_inputs(graph) -> list[tuple[str, object, list[int] | None]]:
    """(tensor name, numpy dtype, shape) of everything --verify must feed in a TF graph."""
    found = []
    for op in graph.get_operations():
        fed = op.type == "Placeholder" or (op.type == "PlaceholderWithDefault"
                                           and op.inputs[0].op.type != "Const")
        if fed:
            found.append((op.outputs[0].name, op.outputs[0].dtype.as_numpy_dtype, _known_shape(op)))
        elif op.type in tfops.DATA_PRODUCERS:
            for output in op.outputs:
                shape = None if output.shape.rank is None else list(output.shape.as_list())
                found.append((output.name, output.dtype.as_numpy_dtype, shape))
    return found


def _value(rng, dtype: np.dtype, dims: list[int]) -> np.ndarray:
    if dtype == np.bool_:
        return np.zeros(dims, dtype=bool)  # is_training-style switches: inference
    if dtype.kind == "f" and not dims:
        return np.asarray(1.0, dtype=dtype)  # keep_prob-style scalars: keep everything
    if dtype.kind in "fc":
        return rng.standard_normal(dims).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=dims).astype(dtype)  # small: valid indices and ids
    if dtype.kind in "SOU":
        return np.full(dims, b"a", dtype=object)
    raise UsageError(f"--verify cannot generate inputs of dtype {dtype}")


def compare(name: str, expected: np.ndarray, actual: np.ndarray) -> dict:
    """One output: shapes, dtypes, NaN positions and values within tolerance."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    result = {"output": name, "shape": list(expected.shape), "dtype": str(expected.dtype),
              "max_abs_diff": 0.0, "ok": True, "problem": None}
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        result.update(ok=False, problem=f"expected {expected.dtype}{list(expected.shape)}, got "
                                        f"{actual.dtype}{list(actual.shape)}")
        return result
    if expected.dtype.kind in "fc":
        e, a = expected.astype(np.complex128 if expected.dtype.kind == "c" else np.float64), \
            actual.astype(np.complex128 if actual.dtype.kind == "c" else np.float64)
        nan_e, nan_a = np.isnan(e), np.isnan(a)
        if not np.array_equal(nan_e, nan_a):
            result.update(ok=False, problem="NaN in different places")
            return result
        finite = ~nan_e
        diff = np.abs(e[finite] - a[finite])
        diff = np.nan_to_num(diff, nan=np.inf)
        inf_same = np.array_equal(np.isinf(e[finite]), np.isinf(a[finite]))
        close = np.allclose(a[finite], e[finite], rtol=RTOL, atol=ATOL) if inf_same else False
        result["max_abs_diff"] = float(diff[np.isfinite(diff)].max()) if np.isfinite(diff).any() else 0.0
        if not close:
            result.update(ok=False, problem=f"values differ (max abs diff {result['max_abs_diff']:.3g})")
    elif not np.array_equal(expected, actual):
        result.update(ok=False, problem="values differ")
    return result


def verify_frozen(graph_path: str, prefix: str, frozen_path, outputs: Sequence[str], *,
                  input_shapes: dict[str, Sequence[int]] | None = None, meta_graph=None,
                  folded: Sequence = (), reader=None, seed: int = 0, report_path=None,
                  initializers: Sequence[str] = (), restored_names: dict[str, str] | None = None,
                  restored_feeds: dict | None = None) -> dict:
    """Run both graphs; return the report or raise VerificationError. See the module docstring.

    ``restored_names`` maps a frozen graph's tensor to the restored graph's where ``freeze
    --for-inference`` renamed it (an inlined call's outputs); ``restored_feeds`` are extra values the
    restored graph needs (the inference values of the switches the rewrites folded away).
    """
    tf = _import_tf()
    try:
        return _verify(tf, graph_path, prefix, frozen_path, outputs, input_shapes=input_shapes,
                       meta_graph=meta_graph, folded=folded, reader=reader, seed=seed,
                       report_path=report_path, initializers=initializers,
                       restored_names=restored_names or {}, restored_feeds=restored_feeds or {})
    except tf.errors.OpError as error:
        first = tf_error_line(str(error.message or "")) or type(error).__name__
        raise VerificationError(
            f"TensorFlow could not run the graphs with generated inputs: {first}",
            path=str(report_path or frozen_path), code="VERIFY_FAILED_TO_RUN",
            fix="give the real input shapes with --input-shape NAME=D0,D1,... or freeze without --verify",
        ) from None


def _verify(tf, graph_path: str, prefix: str, frozen_path, outputs: Sequence[str], *, input_shapes,
            meta_graph, folded: Sequence, reader, seed: int, report_path,
            initializers: Sequence[str], restored_names: dict, restored_feeds: dict) -> dict:

    v1 = tf.compat.v1
    frozen_def = _parse_file(frozen_path, v1.GraphDef())

    frozen_graph = tf.Graph()
    with frozen_graph.as_default():
        v1.import_graph_def(frozen_def, name="")
    fetches = [t.name for name in outputs for t in frozen_graph.get_operation_by_name(name).outputs
               if t.dtype not in (tf.resource, tf.variant)]  # every output of each output node
    feeds = make_feeds(graph_inputs(frozen_graph), input_shapes, seed)
    feeds.update(_example_feeds(tf, frozen_graph, feeds, seed))
    random = [op.outputs[0].name for op in frozen_graph.get_operations() if op.type in tfops.RANDOM_STATEFUL]
    weights = [f.node for f in folded]

    restored_graph = tf.Graph()
    with restored_graph.as_default(), v1.Session(graph=restored_graph, config=_config(tf)) as session:
        _restore(tf, session, graph_path, prefix, meta_graph)
        for record in folded:  # --use-moving-averages: the shadow values replace the weights
            if getattr(record, "moving_average", False) and reader is not None:
                _load_value(restored_graph, session, record.node, _checkpoint_value(reader, record))
        names = {op.name for op in restored_graph.get_operations()}
        random = [t for t in random if t.rsplit(":", 1)[0] in names]
        restored_in = {restored_names.get(k, k): v for k, v in feeds.items()} | restored_feeds
        live = _live_tensors(tf, session, random, restored_in)
        restored_fetches = [restored_names.get(f, f) for f in fetches]
        values = session.run(restored_fetches + live, restored_in)  # outputs and the samples they used
        restored_out, sampled = values[:len(fetches)], dict(zip(live, values[len(fetches):], strict=True))
        restored_weights = [_read_variable(restored_graph, session, w) for w in weights]

    feeds.update(sampled)
    with v1.Session(graph=frozen_graph, config=_config(tf)) as session:
        if initializers:
            session.run(list(initializers))
        frozen_out = session.run(fetches, feeds)
        frozen_weights = session.run([f"{w}:0" for w in weights]) if weights else []

    results = [compare(name, e, a) for name, e, a in zip(fetches, restored_out, frozen_out, strict=True)]
    weight_problems = [w for w, e, a in zip(weights, restored_weights, frozen_weights, strict=True)
                       if e is not None and not bit_identical(e, a)]
    report = {"ok": all(r["ok"] for r in results) and not weight_problems, "outputs": results,
              "inputs": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in feeds.items()},
              "weights_compared": sum(1 for w in restored_weights if w is not None),
              "weights_differing": weight_problems,
              "max_abs_diff": max((r["max_abs_diff"] for r in results), default=0.0)}
    if not report["ok"]:
        problems = [f"{r['output']}: {r['problem']}" for r in results if not r["ok"]]
        if weight_problems:
            problems.append(f"weights not bit-identical: {', '.join(weight_problems[:5])}")
        raise VerificationError(
            "the frozen graph differs from the restored checkpoint: " + "; ".join(problems),
            path=str(report_path or frozen_path), fix="please report this with the checkpoint's .meta")
    return report


def _example_feeds(tf, graph, feeds: dict, seed: int) -> dict:
    """Serialized ``tf.train.Example`` protos for string inputs parsed by ParseExample(V2)."""
    out = {}
    rng = np.random.default_rng(seed)
    for op in graph.get_operations():
        if op.type not in tfops.PARSE_EXAMPLES or op.inputs[0].op.type != "Placeholder":
            continue
        name = op.inputs[0].name
        if name not in feeds:
            continue
        with tf.compat.v1.Session(graph=graph, config=_config(tf)) as session:
            dense_keys, sparse_keys = _example_keys(op, session)
        sizes = [int(np.prod([max(d.size, 1) for d in shape.dim])) for shape in op.get_attr("dense_shapes")]
        dense = list(zip(dense_keys, op.get_attr("Tdense"), sizes, strict=True))
        sparse = list(zip(sparse_keys, op.get_attr("sparse_types"), strict=True))
        examples = []
        for _ in range(feeds[name].size or 1):
            example = tf.train.Example()
            for key, dtype, count in dense:
                _fill(example.features.feature[key], dtype, count, rng)
            for key, dtype in sparse:
                _fill(example.features.feature[key], dtype, 1, rng)
            examples.append(example.SerializeToString())
        out[name] = np.array(examples, dtype=object).reshape(feeds[name].shape)
    return out


def _example_keys(op, session) -> tuple[list[str], list[str]]:
    if op.type == "ParseExampleV2":
        sparse, dense = session.run([op.inputs[2], op.inputs[3]])
        return [k.decode() for k in np.ravel(dense)], [k.decode() for k in np.ravel(sparse)]
    num_sparse = op.get_attr("Nsparse")
    num_dense = op.get_attr("Ndense")
    keys = session.run([t for t in op.inputs[2:2 + num_sparse + num_dense]])
    return [k.decode() for k in keys[num_sparse:]], [k.decode() for k in keys[:num_sparse]]


def _fill(feature, dtype, count: int, rng) -> None:
    if dtype.is_floating:
        feature.float_list.value.extend(rng.standard_normal(count).astype(np.float32).tolist())
    elif dtype.is_integer:
        feature.int64_list.value.extend([int(v) for v in rng.integers(0, 2, count)])
    else:
        feature.bytes_list.value.extend([b"a"] * count)


def _restore(tf, session, graph_path: str, prefix: str, meta_graph) -> None:
    """Load the original graph with its variables (and lookup tables) into ``session``."""
    v1 = tf.compat.v1
    if os.path.basename(graph_path).startswith("saved_model."):
        tags = list(meta_graph.meta_info_def.tags) if meta_graph is not None else ["serve"]
        v1.saved_model.loader.load(session, tags, os.path.dirname(graph_path))
        return
    saver = v1.train.import_meta_graph(_meta_graph_for_tf(tf, graph_path), clear_devices=True)
    if saver is None:
        saver = v1.train.Saver()
    saver.restore(session, prefix)
    session.run(v1.tables_initializer())


def _live_tensors(tf, session, tensors: Sequence[str], feeds: dict) -> list[str]:
    """The random tensors the run computes (those in a dead cond branch have no value)."""
    if not tensors:
        return []
    try:
        session.run(list(tensors), feeds)
        return list(tensors)
    except tf.errors.OpError:
        live = []
        for name in tensors:
            try:
                session.run(name, feeds)
                live.append(name)
            except tf.errors.OpError:
                continue
        return live


def _meta_graph_for_tf(tf, graph_path: str):
    """The MetaGraphDef as TF's class, without ``_output_shapes`` (stale ones make TF refuse it)."""
    meta = _parse_file(graph_path, tf.compat.v1.MetaGraphDef())
    for node in meta.graph_def.node:
        if "_output_shapes" in node.attr:
            del node.attr["_output_shapes"]
    return meta


def _known_shape(op) -> list[int] | None:
    """A placeholder's shape; for an unknown rank, what a MatMul with a constant weight implies."""
    shape = op.outputs[0].shape
    if shape.rank is not None:
        return list(shape.as_list())
    for consumer in op.outputs[0].consumers():
        if consumer.type == "MatMul" and consumer.inputs[0] is op.outputs[0] \
                and not consumer.get_attr("transpose_a"):
            weight = consumer.inputs[1].shape
            if weight.rank == 2 and weight[0] is not None:
                column = 1 if consumer.get_attr("transpose_b") else 0
                return [DEFAULT_DIM, int(weight[column])]
    return None


def bit_identical(expected, actual) -> bool:
    """Same shape, dtype and bytes (NaN payloads and -0.0 included); strings compared by value."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return False
    if expected.dtype == object or actual.dtype == object:
        return [bytes(v) for v in expected.ravel()] == [bytes(v) for v in actual.ravel()]
    return expected.dtype == actual.dtype and expected.tobytes() == actual.tobytes()


def _read_variable(graph, session, name: str):
    """The value TF restored into variable ``name`` (a resource variable is read through its handle)."""
    op = graph.get_operation_by_name(name)
    if op.type == "VarHandleOp":
        from tensorflow.python.ops import gen_resource_variable_ops

        dtype = op.get_attr("dtype")
        with graph.as_default():
            read = gen_resource_variable_ops.read_variable_op(op.outputs[0], dtype)
        return session.run(read)
    return session.run(op.outputs[0])


def _checkpoint_value(reader, record) -> np.ndarray:
    value = reader.read(record.key)
    if record.slices is not None:
        value = value[tuple(slice(s, s + n) for s, n in record.slices)]
    return value


def _load_value(graph, session, name: str, value: np.ndarray) -> None:
    op = graph.get_operation_by_name(name)
    with graph.as_default():
        import tensorflow as tf

        if op.type == "VarHandleOp":
            from tensorflow.python.ops import gen_resource_variable_ops

            assign = gen_resource_variable_ops.assign_variable_op(op.outputs[0], tf.constant(value))
        else:
            assign = tf.compat.v1.assign(op.outputs[0], tf.constant(value))
    session.run(assign)


def _parse_file(path, message):
    """Fill TensorFlow's ``message`` from ``path``, binary or text (ours parsed it already, so it is one)."""
    from google.protobuf import text_format

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        message.ParseFromString(data)
    except Exception:
        text_format.Parse(data.decode("utf-8"), message)
    return message
