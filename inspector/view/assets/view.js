// ckpt2pb's graph view: draws the condensed graph that inspector/view/scene.py computed.
// Self-contained: no network, no library. All text from the graph is put into the page with
// textContent (never innerHTML), after control and bidi characters are made visible.
"use strict";
(function () {
  // The data are JSON, or for a large graph JSON compressed with zlib and base64-encoded (the
  // browser's own DecompressionStream inflates it: still no network, no library).
  async function load() {
    const node = document.getElementById("ckpt2pb-data");
    if (node.getAttribute("data-encoding") !== "deflate-base64") return JSON.parse(node.textContent);
    const bytes = Uint8Array.from(atob(node.textContent.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return JSON.parse(await new Response(stream).text());
  }
  load().then(start, (error) => {
    document.getElementById("no-graph").hidden = false;
    document.getElementById("no-graph").textContent = "This page could not read its data: " + error;
  });

function start(D) {
  const SVG = "http://www.w3.org/2000/svg";
  const K = D.consts;                       // LAYER_GAP, NODE_GAP, PAD, HEADER, CHAR (from Python)
  const open = new Set(D.initial);
  const pathSet = new Set(D.path);
  const marksByNode = new Map(D.outputs.map((o) => [o.node, o]));
  const findingsByNode = new Map();
  D.findings.forEach((f, k) => f.nodes.forEach((n) => {
    if (!findingsByNode.has(n)) findingsByNode.set(n, []);
    findingsByNode.get(n).push(k);
  }));
  const inputKind = new Map(D.inputs.filter((i) => i.node !== null).map((i) => [i.node, i.kind]));
  let selected = null;      // a node index shown in the details panel
  let flash = null;         // a node to outline once after "reveal"

  // -- text ------------------------------------------------------------------------------------
  // Names come from the file: control characters and bidi overrides are shown as \xNN / \u escapes.
  function vis(text) {
    return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
      const code = c.charCodeAt(0);
      return code < 256 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
    });
  }
  // a name keeps its end (the op's own name), other text its start
  function fit(text, width, keepStart) {
    const room = Math.max(3, Math.floor(width / K.CHAR));
    text = vis(text);
    if (text.length <= room) return text;
    return keepStart ? text.slice(0, room - 1) + "…" : "…" + text.slice(text.length - room + 1);
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = vis(text);
    return node;
  }
  function sv(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function bytes(n) {
    if (!n) return "0 B";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];  // as the text report writes them
    let k = 0;
    while (n >= 1024 && k < units.length - 1) { n /= 1024; k++; }
    return (k ? n.toFixed(n < 10 ? 1 : 0) : n) + " " + units[k];
  }
  function shape(s) { return s === null || s === undefined ? "" : "[" + s.map((d) => (d < 0 ? "?" : d)).join(",") + "]"; }

  // -- the tree --------------------------------------------------------------------------------
  // [kind, label, scope, parent, children, size, mix, sizeLine, onPath, section, longMix]
  const box = (id) => D.boxes[id];
  const isSection = (id) => box(id)[0] === "section";
  const layoutOf = (id) => D.layouts[D.boxLayout[id]];  // [items, widths, heights, centres, layers, routes]
  const scopes = new Map();
  // a scope box's scope is its parent's plus its label; a family's or chunk's is its parent's
  function scopeOf(id) {
    if (scopes.has(id)) return scopes.get(id);
    const [kind, label, scope, parent] = box(id);
    let found = scope || "";
    if (kind !== "section") {
      const outer = scopeOf(parent);
      found = kind === "scope" ? (outer ? outer + "/" + label : label) : outer;
    }
    scopes.set(id, found);
    return found;
  }
  const sectionOf = (id) => D.sections[box(id)[9]];
  const isMachinery = (id) => sectionOf(id).role !== "model";
  const titleOf = (id) => (isSection(id) ? sectionOf(id).title : box(id)[1]);
  function ancestors(node) {
    const chain = [];
    for (let b = D.parent[node]; b !== null && b !== undefined && b >= 0; b = box(b)[3]) chain.push(b);
    return chain;
  }
  function opLabel(boxId, node) {
    const name = D.names[node], scope = scopeOf(boxId);
    if (scope && name.startsWith(scope + "/")) return name.slice(scope.length + 1);
    return name === scope ? name.split("/").pop() : name;
  }
  // what each box holds of the marks, for its badges
  const boxMarks = D.boxes.map(() => []), boxFindings = D.boxes.map(() => new Set());
  D.outputs.forEach((o) => ancestors(o.node).forEach((b) => boxMarks[b].push(o)));
  D.findings.forEach((f, k) => f.nodes.forEach((n) => ancestors(n).forEach((b) => boxFindings[b].add(k))));

  // -- arranging: Python's layered layout, re-packed for the boxes that are open ----------------
  function pack(wishes, widths, gap) {
    const offsets = [];
    let offset = 0;
    widths.forEach((w, i) => { if (i) offset += (widths[i - 1] + w) / 2 + gap; offsets.push(offset); });
    const blocks = [];
    wishes.forEach((wish, i) => {
      blocks.push([wish - offsets[i], 1, 1]);
      while (blocks.length > 1 && blocks[blocks.length - 2][0] / blocks[blocks.length - 2][1] >
             blocks[blocks.length - 1][0] / blocks[blocks.length - 1][1]) {
        const last = blocks.pop(), prev = blocks[blocks.length - 1];
        prev[0] += last[0]; prev[1] += last[1]; prev[2] += last[2];
      }
    });
    const placed = [];
    blocks.forEach(([sum, mass, count]) => { for (let i = 0; i < count; i++) placed.push(sum / mass); });
    return placed.map((v, i) => v + offsets[i]);
  }
  let memo = new Map();
  function arrange(id) {
    if (memo.has(id)) return memo.get(id);
    const [n, LW, LH, LX, layers] = layoutOf(id), children = box(id)[4];
    const total = LW.length;
    const w = LW.slice(), h = LH.slice(), x = new Array(total), y = new Array(total);
    for (let k = 0; k < n; k++) {
      if (children[k] >= 0 && open.has(children[k])) {
        const inner = arrange(children[k]);
        w[k] = Math.max(inner.w + 2 * K.PAD, LW[k]);
        h[k] = inner.h + K.HEADER + K.PAD;
      }
    }
    let top = 0;
    const layerY = [];
    layers.forEach((members) => {
      const placed = pack(members.map((m) => LX[m]), members.map((m) => w[m]), K.NODE_GAP);
      members.forEach((m, i) => { x[m] = placed[i]; });
      const tallest = Math.max(0, ...members.map((m) => h[m]));
      members.forEach((m) => { y[m] = top + tallest / 2; });
      layerY.push(top + tallest / 2);
      top += tallest + K.LAYER_GAP;
    });
    let left = Infinity, right = -Infinity;
    for (let m = 0; m < total; m++) { left = Math.min(left, x[m] - w[m] / 2); right = Math.max(right, x[m] + w[m] / 2); }
    if (!total) { left = 0; right = 0; }
    for (let m = 0; m < total; m++) x[m] -= left;
    const result = { x, y, widths: w, heights: h, w: right - left, h: Math.max(0, top - K.LAYER_GAP) };
    memo.set(id, result);
    return result;
  }

  // -- drawing ---------------------------------------------------------------------------------
  const svg = document.getElementById("graph");
  const viewport = document.getElementById("viewport");
  const tip = document.getElementById("tip");

  function drawContent(id, parent, ox, oy) {
    const [n, , , , , routes] = layoutOf(id), A = arrange(id), children = box(id)[4];
    const pathRoutes = new Set(D.pathRoutes[id] || []);
    const edges = sv("g", { class: "edges" });
    parent.appendChild(edges);
    routes.forEach(([s, t, via, weight, reversed], k) => {
      const onPath = pathRoutes.has(k);
      const points = [[A.x[s], A.y[s] + A.heights[s] / 2]];
      via.forEach((d) => points.push([A.x[d], A.y[d]]));
      points.push([A.x[t], A.y[t] - A.heights[t] / 2]);
      let d = "M" + (ox + points[0][0]) + "," + (oy + points[0][1]);
      for (let i = 1; i < points.length; i++) {
        const [x0, y0] = points[i - 1], [x1, y1] = points[i], bend = (y1 - y0) / 2;
        d += " C" + (ox + x0) + "," + (oy + y0 + bend) + " " + (ox + x1) + "," + (oy + y1 - bend) + " " +
             (ox + x1) + "," + (oy + y1);
      }
      const attrs = { d, class: onPath ? "edge path" : "edge", "stroke-width": onPath ? 2.5 : Math.min(3, 1 + Math.log10(weight)) };
      attrs[reversed ? "marker-start" : "marker-end"] = onPath ? "url(#arrow-path)" : "url(#arrow)";
      edges.appendChild(sv("path", attrs));
    });
    for (let k = 0; k < n; k++) {
      const ref = children[k], cx = ox + A.x[k], cy = oy + A.y[k], w = A.widths[k], h = A.heights[k];
      if (ref >= 0 && open.has(ref)) drawFrame(ref, parent, cx - w / 2, cy - h / 2, w, h);
      else if (ref >= 0) drawBox(ref, parent, cx - w / 2, cy - h / 2, w, h);
      else drawOp(-1 - ref, id, parent, cx - w / 2, cy - h / 2, w, h);
    }
  }

  function badges(g, x, y, w, marks, findings) {
    let bx = x + 4;
    marks.slice().sort((a, b) => a.rank - b.rank).slice(0, 3).forEach((o) => {
      const text = "#" + o.rank + " " + o.score.toFixed(2);
      const bw = text.length * 6.2 + 10;
      const b = sv("g", { class: "cand-badge", "data-rank": o.rank });   // above the item, not on its label
      b.appendChild(sv("rect", { x: bx, y: y - 17, width: bw, height: 15, rx: 7, style: "fill:" + o.colour }));
      b.appendChild(sv("text", { x: bx + bw / 2, y: y - 6, "text-anchor": "middle" }, text));
      g.appendChild(b);
      bx += bw + 3;
    });
    if (findings.length) {
      const worst = findings.some((k) => D.findings[k].severity === "error") ? "error" : "warning";
      const f = sv("g", { class: "finding-mark " + worst, "data-codes": findings.map((k) => D.findings[k].code).join(" ") });
      f.appendChild(sv("circle", { cx: x + w - 2, cy: y, r: 9 }));
      f.appendChild(sv("text", { x: x + w - 2, y: y + 4, "text-anchor": "middle" }, findings.length > 1 ? String(findings.length) : "!"));
      g.appendChild(f);
    }
  }

  function drawBox(id, parent, x, y, w, h) {
    const [kind, label, , , , size, mix, sizeLine, onPath] = box(id);
    const machinery = isMachinery(id);
    const marks = boxMarks[id], findings = [...boxFindings[id]];
    let cls = "box " + kind + (machinery ? " machinery" : "") + (onPath ? " on-path" : " off-path");
    if (marks.length) cls += " has-output";
    const g = sv("g", { class: cls, "data-box": id, tabindex: 0 });
    const rect = sv("rect", { x, y, width: w, height: h, rx: 6 });
    if (marks.length) rect.setAttribute("style", "stroke:" + marks.sort((a, b) => a.rank - b.rank)[0].colour);
    g.appendChild(rect);
    g.appendChild(sv("text", { x: x + 10, y: y + 16, class: "label" }, fit(titleOf(id), w - 28)));
    g.appendChild(sv("text", { x: x + 10, y: y + 30, class: "mix" }, fit(mix, w - 16, true)));
    g.appendChild(sv("text", { x: x + 10, y: y + 42, class: "mix" }, fit(sizeLine, w - 16, true)));
    g.appendChild(sv("text", { x: x + w - 13, y: y + 15, class: "toggle" }, "+"));
    badges(g, x, y, w, marks, findings);
    g.addEventListener("click", (e) => { e.stopPropagation(); toggle(id); });
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(id); });
    hover(g, () => boxTip(id));
    parent.appendChild(g);
  }

  function drawFrame(id, parent, x, y, w, h) {
    const [kind, label, , , , size] = box(id);
    const machinery = isMachinery(id);
    const g = sv("g", { class: "frame " + kind + (machinery ? " machinery" : ""), "data-box": id });
    g.appendChild(sv("rect", { x, y, width: w, height: h, rx: 8 }));
    const head = sv("g", { class: "frame-head", tabindex: 0 });
    head.appendChild(sv("rect", { x, y, width: w, height: K.HEADER - 4, rx: 8, class: "head" }));
    const title = titleOf(id) + "  (" + size + " ops)";
    head.appendChild(sv("text", { x: x + 10, y: y + 13, class: "label" }, fit(title, w - 30)));
    head.appendChild(sv("text", { x: x + w - 14, y: y + 13, class: "toggle" }, "−"));
    head.addEventListener("click", (e) => { e.stopPropagation(); toggle(id); });
    head.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(id); });
    hover(head, () => boxTip(id));
    g.appendChild(head);
    badges(g, x + 60, y, w - 60, [], [...boxFindings[id]]);
    parent.appendChild(g);
    drawContent(id, g, x + K.PAD, y + K.HEADER);
  }

  function drawOp(node, boxId, parent, x, y, w, h) {
    const op = D.ops[D.op[node]];
    const mark = marksByNode.get(node), findings = findingsByNode.get(node) || [];
    let cls = "op" + (pathSet.has(node) ? " on-path" : "") + (isMachinery(boxId) ? " machinery" : "");
    const kind = inputKind.get(node);
    if (kind) cls += " input-" + kind;
    if (mark) cls += " output";
    if (findings.length) cls += " has-finding";
    if (node === selected) cls += " selected";
    if (node === flash) cls += " flash";
    const g = sv("g", { class: cls, "data-node": node, tabindex: 0 });
    const rect = sv("rect", { x, y, width: w, height: h, rx: h / 2 });
    if (mark) rect.setAttribute("style", "stroke:" + mark.colour);
    g.appendChild(rect);
    const label = opLabel(boxId, node);
    g.appendChild(sv("text", { x: x + w / 2, y: y + 13, "text-anchor": "middle", class: "label" }, fit(label, w - 12)));
    g.appendChild(sv("text", { x: x + w / 2, y: y + 24, "text-anchor": "middle", class: "mix" }, fit(op, w - 12, true)));
    badges(g, x, y, w, mark ? [mark] : [], findings);
    g.addEventListener("click", (e) => { e.stopPropagation(); select(node); });
    hover(g, () => opTip(node));
    parent.appendChild(g);
  }

  function render() {
    memo = new Map();
    while (viewport.firstChild) viewport.removeChild(viewport.firstChild);
    const model = D.sections.find((s) => s.role === "model");
    let right = 0, bottom = 0;
    if (model) {
      const A = arrange(model.box);
      drawContent(model.box, viewport, 0, 0);
      right = A.w;
      bottom = A.h;
    }
    const side = D.sections.filter((s) => s.role !== "model");
    if (side.length) {
      const sx = right + 90;
      let sy = 24;
      viewport.appendChild(sv("text", { x: sx, y: 8, class: "side-title" }, "training machinery (not part of the model)"));
      side.forEach((s) => {
        const id = s.box;
        if (open.has(id)) {
          const A = arrange(id), w = Math.max(A.w + 2 * K.PAD, 200), h = A.h + K.HEADER + K.PAD;
          drawFrame(id, viewport, sx, sy, w, h);
          sy += h + 14;
        } else {
          drawBox(id, viewport, sx, sy, s.w, s.h);
          sy += s.h + 14;
        }
      });
      bottom = Math.max(bottom, sy);
    }
    document.getElementById("counts").textContent =
      viewport.querySelectorAll(".box, .frame, .op").length + " items shown · " + D.summary.nodes + " nodes in the graph";
  }

  function toggle(id) {
    if (open.has(id)) {
      open.delete(id);
      for (const b of [...open]) if (ancestorsOfBox(b).includes(id)) open.delete(b);
    } else open.add(id);
    hideTip();
    render();
  }
  function ancestorsOfBox(id) {
    const chain = [];
    for (let b = box(id)[3]; b !== null && b >= 0; b = box(b)[3]) chain.push(b);
    return chain;
  }

  // -- pan and zoom ----------------------------------------------------------------------------
  let view = { x: 20, y: 20, k: 1 };
  function applyView() { viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")"); }
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
    const k = Math.min(4, Math.max(0.05, view.k * Math.exp(-e.deltaY * 0.0015)));
    view = { x: px - (px - view.x) * (k / view.k), y: py - (py - view.y) * (k / view.k), k };
    applyView();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.target.closest && e.target.closest(".box, .op, .frame-head")) return;
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    view.x = drag.vx + e.clientX - drag.x;
    view.y = drag.vy + e.clientY - drag.y;
    applyView();
  });
  svg.addEventListener("pointerup", () => { drag = null; });
  function fitView() {
    // the toolbar takes the top 44 px, the legend the bottom 40
    const r = svg.getBoundingClientRect(), b = viewport.getBBox(), top = 48, bottom = 44;
    if (!b.width || !b.height) return;
    const k = Math.max(0.05, Math.min(1.2, (r.width - 40) / b.width, (r.height - top - bottom) / b.height));
    view = { k, x: 20 - b.x * k + Math.max(0, (r.width - 40 - b.width * k) / 2), y: top - b.y * k };
    applyView();
  }
  function centreOn(node) {
    const target = viewport.querySelector('[data-node="' + node + '"]');
    if (!target) return;
    const r = svg.getBoundingClientRect(), b = target.getBBox();
    view.k = Math.max(view.k, 0.8);
    view.x = r.width / 2 - (b.x + b.width / 2) * view.k;
    view.y = r.height / 2 - (b.y + b.height / 2) * view.k;
    applyView();
  }
  document.getElementById("fit").addEventListener("click", fitView);
  document.getElementById("zoom-in").addEventListener("click", () => { view.k *= 1.25; applyView(); });
  document.getElementById("zoom-out").addEventListener("click", () => { view.k /= 1.25; applyView(); });
  document.getElementById("first-view").addEventListener("click", () => {
    open.clear(); D.initial.forEach((b) => open.add(b)); render(); fitView();
  });

  // -- tooltips and details --------------------------------------------------------------------
  function hover(g, content) {
    g.addEventListener("mouseenter", (e) => showTip(content(), e));
    g.addEventListener("mousemove", (e) => placeTip(e));
    g.addEventListener("mouseleave", hideTip);
  }
  function showTip(node, e) { tip.replaceChildren(node); tip.hidden = false; placeTip(e); }
  function placeTip(e) {
    const pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(e.clientX + pad, window.innerWidth - w - 8) + "px";
    tip.style.top = Math.min(e.clientY + pad, window.innerHeight - h - 8) + "px";
  }
  function hideTip() { tip.hidden = true; }
  function boxTip(id) {
    const [kind, label, , , , , mix, sizeLine, , , longMix] = box(id);
    const d = el("div");
    d.appendChild(el("div", { class: "tip-title" }, isSection(id) ? titleOf(id) : (kind === "scope" ? scopeOf(id) : label)));
    if (isSection(id)) d.appendChild(el("div", { class: "tip-sub" }, D.roleDescriptions[sectionOf(id).role] || ""));
    else if (kind !== "scope") d.appendChild(el("div", { class: "tip-sub" }, kind === "family" ? "repeated siblings" : "consecutive ops, in data-flow order"));
    d.appendChild(el("div", {}, sizeLine));
    d.appendChild(el("div", { class: "tip-sub" }, longMix || mix));
    boxMarks[id].forEach((o) => d.appendChild(el("div", { class: "tip-out" }, "#" + o.rank + " " + o.name + "  " + o.score.toFixed(2))));
    [...boxFindings[id]].forEach((k) => d.appendChild(el("div", { class: "tip-finding" }, D.findings[k].code + ": " + D.findings[k].message)));
    d.appendChild(el("div", { class: "tip-sub" }, open.has(id) ? "click the title to close" : "click to open"));
    return d;
  }
  function opTip(node) {
    const d = el("div");
    d.appendChild(el("div", { class: "tip-title" }, D.names[node]));
    let line = D.ops[D.op[node]];
    if (D.dtype[node] >= 0) line += "  " + D.dtypes[D.dtype[node]];
    d.appendChild(el("div", {}, line));
    const role = D.roleNames[D.role[node]];
    d.appendChild(el("div", { class: "tip-sub" }, "role: " + role + (inputKind.get(node) ? " · " + inputKind.get(node) + " input" : "") +
      (pathSet.has(node) ? " · on the path from the inputs to the outputs" : "")));
    if (D.bytes[node]) d.appendChild(el("div", {}, "holds " + bytes(D.bytes[node])));
    const o = marksByNode.get(node);
    if (o) {
      d.appendChild(el("div", { class: "tip-out" }, "output #" + o.rank + ", score " + o.score.toFixed(2) + (o.group ? ", group " + o.group : "")));
      const ul = el("ul");
      o.reasons.forEach((r) => ul.appendChild(el("li", {}, r)));
      d.appendChild(ul);
    }
    (findingsByNode.get(node) || []).forEach((k) => {
      const f = D.findings[k];
      d.appendChild(el("div", { class: "tip-finding" }, f.severity + " " + f.code + ": " + f.message));
      if (f.fix) d.appendChild(el("div", { class: "tip-sub" }, "fix: " + f.fix));
    });
    return d;
  }
  function select(node) {
    selected = node;
    const panel = document.getElementById("selection");
    panel.hidden = false;
    const body = document.getElementById("selection-body");
    body.replaceChildren(opTip(node));
    render();
  }
  function reveal(node) {
    ancestors(node).forEach((b) => open.add(b));
    flash = node;
    render();
    centreOn(node);
  }

  // -- side panel ------------------------------------------------------------------------------
  function panel() {
    document.getElementById("path").textContent = vis(D.summary.path);
    document.getElementById("kind").textContent = D.summary.described;
    const outputs = document.getElementById("outputs");
    if (!D.outputs.length) outputs.appendChild(el("p", { class: "muted" }, D.graph ? "no output candidate found" : "no graph: nothing to rank"));
    D.outputs.forEach((o) => {
      const item = el("li", { class: "output-item", "data-rank": o.rank, "data-name": o.name });
      const head = el("div", { class: "output-head" });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = o.colour;
      head.appendChild(swatch);
      head.appendChild(el("span", { class: "rank" }, "#" + o.rank));
      const name = el("a", { href: "#", class: "name" }, o.name);
      name.addEventListener("click", (e) => { e.preventDefault(); if (o.node !== null) reveal(o.node); });
      head.appendChild(name);
      head.appendChild(el("span", { class: "score" }, o.score.toFixed(2)));
      item.appendChild(head);
      item.appendChild(el("div", { class: "muted" }, o.op + " " + (o.dtype || "?") + shape(o.shape) + (o.group ? " · group " + o.group : "")));
      const reasons = el("ul", { class: "reasons" });
      o.reasons.forEach((r) => reasons.appendChild(el("li", {}, r)));
      item.appendChild(reasons);
      outputs.appendChild(item);
    });
    const freeze = document.getElementById("freeze");
    if (D.freeze) {
      freeze.querySelector("code").textContent = vis(D.freeze);
      freeze.querySelector("button").addEventListener("click", () => copy(D.freeze, freeze.querySelector("button")));
    } else freeze.hidden = true;
    const findings = document.getElementById("findings");
    if (D.diagnosed) {
      document.getElementById("findings-section").hidden = false;
      if (!D.findings.length) findings.appendChild(el("p", { class: "muted" }, "healthy: no problems found"));
      D.findings.forEach((f) => {
        const item = el("li", { class: "finding " + f.severity, "data-code": f.code });
        item.appendChild(el("div", { class: "finding-head" }, f.severity.toUpperCase() + " " + f.code));
        item.appendChild(el("div", {}, f.message));
        if (f.fix) item.appendChild(el("div", { class: "fix" }, "fix: " + f.fix));
        if (f.nodes.length) {
          const nodes = el("div", { class: "muted" }, "on: ");
          f.nodes.slice(0, 8).forEach((n, i) => {
            const a = el("a", { href: "#" }, D.names[n]);
            a.addEventListener("click", (e) => { e.preventDefault(); reveal(n); });
            if (i) nodes.appendChild(document.createTextNode(", "));
            nodes.appendChild(a);
          });
          if (f.nodes.length > 8) nodes.appendChild(document.createTextNode(" … " + (f.nodes.length - 8) + " more"));
          item.appendChild(nodes);
        }
        findings.appendChild(item);
      });
    }
    table("inputs", ["name", "kind", "dtype", "shape"], D.inputs.map((i) =>
      [i.name, i.kind, i.dtype || "?", shape(i.shape)]), (row, i) => D.inputs[i].node);
    table("variables", ["name", "dtype", "shape", "bytes", "kind"], D.variables.map((v) =>
      [v.name, v.dtype, shape(v.shape), v.bytes, v.kind]), (row, i) => D.variables[i].node, 3);
    if (D.totals) {
      document.getElementById("totals").textContent = "model weights " + bytes(D.totals.model_bytes) + " · optimizer " +
        bytes(D.totals.optimizer_bytes) + " · bookkeeping " + bytes(D.totals.bookkeeping_bytes) + " · total " + bytes(D.totals.total_bytes);
    }
    const notes = document.getElementById("notes");
    D.notes.forEach((n) => notes.appendChild(el("li", {}, n)));
    document.getElementById("notes-section").hidden = !D.notes.length;
    const roles = document.getElementById("roles");
    D.sections.forEach((s) => roles.appendChild(el("li", {}, s.title + ": " + s.count + " ops — " + (D.roleDescriptions[s.role] || ""))));
  }
  function table(id, columns, rows, nodeOf, bytesColumn) {
    const host = document.getElementById(id);
    if (!rows.length) { host.appendChild(el("p", { class: "muted" }, "none")); return; }
    const t = el("table", { class: "sortable" });
    const head = el("tr");
    let order = rows.map((_, i) => i), sortBy = -1, down = false;
    const body = el("tbody");
    function fill() {
      body.replaceChildren();
      order.forEach((i) => {
        const tr = el("tr");
        rows[i].forEach((v, c) => {
          const td = el("td", c === bytesColumn ? { class: "num" } : {}, c === bytesColumn ? bytes(v) : String(v));
          if (c === 0 && nodeOf(rows[i], i) !== null && nodeOf(rows[i], i) !== undefined) {
            td.replaceChildren();
            const a = el("a", { href: "#" }, String(v));
            a.addEventListener("click", (e) => { e.preventDefault(); reveal(nodeOf(rows[i], i)); });
            td.appendChild(a);
          }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }
    columns.forEach((name, c) => {
      const th = el("th", { tabindex: 0, "data-column": name }, name);
      th.addEventListener("click", () => {
        down = sortBy === c ? !down : c === bytesColumn;
        sortBy = c;
        order.sort((a, b) => {
          const x = rows[a][c], y = rows[b][c];
          const r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return down ? -r : r;
        });
        head.querySelectorAll("th").forEach((h) => h.removeAttribute("data-sorted"));
        th.setAttribute("data-sorted", down ? "down" : "up");
        fill();
      });
      head.appendChild(th);
    });
    const thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    t.appendChild(body);
    fill();
    host.appendChild(t);
  }
  function copy(text, button) {
    const done = () => { button.textContent = "copied"; setTimeout(() => { button.textContent = "copy"; }, 1500); };
    const fallback = () => {
      const area = el("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  panel();
  if (D.graph) {
    render();
    fitView();
  } else {
    document.getElementById("no-graph").hidden = false;
  }
  document.body.setAttribute("data-ready", "1");
}
})();
