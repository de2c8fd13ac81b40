"""What the output ranking set aside and why, for ``inspect -v`` and ``--json``: every node that
is not part of the model, grouped by its role (:mod:`inspector.roles`)."""

from __future__ import annotations

from inspector.ranking.candidate import Exclusion
from inspector.roles import DESCRIPTIONS, MODEL, roles_of

_EXAMPLES = 5


def explain_exclusions(model, meta_graph=None) -> list[Exclusion]:
    """Nodes of each non-model role, largest family first, with a few example names."""
    r = roles_of(model, meta_graph)
    families: dict[str, list[str]] = {}
    for i, role in enumerate(r.role):
        if role != MODEL:
            families.setdefault(role, []).append(r.index.names[i])
    return sorted((Exclusion(f"{role}: {DESCRIPTIONS[role]}", len(names), names[:_EXAMPLES])
                   for role, names in families.items()), key=lambda e: (-e.count, e.reason))
