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
