"""The LevelDB-style table ("SSTable") that holds a V2 ``.index`` and every V1 checkpoint file.

Layout (FORMATS.md §3): data blocks, an (empty) metaindex block and an index block, each followed
by a 5-byte trailer (compression type + masked CRC32C of block+type), then a 48-byte footer with
the two block handles and a magic number. Every block checksum is verified before the block is
used, so a bit flip anywhere in the table is reported instead of silently misread.

The reader works on any buffer (``bytes`` or an ``mmap``) and parses data blocks on demand: a
V1 checkpoint keeps all tensor data inside the table, and listing it must not touch every block.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

from inspector.errors import UnreadableInputError
from inspector.readers.crc32c import crc32c, mask
from inspector.readers.varint import decode_varint

FOOTER_SIZE = 48
TRAILER_SIZE = 5
MAGIC = 0xDB4775248B80FB57
_NO_COMPRESSION = 0
_SNAPPY = 1

Buffer = bytes | bytearray | memoryview


class TableError(Exception):
    """Internal: a structural problem; :class:`Table` turns it into an UnreadableInputError."""


def read_varint(buf: Buffer, pos: int, limit: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 varint at ``pos`` (max 10 bytes, not past ``limit``)."""
    decoded = decode_varint(buf, pos, limit)
    if decoded is None:
        raise TableError("varint runs past the end of its block or is longer than 10 bytes")
    return decoded


def _fixed32(buf: Buffer, pos: int) -> int:
    return int.from_bytes(buf[pos:pos + 4], "little")


def parse_block(block: Buffer) -> list[tuple[bytes, memoryview]]:
    """All (key, value) entries of one uncompressed block, values as zero-copy memoryviews.

    Keys are prefix-compressed against the previous key; the restart array at the end marks
    where entries stop.
    """
    size = len(block)
    if size < 4:
        raise TableError(f"block of {size} bytes is too small to hold a restart count")
    num_restarts = _fixed32(block, size - 4)
    if num_restarts == 0 or 4 * (num_restarts + 1) > size:
        raise TableError(f"block claims {num_restarts} restart points, which do not fit in {size} bytes")
    limit = size - 4 * (num_restarts + 1)
    view = memoryview(block)
    entries: list[tuple[bytes, memoryview]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = read_varint(block, pos, limit)
        unshared, pos = read_varint(block, pos, limit)
        value_len, pos = read_varint(block, pos, limit)
        if shared > len(key):
            raise TableError(f"entry shares {shared} bytes with a previous key of {len(key)} bytes")
        end_key = pos + unshared
        end_value = end_key + value_len
        if end_value > limit:
            raise TableError("entry runs past the end of its block")
        new_key = key[:shared] + bytes(view[pos:end_key])
        if entries and new_key <= key:
            raise TableError("keys are not in ascending order")
        key = new_key
        entries.append((key, view[end_key:end_value]))
        pos = end_value
    return entries


def _read_handle(buf: Buffer, pos: int, limit: int) -> tuple[int, int, int]:
    offset, pos = read_varint(buf, pos, limit)
    size, pos = read_varint(buf, pos, limit)
    return offset, size, pos


class Table:
    """Read-only view of one table file held in ``buf``.

    ``path`` is used only in error messages. Construction verifies the footer and the index
    block; data blocks are verified when first parsed.
    """

    def __init__(self, buf: Buffer, path: str | Path) -> None:
        self.path = str(path)
        self._buf = buf
        self._size = len(buf)
        self._block_cache: tuple[int, list[tuple[bytes, memoryview]]] | None = None
        try:
            self._index = self._read_index()
        except TableError as exc:
            raise self._error(str(exc)) from None

    def _error(self, problem: str) -> UnreadableInputError:
        return UnreadableInputError(
            f"not a valid TensorFlow table file ({problem})", path=self.path,
            fix="The file is truncated or corrupt; copy it again from its source")

    def _read_index(self) -> tuple[list[bytes], list[tuple[int, int]]]:
        if self._size < FOOTER_SIZE:
            raise TableError(f"{self._size} bytes is shorter than the 48-byte footer")
        footer = self._size - FOOTER_SIZE
        magic = int.from_bytes(self._buf[self._size - 8:self._size], "little")
        if magic != MAGIC:
            raise TableError("bad magic number at the end of the file")
        meta_offset, meta_size, pos = _read_handle(self._buf, footer, footer + 40)
        index_offset, index_size, _ = _read_handle(self._buf, pos, footer + 40)
        self.read_block(meta_offset, meta_size)  # unused (TF writes it empty) but still checksummed
        index_block = self.read_block(index_offset, index_size)
        keys: list[bytes] = []
        handles: list[tuple[int, int]] = []
        for key, value in parse_block(index_block):
            offset, size, end = _read_handle(value, 0, len(value))
            if end != len(value):
                raise TableError("index entry holds more than one block handle")
            keys.append(key)
            handles.append((offset, size))
        return keys, handles

    def read_block(self, offset: int, size: int) -> memoryview:
        """The verified contents of the block at ``offset`` (``size`` excludes the trailer)."""
        end = offset + size
        if end + TRAILER_SIZE > self._size - FOOTER_SIZE:
            raise TableError(f"block at offset {offset} with {size} bytes runs past the end of the file")
        view = memoryview(self._buf)
        kind = self._buf[end]
        stored = _fixed32(self._buf, end + 1)
        if mask(crc32c(view[offset:end + 1])) != stored:
            raise TableError(f"block checksum mismatch at offset {offset}")
        if kind == _SNAPPY:
            raise TableError("block is Snappy-compressed, which TensorFlow never writes for checkpoints "
                             "and ckpt2pb does not decompress")
        if kind != _NO_COMPRESSION:
            raise TableError(f"unknown block compression type {kind}")
        return view[offset:end]

    def _block_entries(self, i: int) -> list[tuple[bytes, memoryview]]:
        if self._block_cache is not None and self._block_cache[0] == i:
            return self._block_cache[1]
        offset, size = self._index[1][i]
        try:
            entries = parse_block(self.read_block(offset, size))
        except TableError as exc:
            raise self._error(str(exc)) from None
        self._block_cache = (i, entries)
        return entries

    @property
    def num_blocks(self) -> int:
        return len(self._index[0])

    def __iter__(self) -> Iterator[tuple[bytes, memoryview]]:
        """Every (key, value) in key order; checks that order also holds across blocks."""
        last: bytes | None = None
        for i in range(self.num_blocks):
            entries = self._block_entries(i)
            if entries and last is not None and entries[0][0] <= last:
                raise self._error("keys are not in ascending order across blocks")
            if entries:
                last = entries[-1][0]
            yield from entries

    def first(self) -> tuple[bytes, memoryview] | None:
        """The first entry (the header key ``""`` in checkpoint tables), reading only block 0."""
        for i in range(self.num_blocks):
            entries = self._block_entries(i)
            if entries:
                return entries[0]
        return None

    def get(self, key: bytes) -> memoryview | None:
        """Value for ``key`` or None; reads only the one data block that can hold it."""
        i = bisect.bisect_left(self._index[0], key)
        if i >= self.num_blocks:
            return None
        entries = self._block_entries(i)
        keys = [k for k, _ in entries]
        j = bisect.bisect_left(keys, key)
        if j < len(entries) and keys[j] == key:
            return entries[j][1]
        return None
