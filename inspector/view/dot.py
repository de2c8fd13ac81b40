"""The condensed graph as Graphviz DOT, for people who have Graphviz (``dot -Tsvg view.dot``).

The same boxes as the HTML view's first view: the model's open boxes become clusters holding
their items, closed boxes become nodes showing their op mix and weight bytes, the path from the
feature inputs to the ranked outputs is drawn blue and bold, each ranked output carries its rank
and score in its group's colour, each finding's ops are red, and the training machinery sits in one
grey cluster of its own. Graphviz lays it out top to bottom.

Every identifier is a generated one (``b12``, ``n345``); names appear only inside quoted labels,
with ``\\`` and ``"`` escaped and control characters written as ``\\xNN``, so no node name can end
a string or inject an attribute.
"""

from __future__ import annotations

import re
from itertools import pairwise

from inspector.view.condense import node_of
from inspector.view.scene import MODEL, SECTION_TITLES, Scene

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def quote(text: str) -> str:
    """A DOT double-quoted string holding ``text`` literally (newlines as ``\\n`` only where
    the caller put ``\n`` in on purpose: callers pass lines separately)."""
    text = _UNSAFE.sub(_visible, text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _label(*lines: str) -> str:
    """A multi-line label: each line quoted, joined with DOT's centred line break ``\\n``."""
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines if line) + '"'


def render_dot(scene: Scene) -> str:
    lines = ["digraph condensed {",
             '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, compound=true, newrank=true];',
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", '
             'fontsize=10];',
             "  edge [color=gray60, arrowsize=0.6];"]
    marks = {m.node: m for m in scene.marks}
    flagged = {n for f in scene.findings for n in f.nodes}
    model = scene.condensed.sections.get(MODEL)
    if model is not None:
        _content(scene, model, lines, marks, flagged, "  ")
    machinery = [s for s in scene.sections() if s != model]
    if machinery:
        lines.append("  subgraph cluster_machinery {")
        title = quote("training machinery (not part of the model)")
        lines.append(f"    label={title}; style=dashed; color=gray70;")
        for root in machinery:
            box = scene.boxes[root]
            title = SECTION_TITLES.get(box.section, box.section)
            lines.append(f"    b{root} [label={_label(title, *scene.box_text[root][1:])}, fillcolor=gray92, "
                         "color=gray60, fontcolor=gray35];")
        # one column beside the model, not a row above it
        lines.extend(f"    b{upper} -> b{lower} [style=invis];" for upper, lower in pairwise(machinery))
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _content(scene: Scene, box_id: int, lines: list[str], marks: dict, flagged: set[int],
             indent: str) -> None:
    """The items of an open box, then the edges between them (in that box's terms)."""
    for ref in scene.boxes[box_id].children:
        if ref >= 0 and ref in scene.initial:
            box = scene.boxes[ref]
            lines.append(f"{indent}subgraph cluster_b{ref} {{")
            label = _label(f"{box.label}  ({box.size} ops)")
            lines.append(f'{indent}  label={label}; style="rounded,dashed"; color=gray60;')
            _content(scene, ref, lines, marks, flagged, indent + "  ")
            lines.append(f"{indent}}}")
        elif ref >= 0:
            lines.append(f"{indent}{_box_node(scene, ref)}")
        else:
            lines.append(f"{indent}{_op_node(scene, box_id, ref, marks, flagged)}")
    layout = scene.layouts[box_id]
    refs = scene.boxes[box_id].children
    on_path = scene.path_edges[box_id]
    for route in layout.routes:
        a, b = refs[route.source], refs[route.target]
        if route.reversed:
            a, b = b, a
        tail, head = _endpoint(scene, a, last=True), _endpoint(scene, b, last=False)
        attrs = []
        if (a, b) in on_path:
            attrs.append("color=dodgerblue3, penwidth=2.2")
        if a >= 0 and a in scene.initial:
            attrs.append(f"ltail=cluster_b{a}")
        if b >= 0 and b in scene.initial:
            attrs.append(f"lhead=cluster_b{b}")
        if route.weight > 1:
            attrs.append(f"label={quote(str(route.weight))}, fontsize=8, fontcolor=gray50")
        lines.append(f"{indent}{tail} -> {head}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")


def _endpoint(scene: Scene, ref: int, last: bool) -> str:
    """The node an edge attaches to: an op, a closed box, or for an open box (a cluster) the item
    inside it that comes last (an edge's tail) or first (its head) in the data flow."""
    topo = scene.condensed.topo
    while ref >= 0 and ref in scene.initial and scene.boxes[ref].children:
        children = scene.boxes[ref].children

        def start(r: int) -> int:
            return scene.boxes[r].first if r >= 0 else topo[node_of(r)]

        ref = max(children, key=start) if last else min(children, key=start)
    return f"b{ref}" if ref >= 0 else f"n{node_of(ref)}"


def _box_node(scene: Scene, ref: int) -> str:
    label, mix, size = scene.box_text[ref]
    style = "color=dodgerblue3, penwidth=2, fillcolor=aliceblue" if scene.path_counts[ref] else "color=gray60"
    return f"b{ref} [label={_label(label, mix, size)}, {style}];"


def _op_node(scene: Scene, box_id: int, ref: int, marks: dict, flagged: set[int]) -> str:
    node = node_of(ref)
    lines = [scene.item_label(box_id, ref), scene.ops[node]]
    attrs = ["shape=box", 'style="rounded,filled"']
    kind = scene.inputs.get(node)
    if kind == "feature":
        attrs.append("fillcolor=honeydew, color=forestgreen, penwidth=2")
    elif node in scene.path:
        attrs.append("fillcolor=aliceblue, color=dodgerblue3, penwidth=1.6")
    mark = marks.get(node)
    if mark is not None:
        lines.insert(0, f"#{mark.rank}  {mark.candidate['score']:.2f}")
        attrs.append(f"color={quote(mark.colour)}, penwidth=3")
    if node in flagged:
        codes = sorted({f.finding.get('code', '') for f in scene.findings if node in f.nodes})
        lines.append("! " + ", ".join(codes))
        attrs.append('color=red3, penwidth=2.5, style="rounded,filled,dashed"')
    return f"n{node} [label={_label(*lines)}, {', '.join(attrs)}];"
