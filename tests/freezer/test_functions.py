"""Resource variables passed into function calls: specialized copies, nested calls, library pruning."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.functions import FunctionSpecializer, prune_library
from freezer.prune import prune
from freezer.rewrite import rewrite
from freezer.values import ValueSource
from inspector.errors import UsageError
from inspector.proto import pb
from tests.freezer.graphs import Graph, MemoryReader
from tests.graphs import FLOAT, RESOURCE


def _function(library, name: str, args: list[tuple[str, int]], ret: dict[str, str]):
    function = library.function.add()
    function.signature.name = name
    for arg_name, dtype in args:
        function.signature.input_arg.add(name=arg_name, type=dtype)
    for key in ret:
        function.signature.output_arg.add(name=key, type=FLOAT)
    function.ret.update(ret)
    return function


def _node(function, name: str, op: str, inputs, **types):
    node = function.node_def.add(name=name, op=op)
    node.input.extend(inputs)
    for key, value in types.items():
        node.attr[key].type = value
    return node


def _tf2_graph(body_op: str = "ReadVariableOp") -> Graph:
    g = Graph()
    g.placeholder("x")
    g.resource("w")
    library = g.graph_def.library
    inner = _function(library, "inner", [("x", FLOAT), ("h", RESOURCE)], {"y": "mm:product:0"})
    _node(inner, "read", body_op, ["h"], dtype=FLOAT)
    _node(inner, "mm", "MatMul", ["x", "read:value:0"], T=FLOAT)
    outer = _function(library, "outer", [("x", FLOAT), ("h", RESOURCE)], {"y": "call:output:0"})
    call = _node(outer, "call", "PartitionedCall", ["x", "h"])
    call.attr["f"].func.name = "inner"
    call.attr["Tin"].list.type.extend([FLOAT, RESOURCE])
    call.attr["Tout"].list.type.append(FLOAT)
    _function(library, "traced_save", [("h", RESOURCE)], {})
    top = g.add("serve", "StatefulPartitionedCall", ["x", "w"])
    top.attr["f"].func.name = "outer"
    top.attr["Tin"].list.type.extend([FLOAT, RESOURCE])
    top.attr["Tout"].list.type.append(FLOAT)
    return g


def test_call_with_a_resource_gets_a_specialized_copy():
    g = _tf2_graph()
    reader = MemoryReader({"w": np.ones((2, 2), np.float32)})
    result = rewrite(prune(g.nodes, ["serve"]), ValueSource(reader, g.nodes), library=g.graph_def.library)
    serve = next(i for i in result.items if i.name == "serve")
    assert serve.attr["f"].func.name == "outer_frozen"
    assert list(serve.attr["Tin"].list.type) == [FLOAT, FLOAT]
    created = {f.signature.name: f for f in result.functions}
    assert set(created) == {"outer_frozen", "inner_frozen"}
    outer = created["outer_frozen"]
    assert [a.type for a in outer.signature.input_arg] == [FLOAT, FLOAT]
    assert outer.node_def[0].attr["f"].func.name == "inner_frozen"
    inner = created["inner_frozen"]
    read, matmul = inner.node_def
    assert (read.op, read.attr["T"].type, "dtype" in read.attr) == ("Identity", FLOAT, False)
    assert list(matmul.input) == ["x", "read:output:0"]
    # the originals are untouched
    original = next(f for f in g.graph_def.library.function if f.signature.name == "inner")
    assert original.node_def[0].op == "ReadVariableOp"

    g.graph_def.library.function.extend(result.functions)
    removed = prune_library(g.graph_def.library, result.items)
    assert sorted(removed) == ["inner", "outer", "traced_save"]
    assert sorted(f.signature.name for f in g.graph_def.library.function) == ["inner_frozen", "outer_frozen"]


def test_specializations_are_shared():
    g = _tf2_graph()
    specializer = FunctionSpecializer(g.graph_def.library)
    first = specializer.specialize("inner", {1: (FLOAT, "w")}, "a")
    assert specializer.specialize("inner", {1: (FLOAT, "w2")}, "b") == first
    assert len(specializer.created) == 1


def test_unsupported_use_inside_a_function_is_refused():
    g = _tf2_graph(body_op="AssignVariableOp")
    reader = MemoryReader({"w": np.ones((2, 2), np.float32)})
    with pytest.raises(UsageError, match="in function 'inner_frozen'") as info:
        rewrite(prune(g.nodes, ["serve"]), ValueSource(reader, g.nodes), library=g.graph_def.library)
    assert info.value.code == "UNFOLDABLE"


def test_unknown_function_is_reported():
    specializer = FunctionSpecializer(pb.FunctionDefLibrary())
    with pytest.raises(UsageError, match="not in the graph's library"):
        specializer.specialize("missing", {0: (FLOAT, "w")}, "call")


def test_prune_library_keeps_functions_called_as_ops():
    """A Defun call node's op is the function's name (no attr names it): prune_library dropped such
    functions, and the frozen defun_call fixture was a graph TensorFlow cannot import (exit 0);
    the importability check of issue 12 item 11 found it."""
    from freezer.functions import prune_library

    library = pb.FunctionDefLibrary()
    for name in ("outer", "inner", "unused"):
        library.function.add().signature.name = name
    library.function[0].node_def.add(name="call", op="inner")  # outer's body calls inner as an op
    call = pb.NodeDef(name="y", op="outer")
    assert prune_library(library, [call]) == ["unused"]
    assert [f.signature.name for f in library.function] == ["outer", "inner"]
