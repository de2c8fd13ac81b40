"""Small GraphDefs built node by node, and an in-memory checkpoint reader, for the freezer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.checkpoint import TensorMeta

FLOAT = pb.DataType.DT_FLOAT
FLOAT_REF = FLOAT + 100
RESOURCE = pb.DataType.DT_RESOURCE
INT32 = pb.DataType.DT_INT32
BOOL = pb.DataType.DT_BOOL


class Graph:
    """``g.add("y", "MatMul", ["x", "w"], T=FLOAT)``; attrs are typed by Python type."""

    def __init__(self) -> None:
        self.graph_def = pb.GraphDef()

    def add(self, name: str, op: str, inputs=(), device: str = "", **attrs) -> pb.NodeDef:
        node = self.graph_def.node.add(name=name, op=op, device=device)
        node.input.extend(inputs)
        for key, value in attrs.items():
            if key == "_class":
                node.attr["_class"].list.s.extend(v.encode() for v in value)
            elif key == "shape":
                node.attr["shape"].shape.SetInParent()
                for size in value:
                    node.attr["shape"].shape.dim.add(size=size)
            elif isinstance(value, bool):
                node.attr[key].b = value
            elif key in ("T", "dtype", "Tindices", "Tparams") or key.startswith("T"):
                node.attr[key].type = value
            elif isinstance(value, int):
                node.attr[key].i = value
            elif isinstance(value, bytes):
                node.attr[key].s = value
            else:
                raise TypeError(key)
        return node

    def variable(self, name: str, shape=(2, 2), dtype: int = FLOAT, read: bool = True) -> None:
        self.add(name, "VariableV2", dtype=dtype, shape=shape)
        if read:
            self.add(f"{name}/read", "Identity", [name], T=dtype, _class=[f"loc:@{name}"])

    def resource(self, name: str, shape=(2, 2), dtype: int = FLOAT) -> None:
        self.add(name, "VarHandleOp", dtype=dtype, shape=shape, shared_name=name.encode())

    def placeholder(self, name: str, dtype: int = FLOAT) -> None:
        self.add(name, "Placeholder", dtype=dtype)

    def const_strings(self, name: str, values: list[str]) -> None:
        node = self.add(name, "Const", dtype=pb.DataType.DT_STRING)
        tensor = node.attr["value"].tensor
        tensor.dtype = pb.DataType.DT_STRING
        tensor.tensor_shape.dim.add(size=len(values))
        tensor.string_val.extend(v.encode() for v in values)

    @property
    def nodes(self):
        return self.graph_def.node

    def node(self, name: str):
        return next(n for n in self.graph_def.node if n.name == name)


class MemoryReader:
    """The CheckpointReader interface over a dict of numpy arrays."""

    format = "memory"
    prefix = "memory"

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.tensors = {}
        for key, value in self.arrays.items():
            name = "string" if value.dtype == object else dtypes.by_name(str(value.dtype)).name
            nbytes = value.nbytes if value.dtype != object else sum(len(v) for v in value.ravel())
            self.tensors[key] = TensorMeta(key, name, tuple(value.shape), nbytes)
        self.chunk_requests: list[str] = []

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def read(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def raw_chunks(self, name: str, chunk_size: int = 5) -> Iterator[bytes]:
        self.chunk_requests.append(name)
        raw = self.arrays[name].tobytes()
        for start in range(0, len(raw), chunk_size):
            yield raw[start:start + chunk_size]

    def close(self) -> None:
        pass
