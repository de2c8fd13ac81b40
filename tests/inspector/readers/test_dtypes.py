"""DataType enum <-> numpy-style names, numpy dtypes and item sizes (FORMATS.md §5)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from inspector.readers import dtypes


@pytest.mark.parametrize(("value", "name", "itemsize"), [
    (1, "float32", 4), (2, "float64", 8), (3, "int32", 4), (4, "uint8", 1), (5, "int16", 2), (6, "int8", 1),
    (7, "string", None), (8, "complex64", 8), (9, "int64", 8), (10, "bool", 1), (14, "bfloat16", 2),
    (17, "uint16", 2), (18, "complex128", 16), (19, "float16", 2), (21, "variant", None), (22, "uint32", 4),
    (23, "uint64", 8), (24, "float8_e5m2", 1), (25, "float8_e4m3fn", 1), (29, "int4", 1), (30, "uint4", 1),
    (31, "int2", 1), (33, "float4_e2m1fn", 1)])
def test_table(value, name, itemsize):
    dt = dtypes.by_value(value)
    assert dt.name == name and dt.itemsize == itemsize
    assert dtypes.by_name(name) is dt
    assert dtypes.by_name(dt.tf_name) is dt


def test_ml_dtypes_for_narrow_floats():
    assert dtypes.by_value(14).numpy == np.dtype(ml_dtypes.bfloat16)
    assert dtypes.by_value(29).numpy == np.dtype(ml_dtypes.int4)


def test_declared_itemsize_matches_numpy():
    for value in list(range(1, 34)):
        dt = dtypes.by_value(value)
        assert dt.itemsize == (None if dt.numpy is None else dt.numpy.itemsize), dt.name


def test_ref_types():
    ref = dtypes.by_value(101)
    assert ref.is_ref and ref.name == "float32_ref" and ref.tf_name == "DT_FLOAT_REF"
    assert ref.base is dtypes.by_value(1)


def test_unknown_values():
    assert dtypes.name_of(999) == "unknown(999)"
    assert not dtypes.is_known(0)
    with pytest.raises(dtypes.UnknownDTypeError):
        dtypes.by_value(999)
    with pytest.raises(dtypes.UnknownDTypeError):
        dtypes.by_name("float33")


def test_unknown_values_are_listed_by_name_and_carry_the_value_back():
    name = dtypes.name_of(1000)
    assert name == "unknown(1000)"
    for lookup, argument in ((dtypes.by_name, name), (dtypes.by_value, 1000)):
        with pytest.raises(dtypes.UnknownDTypeError) as info:
            lookup(argument)
        assert info.value.value == 1000
    with pytest.raises(dtypes.UnknownDTypeError) as info:
        dtypes.by_name("complex256")
    assert info.value.value is None
