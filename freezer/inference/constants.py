"""Constant-fold subgraphs that depend only on weights into one Const.

After freezing, every variable is a Const, so the arithmetic a model does on its weights alone —
concatenating the pieces of a partitioned variable, transposing a tied embedding, computing a
batch norm's scale from its statistics, a dropout's ``1 / keep_prob`` once keep_prob is fixed — is
the same on every run. Runtimes often cannot load those ops at all (OpenCV has no ConcatV2 of
Consts into a MatMul weight, TFLite wants the weight itself), so it is computed once here.

Only ops :mod:`freezer.inference.evaluate` can compute are folded, only from Const inputs, and a
result over :data:`~freezer.inference.graph.MAX_FOLDED_BYTES` is left alone. Output nodes keep their
names (their value becomes the Const of that name).
"""

from __future__ import annotations

from freezer.inference.evaluate import EVALUATORS, evaluate
from freezer.inference.graph import MAX_FOLDED_BYTES, InferenceGraph, const_node, data_inputs, op_of
from inspector.graph.model import TensorRef
from inspector.opdefs import output_kinds


def fold_constants(graph: InferenceGraph) -> list[str]:
    """Replace each computable node whose data inputs are all Consts by a Const; repeat to a fixpoint."""
    changes: list[str] = []
    progress = True
    while progress:
        progress = False
        for item in list(graph.items):
            if op_of(item) not in EVALUATORS or item.name in graph.keep:
                continue
            value = _fold(graph, item)
            if value is None:
                continue
            const = const_node(item.name, value)
            control = [t for t in item.input if t.startswith("^")]
            const.input.extend(control)
            index = graph.items.index(item)
            graph.items[index] = const
            graph.changed()
            changes.append(f"{item.name} ({item.op}) -> Const {list(value.shape)}")
            progress = True
    return changes


def _fold(graph: InferenceGraph, node):
    inputs = data_inputs(node)
    if not inputs or len(output_kinds(node) or [None]) != 1:
        return None
    values = []
    for text in inputs:
        ref = TensorRef.parse(text)
        if op_of(graph.node(ref.node)) != "Const" if graph.node(ref.node) is not None else True:
            return None
        size = _const_bytes(graph, ref.node)
        if size is None or size > MAX_FOLDED_BYTES:
            return None
        value = graph.const_value(ref)
        if value is None or value.dtype == object:
            return None
        values.append(value)
    out = evaluate(node, values)
    if out is None or out.dtype == object or out.nbytes > MAX_FOLDED_BYTES:
        return None
    return out


def _const_bytes(graph: InferenceGraph, name: str) -> int | None:
    item = graph.node(name)
    if hasattr(item, "nbytes"):
        return item.nbytes
    return len(item.attr["value"].tensor.SerializeToString()) if item is not None else None
