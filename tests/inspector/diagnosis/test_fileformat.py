"""Reading a file for diagnosis: every way a file is not a readable graph becomes one finding."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.diagnosis import diagnose_path, fileformat
from inspector.diagnosis.fileformat import read_for_diagnosis
from inspector.errors import UnreadableInputError
from inspector.proto import pb
from tests.inspector.diagnosis.graphs import mlp
from tests.inspector.readers.builders import nested_text

GRAPHS = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "graphs"


def _only(path: Path | str) -> object:
    loaded, findings = read_for_diagnosis(path)
    assert loaded is None
    assert len(findings) == 1
    return findings[0]


@pytest.mark.parametrize(("name", "what"), [("html_page.pb", "html"), ("lfs_pointer.pb", "git-lfs-pointer"),
                                            ("zipped.pb", "zip"), ("keras_h5.pb", "hdf5")])
def test_foreign_formats_are_not_protobuf(name, what):
    finding = _only(GRAPHS / name)
    assert (finding.code, finding.severity, finding.evidence["what"]) == ("NOT_PROTOBUF", "error", what)


def test_lfs_pointer_evidence_gives_the_real_size():
    finding = _only(GRAPHS / "lfs_pointer.pb")
    assert finding.evidence["real_size"] == (GRAPHS / "healthy_mlp.pb").stat().st_size
    assert "git lfs pull" in finding.fix


def test_zip_lists_the_graph_inside():
    finding = _only(GRAPHS / "zipped.pb")
    assert finding.evidence["members"] == ["model/healthy_mlp.pb"]
    assert "model/healthy_mlp.pb" in finding.fix


def test_html_title_is_evidence():
    assert "frozen_model.pb" in _only(GRAPHS / "html_page.pb").evidence["title"]


def test_truncated_binary_says_where_and_how_much_is_missing():
    finding = _only(GRAPHS / "truncated.pb")
    full = (GRAPHS / "healthy_cnn_bn.pb").stat().st_size
    assert finding.code == "TRUNCATED"
    assert finding.evidence["file_size"] == (GRAPHS / "truncated.pb").stat().st_size
    assert finding.evidence["needs_file_size"] <= full
    assert finding.evidence["declared_length"] > finding.evidence["available"]
    assert finding.evidence["message"] == "GraphDef"


def test_truncation_inside_the_first_huge_node_is_still_truncated(tmp_path):
    g = mlp()
    big = g.graph_def.node[1]  # the weights Const: make it the first, large node
    big.attr["value"].tensor.tensor_content = bytes(4000)
    order = [big] + [n for n in g.graph_def.node if n.name != big.name]
    graph = pb.GraphDef(node=order)
    path = tmp_path / "cut.pb"
    path.write_bytes(graph.SerializeToString()[:1000])
    finding = _only(path)
    assert finding.code == "TRUNCATED"
    assert finding.evidence["complete"] == 0


def test_corrupt_binary_names_offset_and_node():
    finding = _only(GRAPHS / "corrupt.pb")
    assert finding.code == "CORRUPT"
    assert finding.evidence["offset"] == 89
    assert finding.evidence["field"] == "node[1] 'scaled_features/y'"


def test_tensorproto_is_other_protobuf_with_dtype_and_shape():
    finding = _only(GRAPHS / "tensorproto.pb")
    assert finding.code == "OTHER_PROTOBUF"
    assert finding.evidence == {"message": "TensorProto", "dtype": "float32", "shape": [1, 4, 4, 1]}


def test_checkpoint_index_and_state_file_are_recognised():
    assert _only(GRAPHS / "mlp_ckpt" / "model.ckpt.index").evidence["what"] == "checkpoint-index"
    assert _only(GRAPHS / "mlp_ckpt" / "checkpoint").evidence["message"] == "CheckpointState"


def test_text_under_pb_name_is_read_and_flagged():
    loaded, findings = read_for_diagnosis(GRAPHS / "text_under_pb_name.pb")
    assert loaded.text_format and loaded.kind == "graphdef" and len(loaded.graph_def.node) == 17
    assert [f.code for f in findings] == ["TEXT_FORMAT"]


def test_text_under_pbtxt_name_is_not_flagged():
    loaded, findings = read_for_diagnosis(GRAPHS / "healthy_text.pbtxt")
    assert loaded.text_format and findings == []


def test_truncated_text_is_truncated_and_broken_text_is_corrupt(tmp_path):
    text = (GRAPHS / "healthy_text.pbtxt").read_text()
    cut = tmp_path / "cut.pbtxt"
    cut.write_text(text[: len(text) // 2])
    assert _only(cut).code == "TRUNCATED"
    broken = tmp_path / "broken.pbtxt"
    broken.write_text(text.replace('op: "MatMul"', 'op: MatMul"', 1))
    finding = _only(broken)
    assert finding.code == "CORRUPT" and finding.evidence["line"] < finding.evidence["lines"]


def test_text_protobuf_of_another_kind_is_other_protobuf(tmp_path):
    config = tmp_path / "pipeline.pb"
    config.write_text("model {\n  ssd {\n    num_classes: 3\n  }\n}\n")
    finding = _only(config)
    assert finding.code == "OTHER_PROTOBUF" and finding.evidence["first_field"] == "model"


def test_plain_text_and_random_bytes_are_not_protobuf(tmp_path):
    page = tmp_path / "404.pb"
    page.write_text("404: Not Found")
    assert _only(page).evidence["what"] == "text"
    noise = tmp_path / "noise.pb"
    noise.write_bytes(bytes([0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x81]))
    assert _only(noise).evidence["what"] == "unknown"


def test_over_2gb_is_reported_without_reading(monkeypatch):
    monkeypatch.setattr(fileformat, "PROTOBUF_LIMIT", 1000)
    finding = _only(GRAPHS / "healthy_mlp.pb")
    assert finding.code == "OVER_2GB"
    assert finding.evidence == {"size": (GRAPHS / "healthy_mlp.pb").stat().st_size, "limit": 1000}
    assert diagnose_path(GRAPHS / "healthy_mlp.pb").exit_code == 2


def test_a_file_exactly_at_the_limit_is_read_its_lookalike_counter_example(monkeypatch):
    """OVER_2GB's counter-example: protobuf's limit is inclusive, a file of exactly that size parses."""
    size = (GRAPHS / "healthy_mlp.pb").stat().st_size
    monkeypatch.setattr(fileformat, "PROTOBUF_LIMIT", size)
    assert diagnose_path(GRAPHS / "healthy_mlp.pb").codes == []


def test_metagraph_and_saved_model_are_read_from_the_graph_inside():
    meta, _ = read_for_diagnosis(GRAPHS / "meta_as_graph.meta")
    assert meta.kind == "metagraph" and meta.graph_def.node
    saved, _ = read_for_diagnosis(GRAPHS / "saved_model_tf1")  # the folder works too
    assert saved.kind == "saved_model" and saved.graph_def.node
    assert saved.path.endswith("saved_model.pb")


def test_missing_file_raises_unreadable(tmp_path):
    with pytest.raises(UnreadableInputError, match="no such file"):
        read_for_diagnosis(tmp_path / "nope.pb")


_HEALTHY = (GRAPHS / "healthy_cnn_bn.pb").read_bytes() if (GRAPHS / "healthy_cnn_bn.pb").exists() else b""


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 8))
def test_mutated_graphs_give_a_diagnosis_never_an_exception(tmp_path_factory, seed, flips):
    rng = random.Random(seed)
    data = bytearray(_HEALTHY)
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        data = data[: rng.randrange(len(data))]
    path = tmp_path_factory.mktemp("fuzz") / "m.pb"
    path.write_bytes(bytes(data))
    diagnosis = diagnose_path(path)
    assert diagnosis.exit_code in (0, 1, 2)


def test_text_meta_is_not_text_format_because_tf_reads_both(tmp_path):
    from google.protobuf import text_format

    meta, _ = read_for_diagnosis(GRAPHS / "meta_as_graph.meta")
    path = tmp_path / "model.meta"
    path.write_text(text_format.MessageToString(meta.meta_graph))
    loaded, findings = read_for_diagnosis(path)
    assert (loaded.kind, loaded.text_format, findings) == ("metagraph", True, [])


def test_binary_graph_that_looks_like_text_is_still_read(tmp_path):
    """A node of 65+ bytes (a letter) with a 58-byte name (':') starts like text: the guess must fall back."""
    graph = pb.GraphDef()
    node = graph.node.add(name="n" * 58, op="Placeholder")
    node.attr["dtype"].type = 1
    data = graph.SerializeToString()
    assert data[:1] == b"\n" and data[1:2].isalpha() and data[2:4] == b"\n:"
    assert fileformat._TEXT_START.match(data)
    path = tmp_path / "odd.pb"
    path.write_bytes(data)
    loaded, findings = read_for_diagnosis(path)
    assert (loaded.kind, loaded.text_format, findings) == ("graphdef", False, [])


@pytest.mark.parametrize("name", ["healthy_mlp.pb", "healthy_cnn_bn.pb", "healthy_rnn_while.pb",
                                  "graph_only.pb", "meta_as_graph.meta", "saved_model_tf1/saved_model.pb"])
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.8, 0.999])
def test_any_cut_of_a_binary_graph_is_truncated(tmp_path, name, fraction):
    from inspector.diagnosis.wire import walk_generic

    data = (GRAPHS / name).read_bytes()
    cut = data[: max(2, int(len(data) * fraction))]
    while walk_generic(cut) is not None:  # a cut on a field boundary is a shorter valid message
        cut = cut[:-1]
    path = tmp_path / Path(name).name
    path.write_bytes(cut)
    finding = _only(path)
    assert finding.code == "TRUNCATED", finding.message
    assert finding.evidence["needs_file_size"] <= len(data)


@pytest.mark.parametrize(("encoding", "prefix"), [("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", b"\xff\xfe")])
def test_text_graph_with_a_byte_order_mark_is_read_and_flagged(tmp_path, encoding, prefix):
    text = (GRAPHS / "healthy_text.pbtxt").read_text()
    path = tmp_path / "graph.pbtxt"
    path.write_bytes(text.encode(encoding))
    assert path.read_bytes().startswith(prefix)
    loaded, findings = read_for_diagnosis(path)
    assert len(loaded.graph_def.node) == 17
    (finding,) = findings
    assert (finding.code, finding.severity) == ("TEXT_FORMAT", "error")
    assert finding.evidence["encoding"] == encoding


def test_text_nested_past_the_depth_limit_is_corrupt_with_the_line(tmp_path):
    path = tmp_path / "deep.pbtxt"
    path.write_text("# comment\n" + nested_text(110))
    loaded, findings = read_for_diagnosis(path)
    assert loaded is None
    [finding] = findings
    assert finding.code == "CORRUPT" and "more than 100 levels deep (line 2)" in finding.message
    assert finding.evidence["depth_limit"] == 100 and finding.evidence["line"] == 2
