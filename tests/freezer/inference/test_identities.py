"""remove_identities and remove_inert_dropout."""

from __future__ import annotations

from freezer.inference.identities import remove_identities, remove_inert_dropout
from tests.freezer.inference.helpers import graph_of
from tests.graphs import FLOAT, INT32, GraphBuilder


def test_identity_chain_is_bypassed_but_outputs_stay():
    g = GraphBuilder()
    g.placeholder("x")
    g.add("a", "Identity", ["x"], T=FLOAT)
    g.add("b", "Identity", ["a"], T=FLOAT)
    g.add("relu", "Relu", ["b"], T=FLOAT)
    g.add("y", "Identity", ["relu"], T=FLOAT)
    graph = graph_of(g, ["y"])
    assert len(remove_identities(graph)) == 2
    graph.prune()
    assert [item.name for item in graph.items] == ["x", "relu", "y"]
    assert list(graph.node("relu").input) == ["x"]


def _tf1_dropout(keep_prob: float) -> GraphBuilder:
    """x / keep_prob * floor(keep_prob + uniform), as tf.nn.dropout (TF 1) writes it."""
    g = GraphBuilder()
    g.placeholder("x")
    g.const("shape", [2, 3], dtype=INT32)
    g.add("uniform", "RandomUniform", ["shape"], T=INT32, dtype=FLOAT)
    g.const("range", 1.0)
    g.add("scaled", "Mul", ["uniform", "range"], T=FLOAT)
    g.const("min", 0.0)
    g.add("draw", "Add", ["scaled", "min"], T=FLOAT)
    g.const("keep_prob", keep_prob)
    g.add("plus", "Add", ["keep_prob", "draw"], T=FLOAT)
    g.add("floor", "Floor", ["plus"], T=FLOAT)
    g.add("div", "RealDiv", ["x", "keep_prob"], T=FLOAT)
    g.add("mul", "Mul", ["div", "floor"], T=FLOAT)
    g.add("y", "Relu", ["mul"], T=FLOAT)
    return g


def test_dropout_at_keep_prob_one_goes():
    graph = graph_of(_tf1_dropout(1.0), ["y"])
    changes = remove_inert_dropout(graph)
    assert any(c.startswith("mul ") for c in changes) and any(c.startswith("div ") for c in changes)
    graph.prune()
    assert list(graph.node("y").input) == ["x"]
    assert "RandomUniform" not in {item.op for item in graph.items}


def test_active_dropout_stays():
    graph = graph_of(_tf1_dropout(0.5), ["y"])
    remove_inert_dropout(graph)  # may drop the "* 1.0" inside the draw, never the mask
    graph.prune()
    assert {"RandomUniform", "Floor", "RealDiv"} <= {item.op for item in graph.items}


def test_the_interval_proof_looks_at_each_tensor_once():
    """Issue 12 item 4: a Mul by a tensor computed from a uniform draw through 8 AddN, each reading
    the one before 10 times: bounding every input of every op followed 10^8 paths. Only the ops
    the proof knows are followed, each (tensor, depth) bounded once."""
    from tests.walks import STEPS_PER_ITEM, Budget, ladder

    g = _tf1_dropout(1.0)
    mask = ladder(g, "uniform", "AddN", levels=8, k=10, T=FLOAT, N=10)
    g.add("masked", "Mul", ["y", mask], T=FLOAT)
    g.add("out", "Relu", ["masked"], T=FLOAT)
    graph = graph_of(g, ["out"])
    budget = Budget(STEPS_PER_ITEM * (len(g.nodes) + sum(len(n.input) for n in g.nodes)))
    lookup = graph.node

    def node(name: str):
        budget.spend()
        return lookup(name)

    graph.node = node
    changes = remove_inert_dropout(graph)
    assert not any(c.startswith("masked ") for c in changes)  # an AddN of draws is no mask of ones
    assert any(c.startswith("mul ") for c in changes)  # the keep_prob 1 dropout still goes
