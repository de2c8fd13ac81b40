"""Graph variables -> checkpoint keys (restore ops, collections, names) and the left-out report."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.values import Binding, ValueSource, classify_unfolded, parse_shape_and_slice, restore_bindings
from inspector.errors import UnreadableInputError
from inspector.proto import pb
from tests.freezer.graphs import Graph, MemoryReader
from tests.graphs import FLOAT


@pytest.mark.parametrize(("text", "expected"), [
    ("", None),
    ("10 4 4,3:0,4", ((10, 4), ((4, 3), (0, 4)))),
    ("4 6 0,2:-", ((4, 6), ((0, 2), (0, 6)))),
    ("garbage", None),
])
def test_parse_shape_and_slice(text, expected):
    assert parse_shape_and_slice(text) == expected


def _saver_graph() -> Graph:
    g = Graph()
    g.variable("dense/w", read=False)
    g.variable("part/part_0", shape=(2, 3), read=False)
    g.resource("emb")
    g.add("save/Const", "Const")
    g.const_strings("save/RestoreV2/tensor_names", ["renamed_w", "emb", "part"])
    g.const_strings("save/RestoreV2/shape_and_slices", ["", "", "5 3 0,2:-"])
    g.add("save/RestoreV2", "RestoreV2", ["save/Const", "save/RestoreV2/tensor_names",
                                          "save/RestoreV2/shape_and_slices"])
    g.add("save/Assign", "Assign", ["dense/w", "save/RestoreV2"], T=FLOAT)
    g.add("save/Identity", "Identity", ["save/RestoreV2:1"], T=FLOAT)
    g.add("save/AssignVariableOp", "AssignVariableOp", ["emb", "save/Identity"])
    g.add("save/Assign_1", "Assign", ["part/part_0", "save/RestoreV2:2"], T=FLOAT)
    return g


def test_restore_ops_give_keys_and_partitions():
    bindings = restore_bindings(_saver_graph().nodes)
    assert bindings == {"dense/w": Binding("renamed_w"), "emb": Binding("emb"),
                        "part/part_0": Binding("part", ((0, 2), (0, 3)))}


def test_restore_constants_claiming_a_huge_shape_allocate_nothing():
    """A tensor_names / shape_and_slices Const whose shape claims 2^40 elements (found by tests/fuzz: a
    MemoryError, or minutes and gigabytes at 2^28) broadcasts its last value per index instead."""
    g = _saver_graph()
    for name in ("save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"):
        g.node(name).attr["value"].tensor.tensor_shape.dim[0].size = 1 << 40
    assert restore_bindings(g.nodes) == {"dense/w": Binding("renamed_w"), "emb": Binding("emb"),
                                         "part/part_0": Binding("part", ((0, 2), (0, 3)))}
    names = g.node("save/RestoreV2/tensor_names").attr["value"].tensor
    del names.string_val[1:]  # one value broadcast over the claimed shape: every output reads it
    assert restore_bindings(g.nodes)["emb"] == Binding("renamed_w")


def test_partition_is_sliced_from_the_full_tensor():
    g = _saver_graph()
    full = np.arange(15, dtype=np.float32).reshape(5, 3)
    reader = MemoryReader({"renamed_w": np.ones((2, 2), np.float32), "part": full,
                           "emb": np.zeros((2, 2), np.float32)})
    source = ValueSource(reader, g.nodes)
    item, folded = source.fold(g.node("part/part_0"))
    assert item.shape == (2, 3) and folded.slices == ((0, 2), (0, 3))
    assert b"".join(item.chunks()) == full[:2].tobytes()
    item, folded = source.fold(g.node("dense/w"))
    assert folded.key == "renamed_w"


def test_collection_save_slice_info_is_used_without_a_saver():
    g = Graph()
    g.variable("v/part_1", shape=(2, 3), read=False)
    meta = pb.MetaGraphDef()
    variable = pb.VariableDef(variable_name="v/part_1:0")
    variable.save_slice_info_def.full_name = "v"
    variable.save_slice_info_def.full_shape.extend([5, 3])
    variable.save_slice_info_def.var_offset.extend([2, 0])
    variable.save_slice_info_def.var_shape.extend([2, 3])
    meta.collection_def["variables"].bytes_list.value.append(variable.SerializeToString())
    full = np.arange(15, dtype=np.float32).reshape(5, 3)
    item, _ = ValueSource(MemoryReader({"v": full}), g.nodes, meta).fold(g.node("v/part_1"))
    assert b"".join(item.chunks()) == full[2:4].tobytes()


def test_moving_average_shadow_replaces_the_weight():
    g = Graph()
    g.variable("w", read=False)
    arrays = {"w": np.zeros((2, 2), np.float32), "w/ExponentialMovingAverage": np.ones((2, 2), np.float32)}
    item, folded = ValueSource(MemoryReader(arrays), g.nodes, use_moving_averages=True).fold(g.node("w"))
    assert folded.moving_average and folded.key == "w/ExponentialMovingAverage"
    assert b"".join(item.chunks()) == arrays["w/ExponentialMovingAverage"].tobytes()
    _, plain = ValueSource(MemoryReader(arrays), g.nodes).fold(g.node("w"))
    assert not plain.moving_average and plain.key == "w"


def test_string_variable_is_built_in_memory():
    g = Graph()
    g.variable("vocab", shape=(2,), dtype=pb.DataType.DT_STRING, read=False)
    reader = MemoryReader({"vocab": np.array([b"", b"\xff"], dtype=object)})
    item, _ = ValueSource(reader, g.nodes).fold(g.node("vocab"))
    assert list(item.attr["value"].tensor.string_val) == [b"", b"\xff"]


def test_mismatches_are_clear_errors():
    g = Graph()
    g.variable("w", shape=(3, 3), read=False)
    g.variable("missing", read=False)
    source = ValueSource(MemoryReader({"w": np.zeros((2, 2), np.float32)}), g.nodes)
    with pytest.raises(UnreadableInputError, match="shape \\[3, 3\\] in the graph but \\[2, 2\\]"):
        source.fold(g.node("w"))
    with pytest.raises(UnreadableInputError, match="not in the checkpoint"):
        source.fold(g.node("missing"))
    ints = ValueSource(MemoryReader({"w": np.zeros((3, 3), np.int32)}), g.nodes)
    with pytest.raises(UnreadableInputError, match="float32 in the graph but int32"):
        ints.fold(g.node("w"))


def test_left_out_entries_are_classified():
    g = Graph()
    g.variable("w", read=False)
    g.variable("w/Momentum", read=False)
    g.variable("unused_weight", read=False)
    g.add("lr", "Const")
    g.add("train", "ApplyMomentum", ["w", "w/Momentum", "lr", "lr", "lr"], T=FLOAT)
    meta = pb.MetaGraphDef()
    for name in ("w", "unused_weight"):
        meta.collection_def["trainable_variables"].bytes_list.value.append(
            pb.VariableDef(variable_name=f"{name}:0").SerializeToString())
    keys = ("w", "w/Momentum", "unused_weight", "w/ExponentialMovingAverage")
    arrays = {k: np.zeros(2, np.float32) for k in keys}
    arrays["global_step"] = np.int64(3)
    report = {r["key"]: r for r in classify_unfolded(MemoryReader(arrays), {"w"}, g.nodes, {}, meta)}
    assert set(report) == {"w/Momentum", "unused_weight", "w/ExponentialMovingAverage", "global_step"}
    assert report["w/Momentum"]["reason"].startswith("optimizer slot") and not report["w/Momentum"]["warning"]
    assert report["global_step"]["reason"].startswith("global step")
    assert report["w/ExponentialMovingAverage"]["reason"].startswith("moving-average shadow")
    assert report["unused_weight"]["warning"]


def test_partition_of_a_real_bundle_streams_from_its_slice_entry():
    from fixtures.registry import by_name
    from inspector.readers.checkpoint import open_checkpoint
    from inspector.readers.graphfile import load_graph_file

    folder = by_name("partitioned").full_path
    meta = load_graph_file(next(folder.glob("*.meta"))).meta_graph
    with open_checkpoint(str(next(folder.glob("*.index")))[: -len(".index")]) as reader:
        source = ValueSource(reader, meta.graph_def.node, meta)
        parts = [n for n in meta.graph_def.node if n.op == "VariableV2" and "/part_" in n.name
                 and source.binding(n).slices is not None]
        assert parts
        for node in parts:
            item, folded = source.fold(node)
            assert item.source is not None  # its own bytes in the .data file, no reassembly
            full = reader.read(folded.key)
            expected = full[tuple(slice(s, s + n) for s, n in folded.slices)]
            assert b"".join(item.chunks()) == np.ascontiguousarray(expected).tobytes()


class _MeteredNode:
    """A NodeDef whose every attribute read spends a step (restore_bindings takes plain nodes)."""

    def __init__(self, node, budget) -> None:
        self._node, self._budget = node, budget

    def __getattr__(self, name: str):
        self._budget.spend()
        return getattr(self._node, name)


def test_restore_binding_scan_visits_each_node_once():
    """Issue 12 item 4: 8 levels of Identity between RestoreV2 and Assign, each reading the one
    before 10 times, are 10^8 paths; following each one took hours on a 31 KB .meta."""
    from tests.walks import STEPS_PER_ITEM, Budget, ladder

    g = _saver_graph()
    last = ladder(g, "save/RestoreV2:1", "Identity", levels=8, k=10, T=FLOAT)
    g.variable("deep", read=False)
    g.add("save/Assign_deep", "Assign", ["deep", last], T=FLOAT)
    budget = Budget(STEPS_PER_ITEM * (len(g.nodes) + sum(len(n.input) for n in g.nodes)))
    bindings = restore_bindings([_MeteredNode(node, budget) for node in g.nodes])
    assert bindings["deep"] == Binding("emb")  # restored from RestoreV2:1, whatever the path
    assert bindings["dense/w"] == Binding("renamed_w")
