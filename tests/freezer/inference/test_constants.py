"""fold_constants: weight-only arithmetic becomes one Const, computed as TensorFlow would."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.constants import fold_constants
from tests.freezer.inference.helpers import graph_of, run_tf, to_graph_def
from tests.graphs import FLOAT, INT32, GraphBuilder


def _partitioned() -> GraphBuilder:
    g = GraphBuilder()
    g.placeholder("x")
    g.const("part_0", np.arange(6).reshape(2, 3))
    g.const("part_1", np.arange(6, 12).reshape(2, 3))
    g.const("axis", 0, dtype=INT32)
    g.add("w", "ConcatV2", ["part_0", "part_1", "axis"], T=FLOAT, N=2, Tidx=INT32)
    g.const("perm", [1, 0], dtype=INT32)
    g.add("w_t", "Transpose", ["w", "perm"], T=FLOAT, Tperm=INT32)
    g.add("y", "MatMul", ["x", "w_t"], T=FLOAT)
    return g


def test_concat_and_transpose_of_weights_fold():
    graph = graph_of(_partitioned(), ["y"])
    assert len(fold_constants(graph)) == 2
    graph.prune()
    value = graph.const_value("w_t")
    np.testing.assert_array_equal(value, np.arange(12, dtype=np.float32).reshape(4, 3).T)
    assert {item.op for item in graph.items} == {"Placeholder", "Const", "MatMul"}


def test_inputs_stop_folding():
    g = GraphBuilder()
    g.placeholder("x")
    g.const("c", 2.0)
    g.add("y", "Mul", ["x", "c"], T=FLOAT)
    assert fold_constants(graph_of(g, ["y"])) == []


@pytest.mark.tf
def test_folded_values_equal_tensorflows():
    builder = _partitioned()
    feeds = {"x:0": np.ones((2, 3), np.float32)}
    expected = run_tf(builder.graph_def, ["y:0"], feeds)[0]
    graph = graph_of(builder, ["y"])
    fold_constants(graph)
    graph.prune()
    np.testing.assert_array_equal(run_tf(to_graph_def(graph), ["y:0"], feeds)[0], expected)
