"""GraphModel: nodes, edges, ports, frames and structural problems, on graphs built in the test."""

from __future__ import annotations

import pytest

from inspector.graph.model import GraphModel, TensorRef
from inspector.proto import pb

FLOAT = pb.DataType.DT_FLOAT


def _graph(*nodes: tuple[str, str, list[str]], attrs: dict | None = None):
    graph = pb.GraphDef()
    for name, op, inputs in nodes:
        node = graph.node.add(name=name, op=op)
        node.input.extend(inputs)
        node.attr["T"].type = FLOAT
        for key, value in (attrs or {}).get(name, {}).items():
            node.attr[key].CopyFrom(value)
    return graph


def test_tensor_ref_parses_every_input_form():
    assert TensorRef.parse("a/b") == TensorRef("a/b", 0, False)
    assert TensorRef.parse("a/b:3") == TensorRef("a/b", 3, False)
    assert TensorRef.parse("^init") == TensorRef("init", -1, True)
    assert TensorRef.parse("odd:name") == TensorRef("odd:name", 0, False)


def test_edges_carry_ports_and_control_flags():
    model = GraphModel(_graph(("x", "Placeholder", []), ("s", "Split", ["x"]),
                              ("m", "Mul", ["s:1", "s:0", "^x"])))
    assert model.g.edges["s", "m"]["ports"] == [(1, 0), (0, 1)]
    assert model.g.edges["s", "m"]["control"] is False
    assert model.g.edges["x", "m"]["control"] is True
    assert model.data_consumers("x") == ["s"]
    assert model.g.nodes["m"]["dtype"] == "float32"


def test_duplicate_and_missing_inputs_are_recorded_not_fatal():
    model = GraphModel(_graph(("a", "Placeholder", []), ("a", "Identity", []),
                              ("b", "Identity", ["ghost:0"])))
    assert model.problems.duplicate_nodes == ["a"]
    assert model.problems.missing_inputs == [("b", "ghost:0")]
    assert len(model) == 2


def test_while_loop_nodes_get_their_frame():
    frame = pb.AttrValue(s=b"loop")
    model = GraphModel(_graph(
        ("x", "Placeholder", []), ("enter", "Enter", ["x"]), ("merge", "Merge", ["enter", "next"]),
        ("body", "Square", ["merge"]), ("next", "NextIteration", ["body"]), ("exit", "Exit", ["merge"]),
        ("after", "Identity", ["exit"]), attrs={"enter": {"frame_name": frame}}))
    frames = dict(model.g.nodes(data="frame"))
    assert frames["x"] == "" and frames["after"] == ""
    assert frames["merge"] == frames["body"] == frames["next"] == frames["exit"] == "loop"


def test_shapes_from_output_shapes_shape_attr_and_const():
    shape = pb.AttrValue()
    shape.shape.dim.add(size=-1)
    shape.shape.dim.add(size=3)
    const = pb.AttrValue()
    const.tensor.tensor_shape.dim.add(size=2)
    model = GraphModel(_graph(("p", "Placeholder", []), ("c", "Const", []),
                              attrs={"p": {"shape": shape}, "c": {"value": const}}))
    assert model.g.nodes["p"]["shape"] == [-1, 3]
    assert model.g.nodes["c"]["shape"] == [2]


def test_collections_resolve_tensor_names_to_nodes():
    meta = pb.MetaGraphDef()
    meta.graph_def.CopyFrom(_graph(("loss", "Mean", [])))
    meta.collection_def["losses"].node_list.value.append("loss:0")
    model = GraphModel.from_meta_graph(meta)
    assert model.collection("losses") == ["loss"]
    assert model.collection("absent") == []


# ---------------------------------------------------------------------------------------------
# Every node's dtype against TensorFlow's, over every fixture and corpus graph TensorFlow imports


def _dtype_cases() -> list:
    from fixtures.registry import all_fixtures
    from tests.corpus import corpus_cases

    paths = []
    for fixture in all_fixtures():
        path = fixture.full_path
        if path.is_file() and path.suffix in (".pb", ".pbtxt", ".meta"):
            paths.append(pytest.param(path, id=f"fixture:{fixture.name}"))
        elif path.is_dir():
            metas = sorted(path.glob("*.meta"))[-1:]
            paths += [pytest.param(p, id=f"fixture:{fixture.name}/{p.name}") for p in metas]
    for case in corpus_cases():
        for name in case.files:
            if name.endswith((".pb", ".pbtxt", ".meta")):
                paths.append(pytest.param(case.file(name), id=f"corpus:{case.case}/{name}"))
    return paths


@pytest.mark.tf
@pytest.mark.parametrize("path", _dtype_cases())
def test_every_output_dtype_is_tensorflows(path):
    """GraphModel's dtype of output 0 is what TensorFlow gives that tensor (a ref as its base type)."""
    import tensorflow as tf

    from inspector.diagnosis import diagnose_path
    from inspector.diagnosis.fileformat import read_for_diagnosis

    loaded, _ = read_for_diagnosis(path)
    if loaded is None:  # not a graph at all (a broken fixture): no dtype to compare, and it says so
        assert diagnose_path(path).exit_code == 2
        return
    graph_def = tf.compat.v1.GraphDef.FromString(loaded.complete_graph_def().SerializeToString())
    for node in graph_def.node:
        node.attr.pop("_output_shapes", None)  # stale shapes make TF refuse some corpus graphs
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
    except Exception:
        assert diagnose_path(path).exit_code != 0, path
        return
    model = GraphModel(loaded.graph_def, loaded.meta_graph)
    wrong = []
    for op in graph.get_operations():
        expected = op.outputs[0].dtype.base_dtype.name if op.outputs else None
        if model.attrs[op.name]["dtype"] != expected:
            wrong.append(f"{op.name} ({op.type}): ours {model.attrs[op.name]['dtype']}, TF {expected}")
    assert not wrong, "\n".join(wrong[:20])
