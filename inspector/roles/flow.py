"""Linear passes over the integer graph: what flows where.

Every function here visits each node and edge a bounded number of times: reachability with a
visited set, one pass in topological order for forward propagation (a few more where while
loops feed values back through NextIteration), bitsets as Python ints so that a node's whole set
of weights or inputs costs one OR per edge.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.graph.index import GraphIndex

#: Passes over a graph with while loops: one per loop-carried dependency chain is enough in
#: practice; more is never needed for the values the roles and the ranking propagate.
MAX_LOOP_PASSES = 8


def has_loops(index: GraphIndex) -> bool:
    return index.has_loops


def ancestors(index: GraphIndex, starts: Iterable[int], *, within: list[bool] | None = None,
              stop_at_shapes: bool = False, control: bool = False) -> set[int]:
    """Data ancestors of ``starts`` (not themselves unless reached), optionally only through
    nodes ``within`` marks. ``stop_at_shapes``: the inputs of a shape-only op are not its
    ancestors here (``Shape(loss)`` reads no value of the loss). ``control``: follow control
    inputs too."""
    data_in, ctrl_in = index.data_in, index.ctrl_in
    seen: set[int] = set()
    stack = list(starts)
    while stack:
        i = stack.pop()
        producers = data_in[i] + ctrl_in[i] if control else data_in[i]
        if stop_at_shapes and index.shape_only[i]:
            producers = ctrl_in[i] if control else []
        for j in producers:
            if j not in seen and (within is None or within[j]):
                seen.add(j)
                stack.append(j)
    return seen


def descendants(index: GraphIndex, starts: Iterable[int], *, within: set[int] | None = None) -> set[int]:
    """Data descendants of ``starts``, themselves included, optionally only inside ``within``."""
    data_out = index.data_out
    seen = set(starts)
    stack = list(seen)
    while stack:
        for j in data_out[stack.pop()]:
            if j not in seen and (within is None or j in within):
                seen.add(j)
                stack.append(j)
    return seen


def computed_from(index: GraphIndex, sources: set[int], blocked: list[bool]) -> list[bool]:
    """Which nodes are computed from ``sources`` along data edges, skipping ``blocked`` nodes.

    Shape-only ops end the flow (their result does not depend on the values they read).
    """
    result = [False] * len(index)
    data_out = index.data_out
    shape_only = index.shape_only
    for i in sources:
        if not blocked[i]:
            result[i] = True
    # push along the edges of reached nodes only, in topological order (one pass reaches
    # everything downstream but what a loop's back edge feeds, which further passes pick up)
    for _ in range(MAX_LOOP_PASSES if has_loops(index) else 1):
        changed = False
        for i in index.order:
            if not result[i]:
                continue
            for j in data_out[i]:
                if not result[j] and not blocked[j] and not shape_only[j]:
                    result[j] = True
                    changed = True
        if not changed:
            break
    return result


def propagate_bits(index: GraphIndex, seeds: dict[int, int], blocked: list[bool]) -> list[int]:
    """OR bitsets forward along data edges in topological order, skipping blocked nodes.

    Python ints serve as bitsets: one bit per weight (or per input), so a node's full set of
    ancestors of interest costs one OR per edge. Values that loops feed back (NextIteration ->
    Merge) are picked up by further passes until nothing changes. Shape-only ops stop the flow.
    """
    bits = [0] * len(index)
    data_in, order, shape_only = index.data_in, index.order, index.shape_only
    for _ in range(MAX_LOOP_PASSES if has_loops(index) else 1):
        changed = False
        for i in order:
            if blocked[i]:
                continue
            value = seeds.get(i, 0)
            if not shape_only[i]:
                for j in data_in[i]:
                    value |= bits[j]
            if value != bits[i]:
                bits[i] = value
                changed = True
        if not changed:
            break
    return bits


def share_of(bits: int, sizes: list[int], total: int) -> float:
    """Share of the weights (by element count) among the set bits of ``bits``."""
    if total <= 0 or not bits:
        return 0.0
    acc = 0
    while bits:
        low = bits & -bits
        acc += sizes[low.bit_length() - 1]
        bits ^= low
    return min(acc / total, 1.0)


def names_of(bits: int, names: list[str]) -> list[str]:
    """The names behind the set bits of a bitset, in bit order."""
    out = []
    while bits:
        low = bits & -bits
        out.append(names[low.bit_length() - 1])
        bits ^= low
    return out


def num_elements(shape: list[int] | None) -> int:
    """Elements of a shape, unknown dims counted as 1 (sizes only weigh weights)."""
    if shape is None:
        return 1
    total = 1
    for dim in shape:
        total *= max(int(dim), 1)
    return total
