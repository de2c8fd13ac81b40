"""Input ranking: feature inputs first, then labels, switches and assignment feeds."""

from __future__ import annotations

from inspector.ranking import rank_inputs
from inspector.ranking.analysis import FEATURE, LABEL, SWITCH, analyze
from tests.inspector.ranking.graphs import BOOL, Builder, classifier, names


def _kinds(builder: Builder) -> dict[str, str]:
    a = analyze(builder.model())
    return {a.index.names[info.index]: info.kind for info in a.inputs}


def test_feature_label_and_switches():
    b = classifier()
    b.node("is_training", "PlaceholderWithDefault", b.node("false", "Const", dtype=BOOL, shape=[]),
           dtype=BOOL, shape=[])
    b.node("keep_prob", "Placeholder", shape=[])
    b.node("hidden/dropout", "Mul", "hidden/Relu", "keep_prob")
    b.node("cond/Switch", "Switch", "hidden/Relu", "is_training")
    kinds = _kinds(b)
    assert kinds == {"images": FEATURE, "labels": LABEL, "is_training": SWITCH, "keep_prob": SWITCH}
    ranked = rank_inputs(b.model())
    assert names(ranked)[:2] == ["images", "labels"]
    assert ranked[0].dtype == "float32" and ranked[0].shape == [-1, 4]
    assert ranked[0].reasons[0] == "feature input"


def test_unknown_shape_switch_recognised_by_its_name():
    b = classifier()
    b.node("keep_prob", "Placeholder")  # no shape recorded
    b.node("hidden/dropout", "Mul", "hidden/Relu", "keep_prob")
    assert _kinds(b)["keep_prob"] == SWITCH


def test_placeholders_feeding_only_assignments_or_the_optimizer():
    b = classifier()
    b.node("kernel_value", "Placeholder", shape=[4, 4])
    b.node("set_kernel", "Assign", "hidden/kernel", "kernel_value")
    b.node("lr", "Placeholder", shape=[-1])
    b.node("GradientDescent/update_extra", "ApplyGradientDescent", "hidden/kernel", "lr", "gradients/grad_0")
    ranked = {c.name: c for c in rank_inputs(b.model())}
    assert ranked["kernel_value"].reasons[0] == "not a model input"
    assert ranked["lr"].group == SWITCH


def test_scalar_inputs_of_a_weightless_graph_are_features():
    b = Builder()
    b.node("c", "Mul", b.placeholder("a", []), b.placeholder("b", []))
    assert _kinds(b) == {"a": FEATURE, "b": FEATURE}


def test_signature_inputs_come_first():
    b = classifier()
    meta = b.with_meta()
    meta.signature_def["serving_default"].inputs["x"].name = "labels:0"
    ranked = rank_inputs(b.model(), meta)
    assert ranked[0].name == "labels" and ranked[0].score == 1.0


def test_captured_resource_handles_are_not_inputs():
    from inspector.proto import pb

    b = Builder()
    x = b.placeholder("x")
    handle = b.node("MatMul/ReadVariableOp/resource", "Placeholder", dtype=pb.DataType.DT_RESOURCE,
                    shape=[])
    w = b.node("MatMul/ReadVariableOp", "ReadVariableOp", handle)
    b.node("Identity", "Identity", b.node("MatMul", "MatMul", x, w))
    ranked = rank_inputs(b.model())
    assert names(ranked)[0] == "x"
    assert ranked[1].reasons[0] == "not a model input"


def test_features_and_labels_from_one_iterator_are_told_apart():
    from inspector.proto import pb

    b = Builder()
    it = b.node("IteratorGetNext", "IteratorGetNext")
    types = b.graph.node[-1].attr["output_types"].list.type
    types.extend([pb.DataType.DT_FLOAT, pb.DataType.DT_INT64])
    logits = b.dense("logits", b.node("hidden/Relu", "Relu", b.dense("hidden", it + ":0")))
    b.softmax_loss(logits, it + ":1")
    b.node("probs", "Softmax", logits)
    kinds = {info.name: info.kind for info in analyze(b.model()).inputs}
    assert kinds == {"IteratorGetNext:0": FEATURE, "IteratorGetNext:1": LABEL}
    from inspector.ranking import rank_outputs

    ranked = names(rank_outputs(b.model()))
    assert ranked[0] == "probs" and "loss/xent" not in ranked


def test_unshaped_float_joining_after_the_first_layer_is_a_switch():
    # tf.placeholder(tf.float32) as keep_prob: no shape, multiplied into a hidden layer
    b = classifier()
    b.node("keep", "Placeholder")
    b.graph.node[-1].attr.pop("shape")
    dropped = b.node("dropout/mul", "Mul", "hidden/Relu", "keep")
    b.node("head2/Sigmoid", "Sigmoid", b.dense("head2", dropped))
    assert _kinds(b)["keep"] == SWITCH
