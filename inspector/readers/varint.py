"""Unsigned LEB128 varints, as protobuf and TensorFlow's table format write them (FORMATS.md §1.1)."""

from __future__ import annotations

MAX_VARINT_BYTES = 10


def decode_varint(buf: bytes | bytearray | memoryview, pos: int, limit: int) -> tuple[int, int] | None:
    """``(value, next position)`` of the varint at ``pos``; None when it runs past ``limit`` or
    past 10 bytes. Callers turn None into their own error, with what they were reading."""
    value = shift = 0
    while pos < limit and shift < 7 * MAX_VARINT_BYTES:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return None


def encode_varint(value: int) -> bytes:
    """Base-128 varint of a non-negative integer (protobuf's encoding of lengths and tags)."""
    if value < 0:
        raise ValueError("varints here are lengths, tags and enum values: never negative")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_size(value: int) -> int:
    """Bytes :func:`encode_varint` needs for ``value``, without encoding it."""
    return max(1, (value.bit_length() + 6) // 7)
