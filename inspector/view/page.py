"""The HTML view: one self-contained file (data, style and script inline) that opens from disk.

No network: no CDN, no font, no server. A Content-Security-Policy in the page itself forbids any
fetch, so even a browser extension's idea of "loading something" fails closed. The graph's data
travel as one JSON document inside ``<script type="application/json">``; every ``<``, ``>`` and
``&`` in it is written as a ``\\u`` escape, so no node name can close the script element or open
another, and the script puts every name on the page through ``textContent`` only.
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from importlib import resources

from inspector.view import layout
from inspector.view.condense import SECTION
from inspector.view.scene import (
    BOX_HEIGHT,
    BOX_WIDTH,
    CHAR_WIDTH,
    FRAME_HEADER,
    FRAME_PAD,
    SECTION_TITLES,
    Scene,
    clamp,
)

_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
            0x2028: "\\u2028", 0x2029: "\\u2029"}


#: Data larger than this travel zlib-compressed and base64-encoded (the page inflates them with the
#: browser's DecompressionStream): a 50,000-node graph's ~6 MB of JSON become well under 1 MB.
COMPRESS_OVER = 1 << 20


def render_page(scene: Scene | None, report: dict) -> str:
    """The page for ``report`` (the ``inspect --json`` dict) and its ``scene`` (None: no graph)."""
    text = embed_json(page_data(scene, report))
    encoding = ""
    if len(text) > COMPRESS_OVER:
        text = base64.b64encode(zlib.compress(text.encode("ascii"), 6)).decode("ascii")
        encoding = ' data-encoding="deflate-base64"'
    return _SHELL.format(
        title=html.escape(f"ckpt2pb · {report.get('path', '')}", quote=True),
        style=_asset("view.css"),
        encoding=encoding,
        data=text,
        script=_asset("view.js"),
    )


def read_page_data(page: str) -> dict:
    """The data a page carries (what its script draws), plain or compressed: for tests and tools."""
    match = re.search(r'<script type="application/json" id="ckpt2pb-data"( data-encoding="deflate-base64")?>'
                      r"(.*?)</script>", page, re.S)
    if match is None:
        raise ValueError("not a ckpt2pb view page")
    text = match.group(2)
    if match.group(1):
        text = zlib.decompress(base64.b64decode(text)).decode("ascii")
    return json.loads(text)


def embed_json(data: object) -> str:
    """JSON that is safe inside a ``<script>`` element, whatever strings it holds."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False).translate(_ESCAPES)


def _asset(name: str) -> str:
    return resources.files("inspector.view").joinpath("assets", name).read_text(encoding="utf-8")


def page_data(scene: Scene | None, report: dict) -> dict:
    """Everything the script draws: compact arrays indexed by node and by box."""
    data = {
        "consts": {"LAYER_GAP": layout.LAYER_GAP, "NODE_GAP": layout.NODE_GAP, "PAD": FRAME_PAD,
                   "HEADER": FRAME_HEADER, "CHAR": CHAR_WIDTH},
        "summary": {"path": report.get("path", ""), "described": _described(report),
                    "nodes": (report.get("graph") or {}).get("nodes", 0)},
        "graph": scene is not None,
        "diagnosed": report.get("diagnosis") is not None,
        "findings": [], "outputs": [], "inputs": [], "variables": [], "path": [], "initial": [],
        "sections": [], "boxes": [], "layouts": [], "names": [], "ops": [], "op": [], "dtype": [],
        "role": [], "roleNames": [], "parent": [], "bytes": {},
        "totals": report.get("totals"),
        "notes": list(report.get("warnings") or []) + list(report.get("notes") or []),
        "freeze": None,
        "roleDescriptions": _role_descriptions(),
    }
    if scene is None:
        data["findings"] = [_finding(f, []) for f in (report.get("diagnosis") or {}).get("findings") or []]
        data["variables"] = [_variable(v, None) for v in report.get("variables") or []]
        return data
    data.update(_graph_data(scene))
    data["freeze"] = scene.freeze_command()
    data["findings"] = [_finding(f.finding, f.nodes) for f in scene.findings]
    data["outputs"] = [_output(m) for m in scene.marks]
    index_of = {name: i for i, name in enumerate(scene.names)}
    data["inputs"] = [{"node": _node(index_of, c["name"]), "name": c["name"],
                       "kind": c.get("role") or c.get("group") or "", "op": c.get("op"),
                       "dtype": c.get("dtype"), "shape": c.get("shape"), "score": c.get("score")}
                      for c in report.get("inputs") or []]
    data["variables"] = [_variable(v, _node(index_of, v["name"])) for v in report.get("variables") or []]
    return data


def _graph_data(scene: Scene) -> dict:
    ops = sorted(set(scene.ops))
    op_index = {op: k for k, op in enumerate(ops)}
    dtypes = sorted({d for d in scene.dtypes if d is not None})
    dtype_index = {d: k for k, d in enumerate(dtypes)}
    dtype_index[None] = -1
    role_names = sorted(set(scene.roles))
    role_index = {role: k for k, role in enumerate(role_names)}
    sections = []
    for root in scene.sections():
        box = scene.boxes[root]
        title = SECTION_TITLES.get(box.section, box.section)
        longest = max(len(title), *(len(t) for t in scene.box_text[root][1:]))
        width = clamp(longest * CHAR_WIDTH + 28, BOX_WIDTH)
        sections.append({"role": box.section, "title": title, "box": root, "count": box.size,
                         "w": width, "h": BOX_HEIGHT})
    section_index = {s["role"]: k for k, s in enumerate(sections)}
    boxes = []
    for box in scene.boxes:
        label, mix, size_line = scene.box_text[box.id]
        long_mix = ""
        if len(scene.box_ops[box.id]) > 3:
            long_mix = " · ".join(f"{op} {n}" for op, n in scene.box_ops[box.id].most_common(10))
        # a scope box's scope is its parent's plus its label, a family's or chunk's its parent's: the
        # script derives them; only a section root's (a chain merged into it) is written
        scope = box.scope if box.kind == SECTION else None
        boxes.append([box.kind, label, scope, box.parent, box.children, box.size, mix, size_line,
                      scene.path_counts[box.id], section_index[box.section], long_mix])
    distinct: dict[int, int] = {}
    layouts, box_layout, path_routes = [], [], {}
    for box_id, lay in enumerate(scene.layouts):
        if id(lay) not in distinct:  # repeated structures share one layout (scene._lay_out)
            distinct[id(lay)] = len(layouts)
            layouts.append(_layout(lay))
        box_layout.append(distinct[id(lay)])
        on_path = _routes_on_path(scene, box_id, lay)
        if on_path:
            path_routes[str(box_id)] = on_path
    return {
        "names": scene.names,
        "ops": ops,
        "op": [op_index[op] for op in scene.ops],
        "dtypes": dtypes,
        "dtype": [dtype_index[d] for d in scene.dtypes],
        "role": [role_index[r] for r in scene.roles],
        "roleNames": role_names,
        "parent": scene.condensed.parent_of,
        "bytes": {str(i): n for i, n in enumerate(scene.node_bytes) if n},
        "boxes": boxes,
        "sections": sections,
        "layouts": layouts,
        "boxLayout": box_layout,
        "pathRoutes": path_routes,
        "path": sorted(scene.path),
        "initial": sorted(scene.initial),
    }


def _layout(lay: layout.Layout) -> list:
    """[items, widths, heights, preferred centres, layers, routes (source, target, via, weight,
    reversed)]: members past ``items`` are the dummy points of long edges."""
    return [lay.count, [round(v) for v in lay.width], [round(v) for v in lay.height],
            [round(v, 1) for v in lay.x], lay.layers,
            [[r.source, r.target, r.via, r.weight, int(r.reversed)] for r in lay.routes]]


def _routes_on_path(scene: Scene, box_id: int, lay: layout.Layout) -> list[int]:
    """The routes of a box that join two of its items along the path (drawn blue)."""
    on_path = scene.path_edges[box_id]
    if not on_path:
        return []
    refs = scene.boxes[box_id].children
    return [k for k, r in enumerate(lay.routes)
            if (refs[r.source], refs[r.target]) in on_path or (refs[r.target], refs[r.source]) in on_path]


def _node(index_of: dict[str, int], name: str | None) -> int | None:
    return index_of.get(name) if name is not None else None


def _finding(finding: dict, nodes: list[int]) -> dict:
    return {"code": finding.get("code"), "severity": finding.get("severity"),
            "message": finding.get("message"), "fix": finding.get("fix"), "nodes": nodes}


def _output(mark) -> dict:
    candidate = mark.candidate
    return {"node": mark.node, "rank": mark.rank, "colour": mark.colour, "name": candidate["name"],
            "score": candidate["score"], "op": candidate["op"], "dtype": candidate.get("dtype"),
            "shape": candidate.get("shape"), "reasons": candidate.get("reasons") or [],
            "group": candidate.get("group")}


def _variable(row: dict, node: int | None) -> dict:
    return {"name": row.get("name"), "dtype": row.get("dtype"), "shape": row.get("shape"),
            "bytes": row.get("bytes") or 0, "kind": row.get("kind"), "node": node}


def _described(report: dict) -> str:
    described = report.get("kind") or ""
    if report.get("format"):
        described += f", {report['format']} checkpoint"
    if report.get("tensorflow_version"):
        described += f", written by TensorFlow {report['tensorflow_version']}"
    graph = report.get("graph")
    if graph:
        described += f" · {graph['nodes']:,} nodes"
    return described


def _role_descriptions() -> dict[str, str]:
    from inspector.roles import DESCRIPTIONS

    return dict(DESCRIPTIONS)


_SHELL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; \
style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="ckpt2pb inspect --html">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<div id="main">
  <div id="toolbar">
    <button id="fit" type="button" title="fit the drawing into the window">fit</button>
    <button id="zoom-in" type="button" title="zoom in">+</button>
    <button id="zoom-out" type="button" title="zoom out">−</button>
    <button id="first-view" type="button" title="close what you opened">first view</button>
    <span id="counts"></span>
  </div>
  <svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="condensed graph">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" \
orient="auto-start-reverse">
        <path d="M0,0 L10,5 L0,10 z" fill="#adb5bd"/></marker>
      <marker id="arrow-path" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" \
orient="auto-start-reverse">
        <path d="M0,0 L10,5 L0,10 z" fill="#1c7ed6"/></marker>
    </defs>
    <g id="viewport"></g>
  </svg>
  <div id="no-graph" hidden>No graph to draw: the checkpoint has no .meta beside it, or the graph file \
could not be read (see the side panel).</div>
  <div id="legend">
    <span><i style="background:#d3f9d8;border:2px solid #2b8a3e"></i>feature input</span>
    <span><i style="background:#d0ebff;border:2px solid #1c7ed6"></i>path from the inputs to the outputs\
</span>
    <span><i style="background:#fff;border:3px solid #d9480f"></i>ranked output: #rank score, a colour per \
group</span>
    <span><i style="background:#e03131;border-radius:50%;width:12px"></i>finding</span>
    <span><i style="background:#e9ecef;border:1px solid #adb5bd"></i>training machinery</span>
    <span>click a box to open it · wheel: zoom · drag: pan</span>
  </div>
</div>
<aside id="side">
  <h1 id="path"></h1>
  <div id="kind" class="muted"></div>
  <h2>Likely outputs, best first</h2>
  <ol id="outputs"></ol>
  <div id="freeze"><code></code><button type="button">copy</button></div>
  <section id="findings-section" hidden><h2>Diagnosis</h2><ul id="findings"></ul></section>
  <section id="selection" hidden><h2>Selected</h2><div id="selection-body"></div></section>
  <h2>Inputs</h2>
  <div id="inputs" class="table-host"></div>
  <h2>Variables</h2>
  <div id="totals" class="muted"></div>
  <div id="variables" class="table-host"></div>
  <h2>What the graph holds, by role</h2>
  <ul id="roles" class="muted"></ul>
  <section id="notes-section"><h2>Notes</h2><ul id="notes" class="muted"></ul></section>
</aside>
<div id="tip" hidden></div>
<script type="application/json" id="ckpt2pb-data"{encoding}>{data}</script>
<script>
{script}
</script>
</body>
</html>
"""
