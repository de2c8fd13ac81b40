"""Fold training switches to their inference values.

A training switch is a placeholder that only says "training or not": ``is_training`` feeding the
batch norms' and dropouts' ``tf.cond``, ``keep_prob``, a dropout ``rate``. The roles pass
(:mod:`inspector.roles`, ``roles_of(model).switches``) finds them in the training graph and says
what value inference wants (False, 1.0, 0.0); this rewrite replaces each one still in the frozen
graph by a Const of that value, so :mod:`freezer.inference.branches` can prune the dead branches
and :mod:`freezer.inference.identities` the inert dropout. A switch whose inference value is unknown
(a learning rate) is left as an input.
"""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph, const_node, op_of
from inspector import tfops
from inspector.readers import dtypes


def fold_switches(graph: InferenceGraph) -> list[str]:
    changes = []
    for name, value in graph.switches.items():
        node = graph.node(name)
        if node is None or value is None or op_of(node) not in tfops.PLACEHOLDERS:
            continue
        dtype = dtypes.by_value(node.attr["dtype"].type).numpy
        if dtype is None:
            continue
        const = const_node(name, np.asarray(value, dtype=dtype))
        graph.items[graph.items.index(node)] = const
        graph.changed()
        changes.append(f"{name} ({node.op}) -> Const {value!r}")
    return changes
