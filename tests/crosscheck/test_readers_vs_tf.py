"""Our readers against TensorFlow itself, on every fixture and corpus case TF can look at.

For each checkpoint prefix (every saved step of every checkpoint or SavedModel folder) three
things must agree with TF: the listing (names in order, shapes, dtype names) with
``tf.train.list_variables`` and ``get_variable_to_dtype_map``; every value, bit for bit, with
``tf.train.load_variable`` (or with ``RestoreV2`` where TF's Python ``CheckpointReader`` cannot read
a V1 tensor, FORMATS.md §6.4), both from ``read`` and as streamed by ``raw_chunks`` (what the
freezer writes); and the node and function sets of the ``.meta`` (or SavedModel) graph with what
TF imports. GraphDef files (.pb/.pbtxt, healthy and broken) get the same graph check. Where
TensorFlow refuses to import a graph we must still read it, and the test records TF's refusal as
a ``tf_import_failed`` property instead of passing silently; where TF cannot read a tensor or
parse a file at all, we must refuse it with our own error type.

Targets are found from the registry and the files on disk, so a fixture or corpus case added later
is covered without touching this file.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fixtures.registry import all_fixtures
from tests.corpus import corpus_cases

pytestmark = pytest.mark.tf

_V1_SHARD_FILE = re.compile(r"-(\d{5})-of-(\d{5})$")
_V1_SHARD_GLOB = "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"
_SMALL_CHUNK = 40  # bytes: forces many chunks, and for partitioned tensors many bands
_CORPUS_KINDS = ("checkpoint", "saved_model", "broken")


@dataclass(frozen=True)
class Target:
    """One checkpoint prefix and/or the graph that goes with it (either may be None)."""

    id: str
    prefix: str | None
    graph: Path | None
    own: bool  # one of our fixtures: TF must read and import all of it; corpus files may defeat TF


def _prefixes(folder: Path) -> list[tuple[str, Path | None]]:
    """(prefix, .meta or None) of every checkpoint in ``folder``: V2 bundles and V1 files."""
    found: list[tuple[str, Path | None]] = []
    for index in sorted(folder.glob("*.index")):
        prefix = str(index)[: -len(".index")]
        meta = Path(prefix + ".meta")
        found.append((prefix, meta if meta.is_file() else None))
    for meta in sorted(folder.glob("*.meta")):
        stem = str(meta)[: -len(".meta")]
        if Path(stem + ".index").is_file():
            continue
        if Path(stem).is_file():
            found.append((stem, meta))
            continue
        shards = sorted(glob.glob(glob.escape(stem) + _V1_SHARD_GLOB))
        if shards:
            total = _V1_SHARD_FILE.search(shards[0]).group(2)
            found.append((f"{stem}-?????-of-{total}", meta))
    return found


def _folder_targets(label: str, folder: Path, own: bool) -> list[Target]:
    """Every checkpoint in a checkpoint folder, or the variables of a SavedModel folder."""
    saved_model = folder / "saved_model.pb"
    if saved_model.is_file():
        found = [(prefix, saved_model) for prefix, _ in _prefixes(folder / "variables")]
        if not found:
            return [Target(f"{label}/saved_model.pb", None, saved_model, own)]
    else:
        found = _prefixes(folder)
    return [Target(f"{label}/{Path(prefix).name}", prefix, graph, own) for prefix, graph in found]


def _fixture_targets() -> list[Target]:
    targets = []
    for fixture in all_fixtures():
        label, path = f"fixture:{fixture.name}", fixture.full_path
        if fixture.kind == "checkpoint" and path.is_dir():
            targets.extend(_folder_targets(label, path, own=True))
        elif fixture.kind == "saved_model":
            targets.extend(_folder_targets(label, path if path.is_dir() else path.parent, own=True))
        elif fixture.kind == "meta":
            targets.append(Target(f"{label}/{path.name}", None, path, own=True))
    return targets


def _corpus_targets() -> list[Target]:
    targets = []
    for case in corpus_cases():
        if case.kind in _CORPUS_KINDS:
            targets.extend(_folder_targets(f"corpus:{case.case}", case.folder, own=False))
    return targets


def _origin_marks(label: str) -> tuple:
    """Corpus cases carry the ``corpus`` marker, so ``-m "not corpus"`` runs the fixtures alone."""
    return (pytest.mark.corpus,) if label.startswith("corpus:") else ()


def _params(targets: list[Target], what: str) -> list:
    chosen = [t for t in targets if getattr(t, what) is not None]
    return [pytest.param(t, id=t.id, marks=_origin_marks(t.id)) for t in chosen]


FIXTURE_TARGETS = _fixture_targets()
CORPUS_TARGETS = _corpus_targets()
ALL_TARGETS = FIXTURE_TARGETS + CORPUS_TARGETS


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported once per worker."""
    import tensorflow

    return tensorflow


# -- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", _params(ALL_TARGETS, "prefix"))
def test_listing_equals_tf(tf, target: Target) -> None:
    from inspector.readers.checkpoint import open_checkpoint

    theirs_shapes = tf.train.list_variables(target.prefix)
    theirs_dtypes = tf.train.load_checkpoint(target.prefix).get_variable_to_dtype_map()
    theirs = [(name, tuple(shape), theirs_dtypes[name].name) for name, shape in theirs_shapes]
    with open_checkpoint(target.prefix) as reader:
        ours = [(m.name, tuple(m.shape), m.dtype) for m in reader.tensors.values()]
    assert ours == theirs


# -- values ----------------------------------------------------------------------------------


class _TfValues:
    """Tensors as TF reads them: its CheckpointReader first, RestoreV2 where that cannot (V1).

    One reader and one session per checkpoint; RestoreV2 takes the tensor name as a fed input, so
    each dtype needs one op however many tensors are restored.
    """

    def __init__(self, tf, prefix: str) -> None:
        self.tf, self.prefix = tf, prefix
        # not tf.train.load_checkpoint: given a folder, that follows its state file to another prefix
        self.reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.restore_ops: dict = {}

    def dtypes(self) -> dict:
        return self.reader.get_variable_to_dtype_map()

    def get(self, name: str, dtype) -> np.ndarray | None:
        try:
            return np.asarray(self.reader.get_tensor(name))
        except Exception:  # any refusal of the CheckpointReader sends us to RestoreV2
            pass
        if dtype not in self.restore_ops:
            with self.graph.as_default():
                fed = self.tf.compat.v1.placeholder(self.tf.string, [1])
                self.restore_ops[dtype] = fed, self.tf.raw_ops.RestoreV2(
                    prefix=self.prefix, tensor_names=fed, shape_and_slices=[""], dtypes=[dtype])[0]
        fed, restored = self.restore_ops[dtype]
        try:
            return np.asarray(self.session.run(restored, {fed: [name]}))
        except self.tf.errors.OpError:
            return None

    def close(self) -> None:
        self.session.close()


def _assert_bit_equal(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape, name
    if ours.dtype == object or theirs.dtype == object:
        assert [bytes(x) for x in ours.ravel()] == [bytes(x) for x in theirs.ravel()], name
        return
    assert ours.dtype.itemsize == theirs.dtype.itemsize, name
    assert np.ascontiguousarray(ours).tobytes() == np.ascontiguousarray(theirs).tobytes(), name


@pytest.mark.parametrize("target", _params(ALL_TARGETS, "prefix"))
def test_values_equal_tf_bit_for_bit(tf, target: Target) -> None:
    from inspector.readers.checkpoint import open_checkpoint

    tf_values = _TfValues(tf, target.prefix)
    dtypes = tf_values.dtypes()
    with open_checkpoint(target.prefix) as reader:
        try:
            for name in reader.tensors:
                _compare_tensor(reader, name, tf_values.get(name, dtypes[name]), target)
        finally:
            tf_values.close()


def _compare_tensor(reader, name: str, theirs: np.ndarray | None, target: Target) -> None:
    from inspector.errors import Ckpt2pbError

    if theirs is None:  # TF cannot read it either (e.g. a missing .data shard)
        assert not target.own, f"TensorFlow cannot read {name} of our own fixture"
        with pytest.raises(Ckpt2pbError):
            reader.read(name)
        return
    ours = np.asarray(reader.read(name))
    _assert_bit_equal(name, ours, theirs)
    if ours.dtype != object:  # the freezer's streaming path: small chunks cross piece borders
        streamed = b"".join(reader.raw_chunks(name, chunk_size=_SMALL_CHUNK))
        assert streamed == np.ascontiguousarray(theirs).astype(theirs.dtype.newbyteorder("<")).tobytes(), name


# -- graph -----------------------------------------------------------------------------------


def _our_graph(path: Path):
    """Our GraphModel of the MetaGraphDef in a .meta file or a SavedModel (its first meta graph)."""
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file

    loaded = load_graph_file(path)
    meta_graph = loaded.meta_graph
    if meta_graph is None and loaded.saved_model is not None:
        meta_graph = loaded.saved_model.meta_graphs[0]
    assert meta_graph is not None, f"{path} did not load as a MetaGraphDef"
    return GraphModel.from_meta_graph(meta_graph)


def _tf_meta_graph(path: Path):
    """The same MetaGraphDef parsed by TensorFlow's own protobuf classes, independently of ours."""
    from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

    data = path.read_bytes()
    if path.name == "saved_model.pb":
        return saved_model_pb2.SavedModel.FromString(data).meta_graphs[0]
    return meta_graph_pb2.MetaGraphDef.FromString(data)


def _tf_import(tf, meta_graph):
    """(node names, function names) that importing the meta graph creates; raises what TF raises.

    This is ``import_meta_graph`` without its last step: for a meta graph that has variables but
    no ``saver_def`` that step builds a fresh Saver, adding ``save/*`` nodes that are not in the file.
    """
    from tensorflow.python.framework import meta_graph as meta_graph_lib

    graph = tf.Graph()
    with graph.as_default():
        meta_graph_lib.import_scoped_meta_graph(meta_graph, clear_devices=True)
    functions = {f.signature.name for f in graph.as_graph_def().library.function}
    return {op.name for op in graph.get_operations()}, functions


@pytest.mark.parametrize("target", _params(ALL_TARGETS, "graph"))
def test_graph_nodes_equal_tf_import(tf, target: Target, record_property) -> None:
    model = _our_graph(target.graph)
    tf_meta_graph = _tf_meta_graph(target.graph)
    try:
        nodes, functions = _tf_import(tf, tf_meta_graph)
    except Exception as error:  # recorded: TF cannot import what we read
        if target.own:
            raise
        record_property("tf_import_failed", f"{type(error).__name__}: {str(error)[:300]}")
        # TF parses the file but will not build the graph: compare with its parse instead.
        nodes = {node.name for node in tf_meta_graph.graph_def.node}
        functions = {f.signature.name for f in tf_meta_graph.graph_def.library.function}
    else:
        record_property("tf_import_failed", "")
    assert len(nodes) > 0
    assert set(model.g.nodes) == nodes
    assert set(model.functions) == functions


# -- GraphDef files (.pb / .pbtxt), healthy and broken ---------------------------------------

_GRAPH_FILE_KINDS = ("frozen_pb", "graph_pb", "pbtxt", "broken")


def _graph_files() -> list:
    files = [(f"fixture:{f.name}", f.full_path) for f in all_fixtures()
             if f.kind in _GRAPH_FILE_KINDS and f.full_path.is_file()]
    for case in corpus_cases():
        if case.kind in _GRAPH_FILE_KINDS:
            files.extend((f"corpus:{case.case}/{name}", case.file(name)) for name in case.files
                         if case.file(name).is_file())
    return [pytest.param(path, id=label, marks=_origin_marks(label)) for label, path in files]


def _tf_parse_graph_def(path: Path):
    """The file as TF's own GraphDef class parses it (binary, else text), or None."""
    from google.protobuf import message, text_format
    from tensorflow.core.framework import graph_pb2

    data = path.read_bytes()
    try:
        return graph_pb2.GraphDef.FromString(data)
    except message.DecodeError:
        pass
    try:
        return text_format.Parse(data.decode("utf-8"), graph_pb2.GraphDef())
    except (text_format.ParseError, UnicodeDecodeError):
        return None


@pytest.mark.parametrize("path", _graph_files())
def test_graph_file_nodes_equal_tf(tf, path: Path, record_property) -> None:
    """Where TF parses a graph file we read the same nodes; where it cannot, we refuse cleanly."""
    from inspector.errors import Ckpt2pbError
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file

    theirs = _tf_parse_graph_def(path)
    if theirs is None or not theirs.node:
        try:
            loaded = load_graph_file(path)
        except Ckpt2pbError:
            return
        assert theirs is not None and not loaded.graph_def.node, "TF cannot parse a graph we read"
        return
    loaded = load_graph_file(path)
    model = GraphModel.from_graph_def(loaded.graph_def, loaded.meta_graph)
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.graph_util.import_graph_def(theirs, name="")
    except Exception as error:  # recorded: TF parses the file but will not build the graph
        record_property("tf_import_failed", f"{type(error).__name__}: {str(error)[:300]}")
        nodes = {node.name for node in theirs.node}
        functions = {f.signature.name for f in theirs.library.function}
    else:
        record_property("tf_import_failed", "")
        nodes = {op.name for op in graph.get_operations()}
        functions = {f.signature.name for f in graph.as_graph_def().library.function}
    assert set(model.g.nodes) == nodes
    assert set(model.functions) == functions


@pytest.mark.tf
def test_unknown_rank_beside_real_dims_reads_as_tensorflow_reads_it(tf, tmp_path):
    import shutil

    from inspector.readers.checkpoint import open_checkpoint
    from tests.inspector.readers.builders import flag_unknown_rank

    fixture = next(f for f in all_fixtures() if f.name == "cnn_bn_momentum")
    folder = tmp_path / "ckpt"
    shutil.copytree(fixture.full_path, folder)
    prefix = folder / "model.ckpt-300"
    flag_unknown_rank(f"{prefix}.index", {"logits/kernel", "global_step"})
    theirs = tf.train.load_checkpoint(str(prefix))
    with open_checkpoint(prefix) as ours:
        for name in ("logits/kernel", "global_step"):
            assert list(ours.tensors[name].shape) == theirs.get_variable_to_shape_map()[name]
            _assert_bit_equal(name, ours.read(name), theirs.get_tensor(name))
