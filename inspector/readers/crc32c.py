"""CRC-32C (Castagnoli) with TensorFlow's masking, backed by the C-accelerated ``crc32c`` package.

TF stores every checksum *masked* (FORMATS.md §1.2) so that a CRC computed over data that itself
contains CRCs does not degenerate. A pure-Python CRC runs at ~6 MB/s, far too slow for data files,
hence the C package.
"""

from __future__ import annotations

from crc32c import crc32c as _crc32c

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data``; passing a previous result as ``crc`` extends it as if the buffers were joined."""
    return _crc32c(data, crc)


def mask(crc: int) -> int:
    """TF's storage form of a CRC: rotate right by 15 bits and add a constant."""
    crc &= _U32
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32
