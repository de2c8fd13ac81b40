"""Streaming, atomic GraphDef writer: weights go from the checkpoint's ``.data`` shard to the output.

A frozen graph is mostly the bytes of its weights. Building it as one ``GraphDef`` message would
hold the whole model in memory (twice, once more while serializing), so this module writes the
GraphDef's wire format itself, one ``node`` field at a time:

* an ordinary node (small: the ops of the graph) is serialized by the protobuf runtime;
* a folded variable is a :class:`StreamedConst`: the protobuf framing of its ``Const`` NodeDef
  (tags and varint lengths, computed arithmetically from the weight's byte count) is written by
  hand, then the weight bytes are copied chunk by chunk from the checkpoint into
  ``TensorProto.tensor_content``.

The bytes are exactly what ``SerializeToString(deterministic=True)`` would give for the same
message (fields in number order, map entries sorted by key), so a reader cannot tell the
difference. The file is written under a temporary name in the target folder and renamed into
place only by :meth:`AtomicOutput.commit`, after validation.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from google.protobuf import text_format

from inspector.errors import UnreadableInputError, UsageError, ValidationError
from inspector.proto import pb
from inspector.readers.varint import encode_varint, varint_size
from inspector.tempfiles import create_temp

MAX_GRAPH_BYTES = 2**31 - 1
"""Protobuf refuses messages of 2 GiB or more (FORMATS.md §8.7)."""

WIRE_VARINT = 0
WIRE_LEN = 2

# Field numbers (FORMATS.md §8): GraphDef, NodeDef, AttrValue, TensorProto.
GRAPH_NODE, GRAPH_LIBRARY, GRAPH_VERSIONS = 1, 2, 4
NODE_NAME, NODE_OP, NODE_DEVICE, NODE_ATTR = 1, 2, 4, 5
ENTRY_KEY, ENTRY_VALUE = 1, 2
ATTR_TYPE, ATTR_TENSOR = 6, 8
TENSOR_DTYPE, TENSOR_SHAPE, TENSOR_CONTENT = 1, 2, 4


# --------------------------------------------------------------------------------------------
# Wire-format primitives


def field_key(field: int, wire_type: int) -> bytes:
    return encode_varint((field << 3) | wire_type)


def len_header(field: int, length: int) -> bytes:
    """Tag and length of a length-delimited field whose payload is ``length`` bytes."""
    return field_key(field, WIRE_LEN) + encode_varint(length)


def len_field(field: int, payload: bytes) -> bytes:
    return len_header(field, len(payload)) + payload


def framed_size(field: int, length: int) -> int:
    """Total bytes of a length-delimited field with a ``length``-byte payload."""
    return varint_size((field << 3) | WIRE_LEN) + varint_size(length) + length


# --------------------------------------------------------------------------------------------
# Folded variables


@dataclass
class StreamedConst:
    """A ``Const`` node whose ``tensor_content`` is copied from a checkpoint while writing.

    ``chunks()`` must yield exactly ``nbytes`` bytes: the tensor's raw little-endian buffer,
    which is both the bundle's on-disk layout and what ``tensor_content`` holds (§4.4, §8.5).
    """

    name: str
    dtype: int
    shape: tuple[int, ...]
    nbytes: int
    chunks: Callable[[], Iterable[bytes]]
    device: str = ""
    source: tuple[str, int, int] | None = None
    """(file, offset, size) holding exactly the weight bytes, for a kernel-side file-to-file copy."""
    source_fd: int | None = None
    """An open descriptor of ``source``'s file (the checkpoint reader's): the copy reads it, so
    the bytes come from the file that was checked, not from whatever its path names by then."""
    crc: int | None = None
    """The masked CRC32C the weight bytes must have: verified on the bytes written to the output."""
    label: str = ""
    """The checkpoint key, for messages."""

    def prefix(self) -> bytes:
        """Every byte of the NodeDef before the weight bytes (the weights are its last field)."""
        return const_node_prefix(self.name, self.dtype, self.shape, self.nbytes, self.device)

    def node_size(self) -> int:
        return len(self.prefix()) + self.nbytes

    def to_node_def(self) -> pb.NodeDef:
        """The same node as an in-memory message (text output and tests only: holds the weights)."""
        node = pb.NodeDef.FromString(self.prefix() + b"".join(self.chunks()))
        return node


class SplicedNode:
    """A node of the input graph whose big tensor fields were left out of the parse
    (:mod:`inspector.readers.lazy`): written with those fields copied back from the input file, where
    the deterministic serialization of the complete node puts them, so its bytes are those of the
    complete node. Reads like the NodeDef it wraps (``name``, ``op``, ``input``, ``attr`` …)."""

    def __init__(self, node: pb.NodeDef, lazy) -> None:
        self.node = node
        self.lazy = lazy

    def __getattr__(self, name: str):
        return getattr(self.node, name)

    def pieces(self) -> tuple[list, int]:
        """(pieces, total bytes): ``bytes`` to write and ``(offset, length)`` ranges of the input file."""
        from inspector.readers.lazy import splice

        left_out = {key: found for key in self.node.attr
                    if (found := self.lazy.stripped(self.node, key)) is not None}
        return splice(self.node.SerializeToString(deterministic=True), left_out)

    def node_size(self) -> int:
        return self.pieces()[1]

    def to_node_def(self) -> pb.NodeDef:
        """The complete node as an in-memory message (text output, --for-inference: holds its values)."""
        node = pb.NodeDef()
        node.CopyFrom(self.node)
        for key in list(node.attr):
            if self.lazy.stripped(self.node, key) is not None:
                node.attr[key].tensor.CopyFrom(self.lazy.tensor(self.node, key))
        return node


def with_left_out(items: Sequence, lazy) -> list:
    """``items`` with every node whose tensor fields were left out of the parse wrapped in a
    :class:`SplicedNode` (``lazy``: the graph's LazyTensors, or None)."""
    if not lazy:
        return list(items)
    return [SplicedNode(item, lazy) if not isinstance(item, StreamedConst | SplicedNode) and any(
        lazy.stripped(item, key) is not None for key in item.attr) else item for item in items]


def materialize(items: Sequence) -> list:
    """``items`` with every :class:`SplicedNode` turned back into a complete NodeDef."""
    return [item.to_node_def() if isinstance(item, SplicedNode) else item for item in items]


def shape_proto(shape: Sequence[int]) -> pb.TensorShapeProto:
    proto = pb.TensorShapeProto()
    for size in shape:
        proto.dim.add(size=int(size))
    return proto


def const_node_prefix(name: str, dtype: int, shape: Sequence[int], content_len: int,
                      device: str = "") -> bytes:
    """NodeDef bytes of ``Const(name, dtype, shape)`` up to, not including, ``content_len`` weight bytes.

    Layout (deterministic protobuf order): name(1), op(2), device(4), then the attr map(5)
    sorted by key: ``dtype`` -> AttrValue.type, ``value`` -> AttrValue.tensor -> TensorProto
    {dtype(1), tensor_shape(2), tensor_content(4)}. ``tensor_content`` comes last so the
    weights can follow the prefix directly.
    """
    dtype_attr = field_key(ATTR_TYPE, WIRE_VARINT) + encode_varint(dtype)
    dtype_entry = len_field(ENTRY_KEY, b"dtype") + len_field(ENTRY_VALUE, dtype_attr)

    shape_bytes = shape_proto(shape).SerializeToString()
    tensor_head = field_key(TENSOR_DTYPE, WIRE_VARINT) + encode_varint(dtype)
    tensor_head += len_field(TENSOR_SHAPE, shape_bytes)
    if content_len:  # proto3 omits an empty bytes field
        tensor_head += len_header(TENSOR_CONTENT, content_len)
    tensor_len = len(tensor_head) + content_len
    attr_len = framed_size(ATTR_TENSOR, tensor_len)
    value_key = len_field(ENTRY_KEY, b"value")
    entry_len = len(value_key) + framed_size(ENTRY_VALUE, attr_len)

    out = bytearray(len_field(NODE_NAME, name.encode("utf-8")))
    out += len_field(NODE_OP, b"Const")
    if device:
        out += len_field(NODE_DEVICE, device.encode("utf-8"))
    out += len_field(NODE_ATTR, dtype_entry)
    out += len_header(NODE_ATTR, entry_len) + value_key
    out += len_header(ENTRY_VALUE, attr_len) + len_header(ATTR_TENSOR, tensor_len) + tensor_head
    return bytes(out)



# --------------------------------------------------------------------------------------------
# Sizes, checked before anything is written


def node_payload_size(item) -> int:
    if isinstance(item, StreamedConst | SplicedNode):
        return item.node_size()
    return item.ByteSize()


def graph_size(items: Sequence, library: pb.FunctionDefLibrary | None = None,
               versions: pb.VersionDef | None = None) -> int:
    """Exact byte size of the binary GraphDef :func:`write_binary` will produce."""
    total = sum(framed_size(GRAPH_NODE, node_payload_size(item)) for item in items)
    if library is not None and library.ByteSize():
        total += framed_size(GRAPH_LIBRARY, library.ByteSize())
    if versions is not None and versions.ByteSize():
        total += framed_size(GRAPH_VERSIONS, versions.ByteSize())
    return total


def check_size_limit(total: int, path: str | os.PathLike | None = None) -> None:
    """Refuse a graph protobuf cannot hold, before a byte is written (FORMATS.md §8.7)."""
    if total > MAX_GRAPH_BYTES:
        raise ValidationError(
            f"the frozen graph would be {total / 2**30:.2f} GiB; a GraphDef cannot exceed 2 GiB "
            f"(protobuf's limit), so nothing was written",
            path=None if path is None else str(path),
            fix="keep the weights in a checkpoint: export a SavedModel instead "
                "(tf.compat.v1.saved_model.simple_save or tf.saved_model.save), "
                "or freeze fewer outputs",
            code="TOO_LARGE")


# --------------------------------------------------------------------------------------------
# Progress


class Progress:
    """A one-line progress bar on stderr, only when it is a terminal and the write takes a while."""

    def __init__(self, total: int, stream: TextIO | None = None, delay: float = 0.5,
                 enabled: bool | None = None) -> None:
        # Our own text, carriage returns included: past run_main's control-character escaping.
        self.stream = stream if stream is not None else getattr(sys.stderr, "unescaped", sys.stderr)
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and total > 0
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.delay = delay
        self.last_percent = -1
        self.drawn = False

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        if not self.enabled or time.monotonic() - self.start < self.delay:
            return
        percent = min(100, self.done * 100 // self.total)
        if percent != self.last_percent:
            self.last_percent = percent
            bar = "#" * (percent // 4) + "." * (25 - percent // 4)
            self.stream.write(f"\rwriting [{bar}] {percent:3d}%  "
                              f"{self.done / 2**20:,.0f}/{self.total / 2**20:,.0f} MiB")
            self.stream.flush()
            self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------------------------
# Writing


def write_binary(out: BinaryIO, items: Sequence, library: pb.FunctionDefLibrary | None = None,
                 versions: pb.VersionDef | None = None, progress: Progress | None = None) -> int:
    """Write the GraphDef wire format node by node; returns the number of bytes written."""
    written = 0
    for item in items:
        if isinstance(item, StreamedConst):
            written += _write_streamed(out, item, progress)
        elif isinstance(item, SplicedNode):
            written += _write_spliced(out, item, progress)
        else:
            data = len_field(GRAPH_NODE, item.SerializeToString(deterministic=True))
            out.write(data)
            written += len(data)
            if progress:
                progress.advance(len(data))
    for field, message in ((GRAPH_LIBRARY, library), (GRAPH_VERSIONS, versions)):
        if message is not None and message.ByteSize():
            data = len_field(field, message.SerializeToString(deterministic=True))
            out.write(data)
            written += len(data)
    return written


def _write_streamed(out: BinaryIO, item: StreamedConst, progress: Progress | None) -> int:
    prefix = item.prefix()
    head = len_header(GRAPH_NODE, len(prefix) + item.nbytes) + prefix
    out.write(head)
    if _copy_source(out, item, progress):
        return len(head) + item.nbytes
    copied = 0
    for chunk in item.chunks():
        copied += len(chunk)
        if copied > item.nbytes:
            break
        out.write(chunk)
        if progress:
            progress.advance(len(chunk))
    if copied != item.nbytes:
        got = "more than" if copied > item.nbytes else f"only {copied} of"
        raise ValidationError(
            f"variable {item.name!r} gave {got} the {item.nbytes} bytes its shape and dtype need",
            fix="the checkpoint's .data shard may be truncated or damaged; run `inspect` on it",
            code="SHORT_TENSOR")
    return len(head) + copied


def _write_spliced(out: BinaryIO, item: SplicedNode, progress: Progress | None) -> int:
    """A node with its left-out tensor fields copied back from the input graph file."""
    pieces, total = item.pieces()
    item.lazy.check_unchanged()
    head = len_header(GRAPH_NODE, total)
    out.write(head)
    for piece in pieces:
        if isinstance(piece, bytes):
            out.write(piece)
            if progress:
                progress.advance(len(piece))
        else:
            _copy_range(out, item.lazy, *piece, progress)
    return len(head) + total


def _copy_range(out: BinaryIO, lazy, offset: int, size: int, progress: Progress | None) -> None:
    """``size`` bytes of the input graph file from ``offset``: in the kernel when it can, else chunked."""
    copied = 0
    try:
        target = out.fileno()
    except (AttributeError, OSError, ValueError):
        target = None
    if target is not None and hasattr(os, "copy_file_range"):
        out.flush()
        with open(lazy.path, "rb") as source:
            copied = _kernel_copy(source.fileno(), target, offset, size, progress)
        if copied == size:
            return
        if copied:
            raise lazy._changed()
    for chunk in lazy.chunks(offset, size):
        out.write(chunk)
        if progress:
            progress.advance(len(chunk))


def _kernel_copy(source: int, target: int, offset: int, size: int, progress: Progress | None) -> int:
    """Copy up to ``size`` bytes of ``source`` from ``offset`` to ``target``'s position with
    ``copy_file_range``; the count copied (0 when the platform or file system refuses at once:
    the caller falls back to copying through Python; an error after a partial copy is raised)."""
    copied = 0
    while copied < size:
        try:
            step = os.copy_file_range(source, target, size - copied, offset + copied)
        except OSError:
            if copied == 0:
                return 0
            raise
        if step == 0:
            break
        copied += step
        if progress:
            progress.advance(step)
    return copied


def _copy_source(out: BinaryIO, item: StreamedConst, progress: Progress | None) -> bool:
    """Copy the weights file-to-file inside the kernel (``copy_file_range``); False to fall back.

    The bytes never enter Python on the way: no copy through user space and no resident pages.
    With ``item.crc`` the checksum is then computed over the copied bytes as the output file holds
    them (read back through a reused buffer), so what is written is exactly what was verified; an
    output opened write-only cannot be read back and takes the streamed path (which checks the
    bytes it writes). Falls back (returns False before anything was copied) where the platform or
    file system refuses.
    """
    if item.source is None or not hasattr(os, "copy_file_range") or item.source[2] != item.nbytes:
        return False
    try:
        target = out.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if item.crc is not None and not _readable(target):
        return False
    out.flush()
    start = os.lseek(target, 0, os.SEEK_CUR)
    path, offset, size = item.source
    with contextlib.ExitStack() as stack:
        source = item.source_fd
        if source is None:
            source = stack.enter_context(open(path, "rb")).fileno()
        copied = _kernel_copy(source, target, offset, size, progress)
        if copied == 0 and size:
            return False
    if copied != size:
        raise ValidationError(f"variable {item.name!r}: only {copied} of its {size} bytes could be copied "
                              f"from {path}", fix="the checkpoint's .data shard may be truncated",
                              code="SHORT_TENSOR")
    if item.crc is not None and _written_crc(target, start, size) != item.crc:
        raise UnreadableInputError(
            f"checksum mismatch in the data of tensor {item.label or item.name!r} as copied into the output",
            path=path, fix="the .data shard is damaged, or was being rewritten while it was frozen; "
            "freeze again from a complete copy of the checkpoint")
    return True


def _readable(fd: int) -> bool:
    """Whether ``fd`` was opened for reading too (the atomic output's temporary file is)."""
    import fcntl

    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
    except OSError:
        return False


def pread_into(fd: int, view: memoryview, offset: int) -> int:
    """Read into ``view`` from ``offset`` of ``fd`` without moving its file position (shared
    descriptors stay usable); the number of bytes read, 0 at the end of the file."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    data = os.pread(fd, len(view), offset)
    view[:len(data)] = data
    return len(data)


def pread_chunks(fd: int, offset: int, size: int, chunk_size: int = 1 << 22) -> Iterator[memoryview]:
    """``size`` bytes of ``fd`` from ``offset`` as views of one reused buffer (each valid until the
    next is read), without moving the file position; fewer when the file ends first."""
    buffer = bytearray(min(chunk_size, max(size, 1)))
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = pread_into(fd, view[:min(len(buffer), size - done)], offset + done)
        if not got:
            return
        done += got
        yield view[:got]


def _written_crc(fd: int, start: int, size: int) -> int:
    """The masked CRC32C of ``size`` bytes of ``fd`` from ``start``, read through one reused buffer."""
    from inspector.readers.crc32c import crc32c, mask

    crc = 0
    for chunk in pread_chunks(fd, start, size):
        crc = crc32c(chunk, crc)
    return mask(crc)


def write_text(out: TextIO, items: Sequence, library: pb.FunctionDefLibrary | None = None,
               versions: pb.VersionDef | None = None) -> None:
    """Text-format GraphDef, still one node at a time (a folded weight is held only while printed)."""
    for item in items:
        node = item.to_node_def() if isinstance(item, StreamedConst | SplicedNode) else item
        out.write("node {\n")
        out.write(text_format.MessageToString(node, indent=2))
        out.write("}\n")
    for field, message in (("library", library), ("versions", versions)):
        if message is not None and message.ByteSize():
            out.write(f"{field} {{\n")
            out.write(text_format.MessageToString(message, indent=2))
            out.write("}\n")


def iter_file_chunks(path: str | os.PathLike, offset: int, length: int,
                     chunk_size: int = 1 << 22) -> Iterator[bytes]:
    """``length`` bytes of a file from ``offset``, in chunks (a plain seeked read)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(chunk_size, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


# --------------------------------------------------------------------------------------------
# Atomic output


_OUTPUT_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
"""Write errors that are the output folder's, not ckpt2pb's: a user error, not a bug."""


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name one file (or one path). A name the OS refuses — a NUL byte from a state
    file, a component too long — names no file: False, not ValueError/OSError (found by tests/fuzz)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except (OSError, ValueError):
        return False


class AtomicOutput:
    """A temporary file next to ``target``, renamed over it only on :meth:`commit`.

    Refuses a target that is one of ``protected`` (the inputs). On any exit without commit the
    temporary file is removed, so a failed or invalid freeze leaves nothing behind.
    """

    def __init__(self, target: str | os.PathLike, protected: Iterable[str | os.PathLike] = (),
                 text: bool = False) -> None:
        self.target = Path(target)
        for path in protected:
            candidate = Path(path)
            if _same_file(self.target, candidate):
                raise UsageError("the output is one of the inputs (or a checkpoint saved beside them); "
                                 "refusing to overwrite it", path=str(self.target),
                                 fix="choose another path with -o")
        if os.path.isdir(self.target):  # os.path: False, not OSError, for a name the OS refuses
            raise UsageError("the output path is a folder", path=str(self.target),
                             fix="give a file name such as model_frozen.pb")
        folder = self.target.parent
        if not os.path.isdir(folder):
            raise UsageError("the output folder does not exist", path=str(folder),
                             fix="Create it first or choose another path with -o")
        self.text = text
        self.committed = False
        try:
            fd, name = create_temp(self.target)  # after removing what killed runs left (tempfiles.py)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:
                raise UsageError("the output file name is too long for the file system",
                                 path=str(self.target), fix="choose a shorter name with -o") from None
            raise UsageError(f"cannot create the output file in this folder ({error.strerror})",
                             path=str(folder),
                             fix="choose a writable folder with -o") from None
        self.temp_path = Path(name)
        self.file = os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {}))

    def __enter__(self) -> AtomicOutput:
        return self

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def commit(self) -> Path:
        self.close()
        umask = os.umask(0)  # mkstemp creates 0600; give the result the usual permissions
        os.umask(umask)
        os.chmod(self.temp_path, 0o666 & ~umask)
        os.replace(self.temp_path, self.target)
        self.committed = True
        return self.target

    def discard(self) -> None:
        try:
            self.close()  # flushing the buffer fails again on a full disk: remove the file anyway
        except OSError:
            pass
        finally:
            if not self.committed:
                with contextlib.suppress(FileNotFoundError):
                    self.temp_path.unlink()

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.discard()
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_FULL:
            raise UsageError(f"cannot write the frozen graph ({exc.strerror}); nothing was written",
                             path=str(self.target),
                             fix="free some space or choose another folder with -o") from exc
