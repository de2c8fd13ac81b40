"""Small GraphDefs built node by node, and an in-memory checkpoint reader, for the freezer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inspector.readers import dtypes
from inspector.readers.checkpoint import TensorMeta
from tests.graphs import FLOAT, GraphBuilder


class Graph(GraphBuilder):
    """The shared builder plus TF1 and resource variables."""

    def variable(self, name: str, shape=(2, 2), dtype: int = FLOAT, read: bool = True) -> None:
        self.add(name, "VariableV2", dtype=dtype, shape=shape)
        if read:
            self.add(f"{name}/read", "Identity", [name], T=dtype, _class=[f"loc:@{name}"])

    def resource(self, name: str, shape=(2, 2), dtype: int = FLOAT) -> None:
        self.add(name, "VarHandleOp", dtype=dtype, shape=shape, shared_name=name.encode())


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
