"""A real headless browser for the view tests and for `make screenshots`: the system's Chromium
(Debian's `chromium`, installed by `make test`), driven by Playwright from PyPI.

Playwright's own browser download cannot be used here (and is not needed): it launches the
installed binary with a fresh profile and no network-facing background services.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """The Chromium to drive: $CHROMIUM, else the first of the usual names on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium on this machine (make test installs Debian's chromium where apt-get can)"
    return None


@contextlib.contextmanager
def browser_context(width: int = 1600, height: int = 1000) -> Iterator:
    """A Playwright browser context on the system's Chromium with a fresh, temporary profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="ckpt2pb-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium_path(), headless=True, args=FLAGS[1:],
                viewport={"width": width, "height": height})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_page(context, html_path: str):
    """Open a page file; returns (page, problems) where problems collects console errors,
    uncaught exceptions and any request that is not the file itself."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    url = "file://" + os.path.abspath(html_path)
    page.on("request", lambda r: problems.append(f"request: {r.url}") if r.url != url
            and not r.url.startswith("data:") else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    return page, problems
