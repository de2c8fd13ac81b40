"""resolve(): every way a user can point at a checkpoint, graph or SavedModel."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from inspector.errors import UnreadableInputError
from inspector.readers.resolve import meta_path_for, placeholder_problem, resolve
from tests.corpus import CORPUS, requires_corpus
from tests.inspector.readers.builders import write_bundle, write_v1

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "data"


@pytest.fixture
def run(tmp_path):
    for step in (100, 200, 300):
        write_bundle(tmp_path / f"model.ckpt-{step}", {"x": np.ones(1, np.float32)})
        (tmp_path / f"model.ckpt-{step}.meta").write_bytes(b"")
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-300"\n'
        + "".join(f'all_model_checkpoint_paths: "model.ckpt-{s}"\n' for s in (100, 200, 300)))
    return tmp_path


@pytest.mark.parametrize("given", ["", "checkpoint", "model.ckpt-300", "model.ckpt-300.index",
                                   "model.ckpt-300.meta", "model.ckpt-300.data-00000-of-00001"])
def test_every_spelling_resolves_to_the_same_checkpoint(run, given):
    art = resolve(run / given if given else run)
    assert art.kind == "checkpoint" and art.format == "V2"
    assert Path(art.prefix) == run / "model.ckpt-300"
    assert Path(art.meta_path) == run / "model.ckpt-300.meta"
    assert [Path(p).name for p in art.data_paths] == ["model.ckpt-300.data-00000-of-00001"]
    assert [s.step for s in art.steps] == [100, 200, 300]
    assert art.missing == [] and art.warnings == []


def test_older_step_by_prefix(run):
    assert Path(resolve(run / "model.ckpt-100").prefix) == run / "model.ckpt-100"


def test_missing_meta_and_shard_are_named_exactly(run):
    (run / "model.ckpt-300.meta").unlink()
    (run / "model.ckpt-300.data-00000-of-00001").unlink()
    art = resolve(run)
    assert sorted(Path(p).name for p in art.missing) == ["model.ckpt-300.data-00000-of-00001",
                                                         "model.ckpt-300.meta"]
    assert any("model.ckpt-300.meta is missing" in w for w in art.warnings)
    assert any("model.ckpt-300.data-00000-of-00001 is missing" in w for w in art.warnings)


def test_folder_without_state_file_takes_newest_step(run):
    (run / "checkpoint").unlink()
    art = resolve(run)
    assert Path(art.prefix).name == "model.ckpt-300"
    assert "newest of 3" in art.warnings[0]


def test_unreadable_state_file_falls_back_to_the_files(run):
    (run / "checkpoint").write_bytes(b"\x00garbage")
    art = resolve(run)
    assert Path(art.prefix).name == "model.ckpt-300"
    assert "ignored the state file" in art.warnings[0]


def test_state_file_naming_a_deleted_checkpoint_falls_back(run):
    for f in run.glob("model.ckpt-300.*"):
        f.unlink()
    art = resolve(run)
    assert Path(art.prefix).name == "model.ckpt-200"
    assert "does not exist" in art.warnings[0]


def test_v1_file_and_shards(tmp_path):
    write_v1(tmp_path / "model.ckpt-2", {"x": np.ones(1, np.float32)})
    art = resolve(tmp_path)
    assert art.format == "V1" and Path(art.prefix).name == "model.ckpt-2"
    for i in range(2):
        write_v1(tmp_path / f"s.ckpt-4-{i:05d}-of-00002", {"x": np.ones(1, np.float32)})
    art = resolve(tmp_path / "s.ckpt-4-00001-of-00002")
    assert art.format == "V1" and Path(art.prefix).name == "s.ckpt-4-?????-of-00002"
    assert meta_path_for(art.prefix).endswith("s.ckpt-4.meta")


def test_graph_files_and_saved_model(tmp_path):
    (tmp_path / "g.pb").write_bytes(b"\n\x01a")
    assert resolve(tmp_path / "g.pb").kind == "graph"
    sm = tmp_path / "sm"
    (sm / "variables").mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(b"\x08\x01")
    write_bundle(sm / "variables" / "variables", {"x": np.ones(1, np.float32)})
    art = resolve(sm)
    assert art.kind == "saved_model" and art.format == "V2"
    assert Path(art.prefix) == sm / "variables" / "variables"
    assert resolve(sm / "saved_model.pb").kind == "saved_model"
    for inner in (sm / "variables", sm / "variables" / "variables.index",
                  sm / "variables" / "variables.data-00000-of-00001"):
        assert resolve(inner).kind == "saved_model", inner


def test_meta_without_checkpoint_is_a_graph(tmp_path):
    (tmp_path / "x.meta").write_bytes(b"\n\x00")
    art = resolve(tmp_path / "x.meta")
    assert art.kind == "graph" and "no checkpoint next to x.meta" in art.warnings[0]


def test_nothing_there(tmp_path):
    with pytest.raises(UnreadableInputError, match="no checkpoint, graph or SavedModel"):
        resolve(tmp_path)
    with pytest.raises(UnreadableInputError, match="no such file"):
        resolve(tmp_path / "model.ckpt-9")


def test_lfs_pointer_and_bfg_stub(tmp_path):
    pointer = tmp_path / "model.pb"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123456\n")
    with pytest.raises(UnreadableInputError, match=r"Git LFS pointer.*123,456 bytes"):
        resolve(pointer)
    (tmp_path / "frozen.pb.REMOVED.git-id").write_text("98dee229d3f1168052cc50eaecf3bebe889cde97")
    problem = placeholder_problem(tmp_path / "frozen.pb")
    assert problem is not None and "BFG" in problem.message
    with pytest.raises(UnreadableInputError, match="BFG"):
        resolve(tmp_path / "frozen.pb")


def test_stale_abs_paths_fixture():
    folder = FIXTURES / "checkpoints" / "stale_abs_paths"
    art = resolve(folder)
    assert Path(art.prefix).name == "model.ckpt-5"
    assert [s.step for s in art.steps] == [4, 5]
    assert any("/home/alice/train/model.ckpt-5" in w for w in art.warnings)


@requires_corpus
def test_corpus_bfg_stripped_checkpoint_lists_but_names_the_stubs():
    art = resolve(CORPUS / "od_ssd_bfg_stripped_ckpt_broken")
    assert art.kind == "checkpoint" and art.meta_path is None
    assert sorted(Path(p).name for p in art.missing) == ["model.ckpt.data-00000-of-00001", "model.ckpt.meta"]
    assert all("BFG" in w for w in art.warnings)


@requires_corpus
def test_corpus_windows_relative_state_entry():
    art = resolve(CORPUS / "apiquet_mnist_bn_dropout_2ckpts")
    assert Path(art.prefix).name == "model3conv"
    assert sorted(Path(s.prefix).name for s in art.steps) == ["model3conv", "model4conv"]


def test_a_folder_that_cannot_be_listed_is_unreadable_input(tmp_path, monkeypatch):
    # chmod 000 does not stop root, so refuse the listing the way the OS would for other users
    import os

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(UnreadableInputError, match=r"cannot list the folder \(Permission denied\)") as info:
        resolve(tmp_path)
    assert info.value.path == str(tmp_path) and info.value.exit_code == 2


def test_data_shards_without_their_index_say_the_index_is_missing(tmp_path):
    write_bundle(tmp_path / "model.ckpt-7", {"x": np.ones(1, np.float32)})
    (tmp_path / "model.ckpt-7.index").unlink()
    shard = tmp_path / "model.ckpt-7.data-00000-of-00001"
    with pytest.raises(UnreadableInputError, match=r"model\.ckpt-7\.index, which goes with this data shard"):
        resolve(shard)
    with pytest.raises(UnreadableInputError, match=r"not the \.index files") as info:
        resolve(tmp_path)
    assert "Copy the .index files" in str(info.value)


def test_a_folder_of_several_graphs_names_them(tmp_path):
    for name in ("a.pb", "b.pbtxt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(UnreadableInputError, match=r"2 graph files \(a\.pb, b\.pbtxt\) and no checkpoint"):
        resolve(tmp_path)


@pytest.mark.parametrize("given", ["", "model-20180402-114759.ckpt-275", "model-20180402-114759.meta"])
def test_a_lone_stepless_meta_is_paired_with_its_checkpoint_with_a_note(tmp_path, given):
    """facenet's layout: the graph written once as model-X.meta, the steps as model-X.ckpt-N."""
    write_bundle(tmp_path / "model-20180402-114759.ckpt-275", {"x": np.ones(1, np.float32)})
    (tmp_path / "model-20180402-114759.meta").write_bytes(b"")
    art = resolve(tmp_path / given if given else tmp_path)
    assert art.kind == "checkpoint" and Path(art.prefix).name == "model-20180402-114759.ckpt-275"
    assert Path(art.meta_path).name == "model-20180402-114759.meta"
    assert any("saved once without the step" in w for w in art.warnings)


def test_a_stepless_meta_is_not_guessed_among_several_graphs(tmp_path):
    write_bundle(tmp_path / "model-X.ckpt-275", {"x": np.ones(1, np.float32)})
    (tmp_path / "model-X.meta").write_bytes(b"")
    (tmp_path / "other.meta").write_bytes(b"")
    art = resolve(tmp_path / "model-X.ckpt-275")
    assert art.meta_path is None and any("model-X.ckpt-275.meta is missing" in w for w in art.warnings)


def test_a_graph_beside_a_state_file_naming_missing_checkpoints_is_inspected_with_a_warning(tmp_path):
    """An Estimator model_dir committed with graph.pbtxt and its state file but no checkpoint."""
    (tmp_path / "graph.pbtxt").write_text('node { name: "x" op: "Placeholder" }\n')
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-12500"\n')
    art = resolve(tmp_path)
    assert art.kind == "graph" and Path(art.graph_path).name == "graph.pbtxt"
    assert "names 'model.ckpt-12500', but no such checkpoint exists" in art.warnings[0]


@pytest.mark.parametrize("which", ["model.ckpt-300.data-00000-of-00001", "model.ckpt-300.index",
                                   "model.ckpt-300.meta", "checkpoint"])
@pytest.mark.parametrize("given", ["folder", "prefix", "fifo"])
def test_a_named_pipe_among_a_checkpoints_files_is_refused_before_anything_opens_it(tmp_path, which, given):
    import shutil

    from tests.inspector.readers.builders import without_blocking

    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("checkpoint", "model.ckpt-300.data-00000-of-00001", "model.ckpt-300.index",
                 "model.ckpt-300.meta"):
        shutil.copy(FIXTURES / "checkpoints" / "cnn_bn_momentum" / name, folder / name)
    fifo = folder / which
    fifo.unlink()
    os.mkfifo(fifo)
    path = {"folder": folder, "prefix": folder / "model.ckpt-300", "fifo": fifo}[given]
    with pytest.raises(UnreadableInputError) as info:
        without_blocking(lambda: resolve(path), [fifo])
    assert str(info.value).startswith(f"{fifo}: is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("named", ["/etc/passwd", "outside", "../x", "model.ckpt-300.meta"])
def test_a_state_file_naming_a_file_that_is_no_checkpoint_falls_back_with_a_warning(run, named):
    """Issue 12 item 8: was exit 2 ('is neither a V2 checkpoint nor a valid V1 checkpoint table')
    although valid checkpoints sit in the folder; now the newest of those is used, as for a missing
    step, and the warning names the file that was not read."""
    if named == "/etc/passwd" and not Path(named).is_file():
        pytest.skip("no /etc/passwd on this machine")
    (run.parent / "x").write_text("not a checkpoint\n")
    recorded = str(run.parent / "x") if named == "outside" else named
    (run / "checkpoint").write_text(f'model_checkpoint_path: "{recorded}"\n'
                                    'all_model_checkpoint_paths: "model.ckpt-200"\n')
    art = resolve(run)
    assert Path(art.prefix).name == "model.ckpt-200"  # the newest the state file lists, as for a missing step
    (warning,) = art.warnings
    assert recorded in warning and "is not a checkpoint" in warning and "was not read" in warning
    assert not any(Path(s.prefix).name in ("passwd", "x") and s.exists for s in art.steps)


def test_a_state_file_naming_only_a_file_that_is_no_checkpoint_says_so(tmp_path):
    (tmp_path / "x").write_text("not a checkpoint\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint").write_text('model_checkpoint_path: "../x"\n')
    with pytest.raises(UnreadableInputError, match=r"names '\.\./x', which is not a checkpoint"):
        resolve(tmp_path / "run")
