"""inspector/targets.py: what each runtime cannot load, named with a fix or as a runtime limit."""

from __future__ import annotations

import numpy as np
import pytest

from inspector import tfops
from inspector.graph.model import GraphModel
from inspector.proto import pb
from inspector.readers.graphfile import load_graph_file
from inspector.targets import RUNTIME_LIMIT, TARGETS, supported, target_findings
from tests.graphs import FLOAT, GraphBuilder

GRAPHS = "fixtures/data/graphs"


def _findings(path: str, target: str) -> dict:
    model = GraphModel.from_graph_def(load_graph_file(path).graph_def)
    return {f.code: f for f in target_findings(model, target)}


def _model(builder: GraphBuilder) -> GraphModel:
    return GraphModel.from_graph_def(builder.graph_def)


def test_support_sets_are_registered_ops_with_their_source():
    for family in (tfops.OPENCV_TF_LAYERS, tfops.TF2ONNX_HANDLERS, tfops.TFLITE_BUILTIN_OPS):
        assert "4.14" in family.why or "1.17" in family.why or "2.21" in family.why
    assert {"Conv2D", "MatMul", "Softmax"} <= supported("opencv") & supported("onnx") & supported("tflite")
    assert "GatherV2" not in supported("opencv") and "TensorArrayV3" not in supported("tflite")


def test_a_healthy_mlp_loads_everywhere(data_dir):
    for target in TARGETS:
        assert _findings(str(data_dir / "graphs/healthy_mlp.pb"), target) == {}, target


def test_a_v1_while_loop_is_a_runtime_limit_for_opencv_and_tflite_only(data_dir):
    path = str(data_dir / "graphs/healthy_rnn_while.pb")
    for target in ("opencv", "tflite"):
        finding = _findings(path, target)["TARGET_CONTROL_FLOW"]
        assert finding.fix.startswith(RUNTIME_LIMIT)
    assert "TARGET_CONTROL_FLOW" not in _findings(path, "onnx")


def test_function_calls_are_for_inference_work_for_opencv():
    g = GraphBuilder()
    g.placeholder("x")
    g.add("call", "StatefulPartitionedCall", ["x"], Tin=[], Tout=[])
    found = {f.code: f for f in target_findings(_model(g), "opencv")}
    assert "--for-inference" in found["TARGET_FUNCTION_CALLS"].fix
    assert not [f for f in target_findings(_model(g), "tflite") if f.code == "TARGET_FUNCTION_CALLS"]


def test_an_unsupported_op_on_weights_only_is_folded_else_a_limit():
    g = GraphBuilder()
    g.placeholder("x")
    g.const("a", [1.0, 2.0])
    g.add("w", "Cumprod", ["a", "axis"], T=FLOAT)
    g.const("axis", 0, dtype=3)
    g.add("y", "Mul", ["x", "w"], T=FLOAT)
    g.add("z", "Cumprod", ["y", "axis"], T=FLOAT)
    finding = {f.code: f for f in target_findings(_model(g), "opencv")}["TARGET_UNSUPPORTED_OP"]
    assert finding.fix == RUNTIME_LIMIT  # z reads the input
    assert set(finding.evidence["nodes"]) == {"w", "z"}


def test_identity_and_matmul_bias_outputs_are_fused_away_in_opencv():
    g = GraphBuilder()
    g.placeholder("x")
    g.const("w", [[1.0]])
    g.add("m", "MatMul", ["x", "w"], T=FLOAT)
    g.const("b", [1.0])
    g.add("out", "BiasAdd", ["m", "b"], T=FLOAT)
    g.add("named", "Identity", ["m"], T=FLOAT)
    found = {f.code: f for f in target_findings(_model(g), "opencv", ["out", "named"])}
    finding = found["TARGET_OUTPUT_FUSED"]
    # each output's value is the output of the layer it went into, fetched by that layer's name (the
    # matmul here, which another layer reads: getUnconnectedOutLayersNames() would not list it)
    assert finding.evidence["layers"] == {"out": "m", "named": "m"}
    assert "out -> net.forward('m')" in finding.fix


@pytest.mark.parametrize("target", TARGETS)
def test_tables_are_named(target, data_dir):
    codes = _findings(str(data_dir / "graphs/table_not_initialized.pb"), target)
    assert ("TARGET_TABLES" in codes) == (target != "onnx")


def test_weight_only_decides_each_node_once():
    """Issue 12 item 4: an op OpenCV cannot load but --for-inference folds (Rank), computed from a
    Const through 18 AddN each reading the one before 3 times: 3^18 paths for a recursion that
    follows every input."""
    from tests.walks import ladder, metered

    g = GraphBuilder()
    g.const("c", [1.0, 2.0])
    g.const("axis", 0, dtype=pb.DataType.DT_INT32)
    last = ladder(g, "c", "AddN", levels=18, k=3, T=FLOAT, N=3)
    g.add("p", "Rank", [last], T=FLOAT)
    model = _model(g)
    metered(model)
    finding = {f.code: f for f in target_findings(model, "opencv")}["TARGET_UNSUPPORTED_OP"]
    assert finding.evidence["nodes"] == ["p"] and "computes only on weights" in finding.fix


@pytest.mark.parametrize(("relus", "reaches"), [(4, True), (5, False)])
def test_reshaped_input_walk_expands_each_node_once(relus, reaches):
    """Issue 12 item 4: a flat input reshaped, then element-wise ops each reading the one before 30
    times: 30^4 paths; a convolution counts within 4 element-wise ops, as before."""
    from tests.walks import ladder, metered

    g = GraphBuilder()
    g.add("x", "Placeholder", dtype=FLOAT, shape=[-1, 784])
    g.const("shape", [-1, 28, 28, 1], dtype=pb.DataType.DT_INT32)
    g.add("image", "Reshape", ["x", "shape"], T=FLOAT)
    last = ladder(g, "image", "Relu", levels=relus, k=30, T=FLOAT)
    g.const("kernel", np.ones((3, 3, 1, 2)))
    g.add("conv", "Conv2D", [last, "kernel"], T=FLOAT, strides=[1, 1, 1, 1], padding="SAME")
    model = _model(g)
    metered(model)
    codes = {f.code for f in target_findings(model, "opencv")}
    assert ("TARGET_INPUT_SHAPE" in codes) == reaches


def test_a_tile_by_constant_multiples_is_for_inference_work_for_opencv():
    """OpenCV 4.14 has no TF Tile (the ONNX Tile layer refuses it: 'repeats needs to be treated as
    parameter'); --for-inference's tile_as_concat writes it as a concat. Multiples fed at run time stay
    a runtime limit."""
    g = GraphBuilder()
    g.placeholder("x")
    g.const("multiples", [1, 2], dtype=3)
    g.add("t", "Tile", ["x", "multiples"], T=FLOAT, Tmultiples=3)
    finding = {f.code: f for f in target_findings(_model(g), "opencv")}["TARGET_UNSUPPORTED_OP"]
    assert "tile_as_concat" in finding.fix
    g.placeholder("m", dtype=3)
    g.add("t2", "Tile", ["x", "m"], T=FLOAT, Tmultiples=3)
    finding = {f.code: f for f in target_findings(_model(g), "opencv")}["TARGET_UNSUPPORTED_OP"]
    assert finding.fix == RUNTIME_LIMIT


def test_an_op_on_weights_that_for_inference_cannot_compute_is_a_limit():
    g = GraphBuilder()
    g.const_strings("words", ["a", "bc"])
    g.add("lengths", "StringLength", ["words"], unit="BYTE")
    finding = {f.code: f for f in target_findings(_model(g), "opencv")}["TARGET_UNSUPPORTED_OP"]
    assert finding.fix == RUNTIME_LIMIT


def _reads_an_array_in_a_cond() -> GraphBuilder:
    """seq2seq's TrainingHelper: a TensorArray read inside a tf.cond, and an Assert behind a control
    edge (tf2onnx 1.17 reported 'Tensorflow op [.../cond/TensorArrayReadV3] is not supported' and
    nothing about the Assert)."""
    g = GraphBuilder()
    g.placeholder("inputs")
    g.placeholder("finished", dtype=10)
    g.const("size", 3, dtype=3)
    g.add("ta", "TensorArrayV3", ["size"], dtype=FLOAT)
    g.const("index", [0, 1, 2], dtype=3)
    g.add("scatter", "TensorArrayScatterV3", ["ta", "index", "inputs", "ta:1"], T=FLOAT)
    g.add("cond/Switch", "Switch", ["ta", "finished"], T=20)
    g.add("cond/Switch_1", "Switch", ["scatter", "finished"], T=FLOAT)
    g.const("zero", 0, dtype=3)
    g.add("cond/read", "TensorArrayReadV3", ["cond/Switch", "zero", "cond/Switch_1"], dtype=FLOAT)
    g.add("check", "Assert", ["finished", "inputs"], T=[FLOAT])
    g.add("out", "Identity", ["cond/read", "^check"], T=FLOAT)
    return g


def test_tensor_array_reads_inside_a_cond_are_a_tf2onnx_limit():
    found = {f.code: f for f in target_findings(_model(_reads_an_array_in_a_cond()), "onnx", ["out"])}
    flow = found["TARGET_CONTROL_FLOW"]
    assert flow.evidence["nodes"] == ["cond/read"] and flow.fix.startswith(RUNTIME_LIMIT)
    assert "TARGET_UNSUPPORTED_OP" not in found  # the Assert is only waited on: tf2onnx never converts it


def test_an_op_the_outputs_only_wait_on_still_counts_for_opencv():
    """OpenCV imports every node of the file, waited on or not."""
    found = target_findings(_model(_reads_an_array_in_a_cond()), "opencv", ["out"])
    assert "Assert" in {f.evidence["op"] for f in found if f.code == "TARGET_UNSUPPORTED_OP"}
