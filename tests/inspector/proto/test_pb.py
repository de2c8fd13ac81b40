"""Our message classes: loadable without TensorFlow, and wire-compatible with TensorFlow's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from google.protobuf import text_format

from inspector.proto import pb


def test_graphdef_round_trip_binary_and_text():
    graph = pb.GraphDef()
    node = graph.node.add(name="w", op="Const")
    node.attr["dtype"].type = pb.DataType.DT_FLOAT
    node.attr["value"].tensor.dtype = pb.DataType.DT_FLOAT
    node.attr["value"].tensor.float_val.append(1.5)
    assert pb.GraphDef.FromString(graph.SerializeToString()) == graph
    assert text_format.Parse(text_format.MessageToString(graph), pb.GraphDef()) == graph


def test_datatype_enum_lookups():
    assert pb.DataType.Name(19) == "DT_HALF"
    assert pb.DataType.Value("DT_BFLOAT16") == 14
    assert pb.DataType.DT_FLOAT_REF == 101
    assert pb.DataType.get_name(999) is None


def test_loading_does_not_import_tensorflow():
    code = "import sys; from inspector.proto import pb; pb.GraphDef(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _field_table(descriptor) -> dict:
    return {f.name: (f.number, f.type, f.is_repeated,
                     f.message_type.full_name if f.message_type else None,
                     f.enum_type.full_name if f.enum_type else None)
            for f in descriptor.fields}


@pytest.mark.tf
def test_every_message_matches_tensorflow_field_for_field():
    """Each message we define has exactly TensorFlow's field names, numbers, types and labels."""
    from google.protobuf import descriptor_pool

    # Importing the generated modules registers TensorFlow's descriptors in the default pool.
    from tensorflow.core.protobuf import (  # noqa: F401
        control_flow_pb2,
        meta_graph_pb2,
        saved_model_pb2,
        tensor_bundle_pb2,
    )
    from tensorflow.core.util import saved_tensor_slice_pb2  # noqa: F401
    from tensorflow.python.training import checkpoint_state_pb2  # noqa: F401

    tf_pool = descriptor_pool.Default()
    checked = 0
    for file_name in ("tensorflow/core/protobuf/meta_graph.proto",
                      "tensorflow/core/protobuf/saved_model.proto",
                      "tensorflow/core/protobuf/tensor_bundle.proto",
                      "tensorflow/core/util/saved_tensor_slice.proto",
                      "tensorflow/core/protobuf/control_flow.proto",
                      "tensorflow/python/training/checkpoint_state.proto"):
        ours = pb.POOL.FindFileByName(file_name)
        stack = list(ours.message_types_by_name.values())
        while stack:
            message = stack.pop()
            stack.extend(message.nested_types)
            theirs = tf_pool.FindMessageTypeByName(message.full_name)
            assert _field_table(message) == _field_table(theirs), message.full_name
            checked += 1
    assert checked > 30


@pytest.mark.tf
def test_coexists_with_tensorflow_classes_in_one_process():
    import tensorflow as tf

    graph = pb.GraphDef()
    graph.node.add(name="x", op="Placeholder").attr["dtype"].type = pb.DataType.DT_FLOAT
    theirs = tf.compat.v1.GraphDef.FromString(graph.SerializeToString())
    assert theirs.node[0].name == "x"
