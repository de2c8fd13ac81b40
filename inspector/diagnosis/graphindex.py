"""A light index over a GraphDef for the checks: who feeds whom, what the outputs are, and which
parts of the graph cannot run with the default feeds.

The checks take a GraphDef (the freezer calls them on the graph it is about to write, before any
GraphModel exists), so they share this index instead of the networkx model. It never copies
NodeDefs and tolerates every defect the structure checks report (duplicates, dangling inputs).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from functools import cached_property, wraps

from inspector import tfops
from inspector.graph.dead import dead_nodes
from inspector.graph.model import GraphModel, TensorRef
from inspector.readers import dtypes

DT_BOOL = 10
DT_RESOURCE = 20
DT_VARIANT = 21
REF_OFFSET = 100  # DT_FLOAT_REF == DT_FLOAT + 100

class GraphIndex:
    """Nodes by name, parsed inputs, consumers, outputs, and what is dead with default feeds."""

    def __init__(self, graph: object) -> None:
        """``graph``: a GraphModel (shared, nothing rebuilt) or a GraphDef (a model is built)."""
        model = graph if isinstance(graph, GraphModel) else GraphModel(graph)
        self.model = model
        self.graph_def = model.graph_def
        #: the big tensor fields left out of the parse (sizes and, on demand, values), or None
        self.lazy = getattr(model, "lazy", None)
        self.nodes: dict[str, object] = model.nodes_by_name
        self.duplicates: dict[str, int] = {}
        for name in model.problems.duplicate_nodes:
            self.duplicates[name] = self.duplicates.get(name, 1) + 1
        #: node name -> op, as plain strings: every check asks, and reading a NodeDef's field builds a
        #: new string from the protobuf each time (14 million times for a graph of 10^6 nodes)
        self.ops: dict[str, str] = {name: attrs["op"] for name, attrs in model.attrs.items()}
        self.inputs: dict[str, list[TensorRef]] = model.inputs
        self.consumers: dict[str, list[tuple[str, int, TensorRef]]] = model.consumers
        self.placeholders: list[str] = []

    def op(self, name: str) -> str:
        return self.ops[name]

    def data_inputs(self, name: str) -> list[TensorRef]:
        return [i for i in self.inputs.get(name, ()) if not i.control]

    @cached_property
    def sinks(self) -> list[str]:
        """Nodes nothing consumes (neither data nor control), in graph order."""
        return [name for name, users in self.consumers.items() if not users]

    @cached_property
    def outputs(self) -> list[str]:
        """Sinks that compute something: the graph's outputs as a user would fetch them."""
        return [name for name in self.sinks if self.op(name) not in tfops.NOT_RESULTS]

    def ancestors(self, names: Iterable[str], *, control: bool = True) -> set[str]:
        """Every node ``names`` depend on, themselves included (through control inputs too)."""
        seen: set[str] = set()
        queue = deque(n for n in names if n in self.nodes)
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen.add(name)
            for source in self.inputs[name]:
                if source.node in self.nodes and (control or not source.control):
                    queue.append(source.node)
        return seen

    @cached_property
    def placeholder_bits(self) -> dict[str, int]:
        """Per node, a bitset of the placeholders its value depends on (bit i = ``placeholders[i]``).

        One pass over the graph answers "which fed inputs reach this node" for every node, where
        a search per question would walk the whole graph each time. Only data edges count: a
        constant inside a while loop hangs off the loop's pivot by a control edge, which makes it
        run in the loop but carries no value (the keep_prob 0.75 of a dropout in dynamic_rnn does
        not come from the sequence input). While-loop back edges (out of NextIteration) are not
        followed. Iterative post-order, so deep graphs cannot overflow.
        """
        ops, back = self.ops, tfops.NEXT_ITERATIONS
        placeholders = [n for n in self.nodes if ops[n] in tfops.PLACEHOLDERS]
        bits = {name: 1 << i for i, name in enumerate(placeholders)}
        done: dict[str, int] = {}
        visiting: set[str] = set()
        for root in self.nodes:
            if root in done:
                continue
            stack = [(root, False)]
            while stack:
                name, expanded = stack.pop()
                if name in done:
                    continue
                sources = [ref.node for ref in self.inputs[name] if not ref.control and ref.node in ops
                           and ops[ref.node] not in back]
                if expanded:
                    value = bits.get(name, 0)
                    for source in sources:
                        value |= done.get(source, 0)
                    done[name] = value
                    continue
                if name in visiting:  # a cycle: its nodes see what is known so far
                    continue
                visiting.add(name)
                stack.append((name, True))
                stack.extend((source, False) for source in sources if source not in done)
        self.placeholders = placeholders
        return done

    def placeholders_in(self, bitset: int) -> list[str]:
        """The placeholder names behind a bitset of :attr:`placeholder_bits`."""
        self.placeholder_bits  # noqa: B018 - computes self.placeholders
        return [name for i, name in enumerate(self.placeholders) if bitset >> i & 1]

    @cached_property
    def needed(self) -> set[str]:
        """Everything the outputs depend on (data and control), the outputs included."""
        return self.ancestors(self.outputs)

    @cached_property
    def inference_path(self) -> set[str]:
        """What the outputs need and that actually runs with the default feeds."""
        return self.needed - self.dead_by_default

    @cached_property
    def inference_path_by_op(self) -> dict[str, list[str]]:
        """The inference path grouped by op, each group sorted: the checks that look for one family
        of ops on the path (batch norms, random draws, layers) read their group, not the path."""
        groups: dict[str, list[str]] = {}
        ops = self.ops
        for name in self.inference_path:
            groups.setdefault(ops[name], []).append(name)
        for names in groups.values():
            names.sort()
        return groups

    def on_inference_path(self, ops: Iterable[str]) -> list[str]:
        """The nodes of the inference path whose op is one of ``ops``, sorted by name."""
        groups = self.inference_path_by_op
        return sorted(name for op in ops for name in groups.get(op, ()))

    @cached_property
    def switches(self) -> dict[str, object]:
        """The graph's training switches (roles pass): placeholder name -> SwitchInput."""
        from inspector.roles import roles_of

        return dict(roles_of(self.model).switches)

    def flag_values(self) -> dict[str, bool]:
        """Boolean training flags and the value each takes at inference (False)."""
        return {name: bool(s.inference_value) for name, s in self.switches.items()
                if isinstance(s.inference_value, bool)}

    @cached_property
    def switched_inference_path(self) -> set[str]:
        """What runs when every boolean training flag is fed its inference value (False): the
        inference path a caller gets by feeding ``is_training=False``."""
        return self.needed - self.dead_given(self.flag_values())

    # ------------------------------------------------------------------------------------------
    # Control flow v1: which Switch branches are dead when nothing is fed

    def constant_bool(self, name: str, depth: int = 0, fed: dict[str, bool] | None = None) -> bool | None:
        """The value a boolean predicate has when nothing (but ``fed``) is fed, if the graph fixes it.

        Follows Identity chains to a Const, to an input of ``fed`` (its value) or to a
        PlaceholderWithDefault's default (the ``is_training`` / ``keras_learning_phase`` switch
        that defaults to False).
        """
        node = self.nodes.get(name)
        if node is None or depth > 20:
            return None
        if fed and name in fed:
            return fed[name]
        if node.op == "Const":
            tensor = const_tensor(node, self.lazy)
            if tensor is not None and tensor.dtype == DT_BOOL and not tensor.tensor_shape.dim:
                if tensor.bool_val:
                    return bool(tensor.bool_val[0])
                return bool(tensor.tensor_content[:1] not in (b"", b"\x00"))
            return None
        if (node.op in tfops.IDENTITIES or node.op == "PlaceholderWithDefault") and self.data_inputs(name):
            return self.constant_bool(self.data_inputs(name)[0].node, depth + 1, fed)
        return None

    @cached_property
    def dead_by_default(self) -> set[str]:
        """Nodes on the untaken side of a Switch whose predicate is fixed by default feeds."""
        return self.dead_given({})

    def dead_given(self, fed: dict[str, bool]) -> set[str]:
        """Nodes on the untaken side of a Switch whose predicate is fixed by default feeds and
        by the boolean inputs in ``fed`` (TensorFlow's dead-tensor rule: :mod:`inspector.graph.dead`)."""
        dead_ports: set[tuple[str, int]] = set()
        for name, node in self.nodes.items():
            if node.op in tfops.SWITCHES and len(self.data_inputs(name)) == 2:
                value = self.constant_bool(self.data_inputs(name)[1].node, fed=fed)
                if value is not None:
                    dead_ports.add((name, 0 if value else 1))
        return dead_nodes(self.model, dead_ports)


def const_tensor(node: object, lazy: object | None = None) -> object | None:
    """A Const's TensorProto, or None; never inserts a missing attr (map [] would). With ``lazy`` (the
    graph's left-out tensor fields) the complete tensor, its values read back when they were left out;
    without it, the parsed message (dtype and shape always right, big values possibly left out)."""
    if node.op != "Const" or "value" not in node.attr:
        return None
    if lazy is not None:
        return lazy.tensor(node)
    return node.attr["value"].tensor


def accepts_graph_def(check: Callable[..., list]) -> Callable[..., list]:
    """Let a check take a GraphDef as well as a GraphIndex (the freezer calls checks one by one)."""

    @wraps(check)
    def wrapper(graph: object, *args: object, **kwargs: object) -> list:
        index = graph if isinstance(graph, GraphIndex) else GraphIndex(graph)
        return check(index, *args, **kwargs)

    return wrapper


def attr_type(node: object, key: str) -> int | None:
    attr = node.attr.get(key) if key in node.attr else None
    return attr.type if attr is not None and attr.WhichOneof("value") == "type" else None


def output_dtype(node: object) -> int | None:
    """DataType of output 0: as its OpDef states it, else the node's first type attr."""
    from inspector import opdefs

    stated = opdefs.output_dtype(node, 0)
    if stated is not None:
        return stated
    for key in ("dtype", "T", "DstT", "out_type", "output_type", "Tout"):
        value = attr_type(node, key)
        if value:
            return value
    return None


def dtype_name(value: int | None) -> str | None:
    """Numpy-style name (``float32``), as checkpoints list them; refs give their base type."""
    if value is None:
        return None
    return dtypes.name_of(value - REF_OFFSET if value > REF_OFFSET else value)


def const_nbytes(node: object, lazy: object | None = None) -> tuple[int, int]:
    """(element count, bytes) a Const node holds, from its declared shape and dtype (the byte count of
    its tensor_content when it has one, also when that was left out of the parse: ``lazy``)."""
    tensor = const_tensor(node)
    if tensor is None:
        return 0, 0
    count = 1
    for dim in tensor.tensor_shape.dim:
        count *= max(dim.size, 0)
    left_out = lazy.content_size(node) if lazy is not None else None
    if left_out is not None:
        return count, left_out
    if tensor.tensor_content:
        return count, len(tensor.tensor_content)
    known = dtypes.is_known(tensor.dtype) and dtypes.by_value(tensor.dtype).itemsize
    return count, count * (known or 0)

FLOAT_TYPES = frozenset({1, 2, 14, 19})  # float32, float64, bfloat16, float16
#: Integer types weights are stored in by quantization (int8/uint8/int16/uint16 and the q-types):
#: a Const of them is a weight as much as a float one. int32/int64 Consts are shapes and indices.
QUANTIZED_TYPES = frozenset({4, 5, 6, 11, 12, 15, 16, 17})
