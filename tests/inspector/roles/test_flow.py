"""Linear passes: bitsets, reachability, what values are computed from."""

from __future__ import annotations

from inspector.graph.index import GraphIndex
from inspector.roles import flow
from tests.graph_builder import Builder


def _index(b: Builder) -> GraphIndex:
    return GraphIndex.from_model(b.model())


def test_bits_propagate_but_not_through_shape_ops():
    b = Builder()
    x = b.placeholder("x")
    relu = b.node("relu", "Relu", x)
    shape = b.node("shape", "Shape", relu)
    b.node("fill", "Fill", shape, b.node("one", "Const", shape=[]))
    index = _index(b)
    bits = flow.propagate_bits(index, {index.pos["x"]: 1}, [False] * len(index))
    assert bits[index.pos["relu"]] == 1
    assert bits[index.pos["shape"]] == 0 and bits[index.pos["fill"]] == 0
    computed = flow.computed_from(index, {index.pos["x"]}, [False] * len(index))
    assert computed[index.pos["relu"]] and not computed[index.pos["fill"]]


def test_loop_values_reach_the_exit_through_the_back_edge():
    b = Builder()
    w = b.variable("w", [4, 4])
    start = b.node("Enter", "Enter", b.node("zero", "Const", shape=[4]))
    merge = b.node("Merge", "Merge", start, "NextIteration")
    body = b.node("MatMul", "MatMul", merge, b.node("w/Enter", "Enter", w))
    b.node("NextIteration", "NextIteration", body)
    b.node("Exit", "Exit", merge)
    index = _index(b)
    bits = flow.propagate_bits(index, {index.pos["w"]: 1}, [False] * len(index))
    assert bits[index.pos["Exit"]] == 1


def test_blocked_nodes_stop_the_flow():
    b = Builder()
    x = b.placeholder("x")
    mid = b.node("mid", "Relu", x)
    b.node("after", "Relu", mid)
    index = _index(b)
    blocked = [name == "mid" for name in index.names]
    assert flow.propagate_bits(index, {index.pos["x"]: 1}, blocked)[index.pos["after"]] == 0


def test_share_and_names_of_bitsets():
    assert flow.share_of(0b01, [30, 10], 40) == 0.75
    assert flow.share_of(0b11, [30, 10], 40) == 1.0
    assert flow.share_of(0, [30, 10], 40) == 0.0
    assert flow.names_of(0b101, ["a", "b", "c"]) == ["a", "c"]
    assert flow.num_elements([-1, 4]) == 4 and flow.num_elements(None) == 1


def test_ancestors_stop_at_shapes_and_may_follow_control_edges():
    b = Builder()
    x = b.placeholder("x")
    loss = b.node("loss", "Relu", x)
    shape = b.node("shape", "Shape", loss)
    b.node("waiter", "NoOp", "^loss")
    b.node("top", "Identity", shape, "^waiter")
    index = _index(b)
    pos = index.pos
    assert pos["loss"] not in flow.ancestors(index, [pos["top"]], stop_at_shapes=True)
    assert pos["loss"] in flow.ancestors(index, [pos["top"]])
    with_control = flow.ancestors(index, [pos["top"]], stop_at_shapes=True, control=True)
    assert {pos["waiter"], pos["loss"]} <= with_control
    assert flow.descendants(index, [pos["x"]]) >= {pos["x"], pos["loss"], pos["shape"], pos["top"]}
