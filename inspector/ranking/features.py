"""The evidence about one candidate, computed once: a features record the rules read.

Every field is a fact about the graph around the candidate — how it ends, what it is computed
from, what kind of value it is — never a judgement. :mod:`inspector.ranking.rules` turns the
facts into a score and the reasons the user reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inspector import tfops
from inspector.graph.index import GraphIndex
from inspector.ranking import networks
from inspector.ranking.candidates import Draft
from inspector.roles import Roles, flow


@dataclass(frozen=True)
class Features:
    end: str                          # how the candidate ends (candidates.SINK, COMPARED, …)
    why_end: str                      # the words for a boundary / promoted / alternative end
    loss: str | None                  # the loss that compares it or is computed from it
    target: str | None                # what that loss compares it with
    activation: str | None            # the reason text of a final activation at or behind it
    share: float                      # share of the (own network's) trainable weights behind it
    network: str | None               # the optimizer whose network alone computes it, if separate
    name_hint: bool                   # the author named it like an output (weak)
    in_loop: bool                     # inside a while-loop frame (a loop's Exit is too)
    loop_exit: bool                   # a while loop's final state (for the words)
    scalar_statistic: str | None      # the op of a reduction to a scalar
    critic: str | None                # the adversarial logits at or behind it (a GAN discriminator's)
    reconstruction: str | None        # its loss target: the model's own input (an auxiliary objective)


_OUTPUT_WORDS = re.compile(
    r"(^|[/_])(outputs?|logits?|predictions?|preds?|probabilities|probs?|proba|scores?|"
    r"detections?|boxes|classes|y_?hat|inference)([/_:\d]|$)", re.IGNORECASE)


def name_hint(name: str) -> bool:
    """Weak evidence only: authors often call the output 'output', 'logits', 'probs'…; it breaks
    near-ties between structurally equal candidates and never decides alone."""
    last = name.rsplit("/", 2)
    return bool(_OUTPUT_WORDS.search("/".join(last[-2:])))


def features_of(r: Roles, d: Draft) -> Features:
    index, i = r.index, d.i
    prediction = d.prediction
    own = networks.own_network(r, i)
    if own is not None:
        name, mask = own
        share = flow.share_of(r.weight_bits[i] & mask, r.weight_sizes, networks.mask_total(r, mask))
    else:
        name, share = None, r.share(i)
    if not r.weight_total and r.feature_names(i):
        share = 1.0  # a graph without weights: everything it computes counts in full
    return Features(
        end=d.end, why_end=d.why_end,
        loss=index.names[prediction.loss] if prediction is not None else None,
        target=index.names[prediction.target] if prediction is not None and prediction.target is not None
        else None,
        activation=activation_reason(index, i),
        share=share, network=name, name_hint=name_hint(index.names[i]),
        in_loop=bool(index.frames[i]), loop_exit=index.ops[i] in tfops.LOOP_EXITS,
        scalar_statistic=index.ops[i] if index.shapes[i] == [] and index.ops[i] in tfops.REDUCTIONS else None,
        critic=_critic_logits(r, d),
        reconstruction=_reconstructed_input(r, d))


def activation_reason(index: GraphIndex, i: int) -> str | None:
    """The final activation at ``i`` or right behind its cosmetic tail (Identity of Softmax)."""
    current = i
    for _ in range(4):
        op = index.ops[current]
        if op in tfops.FINAL_ACTIVATIONS:
            ins = index.data_in[current]
            over = f" over '{index.names[ins[0]]}'" if ins else ""
            if current == i:
                return f"final activation: {op}{over}"
            return f"{index.ops[i]} of the final activation {op} '{index.names[current]}'"
        if op not in tfops.COSMETIC or not index.data_in[current]:
            return None
        current = index.data_in[current][0]
    return None


def one_example_slices(index: GraphIndex, model) -> set[int]:
    """StridedSlice nodes that index the first axis (``x[0]``): they keep one example of a batch."""
    found = set()
    for i, op in enumerate(index.ops):
        if op != "StridedSlice":
            continue
        attr = model.node_def(index.names[i]).attr
        if "shrink_axis_mask" in attr and attr["shrink_axis_mask"].i & 1:
            found.add(i)
    return found


def _twin_of_node(r: Roles, i: int) -> str | None:
    """Another prediction of the same loss with exactly the same weights and disjoint inputs:
    a siamese/triplet tower's twin (a metric-learning loss compares towers with each other)."""
    own = [p for p in r.predictions if p.node == i]
    if not own:
        return None
    bits_i, inputs_i = r.weight_bits[i], r.input_bits[i]
    for p in r.predictions:
        if any(p.loss == o.loss for o in own) and p.node != i and bits_i and r.weight_bits[p.node] == bits_i \
                and inputs_i and r.input_bits[p.node] and not inputs_i & r.input_bits[p.node]:
            return r.index.names[p.node]
    return None


def _critic_logits(r: Roles, d: Draft) -> str | None:
    """The logits at or right behind the candidate (through a final activation or a cosmetic
    tail) that a loss scores against constants only, in a graph trained by two or more
    optimizers: adversarial training, where one network judges another's output."""
    if len(r.training.optimizers) < 2:
        return None
    index = r.index
    against_constants = {p.node for p in r.predictions if p.target is None}
    current = d.i
    for _ in range(4):
        if current in against_constants:
            return None if _twin_of_node(r, current) else index.names[current]
        op = index.ops[current]
        if (op not in tfops.FINAL_ACTIVATIONS and op not in tfops.COSMETIC) or not index.data_in[current]:
            return None
        current = index.data_in[current][0]
    return None


def _reconstructed_input(r: Roles, d: Draft) -> str | None:
    """The target of the candidate's loss when it is the model's own input (computed from the
    feature inputs alone, through no weight) in a graph whose main objective is another: it also
    trains on labels, or adversarially (two or more optimizers: CycleGAN's cycle consistency)."""
    p = d.prediction
    if p is None or p.target is None or not (r.label_mask or len(r.training.optimizers) >= 2):
        return None
    t = p.target
    if r.weight_bits[t] or r.tainted[t] or not r.input_bits[t] & r.feature_mask:
        return None
    return r.index.names[t]
