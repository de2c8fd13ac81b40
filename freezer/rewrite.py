"""Variable reads -> Const, ref plumbing -> non-ref twins, state writes -> pure ops.

The rewrite follows each folded variable's output downstream, typed by op signature
(:mod:`freezer.ops`), never by node names:

* ``VariableV2``/``Variable``/``VarHandleOp`` become Consts (streamed from the checkpoint);
* a *ref* output keeps flowing through ``RefSwitch``/``RefEnter``/``RefMerge``/``RefIdentity``/
  ``RefExit``/``RefNextIteration``, which become their non-ref twins (TF's own freezer leaves them,
  and the result fails to import: FORMATS.md §12.2);
* a *resource* handle flowing through ``Identity``/``Enter``/``Switch``/``Merge`` … gets the
  value dtype in ``T``; ``ReadVariableOp`` -> ``Identity``, ``ResourceGather`` -> ``GatherV2``,
  ``ResourceGatherNd`` -> ``GatherNd``, ``VariableShape`` -> ``Shape``;
* a state write reached through its data output becomes the pure op computing the same value
  (``Assign`` -> ``Identity`` of the new value, ``AssignAdd`` -> ``AddV2``, ``AssignSub`` -> ``Sub``);
  one reached only through a control edge was already cut by :mod:`freezer.prune`;
* ``IsVariableInitialized``/``VarIsInitializedOp`` -> ``Const(true)``;
* a handle passed to a function (``StatefulPartitionedCall``, ``If``, ``While`` …) makes the
  callee a specialized copy that takes the value (:mod:`freezer.functions`).

Any other use of a variable's ref or resource (a ``ScatterUpdate`` whose result an output needs, a
custom kernel taking the handle) has no state-free equivalent and is a clear error.

NodeDefs are modified in place: the caller owns the parsed graph and the freezer never deep-copies
big nodes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from freezer.defaults import fill_default_attrs
from freezer.functions import FunctionSpecializer, carried_outputs, retarget
from freezer.prune import Pruned
from freezer.twins import (
    become_true_const,
    gather_axis_const,
    retype_as_gather_v2,
    retype_value_read,
    unique_name,
)
from freezer.values import Folded, ValueSource
from inspector import tfops
from inspector.errors import UsageError
from inspector.graph.model import TensorRef
from inspector.readers import dtypes

DT_RESOURCE = dtypes.DT_RESOURCE


@dataclass
class Rewritten:
    """The frozen graph's nodes (NodeDef or StreamedConst, graph order) and what was done."""

    items: list
    folded: list[Folded] = field(default_factory=list)
    rewrites: list[dict] = field(default_factory=list)
    dropped_control: list[tuple[str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    functions: list = field(default_factory=list)  # specialized FunctionDefs to add to the library


class _Rewriter:
    def __init__(self, pruned: Pruned, path: str | None, library=None) -> None:
        self.specializer = FunctionSpecializer(library, path)
        self.calls: dict[str, dict[int, tuple[int, str]]] = {}
        self.nodes = pruned.kept
        self.by_name = {node.name: node for node in self.nodes}
        self.path = path
        self.rewrites: list[dict] = []
        self.extra_before: dict[str, list] = {}  # node name -> new nodes to place before it
        self.consumers: dict[tuple[str, int], list[tuple[object, int]]] = {}
        for node in self.nodes:
            for position, text in enumerate(node.input):
                ref = TensorRef.parse(text)
                if not ref.control:
                    self.consumers.setdefault((ref.node, ref.port), []).append((node, position))

    # -- bookkeeping ---------------------------------------------------------------------------

    def _record(self, node, old_op: str, why: str) -> None:
        self.rewrites.append({"node": node.name, "from": old_op, "to": node.op, "why": why})

    def _unsupported(self, node, variable: str, kind: str) -> UsageError:
        return UsageError(
            f"output depends on node {node.name!r} ({node.op}), which uses variable {variable!r} "
            f"as a {kind} in a way that has no state-free equivalent", path=self.path,
            fix="choose outputs that do not depend on it (run `inspect` for candidates)",
            code="UNFOLDABLE")

    # -- propagation ------------------------------------------------------------------------------

    def run(self) -> None:
        queue: deque[tuple[str, int, str, str, int]] = deque()
        for node in self.nodes:
            if node.op in tfops.VARIABLES:
                kind = "ref" if node.op in tfops.REF_VARIABLES else "resource"
                value_type = dtypes.by_value(node.attr["dtype"].type).base.value \
                    if dtypes.is_known(node.attr["dtype"].type) else 0
                queue.append((node.name, 0, node.name, kind, value_type))
        seen: set[tuple[str, int]] = set()
        while queue:
            producer, port, variable, kind, value_type = queue.popleft()
            for consumer, position in self.consumers.get((producer, port), []):
                for out_port in self._consume(consumer, position, variable, kind, value_type):
                    if (consumer.name, out_port) not in seen:
                        seen.add((consumer.name, out_port))
                        queue.append((consumer.name, out_port, variable, kind, value_type))
        for name, arguments in self.calls.items():
            call = self.by_name[name]
            retarget(self.specializer, call, arguments)
            self._record(call, call.op, "calls copies of its functions that take variable values")
        self.rewrites.extend(self.specializer.rewrites)

    def _consume(self, node, position: int, variable: str, kind: str, value_type: int) -> list[int]:
        """Rewrite one consumer of a variable's ref/resource; return its outputs that still carry it."""
        op = node.op
        if op in tfops.REF_TWINS or (op in tfops.PASS_THROUGH and kind == "resource"):
            if op in tfops.REF_TWINS:
                node.op = tfops.REF_TWINS[op]
                self._record(node, op, f"ref plumbing of variable {variable!r}, now a Const")
            if kind == "resource" and "T" in node.attr and node.attr["T"].type == DT_RESOURCE:
                node.attr["T"].type = value_type
                node.attr.pop("_output_shapes", None)
                self._record(node, op, f"carries resource {variable!r}: T is now its value dtype")
            return [0, 1] if node.op in ("Switch", "_SwitchN") else [0]
        if op in tfops.PASS_THROUGH:  # a ref read through a plain Identity/Switch/…: just a value
            return []
        if op in tfops.PURE_WRITE_TWINS and position == 0 and kind == "ref":
            # The write returned the variable's ref: ref plumbing reading it (a fake-quant range read
            # back through RefIdentity) must lose its ref-ness as well, so follow its output on.
            self._pure_write(node, variable)
            return [0]
        if op in tfops.VARIABLE_INIT_CHECKS and position == 0:
            self._initialized_true(node, variable)
            return []
        if op in tfops.RESOURCE_READ_TWINS and position == 0 and kind == "resource":
            self._resource_read(node, variable, value_type)
            return []
        if op in tfops.FUNCTIONAL and kind == "resource":
            self.calls.setdefault(node.name, {})[position] = (value_type, variable)
            return carried_outputs(op, position)
        if op in tfops.STATE_WRITES or kind == "resource" or op == "RefSelect":
            raise self._unsupported(node, variable, kind)
        return []  # any other op reads a ref's value: already correct once it is a Const

    # -- individual rewrites ----------------------------------------------------------------------

    def _split_inputs(self, node) -> tuple[list[str], list[str]]:
        data = [t for t in node.input if not t.startswith("^")]
        control = [t for t in node.input if t.startswith("^")]
        return data, control

    def _set_inputs(self, node, inputs: list[str]) -> None:
        del node.input[:]
        node.input.extend(inputs)

    def _pure_write(self, node, variable: str) -> None:
        old = node.op
        data, control = self._split_inputs(node)
        node.op = tfops.PURE_WRITE_TWINS[old]
        if old == "Assign":
            self._set_inputs(node, data[1:2] + control)
        for attr in ("use_locking", "validate_shape"):
            node.attr.pop(attr, None)
        self._record(node, old, f"writes variable {variable!r}; after freezing it computes the "
                                "written value instead")

    def _initialized_true(self, node, variable: str) -> None:
        old = node.op
        _, control = self._split_inputs(node)
        become_true_const(node)
        self._set_inputs(node, control)
        self._record(node, old, f"variable {variable!r} is a Const now, so always initialized")

    def _resource_read(self, node, variable: str, value_type: int) -> None:
        old = node.op
        node.op = tfops.RESOURCE_READ_TWINS[old]
        dtype = node.attr["dtype"].type if "dtype" in node.attr else value_type
        if old == "ResourceGather":
            self._gather_v2(node, dtype)
        else:
            retype_value_read(node, old, dtype)
        self._record(node, old, f"reads resource variable {variable!r}, now a Const")

    def _gather_v2(self, node, dtype: int) -> None:
        batch_dims = node.attr["batch_dims"].i if "batch_dims" in node.attr else 0
        index_type = node.attr["Tindices"].type if "Tindices" in node.attr else dtypes.by_name("int32").value
        data, control = self._split_inputs(node)
        axis = gather_axis_const(self._fresh_name(node.name + "/axis"), index_type, batch_dims)
        if len(data) > 1:  # same while-loop frame as the indices it is used with
            axis.input.append("^" + TensorRef.parse(data[1]).node)
        self.by_name[axis.name] = axis
        self.extra_before.setdefault(node.name, []).append(axis)
        self._set_inputs(node, [*data[:2], axis.name, *control])
        retype_as_gather_v2(node, dtype, index_type, batch_dims)

    def _fresh_name(self, base: str) -> str:
        return unique_name(base, self.by_name)


def rewrite(pruned: Pruned, source: ValueSource, clear_devices: bool = True,
            path: str | None = None, library=None) -> Rewritten:
    """Freeze the pruned nodes: see the module docstring. Modifies the NodeDefs in place."""
    dropped = list(pruned.dropped_control)
    for node in pruned.kept:  # control inputs on nodes that were not kept (cut state writes)
        inputs = list(node.input)
        kept_inputs = [t for t in inputs if not t.startswith("^") or t[1:] in pruned.names]
        if len(kept_inputs) != len(inputs):
            dropped.extend((node.name, t[1:]) for t in inputs if t not in kept_inputs)
            del node.input[:]
            node.input.extend(kept_inputs)

    rewriter = _Rewriter(pruned, path, library)
    rewriter.run()
    items: list = []
    folded: list[Folded] = []
    all_names = set(rewriter.by_name)
    for node in pruned.kept:
        for extra in rewriter.extra_before.get(node.name, []):
            _tidy(extra, all_names, clear_devices)
            items.append(extra)
        if node.op in tfops.VARIABLES:
            item, record = source.fold(node, device="" if clear_devices else node.device)
            items.append(item)
            folded.append(record)
            continue
        _tidy(node, all_names, clear_devices)
        items.append(node)
    added = [n.name for extra in rewriter.extra_before.values() for n in extra]
    return Rewritten(items=items, folded=folded, rewrites=rewriter.rewrites,
                     dropped_control=sorted(set(dropped)), added=added,
                     functions=rewriter.specializer.created)


def _tidy(node, names: set[str], clear_devices: bool) -> None:
    """Clear the device, drop ``_class`` colocation entries that name removed nodes, and write the
    attrs a stripped graph left to their defaults (:mod:`freezer.defaults`)."""
    fill_default_attrs(node)
    if clear_devices:
        node.device = ""
    if "_class" in node.attr:
        entries = list(node.attr["_class"].list.s)
        kept = [e for e in entries if not e.startswith(b"loc:@") or e[5:].decode("utf-8", "replace") in names]
        if not kept:
            del node.attr["_class"]
        elif len(kept) != len(entries):
            del node.attr["_class"].list.s[:]
            node.attr["_class"].list.s.extend(kept)
