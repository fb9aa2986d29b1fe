"""SPEC §8 metrics: hand-computed values on tiny.json, the inequality indexes,
and consistency with the score on random solutions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assign.compile import compile_problem
from assign.metrics import compute_metrics, gini, jain
from assign.model import Problem
from assign.score import evaluate
from assign.solution import Solution

from .test_score import SETTINGS, base_problem, problem_and_rows

DATA = Path(__file__).parent / "data"


def tiny_metrics(rows: list[tuple[int, int, int]]) -> dict[str, Any]:
    problem = Problem.model_validate(json.loads((DATA / "tiny.json").read_text()))
    c = compile_problem(problem)
    return compute_metrics(c, Solution.build(*zip(*rows, strict=True)) if rows else Solution.empty())


def cell(tasks: int, covered: int, weight: int, covered_weight: int) -> dict[str, int]:
    return {"tasks": tasks, "covered": covered, "weight": weight, "covered_weight": covered_weight}


def test_tiny_metrics_by_hand() -> None:
    # t1 (tier 1, r1, weight 20) by v1, t2 (tier 3, r1, 20) by v2, t4 (tier 4, r2, 14) by v3
    m = tiny_metrics([(0, 0, 540), (1, 1, 660), (3, 2, 1440 + 840)])
    assert m["assignments"] == 3
    cov = m["coverage"]
    assert cov["total"] == cell(4, 3, 68, 54)
    assert cov["by_tier"] == {
        "1": cell(1, 1, 20, 20), "2": cell(1, 0, 14, 0), "3": cell(1, 1, 20, 20), "4": cell(1, 1, 14, 14),
    }
    assert cov["by_community_tier"] == {
        "c1": {"1": cell(1, 1, 20, 20), "3": cell(1, 1, 20, 20)},
        "c2": {"2": cell(1, 0, 14, 0), "4": cell(1, 1, 14, 14)},
    }
    assert cov["by_group"] == {"disabled_dementia": cell(2, 2, 40, 40), "solitary": cell(2, 2, 40, 40)}
    assert cov["no_group"] == cell(2, 1, 28, 14)
    # loads 30 / 300, 30 / 120, 60 / 600
    util = m["utilisation"]
    assert util["volunteers"] == 3
    assert util["mean"] == pytest.approx((0.1 + 0.25 + 0.1) / 3)
    assert util["max"] == pytest.approx(0.25)
    assert util["gini"] == pytest.approx(gini(np.array([0.1, 0.25, 0.1])))
    assert m["idle_volunteers"] == 0 and m["volunteers_without_assignment"] == 0
    assert m["idle_by_community"] == {"c1": 0, "c2": 0}
    assert m["participation_by_org"] == {
        "county hospital": {"volunteers": 1, "with_work": 1, "share": 1.0},
        "": {"volunteers": 2, "with_work": 2, "share": 1.0},
    }


def test_tiny_empty_schedule_metrics() -> None:
    m = tiny_metrics([])
    assert m["coverage"]["total"] == cell(4, 0, 68, 0)
    assert m["idle_volunteers"] == 3 and m["volunteers_without_assignment"] == 3
    assert m["idle_by_community"] == {"c1": 2, "c2": 1}
    assert m["utilisation"] == {"volunteers": 3, "mean": 0.0, "max": 0.0, "gini": 0.0, "jain": 1.0}
    assert m["participation_by_org"][""]["share"] == 0.0


def test_idle_counts_only_volunteers_with_pledged_minutes() -> None:
    raw = base_problem(volunteers__max_minutes=0)
    m = compute_metrics(compile_problem(Problem.model_validate(raw)), Solution.empty())
    assert m["idle_volunteers"] == 0
    assert m["volunteers_without_assignment"] == 1
    assert m["utilisation"] == {"volunteers": 0, "mean": None, "max": None, "gini": None, "jain": None}


def test_utilisation_counts_travel_when_capacity_does() -> None:
    raw = base_problem(volunteers__max_minutes=128)
    raw["policy"] = {"count_travel_in_capacity": True, "speed_kmh": 6.0}  # 2 min each way
    m = compute_metrics(compile_problem(Problem.model_validate(raw)), Solution.build([0], [0], [540]))
    assert m["utilisation"]["max"] == pytest.approx(64 / 128)


def test_unknown_ids_do_not_count() -> None:
    c = compile_problem(Problem.model_validate(base_problem()))
    m = compute_metrics(c, Solution.build([0, -1], [-1, 0], [540, 540]))
    assert m["assignments"] == 0
    assert m["coverage"]["total"]["covered"] == 0
    assert m["volunteers_without_assignment"] == 1


@pytest.mark.parametrize(
    ("values", "g", "j"),
    [
        ([1.0, 1.0, 1.0, 1.0], 0.0, 1.0),
        ([0.0, 0.0, 0.0, 1.0], 0.75, 0.25),
        ([0.0, 0.0], 0.0, 1.0),
        ([0.5], 0.0, 1.0),
        ([1.0, 3.0], 0.25, 0.8),
    ],
)
def test_gini_and_jain_known_values(values: list[float], g: float, j: float) -> None:
    assert gini(np.array(values)) == pytest.approx(g)
    assert jain(np.array(values)) == pytest.approx(j)


def test_gini_and_jain_of_nothing() -> None:
    assert gini(np.array([])) is None and jain(np.array([])) is None


@SETTINGS
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=20))
def test_gini_is_half_the_relative_mean_difference(values: list[float]) -> None:
    x = np.array(values)
    n, total = len(x), x.sum()
    expected = 0.0 if total <= 0 else float(np.abs(x[:, None] - x[None, :]).sum() / (2 * n * total))
    assert gini(x) == pytest.approx(expected, abs=1e-9)
    j = jain(x)
    assert j is not None and 1 / n - 1e-9 <= j <= 1 + 1e-9


@SETTINGS
@given(problem_and_rows())
def test_metrics_agree_with_the_score(case: tuple[Problem, Solution]) -> None:
    problem, sol = case
    c = compile_problem(problem)
    m = compute_metrics(c, sol)
    assert json.loads(json.dumps(m)) == m  # plain JSON types only
    score = evaluate(c, sol)
    by_tier = m["coverage"]["by_tier"]
    assert list(by_tier) == [str(t) for t in range(1, c.n_tiers + 1)]
    for t, u in enumerate(score.uncovered, start=1):
        assert by_tier[str(t)]["weight"] - by_tier[str(t)]["covered_weight"] == u
    for key in ("tasks", "covered", "weight", "covered_weight"):
        assert sum(cell[key] for cell in by_tier.values()) == m["coverage"]["total"][key]
        per_community = sum(cell[key] for tiers in m["coverage"]["by_community_tier"].values() for cell in tiers.values())
        assert per_community == m["coverage"]["total"][key]
    assert sum(m["idle_by_community"].values()) == m["idle_volunteers"]
    assert m["idle_volunteers"] <= m["volunteers_without_assignment"]
    orgs = m["participation_by_org"].values()
    assert sum(o["volunteers"] for o in orgs) == c.n_volunteers
    assert sum(o["with_work"] for o in orgs) == c.n_volunteers - m["volunteers_without_assignment"]
