"""Prune the dead branches of ``tf.cond`` (control flow v1) once its predicate is a constant.

A v1 cond routes its inputs through ``Switch(data, pred)``: output 0 feeds the false branch,
output 1 the true branch, and ``Merge`` forwards whichever branch ran. With the predicate fixed
(a training flag folded to False), one side never runs: every node that needs a tensor of that
side is dead, and the Merges become their live input. Runtimes without control flow (OpenCV,
TFLite without Flex) can then load the graph; TensorFlow computes the same values.

Dead-ness follows TensorFlow's own rule: a node is dead when any data input is dead, except a
Merge, which is dead only when all its inputs are. Switches inside while loops (whose predicate is
a LoopCond, never a Const) are untouched.
"""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph, data_inputs, op_of
from inspector import tfops
from inspector.graph.model import TensorRef


def prune_dead_branches(graph: InferenceGraph) -> list[str]:
    """Resolve every Switch whose predicate is a Const; see the module docstring."""
    changes: list[str] = []
    while True:
        switch, live = _constant_switch(graph)
        if switch is None:
            return changes
        data = data_inputs(switch)[0]
        dead_port = 1 - live
        dead = _dead_from(graph, switch.name, dead_port)
        graph.replace_uses(f"{switch.name}:{live}" if live else switch.name, data)
        for merge in [m for m in graph.items if op_of(m) in tfops.MERGES and m.name not in dead]:
            _resolve_merge(graph, merge, dead, (switch.name, dead_port))
        graph.remove(dead | {switch.name})
        changes.append(f"{switch.name}: predicate is always {bool(live)}; {len(dead)} node(s) of the "
                       f"{'false' if live else 'true'} branch removed")


def _constant_switch(graph: InferenceGraph):
    for item in graph.items:
        if op_of(item) not in tfops.SWITCHES or op_of(item) == "_SwitchN":
            continue
        inputs = data_inputs(item)
        if len(inputs) != 2:
            continue
        pred = graph.const_value(inputs[1])
        if pred is not None and pred.size == 1 and pred.dtype == np.bool_:
            return item, int(bool(pred.reshape(())))
    return None, None


def _dead_from(graph: InferenceGraph, switch: str, port: int) -> set[str]:
    """Nodes that can only run when output ``port`` of ``switch`` has a value.

    TensorFlow's executor propagates dead-ness through data and control edges alike (the constants
    of a cond branch hang on the branch's pivot by a control edge); a Merge is dead only when all
    its data inputs are. Iterated to a fixpoint, since a Merge may be reached before its last input.
    """
    dead: set[str] = set()
    changed = True
    while changed:
        changed = False
        for item in graph.items:
            if item.name in dead or item.name == switch:
                continue
            refs = [TensorRef.parse(t) for t in item.input] if hasattr(item, "input") else []
            flags = [r.node in dead or (r.node == switch and not r.control and r.port == port) for r in refs]
            if op_of(item) in tfops.MERGES:
                data = [f for f, r in zip(flags, refs, strict=True) if not r.control]
                is_dead = bool(data) and all(data)
            else:
                is_dead = any(flags)
            if is_dead:
                dead.add(item.name)
                changed = True
    return dead


def _resolve_merge(graph: InferenceGraph, merge, dead: set[str], dead_output: tuple[str, int]) -> None:
    """A Merge with one live input becomes an Identity of it (value_index, output 1, is unused in
    inference graphs; a consumer of it keeps the Merge)."""
    live = [t for t in data_inputs(merge) if TensorRef.parse(t).node not in dead
            and TensorRef.parse(t)[:2] != dead_output]
    if any(ref.port == 1 for _, _, ref in graph.consumers(merge.name) if not ref.control):
        return
    if len(live) != 1:
        return
    control = [t for t in merge.input if t.startswith("^") and t[1:] not in dead]
    merge.op = "Identity"
    del merge.input[:]
    merge.input.extend([live[0], *control])
    for attr in ("N", "_output_shapes"):
        merge.attr.pop(attr, None)
    graph.changed()
