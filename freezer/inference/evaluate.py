"""numpy evaluations of the TensorFlow ops a weight-only subgraph is made of.

Constant folding (:mod:`freezer.inference.constants`) replaces a node whose every data input is a
Const by the Const of its value, computed here without TensorFlow. Each entry of :data:`EVALUATORS`
computes one op exactly as TensorFlow defines it for the attrs it reads; an op without an entry (or
with attrs an entry does not handle, where it returns None) is simply not folded. What these ops
are for in a model: partitioned variables are concatenated, tied weights transposed, batch-norm
statistics turned into a scale and an offset, shapes computed from constants.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inspector.readers import dtypes


def _attr_dtype(node, key: str):
    return dtypes.by_value(node.attr[key].type).numpy if key in node.attr else None


def _same_type(fn: Callable) -> Callable:
    """Element-wise ops keep their input dtype (numpy would promote int32 * int32 scalars alike)."""
    def run(node, args):
        out = fn(*args)
        return np.asarray(out).astype(args[0].dtype, copy=False)
    return run


def _concat(node, args):
    axis = int(args[-1])
    return np.concatenate(args[:-1], axis=axis)


def _concat_v1(node, args):
    return np.concatenate(args[1:], axis=int(args[0]))


def _transpose(node, args):
    return np.transpose(args[0], args[1])


def _reshape(node, args):
    return np.reshape(args[0], [int(d) for d in args[1]])


def _cast(node, args):
    target = _attr_dtype(node, "DstT")
    truncate = node.attr["Truncate"].b if "Truncate" in node.attr else False
    if target is None or truncate:
        return None
    return args[0].astype(target)


def _pack(node, args):
    axis = node.attr["axis"].i if "axis" in node.attr else 0
    return np.stack(args, axis=axis)


def _expand_dims(node, args):
    return np.expand_dims(args[0], int(args[1]))


def _squeeze(node, args):
    dims = list(node.attr["squeeze_dims"].list.i) if "squeeze_dims" in node.attr else []
    return np.squeeze(args[0], axis=tuple(dims) if dims else None)


def _shape(node, args):
    out = _attr_dtype(node, "out_type") or np.int32
    return np.array(args[0].shape, dtype=out)


def _fill(node, args):
    return np.full([int(d) for d in args[0]], args[1], dtype=args[1].dtype)


def _slice(node, args):
    begin, size = [int(b) for b in args[1]], [int(s) for s in args[2]]
    index = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size, strict=True))
    return args[0][index]


def _strided_slice(node, args):
    """Plain begin/end/stride slicing; the ellipsis, new-axis and shrink masks are left to TF."""
    attrs = {k: node.attr[k].i if k in node.attr else 0 for k in
             ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    if attrs["ellipsis_mask"] or attrs["new_axis_mask"]:
        return None
    value, begin, end, strides = args
    index = []
    for i in range(len(begin)):
        if attrs["shrink_axis_mask"] & (1 << i):
            index.append(int(begin[i]))
            continue
        start = None if attrs["begin_mask"] & (1 << i) else int(begin[i])
        stop = None if attrs["end_mask"] & (1 << i) else int(end[i])
        index.append(slice(start, stop, int(strides[i])))
    return np.asarray(value[tuple(index)])


def _rsqrt(x):
    return 1.0 / np.sqrt(x)


def _matmul(node, args):
    a, b = args
    if node.attr["transpose_a"].b if "transpose_a" in node.attr else False:
        a = a.T
    if node.attr["transpose_b"].b if "transpose_b" in node.attr else False:
        b = b.T
    return np.matmul(a, b).astype(args[0].dtype)


def _rank(node, args):
    return np.array(args[0].ndim, dtype=np.int32)


def _size(node, args):
    return np.array(args[0].size, dtype=_attr_dtype(node, "out_type") or np.int32)


def _range(node, args):
    """Integer ranges only: TensorFlow accumulates a float range by repeated addition, which
    ``np.arange`` does not reproduce bit for bit. (A transpose without a perm is ``Range`` over
    ``Rank``: tied weights ``tf.transpose(w)`` in TF before 1.0 graphs.)"""
    start, limit, delta = (np.asarray(a) for a in args)
    if start.ndim or limit.ndim or delta.ndim or start.dtype.kind not in "iu" or int(delta) == 0:
        return None
    return np.arange(int(start), int(limit), int(delta), dtype=start.dtype)


def _complex_part(part: str) -> Callable:
    def run(node, args):
        if args[0].dtype.kind != "c":
            return None
        out = np.real(args[0]) if part == "real" else np.imag(args[0])
        return out.astype(_attr_dtype(node, "Tout") or out.dtype)
    return run


#: Identities are not here: :mod:`freezer.inference.identities` bypasses them without copying a weight.
#: Op -> evaluation (node, input values) -> value, or None when this node's attrs are not handled.
EVALUATORS: dict[str, Callable] = {
    "ConcatV2": _concat, "Concat": _concat_v1, "Transpose": _transpose, "Reshape": _reshape,
    "Cast": _cast, "Pack": _pack, "ExpandDims": _expand_dims, "Squeeze": _squeeze, "Shape": _shape,
    "Fill": _fill, "Slice": _slice, "StridedSlice": _strided_slice, "MatMul": _matmul,
    "Add": _same_type(np.add), "AddV2": _same_type(np.add), "Sub": _same_type(np.subtract),
    "Mul": _same_type(np.multiply), "RealDiv": _same_type(np.divide), "Maximum": _same_type(np.maximum),
    "Minimum": _same_type(np.minimum), "Neg": _same_type(np.negative), "Sqrt": _same_type(np.sqrt),
    "Rsqrt": _same_type(_rsqrt), "Square": _same_type(np.square), "Reciprocal": _same_type(np.reciprocal),
    "Exp": _same_type(np.exp), "Log": _same_type(np.log), "Floor": _same_type(np.floor),
    "Rank": _rank, "Size": _size, "Range": _range, "Real": _complex_part("real"),
    "Imag": _complex_part("imag"),
    "AddN": lambda node, args: np.sum(np.stack(args), axis=0).astype(args[0].dtype),
}


def evaluate(node, args: list[np.ndarray]) -> np.ndarray | None:
    """The value of ``node`` given its data inputs' values (None when it cannot be computed here)."""
    fn = EVALUATORS.get(node.op)
    if fn is None:
        return None
    with np.errstate(all="ignore"):
        try:
            out = fn(node, args)
        except (ValueError, IndexError, TypeError):
            return None
    return None if out is None else np.asarray(out)
