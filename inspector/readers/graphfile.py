"""Graph files: ``load_graph_file(path) -> LoadedGraph`` for GraphDef, MetaGraphDef and SavedModel.

Binary or text, whatever the extension says (FORMATS.md §11): a cheap look at the first 4 KB
guesses text vs binary, then parsing confirms; each binary candidate must also look like what it
claims (a GraphDef whose "ops" are not identifiers is really some other message). Files in the
wild are misnamed often, so :func:`sniff_kind` also recognises what a file is when it is *not*
a graph (checkpoint index, HDF5, zip, LFS pointer, HTML page, TensorProto), for diagnosis.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from inspector.errors import UnreadableInputError
from inspector.proto import pb
from inspector.readers import dtypes, lazy
from inspector.readers.lazy import LazyTensors
from inspector.readers.placeholders import placeholder_problem
from inspector.readers.table import FOOTER_SIZE, MAGIC

MAX_PROTO_BYTES = (1 << 31) - 1          # protobuf's hard limit on one message (FORMATS.md §8.7)
#: Nested messages a text-format file may open: protobuf's default recursion limit (C++
#: CodedInputStream and upb refuse the binary form of anything deeper, so TensorFlow cannot load it).
#: Python's text parser has no limit of its own and overflows the interpreter stack instead.
MAX_TEXT_DEPTH = 100
_SNIFF_BYTES = 4096
_TEXT_HEAD = re.compile(rb"\A(?:\s*#[^\n]*\n|\s)*(?:[A-Za-z_][A-Za-z0-9_]*|\[[A-Za-z0-9_.\/]+\])\s*[{:<]")
_TEXT_FIELD = re.compile(rb"\A(?:\s*#[^\n]*\n|\s)*([A-Za-z_][A-Za-z0-9_]*)")
_OP_NAME = re.compile(r"^[A-Za-z_>][A-Za-z0-9_>.]*$")
_VERSION = re.compile(r"^\d+\.\d+")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_LFS_MAGIC = b"version https://git-lfs"
_TEXT_FIRST_FIELD = {
    b"node": "graphdef", b"library": "graphdef", b"versions": "graphdef", b"version": "graphdef",
    b"meta_info_def": "metagraph", b"graph_def": "metagraph", b"saver_def": "metagraph",
    b"collection_def": "metagraph", b"signature_def": "metagraph", b"asset_file_def": "metagraph",
    b"saved_model_schema_version": "saved_model", b"meta_graphs": "saved_model",
    b"dtype": "tensorproto", b"tensor_shape": "tensorproto",
    b"model_checkpoint_path": "checkpoint_state", b"all_model_checkpoint_paths": "checkpoint_state",
}
_MESSAGE = {"graphdef": "GraphDef", "metagraph": "MetaGraphDef", "saved_model": "SavedModel"}


@dataclass
class LoadedGraph:
    """A parsed graph file; ``graph_def`` is always set (the chosen meta graph's for SavedModels)."""

    kind: str                      # "graphdef" | "metagraph" | "saved_model"
    text_format: bool
    graph_def: object
    meta_graph: object | None
    saved_model: object | None
    path: str
    size: int
    warnings: list[str] = field(default_factory=list)
    lazy: LazyTensors | None = None
    """Where the big tensor fields left out of ``graph_def`` are (binary files; None: nothing left out)."""

    def complete_graph_def(self):
        """``graph_def`` with every left-out tensor field read back (a copy when any was left out): what
        to hand to TensorFlow. Holds all the weights; the analysis never needs it."""
        return self.lazy.materialized(self.graph_def) if self.lazy else self.graph_def

    @property
    def tf_version(self) -> str | None:
        """The TensorFlow release that wrote it, when the file records one (MetaInfoDef)."""
        if self.meta_graph is not None and self.meta_graph.meta_info_def.tensorflow_version:
            return self.meta_graph.meta_info_def.tensorflow_version
        return None


# --------------------------------------------------------------------------- plausibility
def _plausible_graph_def(graph) -> bool:
    """Every node has a name and an identifier-like op (other messages parsed as GraphDef do not)."""
    if not graph.node and not graph.library.function:
        return graph.versions.producer > 0
    return all(n.name and _OP_NAME.match(n.op) for n in graph.node)


def _plausible_meta(meta) -> bool:
    """A real MetaGraphDef records a TF version like "2.21.0", op definitions, or a plausible graph."""
    info = meta.meta_info_def
    if info.tensorflow_version and not _VERSION.match(info.tensorflow_version):
        return False
    if meta.HasField("graph_def") and len(meta.graph_def.node) > 0:
        return _plausible_graph_def(meta.graph_def)
    return bool(info.tensorflow_version) or len(info.stripped_op_list.op) > 0


def _plausible_saved_model(model) -> bool:
    return model.saved_model_schema_version in (0, 1) and len(model.meta_graphs) > 0 and all(
        _plausible_meta(m) for m in model.meta_graphs)


def _plausible_tensor(tensor) -> bool:
    if not dtypes.is_known(tensor.dtype) or tensor.dtype in (0, dtypes.DT_RESOURCE):
        return False
    dims = [d.size for d in tensor.tensor_shape.dim]
    if any(d < 0 for d in dims):
        return False
    count = 1
    for d in dims:
        count *= d
    dt = dtypes.by_value(tensor.dtype)
    if tensor.tensor_content:
        return dt.itemsize is not None and len(tensor.tensor_content) == count * dt.itemsize
    return True


_PLAUSIBLE = {"graphdef": (lambda: pb.GraphDef(), _plausible_graph_def),
              "metagraph": (lambda: pb.MetaGraphDef(), _plausible_meta),
              "saved_model": (lambda: pb.SavedModel(), _plausible_saved_model),
              "tensorproto": (lambda: pb.TensorProto(), _plausible_tensor)}


def _parse_binary(data, kind: str, records: dict | None = None):
    """``data`` parsed as ``kind`` (big tensor fields left out when ``records`` is given: they are put
    there), or None when it does not parse or does not look like one."""
    factory, plausible = _PLAUSIBLE[kind]
    msg = factory()
    try:
        stripped, found = lazy.strip(data, kind) if records is not None else (None, {})
        lazy.parse_into(msg, stripped if stripped is not None else data)
    except (DecodeError, RuntimeError, ValueError):
        return None
    if not plausible(msg):
        return None
    if records is not None:
        records.clear()
        records.update(found)
    return msg


def _binary_order(data: bytes, preferred: str | None) -> list[str]:
    """Candidates in the order to try: the extension's guess first, then by first byte."""
    if data[:1] == b"\x08":
        order = ["saved_model", "metagraph", "graphdef"]
    else:
        order = ["graphdef", "metagraph", "saved_model"]
    if preferred in order:
        order.remove(preferred)
        order.insert(0, preferred)
    return order


_TEXT_TOKEN = re.compile(rb'[{}<>]|"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|#[^\n]*')


def text_too_deep(data: bytes, limit: int = MAX_TEXT_DEPTH) -> int | None:
    """The byte offset where text-format ``data`` opens a message deeper than ``limit``, or None.

    Braces and angle brackets inside strings and comments do not count. Cheap when the file holds
    at most ``limit`` openings (no scan at all), one regex pass otherwise.
    """
    if data.count(b"{") + data.count(b"<") <= limit:
        return None
    depth = 0
    for match in _TEXT_TOKEN.finditer(data):
        token = match.group()
        if token in (b"{", b"<"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"}", b">"):
            depth -= 1
    return None


def too_deep_problem(data: bytes, offset: int) -> str:
    """The one-line problem for :func:`text_too_deep`'s answer."""
    line = data.count(b"\n", 0, offset) + 1
    return (f"nests messages more than {MAX_TEXT_DEPTH} levels deep (line {line}); protobuf and "
            f"TensorFlow parse at most {MAX_TEXT_DEPTH} levels")


def _looks_text(head: bytes) -> bool:
    return bool(_TEXT_HEAD.match(head)) and b"\x00" not in head


def _text_kind(head: bytes) -> str | None:
    match = _TEXT_FIELD.match(head)
    return _TEXT_FIRST_FIELD.get(match.group(1)) if match else None


# --------------------------------------------------------------------------- sniffing
def _is_table(path: str, size: int) -> bool:
    if size < FOOTER_SIZE:
        return False
    with open(path, "rb") as fh:
        fh.seek(size - 8)
        return int.from_bytes(fh.read(8), "little") == MAGIC


def _cheap_kind(path: str, size: int) -> str | None:
    """What the first/last bytes alone reveal, or None for "some binary protobuf, parse to see"."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(_LFS_MAGIC):
        return "lfs_pointer"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    if _is_table(path, size):
        return "tensor_bundle_index"
    if _looks_text(head):
        return "text"
    if not head or size > MAX_PROTO_BYTES:
        return "unknown"
    return None


def _parse_any_binary(data, path: str, records: dict | None = None) -> tuple[str, object | None]:
    """(kind, message) for the first candidate that parses and looks like what it claims."""
    for kind in (*_binary_order(data, _preferred_kind(path)), "tensorproto"):
        msg = _parse_binary(data, kind, records)
        if msg is not None:
            return kind, msg
    return "unknown", None


def sniff_kind(path: str | Path) -> str:
    """What the file is: 'graphdef'|'metagraph'|'saved_model'|'text'|'tensor_bundle_index'|'hdf5'|
    'zip'|'lfs_pointer'|'html'|'tensorproto'|'unknown'. Never raises for unreadable content."""
    path = str(path)
    try:
        size = os.path.getsize(path)
        kind = _cheap_kind(path, size)
        if kind is not None:
            return kind
        data = lazy.map_file(path)
        if data is None:
            return "unknown"
    except (OSError, ValueError):
        return "unknown"
    with data:
        return _parse_any_binary(data, path, {})[0]


def _preferred_kind(path: str) -> str | None:
    name = Path(path).name
    if name.startswith("saved_model."):
        return "saved_model"
    if name.endswith(".meta"):
        return "metagraph"
    return None


# --------------------------------------------------------------------------- loading
_NOT_A_GRAPH = {
    "tensor_bundle_index": ("is a checkpoint table (.index or V1 checkpoint), not a graph",
                            "pass the .meta file or the checkpoint prefix instead"),
    "hdf5": ("is an HDF5 file (Keras .h5 weights or model), not a TensorFlow graph",
             "load it in Keras and export a SavedModel, then pass that folder"),
    "zip": ("is a zip archive (e.g. a Keras .keras file), not a TensorFlow graph",
            "unpack it or export a SavedModel from Keras, then pass that"),
    "html": ("is an HTML page, not a TensorFlow graph (often a GitHub page saved instead of the raw file)",
             "download the raw file (the 'Raw' or 'Download' button)"),
    "tensorproto": ("is a serialized TensorProto (a single tensor's value), not a graph",
                    "pass the model's graph file (.pb, .pbtxt, .meta) instead"),
}


def _error(path: str, problem: str, fix: str) -> UnreadableInputError:
    return UnreadableInputError(problem, path=path, fix=fix[:1].upper() + fix[1:])


def load_graph_file(path: str | Path) -> LoadedGraph:
    """Parse a GraphDef/MetaGraphDef/SavedModel file (or a SavedModel folder), text or binary."""
    path = str(path)
    if os.path.isdir(path):
        for name in ("saved_model.pb", "saved_model.pbtxt"):
            if os.path.isfile(os.path.join(path, name)):
                return load_graph_file(os.path.join(path, name))
        raise _error(path, "is a folder without saved_model.pb", "pass a graph file or a SavedModel folder")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise _error(path, f"cannot read the graph file ({exc.strerror})", "check the path") from None
    stub = placeholder_problem(path)
    if stub is not None:
        raise stub
    if size == 0:
        raise _error(path, "is empty (0 bytes)",
                     "The file was not written completely; export the graph again")
    if size > MAX_PROTO_BYTES:
        raise _error(path, f"is {size:,} bytes, above protobuf's 2 GiB limit, so it cannot be a valid graph",
                     "Large weights belong in a checkpoint; pass the checkpoint and its .meta instead")
    try:
        kind = _cheap_kind(path, size)
        data = Path(path).read_bytes() if kind == "text" else b""
        stamp = lazy.file_stamp(path)
        mapped = lazy.map_file(path) if kind is None else None
    except (OSError, ValueError) as exc:
        raise _error(path, f"cannot read the graph file ({getattr(exc, 'strerror', None) or exc})",
                     "check the path") from None
    msg = None
    records: dict = {}
    if mapped is not None:
        with mapped:
            kind, msg = _parse_any_binary(mapped, path, records)
    if kind in _NOT_A_GRAPH:
        problem, fix = _NOT_A_GRAPH[kind]
        raise _error(path, problem, fix)
    if kind == "text":
        return _load_text(path, data, size)
    if kind not in _MESSAGE:
        raise _error(path, "is not a TensorFlow GraphDef, MetaGraphDef or SavedModel (binary parsing "
                     "failed and it is not text format)",
                     "check that this is the model's graph file and that it is not truncated")
    return attach_lazy(_wrap(kind, msg, path, size, text=False), records, stamp)


def attach_lazy(loaded: LoadedGraph, records: dict, stamp: tuple[int, int]) -> LoadedGraph:
    """Give ``loaded`` the :class:`LazyTensors` of its chosen graph (``records``: from lazy.strip)."""
    if not records:
        return loaded
    scope = _chosen_index(list(loaded.saved_model.meta_graphs)) if loaded.saved_model is not None else 0
    loaded.lazy = lazy.lazy_for(loaded.path, records, scope, loaded.graph_def, stamp)
    return loaded


def _load_text(path: str, data: bytes, size: int) -> LoadedGraph:
    deep = text_too_deep(data)
    if deep is not None:
        raise _error(path, too_deep_problem(data, deep),
                     "This is no graph TensorFlow can load; export the graph again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(path, f"looks like text format but is not UTF-8 (byte {exc.start})",
                     "Check the file encoding") from None
    first = _text_kind(data[:_SNIFF_BYTES])
    if first == "tensorproto":
        raise _error(path, "is a text-format TensorProto (a single tensor's value), not a graph",
                     "Pass the model's graph file instead")
    if first == "checkpoint_state":
        raise _error(path, "is a checkpoint state file, not a graph",
                     "Pass the checkpoint folder or prefix, or the .meta graph next to it")
    order = [first] if first in _MESSAGE else []
    preferred = _preferred_kind(path)
    order += [k for k in (preferred, "graphdef", "metagraph", "saved_model") if k and k not in order]
    warnings: list[str] = []
    first_error = None
    for kind in order:
        msg = getattr(pb, _MESSAGE[kind])()
        try:
            text_format.Parse(text, msg)
        except text_format.ParseError as exc:
            first_error = first_error or exc
            # Newer TF versions add fields; accept them only when the rest is clearly a graph.
            try:
                msg = getattr(pb, _MESSAGE[kind])()
                text_format.Parse(text, msg, allow_unknown_field=True)
            except text_format.ParseError:
                continue
            if kind != first or msg.ByteSize() == 0:
                continue
            warnings.append(f"ignored fields this reader does not know ({str(exc).splitlines()[0]})")
        loaded = _wrap(kind, msg, path, size, text=True)
        loaded.warnings[:0] = warnings
        return loaded
    detail = str(first_error).splitlines()[0] if first_error else "unknown message"
    raise _error(path, f"is text but not a valid text-format GraphDef, MetaGraphDef or SavedModel ({detail})",
                 "Fix the reported line, or export the graph again with tf.io.write_graph")


def _wrap(kind: str, msg, path: str, size: int, text: bool) -> LoadedGraph:
    if kind == "graphdef":
        return LoadedGraph(kind, text, msg, None, None, path, size)
    if kind == "metagraph":
        return LoadedGraph(kind, text, msg.graph_def, msg, None, path, size)
    chosen, warnings = _choose_meta_graph(msg)
    return LoadedGraph(kind, text, chosen.graph_def, chosen, msg, path, size, warnings)


def _chosen_index(graphs: list) -> int:
    """Index of the ``serve`` meta graph when there are several (what TF Serving loads), else 0."""
    exact = [i for i, m in enumerate(graphs) if list(m.meta_info_def.tags) == ["serve"]]
    if exact:
        return exact[0]
    return next((i for i, m in enumerate(graphs) if "serve" in m.meta_info_def.tags), 0)


def _choose_meta_graph(model):
    """The ``serve`` meta graph when there are several (what TF Serving loads), else the first."""
    graphs = list(model.meta_graphs)
    if not graphs:
        raise UnreadableInputError("the SavedModel holds no meta graph", fix="Export the SavedModel again")
    chosen = graphs[_chosen_index(graphs)]
    warnings = []
    if len(graphs) > 1:
        tags = [",".join(m.meta_info_def.tags) or "(no tags)" for m in graphs]
        warnings.append(f"the SavedModel holds {len(graphs)} meta graphs (tags: {'; '.join(tags)}); "
                        f"using {','.join(chosen.meta_info_def.tags) or 'the first'}")
    return chosen, warnings
