"""The rewrite: variables -> Const, ref/resource plumbing -> value ops, state writes -> pure ops."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.prune import prune
from freezer.rewrite import rewrite
from freezer.values import ValueSource
from freezer.writer import StreamedConst
from inspector.errors import UsageError
from tests.freezer.graphs import Graph, MemoryReader
from tests.graphs import BOOL, FLOAT, FLOAT_REF, INT32, RESOURCE

W = np.arange(4, dtype=np.float32).reshape(2, 2)


def _freeze(g: Graph, outputs, arrays=None, clear_devices=True):
    reader = MemoryReader(arrays if arrays is not None else {"w": W})
    source = ValueSource(reader, g.nodes)
    return rewrite(prune(g.nodes, outputs), source, clear_devices=clear_devices), reader


def _by_name(result):
    return {item.name: item for item in result.items}


def test_variable_becomes_streamed_const_with_checkpoint_bytes():
    g = Graph()
    g.placeholder("x")
    g.variable("w")
    g.add("y", "MatMul", ["x", "w/read"], T=FLOAT)
    result, reader = _freeze(g, ["y"])
    const = _by_name(result)["w"]
    assert isinstance(const, StreamedConst)
    assert (const.dtype, const.shape, const.nbytes) == (FLOAT, (2, 2), 16)
    assert b"".join(const.chunks()) == W.tobytes()
    assert reader.chunk_requests == ["w"]  # streamed, not materialized
    assert [f.key for f in result.folded] == ["w"]
    assert _by_name(result)["w/read"].op == "Identity"


def test_ref_switch_and_assign_sub_batch_norm_pattern():
    # The TF issue #3628 shape: a cond on a ref variable whose training branch updates it.
    g = Graph()
    g.placeholder("x")
    g.placeholder("is_training", BOOL)
    g.variable("w", read=False)
    g.add("cond/Switch", "RefSwitch", ["w", "is_training"], T=FLOAT_REF, _class=["loc:@w"])
    g.add("cond/AssignSub", "AssignSub", ["cond/Switch:1", "x"], T=FLOAT, use_locking=False)
    g.add("cond/Identity", "RefIdentity", ["cond/Switch"], T=FLOAT)
    g.add("cond/Merge", "RefMerge", ["cond/Identity", "cond/AssignSub"], T=FLOAT, N=2)
    g.add("y", "Mul", ["cond/Merge", "x"], T=FLOAT)
    result, _ = _freeze(g, ["y"])
    nodes = _by_name(result)
    assert nodes["cond/Switch"].op == "Switch"
    assert nodes["cond/Identity"].op == "Identity"
    assert nodes["cond/Merge"].op == "Merge"
    assert nodes["cond/AssignSub"].op == "Sub"
    assert list(nodes["cond/AssignSub"].input) == ["cond/Switch:1", "x"]
    assert "use_locking" not in nodes["cond/AssignSub"].attr
    assert {r["from"] for r in result.rewrites} == {"RefSwitch", "RefIdentity", "RefMerge", "AssignSub"}


def test_assign_reached_by_data_is_the_assigned_value():
    g = Graph()
    g.placeholder("x")
    g.variable("w", read=False)
    g.add("set", "Assign", ["w", "x", "^x"], T=FLOAT, validate_shape=True, use_locking=True)
    g.add("y", "Identity", ["set"], T=FLOAT)
    nodes = _by_name(_freeze(g, ["y"])[0])
    assert nodes["set"].op == "Identity"
    assert list(nodes["set"].input) == ["x", "^x"]
    assert not {"validate_shape", "use_locking"} & set(nodes["set"].attr)


def test_ref_enter_in_a_while_loop():
    g = Graph()
    g.variable("w", read=False)
    g.add("while/Enter", "RefEnter", ["w"], T=FLOAT, frame_name=b"while", is_constant=True)
    g.add("while/y", "Identity", ["while/Enter"], T=FLOAT)
    nodes = _by_name(_freeze(g, ["while/y"])[0])
    assert nodes["while/Enter"].op == "Enter"
    assert nodes["while/Enter"].attr["frame_name"].s == b"while"


def test_resource_reads_and_plumbing():
    g = Graph()
    g.resource("w")
    g.add("ids", "Placeholder", dtype=INT32)
    g.add("while/Enter", "Enter", ["w"], T=RESOURCE, frame_name=b"while")
    g.add("read", "ReadVariableOp", ["while/Enter", "^ids"], dtype=FLOAT)
    g.add("gather", "ResourceGather", ["w", "ids"], dtype=FLOAT, Tindices=INT32, batch_dims=0,
          validate_indices=True)
    g.add("gather_nd", "ResourceGatherNd", ["w", "ids"], dtype=FLOAT, Tindices=INT32)
    g.add("shape", "VariableShape", ["w"], out_type=INT32)
    g.add("ok", "VarIsInitializedOp", ["w"])
    g.add("y", "AddN", ["read", "gather", "gather_nd"], T=FLOAT, N=3)
    result, _ = _freeze(g, ["y", "shape", "ok"])
    nodes = _by_name(result)
    assert nodes["while/Enter"].attr["T"].type == FLOAT
    assert nodes["read"].op == "Identity" and nodes["read"].attr["T"].type == FLOAT
    assert list(nodes["read"].input) == ["while/Enter", "^ids"]  # control inputs kept (frames)
    assert "dtype" not in nodes["read"].attr
    gather = nodes["gather"]
    assert gather.op == "GatherV2"
    assert list(gather.input) == ["w", "ids", "gather/axis"]
    assert gather.attr["Tparams"].type == FLOAT and gather.attr["Taxis"].type == INT32
    axis = nodes["gather/axis"]
    assert axis.op == "Const" and list(axis.attr["value"].tensor.int_val) == [0]
    assert list(axis.input) == ["^ids"]
    order = [i.name for i in result.items]
    assert order.index("gather/axis") == order.index("gather") - 1
    assert nodes["gather_nd"].op == "GatherNd" and nodes["gather_nd"].attr["Tparams"].type == FLOAT
    assert nodes["shape"].op == "Shape" and nodes["shape"].attr["T"].type == FLOAT
    assert nodes["ok"].op == "Const" and list(nodes["ok"].attr["value"].tensor.bool_val) == [True]
    assert result.added == ["gather/axis"]


def test_write_without_a_pure_twin_is_refused():
    g = Graph()
    g.variable("w", read=False)
    g.add("idx", "Const")
    g.add("upd", "ScatterUpdate", ["w", "idx", "idx"], T=FLOAT)
    g.add("y", "Identity", ["upd"], T=FLOAT)
    with pytest.raises(UsageError, match="'upd' \\(ScatterUpdate\\)"):
        _freeze(g, ["y"])


def test_resource_into_an_unknown_op_is_refused():
    g = Graph()
    g.resource("w")
    g.add("custom", "MyResourceKernel", ["w"])
    with pytest.raises(UsageError, match="no state-free equivalent"):
        _freeze(g, ["custom"])


def _placed_graph() -> Graph:
    g = Graph()
    g.variable("w")
    g.add("unused", "NoOp")
    g.add("y", "Identity", ["w/read"], device="/device:CPU:0", T=FLOAT, _class=["loc:@w", "loc:@unused"])
    g.add("z", "Identity", ["w/read"], T=FLOAT, _class=["loc:@unused"])
    return g


def test_devices_and_dangling_colocation():
    nodes = _by_name(_freeze(_placed_graph(), ["y", "z"])[0])
    assert nodes["y"].device == ""
    assert list(nodes["y"].attr["_class"].list.s) == [b"loc:@w"]
    assert "_class" not in nodes["z"].attr
    kept = _by_name(_freeze(_placed_graph(), ["y"], clear_devices=False)[0])
    assert kept["y"].device == "/device:CPU:0"


def test_control_edge_to_update_is_dropped_and_reported():
    g = Graph()
    g.placeholder("x")
    g.variable("w")
    g.add("update", "AssignAdd", ["w", "x"], T=FLOAT)
    g.add("y", "Identity", ["w/read", "^update", "^x"], T=FLOAT)
    result, _ = _freeze(g, ["y"])
    assert list(_by_name(result)["y"].input) == ["w/read", "^x"]
    assert result.dropped_control == [("y", "update")]


def test_ref_plumbing_after_a_cut_write_loses_its_ref_too():
    """A fake-quant range read back through the ref an update returns (AssignSub -> RefIdentity ->
    FakeQuant): once the write computes its value, the plumbing after it is plain plumbing too."""
    g = Graph()
    g.placeholder("x")
    g.variable("w", read=False)
    g.const("delta", np.ones((2, 2), np.float32))
    g.add("update", "AssignSub", ["w", "delta"], T=FLOAT_REF)
    g.add("update/read", "RefIdentity", ["update"], T=FLOAT)
    g.add("y", "Mul", ["x", "update/read"], T=FLOAT)
    result, _ = _freeze(g, ["y"])
    items = _by_name(result)
    assert (items["update"].op, items["update/read"].op) == ("Sub", "Identity")
    assert items["update/read"].attr["T"].type == FLOAT
