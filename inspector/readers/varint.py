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
