"""NOT_FROZEN, WRONG_OUTPUTS, TRAINING_LEFTOVERS and REF_INPUT on hand-built graphs."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.diagnosis import freezing
from inspector.readers.checkpoint import TensorMeta
from tests.graphs import BOOL, FLOAT, FLOAT_REF, RESOURCE
from tests.inspector.diagnosis.graphs import Graph, mlp


class FakeCheckpoint:
    """``FakeCheckpoint(w=(4, 3), dense__bias=(3,))``: float32 zeros ('__' spells '/') in .values."""

    prefix = "ckpt/model.ckpt"

    def __init__(self, **shapes: tuple[int, ...]) -> None:
        self.tensors = {name.replace("__", "/"): TensorMeta(name.replace("__", "/"), "float32", shape,
                                                            int(np.prod(shape)) * 4)
                        for name, shape in shapes.items()}
        self.values = {name: np.zeros(meta.shape, np.float32) for name, meta in self.tensors.items()}

    def raw_chunks(self, name: str, chunk_size: int = 7):
        data = self.values[name].tobytes()
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]


# NOT_FROZEN -----------------------------------------------------------------------------------

def _with_variable(op: str) -> Graph:
    """mlp() whose output also reads variable 'v'."""
    g = mlp()
    g.add("v", op, dtype=FLOAT)
    g.add("v/read", "ReadVariableOp" if op == "VarHandleOp" else "Identity", ["v"], T=FLOAT)
    g.add("out", "AddV2", ["probs", "v/read"], T=FLOAT)
    return g


@pytest.mark.parametrize("op", ["VariableV2", "VarHandleOp", "Variable"])
def test_variables_mean_not_frozen(op):
    (finding,) = freezing.check_not_frozen(_with_variable(op).index())
    assert (finding.code, finding.severity, finding.evidence["variables"]) == ("NOT_FROZEN", "error", ["v"])
    assert "freeze <checkpoint prefix> --graph <this file>" in finding.fix  # a template, not a command


def test_not_frozen_is_a_warning_for_metagraphs_and_uses_the_checkpoint_in_the_fix():
    (finding,) = freezing.check_not_frozen(_with_variable("VariableV2").index(), "metagraph",
                                           "ckpt/model.ckpt-5", "my graph.meta")
    assert finding.severity == "warning"
    assert "`freeze ckpt/model.ckpt-5 --graph 'my graph.meta' --auto-outputs`" in finding.fix


def test_resource_placeholder_read_as_a_variable_is_not_frozen():
    g = mlp()
    g.placeholder("w_handle", RESOURCE)
    g.add("w_read", "ReadVariableOp", ["w_handle"], dtype=FLOAT)
    g.placeholder("unused_handle", RESOURCE)  # not read: no finding for it
    (finding,) = freezing.check_not_frozen(g.index())
    assert finding.evidence["variables"] == ["w_handle"]


def test_variables_inside_functions_count():
    g = mlp()
    function = g.graph_def.library.function.add()
    function.signature.name = "body"
    function.node_def.add(name="v", op="VarHandleOp")
    (finding,) = freezing.check_not_frozen(g.index())
    assert finding.evidence["variables"] == ["body/v"]


def test_frozen_graph_is_frozen():
    assert freezing.check_not_frozen(mlp().index()) == []


# WRONG_OUTPUTS --------------------------------------------------------------------------------

def test_frozen_graph_without_any_weights_is_an_info():
    """Nothing says it was meant to hold a model: a toy a*b or a preprocessing graph looks the same."""
    g = Graph()
    g.placeholder("x")
    g.const("half", 0.5)
    g.add("scaled", "Mul", ["x", "half"], T=FLOAT)
    (finding,) = freezing.check_wrong_outputs(g.index())
    assert (finding.severity, finding.evidence["weight_bytes"], finding.evidence["outputs"]) == \
        ("info", 0, ["scaled"])


def test_graph_with_weights_is_fine_without_a_checkpoint():
    assert freezing.check_wrong_outputs(mlp().index()) == []


def _checkpoint_graph(deep_reads_probs: bool):
    """The checkpoint's own graph: mlp() plus a 'deep' layer after 'probs' (or on its own input)."""
    from inspector.graph.model import GraphModel

    g = mlp()
    for name in ("deep/kernel", "deep/bias"):
        g.add(name, "VariableV2", dtype=FLOAT)
        g.add(f"{name}/read", "Identity", [name], T=FLOAT)
    if not deep_reads_probs:
        g.placeholder("x_copy")
    g.add("deep/mm", "MatMul", ["probs" if deep_reads_probs else "x_copy", "deep/kernel/read"], T=FLOAT)
    g.add("deep/out", "BiasAdd", ["deep/mm", "deep/bias/read"], T=FLOAT)
    return GraphModel(g.graph_def)


def test_share_below_half_with_weights_after_the_outputs_is_an_error():
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), deep__kernel=(3, 100), deep__bias=(100,))
    (finding,) = freezing.check_wrong_outputs(mlp().index(), ckpt, ["deep/out"],
                                              checkpoint_graph=_checkpoint_graph(deep_reads_probs=True))
    assert finding.severity == "error" and "stop before part of the model" in finding.message
    assert finding.evidence["share"] == pytest.approx((12 + 3) / (12 + 3 + 300 + 100), abs=1e-4)
    assert finding.evidence["missing_weights"] == ["deep/kernel", "deep/bias"]
    assert finding.evidence["weights_after_outputs"] == ["deep/kernel", "deep/bias"]
    assert finding.evidence["suggested_outputs"] == ["deep/out"]


def test_missing_weights_of_another_model_copy_are_no_finding():
    """A notebook re-ran its model cell: the checkpoint holds a second copy nothing here feeds."""
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), deep__kernel=(3, 100), deep__bias=(100,))
    assert freezing.check_wrong_outputs(mlp().index(), ckpt, ["deep/out"],
                                        checkpoint_graph=_checkpoint_graph(deep_reads_probs=False)) == []


def test_without_the_checkpoints_graph_the_claim_is_only_what_is_known():
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), deep__kernel=(3, 100), deep__bias=(100,))
    (finding,) = freezing.check_wrong_outputs(mlp().index(), ckpt, ["deep/out"])
    assert finding.severity == "warning" and "may stop before part of the model" in finding.message
    assert finding.evidence["weights_after_outputs"] is None


def test_weights_match_by_shape_when_names_differ():
    ckpt = FakeCheckpoint(dense__kernel=(4, 3), dense__bias=(3,))
    share = freezing.weight_share(mlp().index(), ckpt.tensors)
    assert (share.share, share.missing) == (1.0, [])


def test_optimizer_slots_and_counters_are_not_model_weights():
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), w__Adam=(4, 3), w__Adam_1=(4, 3), beta1_power=(1,))
    ckpt.tensors["global_step"] = TensorMeta("global_step", "int64", (), 8)
    assert sorted(freezing.model_weight_keys(ckpt.tensors)) == ["b", "w"]
    assert freezing.check_wrong_outputs(mlp().index(), ckpt, ["probs"]) == []


def test_most_weights_but_best_output_absent_is_a_warning():
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), head__bias=(2,))
    (finding,) = freezing.check_wrong_outputs(mlp().index(), ckpt, ["head/out"])
    assert finding.severity == "warning"
    assert freezing.check_wrong_outputs(mlp().index(), ckpt, ["probs"]) == []


# TRAINING_LEFTOVERS ---------------------------------------------------------------------------

def test_leftover_categories():
    assert freezing.leftover_category("ReluGrad") == "gradients"
    assert freezing.leftover_category("Conv2DBackpropFilter") == "gradients"
    # the forward op of conv2d_transpose as well as a convolution's gradient: never a leftover by type
    assert freezing.leftover_category("Conv2DBackpropInput") is None
    assert freezing.leftover_category("ResourceApplyAdam") == "optimizer"
    assert freezing.leftover_category("SaveV2") == "save/restore"
    assert freezing.leftover_category("ScalarSummary") == "summaries"
    assert freezing.leftover_category("AssignSub") == "variable updates"
    assert freezing.leftover_category("MatMul") is None


def test_leftovers_in_a_frozen_graph_are_a_warning():
    g = mlp()
    g.add("loss_summary", "ScalarSummary", ["probs"], T=FLOAT)
    (finding,) = freezing.check_training_leftovers(g.index())
    assert (finding.severity, finding.evidence) == ("warning", {"summaries": ["loss_summary"]})


def test_unfrozen_graph_reports_gradients_but_not_its_saver_or_initialisers():
    g = mlp()
    g.add("save/SaveV2", "SaveV2")
    g.add("w/Assign", "Assign", ["w", "w"], T=FLOAT)
    g.add("gradients/ReluGrad", "ReluGrad", ["probs", "probs"], T=FLOAT)
    (finding,) = freezing.check_training_leftovers(g.index(), frozen=False)
    assert (finding.severity, list(finding.evidence)) == ("info", ["gradients"])


# REF_INPUT ------------------------------------------------------------------------------------

def _refswitch(fed_by: str) -> Graph:
    g = mlp()
    g.const("pred", False, BOOL)
    g.add("moving_mean", "VariableV2", dtype=FLOAT)
    g.const("frozen_mean", [0.0, 0.0, 0.0])
    g.add("cond/RefSwitch", "RefSwitch", [fed_by, "pred"], T=FLOAT)
    g.add("cond/AssignSub", "AssignSub", ["cond/RefSwitch:1", "b"], T=FLOAT)
    return g


def test_const_feeding_refswitch_is_ref_input():
    (finding,) = freezing.check_ref_inputs(_refswitch("frozen_mean").index())
    (bad,) = finding.evidence["inputs"]
    assert bad == {"node": "cond/RefSwitch", "op": "RefSwitch", "input": 0, "expects": "ref",
                   "producer": "frozen_mean", "producer_op": "Const", "gets": "value"}
    assert "expected float_ref" in finding.message


def test_variable_feeding_refswitch_and_refswitch_feeding_assign_are_fine():
    assert freezing.check_ref_inputs(_refswitch("moving_mean").index()) == []


def test_const_feeding_a_resource_input():
    g = mlp()
    g.add("assign", "AssignVariableOp", ["w", "b"], dtype=FLOAT)
    (finding,) = freezing.check_ref_inputs(g.index())
    assert finding.evidence["inputs"][0]["expects"] == "resource"


def test_resource_handles_and_typed_passthrough():
    g = mlp()
    g.add("h", "VarHandleOp", dtype=FLOAT)
    g.add("h_id", "Identity", ["h"], T=RESOURCE)
    g.add("read", "ReadVariableOp", ["h_id"], dtype=FLOAT)
    assert freezing.check_ref_inputs(g.index()) == []
    g.add("bad_id", "Identity", ["w"], T=RESOURCE)  # T says resource, the input is a Const
    (finding,) = freezing.check_ref_inputs(g.index())
    assert finding.evidence["inputs"][0]["node"] == "bad_id"


def test_list_inputs_expand_with_n():
    g = mlp()
    g.add("v", "VariableV2", dtype=FLOAT)
    g.add("m", "RefMerge", ["v", "w"], T=FLOAT, N=2)
    (finding,) = freezing.check_ref_inputs(g.index())
    assert [b["input"] for b in finding.evidence["inputs"]] == [1]


def test_ref_typed_placeholder_is_a_ref():
    g = mlp()
    g.placeholder("r", FLOAT_REF)
    g.add("a", "Assign", ["r", "w"], T=FLOAT)
    assert freezing.check_ref_inputs(g.index()) == []


def test_checks_accept_a_plain_graph_def():
    graph_def = _refswitch("frozen_mean").graph_def
    assert [f.code for f in freezing.check_ref_inputs(graph_def)] == ["REF_INPUT"]


def test_weights_matching_nothing_suggest_the_wrong_checkpoint():
    ckpt = FakeCheckpoint(other__kernel=(7, 7))
    (finding,) = freezing.check_wrong_outputs(mlp().index(), ckpt, [])
    assert "check that this is the checkpoint" in finding.message


def test_stray_variable_no_output_uses_is_only_a_warning():
    g = mlp()
    g.add("global_step", "VariableV2", dtype=FLOAT)
    (finding,) = freezing.check_not_frozen(g.index())
    assert (finding.severity, finding.evidence["used"]) == ("warning", [])


def test_ref_input_message_quotes_tensorflows_error():
    (finding,) = freezing.check_ref_inputs(_refswitch("frozen_mean").index())
    assert ("Input 0 of node cond/RefSwitch was passed float from frozen_mean:0 incompatible with expected "
            "float_ref") in finding.message


# WEIGHTS_DIFFER -------------------------------------------------------------------------------

def _mlp_checkpoint() -> FakeCheckpoint:
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,))
    ckpt.values["w"] = np.ones((4, 3), np.float32)  # mlp(): w = ones, b = zeros
    return ckpt


def test_same_values_byte_for_byte_pass():
    assert freezing.check_weights_match(mlp().index(), _mlp_checkpoint()) == []


def test_changed_values_are_reported():
    ckpt = _mlp_checkpoint()
    ckpt.values["w"][2, 1] = 0.5
    (finding,) = freezing.check_weights_match(mlp().index(), ckpt)
    assert (finding.severity, finding.evidence["differ"]) == ("warning", ["w"])
    assert finding.evidence["compared"] == 2
    assert "from this checkpoint (ckpt/model.ckpt)" in finding.fix


def test_other_shapes_mean_another_model():
    ckpt = FakeCheckpoint(w=(4, 5), b=(3,))
    (finding,) = freezing.check_weights_match(mlp().index(), ckpt)
    assert finding.evidence["reshaped"] == ["w float32[4, 3] vs float32[4, 5]"]
    assert freezing.check_wrong_outputs(mlp().index(), ckpt, []) == []  # not a WRONG_OUTPUTS case


def test_moving_average_values_are_info():
    ckpt = FakeCheckpoint(w=(4, 3), b=(3,), w__ExponentialMovingAverage=(4, 3))
    ckpt.values["w/ExponentialMovingAverage"] = np.ones((4, 3), np.float32)
    (finding,) = freezing.check_weights_match(mlp().index(), ckpt)
    assert (finding.severity, finding.evidence["ema"]) == ("info", ["w"])
    assert sorted(freezing.model_weight_keys(ckpt.tensors)) == ["b", "w"]
