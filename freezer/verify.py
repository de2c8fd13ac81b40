"""``freeze --verify``: run the restored checkpoint and the frozen graph side by side in TensorFlow.

The only module of ckpt2pb that imports TensorFlow, and only inside :func:`verify_frozen`.
Both graphs get the same inputs, made so that a model runs on them without flags:

* every input with a batch dimension gets the same batch size (an input that fixes its batch,
  say ``[1, 224, 224, 3]``, sets it for the others; otherwise 2), and so does every other open
  dimension and every scalar integer input (a batch size, a sequence length, a step count);
* switch inputs (``switches``: training flags, keep_prob / rate scalars) get their inference
  value, whatever their declared shape;
* ``--input-shape NAME=D0,D1`` and ``--feed NAME=VALUE`` override any of this;
* a ``PlaceholderWithDefault`` keeps a constant default, one defaulting to a computed tensor
  (a queue's dequeue) is fed like a placeholder, as are dequeue/iterator outputs, which would
  otherwise block forever; serialized ``tf.Example`` inputs get Examples with every parsed key.

Random draws are fed from the restored graph's own run, so both graphs see the same noise; a
draw inside a while loop cannot be fed, so there both graphs get the same seeded twin of it.

Every folded weight must be bit-identical to the value TensorFlow restores, every output equal
within a tolerance relative to the output's magnitude (TensorFlow is not bit-exact between a
variable-backed and a constant-backed graph: kernels pack constant weights differently), with
NaN exactly where the checkpoint gives NaN. When TensorFlow cannot run the graphs on these
inputs, or the original graph answers differently on two runs, nothing was compared: that is
:class:`~inspector.errors.VerifyCannotRunError` (exit 6), never "outputs differ".
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from inspector import opdefs, tfops
from inspector.errors import MissingDependencyError, UsageError, VerificationError, VerifyCannotRunError

LOG = logging.getLogger("ckpt2pb.freeze.verify")

RUN_TIMEOUT_MS = 120_000
"""No single TF operation of a verification may block longer (a queue nobody fills, say)."""

#: Allowed difference per output, as a share of the output's largest magnitude, by dtype. TensorFlow
#: computes a constant-backed graph with differently packed kernels than a variable-backed one:
#: measured up to 2.4e-5 on a tanh output of magnitude 1 (a GAN generator, 784-term sums of up to
#: 266) and 3e-4 on values in the hundreds (style transfer); a wrong weight moves outputs by whole
#: percents. 16-bit floats keep 3 (float16) or 2 (bfloat16) significant digits.
RELATIVE_TOLERANCE = {"float16": 1e-2, "bfloat16": 5e-2, "float32": 1e-4, "float64": 1e-9,
                      "complex64": 1e-4, "complex128": 1e-9}
ATOL = 1e-6
DEFAULT_DIM = 2
SHAPE_FIX = "--input-shape NAME=D0,D1,... (NAME= for a scalar)"
FEED_FIX = "--feed NAME=VALUE"


def tf_error_line(message: str) -> str:
    """The informative line of a TensorFlow error, and its node: TF 2 starts the message with
    "Graph execution error:" and a "Detected at node" stack, the real reason comes after."""
    node = None
    for line in (raw.strip() for raw in message.splitlines()):
        if line.startswith("Node: "):
            node = line[len("Node: "):].strip("'\"")
        elif line and not line.startswith(("[[", "Detected at node", "File ", "Original stack")) \
                and line != "Graph execution error:":
            return f"{line} (node {node!r})" if node else line
    return ""


def _import_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingDependencyError(
            "--verify runs both graphs in TensorFlow, which is not installed",
            fix="pip install 'ckpt2pb[tf]' (or tensorflow-cpu), or freeze without --verify") from None
    if not LOG.isEnabledFor(logging.DEBUG):  # TF's own deprecation notices about the v1 APIs used here
        tf.get_logger().setLevel(logging.ERROR)
    return tf


def _config(tf):
    return tf.compat.v1.ConfigProto(operation_timeout_in_ms=RUN_TIMEOUT_MS, allow_soft_placement=True)


def shared_batch(placeholders: Sequence, input_shapes: Mapping[str, Sequence[int]] | None = None) -> int:
    """The one size every open dimension gets: the batch an input fixes, else :data:`DEFAULT_DIM`.

    A model with an image input of fixed batch 1 and a sequence-length input of open batch runs
    only when both get batch 1 (TensorFlow asserts they agree); inputs of rank 2 or more that fix
    their first dimension say what it is. When they disagree, nothing can be shared.
    """
    shapes = {k.split(":")[0]: list(v) for k, v in (input_shapes or {}).items()}
    fixed = set()
    for name, _, shape in placeholders:
        shape = shapes.get(name.split(":")[0], shape)
        if shape is not None and len(shape) >= 2 and shape[0] is not None and shape[0] > 0:
            fixed.add(int(shape[0]))
    return fixed.pop() if len(fixed) == 1 else DEFAULT_DIM


def make_feeds(placeholders: Sequence, input_shapes: Mapping[str, Sequence[int]] | None = None,
               seed: int = 0, values: Mapping[str, object] | None = None,
               switches: Mapping[str, object] | None = None) -> dict[str, np.ndarray]:
    """Inputs for ``(tensor or node name, numpy dtype, shape list or None)``; tensor name -> value.

    ``input_shapes`` (``--input-shape``) and ``values`` (``--feed``) are keyed by node name;
    ``switches`` maps a switch input to its inference value (None: not needed for inference).
    """
    rng = np.random.default_rng(seed)
    shapes = {k.split(":")[0]: list(v) for k, v in (input_shapes or {}).items()}
    given = {k.split(":")[0]: v for k, v in (values or {}).items()}
    switches = {k.split(":")[0]: v for k, v in (switches or {}).items() if v is not None}
    _refuse_unknown_names(placeholders, shapes, "--input-shape")
    _refuse_unknown_names(placeholders, given, "--feed")
    batch = shared_batch(placeholders, shapes)
    feeds: dict[str, np.ndarray] = {}
    for name, dtype, shape in placeholders:
        tensor = name if ":" in name else name + ":0"
        node = tensor.rsplit(":", 1)[0]
        shape = shapes.get(node, shape)
        dims = None if shape is None else [batch if d is None or d < 0 else int(d) for d in shape]
        if node in given:
            feeds[tensor] = _given_value(node, given[node], np.dtype(dtype), dims)
        elif node in switches:
            feeds[tensor] = np.full(dims or [], switches[node], dtype=np.dtype(dtype))
        elif dims is None:
            raise VerifyCannotRunError(
                f"input {node!r} has an unknown rank, so --verify cannot make a value for it",
                code="VERIFY_UNKNOWN_INPUT",
                fix=f"give its shape with --input-shape {node}=D0,D1,... (--input-shape {node}= for a "
                    f"scalar), or its value with --feed {node}=VALUE")
        else:
            feeds[tensor] = _value(rng, np.dtype(dtype), dims, batch)
    return feeds


def _refuse_unknown_names(placeholders: Sequence, named: Mapping[str, object], flag: str) -> None:
    """A typo in a flag's input name would otherwise be ignored silently and a default used."""
    inputs = [name.rsplit(":", 1)[0] if ":" in name else name for name, _, _ in placeholders]
    unknown = sorted(set(named) - set(inputs))
    if unknown:
        raise UsageError(f"{flag} names {', '.join(map(repr, unknown))}, which is not an input of the "
                         "frozen graph", fix="its inputs are " + (", ".join(inputs) or "none")
                         + " (run `inspect` on the checkpoint to list them)")


def _given_value(node: str, value: object, dtype: np.dtype, dims: list[int] | None) -> np.ndarray:
    """``--feed NAME=VALUE``: the value in the input's dtype, a scalar filling a known shape."""
    try:
        array = np.asarray(value, dtype=object if dtype.kind in "SOU" else dtype)
    except (TypeError, ValueError):
        raise UsageError(f"--feed {node}={value!r} is not a {dtype} value",
                         fix=f"give a number, true/false or a JSON list, e.g. --feed {node}=1.0") from None
    if dtype.kind in "SOU":
        array = np.vectorize(lambda v: v if isinstance(v, bytes) else str(v).encode(), otypes=[object])(array)
    if array.ndim == 0 and dims:
        array = np.full(dims, array.item(), dtype=array.dtype)
    return array


def graph_inputs(graph) -> list[tuple[str, object, list[int] | None]]:
    """(tensor name, numpy dtype, shape) of everything --verify must feed in a TF graph.

    Resource and variant placeholders are left out: no session can feed them (TensorFlow names
    one that an output needs when it refuses to run)."""
    found = []
    for op in graph.get_operations():
        fed = op.type == "Placeholder" or (op.type == "PlaceholderWithDefault"
                                           and op.inputs[0].op.type != "Const")
        if fed and op.outputs[0].dtype in (tf_dtypes(op).resource, tf_dtypes(op).variant):
            continue
        if fed:
            found.append((op.outputs[0].name, op.outputs[0].dtype.as_numpy_dtype, _known_shape(op)))
        elif op.type in tfops.DATA_PRODUCERS:
            for output in op.outputs:
                shape = None if output.shape.rank is None else list(output.shape.as_list())
                found.append((output.name, output.dtype.as_numpy_dtype, shape))
    return found


def tf_dtypes(op):
    """TensorFlow's dtypes module, from an op of one of its graphs (this module never imports TF
    at the top)."""
    import tensorflow as tf

    return tf


def _value(rng, dtype: np.dtype, dims: list[int], batch: int) -> np.ndarray:
    if dtype == np.bool_:
        return np.zeros(dims, dtype=bool)  # flags: False, the inference side of a training switch
    if dtype.kind == "f" and not dims:
        return np.asarray(1.0, dtype=dtype)  # float scalars: keep_prob-style, keep everything
    if dtype.kind in "fc":
        return rng.standard_normal(dims).astype(dtype)
    if dtype.kind in "iu" and not dims:
        return np.asarray(batch, dtype=dtype)  # a size: batch, sequence length, steps
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=dims).astype(dtype)  # small: valid indices, ids and lengths
    if dtype.kind in "SOU":
        return np.full(dims, b"a", dtype=object)
    raise UsageError(f"--verify cannot generate inputs of dtype {dtype}",
                     fix=f"give the input's value with {FEED_FIX}")


def tolerance(dtype: np.dtype, expected: np.ndarray) -> float:
    """The largest difference allowed in one output: :data:`RELATIVE_TOLERANCE` of its magnitude."""
    finite = np.abs(expected[np.isfinite(expected)])
    scale = float(finite.max()) if finite.size else 0.0
    return ATOL + RELATIVE_TOLERANCE.get(str(dtype), 1e-4) * scale


def compare(name: str, expected: np.ndarray, actual: np.ndarray) -> dict:
    """One output: shapes, dtypes, NaN positions and values within :func:`tolerance`."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    result = {"output": name, "shape": list(expected.shape), "dtype": str(expected.dtype),
              "max_abs_diff": 0.0, "tolerance": 0.0, "ok": True, "problem": None}
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        result.update(ok=False, problem=f"expected {expected.dtype}{list(expected.shape)}, got "
                                        f"{actual.dtype}{list(actual.shape)}")
        return result
    if expected.dtype.kind in "fc" or str(expected.dtype) == "bfloat16":
        wide = np.complex128 if expected.dtype.kind == "c" else np.float64
        e, a = expected.astype(wide), actual.astype(wide)
        nan_e, nan_a = np.isnan(e), np.isnan(a)
        if not np.array_equal(nan_e, nan_a):
            result.update(ok=False, problem="NaN in different places")
            return result
        e, a = e[~nan_e], a[~nan_e]
        if not np.array_equal(np.isinf(e), np.isinf(a)) or not np.array_equal(e[np.isinf(e)], a[np.isinf(a)]):
            result.update(ok=False, problem="infinities in different places")
            return result
        finite = np.isfinite(e)
        diff = np.abs(e[finite] - a[finite])
        allowed = tolerance(expected.dtype, e)
        result["max_abs_diff"] = float(diff.max()) if diff.size else 0.0
        result["tolerance"] = allowed
        if result["max_abs_diff"] > allowed:
            result.update(ok=False, problem=f"values differ (max abs diff {result['max_abs_diff']:.3g}, "
                                            f"allowed {allowed:.3g})")
    elif not np.array_equal(expected, actual):
        result.update(ok=False, problem="values differ")
    return result


def verify_frozen(graph_path: str, prefix: str, frozen_path, outputs: Sequence[str], *,
                  input_shapes: Mapping[str, Sequence[int]] | None = None, meta_graph=None,
                  folded: Sequence = (), reader=None, seed: int = 0, report_path=None,
                  initializers: Sequence[str] = (), values: Mapping[str, object] | None = None,
                  switches: Mapping[str, object] | None = None, restored_names: dict[str, str] | None = None,
                  restored_feeds: dict | None = None) -> dict:
    """Run both graphs; return the report or raise. See the module docstring.

    ``prefix`` None: ``graph_path`` is itself a frozen graph, compared with its pruned copy.
    ``restored_names`` maps a frozen graph's tensor to the restored graph's where ``freeze
    --for-inference`` renamed it (an inlined call's outputs); ``restored_feeds`` are extra values the
    restored graph needs (the inference values of the switches the rewrites folded away).
    """
    tf = _import_tf()
    run = _Run(tf, graph_path, prefix, frozen_path, outputs, input_shapes=input_shapes, meta_graph=meta_graph,
               folded=folded, reader=reader, seed=seed, report_path=report_path, initializers=initializers,
               values=values, switches=switches, restored_names=restored_names or {},
               restored_feeds=restored_feeds or {})
    return run.verify()


class _Run:
    """One verification: the two graphs, the feeds they share, and what went wrong where."""

    def __init__(self, tf, graph_path: str, prefix: str | None, frozen_path, outputs: Sequence[str], *,
                 input_shapes, meta_graph, folded: Sequence, reader, seed: int, report_path,
                 initializers: Sequence[str], values, switches, restored_names: dict[str, str],
                 restored_feeds: dict) -> None:
        self.tf, self.graph_path, self.prefix, self.frozen_path = tf, graph_path, prefix, frozen_path
        self.outputs, self.input_shapes, self.meta_graph = list(outputs), input_shapes, meta_graph
        self.folded, self.reader, self.seed, self.initializers = folded, reader, seed, initializers
        self.values, self.switches = values, switches
        self.restored_names, self.restored_feeds = restored_names, restored_feeds
        self.path = str(report_path or frozen_path)
        self.frozen_graph = None
        self.seeded: list[str] = []

    def verify(self) -> dict:
        tf = self.tf
        v1 = tf.compat.v1
        frozen_def = _parse_file(self.frozen_path, v1.GraphDef())
        original = self._original_graph_def()
        self.seeded = seed_unfeedable_draws(tf, frozen_def, original)
        self.frozen_graph = tf.Graph()
        try:
            with self.frozen_graph.as_default():
                v1.import_graph_def(frozen_def, name="")
        except ValueError as error:  # validation passed, so this is ckpt2pb's bug
            raise VerificationError(f"TensorFlow cannot import the frozen graph: {error}", path=self.path,
                                    fix="please report this with the input graph") from None
        fetches = [t.name for name in self.outputs  # every output of each output node
                   for t in self.frozen_graph.get_operation_by_name(name).outputs
                   if t.dtype not in (tf.resource, tf.variant)]
        feeds = make_feeds(graph_inputs(self.frozen_graph), self.input_shapes, self.seed, self.values,
                           self.switches)
        feeds.update(_example_feeds(tf, self.frozen_graph, feeds, self.seed, skip=set(self.values or ())))
        random = [op.outputs[0].name for op in self.frozen_graph.get_operations()
                  if op.type in tfops.RANDOM_STATEFUL]
        report, attempt = self._compare(original, fetches, feeds, random)
        if not report["ok"] and attempt["unstable"] and original is not None:
            # The original writes variables in its forward pass (fake-quant ranges, a batch norm's
            # moving averages read back): each run changes them, and TF may read a variable before or
            # after its write in the same run. Freezing cuts the writes (Assign -> Identity of the new
            # value, AssignSub -> Sub, …); the comparison is made again with the same cut in the original.
            cut = cut_forward_state_writes(original)
            if cut:
                report, attempt = self._compare(original, fetches, feeds, random)
                report["state_writes_cut_in_original"] = cut
        if not report["ok"]:
            self._raise_mismatch(attempt, fetches, random)
        return report

    def _compare(self, original, fetches: list[str], feeds: dict, random: list[str]) -> tuple[dict, dict]:
        """One comparison: the report, and what :meth:`_raise_mismatch` needs to explain a failure."""
        tf = self.tf
        feeds = dict(feeds)
        weights = [f.node for f in self.folded]
        try:
            restored_out, restored_again, sampled, restored_weights = self._run_original(
                original, fetches, feeds, random, weights)
            feeds.update(sampled)
            with tf.compat.v1.Session(graph=self.frozen_graph, config=_config(tf)) as session:
                if self.initializers:
                    session.run(list(self.initializers))
                frozen_out = session.run(fetches, feeds)
                frozen_weights = session.run([f"{w}:0" for w in weights]) if weights else []
        except tf.errors.OpError as error:
            raise self._cannot_run(error, feeds) from None
        results = [compare(name, e, a) for name, e, a in zip(fetches, restored_out, frozen_out, strict=True)]
        weight_problems = [w for w, e, a in zip(weights, restored_weights, frozen_weights, strict=True)
                           if e is not None and not bit_identical(e, a)]
        unstable = [r for r in (compare(name, a, b) for name, a, b in
                                zip(fetches, restored_out, restored_again, strict=True)) if not r["ok"]]
        report = {"ok": all(r["ok"] for r in results) and not weight_problems, "outputs": results,
                  "inputs": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in feeds.items()},
                  "weights_compared": sum(1 for w in restored_weights if w is not None),
                  "weights_differing": weight_problems, "seeded_random_ops": self.seeded,
                  "switches": {name: value for name, value in (self.switches or {}).items()
                               if f"{name}:0" in feeds},
                  "state_writes_cut_in_original": [],
                  "max_abs_diff": max((r["max_abs_diff"] for r in results), default=0.0)}
        return report, {"results": results, "weights": weight_problems, "unstable": unstable}

    def _original_graph_def(self):
        """TensorFlow's copy of the original graph (None for a SavedModel, which TF loads itself)."""
        if self.prefix is None:
            if self.meta_graph is not None:  # a .meta or saved_model.pb whose graph has no variables
                graph_def = self.tf.compat.v1.GraphDef()
                graph_def.ParseFromString(self.meta_graph.graph_def.SerializeToString())
                return graph_def
            return _parse_file(self.graph_path, self.tf.compat.v1.GraphDef())
        if _is_saved_model(self.graph_path):
            return None
        return _meta_graph_for_tf(self.tf, self.graph_path)

    def _run_original(self, original, fetches: list[str], feeds: dict, random: list[str], weights: list[str]):
        """Outputs, the sampled random values they used and the restored weights; the outputs of a
        second run too, to tell a graph that answers differently every time from a wrong freeze."""
        tf = self.tf
        v1 = tf.compat.v1
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph, config=_config(tf)) as session:
            self._load_original(session, original)
            for record in self.folded:  # --use-moving-averages: the shadow values replace the weights
                if getattr(record, "moving_average", False) and self.reader is not None:
                    _load_value(graph, session, record.node, _checkpoint_value(self.reader, record))
            # --for-inference renames inlined outputs and folds switches away: the restored graph gets its
            # own tensor names, and the folded switches' inference values as extra feeds.
            present = {op.name for op in graph.get_operations()}
            random = [t for t in random if t.rsplit(":", 1)[0] in present]
            restored_in = {self.restored_names.get(k, k): v for k, v in feeds.items()} | self.restored_feeds
            restored_fetches = [self.restored_names.get(f, f) for f in fetches]
            live = _live_tensors(tf, session, random, restored_in)
            values = session.run(restored_fetches + live, restored_in)  # outputs and the samples they used
            out, sampled = values[:len(fetches)], dict(zip(live, values[len(fetches):], strict=True))
            again = session.run(restored_fetches, {**restored_in, **sampled})
            restored_weights = [_read_variable(graph, session, w) if self.prefix is not None else None
                                for w in weights]
        return out, again, sampled, restored_weights

    def _load_original(self, session, original) -> None:
        """The original graph with its variables (and lookup tables) in ``session``."""
        v1 = self.tf.compat.v1
        if self.prefix is None:  # a frozen graph, compared with TensorFlow's own pruning of it
            try:
                nodes = [self.restored_names.get(f"{o}:0", f"{o}:0").rsplit(":", 1)[0] for o in self.outputs]
                v1.import_graph_def(v1.graph_util.extract_sub_graph(original, nodes), name="")
            except ValueError as error:
                raise VerifyCannotRunError(
                    f"TensorFlow cannot import the original graph pruned to the outputs, so nothing was "
                    f"compared: {error}", path=self.path, code="VERIFY_RESTORE_FAILED",
                    fix="the pruned graph was written and validated; prune without --verify to keep it",
                ) from None
            if self.initializers:
                session.run(list(self.initializers))
            return
        try:
            _restore(self.tf, session, self.graph_path, self.prefix, self.meta_graph, original)
        except self.tf.errors.OpError as error:
            first = tf_error_line(str(error.message or "")) or type(error).__name__
            raise VerifyCannotRunError(
                f"TensorFlow could not restore the checkpoint into its own graph, so nothing was compared: "
                f"{first}", path=self.path, code="VERIFY_RESTORE_FAILED",
                fix="the frozen graph was written and validated; freeze without --verify to keep it",
            ) from None

    def _cannot_run(self, error, feeds: dict) -> VerifyCannotRunError:
        """The failing node, the inputs that reach it and the flag that gives them real values."""
        first = tf_error_line(str(error.message or "")) or type(error).__name__
        node = _error_node(error, first)
        reaching = self._inputs_reaching(node, feeds) if node else []
        named = ", ".join(reaching) or ", ".join(k.rsplit(":", 1)[0] for k in feeds) or "none"
        example = reaching[0] if reaching else "NAME"
        return VerifyCannotRunError(
            f"TensorFlow could not run the graphs on the inputs --verify generated, so nothing was compared: "
            f"{first}", path=self.path, code="VERIFY_FAILED_TO_RUN",
            fix=f"give the real values or shapes of the inputs that reach it ({named}) with "
                f"--feed {example}=VALUE or --input-shape {example}=D0,D1,...; the frozen graph itself "
                "was written and validated")

    def _inputs_reaching(self, node: str, feeds: dict) -> list[str]:
        """Fed inputs among the ancestors of ``node`` in the frozen graph (names without ``:0``)."""
        graph = self.frozen_graph
        try:
            start = graph.get_operation_by_name(node)
        except (KeyError, ValueError):
            return []
        fed = {name.rsplit(":", 1)[0] for name in feeds}
        seen, stack, found = set(), [start], []
        while stack:
            op = stack.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.name in fed:
                found.append(op.name)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
        return sorted(found)

    def _raise_mismatch(self, attempt: dict, fetches, random):
        results, weight_problems, unstable = attempt["results"], attempt["weights"], attempt["unstable"]
        if unstable:
            unfed = sorted(set(n.rsplit(":", 1)[0] for n in random) - set(self.seeded))
            cause = (f"random ops --verify cannot feed or seed ({', '.join(unfed[:5])}"
                     + (" …" if len(unfed) > 5 else "") + ")") if unfed else "state it updates as it runs"
            raise VerifyCannotRunError(
                "the checkpoint's own graph answers differently on two runs with the same inputs "
                f"({unstable[0]['output']}: {unstable[0]['problem']}), so the frozen graph cannot be "
                f"compared with it: {cause}", path=self.path, code="VERIFY_NONDETERMINISTIC",
                fix="the frozen graph was written and validated; `inspect` it for active dropout or "
                    "random weights")
        problems = [f"{r['output']}: {r['problem']}" for r in results if not r["ok"]]
        if weight_problems:
            problems.append(f"weights not bit-identical: {', '.join(weight_problems[:5])}")
        raise VerificationError(
            "the frozen graph differs from the restored checkpoint: " + "; ".join(problems),
            path=self.path, fix="please report this with the checkpoint's .meta")


def _error_node(error, first: str) -> str | None:
    """The node a TensorFlow run error names (its ``op``, else the "(node 'X')" of its message)."""
    op = getattr(error, "op", None)
    if op is not None and getattr(op, "name", None):
        return op.name
    marker = "(node '"
    if marker in first:
        return first.rsplit(marker, 1)[1].split("'", 1)[0]
    return None


def _is_saved_model(graph_path: str) -> bool:
    return os.path.basename(graph_path).startswith("saved_model.")


def seed_unfeedable_draws(tf, frozen_def, original_def) -> list[str]:
    """Replace the random draws inside while loops by seeded twins, identically in both graphs.

    A draw in a loop frame runs once per iteration and cannot be fed, so the two graphs would
    draw different noise (dropout inside ``dynamic_rnn``). Its stateless twin with a seed made
    from the node name gives both the same values. ``original_def`` is the original GraphDef or
    MetaGraphDef (None for a SavedModel, which cannot be rewritten: its draws stay as they are).
    Returns the names replaced.
    """
    if original_def is None:
        return []
    in_loops = loop_frame_nodes(frozen_def)
    names = sorted(node.name for node in frozen_def.node
                   if node.op in tfops.STATELESS_TWINS and node.name in in_loops)
    if not names:
        return []
    graph_def = original_def.graph_def if hasattr(original_def, "graph_def") else original_def
    for target in (frozen_def, graph_def):
        nodes = {node.name: node for node in target.node}
        for name in names:
            if name in nodes:
                _seeded_twin(target, nodes[name])
    return names


def cut_forward_state_writes(original_def) -> list[str]:
    """Make the original graph's state writes whose value is read by data (not only waited on)
    compute the written value instead (:data:`inspector.tfops.PURE_WRITE_TWINS`), as freezing does;
    returns their names. ``original_def``: a GraphDef or MetaGraphDef (TensorFlow's classes)."""
    graph_def = original_def.graph_def if hasattr(original_def, "graph_def") else original_def
    read = {text.split(":")[0] for node in graph_def.node for text in node.input if not text.startswith("^")}
    cut = []
    for node in graph_def.node:
        if node.op not in tfops.PURE_WRITE_TWINS or node.name not in read:
            continue
        data = [t for t in node.input if not t.startswith("^")]
        controls = [t for t in node.input if t.startswith("^")]
        if node.op == "Assign":
            data = data[1:2]
        node.op = tfops.PURE_WRITE_TWINS[node.op]
        del node.input[:]
        node.input.extend(data + controls)
        for attr in ("use_locking", "validate_shape"):
            if attr in node.attr:
                del node.attr[attr]
        cut.append(node.name)
    _unref_plumbing_after(graph_def, cut)
    return cut


def _unref_plumbing_after(graph_def, cut: list[str]) -> None:
    """Ref plumbing (RefIdentity, RefSwitch …) reading a cut write now gets a value: its non-ref twin."""
    consumers: dict[str, list] = {}
    for node in graph_def.node:
        for text in node.input:
            if not text.startswith("^"):
                consumers.setdefault(text.split(":")[0], []).append(node)
    stack = list(cut)
    while stack:
        for node in consumers.get(stack.pop(), ()):
            if node.op in tfops.REF_TWINS:
                node.op = tfops.REF_TWINS[node.op]
                stack.append(node.name)


def loop_frame_nodes(graph_def) -> set[str]:
    """Nodes that run inside a v1 while loop: reached from an Enter without passing an Exit."""
    consumers: dict[str, list[str]] = {}
    for node in graph_def.node:
        for text in node.input:
            consumers.setdefault(text.lstrip("^").split(":")[0], []).append(node.name)
    ops = {node.name: node.op for node in graph_def.node}
    inside: set[str] = set()
    stack = [node.name for node in graph_def.node if node.op in tfops.LOOP_ENTERS]
    while stack:
        name = stack.pop()
        if name in inside:
            continue
        inside.add(name)
        if ops.get(name) not in tfops.LOOP_EXITS:
            stack.extend(consumers.get(name, ()))
    return inside


def _seeded_twin(graph_def, node) -> None:
    """Turn ``node`` (a stateful draw) into its stateless twin reading a Const seed from its frame."""
    twin = opdefs.op_def(tfops.STATELESS_TWINS[node.op])
    inputs = [t for t in node.input if not t.startswith("^")]
    controls = [t for t in node.input if t.startswith("^")]
    position = [arg.name for arg in twin.input_arg].index("seed")
    seed = graph_def.node.add()
    seed.name = f"{node.name}/ckpt2pb_verify_seed"
    seed.op = "Const"
    seed.attr["dtype"].type = 9  # DT_INT64
    value = seed.attr["value"].tensor
    value.dtype = 9
    value.tensor_shape.dim.add().size = 2
    value.int64_val.extend([87654321, zlib.crc32(node.name.encode())])
    if inputs:  # a control edge from the shape's producer puts the seed in the loop frame
        seed.input.append("^" + inputs[0].lstrip("^").split(":")[0])
    attrs = {key: node.attr[key] for key in node.attr}
    node.op = twin.name
    del node.input[:]
    node.input.extend([*inputs[:position], seed.name, *inputs[position:], *controls])
    for key in list(node.attr):
        del node.attr[key]
    for attr in twin.attr:
        source = attrs.get(attr.name) or (attrs.get("Tout") if attr.name == "dtype" else None)
        if source is not None:
            node.attr[attr.name].CopyFrom(source)
        elif attr.name == "Tseed":
            node.attr[attr.name].type = 9


def _example_feeds(tf, graph, feeds: dict, seed: int, skip: set[str] = frozenset()) -> dict:
    """Serialized ``tf.train.Example`` protos for string inputs parsed by ParseExample(V2)
    (not for the inputs in ``skip``, whose values the user gave)."""
    out = {}
    rng = np.random.default_rng(seed)
    for op in graph.get_operations():
        if op.type not in tfops.PARSE_EXAMPLES or op.inputs[0].op.type != "Placeholder":
            continue
        name = op.inputs[0].name
        if name not in feeds or op.inputs[0].op.name in skip:
            continue
        with tf.compat.v1.Session(graph=graph, config=_config(tf)) as session:
            dense_keys, sparse_keys = _example_keys(op, session)
        sizes = [int(np.prod([max(d.size, 1) for d in shape.dim])) for shape in op.get_attr("dense_shapes")]
        dense = list(zip(dense_keys, op.get_attr("Tdense"), sizes, strict=True))
        sparse = list(zip(sparse_keys, op.get_attr("sparse_types"), strict=True))
        examples = []
        for _ in range(feeds[name].size or 1):
            example = tf.train.Example()
            for key, dtype, count in dense:
                _fill(example.features.feature[key], dtype, count, rng)
            for key, dtype in sparse:
                _fill(example.features.feature[key], dtype, 1, rng)
            examples.append(example.SerializeToString())
        out[name] = np.array(examples, dtype=object).reshape(feeds[name].shape)
    return out


def _example_keys(op, session) -> tuple[list[str], list[str]]:
    if op.type == "ParseExampleV2":
        sparse, dense = session.run([op.inputs[2], op.inputs[3]])
        return [k.decode() for k in np.ravel(dense)], [k.decode() for k in np.ravel(sparse)]
    num_sparse = op.get_attr("Nsparse")
    num_dense = op.get_attr("Ndense")
    keys = session.run([t for t in op.inputs[2:2 + num_sparse + num_dense]])
    return [k.decode() for k in keys[num_sparse:]], [k.decode() for k in keys[:num_sparse]]


def _fill(feature, dtype, count: int, rng) -> None:
    if dtype.is_floating:
        feature.float_list.value.extend(rng.standard_normal(count).astype(np.float32).tolist())
    elif dtype.is_integer:
        feature.int64_list.value.extend([int(v) for v in rng.integers(0, 2, count)])
    else:
        feature.bytes_list.value.extend([b"a"] * count)


def _restore(tf, session, graph_path: str, prefix: str, meta_graph, tf_meta=None) -> None:
    """Load the original graph with its variables (and lookup tables) into ``session``;
    ``tf_meta``: TensorFlow's MetaGraphDef of it, already read (and possibly seeded)."""
    v1 = tf.compat.v1
    if _is_saved_model(graph_path):
        tags = list(meta_graph.meta_info_def.tags) if meta_graph is not None else ["serve"]
        v1.saved_model.loader.load(session, tags, os.path.dirname(graph_path))
        return
    saver = v1.train.import_meta_graph(tf_meta if tf_meta is not None else _meta_graph_for_tf(tf, graph_path),
                                       clear_devices=True)
    if saver is None:
        saver = v1.train.Saver()
    saver.restore(session, prefix)
    session.run(v1.tables_initializer())


def _live_tensors(tf, session, tensors: Sequence[str], feeds: dict) -> list[str]:
    """The random tensors the run computes (those in a dead cond branch have no value)."""
    if not tensors:
        return []
    try:
        session.run(list(tensors), feeds)
        return list(tensors)
    except tf.errors.OpError:
        live = []
        for name in tensors:
            try:
                session.run(name, feeds)
                live.append(name)
            except tf.errors.OpError:
                continue
        return live


def _meta_graph_for_tf(tf, graph_path: str):
    """The MetaGraphDef as TF's class, without ``_output_shapes`` (stale ones make TF refuse it)."""
    meta = _parse_file(graph_path, tf.compat.v1.MetaGraphDef())
    for node in meta.graph_def.node:
        if "_output_shapes" in node.attr:
            del node.attr["_output_shapes"]
    return meta


def _known_shape(op) -> list[int] | None:
    """A placeholder's shape; for an unknown rank, the shape TF recorded when it wrote the graph
    (``_output_shapes``), else what its consumer implies: serialized Examples for ParseExample are
    a vector, a MatMul with a constant weight fixes the columns."""
    shape = op.outputs[0].shape
    if shape.rank is not None:
        return list(shape.as_list())
    recorded = op.node_def.attr["_output_shapes"].list.shape if "_output_shapes" in op.node_def.attr else []
    if recorded and not recorded[0].unknown_rank:
        return [d.size for d in recorded[0].dim]
    for consumer in op.outputs[0].consumers():
        if consumer.type in tfops.PARSE_EXAMPLES and consumer.inputs[0] is op.outputs[0]:
            return [-1]
        if consumer.type == "MatMul" and consumer.inputs[0] is op.outputs[0] \
                and not consumer.get_attr("transpose_a"):
            weight = consumer.inputs[1].shape
            if weight.rank == 2 and weight[0] is not None:
                column = 1 if consumer.get_attr("transpose_b") else 0
                return [-1, int(weight[column])]
    return None


def bit_identical(expected, actual) -> bool:
    """Same shape, dtype and bytes (NaN payloads and -0.0 included); strings compared by value."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return False
    if expected.dtype == object or actual.dtype == object:
        return [bytes(v) for v in expected.ravel()] == [bytes(v) for v in actual.ravel()]
    return expected.dtype == actual.dtype and expected.tobytes() == actual.tobytes()


def _read_variable(graph, session, name: str):
    """The value TF restored into variable ``name`` (a resource variable is read through its handle)."""
    op = graph.get_operation_by_name(name)
    if op.type == "VarHandleOp":
        from tensorflow.python.ops import gen_resource_variable_ops

        dtype = op.get_attr("dtype")
        with graph.as_default():
            read = gen_resource_variable_ops.read_variable_op(op.outputs[0], dtype)
        return session.run(read)
    return session.run(op.outputs[0])


def _checkpoint_value(reader, record) -> np.ndarray:
    value = reader.read(record.key)
    if record.slices is not None:
        value = value[tuple(slice(s, s + n) for s, n in record.slices)]
    return value


def _load_value(graph, session, name: str, value: np.ndarray) -> None:
    op = graph.get_operation_by_name(name)
    with graph.as_default():
        import tensorflow as tf

        if op.type == "VarHandleOp":
            from tensorflow.python.ops import gen_resource_variable_ops

            assign = gen_resource_variable_ops.assign_variable_op(op.outputs[0], tf.constant(value))
        else:
            assign = tf.compat.v1.assign(op.outputs[0], tf.constant(value))
    session.run(assign)


def _parse_file(path, message):
    """Fill TensorFlow's ``message`` from ``path``, binary or text (ours parsed it already, so it is one)."""
    from google.protobuf import text_format

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        message.ParseFromString(data)
    except Exception:
        text_format.Parse(data.decode("utf-8"), message)
    return message
