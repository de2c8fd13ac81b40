"""V1 checkpoints: hand-written single files and the committed V1 fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.errors import UnreadableInputError
from inspector.readers.v1 import V1Reader
from tests.inspector.readers.builders import write_v1

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "checkpoints"


def test_hand_written_v1_reads_back(tmp_path):
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(7, np.int64),
               "d": np.array([0.5, 1.5]), "i": np.array([[1, -2]], np.int32), "b": np.array([True, False])}
    path = write_v1(tmp_path / "model.ckpt", tensors)
    with V1Reader(path) as reader:
        assert reader.format == "V1"
        assert list(reader.tensors) == sorted(tensors)
        for name, value in tensors.items():
            got = reader.read(name)
            assert got.dtype == value.dtype and got.shape == value.shape
            np.testing.assert_array_equal(got, value)
            assert b"".join(reader.raw_chunks(name, 4)) == value.tobytes()
        assert reader.location("w") is None


def test_half_and_small_ints(tmp_path):
    tensors = {"h": np.array([1.5, -2.0, 65504.0], np.float16), "u": np.array([0, 255], np.uint8)}
    path = write_v1(tmp_path / "model.ckpt", tensors)
    with V1Reader(path) as reader:
        for name, value in tensors.items():
            got = reader.read(name)
            assert got.dtype == value.dtype and got.tobytes() == value.tobytes()


def test_out_of_range_half_bits_keep_the_low_16_bits_like_tf(tmp_path):
    path = write_v1(tmp_path / "model.ckpt", {"h": np.array([1.0], np.float16)})
    from inspector.proto import pb
    from inspector.readers.table import Table
    from tests.inspector.readers.builders import table
    rows = [(k, bytes(v)) for k, v in Table(Path(path).read_bytes(), path)]
    data = pb.SavedTensorSlices.FromString(rows[1][1])
    data.data.data.half_val[0] = 70000  # not a 16-bit pattern
    rows[1] = (rows[1][0], data.SerializeToString())
    Path(path).write_bytes(table(rows))
    with V1Reader(path) as reader:
        assert reader.read("h").view(np.uint16)[0] == 70000 & 0xFFFF


def test_value_count_mismatch_is_reported(tmp_path):
    path = write_v1(tmp_path / "model.ckpt", {"w": np.arange(4, dtype=np.float32)})
    raw = Path(path).read_bytes()
    # Claim a bigger shape in the meta entry by rewriting it through the builder's own pieces.
    from inspector.proto import pb
    from inspector.readers.table import Table
    from tests.inspector.readers.builders import table
    rows = [(k, bytes(v)) for k, v in Table(raw, path)]
    meta = pb.SavedTensorSlices.FromString(rows[0][1])
    meta.meta.tensor[0].shape.dim[0].size = 5
    rows[0] = (b"", meta.SerializeToString())
    Path(path).write_bytes(table(rows))
    with V1Reader(path) as reader, pytest.raises(UnreadableInputError, match="stores 4 values"):
        reader.read("w")


@pytest.mark.parametrize(("name", "prefix"), [("v1_single", "model.ckpt-2"),
                                              ("v1_sharded", "model.ckpt-2-?????-of-00002")])
def test_committed_v1_fixtures(name, prefix):
    folder = FIXTURES / name
    with V1Reader(str(folder / prefix)) as reader:
        assert reader.tensors
        assert any(m.partitioned for m in reader.tensors.values())
        for tensor, meta in reader.tensors.items():
            value = reader.read(tensor)
            assert value.shape == meta.shape


def test_a_missing_v1_shard_is_named_not_silently_skipped(tmp_path):
    source = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "checkpoints" / "v1_sharded"
    shard = "model.ckpt-2-00000-of-00002"
    (tmp_path / shard).write_bytes((source / shard).read_bytes())
    with pytest.raises(UnreadableInputError, match=r"shard model\.ckpt-2-00001-of-00002 is missing: 1 of 2"):
        V1Reader(str(tmp_path / "model.ckpt-2-?????-of-00002"))
    with pytest.raises(UnreadableInputError, match="is missing"):
        V1Reader(str(tmp_path / "model.ckpt-2"))
