"""The `checkpoint` state file: text-format parsing, relative/absolute/foreign paths, steps."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.errors import UnreadableInputError
from inspector.readers.state import locate, read_state, resolve_state, step_of
from tests.inspector.readers.builders import write_bundle


def _ckpts(folder, *names):
    for name in names:
        write_bundle(folder / name, {"x": np.ones(1, np.float32)})


def test_step_of():
    assert step_of("model.ckpt-300") == 300
    assert step_of("/a/b/model.ckpt-2-?????-of-00002") == 2
    assert step_of("C:\\run\\model.ckpt-7") == 7
    assert step_of("model.ckpt") is None


def test_relative_paths_join_the_folder(tmp_path):
    _ckpts(tmp_path, "model.ckpt-1", "model.ckpt-2")
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-2"\nall_model_checkpoint_paths: "model.ckpt-1"\n'
        'all_model_checkpoint_paths: "model.ckpt-2"\nall_model_checkpoint_timestamps: 1.5\n'
        'all_model_checkpoint_timestamps: 2.5\n')
    info = resolve_state(tmp_path / "checkpoint")
    assert info.latest.prefix == str(tmp_path / "model.ckpt-2") and info.latest.exists
    assert [s.step for s in info.saved] == [1, 2]
    assert [s.timestamp for s in info.saved] == [1.5, 2.5]
    assert info.warnings == []


def test_absolute_paths_from_another_machine_are_relocated_with_a_warning(tmp_path):
    _ckpts(tmp_path, "model.ckpt-5")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/home/alice/run/model.ckpt-5"\n')
    info = resolve_state(tmp_path / "checkpoint")
    assert info.latest.prefix == str(tmp_path / "model.ckpt-5")
    assert "/home/alice/run/model.ckpt-5" in info.warnings[0]


def test_windows_paths_are_relocated(tmp_path):
    _ckpts(tmp_path, "m")
    prefix, warning = locate("..\\m", str(tmp_path))
    assert prefix == str(tmp_path / "m") and warning
    prefix, warning = locate("D:\\runs\\m", str(tmp_path))
    assert prefix == str(tmp_path / "m") and warning


def test_escaped_strings_use_a_real_text_parser(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "we\\"ird-3"\n')
    assert read_state(tmp_path / "checkpoint").model_checkpoint_path == 'we"ird-3'


@pytest.mark.parametrize("content", [b"model_checkpoint_path: ", b"\xff\xfe\x00", b"garbage {{{"])
def test_bad_state_file_is_our_error(tmp_path, content):
    (tmp_path / "checkpoint").write_bytes(content)
    with pytest.raises(UnreadableInputError, match="not a valid checkpoint state file"):
        read_state(tmp_path / "checkpoint")


def test_a_copied_folder_whose_state_file_names_the_original_says_so(tmp_path):
    original, copy = tmp_path / "train", tmp_path / "copy"
    for folder in (original, copy):
        folder.mkdir()
        write_bundle(folder / "model.ckpt-9", {"x": np.ones(1, np.float32)})
    (copy / "checkpoint").write_text(f'model_checkpoint_path: "{original / "model.ckpt-9"}"\n')
    info = resolve_state(copy / "checkpoint")
    assert info.latest.prefix == str(original / "model.ckpt-9")  # as TensorFlow reads it
    assert any("points outside its folder" in w and "its own copy" in w for w in info.warnings)
    (original / "checkpoint").write_text(f'model_checkpoint_path: "{original / "model.ckpt-9"}"\n')
    assert resolve_state(original / "checkpoint").warnings == []


@pytest.mark.parametrize("named", ["outside", "../x", "notes.txt", "../y"])
def test_a_state_file_naming_a_file_that_is_no_checkpoint_lists_it_as_unusable(tmp_path, named):
    """Issue 12 item 8: a state file may name any existing file (/etc/passwd, ../x): it is no
    checkpoint, so it neither 'exists' as one nor is read, and no warning says it is read."""
    folder = tmp_path / "run"
    folder.mkdir()
    _ckpts(folder, "model.ckpt-1")
    (tmp_path / "x").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "y.index").write_bytes(b"\0" * 100)  # a .index that is no table
    (folder / "notes.txt").write_text("hello\n")
    recorded = str(tmp_path / "x") if named == "outside" else named
    (folder / "checkpoint").write_text(f'model_checkpoint_path: "{recorded}"\n')
    info = resolve_state(folder / "checkpoint")
    assert not info.latest.exists and info.latest.problem.startswith("is not a checkpoint")
    assert not any("reading that" in w for w in info.warnings)
