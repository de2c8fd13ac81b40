"""TensorFlow ``DataType`` enum values <-> numpy-style names, numpy dtypes and item sizes.

Names follow ``tf.dtypes.DType.name`` (``float32``, ``float16``, ``bfloat16``, ``string``,
``qint8`` …) because that is what users see in TF and what ``--json`` promises. Bundle bytes
are the raw little-endian buffer (FORMATS.md §4.4, §5); the 16/8/4-bit float types and the
low-bit integers come from ``ml_dtypes`` (one element per byte, never packed).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

REF_OFFSET = 100
DT_STRING = 7
DT_RESOURCE = 20
DT_VARIANT = 21


@dataclass(frozen=True)
class DType:
    """One TF data type. ``numpy`` is None for types without a fixed-size element."""

    value: int
    tf_name: str          # enum name, e.g. "DT_FLOAT"
    name: str             # numpy-style name, e.g. "float32"
    numpy: np.dtype | None
    is_ref: bool = False

    @property
    def itemsize(self) -> int | None:
        """Bytes per element on disk, None for string/variant/resource."""
        return None if self.numpy is None else self.numpy.itemsize

    @property
    def base(self) -> DType:
        """The non-ref type (``float32_ref`` -> ``float32``)."""
        return by_value(self.value - REF_OFFSET) if self.is_ref else self


def _np(code: str | type) -> np.dtype:
    return np.dtype(code)


# value, enum name, numpy-style name, numpy dtype for the stored bytes (little-endian).
_TABLE: list[tuple[int, str, str, np.dtype | None]] = [
    (1, "DT_FLOAT", "float32", _np("<f4")),
    (2, "DT_DOUBLE", "float64", _np("<f8")),
    (3, "DT_INT32", "int32", _np("<i4")),
    (4, "DT_UINT8", "uint8", _np("u1")),
    (5, "DT_INT16", "int16", _np("<i2")),
    (6, "DT_INT8", "int8", _np("i1")),
    (7, "DT_STRING", "string", None),
    (8, "DT_COMPLEX64", "complex64", _np("<c8")),
    (9, "DT_INT64", "int64", _np("<i8")),
    (10, "DT_BOOL", "bool", _np("?")),
    (11, "DT_QINT8", "qint8", _np("i1")),
    (12, "DT_QUINT8", "quint8", _np("u1")),
    (13, "DT_QINT32", "qint32", _np("<i4")),
    (14, "DT_BFLOAT16", "bfloat16", _np(ml_dtypes.bfloat16)),
    (15, "DT_QINT16", "qint16", _np("<i2")),
    (16, "DT_QUINT16", "quint16", _np("<u2")),
    (17, "DT_UINT16", "uint16", _np("<u2")),
    (18, "DT_COMPLEX128", "complex128", _np("<c16")),
    (19, "DT_HALF", "float16", _np("<f2")),
    (20, "DT_RESOURCE", "resource", None),
    (21, "DT_VARIANT", "variant", None),
    (22, "DT_UINT32", "uint32", _np("<u4")),
    (23, "DT_UINT64", "uint64", _np("<u8")),
    (24, "DT_FLOAT8_E5M2", "float8_e5m2", _np(ml_dtypes.float8_e5m2)),
    (25, "DT_FLOAT8_E4M3FN", "float8_e4m3fn", _np(ml_dtypes.float8_e4m3fn)),
    (26, "DT_FLOAT8_E4M3FNUZ", "float8_e4m3fnuz", _np(ml_dtypes.float8_e4m3fnuz)),
    (27, "DT_FLOAT8_E4M3B11FNUZ", "float8_e4m3b11fnuz", _np(ml_dtypes.float8_e4m3b11fnuz)),
    (28, "DT_FLOAT8_E5M2FNUZ", "float8_e5m2fnuz", _np(ml_dtypes.float8_e5m2fnuz)),
    (29, "DT_INT4", "int4", _np(ml_dtypes.int4)),
    (30, "DT_UINT4", "uint4", _np(ml_dtypes.uint4)),
    (31, "DT_INT2", "int2", _np(ml_dtypes.int2)),
    (32, "DT_UINT2", "uint2", _np(ml_dtypes.uint2)),
    (33, "DT_FLOAT4_E2M1FN", "float4_e2m1fn", _np(ml_dtypes.float4_e2m1fn)),
]


def _build() -> dict[int, DType]:
    out: dict[int, DType] = {}
    for value, tf_name, name, npd in _TABLE:
        out[value] = DType(value, tf_name, name, npd)
        out[value + REF_OFFSET] = DType(value + REF_OFFSET, tf_name + "_REF", name + "_ref", npd, True)
    return out


_BY_VALUE = _build()
_BY_NAME = {d.name: d for d in _BY_VALUE.values()}
_BY_TF_NAME = {d.tf_name: d for d in _BY_VALUE.values()}


class UnknownDTypeError(ValueError):
    """An enum value or name this module does not know (callers report it with the file)."""


def by_value(value: int) -> DType:
    """The DType for an enum value (``1`` -> float32); raises UnknownDTypeError."""
    try:
        return _BY_VALUE[value]
    except KeyError:
        raise UnknownDTypeError(f"unknown TensorFlow data type enum value {value}") from None


def by_name(name: str) -> DType:
    """Look up by numpy-style name (``float32``) or enum name (``DT_FLOAT``)."""
    found = _BY_NAME.get(name) or _BY_TF_NAME.get(name)
    if found is None:
        raise UnknownDTypeError(f"unknown TensorFlow data type {name!r}")
    return found


def name_of(value: int) -> str:
    """Numpy-style name of an enum value, or ``"unknown(<value>)"`` so listings never fail on it."""
    found = _BY_VALUE.get(value)
    return found.name if found is not None else f"unknown({value})"


def is_known(value: int) -> bool:
    return value in _BY_VALUE
