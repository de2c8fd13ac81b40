"""GraphIndex: input syntax, outputs, ancestors, and dead branches under default feeds."""

from __future__ import annotations

from tests.graphs import BOOL, FLOAT
from tests.inspector.diagnosis.graphs import Graph, mlp


def test_outputs_skip_bookkeeping_sinks():
    g = mlp()
    g.add("init", "NoOp", ["^w", "^b"])
    index = g.index()
    assert index.sinks == ["probs", "init"]
    assert index.outputs == ["probs"]
    assert index.ancestors(["logits"]) == {"logits", "mm", "x", "w", "b"}


def _switched(default: bool) -> Graph:
    g = Graph()
    g.placeholder("x")
    g.const("false", default, BOOL)
    g.add("is_training", "PlaceholderWithDefault", ["false"], dtype=BOOL)
    g.add("pred_id", "Identity", ["is_training"], T=BOOL)
    g.add("switch", "Switch", ["x", "pred_id"], T=FLOAT)
    g.add("train_branch", "Relu", ["switch:1"], T=FLOAT)
    g.add("infer_branch", "Identity", ["switch:0"], T=FLOAT)
    g.add("after_train", "Neg", ["train_branch"], T=FLOAT)
    g.add("merge", "Merge", ["infer_branch", "after_train"], T=FLOAT, N=2)
    g.add("out", "Softmax", ["merge"], T=FLOAT)
    return g


def test_dead_branch_of_a_switch_that_defaults_to_false():
    index = _switched(False).index()
    assert index.dead_by_default == {"train_branch", "after_train"}
    assert "merge" in index.inference_path and "train_branch" not in index.inference_path


def test_default_true_kills_the_other_branch():
    assert _switched(True).index().dead_by_default == {"infer_branch"}


def test_unknown_predicate_kills_nothing():
    g = _switched(False)
    g.graph_def.node[3].input[0] = "x"  # pred_id now reads a fed placeholder
    assert g.index().dead_by_default == set()
