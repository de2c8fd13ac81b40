"""What the HTML view and the DOT file draw, computed once from an inspection.

A :class:`Scene` joins the ``inspect`` report (ranked outputs, inputs, variables, findings) with
the graph's roles pass and its condensed form (:mod:`.condense`):

* every box's content laid out (:mod:`.layout`), with the edges between its items;
* the **path**: the ops that lie between the feature inputs and the ranked outputs — computed
  from a feature input (the roles pass's input bits) and an ancestor of a ranked output;
* each ranked output's op with its rank, score, reasons and colour (one colour per output group);
* each finding's ops: the node names its evidence mentions (whatever the code, the evidence
  names the nodes it is about);
* the first view: which boxes start open, so that the ranked outputs, the findings and the path
  are visible at once while the page shows at most :data:`FIRST_VIEW_BUDGET` items.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from inspector import tfops
from inspector.cli_common import output_arguments, path_argument, shell_line
from inspector.view.condense import (
    SECTION,
    Condensed,
    condense,
    leaf,
    node_of,
    op_mix,
)
from inspector.view.layout import LAYER_GAP, NODE_GAP, Layout, layered_layout, pack

LOG = logging.getLogger("ckpt2pb")

MODEL = "model"
#: The order of the sections: the model first, then the machinery boxes at its side, roughly in
#: the order a training step runs them.
SECTION_ORDER = ("model", "input_pipeline", "switch", "loss", "metric", "gradient", "optimizer",
                 "summary", "saver", "initializer", "bookkeeping")
#: What each grey box is called on the page.
SECTION_TITLES = {
    "model": "model", "input_pipeline": "input pipeline", "switch": "training switches",
    "loss": "loss", "metric": "metrics", "gradient": "gradients", "optimizer": "optimizer",
    "summary": "summaries", "saver": "saver", "initializer": "initializers", "bookkeeping": "bookkeeping",
}
FIRST_VIEW_BUDGET = 150     # items (boxes and ops) the first view may show, at most
FIRST_VIEW_SIZE = (1500.0, 1100.0)  # the first view's drawing at scale 1, at most (legible when fitted)
BEST_OUTPUT_SIZE = (2200.0, 1700.0)  # ... when the boxes around the best output open
FINDING_OPENS = 5           # a finding naming at most this many ops opens the boxes around them
FRAME_PAD, FRAME_HEADER = 10.0, 22.0  # inside an open box: padding, title bar (the page's PAD and HEADER)
CHAR_WIDTH = 6.7            # 11 px monospace
BOX_HEIGHT, OP_HEIGHT = 48.0, 30.0
BOX_WIDTH = (110.0, 250.0)
OP_WIDTH = (56.0, 210.0)
PALETTE = ("#d9480f", "#2b8a3e", "#862e9c", "#1864ab", "#c2255c", "#5f3dc4", "#087f5b", "#e67700")


@dataclass
class Mark:
    """A ranked output on the drawing."""

    node: int
    rank: int
    colour: str
    candidate: dict


@dataclass
class FindingMark:
    finding: dict
    nodes: list[int]


@dataclass
class Scene:
    report: dict
    names: list[str]
    ops: list[str]
    dtypes: list[str | None]
    roles: list[str]
    condensed: Condensed
    layouts: list[Layout]
    box_ops: list[Counter]
    box_bytes: list[int]
    node_bytes: list[int]
    path: set[int]
    path_edges: list[set[tuple[int, int]]]     # per box: (item, item) pairs on the path
    marks: list[Mark]
    findings: list[FindingMark]
    inputs: dict[int, str]                    # node -> input kind (feature, label, switch, feed)
    cross_edges: Counter                       # (section, section) -> data edges between them
    path_counts: list[int] = field(default_factory=list)   # per box: its ops on the path
    box_text: list[tuple[str, str, str]] = field(default_factory=list)  # per box: its three lines
    initial: set[int] = field(default_factory=set)

    @property
    def boxes(self):
        return self.condensed.boxes

    def sections(self) -> list[int]:
        """Section root boxes, the model's first."""
        return [self.condensed.sections[r] for r in SECTION_ORDER if r in self.condensed.sections]

    def box_path_count(self, box: int) -> int:
        return self.path_counts[box]

    def item_label(self, box: int, ref: int) -> str:
        """What an item of ``box`` says: a box its label; an op its name inside the box's scope."""
        if ref >= 0:
            return self.boxes[ref].label
        name = self.names[node_of(ref)]
        scope = self.boxes[box].scope
        if scope and name.startswith(scope + "/"):
            return name[len(scope) + 1:]
        return name.rsplit("/", 1)[-1] if name == scope else name

    def freeze_command(self) -> str | None:
        """The ``freeze`` command the report suggests (the best output, or its whole group)."""
        suggestion = self.report.get("freeze")
        if isinstance(suggestion, dict):
            return suggestion.get("command")
        outputs = self.report.get("outputs") or []
        if not outputs:
            return None
        group = outputs[0].get("group")
        names = [c["name"] for c in outputs if group and c.get("group") == group] or [outputs[0]["name"]]
        return shell_line(["freeze", path_argument(self.report["path"]), *output_arguments(names)])


def build_scene(report: dict, model, variables=None) -> Scene:
    """The scene of ``model`` (a GraphModel) for ``report`` (the ``inspect --json`` dict)."""
    from inspector.roles import roles_of

    roles = roles_of(model)
    index = roles.index
    condensed = condense(index.names, roles.role, index.order, list(SECTION_ORDER))
    node_bytes = _node_bytes(index, roles, variables)
    box_ops, box_bytes = _box_totals(condensed, index.ops, node_bytes)
    marks = _marks(report, index)
    path = _path(roles, [m.node for m in marks])
    scene = Scene(report, index.names, index.ops, index.dtypes, roles.role, condensed, [], box_ops, box_bytes,
                  node_bytes, path, [set() for _ in condensed.boxes], marks, _findings(report, index),
                  {info.index: info.kind for info in roles.inputs}, Counter())
    scene.path_counts = _path_counts(condensed, path)
    scene.box_text = _box_text(scene)
    edges = _box_edges(scene, index)
    repeated: dict = {}
    scene.layouts = [_lay_out(scene, box.id, edges[box.id], repeated) for box in condensed.boxes]
    scene.initial = _first_view(scene)
    return scene


# -- sizes and totals ----------------------------------------------------------------------------

def _node_bytes(index, roles, variables) -> list[int]:
    """Bytes of the values each op holds: a variable's checkpoint value where the checkpoint has
    it, else its declared shape and dtype; in a frozen graph, the constants that are its weights."""
    from inspector.readers.dtypes import by_name

    sizes = [0] * len(index)
    held = set(roles.weights) if roles.frozen else set()
    for i, op in enumerate(index.ops):
        if op in tfops.VARIABLES or i in held:
            shape, dtype = index.shapes[i], index.dtypes[i]
            if shape is None or dtype is None or any(d < 0 for d in shape):
                continue
            try:
                itemsize = by_name(dtype.removesuffix("_ref")).itemsize or 0
            except (KeyError, ValueError):
                continue
            count = 1
            for dim in shape:
                count *= dim
            sizes[i] = count * itemsize
    if variables is not None:
        for var in variables.variables:
            nodes = [index.pos[n] for n in var.graph_nodes if n in index.pos]
            for node in nodes:
                sizes[node] = var.nbytes // len(nodes)
    return sizes


def _box_totals(condensed: Condensed, ops: list[str],
                node_bytes: list[int]) -> tuple[list[Counter], list[int]]:
    counters = [Counter() for _ in condensed.boxes]
    totals = [0] * len(condensed.boxes)
    for box in reversed(condensed.boxes):  # children have larger ids than their parents
        counter, total = counters[box.id], 0
        for child in box.children:
            if child >= 0:
                counter.update(counters[child])
                total += totals[child]
            else:
                node = node_of(child)
                counter[ops[node]] += 1
                total += node_bytes[node]
        totals[box.id] = total
    return counters, totals


def _path_counts(condensed: Condensed, path: set[int]) -> list[int]:
    counts = [0] * len(condensed.boxes)
    for node in path:
        for box in condensed.ancestors(node):
            counts[box] += 1
    return counts


# -- marks ---------------------------------------------------------------------------------------

def _marks(report: dict, index) -> list[Mark]:
    """The ranked outputs; outputs of one group share a colour, each other output has its own."""
    marks, colours = [], {}
    for rank, candidate in enumerate(report.get("outputs") or [], 1):
        node = index.node_index(candidate["name"])
        if node is None:
            continue
        key = candidate.get("group") or f"#{candidate['name']}"
        colour = colours.setdefault(key, PALETTE[len(colours) % len(PALETTE)])
        marks.append(Mark(node, rank, colour, candidate))
    return marks


def _path(roles, outputs: list[int]) -> set[int]:
    """Ops between the feature inputs and the ranked outputs: ancestors of an output (through data
    edges) that are computed from a feature input. Without feature inputs (a sampler drawing from
    noise, a graph of constants), the ancestors computed from any input or random draw, else all."""
    index = roles.index
    ancestors = set(outputs)
    stack = list(outputs)
    while stack:
        node = stack.pop()
        for source in index.data_in[node]:
            if source not in ancestors:
                ancestors.add(source)
                stack.append(source)
    feature_mask = roles.feature_mask
    if feature_mask:
        on_path = {i for i in ancestors if roles.input_bits[i] & feature_mask}
    else:
        on_path = {i for i in ancestors if roles.from_data[i]} or ancestors
    return on_path | set(outputs)


def _findings(report: dict, index) -> list[FindingMark]:
    diagnosis = report.get("diagnosis") or {}
    return [FindingMark(finding, sorted(_named_nodes(finding.get("evidence"), index)))
            for finding in diagnosis.get("findings") or []]


def _named_nodes(evidence, index, depth: int = 0) -> set[int]:
    """Every node a finding's evidence names: string values (in lists and dicts, at any depth)
    that are a node, ``node:port`` or ``^node`` of the graph. Keys are not names (op types)."""
    if depth > 6:
        return set()
    if isinstance(evidence, str):
        node = index.node_index(evidence)
        return {node} if node is not None else set()
    found: set[int] = set()
    if isinstance(evidence, dict):
        values = evidence.values()
    else:
        values = evidence if isinstance(evidence, list) else ()
    for value in values:
        found |= _named_nodes(value, index, depth + 1)
    return found


# -- edges and layouts ---------------------------------------------------------------------------

def _box_edges(scene: Scene, index) -> list[Counter]:
    """Per box, the data edges between its items (an edge between two ops is drawn in the
    innermost box holding both, between the items holding each). Edges between sections are
    counted, not drawn: the machinery stays beside the model."""
    condensed = scene.condensed
    boxes, parent_of = condensed.boxes, condensed.parent_of
    depth = [box.depth for box in boxes]
    parent = [box.parent for box in boxes]
    edges = [Counter() for _ in boxes]
    path, path_edges = scene.path, scene.path_edges
    roles = scene.roles
    for source, targets in enumerate(index.data_out):
        for target in targets:
            if roles[source] != roles[target]:
                scene.cross_edges[(roles[source], roles[target])] += 1
                continue
            a, b = leaf(source), leaf(target)
            box_a, box_b = parent_of[source], parent_of[target]
            while box_a != box_b:
                if depth[box_a] >= depth[box_b]:
                    a, box_a = box_a, parent[box_a]
                else:
                    b, box_b = box_b, parent[box_b]
            edges[box_a][(a, b)] += 1
            if source in path and target in path:
                path_edges[box_a].add((a, b))
    return edges


def _item_size(scene: Scene, box: int, ref: int) -> tuple[float, float]:
    if ref >= 0:
        width = max(len(text) for text in scene.box_text[ref]) * CHAR_WIDTH + 20
        return clamp(width, BOX_WIDTH), BOX_HEIGHT
    node = node_of(ref)
    width = max(len(scene.item_label(box, ref)), len(scene.ops[node])) * CHAR_WIDTH + 18
    return clamp(width, OP_WIDTH), OP_HEIGHT


def _box_text(scene: Scene) -> list[tuple[str, str, str]]:
    """Per box, its three lines: label, op mix, ``42 ops · 1.2 MB`` (how much it holds)."""
    from inspector.render import format_bytes

    texts = []
    for box in scene.boxes:
        size = f"{box.size} op" + ("s" if box.size != 1 else "")
        if scene.box_bytes[box.id]:
            size += f" · {format_bytes(scene.box_bytes[box.id])}"
        texts.append((box.label, op_mix(scene.box_ops[box.id]), size))
    return texts


def clamp(value: float, bounds: tuple[float, float]) -> float:
    return round(min(max(value, bounds[0]), bounds[1]))


def _lay_out(scene: Scene, box_id: int, edges: Counter, repeated: dict) -> Layout:
    """The layout of a box's items. Graphs repeat themselves (900 residual blocks, 12 transformer
    layers, a scope per variable): a box with the same item sizes, edges and order as one laid
    out before shares that layout (layouts are never changed once made)."""
    box = scene.boxes[box_id]
    refs = box.children
    slot = {ref: k for k, ref in enumerate(refs)}
    sizes = [_item_size(scene, box_id, ref) for ref in refs]
    topo = scene.condensed.topo
    hint = [scene.boxes[r].first if r >= 0 else topo[node_of(r)] for r in refs]
    links = sorted((slot[a], slot[b], n) for (a, b), n in edges.items())
    key = (tuple(sizes), tuple(links), tuple(sorted(range(len(refs)), key=hint.__getitem__)))
    found = repeated.get(key)
    if found is None:
        found = repeated[key] = layered_layout(sizes, links, hint)
    return found


# -- the first view ------------------------------------------------------------------------------

def _first_view(scene: Scene) -> set[int]:
    """The boxes open at first, so that a person sees the model's path and its outputs at a glance.

    The model's section is always open (it is the drawing). Then, each only while the page shows
    at most FIRST_VIEW_BUDGET items: the boxes around the best output; around the ops of each
    finding that names only a few; around the other ranked outputs; then the boxes the path runs
    through, most of the path first. A box opens only while the drawing stays within
    FIRST_VIEW_SIZE at full scale (BEST_OUTPUT_SIZE for the best output's), so that the first
    view is legible without zooming; a closed box shows the ranks and findings inside it, and
    anything else is a click away.
    """
    model = scene.condensed.sections.get(MODEL)
    opened: set[int] = {model} if model is not None else set()
    if model is None:
        return opened
    if scene.marks:  # the best output: within a larger drawing; past it, its box carries its badge
        _open_around(scene, opened, scene.marks[0].node, fits=BEST_OUTPUT_SIZE)
    for finding in scene.findings:
        # a finding about a few ops (a batch norm in training mode, an unregistered op) is shown
        # on them; one naming hundreds (every variable of an unfrozen graph) marks their boxes
        if len(finding.nodes) <= FINDING_OPENS:
            for node in finding.nodes:
                _open_around(scene, opened, node, fits=FIRST_VIEW_SIZE)
    for mark in scene.marks[1:]:
        _open_around(scene, opened, mark.node, fits=FIRST_VIEW_SIZE)
    frontier = [b for b in _visible_boxes(scene, opened) if scene.box_path_count(b)]
    while frontier:
        frontier.sort(key=lambda b: -scene.box_path_count(b))
        box = frontier.pop(0)
        if _try_open(scene, opened, box, FIRST_VIEW_SIZE):
            frontier.extend(c for c in scene.boxes[box].children if c >= 0 and scene.box_path_count(c))
    return opened


def _open_around(scene: Scene, opened: set[int], node: int, fits: tuple[float, float] | None) -> None:
    for box in reversed(scene.condensed.ancestors(node)):
        if box not in opened and not _try_open(scene, opened, box, fits):
            return


def _try_open(scene: Scene, opened: set[int], box: int, fits: tuple[float, float] | None) -> bool:
    """Open ``box`` if the view stays within its budget of items (and within ``fits``)."""
    if scene.boxes[box].kind == SECTION:
        return False
    opened.add(box)
    if visible_count(scene, opened) <= FIRST_VIEW_BUDGET:
        if fits is None:
            return True
        width, height = drawing_size(scene, opened)
        if width <= fits[0] and height <= fits[1]:
            return True
    opened.discard(box)
    return False


def _visible_boxes(scene: Scene, opened: set[int]) -> list[int]:
    """Closed boxes currently visible inside the open ones of the model."""
    model = scene.condensed.sections.get(MODEL)
    if model is None:
        return []
    visible, stack = [], [model]
    while stack:
        box = stack.pop()
        for child in scene.boxes[box].children:
            if child < 0:
                continue
            (stack if child in opened else visible).append(child)
    return visible


def visible_count(scene: Scene, opened: set[int]) -> int:
    """Items (boxes, open or closed, and ops) the view shows with ``opened`` open: the section
    boxes at the side count once each; the model's section is the drawing itself."""
    model = scene.condensed.sections.get(MODEL)
    count = sum(1 for s in scene.sections() if s != model)
    stack = [s for s in scene.sections() if s in opened]
    while stack:
        box = stack.pop()
        for child in scene.boxes[box].children:
            count += 1
            if child >= 0 and child in opened:
                stack.append(child)
    return count


def drawing_size(scene: Scene, opened: set[int]) -> tuple[float, float]:
    """Width and height of the model's drawing with ``opened`` open, the way the page arranges
    it: each layer of a box re-packed around the layout's preferred centres (the page's script
    does the same, see assets/view.js ``arrange``)."""
    model = scene.condensed.sections.get(MODEL)
    if model is None:
        return 0.0, 0.0
    return _arranged(scene, model, opened)


def _arranged(scene: Scene, box: int, opened: set[int]) -> tuple[float, float]:
    lay = scene.layouts[box]
    widths, heights = list(lay.width), list(lay.height)
    for k, ref in enumerate(scene.boxes[box].children):
        if ref >= 0 and ref in opened:
            inner_w, inner_h = _arranged(scene, ref, opened)
            widths[k] = max(inner_w + 2 * FRAME_PAD, widths[k])
            heights[k] = inner_h + FRAME_HEADER + FRAME_PAD
    left, right, height = 0.0, 0.0, 0.0
    for members in lay.layers:
        placed = pack([lay.x[m] for m in members], [widths[m] for m in members], [1.0] * len(members),
                      NODE_GAP)
        left = min(left, *(x - widths[m] / 2 for x, m in zip(placed, members, strict=True)))
        right = max(right, *(x + widths[m] / 2 for x, m in zip(placed, members, strict=True)))
        height += max(heights[m] for m in members) + LAYER_GAP
    return right - left, max(0.0, height - LAYER_GAP)
