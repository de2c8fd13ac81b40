"""open_checkpoint: format detection and the common reader interface."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.errors import UnreadableInputError
from inspector.readers.checkpoint import TensorMeta, checkpoint_format, open_checkpoint, v1_files
from tests.corpus import assert_missing_shard_refused, corpus_params, missing_data_shards
from tests.inspector.readers.builders import write_bundle, write_v1


def test_detects_v2_and_v1(tmp_path):
    write_bundle(tmp_path / "a", {"x": np.ones(2, np.float32)})
    write_v1(tmp_path / "b", {"x": np.ones(2, np.float32)})
    assert checkpoint_format(tmp_path / "a") == "V2"
    assert checkpoint_format(tmp_path / "b") == "V1"
    assert checkpoint_format(tmp_path / "c") is None
    for prefix, fmt in (("a", "V2"), ("b", "V1")):
        with open_checkpoint(tmp_path / prefix) as reader:
            assert reader.format == fmt
            assert reader.tensors["x"] == TensorMeta("x", "float32", (2,), 8)
            np.testing.assert_array_equal(reader.read("x"), np.ones(2, np.float32))


def test_v1_shard_files_are_found(tmp_path):
    for i in range(2):
        write_v1(tmp_path / f"m-{i:05d}-of-00002", {f"x{i}": np.ones(1, np.float32)})
    assert len(v1_files(str(tmp_path / "m"))) == 2
    with open_checkpoint(str(tmp_path / "m-?????-of-00002")) as reader:
        assert list(reader.tensors) == ["x0", "x1"]


def test_missing_checkpoint_names_what_was_expected(tmp_path):
    with pytest.raises(UnreadableInputError, match=r"neither model\.ckpt-3\.index"):
        open_checkpoint(tmp_path / "model.ckpt-3")


@pytest.mark.parametrize("case", corpus_params("checkpoint"))
def test_corpus_checkpoints_list_and_read(case):
    from inspector.readers.resolve import resolve
    art = resolve(case.folder)
    with open_checkpoint(art.prefix) as reader:
        assert reader.tensors
        if missing_data_shards(case):  # the names and shapes are in the .index; the values are not
            assert_missing_shard_refused(case, lambda: reader.read(next(iter(reader.tensors))))
            return
        for name, meta in reader.tensors.items():
            assert reader.read(name).shape == meta.shape


def test_readers_refuse_named_pipes_before_opening_them(tmp_path):
    import os
    from pathlib import Path

    from inspector.readers.state import read_state
    from tests.inspector.readers.builders import without_blocking

    prefix = Path(write_bundle(tmp_path / "model.ckpt-1", {"w": np.arange(4, dtype=np.float32)}))
    data = Path(f"{prefix}.data-00000-of-00001")
    data.unlink()
    os.mkfifo(data)
    with open_checkpoint(prefix) as reader, pytest.raises(UnreadableInputError, match="named pipe"):
        without_blocking(lambda: reader.read("w"), [data])
    index = Path(f"{prefix}.index")
    index.unlink()
    os.mkfifo(index)
    assert checkpoint_format(prefix) == "V2"  # it exists: the reader says what it is, not "no checkpoint"
    with pytest.raises(UnreadableInputError, match="named pipe"):
        without_blocking(lambda: open_checkpoint(prefix), [index])
    v1 = tmp_path / "v1.ckpt"
    os.mkfifo(v1)
    with pytest.raises(UnreadableInputError, match="named pipe"):
        without_blocking(lambda: open_checkpoint(v1), [v1])
    state = tmp_path / "checkpoint"
    os.mkfifo(state)
    with pytest.raises(UnreadableInputError, match="named pipe"):
        without_blocking(lambda: read_state(state), [state])
