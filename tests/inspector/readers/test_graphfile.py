"""Graph files: binary/text GraphDef, MetaGraphDef, SavedModel, and what else a ".pb" can be."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format

from inspector.errors import UnreadableInputError
from inspector.proto import pb
from inspector.readers import graphfile
from inspector.readers.graphfile import load_graph_file, sniff_kind
from tests.corpus import corpus_params
from tests.inspector.readers.builders import nested_text

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "data"


def _graph() -> pb.GraphDef:
    graph = pb.GraphDef()
    graph.node.add(name="x", op="Placeholder").attr["dtype"].type = pb.DataType.DT_FLOAT
    graph.node.add(name="y", op="Identity", input=["x"]).attr["T"].type = pb.DataType.DT_FLOAT
    graph.versions.producer = 2474
    return graph


def _meta() -> pb.MetaGraphDef:
    meta = pb.MetaGraphDef()
    meta.meta_info_def.tensorflow_version = "2.21.0"
    meta.graph_def.CopyFrom(_graph())
    return meta


def test_binary_graphdef(tmp_path):
    path = tmp_path / "g.pb"
    path.write_bytes(_graph().SerializeToString())
    loaded = load_graph_file(path)
    assert (loaded.kind, loaded.text_format, loaded.meta_graph) == ("graphdef", False, None)
    assert [n.name for n in loaded.graph_def.node] == ["x", "y"]
    assert loaded.size == path.stat().st_size
    assert sniff_kind(path) == "graphdef"


def test_binary_metagraph_even_under_a_pb_name(tmp_path):
    path = tmp_path / "misnamed.pb"
    path.write_bytes(_meta().SerializeToString())
    loaded = load_graph_file(path)
    assert loaded.kind == "metagraph" and loaded.tf_version == "2.21.0"
    assert len(loaded.graph_def.node) == 2


def test_text_graphdef_under_a_pb_name(tmp_path):
    path = tmp_path / "text.pb"
    path.write_text("# exported\n" + text_format.MessageToString(_graph()))
    loaded = load_graph_file(path)
    assert loaded.kind == "graphdef" and loaded.text_format
    assert sniff_kind(path) == "text"


def test_text_metagraph(tmp_path):
    path = tmp_path / "m.meta"
    path.write_text(text_format.MessageToString(_meta()))
    loaded = load_graph_file(path)
    assert loaded.kind == "metagraph" and loaded.text_format


def test_saved_model_prefers_serve(tmp_path):
    model = pb.SavedModel(saved_model_schema_version=1)
    train = model.meta_graphs.add()
    train.CopyFrom(_meta())
    train.meta_info_def.tags.append("train")
    serve = model.meta_graphs.add()
    serve.CopyFrom(_meta())
    serve.meta_info_def.tags.append("serve")
    serve.graph_def.node.add(name="z", op="Identity", input=["y"])
    (tmp_path / "saved_model.pb").write_bytes(model.SerializeToString())
    loaded = load_graph_file(tmp_path)
    assert loaded.kind == "saved_model" and loaded.saved_model is not None
    assert len(loaded.graph_def.node) == 3
    assert "2 meta graphs" in loaded.warnings[0]


@pytest.mark.parametrize(("content", "kind", "message"), [
    (b"\x89HDF\r\n\x1a\n" + bytes(100), "hdf5", "HDF5"),
    (b"PK\x03\x04" + bytes(100), "zip", "zip archive"),
    (b"<!DOCTYPE html><html></html>", "html", "HTML page"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n", "lfs_pointer", "Git LFS"),
    (b"model_checkpoint_path: \"m-1\"\n", "text", "checkpoint state file"),
    (b"\xff\xfe\xfd\xfc" * 10, "unknown", "not a TensorFlow GraphDef"),
])
def test_things_that_are_not_graphs(tmp_path, content, kind, message):
    path = tmp_path / "model.pb"
    path.write_bytes(content)
    assert sniff_kind(path) == kind
    with pytest.raises(UnreadableInputError, match=message):
        load_graph_file(path)


def test_tensorproto_is_recognised(tmp_path):
    tensor = pb.TensorProto(dtype=pb.DataType.DT_FLOAT, tensor_content=bytes(16))
    tensor.tensor_shape.dim.add(size=4)
    path = tmp_path / "image.pb"
    path.write_bytes(tensor.SerializeToString())
    assert sniff_kind(path) == "tensorproto"
    with pytest.raises(UnreadableInputError, match="TensorProto"):
        load_graph_file(path)


def test_empty_truncated_and_oversized(tmp_path, monkeypatch):
    empty = tmp_path / "empty.pb"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableInputError, match="empty"):
        load_graph_file(empty)
    data = _graph().SerializeToString()
    cut = tmp_path / "cut.pb"
    cut.write_bytes(data[:-3])  # inside the last field (a cut on a field boundary is a valid message)
    with pytest.raises(UnreadableInputError):
        load_graph_file(cut)
    big = tmp_path / "big.pb"
    big.write_bytes(data)
    monkeypatch.setattr(graphfile, "MAX_PROTO_BYTES", 10)
    with pytest.raises(UnreadableInputError, match="2 GiB"):
        load_graph_file(big)


def test_checkpoint_index_is_not_a_graph(tmp_path):
    import numpy as np

    from tests.inspector.readers.builders import write_bundle
    write_bundle(tmp_path / "m", {"x": np.ones(1, np.float32)})
    assert sniff_kind(tmp_path / "m.index") == "tensor_bundle_index"
    with pytest.raises(UnreadableInputError, match="checkpoint table"):
        load_graph_file(tmp_path / "m.index")


@pytest.mark.parametrize("case", corpus_params())
def test_corpus_graph_files_load_or_fail_cleanly(case):
    names = [f for f in case.files if f.endswith((".pb", ".pbtxt", ".meta", ".ascii"))]
    for name in names:
        try:
            loaded = load_graph_file(case.file(name))
        except UnreadableInputError:
            assert case.kind == "broken", f"{name} should load"
            continue
        assert loaded.kind in ("graphdef", "metagraph", "saved_model")
        assert len(loaded.graph_def.node) > 0


def test_text_nested_deeper_than_protobufs_limit_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.pbtxt"
    path.write_text(nested_text(110))  # 5 KB, 333 levels: Python's text parser overflowed the stack
    with pytest.raises(UnreadableInputError) as info:
        load_graph_file(path)
    message = str(info.value)
    assert "\n" not in message and "deep.pbtxt" in message and "more than 100 levels" in message


def test_text_nesting_counts_messages_not_brackets_in_strings_or_comments(tmp_path):
    assert graphfile.MAX_TEXT_DEPTH == 100
    assert graphfile.text_too_deep(b"a {" * 100 + b"}" * 100) is None
    assert graphfile.text_too_deep(b"a {" * 101 + b"}" * 101) == 302
    assert graphfile.text_too_deep(b"a <" * 101 + b">" * 101) == 302
    quoted = b'node { name: "{{{<<<\\"{{{" # {{{{{{{{\n op: \'<<<{\' }\n' * 60
    assert graphfile.text_too_deep(quoted) is None
    path = tmp_path / "ok.pbtxt"
    path.write_text(nested_text(32))  # 99 levels: parses, as the binary form does
    assert load_graph_file(path).graph_def.node[0].name == "a"


def test_a_named_pipe_is_refused_by_the_graph_reader_and_the_diagnosis(tmp_path):
    import os

    from inspector.diagnosis.fileformat import read_for_diagnosis
    from tests.inspector.readers.builders import without_blocking

    fifo = tmp_path / "model.pb"
    os.mkfifo(fifo)
    for read in (load_graph_file, read_for_diagnosis):
        with pytest.raises(UnreadableInputError, match="named pipe"):
            without_blocking(lambda read=read: read(fifo), [fifo])
