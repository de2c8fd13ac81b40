"""prune_dead_branches: a v1 cond on a constant predicate keeps the branch that runs."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.branches import prune_dead_branches
from tests.freezer.inference.helpers import graph_of, run_tf, to_graph_def
from tests.graphs import BOOL, FLOAT, GraphBuilder


def _cond(pred: bool) -> GraphBuilder:
    """y = cond(pred, x * 2, x + 1), as tf.cond v1 writes it (pivots, branch Consts on the pivot)."""
    g = GraphBuilder()
    g.placeholder("x")
    g.const("pred", pred, dtype=BOOL)
    g.add("cond/Switch", "Switch", ["pred", "pred"], T=BOOL)
    g.add("cond/switch_t", "Identity", ["cond/Switch:1"], T=BOOL)
    g.add("cond/switch_f", "Identity", ["cond/Switch"], T=BOOL)
    g.add("cond/x", "Switch", ["x", "pred"], T=FLOAT)
    g.const("cond/two", 2.0).input.append("^cond/switch_t")
    g.add("cond/mul", "Mul", ["cond/x:1", "cond/two"], T=FLOAT)
    g.const("cond/one", 1.0).input.append("^cond/switch_f")
    g.add("cond/add", "AddV2", ["cond/x", "cond/one"], T=FLOAT)
    g.add("cond/Merge", "Merge", ["cond/add", "cond/mul"], T=FLOAT, N=2)
    g.add("y", "Identity", ["cond/Merge"], T=FLOAT)
    return g


@pytest.mark.parametrize("pred", [False, True])
def test_constant_predicate_keeps_one_branch(pred):
    graph = graph_of(_cond(pred), ["y"])
    changes = prune_dead_branches(graph)
    graph.prune()
    assert changes
    ops = {item.op for item in graph.items}
    assert not ops & {"Switch", "Merge"}
    names = {item.name for item in graph.items}
    assert ("cond/mul" in names) == pred and ("cond/add" in names) != pred


def test_fed_predicate_is_left_alone():
    builder = _cond(False)
    pred = builder.node("pred")
    pred.op = "Placeholder"
    pred.attr.clear()
    pred.attr["dtype"].type = BOOL
    assert prune_dead_branches(graph_of(builder, ["y"])) == []


@pytest.mark.tf
@pytest.mark.parametrize("pred", [False, True])
def test_pruned_cond_computes_the_same(pred):
    builder = _cond(pred)
    feeds = {"x:0": np.float32(3.0)}
    expected = run_tf(builder.graph_def, ["y:0"], feeds)[0]
    graph = graph_of(builder, ["y"])
    prune_dead_branches(graph)
    graph.prune()
    assert run_tf(to_graph_def(graph), ["y:0"], feeds)[0] == expected
