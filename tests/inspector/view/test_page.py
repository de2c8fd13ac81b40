"""The HTML page: self-contained, its data intact, no node name able to escape its element."""

from __future__ import annotations

import json
import re

import pytest

from inspector.view import render_html
from inspector.view.page import embed_json, page_data, read_page_data
from tests.inspector.view.views import (
    FROZEN_WITH_FINDINGS,
    HOSTILE_NAMES,
    HOSTILE_SCOPE,
    TRAINING_CHECKPOINT,
    hostile_graph,
    scene_of,
)


def _data(page: str) -> dict:
    return read_page_data(page)


@pytest.mark.parametrize("source", [TRAINING_CHECKPOINT, FROZEN_WITH_FINDINGS])
def test_the_page_needs_nothing_from_the_network(source):
    page = render_html(str(source))
    assert page.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in page  # the page's own policy forbids any fetch
    without_namespaces = page.replace("http://www.w3.org/2000/svg", "")
    assert not re.search(r"https?://|//cdn|@import|<link\b|\bsrc=", without_namespaces)


def test_the_data_hold_the_report_outputs_findings_and_tables():
    data = _data(render_html(str(FROZEN_WITH_FINDINGS)))
    assert [o["name"] for o in data["outputs"]][:1] == ["probabilities"]
    assert data["findings"][0]["code"] == "BATCHNORM_TRAINING_MODE"
    assert data["names"][data["findings"][0]["nodes"][0]] == "bn/FusedBatchNormV3"
    assert data["freeze"].startswith("freeze ") and data["diagnosed"]
    assert len(data["boxes"]) == len(data["boxLayout"]) >= len(data["layouts"])


def test_the_checkpoint_page_has_the_variables_with_sizes_and_kinds():
    data = _data(render_html(str(TRAINING_CHECKPOINT)))
    kinds = {v["kind"] for v in data["variables"]}
    assert {"model", "optimizer"} <= kinds and all(v["bytes"] >= 0 for v in data["variables"])
    assert any(v["node"] is not None for v in data["variables"])


def test_hostile_names_stay_data(tmp_path):
    page = render_html(str(hostile_graph(tmp_path)))
    assert page.count("</script>") == 2  # the page's own two script elements, nothing from a name
    assert "<script>window.pwned" not in page and "<b>bold</b>" not in page
    data = _data(page)
    assert HOSTILE_SCOPE + "/Relu" in data["names"]
    assert all(name in data["names"] for name in HOSTILE_NAMES)


def test_embedded_json_escapes_what_could_end_the_element():
    text = embed_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_a_checkpoint_without_its_graph_still_gets_a_page_with_its_variables():
    data = _data(render_html(str(TRAINING_CHECKPOINT.parent / "no_meta")))
    assert data["graph"] is False and data["variables"] and data["boxes"] == []


def test_the_scopes_the_script_derives_are_the_boxes_scopes():
    _, scene = scene_of(TRAINING_CHECKPOINT)
    data = page_data(scene, {"path": "x"})
    derived: dict[int, str] = {}
    for box_id, (kind, label, scope, parent, *_rest) in enumerate(data["boxes"]):  # parents come first
        if kind == "section":
            derived[box_id] = scope or ""
        elif kind == "scope":
            derived[box_id] = f"{derived[parent]}/{label}" if derived[parent] else label
        else:
            derived[box_id] = derived[parent]
        assert derived[box_id] == scene.boxes[box_id].scope


def test_a_large_graph_travels_compressed_and_reads_back(monkeypatch):
    from inspector.view import page

    monkeypatch.setattr(page, "COMPRESS_OVER", 1000)
    html_text = render_html(str(TRAINING_CHECKPOINT))
    assert 'data-encoding="deflate-base64"' in html_text
    assert read_page_data(html_text)["outputs"][0]["name"] == "probabilities"
