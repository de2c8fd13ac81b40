"""Shared inputs for the view tests: scenes of fixtures and a graph whose names are hostile."""

from __future__ import annotations

from pathlib import Path

from inspector.report import inspect_path
from tests.graph_builder import INT64, Builder

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "data"
TRAINING_CHECKPOINT = FIXTURES / "checkpoints" / "cnn_bn_momentum"
FROZEN_WITH_FINDINGS = FIXTURES / "graphs" / "bn_training_fused.pb"

#: Node names a graph file may carry: script tags, quotes, control and bidi characters.
HOSTILE_SCOPE = "evil</script><script>window.pwned=1</script>"
HOSTILE_NAMES = ('q"uote\'s & <b>bold</b>', "ctl\x01\x1b[31mred", "\u202egnp.exe", "back\\slash")


def scene_of(path: Path | str, top: int = 5):
    """(report, scene) of an input, as ``inspect --html`` builds them."""
    from inspector.view.scene import build_scene

    found = []
    report = inspect_path(str(path), top=top,
                          then=lambda r, i: found.append(build_scene(r, i.model, i.variables)))
    return report, found[0]


def hostile_graph(folder: Path) -> Path:
    """A small training graph whose scope and node names try to break out of HTML, JS and DOT."""
    b = Builder()
    images = b.placeholder("images")
    labels = b.placeholder("labels", [-1], INT64)
    hidden = b.node(f"{HOSTILE_SCOPE}/Relu", "Relu", b.dense(HOSTILE_SCOPE, images))
    for k, name in enumerate(HOSTILE_NAMES):
        hidden = b.node(name, "Identity" if k % 2 else "Relu", hidden)
    logits = b.dense("logits", hidden)
    b.node("probabilities", "Softmax", logits)
    loss = b.softmax_loss(logits, labels)
    b.train(loss, [f"{HOSTILE_SCOPE}/kernel", "logits/kernel"])
    path = folder / "hostile.pb"
    path.write_bytes(b.graph.SerializeToString())
    return path


def visible_ops(scene) -> set[int]:
    """Ops the first view shows: every box around them open (the model's section is the page)."""
    return {node for node in range(len(scene.names))
            if all(box in scene.initial for box in scene.condensed.ancestors(node))}
