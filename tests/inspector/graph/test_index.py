"""The integer view of the graph: adjacency, topological order, tensor-name lookup."""

from __future__ import annotations

from inspector.graph.index import GraphIndex
from tests.graph_builder import Builder


def test_order_ignores_loop_back_edges_and_covers_every_node():
    b = Builder()
    start = b.node("Enter", "Enter", b.placeholder("x"))
    merge = b.node("Merge", "Merge", start, "NextIteration")
    b.node("NextIteration", "NextIteration", b.node("body", "Relu", merge))
    b.node("Exit", "Exit", merge, "^body")
    index = GraphIndex.from_model(b.model())
    order = [index.names[i] for i in index.order]
    assert sorted(order) == sorted(index.names)
    assert order.index("Merge") < order.index("body") < order.index("NextIteration")
    assert order.index("body") < order.index("Exit")
    assert index.ctrl_in[index.pos["Exit"]] == [index.pos["body"]]


def test_node_index_accepts_tensor_and_control_names():
    b = Builder()
    b.placeholder("x")
    index = GraphIndex.from_model(b.model())
    assert index.node_index("x") == index.node_index("x:0") == index.node_index("^x") == 0
    assert index.node_index("missing:0") is None


def test_the_size_of_what_nms_kept_is_data_the_shape_of_an_input_is_not():
    b = Builder()
    boxes, scores = b.placeholder("boxes"), b.placeholder("scores", [-1])
    keep = b.node("nms", "NonMaxSuppressionV3", boxes, scores, b.node("k", "Const", shape=[]))
    b.node("num_detections", "Size", b.node("kept", "Cast", keep))
    b.node("batch", "Shape", boxes)
    index = GraphIndex.from_model(b.model())
    assert not index.shape_only[index.pos["num_detections"]]
    assert index.shape_only[index.pos["batch"]]
