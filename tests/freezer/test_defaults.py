"""freezer/defaults.py: every written NodeDef carries its op's defaulted attrs."""

from __future__ import annotations

import pytest

from fixtures.registry import all_fixtures
from freezer import freeze
from freezer.defaults import fill_default_attrs, fill_library_defaults, nodes_missing_defaults
from inspector import opdefs
from inspector.proto import pb
from tests.graphs import FLOAT, GraphBuilder

FREEZABLE = [pytest.param(f, id=f.name) for f in all_fixtures()
             if f.kind == "checkpoint" and f.freezable and f.full_path.exists()]


def test_a_stripped_node_gets_the_defaults_tensorflow_fills_in():
    g = GraphBuilder()
    node = g.add("s", "StridedSlice", ["x", "b", "e", "st"], T=FLOAT, Index=3)
    added = fill_default_attrs(node)
    assert {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"} <= set(added)
    assert node.attr["end_mask"].i == 0
    assert fill_default_attrs(node) == []  # idempotent: nothing left to fill


def test_attrs_already_set_are_kept():
    node = GraphBuilder().add("c", "Conv2D", ["x", "w"], T=FLOAT, data_format="NCHW")
    fill_default_attrs(node)
    assert node.attr["data_format"].s == b"NCHW" and list(node.attr["dilations"].list.i) == [1, 1, 1, 1]


def test_unknown_ops_are_left_alone():
    node = GraphBuilder().add("z", "ZeroOut", ["x"])
    assert fill_default_attrs(node) == [] and not node.attr


def test_function_bodies_too():
    library = pb.FunctionDefLibrary()
    body = library.function.add().node_def.add(name="m", op="MatMul", input=["a", "b"])
    body.attr["T"].type = FLOAT
    assert fill_library_defaults(library) == 4  # transpose_a/b, grad_a/b
    assert not opdefs.missing_defaults(body)


@pytest.mark.parametrize("fixture", FREEZABLE)
def test_every_frozen_node_has_its_defaults(fixture, tmp_path):
    result = freeze(fixture.full_path, outputs=list(fixture.expected_outputs), output_path=tmp_path / "f.pb")
    graph = pb.GraphDef.FromString(result.output_path.read_bytes())
    assert nodes_missing_defaults(graph.node) == []
    assert all(not opdefs.missing_defaults(n) for f in graph.library.function for n in f.node_def)
