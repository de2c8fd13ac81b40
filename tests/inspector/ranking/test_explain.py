"""``inspect -v`` data: what the ranking set aside, grouped by reason."""

from __future__ import annotations

from inspector.ranking import explain_exclusions
from tests.inspector.ranking.graphs import classifier


def test_exclusions_grouped_by_reason_with_examples():
    found = {e.reason: e for e in explain_exclusions(classifier().model())}
    gradients = found["part of the gradient computation"]
    assert gradients.count == 7 and "gradients/Fill" in gradients.examples
    labels = found["depends on the label input 'labels' (loss and metrics, not the prediction)"]
    assert set(labels.examples) >= {"loss/xent", "loss/Mean"}
    assert found["optimizer update or optimizer state"].to_json()["count"] == 5
