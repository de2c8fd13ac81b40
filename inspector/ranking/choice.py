"""Which outputs to freeze, from the ranked candidates: one rule for ``inspect``'s suggestion and
``freeze --auto-outputs``.

The two used to decide separately — ``inspect`` from the candidates it printed (the top five),
``--auto-outputs`` from all of them — so a four-head detector was suggested with one head and
frozen with four. Both now call :func:`choose_outputs` on the full ranked list.
"""

from __future__ import annotations

from collections.abc import Sequence


def choose_outputs(candidates: Sequence) -> list[str]:
    """The best candidate's name, or every member of its group (sibling heads that belong together:
    boxes, scores, classes and num_detections of a detector), in ranking order.

    ``candidates``: ranked best first, each with ``.name`` and ``.group`` (a
    :class:`~inspector.ranking.Candidate` or its JSON dict). Empty when there is none.
    """
    if not candidates:
        return []
    top = candidates[0]
    group = _field(top, "group")
    if not group:
        return [_field(top, "name")]
    return [_field(c, "name") for c in candidates if _field(c, "group") == group]


def _field(candidate, key: str):
    return candidate[key] if isinstance(candidate, dict) else getattr(candidate, key)
