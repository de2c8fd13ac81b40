"""Op patterns stated as data, and the one matcher every rewrite uses (tf2onnx's OpTypePattern idea).

``OpPattern(ops, inputs, name)`` matches a node whose op is in ``ops`` and whose data inputs match
``inputs`` position by position (``None`` matches anything; a shorter list leaves the remaining
inputs free). A match maps each ``name`` to the node it matched, so a rewrite reads its pieces by
name instead of walking inputs by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from freezer.inference.graph import InferenceGraph, data_inputs, op_of
from inspector.graph.model import TensorRef


@dataclass(frozen=True)
class OpPattern:
    ops: frozenset[str]
    inputs: tuple[OpPattern | None, ...] = ()
    name: str = ""
    port: int | None = None  # the output of the matched node the consumer reads (None: any)

    @classmethod
    def of(cls, ops: str | Iterable[str], *inputs: OpPattern | None, name: str = "",
           port: int | None = None) -> OpPattern:
        return cls(frozenset([ops] if isinstance(ops, str) else ops), tuple(inputs), name, port)


@dataclass
class Match:
    nodes: dict[str, object] = field(default_factory=dict)
    refs: dict[str, TensorRef] = field(default_factory=dict)  # name -> the tensor the parent read

    def __getitem__(self, name: str):
        return self.nodes[name]


def match(graph: InferenceGraph, node, pattern: OpPattern, found: Match | None = None) -> Match | None:
    """The match of ``pattern`` rooted at ``node``, or None."""
    found = Match() if found is None else found
    if op_of(node) not in pattern.ops:
        return None
    if pattern.name:
        found.nodes[pattern.name] = node
    inputs = data_inputs(node)
    if len(pattern.inputs) > len(inputs):
        return None
    for sub, text in zip(pattern.inputs, inputs, strict=False):
        if sub is None:
            continue
        ref = TensorRef.parse(text)
        if sub.port is not None and ref.port != sub.port:
            return None
        producer = graph.node(ref.node)
        if producer is None or match(graph, producer, sub, found) is None:
            return None
        if sub.name:
            found.refs[sub.name] = ref
    return found


def matches(graph: InferenceGraph, pattern: OpPattern) -> list[Match]:
    """Every match in graph order (a rewrite applying several should re-check each before editing)."""
    return [m for item in list(graph.items) if (m := match(graph, item, pattern)) is not None]
