"""``inspect -v`` data: what is not part of the model, grouped by role."""

from __future__ import annotations

from inspector.ranking import explain_exclusions
from tests.graph_builder import classifier


def test_exclusions_grouped_by_role_with_examples():
    found = {e.reason.split(":")[0]: e for e in explain_exclusions(classifier().model())}
    assert set(found) == {"gradient", "optimizer", "loss", "initializer", "bookkeeping"}
    assert found["gradient"].count == 7 and "gradients/Fill" in found["gradient"].examples
    assert set(found["loss"].examples) >= {"loss/xent", "loss/Mean", "labels"}
    assert found["optimizer"].to_json()["count"] == 5
    assert found["loss"].reason == "loss: a training loss, its arithmetic and regularizers"
