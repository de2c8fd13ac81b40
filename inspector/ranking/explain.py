"""What the output ranking set aside and why, for ``inspect -v``."""

from __future__ import annotations

from inspector.ranking.analysis import analyze
from inspector.ranking.candidate import Exclusion
from inspector.ranking.subgraphs import REASONS

_EXAMPLES = 5


def explain_exclusions(model, meta_graph=None) -> list[Exclusion]:
    """Excluded nodes grouped by reason, largest family first, with a few example names."""
    a = analyze(model, meta_graph)
    index = a.index
    families: dict[str, list[str]] = {}
    for i, category in enumerate(a.excl.category):
        if category:
            families.setdefault(REASONS[category], []).append(index.names[i])
    labels = [info.name for info in a.inputs if info.kind == "label"]
    if labels:
        why = "depends on the label input " + ", ".join(f"'{n}'" for n in labels) + \
            " (loss and metrics, not the prediction)"
        families[why] = [index.names[i] for i in range(len(index))
                         if not a.excl.category[i] and a.label_tainted(i)]
    roots = [index.names[i] for i in a.excl.loss_roots if not a.label_tainted(i)]
    if roots:
        families["the training loss (the value it is computed from is a candidate)"] = roots
    return sorted((Exclusion(reason, len(names), names[:_EXAMPLES]) for reason, names in families.items()
                   if names), key=lambda e: (-e.count, e.reason))
