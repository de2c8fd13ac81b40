"""V1 checkpoints (``SaverDef.V1``): one table per file holding TensorProtos (FORMATS.md §6).

Key ``""`` of each file lists the tensors stored *in that file* (``SavedTensorSliceMeta``); every
other key is a slice key whose value is a ``SavedSlice`` with a TensorProto that carries only the
typed value field (no dtype, no shape — those come from the meta entry). Unlike TF's own Python
``CheckpointReader``, this reader handles half, complex and partitioned tensors.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError

from inspector.errors import UnreadableInputError, UsageError
from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.base import DEFAULT_CHUNK, CheckpointReader, TensorMeta, v1_files
from inspector.readers.ordered_code import encode_slice_key
from inspector.readers.placeholders import placeholder_problem, refuse_special_file
from inspector.readers.table import Table

if TYPE_CHECKING:  # numpy is imported where tensors are read: listing never needs it
    import numpy as np

_CORRUPT_FIX = "The checkpoint is corrupt or incomplete; copy it again from where it was saved"

# TensorProto field that holds each dtype's values in a V1 SavedSlice (FORMATS.md §5, last column).
_FIELD = {
    "float32": "float_val", "float64": "double_val", "int64": "int64_val", "bool": "bool_val",
    "int32": "int_val", "uint8": "int_val", "int16": "int_val", "int8": "int_val", "uint16": "int_val",
    "qint8": "int_val", "quint8": "int_val", "qint16": "int_val", "quint16": "int_val", "qint32": "int_val",
    "float16": "half_val", "bfloat16": "half_val", "complex64": "scomplex_val", "complex128": "dcomplex_val",
    "uint32": "uint32_val", "uint64": "uint64_val", "string": "string_val",
}


def _count(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _typed_values(values, field: str, dt: dtypes.DType) -> np.ndarray:
    """A TensorProto typed field as a flat array of ``dt`` (raises OverflowError on bad values)."""
    import numpy as np
    if field == "half_val":  # the 16-bit pattern of each float16/bfloat16; TF keeps the low 16 bits
        return np.array(values, dtype=np.int64).astype(np.uint16).view(dt.numpy)
    if field in ("scomplex_val", "dcomplex_val"):  # (re, im) pairs
        return np.array(values, dtype=np.float32 if field == "scomplex_val" else np.float64).view(dt.numpy)
    if field in ("float_val", "double_val"):
        return np.array(values, dtype=dt.numpy)
    wide = np.uint64 if field == "uint64_val" else np.int64
    return np.array(values, dtype=wide).astype(dt.numpy)  # narrows like TF's static_cast


_SHARD = re.compile(r"^(.*)-(\d{5})-of-(\d{5})$")


def _check_all_shards(paths: list[str]) -> None:
    """Every ``-NNNNN-of-MMMMM`` shard must be there: each V1 shard lists only its own tensors, so a
    missing one would silently drop variables (and freeze would blame the graph for them)."""
    groups: dict[tuple[str, int], set[int]] = {}
    for path in paths:
        match = _SHARD.match(path)
        if match:
            groups.setdefault((match.group(1), int(match.group(3))), set()).add(int(match.group(2)))
    for (stem, total), present in groups.items():
        missing = [f"{Path(stem).name}-{i:05d}-of-{total:05d}" for i in range(total) if i not in present]
        if missing:
            raise UnreadableInputError(
                f"V1 checkpoint shard {missing[0]} is missing"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + f": {len(present)} of {total} shards found", path=f"{stem}-?????-of-{total:05d}",
                fix=f"Copy all {total} -?????-of-{total:05d} files into one folder")


class V1Reader(CheckpointReader):
    """Reader for a V1 checkpoint: a single file, a glob, or ``<prefix>-NNNNN-of-MMMMM`` shards."""

    format = "V1"

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = str(prefix)
        self.paths = v1_files(self.prefix)
        if not self.paths:
            raise UnreadableInputError("no V1 checkpoint file matches this prefix", path=self.prefix,
                                       fix="Pass the checkpoint file itself or its prefix")
        _check_all_shards(self.paths)
        self._maps: list[mmap.mmap] = []
        self._tables: list[Table] = []
        self._slices: dict[str, list[tuple[int, object]]] = {}
        self._dtype: dict[str, dtypes.DType] = {}
        self.tensors: dict[str, TensorMeta] = {}
        try:
            for i, path in enumerate(self.paths):
                self._load_file(i, path)
        except BaseException:
            self.close()
            raise
        self.tensors = dict(sorted(self.tensors.items()))
        for name, meta in self.tensors.items():
            if self._dtype[name].itemsize is None:
                self.tensors[name] = replace(meta, nbytes=self._stored_size(name))

    def _stored_size(self, name: str) -> int:
        """Bytes a string tensor occupies in the file (its encoded slices); 0 if they cannot be read."""
        total = 0
        try:
            for file_index, sl in self._slices[name]:
                extents, _ = self._extents(name, sl, self.tensors[name].shape)
                value = self._tables[file_index].get(encode_slice_key(name.encode("utf-8"), extents))
                total += len(value) if value is not None else 0
        except UnreadableInputError:
            return 0  # listing must not fail on damaged data; read() reports it
        return total

    def _load_file(self, i: int, path: str) -> None:
        refuse_special_file(path)
        try:
            with open(path, "rb") as fh:
                self._remember(path, fh.fileno())
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    raise UnreadableInputError("the checkpoint file is empty (0 bytes)", path=path,
                                               fix=_CORRUPT_FIX)
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise UnreadableInputError(f"cannot read the checkpoint file ({exc.strerror})", path=path,
                                       fix="Check that the file exists and is readable") from None
        self._maps.append(mapped)
        try:
            table = Table(mapped, path)
        except UnreadableInputError:
            raise placeholder_problem(path) or UnreadableInputError(
                "is neither a V2 checkpoint (no .index next to it) nor a valid V1 checkpoint table",
                path=path, fix=_CORRUPT_FIX) from None
        self._tables.append(table)
        first = table.first()
        if first is None or first[0] != b"":
            raise UnreadableInputError("the V1 checkpoint has no metadata entry", path=path, fix=_CORRUPT_FIX)
        meta = self._parse(pb.SavedTensorSlices, first[1], path, "the metadata entry").meta
        for tensor in meta.tensor:
            self._add_tensor(i, path, tensor)

    def _add_tensor(self, file_index: int, path: str, tensor) -> None:
        name = tensor.name
        try:
            dt = dtypes.by_value(tensor.type)
        except dtypes.UnknownDTypeError:
            raise UnreadableInputError(f"tensor {name!r} has unknown data type enum {tensor.type}", path=path,
                                       fix="This TensorFlow type is not supported") from None
        shape = tuple(int(d.size) for d in tensor.shape.dim)
        if any(d < 0 for d in shape):
            raise UnreadableInputError(f"tensor {name!r} has a negative dimension {list(shape)}", path=path,
                                       fix=_CORRUPT_FIX)
        known = self.tensors.get(name)
        if known is not None and (known.shape != shape or self._dtype[name] != dt):
            raise UnreadableInputError(f"shards disagree on the shape or type of {name!r}", path=path,
                                       fix=_CORRUPT_FIX)
        pieces = self._slices.setdefault(name, [])
        pieces.extend((file_index, sl) for sl in tensor.slice)
        partitioned = len(pieces) > 1 or any(len(sl.extent) and any(e.HasField("length") for e in sl.extent)
                                             for _, sl in pieces)
        nbytes = _count(shape) * dt.itemsize if dt.itemsize is not None else 0
        self._dtype[name] = dt
        self.tensors[name] = TensorMeta(name, dt.name, shape, nbytes, partitioned)

    @staticmethod
    def _parse(cls, value, path: str, what: str):
        msg = cls()
        try:
            msg.ParseFromString(bytes(value))
        except DecodeError:
            raise UnreadableInputError(f"{what} is not a valid protobuf message", path=path,
                                       fix=_CORRUPT_FIX) from None
        return msg

    # ----------------------------------------------------------------- reads
    def read(self, name: str) -> np.ndarray:
        import numpy as np
        meta = self.meta(name)
        dt = self._dtype[name]
        shape = meta.shape
        pieces = []
        for file_index, sl in self._slices[name]:
            extents, box = self._extents(name, sl, shape)
            piece_shape = tuple(b.stop - b.start for b in box)
            values = self._read_slice(file_index, name, extents, dt, piece_shape)
            if not shape or all(length == -1 for _, length in extents):
                return values
            pieces.append((box, values))
        # Decoded pieces are real data from the file, so their total bounds the allocation below.
        if not pieces or sum(v.size for _, v in pieces) != _count(shape):
            raise UnreadableInputError(f"the stored slices of {name!r} do not cover its shape {list(shape)}",
                                       path=self.prefix, fix=_CORRUPT_FIX)
        out = np.empty(shape, dtype=pieces[0][1].dtype)
        covered = np.zeros(shape, dtype=bool)
        for box, values in pieces:
            out[box] = values
            covered[box] = True
        if not covered.all():  # equal sizes but a gap means two pieces overlap
            raise UnreadableInputError(f"the stored slices of {name!r} overlap", path=self.prefix,
                                       fix=_CORRUPT_FIX)
        return out

    def _extents(self, name: str, sl, shape) -> tuple[list[tuple[int, int]], tuple[slice, ...]]:
        if not sl.extent:
            extents = [(0, -1)] * len(shape)
        elif len(sl.extent) != len(shape):
            raise UnreadableInputError(f"a slice of {name!r} has the wrong rank", path=self.prefix,
                                       fix=_CORRUPT_FIX)
        else:
            extents = [(int(e.start), int(e.length) if e.HasField("length") else -1) for e in sl.extent]
        box = []
        for (start, length), dim in zip(extents, shape, strict=True):
            lo, hi = (0, dim) if length == -1 else (start, start + length)
            if lo < 0 or hi > dim or hi < lo:
                raise UnreadableInputError(f"a slice of {name!r} lies outside its shape {list(shape)}",
                                           path=self.prefix, fix=_CORRUPT_FIX)
            box.append(slice(lo, hi))
        return extents, tuple(box)

    def _read_slice(self, file_index: int, name: str, extents, dt: dtypes.DType, shape) -> np.ndarray:
        path = self.paths[file_index]
        key = encode_slice_key(name.encode("utf-8"), extents)
        value = self._tables[file_index].get(key)
        if value is None:
            raise UnreadableInputError(f"the data of tensor {name!r} is missing from the file", path=path,
                                       fix=_CORRUPT_FIX)
        saved = self._parse(pb.SavedTensorSlices, value, path, f"the data of {name!r}").data
        return self._decode(saved.data, name, dt, shape, path)

    def _decode(self, proto, name: str, dt: dtypes.DType, shape, path: str) -> np.ndarray:
        import numpy as np
        count = _count(shape)
        if proto.tensor_content:
            if dt.numpy is None or len(proto.tensor_content) != count * dt.itemsize:
                raise UnreadableInputError(f"the stored bytes of {name!r} do not match its shape",
                                           path=path, fix=_CORRUPT_FIX)
            return np.frombuffer(proto.tensor_content, dtype=dt.numpy).reshape(shape)
        field = _FIELD.get(dt.name)
        if field is None:
            raise UnreadableInputError(
                f"tensor {name!r} has type {dt.name}, which V1 checkpoints cannot hold", path=path,
                fix=_CORRUPT_FIX)
        values = getattr(proto, field)
        per_element = 2 if dt.name.startswith("complex") else 1
        if len(values) != count * per_element:
            raise UnreadableInputError(
                f"tensor {name!r} stores {len(values) // per_element} values, its shape {list(shape)} needs "
                f"{count}", path=path, fix=_CORRUPT_FIX)
        if dt.value == dtypes.DT_STRING:
            out = np.empty(count, dtype=object)
            out[:] = list(values)
            return out.reshape(shape)
        try:
            return _typed_values(values, field, dt).reshape(shape)
        except (OverflowError, ValueError, TypeError):
            raise UnreadableInputError(f"the values of {name!r} do not fit its type {dt.name}", path=path,
                                       fix=_CORRUPT_FIX) from None

    def raw_chunks(self, name: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The tensor's little-endian raw buffer; V1 stores protos, so it is decoded first."""
        import numpy as np
        dt = self._dtype.get(name) or self._dtype[self.meta(name).name]
        if dt.numpy is None:
            raise UsageError(f"tensor {name!r} is a {dt.name} tensor, which has no raw buffer",
                             path=self.prefix, fix="Read it with read() instead")
        data = np.ascontiguousarray(self.read(name), dtype=dt.numpy.newbyteorder("<")).tobytes()
        for start in range(0, len(data), max(1, chunk_size)):
            yield data[start:start + chunk_size]

    def close(self) -> None:
        self._tables = []
        maps, self._maps = self._maps, []
        for mapped in maps:
            with contextlib.suppress(BufferError):
                mapped.close()
