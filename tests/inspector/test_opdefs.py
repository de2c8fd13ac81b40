"""The shipped op registry: registered names, argument kinds, output dtypes, default attrs."""

from __future__ import annotations

import sys

import pytest

from inspector import opdefs
from inspector.proto import pb
from inspector.readers import dtypes

FLOAT = dtypes.by_name("float32").value
INT64 = dtypes.by_name("int64").value
INT32 = dtypes.by_name("int32").value


def node(op: str, **attrs) -> object:
    message = pb.NodeDef(name="n", op=op)
    for key, value in attrs.items():
        if isinstance(value, list):
            message.attr[key].list.type.extend(value)
        elif isinstance(value, bool):
            message.attr[key].b = value
        else:
            message.attr[key].type = value
    return message


def test_registry_is_tf_2_21():
    names = opdefs.registered_ops()
    assert len(names) > 1500
    assert {"MatMul", "RefSwitch", "FusedBatchNormV3", "VarHandleOp"} <= names


def test_known_providers_are_really_unregistered():
    assert not set(opdefs.KNOWN_PROVIDERS) & opdefs.registered_ops()
    assert "tf.contrib.resampler" in opdefs.provider("Resampler")
    assert "TensorFlow Addons" in opdefs.provider("Addons>GatherTree")
    assert opdefs.provider("MyOwnOp") is None


def test_argmax_outputs_its_output_type_not_its_input_type():
    assert opdefs.output_dtype(node("ArgMax", T=FLOAT, output_type=INT64)) == INT64
    # output_type omitted: its default (int64) holds, which the registry knows
    assert opdefs.output_dtype(node("ArgMax", T=FLOAT)) is None
    assert opdefs.default_attrs("ArgMax")["output_type"].type == INT64


def test_fixed_type_outputs_need_no_attrs():
    assert opdefs.output_dtype(node("AsString", T=INT64)) == dtypes.by_name("string").value
    assert opdefs.output_dtype(node("Shape", T=FLOAT, out_type=INT32)) == INT32


def test_ref_and_resource_kinds():
    assert opdefs.input_kinds(node("Assign", T=FLOAT)) == ["ref", "value"]
    assert opdefs.output_kinds(node("VariableV2", dtype=FLOAT)) == ["ref"]
    assert opdefs.output_kinds(node("VarHandleOp", dtype=FLOAT)) == ["resource"]
    assert opdefs.input_kinds(node("ReadVariableOp", dtype=FLOAT)) == ["resource"]
    # a Switch carries a ref only when its T is a ref type
    assert opdefs.input_kinds(node("Switch", T=FLOAT)) == ["value", "value"]
    assert opdefs.input_kinds(node("Switch", T=FLOAT + opdefs.REF_OFFSET))[0] == "ref"
    assert opdefs.output_kinds(node("Placeholder", dtype=20)) == ["resource"]


def test_list_and_number_attrs_expand_positions():
    concat = node("ConcatV2", T=FLOAT, Tidx=INT32)
    concat.attr["N"].i = 3
    assert opdefs.input_kinds(concat) == ["value"] * 4
    assert opdefs.output_dtypes(node("IdentityN", T=[FLOAT, INT64])) == [FLOAT, INT64]
    # a count attr missing: positions cannot be known
    assert opdefs.input_kinds(node("ConcatV2", T=FLOAT)) is None


def test_a_count_attr_claiming_billions_of_positions_allocates_nothing():
    """A 21-byte Pack claiming N = 2^31 - 1 made inspect build a list of 2^31 kinds (MemoryError, found by
    tests/fuzz); positions are runs now, answered per index."""
    pack = node("Pack", T=FLOAT)
    pack.attr["N"].i = 2**62
    kinds = opdefs.input_kinds(pack)
    assert len(kinds) == 2**62 and kinds[0] == kinds[2**62 - 1] == "value" and kinds[:2] == ["value"] * 2
    with pytest.raises(IndexError):
        kinds[2**62]
    split = node("Split", T=FLOAT)
    split.attr["num_split"].i = 2**62
    assert len(opdefs.output_dtypes(split)) == 2**62 and opdefs.output_dtype(split, 2**61) == FLOAT
    assert opdefs.output_kinds(split)[-1] == "value"
    twice = node("ConcatV2", T=FLOAT, Tidx=INT32)
    twice.attr["N"].i = 2**63 - 1  # with the axis input: more positions than len() can say
    assert len(opdefs.input_kinds(twice)) == sys.maxsize


def test_unknown_ops_say_nothing():
    assert opdefs.input_kinds(node("MyOwnOp")) is None
    assert opdefs.output_dtype(node("MyOwnOp")) is None
    assert opdefs.default_attrs("MyOwnOp") == {}


def test_missing_defaults_are_the_defaulted_attrs_a_node_omits():
    conv = node("Conv2D", T=FLOAT)
    missing = opdefs.missing_defaults(conv)
    assert {"data_format", "dilations", "use_cudnn_on_gpu", "explicit_paddings"} <= set(missing)
    assert "T" not in missing and "strides" not in missing  # no default: the writer must give them
    assert missing["data_format"].s == b"NHWC"


def test_a_graphs_own_op_list_overrides_the_registry():
    custom = pb.OpDef(name="MatMul")
    custom.output_arg.add(name="out", type=INT64)
    assert opdefs.output_dtype(node("MatMul", T=FLOAT), overrides={"MatMul": custom}) == INT64
    assert opdefs.output_dtype(node("MatMul", T=FLOAT)) == FLOAT
