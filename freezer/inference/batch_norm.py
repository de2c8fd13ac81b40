"""Fold inference-mode batch norm into the preceding convolution / matmul weights, or into one
multiply-add.

At inference a batch norm is ``y = x * s + (offset - mean * s)`` with ``s = scale / sqrt(variance +
epsilon)``, all constants once frozen. When ``x`` comes straight from a convolution or a matmul
(with or without its BiasAdd) whose weight is a Const and whose result nothing else reads, ``s``
goes into the weight's output channels and the rest becomes the bias — the layer then costs nothing
at run time and every runtime can load it. A batch norm after anything else becomes ``Mul`` + ``Add``
(TFLite and OpenCV load those; a FusedBatchNorm they may not, and an is_training one never).

Two shapes of the same computation are handled, each stated as a pattern:

* ``FusedBatchNorm``/``V2``/``V3`` with ``is_training=false`` (tf.layers, slim, Keras' fused path);
* ``Mul(x, C)`` followed by an add, what ``tf.nn.batch_normalization`` and Keras' unfused batch norm
  leave once constants are folded: ``C`` is folded into the weights when it scales output channels.
"""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph, const_node, data_inputs
from freezer.inference.pattern import OpPattern, match
from inspector import tfops
from inspector.graph.model import TensorRef
from inspector.proto import pb

LINEAR = tfops.PER_CHANNEL_LINEAR
FUSED = OpPattern.of(tfops.BATCH_NORMS - {"_FusedBatchNormEx"}, None, OpPattern.of("Const", name="scale"),
                     OpPattern.of("Const", name="offset"), OpPattern.of("Const", name="mean"),
                     OpPattern.of("Const", name="variance"), name="bn")
WEIGHTED = OpPattern.of(LINEAR, None, OpPattern.of("Const", name="weight"), name="linear")
BIASED = OpPattern.of("BiasAdd", WEIGHTED, OpPattern.of("Const", name="bias"), name="bias_add")
SCALED = OpPattern.of("Mul", None, OpPattern.of("Const", name="factor"), name="mul")


def fold_batch_norms(graph: InferenceGraph) -> list[str]:
    changes = []
    for item in list(graph.items):
        found = match(graph, item, FUSED) if item.name in graph.by_name else None
        if found is None or _attr(item, "is_training", True) or _other_ports_used(graph, item):
            continue
        values = {k: graph.const_value(found.refs[k]).astype(np.float64) for k in
                  ("scale", "offset", "mean", "variance")}
        epsilon = item.attr["epsilon"].f if "epsilon" in item.attr else 1e-4
        scale = values["scale"] / np.sqrt(values["variance"] + epsilon)
        shift = values["offset"] - values["mean"] * scale
        x = data_inputs(item)[0]
        how = _into_linear(graph, item, x, scale, shift) or _multiply_add(graph, item, x, scale, shift)
        if how:
            changes.append(f"{item.name} ({item.op}) {how}")
    for item in list(graph.items):
        found = match(graph, item, SCALED) if item.name in graph.by_name else None
        if found is None:
            continue
        factor = graph.const_value(found.refs["factor"])
        x = data_inputs(item)[0]
        if factor is None or factor.dtype.kind != "f" or not _per_channel(factor):
            continue
        how = _into_linear(graph, item, x, factor.reshape(-1).astype(np.float64), None)
        if how:
            changes.append(f"{item.name} (Mul by per-channel constant) {how}")
    return changes


def _attr(node, key: str, default):
    if key not in node.attr:
        return default
    value = node.attr[key]
    return getattr(value, value.WhichOneof("value"))


def _other_ports_used(graph: InferenceGraph, node) -> bool:
    """batch_mean, batch_variance … are training outputs; an inference graph reads only y."""
    return any(not ref.control and ref.port != 0 for _, _, ref in graph.consumers(node.name))


def _per_channel(factor: np.ndarray) -> bool:
    """A factor that scales the last axis only ([C], [1, C], [1, 1, 1, C]): one value per output channel."""
    return factor.ndim >= 1 and all(d == 1 for d in factor.shape[:-1])


def _single_consumer(graph: InferenceGraph, name: str) -> bool:
    uses = [c for c, _, ref in graph.consumers(name) if not ref.control]
    return len(uses) == 1 and not graph.is_output(name) and name not in graph.keep


def _into_linear(graph: InferenceGraph, node, x: str, scale: np.ndarray, shift: np.ndarray | None) -> str:
    """Scale the weights of the conv/matmul producing ``x`` (``node`` then becomes its BiasAdd)."""
    ref = TensorRef.parse(x)
    producer = graph.node(ref.node)
    if producer is None or ref.port != 0 or not _single_consumer(graph, producer.name):
        return ""
    found = match(graph, producer, BIASED) or match(graph, producer, WEIGHTED)
    if found is None or (found.nodes.get("bias_add") is not None
                         and not _single_consumer(graph, found["linear"].name)):
        return ""
    linear = found["linear"]
    if _attr(linear, "data_format", b"NHWC") not in (b"NHWC", "NHWC"):
        return ""
    weight = graph.const_value(found.refs["weight"])
    scaled = _scale_weight(linear, weight, scale)
    if scaled is None:
        return ""
    bias = np.zeros(scale.shape, np.float64)
    if "bias" in found.refs:
        bias = graph.const_value(found.refs["bias"]).astype(np.float64)
    new_bias = bias * scale + (shift if shift is not None else 0.0)
    if shift is None and "bias" not in found.refs and node.op == "Mul":
        new_bias = None
    dtype = weight.dtype
    new_weight = graph.make_const(f"{linear.name}/folded_weight", scaled.astype(dtype), before=linear.name)
    linear.input[1] = new_weight.name
    if new_bias is None:  # Mul(conv, C) with no bias anywhere: the Mul's name now means the conv itself
        _become_identity(node, linear.name)
    else:  # the old BiasAdd (if any) is left without consumers and pruned
        bias_const = graph.make_const(f"{node.name}/folded_bias", new_bias.astype(dtype), before=node.name)
        _become_bias_add(node, linear.name, bias_const.name, dtype)
    graph.changed()
    return f"folded into the weights of {linear.name} ({linear.op})"


def _scale_weight(linear, weight: np.ndarray, scale: np.ndarray) -> np.ndarray | None:
    w = weight.astype(np.float64)
    if linear.op == "Conv2D" and w.ndim == 4 and w.shape[3] == scale.size:
        return w * scale
    if linear.op == "DepthwiseConv2dNative" and w.ndim == 4 and w.shape[2] * w.shape[3] == scale.size:
        return w * scale.reshape(w.shape[2], w.shape[3])
    if linear.op == "MatMul" and w.ndim == 2:
        if _attr(linear, "transpose_b", False):
            return w * scale[:, None] if w.shape[0] == scale.size else None
        return w * scale if w.shape[1] == scale.size else None
    return None


def _become_bias_add(node, source: str, bias: str, dtype) -> None:
    control = [t for t in node.input if t.startswith("^")]
    attrs = {k: pb.AttrValue() for k in ("T", "data_format")}
    attrs["T"].type = node.attr["T"].type
    attrs["data_format"].s = b"NHWC"
    node.op = "BiasAdd"
    del node.input[:]
    node.input.extend([source, bias, *control])
    node.attr.clear()
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)


def _become_identity(node, source: str) -> None:
    control = [t for t in node.input if t.startswith("^")]
    dtype = node.attr["T"].type
    node.op = "Identity"
    del node.input[:]
    node.input.extend([source, *control])
    node.attr.clear()
    node.attr["T"].type = dtype


def _multiply_add(graph: InferenceGraph, node, x: str, scale: np.ndarray, shift: np.ndarray) -> str:
    """``x * scale + shift`` as Mul + Add (the Add keeps the batch norm's name)."""
    dtype_enum = node.attr["T"].type
    nchw = _attr(node, "data_format", b"NHWC") in (b"NCHW", "NCHW")
    shape = (-1, 1, 1) if nchw else (-1,)
    np_dtype = np.float32 if dtype_enum == 1 else np.float64 if dtype_enum == 2 else None
    if np_dtype is None:
        return ""
    scale_const = graph.make_const(f"{node.name}/folded_scale", scale.reshape(shape).astype(np_dtype),
                                   before=node.name)
    shift_const = graph.make_const(f"{node.name}/folded_shift", shift.reshape(shape).astype(np_dtype),
                                   before=node.name)
    mul = const_node(graph.fresh(f"{node.name}/folded_mul"), np.zeros(0, np.float32))
    mul.op = "Mul"
    mul.attr.clear()
    mul.attr["T"].type = dtype_enum
    mul.input.extend([x, scale_const.name])
    graph.insert(mul, before=node.name)
    control = [t for t in node.input if t.startswith("^")]
    node.op = "AddV2"
    del node.input[:]
    node.input.extend([mul.name, shift_const.name, *control])
    node.attr.clear()
    node.attr["T"].type = dtype_enum
    graph.changed()
    return "became one multiply-add"
