"""GraphDefs built node by node inside tests, the way TensorFlow writes them, without TensorFlow.

``g.add("y", "MatMul", ["x", "w"], T=FLOAT)``: attrs are typed by name and Python type — ints named
``dtype``/``T*``/``SrcT``/``DstT``/``U`` are DataTypes, other ints are ints, bools are bools,
str/bytes are strings, floats floats, lists of ints int lists, ``shape`` is a list of dims and
``_class`` a list of ``loc:@`` strings.
"""

from __future__ import annotations

import numpy as np

from inspector.proto import pb

FLOAT = pb.DataType.DT_FLOAT
HALF = pb.DataType.DT_HALF
INT32 = pb.DataType.DT_INT32
INT64 = pb.DataType.DT_INT64
BOOL = pb.DataType.DT_BOOL
STRING = pb.DataType.DT_STRING
RESOURCE = pb.DataType.DT_RESOURCE
FLOAT_REF = FLOAT + 100

_TYPE_ATTRS = ("dtype", "SrcT", "DstT", "U")
_NUMPY = {FLOAT: np.float32, HALF: np.float16, INT32: np.int32, INT64: np.int64, BOOL: np.bool_}


class GraphBuilder:
    def __init__(self) -> None:
        self.graph_def = pb.GraphDef()

    def add(self, name: str, op: str, inputs=(), device: str = "", **attrs: object):
        node = self.graph_def.node.add(name=name, op=op, device=device)
        node.input.extend(inputs)
        for key, value in attrs.items():
            _set_attr(node, key, value)
        return node

    def const(self, name: str, value: object, dtype: int = FLOAT):
        array = np.asarray(value, dtype=_NUMPY[dtype])
        node = self.add(name, "Const", dtype=dtype)
        tensor = node.attr["value"].tensor
        tensor.dtype = dtype
        tensor.tensor_shape.SetInParent()
        for size in array.shape:
            tensor.tensor_shape.dim.add(size=size)
        if dtype == BOOL:
            tensor.bool_val.extend(array.reshape(-1).tolist())
        else:
            tensor.tensor_content = array.tobytes()
        return node

    def const_strings(self, name: str, values: list[str]):
        node = self.add(name, "Const", dtype=STRING)
        tensor = node.attr["value"].tensor
        tensor.dtype = STRING
        tensor.tensor_shape.dim.add(size=len(values))
        tensor.string_val.extend(v.encode() for v in values)
        return node

    def placeholder(self, name: str, dtype: int = FLOAT):
        return self.add(name, "Placeholder", dtype=dtype)

    @property
    def nodes(self):
        return self.graph_def.node

    def node(self, name: str):
        return next(n for n in self.graph_def.node if n.name == name)


def _set_attr(node, key: str, value: object) -> None:
    attr = node.attr[key]
    if key == "_class":
        attr.list.s.extend(v.encode() for v in value)
    elif key == "shape":
        attr.shape.SetInParent()
        for size in value:
            attr.shape.dim.add(size=size)
    elif isinstance(value, bool):
        attr.b = value
    elif isinstance(value, int) and (key in _TYPE_ATTRS or key.startswith("T")):
        attr.type = value
    elif isinstance(value, int):
        attr.i = value
    elif isinstance(value, str):
        attr.s = value.encode()
    elif isinstance(value, bytes):
        attr.s = value
    elif isinstance(value, float):
        attr.f = value
    elif isinstance(value, list) and all(isinstance(v, int) for v in value):
        attr.list.i.extend(value)
    else:
        raise TypeError(f"attr {key!r}: cannot encode {type(value).__name__}")
