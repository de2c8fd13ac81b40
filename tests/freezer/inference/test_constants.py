"""fold_constants: weight-only arithmetic becomes one Const, computed as TensorFlow would."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.constants import fold_constants
from inspector.proto import pb
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


def _tied_transpose_tf07() -> GraphBuilder:
    """``tf.transpose(w)`` as TensorFlow before 1.0 wrote it: the perm computed from Rank and Range
    (autoencoder_tf07_v1_ckpt's decoder). Unfolded, OpenCV read the int32 Sub as a bias and refused
    it ('values.type() == CV_32FC1 in parseBias')."""
    g = GraphBuilder()
    g.placeholder("x")
    g.const("w", np.arange(6).reshape(3, 2))
    g.add("t/Rank", "Rank", ["w"], T=FLOAT)
    g.const("t/sub/y", 1, dtype=INT32)
    g.add("t/sub", "Sub", ["t/Rank", "t/sub/y"], T=INT32)
    g.const("t/Range/start", 0, dtype=INT32)
    g.const("t/Range/delta", 1, dtype=INT32)
    g.add("t/Range", "Range", ["t/Range/start", "t/Rank", "t/Range/delta"], Tidx=INT32)
    g.add("t/sub_1", "Sub", ["t/sub", "t/Range"], T=INT32)
    g.add("t", "Transpose", ["w", "t/sub_1"], T=FLOAT, Tperm=INT32)
    g.add("y", "MatMul", ["x", "t"], T=FLOAT)
    return g


def test_a_transpose_whose_perm_is_computed_from_rank_and_range_folds():
    graph = graph_of(_tied_transpose_tf07(), ["y"])
    fold_constants(graph)
    graph.prune()
    np.testing.assert_array_equal(graph.const_value("t"), np.arange(6, dtype=np.float32).reshape(3, 2).T)
    assert {item.op for item in graph.items} == {"Placeholder", "Const", "MatMul"}


def test_a_float_range_is_left_to_tensorflow():
    """TF accumulates a float range by addition; numpy's arange multiplies: not folded."""
    g = GraphBuilder()
    g.const("start", 0.0)
    g.const("limit", 1.0)
    g.const("delta", 0.1)
    g.add("r", "Range", ["start", "limit", "delta"], Tidx=FLOAT)
    assert fold_constants(graph_of(g, ["r"])) == []


def test_the_real_part_of_a_complex_weight_folds():
    """v1_single's complex 'phase' weight read through Real: OpenCV reads no complex constant
    ('Tensor's data type is not supported in getTensorContentRef_'); its real part is a float."""
    from freezer.inference.graph import const_node

    g = GraphBuilder()
    g.placeholder("x")
    g.add("y", "AddV2", ["x", "re"], T=FLOAT)
    graph = graph_of(g, ["y"])
    phase = const_node("phase", np.array([1 + 2j, -0.5j, 3.25], np.complex64))
    real = pb.NodeDef(name="re", op="Real", input=["phase"])
    real.attr["T"].type = pb.DataType.DT_COMPLEX64
    real.attr["Tout"].type = FLOAT
    graph.insert(phase)
    graph.insert(real)
    assert fold_constants(graph) == ["re (Real) -> Const [3]"]
    graph.prune()
    value = graph.const_value("re")
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, [1.0, 0.0, 3.25])


@pytest.mark.tf
def test_folded_rank_and_range_equal_tensorflows():
    builder = _tied_transpose_tf07()
    feeds = {"x:0": np.arange(6, dtype=np.float32).reshape(3, 2)}
    expected = run_tf(builder.graph_def, ["y:0"], feeds)[0]
    graph = graph_of(builder, ["y"])
    fold_constants(graph)
    graph.prune()
    np.testing.assert_array_equal(run_tf(to_graph_def(graph), ["y:0"], feeds)[0], expected)


def test_the_ops_inspect_says_are_folded_are_the_ones_evaluated():
    """--target promises 'freeze --for-inference folds it' only for ops fold_constants computes
    (dtypes_zoo's StringLength on a string Const was promised a fold that never happens)."""
    from freezer.inference.evaluate import EVALUATORS
    from inspector import tfops

    assert set(EVALUATORS) == set(tfops.CONSTANT_FOLDED)
