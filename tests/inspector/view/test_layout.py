"""The layered layout: edges point down, layers never overlap, crossings are removed where possible."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from inspector.view.layout import NODE_GAP, _crossings, _links, _positions, layered_layout, pack


def _check_geometry(layout, sizes):
    for members in layout.layers:
        for left, right in pairwise(members):
            gap = (layout.x[right] - layout.width[right] / 2) - (layout.x[left] + layout.width[left] / 2)
            assert gap >= NODE_GAP - 1e-6, "neighbours in a layer overlap"
    assert all(layout.width[i] == sizes[i][0] for i in range(len(sizes)))


def _crossing_count(layout):
    _, down = _links(layout)
    return _crossings(layout.layers, _positions(layout.layers, len(layout.layer)), down)


def test_edges_point_down_one_layer_per_step_through_dummies():
    sizes = [(80, 30)] * 5
    edges = [(0, 1, 1), (1, 2, 1), (2, 3, 1), (0, 3, 1), (3, 4, 1)]  # 0 -> 3 spans three layers
    layout = layered_layout(sizes, edges)
    for route in layout.routes:
        chain = [route.source, *route.via, route.target]
        assert [layout.layer[m] for m in chain] == list(range(layout.layer[route.source],
                                                              layout.layer[route.target] + 1))
    long_edge = next(r for r in layout.routes if (r.source, r.target) == (0, 3))
    assert len(long_edge.via) == 2
    _check_geometry(layout, sizes)


def test_a_source_sits_right_above_its_consumer_not_at_the_top():
    # a constant feeding the last op of a chain should not stretch an edge over the whole chain
    sizes = [(60, 30)] * 5
    edges = [(0, 1, 1), (1, 2, 1), (2, 3, 1), (4, 3, 1)]
    layout = layered_layout(sizes, edges)
    assert layout.layer[4] == layout.layer[3] - 1


def test_cycles_of_boxes_are_drawn_with_one_edge_reversed():
    sizes = [(60, 30)] * 3
    layout = layered_layout(sizes, [(0, 1, 1), (1, 2, 1), (2, 0, 1)], hint=[0, 1, 2])
    flipped = [r for r in layout.routes if r.reversed]
    assert len(flipped) == 1 and (flipped[0].source, flipped[0].target) == (0, 2)
    for route in layout.routes:
        assert layout.layer[route.source] < layout.layer[route.target]


def test_a_crossing_that_can_be_avoided_is_avoided():
    # two parallel chains whose hints interleave them: a -> b, c -> d with b left of d only if swapped
    sizes = [(60, 30)] * 4
    layout = layered_layout(sizes, [(0, 3, 1), (1, 2, 1)], hint=[0, 1, 2, 3])
    assert _crossing_count(layout) == 0


def test_random_graphs_keep_their_invariants():
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(1, 25)
        sizes = [(rng.randint(40, 200), rng.choice([30, 48])) for _ in range(n)]
        edges = [(rng.randrange(n), rng.randrange(n), rng.randint(1, 5))
                 for _ in range(rng.randint(0, 3 * n))]
        layout = layered_layout(sizes, edges, hint=[rng.random() for _ in range(n)])
        assert sorted(m for members in layout.layers for m in members) == list(range(len(layout.layer)))
        for route in layout.routes:
            assert layout.layer[route.source] < layout.layer[route.target]
        _check_geometry(layout, sizes)
        width, height = layout.bounds()
        assert width >= max(w for w, _ in sizes) and height >= max(h for _, h in sizes)


def test_items_without_edges_are_laid_out_in_rows():
    layout = layered_layout([(50, 30)] * 12, [])
    assert 2 <= len(layout.layers) <= 4
    assert sorted(m for members in layout.layers for m in members) == list(range(12))


@pytest.mark.parametrize(("wishes", "widths", "expected"), [
    ([0, 0], [10, 10], [-14, 14]),                 # two items wanting one spot share the move
    ([0, 100], [10, 10], [0, 100]),               # already apart: unchanged
    ([50, 0, 100], [10, 10, 10], [11, 39, 100]),  # order kept: the first two meet halfway
])
def test_pack_keeps_the_order_and_the_gap_and_moves_least(wishes, widths, expected):
    placed = pack(wishes, widths, [1.0] * len(wishes), 18)
    assert placed == pytest.approx(expected, abs=0.5)


def test_loose_items_go_in_rows_below_instead_of_stretching_the_top_layer():
    # a chain of three and fifteen unused placeholders: the chain's top layer holds only its own item
    sizes = [(80, 30)] * 3 + [(160, 30)] * 15
    layout = layered_layout(sizes, [(0, 1, 1), (1, 2, 1)])
    assert [layout.layer[i] for i in range(3)] == [0, 1, 2]
    assert layout.layers[0] == [0]
    assert all(layout.layer[i] > 2 for i in range(3, 18))
    width, _ = layout.bounds()
    assert width <= 700
    _check_geometry(layout, sizes)
