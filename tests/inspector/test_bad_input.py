"""Bad input of every kind gives our own error with one clear line, never a traceback or a huge allocation.

The property test mutates real checkpoint files (committed fixtures, else corpus copies) and
runs the whole reading pipeline: every outcome must be a correct read (equal to the original)
or a :class:`Ckpt2pbError`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.errors import Ckpt2pbError, UnreadableInputError
from inspector.proto import pb
from inspector.readers.checkpoint import open_checkpoint
from inspector.readers.graphfile import load_graph_file
from inspector.readers.resolve import resolve
from inspector.readers.state import read_state
from tests.corpus import CORPUS
from tests.inspector.readers.builders import table, write_bundle, write_v1

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "data" / "checkpoints" / "cnn_bn_momentum"
FIXTURE_V1 = ROOT / "fixtures" / "data" / "checkpoints" / "v1_single"
CORPUS_CKPT = CORPUS / "neural_encryption_ckpt"


def _one_line(error: Ckpt2pbError) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith(".")
    return text


@pytest.fixture
def bundle(tmp_path):
    prefix = write_bundle(tmp_path / "model.ckpt-1", {
        "w": np.arange(12, dtype=np.float32).reshape(3, 4), "s": [b"a", b"bc"], "n": np.int64(3)})
    (tmp_path / "model.ckpt-1.meta").write_bytes(pb.MetaGraphDef().SerializeToString())
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    return Path(prefix)


def _value(arr: np.ndarray) -> tuple:
    """Comparable form of a tensor (object arrays hold bytes; tobytes() would give pointers)."""
    data = tuple(arr.ravel().tolist()) if arr.dtype == object else arr.tobytes()
    return str(arr.dtype), arr.shape, data


def _read_all(prefix) -> dict[str, object]:
    with open_checkpoint(prefix) as reader:
        return {name: reader.read(name) for name in reader.tensors}


# --------------------------------------------------------------------------- explicit cases
@pytest.mark.parametrize("content", [b"", b"\x00" * 10, b"\x00" * 100, bytes(range(256)) * 4,
                                     b"version https://git-lfs.github.com/spec/v1\noid sha256:1\nsize 9\n"])
def test_bad_index_files(bundle, content):
    Path(str(bundle) + ".index").write_bytes(content)
    with pytest.raises(UnreadableInputError) as info:
        _read_all(bundle)
    assert "model.ckpt-1.index" in _one_line(info.value)


def test_lfs_pointer_index_is_explained(bundle):
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:1\nsize 9\n"
    Path(str(bundle) + ".index").write_text(pointer)
    with pytest.raises(UnreadableInputError, match="Git LFS pointer"):
        open_checkpoint(bundle)


def test_truncated_and_bit_flipped_index(bundle):
    index = Path(str(bundle) + ".index")
    good = index.read_bytes()
    for cut in (1, 10, 47, 48, len(good) // 2):
        index.write_bytes(good[:-cut])
        with pytest.raises(UnreadableInputError):
            _read_all(bundle)
    for pos in range(0, len(good) - 48):  # every bit flip inside a block is caught by its checksum
        index.write_bytes(good[:pos] + bytes([good[pos] ^ 0x04]) + good[pos + 1:])
        with pytest.raises(UnreadableInputError):
            _read_all(bundle)


@pytest.mark.parametrize("mutate", ["empty", "truncate", "flip", "random"])
def test_bad_data_files(bundle, mutate):
    data = Path(str(bundle) + ".data-00000-of-00001")
    good = data.read_bytes()
    bad = {"empty": b"", "truncate": good[:-3], "flip": good[:5] + bytes([good[5] ^ 1]) + good[6:],
           "random": np.random.default_rng(1).bytes(len(good))}[mutate]
    data.write_bytes(bad)
    with pytest.raises(UnreadableInputError) as info:
        _read_all(bundle)
    assert ".data-00000-of-00001" in _one_line(info.value)


def test_missing_shard_is_named(tmp_path):
    prefix = write_bundle(tmp_path / "m", {"a": np.ones(2, np.float32), "b": np.ones(3, np.float32)},
                          num_shards=2)
    Path(prefix + ".data-00001-of-00002").unlink()
    art = resolve(prefix)
    assert [Path(p).name for p in art.missing if ".data" in p] == ["m.data-00001-of-00002"]
    with pytest.raises(UnreadableInputError, match=r"m\.data-00001-of-00002 is missing"):
        _read_all(prefix)


def _rewrite_entry(prefix: Path, name: str, **changes) -> None:
    from inspector.readers.table import Table
    index = Path(str(prefix) + ".index")
    rows = [(k, bytes(v)) for k, v in Table(index.read_bytes(), index)]
    for i, (key, value) in enumerate(rows):
        if key == name.encode():
            entry = pb.BundleEntryProto.FromString(value)
            for field, val in changes.items():
                if field == "shape":
                    del entry.shape.dim[:]
                    for d in val:
                        entry.shape.dim.add(size=d)
                else:
                    setattr(entry, field, val)
            rows[i] = (key, entry.SerializeToString())
    index.write_bytes(table(rows))


@pytest.mark.parametrize("changes", [
    {"offset": 10**6}, {"offset": 2**62, "size": 2**62}, {"size": 2**63 - 1}, {"shard_id": 7},
    {"shape": [2**40, 2**20]}, {"shape": [-1]}, {"dtype": 999}, {"dtype": 20},
])
def test_entry_lies_past_end_or_overflows(bundle, changes):
    _rewrite_entry(bundle, "w", **changes)
    with pytest.raises(UnreadableInputError) as info:
        _read_all(bundle)
    _one_line(info.value)


def test_string_tensor_claiming_huge_shape_allocates_nothing(bundle):
    _rewrite_entry(bundle, "s", shape=[2**50])
    with open_checkpoint(bundle) as reader, pytest.raises(UnreadableInputError, match="claims"):
        reader.read("s")


def test_v1_bad_files(tmp_path):
    path = Path(write_v1(tmp_path / "model.ckpt", {"w": np.ones(3, np.float32)}))
    good = path.read_bytes()
    for bad in (b"", good[:-5], good[:20], good[:3] + bytes([good[3] ^ 8]) + good[4:]):
        path.write_bytes(bad)
        with pytest.raises(UnreadableInputError):
            _read_all(path)


@pytest.mark.parametrize("content", [b"", b"\x0a\xff\xff\xff\xff\x0f", b"\x00" * 64, b"node {\n  name: ",
                                     np.random.default_rng(3).bytes(3000)])
def test_bad_graph_files(tmp_path, content):
    for name in ("model.meta", "graph.pb", "graph.pbtxt"):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(UnreadableInputError) as info:
            load_graph_file(path)
        assert name in _one_line(info.value)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02", b"model_checkpoint_path: 3 {",
                                     b"all_model: \"x\""])
def test_bad_state_files(tmp_path, content):
    (tmp_path / "checkpoint").write_bytes(content)
    with pytest.raises(UnreadableInputError):
        resolve(tmp_path)


def test_folder_with_no_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnreadableInputError, match="no checkpoint"):
        resolve(tmp_path)


def test_state_file_naming_a_missing_checkpoint(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/elsewhere/model.ckpt-9"\n')
    with pytest.raises(UnreadableInputError, match="no such checkpoint exists"):
        resolve(tmp_path)


# --------------------------------------------------------------------------- property test
def _source() -> tuple[Path, str] | None:
    """A real checkpoint folder to mutate: committed fixture first, else a corpus case."""
    for folder, prefix in ((FIXTURE, "model.ckpt-100"), (CORPUS_CKPT, "encryptor_model-500000")):
        if (folder / f"{prefix}.index").is_file():
            return folder, prefix
    return None


SOURCE = _source()
needs_source = pytest.mark.skipif(SOURCE is None, reason="no fixture or corpus checkpoint to mutate")


def _reference() -> dict[str, bytes]:
    folder, prefix = SOURCE
    with open_checkpoint(folder / prefix) as reader:
        return {n: _value(reader.read(n)) for n in reader.tensors}


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 30), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 30), st.just(0)),
    st.tuples(st.just("overwrite"), st.integers(0, 1 << 30), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 30), st.integers(0, 255)),
)


def _mutate(data: bytes, mutation: tuple[str, int, int]) -> bytes:
    kind, pos, arg = mutation
    if not data:
        return data
    pos %= len(data)
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << arg)]) + data[pos + 1:]
    if kind == "truncate":
        return data[:pos]
    if kind == "overwrite":
        return data[:pos] + bytes([arg]) + data[pos + 1:]
    return data[:pos] + bytes([arg]) + data[pos:]


@needs_source
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["index", "data", "meta", "checkpoint"]), mutation=_MUTATION)
def test_mutated_real_checkpoint_reads_correctly_or_fails_cleanly(which, mutation):
    folder, prefix = SOURCE
    reference = _reference()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in folder.glob(prefix + ".*"):
            shutil.copy(f, work / f.name)
        shutil.copy(folder / "checkpoint", work / "checkpoint")
        target = {"index": work / f"{prefix}.index", "data": work / f"{prefix}.data-00000-of-00001",
                  "meta": work / f"{prefix}.meta", "checkpoint": work / "checkpoint"}[which]
        target.write_bytes(_mutate(target.read_bytes(), mutation))
        try:
            art = resolve(work / prefix)
            if art.meta_path:
                load_graph_file(art.meta_path)
            read_state(work / "checkpoint")
            with open_checkpoint(art.prefix) as reader:
                got = {n: _value(reader.read(n)) for n in reader.tensors}
                chunks = {n: b"".join(reader.raw_chunks(n)) for n, m in reader.tensors.items()
                          if m.dtype not in ("string", "variant")}
        except Ckpt2pbError as error:
            _one_line(error)
            return
        assert got == reference
        assert all(chunks[n] == reference[n][2] for n in chunks)


@pytest.mark.skipif(not (FIXTURE_V1 / "model.ckpt-2").is_file(), reason="V1 fixture not generated")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation=_MUTATION)
def test_mutated_v1_checkpoint_reads_correctly_or_fails_cleanly(mutation):
    original = FIXTURE_V1 / "model.ckpt-2"
    with open_checkpoint(original) as reader:
        reference = {n: _value(reader.read(n)) for n in reader.tensors}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.ckpt-2"
        path.write_bytes(_mutate(original.read_bytes(), mutation))
        try:
            got = _read_all(path)
        except Ckpt2pbError as error:
            _one_line(error)
            return
        # V1 data blocks are checksummed, so anything that still reads must be unchanged.
        assert {n: _value(v) for n, v in got.items()} == reference


# --------------------------------------------------------------------------- names the OS refuses
LONG = "x" * 300  # past NAME_MAX (255): stat() fails with ENAMETOOLONG instead of "no such file"


@pytest.mark.parametrize(("argv", "code"), [
    (["inspect", "{tmp}/" + LONG], 2),
    (["freeze", "{tmp}/" + LONG, "--auto-outputs"], 2),
    (["inspect", "{graph}", "--checkpoint", "{tmp}/" + LONG], 2),
    (["inspect", "{graph}", "--log-file", "{tmp}/" + LONG], 2),
    (["freeze", "{ckpt}", "--auto-outputs", "-o", "{tmp}/" + LONG + ".pb"], 2),
    # A state file naming a checkpoint whose name is too long: the folder's one graph is inspected
    # (with a warning), and freezing it needs the checkpoint.
    (["inspect", "{tmp}/state"], 0),
    (["freeze", "{tmp}/state", "--auto-outputs", "-o", "{tmp}/out.pb"], 2),
])
def test_a_name_too_long_for_the_file_system_is_not_a_bug(argv, code, tmp_path, capsys):
    """Found by the fuzzer (tests/fuzz): Path.is_file() raises OSError for such a name (exit 70)."""
    from freezer import cli as freeze_cli
    from inspector import cli as inspect_cli

    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(FIXTURE / "model.ckpt-100.meta", state / f"{LONG[:200]}.meta")
    (state / "checkpoint").write_text(f'model_checkpoint_path: "{LONG}"\n')
    values = {"tmp": str(tmp_path), "graph": str(ROOT / "fixtures/data/graphs/healthy_mlp.pb"),
              "ckpt": str(ROOT / "fixtures/data/checkpoints/resource_vars")}
    command, *args = [a.format(**values) for a in argv]
    main = inspect_cli.main if command == "inspect" else freeze_cli.main
    assert main(args) == code
    err = capsys.readouterr().err
    assert "internal error" not in err and len(err.strip().splitlines()) == code // 2, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
