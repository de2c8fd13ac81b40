"""Rank the likely output and input nodes of a graph, with scores and reasons.

``rank_outputs(model, meta_graph=None)`` and ``rank_inputs(model, meta_graph=None)`` return
:class:`Candidate` lists, best first; ``explain_exclusions(model)`` lists what is not part of the
model, by role (``inspect -v``). ``make eval`` measures the ranking over the fixtures and the
shared corpus (bench/evaluate_ranking.py); docs/RANKING.md explains the rules.

The ranking reads the roles pass (:mod:`inspector.roles`: what every node is for, derived from
the graph's structure) and has one module per concern:

1. ``candidates.py``  the ends of the model and how each ends; ``networks.py`` where one
                      separately trained network hands its output to another;
2. ``features.py``    the facts about each candidate, computed once;
3. ``rules.py``       the table of named rules (fact -> weight -> reason): a score is the sum
                      of the weights of the reasons it lists;
4. ``steps.py``       named adjustments between candidates, each returning its changes;
5. ``groups.py``      sibling heads (detection outputs, multi-task heads) share a group;
   ``signatures.py``  SignatureDefs outrank everything; ``inputs.py`` ranks the inputs.
"""

from __future__ import annotations

from inspector.ranking.candidate import Candidate, Exclusion
from inspector.ranking.explain import explain_exclusions
from inspector.ranking.inputs import rank_inputs
from inspector.ranking.outputs import rank_outputs

__all__ = ["Candidate", "Exclusion", "explain_exclusions", "rank_inputs", "rank_outputs"]
