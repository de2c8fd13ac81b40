"""The bookkeeping around a model: saver, summaries, initializers, input pipeline, counters and
variable writes — recognised by op family and by the MetaGraphDef's own records, then spread to
what exists only to serve them.

Three steps, each linear:

1. **by type** (:func:`type_roles`): an op family says on its own what a node is for (a
   ``SaveV2`` saves, a ``ScalarSummary`` summarizes, a ``NoOp`` groups), and so does the
   MetaGraphDef (its ``saver_def``, ``train_op``, ``summaries``, ``init_op`` … records);
2. **writes** (:func:`write_roles`): a variable write that is not an optimizer update is a
   restore (the saver's), an initializer (the value comes from constants and random draws, or is
   fed), a counter (an increment of a step or metric variable) or a state update of the training
   step (batch-norm moving averages, fake-quant ranges, a target network's copy);
3. **spread** (:func:`spread`): what consumes the value of bookkeeping is bookkeeping (a summary
   merge, a metric's ``update_op``); what exists only to feed bookkeeping is too (an initial
   value, a learning-rate constant) — except values of the forward pass, which stay the model's
   unless only bookkeeping of the *training step* reads them (the batch statistics that a
   moving-average update alone consumes).
"""

from __future__ import annotations

from inspector import tfops
from inspector.graph.index import GraphIndex
from inspector.roles.records import MetaRecords

MODEL, LOSS, GRADIENT, OPTIMIZER, METRIC = "model", "loss", "gradient", "optimizer", "metric"
SUMMARY, SAVER, INITIALIZER, PIPELINE, SWITCH, BOOKKEEPING = (
    "summary", "saver", "initializer", "input_pipeline", "switch", "bookkeeping")

#: Roles whose consumers share them: anything computed from a gradient, an update, a summary, a
#: counter or an is-initialized check belongs to the same machinery. The input pipeline is not
#: spread downstream: what consumes a dequeue is the model.
SPREAD_DOWN = frozenset({GRADIENT, OPTIMIZER, SAVER, SUMMARY, METRIC, BOOKKEEPING, INITIALIZER})
#: Roles that may take in a value of the forward pass when they are its only consumers: a
#: moving-average update alone reads the batch statistics; a saver or an initializer alone
#: reads what it saves or sets; an assertion alone reads the boolean check it asserts (only a
#: boolean: the value checked stays the model's, even when nothing else reads it). Summaries
#: and metrics reading a forward value do not make it theirs (a histogram or a streaming AUC of
#: the prediction must not hide it; the metric's own arithmetic is found with the labels), nor
#: does the backward pass (it reads forward values, the loss among them).
ABSORB_FORWARD = frozenset({OPTIMIZER, INITIALIZER, SAVER, PIPELINE, BOOKKEEPING})


def type_roles(index: GraphIndex, records: MetaRecords) -> list[str]:
    """Step 1: roles an op family or the MetaGraphDef's records give a node on its own."""
    role = [""] * len(index)
    saver_scopes = tuple(records.saver_scopes)
    by_op = {op: _role_of_op(op) for op in set(index.ops)}
    for i, (name, op) in enumerate(zip(index.names, index.ops, strict=True)):
        if saver_scopes and name.startswith(saver_scopes) and op not in tfops.VARIABLES:
            role[i] = SAVER
        else:
            role[i] = by_op[op]
    for names, kind in ((records.train_ops, OPTIMIZER), (records.summaries, SUMMARY),
                        (records.metric_variables, METRIC), (records.global_step, BOOKKEEPING),
                        (records.init_ops, INITIALIZER), (records.saver_nodes, SAVER)):
        for name in names:
            i = index.node_index(name)
            if i is not None:
                role[i] = kind
    return role


def _role_of_op(op: str) -> str:
    if op in tfops.SAVE_RESTORE:
        return SAVER
    if op in tfops.SUMMARIES:
        return SUMMARY
    if op in tfops.VARIABLE_INIT_CHECKS or op in tfops.TABLE_INITIALIZERS:
        return INITIALIZER
    if op in tfops.OPTIMIZER_UPDATES:
        return OPTIMIZER
    if tfops.is_input_pipeline(op) and op not in tfops.DATA_PRODUCERS:
        return PIPELINE
    if op in tfops.NO_OPS or op in tfops.SIDE_EFFECTS_WITHOUT_OUTPUT:
        return BOOKKEEPING
    return ""


def write_roles(index: GraphIndex, model, role: list[str], from_data: list[bool]) -> None:
    """Step 2: the role of each variable write that is neither an update nor the saver's.

    ``from_data`` marks values computed from an input or a variable (not from constants and
    random draws alone, which is what initial values are made of).
    """
    for i, op in enumerate(index.ops):
        if role[i] or op not in tfops.STATE_WRITES or computes_with_written_value(index, i):
            continue
        refs = model.data_inputs(index.names[i])
        target = _variable_behind(index, model, refs[0].node) if refs else None
        values = [index.pos[r.node] for r in refs[1:] if r.node in index.pos]
        if target is not None and role[target] in (METRIC, BOOKKEEPING):
            role[i] = role[target]
        elif op in tfops.INCREMENTS:
            role[i] = BOOKKEEPING
        elif not any(from_data[j] for j in values) or \
                any(index.ops[j] in tfops.PLACEHOLDERS for j in values):
            role[i] = INITIALIZER
        else:
            role[i] = OPTIMIZER


def computes_with_written_value(index: GraphIndex, i: int) -> bool:
    """A write whose output an op other than a write reads as data: its written value is part
    of the computation (quantization-aware training's fake-quant ops read the assigns that move
    their min/max ranges), not a side effect of the step."""
    return any(index.ops[j] not in tfops.STATE_WRITES for j in index.data_out[i])


def _variable_behind(index: GraphIndex, model, name: str) -> int | None:
    for _ in range(8):
        i = index.pos.get(name)
        if i is None:
            return None
        if index.ops[i] in tfops.VARIABLES:
            return i
        refs = model.data_inputs(name)
        if index.ops[i] not in tfops.VARIABLE_FORWARDERS or not refs:
            return None
        name = refs[0].node
    return None


def spread(index: GraphIndex, role: list[str], forward: list[bool], protected: set[int]) -> None:
    """Step 3: downstream, then upstream (consumers before producers).

    ``forward`` marks values of the forward pass; ``protected`` nodes (the graph's inputs, whose
    role the input classification decides) are never absorbed.
    """
    data_in = index.data_in
    for i in index.order:
        if role[i] or index.ops[i] in tfops.FUNCTIONAL:
            continue
        for j in data_in[i]:
            if role[j] in SPREAD_DOWN:
                role[i] = role[j]
                break
    for i in reversed(index.order):
        if role[i] or i in protected:
            continue
        # a forward value is judged by who reads it; waiting on it (a control edge from a grouping
        # NoOp, Keras' group_deps) says nothing about what it is
        consumers = index.data_out[i] if forward[i] else index.data_out[i] + index.ctrl_out[i]
        if not consumers:
            continue
        kinds = [role[j] for j in consumers]
        if not all(kinds) or MODEL in kinds or LOSS in kinds or SWITCH in kinds:
            continue
        allowed = ABSORB_FORWARD if index.dtypes[i] == "bool" else ABSORB_FORWARD - {BOOKKEEPING}
        if forward[i] and not set(kinds) <= allowed and not _formats_for_summary(index, i, kinds):
            continue
        role[i] = max(set(kinds), key=kinds.count)


def _formats_for_summary(index: GraphIndex, i: int, kinds: list[str]) -> bool:
    """A cast or reshape read only by an image or audio summary (directly or through more of
    them) formats a value for it (``tf.summary.image`` wants a channel axis and uint8): the
    summary's, so the value it formats is what is watched. A reshape a histogram reads is the
    model's own (slim's Predictions/Reshape_1 restores the logits' shape)."""
    if set(kinds) != {SUMMARY} or index.ops[i] not in tfops.COSMETIC:
        return False
    return all(index.ops[j] in tfops.FORMATTED_SUMMARIES or index.ops[j] in tfops.COSMETIC
               for j in index.data_out[i])
