"""tile_as_concat: a Tile by constant multiples becomes the concat of copies it is."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.tiles import tile_as_concat
from tests.freezer.inference.helpers import graph_of, run_tf, to_graph_def
from tests.graphs import FLOAT, INT32, GraphBuilder


def _tiled(multiples, dense: bool = True) -> GraphBuilder:
    g = GraphBuilder()
    g.placeholder("x")
    g.const("multiples", multiples, dtype=INT32)
    g.add("t", "Tile", ["x", "multiples"], T=FLOAT, Tmultiples=INT32)
    g.const("w", np.arange(2 * 4, dtype=np.float32).reshape(2, 4))
    if dense:
        g.add("y", "MatMul", ["t", "w"], T=FLOAT)
    return g


def test_a_tile_along_the_last_axis_is_a_concat_along_minus_one():
    graph = graph_of(_tiled([1, 2]), ["y"])
    assert tile_as_concat(graph) == ["t (Tile by [1, 2]) -> ConcatV2 of copies along axis 1 (x2)"]
    graph.prune()
    node = graph.node("t")
    assert node.op == "ConcatV2" and list(node.input[:2]) == ["x", "x"] and node.attr["N"].i == 2
    axis = graph.node(node.input[2])
    # -1, written as TensorFlow writes a scalar (int_val): OpenCV reads the axis from int_val
    assert list(axis.attr["value"].tensor.int_val) == [-1] and not axis.attr["value"].tensor.tensor_content


def test_multiples_that_are_not_constant_or_too_many_stay_a_tile():
    g = GraphBuilder()
    g.placeholder("x")
    g.placeholder("m", dtype=INT32)
    g.add("t", "Tile", ["x", "m"], T=FLOAT, Tmultiples=INT32)
    assert tile_as_concat(graph_of(g, ["t"])) == []
    assert tile_as_concat(graph_of(_tiled([1, 100]), ["y"])) == []
    assert tile_as_concat(graph_of(_tiled([1, 1]), ["y"])) == []


@pytest.mark.tf
@pytest.mark.parametrize("multiples, shape, dense", [
    ([1, 2], (3, 1), True), ([2, 1, 3, 1], (2, 2, 2, 3), False), ([3, 2], (2, 2), False)])
def test_the_concat_equals_tensorflows_tile(multiples, shape, dense):
    builder = _tiled(multiples, dense)
    feeds = {"x:0": np.arange(np.prod(shape), dtype=np.float32).reshape(shape)}
    out = "y:0" if dense else "t:0"
    expected = run_tf(builder.graph_def, [out], feeds)[0]
    graph = graph_of(builder, [out.split(":")[0]])
    assert tile_as_concat(graph)
    graph.prune()
    assert not any(item.op == "Tile" for item in graph.items)
    np.testing.assert_array_equal(run_tf(to_graph_def(graph), [out], feeds)[0], expected)


def test_opencv_loads_the_concat_it_could_not_load_as_a_tile(tmp_path):
    """estimator_dummy_saved_model_two_outputs: Tile([N, 1], [1, 2]) into a dense layer. OpenCV 4.14
    refused the Tile ('repeats needs to be treated as parameter'); the concat loads and matches."""
    cv2 = pytest.importorskip("cv2")
    g = _tiled([1, 2])
    g.node("x").attr["shape"].shape.dim.add(size=-1)
    g.node("x").attr["shape"].shape.dim.add(size=1)
    graph = graph_of(g, ["y"])
    tile_as_concat(graph)
    graph.prune()
    path = tmp_path / "tiled.pb"
    path.write_bytes(to_graph_def(graph).SerializeToString())
    net = cv2.dnn.readNetFromTensorflow(str(path))
    x = np.array([[1.0], [2.0], [-3.0]], np.float32)
    net.setInput(x, "x")
    w = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(net.forward("y"), np.tile(x, [1, 2]) @ w, rtol=1e-6)
