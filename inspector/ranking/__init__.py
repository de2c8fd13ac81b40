"""Rank the likely output and input nodes of a graph, with scores and reasons.

``rank_outputs(model, meta_graph=None)`` and ``rank_inputs(model, meta_graph=None)`` return
:class:`Candidate` lists, best first; ``explain_exclusions(model)`` says what was set aside and why
(``inspect -v``). ``python -m inspector.ranking.evaluate`` (``make eval``) measures the ranking over
the fixtures and the shared corpus beside summarize_graph's rule.

How it works (one module per step, each signal documented where it is defined):

1. ``index.py``      the graph model as ints: adjacency lists and one topological order.
2. ``subgraphs.py``  gradients, optimizer updates, initializers, the saver, summaries, metric
                     counters, global_step, moving-average updates and input plumbing are marked
                     and set aside; forward values consumed only by gradients are the losses.
3. ``analysis.py``   inputs are classified — features reach a layer, labels meet the weights only
                     after the prediction, switches are scalars/booleans (keep_prob, is_training) —
                     and weights and inputs are propagated as bitsets (linear time).
4. ``outputs.py``    candidates are the ends of the forward pass (sinks, values the loss or metrics
                     compare with labels, values a label-free loss is computed from, hand-overs
                     between separately optimized networks); each is scored from ``signals.py``;
                     cosmetic tails and final activations bring their neighbour in as the
                     alternative listed next; SignatureDefs outrank everything.
5. ``groups.py``     sibling heads (detection outputs, multi-task heads) share a group.
"""

from __future__ import annotations

from inspector.ranking.candidate import Candidate, Exclusion
from inspector.ranking.explain import explain_exclusions
from inspector.ranking.inputs import rank_inputs
from inspector.ranking.outputs import rank_outputs

__all__ = ["Candidate", "Exclusion", "explain_exclusions", "rank_inputs", "rank_outputs"]
