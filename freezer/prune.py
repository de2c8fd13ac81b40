"""Keep only what the outputs need.

The kept set is the outputs and their ancestors through data and control inputs, with two
deliberate differences from TensorFlow's ``extract_sub_graph`` (FORMATS.md §12.2):

* a control edge to a *state write* (``Assign*``, ``Scatter*``, ``Apply*`` …, see
  :data:`inspector.tfops.STATE_WRITES`) is not followed but dropped: the classic batch-norm graph
  makes its output wait on the moving-average updates, and after freezing there is no state to
  update;
* ``_class`` colocation attrs are placement hints, not dependencies, so they keep nothing alive
  (the rewrite removes the ones that name dropped nodes).

Lookup tables are the exception that proves the rule: a kept table keeps its initializer
(and that initializer's ancestors), since an empty table is useless.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from inspector import tfops
from inspector.errors import UnreadableInputError, UsageError
from inspector.graph.model import TensorRef


def output_node_name(text: str) -> str:
    """The node an output name refers to: ``name``, ``name:0`` and ``^name`` all mean ``name``."""
    text = text.strip()
    return TensorRef.parse(text).node


def resolve_outputs(requested: Iterable[str], existing: Sequence[str] | dict,
                    path: str | None = None) -> list[str]:
    """Node names for the user's output names; an unknown one is a UsageError naming the closest."""
    names: list[str] = []
    for text in requested:
        if not text.strip():
            continue
        name = text if text in existing else output_node_name(text)  # --output-node: the exact name
        if name not in existing:
            close = difflib.get_close_matches(name, list(existing), n=5, cutoff=0.5)
            hint = f"closest existing names: {', '.join(close)}" if close else \
                "run `inspect` on the checkpoint to list candidate outputs"
            raise UsageError(f"no node named {name!r} in the graph", path=path, fix=hint,
                             code="UNKNOWN_OUTPUT")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("no output names given", path=path,
                         fix="pass --outputs a,b or --auto-outputs", code="NO_OUTPUTS")
    return names


@dataclass
class Pruned:
    """The nodes to keep, in the graph's original order, and what pruning decided along the way."""

    kept: list  # NodeDef, original order
    names: set[str]
    dropped_control: list[tuple[str, str]] = field(default_factory=list)  # (consumer, state write)
    table_initializers: list[str] = field(default_factory=list)


def prune(nodes: Sequence, outputs: Sequence[str], path: str | None = None) -> Pruned:
    """The outputs' ancestors (see module docstring); ``nodes`` is ``GraphDef.node``."""
    by_name = {node.name: node for node in nodes}
    dropped: list[tuple[str, str]] = []
    keep: set[str] = set()
    _close_over(outputs, by_name, keep, dropped, path)

    initializers = _table_initializers(nodes, keep)
    if initializers:
        _close_over(initializers, by_name, keep, dropped, path)
        for node in nodes:  # a grouping NoOp such as `init_all_tables` whose every input is kept
            if node.op == "NoOp" and node.input and node.name not in keep and \
                    all(TensorRef.parse(t).node in initializers for t in node.input):
                keep.add(node.name)
                initializers.append(node.name)
    kept = [node for node in nodes if node.name in keep]
    return Pruned(kept=kept, names=keep, dropped_control=dropped, table_initializers=initializers)


def _close_over(start: Iterable[str], by_name: dict, keep: set[str],
                dropped: list[tuple[str, str]], path: str | None) -> None:
    stack = [name for name in start if name not in keep]
    keep.update(stack)
    while stack:
        node = by_name[stack.pop()]
        for text in node.input:
            ref = TensorRef.parse(text)
            producer = by_name.get(ref.node)
            if producer is None:
                raise UnreadableInputError(
                    f"node {node.name!r} names input {text!r}, which is not in the graph", path=path,
                    fix="the graph is incomplete; run `inspect` on it")
            if ref.control and producer.op in tfops.STATE_WRITES:
                dropped.append((node.name, ref.node))
                continue
            if ref.node not in keep:
                keep.add(ref.node)
                stack.append(ref.node)


def _table_initializers(nodes: Sequence, keep: set[str]) -> list[str]:
    tables = {node.name for node in nodes if node.name in keep and node.op in tfops.TABLES}
    if not tables:
        return []
    return [node.name for node in nodes
            if node.op in tfops.TABLE_INITIALIZERS and node.input
            and TensorRef.parse(node.input[0]).node in tables and node.name not in keep]
