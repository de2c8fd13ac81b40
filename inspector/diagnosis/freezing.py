"""Freezing checks: are the weights in the file, are they the model's, is anything left over?

NOT_FROZEN (variables still in the graph), WRONG_OUTPUTS (frozen, but holding little or none of
the model — with a checkpoint, the share of its weights the file holds and the outputs the
ranking would choose), WEIGHTS_DIFFER (with a checkpoint: the Consts hold other values or
shapes than its weights), TRAINING_LEFTOVERS (gradients, optimizer, save/restore, summaries,
variable writes) and REF_INPUT (a constant feeding an input that must be a ref or a resource: the
"expected float_ref" import failure TensorFlow's own freezer leaves behind, FORMATS.md §12.2).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from inspector import opdefs, tfops
from inspector.cli_common import output_arguments, path_argument
from inspector.diagnosis.findings import Finding
from inspector.diagnosis.graphindex import (
    DT_RESOURCE,
    FLOAT_TYPES,
    QUANTIZED_TYPES,
    GraphIndex,
    accepts_graph_def,
    attr_type,
    const_nbytes,
    const_tensor,
    dtype_name,
    output_dtype,
)
from inspector.proto import pb


def _names(items: list[str], shown: int = 8) -> str:
    text = ", ".join(f"'{n}'" for n in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


# --------------------------------------------------------------------------------------------
# NOT_FROZEN


def variables_in(index: GraphIndex) -> list[str]:
    """Variable nodes (ref or resource), plus DT_RESOURCE placeholders read as variables."""
    found = [n for n, node in index.nodes.items() if node.op in tfops.VARIABLES]
    for name, node in index.nodes.items():
        if node.op == "Placeholder" and attr_type(node, "dtype") == DT_RESOURCE and any(
                index.op(c) in tfops.RESOURCE_READS for c, _, _ in index.consumers[name]):
            found.append(name)
    for function in index.graph_def.library.function:
        found += [f"{function.signature.name}/{n.name}" for n in function.node_def if n.op in tfops.VARIABLES]
    return found


def used_variables(index: GraphIndex) -> list[str]:
    """Variables an output needs (function-body variables always count)."""
    return [v for v in variables_in(index) if v not in index.nodes or v in index.needed]


def command(*words: str) -> str:
    """A command line a finding's fix prints, quoted to be pasted into a shell as it is."""
    from inspector.cli_common import shell_line

    return shell_line(words)


@accepts_graph_def
def check_not_frozen(index: GraphIndex, kind: str = "graphdef", checkpoint_prefix: str | None = None,
                     graph_path: str | None = None) -> list[Finding]:
    """``checkpoint_prefix``: the checkpoint the user says goes with the file at ``graph_path``; the
    fix then freezes exactly that pair."""
    variables = variables_in(index)
    if not variables:
        return []
    pair = [path_argument(checkpoint_prefix or ""), "--graph", path_argument(graph_path or "")]
    source = f"`{command('freeze', *pair, '--auto-outputs')}`" if checkpoint_prefix and graph_path else \
        "`freeze <checkpoint prefix> --graph <this file> --auto-outputs -o frozen.pb` (or --outputs NAME)"
    where = {"graphdef": "this graph file", "metagraph": "this MetaGraphDef",
             "saved_model": "this SavedModel's graph"}.get(kind, "this graph")
    severity = "error" if kind == "graphdef" else "warning"
    used = used_variables(index)
    if not used and index.outputs:
        return [Finding(
            "NOT_FROZEN", "warning",
            f"{len(variables)} variable(s) remain ({_names(variables)}) although no output uses them: the "
            "graph runs, but loaders that initialise or restore every variable will look for them.",
            "Freeze again with only the inference outputs (the variables are then dropped), or remove the "
            "stray variable nodes.", {"variables": variables[:50], "count": len(variables), "used": []})]
    return [Finding(
        "NOT_FROZEN", severity,
        f"{where[0].upper() + where[1:]} still has {len(variables)} variable(s) ({_names(variables)}): the "
        "weights are not in it but in a checkpoint (or a SavedModel's variables/), so loading it alone "
        "gives uninitialized variables.",
        f"Freeze it with the checkpoint it was trained with: {source}.",
        {"variables": variables[:50], "count": len(variables), "used": used[:50]})]


# --------------------------------------------------------------------------------------------
# WRONG_OUTPUTS


def held_weights(index: GraphIndex) -> dict[str, tuple[str, tuple[int, ...], int]]:
    """Float (or quantized integer) Consts of more than one element that the outputs need:
    name -> (dtype, shape, bytes)."""
    needed = index.needed
    held = {}
    for name in needed:
        tensor = const_tensor(index.nodes[name])
        if tensor is None:
            continue
        count, nbytes = const_nbytes(index.nodes[name], index.lazy)
        if (tensor.dtype in FLOAT_TYPES or tensor.dtype in QUANTIZED_TYPES) and count > 1:
            shape = tuple(d.size for d in tensor.tensor_shape.dim)
            held[name] = (dtype_name(tensor.dtype) or "", shape, nbytes)
    return held


#: Checkpoint keys that are not model weights: optimizer slots and EMA shadows (last path
#: segment), counters.
_SLOT_SUFFIXES = frozenset({"Adam", "Adam_1", "Momentum", "RMSProp", "RMSProp_1", "Adagrad", "Adadelta",
                            "Adadelta_1", "Ftrl", "Ftrl_1", "Nadam", "Nadam_1", "AdamW", "AdamW_1",
                            "AdagradDA", "ProximalAdagrad", "AccumulateGradient",
                            "ExponentialMovingAverage"})  # EMA shadows copy the weights they track
_BOOKKEEPING = frozenset({"global_step", "beta1_power", "beta2_power", "save_counter",
                          "_CHECKPOINTABLE_OBJECT_GRAPH"})


def model_weight_keys(tensors: dict) -> dict[str, object]:
    """The checkpoint tensors that are model weights (floating point, not slots or counters)."""
    weights = {}
    for key, meta in tensors.items():
        parts = key.split("/")
        if parts[-1] in _SLOT_SUFFIXES or key in _BOOKKEEPING or parts[0] in ("optimizer", "save_counter"):
            continue
        if ".OPTIMIZER_SLOT" in parts or meta.dtype not in ("float16", "float32", "float64", "bfloat16"):
            continue
        weights[key] = meta
    return weights


@dataclass
class WeightShare:
    model_bytes: int
    held_bytes: int
    held: list[str]
    missing: list[str]
    reshaped: list[str]  # same name in graph and checkpoint, different dtype or shape

    @property
    def share(self) -> float:
        return self.held_bytes / self.model_bytes if self.model_bytes else 1.0


def _partition_bytes(held: dict, key: str) -> int:
    """Bytes of the Consts TF's freezer makes from a partitioned variable: ``<key>/part_<i>``."""
    total, i = 0, 0
    while f"{key}/part_{i}" in held:
        total += held[f"{key}/part_{i}"][2]
        i += 1
    return total


def weight_share(index: GraphIndex, tensors: dict) -> WeightShare:
    """How much of the checkpoint's model weights the graph holds: by name, then by dtype and shape."""
    weights = model_weight_keys(tensors)
    held = held_weights(index)
    unmatched = Counter((dtype, shape) for name, (dtype, shape, _) in held.items() if name not in weights)
    found, missing, reshaped, held_bytes = [], [], [], 0
    for key, meta in weights.items():
        signature = (meta.dtype, tuple(meta.shape))
        if key in held and held[key][:2] != signature:
            reshaped.append(key)
            missing.append(key)
            continue
        partitioned = getattr(meta, "partitioned", False)
        if key in held or (partitioned and _partition_bytes(held, key) == meta.nbytes):
            found.append(key)
        elif unmatched[signature] > 0:
            unmatched[signature] -= 1
            found.append(key)
        else:
            missing.append(key)
            continue
        held_bytes += meta.nbytes
    total = sum(meta.nbytes for meta in weights.values())
    return WeightShare(total, held_bytes, found, missing, reshaped)


@accepts_graph_def
def check_wrong_outputs(index: GraphIndex, checkpoint: object | None = None,
                        suggestions: list[str] | None = None, min_share: float = 0.5, *,
                        checkpoint_graph: object | None = None) -> list[Finding]:
    """Frozen graphs only (call after NOT_FROZEN found nothing). ``checkpoint`` has ``.tensors``;
    ``checkpoint_graph`` is the GraphModel of its ``.meta``, when there is one."""
    if not index.outputs or used_variables(index):
        return []
    held = held_weights(index)
    held_bytes = sum(b for _, _, b in held.values())
    evidence: dict = {"outputs": index.outputs[:20], "weight_bytes": held_bytes, "weight_tensors": len(held)}
    if checkpoint is not None:
        return _compare_with_checkpoint(index, checkpoint, suggestions or [], min_share, evidence,
                                        checkpoint_graph)
    from inspector.diagnosis.inference import random_weight_operands

    if held or random_weight_operands(index):  # random weights: RANDOM_WEIGHTS says what they are
        return []
    return [Finding(  # info: a preprocessing graph or a toy (a*b) holds no weights by design
        "WRONG_OUTPUTS", "info",
        f"The graph is frozen but holds no weights at all (its {len(index.nodes)} nodes compute "
        f"{_names(index.outputs)} from the inputs and constants): if it was meant to hold a trained model, "
        "it was frozen with an output that comes before the first layer.",
        "Freeze again with the model's real output (`freeze <checkpoint> --auto-outputs`); run "
        "`inspect <this file> --checkpoint <its checkpoint prefix>` to see how much of the model this file "
        "holds.", evidence)]


def _compare_with_checkpoint(index: GraphIndex, checkpoint: object, suggestions: list[str],
                             min_share: float, evidence: dict,
                             checkpoint_graph: object | None) -> list[Finding]:
    """Error below ``min_share`` of the weights; warning when weights are missing and the ranking's
    best output for the checkpoint's graph is not in this file at all (frozen at an inner layer).

    The claim is that the outputs stop *before* part of the model. With the checkpoint's graph that
    is checked: some missing weight must be read after this file's outputs there. A checkpoint of a
    notebook that rebuilt its model several times holds every copy's weights; a file frozen from one
    copy lacks the others without stopping early, and is not reported. Without the checkpoint's
    graph the claim cannot be checked: the finding says only what is known, as a warning.
    """
    share = weight_share(index, checkpoint.tensors)
    if share.model_bytes == 0 or not share.missing or share.reshaped:
        return []  # reshaped weights: another model altogether, which WEIGHTS_DIFFER reports
    best_elsewhere = bool(suggestions) and suggestions[0] not in index.nodes
    if share.share >= min_share and not best_elsewhere:
        return []
    after = None if checkpoint_graph is None else \
        weights_after(checkpoint_graph, index.outputs, share.missing)
    if after is not None and not after:
        return []
    evidence.update(model_weight_bytes=share.model_bytes, share=round(share.share, 4),
                    missing_weights=share.missing[:50], suggested_outputs=suggestions,
                    weights_after_outputs=None if after is None else after[:50])
    instead = f" The ranking suggests: {_names(suggestions, 5)}." if suggestions else ""
    if share.held_bytes == 0 and held_weights(index):
        instead += (" None of the graph's own weights match the checkpoint's names or shapes: check that "
                    "this is the checkpoint the graph was frozen from.")
    prefix = getattr(checkpoint, "prefix", "") or "<checkpoint>"
    how = output_arguments(suggestions[:1]) if suggestions else ["--auto-outputs"]
    held = (f"The graph holds {share.held_bytes:,} of the checkpoint's {share.model_bytes:,} bytes of model "
            f"weights ({share.share:.0%})")
    if after is None:
        return [Finding(
            "WRONG_OUTPUTS", "warning",
            f"{held}: no node of it reads the checkpoint's other weights ({len(share.missing)} tensor(s), "
            f"e.g. {_names(share.missing, 4)}). Its outputs {_names(index.outputs)} may stop before part of "
            f"the model, or the checkpoint may hold more than this model (it has no .meta to tell).{instead}",
            f"If the outputs stop early, freeze again with the node that computes the prediction: "
            f"`freeze <checkpoint> --graph <the model's graph> --outputs NAME` (this checkpoint is "
            f"{prefix}).",
            evidence)]
    severity = "error" if share.share < min_share else "warning"
    return [Finding(
        "WRONG_OUTPUTS", severity,
        f"{held}: its outputs {_names(index.outputs)} stop before part of the model: in the checkpoint's "
        f"graph, {len(after)} weight tensor(s) this file lacks are read after them (e.g. {_names(after, 4)})."
        f"{instead}",
        "Freeze again with the node that computes the prediction as output: "
        f"`{command('freeze', path_argument(prefix), *how)}` (--auto-outputs lets the ranking pick).",
        evidence)]


def weights_after(model: object, outputs: list[str], keys: list[str]) -> list[str]:
    """Of the checkpoint ``keys``, those the checkpoint's graph ``model`` reads downstream of
    ``outputs`` (the nodes of those names there), following data edges."""
    from inspector.graph.variables import variables_by_key

    by_key, _ = variables_by_key(model)
    descendants: set[str] = set()
    stack = [o for o in outputs if o in model]
    while stack:
        name = stack.pop()
        if name in descendants:
            continue
        descendants.add(name)
        stack.extend(c for c, _, ref in model.consumers[name] if not ref.control)
    read = {ref.node for name in descendants for ref in model.data_inputs(name)}
    found = []
    for key in keys:
        readers = set(by_key.get(key) or ([key] if key in model else []))
        forwarded = {c for v in readers for c, _, ref in model.consumers[v]
                     if not ref.control and model.op(c) in tfops.VARIABLE_FORWARDERS}
        if (readers | forwarded) & (read | descendants):
            found.append(key)
    return found


# --------------------------------------------------------------------------------------------
# WEIGHTS_DIFFER


def _same_bytes(content: bytes, chunks: object) -> bool:
    """Stream-compare a Const's tensor_content with a checkpoint tensor's raw chunks."""
    view, offset = memoryview(content), 0
    for chunk in chunks:
        end = offset + len(chunk)
        if end > len(view) or view[offset:end] != chunk:
            return False
        offset = end
    return offset == len(view)


@accepts_graph_def
def check_weights_match(index: GraphIndex, checkpoint: object, limit: int = 50) -> list[Finding]:
    """Consts named like a checkpoint weight must hold its values, byte for byte.

    Different values mean the file was frozen from another step or run — or from the moving
    averages (``<name>/ExponentialMovingAverage``), which the evidence then says.
    """
    weights = model_weight_keys(checkpoint.tensors)
    differ, ema, reshaped, compared = [], [], [], 0
    for name, node in index.nodes.items():
        meta = weights.get(name)
        tensor = const_tensor(node) if meta is not None else None
        if tensor is None:
            continue
        tensor = const_tensor(node, index.lazy)  # its values, read back if they were left out
        shape = tuple(d.size for d in tensor.tensor_shape.dim)
        if dtype_name(tensor.dtype) != meta.dtype or shape != tuple(meta.shape):
            compared += 1
            graph_side = f"{dtype_name(tensor.dtype)}{list(shape)}"
            reshaped.append(f"{name} {graph_side} vs {meta.dtype}{list(meta.shape)}")
            differ.append(name)
            continue
        if not tensor.tensor_content or meta.partitioned:
            continue
        compared += 1
        if _same_bytes(tensor.tensor_content, checkpoint.raw_chunks(name)):
            continue
        shadow = f"{name}/ExponentialMovingAverage"
        if shadow in checkpoint.tensors and _same_bytes(tensor.tensor_content, checkpoint.raw_chunks(shadow)):
            ema.append(name)
        else:
            differ.append(name)
        if len(differ) + len(ema) >= limit:
            break
    if not differ and not ema:
        return []
    if not differ:
        return [Finding(
            "WEIGHTS_DIFFER", "info",
            f"{len(ema)} weight(s) hold the checkpoint's exponential moving averages rather than the raw "
            f"variables ({_names(ema)}): the graph was frozen from the EMA shadows.",
            "Nothing to fix if that was intended (EMA weights usually evaluate better); ckpt2pb's freeze "
            "does the same with --use-moving-averages.",
            {"ema": ema, "compared": compared})]
    shapes = (f" {len(reshaped)} even have another shape or type ({'; '.join(reshaped[:3])}): a different "
              "model." if reshaped else "")
    return [Finding(
        "WEIGHTS_DIFFER", "warning",
        f"{len(differ)} of {compared} weight(s) compared differ from this checkpoint's values "
        f"({_names(differ)}): the file was frozen from another step or another run, so it answers "
        f"differently from this checkpoint.{shapes}",
        f"Freeze again from this checkpoint ({getattr(checkpoint, 'prefix', '') or 'the one given'}) with "
        "the outputs this file has, or compare against the checkpoint it really came from.",
        {"differ": differ, "ema": ema, "reshaped": reshaped, "compared": compared})]


# --------------------------------------------------------------------------------------------
# TRAINING_LEFTOVERS

def leftover_category(op: str) -> str | None:
    """Which kind of training leftover an op type is (the op families of :mod:`inspector.tfops`).

    A transposed convolution's ``Conv2DBackpropInput`` is not a leftover: it is the forward op of
    ``conv2d_transpose`` as well as a convolution's gradient.
    """
    if op in tfops.SAVE_RESTORE:
        return "save/restore"
    if op in tfops.SUMMARIES:
        return "summaries"
    if op in tfops.OPTIMIZER_UPDATES:
        return "optimizer"
    if op in tfops.STATE_WRITES:
        return "variable updates"
    if tfops.is_gradient_kernel(op):
        return "gradients"
    return None


@accepts_graph_def
def check_training_leftovers(index: GraphIndex, frozen: bool = True) -> list[Finding]:
    found: dict[str, list[str]] = {}
    for name, node in index.nodes.items():
        category = leftover_category(node.op)
        if category in ("save/restore", "variable updates") and not frozen:
            continue  # an unfrozen graph initialises and restores its variables with these
        if category:
            found.setdefault(category, []).append(name)
    if not found:
        return []
    parts = [f"{cat} ({len(names)}: {_names(names, 3)})" for cat, names in sorted(found.items())]
    total = sum(len(v) for v in found.values())
    if frozen:
        message = (f"{total} training-only node(s) were frozen into the graph: {'; '.join(parts)}. They "
                   "bloat it and may need ops a serving runtime lacks"
                   + ("; variable updates also break import." if "variable updates" in found else "."))
        fix = ("Prune the file to its inference output(s): ckpt2pb's freeze does that for a frozen graph "
               "(the \"freeze with:\" line of `inspect` on this file), as does "
               "graph_util.extract_sub_graph(graph_def, [outputs]).")
    else:
        message = f"The graph still carries its training machinery: {'; '.join(parts)}."
        fix = "Freezing with the inference output(s) drops all of it."
    return [Finding("TRAINING_LEFTOVERS", "warning" if frozen else "info", message, fix,
                    {cat: names[:50] for cat, names in found.items()})]


# --------------------------------------------------------------------------------------------
# REF_INPUT


def output_kind(index: GraphIndex, name: str, port: int) -> str | None:
    """"ref", "resource" or "value" for a producer's output; None when it cannot be told."""
    kinds = opdefs.output_kinds(index.nodes[name])
    return kinds[port] if kinds is not None and 0 <= port < len(kinds) else None


@accepts_graph_def
def check_ref_inputs(index: GraphIndex) -> list[Finding]:
    bad: list[dict] = []
    signatures: dict = {}
    for name, node in index.nodes.items():
        expected = opdefs.input_kinds(node, cache=signatures)
        if expected is None or all(kind == opdefs.VALUE for kind, _ in expected.runs):
            continue
        data_inputs = index.data_inputs(name)
        # Only positions the node has inputs at (its N attr may claim 2^31 of them).
        if all(kind == opdefs.VALUE for kind in expected[:len(data_inputs)]):
            continue
        for position, (want, source) in enumerate(zip(expected, data_inputs, strict=False)):
            if want == "value" or source.node not in index.nodes:
                continue
            got = output_kind(index, source.node, source.port)
            if got is not None and got != want:
                bad.append({"node": name, "op": node.op, "input": position, "expects": want,
                            "producer": source.node, "producer_op": index.op(source.node), "gets": got})
    if not bad:
        return []
    first = bad[0]
    shown = "; ".join(f"{b['node']} ({b['op']}) input {b['input']} expects a {b['expects']} but gets "
                      f"{b['gets']} from {b['producer']} ({b['producer_op']})" for b in bad[:4])
    ref_ops = sorted({b["op"] for b in bad})
    tf_type = _tf_type_name(index, first["producer"])
    expected = f"{tf_type}_ref" if first["expects"] == "ref" else "resource"
    return [Finding(
        "REF_INPUT", "error",
        f"{len(bad)} input(s) that must be a variable ref or resource are fed plain tensors: {shown}. "
        f"TensorFlow rejects the graph at import ('Input {first['input']} of node {first['node']} was "
        f"passed {tf_type} from {first['producer']}:0 incompatible with expected {expected}'). This is what "
        "convert_variables_to_constants leaves behind for ref control flow and variable updates.",
        f"Freeze with ckpt2pb's `freeze`, which turns ref ops ({', '.join(ref_ops)}) into their non-ref "
        "twins and drops variable updates; or, before freezing, rename RefSwitch->Switch, AssignSub->Sub, "
        "AssignAdd->Add.",
        {"inputs": bad[:50], "count": len(bad)})]


def _tf_type_name(index: GraphIndex, name: str) -> str:
    """TensorFlow's spelling of a node's output type in error messages (DT_FLOAT -> "float")."""
    value = output_dtype(index.nodes[name]) if name in index.nodes else None
    enum = pb.DataType.get_name(value) if value else None
    return enum.removeprefix("DT_").lower() if enum else "float"


CHECKS = (check_training_leftovers, check_ref_inputs)
