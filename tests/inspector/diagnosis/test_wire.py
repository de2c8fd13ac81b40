"""The wire walker: where a buffer stops parsing as a message, and why."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.diagnosis.wire import walk, walk_generic
from inspector.proto import pb
from tests.inspector.diagnosis.graphs import mlp


def _bytes() -> bytes:
    return mlp().graph_def.SerializeToString()


def test_valid_graph_has_no_problem_and_counts_nodes():
    result = walk(_bytes(), pb.GraphDef.DESCRIPTOR)
    assert result.problem is None
    assert result.complete_top_level == {1: 6}


def test_cut_inside_a_node_is_truncated_with_declared_and_available_lengths():
    data = _bytes()
    cut = data[: len(data) - 5]
    problem = walk(cut, pb.GraphDef.DESCRIPTOR).problem
    assert problem.truncated
    assert problem.path.startswith("node[5]")
    assert problem.evidence["needs_file_size"] == len(data)
    assert problem.evidence["declared_length"] - problem.evidence["available"] == 5


def test_invalid_wire_type_is_corrupt_and_names_the_node():
    data = bytearray(_bytes())
    # node[0] = 0a LEN 0a 01 'x' 12 ... : replace the op tag 0x12 by 0x17 (field 2, wire type 7)
    assert data[5] == 0x12
    data[5] = 0x17
    problem = walk(bytes(data), pb.GraphDef.DESCRIPTOR).problem
    assert not problem.truncated
    assert problem.offset == 5
    assert problem.path == "node[0] 'x'"


def test_wrong_wire_type_for_a_known_field_is_reported():
    problem = walk(bytes([0x08, 0x01]), pb.GraphDef.DESCRIPTOR).problem  # field 1 as a varint
    assert not problem.truncated and "found varint" in problem.expected


def test_invalid_utf8_in_a_string_field_is_corrupt():
    node = pb.NodeDef(name="ok", op="Const").SerializeToString().replace(b"ok", b"\xff\xfe")
    data = bytes([0x0A, len(node)]) + node
    problem = walk(data, pb.GraphDef.DESCRIPTOR).problem
    assert problem is not None and "UTF-8" in problem.expected


def test_generic_walk_tells_protobuf_from_not_protobuf():
    assert walk_generic(_bytes()) == [(1, 2)] * 6
    assert walk_generic(b"<!DOCTYPE html>") is None
    assert walk_generic(b"") == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_walk_never_raises_on_arbitrary_bytes(data):
    walk(data, pb.GraphDef.DESCRIPTOR)
    walk(data, pb.MetaGraphDef.DESCRIPTOR)
    walk_generic(data)
