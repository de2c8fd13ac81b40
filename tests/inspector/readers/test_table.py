"""SSTable reader: layout, restarts, multi-block lookups and checksum/compression failures."""

from __future__ import annotations

import pytest

from inspector.errors import UnreadableInputError
from inspector.proto import pb
from inspector.readers.table import Table, parse_block
from tests.inspector.readers.builders import block, table, trailer

# FORMATS.md §3.10: a 121-byte .index written by a pure-Python writer and read back by TF 2.21.
WORKED_EXAMPLE = bytes.fromhex(
    "000006080 11a020801".replace(" ", "") + "00010f78" + "08011204120208022808" + "35593ce535"
    + "0000000001000000" + "0091364233" + "0000000001000000" + "00c0f2a1b0"
    + "000102790024000000000100 0000".replace(" ", "") + "0008121017"
    + "2908360e" + "00" * 36 + "57fb808b247547db")


def test_worked_example_decodes_and_builder_reproduces_it():
    assert len(WORKED_EXAMPLE) == 121
    entries = [(k, bytes(v)) for k, v in Table(WORKED_EXAMPLE, "x.index")]
    assert [k for k, _ in entries] == [b"", b"x"]
    entry = pb.BundleEntryProto.FromString(entries[1][1])
    assert entry.dtype == 1 and entry.size == 8 and entry.crc32c == 0x35E53C59
    assert table(entries) == WORKED_EXAMPLE


def test_prefix_compression_and_restarts():
    rows = [(f"key/{i:04d}".encode(), bytes([i % 256]) * (i % 7)) for i in range(100)]
    data = block(rows)
    assert [(k, bytes(v)) for k, v in parse_block(data)] == rows


def test_many_blocks_get_and_iterate():
    rows = [(f"k{i:05d}".encode(), str(i).encode()) for i in range(500)]
    t = Table(table(rows, entries_per_block=37), "t")
    assert t.num_blocks == 14
    assert [(k, bytes(v)) for k, v in t] == rows
    assert bytes(t.get(b"k00123")) == b"123"
    assert t.get(b"k00123x") is None
    assert t.get(b"zzz") is None
    assert t.first()[0] == b"k00000"


def test_empty_table():
    t = Table(table([]), "t")
    assert list(t) == [] and t.first() is None


def _corrupt(data: bytes, pos: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]


def test_bit_flip_in_a_data_block_is_a_checksum_error():
    data = table([(b"a", b"1"), (b"b", b"2")])
    with pytest.raises(UnreadableInputError, match="checksum mismatch"):
        list(Table(_corrupt(data, 3), "t"))


def test_bad_magic_and_short_file():
    data = table([(b"a", b"1")])
    with pytest.raises(UnreadableInputError, match="magic"):
        Table(_corrupt(data, len(data) - 1), "t")
    with pytest.raises(UnreadableInputError, match="shorter than the 48-byte footer"):
        Table(data[-20:], "t")


def test_snappy_block_is_reported_clearly():
    content = block([(b"a", b"1")])
    snappy = content + trailer(content, kind=1)
    meta = block([])
    index = block([(b"b", b"\x00" + bytes([len(content)]))], restart_interval=1)
    out = snappy + meta + trailer(meta) + index + trailer(index)
    meta_off = len(snappy)
    index_off = meta_off + len(meta) + 5
    footer = bytes([meta_off, len(meta), index_off, len(index)])
    out += footer + bytes(40 - len(footer)) + bytes.fromhex("57fb808b247547db")
    t = Table(out, "snappy.index")
    with pytest.raises(UnreadableInputError, match="Snappy"):
        list(t)


def test_handle_past_end_of_file():
    data = bytearray(table([(b"a", b"1")]))
    footer = len(data) - 48
    data[footer + 2] = 0x7F  # index offset far beyond the file
    with pytest.raises(UnreadableInputError):
        Table(bytes(data), "t")
