"""V2 bundle reader on hand-written bundles (every layout rule) and on the committed fixtures."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from inspector.errors import Ckpt2pbError, UnreadableInputError
from inspector.readers.bundle import BundleReader
from tests.inspector.readers.builders import write_bundle

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "checkpoints"


@pytest.fixture
def zoo(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "scope/f64": rng.standard_normal(5),
        "i8": np.array([1, -2, 3], np.int8),
        "u64": np.array([1, 2**64 - 1], np.uint64),
        "b": np.array([True, False]),
        "h": np.array([1.5, -2], np.float16),
        "bf": np.array([1.0, -2.5], ml_dtypes.bfloat16),
        "c": np.array([1 + 2j], np.complex128),
        "scalar": np.int64(5),
        "empty": np.zeros((0, 3), np.float32),
        "strs": [b"", b"\x00\xff" + b"x" * 300, "ünï".encode()],
        "ünïcode": np.array([1.0], np.float32),
    }
    prefix = write_bundle(tmp_path / "m", tensors)
    return prefix, tensors


def test_listing_matches_what_was_written(zoo):
    prefix, tensors = zoo
    with BundleReader(prefix) as reader:
        assert list(reader.tensors) == sorted(tensors, key=lambda k: k.encode())
        meta = reader.tensors["f32"]
        assert (meta.dtype, meta.shape, meta.nbytes, meta.partitioned) == ("float32", (3, 4), 48, False)
        assert reader.tensors["bf"].dtype == "bfloat16"
        assert reader.tensors["h"].dtype == "float16"
        assert reader.tensors["strs"].dtype == "string"
        assert reader.tensors["scalar"].shape == ()
        assert reader.format == "V2" and reader.num_shards == 1


def test_every_value_reads_back_exactly(zoo):
    prefix, tensors = zoo
    with BundleReader(prefix) as reader:
        for name, value in tensors.items():
            got = reader.read(name)
            if isinstance(value, list):
                assert got.dtype == object and list(got) == value
            else:
                assert got.dtype == np.asarray(value).dtype
                assert got.shape == np.shape(value)
                assert got.tobytes() == np.asarray(value).tobytes()
                assert b"".join(reader.raw_chunks(name, chunk_size=5)) == np.asarray(value).tobytes()


def test_reads_are_memory_mapped_not_copied(zoo):
    prefix, _ = zoo
    with BundleReader(prefix) as reader:
        arr = reader.read("f32")
        assert not arr.flags.writeable and not arr.flags.owndata


def test_listing_never_opens_data_files(zoo, tmp_path):
    prefix, _ = zoo
    Path(prefix + ".data-00000-of-00001").unlink()
    with BundleReader(prefix) as reader:
        assert reader.tensors["f32"].shape == (3, 4)
        assert reader.missing_shards() == [prefix + ".data-00000-of-00001"]
        with pytest.raises(UnreadableInputError, match=r"data shard m\.data-00000-of-00001 is missing"):
            reader.read("f32")


def test_location_points_at_the_bytes(zoo):
    prefix, tensors = zoo
    with BundleReader(prefix) as reader:
        path, offset, size = reader.location("scope/f64")
        with open(path, "rb") as fh:
            fh.seek(offset)
            assert fh.read(size) == tensors["scope/f64"].tobytes()
        assert reader.location("strs") is None


def test_partitioned_axis0_and_grid(tmp_path):
    full = np.arange(40, dtype=np.float32).reshape(10, 4)
    grid = np.arange(24, dtype=np.int32).reshape(4, 6)
    prefix = write_bundle(tmp_path / "p", {}, partitioned={
        "part": ((10, 4), [([(0, 4), (0, -1)], full[0:4]), ([(4, 3), (0, -1)], full[4:7]),
                           ([(7, 3), (0, -1)], full[7:10])]),
        "grid": ((4, 6), [([(0, 2), (0, 3)], grid[0:2, 0:3]), ([(0, 2), (3, 3)], grid[0:2, 3:6]),
                          ([(2, 2), (0, 3)], grid[2:4, 0:3]), ([(2, 2), (3, 3)], grid[2:4, 3:6])]),
    })
    with BundleReader(prefix) as reader:
        assert list(reader.tensors) == ["grid", "part"]  # slice keys are not listed
        assert reader.tensors["part"].partitioned and reader.tensors["part"].nbytes == 160
        np.testing.assert_array_equal(reader.read("part"), full)
        np.testing.assert_array_equal(reader.read("grid"), grid)
        assert b"".join(reader.raw_chunks("part", 24)) == full.tobytes()
        assert b"".join(reader.raw_chunks("grid", 8)) == grid.tobytes()
        assert reader.location("part") is None


def test_partitioned_with_a_missing_piece_is_reported(tmp_path):
    full = np.arange(8, dtype=np.float32).reshape(4, 2)
    prefix = write_bundle(tmp_path / "p", {}, partitioned={
        "part": ((4, 2), [([(0, 2), (0, -1)], full[0:2]), ([(1, 2), (0, -1)], full[1:3])])})
    with BundleReader(prefix) as reader, pytest.raises(UnreadableInputError, match="do not tile"):
        reader.read("part")


def test_sharded_bundle(tmp_path):
    tensors = {f"v{i}": np.full((i + 1,), i, np.float32) for i in range(5)}
    prefix = write_bundle(tmp_path / "s", tensors, num_shards=2)
    with BundleReader(prefix) as reader:
        assert reader.num_shards == 2
        for name, value in tensors.items():
            np.testing.assert_array_equal(reader.read(name), value)


def test_bit_flip_in_data_is_a_checksum_error(zoo):
    prefix, _ = zoo
    data_file = Path(prefix + ".data-00000-of-00001")
    with BundleReader(prefix) as reader:
        _, offset, _ = reader.location("f32", verify=False)
    raw = bytearray(data_file.read_bytes())
    raw[offset + 1] ^= 0x10
    data_file.write_bytes(bytes(raw))
    with BundleReader(prefix) as reader:
        with pytest.raises(UnreadableInputError, match="checksum mismatch"):
            reader.read("f32")
        with pytest.raises(UnreadableInputError, match="checksum mismatch"):
            list(reader.raw_chunks("f32"))
        reader.read("i8")  # other tensors stay readable


def test_unknown_name_is_our_error(zoo):
    with BundleReader(zoo[0]) as reader, pytest.raises(Ckpt2pbError, match="no tensor named"):
        reader.read("nope")


def test_string_tensor_has_no_raw_buffer(zoo):
    with BundleReader(zoo[0]) as reader, pytest.raises(Ckpt2pbError, match="no raw buffer"):
        list(reader.raw_chunks("strs"))


@pytest.mark.parametrize("name", ["cnn_bn_momentum", "partitioned", "sharded_two_devices", "dtypes_zoo",
                                  "resource_vars"])
def test_committed_fixtures_read_completely(name):
    folder = FIXTURES / name
    index = sorted(folder.glob("*.index"))[-1]
    with BundleReader(str(index)[:-len(".index")]) as reader:
        assert reader.tensors
        for tensor in reader.tensors:
            value = reader.read(tensor)
            meta = reader.tensors[tensor]
            assert value.shape == meta.shape
            if meta.dtype not in ("string", "variant"):
                assert value.nbytes == meta.nbytes


def test_big_endian_bundle_is_swapped_on_read(tmp_path):
    tensors = {"f": np.arange(6, dtype=np.float32).reshape(2, 3), "c": np.array([1 + 2j], np.complex64),
               "i": np.array([1, -2], np.int16), "u8": np.array([1, 2], np.uint8)}
    prefix = write_bundle(tmp_path / "be", tensors, big_endian=True)
    with BundleReader(prefix) as reader:
        assert reader.big_endian
        for name, value in tensors.items():
            np.testing.assert_array_equal(reader.read(name), value)
            assert b"".join(reader.raw_chunks(name, 4)) == value.tobytes()
        assert reader.location("f") is None  # bytes on disk are not the little-endian buffer
        assert reader.location("u8") is not None


def _variant_bytes(elements: list[bytes]) -> tuple[bytes, int]:
    """DT_VARIANT layout (FORMATS.md §4.4-4.5): varint length, proto, masked running CRC per element."""
    from inspector.readers.crc32c import crc32c, mask
    from tests.inspector.readers.builders import varint
    out, crc = b"", 0
    for element in elements:
        crc = crc32c(element, crc32c(len(element).to_bytes(8, "little"), crc))
        stored = mask(crc).to_bytes(4, "little")
        crc = crc32c(stored, crc)
        out += varint(len(element)) + element + stored
    return out, mask(crc)


def test_variant_tensor_elements_and_checksums(tmp_path):
    from inspector.proto import pb
    from tests.inspector.readers.builders import table
    elements = [pb.VariantTensorDataProto(type_name=f"t{i}", metadata=b"\x00" * i).SerializeToString()
                for i in range(3)]
    raw, crc = _variant_bytes(elements)
    entry = pb.BundleEntryProto(dtype=21, size=len(raw), crc32c=crc)
    entry.shape.dim.add(size=3)
    header = pb.BundleHeaderProto(num_shards=1)
    (tmp_path / "v.index").write_bytes(table([(b"", header.SerializeToString()),
                                              (b"tl", entry.SerializeToString())]))
    data = tmp_path / "v.data-00000-of-00001"
    data.write_bytes(raw)
    with BundleReader(tmp_path / "v") as reader:
        assert reader.tensors["tl"].dtype == "variant"
        assert list(reader.read("tl")) == elements
    data.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with BundleReader(tmp_path / "v") as reader, pytest.raises(UnreadableInputError, match="checksum"):
        reader.read("tl")


def test_a_shard_too_large_to_map_says_the_address_space_was_refused(tmp_path, monkeypatch):
    import errno
    import mmap

    from inspector.readers import bundle

    prefix = write_bundle(tmp_path / "m", {"w": np.arange(4, dtype=np.float32)})

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(mmap, "mmap", refuse)
    monkeypatch.setattr(bundle, "_address_space_limit", lambda: 3_000_000_000)
    with BundleReader(prefix) as reader, pytest.raises(UnreadableInputError) as info:
        reader.read("w")
    message = str(info.value)
    assert "cannot memory-map the 16-byte data shard: the system refused 16 bytes of address space within " \
           "this process's address-space limit (3,000,000,000 bytes, ulimit -v)" in message
    assert "ulimit -v unlimited" in message and "check that the file is readable" not in message.lower()


def test_a_1_tib_sparse_shard_under_an_address_space_limit_is_exit_2_saying_so(tmp_path):
    """The real thing: a 1 TiB (sparse) shard, ``freeze`` under ``ulimit -v`` 3 GB."""
    import os
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "ckpt"
    shutil.copytree(FIXTURES / "cnn_bn_momentum", folder)
    data = folder / "model.ckpt-300.data-00000-of-00001"
    try:
        os.truncate(data, 1 << 40)
    except OSError:
        pytest.skip("this file system cannot hold a sparse 1 TiB file")
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
              "from freezer.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", script, str(folder), "--outputs", "probabilities", "-o",
                           str(tmp_path / "f.pb")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "cannot memory-map the 1,099,511,627,776-byte data shard: the system refused" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_unknown_rank_beside_the_dims_is_ignored_as_tensorflow_does(tmp_path):
    """TF's bundle reader builds a TensorShape from the entry, which reads only the dims
    (tensor_shape.cc); inspect refused such a checkpoint as 'unknown or negative shape'."""
    from tests.inspector.readers.builders import flag_unknown_rank

    values = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "step": np.int64(300)}
    prefix = write_bundle(tmp_path / "m", values)
    flag_unknown_rank(f"{prefix}.index", {"w", "step"})
    with BundleReader(prefix) as reader:
        assert (reader.tensors["w"].shape, reader.tensors["step"].shape) == ((3, 4), ())
        assert np.array_equal(reader.read("w"), values["w"]) and reader.read("step") == 300


@pytest.mark.parametrize("change", ["replaced", "resized", "modified", "deleted", "index replaced"])
def test_files_changed_since_they_were_opened_are_named(tmp_path, change):
    """Issue 12 item 5: the freezer refuses to write when a checkpoint file it read changed meanwhile
    (a trainer saving the same prefix again); the reader says which file and how."""
    import os

    prefix = tmp_path / "model.ckpt"
    write_bundle(prefix, {"w": np.arange(4, dtype=np.float32)})
    shard = Path(f"{prefix}.data-00000-of-00001")
    with BundleReader(prefix) as reader:
        before = reader.read("w").copy()
        assert reader.changed_files() == []
        if change == "replaced":
            other = tmp_path / "other"
            write_bundle(other, {"w": np.ones(4, dtype=np.float32)})
            os.replace(f"{other}.data-00000-of-00001", shard)
        elif change == "resized":
            with open(shard, "ab") as fh:
                fh.write(b"more")
        elif change == "modified":
            stat = shard.stat()
            os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        elif change == "deleted":
            shard.unlink()
        else:
            other = tmp_path / "other"
            write_bundle(other, {"w": np.ones(4, dtype=np.float32)})
            os.replace(f"{other}.index", f"{prefix}.index")
        (path, what), = reader.changed_files()
        assert path == (f"{prefix}.index" if change == "index replaced" else str(shard))
        assert {"replaced": "replaced", "resized": "changed size", "modified": "modified",
                "deleted": "deleted", "index replaced": "replaced"}[change] in what
        # every read still comes from the file the reader opened
        offset = reader.entry("w").offset
        assert os.pread(reader.data_fd(0), 16, offset) == before.tobytes()
