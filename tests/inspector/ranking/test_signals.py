"""Each signal on its own."""

from __future__ import annotations

from inspector.ranking import signals
from inspector.graph.index import GraphIndex
from tests.inspector.ranking.graphs import Builder


def _index(b: Builder) -> GraphIndex:
    return GraphIndex.from_model(b.model())


def test_name_hint_is_about_whole_words():
    assert signals.name_hint("model/logits")
    assert signals.name_hint("output")
    assert signals.name_hint("InceptionV3/Predictions/Reshape_1")
    assert signals.name_hint("probs")
    assert not signals.name_hint("throughput_counter")
    assert not signals.name_hint("dense/kernel")


def test_switch_and_label_name_hints():
    assert signals.switch_name_hint("keep_prob") and signals.switch_name_hint("model/is_training")
    assert not signals.switch_name_hint("images")
    assert signals.label_name_hint("labels") and signals.label_name_hint("inputs/y_")
    assert not signals.label_name_hint("inputs/x")


def test_bits_propagate_but_not_through_shape_ops():
    b = Builder()
    x = b.placeholder("x")
    relu = b.node("relu", "Relu", x)
    shape = b.node("shape", "Shape", relu)
    b.node("fill", "Fill", shape, b.node("one", "Const", shape=[]))
    index = _index(b)
    bits = signals.propagate_bits(index, {index.pos["x"]: 1}, [""] * len(index))
    assert bits[index.pos["relu"]] == 1
    assert bits[index.pos["shape"]] == 0 and bits[index.pos["fill"]] == 0


def test_loop_values_reach_the_exit_through_the_back_edge():
    b = Builder()
    w = b.variable("w", [4, 4])
    start = b.node("Enter", "Enter", b.node("zero", "Const", shape=[4]))
    merge = b.node("Merge", "Merge", start, "NextIteration")
    body = b.node("MatMul", "MatMul", merge, b.node("w/Enter", "Enter", w))
    b.node("NextIteration", "NextIteration", body)
    b.node("Exit", "Exit", merge)
    index = _index(b)
    bits = signals.propagate_bits(index, {index.pos["w"]: 1}, [""] * len(index))
    assert bits[index.pos["Exit"]] == 1


def test_weight_share_counts_elements():
    assert signals.share_of(0b01, [30, 10], 40) == 0.75
    assert signals.share_of(0b11, [30, 10], 40) == 1.0
    assert signals.share_of(0, [30, 10], 40) == 0.0
    assert signals.names_of(0b101, ["a", "b", "c"]) == ["a", "c"]


def test_reads_and_weight_values():
    b = Builder()
    read = b.variable("w", [4, 4])
    entered = b.node("w/Enter", "Enter", read)
    mixed = b.node("mixed", "Add", read, b.placeholder("x"))
    index = _index(b)
    reads = signals.variable_reads(index)
    assert reads[index.pos[read]] and reads[index.pos[entered]] and not reads[index.pos[mixed]]
    values = signals.weight_values(index, {index.pos["w"]})
    assert values[index.pos[entered]] and not values[index.pos[mixed]]


def test_frozen_weights_are_float_constants_with_elements():
    b = Builder()
    b.node("kernel", "Const", shape=[4, 4])
    b.node("axis", "Const", shape=[])
    b.node("shape", "Const", dtype=3, shape=[2])
    index = _index(b)
    frozen = [signals.is_weight_source(index, i, frozen=True) for i in range(len(index))]
    assert frozen == [True, False, False]
    assert not signals.is_weight_source(index, 0, frozen=False)


def test_op_families():
    assert signals.is_cosmetic("Identity") and signals.is_cosmetic("Squeeze")
    assert not signals.is_cosmetic("Softmax")
    assert signals.is_final_activation("Softmax") and signals.is_final_activation("NonMaxSuppressionV5")
    assert not signals.is_final_activation("Relu")


def test_author_named_is_about_whether_a_name_was_chosen():
    b = Builder()
    logits = b.dense("logits", b.placeholder("x"))
    for name in ("ArgMax", "ArgMax_1", "scope/ArgMax_3", "prediction", "output/predictions"):
        b.node(name, "ArgMax", logits)
    index = _index(b)
    named = {name for name in index.names if index.ops[index.pos[name]] == "ArgMax"
             and signals.author_named(index, index.pos[name])}
    assert named == {"prediction", "output/predictions"}


def test_values_computed_from_a_candidate_sampler_are_sampled():
    b = Builder()
    sampler = b.node("nce_loss/sampler", "LogUniformCandidateSampler", b.placeholder("labels", [-1, 1]))
    weights = b.variable("nce_w", [10, 4])
    sampled = b.node("nce_loss/MatMul", "MatMul", b.node("nce_loss/gather", "GatherV2", weights, sampler),
                     b.placeholder("x"))
    full = b.node("logits", "MatMul", b.placeholder("h"), weights)
    index = _index(b)
    values = signals.sampled_values(index)
    assert values[index.pos[sampled]] and not values[index.pos[full]]
