"""inline_calls: a PartitionedCall becomes its function's body; an If on a constant, its taken branch."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.inference.calls import inline_calls
from inspector.proto import pb
from tests.freezer.inference.helpers import graph_of, run_tf, to_graph_def
from tests.graphs import BOOL, FLOAT, GraphBuilder


def _double(library, name: str, factor: float) -> None:
    """``name(x) = x * factor`` as a FunctionDef (inputs named ``node:out_arg:index`` inside)."""
    function = library.function.add()
    function.signature.name = name
    function.signature.input_arg.add(name="x", type=FLOAT)
    function.signature.output_arg.add(name="y", type=FLOAT)
    c = function.node_def.add(name="c", op="Const")
    c.attr["dtype"].type = FLOAT
    c.attr["value"].tensor.dtype = FLOAT
    c.attr["value"].tensor.tensor_shape.SetInParent()
    c.attr["value"].tensor.float_val.append(factor)
    m = function.node_def.add(name="m", op="Mul", input=["x", "c:output:0"])
    m.attr["T"].type = FLOAT
    function.ret["y"] = "m:z:0"


def _call_graph() -> GraphBuilder:
    g = GraphBuilder()
    _double(g.graph_def.library, "double", 2.0)
    g.placeholder("x")
    call = g.add("call", "PartitionedCall", ["x"])
    call.attr["Tin"].list.type.append(FLOAT)
    call.attr["Tout"].list.type.append(FLOAT)
    call.attr["f"].func.name = "double"
    g.add("y", "Relu", ["call"], T=FLOAT)
    return g


def test_a_call_becomes_its_body():
    graph = graph_of(_call_graph(), ["y"])
    assert len(inline_calls(graph)) == 1
    graph.prune()
    ops = {item.name: item.op for item in graph.items}
    assert "PartitionedCall" not in ops.values() and ops["call/m"] == "Mul"
    assert list(graph.node("y").input) == ["call/m"]


def test_an_output_call_is_named_after_the_signature():
    g = _call_graph()
    graph = graph_of(g, ["call"], signature_outputs={"call:0": "scores"})
    inline_calls(graph)
    assert graph.outputs == ["scores"] and graph.renamed == {"call:0": "scores:0"}
    assert graph.node("scores").op == "Identity"


def test_if_on_a_constant_inlines_only_its_branch():
    g = GraphBuilder()
    _double(g.graph_def.library, "twice", 2.0)
    _double(g.graph_def.library, "thrice", 3.0)
    g.placeholder("x")
    g.const("pred", False, dtype=BOOL)
    node = g.add("cond", "If", ["pred", "x"], Tcond=BOOL)
    node.attr["Tin"].list.type.append(FLOAT)
    node.attr["Tout"].list.type.append(FLOAT)
    node.attr["then_branch"].func.name = "twice"
    node.attr["else_branch"].func.name = "thrice"
    g.add("y", "Relu", ["cond"], T=FLOAT)
    graph = graph_of(g, ["y"])
    assert "thrice" in inline_calls(graph)[0]
    graph.prune()
    assert "If" not in {item.op for item in graph.items}


@pytest.mark.tf
def test_the_inlined_graph_computes_the_same():
    builder = _call_graph()
    feeds = {"x:0": np.array([-1.0, 2.0], np.float32)}
    expected = run_tf(builder.graph_def, ["y:0"], feeds)[0]
    graph = graph_of(builder, ["y"])
    inline_calls(graph)
    graph.prune()
    out = to_graph_def(graph)
    out.ClearField("library")
    np.testing.assert_array_equal(run_tf(out, ["y:0"], feeds)[0], expected)
    assert isinstance(out, pb.GraphDef)
