"""Access to ../shared/corpus (real artifacts made by other people), when it exists.

A user's clone has no ``../shared``: every test that uses the corpus must go through
:func:`corpus_cases` or :data:`requires_corpus`, which skip cleanly without it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CKPT2PB_CORPUS", ROOT.parent / "shared" / "corpus"))
MANIFEST = CORPUS / "manifest.json"

requires_corpus = pytest.mark.skipif(not MANIFEST.is_file(), reason=f"no corpus at {CORPUS}")


@dataclass(frozen=True)
class CorpusCase:
    case: str
    kind: str
    folder: Path
    files: tuple[str, ...]
    expected_outputs: tuple[str, ...]
    expected_inputs: tuple[str, ...]
    raw: dict

    def file(self, name: str) -> Path:
        return self.folder / name


def corpus_cases(kind: str | None = None) -> list[CorpusCase]:
    """Manifest entries (optionally of one ``kind``); empty when the corpus is absent."""
    if not MANIFEST.is_file():
        return []
    cases = []
    for entry in json.loads(MANIFEST.read_text()):
        if kind is not None and entry["kind"] != kind:
            continue
        cases.append(CorpusCase(
            case=entry["case"], kind=entry["kind"], folder=CORPUS / entry["case"],
            files=tuple(entry.get("local_files", ())),
            expected_outputs=tuple(entry.get("expected_outputs", ())),
            expected_inputs=tuple(entry.get("expected_inputs", ())), raw=entry))
    return cases


def corpus_params(kind: str | None = None, with_outputs: bool = False) -> list:
    """``pytest.param`` per case, ids = case names; a single skipped param when absent.
    ``with_outputs``: only cases whose manifest names output nodes (a graph to freeze)."""
    cases = [c for c in corpus_cases(kind) if c.expected_outputs or not with_outputs]
    if not cases:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}"), id="no-corpus")]
    return [pytest.param(c, id=c.case) for c in cases]


def unrestorable_variables(case: CorpusCase) -> list[str]:
    """Variables the case's expected outputs read (through data edges) whose values its
    checkpoint does not hold: a fact of the .meta and the .index, found without ckpt2pb's freezer.

    Keys are the variables' names or what the graph's Save op writes them under.
    """
    from inspector.graph.model import GraphModel
    from inspector.graph.variables import _saver_mapping
    from inspector.readers.checkpoint import open_checkpoint
    from inspector.readers.graphfile import load_graph_file
    from inspector.readers.resolve import resolve

    artifacts = resolve(case.folder)
    if not artifacts.meta_path or not artifacts.prefix:
        return []
    loaded = load_graph_file(artifacts.meta_path)
    model = GraphModel(loaded.graph_def, loaded.meta_graph)
    key_of = {var: key for key, vars_ in _saver_mapping(model).items() for var in vars_}
    needed, stack = set(), [o for o in case.expected_outputs if o in model]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        stack.extend(ref.node for ref in model.data_inputs(name))
    with open_checkpoint(artifacts.prefix) as reader:
        keys = set(reader.tensors)
    return sorted(n for n in needed if model.op(n) in ("VariableV2", "VarHandleOp", "Variable")
                  and key_of.get(n, n) not in keys)


def missing_data_shards(case: CorpusCase) -> list[str]:
    """Data shards the case's .index needs that its folder does not hold (a repository that
    committed only the .index and .meta): reading or freezing its weights must then fail clearly."""
    from inspector.readers.bundle import BundleReader
    from inspector.readers.checkpoint import open_checkpoint
    from inspector.readers.resolve import resolve

    artifacts = resolve(case.folder)
    if not artifacts.prefix:
        return []
    with open_checkpoint(artifacts.prefix) as reader:
        if not isinstance(reader, BundleReader):  # a V1 checkpoint is one file: present or not found
            return []
        return [os.path.basename(path) for path in reader.missing_shards()]


def assert_missing_shard_refused(case: CorpusCase, action) -> None:
    """``action()`` needs weights from an absent shard: one UnreadableInputError naming it."""
    from inspector.errors import UnreadableInputError

    with pytest.raises(UnreadableInputError, match="is missing") as info:
        action()
    assert any(name in str(info.value) for name in missing_data_shards(case)), info.value
