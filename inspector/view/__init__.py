"""See the model: the condensed graph as one self-contained HTML page, or as Graphviz DOT.

::

    from inspector.view import render_html, render_dot
    page = render_html("runs/mnist/model.ckpt-300")        # str: the whole page
    dot = render_dot("frozen.pb")                          # str: the same boxes for Graphviz

``inspect PATH --html FILE`` and ``--dot FILE`` write them. Modules, in data-flow order:

* :mod:`.condense`  nodes grouped into boxes by name scope, one tree per role (the model, and each
  kind of training machinery beside it);
* :mod:`.layout`    a layered (Sugiyama-style) drawing of each box's content, in pure Python;
* :mod:`.scene`     the report and the roles joined: the path from the feature inputs to the ranked
  outputs, the outputs' marks, the findings' nodes, the first view;
* :mod:`.page` and :mod:`.dot`  the two outputs.

Nothing here runs unless asked: ``inspect`` imports this package only for ``--html``/``--dot``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspector.report import Inspection

__all__ = ["dot_for", "html_for", "render_dot", "render_html"]


def render_html(path: str, *, top: int = 5, checkpoint: str | None = None, graph: str | None = None) -> str:
    """The HTML view of ``path`` (checkpoint, graph file or SavedModel), as one string."""
    return _render(path, html_for, top=top, checkpoint=checkpoint, graph=graph)


def render_dot(path: str, *, top: int = 5, checkpoint: str | None = None, graph: str | None = None) -> str:
    """The condensed graph of ``path`` as Graphviz DOT (the boxes of the HTML view's first view)."""
    return _render(path, dot_for, top=top, checkpoint=checkpoint, graph=graph)


def _render(path: str, render, **options) -> str:
    from inspector.report import inspect_path

    pages: list[str] = []
    inspect_path(path, then=lambda report, inspection: pages.append(render(report, inspection)), **options)
    return pages[0]


def html_for(report: dict, inspection: Inspection) -> str:
    """The page for an inspection and its report (the ``inspect --json`` dict)."""
    from inspector.view.page import render_page

    return render_page(_scene(report, inspection), report)


def dot_for(report: dict, inspection: Inspection) -> str:
    """The DOT text for an inspection and its report; :class:`~inspector.errors.UsageError` when
    there is no graph to draw."""
    from inspector.errors import UsageError
    from inspector.view.dot import render_dot as dot_text

    scene = _scene(report, inspection)
    if scene is None:
        raise UsageError("there is no graph to draw", path=report.get("path"),
                         fix="--dot needs a graph: a checkpoint with its .meta (or --graph FILE), a .pb or a "
                             "SavedModel")
    return dot_text(scene)


def _scene(report: dict, inspection: Inspection):
    from inspector.view.scene import build_scene

    if inspection.model is None:
        return None
    return build_scene(report, inspection.model, inspection.variables)


def write_view(path: str, text: str, inputs: list[str]) -> int:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, renamed into place, so a
    failed or interrupted run leaves no half-written page); never over one of ``inputs`` (the
    files the inspection read). Returns the bytes written."""
    import os

    from inspector.errors import UsageError
    from inspector.tempfiles import create_temp

    target = os.path.realpath(path)
    if any(os.path.exists(i) and os.path.realpath(i) == target for i in inputs if i):
        raise UsageError("names one of the files being inspected; writing there would destroy it", path=path,
                         fix="choose a new file name for --html/--dot")
    data = text.encode("utf-8")
    try:
        fd, temp = create_temp(target)
    except OSError as error:
        raise UsageError(f"cannot write there ({error.strerror or error})", path=path,
                         fix="choose a writable folder for --html/--dot") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        with _suppress():
            os.unlink(temp)
        raise
    return len(data)


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)


def input_files(report: dict) -> list[str]:
    """Every file the report says the inspection read (the user's path, graph, index, data …)."""
    files = report.get("files") or {}
    found = [report.get("path")] + [files.get(key) for key in ("state_file", "meta", "index", "graph")]
    found += list(files.get("data") or [])
    return [f for f in found if f]
