"""SignatureDefs: serving signature first, one entry per tensor, internal signatures ignored."""

from __future__ import annotations

from inspector.proto import pb
from inspector.ranking.signatures import signature_inputs, signature_outputs


def _meta() -> pb.MetaGraphDef:
    meta = pb.MetaGraphDef()
    predict = meta.signature_def["predict"]
    predict.outputs["predictions"].name = "target/Exp:0"
    predict.outputs["logits"].name = "add:0"
    serving = meta.signature_def["serving_default"]
    serving.outputs["outputs"].name = "target/Exp:0"
    serving.inputs["inputs"].name = "input_example_tensor:0"
    meta.signature_def["__saved_model_init_op"].outputs["__saved_model_init_op"].name = "NoOp"
    return meta


def test_serving_signature_first_then_the_others():
    declared = signature_outputs(_meta())
    assert [(d.tensor, d.signature, d.score) for d in declared] == [
        ("target/Exp:0", "serving_default", 1.0), ("add:0", "predict", 0.97)]
    assert all(d.group is None for d in declared)
    assert declared[0].reason == "declared as output 'outputs' of signature 'serving_default'"


def test_signature_with_several_new_outputs_is_a_group():
    meta = pb.MetaGraphDef()
    sig = meta.signature_def["serving_default"]
    for key in ("detection_boxes", "detection_scores"):
        sig.outputs[key].name = f"{key}:0"
    assert {d.group for d in signature_outputs(meta)} == {"signature 'serving_default'"}


def test_inputs_and_absent_meta_graph():
    assert [d.tensor for d in signature_inputs(_meta())] == ["input_example_tensor:0"]
    assert signature_outputs(None) == [] and signature_inputs(None) == []
