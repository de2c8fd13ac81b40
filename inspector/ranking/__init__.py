"""Rank the likely output and input nodes of a graph, with scores and reasons.

``rank_outputs(model, meta_graph=None)`` and ``rank_inputs(model, meta_graph=None)`` return
:class:`Candidate` lists, best first; ``explain_exclusions(model)`` says what was set aside and why.
"""

from __future__ import annotations

from inspector.ranking.candidate import Candidate, Exclusion
from inspector.ranking.explain import explain_exclusions
from inspector.ranking.inputs import rank_inputs
from inspector.ranking.outputs import rank_outputs

__all__ = ["Candidate", "Exclusion", "explain_exclusions", "rank_inputs", "rank_outputs"]
