"""Varints as protobuf and TensorFlow's tables write them."""

from __future__ import annotations

import pytest

from inspector.readers.varint import decode_varint, encode_varint, varint_size


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**35 + 5, 2**64 - 1])
def test_encode_decode_and_size_agree(value):
    encoded = encode_varint(value)
    assert len(encoded) == varint_size(value)
    assert decode_varint(encoded, 0, len(encoded)) == (value, len(encoded))


def test_a_varint_running_past_its_limit_or_ten_bytes_is_none():
    assert decode_varint(b"\x80\x80", 0, 2) is None
    assert decode_varint(b"\xff" * 11 + b"\x01", 0, 12) is None


def test_negative_values_are_refused():
    with pytest.raises(ValueError):
        encode_varint(-1)
