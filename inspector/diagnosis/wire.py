"""A protobuf wire-format walker that says where a message stops parsing, and why.

``ParseFromString`` only says "Wire format was corrupt". Users need more: *where* the file broke
(byte offset, which node, which field), *what* was expected there (a length of N bytes, a varint,
a message) and whether the file simply ends early (an interrupted download: TRUNCATED) or holds
bytes that cannot be protobuf (CORRUPT). This walker follows the message's descriptor, so it knows
which fields are sub-messages (recursed into), strings (UTF-8 checked, as the runtime does) or
bytes (skipped without copying), and never allocates what a length prefix merely claims.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from inspector.readers.varint import decode_varint

_MAX_DEPTH = 100  # protobuf's default recursion limit
_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "group start", 4: "group end",
               5: "32-bit", 6: "invalid wire type 6", 7: "invalid wire type 7"}


@dataclass
class WireProblem:
    """Where and why a buffer fails to parse as a given message."""

    truncated: bool           # the buffer ends inside a field (else: bytes that are not valid here)
    offset: int               # byte offset of the field (tag) that fails
    path: str                 # e.g. "node[12] 'conv1/weights' > attr[3] > value > tensor"
    expected: str             # what the walker needed at that point
    evidence: dict = field(default_factory=dict)
    depth: int = 0            # 0: at the top level; >0: inside a correctly framed sub-message


@dataclass
class WalkResult:
    problem: WireProblem | None
    top_level_fields: list[tuple[int, int]]  # (field number, wire type) of each complete top-level field
    complete_top_level: dict[int, int]       # field number -> how many complete occurrences


class _Stop(Exception):
    def __init__(self, problem: WireProblem) -> None:
        self.problem = problem


_LENGTH_TYPES = {FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES}
_FIXED64 = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64}
_FIXED32 = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_SFIXED32}


def expected_wire_types(fd: FieldDescriptor) -> set[int]:
    if fd.type in _LENGTH_TYPES:
        return {2}
    scalar = 1 if fd.type in _FIXED64 else 5 if fd.type in _FIXED32 else 0
    if fd.is_repeated:
        return {scalar, 2}  # packed or not; parsers accept both
    return {scalar}


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def stop(self, depth: int, truncated: bool, offset: int, path: list[str], expected: str,
             **evidence: object) -> None:
        raise _Stop(WireProblem(truncated, offset, " > ".join(path) or "(top level)", expected,
                                dict(evidence), depth))

    def walk(self, desc: Descriptor, start: int, end: int, path: list[str], depth: int,
             top: WalkResult | None = None) -> None:
        if depth > _MAX_DEPTH:
            self.stop(depth, False, start, path, f"at most {_MAX_DEPTH} levels of nested messages")
        data, pos = self.data, start
        counts: dict[int, int] = {}
        while pos < end:
            tag_at = pos
            tag = decode_varint(data, pos, end)
            if tag is None:
                self.stop(depth, end == self.size, tag_at, path, "a field tag (varint)", message=desc.name)
            key, pos = tag
            number, wire = key >> 3, key & 7
            fd = desc.fields_by_number.get(number)
            where = [*path, self._field_label(fd, number, counts.get(number, 0))]
            if number == 0 or wire in (3, 4, 6, 7):
                self.stop(depth, False, tag_at, path,
                          f"a field tag of {desc.full_name}, found field {number} with "
                          f"{_WIRE_NAMES[wire]}", tag_byte=data[tag_at], message=desc.name)
            if fd is not None and wire not in expected_wire_types(fd):
                self.stop(depth, False, tag_at, where,
                          f"field {fd.name} (#{number}) as {_kind(fd)}, found {_WIRE_NAMES[wire]}",
                          message=desc.name)
            value_at = pos
            if wire == 0:
                got = decode_varint(data, pos, end)
                if got is None:
                    self.stop(depth, end == self.size, tag_at, where, "a varint value", message=desc.name)
                pos = got[1]
            elif wire in (1, 5):
                width = 8 if wire == 1 else 4
                if pos + width > end:
                    self.stop(depth, end == self.size, tag_at, where, f"a {width * 8}-bit value",
                              declared_length=width, available=end - pos)
                pos += width
            else:
                got = decode_varint(data, pos, end)
                if got is None:
                    self.stop(depth, end == self.size, tag_at, where, "a length prefix (varint)")
                length, value_at = got
                if value_at + length > end:
                    self.stop(depth, end == self.size, tag_at, where, f"{length} bytes of {_kind(fd)}",
                              declared_length=length, available=end - value_at,
                              needs_file_size=value_at + length if end == self.size else None)
                pos = value_at + length
                if fd is not None and fd.type == FieldDescriptor.TYPE_MESSAGE:
                    self.walk(fd.message_type, value_at, pos, where, depth + 1)
                elif fd is not None and fd.type == FieldDescriptor.TYPE_STRING:
                    try:
                        text = data[value_at:pos].decode("utf-8")
                    except UnicodeDecodeError:
                        self.stop(depth, False, tag_at, where, f"UTF-8 text for string field {fd.name}")
                    if desc.full_name == "tensorflow.NodeDef" and number == 1 and path:
                        path[-1] = f"{path[-1]} '{text}'"  # name the node in every later message
            counts[number] = counts.get(number, 0) + 1
            if top is not None:
                top.top_level_fields.append((number, wire))
                top.complete_top_level[number] = counts[number]

    @staticmethod
    def _field_label(fd: FieldDescriptor | None, number: int, index: int) -> str:
        if fd is None:
            return f"unknown field #{number}"
        return f"{fd.name}[{index}]" if fd.is_repeated else fd.name


def _kind(fd: FieldDescriptor | None) -> str:
    if fd is None:
        return "an unknown field"
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return f"a {fd.message_type.name} message"
    return {FieldDescriptor.TYPE_STRING: "a string", FieldDescriptor.TYPE_BYTES: "bytes"}.get(
        fd.type, "packed values")


def walk(data: bytes, descriptor: Descriptor) -> WalkResult:
    """Walk ``data`` as a ``descriptor`` message; ``problem`` is None when every byte is valid."""
    result = WalkResult(None, [], {})
    try:
        _Walker(data).walk(descriptor, 0, len(data), [], 0, top=result)
    except _Stop as stop:
        result.problem = stop.problem
    return result


def walk_generic(data: bytes) -> list[tuple[int, int]] | None:
    """Top-level (field number, wire type) pairs when ``data`` is well-formed wire format, else None.

    Schema-free: tells "some protobuf message" from "not protobuf at all".
    """
    fields: list[tuple[int, int]] = []
    for pair in top_level_fields(data):
        if pair is None:
            return None
        fields.append(pair)
    return fields


def top_level_fields(data: bytes) -> Iterator[tuple[int, int] | None]:
    """(field number, wire type) of each top-level field in order, lazily (a caller may stop at the
    first field it did not expect); None, and nothing after it, where the wire format breaks."""
    pos, end = 0, len(data)
    while pos < end:
        tag = decode_varint(data, pos, end)
        if tag is None:
            yield None
            return
        key, pos = tag
        number, wire = key >> 3, key & 7
        if number == 0 or wire in (3, 4, 6, 7):
            yield None
            return
        if wire == 0:
            got = decode_varint(data, pos, end)
            if got is None:
                yield None
                return
            pos = got[1]
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            got = decode_varint(data, pos, end)
            if got is None or got[1] + got[0] > end:
                yield None
                return
            pos = got[1] + got[0]
        if pos > end:
            yield None
            return
        yield number, wire
