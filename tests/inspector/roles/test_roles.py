"""The roles pass end to end on small training graphs: every node gets what it is for."""

from __future__ import annotations

from inspector.roles import (
    BOOKKEEPING,
    GRADIENT,
    INITIALIZER,
    LOSS,
    METRIC,
    MODEL,
    OPTIMIZER,
    SAVER,
    SUMMARY,
    SWITCH,
    roles_of,
)
from tests.graph_builder import BOOL, Builder, classifier


def _role(b: Builder, meta=None) -> dict[str, str]:
    r = roles_of(b.model(), meta)
    return dict(zip(r.index.names, r.role, strict=True))


def test_a_training_graph_is_split_into_model_loss_backward_and_optimizer():
    role = _role(classifier())
    assert role["probabilities"] == role["logits/BiasAdd"] == role["hidden/kernel"] == MODEL
    assert role["loss/Mean"] == LOSS and role["loss/xent"] == LOSS and role["labels"] == LOSS
    assert role["gradients/Fill"] == GRADIENT and role["gradients/grad_0"] == GRADIENT
    assert role["GradientDescent/update_0"] == OPTIMIZER
    # a constant only the optimizer reads is the optimizer's
    assert role["GradientDescent/learning_rate"] == OPTIMIZER
    assert role["hidden/kernel/Assign"] == INITIALIZER and role["hidden/kernel/initial"] == INITIALIZER
    assert role["train_op"] == BOOKKEEPING


def test_roles_api():
    r = roles_of(classifier().model())
    assert r.has_training and r.of("loss/Mean") == LOSS and r.of("probabilities:0") == MODEL
    counts = r.counts()
    assert counts[MODEL] > 0 and counts[LOSS] > 0 and sum(counts.values()) == len(r.index)
    assert [r.index.names[i] for i in r.losses] == ["loss/Mean"]
    (prediction,) = r.predictions
    assert r.index.names[prediction.node] == "logits/BiasAdd" and r.index.names[prediction.target] == "labels"


def test_a_graph_without_updates_has_no_training_roles():
    b = Builder()
    logits = b.dense("logits", b.placeholder("x"))
    b.node("probs", "Softmax", logits)
    b.softmax_loss(logits, b.placeholder("labels", [-1]))  # an evaluation graph: loss, no optimizer
    r = roles_of(b.model())
    assert not r.has_training and not {LOSS, GRADIENT, OPTIMIZER} & set(r.role)
    assert r.of("loss/Mean") == METRIC  # compared with labels, trains nothing


def test_summaries_and_saver():
    b = classifier()
    b.node("hist", "HistogramSummary", b.node("tag", "Const", shape=[]), "probabilities")
    b.node("ckpt/filename", "PlaceholderWithDefault", b.node("ckpt/Const", "Const", shape=[]))
    b.node("ckpt/SaveV2", "SaveV2", "ckpt/filename", "hidden/kernel")
    role = _role(b)
    assert role["hist"] == SUMMARY and role["probabilities"] == MODEL
    assert role["ckpt/SaveV2"] == SAVER and role["ckpt/filename"] == SAVER


def test_a_cast_and_reshape_made_for_an_image_summary_are_the_summarys():
    b = classifier()
    decision = b.node("prediction", "ArgMax", "logits/BiasAdd", b.node("axis", "Const", shape=[]))
    channel = b.node("ExpandDims", "ExpandDims", decision, b.node("dim", "Const", shape=[]))
    image = b.node("Cast", "Cast", channel)
    b.node("image", "ImageSummary", b.node("tag", "Const", shape=[]), image)
    flat = b.node("Reshape_1", "Reshape", "probabilities", b.node("shape", "Const", shape=[2]))
    b.node("hist", "HistogramSummary", "tag", flat)
    role = _role(b)
    assert role["Cast"] == SUMMARY and role["ExpandDims"] == SUMMARY
    assert role["prediction"] == MODEL
    assert role["Reshape_1"] == MODEL  # a histogram takes any shape: the reshape is the model's


def test_statistics_computed_only_to_be_summarized_are_the_summarys():
    # slim's activation summaries: a histogram of the value and the fraction of its zeros
    b = classifier()
    tag = b.node("tag", "Const", shape=[])
    b.node("hist", "HistogramSummary", tag, "probabilities")
    nonzero = b.node("zf/NotEqual", "NotEqual", "probabilities", b.node("zf/zeros", "Const", shape=[]))
    count = b.node("zf/Sum", "Sum", b.node("zf/Cast", "Cast", nonzero), b.node("zf/axes", "Const", shape=[2]))
    fraction = b.node("zf/fraction", "RealDiv", count, b.node("zf/Size", "Size", "probabilities"))
    b.node("zf/summary", "ScalarSummary", tag, fraction)
    role = _role(b)
    assert role["zf/NotEqual"] == role["zf/Sum"] == role["zf/fraction"] == SUMMARY
    assert role["probabilities"] == MODEL


def test_what_a_metric_does_after_the_models_decision_is_the_metrics():
    b = classifier()
    decision = b.node("prediction", "ArgMax", "logits/BiasAdd", b.node("axis", "Const", shape=[]))
    flat = b.node("iou/Reshape", "Reshape", decision, b.node("iou/shape", "Const", shape=[1]))
    b.node("iou/Equal", "Equal", flat, "labels")
    role = _role(b)
    assert role["iou/Reshape"] == METRIC and role["iou/Equal"] == METRIC
    assert role["prediction"] == MODEL


def test_an_argmax_measured_by_two_metrics_is_the_models_prediction():
    b = classifier()
    pred = b.node("ArgMax", "ArgMax", "logits/BiasAdd", b.node("axis", "Const", shape=[]))
    b.node("accuracy/Equal", "Equal", pred, "labels")
    b.node("batch_accuracy/Equal", "Equal", pred, "labels")
    b.node("auc/GreaterEqual", "GreaterEqual", "probabilities", b.node("auc/t", "Const", shape=[]))
    b.node("auc/LogicalAnd", "LogicalAnd", "auc/GreaterEqual", "accuracy/Equal")
    below = b.node("auc/LogicalNot", "LogicalNot", "auc/GreaterEqual")
    b.node("auc/LogicalAnd_1", "LogicalAnd", below, "batch_accuracy/Equal")
    role = _role(b)
    assert role["ArgMax"] == MODEL
    assert role["auc/GreaterEqual"] == METRIC  # a threshold read twice is still the metric's


def test_moving_average_update_is_a_state_update_and_the_layer_stays():
    b = classifier()
    mean = b.variable("bn/moving_mean", [4])
    delta = b.node("bn/AssignMovingAvg/sub", "Sub", mean, "hidden/Relu")
    scaled = b.node("bn/AssignMovingAvg/mul", "Mul", delta, b.node("bn/decay", "Const", shape=[]))
    b.node("bn/AssignMovingAvg", "AssignSub", "bn/moving_mean", scaled)
    role = _role(b)
    assert role["bn/AssignMovingAvg"] == OPTIMIZER and role["bn/AssignMovingAvg/mul"] == OPTIMIZER
    assert role["hidden/Relu"] == MODEL


def test_streaming_metric_keeps_the_prediction():
    b = classifier()
    b.node("acc/total", "VariableV2", shape=[])
    argmax = b.node("acc/ArgMax", "ArgMax", "probabilities", b.node("acc/axis", "Const", shape=[]))
    hits = b.node("acc/Equal", "Equal", argmax, "labels")
    b.node("acc/update", "AssignAdd", "acc/total", b.node("acc/Sum", "Sum", hits, "acc/axis"))
    role = _role(b)
    assert role["acc/Equal"] == METRIC and role["acc/ArgMax"] == METRIC  # the metric's own decision
    assert role["probabilities"] == MODEL


def test_cond_plumbing_on_a_training_switch_is_switch_and_its_branches_are_model():
    b = classifier()
    flag = b.node("is_training", "PlaceholderWithDefault", b.node("false", "Const", dtype=BOOL, shape=[]),
                  dtype=BOOL, shape=[])
    pred_id = b.node("cond/pred_id", "Identity", flag, dtype=BOOL)
    switch = b.node("cond/Switch", "Switch", "hidden/Relu", pred_id)
    b.node("cond/Merge", "Merge", switch + ":1", switch)
    b.node("head/Sigmoid", "Sigmoid", b.dense("head", "cond/Merge"))
    role = _role(b)
    assert role["is_training"] == SWITCH and role["cond/pred_id"] == SWITCH
    assert role["cond/Switch"] == MODEL and role["cond/Merge"] == MODEL


def test_transposed_convolution_of_a_decoder_is_model_not_gradient():
    b = Builder()
    z = b.placeholder("z", [-1, 4, 4, 8])
    kernel = b.variable("deconv/kernel", [3, 3, 4, 8])
    shape = b.node("deconv/output_shape", "Const", dtype=3, shape=[4])
    up = b.node("deconv/conv2d_transpose", "Conv2DBackpropInput", shape, kernel, z)
    b.node("image", "Tanh", up)
    role = _role(b)
    assert role["deconv/conv2d_transpose"] == MODEL and role["image"] == MODEL
