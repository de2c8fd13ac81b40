"""Small GraphDefs with one defect each, built node by node inside the tests (onnx checker style)."""

from __future__ import annotations

import numpy as np

from inspector.diagnosis.graphindex import GraphIndex
from inspector.proto import pb

FLOAT = pb.DataType.DT_FLOAT
HALF = pb.DataType.DT_HALF
INT32 = pb.DataType.DT_INT32
INT64 = pb.DataType.DT_INT64
BOOL = pb.DataType.DT_BOOL
RESOURCE = pb.DataType.DT_RESOURCE
FLOAT_REF = FLOAT + 100


class Graph:
    """``g.add("y", "MatMul", ["x", "w"], T=FLOAT)``: ints named T*/dtype are types, bools are bools."""

    def __init__(self) -> None:
        self.graph_def = pb.GraphDef()

    def add(self, name: str, op: str, inputs: tuple | list = (), **attrs: object) -> object:
        node = self.graph_def.node.add(name=name, op=op)
        node.input.extend(inputs)
        for key, value in attrs.items():
            if isinstance(value, bool):
                node.attr[key].b = value
            elif key in ("T", "dtype", "SrcT", "DstT", "U") and isinstance(value, int):
                node.attr[key].type = value
            elif isinstance(value, int):
                node.attr[key].i = value
            elif isinstance(value, str):
                node.attr[key].s = value.encode()
        return node

    def const(self, name: str, value: object, dtype: int = FLOAT) -> object:
        array = np.asarray(value, dtype={FLOAT: np.float32, INT32: np.int32, BOOL: np.bool_}[dtype])
        node = self.add(name, "Const", dtype=dtype)
        tensor = node.attr["value"].tensor
        tensor.dtype = dtype
        for size in array.shape:
            tensor.tensor_shape.dim.add(size=size)
        if dtype == BOOL:
            tensor.bool_val.extend(array.reshape(-1).tolist())
        else:
            tensor.tensor_content = array.tobytes()
        return node

    def placeholder(self, name: str, dtype: int = FLOAT) -> object:
        return self.add(name, "Placeholder", dtype=dtype)

    def index(self) -> GraphIndex:
        return GraphIndex(self.graph_def)


def mlp() -> Graph:
    """x -> MatMul(w) -> BiasAdd(b) -> Softmax 'probs': a healthy frozen graph."""
    g = Graph()
    g.placeholder("x")
    g.const("w", np.ones((4, 3)))
    g.const("b", np.zeros(3))
    g.add("mm", "MatMul", ["x", "w"], T=FLOAT)
    g.add("logits", "BiasAdd", ["mm", "b"], T=FLOAT)
    g.add("probs", "Softmax", ["logits"], T=FLOAT)
    return g
