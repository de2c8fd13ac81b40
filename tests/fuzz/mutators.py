"""Mutations of the committed fixtures: raw bytes, protobuf wire format, SSTables, text format, graphs.

Every mutator takes a ``random.Random`` and the files of one fixture case (``{relative path: bytes}``)
and returns the files it changed (``{relative path: new bytes}``), or ``None`` when it does not apply
to that file. They know the formats (FORMATS.md) only as far as a hostile writer would: enough to
make a damaged file that still gets past the outer checks (a re-checksummed table whose entry lies,
a well-framed GraphDef whose node reads a missing input), so that the code behind them is reached.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from inspector.readers.crc32c import crc32c, mask
from inspector.readers.varint import encode_varint as _encode_unsigned

Files = dict[str, bytes]
Mutator = Callable[[random.Random, Files, str], "Files | None"]

INTERESTING_VARINTS = (0, 1, 2, 7, 8, 19, 20, 21, 23, 24, 30, 31, 99, 100, 101, 119, 127, 128, 255, 256,
                       1 << 15, 65535, 1 << 20, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40,
                       (1 << 63) - 1, 1 << 63, (1 << 64) - 1)
INTERESTING_BYTES = (0x00, 0x01, 0x07, 0x08, 0x0A, 0x12, 0x7F, 0x80, 0xFF)


# ============================================================================ kinds of files

def kind_of(name: str, data: bytes) -> str:
    """'table' (.index, V1 checkpoint), 'data' (.data shard), 'state' (checkpoint), 'text' (.pbtxt or a
    graph saved as text), 'proto' (binary .pb/.meta/saved_model.pb), else 'bytes'."""
    base = name.rsplit("/", 1)[-1]
    if base == "checkpoint":
        return "state"
    if base.endswith(".index") or re.search(r"\.ckpt(-\d+)?(-\d{5}-of-\d{5})?$", base):
        return "table"
    if re.search(r"\.data-\d{5}-of-\d{5}$", base):
        return "data"
    if base.endswith((".pb", ".pbtxt", ".meta", ".txt")):
        head = data[:64].lstrip()
        if base.endswith(".pbtxt") or (head[:1].isalpha() and all(32 <= b < 127 or b in b"\t\r\n"
                                                                    for b in data[:256])):
            return "text"
        return "proto"
    return "bytes"


# ============================================================================ raw bytes

def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data)) if data else 0


def flip_bit(rng, data: bytes) -> bytes:
    if not data:
        return b"\x01"
    i = _pos(rng, data)
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def set_byte(rng, data: bytes) -> bytes:
    if not data:
        return bytes([rng.choice(INTERESTING_BYTES)])
    i = _pos(rng, data)
    return data[:i] + bytes([rng.choice((*INTERESTING_BYTES, rng.randrange(256)))]) + data[i + 1:]


def truncate(rng, data: bytes) -> bytes:
    if len(data) < 2:
        return b""
    return data[:rng.choice((0, 1, rng.randrange(len(data)), len(data) - 1, len(data) // 2))]


def insert_chunk(rng, data: bytes) -> bytes:
    i = _pos(rng, data)
    chunk = rng.choice((bytes(rng.randrange(256) for _ in range(rng.randint(1, 32))),
                        b"\x00" * rng.randint(1, 64), b"\xff" * rng.randint(1, 16)))
    return data[:i] + chunk + data[i:]


def duplicate_chunk(rng, data: bytes) -> bytes:
    if not data:
        return data + data
    i = _pos(rng, data)
    j = min(len(data), i + rng.randint(1, 256))
    k = _pos(rng, data)
    return data[:k] + data[i:j] + data[k:]


def delete_chunk(rng, data: bytes) -> bytes:
    if not data:
        return data
    i = _pos(rng, data)
    return data[:i] + data[i + rng.randint(1, 64):]


BYTE_MUTATIONS = (flip_bit, set_byte, truncate, insert_chunk, duplicate_chunk, delete_chunk)


def mutate_bytes(rng: random.Random, files: Files, name: str) -> Files:
    data = files[name]
    for _ in range(rng.choice((1, 1, 1, 2, 4))):
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return {name: data}


# ============================================================================ protobuf wire format

def encode_varint(value: int) -> bytes:
    """Any int as protobuf writes it on the wire: a negative one as its 64-bit two's complement."""
    return _encode_unsigned(value & ((1 << 64) - 1))


def _read_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(buf) and shift < 70:
        b = buf[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return value, pos
        shift += 7
    return None


@dataclass
class WireField:
    """One field of a message: ``value`` is the int (varint), raw bytes (fixed32/64, LEN payload);
    ``children`` the payload parsed as a message, when it parses cleanly."""

    number: int
    wire: int
    value: int | bytes
    children: list[WireField] | None = None
    extra_length: int = 0  # framing damage: the written length differs from the payload's by this

    def encode(self) -> bytes:
        key = encode_varint((self.number << 3) | self.wire)
        if self.wire == 0:
            return key + encode_varint(int(self.value))
        if self.wire == 2:
            payload = encode_message(self.children) if self.children is not None else bytes(self.value)
            return key + encode_varint(max(0, len(payload) + self.extra_length)) + payload
        return key + bytes(self.value)


def encode_message(fields: list[WireField]) -> bytes:
    return b"".join(f.encode() for f in fields)


def parse_message(buf: bytes, depth: int = 0, max_depth: int = 12) -> list[WireField] | None:
    """The fields of ``buf`` if it is a well-formed message (no groups), else None."""
    fields: list[WireField] = []
    pos = 0
    while pos < len(buf):
        got = _read_varint(buf, pos)
        if got is None:
            return None
        key, pos = got
        number, wire = key >> 3, key & 7
        if number == 0 or number >= 1 << 29:
            return None
        if wire == 0:
            got = _read_varint(buf, pos)
            if got is None:
                return None
            value, pos = got
            fields.append(WireField(number, 0, value))
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                return None
            fields.append(WireField(number, wire, buf[pos:pos + size]))
            pos += size
        elif wire == 2:
            got = _read_varint(buf, pos)
            if got is None or got[1] + got[0] > len(buf):
                return None
            length, pos = got
            payload = buf[pos:pos + length]
            pos += length
            children = parse_message(payload, depth + 1, max_depth) if depth < max_depth and payload else None
            fields.append(WireField(number, 2, payload, children))
        else:
            return None
    return fields


def _all_fields(fields: list[WireField], out: list[tuple[list[WireField], int]]) -> None:
    """Every (sibling list, index) pair of the tree, depth first."""
    for i, f in enumerate(fields):
        out.append((fields, i))
        if f.children is not None:
            _all_fields(f.children, out)


def mutate_wire_tree(rng: random.Random, fields: list[WireField]) -> bool:
    """One structural mutation somewhere in the tree; False when there is nothing to mutate."""
    spots: list[tuple[list[WireField], int]] = []
    _all_fields(fields, spots)
    if not spots:
        return False
    siblings, i = rng.choice(spots)
    f = siblings[i]
    choice = rng.randrange(10)
    if choice == 0:
        del siblings[i]
    elif choice == 1:
        siblings.insert(i, _copy(f))
    elif choice == 2 and len(siblings) > 1:
        j = rng.randrange(len(siblings))
        siblings[i], siblings[j] = siblings[j], siblings[i]
    elif choice == 3:
        f.number = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 100, (1 << 29) - 1, f.number + 1,
                               max(1, f.number - 1)))
    elif choice == 4:  # another wire type for the same field number
        if f.wire == 0:
            f.wire, f.value, f.children = 2, encode_varint(int(f.value)), None
        elif f.wire == 2:
            f.wire, f.value, f.children = 0, rng.choice(INTERESTING_VARINTS), None
        else:
            f.wire, f.value = 0, int.from_bytes(bytes(f.value), "little")
    elif choice == 5 and f.wire == 2:  # framing: the written length lies
        f.extra_length = rng.choice((-1, 1, -2, 2, 7, 1 << 20, 1 << 31, -len(bytes(f.value))))
    elif choice == 6 and f.wire == 2 and f.children is not None:  # nest it inside itself
        inner = _copy(f)
        for _ in range(rng.choice((2, 8, 40, 120))):
            inner = WireField(f.number, 2, b"", [inner])
        siblings[i] = inner
    elif f.wire == 0:
        value = int(f.value)
        f.value = rng.choice((*INTERESTING_VARINTS, value + 1, max(0, value - 1), value * 2, value ^ 1))
    elif f.wire == 2 and f.children is None:
        data = bytes(f.value)
        f.value = rng.choice((b"", data + data, data[: len(data) // 2], flip_bit(rng, data),
                              b"\x1b[2J\x07\r" + data, data + b"\xff\xfe",
                              b"A" * rng.choice((1, 300, 70000))))
    elif f.wire == 2:
        mutate_wire_tree(rng, f.children)
    else:
        f.value = bytes(rng.randrange(256) for _ in range(len(bytes(f.value))))
    return True


def _copy(f: WireField) -> WireField:
    children = None if f.children is None else [_copy(c) for c in f.children]
    return WireField(f.number, f.wire, f.value, children,
                     f.extra_length)


def mutate_wire(rng: random.Random, files: Files, name: str) -> Files | None:
    fields = parse_message(files[name])
    if not fields:
        return None
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutate_wire_tree(rng, fields)
    return {name: encode_message(fields)}


# ============================================================================ tables (.index, V1 files)

def table_rows(data: bytes) -> list[tuple[bytes, bytes]] | None:
    from inspector.errors import Ckpt2pbError
    from inspector.readers.table import Table

    try:
        return [(bytes(k), bytes(v)) for k, v in Table(data, "fuzz")]
    except Ckpt2pbError:
        return None


def build_table(rows: list[tuple[bytes, bytes]], rng: random.Random | None = None) -> bytes:
    from tests.inspector.readers.builders import table

    per_block = 1 << 30 if rng is None or rng.random() < 0.7 else rng.choice((1, 2, 5))
    return table(rows, entries_per_block=per_block)


# BundleEntryProto: dtype 1, shape 2 (TensorShapeProto: dim 2 {size 1, name 2}, unknown_rank 3),
# shard_id 3, offset 4, size 5, crc32c 6 (fixed32), slices 7. BundleHeaderProto: num_shards 1,
# endianness 2, version 3. SavedSliceMeta / SavedTensorSlices (V1): meta 1 {tensor 2 {name 1, shape 2,
# type 3, slice 4}}, data 2 {name 1, slice 2, data 3 (TensorProto)}.
# DataType values: about half of them valid (another type than the graph declares), half not (0, gaps,
# past the end, reference types, absurd); the last two only fit a varint, not an attr's int32 enum.
DTYPES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
          0, 11, 12, 13, 15, 16, 31, 32, 33, 34, 35, 36, 50, 99, 100, 101, 102, 107, 114, 120, 121, 125, 126,
          127, 128, 200, 999, 1 << 20, (1 << 31) - 1, 1 << 31, (1 << 64) - 1)
DIMS = (0, 1, 2, 3, 7, 1 << 20, 1 << 31, 1 << 40, 1 << 62, (1 << 64) - 1, (1 << 64) - 2)


def _shape(rng: random.Random, old: list[WireField] | None) -> list[WireField]:
    dims = [f for f in (old or []) if f.number == 2]
    choice = rng.randrange(5)
    if choice == 0 and dims:
        dims.pop(rng.randrange(len(dims)))
    elif choice == 1:
        dims.append(WireField(2, 2, b"", [WireField(1, 0, rng.choice(DIMS))]))
    elif choice == 2 and dims:
        dims[rng.randrange(len(dims))] = WireField(2, 2, b"", [WireField(1, 0, rng.choice(DIMS))])
    elif choice == 3:
        return [*dims, WireField(3, 0, 1)]  # unknown_rank beside real dimensions
    else:
        dims = [WireField(2, 2, b"", [WireField(1, 0, rng.choice(DIMS))]) for _ in range(rng.randint(0, 9))]
    return dims


def _set(fields: list[WireField], number: int, new: WireField) -> None:
    for i, f in enumerate(fields):
        if f.number == number:
            fields[i] = new
            return
    fields.append(new)
    fields.sort(key=lambda f: f.number)


def mutate_entry(rng: random.Random, value: bytes, header: bool) -> bytes:
    fields = parse_message(value)
    if fields is None:
        return flip_bit(rng, value)
    if header:
        number = rng.choice((1, 2, 3))
        new = WireField(3, 2, b"", [WireField(1, 0, rng.choice(INTERESTING_VARINTS))]) if number == 3 else \
            WireField(number, 0, rng.choice((0, 1, 2, 3, 100, 1 << 20, 1 << 40, (1 << 64) - 1)))
        _set(fields, number, new)
        return encode_message(fields)
    choice = rng.randrange(8)
    if choice == 0:
        _set(fields, 1, WireField(1, 0, rng.choice(DTYPES)))
    elif choice == 1:
        old = next((f.children for f in fields if f.number == 2), None)
        _set(fields, 2, WireField(2, 2, b"", _shape(rng, old)))
    elif choice in (2, 3, 4):
        number = {2: 3, 3: 4, 4: 5}[choice]
        old = next((int(f.value) for f in fields if f.number == number and f.wire == 0), 0)
        near = (old + 1, max(0, old - 1), old * 2, old + 4096)
        _set(fields, number, WireField(number, 0, rng.choice((*INTERESTING_VARINTS, *near))))
    elif choice == 5:
        _set(fields, 6, WireField(6, 5, rng.randrange(1 << 32).to_bytes(4, "little")))
    else:
        mutate_wire_tree(rng, fields)
    return encode_message(fields)


def mutate_table(rng: random.Random, files: Files, name: str) -> Files | None:
    rows = table_rows(files[name])
    if rows is None:
        return None
    choice = rng.randrange(10)
    if not rows:
        rows = [(b"", b"")]
    i = rng.randrange(len(rows))
    key, value = rows[i]
    if choice <= 4:
        rows[i] = (key, mutate_entry(rng, value, header=key == b"" and name.endswith(".index")))
    elif choice == 5:  # a renamed variable (graph and checkpoint no longer agree) or a hostile key
        rows[i] = (rng.choice((key + b"_x", key[:-1], b"\x1b[31m" + key, key.replace(b"/", b"//"),
                               b"\xff\xfe", b"a" * 5000, b"\x00" + key)), value)
        if rng.random() < 0.7:
            rows.sort(key=lambda kv: kv[0])
    elif choice == 6:
        rows.insert(i, (key, value))  # duplicate key
    elif choice == 7 and len(rows) > 1:
        del rows[i]
    elif choice == 8 and len(rows) > 1:  # out of order
        j = rng.randrange(len(rows))
        rows[i], rows[j] = rows[j], rows[i]
    else:
        fields = parse_message(value)
        if fields is not None and mutate_wire_tree(rng, fields):
            rows[i] = (key, encode_message(fields))
    return {name: build_table(rows, rng)}


def rewrite_weights(rng: random.Random, files: Files, name: str) -> Files | None:
    """Change a tensor's bytes in its ``.data`` shard and fix its checksum in the ``.index``: a valid
    checkpoint with other weights, which an exit-0 freeze must fold exactly."""
    if not name.endswith(".index"):
        return None
    rows = table_rows(files[name])
    if not rows:
        return None
    from inspector.proto import pb

    prefix = name[: -len(".index")]
    header = pb.BundleHeaderProto.FromString(rows[0][1]) if rows[0][0] == b"" else None
    if header is None:
        return None
    candidates = []
    for i, (key, value) in enumerate(rows[1:], 1):
        try:
            entry = pb.BundleEntryProto.FromString(value)
        except Exception:  # a row the reader will refuse anyway
            continue
        if entry.dtype not in (7, 21) and entry.size and not entry.slices:
            candidates.append((i, key, entry))
    if not candidates:
        return None
    i, key, entry = rng.choice(candidates)
    shard = f"{prefix}.data-{entry.shard_id:05d}-of-{header.num_shards:05d}"
    if shard not in files or entry.offset + entry.size > len(files[shard]):
        return None
    data = bytearray(files[shard])
    span = data[entry.offset:entry.offset + entry.size]
    for _ in range(rng.randint(1, 4)):
        span[rng.randrange(len(span))] = rng.choice((*INTERESTING_BYTES, rng.randrange(256)))
    data[entry.offset:entry.offset + entry.size] = span
    entry.crc32c = mask(crc32c(bytes(span)))
    rows[i] = (key, entry.SerializeToString())
    return {name: build_table(rows), shard: bytes(data)}


# ============================================================================ text format

_TOKEN = re.compile(rb'"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_./-]*|-?\d[\w.+-]*|[{}\[\]:<>,;]|\S')
EXTREME_NUMBERS = (b"-1", b"0", b"99999999999999999999999", b"1e309", b"nan", b"-inf", b"0x7fffffff",
                   b"-9223372036854775809", b"18446744073709551616", b"2147483648", b"1.5", b"00")
HOSTILE_STRINGS = (b'""', b'"\\x1b[2J\\x07"', b'"../../../etc/passwd"', b'"/etc/passwd"', b'"\\q"',
                   b'"' + b"x" * 5000 + b'"', b'"a,b"', b'"-o"', b'"\\377\\376"', b'"caf\xc3\xa9"', b'"\xff"',
                   b'"model.ckpt-999"', b'"."', b'"model.ckpt-100"', b'"m\\000odel"', b'"model.ckpt-1/../x"')


def mutate_text(rng: random.Random, files: Files, name: str) -> Files:
    data = files[name]
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = _text_once(rng, data)
    return {name: data}


def _text_once(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    choice = rng.randrange(12)
    if choice == 0 and lines:
        del lines[rng.randrange(len(lines))]
    elif choice == 1 and lines:
        i = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
    elif choice == 2 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif choice == 3:  # deep nesting (protobuf's C++ parser stops at 100)
        openers = [i for i, line in enumerate(lines) if line.rstrip().endswith(b"{")]
        if openers:
            i = rng.choice(openers)
            depth = rng.choice((5, 60, 99, 101, 150, 1200))
            lines[i:i + 1] = [lines[i]] * depth
            lines.insert(min(len(lines), i + depth), b"}" * (depth - 1))
    else:
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(data)]
        if not tokens:
            return data + b"{"
        start, end = rng.choice(tokens)
        token = data[start:end]
        if token[:1] == b'"':
            new = rng.choice(HOSTILE_STRINGS)
        elif token[:1].isdigit() or token[:1] == b"-":
            new = rng.choice(EXTREME_NUMBERS)
        elif token[:1].isalpha() or token[:1] == b"_":
            others = [data[s:e] for s, e in tokens if data[s:s + 1].isalpha()]
            new = rng.choice((rng.choice(others), token + b"x", b"", b"DT_INVALID", b"DT_RESOURCE", b"true"))
        else:
            new = rng.choice((b"", b"{", b"}", b":", b"[", b"]", b"<", token * 2, b"\x00", b"\r", b"\xff"))
        return data[:start] + new + data[end:]
    return b"\n".join(lines)


# ============================================================================ graphs (semantic)

INTERESTING_OPS = ("Identity", "Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond", "VariableV2",
                   "VarHandleOp", "ReadVariableOp", "Assign", "AssignVariableOp", "PartitionedCall",
                   "StatefulPartitionedCall", "Placeholder", "PlaceholderWithDefault", "Const", "RestoreV2",
                   "SaveV2", "NoOp", "RefSwitch", "FusedBatchNorm", "MatMul", "Softmax", "NoSuchOp", "",
                   "TensorListReserve", "While", "If", "HashTableV2")


def _load_graph_message(name: str, data: bytes):
    """(message, as_text) of a GraphDef / MetaGraphDef / SavedModel file, or None."""
    from google.protobuf import text_format

    from inspector.proto import pb

    base = name.rsplit("/", 1)[-1]
    kinds = [pb.SavedModel] if base == "saved_model.pb" else [pb.MetaGraphDef] if base.endswith(".meta") \
        else [pb.GraphDef]
    text = kind_of(name, data) == "text"
    for cls in kinds:
        msg = cls()
        try:
            if text:
                text_format.Parse(data.decode("utf-8"), msg)
            else:
                msg.ParseFromString(data)
        except Exception:  # not this kind (or already damaged): no semantic mutation
            continue
        return msg, text
    return None


def _graphs_of(msg) -> list:
    if hasattr(msg, "meta_graphs"):
        return [m.graph_def for m in msg.meta_graphs]
    if hasattr(msg, "graph_def"):
        return [msg.graph_def]
    return [msg]


def mutate_graph(rng: random.Random, files: Files, name: str) -> Files | None:
    loaded = _load_graph_message(name, files[name])
    if loaded is None:
        return None
    msg, text = loaded
    graphs = [g for g in _graphs_of(msg) if len(g.node)]
    if not graphs:
        return None
    for _ in range(rng.choice((1, 1, 2, 3))):
        _graph_once(rng, rng.choice(graphs), msg)
    if text:
        from google.protobuf import text_format

        return {name: text_format.MessageToString(msg).encode("utf-8")}
    return {name: msg.SerializeToString()}


def _graph_once(rng: random.Random, graph, top) -> None:
    nodes = graph.node
    if graph.library.function and rng.random() < 0.2:
        function = rng.choice(graph.library.function)
        if function.node_def:
            nodes = function.node_def
    node = rng.choice(nodes)
    names = [n.name for n in nodes]
    choice = rng.randrange(17)
    if choice == 16:  # fan-in: every node reads each of its data inputs K times (a naive walk explodes)
        k = rng.choice((2, 4, 8))
        for each in nodes:
            data_inputs = [i for i in each.input if not i.startswith("^")]
            controls = [i for i in each.input if i.startswith("^")]
            if data_inputs:  # data inputs stay before control inputs, as TensorFlow requires
                del each.input[:]
                each.input.extend(data_inputs * k + controls)
    elif choice == 0:
        node.input.append(rng.choice(("ghost", "^ghost", f"{rng.choice(names)}:57", node.name,
                                      f"^{node.name}", rng.choice(names), ":0", "a:b:c")))
    elif choice == 1 and node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice(
            (rng.choice(names), "ghost", f"{rng.choice(names)}:{rng.choice((1, 2, 99, 2**31))}", ""))
    elif choice == 2:
        node.name = rng.choice((rng.choice(names), "", node.name + "/x", "a,b", "-o", "\x1b[2J", "^x",
                                "x:0", "n" * 3000))
    elif choice == 3:
        node.op = rng.choice(INTERESTING_OPS + tuple({n.op for n in nodes}))
    elif choice == 4 and node.attr:
        del node.attr[rng.choice(sorted(node.attr))]
    elif choice == 5:
        key = rng.choice(sorted(node.attr) or ["T"])
        attr = node.attr[key]
        if attr.HasField("type") or rng.random() < 0.3:
            attr.type = rng.choice(DTYPES[:-2])
        elif attr.HasField("shape"):
            _mutate_shape_proto(rng, attr.shape)
        elif attr.HasField("tensor"):
            _mutate_tensor(rng, attr.tensor)
        elif attr.HasField("list"):
            attr.list.type.append(rng.choice(DTYPES[:-2]))
        elif attr.HasField("func"):
            attr.func.name = rng.choice(("ghost_fn", ""))
        else:
            attr.i = rng.choice(INTERESTING_VARINTS[:-4])
    elif choice == 6 and len(nodes) > 1:
        nodes.remove(node)
    elif choice == 7:
        nodes.add().CopyFrom(node)
    elif choice == 8:
        del node.input[:]
    elif choice == 9:  # a Const's value: restore ops read their keys and slices from string Consts
        valued = [n for n in nodes if "value" in n.attr]
        if valued:
            _mutate_tensor(rng, rng.choice(valued).attr["value"].tensor)
    elif choice == 10:
        node.device = rng.choice(("/device:GPU:7", "/job:ps/task:99", "garbage", ""))
    elif choice == 11 and hasattr(top, "saver_def") and top.HasField("saver_def"):
        field = rng.choice(("filename_tensor_name", "save_tensor_name", "restore_op_name"))
        setattr(top.saver_def, field, rng.choice(("ghost:0", "", rng.choice(names), "save/Const:7")))
    elif choice == 12 and hasattr(top, "collection_def") and top.collection_def:
        key = rng.choice(sorted(top.collection_def))
        collection = top.collection_def[key]
        if rng.random() < 0.5:
            del top.collection_def[key]
        elif collection.HasField("node_list"):
            collection.node_list.value.append(rng.choice(("ghost:0", "", rng.choice(names))))
        elif collection.HasField("bytes_list"):
            collection.bytes_list.value.append(rng.choice((b"\x0a\x05ghost", b"\xff", b"")))
    elif choice == 13 and hasattr(top, "signature_def") and top.signature_def:
        signature = top.signature_def[rng.choice(sorted(top.signature_def))]
        infos = list(signature.inputs.values()) + list(signature.outputs.values())
        if infos:
            rng.choice(infos).name = rng.choice(("ghost:0", "", rng.choice(names) + ":3"))
    elif choice == 14:  # a cycle through a chosen pair
        other = rng.choice(nodes)
        node.input.append(other.name)
        other.input.append(node.name)
    else:
        order = list(nodes)
        rng.shuffle(order)
        copies = [type(n)() for n in order]
        for copy, original in zip(copies, order, strict=True):
            copy.CopyFrom(original)
        del nodes[:]
        nodes.extend(copies)


def _mutate_shape_proto(rng: random.Random, shape) -> None:
    choice = rng.randrange(4)
    if choice == 0:
        shape.unknown_rank = True
    elif choice == 1:
        shape.dim.add(size=rng.choice((-1, -2, 0, 1 << 31, 1 << 40, (1 << 63) - 1)))
    elif choice == 2 and shape.dim:
        del shape.dim[rng.randrange(len(shape.dim))]
    else:
        del shape.dim[:]


SLICE_SPECS = (b"", b"-", b"2 3 -1,1:-", b"4 -4 0,4:0,-4", b"1 1 0,1:0,1", b"99999999999 0,99999999999",
               b"3 0,5", b"1 2 3", b"4 4 0,2:-", b"10 4 4,3:0,4", b"5 3 0,2:-", b"0 0 0,0:0,0")


def _mutate_tensor(rng: random.Random, tensor) -> None:
    choice = rng.randrange(8)
    if choice >= 6 and tensor.string_val:  # another key, slice spec or hostile name
        i = rng.randrange(len(tensor.string_val))
        other = tensor.string_val[rng.randrange(len(tensor.string_val))]
        tensor.string_val[i] = rng.choice((*SLICE_SPECS, other, b"ghost", b"\xff", b"a" * 300, b"step"))
    elif choice == 0:
        _mutate_shape_proto(rng, tensor.tensor_shape)
    elif choice == 1:
        tensor.dtype = rng.choice(DTYPES[:-2])
    elif choice == 2 and tensor.tensor_content:
        tensor.tensor_content = tensor.tensor_content[: rng.randrange(len(tensor.tensor_content))]
    elif choice == 3:
        tensor.tensor_content = bytes(rng.randrange(256) for _ in range(rng.choice((1, 3, 8, 64))))
    elif choice == 4:
        del tensor.tensor_shape.dim[:]
        tensor.tensor_shape.dim.add(size=1 << 40)
    else:
        tensor.float_val.extend([1.0] * rng.choice((1, 5)))
        tensor.string_val.append(b"\xff")


# ============================================================================ files from another fixture

DONORS: dict[str, list[bytes]] = {}
"""Every fixture file by kind (filled by the driver): what a user mixing two models' files would pass."""


def splice(rng: random.Random, files: Files, name: str) -> Files | None:
    """The same kind of file from another fixture (another model's .meta beside this checkpoint, another
    checkpoint's .index beside these shards), or its first part joined to this file's rest."""
    donors = [d for d in DONORS.get(kind_of(name, files[name]), ()) if d != files[name]]
    if not donors:
        return None
    donor = rng.choice(donors)
    if rng.random() < 0.7:
        return {name: donor}
    cut = rng.randrange(min(len(donor), len(files[name])) + 1)
    return {name: donor[:cut] + files[name][cut:]}


# ============================================================================ choosing mutations

PLANS: dict[str, list[tuple[Mutator, int]]] = {
    "table": [(mutate_table, 6), (rewrite_weights, 2), (mutate_bytes, 2), (splice, 1)],
    "data": [(mutate_bytes, 4), (splice, 1)],
    "state": [(mutate_text, 4), (mutate_bytes, 1)],
    "text": [(mutate_graph, 4), (mutate_text, 4), (mutate_bytes, 1), (splice, 1)],
    "proto": [(mutate_graph, 5), (mutate_wire, 4), (mutate_bytes, 2), (splice, 1)],
    "bytes": [(mutate_bytes, 1)],
}

FILE_WEIGHTS = {"table": 4, "data": 2, "state": 2, "text": 4, "proto": 5, "bytes": 1}


def mutate(rng: random.Random, files: Files) -> tuple[Files, list[str]]:
    """One to three mutations of the case's files: (the changed files, a description of each)."""
    current = dict(files)
    changed: Files = {}
    done: list[str] = []
    names = sorted(current)
    weights = [FILE_WEIGHTS[kind_of(n, current[n])] for n in names]
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        for _attempt in range(8):
            name = rng.choices(names, weights)[0]
            plan = PLANS[kind_of(name, files[name])]
            mutator = rng.choices([m for m, _ in plan], [w for _, w in plan])[0]
            result = mutator(rng, current, name)
            if result:
                current.update(result)
                changed.update(result)
                done.append(f"{mutator.__name__}({name})")
                break
    return changed, done
