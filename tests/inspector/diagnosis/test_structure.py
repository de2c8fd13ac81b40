"""Structure checks on graphs with one defect each."""

from __future__ import annotations

from inspector.diagnosis import structure
from inspector.proto import pb
from tests.graphs import BOOL, FLOAT, RESOURCE
from tests.inspector.diagnosis.graphs import Graph, mlp


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_healthy_graph_passes_every_structure_check():
    index = mlp().index()
    assert [f for check in structure.CHECKS for f in check(index)] == []


def test_empty_graph():
    from inspector.diagnosis.graphindex import GraphIndex

    (finding,) = structure.check_empty(GraphIndex(pb.GraphDef()))
    assert (finding.code, finding.severity, finding.evidence["nodes"]) == ("EMPTY_GRAPH", "error", 0)


def test_duplicate_node_counts_occurrences():
    g = mlp()
    g.add("mm", "MatMul", ["x", "w"], T=FLOAT)
    g.add("mm", "MatMul", ["x", "w"], T=FLOAT)
    (finding,) = structure.check_duplicates(g.index())
    assert finding.evidence["duplicates"] == {"mm": 3}


def test_missing_input_names_node_and_input():
    g = mlp()
    g.graph_def.node[4].input[1] = "bias_that_was_stripped"
    (finding,) = structure.check_missing_inputs(g.index())
    assert finding.evidence["missing"] == [{"node": "logits", "input": "bias_that_was_stripped"}]


def test_missing_control_input_counts_too():
    g = mlp()
    g.graph_def.node[5].input.append("^gone")
    assert codes(structure.check_missing_inputs(g.index())) == ["MISSING_INPUT"]


def _while_loop(g: Graph) -> None:
    """i = 0; while i < 5: i += 1 (control flow v1: Enter, Merge, NextIteration back edge)."""
    g.const("zero", 0.0)
    g.const("five", 5.0)
    g.const("one", 1.0)
    g.add("loop/Enter", "Enter", ["zero"], T=FLOAT, frame_name="loop")
    g.add("loop/Merge", "Merge", ["loop/Enter", "loop/NextIteration"], T=FLOAT, N=2)
    g.add("loop/Less", "Less", ["loop/Merge", "five"], T=FLOAT)
    g.add("loop/LoopCond", "LoopCond", ["loop/Less"])
    g.add("loop/Switch", "Switch", ["loop/Merge", "loop/LoopCond"], T=FLOAT)
    g.add("loop/Identity", "Identity", ["loop/Switch:1"], T=FLOAT)
    g.add("loop/add", "AddV2", ["loop/Identity", "one"], T=FLOAT)
    g.add("loop/NextIteration", "NextIteration", ["loop/add"], T=FLOAT)
    g.add("loop/Exit", "Exit", ["loop/Switch"], T=FLOAT)
    g.add("result", "Neg", ["loop/Exit"], T=FLOAT)


def test_while_loop_back_edge_is_not_a_cycle():
    g = Graph()
    _while_loop(g)
    assert structure.check_cycles(g.index()) == []


def test_cycle_outside_a_loop_is_found_with_an_example_path():
    g = mlp()
    g.graph_def.node[3].input[0] = "probs"  # mm <- probs <- logits <- mm
    (finding,) = structure.check_cycles(g.index())
    assert set(finding.evidence["nodes"]) == {"mm", "logits", "probs"}
    assert len(finding.evidence["example"]) == 3


def test_self_loop_is_a_cycle():
    g = mlp()
    g.add("selfish", "Relu", ["selfish"], T=FLOAT)
    assert codes(structure.check_cycles(g.index())) == ["CYCLE"]


def test_no_inputs_names_the_pipeline():
    g = Graph()
    g.add("iterator", "IteratorV2")
    g.add("next", "IteratorGetNext", ["iterator"])
    g.const("w", [[1.0]])
    g.add("out", "MatMul", ["next", "w"], T=FLOAT)
    (finding,) = structure.check_no_inputs(g.index())
    assert (finding.severity, finding.evidence["pipeline_nodes"]) == ("warning", ["iterator", "next"])
    assert "{'next': your_tensor}" in finding.fix
    assert "input_map" in finding.fix


def test_constants_only_graph_has_no_inputs():
    g = Graph()
    g.const("a", [1.0, 2.0])
    g.add("out", "Neg", ["a"], T=FLOAT)
    (finding,) = structure.check_no_inputs(g.index())
    assert finding.evidence["pipeline_nodes"] == []


def test_placeholder_with_default_counts_as_an_input():
    g = Graph()
    g.const("a", [1.0])
    g.add("x", "PlaceholderWithDefault", ["a"], dtype=FLOAT)
    g.add("out", "Neg", ["x"], T=FLOAT)
    assert structure.check_no_inputs(g.index()) == []


def test_no_outputs_when_every_sink_is_bookkeeping():
    g = Graph()
    g.placeholder("x")
    g.const("flag", True, BOOL)
    g.add("init", "NoOp", ["^x", "^flag"])
    (finding,) = structure.check_no_outputs(g.index())
    assert finding.evidence["sinks"] == [{"node": "init", "op": "NoOp"}]


def test_resource_placeholder_feeding_a_table_lookup_is_unfeedable():
    g = mlp()
    g.placeholder("table", RESOURCE)
    g.add("find", "LookupTableFindV2", ["table", "x", "x"])
    g.add("use", "Add", ["find", "probs"], T=FLOAT)
    (finding,) = structure.check_unfeedable_placeholders(g.index())
    assert finding.evidence["placeholders"] == [{"node": "table", "dtype": "resource", "consumers": ["find"]}]


def test_captured_variables_and_unused_placeholders_are_left_to_other_checks():
    g = mlp()
    g.placeholder("var", RESOURCE)
    g.add("read", "ReadVariableOp", ["var"], dtype=FLOAT)
    g.add("use", "Add", ["read", "probs"], T=FLOAT)
    g.placeholder("unused_control_flow_input", RESOURCE)
    assert structure.check_unfeedable_placeholders(g.index()) == []


def test_gpu_pins_are_info_and_cpu_pins_are_fine():
    g = mlp()
    g.graph_def.node[3].device = "/device:GPU:0"
    g.graph_def.node[4].device = "/job:localhost/replica:0/task:0/device:CPU:0"
    (finding,) = structure.check_device_pins(g.index())
    assert (finding.severity, finding.evidence["devices"]) == ("info", {"/device:GPU:0": ["mm"]})
