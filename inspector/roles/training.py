"""The training step, found from the structure of the graph: optimizer updates, the gradient
computation that feeds them, and the optimizer's own state.

A training graph holds the model and, beside it, the machinery that trains it. Op types alone
cannot tell them apart — ``Conv2DBackpropInput`` is a convolution's gradient and the forward op
of ``conv2d_transpose``; a ``MatMul`` is a layer or a weight gradient — but the data flow can:

1. **Updates**: the optimizer ops (``Apply*``), and any variable write whose value is computed
   from a gradient kernel (Keras-style ``Assign(w, w - lr * g)``). No updates: no training roles.
2. **The gradient seed**: ``tf.gradients`` starts the backward pass from a tensor of ones
   (``Fill(shape(loss), 1)`` or ``OnesLike``), computed from constants and shapes only and used
   by the training step alone (nothing outside the update machinery depends on it).
3. **The backward pass** is everything computed from a seed (up to the updates): forward values
   are never computed from the gradient. Constants and shapes that only the backward pass reads
   belong to it too.
4. **Optimizer state**: what the updates need that is neither the backward pass nor the model —
   learning rates and their schedules, slots (momentum, Adam's moments), the update arithmetic
   that mixes gradients with them.

Each update is grouped with the others computed from the same seeds: one group per loss that is
minimized (a GAN's generator and discriminator are two groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector import tfops
from inspector.graph.index import GraphIndex
from inspector.roles import flow
from inspector.roles.machinery import computes_with_written_value

# Roles this module assigns (the constants live in inspector.roles; repeated here as plain
# strings to keep this module free of a circular import).
GRADIENT = "gradient"
OPTIMIZER = "optimizer"


@dataclass
class Optimizer:
    """One group of updates that minimize one loss: its update ops, seeds and trained weights."""

    name: str
    updates: list[int]
    seeds: list[int]
    trained: set[int] = field(default_factory=set)   # variables its updates write (weights or slots)
    backward: set[int] = field(default_factory=set)  # its backward pass
    differentiated: int | None = None  # the value its seed takes the shape of (Fill(Shape(loss), 1))
    loss: int | None = None


@dataclass
class Training:
    """What the training step is made of (empty when the graph has no optimizer updates)."""

    updates: set[int] = field(default_factory=set)
    backward: set[int] = field(default_factory=set)
    optimizer: set[int] = field(default_factory=set)
    state_variables: set[int] = field(default_factory=set)
    trained_weights: set[int] = field(default_factory=set)  # what optimizer ops train (their input 0)
    optimizers: list[Optimizer] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.updates)


def find_training(index: GraphIndex, model, neutral: list[bool], data_sources: set[int],
                  variables: list[int]) -> Training:
    """The training step of the graph. ``neutral`` marks nodes already known to be bookkeeping
    (summaries, saver, initializers …): using a value there does not make it part of the model.
    ``data_sources`` are the inputs and random draws a forward pass is computed from."""
    updates = _updates(index, model)
    if not updates:
        return Training()
    in_step = _training_step(index, updates)
    sources = data_sources | set(variables)
    value_free = [not v for v in flow.computed_from(index, sources, [False] * len(index))]
    candidates = [i for i in in_step
                  if _is_seed(index, model, i) and _meets_the_step(index, i, value_free, in_step)]
    seeds = _in_gradient_scope(index, candidates)
    if len(seeds) > 1 and seeds == candidates:
        # no kernel scope to tell them apart: keep the tensors of ones whose values meet only what
        # the step waits for (tf.gradients groups even the unused gradients with control edges)
        waited = flow.ancestors(index, updates, stop_at_shapes=True, control=True) | updates
        seeds = [i for i in seeds if _meets_only(index, i, value_free, waited)] or seeds
    backward = _computed_from_seeds(index, seeds, updates, in_step, neutral)
    forward = flow.computed_from(index, data_sources, blocked=_blocked(index, backward, updates))
    backward |= _read_only_by(index, backward, forward)
    backward |= _left_in_gradient_scope(index, seeds, backward | updates)
    model_side = _feeds(index, forward)
    optimizer = {i for i in in_step if i not in backward and not forward[i] and not model_side[i]}
    # the variable an optimizer op trains (its input 0) is a weight, even where nothing else reads it
    trained = {v for u in updates if index.ops[u] in tfops.OPTIMIZER_UPDATES
               and (v := _written_variable(index, model, u)) is not None}
    optimizer -= trained
    state_variables = {i for i in variables if i in optimizer}
    # update arithmetic that mixes a gradient with optimizer state (m_t = b1 * m + (1 - b1) * g)
    optimizer |= flow.descendants(index, state_variables, within=backward | updates | optimizer) & backward
    backward -= optimizer
    optimizer |= updates
    training = Training(updates, backward, optimizer, state_variables, trained)
    training.optimizers = _group(index, model, updates, seeds, backward)
    return training


def _updates(index: GraphIndex, model) -> set[int]:
    """Optimizer ops, and variable writes whose written value comes from a gradient kernel."""
    ops = index.ops
    updates = {i for i, op in enumerate(ops) if op in tfops.OPTIMIZER_UPDATES}
    kernels = {i for i, op in enumerate(ops) if tfops.is_gradient_kernel(op)}
    if not kernels:
        return updates
    from_gradient = flow.computed_from(index, kernels, blocked=[False] * len(index))
    for i, op in enumerate(ops):
        if op in tfops.STATE_WRITES and i not in updates and any(from_gradient[j] for j in index.data_in[i]):
            values = [index.pos.get(ref.node) for ref in model.data_inputs(index.names[i])[1:]]
            if any(j is not None and from_gradient[j] for j in values):
                updates.add(i)
    return updates


def _training_step(index: GraphIndex, updates: set[int]) -> set[int]:
    """Everything the updates read, through values (a Shape reads no value: the loss it
    measures is not part of the step)."""
    return flow.ancestors(index, updates, stop_at_shapes=True) - updates


def _meets_the_step(index: GraphIndex, candidate: int, value_free: list[bool], step: set[int]) -> bool:
    """Whether a tensor of ones meets a value of the graph inside the training step.

    Its descendants stay free of data (constants and shapes) until they meet a value of the
    graph; a gradient seed meets the forward values its gradient functions read, inside the
    step. A tensor of ones that only forward computations use (an RNN's initial state, a GAN's
    target labels nothing trains on) does not.
    """
    seen, stack = {candidate}, [candidate]
    while stack:
        for j in index.data_out[stack.pop()]:
            if j in seen:
                continue
            seen.add(j)
            if value_free[j]:
                stack.append(j)
            elif j in step:
                return True
    return False


def _meets_only(index: GraphIndex, candidate: int, value_free: list[bool], allowed: set[int]) -> bool:
    """Whether every value of the graph a tensor of ones meets lies in ``allowed``."""
    seen, stack = {candidate}, [candidate]
    while stack:
        for j in index.data_out[stack.pop()]:
            if j in seen:
                continue
            seen.add(j)
            if value_free[j]:
                stack.append(j)
            elif j not in allowed:
                return False
    return True


def _in_gradient_scope(index: GraphIndex, candidates: list[int]) -> list[int]:
    """Of several tensors of ones, those in the name scope TensorFlow gave the backward kernels.

    ``tf.gradients`` creates its seed and every backward op in one name scope of its own (it
    chooses it, not the model's author: ``gradients``, ``gradients_1``, ``training/SGD/gradients``).
    A tensor of ones in the loss's own scope (the weights ``tf.losses`` averages with) meets
    the step too when the backward pass reads what it computes; the kernels' scope settles it.
    Without backward kernels, or when no candidate shares their scope, all stay.
    """
    if len(candidates) < 2:
        return candidates
    scopes: set[str] = set()
    for name, op in zip(index.names, index.ops, strict=True):
        if tfops.is_gradient_kernel(op):
            parts = name.split("/")
            scopes.update("/".join(parts[:k]) for k in range(1, len(parts)))
    chosen = [i for i in candidates if index.names[i].rpartition("/")[0] in scopes]
    return chosen or candidates


def _is_seed(index: GraphIndex, model, i: int) -> bool:
    """A tensor of ones made from constants and shapes: ``Fill(dims, 1)`` or ``OnesLike``."""
    op = index.ops[i]
    if op == "OnesLike":
        return True
    if op != "Fill" or len(index.data_in[i]) != 2:
        return False
    ins = model.inputs[index.names[i]]
    value = ins[1].node if len(ins) > 1 and not ins[1].control else None
    return value is not None and _is_scalar_one(model, value)


def _is_scalar_one(model, name: str) -> bool:
    node = model.node_def(name) if name in model else None
    if node is None or node.op != "Const" or "value" not in node.attr:
        return False
    tensor = node.attr["value"].tensor
    if tensor.tensor_shape.dim and any(d.size != 1 for d in tensor.tensor_shape.dim):
        return False
    if getattr(model, "lazy", None):  # its value may have been left out of the parse
        tensor = model.lazy.tensor(node)
    for values in (tensor.float_val, tensor.double_val, tensor.half_val, tensor.int_val, tensor.int64_val):
        if len(values) == 1:
            return values[0] == 1
    if tensor.tensor_content:
        import numpy as np

        from inspector.readers import dtypes

        if not dtypes.is_known(tensor.dtype):
            return False
        dtype = dtypes.by_value(tensor.dtype).numpy
        if dtype is None or len(tensor.tensor_content) != np.dtype(dtype).itemsize:
            return False
        return bool(np.frombuffer(tensor.tensor_content, dtype=dtype)[0] == 1)
    return False


def _computed_from_seeds(index: GraphIndex, seeds: list[int], updates: set[int], in_step: set[int],
                         neutral: list[bool]) -> set[int]:
    """The backward pass proper: everything computed from a seed, up to the updates."""
    # without a standard seed (grad_ys given by hand): the backward kernels and what follows them
    starts = seeds or [i for i in in_step if tfops.is_gradient_kernel(index.ops[i])]
    return {i for i in flow.descendants(index, starts) - updates if not neutral[i]}


def _read_only_by(index: GraphIndex, backward: set[int], forward: list[bool]) -> set[int]:
    """Constants and shapes that only the backward pass reads (the seed's shape, the zeros of
    unused outputs' gradients). Forward values the gradient functions compute for themselves
    (``2 * x`` of a Square's gradient) are found once the loss is known (roles.losses)."""
    found: set[int] = set()
    for i in reversed(index.order):
        if i in backward or forward[i] or _reads_variable(index, i):
            continue
        consumers = index.data_out[i]
        if consumers and all(j in backward or j in found for j in consumers):
            found.add(i)
    return found


def _left_in_gradient_scope(index: GraphIndex, seeds: list[int], backward: set[int]) -> set[int]:
    """What ``tf.gradients`` built in its own name scope and then left unused (the zeros of
    unused outputs' gradients, shapes it measured and never read): nodes of the seed's scope that
    nothing reads but the backward pass. The scope counts only when backward kernels share it
    (tf.gradients chose it: ``gradients``, ``gradients_1``, ``training/SGD/gradients``); without
    this such leftovers would be ends of the model."""
    scopes = {index.names[s].rpartition("/")[0] for s in seeds} - {""}
    scopes = {scope for scope in scopes if any(
        name.startswith(scope + "/") and tfops.is_gradient_kernel(op)
        for name, op in zip(index.names, index.ops, strict=True))}
    if not scopes:
        return set()
    prefixes = tuple(scope + "/" for scope in scopes)
    found: set[int] = set()
    for i in reversed(index.order):
        if i in backward or not index.names[i].startswith(prefixes):
            continue
        if all(j in backward or j in found for j in index.data_out[i] + index.ctrl_out[i]):
            found.add(i)
    return found


def _reads_variable(index: GraphIndex, i: int) -> bool:
    return index.ops[i] in tfops.VARIABLES or index.ops[i] in tfops.VARIABLE_FORWARDERS


def _blocked(index: GraphIndex, backward: set[int], updates: set[int]) -> list[bool]:
    """Nodes a forward pass never flows through: the backward pass, the updates, every write
    but those whose written value the model computes with."""
    blocked = [op in tfops.STATE_WRITES and not computes_with_written_value(index, i)
               for i, op in enumerate(index.ops)]
    for i in backward | updates:
        blocked[i] = True
    return blocked


def _feeds(index: GraphIndex, forward: list[bool]) -> list[bool]:
    """Nodes whose value reaches the forward pass (weights, the model's constants); the rest of
    what the step reads is the optimizer's (learning rates, slots, their schedules)."""
    feeds = [False] * len(index)
    for _ in range(flow.MAX_LOOP_PASSES if flow.has_loops(index) else 1):
        changed = False
        for i in reversed(index.order):
            if not feeds[i] and any(forward[j] or feeds[j] for j in index.data_out[i]):
                feeds[i] = changed = True
        if not changed:
            break
    return feeds


def _group(index: GraphIndex, model, updates: set[int], seeds: list[int],
           backward: set[int]) -> list[Optimizer]:
    """One group per set of seeds the updates are computed from (one per minimized loss)."""
    seed_bits = flow.propagate_bits(index, {s: 1 << k for k, s in enumerate(seeds)},
                                    blocked=[False] * len(index))
    groups: dict[int, list[int]] = {}
    for u in sorted(updates):
        groups.setdefault(seed_bits[u], []).append(u)
    optimizers = []
    for bits, members in groups.items():
        own_seeds = [s for k, s in enumerate(seeds) if bits >> k & 1]
        name = _optimizer_name([index.names[u] for u in members])
        trained = {v for u in members if (v := _written_variable(index, model, u)) is not None}
        own_backward = {b for b in backward if seed_bits[b] & bits} if bits else set(backward)
        shaped = {d for s in own_seeds if (d := _differentiated(index, model, s)) is not None}
        optimizers.append(Optimizer(name, members, own_seeds, trained, own_backward,
                                    shaped.pop() if len(shaped) == 1 else None))
    return optimizers


def _differentiated(index: GraphIndex, model, seed: int) -> int | None:
    """The value a seed is shaped after: ``Fill(Shape(y), 1)`` or ``OnesLike(y)`` names the ``y``
    tf.gradients differentiates (TensorFlow writes a constant shape instead when y's is static)."""
    refs = model.data_inputs(index.names[seed])
    if not refs or refs[0].node not in index.pos:
        return None
    first = index.pos[refs[0].node]
    if index.ops[seed] == "OnesLike":
        return first
    if index.ops[first] in tfops.SHAPE_ONLY:
        inner = model.data_inputs(refs[0].node)
        return index.pos.get(inner[0].node) if inner else None
    return None


def _written_variable(index: GraphIndex, model, update: int) -> int | None:
    """The variable an update writes: its input 0, through reads and identities."""
    name = index.names[update]
    for _ in range(8):
        refs = model.data_inputs(name)
        if not refs or refs[0].node not in index.pos:
            return None
        name = refs[0].node
        op = index.ops[index.pos[name]]
        if op in tfops.VARIABLES:
            return index.pos[name]
        if op not in tfops.VARIABLE_FORWARDERS:
            return None
    return None


def _optimizer_name(names: list[str]) -> str:
    """How an optimizer is shown: TensorFlow names each update ``<optimizer>/update_<variable>/…``;
    otherwise the scope its updates share, else the first update's name."""
    if all("/update_" in name for name in names):
        prefixes = {name.split("/update_", 1)[0] for name in names}
        if len(prefixes) == 1:
            return prefixes.pop()
    return _common_scope(names) or names[0]


def _common_scope(names: list[str]) -> str:
    """The name scope all ``names`` share ("" when none): how an optimizer is shown."""
    parts = [name.split("/")[:-1] for name in names]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "/".join(common)
