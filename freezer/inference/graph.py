"""The one graph class every ``--for-inference`` rewrite works on.

It holds the frozen graph as the freezer produced it — NodeDefs and streamed Consts (weights still
in the checkpoint) — plus the library and the output names, and offers the few edits rewrites need:
read a constant's value, make a Const, point every consumer of one tensor at another, remove
nodes, and drop what no output needs any more. Indexes (by name, consumers) are rebuilt lazily
after an edit, so a rewrite reads a consistent graph and never keeps its own copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from freezer.writer import StreamedConst
from inspector import tfops
from inspector.graph.model import TensorRef
from inspector.proto import pb
from inspector.readers import dtypes

#: A folded result larger than this stays in the graph as computed: constant folding must not
#: turn a graph that streams its weights into one held in memory.
MAX_FOLDED_BYTES = 64 << 20


def tensor_name(node: str, port: int = 0) -> str:
    return node if port == 0 else f"{node}:{port}"


@dataclass
class InferenceGraph:
    """The frozen graph under rewrite (see the module docstring)."""

    items: list
    outputs: list[str]
    library: object | None = None
    signature_outputs: dict[str, str] = field(default_factory=dict)  # tensor -> signature output key
    renamed: dict[str, str] = field(default_factory=dict)  # output tensor before -> after
    keep: set[str] = field(default_factory=set)  # nodes kept whatever (table initializers)
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    switches: dict[str, object] = field(default_factory=dict)  # placeholder -> its inference value
    _by_name: dict | None = None
    _consumers: dict | None = None

    # -- indexes ----------------------------------------------------------------------------------

    def changed(self) -> None:
        """Forget the indexes (call after any edit)."""
        self._by_name = None
        self._consumers = None

    @property
    def by_name(self) -> dict:
        if self._by_name is None:
            self._by_name = {item.name: item for item in self.items}
        return self._by_name

    def node(self, name: str):
        return self.by_name.get(name)

    def consumers(self, name: str) -> list[tuple[object, int, TensorRef]]:
        """(consumer NodeDef, input position, parsed input) for every use of node ``name``."""
        if self._consumers is None:
            index: dict[str, list] = {}
            for item in self.items:
                for position, text in enumerate(inputs_of(item)):
                    ref = TensorRef.parse(text)
                    index.setdefault(ref.node, []).append((item, position, ref))
            self._consumers = index
        return self._consumers.get(name, [])

    def op(self, name: str) -> str | None:
        item = self.node(name)
        return None if item is None else op_of(item)

    def is_output(self, name: str) -> bool:
        return name in self.outputs

    # -- constants ---------------------------------------------------------------------------------

    def const_value(self, ref: str | TensorRef) -> np.ndarray | None:
        """The value of a Const (folded weight or small Const), None for anything else."""
        if isinstance(ref, str):
            ref = TensorRef.parse(ref)
        item = self.node(ref.node)
        if item is None or ref.port != 0 or op_of(item) != "Const":
            return None
        if isinstance(item, StreamedConst):
            dtype = dtypes.by_value(item.dtype).numpy
            if dtype is None:
                return None
            return np.frombuffer(b"".join(item.chunks()), dtype=dtype).reshape(item.shape)
        return tensor_value(item.attr["value"].tensor)

    def const_shape(self, name: str) -> tuple[int, ...] | None:
        item = self.node(name)
        if isinstance(item, StreamedConst):
            return tuple(item.shape)
        if item is not None and item.op == "Const":
            return tuple(d.size for d in item.attr["value"].tensor.tensor_shape.dim)
        return None

    def make_const(self, name: str, value: np.ndarray, before: str | None = None) -> pb.NodeDef:
        """Add a Const holding ``value`` (placed before node ``before`` when given)."""
        node = const_node(self.fresh(name), value)
        self.insert(node, before)
        return node

    # -- edits -------------------------------------------------------------------------------------

    def fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self.by_name:
            name = f"{base}_{n}"
            n += 1
        return name

    def insert(self, node, before: str | None = None) -> None:
        if before is not None and before in self.by_name:
            index = next(i for i, item in enumerate(self.items) if item.name == before)
            self.items.insert(index, node)
        else:
            self.items.append(node)
        self.changed()

    def replace_uses(self, old: str, new: str, keep_outputs: bool = True) -> int:
        """Point every data use of tensor ``old`` ("node" or "node:k") at ``new``; returns how many.

        Control uses of the old node are left alone (:meth:`prune` drops those of removed nodes).
        """
        old_ref = TensorRef.parse(old)
        count = 0
        for item, position, ref in list(self.consumers(old_ref.node)):
            if not ref.control and ref.port == old_ref.port:
                item.input[position] = new
                count += 1
        self.changed()
        return count

    def remove(self, names: Iterable[str]) -> None:
        gone = set(names)
        self.items = [item for item in self.items if item.name not in gone]
        for item in self.items:
            if isinstance(item, StreamedConst):
                continue
            kept = [t for t in item.input if TensorRef.parse(t).node not in gone or not t.startswith("^")]
            if len(kept) != len(item.input):
                del item.input[:]
                item.input.extend(kept)
        self.changed()

    def prune(self) -> list[str]:
        """Drop every node no output (nor a kept node) needs; returns the names removed."""
        needed: set[str] = set()
        stack = [name for name in [*self.outputs, *self.keep] if name in self.by_name]
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            stack.extend(TensorRef.parse(t).node for t in inputs_of(self.by_name[name]))
        removed = [item.name for item in self.items if item.name not in needed]
        if removed:
            self.remove(removed)
            self._drop_stale_colocation()
        return removed

    def _drop_stale_colocation(self) -> None:
        """``_class: loc:@x`` naming a removed node makes TensorFlow refuse the graph at import."""
        names = self.by_name
        for item in self.items:
            if isinstance(item, StreamedConst) or "_class" not in item.attr:
                continue
            entries = list(item.attr["_class"].list.s)
            kept = [e for e in entries
                    if not e.startswith(b"loc:@") or e[5:].decode("utf-8", "replace") in names]
            if not kept:
                del item.attr["_class"]
            elif len(kept) != len(entries):
                del item.attr["_class"].list.s[:]
                item.attr["_class"].list.s.extend(kept)


# ---------------------------------------------------------------------------------------------
# NodeDef helpers


def op_of(item) -> str:
    return "Const" if isinstance(item, StreamedConst) else item.op


def inputs_of(item) -> Sequence[str]:
    return () if isinstance(item, StreamedConst) else item.input


def data_inputs(node) -> list[str]:
    return [t for t in inputs_of(node) if not t.startswith("^")]


def control_inputs(node) -> list[str]:
    return [t for t in inputs_of(node) if t.startswith("^")]


def tensor_value(tensor) -> np.ndarray | None:
    """A TensorProto as numpy (tensor_content or the typed *_val fields, splatted as TF does)."""
    dtype = dtypes.by_value(tensor.dtype) if dtypes.is_known(tensor.dtype) else None
    shape = tuple(d.size for d in tensor.tensor_shape.dim)
    if dtype is None or dtype.numpy is None:
        return None
    count = int(np.prod(shape)) if shape else 1
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype=dtype.numpy).reshape(shape).copy()
    field_name = _VAL_FIELDS.get(dtype.name)
    if field_name is None:
        return None
    values = list(getattr(tensor, field_name))
    if dtype.name in ("float16", "bfloat16"):
        values = np.array(values, dtype=np.uint16).view(dtype.numpy)
    array = np.array(values, dtype=dtype.numpy)
    if array.size == count:
        return array.reshape(shape)
    if array.size == 0:
        return np.zeros(shape, dtype=dtype.numpy)
    out = np.empty(count, dtype=dtype.numpy)  # TF repeats the last value to fill the shape
    out[: array.size] = array
    out[array.size:] = array[-1]
    return out.reshape(shape)


_VAL_FIELDS = {"float32": "float_val", "float64": "double_val", "int32": "int_val", "uint8": "int_val",
               "int16": "int_val", "int8": "int_val", "int64": "int64_val", "bool": "bool_val",
               "float16": "half_val", "bfloat16": "half_val", "uint32": "uint32_val",
               "uint64": "uint64_val", "uint16": "int_val", "complex64": "scomplex_val"}


def const_node(name: str, value: np.ndarray) -> pb.NodeDef:
    value = np.asarray(value)
    dtype = dtypes.by_name(_numpy_name(value.dtype))
    node = pb.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = dtype.value
    tensor = node.attr["value"].tensor
    tensor.dtype = dtype.value
    for size in value.shape:
        tensor.tensor_shape.dim.add(size=int(size))
    field_name = _VAL_FIELDS.get(dtype.name)
    if value.size == 1 and field_name is not None and dtype.name not in _BITS_IN_VAL:
        # As TensorFlow writes one value (tensor_util.make_tensor_proto: tensor_content only for more
        # than one): OpenCV 4.14 reads a scalar Const's int_val / float_val, e.g. a concat's axis
        # (tf_importer.cpp, parseConcat: ``getConstBlob(...).int_val().Get(0)``, which crashes on
        # a tensor_content scalar).
        getattr(tensor, field_name).append(value.reshape(-1)[0].item())
        return node
    tensor.tensor_content = np.ascontiguousarray(value, dtype=dtype.numpy).tobytes()
    return node


#: Types whose *_val field holds bits, not values: written as tensor_content.
_BITS_IN_VAL = frozenset({"float16", "bfloat16", "complex64", "complex128"})


def _numpy_name(dtype: np.dtype) -> str:
    return {"bool": "bool"}.get(dtype.name, dtype.name)


def set_shape_attr(node, key: str, shape: Sequence[int] | None) -> None:
    value = node.attr[key].shape
    value.Clear()
    if shape is None:
        value.unknown_rank = True
        return
    for size in shape:
        value.dim.add(size=int(size))


def is_stateful_source(op: str) -> bool:
    """Ops whose value is not a function of their inputs: never folded away."""
    return op in tfops.RANDOM_STATEFUL or op in tfops.PLACEHOLDERS or tfops.is_input_pipeline(op) \
        or op in tfops.TABLES or op in tfops.TABLE_LOOKUPS
