"""The scene: the path, the ranked outputs' marks, the findings' nodes and the first view."""

from __future__ import annotations

import importlib.util

from inspector.graph.model import GraphModel
from inspector.view.condense import MAX_CHILDREN
from inspector.view.scene import FIRST_VIEW_BUDGET, build_scene, drawing_size, visible_count
from tests.inspector.view.views import FROZEN_WITH_FINDINGS, ROOT, TRAINING_CHECKPOINT, scene_of, visible_ops


def test_marks_follow_the_ranking_and_outputs_of_one_group_share_a_colour():
    report, scene = scene_of(TRAINING_CHECKPOINT)
    assert [scene.names[m.node] for m in scene.marks] == [c["name"] for c in report["outputs"]]
    assert [m.rank for m in scene.marks] == list(range(1, len(report["outputs"]) + 1))
    for a in scene.marks:
        for b in scene.marks:
            same_group = a.candidate.get("group") and a.candidate.get("group") == b.candidate.get("group")
            assert (a.colour == b.colour) == (a is b or bool(same_group))


def test_the_path_runs_from_the_feature_input_to_the_outputs_and_leaves_the_training_out():
    _, scene = scene_of(TRAINING_CHECKPOINT)
    names = {scene.names[i] for i in scene.path}
    assert {"images", "probabilities", "logits/BiasAdd"} <= names
    assert "labels" not in names
    assert all(scene.roles[i] == "model" for i in scene.path)


def test_first_view_shows_the_outputs_within_budget_and_machinery_stays_closed():
    _, scene = scene_of(TRAINING_CHECKPOINT)
    assert visible_count(scene, scene.initial) <= FIRST_VIEW_BUDGET
    shown = visible_ops(scene)
    assert scene.marks[0].node in shown
    model = scene.condensed.sections["model"]
    assert all(s not in scene.initial for s in scene.sections() if s != model)


def test_each_finding_is_placed_on_the_nodes_its_evidence_names_and_shown_first():
    _, scene = scene_of(FROZEN_WITH_FINDINGS)
    codes = {f.finding["code"]: [scene.names[n] for n in f.nodes] for f in scene.findings}
    assert codes["BATCHNORM_TRAINING_MODE"] == ["bn/FusedBatchNormV3"]
    assert scene.names.index("bn/FusedBatchNormV3") in visible_ops(scene)


def test_a_50k_style_graph_opens_as_a_few_boxes_none_too_full():
    spec = importlib.util.spec_from_file_location("bench_ranking", ROOT / "bench" / "bench_ranking.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    model = GraphModel.from_graph_def(bench.build_graph(12_000))
    from inspector.ranking import rank_outputs

    report = {"path": "synthetic.pb", "outputs": [c.to_json() for c in rank_outputs(model)[:5]]}
    scene = build_scene(report, model)
    assert all(len(b.children) <= MAX_CHILDREN for b in scene.boxes)
    assert visible_count(scene, scene.initial) <= FIRST_VIEW_BUDGET
    assert scene.marks and scene.marks[0].node in visible_ops(scene)
    width, height = drawing_size(scene, scene.initial)
    assert width < 3000 and height < 3000
