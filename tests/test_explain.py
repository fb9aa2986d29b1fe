"""Reason codes (SPEC §7, §10): one hand-made problem per code, and on random
problems every code checked against its definition by brute force."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from assign import rules
from assign.candidates import build_candidates
from assign.compile import compile_problem
from assign.explain import reasons
from assign.model import REASON_CODES, Problem
from assign.solution import Solution
from assign.solvers.greedy import solve_greedy

from .strategies import problems
from .test_greedy import addable_start, at, problem


def explain(p: Problem, sol: Solution | None = None) -> dict[str, tuple[str, str]]:
    c = compile_problem(p)
    cands = build_candidates(c)
    if sol is None:
        sol = solve_greedy(c, cands)
    return {c.task_ids[t]: (code, detail) for t, code, detail in reasons(c, sol, cands)}


def test_no_skill() -> None:
    why = explain(problem([{"skills": ["care"]}], [{"service": "medical"}]))
    assert why["t1"][0] == "no_skill" and "medical" in why["t1"][1]


def test_out_of_range_names_the_nearest() -> None:
    far = {"lat": 33.10, "lon": 108.25}  # ~6.6 km * 1.3
    nearer = {"lat": 33.08, "lon": 108.25}
    why = explain(problem([far, nearer], [{}]))
    code, detail = why["t1"]
    assert code == "out_of_range"
    assert "v2" in detail and "> 5.00 km" in detail


def test_out_of_range_uses_the_personal_radius() -> None:
    why = explain(problem([{"max_travel_km": 0.1}], [{}]))
    assert why["t1"][0] == "out_of_range" and "0.10 km" in why["t1"][1]


def test_excluded_by_the_recipient() -> None:
    p = problem([{}], [{}])
    raw = p.model_dump(mode="json")
    raw["recipients"][0]["excluded_volunteers"] = ["v1"]
    why = explain(Problem.model_validate(raw))
    assert why["t1"][0] == "excluded" and "excluded by the recipient" in why["t1"][1]


def test_excluded_by_the_community_rule() -> None:
    raw = problem([{}], [{}], cross_community="forbid").model_dump(mode="json")
    raw["communities"].append({"id": "c2"})
    raw["volunteers"][0]["community"] = "c2"
    why = explain(Problem.model_validate(raw))
    assert why["t1"][0] == "excluded" and "another community" in why["t1"][1]


def test_no_availability() -> None:
    why = explain(problem([{"availability": [[at("12:00"), at("18:00")]]}], [{}]))
    assert why["t1"][0] == "no_availability"


def test_no_availability_when_the_interval_is_too_short() -> None:
    why = explain(problem([{"availability": [[at("09:00"), at("09:45")]]}], [{}]))
    assert why["t1"][0] == "no_availability"


def test_team_too_small() -> None:
    why = explain(problem([{}, {"availability": []}], [{"volunteers_needed": 2}]))
    code, detail = why["t1"]
    assert code == "team_too_small" and "v1" in detail


def test_capacity_names_the_task_that_took_the_time() -> None:
    # one volunteer, two visits in the same hour: the tier-1 task takes it
    why = explain(problem([{}], [{}, {"service": "medical"}]))
    code, detail = why["t1"]
    assert code == "capacity" and "t2" in detail and "tier <= 4" in detail


def test_capacity_by_pledged_minutes() -> None:
    tasks = [{"service": "medical"}, {"window_start": at("14:00"), "window_end": at("15:00")}]
    why = explain(problem([{"max_minutes": 60}], tasks))
    assert why["t2"][0] == "capacity" and "t1" in why["t2"][1]


def test_capacity_prefers_equal_or_more_urgent_tasks() -> None:
    # v1 is busy with t2 (tier 1) and t3 (tier 4); t1 (tier 3) names only t2
    tasks: list[dict[str, Any]] = [
        {"service": "meals", "window_start": at("09:00"), "window_end": at("11:00"), "duration_min": 120},
        {"service": "medical"},
        {"window_start": at("10:00"), "window_end": at("11:00")},
    ]
    p = problem([{}], tasks)
    sol = Solution.build([1, 2], [0, 0], [540, 600])
    why = explain(p, sol)
    code, detail = why["t1"]
    assert code == "capacity" and "t2" in detail and "t3" not in detail


def test_covered_tasks_get_no_reason() -> None:
    assert explain(problem([{}], [{}])) == {}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=6, max_recipients=3))
def test_codes_match_their_definitions(p: Problem) -> None:
    c = compile_problem(p)
    cands = build_candidates(c)
    sol = solve_greedy(c, cands)
    found = reasons(c, sol, cands)
    uncovered = np.flatnonzero(~sol.covered(c.n_tasks))
    assert [t for t, _, _ in found] == uncovered.tolist()
    everyone = np.arange(c.n_volunteers)
    for t, code, detail in found:
        assert code in REASON_CODES and detail
        tt = np.full(c.n_volunteers, t)
        skilled = rules.skills_ok(c, tt, everyone)
        in_range = skilled & rules.radius_ok(c, tt, everyone)
        eligible = rules.eligible(c, tt, everyone)
        free = eligible & rules.free(c, tt, everyone)
        expected = (
            "no_skill" if not skilled.any()
            else "out_of_range" if not in_range.any()
            else "excluded" if not eligible.any()
            else "no_availability" if not free.any()
            else "team_too_small" if free.sum() < c.t_needed[t]
            else "capacity"
        )
        assert code == expected, (c.task_ids[t], code, expected)
        if code == "capacity":
            assert addable_start(c, sol, t) is None


def test_reasons_with_capped_or_missing_candidates_agree() -> None:
    p = problem([{}, {}], [{}, {"service": "medical"}, {"recipient": "r2"}, {"volunteers_needed": 3}])
    c = compile_problem(p)
    cands = build_candidates(c)
    sol = solve_greedy(c, cands)
    full = reasons(c, sol, cands)
    assert reasons(c, sol) == full
    assert reasons(c, sol, build_candidates(c, k=1)) == full
    assert {code for _, code, _ in full} == {"capacity", "team_too_small"}


@pytest.mark.parametrize("needed", [1, 2])
def test_empty_schedule_on_a_problem_without_volunteers(needed: int) -> None:
    raw = problem([{}], [{"volunteers_needed": needed}]).model_dump(mode="json")
    raw["volunteers"] = []
    why = explain(Problem.model_validate(raw))
    assert why["t1"] == ("no_skill", "the problem has no volunteers")
