"""Resource variables passed into function calls (TF2 graphs): specialized copies of the functions.

A TF2 SavedModel's serving graph is one ``StatefulPartitionedCall`` whose inputs are the model
input and the variables' ``VarHandleOp`` handles; the function body reads them with
``ReadVariableOp``. Once a handle is a Const holding the value, the called function must take
the value instead: this module clones the function under a new name with that argument retyped
and its body rewritten the same way as the main graph (``ReadVariableOp`` -> ``Identity``,
``ResourceGather`` -> ``GatherV2`` …), recursing into nested calls. The original functions stay
in the library untouched (other callers may still use them).

Inside function bodies a node output is referenced as ``node:output_arg:index`` (FORMATS.md
§8.2), so a rewrite that changes an op also renames the output argument its consumers name
(``ReadVariableOp``'s ``value`` becomes ``Identity``'s ``output``).
"""

from __future__ import annotations

from collections import deque

from freezer.twins import (
    become_true_const,
    gather_axis_const,
    retype_as_gather_v2,
    retype_value_read,
    unique_name,
)
from inspector import tfops
from inspector.errors import UsageError
from inspector.proto import pb
from inspector.readers import dtypes


def carried_outputs(op: str, position: int) -> list[int]:
    """Outputs of a functional op that carry input ``position`` through (loop variables)."""
    _, offset, _, loop = tfops.FUNCTIONAL_SIGNATURES[op]
    return [position - offset] if loop and position >= offset else []


def retarget(specializer: FunctionSpecializer, node, arguments: dict[int, tuple[int, str]]) -> None:
    """Point a functional op at specialized copies of its functions for ``{input position: (dtype, var)}``."""
    attrs, offset, type_attr, loop = tfops.FUNCTIONAL_SIGNATURES[node.op]
    args = {position - offset: value for position, value in arguments.items() if position >= offset}
    for attr in attrs:
        if attr not in node.attr:
            continue
        value = node.attr[attr]
        carry = loop and attr == "body"
        if value.WhichOneof("value") == "func":
            value.func.name = specializer.specialize(value.func.name, args, node.name, carry)
        else:
            for func in value.list.func:
                func.name = specializer.specialize(func.name, args, node.name, carry)
    for index, (dtype, _) in args.items():
        if type_attr in node.attr and index < len(node.attr[type_attr].list.type):
            node.attr[type_attr].list.type[index] = dtype
        if loop and "output_shapes" in node.attr and index < len(node.attr["output_shapes"].list.shape):
            shape = node.attr["output_shapes"].list.shape[index]  # a handle's [] is not the value's
            shape.Clear()
            shape.unknown_rank = True
    node.attr.pop("_output_shapes", None)

# Output argument names (op registry) of the ops rewritten inside bodies: old op -> (old, new).
_OUTPUT_RENAMES = {"ReadVariableOp": ("value", "output"), "VarIsInitializedOp": ("is_initialized", "output")}
_HANDLE_ATTRS = ("_handle_dtypes", "_handle_shapes")


class FunctionSpecializer:
    """Makes (and remembers) copies of library functions with resource arguments turned into values."""

    def __init__(self, library, path: str | None = None) -> None:
        self.functions = {f.signature.name: f for f in library.function} if library is not None else {}
        self.path = path
        self.cache: dict[tuple, str] = {}
        self.created: list = []
        self.rewrites: list[dict] = []

    def specialize(self, name: str, arguments: dict[int, tuple[int, str]], caller: str,
                   carry: bool = False) -> str:
        """Name of a copy of function ``name`` whose arguments ``{index: (dtype, variable)}`` are values.

        ``carry``: a loop body, which returns its loop variables, so output ``index`` is retyped too.
        """
        key = (name, tuple(sorted((i, d) for i, (d, _) in arguments.items())), carry)
        if key in self.cache:
            return self.cache[key]
        original = self.functions.get(name)
        if original is None:
            raise UsageError(f"node {caller!r} calls function {name!r}, which is not in the graph's library",
                             path=self.path, fix="the graph is incomplete; run `inspect` on it")
        function = pb.FunctionDef()
        function.CopyFrom(original)
        new_name = self._fresh(f"{name}_frozen")
        function.signature.name = new_name
        self.cache[key] = new_name
        self.functions[new_name] = function
        tainted: dict[str, tuple[int, str]] = {}
        for index, (dtype, variable) in arguments.items():
            arg = function.signature.input_arg[index]
            if arg.type != dtypes.DT_RESOURCE:
                raise UsageError(f"function {name!r} argument {arg.name!r} is not a resource",
                                 path=self.path, fix="please report this graph")
            arg.type = dtype
            if index in function.arg_attr:
                for attr in _HANDLE_ATTRS:
                    function.arg_attr[index].attr.pop(attr, None)
            function.resource_arg_unique_id.pop(index, None)
            tainted[arg.name] = (dtype, variable)
            if carry and index < len(function.signature.output_arg) and \
                    function.signature.output_arg[index].type == dtypes.DT_RESOURCE:
                function.signature.output_arg[index].type = dtype
        _BodyRewriter(self, function, new_name).run(tainted)
        self.created.append(function)
        return new_name

    def _fresh(self, base: str) -> str:
        return unique_name(base, self.functions)


class _BodyRewriter:
    def __init__(self, owner: FunctionSpecializer, function, name: str) -> None:
        self.owner = owner
        self.function = function
        self.name = name
        self.nodes = {node.name: node for node in function.node_def}
        self.consumers: dict[str, list[tuple[object, int]]] = {}
        for node in function.node_def:
            for position, text in enumerate(node.input):
                if not text.startswith("^"):
                    self.consumers.setdefault(text, []).append((node, position))

    def run(self, tainted: dict[str, tuple[int, str]]) -> None:
        queue = deque(tainted.items())
        seen = set(tainted)
        calls: dict[str, dict[int, tuple[int, str]]] = {}
        while queue:
            ref, (dtype, variable) = queue.popleft()
            for node, position in self.consumers.get(ref, []):
                for out in self._consume(node, position, dtype, variable, calls):
                    if out not in seen:
                        seen.add(out)
                        queue.append((out, (dtype, variable)))
        for call_name, arguments in calls.items():
            call = self.nodes[call_name]
            retarget(self.owner, call, arguments)
            self._record(call, call.op, "calls copies of its functions that take variable values")

    def _record(self, node, old_op: str, why: str) -> None:
        self.owner.rewrites.append({"node": f"{self.name}/{node.name}", "from": old_op, "to": node.op,
                                    "why": why})

    def _consume(self, node, position: int, dtype: int, variable: str, calls: dict) -> list[str]:
        op = node.op
        if op == "Identity" and node.attr["T"].type == dtypes.DT_RESOURCE:
            node.attr["T"].type = dtype
            node.attr.pop("_output_shapes", None)
            return [f"{node.name}:output:0"]
        if op in tfops.FUNCTIONAL:
            calls.setdefault(node.name, {})[position] = (dtype, variable)
            return [f"{node.name}:output:{i}" for i in carried_outputs(op, position)]
        if position == 0 and op in tfops.RESOURCE_READ_TWINS:
            self._resource_read(node, dtype)
            self._record(node, op, f"reads resource variable {variable!r}, now a value")
            return []
        if position == 0 and op in tfops.VARIABLE_INIT_CHECKS:
            become_true_const(node)
            del node.input[:]
            self._rename_outputs(node.name, *_OUTPUT_RENAMES[op])
            return []
        raise UsageError(
            f"output depends on node {node.name!r} ({op}) in function {self.name!r}, which uses variable "
            f"{variable!r} as a resource in a way that has no state-free equivalent", path=self.owner.path,
            fix="choose outputs that do not depend on it (run `inspect` for candidates)", code="UNFOLDABLE")

    def _resource_read(self, node, dtype: int) -> None:
        old = node.op
        node.op = tfops.RESOURCE_READ_TWINS[old]
        if old == "ResourceGather":
            self._gather_v2(node, dtype)
            return
        retype_value_read(node, old, dtype)
        if old == "ReadVariableOp":
            self._rename_outputs(node.name, *_OUTPUT_RENAMES[old])

    def _gather_v2(self, node, dtype: int) -> None:
        batch_dims = node.attr["batch_dims"].i if "batch_dims" in node.attr else 0
        index_type = node.attr["Tindices"].type
        axis_name = node.name + "/axis"
        while axis_name in self.nodes:
            axis_name += "_"
        axis = self.function.node_def.add()
        axis.CopyFrom(gather_axis_const(axis_name, index_type, batch_dims))
        self.nodes[axis_name] = axis
        data = [t for t in node.input if not t.startswith("^")]
        control = [t for t in node.input if t.startswith("^")]
        del node.input[:]
        node.input.extend([*data[:2], f"{axis_name}:output:0", *control])
        retype_as_gather_v2(node, dtype, index_type, batch_dims)

    def _rename_outputs(self, node_name: str, old: str, new: str) -> None:
        before = f"{node_name}:{old}:"
        after = f"{node_name}:{new}:"
        for node in self.function.node_def:
            for i, text in enumerate(node.input):
                if text.startswith(before):
                    node.input[i] = after + text[len(before):]
        for key, value in list(self.function.ret.items()):
            if value.startswith(before):
                self.function.ret[key] = after + value[len(before):]


def _called(attrs) -> list[str]:
    """Function names an attr map refers to (``f``, ``then_branch``, lists of functions …)."""
    names = []
    for value in attrs.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            names.append(value.func.name)
            names.extend(_called(value.func.attr))
        elif kind == "list":
            for func in value.list.func:
                names.append(func.name)
                names.extend(_called(func.attr))
    return names


def prune_library(library, nodes) -> list[str]:
    """Delete (in place) the functions no kept node can reach; returns the names removed.

    A frozen graph has no use for the save/restore functions, training steps and the original,
    resource-taking copies of the functions that were specialized.
    """
    functions = {f.signature.name: f for f in library.function}
    reachable: set[str] = set()
    # a function is called through an attr (PartitionedCall's f, If's branches …) or as the op
    # itself (a Defun call node's op is the function's name: dropping it left an op TensorFlow
    # cannot resolve)
    stack = [name for node in nodes if not hasattr(node, "chunks")
             for name in (node.op, *_called(node.attr))]
    while stack:
        name = stack.pop()
        if name in reachable or name not in functions:
            continue
        reachable.add(name)
        for body_node in functions[name].node_def:
            stack.append(body_node.op)
            stack.extend(_called(body_node.attr))
        stack.extend(_called(functions[name].attr))
    removed = [name for name in functions if name not in reachable]
    for index in reversed(range(len(library.function))):
        if library.function[index].signature.name not in reachable:
            del library.function[index]
    for index in reversed(range(len(library.gradient))):
        gradient = library.gradient[index]
        if gradient.function_name not in reachable or gradient.gradient_func not in reachable:
            del library.gradient[index]
    return removed
