"""Validation catches each defect on its own."""

from __future__ import annotations

import pytest

from freezer import writer
from freezer.validate import (
    check_closed,
    check_no_const_into_ref,
    check_no_stateful_leftovers,
    describe_outputs,
    scan_top_level,
    validate,
)
from freezer.writer import StreamedConst
from inspector.errors import ValidationError
from inspector.proto import pb
from tests.freezer.graphs import Graph
from tests.graphs import FLOAT


def _const(name: str) -> StreamedConst:
    return StreamedConst(name, FLOAT, (2,), 8, lambda: [b"\0" * 8])


def _checks(items):
    return {c.name: c for c in check_no_stateful_leftovers(items)}


@pytest.mark.parametrize(("op", "check"), [
    ("VariableV2", "no variable ops"), ("ReadVariableOp", "no variable ops"),
    ("AssignSub", "no state writes"), ("ApplyAdam", "no state writes"),
    ("SaveV2", "no save/restore ops"), ("ReluGrad", "no gradient ops"),
    ("FusedBatchNormGradV3", "no gradient ops"), ("BroadcastGradientArgs", "no gradient ops"),
])
def test_leftover_op_fails_its_check(op, check):
    g = Graph()
    g.add("n", op)
    failed = [c.name for c in check_no_stateful_leftovers(list(g.nodes)) if not c.ok]
    assert failed == [check]


@pytest.mark.parametrize("op", ["StopGradient", "Conv2DBackpropInput", "Identity", "MatMul"])
def test_inference_ops_pass(op):
    g = Graph()
    g.add("n", op)
    assert all(c.ok for c in check_no_stateful_leftovers(list(g.nodes)))


def test_const_into_ref_input():
    g = Graph()
    g.add("sw", "RefSwitch", ["w", "p"])
    g.add("p", "Placeholder")
    assert not check_no_const_into_ref([_const("w"), *g.nodes]).ok
    g2 = Graph()
    g2.add("sw", "Switch", ["w", "p"])
    assert check_no_const_into_ref([_const("w"), *g2.nodes]).ok


def test_closed_and_outputs():
    g = Graph()
    g.add("y", "Softmax", ["w"], T=FLOAT)
    g.node("y").attr["_output_shapes"].list.shape.add().dim.add(size=-1)
    assert check_closed([*g.nodes]).ok is False
    items = [_const("w"), *g.nodes]
    assert check_closed(items).ok
    check, described = describe_outputs(items, ["y", "w", "gone"])
    assert not check.ok and check.detail == "gone"
    assert described == [{"name": "y", "op": "Softmax", "dtype": "float32", "shape": [-1]},
                         {"name": "w", "op": "Const", "dtype": "float32", "shape": [2]}]


def _write(tmp_path, items):
    path = tmp_path / "g.pb"
    with open(path, "wb") as handle:
        size = writer.write_binary(handle, items, versions=pb.VersionDef(producer=1))
    return path, size


def test_scan_counts_nodes_without_reading_weights(tmp_path):
    g = Graph()
    g.add("y", "Identity", ["w"], T=FLOAT)
    path, size = _write(tmp_path, [_const("w"), *g.nodes])
    assert scan_top_level(path) == (2, size)


def test_validate_reports_and_raises(tmp_path):
    g = Graph()
    g.add("y", "Identity", ["w"], T=FLOAT)
    items = [_const("w"), *g.nodes]
    path, size = _write(tmp_path, items)
    report = validate(items, ["y"], nodes_before=10, file_path=path, expected_size=size, folded=[],
                      left_out=[{"key": "k", "reason": "model weight not reached", "warning": True}])
    assert report.ok and report.nodes_after == 2
    assert report.warnings[-1] == "checkpoint variable 'k' was not folded: model weight not reached"
    assert any(w.startswith("NO_INPUTS") for w in report.warnings)  # the diagnosis ran on the result
    report.raise_if_failed()
    bad = validate(items, ["y"], nodes_before=10, file_path=path, expected_size=size + 1, folded=[],
                   left_out=[])
    with pytest.raises(ValidationError, match="file framing") as info:
        bad.raise_if_failed("out.pb")
    assert info.value.exit_code == 3


def test_functions_check():
    from freezer.validate import check_functions

    library = pb.FunctionDefLibrary()
    clean = library.function.add()
    clean.signature.name = "f"
    clean.node_def.add(name="mm", op="MatMul")
    assert check_functions(library).ok
    clean.node_def.add(name="read", op="ReadVariableOp")
    check = check_functions(library)
    assert not check.ok and check.detail == "f/read (ReadVariableOp)"


def test_diagnosis_blocks_a_structural_defect():
    from freezer.validate import check_diagnosis

    g = Graph()
    g.add("x", "Placeholder", dtype=FLOAT)
    g.add("y", "Relu", ["x", "ghost"], T=FLOAT)
    check, _ = check_diagnosis(list(g.nodes))
    assert not check.ok and "MISSING_INPUT" in check.detail
    g2 = Graph()
    g2.add("x", "Placeholder", dtype=FLOAT)
    g2.add("y", "Relu", ["x"], T=FLOAT)
    check, _ = check_diagnosis([*g2.nodes, _const("w")])
    assert check.ok


def test_output_dtypes_come_from_the_ops_output_type_not_its_input_type():
    from freezer.validate import describe_outputs
    from tests.graphs import FLOAT, INT64, GraphBuilder

    g = GraphBuilder()
    g.placeholder("x")
    g.add("classes", "ArgMax", ["x", "axis"], T=FLOAT)  # output_type omitted: its default, int64
    g.add("text", "AsString", ["classes"], T=INT64)
    _, described = describe_outputs(list(g.nodes), ["classes", "text"])
    assert [d["dtype"] for d in described] == ["int64", "string"]
