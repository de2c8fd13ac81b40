"""``resolve(path) -> Artifacts``: what the user's path points at, and which files belong to it.

Users pass whatever they have: a folder, a prefix (``model.ckpt-300``), one of ``.meta``,
``.index``, ``.data-…`` or ``checkpoint``, a ``.pb``/``.pbtxt`` graph, or a SavedModel folder.
This module only looks at names, sizes and a few leading bytes; it never parses tensors, so it
stays fast on huge checkpoints. Missing companions (``.meta``, a data shard) are named exactly
in ``missing``/``warnings`` instead of failing, so a listing is still possible.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from inspector.errors import UnreadableInputError
from inspector.readers.checkpoint import checkpoint_format, v1_files
from inspector.readers.placeholders import LFS_MAGIC, REMOVED_SUFFIX, placeholder_problem, refuse_special_file
from inspector.readers.state import SavedCheckpoint, is_table, resolve_state, step_of

__all__ = ["LFS_MAGIC", "REMOVED_SUFFIX", "Artifacts", "meta_path_for", "placeholder_problem", "resolve"]

STATE_FILENAME = "checkpoint"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_GRAPH_SUFFIXES = (".pb", ".pbtxt", ".pb.txt", ".pb.ascii", ".graphdef")
_DATA_SUFFIX = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
_V1_SHARD = re.compile(r"-(\d{5})-of-(\d{5})$")
_SHARD_PATTERN = re.compile(r"-(?:\d{5}|\?{5})-of-\d{5}$")


@dataclass
class Artifacts:
    """Everything found for one user path. ``kind`` is "checkpoint", "graph" or "saved_model"."""

    kind: str
    path: str
    prefix: str | None = None
    format: str | None = None                  # "V1" | "V2" for checkpoints
    meta_path: str | None = None
    graph_path: str | None = None
    index_path: str | None = None
    data_paths: list[str] = field(default_factory=list)
    state_path: str | None = None
    steps: list[SavedCheckpoint] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "kind": self.kind, "path": self.path, "prefix": self.prefix, "format": self.format,
            "meta_path": self.meta_path, "graph_path": self.graph_path, "index_path": self.index_path,
            "data_paths": self.data_paths, "state_path": self.state_path,
            "steps": [{"step": s.step, "prefix": s.prefix, "exists": s.exists} for s in self.steps],
            "missing": self.missing, "warnings": self.warnings,
        }


def _check_placeholder(path: str) -> None:
    problem = placeholder_problem(path)
    if problem is not None:
        raise problem


# --------------------------------------------------------------------------- helpers
def meta_path_for(prefix: str) -> str:
    """The ``.meta`` that goes with a prefix: drop a V1 shard suffix, add ``.meta`` (TF's rule)."""
    return _SHARD_PATTERN.sub("", prefix) + ".meta"


_is_table = is_table


def _v2_data_paths(prefix: str) -> tuple[list[str], list[str]]:
    """(data files, missing data files) of a V2 prefix, from file names or else the index header."""
    digits = "[0-9]" * 5
    found = sorted(glob.glob(glob.escape(prefix) + f".data-{digits}-of-{digits}"))
    counts = {int(_DATA_SUFFIX.search(p).group(2)) for p in found}
    total = counts.pop() if len(counts) == 1 else _num_shards_from_index(prefix + ".index")
    if total is None:
        return found, []
    expected = [f"{prefix}.data-{i:05d}-of-{total:05d}" for i in range(total)]
    return expected, [p for p in expected if not os.path.isfile(p)]


def _num_shards_from_index(index_path: str) -> int | None:
    from inspector.proto import pb
    from inspector.readers.table import Table
    try:
        data = Path(index_path).read_bytes()
        first = Table(data, index_path).first()
        if first is None or first[0] != b"":
            return None
        header = pb.BundleHeaderProto()
        header.ParseFromString(bytes(first[1]))
        return int(header.num_shards)
    except Exception:  # only a hint for naming files; the reader itself reports real errors
        return None


def _saved_model_of(prefix: str) -> str | None:
    """The SavedModel folder when ``prefix`` is its ``variables/variables``, else None."""
    variables_dir = os.path.dirname(prefix)
    if Path(prefix).name != "variables" or Path(variables_dir).name != "variables":
        return None
    folder = os.path.dirname(variables_dir) or "."
    return folder if any(os.path.isfile(os.path.join(folder, n)) for n in SAVED_MODEL_FILES) else None


def _checkpoint(path: str, prefix: str, fmt: str, warnings: list[str] | None = None) -> Artifacts:
    art = Artifacts(kind="checkpoint", path=path, prefix=prefix, format=fmt, warnings=list(warnings or []))
    if fmt == "V2":
        art.index_path = prefix + ".index"
        art.data_paths, missing = _v2_data_paths(prefix)
        for p in (art.index_path, *art.data_paths, meta_path_for(prefix)):
            refuse_special_file(p)  # never opened: a named pipe would block every later read
        for p in missing:
            art.missing.append(p)
            stub = placeholder_problem(p)
            art.warnings.append(stub.message if stub else
                                f"data shard {Path(p).name} is missing: variables can be listed but not read")
    else:
        art.data_paths = v1_files(prefix)
        for p in (*art.data_paths, meta_path_for(prefix)):
            refuse_special_file(p)
    meta = meta_path_for(prefix)
    stepless = _stepless_meta(prefix) if not os.path.isfile(meta) else None
    if stepless is not None:
        art.meta_path = stepless
        art.warnings.append(f"paired {Path(prefix).name} with {Path(stepless).name}, the one graph in the "
                            "folder, saved once without the step (as facenet does): check that it is this "
                            "checkpoint's graph")
    elif os.path.isfile(meta):
        art.meta_path = meta
        stub = placeholder_problem(meta)
        if stub is not None:
            art.meta_path = None
            art.warnings.append(stub.message)
    else:
        art.missing.append(meta)
        stub = placeholder_problem(meta)
        art.warnings.append(stub.message if stub else
                            f"{Path(meta).name} is missing: variables can be listed, but finding outputs "
                            "and freezing need the graph (pass a .meta or .pb with --graph)")
    return art


def _stepless_meta(prefix: str) -> str | None:
    """The folder's lone ``.meta`` when it is named after ``prefix`` without its step.

    facenet saves ``model-X.ckpt-275`` with ``write_meta_graph=False`` and writes the graph once
    as ``model-X.meta``; TensorFlow's rule (``<prefix>.meta``) finds nothing. Paired only when it
    is the one ``.meta`` there, so a folder of several graphs is never guessed at.
    """
    match = re.search(r"-\d+$", prefix)
    if match is None:
        return None
    base = prefix[:match.start()]
    candidates = [base + ".meta"] + ([base[:-len(".ckpt")] + ".meta"] if base.endswith(".ckpt") else [])
    folder = os.path.dirname(prefix) or "."
    metas = glob.glob(os.path.join(glob.escape(folder), "*.meta"))
    if len(metas) != 1:
        return None
    found = [c for c in candidates if os.path.isfile(c) and os.path.samefile(c, metas[0])]
    return found[0] if found else None


def _stepped_checkpoint(meta: str) -> SavedCheckpoint | None:
    """The newest checkpoint ``<stem>.ckpt-N`` / ``<stem>-N`` of a lone step-less ``.meta`` (see
    :func:`_stepless_meta`)."""
    folder = os.path.dirname(meta) or "."
    found = [s for s in _scan_folder(folder) if s.step is not None and _stepless_meta(s.prefix) == meta]
    return found[-1] if found else None


def _scan_folder(folder: str) -> list[SavedCheckpoint]:
    """Checkpoints in a folder without trusting a state file: V2 ``*.index`` and V1 tables."""
    found: dict[str, SavedCheckpoint] = {}
    for index in glob.glob(os.path.join(glob.escape(folder), "*.index")):
        prefix = index[:-len(".index")]
        found[prefix] = SavedCheckpoint(Path(prefix).name, prefix, step_of(prefix), True)
    for entry in os.scandir(folder):
        name = entry.name
        if (not entry.is_file() or name == STATE_FILENAME or _DATA_SUFFIX.search(name)
                or name.endswith((".index", ".meta", REMOVED_SUFFIX, *_GRAPH_SUFFIXES))):
            continue
        if not _is_table(entry.path):  # a V1 checkpoint is a bare table file
            continue
        prefix = _V1_SHARD.sub(lambda m: f"-?????-of-{m.group(2)}", entry.path)
        found.setdefault(prefix, SavedCheckpoint(Path(prefix).name, prefix, step_of(prefix), True))
    # Newest last: a numbered step beats an unnumbered prefix; ties go by modification time.
    return sorted(found.values(), key=lambda s: (s.step is not None, s.step or 0, _mtime(s.prefix)))


def _mtime(prefix: str) -> float:
    for candidate in (prefix + ".index", *v1_files(prefix)):
        try:
            return os.path.getmtime(candidate)
        except OSError:
            continue
    return 0.0


def _merge_steps(listed: list[SavedCheckpoint], scanned: list[SavedCheckpoint]) -> list[SavedCheckpoint]:
    """State-file entries then folder finds, one per checkpoint, sorted by step (no step last)."""
    merged: dict[str, SavedCheckpoint] = {}
    for saved in (*listed, *scanned):
        merged.setdefault(os.path.abspath(saved.prefix), saved)
    return sorted(merged.values(), key=lambda s: (s.step is None, s.step if s.step is not None else 0))


# --------------------------------------------------------------------------- folders
def _resolve_folder(folder: str, path: str) -> Artifacts:
    # The SavedModel itself, or its variables/ folder.
    for saved_model in (folder, _saved_model_of(os.path.join(folder, "variables"))):
        graphs = [os.path.join(saved_model, n) for n in SAVED_MODEL_FILES] if saved_model else []
        for graph in graphs:
            if os.path.isfile(graph):
                return _saved_model(saved_model, graph, path)
    state_path = os.path.join(folder, STATE_FILENAME)
    refuse_special_file(state_path)
    scanned = _scan_folder(folder)
    state_problem = None
    graphs = sorted(p for p in glob.glob(os.path.join(glob.escape(folder), "*"))
                    if p.endswith((".meta", *_GRAPH_SUFFIXES)) and os.path.isfile(p))
    if os.path.isfile(state_path):
        try:
            return _from_state(state_path, path, scanned)
        except UnreadableInputError as exc:
            if len(graphs) == 1 and not scanned:
                # An Estimator model_dir committed without its checkpoints (graph.pbtxt and the state
                # file): the graph is still worth inspecting; the warning says what is missing.
                art = _resolve_file(graphs[0], path)
                art.state_path = state_path
                art.warnings.insert(0, f"{exc.problem}; only the graph {Path(graphs[0]).name} can be "
                                       "inspected (freezing it needs those checkpoint files)")
                return art
            if not scanned:
                raise
            state_problem = exc  # TF too ignores an unreadable state file; fall back to the files
    if scanned:
        newest = scanned[-1]
        art = _checkpoint(path, newest.prefix, checkpoint_format(newest.prefix) or "V2")
        art.steps = scanned
        if state_problem is not None:
            art.warnings.append(f"ignored the state file ({state_problem.problem}); using the newest "
                                f"checkpoint by step: {Path(newest.prefix).name}")
        elif len(scanned) > 1:
            art.warnings.append(f"no checkpoint state file; using the newest of {len(scanned)} checkpoints "
                                f"by step: {Path(newest.prefix).name}")
        return art
    if len(graphs) == 1:
        return _resolve_file(graphs[0], path)
    stubs = sorted(Path(p).name for p in glob.glob(os.path.join(glob.escape(folder), "*" + REMOVED_SUFFIX)))
    shards = sorted(Path(p).name for p in glob.glob(os.path.join(glob.escape(folder), "*.data-*-of-*")))
    if stubs:
        what = f"only BFG stubs ({', '.join(stubs[:3])}) in place of the real files"
    elif shards and not graphs:
        what = (f"data shards ({', '.join(shards[:2])}{' …' if len(shards) > 2 else ''}) but not the "
                ".index files that describe them")
    else:
        names = ", ".join(Path(g).name for g in graphs[:4]) + (" …" if len(graphs) > 4 else "")
        what = (f"{len(graphs)} graph files ({names}) and no checkpoint" if graphs
                else "no checkpoint, graph or SavedModel")
    fix = ("Copy the .index files (saved with the shards) into the folder" if shards and not graphs
           and not stubs else "Pass the checkpoint prefix or one graph file itself")
    raise UnreadableInputError(f"the folder holds {what}", path=folder, fix=fix)


def _from_state(state_path: str, path: str, scanned: list[SavedCheckpoint]) -> Artifacts:
    info = resolve_state(state_path)
    warnings = list(info.warnings)
    latest = info.latest
    if latest is None or not latest.exists:
        existing = [s for s in info.saved if s.exists] or scanned
        recorded = latest.recorded if latest else "(none)"
        foreign = latest is not None and latest.problem not in (None, "does not exist")
        if not existing:
            problem = placeholder_problem(latest.prefix + ".index") if latest else None
            if problem is not None:
                raise problem
            if foreign:
                raise UnreadableInputError(
                    f"the checkpoint state file names {recorded!r}, which {latest.problem} "
                    f"({latest.prefix}), and the folder holds no checkpoint", path=state_path,
                    fix="Copy the checkpoint files (.index and .data-*) next to the state file, or pass "
                        "the checkpoint prefix itself")
            raise UnreadableInputError(
                f"the checkpoint state file names {recorded!r}, but no such checkpoint exists and the "
                "folder holds no other", path=state_path,
                fix="Copy the checkpoint files (.index and .data-*) next to the state file")
        fallback = existing[-1]
        if foreign:  # named with its path: it was not read, nor anything else outside the folder
            where = "" if os.path.normpath(latest.prefix) == os.path.normpath(recorded) else \
                f" ({latest.prefix})"
            warnings.append(f"the newest checkpoint in the state file, {recorded!r}{where}, "
                            f"{latest.problem}; it was not read: using {Path(fallback.prefix).name}")
        else:
            warnings.append(f"the newest checkpoint in the state file ({recorded}) does not exist; "
                            f"using {Path(fallback.prefix).name}")
        latest = fallback
    art = _checkpoint(path, latest.prefix, checkpoint_format(latest.prefix) or "V2", warnings)
    art.state_path = state_path
    art.steps = _merge_steps(info.saved, scanned)
    return art


def _saved_model(folder: str, graph: str, path: str) -> Artifacts:
    art = Artifacts(kind="saved_model", path=path, graph_path=graph)
    prefix = os.path.join(folder, "variables", "variables")
    fmt = checkpoint_format(prefix)
    if fmt == "V2":
        art.prefix, art.format, art.index_path = prefix, fmt, prefix + ".index"
        art.data_paths, missing = _v2_data_paths(prefix)
        art.missing.extend(missing)
        art.warnings.extend(f"data shard {Path(p).name} is missing" for p in missing)
    elif os.path.isdir(os.path.join(folder, "variables")):
        art.warnings.append("variables/ holds no variables.index: the SavedModel has no saved variables")
    return art


# --------------------------------------------------------------------------- files
def _resolve_file(file: str, path: str) -> Artifacts:
    _check_placeholder(file)
    name = Path(file).name
    folder = os.path.dirname(file) or "."
    if name in SAVED_MODEL_FILES:
        return _saved_model(folder, file, path)
    if name == STATE_FILENAME:
        return _from_state(file, path, _scan_folder(folder))
    data = _DATA_SUFFIX.search(name)
    if name.endswith(".index") or data:
        prefix = file[:-len(".index")] if name.endswith(".index") else \
            file[:len(file) - len(name) + data.start()]
        saved_model = _saved_model_of(prefix)
        if saved_model is not None:
            return _resolve_folder(saved_model, path)
        if data and not os.path.isfile(prefix + ".index"):
            _check_placeholder(prefix + ".index")
            raise UnreadableInputError(
                f"{Path(prefix).name}.index, which goes with this data shard, is missing: the shard holds "
                "only raw bytes; the variables' names, shapes and offsets are in the .index", path=file,
                fix=f"Copy {Path(prefix).name}.index next to it")
        return _with_steps(_checkpoint(path, prefix, "V2"), folder)
    if name.endswith(".meta"):
        prefix = file[:-len(".meta")]
        fmt = checkpoint_format(prefix) if not os.path.isdir(prefix) else None
        if fmt is None:
            sharded = glob.glob(glob.escape(prefix) + "-?????-of-?????")
            if sharded and _is_table(sharded[0]):
                prefix, fmt = _V1_SHARD.sub(lambda m: f"-?????-of-{m.group(2)}", sorted(sharded)[0]), "V1"
        stepped = _stepped_checkpoint(file) if fmt is None else None
        if stepped is not None:
            prefix, fmt = stepped.prefix, checkpoint_format(stepped.prefix)
        if fmt is None:
            return Artifacts(kind="graph", path=path, graph_path=file, meta_path=file, warnings=[
                f"no checkpoint next to {name} (looked for {Path(prefix).name}.index): "
                "the graph can be inspected, but freezing needs the variable values"])
        return _with_steps(_checkpoint(path, prefix, fmt), folder)
    if _is_table(file):
        prefix = _V1_SHARD.sub(lambda m: f"-?????-of-{m.group(2)}", file)
        return _with_steps(_checkpoint(path, prefix, "V1"), folder)
    return Artifacts(kind="graph", path=path, graph_path=file)


def _with_steps(art: Artifacts, folder: str) -> Artifacts:
    state_path = os.path.join(folder, STATE_FILENAME)
    listed: list[SavedCheckpoint] = []
    refuse_special_file(state_path)
    if os.path.isfile(state_path):
        try:
            info = resolve_state(state_path)
            listed = info.saved
            art.state_path = state_path
        except UnreadableInputError as exc:
            art.warnings.append(f"ignored the state file: {exc.message}")
    art.steps = _merge_steps(listed, _scan_folder(folder))
    return art


def resolve(path: str | Path) -> Artifacts:
    """Work out what ``path`` names; raises UnreadableInputError when it names nothing usable."""
    path = str(path)
    refuse_special_file(path)
    if os.path.isdir(path):
        try:
            return _resolve_folder(path, path)
        except PermissionError as error:  # scandir of a folder we may not list
            raise UnreadableInputError(f"cannot list the folder ({error.strerror})", path=path,
                                       fix="Check the folder's permissions (it must be readable and "
                                           "searchable)") from None
    if os.path.isfile(path):
        return _resolve_file(path, path)
    problem = placeholder_problem(path)
    if problem is not None:
        raise problem
    fmt = checkpoint_format(path)
    if fmt is not None:
        return _with_steps(_checkpoint(path, path, fmt), os.path.dirname(path) or ".")
    if os.path.isfile(path + ".meta"):
        return _resolve_file(path + ".meta", path)
    folder = os.path.dirname(path) or "."
    hint = ""
    if os.path.isdir(folder):
        near = sorted(s.prefix for s in _scan_folder(folder))
        if near:
            hint = f"; the folder holds {', '.join(Path(p).name for p in near[-3:])}"
    raise UnreadableInputError(f"no such file, folder or checkpoint prefix{hint}", path=path,
                               fix="Check the path; a checkpoint is named by its prefix, e.g. model.ckpt-300")
