"""Remove Identity chains and the dropout a frozen inference graph still carries at keep_prob 1.

An Identity (``w/read``, Keras' output Identity, ``tf.identity`` for naming) computes nothing; many
runtimes handle it, but chains of them hide the patterns other rewrites and runtimes look for (a
BiasAdd after a MatMul, OpenCV's fusions). Outputs keep their names: an output that is an Identity
stays, only what lies between is bypassed.

Dropout with keep_prob 1 (or rate 0) still draws a random mask every run: ``x / 1 * floor(1 +
uniform)``. Once switches and constants are folded, the mask is provably all ones: a uniform draw
lies in [0, 1), so ``floor(1 + u)`` is 1 and ``u >= 0`` is true. :func:`_always_one` proves it by
interval arithmetic over the mask's ops, and the Mul that applies the mask becomes its other input.
"""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph, data_inputs, op_of
from inspector import tfops
from inspector.graph.model import TensorRef


def remove_identities(graph: InferenceGraph) -> list[str]:
    """Bypass every non-output identity whose input is a single plain tensor."""
    changes = []
    for item in list(graph.items):
        op = op_of(item)
        if op not in tfops.IDENTITIES | tfops.GRADIENT_BLOCKS or op == "IdentityN":
            continue
        if graph.is_output(item.name) or item.name in graph.keep or \
                any(t.startswith("^") for t in item.input):  # its control edges must keep holding
            continue
        inputs = data_inputs(item)
        if len(inputs) != 1:
            continue
        if graph.replace_uses(item.name, inputs[0]):
            changes.append(f"{item.name} ({op}) bypassed")
    return changes


def remove_inert_dropout(graph: InferenceGraph) -> list[str]:
    """Mul(x, mask) -> x where the mask is always one; RealDiv(x, 1) / Mul(x, 1) -> x; a Select on a
    condition that always holds (TF 2's dropout keeps where ``uniform >= rate``) -> its first branch."""
    changes = []
    for item in list(graph.items):
        if op_of(item) in tfops.SELECTS and not graph.is_output(item.name):
            condition, chosen = data_inputs(item)[:2]
            if _always_one(graph, TensorRef.parse(condition)):
                graph.replace_uses(item.name, chosen)
                changes.append(f"{item.name} ({item.op} on a condition that always holds) bypassed")
            continue
        if op_of(item) not in tfops.SCALINGS or graph.is_output(item.name):
            continue
        inputs = data_inputs(item)
        if len(inputs) != 2:
            continue
        candidates = [1] if item.op == "RealDiv" else [1, 0]
        for side in candidates:
            ones = _always_one(graph, TensorRef.parse(inputs[side]))
            if ones and _same_shape_or_scalar(graph, inputs, side):
                graph.replace_uses(item.name, inputs[1 - side])
                changes.append(f"{item.name} ({item.op} by a tensor that is always 1) bypassed")
                break
    return changes


def _same_shape_or_scalar(graph: InferenceGraph, inputs: list[str], side: int) -> bool:
    """Bypassing is exact only when the ones do not broadcast the other input to a bigger shape."""
    const = graph.const_value(inputs[side])
    if const is not None:
        return (const.size == 1 and const.ndim == 0) or const.size == 1
    return True  # a mask is drawn with the shape of what it masks (tf.nn.dropout's noise_shape=None)


#: TensorFlow draws a float32 uniform from 23 random mantissa bits ([1, 2) minus 1): its largest value
#: is 1 - 2^-23, so keep_prob 1 + u stays below 2 and floors to 1 in float32 as in float64.
_UNIFORM_MAX = 1.0 - 2.0**-23


def _always_one(graph: InferenceGraph, ref: TensorRef) -> bool:
    low, high = _interval(graph, ref, depth=0, memo={})
    return low is not None and low == 1.0 and high == 1.0


#: The ops :func:`_interval` bounds, with their number of data inputs; any other op (or another
#: count) is unbounded without looking at its inputs (an AddN or Concat reading one tensor K
#: times would otherwise cost K^depth).
_INTERVAL_ARITY = {"Identity": 1, "Cast": 1, "Enter": 1, "Floor": 1, "Add": 2, "AddV2": 2, "Sub": 2,
                   "GreaterEqual": 2, "Greater": 2, "Mul": 2}


def _interval(graph: InferenceGraph, ref: TensorRef, depth: int,
              memo: dict) -> tuple[float | None, float | None]:
    """Bounds of a tensor's values: Consts, uniform draws in [0, 1), and the mask arithmetic.

    ``memo`` holds each (tensor, depth) answered, so a tensor read twice is bounded once."""
    key = (ref.node, ref.port, depth)
    if key not in memo:
        memo[key] = _bounds(graph, ref, depth, memo)
    return memo[key]


def _bounds(graph: InferenceGraph, ref: TensorRef, depth: int,
            memo: dict) -> tuple[float | None, float | None]:
    node = graph.node(ref.node)
    if node is None or depth > 8:
        return None, None
    op = op_of(node)
    if op == "Const":
        value = graph.const_value(ref)
        if value is None or value.dtype.kind not in "biuf" or value.size == 0:
            return None, None
        return float(np.min(value)), float(np.max(value))
    if op in tfops.UNIT_UNIFORM:
        return 0.0, _UNIFORM_MAX
    inputs = data_inputs(node)
    if _INTERVAL_ARITY.get(op) != len(inputs):
        return None, None
    args = [_interval(graph, TensorRef.parse(t), depth + 1, memo) for t in inputs]
    if any(a[0] is None for a in args):
        return None, None
    if op in ("Identity", "Cast", "Enter") and args:  # Enter: the same value inside a while loop's frame
        low, high = args[0]
        return low, high
    if op in ("Add", "AddV2") and len(args) == 2:
        return args[0][0] + args[1][0], args[0][1] + args[1][1]
    if op == "Sub" and len(args) == 2:  # TF 2's dropout compares with rate = 1 - keep_prob
        return args[0][0] - args[1][1], args[0][1] - args[1][0]
    if op == "Floor" and args:
        return float(np.floor(args[0][0])), float(np.floor(args[0][1]))
    if op in ("GreaterEqual", "Greater") and len(args) == 2:
        (a_low, _), (_, b_high) = args
        true = a_low >= b_high if op == "GreaterEqual" else a_low > b_high
        return (1.0, 1.0) if true else (None, None)
    if op == "Mul" and len(args) == 2 and all(a[0] >= 0 for a in args):
        return args[0][0] * args[1][0], args[0][1] * args[1][1]
    return None, None


def keep_outputs_as_layers(graph: InferenceGraph) -> list[str]:
    """Make each output a node runtimes keep under its name.

    OpenCV deletes every Identity before import and fuses a BiasAdd into the convolution or matmul
    before it (tf_importer.cpp), so an output that is either has no layer of its name and
    ``net.forward(name)`` fails. An output Identity of a node nothing else reads gives that node its
    name instead (same value, one node less); an output BiasAdd after a conv/matmul becomes the AddV2
    it computes (same value: the bias is added along the last axis), which no runtime fuses away.
    """
    changes = []
    for name in list(graph.outputs):
        node = graph.node(name)
        if node is None or isinstance(node, type(None)) or not hasattr(node, "input"):
            continue
        inputs = data_inputs(node)
        if node.op == "Identity" and len(inputs) == 1 and not any(t.startswith("^") for t in node.input):
            ref = TensorRef.parse(inputs[0])
            source = graph.node(ref.node)
            users = [c for c, _, r in graph.consumers(ref.node)]
            if source is not None and ref.port == 0 and len(users) == 1 and not graph.is_output(ref.node) \
                    and ref.node not in graph.keep and op_of(source) not in tfops.PLACEHOLDERS | {"Const"}:
                _rename(graph, node, source)
                changes.append(f"{name}: the Identity output now names {ref.node} ({op_of(source)}) itself")
        elif node.op in ("BiasAdd", "Add", "AddV2") and len(inputs) == 2:
            change = _unfusable_bias(graph, node, inputs)
            if change:
                changes.append(f"{name}: {change}")
    return changes


def _unfusable_bias(graph: InferenceGraph, node, inputs: list[str]) -> str:
    """An output BiasAdd after a convolution becomes the AddV2 it computes, which stays a layer.

    OpenCV turns AddV2 into Add, then fuses a convolution's following BiasAdd, and a matmul's
    following BiasAdd or Add, into the layer (tf_importer.cpp: parseConvolution, parseMatMul). After a
    convolution an AddV2 is therefore kept under the output's name. After a matmul no bias add
    survives (OpenCV 4.14's Shift layer, the one other form, broadcasts a [N, C] bias along the wrong
    axis when N equals C), so that output stays as it is: ``--target opencv`` says to fetch it with
    ``getUnconnectedOutLayersNames()``.
    """
    producer = graph.op(TensorRef.parse(inputs[0]).node)
    layout = node.attr["data_format"].s if "data_format" in node.attr else b"NHWC"
    if node.op != "BiasAdd" or producer not in tfops.CONVOLUTIONS or layout not in (b"NHWC", b""):
        return ""
    dtype = node.attr["T"].type
    node.op = "AddV2"
    node.attr.clear()
    node.attr["T"].type = dtype
    graph.changed()
    return "BiasAdd after a convolution -> AddV2 (kept as its own layer)"


def _rename(graph: InferenceGraph, identity, source) -> None:
    """``source`` takes the output Identity's name; the Identity goes."""
    old, new = source.name, identity.name
    graph.items.remove(identity)
    graph.changed()
    for item, position, ref in list(graph.consumers(old)):
        port = f":{ref.port}" if ref.port > 0 else ""
        item.input[position] = f"^{new}" if ref.control else f"{new}{port}"
    source.name = new
    graph.changed()
