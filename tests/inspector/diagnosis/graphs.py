"""Small GraphDefs with one defect each, built node by node inside the tests (onnx checker style)."""

from __future__ import annotations

import numpy as np

from inspector.diagnosis.graphindex import GraphIndex
from tests.graphs import FLOAT, GraphBuilder


class Graph(GraphBuilder):
    """The shared builder, indexed the way the diagnosis checks see a graph."""

    def index(self) -> GraphIndex:
        return GraphIndex(self.graph_def)


def mlp() -> Graph:
    """x -> MatMul(w) -> BiasAdd(b) -> Softmax 'probs': a healthy frozen graph."""
    g = Graph()
    g.placeholder("x")
    g.const("w", np.ones((4, 3)))
    g.const("b", np.zeros(3))
    g.add("mm", "MatMul", ["x", "w"], T=FLOAT)
    g.add("logits", "BiasAdd", ["mm", "b"], T=FLOAT)
    g.add("probs", "Softmax", ["logits"], T=FLOAT)
    return g
