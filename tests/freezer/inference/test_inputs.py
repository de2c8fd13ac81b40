"""fix_inputs: pipeline-fed PlaceholderWithDefault -> Placeholder, legacy shapes, pipelines -> inputs."""

from __future__ import annotations

from freezer.inference.inputs import fix_inputs
from tests.freezer.inference.helpers import graph_of
from tests.graphs import FLOAT, INT64, GraphBuilder


def test_a_placeholder_with_a_computed_default_becomes_a_placeholder():
    g = GraphBuilder()
    g.add("queue", "FIFOQueueV2", component_types=[])
    g.add("dequeue", "QueueDequeueV2", ["queue"])
    g.add("features", "PlaceholderWithDefault", ["dequeue"], dtype=FLOAT, shape=[-1, 3])
    g.add("y", "Relu", ["features"], T=FLOAT)
    graph = graph_of(g, ["y"])
    changes = fix_inputs(graph)
    graph.prune()
    assert changes and graph.node("features").op == "Placeholder"
    assert [d.size for d in graph.node("features").attr["shape"].shape.dim] == [-1, 3]
    assert [item.name for item in graph.items] == ["features", "y"]


def test_a_legacy_empty_shape_gets_the_weights_shape():
    g = GraphBuilder()
    g.add("x", "Placeholder", dtype=FLOAT, shape=[])  # TF 0.x: "shape {}" meant unknown
    g.const("w", [[1.0, 2.0]] * 5)
    g.add("y", "MatMul", ["x", "w"], T=FLOAT)
    graph = graph_of(g, ["y"])
    assert fix_inputs(graph) == ["x: empty shape -> [-1, 5]"]


def test_a_real_scalar_stays_a_scalar():
    g = GraphBuilder()
    g.add("scale", "Placeholder", dtype=FLOAT, shape=[])
    g.placeholder("x")
    g.add("y", "Mul", ["x", "scale"], T=FLOAT)
    assert fix_inputs(graph_of(g, ["y"])) == []


def test_input_shape_is_written():
    g = GraphBuilder()
    g.add("x", "Placeholder", dtype=FLOAT, shape=[-1, 4])
    g.add("y", "Relu", ["x"], T=FLOAT)
    graph = graph_of(g, ["y"], input_shapes={"x": [1, 4]})
    fix_inputs(graph)
    assert [d.size for d in graph.node("x").attr["shape"].shape.dim] == [1, 4]


def test_iterator_outputs_become_placeholders():
    g = GraphBuilder()
    g.add("iterator", "IteratorV2")
    node = g.add("next", "IteratorGetNext", ["iterator"])
    node.attr["output_types"].list.type.extend([FLOAT, INT64])
    node.attr["output_shapes"].list.shape.add().dim.add(size=-1)
    node.attr["output_shapes"].list.shape.add().dim.add(size=-1)
    g.add("y", "Relu", ["next"], T=FLOAT)
    g.add("ids", "Identity", ["next:1"], T=INT64)
    graph = graph_of(g, ["y", "ids"])
    assert fix_inputs(graph)
    graph.prune()
    assert graph.node("next").op == "Placeholder" and graph.node("next_1").op == "Placeholder"
    assert graph.renamed == {"next:1": "next_1:0"}
    assert "IteratorV2" not in {item.op for item in graph.items}
