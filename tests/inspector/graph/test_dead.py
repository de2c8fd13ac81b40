"""TensorFlow's dead-tensor rule: what never runs when a Switch port is dead."""

from __future__ import annotations

from inspector.graph.dead import dead_nodes
from inspector.graph.model import GraphModel
from tests.graphs import BOOL, FLOAT, GraphBuilder


def _cond() -> GraphModel:
    g = GraphBuilder()
    g.placeholder("x")
    g.placeholder("flag", BOOL)
    g.add("switch", "Switch", ["x", "flag"], T=FLOAT)
    g.add("true_branch", "Relu", ["switch:1"], T=FLOAT)
    g.add("true_const", "Const", ["^true_branch"], dtype=FLOAT)  # hangs on the branch by control
    g.add("true_sum", "Add", ["true_branch", "true_const"], T=FLOAT)
    g.add("false_branch", "Identity", ["switch:0"], T=FLOAT)
    g.add("merge", "Merge", ["false_branch", "true_sum"], T=FLOAT, N=2)
    g.add("out", "Softmax", ["merge"], T=FLOAT)
    return GraphModel(g.graph_def)


def test_the_untaken_branch_dies_through_data_and_control_edges_and_the_merge_lives():
    assert dead_nodes(_cond(), {("switch", 1)}) == {"true_branch", "true_const", "true_sum"}


def test_a_merge_dies_only_when_every_input_is_dead():
    assert dead_nodes(_cond(), {("switch", 0), ("switch", 1)}) == {
        "true_branch", "true_const", "true_sum", "false_branch", "merge", "out"}


def test_nothing_is_dead_without_dead_ports():
    assert dead_nodes(_cond(), set()) == set()


def test_a_wide_merge_is_judged_once_per_input_not_once_per_input_per_death():
    """Issue 12 item 4: a Merge of 400 branches, 399 of them dead, was re-judged over all its
    inputs each time one died (400^2 input scans); every node and edge is now handled once."""
    from tests.walks import metered

    g = GraphBuilder()
    g.placeholder("x")
    g.placeholder("flag", BOOL)
    g.add("switch", "Switch", ["x", "flag"], T=FLOAT)
    branches = [g.add(f"dead_{k}", "Relu", ["switch:1"] * 3, T=FLOAT).name for k in range(399)]
    g.add("live", "Identity", ["switch:0"], T=FLOAT)
    g.add("merge", "Merge", [*branches, "live"], T=FLOAT, N=400)
    g.add("out", "Softmax", ["merge"], T=FLOAT)
    model = GraphModel(g.graph_def)
    metered(model)
    assert dead_nodes(model, {("switch", 1)}) == set(branches)
    model = GraphModel(g.graph_def)
    metered(model)
    assert dead_nodes(model, {("switch", 0), ("switch", 1)}) == {*branches, "live", "merge", "out"}
