"""TensorFlow ``DataType`` enum values <-> numpy-style names, numpy dtypes and item sizes.

Names follow ``tf.dtypes.DType.name`` (``float32``, ``float16``, ``bfloat16``, ``string``,
``qint8`` …) because that is what users see in TF and what ``--json`` promises. Bundle bytes
are the raw little-endian buffer (FORMATS.md §4.4, §5); the 16/8/4-bit float types and the
low-bit integers come from ``ml_dtypes`` (one element per byte, never packed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

REF_OFFSET = 100
DT_STRING = 7
DT_RESOURCE = 20
DT_VARIANT = 21


@dataclass(frozen=True)
class DType:
    """One TF data type. ``numpy`` is None for types without a fixed-size element.

    numpy (and ml_dtypes) load on first use of ``numpy``: listing a checkpoint needs only names
    and item sizes, and importing numpy is a sizeable part of a short command's run time.
    """

    value: int
    tf_name: str          # enum name, e.g. "DT_FLOAT"
    name: str             # numpy-style name, e.g. "float32"
    code: str | None      # numpy dtype string, or "ml_dtypes.<name>", for the stored bytes
    itemsize: int | None  # bytes per element on disk, None for string/variant/resource
    is_ref: bool = False

    @cached_property
    def numpy(self) -> np.dtype | None:
        """The numpy dtype of the stored (little-endian) bytes."""
        if self.code is None:
            return None
        import numpy as np
        if self.code.startswith("ml_dtypes."):
            import ml_dtypes
            return np.dtype(getattr(ml_dtypes, self.code.split(".", 1)[1]))
        return np.dtype(self.code)

    @property
    def base(self) -> DType:
        """The non-ref type (``float32_ref`` -> ``float32``)."""
        return by_value(self.value - REF_OFFSET) if self.is_ref else self


# value, enum name, numpy-style name, dtype code of the stored bytes (little-endian), item size.
_TABLE: list[tuple[int, str, str, str | None, int | None]] = [
    (1, "DT_FLOAT", "float32", "<f4", 4),
    (2, "DT_DOUBLE", "float64", "<f8", 8),
    (3, "DT_INT32", "int32", "<i4", 4),
    (4, "DT_UINT8", "uint8", "u1", 1),
    (5, "DT_INT16", "int16", "<i2", 2),
    (6, "DT_INT8", "int8", "i1", 1),
    (7, "DT_STRING", "string", None, None),
    (8, "DT_COMPLEX64", "complex64", "<c8", 8),
    (9, "DT_INT64", "int64", "<i8", 8),
    (10, "DT_BOOL", "bool", "?", 1),
    (11, "DT_QINT8", "qint8", "i1", 1),
    (12, "DT_QUINT8", "quint8", "u1", 1),
    (13, "DT_QINT32", "qint32", "<i4", 4),
    (14, "DT_BFLOAT16", "bfloat16", "ml_dtypes.bfloat16", 2),
    (15, "DT_QINT16", "qint16", "<i2", 2),
    (16, "DT_QUINT16", "quint16", "<u2", 2),
    (17, "DT_UINT16", "uint16", "<u2", 2),
    (18, "DT_COMPLEX128", "complex128", "<c16", 16),
    (19, "DT_HALF", "float16", "<f2", 2),
    (20, "DT_RESOURCE", "resource", None, None),
    (21, "DT_VARIANT", "variant", None, None),
    (22, "DT_UINT32", "uint32", "<u4", 4),
    (23, "DT_UINT64", "uint64", "<u8", 8),
    # float8 / int4 / int2 / float4: one element per byte on disk, never packed (FORMATS.md §4.4).
    (24, "DT_FLOAT8_E5M2", "float8_e5m2", "ml_dtypes.float8_e5m2", 1),
    (25, "DT_FLOAT8_E4M3FN", "float8_e4m3fn", "ml_dtypes.float8_e4m3fn", 1),
    (26, "DT_FLOAT8_E4M3FNUZ", "float8_e4m3fnuz", "ml_dtypes.float8_e4m3fnuz", 1),
    (27, "DT_FLOAT8_E4M3B11FNUZ", "float8_e4m3b11fnuz", "ml_dtypes.float8_e4m3b11fnuz", 1),
    (28, "DT_FLOAT8_E5M2FNUZ", "float8_e5m2fnuz", "ml_dtypes.float8_e5m2fnuz", 1),
    (29, "DT_INT4", "int4", "ml_dtypes.int4", 1),
    (30, "DT_UINT4", "uint4", "ml_dtypes.uint4", 1),
    (31, "DT_INT2", "int2", "ml_dtypes.int2", 1),
    (32, "DT_UINT2", "uint2", "ml_dtypes.uint2", 1),
    (33, "DT_FLOAT4_E2M1FN", "float4_e2m1fn", "ml_dtypes.float4_e2m1fn", 1),
]


def _build() -> dict[int, DType]:
    out: dict[int, DType] = {}
    for value, tf_name, name, code, itemsize in _TABLE:
        out[value] = DType(value, tf_name, name, code, itemsize)
        ref = value + REF_OFFSET
        out[ref] = DType(ref, tf_name + "_REF", name + "_ref", code, itemsize, is_ref=True)
    return out


_BY_VALUE = _build()
_BY_NAME = {d.name: d for d in _BY_VALUE.values()}
_BY_TF_NAME = {d.tf_name: d for d in _BY_VALUE.values()}


class UnknownDTypeError(ValueError):
    """An enum value or name this module does not know (callers report it with the file).

    ``value`` is the enum value when one is known: given to :func:`by_value`, or read back from
    the ``"unknown(<value>)"`` name :func:`name_of` gives such a value."""

    def __init__(self, message: str, value: int | None = None) -> None:
        super().__init__(message)
        self.value = value


def by_value(value: int) -> DType:
    """The DType for an enum value (``1`` -> float32); raises UnknownDTypeError."""
    try:
        return _BY_VALUE[value]
    except KeyError:
        raise UnknownDTypeError(f"unknown TensorFlow data type enum value {value}", value) from None


def by_name(name: str) -> DType:
    """Look up by numpy-style name (``float32``) or enum name (``DT_FLOAT``)."""
    found = _BY_NAME.get(name) or _BY_TF_NAME.get(name)
    if found is None:
        unknown = _UNKNOWN_NAME.fullmatch(name)
        if unknown:
            value = int(unknown.group(1))
            raise UnknownDTypeError(f"unknown TensorFlow data type enum value {value}", value)
        raise UnknownDTypeError(f"unknown TensorFlow data type {name!r}")
    return found


_UNKNOWN_NAME = re.compile(r"unknown\((-?\d+)\)")


def name_of(value: int) -> str:
    """Numpy-style name of an enum value, or ``"unknown(<value>)"`` so listings never fail on it."""
    found = _BY_VALUE.get(value)
    return found.name if found is not None else f"unknown({value})"


def is_known(value: int) -> bool:
    return value in _BY_VALUE
