"""Rank the graph's inputs: feature inputs first, then labels, training switches and feeds.

Placeholders, PlaceholderWithDefault and iterator/queue outputs are the candidates. The
classification itself happens in ``analysis.py`` (it is needed to find the labels the output
ranking must ignore); this module turns it into scored candidates.
"""

from __future__ import annotations

from inspector.ranking.candidate import Candidate
from inspector.ranking.signatures import signature_inputs
from inspector.roles import roles_of
from inspector.roles.inputs import FEATURE, FEED, LABEL, SWITCH, label_name_hint

_KIND_SCORE = {FEATURE: 0.85, LABEL: 0.3, SWITCH: 0.2, FEED: 0.05}
_KIND_REASON = {
    FEATURE: "feature input",
    LABEL: "label input (used by the loss or metrics, not needed for inference)",
    SWITCH: "training switch or hyperparameter (keep_prob, is_training, learning_rate …)",
    FEED: "not a model input",
}


def rank_inputs(model, meta_graph=None) -> list[Candidate]:
    """Input candidates, best first, each with its kind in the reasons, dtype and shape."""
    a = roles_of(model, meta_graph)
    index = a.index
    used = _used_by_top_output(a, model, meta_graph)
    found: dict[str, Candidate] = {}
    for k, info in enumerate(a.inputs):
        i = info.index
        reasons = [_KIND_REASON[info.kind], *info.reasons]
        score = _KIND_SCORE[info.kind]
        if info.kind == FEATURE and used >> k & 1:
            score += 0.05
            reasons.append("the best output candidate is computed from it")
        if info.kind == LABEL and label_name_hint(info.name):
            reasons.append("its name suggests labels (weak evidence)")
        fed = [j for j in index.data_out[i] if index.ops[j] == "PlaceholderWithDefault"]
        if info.kind == FEATURE and fed:
            score -= 0.1
            reasons.append(f"the default value of the input '{index.names[fed[0]]}', which is "
                           "what a caller feeds")
        context = {"role": a.role[i], "kind": info.kind}
        if info.switch is not None:
            context["switch"] = info.switch.to_json()
            reasons.append(_switch_reason(info.switch))
        whole = info.port is None
        found[info.name] = Candidate(name=info.name, score=score, op=index.ops[i],
                                     dtype=index.dtypes[i] if whole or info.port == 0 else None,
                                     shape=index.shapes[i] if whole or info.port == 0 else None,
                                     reasons=reasons, group=info.kind, context=context)
    declared = []
    for entry in signature_inputs(meta_graph if meta_graph is not None
                                  else getattr(model, "meta_graph", None)):
        i = index.node_index(entry.tensor)
        if i is None:
            continue
        name = index.names[i]
        old = found.pop(name, None) or found.pop(entry.tensor, None)
        reasons = [f"declared as input '{entry.key}' of signature '{entry.signature}'"]
        if old is not None:
            reasons += old.reasons
        declared.append(Candidate(name=name, score=entry.score, op=index.ops[i],
                                  dtype=index.dtypes[i], shape=index.shapes[i], reasons=reasons,
                                  group=FEATURE))
    rest = sorted(found.values(), key=lambda c: (-c.score, c.name))
    return declared + rest


def _switch_reason(switch) -> str:
    kind = switch.kind.replace("_", " ")
    if switch.inference_value is None:
        return f"{kind}: {switch.reason}"
    return f"{kind}: feed {switch.inference_value} at inference ({switch.reason})"


def _used_by_top_output(a, model, meta_graph) -> int:
    """Input bits of the best output candidate (a GAN's sampler reads z, not the real data)."""
    from inspector.ranking.outputs import rank_outputs

    ranked = rank_outputs(model, meta_graph)
    if not ranked:
        return 0
    i = a.index.node_index(ranked[0].name)
    return 0 if i is None else a.input_bits[i]
