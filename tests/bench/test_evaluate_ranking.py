"""The evaluation harness (bench/evaluate_ranking.py), and the ranking's target over every fixture
and corpus case."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from inspector.ranking.candidate import Candidate
from tests.corpus import CORPUS
from tests.graph_builder import classifier

_SPEC = importlib.util.spec_from_file_location("evaluate_ranking", Path(__file__).resolve().parents[2]
                                               / "bench" / "evaluate_ranking.py")
evaluate = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = evaluate  # dataclasses look their module up there
_SPEC.loader.exec_module(evaluate)


def _c(name: str, group: str | None = None) -> Candidate:
    return Candidate(name, 0.5, "Identity", group=group)


def test_groups_take_one_answer_slot():
    slots = evaluate.slots_of([_c("a", "g"), _c("b"), _c("c", "g"), _c("d")])
    assert slots == [["a", "c"], ["b"], ["d"]]


def test_baseline_is_summarize_graphs_rule():
    # every node without consumers, minus Const/Assign/NoOp/Placeholder, in file order
    listed = evaluate.baseline(classifier().model())
    assert listed == ["probabilities"]  # train_op (NoOp) and the Assigns are skipped


def test_case_discovery_picks_one_meta_per_distinct_graph(tmp_path: Path):
    for name, size in (("m-1.meta", 10), ("m-2.meta", 10), ("other.meta", 20)):
        (tmp_path / name).write_bytes(b"x" * size)
    files = evaluate.graph_files(tmp_path, ["m-1.meta", "m-2.meta", "other.meta"])
    assert [p.name for p in files] == ["m-2.meta", "other.meta"]


def test_missing_corpus_gives_no_cases(tmp_path: Path):
    assert evaluate.corpus_cases(tmp_path) == []


def test_first_contact_records_are_added_never_rewritten(tmp_path: Path):
    path = tmp_path / "first_contact.json"
    path.write_text(json.dumps([{"case": "old", "source": "corpus", "split": "validation", "top1": False,
                                 "ranks": {"x": 4}}]))
    case = evaluate.Case("new", "corpus", "new", Path("g.pb"), ("y",))
    old = evaluate.Case("old", "corpus", "validation", Path("g.pb"), ("x",))
    results = [evaluate.scored(case, [["y"]], []), evaluate.scored(old, [["x"]], [])]
    assert evaluate.record_first_contact(results, path) == ["new"]
    records = {r["case"]: r for r in json.loads(path.read_text())}
    assert records["old"]["top1"] is False  # the first contact stays what it was
    assert records["new"]["top1"] is True and records["new"]["split"] == "development"
    assert evaluate.record_first_contact(results, path) == []


def test_summary_puts_first_contact_beside_the_current_figures():
    case = evaluate.Case("c", "corpus", "validation", Path("g.pb"), ("y",))
    text = evaluate.summary([evaluate.scored(case, [["y"]], [])],
                            {"c": {"top1": False, "ranks": {"y": 2}}})
    assert "now: top-1 1/1 = 100.0%" in text and "first contact (1 recorded): top-1 0/1 =   0.0%" in text


def test_unknown_rule_names_are_refused():
    with pytest.raises(SystemExit, match="unknown rule or step: no_such_rule"):
        evaluate._check_names(frozenset({"no_such_rule"}))


@pytest.fixture(scope="module")
def results() -> list:
    return [evaluate.evaluate_case(case) for case in evaluate.collect(CORPUS)]


def test_target_top1_and_top3_recall(results):
    scored = [r for r in results if not r.skipped and not r.error]
    assert len(scored) >= 30  # the fixtures alone give more than that
    top1 = sum(r.top1 for r in scored) / len(scored)
    expected = sum(len(r.expected) for r in scored)
    found = sum(sum(1 for v in r.ranks.values() if v is not None and v <= 3) for r in scored)
    misses = [(r.name, r.ranks) for r in scored if r.recall3 < 1]
    assert top1 >= 0.95, [r.name for r in scored if not r.top1]
    assert found == expected, misses


def test_every_ranking_fixture_is_right_first(results):
    from fixtures.builders.ranking_models import FIXTURES

    mine = {f.name for f in FIXTURES}
    wrong = [(r.name, r.first) for r in results if r.name in mine and not r.top1]
    assert not wrong
    assert mine <= {r.name for r in results}


def test_no_case_fails_to_load(results):
    assert [(r.name, r.error) for r in results if r.error] == []


@pytest.mark.tf
def test_first_answer_of_every_ranking_fixture_freezes_in_tensorflow():
    """The first answer slot names real tensors TensorFlow can freeze the checkpoint with."""
    import tensorflow as tf

    from fixtures.builders.ranking_models import FIXTURES
    from inspector.graph.model import GraphModel
    from inspector.ranking import rank_outputs

    for fixture in FIXTURES:
        path = evaluate.graph_file(fixture.full_path)
        graph_def, meta_graph = evaluate.load(path)
        first = evaluate.slots_of(rank_outputs(GraphModel.from_graph_def(graph_def, meta_graph),
                                               meta_graph))[0]
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
            saver = tf.compat.v1.train.import_meta_graph(str(path), clear_devices=True)
            saver.restore(sess, str(path)[: -len(".meta")])
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), first)
        names = {node.name for node in frozen.node}
        assert set(first) <= names, fixture.name
        assert not any(node.op in ("VariableV2", "VarHandleOp") for node in frozen.node), fixture.name
