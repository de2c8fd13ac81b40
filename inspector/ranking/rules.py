"""The ranking's rules as data: each a named fact about a candidate, a weight and the words for it.

A candidate's score is the sum of the weights of the rules that hold for it, and its reasons are
exactly those rules' texts, in table order: the score is the visible sum of the reasons listed
(``--json`` gives each reason's rule and weight). A rule's weight may scale with a fraction (the
share of the weights behind the candidate); the text then says the fraction.

Every rule exists because a kind of graph needs it; ``make eval --without RULE`` measures what
removing it costs, and tests/inspector/ranking/test_rules.py holds, for each rule, a graph that
ranks wrongly without it. The weights order the evidence: how a candidate ends dominates (what
nothing consumes was computed to be fetched), the share of the weights behind it next (a
prediction depends on the whole model), then the finer signals. Structural evidence never
reaches 1.0: a SignatureDef, when the graph has one, outranks it (see :mod:`.signatures`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.ranking.candidates import BOUNDARY, COMPARED, METRIC_END, OTHER, SINK, SUMMARIZED
from inspector.ranking.features import Features

#: The score of a candidate never leaves [FLOOR, CAP] (the maximum sum of the rules is CAP).
CAP = 0.9
FLOOR = 0.01


@dataclass(frozen=True)
class Rule:
    """``applies(f)`` returns None when the rule does not hold, else the factor (usually 1.0)
    its weight is multiplied by; ``reason(f)`` is the text the user reads."""

    name: str
    weight: float
    why: str
    applies: Callable[[Features], float | None]
    reason: Callable[[Features], str]


def _when(test: Callable[[Features], bool]) -> Callable[[Features], float | None]:
    return lambda f: 1.0 if test(f) else None


def _compared_reason(f: Features) -> str:
    return f"the training loss '{f.loss}' compares it with '{f.target}'"


def _share_reason(f: Features) -> str:
    if f.network is not None:
        return (f"depends on {round(100 * f.share)}% of the trainable weights of the network trained "
                f"by '{f.network}'")
    return f"depends on {round(100 * f.share)}% of the model's trainable weights"


RULES: tuple[Rule, ...] = (
    # -- how the candidate ends (exactly one of these holds) ---------------------------------
    Rule("end_sink", 0.35, "what nothing consumes (or only bookkeeping: an assertion on it, a Print) "
         "was computed to be fetched",
         _when(lambda f: f.end in (SINK, OTHER)),
         lambda f: "nothing consumes it: a sink of the model" if f.end == SINK else f.why_end),
    Rule("end_compared", 0.27, "the value a loss compares with the labels is a training graph's "
         "prediction, though nothing else reads it",
         _when(lambda f: f.end == COMPARED), _compared_reason),
    Rule("end_boundary", 0.30, "a network whose output another network reads (a GAN's sampler) "
         "ends there, not at a sink",
         _when(lambda f: f.end == BOUNDARY), lambda f: f.why_end),
    Rule("end_summarized", 0.27, "a value only summarized is watched, not consumed: often the "
         "prediction of a graph that computes nothing after it",
         _when(lambda f: f.end == SUMMARIZED), lambda f: "consumed only by a summary"),
    Rule("end_metric", 0.25, "the metrics compare the prediction (or its argmax) with the labels",
         _when(lambda f: f.end == METRIC_END),
         lambda f: "the metrics compare it (or its argmax) with the labels"),
    # -- what it is computed from ------------------------------------------------------------
    Rule("weight_share", 0.30, "a prediction depends on (nearly) all of the model's weights; a "
         "branch, an auxiliary head or a statistic on fewer",
         lambda f: f.share if f.share > 0 else None, _share_reason),
    Rule("final_activation", 0.10, "the op that turns logits into the answer users consume",
         _when(lambda f: f.activation is not None), lambda f: f.activation or ""),
    Rule("name_hint", 0.05, "authors often name the output 'output', 'logits', 'probs' (weak: "
         "breaks near-ties only)",
         _when(lambda f: f.name_hint), lambda f: "its name suggests an output (weak evidence)"),
    # -- what kind of value it is ------------------------------------------------------------
    Rule("critic_score", -0.25, "in adversarial training (two optimizers) the network whose logits "
         "a loss scores against constants only is the critic: it judges the other network's output "
         "during training and is not what is served (a GAN's discriminator)",
         _when(lambda f: f.critic is not None),
         lambda f: f"a critic's score: the loss scores '{f.critic}' against constants only while another "
         "optimizer trains the network it judges (adversarial training)"),
    Rule("reconstruction_aside", -0.25, "in a graph trained on labels or adversarially, a loss that "
         "compares a value with the model's own input is an auxiliary objective (CapsNet's decoder, "
         "CycleGAN's cycle consistency), not the answer; a plain autoencoder's reconstruction stands",
         _when(lambda f: f.reconstruction is not None),
         lambda f: f"reconstructs the model's own input ('{f.reconstruction}') beside the graph's main "
         "objective (labels or an adversary): an auxiliary task"),
    Rule("in_loop", -0.30, "a value inside a while-loop frame is per-iteration state, and a loop's "
         "exit its final state: the result is what the model computes from them",
         _when(lambda f: f.in_loop),
         lambda f: "a while loop's final state, not a computed result" if f.loop_exit
         else "inside a while loop (per-iteration state)"),
    Rule("scalar_statistic", -0.35, "a reduction to a scalar is a statistic (or a loss, in a graph "
         "whose training step the roles did not find)",
         _when(lambda f: f.scalar_statistic is not None),
         lambda f: f"a {f.scalar_statistic} reduced to a scalar: a statistic, not a prediction"),
)
RULE_NAMES = frozenset(rule.name for rule in RULES)


def score(f: Features, disabled: frozenset[str] = frozenset()
          ) -> tuple[float, list[str], list[tuple[str, float]]]:
    """(score, reasons, [(rule, contribution)]) of a candidate; ``disabled`` rules are skipped
    (``make eval --without``)."""
    total = 0.0
    reasons: list[str] = []
    contributions: list[tuple[str, float]] = []
    for rule in RULES:
        if rule.name in disabled:
            continue
        factor = rule.applies(f)
        if factor is None:
            continue
        value = round(rule.weight * factor, 4)
        total += value
        reasons.append(rule.reason(f))
        contributions.append((rule.name, value))
    return max(FLOOR, min(CAP, total)), reasons, contributions


__all__ = ["CAP", "FLOOR", "RULES", "RULE_NAMES", "Rule", "score"]
