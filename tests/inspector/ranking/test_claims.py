"""What the ranking says holds for the graph: no loss, gradient or optimizer is mentioned in a
graph that has none (issue 8), no reason is said twice and the score is the sum of the reasons'
weights, on every fixture and corpus graph."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from inspector.graph.model import GraphModel
from inspector.ranking import rank_outputs
from inspector.ranking.rules import FLOOR
from inspector.roles import roles_of
from tests.corpus import CORPUS

_SPEC = importlib.util.spec_from_file_location("evaluate_ranking", Path(__file__).resolve().parents[3]
                                               / "bench" / "evaluate_ranking.py")
evaluate = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = evaluate
_SPEC.loader.exec_module(evaluate)

_TRAINING_WORDS = re.compile(r"\b(loss|losses|gradients?|optimizer)\b", re.IGNORECASE)
CASES = evaluate.collect(CORPUS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_training_claims_without_training(case):
    graph_def, meta = evaluate.load(case.graph_path)
    model = GraphModel.from_graph_def(graph_def, meta)
    roles = roles_of(model, meta)
    ranked = rank_outputs(model, meta)
    for c in ranked:  # each reason once, and the score their visible sum (up to the 0.01 floor)
        assert len(set(c.reasons)) == len(c.reasons), (c.name, c.reasons)
        visible = sum(weight for _, weight in c.rules)
        assert len(c.rules) == len(c.reasons), c.name
        assert visible < FLOOR or abs(visible - c.score) <= FLOOR + 2e-3, (c.name, c.rules, c.score)
    if roles.has_training:
        assert roles.losses, "an optimizer minimizes something: the loss must be found"
        return
    # node names are quoted in the reasons ('loss/Placeholder'): only the tool's own words count
    claims = [(c.name, why) for c in ranked for why in c.reasons
              if _TRAINING_WORDS.search(re.sub(r"'[^']*'", "", why))]
    assert claims == []
