"""Training and bookkeeping subgraphs are recognised and set aside, each with its reason."""

from __future__ import annotations

from inspector.ranking.analysis import analyze
from inspector.ranking.subgraphs import (
    ACCUMULATE,
    ASSIGN,
    GRADIENT,
    OPTIMIZER,
    SAVER,
    SUMMARY,
)
from tests.inspector.ranking.graphs import Builder, classifier


def _category(builder: Builder, meta=None) -> dict[str, str]:
    a = analyze(builder.model(), meta)
    return dict(zip(a.index.names, a.excl.category, strict=True))


def test_gradients_updates_and_their_constants_are_excluded():
    cat = _category(classifier())
    assert cat["gradients/Fill"] == GRADIENT
    assert cat["gradients/grad_0"] == GRADIENT
    assert cat["GradientDescent/update_0"] == OPTIMIZER
    # a constant that exists only for the optimizer is absorbed into it
    assert cat["GradientDescent/learning_rate"] == OPTIMIZER
    assert cat["hidden/kernel/Assign"] == ASSIGN and cat["hidden/kernel/initial"] == ASSIGN
    assert cat["probabilities"] == "" and cat["logits/BiasAdd"] == "" and cat["hidden/kernel"] == ""


def test_grad_op_types_count_without_the_gradients_scope():
    b = classifier()
    b.node("backprop/ReluGrad", "ReluGrad", "hidden/Relu", "hidden/Relu")
    b.node("backprop/after", "Mul", "backprop/ReluGrad", "hidden/Relu")
    cat = _category(b)
    assert cat["backprop/ReluGrad"] == GRADIENT and cat["backprop/after"] == GRADIENT


def test_saver_found_by_saver_def_and_by_its_ops():
    b = classifier()
    b.node("ckpt/filename", "PlaceholderWithDefault", b.node("ckpt/Const", "Const", shape=[]))
    b.node("ckpt/SaveV2", "SaveV2", "ckpt/filename", "hidden/kernel")
    b.node("ckpt/control_dependency", "Identity", "ckpt/filename", "^ckpt/SaveV2")
    cat = _category(b)  # no MetaGraphDef: the SaveV2 op names the scope
    assert cat["ckpt/filename"] == SAVER and cat["ckpt/control_dependency"] == SAVER
    meta = b.with_meta()
    meta.saver_def.filename_tensor_name = "ckpt/Const:0"
    assert _category(b, meta)["ckpt/Const"] == SAVER


def test_summaries_do_not_swallow_a_summarized_prediction():
    b = classifier()
    b.node("hist", "HistogramSummary", b.node("tag", "Const", shape=[]), "probabilities")
    cat = _category(b)
    assert cat["hist"] == SUMMARY and cat["probabilities"] == ""


def test_moving_average_update_is_absorbed_but_the_layer_is_not():
    b = classifier()
    mean = b.variable("bn/moving_mean", [4])
    delta = b.node("bn/AssignMovingAvg/sub", "Sub", mean, "hidden/Relu")
    scaled = b.node("bn/AssignMovingAvg/mul", "Mul", delta, b.node("bn/decay", "Const", shape=[]))
    b.node("bn/AssignMovingAvg", "AssignSub", "bn/moving_mean", scaled)
    cat = _category(b)
    assert cat["bn/AssignMovingAvg/mul"] == ASSIGN and cat["bn/AssignMovingAvg/sub"] == ASSIGN
    assert cat["hidden/Relu"] == ""


def test_streaming_metric_update_keeps_the_prediction():
    b = classifier()
    b.node("acc/total", "VariableV2", shape=[])
    argmax = b.node("acc/ArgMax", "ArgMax", "probabilities", b.node("acc/axis", "Const", shape=[]))
    hits = b.node("acc/Equal", "Equal", argmax, "labels")
    b.node("acc/update", "AssignAdd", "acc/total", b.node("acc/Sum", "Sum", hits, "acc/axis"))
    cat = _category(b)
    assert cat["acc/update"] == ACCUMULATE
    assert cat["probabilities"] == "" and cat["acc/ArgMax"] == ""


def test_a_forward_value_consumed_only_by_gradients_is_the_loss():
    b = Builder()
    x = b.placeholder("x")
    out = b.dense("out", x)
    loss = b.node("loss", "Mean", b.node("sq", "Square", out), b.node("axis", "Const", shape=[1]))
    b.train(loss, ["out/kernel"])
    a = analyze(b.model())
    assert [a.index.names[i] for i in a.excl.loss_roots] == ["loss"]
    assert not a.excl.category[a.index.pos["loss"]]
