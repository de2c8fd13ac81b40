"""Random graph structures never crash the checks: every outcome is a Diagnosis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.diagnosis import diagnose_graph
from inspector.proto import pb
from inspector.readers.graphfile import LoadedGraph

OPS = ["Const", "Placeholder", "PlaceholderWithDefault", "Identity", "Switch", "RefSwitch", "Merge",
       "RefMerge", "NextIteration", "Enter", "FusedBatchNormV3", "Mean", "SquaredDifference",
       "RandomUniform", "GreaterEqual", "Floor", "Mul", "SelectV2", "Cast", "MatMul", "VariableV2",
       "VarHandleOp", "ReadVariableOp", "AssignSub", "NoOp", "IteratorGetNext", "Resampler", "Shape"]
TYPES = [1, 3, 10, 19, 20, 21, 101, 0, 999]


@st.composite
def graphs(draw) -> pb.GraphDef:
    count = draw(st.integers(0, 12))
    names = [f"n{i}" for i in range(count)] + ["ghost"]
    graph = pb.GraphDef()
    for i in range(count):
        node = graph.node.add(name=names[i] if draw(st.booleans()) or i == 0 else names[i - 1],
                              op=draw(st.sampled_from(OPS)))
        for _ in range(draw(st.integers(0, 4))):
            source = draw(st.sampled_from(names))
            form = draw(st.sampled_from(["{}", "{}:1", "^{}", "{}:7"]))
            node.input.append(form.format(source))
        for key in draw(st.lists(st.sampled_from(["T", "dtype", "SrcT", "DstT", "N", "is_training",
                                                  "value"]), max_size=3)):
            if key == "N":
                node.attr[key].i = draw(st.integers(-1, 3))
            elif key == "is_training":
                node.attr[key].b = draw(st.booleans())
            elif key == "value":
                tensor = node.attr[key].tensor
                tensor.dtype = draw(st.sampled_from(TYPES))
                for size in draw(st.lists(st.integers(-1, 3), max_size=2)):
                    tensor.tensor_shape.dim.add(size=size)
                tensor.tensor_content = draw(st.binary(max_size=12))
                tensor.bool_val.extend(draw(st.lists(st.booleans(), max_size=2)))
            else:
                node.attr[key].type = draw(st.sampled_from(TYPES))
        node.device = draw(st.sampled_from(["", "/device:GPU:0", "/cpu:0"]))
    return graph


@settings(max_examples=300, deadline=None)
@given(graphs(), st.sampled_from(["graphdef", "metagraph", "saved_model"]))
def test_random_graphs_always_give_a_diagnosis(graph, kind):
    loaded = LoadedGraph(kind, False, graph, None, None, "random.pb", graph.ByteSize())
    diagnosis = diagnose_graph(loaded)
    assert diagnosis.exit_code in (0, 1)
    assert diagnosis.to_json()["verdict"] in ("healthy", "findings")
