"""inspector/readers as a package: its modules import each other in one direction only.

bundle and v1 build on base (the reader interface) and checkpoint chooses between them; every
reader asks placeholders whether a file is a Git LFS pointer or a BFG stub; resolve builds on
checkpoint and state. A cycle, even through an import inside a function, would make the order in
which modules load matter again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import inspector.readers

PACKAGE = Path(inspector.readers.__file__).parent


def _imports() -> dict[str, set[str]]:
    """module -> the inspector.readers modules it imports, anywhere in its body."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        module = path.stem
        found[module] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("inspector.readers."):
                    found[module].add(node.module.rsplit(".", 1)[1])
                elif node.module == "inspector.readers":
                    found[module].update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                found[module].update(alias.name.rsplit(".", 1)[1] for alias in node.names
                                     if alias.name.startswith("inspector.readers."))
        found[module].discard(module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_readers_import_each_other_without_a_cycle():
    graph = _imports()
    assert {"base", "bundle", "checkpoint", "resolve", "state", "v1", "placeholders"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_names_other_modules_use_are_where_they_were():
    from inspector.readers.checkpoint import CheckpointReader, TensorMeta, open_checkpoint, v1_files
    from inspector.readers.resolve import placeholder_problem

    assert CheckpointReader and TensorMeta and open_checkpoint and v1_files and placeholder_problem
