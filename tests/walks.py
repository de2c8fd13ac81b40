"""Graphs built to explode a walk that revisits nodes, and a step budget to catch one.

A walk that follows every path instead of remembering what it visited costs K^L on L levels of
nodes that each read the level before K times (duplicate inputs) or read all K nodes of it (a
mesh). The tests give such a graph to a walk with a budget of a few steps per node and edge and
count its lookups: a linear walk stays inside, a path-following one exceeds it after a few
thousand steps and fails at once instead of running for hours. Nothing is timed.
"""

from __future__ import annotations

from inspector.graph.model import GraphModel
from tests.graphs import FLOAT, GraphBuilder

#: Steps a linear walk may take per node and per edge (a few lookups each, a few depths).
STEPS_PER_ITEM = 12


class WalkTooLong(AssertionError):
    pass


class Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self) -> None:
        self.used += 1
        if self.used > self.limit:
            raise WalkTooLong(f"more than {self.limit} steps on a graph of that size: the walk "
                              "follows paths instead of visiting each node once")


class CountingDict(dict):
    """A dict whose lookups (``d[k]``, ``d.get(k)``) each spend one step of ``budget``."""

    def __init__(self, data, budget: Budget) -> None:
        super().__init__(data)
        self.budget = budget

    def __getitem__(self, key):
        self.budget.spend()
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.budget.spend()
        return super().get(key, default)


class CountingList(list):
    """A list whose iteration spends one step of ``budget`` per item: scanning a node's inputs or
    consumers costs their number, so re-judging a node each time one of K inputs changes shows."""

    def __init__(self, data, budget: Budget) -> None:
        super().__init__(data)
        self.budget = budget

    def __iter__(self):
        for item in super().__iter__():
            self.budget.spend()
            yield item


def size(model: GraphModel) -> int:
    """Nodes + edges (every input string counts)."""
    return len(model) + sum(len(refs) for refs in model.inputs.values())


def metered(model: GraphModel) -> Budget:
    """Count every per-node lookup a walk makes on ``model`` (op, inputs, consumers) and every
    input or consumer it scans."""
    budget = Budget(STEPS_PER_ITEM * size(model))
    model.attrs = CountingDict(model.attrs, budget)
    model.inputs = CountingDict({k: CountingList(v, budget) for k, v in model.inputs.items()}, budget)
    model.consumers = CountingDict({k: CountingList(v, budget) for k, v in model.consumers.items()},
                                   budget)
    return budget


def ladder(g: GraphBuilder, start: str, op: str, levels: int, k: int, prefix: str = "dup",
           **attrs) -> str:
    """``levels`` nodes of ``op`` in a chain, each reading the one before ``k`` times: k^levels
    paths from ``start`` to the last, which is returned."""
    previous = start
    for level in range(levels):
        previous = g.add(f"{prefix}{level}", op, [previous] * k, **attrs).name
    return previous


def mesh(g: GraphBuilder, start: str, op: str, levels: int, width: int, prefix: str = "mesh",
         **attrs) -> list[str]:
    """``levels`` layers of ``width`` ``op`` nodes, each reading every node of the layer before
    (the first layer reads ``start``): width^levels paths; the last layer is returned."""
    layer = [start]
    for level in range(levels):
        layer = [g.add(f"{prefix}{level}_{j}", op, list(layer), **attrs).name for j in range(width)]
    return layer


__all__ = ["FLOAT", "Budget", "CountingDict", "CountingList", "WalkTooLong", "ladder", "mesh", "metered",
           "size"]
