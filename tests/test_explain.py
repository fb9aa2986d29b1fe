"""Reason codes (SPEC §7, §10): one hand-made problem per code, and on random
problems every code checked against its definition by brute force; the whole
``explain`` report (API and command line); Laocheng end to end."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import assign
from assign import rules
from assign.candidates import build_candidates
from assign.cli import main as cli_main
from assign.compile import compile_problem
from assign.explain import (
    ADDABLE,
    STATIC_CODES,
    STATIC_LATER,
    InvalidScheduleError,
    reasons,
    static_reasons,
)
from assign.explain import explain as explain_schedule
from assign.model import REASON_CODES, Problem
from assign.solution import Solution, solution_from_schedule
from assign.solvers.greedy import solve_greedy

from .strategies import problems
from .test_greedy import addable_start, at, problem

DATA = Path(__file__).parent / "data"


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


def test_capacity_of_a_team_free_only_apart_says_so() -> None:
    # each member is free for the visit, never both at once: `capacity`
    # (SPEC section 10: free is per volunteer), and the detail does not claim
    # that their minutes ran out
    vols = [{"availability": [[at("09:00"), at("09:30")]]}, {"availability": [[at("09:30"), at("10:00")]]}]
    why = explain(problem(vols, [{"volunteers_needed": 2, "duration_min": 30}]))
    code, detail = why["t1"]
    assert code == "capacity" and "v1" in detail and "v2" in detail
    assert "no 2 of them are free at one common start" in detail and "have no pledged minutes" not in detail


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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=6, max_recipients=3))
def test_reasons_without_static_codes_leave_exactly_those(p: Problem) -> None:
    """``static=False`` (solving in parts): the same reasons, except that the
    static codes are left to the caller, and :func:`static_reasons` gives them."""
    c = compile_problem(p)
    cands = build_candidates(c)
    sol = solve_greedy(c, cands)
    full = reasons(c, sol, cands)
    later = reasons(c, sol, cands, static=False)
    assert [t for t, _, _ in later] == [t for t, _, _ in full]
    for (_, code, detail), (_, code2, detail2) in zip(full, later, strict=True):
        if code in STATIC_CODES:
            assert (code2, detail2) == (STATIC_LATER, "")
        else:
            assert (code2, detail2) == (code, detail)
    static = np.asarray([t for t, code, _ in later if code == STATIC_LATER], dtype=np.int64)
    assert static_reasons(c, static) == [(code, detail) for t, code, detail in full if code in STATIC_CODES]


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


# ------------------------------------------------- the capacity detail is true


TAKEN = re.compile(r"taken by (?P<tasks>.*?)(?: and \d+ more)? \((?P<scope>tier <= (?P<tier>\d+)|lower urgency)\)$")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=7, max_recipients=3))
def test_capacity_names_tasks_that_took_an_eligible_free_volunteer(p: Problem) -> None:
    """Every task a ``capacity`` detail names is assigned to one of the need's
    eligible free volunteers, and is of equal or higher urgency when the detail
    says ``tier <= k``; ``team_too_small`` names only eligible free volunteers."""
    c = compile_problem(p)
    cands = build_candidates(c)
    sol = solve_greedy(c, cands)
    everyone = np.arange(c.n_volunteers)
    for t, code, detail in reasons(c, sol, cands):
        tt = np.full(c.n_volunteers, t)
        able = set(np.flatnonzero(rules.eligible(c, tt, everyone) & rules.free(c, tt, everyone)).tolist())
        if code == "team_too_small":
            named = detail.split(": ", 1)[1].split(" and ")[0].split(", ")
            assert {c.volunteer_ids.index(v) for v in named} <= able
        if code != "capacity":
            continue
        found = TAKEN.search(detail)
        if found is None:
            assert "no pledged minutes or daily visits left" in detail
            continue
        for name in found["tasks"].split(", "):
            took = c.task_ids.index(name)
            assert set(sol.volunteer[sol.task == took].tolist()) & able, (detail, name)
            if found["tier"] is not None:
                assert c.t_tier[took] <= int(found["tier"]) == c.t_tier[t]


# ------------------------------------------------------------ the whole report


def test_explain_report_on_tiny() -> None:
    p = assign.load(DATA / "tiny.json")
    report = explain_schedule(p, assign.solve(p))
    assert [(n.task, n.reason) for n in report.needs] == [("t3", "team_too_small")]
    assert report.maximal and report.covered == 3 and report.tasks == 4
    assert report.by_tier_reason() == {2: {"team_too_small": {"tasks": 1, "weight": 14}}}
    text = report.render()
    for heading in ("UNCOVERED NEEDS BY TIER AND REASON", "COUNTERFACTUALS FOR TIERS 1, 2",
                    "RECRUITMENT LIST", "coverage per priority group", "participation per organisation",
                    "idle volunteers"):
        assert heading in text, heading
    out = json.loads(json.dumps(report.to_dict()))
    assert out["needs"][0]["reason"] == "team_too_small"
    assert set(out["metrics"]) >= {"coverage", "utilisation", "idle_by_community", "participation_by_org"}
    assert out["supply_gap"]["confirmed"] is True


def test_explain_orders_needs_most_urgent_first() -> None:
    p = problem([{"availability": []}], [{}, {"service": "medical"}, {"service": "meals", "recipient": "r2"}])
    report = explain_schedule(p, assign.solve(p))
    assert [n.task for n in report.needs] == ["t2", "t3", "t1"]


def test_explain_refuses_an_invalid_schedule() -> None:
    p = problem([{}], [{}])
    good = assign.solve(p)
    late = good.assignments[0].model_copy(update={"start": good.assignments[0].start.replace(hour=11)})
    with pytest.raises(InvalidScheduleError) as error:
        explain_schedule(p, good.model_copy(update={"assignments": (late,)}))
    assert {v.name for v in error.value.violations} >= {"window"}


def test_explain_flags_a_schedule_that_is_not_maximal() -> None:
    p = problem([{}], [{}, {"service": "medical", "recipient": "r2", "window_start": at("11:00"), "window_end": at("12:00")}])
    empty = assign.solve(p).model_copy(update={"assignments": ()})
    report = explain_schedule(p, empty)
    assert not report.maximal
    assert {n.reason for n in report.needs} == {ADDABLE}
    assert "v1 at" in report.needs[0].detail
    assert report.counterfactuals.targets == 0 and report.supply.uncovered_tasks == 0
    assert "NOT maximal" in report.render()


def test_cli_explain(tmp_path: Path) -> None:
    out = io.StringIO()
    assert cli_main(["solve", str(DATA / "tiny.json"), "--out", str(tmp_path)], stdout=out) == 0
    schedule = tmp_path / "schedule.json"
    out = io.StringIO()
    assert cli_main(["explain", str(DATA / "tiny.json"), str(schedule)], stdout=out) == 0
    assert "team_too_small" in out.getvalue() and "RECRUITMENT LIST" in out.getvalue()
    out = io.StringIO()
    assert cli_main(["explain", str(DATA / "tiny.json"), str(schedule), "--json"], stdout=out) == 0
    assert json.loads(out.getvalue())["uncovered"] == 1
    # an invalid schedule: exit 1 with the violations
    raw = json.loads(schedule.read_text())
    raw["assignments"][0]["volunteer"] = "v3"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    out = io.StringIO()
    assert cli_main(["explain", str(DATA / "tiny.json"), str(bad)], stdout=out) == 1
    assert "invalid" in out.getvalue() and "rule" in out.getvalue()


# ------------------------------------------------------------- laocheng, end to end


def test_laocheng_every_reason_true_every_fix_confirmed() -> None:
    """The generated Laocheng community (266 volunteers, 3,000 tasks): every
    uncovered need's code holds by its definition, a sample of the
    counterfactuals holds when applied to the problem model, and the
    recruitment list is confirmed and covers every need."""
    from .test_counterfactual import assert_confirmed as counterfactual_confirmed

    p = assign.generate("laocheng", seed=1)
    schedule = assign.solve(p)
    report = explain_schedule(p, schedule)
    c = compile_problem(p)
    sol = solution_from_schedule(c, schedule)
    assert report.maximal and len(report.needs) == c.n_tasks - int(sol.covered(c.n_tasks).sum())
    everyone = np.arange(c.n_volunteers)
    index = {tid: i for i, tid in enumerate(c.task_ids)}
    for need in report.needs:
        t = index[need.task]
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
        assert need.reason == expected, need
    cf = report.counterfactuals
    assert cf.complete and len(cf.items) > 0.5 * cf.targets
    for item in cf.items[:: max(1, len(cf.items) // 12)]:
        counterfactual_confirmed(p, schedule, item)
    assert report.supply.confirmed and report.supply.covered_tasks == len(report.needs)
    assert all(line.recruits for line in report.supply.groups)
