"""A layered (Sugiyama-style) drawing of a small directed graph, top to bottom in data-flow order.

The HTML view draws every box's content with this layout: a condensed graph of at most a few dozen
items (boxes and ops) per box, so plain Python is fast enough and nothing beyond the standard
library is needed (no Graphviz binary). The classic four steps, each a small function:

1. **cycles**: a graph of boxes can have cycles even when the ops do not (box A feeds box B, which
   feeds another op of A). Items are put in an order that follows the edges where it can, breaking
   cycles at the item that comes first in the graph's own topological order (``hint``); edges
   against that order are drawn reversed.
2. **layers**: longest path from the top, then every item moves as close to its neighbours as the
   edges allow (a constant sits just above its consumer instead of at the top), so long edges are
   rare. Edges that still span layers get one dummy point per layer they cross.
3. **order**: barycenter sweeps, down and up, keeping the order with the fewest weighted crossings
   (counted exactly per pair of layers with a Fenwick tree).
4. **x positions**: each item is pulled towards the mean position of its neighbours, the layer's
   order and spacing kept exactly by isotonic regression (pool adjacent violators); long edges'
   dummy points pull harder, so long edges run straight.

The result keeps each layer's members (items and dummies) in order with their preferred centres and
widths, so that a viewer can re-pack a layer when an item grows (an expanded box) without changing
the order: :mod:`inspector.view.assets` does exactly that with the same isotonic step.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

LAYER_GAP = 40.0    # vertical space between two layers
NODE_GAP = 18.0     # horizontal space between two neighbours of a layer
DUMMY_WIDTH = 8.0   # the room a long edge passing through a layer takes
MAX_SWEEPS = 12     # crossing-reduction sweeps (down + up); stops earlier without improvement
PLACEMENT_ROUNDS = 8  # alternating sweeps of x placement (3 for a layout of at most 8 members)


@dataclass
class Route:
    """One drawn edge: ``source`` above ``target``, through the dummy points ``via`` (top down).

    ``reversed`` is set when the edge points upwards in the graph (it closes a cycle of boxes):
    the viewer then draws the arrow head at the source end."""

    source: int
    target: int
    via: list[int]
    weight: int
    reversed: bool = False


@dataclass
class Layout:
    """Members ``0..n-1`` are the items, ``n..`` the dummy points of long edges."""

    count: int                       # real items
    layer: list[int]                 # per member
    layers: list[list[int]]          # members of each layer, left to right
    x: list[float]                   # preferred centre per member
    width: list[float]               # per member
    height: list[float]              # per member (0 for dummies)
    routes: list[Route] = field(default_factory=list)

    def y_centres(self, layer_gap: float = LAYER_GAP) -> list[float]:
        """The centre height of each layer, layers stacked with ``layer_gap`` between them."""
        centres, top = [], 0.0
        for members in self.layers:
            tallest = max((self.height[m] for m in members), default=0.0)
            centres.append(top + tallest / 2)
            top += tallest + layer_gap
        return centres

    def bounds(self) -> tuple[float, float]:
        """Width and height of the drawing."""
        right = max((self.x[m] + self.width[m] / 2 for m in range(len(self.x))), default=0.0)
        tallest = [max((self.height[m] for m in members), default=0.0) for members in self.layers]
        return right, sum(tallest) + LAYER_GAP * max(0, len(self.layers) - 1)


def layered_layout(sizes: Sequence[tuple[float, float]], edges: Iterable[tuple[int, int, int]],
                   hint: Sequence[float] | None = None) -> Layout:
    """Lay out ``len(sizes)`` items of (width, height) joined by ``edges`` (source, target, weight).

    ``hint`` orders the items where the edges do not (smaller first: a position in the graph's
    topological order); parallel edges are merged, self-loops ignored.
    """
    n = len(sizes)
    hint = list(hint) if hint is not None else list(range(n))
    merged = _merge_edges(edges, n)
    if not merged:
        return _grid(sizes, hint)
    joined = {i for pair in merged for i in pair}
    if len(joined) < n:
        return _with_loose_items(sizes, merged, hint, joined)
    rank = _acyclic_rank(n, merged, hint)
    upward = [(s, t, w) if rank[s] < rank[t] else (t, s, w) for (s, t), w in merged.items()]
    flipped = [rank[s] > rank[t] for (s, t) in merged]
    layer = _assign_layers(n, upward, rank)
    layout = _with_dummies(sizes, upward, flipped, layer)
    if all(len(members) == 1 for members in layout.layers):  # a chain: one column, nothing to order
        centre = max(layout.width) / 2
        layout.x = [centre] * len(layout.layer)
        return layout
    _order_layers(layout, hint)
    _place_x(layout, PLACEMENT_ROUNDS if len(layout.layer) > 8 else 3)
    return layout


def _with_loose_items(sizes: Sequence[tuple[float, float]], merged: dict[tuple[int, int], int],
                      hint: list[float], joined: set[int]) -> Layout:
    """Items no edge touches (an unused placeholder, a dead constant) would all land in the top
    layer and stretch it across the page: the joined items are laid out alone, and the loose ones
    follow in rows below them, no wider than the drawing above (or 600 px)."""
    inner = sorted(joined)
    slot = {item: k for k, item in enumerate(inner)}
    part = layered_layout([sizes[i] for i in inner], [(slot[s], slot[t], w) for (s, t), w in merged.items()],
                          [hint[i] for i in inner])
    n = len(sizes)
    members = n + len(part.layer) - part.count  # the items, then the part's dummies
    moved = [0] * len(part.layer)               # the part's member -> this layout's member
    for k, item in enumerate(inner):
        moved[k] = item
    for dummy in range(part.count, len(part.layer)):
        moved[dummy] = n + dummy - part.count
    layout = Layout(n, [0] * members, [[moved[m] for m in layer] for layer in part.layers], [0.0] * members,
                    [0.0] * members, [0.0] * members)
    for old, new in enumerate(moved):
        layout.layer[new], layout.x[new] = part.layer[old], part.x[old]
        layout.width[new], layout.height[new] = part.width[old], part.height[old]
    layout.routes = [Route(moved[r.source], moved[r.target], [moved[d] for d in r.via], r.weight, r.reversed)
                     for r in part.routes]
    room = max(part.bounds()[0], 600.0)
    loose = sorted((i for i in range(n) if i not in joined), key=lambda i: (hint[i], i))
    right = room + 1  # start a new row
    for item in loose:
        width, height = sizes[item]
        if right + width > room and right > 0:
            layout.layers.append([])
            right = 0.0
        layout.layers[-1].append(item)
        layout.layer[item] = len(layout.layers) - 1
        layout.x[item] = right + width / 2
        layout.width[item], layout.height[item] = float(width), float(height)
        right += width + NODE_GAP
    return layout


def _grid(sizes: Sequence[tuple[float, float]], hint: list[float]) -> Layout:
    """Items with no edge between them: rows of about equal count, in ``hint`` order."""
    n = len(sizes)
    columns = max(1, math.ceil(math.sqrt(n * 1.5)))
    items = sorted(range(n), key=lambda i: (hint[i], i))
    layer = [0] * n
    layers = [items[start:start + columns] for start in range(0, n, columns)]
    layout = Layout(n, layer, layers, [0.0] * n, [float(w) for w, _ in sizes], [float(h) for _, h in sizes])
    for level, members in enumerate(layers):
        right = 0.0
        for member in members:
            layer[member] = level
            layout.x[member] = right + layout.width[member] / 2
            right += layout.width[member] + NODE_GAP
    return layout


# -- 1. cycles -----------------------------------------------------------------------------------

def _merge_edges(edges: Iterable[tuple[int, int, int]], n: int) -> dict[tuple[int, int], int]:
    merged: dict[tuple[int, int], int] = {}
    for source, target, weight in edges:
        if source != target and 0 <= source < n and 0 <= target < n:
            merged[(source, target)] = merged.get((source, target), 0) + weight
    return merged


def _acyclic_rank(n: int, edges: dict[tuple[int, int], int], hint: list[float]) -> list[int]:
    """A position per item: Kahn's algorithm taking the smallest ``hint`` first; when only cycles
    are left, the remaining item with the smallest hint goes next (its incoming edges reversed)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for source, target in edges:
        succ[source].append(target)
        indegree[target] += 1
    ready = [(hint[i], i) for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    by_hint = sorted(range(n), key=lambda i: (hint[i], i))
    fallback = 0
    rank = [-1] * n
    placed = 0
    while placed < n:
        if not ready:
            while rank[by_hint[fallback]] >= 0:
                fallback += 1
            item = by_hint[fallback]
            heapq.heappush(ready, (hint[item], item))
            indegree[item] = 0
        _, item = heapq.heappop(ready)
        if rank[item] >= 0:
            continue
        rank[item] = placed
        placed += 1
        for target in succ[item]:
            if rank[target] < 0:
                indegree[target] -= 1
                if indegree[target] == 0:
                    heapq.heappush(ready, (hint[target], target))
    return rank


# -- 2. layers -----------------------------------------------------------------------------------

def _assign_layers(n: int, edges: list[tuple[int, int, int]], rank: list[int]) -> list[int]:
    """Longest path from the top, then each item moved within the room its edges leave to the
    weighted median of where its neighbours would like it (shorter edges, fewer dummies)."""
    preds: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    succs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for source, target, weight in edges:
        preds[target].append((source, weight))
        succs[source].append((target, weight))
    order = sorted(range(n), key=rank.__getitem__)
    layer = [0] * n
    for item in order:
        if preds[item]:
            layer[item] = max(layer[p] for p, _ in preds[item]) + 1
    for _ in range(3):
        moved = False
        for item in reversed(order):
            moved |= _settle(item, layer, preds[item], succs[item])
        if not moved:
            break
    low = min(layer, default=0)
    return [value - low for value in layer]


def _settle(item: int, layer: list[int], preds: list[tuple[int, int]], succs: list[tuple[int, int]]) -> bool:
    if not preds and not succs:
        return False
    low = max((layer[p] + 1 for p, _ in preds), default=None)
    high = min((layer[s] - 1 for s, _ in succs), default=None)
    if low is None:  # a source: right above its first consumer
        target = high
    elif high is None:  # a sink: right below its last producer
        target = low
    else:
        wishes = sorted([(layer[p] + 1, w) for p, w in preds] + [(layer[s] - 1, w) for s, w in succs])
        target = min(max(_weighted_median(wishes), low), high)
    if target is None or target == layer[item]:
        return False
    layer[item] = target
    return True


def _weighted_median(pairs: list[tuple[int, int]]) -> int:
    half = sum(w for _, w in pairs) / 2
    seen = 0
    for value, weight in pairs:
        seen += weight
        if seen >= half:
            return value
    return pairs[-1][0]


def _with_dummies(sizes: Sequence[tuple[float, float]], edges: list[tuple[int, int, int]],
                  flipped: list[bool], layer: list[int]) -> Layout:
    """One dummy member per layer a long edge crosses; the routes in the items' own terms."""
    n = len(sizes)
    depth = max(layer, default=-1) + 1
    layout = Layout(n, list(layer), [[] for _ in range(depth)], [0.0] * n,
                    [float(w) for w, _ in sizes], [float(h) for _, h in sizes])
    for item in range(n):
        layout.layers[layer[item]].append(item)
    for (source, target, weight), reverse in zip(edges, flipped, strict=True):
        via = []
        for level in range(layer[source] + 1, layer[target]):
            dummy = len(layout.layer)
            layout.layer.append(level)
            layout.layers[level].append(dummy)
            layout.x.append(0.0)
            layout.width.append(DUMMY_WIDTH)
            layout.height.append(0.0)
            via.append(dummy)
        layout.routes.append(Route(source, target, via, weight, reverse))
    return layout


# -- 3. order ------------------------------------------------------------------------------------

def _links(layout: Layout) -> tuple[list[list[tuple[int, int]]], list[list[tuple[int, int]]]]:
    """Per member, its (neighbour, weight) one layer up and one layer down."""
    total = len(layout.layer)
    up: list[list[tuple[int, int]]] = [[] for _ in range(total)]
    down: list[list[tuple[int, int]]] = [[] for _ in range(total)]
    for route in layout.routes:
        chain = [route.source, *route.via, route.target]
        for upper, lower in pairwise(chain):
            up[lower].append((upper, route.weight))
            down[upper].append((lower, route.weight))
    return up, down


def _order_layers(layout: Layout, hint: list[float]) -> None:
    """Barycenter sweeps; the best order seen (fewest weighted crossings) is kept."""
    up, down = _links(layout)
    layers = layout.layers
    key = [hint[m] if m < layout.count else 0.0 for m in range(len(layout.layer))]
    for members in layers:  # first pass: items by hint, each dummy after its source's position
        members.sort(key=lambda m: key[m])
    position = _positions(layers, len(layout.layer))
    _sweep(layers, position, up, range(1, len(layers)))
    best = [list(members) for members in layers]
    best_crossings = _crossings(layers, position, down)
    stale = 0
    for sweep in range(MAX_SWEEPS):
        if best_crossings == 0:
            break
        if sweep % 2 == 0:
            _sweep(layers, position, down, range(len(layers) - 2, -1, -1))
        else:
            _sweep(layers, position, up, range(1, len(layers)))
        crossings = _crossings(layers, position, down)
        if crossings < best_crossings:
            best, best_crossings, stale = [list(m) for m in layers], crossings, 0
        else:
            stale += 1
            if stale >= 3:
                break
    layout.layers[:] = best


def _positions(layers: list[list[int]], total: int) -> list[float]:
    position = [0.0] * total
    for members in layers:
        for index, member in enumerate(members):
            position[member] = float(index)
    return position


def _sweep(layers: list[list[int]], position: list[float], fixed: list[list[tuple[int, int]]],
           levels: Iterable[int]) -> None:
    """Re-order each of ``levels`` by the weighted mean position of its neighbours in ``fixed``
    direction; a member without such neighbours keeps its place."""
    for level in levels:
        members = layers[level]
        keys = {}
        for member in members:
            links = fixed[member]
            if links:
                total = sum(w for _, w in links)
                keys[member] = sum(position[other] * w for other, w in links) / total
            else:
                keys[member] = position[member]
        members.sort(key=lambda m: (keys[m], position[m]))
        for index, member in enumerate(members):
            position[member] = float(index)


def _crossings(layers: list[list[int]], position: list[float], down: list[list[tuple[int, int]]]) -> int:
    """Weighted edge crossings between all neighbouring layers (Fenwick-tree inversion count)."""
    total = 0
    for level in range(len(layers) - 1):
        pairs = sorted((int(position[upper]), int(position[lower]), weight)
                       for upper in layers[level] for lower, weight in down[upper])
        size = len(layers[level + 1])
        tree = [0] * (size + 1)
        seen = 0
        for _, lower, weight in pairs:
            # weight of edges seen so far that end to the right of `lower`: each crosses this one
            at_or_left, index = 0, lower + 1
            while index > 0:
                at_or_left += tree[index]
                index -= index & -index
            total += weight * (seen - at_or_left)
            seen += weight
            index = lower + 1
            while index <= size:
                tree[index] += weight
                index += index & -index
    return total


# -- 4. x positions ------------------------------------------------------------------------------

def _place_x(layout: Layout, rounds: int) -> None:
    """Pull members towards their neighbours, alternating down and up, the order kept exactly."""
    up, down = _links(layout)
    count = layout.count
    pulls_up = [_pulls(member, links, count) for member, links in enumerate(up)]
    pulls_down = [_pulls(member, links, count) for member, links in enumerate(down)]
    pulls_both = [a + b for a, b in zip(pulls_up, pulls_down, strict=True)]
    x, width = layout.x, layout.width
    for members in layout.layers:  # packed from the left to start with
        right = 0.0
        for member in members:
            x[member] = right + width[member] / 2
            right += width[member] + NODE_GAP
    depth = len(layout.layers)
    for round_ in range(rounds):
        if round_ == rounds - 1:
            pulls, levels = pulls_both, range(depth)
        elif round_ % 2 == 0:
            pulls, levels = pulls_up, range(depth)
        else:
            pulls, levels = pulls_down, range(depth - 1, -1, -1)
        for level in levels:
            members = layout.layers[level]
            wishes, weights = [], []
            for member in members:
                pull = pulls[member]
                if pull:
                    total = sum(s for _, s in pull)
                    wishes.append(sum(x[o] * s for o, s in pull) / total)
                    weights.append(total)
                else:
                    wishes.append(x[member])
                    weights.append(0.5)
            if len(members) == 1:
                x[members[0]] = wishes[0]
                continue
            for member, placed in zip(members, pack(wishes, [width[m] for m in members], weights, NODE_GAP),
                                      strict=True):
                x[member] = placed
    left = min((x[m] - width[m] / 2 for m in range(len(x))), default=0.0)
    x[:] = [value - left for value in x]


def _pulls(member: int, links: list[tuple[int, int]], count: int) -> list[tuple[int, float]]:
    """How strongly each neighbour pulls ``member``: dummy-to-dummy links weigh most (long edges
    run straight), then dummy-to-item, then item-to-item; heavier edges pull more."""
    return [(other, (1.0 + (member >= count) * 3.0 + (other >= count) * 3.0) * (1.0 + weight) ** 0.5)
            for other, weight in links]


def pack(wishes: Sequence[float], widths: Sequence[float], weights: Sequence[float],
         gap: float) -> list[float]:
    """Centres as close to ``wishes`` as possible (weighted least squares), in the given order,
    neighbours at least ``gap`` apart: isotonic regression by pool adjacent violators."""
    offsets, offset = [], 0.0
    for index, width in enumerate(widths):
        if index:
            offset += (widths[index - 1] + width) / 2 + gap
        offsets.append(offset)
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for wish, weight, offset in zip(wishes, weights, offsets, strict=True):
        weight = max(weight, 1e-6)
        blocks.append([(wish - offset) * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, mass, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += mass
            blocks[-1][2] += count
    placed = []
    for total, mass, count in blocks:
        placed.extend([total / mass] * count)
    return [value + offset for value, offset in zip(placed, offsets, strict=True)]
