"""The deploy matrix's models and what each must compute: every freezable fixture and every corpus
checkpoint or SavedModel whose author named the outputs.

For each model, :func:`reference` freezes it once with ``freeze`` (no rewrites), generates inputs
for that graph's placeholders the way ``freeze --verify`` does (dtype- and shape-aware; training
switches at their inference values), and runs the *restored checkpoint* in TensorFlow on them: the
outputs every frozen variant must reproduce in every runtime.

Variants (:data:`VARIANTS`) are the ways to get a frozen graph: ``freeze``, ``freeze
--for-inference``, TensorFlow's ``convert_variables_to_constants`` and that followed by
``optimize_for_inference``.
"""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from bench.deploy import runtimes  # noqa: E402

VARIANTS = ("freeze", "for_inference", "tf_freeze", "tf_optimized")


@dataclass(frozen=True)
class Model:
    name: str
    source: str  # "fixture" | "corpus"
    path: Path
    outputs: tuple[str, ...]


@dataclass
class Reference:
    """Inputs for the frozen graph and the restored checkpoint's outputs on them."""

    feeds: dict[str, np.ndarray]
    fetches: list[str]
    expected: list[np.ndarray]
    initializers: list[str] = field(default_factory=list)
    graph: str = ""
    checkpoint: str = ""
    problem: str | None = None  # why there is no reference (the model cannot be compared)


def fixture_models() -> list[Model]:
    from fixtures.registry import all_fixtures

    return [Model(f.name, "fixture", f.full_path, tuple(f.expected_outputs)) for f in all_fixtures()
            if f.kind in ("checkpoint", "saved_model") and f.freezable and f.full_path.exists()]


def corpus_models() -> list[Model]:
    from tests.corpus import corpus_cases

    return [Model(c.case, "corpus", c.folder, tuple(c.expected_outputs))
            for c in corpus_cases() if c.kind in ("checkpoint", "saved_model") and c.expected_outputs]


def all_models() -> list[Model]:
    return fixture_models() + corpus_models()


# ---------------------------------------------------------------------------------------------
# Frozen variants


def freeze_variant(model: Model, variant: str, out: Path, reference: Reference | None = None) -> dict:
    """Write ``model`` frozen by ``variant`` to ``out``; returns {"fetches": [...]} (names in ``out``).

    Raises :class:`runtimes.RuntimeFailure` ("freeze") when the tool cannot produce the graph.
    """
    if variant in ("freeze", "for_inference"):
        return _ours(model, variant == "for_inference", out, reference)
    return _tensorflow_freeze(model, variant == "tf_optimized", out, reference)


def _ours(model: Model, for_inference: bool, out: Path, reference: Reference | None) -> dict:
    from freezer import freeze
    from inspector.errors import Ckpt2pbError

    kwargs = {}
    if for_inference:
        if "for_inference" not in inspect.signature(freeze).parameters:
            raise runtimes.RuntimeFailure("freeze", "this ckpt2pb has no --for-inference")
        kwargs["for_inference"] = True  # no --input-shape: the rewrites must find the shapes themselves
    try:
        result = freeze(model.path, outputs=list(model.outputs), output_path=out, **kwargs)
    except Ckpt2pbError as error:
        raise runtimes.RuntimeFailure("freeze", str(error).splitlines()[0][:240]) from None
    renamed = getattr(result, "renamed_outputs", {}) or {}
    return {"result": result, "renamed": renamed}


def _tensorflow_freeze(model: Model, optimize: bool, out: Path, reference: Reference | None) -> dict:
    """What users do without ckpt2pb: restore, convert_variables_to_constants [, optimize_for_inference]."""
    tf = runtimes.tf()
    v1 = tf.compat.v1
    if reference is None or not reference.graph:
        raise runtimes.RuntimeFailure("freeze", "no reference graph")
    graph = tf.Graph()
    outputs = list(model.outputs)
    try:
        with graph.as_default(), v1.Session(graph=graph) as session:
            _restore(tf, session, reference.graph, reference.checkpoint)
            frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), outputs)
        if optimize:
            from tensorflow.python.tools import optimize_for_inference_lib

            inputs = [n.rsplit(":", 1)[0] for n in reference.feeds]
            types = [tf.as_dtype(v.dtype if v.dtype != object else np.bytes_).as_datatype_enum
                     for v in reference.feeds.values()]
            frozen = optimize_for_inference_lib.optimize_for_inference(frozen, inputs, outputs, types)
    except Exception as error:
        raise runtimes.RuntimeFailure("freeze", runtimes._first_line(error)) from None
    out.write_bytes(frozen.SerializeToString())
    return {"result": None, "renamed": {}}


def _restore(tf, session, graph_path: str, prefix: str) -> None:
    from freezer.verify import _restore as restore
    from inspector.readers.graphfile import load_graph_file

    meta = load_graph_file(graph_path).meta_graph if os.path.basename(graph_path).startswith("saved_model.") \
        else None
    restore(tf, session, graph_path, prefix, meta)


# ---------------------------------------------------------------------------------------------
# Reference outputs


def reference(model: Model, frozen: Path) -> Reference:
    """Feeds for ``frozen`` (``freeze``'s plain result) and the restored checkpoint's outputs on them."""
    from freezer.verify import _example_feeds, graph_inputs, make_feeds
    from inspector import tfops

    tf = runtimes.tf()
    v1 = tf.compat.v1
    frozen_graph = tf.Graph()
    with frozen_graph.as_default():
        v1.import_graph_def(runtimes._graph_def(str(frozen)), name="")
    fetches = [t.name for name in model.outputs
               for t in frozen_graph.get_operation_by_name(name).outputs
               if t.dtype not in (tf.resource, tf.variant)]
    inputs = graph_inputs(frozen_graph)
    fed = {name.rsplit(":", 1)[0] for name, _, _ in inputs}
    feeds = make_feeds(inputs, {k: v for k, v in _unknown_rank_switches(model).items() if k in fed})
    feeds.update(_example_feeds(tf, frozen_graph, feeds, 0))
    for name, value in inference_switches(model).items():  # what --for-inference folds them to
        if f"{name}:0" in feeds:
            feeds[f"{name}:0"] = np.asarray(value, dtype=feeds[f"{name}:0"].dtype).reshape(
                feeds[f"{name}:0"].shape)
    random = [op.outputs[0].name for op in frozen_graph.get_operations() if op.type in tfops.RANDOM_STATEFUL]
    return _restored_outputs(model, frozen, feeds, fetches, random)


def inference_switches(model: Model) -> dict[str, object]:
    """Training switch -> inference value, from the roles pass over the model's own graph."""
    from freezer.api import switch_values
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file

    graph_path, _ = _graph_and_prefix(model)
    loaded = load_graph_file(graph_path)
    graph_def = loaded.meta_graph.graph_def if loaded.meta_graph is not None else loaded.graph_def
    return switch_values(GraphModel.from_graph_def(graph_def, loaded.meta_graph))


def _unknown_rank_switches(model: Model) -> dict[str, list[int]]:
    """A switch saved without a shape (``tf.placeholder(tf.float32)`` for keep_prob) is a scalar."""
    return {name: [] for name in inference_switches(model)}


def _restored_outputs(model: Model, frozen: Path, feeds: dict, fetches: list[str], random: list[str]):
    from freezer.verify import _live_tensors

    tf = runtimes.tf()
    v1 = tf.compat.v1
    graph_path, prefix = _graph_and_prefix(model)
    ref = Reference(feeds=feeds, fetches=fetches, expected=[], graph=graph_path, checkpoint=prefix)
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph, config=runtimes.session_config()) as session:
        _restore(tf, session, graph_path, prefix)
        if random:
            # Two runs that differ mean a draw reaches the outputs. A draw inside a while loop (dropout
            # in dynamic_rnn at a constant keep_prob) cannot be fetched, so the runs are compared
            # whenever the graph has a draw at all, not only a fetchable one.
            first = session.run(fetches, feeds)
            second = session.run(fetches, feeds)
            if any(not np.array_equal(a, b) for a, b in zip(first, second, strict=True)):
                live = _live_tensors(tf, session, random, feeds) or [
                    f"{n} inside a while loop" for n in sorted(_in_loops(frozen, random))]
                ref.problem = "the outputs depend on random draws made at run time (" + \
                    ", ".join(n.rsplit(":", 1)[0] for n in live[:3]) + ")"
        ref.expected = [np.asarray(v) for v in session.run(fetches, feeds)]
    return ref


def _in_loops(frozen: Path, tensors: list[str]) -> set[str]:
    from freezer.verify import loop_frame_nodes

    in_loops = loop_frame_nodes(runtimes._graph_def(str(frozen)))
    return {t.rsplit(":", 1)[0] for t in tensors} & in_loops


def _graph_and_prefix(model: Model) -> tuple[str, str]:
    from freezer.api import _load_graph
    from inspector.readers.resolve import resolve

    artifacts = resolve(model.path)
    graph_path, _, _ = _load_graph(artifacts)
    return graph_path, artifacts.prefix
