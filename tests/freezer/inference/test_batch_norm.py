"""fold_batch_norms: FusedBatchNorm into a conv's weights, into a multiply-add, and a folded Mul."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.batch_norm import fold_batch_norms
from tests.freezer.inference.helpers import graph_of, run_tf, to_graph_def
from tests.graphs import FLOAT, GraphBuilder

RNG = np.random.default_rng(0)


def _bn_graph(after_conv: bool) -> GraphBuilder:
    g = GraphBuilder()
    g.add("x", "Placeholder", dtype=FLOAT, shape=[1, 4, 4, 3])
    source = "x"
    if after_conv:
        g.const("w", RNG.standard_normal((3, 3, 3, 5)))
        g.add("conv", "Conv2D", ["x", "w"], T=FLOAT, strides=[1, 1, 1, 1], padding=b"SAME")
        g.const("b", RNG.standard_normal(5))
        g.add("bias", "BiasAdd", ["conv", "b"], T=FLOAT)
        source = "bias"
    channels = 5 if after_conv else 3
    for name in ("scale", "offset", "mean"):
        g.const(name, RNG.standard_normal(channels))
    g.const("variance", RNG.uniform(0.5, 2.0, channels))
    g.add("bn", "FusedBatchNormV3", [source, "scale", "offset", "mean", "variance"], T=FLOAT, U=FLOAT,
          is_training=False, epsilon=0.001)
    g.add("y", "Relu", ["bn"], T=FLOAT)
    return g


@pytest.mark.parametrize("after_conv", [True, False])
def test_fused_batch_norm_is_folded(after_conv):
    graph = graph_of(_bn_graph(after_conv), ["y"])
    changes = fold_batch_norms(graph)
    graph.prune()
    assert len(changes) == 1
    ops = {item.op for item in graph.items}
    assert "FusedBatchNormV3" not in ops
    assert ("BiasAdd" in ops) if after_conv else {"Mul", "AddV2"} <= ops


def test_training_batch_norm_is_left_alone():
    builder = _bn_graph(True)
    builder.node("bn").attr["is_training"].b = True
    assert fold_batch_norms(graph_of(builder, ["y"])) == []


@pytest.mark.tf
@pytest.mark.parametrize("after_conv", [True, False])
def test_folded_batch_norm_computes_the_same(after_conv):
    builder = _bn_graph(after_conv)
    feeds = {"x:0": RNG.standard_normal((1, 4, 4, 3)).astype(np.float32)}
    expected = run_tf(builder.graph_def, ["y:0"], feeds)[0]
    graph = graph_of(builder, ["y"])
    fold_batch_norms(graph)
    graph.prune()
    actual = run_tf(to_graph_def(graph), ["y:0"], feeds)[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
