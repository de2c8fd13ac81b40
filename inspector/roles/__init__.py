"""What every node of a graph is for: one roles pass per graph, shared by the ranking, the
diagnosis and the HTML view.

Each node gets one role:

======================  ===================================================================
``model``               the inference computation, its inputs, weights and constants
``loss``                a loss an optimizer minimizes, its arithmetic and regularizers
``gradient``            the backward pass (computed from a gradient seed)
``optimizer``           updates and optimizer state; state updates of the training step
``metric``              compares model values with labels, feeds no update
``summary``             TensorBoard summaries
``saver``               checkpoint save/restore
``initializer``         initial values, initialization checks, table initializers
``input_pipeline``      queues, readers, tf.data (their data outputs are the model's inputs)
``switch``              training-switch plumbing (is_training / keep_prob and the cond
                        predicates computed from them; the branches are ``model``)
``bookkeeping``         global_step and counters, grouping NoOps, assertions
======================  ===================================================================

Roles are derived from structure (:mod:`.training`, :mod:`.losses`, :mod:`.inputs`) and from op
families and the MetaGraphDef's records (:mod:`.machinery`), never from node names. A graph
without optimizer updates has no ``loss`` and no ``gradient`` roles: its label-dependent values
are ``metric``s. ``roles_of(model)`` computes them once per graph model and caches the result.
"""

from __future__ import annotations

import contextlib
import gc
import re
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from inspector import tfops
from inspector.graph.dead import dead_nodes
from inspector.graph.index import GraphIndex
from inspector.roles import flow
from inspector.roles.inputs import (
    FEATURE,
    FEED,
    LABEL,
    LEARNING_RATE,
    InputInfo,
    SwitchInput,
    classify_inputs,
    input_nodes,
    input_seeds,
    input_tensors,
    weight_values,
)
from inspector.roles.inputs import (
    SWITCH as SWITCH_INPUT,
)
from inspector.roles.losses import Prediction, loss_of_each, loss_only, predictions_of
from inspector.roles.machinery import (
    BOOKKEEPING,
    GRADIENT,
    INITIALIZER,
    LOSS,
    METRIC,
    MODEL,
    OPTIMIZER,
    PIPELINE,
    SAVER,
    SUMMARY,
    SWITCH,
    spread,
    type_roles,
    write_roles,
)
from inspector.roles.records import MetaRecords, records_from
from inspector.roles.training import Training, find_training

ROLES = (MODEL, LOSS, GRADIENT, OPTIMIZER, METRIC, SUMMARY, SAVER, INITIALIZER, PIPELINE, SWITCH,
         BOOKKEEPING)
#: What each role means, in the words the report uses.
DESCRIPTIONS = {
    MODEL: "the inference computation",
    LOSS: "a training loss, its arithmetic and regularizers",
    GRADIENT: "the backward pass (gradients)",
    OPTIMIZER: "optimizer updates and state, state updates of the training step",
    METRIC: "metrics comparing the model's values with labels",
    SUMMARY: "TensorBoard summaries",
    SAVER: "checkpoint save/restore",
    INITIALIZER: "initial values and initialization",
    PIPELINE: "input pipeline (queues, readers, tf.data)",
    SWITCH: "training-switch plumbing (is_training, keep_prob)",
    BOOKKEEPING: "counters, grouping and assertions",
}
TRAINING_ROLES = frozenset({LOSS, GRADIENT, OPTIMIZER})

__all__ = ["DESCRIPTIONS", "ROLES", "InputInfo", "Prediction", "Roles", "SwitchInput", "roles_of"]


@dataclass
class Roles:
    """The roles of one graph and the evidence they were derived from (ints index ``index``)."""

    index: GraphIndex
    records: MetaRecords
    role: list[str]
    training: Training
    inputs: list[InputInfo]
    weights: list[int]                 # node indices, bit k = weights[k]
    weight_sizes: list[int]
    weight_bits: list[int]
    input_bits: list[int]              # bit k = inputs[k]
    feature_mask: int
    label_mask: int
    weight_value: list[bool]           # the value of a weight (the weight, a read, a loop entry of it)
    from_data: list[bool]              # computed from an input or a random draw
    forward: list[bool]                # computed from an input, a weight or a random draw
    tainted: list[bool]                # computed from a label input
    frozen: bool
    losses: list[int] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    #: values later stages derive from the roles once and reuse (the ranking's networks, …)
    derived: dict = field(default_factory=dict)
    #: the graph model, weakly (the cache is keyed by it): for the rare look at a node's attrs
    model_ref: Callable[[], object] = field(default=lambda: None, repr=False)

    # -- queries ------------------------------------------------------------------------------

    def of(self, name: str) -> str:
        """The role of node ``name`` (``name:k`` and ``^name`` accepted)."""
        i = self.index.node_index(name)
        if i is None:
            raise KeyError(name)
        return self.role[i]

    def counts(self) -> dict[str, int]:
        """Nodes per role, in the order of :data:`ROLES` (roles with no node left out)."""
        counts = Counter(self.role)
        return {role: counts[role] for role in ROLES if counts[role]}

    @property
    def has_training(self) -> bool:
        return bool(self.training)

    @property
    def switches(self) -> dict[str, SwitchInput]:
        return {info.name: info.switch for info in self.inputs if info.switch is not None}

    @property
    def weight_total(self) -> int:
        return sum(self.weight_sizes)

    @property
    def sources_are_random(self) -> bool:
        """No feature input, but random draws (a GAN sampler from noise)."""
        return not self.feature_mask and any(op in tfops.RANDOM for op in self.index.ops)

    def share(self, i: int) -> float:
        """Share of the model's trainable weights (by elements) node ``i`` is computed from."""
        return flow.share_of(self.weight_bits[i], self.weight_sizes, self.weight_total)

    def feature_names(self, i: int) -> list[str]:
        names = [info.name for info in self.inputs]
        return flow.names_of(self.input_bits[i] & self.feature_mask, names)

    def label_tainted(self, i: int) -> bool:
        return self.tainted[i]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def roles_of(model, meta_graph=None) -> Roles:
    """The roles of ``model``'s graph (cached per model object). ``meta_graph`` defaults to the
    model's own MetaGraphDef, whose records (saver, collections) are evidence too."""
    if meta_graph is None:
        meta_graph = getattr(model, "meta_graph", None)
    with contextlib.suppress(TypeError):
        cached = _CACHE.get(model)
        if cached is not None and cached[0] is meta_graph:
            return cached[1]
    with _gc_paused():
        result = _compute(model, meta_graph)
    with contextlib.suppress(TypeError):
        _CACHE[model] = (meta_graph, result)
    return result


@contextlib.contextmanager
def _gc_paused():
    """The pass allocates a few lists per node and no reference cycles; with a large graph model
    in memory every automatic collection would rescan it. Pause the collector meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compute(model, meta_graph) -> Roles:
    index = GraphIndex.from_model(model)
    records = records_from(index, meta_graph)
    role = type_roles(index, records)
    ops = index.ops
    inputs = input_nodes(index)
    variables = [i for i, op in enumerate(ops) if op in tfops.VARIABLES]
    data_sources = set(inputs) | {i for i, op in enumerate(ops) if op in tfops.RANDOM}
    training = find_training(index, model, [bool(r) for r in role], data_sources, variables)
    _assign(role, training.backward, GRADIENT)
    _assign(role, training.optimizer, OPTIMIZER)
    from_state = flow.computed_from(index, set(inputs) | set(variables), [r in TRAINING_ROLES for r in role])
    write_roles(index, model, role, from_state)
    forward = flow.computed_from(index, data_sources | set(variables), [bool(r) for r in role])
    _accumulated_values(index, role)
    spread(index, role, forward, protected=set(inputs) | training.trained_weights)

    frozen = not variables
    weights = _trainable_weights(index, records, role, frozen)
    weight_value = weight_values(index, set(weights))
    sizes = _weight_sizes(index, model, weights, weight_value)
    blocked = [bool(r) for r in role]
    weight_bits = flow.propagate_bits(index, {w: 1 << k for k, w in enumerate(weights)}, blocked)
    tensors = input_tensors(index, model, [i for i in inputs if not role[i]])
    seeds = input_seeds(index, model, tensors)
    input_bits = flow.propagate_bits(index, seeds, blocked)
    infos = classify_inputs(index, model, role, tensors, bool(weights), weight_value, weight_bits, input_bits)
    dead = _dead_at_inference(index, model, infos)
    if dead:
        # what each input is for, judged where it flows at inference: an input that reaches a
        # layer only through the branch a training switch turns off (CapsNet's labels masking
        # the capsules while training) is a label, not data the model needs
        blocked = [b or i in dead for i, b in enumerate(blocked)]
        input_bits = flow.propagate_bits(index, seeds, blocked)
        live_role = [r or ("dead" if i in dead else "") for i, r in enumerate(role)]
        at_inference = classify_inputs(index, model, live_role, tensors, bool(weights), weight_value,
                                       weight_bits, input_bits)
        infos = [new if old.kind == FEATURE else old for old, new in zip(infos, at_inference, strict=True)]
    feature_mask = _mask(infos, FEATURE)
    label_mask = _mask(infos, LABEL)
    tainted = [bool(bits & label_mask) for bits in input_bits] if label_mask else [False] * len(index)
    from_data = flow.computed_from(index, data_sources, blocked)
    roles = Roles(index, records, role, training, infos, weights, sizes, weight_bits, input_bits,
                  feature_mask, label_mask, weight_value, from_data, forward, tainted, frozen)
    with contextlib.suppress(TypeError):
        roles.model_ref = weakref.ref(model)
    if training:
        _find_losses(roles)
    _finish(roles)
    return roles


def _dead_at_inference(index: GraphIndex, model, infos: list[InputInfo]) -> set[int]:
    """Nodes that never run with each boolean training switch at its inference value: the
    branches of the v1 conds it selects (:mod:`inspector.graph.dead`)."""
    values = {info.index: info.switch.inference_value for info in infos
              if info.switch is not None and isinstance(info.switch.inference_value, bool)}
    if not values:
        return set()
    ports = set()
    for i, op in enumerate(index.ops):
        if op in tfops.SWITCHES and op != "_SwitchN":
            predicate = model.data_inputs(index.names[i])[1:2]
            source = _behind_identities(index, model, predicate[0].node) if predicate else None
            if source in values:
                ports.add((index.names[i], 0 if values[source] else 1))
    dead = dead_nodes(model, ports)
    # a Switch read only on its dead port passes nothing on (a Merge may read that port directly)
    for switch, port in ports:
        read = [ref.port for _, _, ref in model.consumers[switch] if not ref.control]
        if read and all(p == port for p in read):
            dead.add(switch)
    return {index.pos[name] for name in dead if name in index.pos}


def _behind_identities(index: GraphIndex, model, name: str) -> int | None:
    for _ in range(8):
        i = index.pos.get(name)
        if i is None or index.ops[i] not in tfops.IDENTITIES:
            return i
        refs = model.data_inputs(name)
        if not refs:
            return i
        name = refs[0].node
    return index.pos.get(name)


def _assign(role: list[str], nodes, kind: str) -> None:
    for i in nodes:
        if not role[i]:
            role[i] = kind


def _accumulated_values(index: GraphIndex, role: list[str]) -> None:
    """A value computed only to be added to a running total (the batch sum a streaming mean
    accumulates, Keras' running mean of the loss) is part of that metric."""
    for i in range(len(index)):
        consumers = index.data_out[i]
        if not role[i] and consumers and all(index.ops[j] in tfops.INCREMENTS for j in consumers):
            role[i] = METRIC


def _mask(infos: list[InputInfo], kind: str) -> int:
    mask = 0
    for k, info in enumerate(infos):
        if info.kind == kind:
            mask |= 1 << k
    return mask


def _trainable_weights(index: GraphIndex, records: MetaRecords, role: list[str], frozen: bool) -> list[int]:
    """The model's trainable weights: the trainable_variables collection when the MetaGraphDef has
    one, else every variable the model reads, else (frozen graph) its float constants of two or
    more elements (freezing turns every variable into a Const)."""
    if records.has_trainable_collection:
        found = {index.node_index(name) for name in records.trainable}
        chosen = [i for i in found if i is not None and not role[i]]
        if chosen:
            return sorted(chosen)
    if not frozen:
        return [i for i, op in enumerate(index.ops) if op in tfops.VARIABLES and not role[i]]
    return [i for i, op in enumerate(index.ops) if not role[i] and op in tfops.CONSTANTS
            and index.dtypes[i] in ("float16", "bfloat16", "float32", "float64")
            and flow.num_elements(index.shapes[i]) >= 2]


def _weight_sizes(index: GraphIndex, model, weights: list[int], value: list[bool]) -> list[int]:
    """Element counts; a copy of another weight (a DQN's target network) counts for nothing.

    Such a variable is trainable in name only: no optimizer learns it, an assign copies the
    learned network into it now and then. Counting it would make the network that is actually
    trained look like half of the model.
    """
    sizes = [flow.num_elements(index.shapes[w]) for w in weights]
    chosen = set(weights)
    copies = set()
    for i, op in enumerate(index.ops):
        if op not in tfops.ASSIGNS:
            continue
        refs = [index.pos.get(r.node) for r in model.data_inputs(index.names[i])]
        if len(refs) == 2 and refs[0] in chosen and refs[1] is not None and value[refs[1]] \
                and refs[1] not in chosen:
            copies.add(refs[0])
    if copies and len(copies) < len(weights):
        sizes = [0 if w in copies else size for w, size in zip(weights, sizes, strict=True)]
    return sizes


def _find_losses(roles: Roles) -> None:
    """Losses per optimizer, their predictions and the loss region (see :mod:`.losses`)."""
    index, role, training = roles.index, roles.role, roles.training
    live = [not r for r in role]
    found = loss_of_each(index, live, roles.forward, [opt.backward for opt in training.optimizers],
                         [opt.differentiated for opt in training.optimizers])
    for optimizer, loss in zip(training.optimizers, found, strict=True):
        optimizer.loss = loss
    losses = sorted({loss for loss in found if loss is not None})
    _assign(role, losses, LOSS)
    _absorb_into_gradient(index, role, roles.inputs)
    live = [not r or i in losses for i, r in enumerate(role)]
    only = loss_only(index, live, set(losses))
    weight_value = roles.weight_value
    region: set[int] = set()
    predictions: list[Prediction] = []
    for loss in losses:
        predictions += predictions_of(index, loss, live, only, roles.weight_bits, roles.input_bits,
                                      roles.from_data, weight_value, region)
    behind = flow.ancestors(index, [p.node for p in predictions], within=live) | {p.node for p in predictions}
    region |= {i for i in range(len(index)) if only[i] and i not in behind and not _is_input(roles, i)}
    _assign(role, region, LOSS)
    roles.losses = losses
    roles.predictions = predictions


def _absorb_into_gradient(index: GraphIndex, role: list[str], inputs: list[InputInfo]) -> None:
    """Forward values only the backward pass reads are gradient machinery: what a gradient
    function computes for itself from forward values, the accumulators a while loop keeps for
    its gradient. Consumers before producers; a loss (already marked) stops the spread."""
    protected = {info.index for info in inputs}
    for i in reversed(index.order):
        consumers = index.data_out[i] + index.ctrl_out[i]
        if not role[i] and i not in protected and consumers and all(role[j] == GRADIENT for j in consumers):
            role[i] = GRADIENT


def _is_input(roles: Roles, i: int) -> bool:
    return any(info.index == i for info in roles.inputs)


def _finish(roles: Roles) -> None:
    """Metrics, forward values only the backward pass reads, inputs, switch plumbing, model."""
    index, role = roles.index, roles.role
    inputs = {info.index for info in roles.inputs}
    for i in range(len(index)):
        if not role[i] and roles.tainted[i] and i not in inputs:
            role[i] = METRIC
    _metric_internals(roles, inputs)
    _summary_internals(roles, inputs)
    for info in roles.inputs:
        role[info.index] = role[info.index] or _input_role(roles, info)
    switch_mask = _mask(roles.inputs, SWITCH_INPUT)
    for i in range(len(index)):
        bits = roles.input_bits[i]
        if not role[i] and bits and not bits & ~switch_mask and not roles.weight_bits[i]:
            role[i] = SWITCH
    for i in range(len(index)):
        if not role[i]:
            role[i] = MODEL


def _metric_internals(roles: Roles, inputs: set[int]) -> None:
    """What a metric computes from the prediction before comparing it with the labels (a
    streaming AUC reshapes, tiles and thresholds the scores; an accuracy takes their argmax;
    assertions check their range) is the metric's.

    Values only metrics and bookkeeping read form a region after the model; where the model
    enters it, the prediction continues through the model's own final ops — a final activation,
    cosmetic reshapes (``Reshape(Softmax(...))``, slim's ``Predictions``) — up to the first
    decision or other op the metric applies. That chain stays the model's; the rest of the
    region is the metric's. A layer (an op reading a weight) is never a metric's, nor a decision
    the author made part of the model (:func:`_the_models_decision`).
    """
    _internals(roles, inputs, METRIC, decisions_are_its_own=True)


def _summary_internals(roles: Roles, inputs: set[int]) -> None:
    """What is computed from a model value only to be summarized (slim's activation summaries
    take a zero fraction of every activation through a cond and a count; an image summary of a
    depth map divides it by its maximum) is the summary's, found as the metrics' internals are:
    the value the model hands over, and its final activation and cosmetic tail, stay the
    model's (a summarized prediction is still a prediction), the statistics are not. A decision
    the model hands over (a segmentation map shown as an image) stays the model's too."""
    _internals(roles, inputs, SUMMARY, decisions_are_its_own=False)


def _internals(roles: Roles, inputs: set[int], kind: str, decisions_are_its_own: bool) -> None:
    index, role = roles.index, roles.role
    if kind not in role and BOOKKEEPING not in role:
        return  # nothing reads only for it: no node can be its internals
    weight_value = roles.weight_value
    only = [False] * len(index)
    for i in reversed(index.order):
        if role[i] or i in inputs or any(weight_value[j] for j in index.data_in[i]) \
                or (index.ops[i] in tfops.DECISIONS and _the_models_decision(index, i)):
            continue
        readers = [j for j in index.data_out[i] + index.ctrl_out[i] if not index.shape_only[j]]
        only[i] = bool(readers) and all(role[j] in (kind, BOOKKEEPING) or (not role[j] and only[j])
                                        for j in readers)
    kept: set[int] = set()
    for i in range(len(index)):
        if not only[i] or index.ops[i] in tfops.SWITCHES:
            continue  # (a Switch only routes the value into the machinery's own cond)
        entered_from = [j for j in index.data_in[i] if not only[j] and (not role[j] or j in inputs)]
        if not entered_from:
            continue
        if decisions_are_its_own and (index.ops[i] in tfops.DECISIONS
                                      or any(index.ops[j] in tfops.DECISIONS for j in entered_from)):
            continue  # (after the model's own decision, what the metric does is the metric's)
        kept |= _prediction_chain(index, i, only)
    for i in range(len(index)):
        if only[i] and i not in kept:
            role[i] = kind


def _the_models_decision(index: GraphIndex, i: int) -> bool:
    """A decision the author made part of the model: named by them (``tf.argmax(logits, 1,
    name="prediction")``, fetched even when only the accuracy reads it), or computed once and
    measured several ways (``pred = tf.argmax(logits, 1)`` handed to ``tf.metrics.accuracy`` and
    to a batch accuracy summary); an argmax written inline in one accuracy is the metric's."""
    readers = {j for j in index.data_out[i] if not index.shape_only[j]}
    return author_named(index, i) or (index.ops[i] in tfops.CLASS_DECISIONS and len(readers) >= 2)


def _prediction_chain(index: GraphIndex, entry: int, only: list[bool]) -> set[int]:
    """From where the model enters the metrics, along its single reader through final
    activations and cosmetic ops (not decisions)."""
    chain = {entry}
    current = entry
    while True:
        readers = [j for j in index.data_out[current] if not index.shape_only[j]]
        if len(readers) != 1 or not only[readers[0]] or readers[0] in chain:
            return chain
        op = index.ops[readers[0]]
        if op in tfops.DECISIONS or (op not in tfops.COSMETIC and op not in tfops.FINAL_ACTIVATIONS):
            return chain
        current = readers[0]
        chain.add(current)


def author_named(index: GraphIndex, i: int) -> bool:
    """The author chose this node's name (``tf.argmax(x, 1, name="prediction")``): TensorFlow
    names an op it creates after its type (``ArgMax``, ``scope/ArgMax_1``). This is about whether
    a name was chosen, never about what it says."""
    last = index.names[i].rsplit("/", 1)[-1]
    return re.sub(r"_\d+$", "", last) != index.ops[i]


def _input_role(roles: Roles, info: InputInfo) -> str:
    if info.kind == FEATURE:
        return MODEL
    if info.kind == LABEL:
        consumers = roles.index.data_out[info.index]
        return LOSS if any(roles.role[j] == LOSS for j in consumers) else METRIC
    if info.kind == SWITCH_INPUT:
        return OPTIMIZER if info.switch is not None and info.switch.kind == LEARNING_RATE else SWITCH
    if info.kind == FEED:
        kinds = [roles.role[j] for j in roles.index.data_out[info.index] if roles.role[j]]
        return max(set(kinds), key=kinds.count) if kinds else BOOKKEEPING
    return MODEL
