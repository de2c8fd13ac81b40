"""fold_switches: the roles pass's switches become Consts of their inference values."""

from __future__ import annotations

import numpy as np

from freezer.inference.switches import fold_switches
from tests.freezer.inference.helpers import graph_of
from tests.graphs import BOOL, FLOAT, GraphBuilder


def test_switches_become_constants_and_other_inputs_stay():
    g = GraphBuilder()
    g.placeholder("x")
    g.const("default", True, dtype=BOOL)
    g.add("is_training", "PlaceholderWithDefault", ["default"], dtype=BOOL, shape=[])
    g.add("keep_prob", "Placeholder", dtype=FLOAT, shape=[])
    g.add("lr", "Placeholder", dtype=FLOAT, shape=[])
    graph = graph_of(g, ["x"], switches={"is_training": False, "keep_prob": 1.0, "lr": None})
    assert len(fold_switches(graph)) == 2
    assert graph.const_value("is_training").item() is False
    assert graph.const_value("keep_prob") == np.float32(1.0)
    assert graph.node("lr").op == "Placeholder" and graph.node("x").op == "Placeholder"
