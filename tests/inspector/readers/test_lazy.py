"""Graphs parsed with their big tensor fields left out give the same answers as a full parse.

Every binary graph among the fixtures (and the corpus, when present) is parsed twice: whole, and with every
strippable tensor field of at least one byte left out (threshold 1, far below the real 1 KiB). The node
list, the sizes, the values read back on demand and the bytes the freezer writes back must be the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from freezer.writer import SplicedNode, with_left_out
from inspector.diagnosis.graphindex import const_nbytes
from inspector.errors import UnreadableInputError
from inspector.graph.model import GraphModel
from inspector.proto import pb
from inspector.readers import lazy
from inspector.readers.graphfile import load_graph_file
from inspector.readers.varint import encode_varint
from tests.corpus import corpus_cases

ROOT = Path(__file__).resolve().parents[3]
_KIND_CLASS = {"graphdef": pb.GraphDef, "metagraph": pb.MetaGraphDef, "saved_model": pb.SavedModel}


def _graph_files() -> list[Path]:
    found = sorted(p for p in (ROOT / "fixtures" / "data").rglob("*")
                   if p.is_file() and p.suffix in (".pb", ".meta"))
    for case in corpus_cases():
        for name in case.files:
            if name.endswith((".pb", ".meta")):
                found.append(case.file(name))
    return found


def _parsed(path: Path):
    """(kind, full message, stripped message, records) or None when the file is no binary graph."""
    try:
        loaded = load_graph_file(path)
    except UnreadableInputError:
        return None
    if loaded.text_format:
        return None
    cls = _KIND_CLASS[loaded.kind]
    data = path.read_bytes()
    full = cls.FromString(data)
    stripped, records = lazy.parse(str(path), data, cls, loaded.kind, threshold=1)
    return loaded.kind, full, stripped, records


def _graphs(kind: str, message) -> list:
    if kind == "graphdef":
        return [message]
    if kind == "metagraph":
        return [message.graph_def]
    return [m.graph_def for m in message.meta_graphs]


def _binary_graph(path: Path) -> bool:
    """A file the lazy parse applies to (text, damaged files and other messages are tested elsewhere)."""
    try:
        return not load_graph_file(path).text_format
    except UnreadableInputError:
        return False


GRAPH_FILES = _graph_files()  # damaged ones too: the refusal must be the same either way
BINARY_GRAPH_FILES = [path for path in GRAPH_FILES if _binary_graph(path)]


@pytest.mark.parametrize("path", BINARY_GRAPH_FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_lazy_parse_gives_the_full_parse_back(path):
    kind, full, stripped, records = _parsed(path)
    stamp = lazy.file_stamp(str(path))
    for scope, (whole, light) in enumerate(zip(_graphs(kind, full), _graphs(kind, stripped), strict=True)):
        assert [(n.name, n.op, list(n.input), n.device) for n in light.node] == \
            [(n.name, n.op, list(n.input), n.device) for n in whole.node]
        tensors = lazy.lazy_for(str(path), records, scope, light, stamp)
        if tensors is None:
            assert light == whole
            continue
        assert tensors.materialized(light) == whole
        light_model, whole_model = GraphModel(light, lazy=tensors), GraphModel(whole)
        assert light_model.attrs == whole_model.attrs and light_model.inputs == whole_model.inputs
        for index, record in tensors.records.items():
            node, original = light.node[index], whole.node[index]
            assert record.name == original.name
            for key in record.attrs:
                assert tensors.tensor(node, key) == original.attr[key].tensor
                assert node.attr[key].tensor.ByteSize() < original.attr[key].tensor.ByteSize()
            if original.op == "Const":
                assert const_nbytes(node, tensors) == const_nbytes(original)
                assert tensors.content_size(node) in (None, len(original.attr["value"].tensor.tensor_content))
            # What the freezer writes for the node: the complete node's deterministic bytes.
            item = SplicedNode(node, tensors)
            pieces, total = item.pieces()
            written = b"".join(p if isinstance(p, bytes) else tensors.read(*p) for p in pieces)
            assert written == original.SerializeToString(deterministic=True)
            assert total == len(written) == item.node_size()
            assert item.to_node_def() == original
        tensors.close()


def test_fixtures_include_graphs_with_left_out_tensors():
    """The test above is not vacuous: most fixture graphs hold Consts whose contents are left out."""
    with_records = [p for p in BINARY_GRAPH_FILES if (parsed := _parsed(p)) is not None and parsed[3]
                    and any(parsed[3].values())]
    assert len(with_records) >= 10


# --------------------------------------------------------------------------------------------- wire cases
def _const(name: str, content: bytes, dtype: int = 1) -> pb.NodeDef:
    node = pb.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = dtype
    tensor = node.attr["value"].tensor
    tensor.dtype = dtype
    tensor.tensor_shape.dim.add(size=len(content) // 4)
    tensor.tensor_content = content
    return node


def _graph_bytes(*nodes) -> bytes:
    graph = pb.GraphDef()
    for node in nodes:
        graph.node.add().CopyFrom(node)
    return graph.SerializeToString(deterministic=True)


def _check_same(data: bytes, threshold: int = 1) -> dict:
    full = pb.GraphDef.FromString(data)
    light, records = lazy.parse("", data, pb.GraphDef, "graphdef", threshold=threshold)
    tensors = lazy.LazyTensors("", records.get(0, {}), graph_def=light)
    tensors.read = lambda offset, length: data[offset:offset + length]  # no file behind these bytes
    assert tensors.materialized(light) == full
    return records.get(0, {})


def test_duplicated_content_field_is_parsed_whole():
    """protobuf keeps the last of two tensor_content fields: such a tensor is not touched."""
    twice = _graph_bytes(_const("w", b"\x01" * 64), _const("w", b"\x02" * 64))  # two nodes: fine
    assert set(_check_same(twice)) == {0, 1}
    tensor = _const("w", b"\x01" * 64).attr["value"].tensor.SerializeToString() + \
        pb.TensorProto(tensor_content=b"\x03" * 64).SerializeToString()
    value = b"\x42" + encode_varint(len(tensor)) + tensor  # AttrValue.tensor (field 8)
    entry = b"\x0a\x05value" + b"\x12" + encode_varint(len(value)) + value
    raw = pb.NodeDef(name="w", op="Const").SerializeToString() + b"\x2a" + encode_varint(len(entry)) + entry
    data = b"\x0a" + encode_varint(len(raw)) + raw
    assert pb.GraphDef.FromString(data).node[0].attr["value"].tensor.tensor_content == b"\x03" * 64
    assert _check_same(data) == {}


def test_a_later_attr_entry_replaces_a_left_out_one():
    """Map entries with one key: the last wins, so an earlier entry's left-out tensor is forgotten."""
    node = _const("w", b"\x01" * 64)
    small = pb.NodeDef(attr={"value": pb.AttrValue(i=7)}).SerializeToString()
    raw = node.SerializeToString(deterministic=True) + small
    data = b"\x0a" + encode_varint(len(raw)) + raw
    assert pb.GraphDef.FromString(data).node[0].attr["value"].i == 7
    assert _check_same(data) == {}


def test_oneof_after_the_tensor_keeps_the_value_whole():
    """An AttrValue holding a tensor and then another member of its oneof is parsed whole."""
    value = pb.AttrValue(tensor=pb.TensorProto(tensor_content=b"\x01" * 64)).SerializeToString() + \
        pb.AttrValue(i=3).SerializeToString()
    entry = b"\x0a\x05value" + b"\x12" + encode_varint(len(value)) + value
    raw = pb.NodeDef(name="w", op="Const").SerializeToString() + b"\x2a" + encode_varint(len(entry)) + entry
    data = b"\x0a" + encode_varint(len(raw)) + raw
    assert _check_same(data) == {}


def test_packed_values_of_a_bad_length_still_fail_to_parse():
    """A packed float_val whose length is no multiple of 4 is left in, so the parse fails as before."""
    tensor = pb.TensorProto(dtype=1).SerializeToString() + b"\x2a\x05" + b"\x00" * 5  # float_val, 5 bytes
    value = b"\x42" + encode_varint(len(tensor)) + tensor
    entry = b"\x0a\x05value" + b"\x12" + encode_varint(len(value)) + value
    raw = pb.NodeDef(name="w", op="Const").SerializeToString() + b"\x2a" + encode_varint(len(entry)) + entry
    data = b"\x0a" + encode_varint(len(raw)) + raw
    with pytest.raises(Exception) as whole:
        pb.GraphDef.FromString(data)
    with pytest.raises(type(whole.value)):
        lazy.parse("", data, pb.GraphDef, "graphdef", threshold=1)


def test_packed_float_values_are_left_out_and_read_back():
    node = pb.NodeDef(name="w", op="Const")
    node.attr["value"].tensor.float_val.extend([0.5] * 300)
    records = _check_same(_graph_bytes(node, _const("c", b"\x07" * 4096)))
    assert records[0].attrs["value"].size_of(5) == 1200 and records[1].attrs["value"].size_of(4) == 4096


def test_duplicate_node_names_find_their_own_record():
    a, b = _const("same", b"\x01" * 64), _const("same", b"\x02" * 128)
    data = _graph_bytes(a, b)
    light, records = lazy.parse("", data, pb.GraphDef, "graphdef", threshold=1)
    tensors = lazy.LazyTensors("", records[0], graph_def=light)
    tensors.read = lambda offset, length: data[offset:offset + length]
    assert tensors.tensor(light.node[0]).tensor_content == b"\x01" * 64
    assert tensors.tensor(light.node[1]).tensor_content == b"\x02" * 128


def test_a_node_changed_since_the_parse_is_not_spliced():
    data = _graph_bytes(_const("w", b"\x01" * 64))
    light, records = lazy.parse("", data, pb.GraphDef, "graphdef", threshold=1)
    tensors = lazy.LazyTensors("", records[0], graph_def=light)
    node = light.node[0]
    assert tensors.stripped(node) is not None
    node.attr["value"].tensor.tensor_content = b"\x09" * 8  # a rewrite set a new value
    assert tensors.stripped(node) is None
    assert with_left_out([node], tensors) == [node]


def test_a_graph_file_changed_after_the_parse_is_refused(tmp_path):
    path = tmp_path / "g.pb"
    path.write_bytes(_graph_bytes(_const("w", b"\x01" * 4096)))
    loaded = load_graph_file(path)
    assert loaded.lazy is not None and loaded.lazy.content_size(loaded.graph_def.node[0]) == 4096
    path.write_bytes(_graph_bytes(_const("w", b"\x02" * 4096)) + b"\x00")
    os.utime(path, ns=(1, 1))
    with pytest.raises(UnreadableInputError, match="changed"):
        loaded.lazy.tensor(loaded.graph_def.node[0])


def test_big_consts_are_left_out_of_the_parse_by_default(tmp_path):
    """The default threshold leaves weights out and small values in."""
    path = tmp_path / "g.pb"
    shape = pb.NodeDef(name="shape", op="Const")
    shape.attr["value"].tensor.int_val.extend([1, 2])
    path.write_bytes(_graph_bytes(_const("w", b"\x01" * (1 << 16)), _const("b", b"\x01" * 16), shape))
    loaded = load_graph_file(path)
    nodes = loaded.graph_def.node
    assert not nodes[0].attr["value"].tensor.tensor_content
    assert nodes[1].attr["value"].tensor.tensor_content == b"\x01" * 16
    assert set(loaded.lazy.records) == {0}
    assert json.dumps(sorted(loaded.lazy.records[0].attrs)) == '["value"]'
    assert loaded.complete_graph_def().node[0].attr["value"].tensor.tensor_content == b"\x01" * (1 << 16)


# --------------------------------------------------------------------------------------------- whole commands
def _with_threshold(monkeypatch, threshold: int, run):
    monkeypatch.setattr(lazy, "LAZY_MIN_BYTES", threshold)
    return run()


def _report(path: Path) -> str:
    from inspector.errors import Ckpt2pbError
    from inspector.report import inspect_path

    try:
        return json.dumps(inspect_path(str(path)), sort_keys=True, default=str)
    except Ckpt2pbError as error:  # the same refusal either way
        return str(error)


@pytest.mark.parametrize("path", GRAPH_FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_inspect_says_the_same_with_every_tensor_field_left_out(path, monkeypatch):
    """The whole ``inspect --json`` report (diagnosis, ranking, sizes) is the same whether every
    strippable tensor field of the graph was left out of the parse or none was."""
    whole = _with_threshold(monkeypatch, 1 << 62, lambda: _report(path))
    light = _with_threshold(monkeypatch, 1, lambda: _report(path))
    assert light == whole


def _frozen_graphs() -> list[Path]:
    """Fixture graph files that freeze (an already frozen graph is pruned to its outputs)."""
    return [p for p in GRAPH_FILES if p.suffix == ".pb" and "fixtures" in p.parts and "graphs" in p.parts]


@pytest.mark.parametrize("path", _frozen_graphs(), ids=lambda p: p.name)
def test_freeze_writes_the_same_bytes_with_every_tensor_field_left_out(path, tmp_path, monkeypatch):
    """A frozen graph pruned by ``freeze``: the node bytes copied back from the input file make the
    same output file as a full parse (also as text, and with --for-inference)."""
    from freezer.api import freeze

    for options in ({}, {"as_text": True}, {"for_inference": True}):
        outputs = {}
        for threshold in (1 << 62, 1):
            folder = tmp_path / str(threshold)
            folder.mkdir(exist_ok=True)
            target = folder / "frozen.out"
            monkeypatch.setattr(lazy, "LAZY_MIN_BYTES", threshold)
            try:
                freeze(path, auto_outputs=True, output_path=target, **options)
            except Exception as error:
                outputs[threshold] = f"{type(error).__name__}: {error}".replace(str(folder), "")
                continue
            outputs[threshold] = target.read_bytes()
        assert outputs[1] == outputs[1 << 62], options
