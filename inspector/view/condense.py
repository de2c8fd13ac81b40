"""The condensed graph: nodes grouped into boxes by name scope, one tree per role.

A TensorFlow graph names its nodes by scope (``encoder/layer_3/attention/MatMul``); a box stands
for a scope and opens into its sub-scopes and ops. Training machinery never shares a box with the
model: the roles pass (:mod:`inspector.roles`) gives every node a role, and each role has its own
tree (a *section*): the model's is the drawing, the others (gradients, optimizer, saver, …) are
the grey boxes at its side. The same scope (``encoder/layer_3``) can therefore appear in the model
and, with its initializers, in the ``initializer`` section.

Two rules keep every box readable, whatever the graph:

* a chain of scopes with nothing else in them becomes one box (``bert/encoder`` rather than
  ``bert`` holding only ``encoder``), and a scope holding a single op is that op;
* a box never holds more than :data:`MAX_CHILDREN` items: repeated siblings (``layer_0`` …
  ``layer_11``, ``Const`` … ``Const_57``) first become one *family* box, then what is still too
  many is cut into *chunks* of consecutive items in data-flow order. A 50,000-node graph of 900
  residual blocks thus opens as a handful of boxes, each opening into a few dozen more.

Children are referenced by one int: a box id ``>= 0``, or ``leaf(node) = -1 - node`` for an op.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

MAX_CHILDREN = 36     # items a box opens into, at most
FAMILY_MIN = 3        # siblings sharing a stem that form a family box
SECTION, SCOPE, FAMILY, CHUNK = "section", "scope", "family", "chunk"
_NUMBERED = re.compile(r"^(.*?)_?(\d+)$")


def leaf(node: int) -> int:
    """The child reference of op ``node``."""
    return -1 - node


def node_of(ref: int) -> int:
    """The op a negative child reference stands for."""
    return -1 - ref


@dataclass
class Box:
    """One box: a section (a role's root), a name scope, a family of siblings or a chunk."""

    id: int
    kind: str
    section: str
    label: str
    scope: str                    # the name scope its ops' names start with ("" for none)
    parent: int | None
    children: list[int] = field(default_factory=list)
    size: int = 0                 # ops inside, at every depth
    first: int = 0                # smallest topological position inside (where it starts)
    depth: int = 0


@dataclass
class Condensed:
    """The boxes of one graph; ``sections[role]`` is the root box of each role present."""

    boxes: list[Box]
    sections: dict[str, int]
    parent_of: list[int]          # per node: the box it sits in
    topo: list[int]               # per node: its position in the graph's topological order

    def ancestors(self, node: int) -> list[int]:
        """The boxes around ``node``, innermost first (its section root last)."""
        chain, box = [], self.parent_of[node]
        while box is not None:
            chain.append(box)
            box = self.boxes[box].parent
        return chain


def condense(names: list[str], roles: list[str], order: list[int], section_order: list[str]) -> Condensed:
    """Group nodes ``names[i]`` of role ``roles[i]`` into boxes; ``order`` is a topological order.

    ``section_order`` lists the roles in the order their sections are created (the model first).
    """
    topo = [0] * len(names)
    for position, node in enumerate(order):
        topo[node] = position
    builder = _Builder(names, topo)
    present = set(roles)
    for role in section_order:
        if role in present:
            builder.section(role)
    for node in order:
        builder.add(node, roles[node])
    return builder.finish()


class _Builder:
    def __init__(self, names: list[str], topo: list[int]) -> None:
        self.names = names
        self.topo = topo
        self.boxes: list[Box] = []
        self.sections: dict[str, int] = {}
        self.scopes: dict[tuple[int, str], int] = {}   # (parent box, scope part) -> box
        self.leaves: dict[int, list[int]] = {}          # box -> its ops, before nesting
        self.parent_of = [-1] * len(names)

    def section(self, role: str) -> int:
        box = self._new(SECTION, role, role, "", None)
        self.sections[role] = box
        return box

    def _new(self, kind: str, section: str, label: str, scope: str, parent: int | None) -> int:
        box = Box(len(self.boxes), kind, section, label, scope, parent)
        self.boxes.append(box)
        if parent is not None:
            self.boxes[parent].children.append(box.id)
        return box.id

    def add(self, node: int, role: str) -> None:
        box = self.sections[role]
        parts = self.names[node].split("/")
        scope = ""
        for part in parts[:-1]:
            scope = f"{scope}/{part}" if scope else part
            key = (box, part)
            child = self.scopes.get(key)
            if child is None:
                child = self._new(SCOPE, role, part, scope, box)
                self.scopes[key] = child
            box = child
        self.leaves.setdefault(box, []).append(node)

    def finish(self) -> Condensed:
        # An op named like a scope (`dense/kernel` beside `dense/kernel/read`) goes inside it.
        for box, nodes in self.leaves.items():
            for node in nodes:
                last = self.names[node].rsplit("/", 1)[-1]
                target = self.scopes.get((box, last), box)
                self.boxes[target].children.append(leaf(node))
        boxes = self.boxes
        for root in self.sections.values():
            _compress(boxes, root, is_root=True)
        for root in self.sections.values():
            _regroup_tree(boxes, root, self.names, self.topo)
        kept = _renumber(boxes, list(self.sections.values()))
        sections = {role: kept[box] for role, box in self.sections.items()}
        boxes = sorted((b for b in boxes if b.id in kept), key=lambda b: kept[b.id])
        for box in boxes:
            box.id = kept[box.id]
            box.parent = kept[box.parent] if box.parent is not None else None
            box.children = [kept[c] if c >= 0 else c for c in box.children]
        condensed = Condensed(boxes, sections, self.parent_of, self.topo)
        for root in sections.values():
            _measure(condensed, root, 0)
        return condensed


def _compress(boxes: list[Box], box_id: int, is_root: bool = False) -> int | None:
    """Merge scope chains and dissolve single-op scopes, bottom up. Returns what replaces
    ``box_id`` in its parent: itself, or a leaf reference."""
    box = boxes[box_id]
    children = []
    for child in box.children:
        children.append(_compress(boxes, child) if child >= 0 else child)
    box.children = children
    while len(box.children) == 1 and box.children[0] >= 0 and boxes[box.children[0]].kind == SCOPE:
        only = boxes[box.children[0]]
        if not is_root:
            box.label = f"{box.label}/{only.label}"
        box.scope = only.scope
        box.children = only.children
        for grandchild in only.children:
            if grandchild >= 0:
                boxes[grandchild].parent = box.id
        only.parent = -1  # dropped
    if not is_root and len(box.children) == 1 and box.children[0] < 0:
        box.parent = -1  # dropped: the op stands for itself
        return box.children[0]
    return box_id


def _regroup_tree(boxes: list[Box], box_id: int, names: list[str], topo: list[int]) -> None:
    box = boxes[box_id]
    for child in list(box.children):
        if child >= 0:
            _regroup_tree(boxes, child, names, topo)
    if len(box.children) > MAX_CHILDREN:
        _regroup(boxes, box, names, topo)


def _first(boxes: list[Box], ref: int, topo: list[int]) -> int:
    if ref < 0:
        return topo[node_of(ref)]
    box = boxes[ref]
    return min((_first(boxes, c, topo) for c in box.children), default=0)


def _label_of(boxes: list[Box], ref: int, names: list[str]) -> str:
    return names[node_of(ref)].rsplit("/", 1)[-1] if ref < 0 else boxes[ref].label


def _regroup(boxes: list[Box], box: Box, names: list[str], topo: list[int]) -> None:
    """Families of repeated siblings, then chunks in data-flow order, until few enough remain."""
    first = {ref: _first(boxes, ref, topo) for ref in box.children}
    stems: dict[str, list[int]] = {}
    for ref in box.children:
        stems.setdefault(_stem(_label_of(boxes, ref, names)), []).append(ref)
    # A family of all the children would only add a level: those are cut into chunks instead.
    families = [refs for refs in stems.values() if FAMILY_MIN <= len(refs) < len(box.children)]
    families.sort(key=len, reverse=True)
    children = list(box.children)
    for refs in families:
        if len(children) <= MAX_CHILDREN:
            break
        refs.sort(key=lambda r: (_numbered_key(_label_of(boxes, r, names)), first[r]))
        labels = [_label_of(boxes, r, names) for r in refs]
        family = _group(boxes, box, FAMILY, f"{labels[0]} … {labels[-1]}", refs, first)
        members = set(refs)
        children = [family if r == refs[0] else r for r in children if r not in members or r == refs[0]]
        first[family] = min(first[r] for r in refs)
    box.children = children
    _chunk(boxes, box, names, first)
    _regroup_new(boxes, box, names, topo)


def _regroup_new(boxes: list[Box], box: Box, names: list[str], topo: list[int]) -> None:
    """The families and chunks just made under ``box``, at any depth, that are still too full."""
    for ref in box.children:
        if ref >= 0 and boxes[ref].kind in (FAMILY, CHUNK):
            if len(boxes[ref].children) > MAX_CHILDREN:
                _regroup(boxes, boxes[ref], names, topo)
            else:
                _regroup_new(boxes, boxes[ref], names, topo)


def _stem(label: str) -> str:
    """What repeated siblings share: ``layer`` for ``layer_3`` and ``layer_3/attention`` (merged
    scope chains keep their first part), ``Const`` for ``Const_12``."""
    head = label.split("/", 1)[0]
    match = _NUMBERED.match(head)
    return match.group(1) if match else head


def _numbered_key(label: str) -> tuple[str, int]:
    match = _NUMBERED.match(label.split("/", 1)[0])
    return (match.group(1), int(match.group(2))) if match else (label, -1)


def _chunk(boxes: list[Box], box: Box, names: list[str], first: dict[int, int]) -> None:
    """Cut ``box``'s children into at most MAX_CHILDREN runs of consecutive items (by where each
    starts in the data flow); a run itself longer than MAX_CHILDREN is cut again."""
    items = sorted(box.children, key=lambda r: first[r])
    while len(items) > MAX_CHILDREN:
        runs = math.ceil(len(items) / MAX_CHILDREN)
        size = math.ceil(len(items) / runs)
        grouped = []
        for start in range(0, len(items), size):
            run = items[start:start + size]
            if len(run) == 1:
                grouped.append(run[0])
                continue
            labels = (_label_of(boxes, run[0], names), _label_of(boxes, run[-1], names))
            chunk = _group(boxes, box, CHUNK, f"{labels[0]} … {labels[1]}", run, first)
            first[chunk] = min(first[r] for r in run)
            grouped.append(chunk)
        items = grouped
    box.children = items


def _group(boxes: list[Box], parent: Box, kind: str, label: str, refs: list[int],
           first: dict[int, int]) -> int:
    """A new box under ``parent`` holding ``refs`` (not appended to the parent's children)."""
    box = Box(len(boxes), kind, parent.section, label, parent.scope, parent.id, list(refs))
    boxes.append(box)
    for ref in refs:
        if ref >= 0:
            boxes[ref].parent = box.id
    return box.id


def _renumber(boxes: list[Box], roots: list[int]) -> dict[int, int]:
    """New ids, depth first from the section roots, for the boxes still in a tree."""
    kept: dict[int, int] = {}
    stack = list(reversed(roots))
    while stack:
        box = stack.pop()
        kept[box] = len(kept)
        stack.extend(c for c in reversed(boxes[box].children) if c >= 0)
    return kept


def _measure(condensed: Condensed, box_id: int, depth: int) -> None:
    """Sizes, starting positions and depths, bottom up; each op's innermost box."""
    box = condensed.boxes[box_id]
    box.depth = depth
    size, first = 0, None
    for child in box.children:
        if child >= 0:
            _measure(condensed, child, depth + 1)
            inner = condensed.boxes[child]
            size += inner.size
            start = inner.first
        else:
            node = node_of(child)
            condensed.parent_of[node] = box_id
            size += 1
            start = condensed.topo[node]
        first = start if first is None else min(first, start)
    box.size = size
    box.first = first or 0


def op_mix(ops: Counter, shown: int = 3) -> str:
    """``MatMul 4 · Add 2 · Relu 2 +5``: the most frequent ops of a box."""
    common = ops.most_common(shown)
    text = " · ".join(f"{op} {n}" for op, n in common)
    rest = len(ops) - len(common)
    return f"{text} +{rest}" if rest > 0 else text
