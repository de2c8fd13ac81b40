"""Byte builders for reader tests: tables, V2 bundles and V1 files written by hand (no TensorFlow).

They follow FORMATS.md §3/§4/§6 literally, so tests can make exactly the damaged file they
need. ``test_table.py`` checks the table writer against the worked example of FORMATS.md §3.10,
which TensorFlow itself read back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.crc32c import crc32c, mask
from inspector.readers.ordered_code import encode_slice_key

MAGIC = bytes.fromhex("57fb808b247547db")


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def block(entries: list[tuple[bytes, bytes]], restart_interval: int = 16) -> bytes:
    out = bytearray()
    restarts = []
    prev = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        prev = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        out += r.to_bytes(4, "little")
    out += len(restarts).to_bytes(4, "little")
    return bytes(out)


def trailer(data: bytes, kind: int = 0) -> bytes:
    return bytes([kind]) + mask(crc32c(data + bytes([kind]))).to_bytes(4, "little")


def _successor(key: bytes) -> bytes:
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def table(entries: list[tuple[bytes, bytes]], entries_per_block: int = 1 << 30) -> bytes:
    """A complete table; ``entries_per_block`` forces several data blocks for tests."""
    out = bytearray()
    index = []
    chunks = [entries[i:i + entries_per_block] for i in range(0, len(entries), entries_per_block)] or [[]]
    for n, chunk in enumerate(chunks):
        data = block(chunk)
        handle = varint(len(out)) + varint(len(data))
        out += data + trailer(data)
        last = chunk[-1][0] if chunk else b""
        # TF's separator may be shorter; the last key itself is always a valid one.
        index.append((_successor(last) if n == len(chunks) - 1 else last, handle))
    meta = block([])
    meta_handle = varint(len(out)) + varint(len(meta))
    out += meta + trailer(meta)
    idx = block(index, restart_interval=1)
    idx_handle = varint(len(out)) + varint(len(idx))
    out += idx + trailer(idx)
    footer = meta_handle + idx_handle
    out += footer + bytes(40 - len(footer)) + MAGIC
    return bytes(out)


def string_tensor_bytes(values: list[bytes]) -> tuple[bytes, int]:
    """(stored bytes, masked crc) of a DT_STRING tensor (FORMATS.md §4.4-4.5)."""
    lengths = b"".join(varint(len(v)) for v in values)
    fixed = b"".join(len(v).to_bytes(4, "little") for v in values)
    crc = crc32c(fixed)
    stored = mask(crc).to_bytes(4, "little")
    crc = crc32c(stored, crc)
    for v in values:
        crc = crc32c(v, crc)
    return lengths + stored + b"".join(values), mask(crc)


def write_bundle(prefix: Path | str, tensors: dict[str, object], *, partitioned: dict | None = None,
                 num_shards: int = 1, big_endian: bool = False) -> str:
    """Write a V2 bundle. ``tensors``: name -> ndarray (numeric) or list[bytes] (string vector).

    ``partitioned``: name -> (full_shape, [(extents, ndarray)]) where extents are (start, length)
    per dimension. Tensor i goes to shard ``i % num_shards``.
    """
    prefix = str(prefix)
    shards = [bytearray() for _ in range(num_shards)]
    entries: dict[bytes, bytes] = {}

    def put(key: bytes, value, shard: int) -> None:
        entry = pb.BundleEntryProto()
        data = shards[shard]
        if isinstance(value, list):
            raw, crc = string_tensor_bytes(value)
            entry.dtype = dtypes.DT_STRING
            entry.shape.dim.add(size=len(value))
        else:
            arr = np.array(value, order="C")  # ascontiguousarray would turn a scalar into shape (1,)
            raw = arr.byteswap().tobytes() if big_endian else arr.tobytes()
            crc = mask(crc32c(raw))
            entry.dtype = dtypes.by_name(_np_name(arr.dtype)).value
            for d in arr.shape:
                entry.shape.dim.add(size=d)
        entry.shard_id = shard
        entry.offset = len(data)
        entry.size = len(raw)
        entry.crc32c = crc
        data += raw
        entries[key] = entry.SerializeToString()

    for i, (name, value) in enumerate(tensors.items()):
        put(name.encode(), value, i % num_shards)
    for name, (full_shape, pieces) in (partitioned or {}).items():
        full = pb.BundleEntryProto()
        full.dtype = dtypes.by_name(_np_name(pieces[0][1].dtype)).value
        for d in full_shape:
            full.shape.dim.add(size=d)
        for extents, arr in pieces:
            sl = full.slices.add()
            for start, length in extents:
                ext = sl.extent.add(start=start)
                if length != -1:
                    ext.length = length
            put(encode_slice_key(name.encode(), list(extents)), arr, 0)
        entries[name.encode()] = full.SerializeToString()
    header = pb.BundleHeaderProto(num_shards=num_shards, endianness=1 if big_endian else 0)
    header.version.producer = 1
    rows = [(b"", header.SerializeToString()), *sorted(entries.items())]
    Path(prefix + ".index").write_bytes(table(rows))
    for i, data in enumerate(shards):
        Path(f"{prefix}.data-{i:05d}-of-{num_shards:05d}").write_bytes(bytes(data))
    return prefix


def _np_name(dtype: np.dtype) -> str:
    name = str(dtype)
    return {"bool": "bool"}.get(name, name)


def write_v1(path: Path | str, tensors: dict[str, np.ndarray]) -> str:
    """A single-file V1 checkpoint of full (unsliced) numeric tensors."""
    meta = pb.SavedTensorSlices()
    meta.meta.versions.producer = 1
    rows = []
    for name, arr in tensors.items():
        dt = dtypes.by_name(str(arr.dtype))
        m = meta.meta.tensor.add(name=name, type=dt.value)
        for d in arr.shape:
            m.shape.dim.add(size=d)
        sl = m.slice.add()
        for _ in arr.shape:
            sl.extent.add()
        data = pb.SavedTensorSlices()
        data.data.name = name
        for _ in arr.shape:
            data.data.slice.extent.add()
        field = {"float32": "float_val", "float64": "double_val", "int32": "int_val", "int64": "int64_val",
                 "bool": "bool_val", "float16": "half_val", "uint8": "int_val"}[dt.name]
        flat = arr.view(np.uint16) if dt.name == "float16" else arr
        getattr(data.data.data, field).extend(flat.ravel().tolist())
        rows.append((encode_slice_key(name.encode(), [(0, -1)] * arr.ndim), data.SerializeToString()))
    rows = [(b"", meta.SerializeToString()), *sorted(rows)]
    Path(path).write_bytes(table(rows))
    return str(path)


def nested_text(levels: int) -> str:
    """A text GraphDef whose Const carries ``levels`` nested function attributes (3 messages each)."""
    opened = "".join('func { name: "f" attr { key: "x" value { ' for _ in range(levels))
    return ('node { name: "a" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } } '
            'attr { key: "value" value { ' + opened + "i: 1 " + "} } } " * levels + "} } }\n")


def without_blocking(call, fifos, timeout: float = 30.0):
    """``call()``'s result, run in a thread; if it is still blocked (opening or reading one of the
    named pipes ``fifos``) after ``timeout`` seconds, release it (open and close each pipe's
    writing end: the reader sees end of file) and raise AssertionError: a test fails, never hangs."""
    import contextlib
    import os
    import threading

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test's thread below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout)
        raise AssertionError(f"blocked on a named pipe ({', '.join(map(str, fifos))})")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def flag_unknown_rank(index_path, names) -> None:
    """Set ``unknown_rank`` beside the real dims of the ``.index`` entries ``names`` (TF ignores it)."""
    from inspector.readers.table import Table

    index = Path(index_path)
    rows = []
    for key, raw in Table(index.read_bytes(), index):
        raw = bytes(raw)
        if key.decode("utf-8") in names:
            entry = pb.BundleEntryProto()
            entry.ParseFromString(raw)
            entry.shape.unknown_rank = True
            raw = entry.SerializeToString()
        rows.append((bytes(key), raw))
    index.write_bytes(table(rows))
