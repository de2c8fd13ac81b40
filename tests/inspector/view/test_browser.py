"""The HTML view as a person sees it: rendered by a real headless Chromium.

Skips (with the reason) where no browser is installed; `make test` installs Debian's chromium.
"""

from __future__ import annotations

import pytest

from inspector.view import render_html
from tests.inspector.view.browser import browser_context, open_page, unavailable
from tests.inspector.view.views import FROZEN_WITH_FINDINGS, HOSTILE_SCOPE, TRAINING_CHECKPOINT, hostile_graph

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@pytest.fixture(scope="module")
def browser():
    with browser_context() as context:
        yield context


def _page(browser, source, folder, name):
    path = folder / f"{name}.html"
    path.write_text(render_html(str(source)), encoding="utf-8")
    return open_page(browser, str(path))


def test_training_checkpoint_shows_the_ranked_outputs_and_the_path(browser, tmp_path):
    page, problems = _page(browser, TRAINING_CHECKPOINT, tmp_path, "checkpoint")
    assert problems == []
    badge = page.locator("#graph .cand-badge[data-rank='1']")
    assert badge.count() == 1 and badge.first.is_visible()
    assert page.locator("#graph .op.output").count() >= 1
    assert page.locator("#graph .edge.path").count() >= 3
    assert page.locator("#graph .op.input-feature").count() == 1
    assert page.locator("#outputs .output-item[data-rank='1'] .name").text_content() == "probabilities"
    assert page.locator("#graph .box.machinery").count() >= 5  # the grey boxes at the side
    assert "freeze " in page.locator("#freeze code").text_content()
    page.screenshot(path=str(tmp_path / "checkpoint.png"))


def test_findings_are_on_their_nodes_and_in_the_panel(browser, tmp_path):
    page, problems = _page(browser, FROZEN_WITH_FINDINGS, tmp_path, "findings")
    assert problems == []
    marked = page.locator("#graph .op.has-finding")
    assert marked.count() == 1
    assert "BATCHNORM_TRAINING_MODE" in page.locator("#graph .finding-mark").first.get_attribute("data-codes")
    item = page.locator("#findings .finding[data-code='BATCHNORM_TRAINING_MODE']")
    assert "fix:" in item.text_content()
    marked.first.hover()
    assert "BATCHNORM_TRAINING_MODE" in page.locator("#tip").text_content()


def test_clicking_a_box_opens_it_and_its_title_closes_it(browser, tmp_path):
    page, _ = _page(browser, TRAINING_CHECKPOINT, tmp_path, "click")
    before = page.locator("#graph .op, #graph .box").count()
    closed = page.locator("#graph g.box:not(.machinery)").first
    box_id = closed.get_attribute("data-box")
    closed.click()
    frame = page.locator(f"#graph g.frame[data-box='{box_id}']")
    assert frame.count() == 1
    assert page.locator("#graph .op, #graph .box").count() > before
    frame.locator(".frame-head").click()
    assert page.locator(f"#graph g.frame[data-box='{box_id}']").count() == 0
    assert page.locator(f"#graph g.box[data-box='{box_id}']").count() == 1


def test_machinery_box_opens_beside_the_model(browser, tmp_path):
    page, _ = _page(browser, TRAINING_CHECKPOINT, tmp_path, "machinery")
    grey = page.locator("#graph g.box.machinery.section").first
    grey.click()
    assert page.locator("#graph g.frame.machinery").count() == 1


def test_variables_table_sorts_by_size(browser, tmp_path):
    page, _ = _page(browser, TRAINING_CHECKPOINT, tmp_path, "sort")
    page.locator("#variables th[data-column='bytes']").click()
    cells = page.locator("#variables tbody tr td:nth-child(4)").all_text_contents()
    assert cells and cells[0] == max(cells, key=lambda t: _bytes(t))
    page.locator("#variables th[data-column='name']").click()
    names = page.locator("#variables tbody tr td:first-child").all_text_contents()
    assert names == sorted(names, key=str.lower) or names == sorted(names)


def test_clicking_an_output_in_the_panel_reveals_it(browser, tmp_path):
    page, _ = _page(browser, TRAINING_CHECKPOINT, tmp_path, "reveal")
    page.locator("#outputs .output-item[data-rank='2'] .name").click()
    node = page.locator("#graph .op.output.flash")
    assert node.count() == 1


def test_hostile_names_are_shown_as_text_and_never_run(browser, tmp_path):
    page, problems = _page(browser, hostile_graph(tmp_path), tmp_path, "hostile")
    assert problems == []
    assert page.evaluate("typeof window.pwned") == "undefined"
    drawn = page.locator("#graph").text_content()
    assert "window.pwned=1</script>" in drawn          # the scope's name, drawn as text
    assert "\\x1b[31mred" in drawn and "\x1b" not in drawn  # a control character made visible
    assert page.locator("#graph b").count() == 0       # '<b>bold</b>' in a name is no element
    assert HOSTILE_SCOPE in page.locator("#findings").text_content()


def _bytes(text: str) -> float:
    value, unit = text.split()
    return float(value) * {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
