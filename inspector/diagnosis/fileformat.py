"""Read a graph file for diagnosis: what the bytes really are, and where they stop making sense.

Unlike a reader, which must refuse bad input, the diagnosis turns every way a file can be wrong
into a finding: an HTML page or a Git LFS pointer saved as ``model.pb`` (NOT_PROTOBUF), a
serialized TensorProto (OTHER_PROTOBUF), a download cut short (TRUNCATED, with the offset and the
length the file still promised), flipped bytes (CORRUPT), text under a binary name (TEXT_FORMAT),
a MetaGraphDef or SavedModel given as a graph (NOT_A_GRAPHDEF, then analysed from the graph
inside), or a file beyond protobuf's 2 GiB limit (OVER_2GB). Only a missing file raises.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from inspector.diagnosis.findings import Finding
from inspector.diagnosis.wire import WireProblem, expected_wire_types, top_level_fields, walk, walk_generic
from inspector.errors import UnreadableInputError
from inspector.proto import pb
from inspector.readers import dtypes, lazy
from inspector.readers.graphfile import MAX_TEXT_DEPTH, LoadedGraph, text_too_deep, too_deep_problem
from inspector.readers.placeholders import refuse_special_file

#: protobuf's hard limit on one message (sizes are signed 32-bit); tests monkeypatch it.
PROTOBUF_LIMIT = 2**31 - 1

#: File names under which TensorFlow expects a *binary* protobuf. Not ``.meta``: TF's
#: read_meta_graph_file falls back to text format by itself.
BINARY_SUFFIXES = (".pb",)

_TEXT_START = re.compile(rb"\A\s*(?:#[^\n]*\n\s*)*(?:[A-Za-z_][A-Za-z0-9_]*|\[[^\]\n]+\])\s*[{:<]")
_TEXT_FIRST_FIELD = re.compile(rb"\A\s*(?:#[^\n]*\n\s*)*([A-Za-z_][A-Za-z0-9_]*)")
# The last 8 bytes of a checkpoint .index (table magic 0xdb4775248b80fb57, little-endian).
_SSTABLE_MAGIC = bytes.fromhex("57fb808b247547db")


def read_for_diagnosis(path: str | Path) -> tuple[LoadedGraph | None, list[Finding]]:
    """The graph in ``path`` (None when there is none to analyse) and the file-level findings."""
    path = Path(path)
    if os.path.isdir(path):  # os.path: False, not OSError, for a name the OS refuses (too long)
        path = _saved_model_file(path)
    refuse_special_file(path)
    if not os.path.isfile(path):
        raise UnreadableInputError("no such file", path=str(path),
                                   fix="check the path; inspect takes a .pb, .pbtxt, .meta or saved_model.pb")
    size = path.stat().st_size
    if size > PROTOBUF_LIMIT:
        return None, [_over_2gb(size)]
    stamp = lazy.file_stamp(str(path))
    mapped = lazy.map_file(str(path))  # a binary graph is parsed from the map, its weights left out
    try:
        data = mapped if mapped is not None else b""
        foreign = _foreign_format(data, path.name)
        if foreign is not None:
            return None, [foreign]
        head = data[:4096]
        if head.startswith(tuple(bom for bom, _, _ in _BOMS)) or _TEXT_START.match(head):
            data = path.read_bytes()
            encoded = _encoded_text(path, data)
            if encoded is not None:
                return encoded
        if _TEXT_START.match(head):
            loaded, findings = _read_text(path, data)
            if loaded is None:  # the guess can be wrong: a binary graph may start like "\nA\n:" (§11)
                found = next(_binary_candidates(data), None)
                if found is not None:
                    return _loaded(path, data, *found, text=False, stamp=stamp), []
            return loaded, findings
        return _read_binary(path, data, stamp)
    finally:
        if mapped is not None:
            mapped.close()


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with a byte-order mark"),
         (b"\xff\xfe", "utf-16", "UTF-16 (little-endian)"), (b"\xfe\xff", "utf-16", "UTF-16 (big-endian)"))


def _encoded_text(path: Path, data: bytes) -> tuple[LoadedGraph | None, list[Finding]] | None:
    """A text graph re-saved by a Windows editor or PowerShell redirect: readable here, not by TF."""
    for bom, encoding, described in _BOMS:
        if not data.startswith(bom):
            continue
        try:
            recoded = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None
        if not _TEXT_START.match(recoded[:4096]):
            return None
        loaded, findings = _read_text(path, recoded)
        if loaded is None:
            return loaded, findings
        return loaded, [Finding(
            "TEXT_FORMAT", "error",
            f"'{path.name}' is a text-format graph encoded as {described}: TensorFlow's text parser reads "
            "plain UTF-8 only and rejects it. (PowerShell's '>' and some editors write this.) The graph "
            "itself is analysed below.",
            "Save it again as UTF-8 without a byte-order mark (e.g. Out-File -Encoding utf8NoBOM, or "
            "re-export with tf.io.write_graph).", {"format": "text", "encoding": encoding})]
    return None


def _saved_model_file(folder: Path) -> Path:
    for name in ("saved_model.pb", "saved_model.pbtxt"):
        if (folder / name).is_file():
            return folder / name
    raise UnreadableInputError("is a folder without saved_model.pb", path=str(folder),
                               fix="give the graph file itself (.pb, .pbtxt, .meta)")


def _over_2gb(size: int) -> Finding:
    return Finding(
        "OVER_2GB", "error",
        f"The file is {size:,} bytes; a protobuf message cannot exceed {PROTOBUF_LIMIT:,} bytes, so "
        "neither TensorFlow nor any protobuf runtime can parse it.",
        "Keep the weights in a checkpoint (or a SavedModel's variables/) instead of Const nodes; "
        "freeze only graphs whose weights total well under 2 GiB.",
        {"size": size, "limit": PROTOBUF_LIMIT})


# --------------------------------------------------------------------------------------------
# Files that are not protobuf at all


def _foreign_format(data: bytes, name: str) -> Finding | None:
    """NOT_PROTOBUF for well-known non-protobuf formats, recognised by their first bytes."""
    head = data[:512]
    stripped = head.lstrip().lower()
    if name.endswith(".REMOVED.git-id") and re.fullmatch(rb"[0-9a-f]{40}\s*", data[:64]):
        return _not_protobuf(
            "bfg-removed", "a BFG Repo-Cleaner placeholder (the Git blob id of a file purged from the "
            "repository's history)",
            "The real file is gone from this repository; get it from the author or from a clone made "
            "before the history rewrite.", blob=data[:40].decode())
    if head.startswith(b"version https://git-lfs.github.com/spec/"):
        return _lfs_pointer(data)
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        title = re.search(rb"<title>(.*?)</title>", data[:65536], re.S | re.I)
        return _not_protobuf(
            "html", "an HTML web page",
            "You saved a web page, not the model. Download the raw file (on GitHub: the 'Download raw "
            "file' button or a raw.githubusercontent.com URL).",
            title=title.group(1).decode("utf-8", "replace").strip() if title else None)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return _not_protobuf(
            "hdf5", "an HDF5 file (a Keras .h5 model or weights file)",
            "Load it with Keras (keras.models.load_model) and export a SavedModel or a frozen graph; "
            "it holds no TensorFlow graph.")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip(data)
    if head.startswith(b"\x1f\x8b"):
        return _not_protobuf("gzip", "a gzip-compressed file (.gz / .tar.gz)",
                             "Decompress it (tar xzf / gunzip) and inspect the .pb inside.")
    if head[4:8] == b"TFL3" and _flatbuffer_root(data):
        return _not_protobuf("tflite", "a TensorFlow Lite model (flatbuffer)",
                             "Inspect it with the TFLite tools (tf.lite.Interpreter); it is not a GraphDef.")
    if len(data) >= 48 and data[-8:] == _SSTABLE_MAGIC:
        return _not_protobuf("checkpoint-index", "a checkpoint .index file (tensor bundle table)",
                             "Give the checkpoint prefix (or its folder) instead; the graph is in the .meta.")
    return None


def _flatbuffer_root(data: bytes) -> bool:
    """A flatbuffer starts with the little-endian offset of its root table: 4-aligned and inside the
    file. A GraphDef whose first node is named ``TFL3…`` has the same bytes 4..8 but starts with
    the tag 0x0a and a length, which read as an offset far past the end."""
    offset = int.from_bytes(data[:4], "little")
    return offset % 4 == 0 and 8 <= offset < len(data)


def _not_protobuf(what: str, described: str, fix: str, **evidence: object) -> Finding:
    found = {"what": what, **{k: v for k, v in evidence.items() if v is not None}}
    return Finding("NOT_PROTOBUF", "error", f"The file is {described}, not a TensorFlow graph.", fix, found)


def _lfs_pointer(data: bytes) -> Finding:
    text = data[:1024].decode("utf-8", "replace")
    oid = re.search(r"^oid (\S+)", text, re.M)
    size = re.search(r"^size (\d+)", text, re.M)
    real = f" of {int(size.group(1)):,} bytes" if size else ""
    return _not_protobuf(
        "git-lfs-pointer", f"a Git LFS pointer ({len(data)} bytes) standing in for the real file{real}",
        "Fetch the real file: `git lfs install && git lfs pull` in the repository (or download it "
        "through the hosting site's LFS link).",
        oid=oid.group(1) if oid else None, real_size=int(size.group(1)) if size else None)


def _zip(data: bytes) -> Finding:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()[:20]
    except (zipfile.BadZipFile, OSError, ValueError):
        members = []
    graphs = [m for m in members if m.endswith((".pb", ".pbtxt", ".meta"))]
    fix = "Unzip it and inspect the graph inside"
    fix += f" ({', '.join(graphs[:3])})." if graphs else "."
    return _not_protobuf("zip", "a zip archive (also what a Keras 3 .keras file is)", fix, members=members)


# --------------------------------------------------------------------------------------------
# Text format


_TEXT_KINDS = {"saved_model_schema_version": "saved_model", "meta_graphs": "saved_model",
               "meta_info_def": "metagraph", "graph_def": "metagraph", "saver_def": "metagraph",
               "collection_def": "metagraph", "signature_def": "metagraph", "asset_file_def": "metagraph",
               "object_graph_def": "metagraph", "model_checkpoint_path": "checkpoint_state",
               "all_model_checkpoint_paths": "checkpoint_state"}
_MESSAGE_FOR_KIND = {"graphdef": "GraphDef", "metagraph": "MetaGraphDef", "saved_model": "SavedModel",
                     "checkpoint_state": "CheckpointState"}


def _read_text(path: Path, data: bytes) -> tuple[LoadedGraph | None, list[Finding]]:
    first = _TEXT_FIRST_FIELD.match(data)
    first_name = first.group(1).decode() if first else ""
    kind = _TEXT_KINDS.get(first_name, "graphdef")
    if kind == "graphdef" and first_name and first_name not in pb.GraphDef.DESCRIPTOR.fields_by_name:
        return None, [Finding(
            "OTHER_PROTOBUF", "error",
            f"The file is a text-format protobuf of some other kind (its first field is '{first_name}', "
            "which no GraphDef, MetaGraphDef or SavedModel has): not a graph.",
            "Check which program wrote it (e.g. an Object Detection API pipeline.config); give "
            "ckpt2pb the model's .pb, .pbtxt or checkpoint instead.",
            {"message": None, "format": "text", "first_field": first_name})]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Finding("CORRUPT", "error",
                              f"The file looks like text-format protobuf but byte {exc.start} is not UTF-8.",
                              "Re-export the graph; the file was damaged after it was written.",
                              {"offset": exc.start, "format": "text"})]
    deep = text_too_deep(data)
    if deep is not None:  # Python's parser would overflow the stack; TensorFlow refuses it anyway
        line = data.count(b"\n", 0, deep) + 1
        evidence = {"format": "text", "line": line, "offset": deep, "depth_limit": MAX_TEXT_DEPTH}
        return None, [Finding("CORRUPT", "error", f"The text-format graph {too_deep_problem(data, deep)}.",
                              "This is no graph TensorFlow can load; export the graph again.", evidence)]
    message = getattr(pb, _MESSAGE_FOR_KIND[kind])()
    try:
        text_format.Parse(text, message, allow_unknown_field=False)
    except text_format.ParseError as exc:
        return None, [_text_parse_problem(text, exc)]
    if kind == "checkpoint_state":
        return None, [Finding(
            "OTHER_PROTOBUF", "error", "The file is a checkpoint state file (`checkpoint`), not a graph.",
            "Give the checkpoint folder or prefix to inspect/freeze instead.", {"message": "CheckpointState",
                                                                               "format": "text"})]
    findings: list[Finding] = []
    if path.name.endswith(BINARY_SUFFIXES):
        findings.append(Finding(
            "TEXT_FORMAT", "warning",
            f"'{path.name}' holds a text-format protobuf, but the name promises binary: TensorFlow's "
            "C++ loaders and tools that call ParseFromString on .pb files will fail on it. "
            "(tf.io.write_graph writes text unless as_text=False.)",
            "Rename it to .pbtxt, or write it again with tf.io.write_graph(..., as_text=False).",
            {"format": "text", "message": _MESSAGE_FOR_KIND[kind]}))
    return _loaded(path, data, kind, message, text=True), findings


def _text_parse_problem(text: str, exc: text_format.ParseError) -> Finding:
    line, column = exc.GetLine(), exc.GetColumn()
    lines = text.rstrip().splitlines()
    at_end = line is not None and line >= len(lines)
    where = f"line {line}, column {column}" if line is not None else "an unknown position"
    evidence = {"format": "text", "line": line, "column": column, "lines": len(lines),
                "parser": str(exc).split(" : ", 1)[-1][:200]}
    if at_end:
        return Finding("TRUNCATED", "error",
                       f"The text-format graph stops in the middle of a message at {where} (the last "
                       "line): the file was cut short.",
                       "Copy or download the file again; compare its size with the original.", evidence)
    return Finding("CORRUPT", "error",
                   f"The text-format graph does not parse at {where}: {evidence['parser']}.",
                   "Re-export the graph, or fix the text at that line.", evidence)


# --------------------------------------------------------------------------------------------
# Binary format


def _read_binary(path: Path, data, stamp: tuple[int, int]) -> tuple[LoadedGraph | None, list[Finding]]:
    found = next(_binary_candidates(data), None)
    if found is None:
        return None, [_binary_problem(bytes(data))]
    return _loaded(path, data, *found, text=False, stamp=stamp), []


def _binary_candidates(data) -> Iterator[tuple[str, object, dict]]:
    """Every interpretation of ``data`` that parses and looks like what it claims, best first, with
    where its big tensor fields are (they are left out of the parse: :mod:`inspector.readers.lazy`)."""
    if _shaped_like_saved_model(data):
        saved, records = _parse_lazily(pb.SavedModel, data, "saved_model")
        if saved is not None and any(m.graph_def.node for m in saved.meta_graphs):
            yield "saved_model", saved, records
    graph, records = _parse_lazily(pb.GraphDef, data, "graphdef")
    if graph is not None and all(node.op for node in graph.node):
        yield "graphdef", graph, records
    meta, records = _parse_lazily(pb.MetaGraphDef, data, "metagraph")
    if meta is not None and meta.HasField("graph_def"):
        yield "metagraph", meta, records


def _shaped_like_saved_model(data) -> bool:
    """Well-formed wire format whose top-level fields are only #1 varints and #2 messages, as a
    SavedModel's are. Stops at the first other field (a GraphDef's first node) instead of walking
    every top-level field of a graph of 10^6 nodes."""
    seen = False
    for field in top_level_fields(data):
        if field not in _SAVED_MODEL_FIELDS:  # (None: the wire format breaks)
            return False
        seen = True
    return seen


#: SavedModel's top-level fields: saved_model_schema_version (1, varint), meta_graphs (2, message)
_SAVED_MODEL_FIELDS = ((1, 0), (2, 2))


def _parse_lazily(cls: type, data, kind: str) -> tuple[object | None, dict]:
    try:
        return lazy.parse("", data, cls, kind)
    except (DecodeError, RuntimeError, ValueError):
        return None, {}


def _parse(cls: type, data: bytes) -> object | None:
    message = cls()
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError):
        return None
    return message


#: Each message the file may claim to be, with the first bytes TensorFlow's writers produce for it
#: (FORMATS.md §11: the lowest-numbered field present comes first).
_CLAIMS = (("GraphDef", pb.GraphDef, (b"\x0a", b"\x12", b"\x18", b"\x22", b"\x2a")),
           ("MetaGraphDef", pb.MetaGraphDef, (b"\x0a", b"\x12")),
           ("SavedModel", pb.SavedModel, (b"\x08\x01\x12",)))


def _binary_problem(data: bytes) -> Finding:
    """TRUNCATED / CORRUPT with the offset and field, or OTHER_PROTOBUF / NOT_PROTOBUF.

    The file is walked as each message it could claim to be; the reading that gets furthest (and
    completes at least one top-level field) names the problem. Well-formed wire format that none
    of them can read is some other protobuf message.
    """
    walks = [(name, cls, walk(data, cls.DESCRIPTOR)) for name, cls, starts in _CLAIMS
             if data.startswith(starts)]
    progressed = [(name, r) for name, _, r in walks if r.problem is not None and (
        r.problem.depth > 0 or any(wire == 2 for _, wire in r.top_level_fields))]
    best = max(progressed, key=lambda item: item[1].problem.offset, default=None)
    generic = walk_generic(data)
    if generic is not None:
        other = _known_other_message(data)
        if other is not None:
            return other
        if best is not None:
            return _corrupt(data, best[0], best[1].problem)
        return _other_protobuf(data, generic)
    if best is None:  # nothing complete: maybe the very first field is cut (one huge Const node)
        firsts = [(name, r) for name, cls, r in walks if r.problem is not None and r.problem.truncated
                  and _first_tag_fits(data, cls.DESCRIPTOR)]
        best = max(firsts, key=lambda item: item[1].problem.offset, default=None)
        if best is None:
            return _unknown_binary(data)
    name, result = best
    if result.problem.truncated:
        complete = (result.complete_top_level.get(1, 0) if name == "GraphDef"
                    else sum(result.complete_top_level.values()))
        return _truncated(data, name, result.problem, complete)
    return _corrupt(data, name, result.problem)


def _truncated(data: bytes, message: str, problem: WireProblem, complete: int) -> Finding:
    needs = problem.evidence.get("needs_file_size")
    promised = f"; the field promised {problem.evidence['declared_length']:,} bytes but only " \
               f"{problem.evidence['available']:,} remain" if "declared_length" in problem.evidence else ""
    return Finding(
        "TRUNCATED", "error",
        f"The file ends at byte {len(data):,}, inside {problem.path} (field at offset {problem.offset:,}; "
        f"expected {problem.expected}){promised}. Read as a {message}, {complete} complete "
        f"{_UNIT[message]} precede it.",
        "The file was cut short (interrupted download or copy, or a disk that filled up): fetch it again"
        + (f"; the original is at least {needs:,} bytes." if needs else "."),
        {"offset": problem.offset, "file_size": len(data), "field": problem.path,
         "expected": problem.expected, "message": message, "complete": complete, **problem.evidence})


def _corrupt(data: bytes, message: str, problem: WireProblem) -> Finding:
    return Finding(
        "CORRUPT", "error",
        f"The bytes stop being a valid {message} at offset {problem.offset:,}, in {problem.path}: expected "
        f"{problem.expected}.",
        "The file was damaged after it was written (bad transfer, text-mode copy or editor); get an "
        "intact copy or re-export the graph.",
        {"offset": problem.offset, "file_size": len(data), "field": problem.path,
         "expected": problem.expected, "message": message, **problem.evidence})


_UNIT = {"GraphDef": "node(s)", "MetaGraphDef": "top-level field(s)", "SavedModel": "top-level field(s)"}


def _first_tag_fits(data: bytes, descriptor: object) -> bool:
    """True when the first byte is the tag of one of the message's fields, with the right wire type."""
    if not data or data[0] & 0x80:
        return False
    field = descriptor.fields_by_number.get(data[0] >> 3)
    return field is not None and (data[0] & 7) in expected_wire_types(field)


def _known_other_message(data: bytes) -> Finding | None:
    """OTHER_PROTOBUF naming the message, for the non-graph messages people save as .pb."""
    tensor = _parse(pb.TensorProto, data)
    if tensor is None or not tensor.dtype or not dtypes.is_known(tensor.dtype):
        return None
    shape = [d.size for d in tensor.tensor_shape.dim]
    itemsize = dtypes.by_value(tensor.dtype).itemsize
    elements = 1
    for size in shape:
        elements *= size
    if any(size < 0 for size in shape) or not (tensor.tensor_content or _typed_values(tensor)):
        return None
    if tensor.tensor_content and (itemsize is None or len(tensor.tensor_content) != elements * itemsize):
        return None
    name = dtypes.name_of(tensor.dtype)
    return Finding("OTHER_PROTOBUF", "error",
                   f"The file is a serialized TensorProto ({name} {shape}): data, not a graph.",
                   "This is what tf.make_tensor_proto(...).SerializeToString() writes; read it with "
                   "tf.make_ndarray, and look for the model's graph elsewhere.",
                   {"message": "TensorProto", "dtype": name, "shape": shape})


def _typed_values(tensor: object) -> bool:
    return any(len(getattr(tensor, name)) for name in (
        "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val", "int64_val",
        "bool_val", "dcomplex_val", "uint32_val", "uint64_val"))


def _other_protobuf(data: bytes, fields: list[tuple[int, int]]) -> Finding:
    summary = [f"#{n}:{['varint', 'fixed64', 'bytes', '', '', 'fixed32'][w]}" for n, w in fields[:8]]
    return Finding("OTHER_PROTOBUF", "error",
                   "The file is well-formed protobuf, but not a GraphDef, MetaGraphDef or SavedModel "
                   f"(top-level fields {', '.join(summary)}).",
                   "Check which program wrote it; ckpt2pb reads TensorFlow graphs and checkpoints only.",
                   {"message": None, "top_level_fields": summary})


def _unknown_binary(data: bytes) -> Finding:
    head = data[:64]
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip():
        first = text.strip().splitlines()[0][:120]
        return _not_protobuf("text", f"plain text starting {first!r}",
                             "If this came from a download, the server sent an error or a page instead "
                             "of the model; download it again.", first_line=first)
    return _not_protobuf("unknown", "not protobuf (no valid field at offset 0)",
                         "Check which program wrote it; ckpt2pb reads TensorFlow graphs and checkpoints.",
                         first_bytes=head[:16].hex(" "))


def _loaded(path: Path, data, kind: str, message: object, records: dict | None = None, *, text: bool,
            stamp: tuple[int, int] = (0, 0)) -> LoadedGraph:
    scope = 0
    if kind == "saved_model":
        meta, scope = _serving_meta_graph(message)
        loaded = LoadedGraph(kind, text, meta.graph_def, meta, message, str(path), len(data))
    elif kind == "metagraph":
        loaded = LoadedGraph(kind, text, message.graph_def, message, None, str(path), len(data))
    else:
        loaded = LoadedGraph(kind, text, message, None, None, str(path), len(data))
    if records:
        loaded.lazy = lazy.lazy_for(str(path), records, scope, loaded.graph_def, stamp)
    return loaded


def _serving_meta_graph(saved: object) -> tuple[object, int]:
    for index, meta in enumerate(saved.meta_graphs):
        if "serve" in meta.meta_info_def.tags:
            return meta, index
    return (saved.meta_graphs[0] if saved.meta_graphs else pb.MetaGraphDef()), 0

