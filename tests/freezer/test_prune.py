"""Pruning keeps the outputs' ancestors, cuts control edges to state writes, keeps table initializers."""

from __future__ import annotations

import pytest

from freezer.prune import output_node_name, prune, resolve_outputs
from inspector.errors import UnreadableInputError, UsageError
from tests.freezer.graphs import Graph
from tests.graphs import FLOAT


@pytest.mark.parametrize("text", ["probs", "probs:0", "^probs", " probs:1 "])
def test_output_name_forms(text):
    assert output_node_name(text) == "probs"


def test_unknown_output_lists_the_closest_names():
    with pytest.raises(UsageError, match="Closest existing names: probabilities") as info:
        resolve_outputs(["probabilites"], {"probabilities", "logits", "x"})
    assert info.value.code == "UNKNOWN_OUTPUT"
    assert info.value.exit_code == 2


def test_empty_outputs_are_a_usage_error():
    with pytest.raises(UsageError, match="no output names"):
        resolve_outputs([" ", ""], {"a"})


def test_duplicates_collapse_in_order():
    assert resolve_outputs(["b:0", "a", "b"], {"a", "b"}) == ["b", "a"]


def _bn_like_graph() -> Graph:
    g = Graph()
    g.placeholder("x")
    g.variable("w")
    g.variable("mean")
    g.add("update", "AssignSub", ["mean", "x"], T=FLOAT, _class=["loc:@mean"])
    g.add("y", "MatMul", ["x", "w/read", "^update"], T=FLOAT)
    g.add("loss", "Sum", ["y"], T=FLOAT)
    g.add("init", "NoOp", ["^w", "^mean"])
    return g


def test_keeps_ancestors_in_original_order_and_cuts_state_write_control_edges():
    g = _bn_like_graph()
    pruned = prune(g.nodes, ["y"])
    assert [n.name for n in pruned.kept] == ["x", "w", "w/read", "y"]
    assert pruned.dropped_control == [("y", "update")]


def test_colocation_does_not_keep_nodes_alive():
    g = Graph()
    g.variable("w")
    g.add("y", "Identity", ["w/read"], T=FLOAT, _class=["loc:@other"])
    g.add("other", "NoOp")
    assert "other" not in prune(g.nodes, ["y"]).names


def test_missing_input_is_reported():
    g = Graph()
    g.add("y", "Identity", ["ghost"], T=FLOAT)
    with pytest.raises(UnreadableInputError, match="'ghost'"):
        prune(g.nodes, ["y"])


def test_lookup_table_initializers_are_kept():
    g = Graph()
    g.add("table", "HashTableV2")
    g.const_strings("keys", ["a", "b"])
    g.add("values", "Const")
    g.add("table_init", "InitializeTableV2", ["table", "keys", "values"])
    g.add("init_all_tables", "NoOp", ["^table_init"])
    g.placeholder("query")
    g.add("lookup", "LookupTableFindV2", ["table", "query", "values"])
    g.add("unrelated", "NoOp")
    pruned = prune(g.nodes, ["lookup"])
    assert pruned.names == {"table", "keys", "values", "table_init", "init_all_tables", "query", "lookup"}
    assert pruned.table_initializers == ["table_init", "init_all_tables"]
