"""V2 tensor bundles: ``<prefix>.index`` (a table of BundleEntryProto) + ``<prefix>.data-*`` shards.

Listing reads only the ``.index`` file (FORMATS.md §4): header under key ``""``, one entry per
tensor, and ``\\x00``-prefixed slice keys for the pieces of partitioned variables. Tensor data is
memory-mapped on first use and handed to numpy without copying, so reading one tensor never
reads a whole shard; its CRC32C is verified once per reader (C-accelerated).
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError

from inspector.errors import UnreadableInputError, UsageError
from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.base import DEFAULT_CHUNK, CheckpointReader, TensorMeta
from inspector.readers.crc32c import crc32c, mask
from inspector.readers.ordered_code import encode_slice_key
from inspector.readers.placeholders import placeholder_problem, refuse_special_file
from inspector.readers.table import Table, TableError, read_varint

if TYPE_CHECKING:  # numpy is imported where tensors are read: listing never needs it
    import numpy as np

_MAX_SHARDS = 1 << 16  # far above any real device count; bounds the file-name list
_BIG_ENDIAN = 1
_CORRUPT_FIX = "The checkpoint is corrupt or incomplete; copy it again from where it was saved"

Extents = list[tuple[int, int]]


def data_path(prefix: str, shard: int, num_shards: int) -> str:
    """``<prefix>.data-SSSSS-of-NNNNN`` (TF naming.cc)."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def _shape(shape_proto, what: str, path: str) -> tuple[int, ...]:
    """The entry's dims. ``unknown_rank`` is ignored, as TensorFlow's bundle reader does: it builds a
    (fully defined) TensorShape from the proto, which reads only the dims (tensor_shape.cc: "TensorShape
    allows parsing protos with unknown_shape() set"); a scalar may carry the flag too."""
    dims = tuple([d.size for d in shape_proto.dim])
    if dims and min(dims) < 0:
        raise UnreadableInputError(f"{what} has a negative dimension {list(dims)}", path=path,
                                   fix=_CORRUPT_FIX)
    return dims


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _map_error(path: str, size: int | None, exc: Exception) -> UnreadableInputError:
    """What failed when a data shard could not be opened or memory-mapped, and what to do."""
    import errno

    code = getattr(exc, "errno", None)
    if size is None:  # open() itself failed
        reason = getattr(exc, "strerror", None) or str(exc)
        return UnreadableInputError(f"cannot open the data shard ({reason})", path=path,
                                    fix="Check that the file is readable (its permissions and its folder's)")
    if code == errno.ENOMEM:
        limit = _address_space_limit()
        within = f" within this process's address-space limit ({limit:,} bytes, ulimit -v)" if limit else ""
        return UnreadableInputError(
            f"cannot memory-map the {size:,}-byte data shard: the system refused {size:,} bytes of "
            f"address space{within} (the file itself may be fine)", path=path,
            fix="Raise the limit (ulimit -v unlimited) or run where more virtual memory is available")
    if code in (errno.ENODEV, errno.EINVAL, errno.EOPNOTSUPP):
        return UnreadableInputError(
            f"cannot memory-map the data shard: the file system it is on does not support it "
            f"({getattr(exc, 'strerror', None) or exc})", path=path,
            fix="Copy the checkpoint to a local disk and pass the copy")
    if code in (errno.EACCES, errno.EPERM):
        return UnreadableInputError(f"cannot memory-map the data shard ({exc.strerror})", path=path,
                                    fix="Check that the file is readable")
    return UnreadableInputError(f"cannot memory-map the {size:,}-byte data shard "
                                f"({getattr(exc, 'strerror', None) or exc})", path=path,
                                fix="Check that the file is a complete, readable regular file")


def _address_space_limit() -> int | None:
    """RLIMIT_AS in bytes, or None when unlimited or unknown."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft < 0 else soft

class BundleReader(CheckpointReader):
    """Reader for one V2 checkpoint prefix (also a SavedModel's ``variables/variables``)."""

    format = "V2"

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = str(prefix)
        self.index_path = self.prefix + ".index"
        self._maps: dict[int, mmap.mmap | bytes] = {}
        self._files: dict[int, object] = {}  # shard -> its open file: every read of it goes through one
        self._verified: set[tuple[int, int, int]] = set()
        self._entries: dict[str, object] = {}
        self._slices: dict[bytes, object] = {}
        self._raw_names: dict[str, bytes] = {}
        self.tensors: dict[str, TensorMeta] = {}
        self.header = self._load_index()
        self.num_shards = int(self.header.num_shards)
        self.big_endian = self.header.endianness == _BIG_ENDIAN
        self.data_paths = [data_path(self.prefix, i, self.num_shards) for i in range(self.num_shards)]
        for name, entry in self._entries.items():
            self.tensors[name] = self._meta_of(name, entry)

    # ----------------------------------------------------------------- index
    def _load_index(self):
        path = self.index_path
        refuse_special_file(path)
        try:
            with open(path, "rb") as fh:
                self._remember(path, fh.fileno())
                data = fh.read()
        except OSError as exc:
            raise UnreadableInputError(f"cannot read the checkpoint index ({exc.strerror})", path=path,
                                       fix="Check that the file exists and is readable") from None
        if not data:
            raise UnreadableInputError("the checkpoint index is empty (0 bytes)", path=path, fix=_CORRUPT_FIX)
        try:
            table = Table(data, path)
        except UnreadableInputError:
            problem = placeholder_problem(path)
            if problem is not None:
                raise problem from None
            raise
        header = None
        for key, value in table:
            if header is None:
                if key != b"":
                    raise UnreadableInputError("the index does not start with a bundle header", path=path,
                                               fix=_CORRUPT_FIX)
                header = self._parse(pb.BundleHeaderProto, value, "the bundle header")
                continue
            entry = self._parse(pb.BundleEntryProto, value, f"the entry for {key[:80]!r}")
            if key[:1] == b"\x00":
                self._slices[key] = entry
            else:
                name = key.decode("utf-8", "backslashreplace")
                self._entries[name] = entry
                self._raw_names[name] = key
        if header is None:
            raise UnreadableInputError("the index holds no entries at all", path=path, fix=_CORRUPT_FIX)
        self._check_header(header)
        return header

    def _parse(self, cls, value: memoryview, what: str):
        msg = cls()
        try:
            msg.ParseFromString(bytes(value))
        except DecodeError:
            raise UnreadableInputError(f"{what} is not a valid protobuf message", path=self.index_path,
                                       fix=_CORRUPT_FIX) from None
        return msg

    def _check_header(self, header) -> None:
        version = header.version
        if version.producer < 0 or version.min_consumer > 1 or 1 in version.bad_consumers:
            raise UnreadableInputError(
                f"bundle version (producer {header.version.producer}, min_consumer "
                f"{header.version.min_consumer}) is newer than this reader understands", path=self.index_path,
                fix="Re-save the checkpoint with a TensorFlow 2.x release")
        if not 0 <= header.num_shards <= _MAX_SHARDS or (header.num_shards == 0 and self._entries):
            raise UnreadableInputError(f"the header claims {header.num_shards} data shards",
                                       path=self.index_path, fix=_CORRUPT_FIX)

    def _meta_of(self, name: str, entry) -> TensorMeta:
        shape = _shape(entry.shape, f"tensor {name!r}", self.index_path)
        dtype = entry.dtype
        dt_name = dtypes.name_of(dtype)
        partitioned = len(entry.slices) > 0
        itemsize = dtypes.by_value(dtype).itemsize if dtypes.is_known(dtype) else None
        if itemsize is not None:
            nbytes = _count(shape) * itemsize
        elif partitioned:
            nbytes = sum(s.size for _, s in self._slice_entries_quiet(name, entry, shape))
        else:
            nbytes = int(entry.size)
        return TensorMeta(name, dt_name, shape, nbytes, partitioned)

    # ----------------------------------------------------------------- data files
    def missing_shards(self) -> list[str]:
        """Data files the index needs that do not exist (checked with stat only)."""
        return [p for p in self.data_paths if not os.path.isfile(p)]

    def data_fd(self, shard: int, label: str = "") -> int:
        """The descriptor of data shard ``shard``, opened once per reader: the memory map and every
        copy read the same file, even if another one is saved under its name meanwhile (a trainer
        saving the same prefix again); :meth:`changed_files` tells when that happened."""
        if shard in self._files:
            return self._files[shard].fileno()
        if not 0 <= shard < self.num_shards:
            raise UnreadableInputError(f"tensor {label!r} points at data shard {shard}, but the header "
                                       f"lists {self.num_shards}", path=self.index_path, fix=_CORRUPT_FIX)
        path = self.data_paths[shard]
        refuse_special_file(path)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - kept open until close()
        except FileNotFoundError:
            raise UnreadableInputError(
                f"data shard {Path(path).name} is missing (needed for {label!r})", path=path,
                fix=f"Copy all {self.num_shards} .data-*-of-{self.num_shards:05d} files next to the .index",
            ) from None
        except OSError as exc:
            raise _map_error(path, None, exc) from None
        self._files[shard] = fh
        self._remember(path, fh.fileno())
        return fh.fileno()

    def _map(self, shard: int, label: str) -> mmap.mmap | bytes:
        if shard in self._maps:
            return self._maps[shard]
        fd = self.data_fd(shard, label)
        path = self.data_paths[shard]
        size = None
        try:
            size = os.fstat(fd).st_size
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError) as exc:
            raise _map_error(path, size, exc) from None
        self._maps[shard] = mapped
        return mapped

    def _region(self, entry, label: str) -> tuple[mmap.mmap | bytes, int, int]:
        """(buffer, offset, size) of an entry after checking it lies inside its shard."""
        buf = self._map(int(entry.shard_id), label)
        offset, size = int(entry.offset), int(entry.size)
        if offset < 0 or size < 0 or offset + size > len(buf):
            raise UnreadableInputError(
                f"tensor {label!r} claims bytes {offset}..{offset + size} but the data file has {len(buf)}",
                path=self.data_paths[int(entry.shard_id)], fix=_CORRUPT_FIX)
        return buf, offset, size

    def _verify(self, entry, label: str, buf, offset: int, size: int) -> None:
        key = (int(entry.shard_id), offset, size)
        if key in self._verified:
            return
        with memoryview(buf) as view:
            actual = mask(crc32c(view[offset:offset + size]))
        if actual != entry.crc32c:
            raise UnreadableInputError(f"checksum mismatch in the data of tensor {label!r}",
                                       path=self.data_paths[int(entry.shard_id)], fix=_CORRUPT_FIX)
        self._verified.add(key)

    # ----------------------------------------------------------------- reads
    def read(self, name: str) -> np.ndarray:
        meta = self.meta(name)
        entry = self._entries[name]
        if meta.partitioned:
            return self._read_partitioned(name, entry, meta.shape)
        return self._read_entry(entry, name, meta.shape)

    def _dtype(self, entry, label: str) -> dtypes.DType:
        try:
            return dtypes.by_value(entry.dtype)
        except dtypes.UnknownDTypeError:
            raise UnreadableInputError(f"tensor {label!r} has unknown data type enum {entry.dtype}",
                                       path=self.index_path, fix="This TensorFlow type is not supported",
                                       ) from None

    def _read_entry(self, entry, label: str, shape: tuple[int, ...]) -> np.ndarray:
        import numpy as np
        dt = self._dtype(entry, label)
        if dt.value == dtypes.DT_STRING:
            return self._read_strings(entry, label, shape)
        if dt.value == dtypes.DT_VARIANT:
            return self._read_variants(entry, label, shape)
        if dt.numpy is None or dt.is_ref:
            raise UnreadableInputError(f"tensor {label!r} has type {dt.name}, which a checkpoint cannot hold",
                                       path=self.index_path, fix=_CORRUPT_FIX)
        count = _count(shape)
        if entry.size != count * dt.itemsize:
            raise UnreadableInputError(
                f"tensor {label!r} stores {entry.size} bytes but {dt.name}{list(shape)} needs "
                f"{count * dt.itemsize}", path=self.index_path, fix=_CORRUPT_FIX)
        buf, offset, size = self._region(entry, label)
        self._verify(entry, label, buf, offset, size)
        np_dtype = dt.numpy.newbyteorder(">") if self.big_endian and dt.itemsize > 1 else dt.numpy
        arr = np.frombuffer(buf, dtype=np_dtype, count=count, offset=offset) if count else \
            np.empty(0, dtype=dt.numpy)
        if np_dtype is not dt.numpy:
            arr = arr.astype(dt.numpy)
        return arr.reshape(shape)

    def _read_strings(self, entry, label: str, shape: tuple[int, ...]) -> np.ndarray:
        """DT_STRING: varint lengths, masked CRC of the lengths, then the bytes (FORMATS.md §4.4-4.5)."""
        import numpy as np
        buf, offset, size = self._region(entry, label)
        count = _count(shape)
        if count > size:  # every element takes at least one length byte: never allocate more
            raise UnreadableInputError(f"string tensor {label!r} claims {count} elements in {size} bytes",
                                       path=self.index_path, fix=_CORRUPT_FIX)
        end = offset + size
        pos = offset
        lengths = []
        try:
            for _ in range(count):
                length, pos = read_varint(buf, pos, end)
                lengths.append(length)
        except TableError:
            raise self._data_error(entry, f"string tensor {label!r} has truncated lengths") from None
        big = any(n > 0xFFFFFFFF for n in lengths)
        order = ">" if self.big_endian else "<"
        fixed = np.array(lengths, dtype=f"{order}u{8 if big else 4}").tobytes()
        if pos + 4 > end:
            raise self._data_error(entry, f"string tensor {label!r} is truncated")
        crc = crc32c(fixed)
        stored = bytes(buf[pos:pos + 4])
        if mask(crc) != int.from_bytes(stored, "big" if self.big_endian else "little"):
            raise self._data_error(entry, f"checksum mismatch in the string lengths of {label!r}")
        pos += 4
        total = sum(lengths)
        if pos + total > end:
            raise self._data_error(entry, f"string tensor {label!r} claims more bytes than it stores")
        with memoryview(buf) as view:
            crc = crc32c(view[pos:pos + total], crc32c(stored, crc))
            if mask(crc) != entry.crc32c:
                raise self._data_error(entry, f"checksum mismatch in the data of tensor {label!r}")
            out = np.empty(count, dtype=object)
            for i, length in enumerate(lengths):
                out[i] = bytes(view[pos:pos + length])
                pos += length
        return out.reshape(shape)

    def _read_variants(self, entry, label: str, shape: tuple[int, ...]) -> np.ndarray:
        """DT_VARIANT: per element varint length, VariantTensorDataProto bytes, masked running CRC."""
        import numpy as np
        buf, offset, size = self._region(entry, label)
        count = _count(shape)
        if count * 5 > size:  # length byte + 4 checksum bytes per element at least
            raise self._data_error(entry, f"variant tensor {label!r} claims {count} elements in {size} bytes")
        end = offset + size
        pos = offset
        crc = 0
        out = np.empty(count, dtype=object)
        with memoryview(buf) as view:
            for i in range(count):
                try:
                    length, pos = read_varint(buf, pos, end)
                except TableError:
                    raise self._data_error(entry, f"variant tensor {label!r} is truncated") from None
                if pos + length + 4 > end:
                    raise self._data_error(entry, f"variant tensor {label!r} is truncated")
                data = bytes(view[pos:pos + length])
                crc = crc32c(data, crc32c(length.to_bytes(8, "little"), crc))
                stored = bytes(view[pos + length:pos + length + 4])
                if mask(crc) != int.from_bytes(stored, "little"):
                    raise self._data_error(entry, f"checksum mismatch in element {i} of {label!r}")
                crc = crc32c(stored, crc)
                out[i] = data
                pos += length + 4
        if mask(crc) != entry.crc32c:
            raise self._data_error(entry, f"checksum mismatch in the data of tensor {label!r}")
        return out.reshape(shape)

    def _data_error(self, entry, problem: str) -> UnreadableInputError:
        shard = int(entry.shard_id)
        path = self.data_paths[shard] if 0 <= shard < len(self.data_paths) else self.index_path
        return UnreadableInputError(problem, path=path, fix=_CORRUPT_FIX)

    # ----------------------------------------------------------------- partitioned tensors
    def _slice_entries_quiet(self, name: str, entry, shape: tuple[int, ...]):
        """Slice entries that exist (for listing sizes, without raising on missing ones)."""
        out = []
        for extents in self._extents(entry, shape, name, strict=False):
            found = self._slices.get(encode_slice_key(self._raw_names[name], extents))
            if found is not None:
                out.append((extents, found))
        return out

    def _extents(self, entry, shape: tuple[int, ...], name: str, strict: bool = True) -> list[Extents]:
        result = []
        for sl in entry.slices:
            extents = [(int(e.start), int(e.length) if e.HasField("length") else -1) for e in sl.extent]
            if not extents:
                extents = [(0, -1)] * len(shape)
            if len(extents) != len(shape):
                if strict:
                    raise UnreadableInputError(f"a slice of {name!r} has rank {len(extents)}, the tensor "
                                               f"{len(shape)}", path=self.index_path, fix=_CORRUPT_FIX)
                continue
            result.append(extents)
        return result

    def slice_plan(self, name: str) -> list[tuple[list[tuple[int, int]], object]]:
        """For a partitioned tensor: [(concrete (start, length) per dim, slice entry)], checked to
        tile the full shape exactly (in bounds, no overlap, nothing missing)."""
        meta = self.meta(name)
        entry = self._entries[name]
        shape = meta.shape
        plan = []
        for extents in self._extents(entry, shape, name):
            concrete = []
            for (start, length), dim in zip(extents, shape, strict=True):
                start, length = (0, dim) if length == -1 else (start, length)
                if start < 0 or length < 0 or start + length > dim:
                    raise UnreadableInputError(f"a slice of {name!r} lies outside its shape {list(shape)}",
                                               path=self.index_path, fix=_CORRUPT_FIX)
                concrete.append((start, length))
            key = encode_slice_key(self._raw_names[name], extents)
            piece = self._slices.get(key)
            if piece is None:
                raise UnreadableInputError(
                    f"the slice {concrete} of partitioned tensor {name!r} has no entry in the index",
                    path=self.index_path, fix=_CORRUPT_FIX)
            piece_shape = _shape(piece.shape, f"a slice of {name!r}", self.index_path)
            if piece_shape != tuple(length for _, length in concrete) or piece.dtype != entry.dtype:
                raise UnreadableInputError(f"a slice of {name!r} disagrees with its entry in shape or type",
                                           path=self.index_path, fix=_CORRUPT_FIX)
            self._check_piece_size(name, piece, piece_shape)
            plan.append((concrete, piece))
        self._check_tiling(name, shape, [c for c, _ in plan])
        return plan

    def _check_piece_size(self, name: str, piece, shape: tuple[int, ...]) -> None:
        """Before anything is allocated for the full tensor, each piece must really hold its bytes."""
        itemsize = dtypes.by_value(piece.dtype).itemsize if dtypes.is_known(piece.dtype) else None
        needed = _count(shape) * itemsize if itemsize is not None else _count(shape)
        if (piece.size != needed) if itemsize is not None else (piece.size < needed):
            raise UnreadableInputError(
                f"a slice of {name!r} stores {piece.size} bytes, its shape {list(shape)} needs {needed}",
                path=self.index_path, fix=_CORRUPT_FIX)
        self._region(piece, name)

    def _check_tiling(self, name: str, shape: tuple[int, ...], boxes: list[list[tuple[int, int]]]) -> None:
        covered = sum(_count(tuple(n for _, n in box)) for box in boxes)
        overlap = any(
            all(a0 < b0 + bn and b0 < a0 + an for (a0, an), (b0, bn) in zip(a, b, strict=True))
            for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if all(n > 0 for _, n in a) and all(n > 0 for _, n in b))
        if covered != _count(shape) or overlap:
            raise UnreadableInputError(f"the slices of partitioned tensor {name!r} do not tile its shape "
                                       f"{list(shape)} exactly", path=self.index_path, fix=_CORRUPT_FIX)

    def _read_partitioned(self, name: str, entry, shape: tuple[int, ...]) -> np.ndarray:
        import numpy as np
        dt = self._dtype(entry, name)
        plan = self.slice_plan(name)
        out = np.empty(shape, dtype=object if dt.numpy is None else dt.numpy)
        for concrete, piece in plan:
            box = tuple(slice(s, s + n) for s, n in concrete)
            out[box] = self._read_entry(piece, name, tuple(n for _, n in concrete))
        return out

    # ----------------------------------------------------------------- streaming
    def raw_chunks(self, name: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The little-endian row-major buffer of a numeric tensor, in chunks of ≤ ``chunk_size`` bytes.

        Each stored piece's CRC is checked as it streams; a mismatch raises after the bad piece's
        bytes were yielded, so a writer must treat the error as fatal for its output.
        """
        meta = self.meta(name)
        entry = self._entries[name]
        dt = self._dtype(entry, name)
        if dt.itemsize is None:
            raise UsageError(f"tensor {name!r} is a {dt.name} tensor, which has no raw buffer",
                             path=self.prefix, fix="Read it with read() instead")
        chunk_size = max(dt.itemsize, chunk_size - chunk_size % dt.itemsize)
        if not meta.partitioned:
            yield from self._stream_entry(entry, name, meta.shape, dt, chunk_size)
            return
        plan = self.slice_plan(name)
        if all(s == 0 and n == d for c, _ in plan for (s, n), d in zip(c[1:], meta.shape[1:], strict=True)):
            for concrete, piece in sorted(plan, key=lambda p: p[0][0][0] if p[0] else 0):
                yield from self._stream_entry(piece, name, tuple(n for _, n in concrete), dt, chunk_size)
            return
        yield from self._stream_bands(name, meta.shape, dt, plan, chunk_size)

    def _stream_entry(self, entry, label: str, shape: tuple[int, ...], dt: dtypes.DType,
                      chunk_size: int) -> Iterator[bytes]:
        import numpy as np
        needed = _count(shape) * dt.itemsize
        if entry.size != needed:
            raise UnreadableInputError(
                f"tensor {label!r} stores {entry.size} bytes, its shape needs {needed}",
                path=self.index_path, fix=_CORRUPT_FIX)
        buf, offset, size = self._region(entry, label)
        crc = 0
        swap = self.big_endian and dt.itemsize > 1
        for start in range(offset, offset + size, chunk_size):
            chunk = bytes(buf[start:min(start + chunk_size, offset + size)])
            crc = crc32c(chunk, crc)
            if swap:
                chunk = np.frombuffer(chunk, dt.numpy.newbyteorder(">")).astype(dt.numpy).tobytes()
            yield chunk
        if mask(crc) != entry.crc32c:
            raise self._data_error(entry, f"checksum mismatch in the data of tensor {label!r}")
        self._verified.add((int(entry.shard_id), offset, size))

    def _stream_bands(self, name: str, shape: tuple[int, ...], dt: dtypes.DType, plan,
                      chunk_size: int) -> Iterator[bytes]:
        """General slicing: assemble one band of rows (between slice boundaries on axis 0) at a time."""
        import numpy as np
        cuts = sorted({0, shape[0]} | {c[0][0] for c, _ in plan} | {c[0][0] + c[0][1] for c, _ in plan})
        for lo, hi in itertools.pairwise(cuts):
            band = np.empty((hi - lo, *shape[1:]), dtype=dt.numpy)
            for concrete, piece in plan:
                s0, n0 = concrete[0]
                a, b = max(lo, s0), min(hi, s0 + n0)
                if a >= b:
                    continue
                values = self._read_entry(piece, name, tuple(n for _, n in concrete))
                box = (slice(a - lo, b - lo), *(slice(s, s + n) for s, n in concrete[1:]))
                band[box] = values[a - s0:b - s0]
            data = band.tobytes()
            for start in range(0, len(data), chunk_size):
                yield data[start:start + chunk_size]

    def location(self, name: str, verify: bool = True) -> tuple[str, int, int] | None:
        """(data file, offset, size) so a writer can copy the bytes file-to-file; None when the
        tensor is partitioned, not fixed-size, or stored big-endian. ``verify`` checks the CRC first."""
        meta = self.meta(name)
        entry = self._entries[name]
        dt = self._dtype(entry, name)
        if meta.partitioned or dt.itemsize is None or (self.big_endian and dt.itemsize > 1):
            return None
        if entry.size != meta.nbytes:
            raise UnreadableInputError(f"tensor {name!r} stores {entry.size} bytes, its shape needs "
                                       f"{meta.nbytes}", path=self.index_path, fix=_CORRUPT_FIX)
        buf, offset, size = self._region(entry, name)
        if verify:
            self._verify(entry, name, buf, offset, size)
        return self.data_paths[int(entry.shard_id)], offset, size

    def entry(self, name: str):
        """The raw BundleEntryProto of a listed tensor (for diagnostics)."""
        self.meta(name)
        return self._entries[name]

    def close(self) -> None:
        files, self._files = self._files, {}
        for fh in files.values():
            fh.close()
        maps, self._maps = self._maps, {}
        for mapped in maps.values():
            if isinstance(mapped, mmap.mmap):
                # numpy arrays may still view it; the map then closes when they are collected
                with contextlib.suppress(BufferError):
                    mapped.close()


__all__ = ["BundleReader", "data_path"]
