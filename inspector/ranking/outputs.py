"""Rank the likely output nodes of a graph, best first, each with its score and reasons.

SignatureDefs, when present, are authoritative (score 1.0 for the serving signature). Otherwise
the ranking works on the roles pass (:mod:`inspector.roles`), in four steps of one concern each:

1. :mod:`.candidates` — the ends of the model and how each ends (a sink, the value a loss
   compares with the labels, what only the metrics read …), and :mod:`.networks` — where one
   separately trained network hands its output to another;
2. :mod:`.features` — the facts about each candidate, computed once;
3. :mod:`.rules` — the table of named rules that scores them: the score is the sum of the
   weights of the reasons listed;
4. :mod:`.steps` — named adjustments between candidates (the decision an author named over
   compared logits, the embedding a loss compares with itself, the value behind a cosmetic
   tail listed next); then :mod:`.groups` puts sibling heads in one group.
"""

from __future__ import annotations

from dataclasses import replace

from inspector.ranking import networks
from inspector.ranking.candidate import Candidate
from inspector.ranking.candidates import BOUNDARY, NOT_CANDIDATE, Draft, frontier
from inspector.ranking.features import features_of, one_example_slices
from inspector.ranking.groups import assign_groups
from inspector.ranking.rules import score
from inspector.ranking.steps import STEPS, apply
from inspector.roles import Roles, roles_of


def rank_outputs(model, meta_graph=None, *, disabled: frozenset[str] = frozenset()) -> list[Candidate]:
    """Candidate output nodes of ``model``, best first (see the module docstring).

    ``disabled`` names rules (:data:`.rules.RULES`) and steps (:data:`.steps.STEPS`) to leave
    out, for measuring what each earns (``make eval --without RULE``).
    """
    r = roles_of(model, meta_graph)
    key = ("ranked_outputs", disabled)
    if key not in r.derived:
        r.derived[key] = _rank(r, model, meta_graph, disabled)
    return [replace(c, reasons=list(c.reasons), rules=list(c.rules), context=dict(c.context))
            for c in r.derived[key]]


def _rank(r: Roles, model, meta_graph, disabled: frozenset[str]) -> list[Candidate]:
    one_example = one_example_slices(r.index, model)
    drafts = frontier(r)
    for i, why in networks.boundaries(r).items():
        if i not in drafts and not r.label_tainted(i) and r.index.ops[i] not in NOT_CANDIDATE:
            drafts[i] = Draft(i, BOUNDARY, why_end=why)

    def new_draft(i: int, end: str) -> Draft:
        draft = Draft(i, end)
        _score(r, draft, disabled)
        return draft

    for draft in drafts.values():
        _score(r, draft, disabled)
    for step in STEPS:
        if step.name not in disabled:
            apply(step.run(r, drafts, one_example), drafts, new_draft)
    candidates = [_candidate(r, d) for d in drafts.values()]
    groups = assign_groups(r, [d for d in drafts.values() if d.alternative_of is None])
    for cand in candidates:
        cand.group = groups.get(cand.name)
    return _order(_apply_signatures(r, meta_graph if meta_graph is not None else model.meta_graph,
                                    candidates))


def _score(r: Roles, d: Draft, disabled: frozenset[str]) -> None:
    d.score, d.reasons, d.rules = score(features_of(r, d), disabled)


def _candidate(r: Roles, d: Draft) -> Candidate:
    index = r.index
    return Candidate(name=index.names[d.i], score=round(d.score, 4), op=index.ops[d.i],
                     dtype=index.dtypes[d.i], shape=index.shapes[d.i], reasons=d.reasons,
                     rules=d.rules, context=context_of(r, d.i))


def context_of(r: Roles, i: int) -> dict:
    """What a node is for, what reads it (by role) and the feature inputs it is computed from
    (``inspect -v`` and ``--json``): facts shown beside the score, not part of it."""
    index = r.index
    read_by: dict[str, int] = {}
    for j in index.data_out[i] + index.ctrl_out[i]:
        read_by[r.role[j]] = read_by.get(r.role[j], 0) + 1
    return {"role": r.role[i], "read_by": dict(sorted(read_by.items())), "inputs": r.feature_names(i)[:3]}


def _apply_signatures(r: Roles, meta_graph, candidates: list[Candidate]) -> list[Candidate]:
    """SignatureDef outputs are what the exporter declared: authoritative, ranked first."""
    from inspector.ranking.signatures import signature_outputs

    declared = signature_outputs(meta_graph)
    if not declared:
        return candidates
    by_name = {c.name: c for c in candidates}
    index = r.index
    out: list[Candidate] = []
    seen: set[str] = set()
    for entry in declared:
        i = index.node_index(entry.tensor)
        if i is None or index.names[i] in seen:
            continue
        name = index.names[i]
        seen.add(name)
        structural = by_name.pop(name, None)
        reasons = [entry.reason] + (list(structural.reasons) if structural else [])
        rules = [("signature", round(entry.score - (structural.score if structural else 0.0), 4))] + \
            (list(structural.rules) if structural else [])
        out.append(Candidate(name=name, score=entry.score, op=index.ops[i], dtype=index.dtypes[i],
                             shape=index.shapes[i], reasons=reasons, group=entry.group, rules=rules,
                             context=context_of(r, i)))
    return out + list(by_name.values())


def _order(candidates: list[Candidate]) -> list[Candidate]:
    """Best first; members of one group stay together at their best member's place."""
    best: dict[str, float] = {}
    for cand in candidates:
        if cand.group is not None:
            best[cand.group] = max(best.get(cand.group, 0.0), cand.score)
    return sorted(candidates, key=lambda c: (-(best[c.group] if c.group else c.score),
                                             c.group or "", -c.score, c.name))
