"""A compact integer view of the graph model, built once per graph (roles pass and ranking).

Every role and ranking signal is a pass over all nodes; doing those passes over networkx
dictionaries would cost seconds on a 50,000-node graph. Here each node is an int, adjacency is a
list of int lists and there is one topological order, so each pass is a plain loop (near-linear).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from inspector import tfops

# The back edge of a TF1 while loop runs NextIteration -> Merge. Ignoring edges that leave a
# NextIteration makes every v1 loop (and TF2 loops lowered on freezing) acyclic.
BACK_EDGE_OPS = tfops.NEXT_ITERATIONS


@dataclass
class GraphIndex:
    """Nodes as ints: ``names[i]``, ``ops[i]``; data and control adjacency; a topological order."""

    names: list[str]
    ops: list[str]
    dtypes: list[str | None]
    shapes: list[list[int] | None]
    frames: list[str]
    pos: dict[str, int]
    data_in: list[list[int]]
    data_out: list[list[int]]
    ctrl_in: list[list[int]]
    ctrl_out: list[list[int]]
    order: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def has_loops(self) -> bool:
        """Whether a while loop feeds values back (NextIteration): passes then iterate."""
        return any(op in BACK_EDGE_OPS for op in self.ops)

    @cached_property
    def shape_only(self) -> list[bool]:
        """Ops whose result depends on the shape of what they read, never on its values — unless
        that shape depends on values (the Size of what NMS kept is a detector's num_detections)."""
        ops, data_in = self.ops, self.data_in
        if not any(op in tfops.DATA_SIZED for op in ops):
            return [op in tfops.SHAPE_ONLY for op in ops]
        sized = [False] * len(self)
        for i in self.order:
            sized[i] = ops[i] in tfops.DATA_SIZED or (
                ops[i] in tfops.SIZE_KEEPING and any(sized[j] for j in data_in[i]))
        return [op in tfops.SHAPE_ONLY and not any(sized[j] for j in data_in[i]) for i, op in enumerate(ops)]

    @classmethod
    def from_model(cls, model) -> GraphIndex:
        names = model.names
        pos = {name: i for i, name in enumerate(names)}
        ops, dtypes, shapes, frames = [], [], [], []
        for name in names:
            attrs = model.attrs[name]
            ops.append(attrs["op"])
            dtypes.append(attrs["dtype"])
            shapes.append(attrs["shape"])
            frames.append(attrs["frame"] or "")
        n = len(names)
        data_in: list[list[int]] = [[] for _ in range(n)]
        data_out: list[list[int]] = [[] for _ in range(n)]
        ctrl_in: list[list[int]] = [[] for _ in range(n)]
        ctrl_out: list[list[int]] = [[] for _ in range(n)]
        for s, src in enumerate(names):
            # One edge per (producer, consumer) pair: data when any use reads a value, else control.
            kinds: dict[int, bool] = {}
            for consumer, _, ref in model.consumers[src]:
                d = pos[consumer]
                kinds[d] = kinds.get(d, False) or not ref.control
            d_out, c_out = data_out[s], ctrl_out[s]
            for d, is_data in kinds.items():
                if is_data:
                    d_out.append(d)
                    data_in[d].append(s)
                else:
                    c_out.append(d)
                    ctrl_in[d].append(s)
        index = cls(names, ops, dtypes, shapes, frames, pos, data_in, data_out, ctrl_in, ctrl_out)
        index.order = index._topological_order()
        return index

    def _topological_order(self) -> list[int]:
        """Kahn's algorithm over data and control edges, loop back edges ignored.

        Nodes left in a cycle (a malformed graph) are appended in file order so every pass still
        visits every node once.
        """
        n = len(self.names)
        skip = [op in BACK_EDGE_OPS for op in self.ops]
        succ = [[] if skip[i] else self.data_out[i] + self.ctrl_out[i] for i in range(n)]
        indegree = [0] * n
        for targets in succ:
            for j in targets:
                indegree[j] += 1
        order = [i for i in range(n) if indegree[i] == 0]
        append = order.append
        for i in order:  # the list grows while it is walked: a FIFO queue without pops
            for j in succ[i]:
                indegree[j] -= 1
                if indegree[j] == 0:
                    append(j)
        if len(order) < n:
            seen = set(order)
            order.extend(i for i in range(n) if i not in seen)
        return order

    def node_index(self, tensor_or_node: str) -> int | None:
        """The index of ``name``, ``name:k`` or ``^name``; None when the graph has no such node."""
        name = tensor_or_node.lstrip("^")
        if name in self.pos:
            return self.pos[name]
        base, sep, port = name.rpartition(":")
        if sep and port.isdigit():
            return self.pos.get(base)
        return None
