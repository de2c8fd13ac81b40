"""TensorFlow's OrderedCode, used only to build and parse slice keys (FORMATS.md §1.3, §4.6).

A slice key names one stored piece of a partitioned tensor:
``NumIncreasing(0) | String(name) | NumIncreasing(rank) | (SignedNum(start), SignedNum(length))*``,
with ``length = -1`` for "the whole dimension".
"""

from __future__ import annotations

_MAX_SIGNED_BYTES = 10
# Header masks XORed into the first (and for 9/10-byte encodings, second) byte of a signed number.
_SIGNED_HEADER = {1: (0x80,), 2: (0xC0,), 3: (0xE0,), 4: (0xF0,), 5: (0xF8,), 6: (0xFC,), 7: (0xFE,),
                  8: (0xFF,), 9: (0xFF, 0x80), 10: (0xFF, 0xC0)}


class OrderedCodeError(ValueError):
    """The bytes are not a valid OrderedCode encoding (callers turn it into a user-facing error)."""


def encode_num_increasing(value: int) -> bytes:
    """Unsigned number: one length byte then the value big-endian without leading zero bytes."""
    if value < 0:
        raise OrderedCodeError("NumIncreasing needs a non-negative value")
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(body)]) + body


def encode_string(value: bytes) -> bytes:
    """String: 0x00 -> 00 FF, 0xFF -> FF 00, then the terminator 00 01."""
    return _escape(value) + b"\x00\x01"


def _escape(value: bytes) -> bytes:
    out = bytearray()
    for b in value:
        if b == 0x00:
            out += b"\x00\xff"
        elif b == 0xFF:
            out += b"\xff\x00"
        else:
            out.append(b)
    return bytes(out)


def encode_signed(value: int) -> bytes:
    """Signed number in the smallest of 1..10 bytes that holds it (sort order = numeric order)."""
    for n in range(1, _MAX_SIGNED_BYTES + 1):
        bound = 1 << (7 * n - 1)
        if -bound <= value < bound:
            break
    else:
        raise OrderedCodeError("signed number out of range")
    raw = bytearray((value & ((1 << 80) - 1)).to_bytes(10, "big")[-n:])
    for i, m in enumerate(_SIGNED_HEADER[n]):
        raw[i] ^= m
    return bytes(raw)


def encode_slice_key(name: bytes, extents: list[tuple[int, int]]) -> bytes:
    """Key of one stored slice; ``extents`` are (start, length) per dimension, length -1 = full."""
    parts = [encode_num_increasing(0), encode_string(name), encode_num_increasing(len(extents))]
    for start, length in extents:
        parts.append(encode_signed(start))
        parts.append(encode_signed(length))
    return b"".join(parts)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise OrderedCodeError("truncated OrderedCode")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def _decode_num(cur: _Cursor) -> int:
    n = cur.take(1)[0]
    if n > 8:
        raise OrderedCodeError("NumIncreasing length byte above 8")
    return int.from_bytes(cur.take(n), "big")


def _decode_string(cur: _Cursor) -> bytes:
    out = bytearray()
    while True:
        b = cur.take(1)[0]
        if b == 0x00:
            nxt = cur.take(1)[0]
            if nxt == 0x01:
                return bytes(out)
            if nxt != 0xFF:
                raise OrderedCodeError("bad escape in OrderedCode string")
            out.append(0x00)
        elif b == 0xFF:
            if cur.take(1)[0] != 0x00:
                raise OrderedCodeError("bad escape in OrderedCode string")
            out.append(0xFF)
        else:
            out.append(b)


def _decode_signed(cur: _Cursor) -> int:
    first = cur.take(1)[0]
    negative = not first & 0x80
    probe = first ^ 0xFF if negative else first
    # Count leading one bits (after inverting negatives); lengths 8..10 need the second byte too.
    n = 0
    while n < 8 and probe & (0x80 >> n):
        n += 1
    if n == 8:
        if cur.pos >= len(cur.data):
            raise OrderedCodeError("truncated OrderedCode")
        second = cur.data[cur.pos] ^ (0xFF if negative else 0)
        n = 8 + (1 if second & 0x80 else 0) + (1 if second & 0x80 and second & 0x40 else 0)
        if n > _MAX_SIGNED_BYTES:
            raise OrderedCodeError("signed number too long")
    if n == 0:
        raise OrderedCodeError("bad signed-number header")
    raw = bytearray(bytes([first]) + cur.take(n - 1))
    for i, m in enumerate(_SIGNED_HEADER[n]):
        raw[i] ^= m
    value = int.from_bytes(raw, "big")
    bits = 8 * n
    if negative:
        value -= 1 << bits
    return value


def decode_slice_key(key: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """Inverse of :func:`encode_slice_key`; raises :class:`OrderedCodeError` on malformed keys."""
    cur = _Cursor(key)
    if _decode_num(cur) != 0:
        raise OrderedCodeError("slice key does not start with 0")
    name = _decode_string(cur)
    rank = _decode_num(cur)
    if rank > 64:
        raise OrderedCodeError("slice key rank above 64")
    extents = [(_decode_signed(cur), _decode_signed(cur)) for _ in range(rank)]
    if cur.pos != len(key):
        raise OrderedCodeError("trailing bytes after slice key")
    return name, extents
