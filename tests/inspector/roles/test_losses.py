"""Losses by what their backward pass reads; predictions where a loss meets its target."""

from __future__ import annotations

from inspector.roles import LOSS, MODEL, roles_of
from tests.graph_builder import Builder, classifier


def _names(r, nodes) -> list[str]:
    return [r.index.names[i] for i in nodes]


def test_the_loss_is_the_end_the_backward_reads_lead_to_not_the_prediction_sink():
    r = roles_of(classifier().model())
    assert _names(r, r.losses) == ["loss/Mean"]
    assert r.of("probabilities") == MODEL


def test_loss_math_on_the_prediction_is_the_losses_and_the_prediction_is_behind_it():
    b = Builder()
    x = b.placeholder("x")
    probs = b.node("probs", "Softmax", b.dense("logits", x))
    y = b.placeholder("y_")
    xent = b.node("xent/Neg", "Neg", b.node("xent/Sum", "Sum", b.node("xent/Mul", "Mul", y,
                                                                        b.node("xent/Log", "Log", probs)),
                                                   b.node("xent/axis", "Const", shape=[1])))
    b.train(xent, ["logits/kernel"])
    r = roles_of(b.model())
    (p,) = r.predictions
    assert r.index.names[p.node] == "probs" and r.index.names[p.target] == "y_"
    assert r.of("xent/Log") == LOSS and r.of("probs") == MODEL


def test_a_squeeze_the_author_compares_is_the_prediction_but_a_loss_kernels_reshape_is_not():
    b = Builder()
    x = b.placeholder("x")
    out = b.dense("out", x)
    pred = b.node("pred", "Squeeze", out)
    diff = b.node("sub", "Sub", pred, b.placeholder("target", [-1]))
    loss = b.node("mse", "Mean", b.node("sq", "Square", diff), b.node("axis", "Const", shape=[1]))
    b.train(loss, ["out/kernel"])
    r = roles_of(b.model())
    assert _names(r, [p.node for p in r.predictions]) == ["pred"]

    c = classifier(with_softmax_sink=False)
    dims = c.node("loss/flat", "Const", dtype=3, shape=[2])
    flat = c.node("loss/xent/Reshape", "Reshape", "logits/BiasAdd", dims)
    for node in c.graph.node:
        if node.name == "loss/xent":
            node.input[0] = flat
    r = roles_of(c.model())
    assert _names(r, [p.node for p in r.predictions]) == ["logits/BiasAdd"]
    assert r.of("loss/xent/Reshape") == LOSS


def test_a_regularizer_computed_from_weights_alone_is_part_of_the_loss():
    b = classifier()
    l2 = b.node("reg/L2Loss", "L2Loss", "hidden/kernel/read")
    total = b.node("total_loss", "AddV2", "loss/Mean", l2)
    for node in b.graph.node:
        if node.name == "gradients/Shape":
            node.input[0] = total
    r = roles_of(b.model())
    assert _names(r, r.losses) == ["total_loss"]
    assert r.of("reg/L2Loss") == LOSS and r.of("loss/Mean") == LOSS and r.of("hidden/kernel/read") == MODEL
