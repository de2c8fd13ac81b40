"""OrderedCode slice keys (FORMATS.md §1.3, §4.6)."""

from __future__ import annotations

import random

import pytest

from inspector.readers.ordered_code import (
    OrderedCodeError,
    decode_slice_key,
    encode_num_increasing,
    encode_signed,
    encode_slice_key,
    encode_string,
)


@pytest.mark.parametrize(("value", "encoded"), [
    (0, "80"), (4, "84"), (3, "83"), (7, "87"), (-1, "7f"), (0x424242, "f0424242"), (-0x800, "3800")])
def test_signed_examples(value, encoded):
    assert encode_signed(value).hex() == encoded


def test_unsigned_and_string():
    assert encode_num_increasing(0) == b"\x00"
    assert encode_num_increasing(0x1234) == b"\x02\x12\x34"
    assert encode_string(b"a\x00b\xff") == b"a\x00\xffb\xff\x00\x00\x01"


def test_documented_slice_keys():
    assert encode_slice_key(b"part", [(4, 3), (0, 4)]) == b"\x00part\x00\x01\x01\x02\x84\x83\x80\x84"
    assert encode_slice_key(b"sl", [(0, 2), (0, -1)]) == b"\x00sl\x00\x01\x01\x02\x80\x82\x80\x7f"


def test_round_trip_and_order():
    rng = random.Random(7)
    values = [rng.randint(-(2**63), 2**63 - 1) for _ in range(3000)] + [0, -1, 1, 2**63 - 1, -(2**63)]
    for v in values:
        name, extents = decode_slice_key(encode_slice_key(b"n\x00\xff", [(v, -1)]))
        assert name == b"n\x00\xff" and extents == [(v, -1)]
    ordered = sorted(values)
    assert sorted(encode_signed(v) for v in values) == [encode_signed(v) for v in ordered]


@pytest.mark.parametrize("key", [
    b"", b"\x01x", b"\x00ab", b"\x00a\x00\x02", b"\x00a\x00\x01\x01", b"\x00a\x00\x01\x00z"])
def test_malformed_keys_raise_our_error(key):
    with pytest.raises(OrderedCodeError):
        decode_slice_key(key)
