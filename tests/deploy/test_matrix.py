"""The consumer matrix on the committed fixtures (bench/deploy/matrix.py runs it on the corpus too).

Each fixture is frozen plain and with ``--for-inference``, loaded in TensorFlow, OpenCV 4.14,
tf2onnx + onnxruntime and TFLite (builtin ops), and compared with the restored checkpoint:

* ``--for-inference`` changes no output beyond rtol 1e-5 in TensorFlow and drops none;
* a runtime that fails on the ``--for-inference`` graph was named beforehand by ``--target``;
* plain ``freeze`` loads and matches wherever it did at first contact (bench/deploy/first_contact.json).

One test per fixture (its reference run is shared by every cell); a runtime that is not installed is
left out and said so, and a machine with none of them skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.deploy import runtimes
from bench.deploy.matrix import named, ok, run_model
from bench.deploy.models import fixture_models

pytestmark = [pytest.mark.tf, pytest.mark.deploy]

FIRST_CONTACT = Path(__file__).resolve().parents[2] / "bench" / "deploy" / "first_contact.json"
MODELS = [pytest.param(m, id=m.name) for m in fixture_models()]


@pytest.fixture(scope="module")
def installed() -> tuple[str, ...]:
    present = tuple(r for r in runtimes.RUNTIMES if runtimes.available(r))
    if present == ("tf",) or not present:
        pytest.skip("no deployment runtime installed (pip install -e '.[deploy]')")
    return present


def _first_contact() -> dict[str, dict]:
    return {row["model"]: row for row in json.loads(FIRST_CONTACT.read_text())}


@pytest.mark.parametrize("model", MODELS)
def test_fixture_deploys(model, installed, tmp_path):
    row = run_model(model, ("freeze", "for_inference"), installed, tmp_path)
    assert not row.get("problem"), row.get("problem")
    inference = row["cells"]["for_inference"]
    assert ok(inference["tf"], strict=True), inference["tf"]  # rtol 1e-5 against the restored checkpoint
    predicted = row["notes"]["for_inference"]
    unnamed = {r: cell for r, cell in inference.items()
               if r != "tf" and not ok(cell) and not named(cell, predicted.get(r, []))}
    assert not unnamed, f"failures --target did not name: {unnamed}"
    before = _first_contact().get(model.name, {}).get("cells", {}).get("freeze", {})
    worse = {r: row["cells"]["freeze"][r] for r in installed
             if ok(before.get(r)) and not ok(row["cells"]["freeze"][r])}
    assert not worse, f"plain freeze does worse than at first contact: {worse}"


def test_every_runtime_is_installed_by_make_test():
    """`make test` installs the deploy extra; say so when one is missing rather than pass quietly."""
    missing = [r for r in runtimes.RUNTIMES if not runtimes.available(r)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (pip install -e '.[deploy]')")


def test_a_failure_naming_an_op_is_named_only_by_a_finding_on_that_op():
    cell = 'run: Can\'t create layer "embedding_lookup" of type "GatherV2" in function \'getLayerInstance\''
    gather = "TARGET_UNSUPPORTED_OP: OpenCV 4.14 DNN cannot load GatherV2 (embedding_lookup) | fix: x"
    other = "TARGET_OUTPUT_FUSED: outputs OpenCV fuses into the layer before them (y) | fix: x"
    assert named(cell, [other, gather]) and not named(cell, [other]) and not named(cell, [])
    assert named("load: Input layer not found: a/b", [other])
    calls = 'run: Can\'t create layer "StatefulPartitionedCall" of type "StatefulPartitionedCall" in f'
    said = "TARGET_FUNCTION_CALLS: OpenCV has no layer for a TF2 function call (StatefulPartitionedCall: " \
        "StatefulPartitionedCall_1) | fix: x"
    assert named(calls, [said])
    assert not named(cell, ["TARGET_UNSUPPORTED_OP: OpenCV cannot load Gather (g) | fix: GatherV2"])
