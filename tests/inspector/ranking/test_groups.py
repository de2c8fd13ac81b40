"""Outputs that belong together share a group; alternatives and parts of a model do not."""

from __future__ import annotations

from inspector.ranking import rank_outputs
from tests.graph_builder import Builder, classifier


def _two_heads(second_head_input: str | None = None) -> Builder:
    b = Builder()
    x = b.placeholder("x")
    trunk = b.node("trunk/Relu", "Relu", b.dense("trunk", x))
    b.node("cls/Softmax", "Softmax", b.dense("cls", trunk))
    b.node("reg/Sigmoid", "Sigmoid", b.dense("reg", second_head_input or trunk))
    return b


def test_sibling_heads_form_one_group():
    ranked = rank_outputs(_two_heads().model())
    assert {ranked[0].name, ranked[1].name} == {"cls/Softmax", "reg/Sigmoid"}
    assert ranked[0].group is not None and ranked[0].group == ranked[1].group


def test_softmax_and_its_logits_are_alternatives_not_a_group():
    ranked = rank_outputs(classifier().model())
    assert all(c.group is None for c in ranked)


def test_an_output_whose_weights_are_inside_anothers_is_not_grouped():
    # The encoder's own output is a sink too, with 80% of the weights: a part of the model that
    # computes the prediction, not a sibling head.
    b = Builder()
    x = b.placeholder("x")
    enc = b.node("enc/Relu", "Relu", b.dense("enc", x))
    b.node("enc_out", "Tanh", enc)
    b.node("dec/Sigmoid", "Sigmoid", b.dense("dec", enc, units=1))
    ranked = rank_outputs(b.model())
    by_name = {c.name: c for c in ranked}
    assert ranked[0].name == "dec/Sigmoid"
    assert "depends on 80% of the model's trainable weights" in by_name["enc_out"].reasons
    assert by_name["enc_out"].group is None and by_name["dec/Sigmoid"].group is None


def test_same_weights_outputs_of_one_op_are_grouped():
    b = Builder()
    x = b.placeholder("image")
    scores = b.node("scores", "Sigmoid", b.dense("head", x))
    nms = b.node("nms", "CombinedNonMaxSuppression", "head/BiasAdd", scores)
    for k, name in enumerate(("boxes", "scores_out", "classes", "num")):
        b.node(name, "Identity", f"{nms}:{k}")
    ranked = rank_outputs(b.model())
    first = ranked[0].group
    assert first is not None
    assert {c.name for c in ranked if c.group == first} == {"boxes", "scores_out", "classes", "num"}
