"""Binary graph files parsed without their big tensor contents: memory that does not grow with the weights.

A frozen graph is mostly ``Const`` weights, and parsing it whole holds every weight twice (the file's bytes
and the parsed message). Nothing before the freezer's write needs those bytes, only their sizes and, for a
few checks, their values. So the file is memory-mapped, its wire format walked down to each big
``TensorProto`` (GraphDef ``node`` -> NodeDef ``attr`` entry -> AttrValue ``tensor``; inside a MetaGraphDef's
``graph_def`` and each SavedModel meta graph too), and the big fields of those tensors are *left out* of the
bytes handed to the protobuf parser: ``tensor_content`` and the packed fixed-width ``float_val``,
``double_val``, ``scomplex_val`` and ``dcomplex_val``, each when it holds at least ``threshold`` bytes. The
enclosing length prefixes are re-encoded, everything else is passed through byte for byte, so the parse
succeeds or fails exactly as the whole file's would (a left-out bytes field is always valid; a packed
fixed-width one only when its length is a multiple of the width, and only then is it left out).

:class:`LazyTensors` remembers where every left-out field is (file offsets): ``tensor(node)`` gives the
complete TensorProto on demand (read back with ``pread`` from the file, after checking that the file was not
changed since), ``content_size(node)`` the byte count without reading anything, and ``segments(node, key)``
the byte ranges the freezer copies file-to-file into its output.

Only what the parser sees unambiguously is left out: the field appears once in its tensor, the tensor is the
only field of its AttrValue, the AttrValue the only ``value`` of its map entry, the graph the only
``graph_def`` of its meta graph. Anything else (duplicated fields that protobuf would merge, groups, a
malformed length) makes the walker give up on that part, which is then parsed whole as before. Function
library bodies are parsed whole too.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from inspector.errors import UnreadableInputError
from inspector.readers.varint import decode_varint, encode_varint

LAZY_MIN_BYTES = 1024
"""Fields smaller than this stay in the parse: a weight is far larger, a shape or a scalar far smaller."""

TENSOR_CONTENT = 4
_PACKED_WIDTH = {5: 4, 6: 8, 9: 4, 12: 8}  # float_val, double_val, scomplex_val, dcomplex_val
STRIPPABLE = {TENSOR_CONTENT: "tensor_content", 5: "float_val", 6: "double_val", 9: "scomplex_val",
              12: "dcomplex_val"}
_GRAPH_NODE, _META_GRAPH_DEF, _SAVED_META_GRAPHS = 1, 2, 2
_NODE_NAME, _NODE_OP, _NODE_ATTR = 1, 2, 5
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_ATTR_TENSOR = 8


class _Malformed(Exception):
    """The walker cannot follow this part (bad framing, a group): leave it to the parser."""


@dataclass(frozen=True)
class Stripped:
    """One TensorProto whose big fields were left out: ``fields`` maps field number -> (offset, length)
    of each left-out field as it stands in the file (tag and length prefix included), ``sizes`` the
    payload byte counts."""

    fields: tuple[tuple[int, int, int], ...]      # (field number, offset of the field, bytes of the field)
    sizes: tuple[tuple[int, int], ...]            # (field number, payload bytes)

    def size_of(self, number: int) -> int | None:
        return next((n for f, n in self.sizes if f == number), None)


@dataclass
class NodeRecord:
    name: str
    op: str
    attrs: dict[str, Stripped] = field(default_factory=dict)


@dataclass
class LazyTensors:
    """Where the left-out tensor fields of one parsed graph are, and how to read them back."""

    path: str
    records: dict[int, NodeRecord]                 # node index in GraphDef.node -> what was left out
    stamp: tuple[int, int] = (0, 0)                # (size, mtime_ns) of the file when it was read
    graph_def: object | None = None                # the parsed (stripped) GraphDef the indexes refer to
    _by_name: dict[str, list[int]] | None = None
    _file: object | None = None

    def __bool__(self) -> bool:
        return bool(self.records)

    @property
    def left_out_bytes(self) -> int:
        return sum(n for r in self.records.values() for s in r.attrs.values() for _, n in s.sizes)

    # -- which node -----------------------------------------------------------------------------
    def stripped(self, node: object, key: str = "value", index: int | None = None) -> Stripped | None:
        """What was left out of ``node.attr[key]``'s tensor, or None (nothing, or the node was changed).
        ``index``: the node's position in the GraphDef, when known (else found by name)."""
        if not self.records:
            return None
        if index is not None:
            record = self.records.get(index)
            return None if record is None else self._check(record, node, key)
        if self._by_name is None:
            by_name: dict[str, list[int]] = {}
            for index, record in self.records.items():
                by_name.setdefault(record.name, []).append(index)
            self._by_name = by_name
        indexes = self._by_name.get(getattr(node, "name", None))
        if not indexes:
            return None
        if len(indexes) > 1:  # a duplicated name: the (first) record whose parsed node this is
            nodes = self.graph_def.node if self.graph_def is not None else ()
            indexes = [i for i in indexes if i < len(nodes) and nodes[i] == node]
            if not indexes:
                return None
        return self._check(self.records[indexes[0]], node, key)

    @staticmethod
    def _check(record: NodeRecord, node: object, key: str) -> Stripped | None:
        found = record.attrs.get(key)
        if found is None or record.op != node.op or key not in node.attr:
            return None
        if node.attr[key].WhichOneof("value") != "tensor":
            return None
        tensor = node.attr[key].tensor
        if any(len(getattr(tensor, STRIPPABLE[number])) for number, _, _ in found.fields):
            return None  # the field was set again since (a rewrite): the message is complete
        return found

    # -- sizes and values -----------------------------------------------------------------------
    def content_size(self, node: object, key: str = "value") -> int | None:
        """Bytes of ``tensor_content`` as the file holds it, when it was left out (else None)."""
        found = self.stripped(node, key)
        return None if found is None else found.size_of(TENSOR_CONTENT)

    def tensor(self, node: object, key: str = "value", index: int | None = None) -> object:
        """The complete TensorProto of ``node.attr[key]`` (a new message when fields were left out)."""
        from inspector.proto import pb

        current = node.attr[key].tensor
        found = self.stripped(node, key, index)
        if found is None:
            return current
        full = pb.TensorProto()
        full.CopyFrom(current)
        full.MergeFromString(b"".join(self.read(offset, length) for _, offset, length in found.fields))
        return full

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the file at ``offset``; refuses a file that changed since it was parsed."""
        handle = self._open()
        data = os.pread(handle.fileno(), length, offset)
        if len(data) != length:
            raise self._changed()
        return data

    def chunks(self, offset: int, length: int, chunk_size: int = 1 << 22) -> Iterator[bytes]:
        done = 0
        while done < length:
            step = min(chunk_size, length - done)
            yield self.read(offset + done, step)
            done += step

    def check_unchanged(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            raise self._changed() from None
        if (st.st_size, st.st_mtime_ns) != self.stamp:
            raise self._changed()

    def _open(self):
        if self._file is None:
            self.check_unchanged()
            try:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open for on-demand reads
            except OSError as exc:
                raise UnreadableInputError(f"cannot read the graph file again ({exc.strerror})",
                                           path=self.path, fix="check that the file is still there") from None
            st = os.fstat(self._file.fileno())
            if (st.st_size, st.st_mtime_ns) != self.stamp:
                raise self._changed()
        return self._file

    def _changed(self) -> UnreadableInputError:
        return UnreadableInputError(
            "the graph file changed while it was being read (its weights are read from the file when they "
            "are needed)", path=self.path, fix="run again once whatever writes the file has finished",
            code="CHANGED")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def materialized(self, graph_def: object) -> object:
        """A complete copy of ``graph_def`` (every left-out field read back): for TensorFlow's own runs."""
        from inspector.proto import pb

        full = pb.GraphDef()
        full.CopyFrom(graph_def)
        for index, record in self.records.items():
            node = full.node[index]
            for key in record.attrs:
                if self.stripped(node, key, index) is not None:
                    node.attr[key].tensor.CopyFrom(self.tensor(node, key, index))
        return full


# --------------------------------------------------------------------------------------------- walking
class _Walker:
    """Finds what to leave out; produces edits (start, end, replacement) on the original buffer."""

    def __init__(self, buf, threshold: int) -> None:
        self.buf = buf
        self.threshold = threshold
        self.records: dict[int, dict[int, NodeRecord]] = {}   # scope -> node index -> record

    def _varint(self, pos: int, end: int) -> tuple[int, int]:
        got = decode_varint(self.buf, pos, end)
        if got is None:
            raise _Malformed
        return got

    def _fields(self, start: int, end: int) -> list[tuple[int, int, int, int, int]]:
        """(number, wire type, tag offset, value offset, value end) of every field in [start, end)."""
        out = []
        pos = start
        while pos < end:
            tag_at = pos
            key, pos = self._varint(pos, end)
            number, wire = key >> 3, key & 7
            value_at = pos
            if wire == 0:
                pos = self._varint(pos, end)[1]
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                length, value_at = self._varint(pos, end)
                pos = value_at + length
            else:
                raise _Malformed
            if number == 0 or pos > end:
                raise _Malformed
            out.append((number, wire, tag_at, value_at, pos))
        return out

    def _reframe(self, tag_at: int, value_at: int, value_end: int,
                 inner: tuple[list, int]) -> tuple[list, int]:
        """Edits for a length-delimited field whose payload changes by ``inner``'s delta: the tag's own
        bytes are kept, the length prefix is re-encoded."""
        edits, delta = inner
        len_at = self._varint(tag_at, value_at)[1]
        new_len = encode_varint(value_end - value_at + delta)
        return [(len_at, value_at, new_len), *edits], delta + len(new_len) - (value_at - len_at)

    # -- the levels ------------------------------------------------------------------------------------
    def tensor(self, start: int, end: int) -> tuple[list, int, Stripped] | None:
        fields = self._fields(start, end)
        counts: dict[int, int] = {}
        for number, *_ in fields:
            counts[number] = counts.get(number, 0) + 1
        edits, left, sizes, delta = [], [], [], 0
        for number, wire, tag_at, value_at, value_end in fields:
            length = value_end - value_at
            if wire != 2 or counts[number] != 1 or length < self.threshold or number not in STRIPPABLE:
                continue
            width = _PACKED_WIDTH.get(number)
            if width is not None and length % width:
                continue  # the parser refuses it: keep it so that it still does
            edits.append((tag_at, value_end, b""))
            left.append((number, tag_at, value_end - tag_at))
            sizes.append((number, length))
            delta -= value_end - tag_at
        if not edits:
            return None
        return edits, delta, Stripped(tuple(left), tuple(sizes))

    def attr_value(self, start: int, end: int) -> tuple[list, int, Stripped] | None:
        fields = self._fields(start, end)
        if len(fields) != 1 or fields[0][0] != _ATTR_TENSOR or fields[0][1] != 2:
            return None  # AttrValue is a oneof: only a lone tensor is unambiguous
        _, _, tag_at, value_at, value_end = fields[0]
        inner = self.tensor(value_at, value_end)
        if inner is None:
            return None
        edits, delta = self._reframe(tag_at, value_at, value_end, inner[:2])
        return edits, delta, inner[2]

    def entry(self, start: int, end: int) -> tuple[str | None, tuple[list, int, Stripped] | None]:
        """(key, what was left out of its value); key None when the entry is not unambiguous."""
        fields = self._fields(start, end)
        keys = [f for f in fields if f[0] == _ENTRY_KEY]
        values = [f for f in fields if f[0] == _ENTRY_VALUE]
        if len(keys) > 1 or len(values) > 1 or any(f[1] != 2 for f in keys + values):
            return None, None
        key = bytes(self.buf[keys[0][3]:keys[0][4]]).decode("utf-8", "replace") if keys else ""
        if not values or values[0][4] - values[0][3] < self.threshold:
            return key, None
        _, _, tag_at, value_at, value_end = values[0]
        inner = self.attr_value(value_at, value_end)
        if inner is None:
            return key, None
        edits, delta = self._reframe(tag_at, value_at, value_end, inner[:2])
        return key, (edits, delta, inner[2])

    def node(self, start: int, end: int) -> tuple[list, int, NodeRecord] | None:
        name, op, attrs, edits, delta = "", "", {}, [], 0
        for number, wire, tag_at, value_at, value_end in self._fields(start, end):
            if number == _NODE_NAME and wire == 2:
                name = bytes(self.buf[value_at:value_end]).decode("utf-8", "replace")
            elif number == _NODE_OP and wire == 2:
                op = bytes(self.buf[value_at:value_end]).decode("utf-8", "replace")
            elif number == _NODE_ATTR and wire == 2:
                key, inner = self.entry(value_at, value_end)
                if key is None:
                    return None  # an entry we cannot read: the node is parsed whole
                attrs.pop(key, None)  # a later entry of the same key replaces an earlier one
                if inner is not None:
                    entry_edits, entry_delta = self._reframe(tag_at, value_at, value_end, inner[:2])
                    attrs[key] = (entry_edits, entry_delta, inner[2])
        if not attrs:
            return None
        record = NodeRecord(name, op)
        for key, (entry_edits, entry_delta, stripped) in attrs.items():
            edits += entry_edits
            delta += entry_delta
            record.attrs[key] = stripped
        edits.sort()
        return edits, delta, record

    def graph(self, start: int, end: int, scope: int) -> tuple[list, int]:
        """The GraphDef's node fields, walked without a per-field list (a graph may have 10^6 nodes)."""
        buf, threshold, edits, delta = self.buf, self.threshold, [], 0
        records = self.records.setdefault(scope, {})
        pos, index = start, 0
        while pos < end:
            tag_at = pos
            key, pos = self._varint(pos, end)
            number, wire = key >> 3, key & 7
            if wire == 2:
                length, value_at = self._varint(pos, end)
                pos = value_at + length
                if pos > end:
                    raise _Malformed
                if number == _GRAPH_NODE:
                    if length >= threshold:
                        try:
                            found = self.node(value_at, pos)
                        except _Malformed:
                            found = None
                        if found is not None:
                            node_edits, node_delta = self._reframe(tag_at, value_at, pos, found[:2])
                            edits += node_edits
                            delta += node_delta
                            records[index] = found[2]
                    index += 1
            elif wire == 0:
                pos = self._varint(pos, end)[1]
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:
                raise _Malformed
            if number == 0 or pos > end:
                raise _Malformed
        del buf
        return edits, delta

    def meta(self, start: int, end: int, scope: int) -> tuple[list, int]:
        fields = self._fields(start, end)
        graphs = [f for f in fields if f[0] == _META_GRAPH_DEF and f[1] == 2]
        if len(graphs) != 1:
            return [], 0  # none, or several that protobuf merges: parsed whole
        _, _, tag_at, value_at, value_end = graphs[0]
        inner = self.graph(value_at, value_end, scope)
        if not inner[0]:
            return [], 0
        return self._reframe(tag_at, value_at, value_end, inner)

    def saved_model(self, start: int, end: int) -> tuple[list, int]:
        edits, delta, index = [], 0, 0
        for number, wire, tag_at, value_at, value_end in self._fields(start, end):
            if number == _SAVED_META_GRAPHS and wire == 2:
                try:
                    inner = self.meta(value_at, value_end, index)
                except _Malformed:
                    inner = ([], 0)
                if inner[0]:
                    more, more_delta = self._reframe(tag_at, value_at, value_end, inner)
                    edits += more
                    delta += more_delta
                index += 1
        return edits, delta


def _apply(buf, edits: list, size: int, delta: int) -> bytearray:
    out = bytearray(size + delta)
    view = memoryview(buf)
    pos = written = 0
    try:
        for start, end, replacement in edits:
            count = start - pos
            out[written:written + count] = view[pos:start]
            written += count
            out[written:written + len(replacement)] = replacement
            written += len(replacement)
            pos = end
        out[written:] = view[pos:size]
    finally:
        view.release()
    return out


def strip(buf, kind: str, threshold: int | None = None) -> tuple[bytearray | None, dict[int, dict]]:
    """The bytes to parse as ``kind`` with big tensor fields left out (None: nothing to leave out, parse
    ``buf`` itself) and the records (scope -> node index -> NodeRecord; scope is the SavedModel meta graph
    index, else 0)."""
    walker = _Walker(buf, LAZY_MIN_BYTES if threshold is None else threshold)
    size = len(buf)
    try:
        if kind == "graphdef":
            edits, delta = walker.graph(0, size, 0)
        elif kind == "metagraph":
            edits, delta = walker.meta(0, size, 0)
        elif kind == "saved_model":
            edits, delta = walker.saved_model(0, size)
        else:
            return None, {}
    except _Malformed:
        return None, {}
    if not edits:
        return None, {}
    edits.sort(key=lambda e: e[0])
    return _apply(buf, edits, size, delta), walker.records


def parse(path: str, buf, cls: type, kind: str, threshold: int | None = None):
    """``(message, records)`` of ``buf`` parsed as ``cls`` with big tensor fields left out; raises what
    ``ParseFromString`` raises."""
    stripped, records = strip(buf, kind, threshold)
    message = cls()
    parse_into(message, stripped if stripped is not None else buf)
    return message, records


def parse_into(message: object, data) -> None:
    """``message.ParseFromString`` over any buffer (bytes, bytearray, a memory map), without a copy."""
    view = memoryview(data)
    try:
        message.ParseFromString(view)
    finally:
        view.release()


def lazy_for(path: str, records: dict[int, dict], scope: int, graph_def: object,
             stamp: tuple[int, int]) -> LazyTensors | None:
    """The :class:`LazyTensors` of one parsed graph (None when nothing of it was left out)."""
    chosen = records.get(scope)
    if not chosen:
        return None
    return LazyTensors(path, chosen, stamp, graph_def)


def file_stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def map_file(path: str):
    """A read-only memory map of the whole file (the caller closes it), or None for an empty file."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return None
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


# --------------------------------------------------------------------------------------------- writing back
def splice(node_bytes: bytes, left_out: dict[str, Stripped]) -> tuple[list, int]:
    """A NodeDef's bytes with its left-out tensor fields put back, as pieces: ``bytes`` to write and
    ``(offset, length)`` ranges of the original file to copy; and the total length.

    ``node_bytes`` is the deterministic serialization of the parsed node (fields in number order, map
    entries sorted by key), so each left-out field goes back before the first field of its tensor with a
    higher number: exactly where the serialization of the complete message puts it."""
    walker = _Walker(node_bytes, 0)
    pieces: list = []
    total, pos = 0, 0
    for number, wire, tag_at, value_at, value_end in walker._fields(0, len(node_bytes)):
        if number != _NODE_ATTR or wire != 2:
            continue
        _, inner = _splice_entry(walker, value_at, value_end, left_out)
        if inner is None:
            continue
        len_at = walker._varint(tag_at, value_at)[1]
        head = node_bytes[pos:len_at] + encode_varint(inner[1])
        pieces += [head, *inner[0]]
        total += len(head) + inner[1]
        pos = value_end
    tail = node_bytes[pos:]
    pieces.append(tail)
    return [p for p in pieces if not isinstance(p, bytes) or p], total + len(tail)


def _splice_into(walker: _Walker, start: int, end: int, number: int,
                 inner: tuple[list, int]) -> tuple[list, int]:
    """The message [start, end) with field ``number``'s payload replaced by ``inner`` (pieces, length)."""
    data = walker.buf
    for field_number, wire, tag_at, value_at, value_end in walker._fields(start, end):
        if field_number == number and wire == 2:
            len_at = walker._varint(tag_at, value_at)[1]
            head = data[start:len_at] + encode_varint(inner[1])
            tail = data[value_end:end]
            return [head, *inner[0], tail], len(head) + inner[1] + len(tail)
    raise ValueError(f"field {number} not found")


def _splice_entry(walker: _Walker, start: int, end: int, left_out: dict[str, Stripped]):
    data = walker.buf
    fields = walker._fields(start, end)
    key = next((bytes(data[v:e]).decode("utf-8", "replace") for n, w, _, v, e in fields
                if n == _ENTRY_KEY and w == 2), "")
    stripped = left_out.get(key)
    value = next(((v, e) for n, w, _, v, e in fields if n == _ENTRY_VALUE and w == 2), None)
    if stripped is None or value is None:
        return key, None
    tensor = next(((v, e) for n, w, _, v, e in walker._fields(*value) if n == _ATTR_TENSOR and w == 2), None)
    if tensor is None:
        return key, None
    t_start, t_end = tensor
    pieces: list = []
    length, pos = 0, t_start
    pending = sorted(stripped.fields)
    for number, _, tag_at, _, _ in walker._fields(t_start, t_end):
        while pending and pending[0][0] < number:
            _, offset, size = pending.pop(0)
            pieces += [data[pos:tag_at], (offset, size)]
            length += tag_at - pos + size
            pos = tag_at
    for _, offset, size in pending:
        pieces += [data[pos:t_end], (offset, size)]
        length += t_end - pos + size
        pos = t_end
    pieces.append(data[pos:t_end])
    length += t_end - pos
    attr = _splice_into(walker, value[0], value[1], _ATTR_TENSOR, (pieces, length))
    return key, _splice_into(walker, start, end, _ENTRY_VALUE, attr)
