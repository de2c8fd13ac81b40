"""docs/view_*.png: what `inspect --html` shows, rendered by headless Chromium (`make screenshots`).

Three pages: a training checkpoint (fixtures/data/checkpoints/cnn_bn_momentum), a frozen graph with
findings (fixtures/data/graphs/bn_training_fused.pb) and the 7k-node benchmark transformer (built
once by bench/make_large_checkpoint.py, with TensorFlow, in a child process). Each page is opened
exactly as a user opens it (a file:// URL), in its first view, at 1600x1000.

Usage: python bench/view_screenshots.py [--out docs] [--skip-transformer]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.view import render_html  # noqa: E402
from tests.inspector.view.browser import browser_context, open_page, unavailable  # noqa: E402

PAGES = {
    "view_checkpoint.png": ROOT / "fixtures" / "data" / "checkpoints" / "cnn_bn_momentum",
    "view_findings.png": ROOT / "fixtures" / "data" / "graphs" / "bn_training_fused.pb",
}


def transformer() -> Path:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "make_large_checkpoint.py")], env=env,
                          capture_output=True, text=True, check=True)
    return Path(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--skip-transformer", action="store_true")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason:
        sys.exit(f"view_screenshots: {reason}")
    pages = dict(PAGES)
    if not args.skip_transformer:
        pages["view_transformer.png"] = transformer()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, browser_context(1600, 1000) as context:
        for name, source in pages.items():
            html = Path(folder) / (name + ".html")
            shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
            cwd = os.getcwd()
            os.chdir(ROOT)  # the page names the input as the user typed it: a path relative to the repo
            try:
                html.write_text(render_html(str(shown)), encoding="utf-8")
            finally:
                os.chdir(cwd)
            page, problems = open_page(context, str(html))
            if problems:
                sys.exit(f"view_screenshots: {name}: {problems}")
            page.screenshot(path=str(args.out / name))
            page.close()
            print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
