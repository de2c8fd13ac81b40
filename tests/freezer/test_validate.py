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


# ---------------------------------------------------------------------------------------------
# Issue 12 item 11: graphs TensorFlow will not import are refused (each rule checked against TF)

def _base() -> Graph:
    g = Graph()
    g.placeholder("x")
    return g


def _broken_graphs() -> dict[str, tuple[Graph, str]]:
    """name -> (a graph with one defect, what the problem line says)."""
    from tests.graphs import INT32, STRING

    cases = {}
    g = _base()
    g.add("r", "Relu", ["x"], T=FLOAT)
    g.add("o", "Identity", ["r:1"], T=FLOAT)
    cases["output index beyond the op's outputs"] = (g, "names output 1 of 'r', which has 1 output")
    g = _base()
    g.const("axis", 0, dtype=INT32)
    g.add("s", "Split", ["axis", "x"], T=FLOAT, num_split=2)
    g.add("o", "Identity", ["s:2"], T=FLOAT)
    cases["output index beyond a counted output list"] = (g, "names output 2 of 's', which has 2 output")
    g = _base()
    g.add("r", "NoSuchOpAnywhere", ["x"], T=FLOAT)
    cases["unknown op"] = (g, "op 'NoSuchOpAnywhere' is defined nowhere")
    g = _base()
    g.add("r", "Relu", ["x"])
    cases["required attr missing"] = (g, "required attr 'T' (type) is missing")
    g = _base()
    g.add("r", "Relu", ["x"], T=FLOAT)
    g.node("r").attr["T"].i = 3
    cases["attr of the wrong kind"] = (g, "attr 'T' is i, the op wants type")
    g = _base()
    g.add("r", "Relu", ["x"], T=FLOAT)
    g.node("r").attr["T"].list.type.append(FLOAT)
    cases["a list where a type is wanted"] = (g, "attr 'T' is list, the op wants type")
    g = _base()
    g.add("s", "Placeholder", dtype=STRING)
    g.add("r", "Relu", ["s"], T=STRING)
    cases["type outside the allowed list"] = (g, "attr 'T' is string, not one of the values")
    g = _base()
    g.add("m", "MaxPool", ["x"], T=FLOAT, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="BAD")
    cases["string outside the allowed list"] = (g, "attr 'padding' is 'BAD'")
    g = _base()
    g.add("a", "AddN", [], T=FLOAT, N=0)
    cases["int below the minimum"] = (g, "attr 'N' is 0, below the op's minimum 1")
    g = _base()
    g.add("r", "Relu", ["x", "x"], T=FLOAT)
    cases["an input too many"] = (g, "2 data input(s), its signature expects 1")
    g = _base()
    g.add("a", "AddN", ["x", "x"], T=FLOAT, N=3)
    cases["inputs short of N"] = (g, "2 data input(s), its signature expects 3")
    g = _base()
    g.add("i", "Placeholder", dtype=INT32)
    g.add("r", "Relu", ["i"], T=FLOAT)
    cases["input of another dtype"] = (g, "input 0 is int32 from 'i', its signature expects float32")
    g = _base()
    g.add("r", "Relu", ["x"], T=FLOAT)
    g.add("o", "Identity", ["^x", "r"], T=FLOAT)
    cases["control input before a data input"] = (g, "data input 'r' comes after a control input")
    return cases


BROKEN = _broken_graphs()


def _valid_graphs() -> dict[str, Graph]:
    """Graphs TensorFlow imports, each near one of the rules (nothing may be refused here)."""
    from tests.graphs import INT32

    cases = {}
    g = _base()
    g.add("r", "Relu", ["x"], T=FLOAT, some_attr_no_op_declares=3, _class=["loc:@x"])
    cases["undeclared attrs are dropped"] = g
    g = _base()
    g.const("axis", 0, dtype=INT32)
    g.add("s", "Split", ["axis", "x"], T=FLOAT, num_split=2)
    g.add("o", "AddN", ["s", "s:1"], T=FLOAT, N=2)
    cases["counted outputs"] = g
    g = _base()
    g.const("axis", 0, dtype=INT32)
    g.add("c", "ConcatV2", ["x", "x", "axis"], T=FLOAT, N=2)  # Tidx from its default
    g.add("m", "ArgMax", ["c", "axis"], T=FLOAT)  # output_type from its default
    g.add("o", "Cast", ["m"], SrcT=pb.DataType.DT_INT64, DstT=FLOAT)
    cases["defaults fill omitted attrs"] = g
    g = _base()
    g.add("r", "Relu", ["x", "^x"], T=FLOAT)
    cases["control inputs after data"] = g
    return cases


VALID = _valid_graphs()


def test_custom_ops_are_not_refused_but_ops_defined_nowhere_are():
    """A custom op (TF-TRT, TensorFlow Text, one the graph's own op list names) imports once its
    library is loaded, as the original graph did: only an op nothing defines fails."""
    from freezer.validate import check_importable

    g = _base()
    g.add("trt", "TRTEngineOp", ["x"])
    g.add("mine", "MyActivation", ["trt"], T=FLOAT)
    assert check_importable(list(g.nodes), graph_ops={"MyActivation"}).ok
    check = check_importable(list(g.nodes))
    assert not check.ok and "'MyActivation' is defined nowhere" in check.detail
    assert "TRTEngineOp" not in check.detail


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_graph_tensorflow_will_not_import_fails_validation(name):
    from freezer.validate import check_importable

    graph, says = BROKEN[name]
    check = check_importable(list(graph.nodes))
    assert not check.ok and says in check.detail, check.detail


@pytest.mark.parametrize("name", list(VALID))
def test_graphs_tensorflow_imports_pass(name):
    from freezer.validate import check_importable

    check = check_importable(list(VALID[name].nodes))
    assert check.ok, check.detail


def _tf_import_error(graph) -> str | None:
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef.FromString(graph.graph_def.SerializeToString())
    try:
        with tf.Graph().as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
    except (ValueError, tf.errors.OpError) as error:
        return str(error)
    return None


@pytest.mark.tf
@pytest.mark.parametrize("name", list(BROKEN))
def test_tensorflow_itself_refuses_each_broken_graph(name):
    assert _tf_import_error(BROKEN[name][0]) is not None


@pytest.mark.tf
@pytest.mark.parametrize("name", list(VALID))
def test_tensorflow_itself_imports_each_valid_graph(name):
    assert _tf_import_error(VALID[name]) is None
