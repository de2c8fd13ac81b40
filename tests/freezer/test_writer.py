"""The streaming writer must produce exactly the bytes the protobuf runtime would."""

from __future__ import annotations

import errno
import io
import os

import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

from freezer import writer
from freezer.writer import AtomicOutput, StreamedConst
from inspector.errors import UnreadableInputError, UsageError, ValidationError
from inspector.proto import pb


def _const(name: str, array: np.ndarray, dtype: int, device: str = "", chunk: int = 7) -> StreamedConst:
    raw = array.tobytes()
    return StreamedConst(name=name, dtype=dtype, shape=array.shape, nbytes=len(raw),
                         chunks=lambda: (raw[i:i + chunk] for i in range(0, len(raw), chunk)),
                         device=device)


def _reference(name: str, array: np.ndarray, dtype: int, device: str = "") -> pb.NodeDef:
    node = pb.NodeDef(name=name, op="Const", device=device)
    node.attr["dtype"].type = dtype
    tensor = node.attr["value"].tensor
    tensor.dtype = dtype
    tensor.tensor_shape.SetInParent()  # a scalar still names its (empty) shape, as TF writes it
    for size in array.shape:
        tensor.tensor_shape.dim.add(size=size)
    tensor.tensor_content = array.tobytes()
    return node


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (200, 300), (1, 1, 1, 1)])
@pytest.mark.parametrize("device", ["", "/device:CPU:0"])
def test_const_bytes_equal_protobuf_serialization(shape, device):
    array = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    item = _const("scope/w", array, pb.DataType.DT_FLOAT, device)
    reference = _reference("scope/w", array, pb.DataType.DT_FLOAT, device)
    expected = reference.SerializeToString(deterministic=True)
    out = io.BytesIO()
    writer.write_binary(out, [item])
    graph = pb.GraphDef.FromString(out.getvalue())
    assert graph.node[0].SerializeToString(deterministic=True) == expected
    assert out.getvalue() == writer.len_field(1, expected)
    assert item.node_size() == len(expected)


def test_graph_with_mixed_nodes_library_and_versions_round_trips():
    small = pb.NodeDef(name="x", op="Placeholder")
    small.attr["dtype"].type = pb.DataType.DT_FLOAT
    add = pb.NodeDef(name="y", op="Add", input=["x", "w"])
    weights = np.random.default_rng(0).standard_normal((64, 33)).astype(np.float32)
    items = [small, _const("w", weights, pb.DataType.DT_FLOAT, chunk=1000), add]
    library = pb.FunctionDefLibrary()
    library.function.add().signature.name = "f"
    versions = pb.VersionDef(producer=2474)
    out = io.BytesIO()
    size = writer.write_binary(out, items, library, versions)
    assert size == len(out.getvalue()) == writer.graph_size(items, library, versions)

    graph = pb.GraphDef.FromString(out.getvalue())
    assert [n.name for n in graph.node] == ["x", "w", "y"]
    restored = np.frombuffer(graph.node[1].attr["value"].tensor.tensor_content, np.float32).reshape(64, 33)
    assert np.array_equal(restored, weights)
    assert graph.library.function[0].signature.name == "f"
    assert graph.versions.producer == 2474


def test_large_tensor_multi_byte_lengths():
    weights = np.ones((300, 300), dtype=np.float64)  # 720 kB: three-byte varint lengths
    item = _const("big", weights, pb.DataType.DT_DOUBLE, chunk=65536)
    out = io.BytesIO()
    writer.write_binary(out, [item])
    node = pb.GraphDef.FromString(out.getvalue()).node[0]
    assert node.attr["value"].tensor.tensor_content == weights.tobytes()


def test_wrong_byte_count_is_an_error():
    item = StreamedConst("w", pb.DataType.DT_FLOAT, (4,), 16, chunks=lambda: [b"\0" * 12])
    with pytest.raises(ValidationError, match="only 12 of the 16 bytes"):
        writer.write_binary(io.BytesIO(), [item])
    item = StreamedConst("w", pb.DataType.DT_FLOAT, (4,), 16, chunks=lambda: [b"\0" * 20])
    with pytest.raises(ValidationError, match="more than"):
        writer.write_binary(io.BytesIO(), [item])


def test_text_output_parses_back():
    weights = np.array([[1.5, -2.0]], dtype=np.float32)
    items = [pb.NodeDef(name="x", op="NoOp"), _const("w", weights, pb.DataType.DT_FLOAT)]
    out = io.StringIO()
    writer.write_text(out, items, versions=pb.VersionDef(producer=7))
    graph = text_format.Parse(out.getvalue(), pb.GraphDef())
    assert graph.node[1] == _reference("w", weights, pb.DataType.DT_FLOAT)
    assert graph.versions.producer == 7


def test_size_limit(monkeypatch):
    monkeypatch.setattr(writer, "MAX_GRAPH_BYTES", 100)
    writer.check_size_limit(100)
    with pytest.raises(ValidationError, match="SavedModel") as info:
        writer.check_size_limit(101, "out.pb")
    assert info.value.exit_code == 3


def test_atomic_output_commits_or_leaves_nothing(tmp_path):
    target = tmp_path / "model.pb"
    with AtomicOutput(target) as output:
        output.file.write(b"abc")
        output.commit()
    assert target.read_bytes() == b"abc"
    with AtomicOutput(target) as output:
        output.file.write(b"partial")
    assert target.read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pb"]


def test_inputs_named_by_a_state_file_with_a_nul_byte_or_a_long_name_are_no_output(tmp_path):
    """A state file naming 'm\\0odel.ckpt-1' gave ValueError ('embedded null byte', exit 70) in the
    check that the output is no input (found by tests/fuzz): such a name is no file, so never the output."""
    source = tmp_path / "model.ckpt.meta"
    source.write_bytes(b"meta")
    hostile = [tmp_path / "m\0odel.ckpt-1.index", tmp_path / ("x" * 300)]
    with AtomicOutput(tmp_path / "out.pb", protected=hostile) as output:
        output.file.write(b"x")
        output.commit()
    assert (tmp_path / "out.pb").read_bytes() == b"x"
    with pytest.raises(UsageError, match="one of the inputs"):
        AtomicOutput(source, protected=[*hostile, source])


def test_atomic_output_refuses_an_input(tmp_path):
    source = tmp_path / "model.ckpt.meta"
    source.write_bytes(b"meta")
    with pytest.raises(UsageError, match="one of the inputs") as info:
        AtomicOutput(source, protected=[source])
    assert str(info.value).count(str(source)) == 1  # the line names the file once
    with pytest.raises(UsageError, match="does not exist"):
        AtomicOutput(tmp_path / "missing" / "x.pb")
    assert source.read_bytes() == b"meta"


def test_progress_draws_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet = io.StringIO()
    bar = writer.Progress(100, stream=quiet, delay=0)
    bar.advance(50)
    bar.finish()
    assert quiet.getvalue() == ""
    tty = Tty()
    bar = writer.Progress(100, stream=tty, delay=0)
    bar.advance(50)
    bar.advance(50)
    bar.finish()
    assert "100%" in tty.getvalue() and tty.getvalue().endswith("\n")


def _crc(data: bytes) -> int:
    from inspector.readers.crc32c import crc32c, mask

    return mask(crc32c(data))


def test_file_to_file_copy_gives_the_same_bytes(tmp_path):
    weights = np.random.default_rng(1).standard_normal((50, 7)).astype(np.float32)
    shard = tmp_path / "model.data"
    shard.write_bytes(b"header!" + weights.tobytes() + b"trailer")
    copied = StreamedConst("w", pb.DataType.DT_FLOAT, weights.shape, weights.nbytes,
                           chunks=lambda: pytest.fail("the copy path must not read chunks"),
                           source=(str(shard), 7, weights.nbytes), crc=_crc(weights.tobytes()))
    streamed = _const("w", weights, pb.DataType.DT_FLOAT)
    x, y = pb.NodeDef(name="x", op="NoOp"), pb.NodeDef(name="y", op="NoOp")
    with open(tmp_path / "a.pb", "w+b") as out:  # readable: the copied bytes are checked in place
        writer.write_binary(out, [x, copied, y])
    reference = io.BytesIO()
    writer.write_binary(reference, [x, streamed, y])
    assert (tmp_path / "a.pb").read_bytes() == reference.getvalue()


def test_copy_path_refuses_damaged_source(tmp_path):
    shard = tmp_path / "model.data"
    shard.write_bytes(b"\0" * 16)
    item = StreamedConst("w", pb.DataType.DT_FLOAT, (4,), 16, chunks=lambda: [b"\0" * 16],
                         source=(str(shard), 0, 16), crc=_crc(b"\1" * 16), label="dense/w")
    with open(tmp_path / "a.pb", "w+b") as out, pytest.raises(UnreadableInputError,
                                                              match=r"checksum mismatch.*'dense/w'"):
        writer.write_binary(out, [item])


def test_the_copy_reads_the_descriptor_it_was_given_and_checks_what_it_wrote(tmp_path):
    """Issue 12 item 5: the check and the copy used two open()s of the path, so a shard replaced in
    between was copied unchecked. The copy now reads the reader's own descriptor (the file that
    was opened, whatever the path names later) and checksums the bytes as written."""
    weights = np.arange(8, dtype=np.float32)
    shard = tmp_path / "model.data"
    shard.write_bytes(weights.tobytes())
    with open(shard, "rb") as held:
        replacement = tmp_path / "new.data"
        replacement.write_bytes((weights + 1).tobytes())
        os.replace(replacement, shard)  # a trainer saving the same prefix again
        item = StreamedConst("w", pb.DataType.DT_FLOAT, (8,), 32, chunks=lambda: pytest.fail("copy path"),
                             source=(str(shard), 0, 32), source_fd=held.fileno(), crc=_crc(weights.tobytes()))
        with open(tmp_path / "a.pb", "w+b") as out:
            writer.write_binary(out, [item])
    node = pb.GraphDef.FromString((tmp_path / "a.pb").read_bytes()).node[0]
    assert node.attr["value"].tensor.tensor_content == weights.tobytes()


def test_a_write_only_output_streams_the_checked_chunks_instead(tmp_path):
    shard = tmp_path / "model.data"
    shard.write_bytes(b"\2" * 16)
    streamed = []
    item = StreamedConst("w", pb.DataType.DT_FLOAT, (4,), 16,
                         chunks=lambda: streamed.append(1) or [b"\2" * 16],
                         source=(str(shard), 0, 16), crc=_crc(b"\2" * 16))
    with open(tmp_path / "a.pb", "wb") as out:  # cannot be read back: no unchecked kernel copy
        writer.write_binary(out, [item])
    assert streamed == [1]


def test_committed_file_has_normal_permissions(tmp_path):
    with AtomicOutput(tmp_path / "m.pb") as output:
        output.commit()
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.pb").stat().st_mode & 0o777 == 0o666 & ~umask


DTYPES = [(np.float32, pb.DataType.DT_FLOAT), (np.float16, pb.DataType.DT_HALF),
          (np.int8, pb.DataType.DT_INT8), (np.int64, pb.DataType.DT_INT64), (np.bool_, pb.DataType.DT_BOOL)]


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 40), max_size=4), which=st.integers(0, len(DTYPES) - 1),
       name=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=300),
       chunk=st.integers(1, 5000))
def test_any_const_round_trips(shape, which, name, chunk):
    numpy_type, dtype = DTYPES[which]
    array = (np.arange(int(np.prod(shape)), dtype=np.int64) % 100).astype(numpy_type).reshape(shape)
    item = _const(name, array, dtype, chunk=chunk)
    out = io.BytesIO()
    assert writer.write_binary(out, [item]) == writer.graph_size([item])
    node = pb.GraphDef.FromString(out.getvalue()).node[0]
    assert node.SerializeToString(deterministic=True) == _reference(name, array, dtype).SerializeToString(
        deterministic=True)


def test_interrupt_while_writing_leaves_no_temp_file(tmp_path):
    target = tmp_path / "model.pb"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), AtomicOutput(target) as output:
        output.file.write(b"partial")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pb"]
    assert target.read_bytes() == b"old"


class _FullDisk:
    """A file whose buffered bytes can never be flushed (ENOSPC on every close)."""

    closed = False

    def close(self):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_is_a_user_error_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "model.pb"
    with pytest.raises(UsageError, match="No space left on device") as info, AtomicOutput(target) as output:
        output.file.close()
        output.file = _FullDisk()
        output.close()
    assert info.value.exit_code == 2 and "nothing was written" in str(info.value)
    assert list(tmp_path.iterdir()) == []
