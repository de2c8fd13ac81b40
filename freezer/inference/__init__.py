"""``freeze --for-inference``: named graph rewrites that make a frozen graph load in other runtimes.

Each rewrite is one function ``rewrite(graph: InferenceGraph) -> list[str]`` (what it changed, one
line per change), in its own module, with the op patterns it matches stated as data. They all sit
in :data:`REWRITES`, in the order they are tried; :func:`run_rewrites` applies them one at a time,
prunes what no output needs after each, reports each (what changed, node counts before and after)
and lets the caller re-check the graph after each one (``--verify`` runs it in TensorFlow). The list
is applied again while any rewrite still changes something (folding a switch exposes constants,
folding constants exposes a batch norm), at most :data:`MAX_ROUNDS` times.

Dropping a rewrite is deleting one entry; testing one is calling one function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from freezer.defaults import fill_default_attrs
from freezer.inference.batch_norm import fold_batch_norms
from freezer.inference.branches import prune_dead_branches
from freezer.inference.calls import inline_calls
from freezer.inference.constants import fold_constants
from freezer.inference.graph import InferenceGraph
from freezer.inference.identities import keep_outputs_as_layers, remove_identities, remove_inert_dropout
from freezer.inference.inputs import fix_inputs
from freezer.inference.switches import fold_switches
from freezer.inference.tiles import tile_as_concat

MAX_ROUNDS = 4


@dataclass(frozen=True)
class Rewrite:
    name: str
    run: Callable[[InferenceGraph], list[str]]
    why: str


REWRITES: tuple[Rewrite, ...] = (
    Rewrite("fold_switches", fold_switches,
            "training flags, keep_prob and dropout rates become their inference values"),
    Rewrite("prune_dead_branches", prune_dead_branches,
            "a tf.cond whose predicate is constant keeps only the branch that runs (no Switch/Merge)"),
    Rewrite("inline_calls", inline_calls,
            "TF2 function calls become the flat graph of their bodies"),
    Rewrite("remove_identities", remove_identities,
            "Identity chains compute nothing and hide the patterns runtimes fuse"),
    Rewrite("fold_constants", fold_constants,
            "subgraphs that depend only on weights become one Const"),
    Rewrite("fold_batch_norms", fold_batch_norms,
            "inference batch norm goes into the preceding weights, or becomes one multiply-add"),
    Rewrite("remove_inert_dropout", remove_inert_dropout,
            "dropout at keep_prob 1 multiplies by a mask of ones"),
    Rewrite("tile_as_concat", tile_as_concat,
            "a Tile by constant multiples is the concat of copies (OpenCV imports no Tile)"),
    Rewrite("fix_inputs", fix_inputs,
            "inputs become plain Placeholders with their real shapes"),
    Rewrite("keep_outputs_as_layers", keep_outputs_as_layers,
            "each output stays a node of its own name where runtimes fuse Identity and BiasAdd away"),
)


def run_rewrites(graph: InferenceGraph, rewrites: Sequence[Rewrite] = REWRITES,
                 after_each: Callable[[Rewrite, InferenceGraph, dict], None] | None = None) -> list[dict]:
    """Apply ``rewrites`` in order (repeating the list while anything changes); one report per rewrite
    that changed something: {rewrite, why, changes, nodes_before, nodes_after}."""
    reports: list[dict] = []
    for _ in range(MAX_ROUNDS):
        changed = False
        for rewrite in rewrites:
            before = len(graph.items)
            changes = rewrite.run(graph)
            if not changes:
                continue
            changed = True
            removed = graph.prune()
            report = {"rewrite": rewrite.name, "why": rewrite.why, "changes": changes,
                      "nodes_before": before, "nodes_after": len(graph.items), "pruned": len(removed)}
            reports.append(report)
            if after_each is not None:
                after_each(rewrite, graph, report)
        if not changed:
            break
    for item in graph.items:  # the nodes the rewrites made carry their defaults like every other
        if not hasattr(item, "chunks"):
            fill_default_attrs(item)
    return reports


__all__ = ["REWRITES", "InferenceGraph", "Rewrite", "run_rewrites"]
