"""Tests of strategy "cpsat" (assign/solvers/cpsat.py) against an independent brute force."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign.check import violations
from assign.compile import Compiled, compile_problem
from assign.model import Problem
from assign.score import evaluate
from assign.solvers.cpsat import solve_cpsat, solve_cpsat_detailed
from tests.bruteforce import brute_force
from tests.strategies import problems

TZ = timezone(timedelta(hours=8))
ORIGIN = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
SERVICES = ("medical", "disability_care", "meals", "companionship", "household", "errands")
SKILLS = ("medical", "care", "meals")
LIMIT = 10.0  # seconds per solve; tiny problems prove in milliseconds


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


@st.composite
def dense_problems(draw: st.DrawFn, pins: bool = False, odd_weights: bool = False) -> Problem:
    """Tiny problems where most tasks can be covered and the rules bite: close
    homes, long availability, overlapping windows (some across midnight),
    teams, tight minutes and daily limits. ``odd_weights``: negative soft
    weights (the spec does not forbid them)."""
    origin = draw(st.sampled_from([0, 0, 20 * 60]))  # a horizon may start at 20:00
    horizon = 2 * 1440
    vols = []
    n_vol = draw(st.sampled_from([1, 2, 3, 4, 4]))
    for i in range(n_vol):
        shape = draw(st.sampled_from(["all", "days", "days", "random"]))
        if shape == "all":
            spans = [(0, horizon)]
        elif shape == "days":
            # daytime blocks, touching blocks join (the block may end where the next starts)
            first = draw(st.sampled_from([6, 8, 9])) * 60
            last = draw(st.sampled_from([12, 18, 24])) * 60
            spans = [(d * 1440 + first, d * 1440 + last) for d in range(2)]
        else:
            spans = []
            for _ in range(draw(st.integers(1, 3))):
                s = draw(st.integers(0, horizon // 15 - 8)) * 15
                spans.append((s, min(horizon, s + draw(st.integers(4, 48)) * 15)))
        intervals = [[_iso(origin + s), _iso(origin + e)] for s, e in spans]
        vol: dict = {
            "id": f"v{i}",
            "community": f"c{draw(st.integers(0, 1))}",
            "lat": 33.04 + draw(st.integers(-12, 12)) * 0.001,
            "lon": 108.25 + draw(st.integers(-12, 12)) * 0.001,
            "skills": draw(st.lists(st.sampled_from(SKILLS), unique=True, min_size=2, max_size=3)),
            "availability": intervals,
            "history_minutes": draw(st.sampled_from([0, 0, 60, 400])),
            "history_capacity": draw(st.sampled_from([0, 300, 900])),
        }
        if draw(st.booleans()):
            vol["max_minutes"] = draw(st.sampled_from([0, 45, 60, 90, 120, 200]))
        if draw(st.integers(0, 2)) == 0:
            vol["max_tasks_per_day"] = draw(st.sampled_from([0, 1, 1, 2]))
        if draw(st.integers(0, 3)) == 0:
            vol["preferred_services"] = [draw(st.sampled_from(SERVICES))]
        vols.append(vol)
    ids = [v["id"] for v in vols]
    recs = []
    for i in range(draw(st.integers(1, 3))):
        recs.append(
            {
                "id": f"r{i}",
                "community": f"c{draw(st.integers(0, 1))}",
                "lat": 33.04 + draw(st.integers(-12, 12)) * 0.001,
                "lon": 108.25 + draw(st.integers(-12, 12)) * 0.001,
                "groups": draw(st.lists(st.sampled_from(["solitary", "low_income", "other"]), unique=True, max_size=2)),
                "preferred_volunteers": draw(st.lists(st.sampled_from(ids), unique=True, max_size=1)),
                "excluded_volunteers": draw(st.lists(st.sampled_from(ids), unique=True, max_size=1))
                if draw(st.integers(0, 3)) == 0
                else [],
                "missed_visits": draw(st.integers(0, 3)),
            }
        )
    tasks = []
    for i in range(draw(st.sampled_from([0, 2, 3, 4, 5, 5]))):
        duration = draw(st.sampled_from([15, 30, 45, 60, 90]))
        ws = draw(st.integers(0, (horizon - duration) // 15)) * 15
        if draw(st.integers(0, 3)):  # mostly in the daytime, some across midnight
            ws = min(horizon - duration, draw(st.integers(0, 1)) * 1440 + draw(st.integers(32, 95)) * 15)
        we = min(horizon, ws + duration + draw(st.sampled_from([0, 15, 30, 60, 120, 240])))
        task: dict = {
            "id": f"t{i}",
            "recipient": f"r{draw(st.integers(0, len(recs) - 1))}",
            "service": draw(st.sampled_from(SERVICES)),
            "window_start": _iso(origin + ws),
            "window_end": _iso(origin + we),
            "duration_min": duration,
            "volunteers_needed": draw(st.sampled_from([1, 1, 2])),
        }
        if draw(st.integers(0, 3)) == 0:
            task["tier"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 3)) == 0:
            task["previous_volunteers"] = draw(st.lists(st.sampled_from(ids), unique=True, max_size=2))
        if pins and draw(st.integers(0, 2)) == 0:
            task["pinned"] = draw(st.lists(st.sampled_from(ids), unique=True, min_size=1, max_size=2))
        tasks.append(task)
    weights = draw(
        st.sampled_from(
            [{}, {"fairness": 0.0}, {"equity": 0.0, "fairness": 2.5}, {"stability": 7.25, "cross": 0.5}, {"equity": 11.0}]
            if not odd_weights
            else [{"equity": -3.0}, {"fairness": -1.5}, {"stability": -2.0, "continuity": -1.0}, {"equity": -0.7, "fairness": 0.3}]
        )
    )
    raw = {
        "format": "assign/problem@1",
        "name": "dense",
        "horizon": {"start": _iso(origin), "end": _iso(origin + horizon)},
        "policy": {
            "speed_kmh": draw(st.sampled_from([3.0, 12.0, 30.0])),
            "cross_community": draw(st.sampled_from(["allow", "allow", "forbid"])),
            "count_travel_in_capacity": draw(st.booleans()),
            "weights": weights,
        },
        "communities": [{"id": "c0"}, {"id": "c1"}],
        "volunteers": vols,
        "recipients": recs,
        "tasks": tasks,
    }
    return Problem.model_validate(raw)


# --------------------------------------------------------------------- helpers


def _strip_pins(problem: Problem) -> Problem:
    return problem.model_copy(update={"tasks": tuple(t.model_copy(update={"pinned": ()}) for t in problem.tasks)})


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _lex_at_most(low: tuple[float, ...], high: tuple[float, ...]) -> bool:
    """``low <= high`` lexicographically, the last (soft) part with a relative tolerance."""
    for x, y in zip(low[:-1], high[:-1], strict=True):
        if x != y:
            return x < y
    return low[-1] <= high[-1] + 1e-6 * max(1.0, abs(high[-1]))


def _check_against_brute_force(problem: Problem, honour_pins: bool = False) -> tuple[Compiled, Any]:
    """CP-SAT's schedule, score and bound against the brute force; returns
    the compiled problem and CP-SAT's solution."""
    c = compile_problem(problem)
    result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=1)
    best = brute_force(c, honour_pins=honour_pins)
    found = violations(c, result.solution)
    assert found == []
    score = evaluate(c, result.solution)
    assert result.bound is not None
    assert _lex_at_most(result.bound.key(), best.key), (result.bound.key(), best.key)
    # tier by tier too (docs/readings.md, "Bounds")
    assert all(b <= u for b, u in zip(result.bound.uncovered, best.key[:-1], strict=True)), (result.bound.key(), best.key)
    assert _lex_at_most(best.key, score.key()), (best.key, score.key())
    if not honour_pins or not len(c.t_pin):
        assert result.optimal, result.stages
    if result.optimal:
        assert score.uncovered == best.key[:-1], (score.key(), best.key)
        assert _close(score.soft, best.key[-1]), (score.key(), best.key)
        assert tuple(result.bound.uncovered) == score.uncovered
        assert _close(result.bound.soft, score.soft)
    return c, result.solution


def _problem(
    volunteers: list[dict],
    tasks: list[dict],
    recipients: list[dict] | None = None,
    policy: dict | None = None,
    days: int = 2,
) -> Problem:
    """A hand-made problem; times are minutes from 2026-11-30 00:00 +08:00."""
    for v in volunteers:
        v.setdefault("community", "c0")
        v.setdefault("lat", 33.04)
        v.setdefault("lon", 108.25)
        v["availability"] = [[_iso(s), _iso(e)] for s, e in v.get("availability", [(0, days * 1440)])]
    for t in tasks:
        t.setdefault("recipient", "r0")
        t.setdefault("service", "companionship")
        t["window_start"] = _iso(t["window_start"])
        t["window_end"] = _iso(t["window_end"])
    raw = {
        "format": "assign/problem@1",
        "name": "hand-made",
        "horizon": {"start": _iso(0), "end": _iso(days * 1440)},
        "policy": policy or {},
        "communities": [{"id": "c0"}],
        "volunteers": volunteers,
        "recipients": recipients or [{"id": "r0", "community": "c0", "lat": 33.041, "lon": 108.25}],
        "tasks": tasks,
    }
    return Problem.model_validate(raw)


def _solve(problem: Problem, **kwargs) -> tuple[Compiled, dict[str, list[tuple[str, int]]], tuple]:
    """Solve and return (compiled, task id -> [(volunteer id, start minute)], conflicts by id)."""
    c = compile_problem(problem)
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, **kwargs)
    sol = result.solution
    assert violations(c, sol) == []
    assert result.optimal
    plan: dict[str, list[tuple[str, int]]] = {}
    for t, v, s in zip(sol.task, sol.volunteer, sol.start, strict=True):
        plan.setdefault(c.task_ids[t], []).append((c.volunteer_ids[v], int(s)))
    conflicts = tuple((c.task_ids[t], c.volunteer_ids[v], rule) for t, v, rule in sol.conflicts)
    return c, plan, conflicts


# ------------------------------------------------------------ against brute force


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems())
def test_dense_problems_reach_the_brute_force_optimum(problem: Problem) -> None:
    _check_against_brute_force(problem)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems(odd_weights=True))
def test_negative_soft_weights(problem: Problem) -> None:
    _check_against_brute_force(problem)


@st.composite
def half_minute_pledges(draw: st.DrawFn) -> Problem:
    """:func:`dense_problems` where each volunteer without ``max_minutes`` has
    every availability interval end 30 s later: the same whole-minute starts,
    but a default pledge of so many minutes and a half (SPEC §10), which the
    fairness term divides by."""
    raw = draw(dense_problems(odd_weights=draw(st.booleans()))).model_dump(mode="json", exclude_none=True)
    for vol in raw["volunteers"]:
        if "max_minutes" not in vol:
            vol["availability"] = [
                [a, (datetime.fromisoformat(b) + timedelta(seconds=30)).isoformat()] for a, b in vol["availability"]
            ]
    return Problem.model_validate(raw)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(half_minute_pledges())
def test_half_minute_pledges_reach_the_brute_force_optimum(problem: Problem) -> None:
    """The CP-SAT model's fairness terms and its soft bound divide by the
    exact default pledge, as the score does: the same optimum and a bound at
    it, where whole minutes would claim a soft bound above the optimum. The
    score's fairness term is SPEC §6's with the pledge computed here from the
    intervals as given (joined, clipped to the horizon, to the second)."""
    from assign.rules import assignment_load

    c, sol = _check_against_brute_force(problem)
    load = np.bincount(sol.volunteer, weights=assignment_load(c, sol.task, sol.volunteer), minlength=c.n_volunteers)
    h0, h1 = problem.horizon.start, problem.horizon.end
    fairness = 0.0
    for i, vol in enumerate(problem.volunteers):
        if vol.max_minutes is None:
            spans = sorted((max(a, h0), min(b, h1)) for a, b in vol.availability)
            seconds, reach = 0.0, h0
            for a, b in spans:
                a = max(a, reach)
                if b > a:
                    seconds += (b - a).total_seconds()
                    reach = b
            pledge = seconds / 60
        else:
            pledge = float(vol.max_minutes)
        capacity = vol.history_capacity + pledge
        if capacity > 0:
            fairness += ((vol.history_minutes + load[i]) / capacity) ** 2
    assert _close(evaluate(c, sol).terms["fairness"], fairness)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_volunteers=4, max_tasks=5))
def test_random_problems_reach_the_brute_force_optimum(problem: Problem) -> None:
    _check_against_brute_force(_strip_pins(problem))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems(pins=True))
def test_pins_are_honoured_and_the_bound_is_valid(problem: Problem) -> None:
    _check_against_brute_force(problem, honour_pins=True)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_volunteers=4, max_tasks=5))
def test_random_problems_with_pins(problem: Problem) -> None:
    _check_against_brute_force(problem, honour_pins=True)


def test_tiny_example() -> None:
    from assign.io import load

    _check_against_brute_force(load("tests/data/tiny.json"), honour_pins=True)


def test_out_of_time_still_valid() -> None:
    """No time at all: the schedule is still valid, the bound still a bound."""
    problem = _busy_problem()
    c = compile_problem(problem)
    sol, bound = solve_cpsat(c, time_limit=0.0, workers=1)
    assert violations(c, sol) == []
    assert bound is not None
    full = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert full.optimal
    assert _lex_at_most(bound.key(), evaluate(c, full.solution).key())


# ------------------------------------------------------------------ determinism


def _busy_problem(seed: int = 7) -> Problem:
    """Eight volunteers, fourteen overlapping tasks: many ties, some teams."""
    rng = np.random.default_rng(seed)
    volunteers = [
        {
            "id": f"v{i}",
            "lat": 33.04 + rng.integers(-10, 10) * 0.001,
            "lon": 108.25 + rng.integers(-10, 10) * 0.001,
            "skills": ["care", "meals", "medical"],
            "availability": [(480 + d * 1440, 1080 + d * 1440) for d in range(2)],
            "max_minutes": int(rng.choice([120, 240, 600])),
        }
        for i in range(8)
    ]
    recipients = [
        {"id": f"r{i}", "community": "c0", "lat": 33.04 + rng.integers(-10, 10) * 0.001,
         "lon": 108.25 + rng.integers(-10, 10) * 0.001}
        for i in range(5)
    ]
    tasks = []
    for i in range(14):
        ws = int(rng.integers(0, 2)) * 1440 + 540 + int(rng.integers(0, 16)) * 30
        tasks.append(
            {
                "id": f"t{i}",
                "recipient": f"r{rng.integers(0, 5)}",
                "service": str(rng.choice(["meals", "companionship", "household"])),
                "window_start": ws,
                "window_end": ws + 150,
                "duration_min": int(rng.choice([30, 60, 90])),
                "volunteers_needed": int(rng.choice([1, 1, 1, 2])),
            }
        )
    return _problem(volunteers, tasks, recipients)


def test_same_seed_same_schedule() -> None:
    c = compile_problem(_busy_problem())
    first = solve_cpsat_detailed(c, time_limit=LIMIT, seed=3, workers=1)
    second = solve_cpsat_detailed(c, time_limit=LIMIT, seed=3, workers=1)
    assert first.optimal and second.optimal
    for name in ("task", "volunteer", "start"):
        assert np.array_equal(getattr(first.solution, name), getattr(second.solution, name))
    assert first.bound == second.bound


def test_greedy_hint_gives_the_same_optimum() -> None:
    from assign.candidates import build_candidates
    from assign.solvers.greedy import solve_greedy

    c = compile_problem(_busy_problem())
    cands = build_candidates(c)
    plain = solve_cpsat_detailed(c, cands, time_limit=LIMIT, workers=1)
    hinted = solve_cpsat_detailed(c, cands, time_limit=LIMIT, workers=1, hint=solve_greedy(c, cands))
    assert plain.optimal and hinted.optimal
    a, b = evaluate(c, plain.solution), evaluate(c, hinted.solution)
    assert a.uncovered == b.uncovered and _close(a.soft, b.soft)


def test_registered_as_strategy() -> None:
    from assign.candidates import build_candidates
    from assign.solvers import STRATEGIES

    c = compile_problem(_busy_problem())
    sol, bound = STRATEGIES["cpsat"](c, build_candidates(c), LIMIT, 0, 1)
    assert violations(c, sol) == []
    assert bound is not None and bound.uncovered == evaluate(c, sol).uncovered


# ------------------------------------------------------------ one rule at a time

NEAR = {"lat": 33.041, "lon": 108.25}


def test_team_of_two_shares_one_start() -> None:
    # v0 is free 9:00-10:00, v1 from 9:30: the only common 30-minute visit starts at 9:30
    problem = _problem(
        [{"id": "v0", "availability": [(540, 600)]}, {"id": "v1", "availability": [(570, 660)]}],
        [{"id": "t0", "window_start": 540, "window_end": 660, "duration_min": 30, "volunteers_needed": 2}],
    )
    _, plan, _ = _solve(problem)
    assert sorted(plan["t0"]) == [("v0", 570), ("v1", 570)]


def test_partial_team_is_never_sent() -> None:
    problem = _problem(
        [{"id": "v0"}],
        [{"id": "t0", "window_start": 540, "window_end": 660, "duration_min": 30, "volunteers_needed": 2}],
    )
    _, plan, _ = _solve(problem)
    assert plan == {}


def _two_homes(window_b_end: int) -> Problem:
    # r0 and r1 are 0.02 degree of latitude apart: 2.89 km by road, 15 minutes at 12 km/h
    recipients = [
        {"id": "r0", "community": "c0", "lat": 33.03, "lon": 108.25},
        {"id": "r1", "community": "c0", "lat": 33.05, "lon": 108.25},
    ]
    tasks = [
        {"id": "a", "recipient": "r0", "window_start": 540, "window_end": 585, "duration_min": 30},
        {"id": "b", "recipient": "r1", "window_start": 540, "window_end": window_b_end, "duration_min": 30},
    ]
    return _problem([{"id": "v0"}], tasks, recipients)


def test_travel_between_visits_forces_their_order() -> None:
    c, plan, _ = _solve(_two_homes(630))
    (_, start_a), (_, start_b) = plan["a"][0], plan["b"][0]
    assert start_b >= start_a + 30 + 15  # a (9:00-9:45 window) must go first, then travel
    assert len(plan) == 2


def test_travel_can_make_two_visits_impossible() -> None:
    # b must now end by 10:00: a ends at 9:30 at the earliest, +15 min travel, +30 > 10:00
    _, plan, _ = _solve(_two_homes(600))
    assert len(plan) == 1


def _pledged(count_travel: bool) -> Problem:
    # home to r0: 1.11 km x 1.3 = 1.45 km, 8 minutes each way; each visit then uses 30 + 16 minutes
    return _problem(
        [{"id": "v0", "max_minutes": 80}],
        [
            {"id": "t0", "window_start": 540, "window_end": 570, "duration_min": 30},
            {"id": "t1", "window_start": 840, "window_end": 870, "duration_min": 30},
        ],
        [{"id": "r0", "community": "c0", "lat": 33.05, "lon": 108.25}],
        {"count_travel_in_capacity": count_travel},
    )


def test_pledged_minutes_count_travel_when_asked() -> None:
    assert len(_solve(_pledged(False))[1]) == 2  # 60 <= 80
    assert len(_solve(_pledged(True))[1]) == 1  # 92 > 80


def test_daily_limit() -> None:
    tasks = [
        {"id": "t0", "window_start": 540, "window_end": 600, "duration_min": 60},
        {"id": "t1", "window_start": 840, "window_end": 900, "duration_min": 60},
        {"id": "t2", "window_start": 1440 + 540, "window_end": 1440 + 600, "duration_min": 60},
    ]
    _, plan, _ = _solve(_problem([{"id": "v0", "max_tasks_per_day": 1}], tasks))
    assert len(plan) == 2 and "t2" in plan


def test_daily_limit_with_a_window_across_midnight() -> None:
    # b may start 23:00-00:30; a fills the second day, so b must start before midnight
    tasks = [
        {"id": "a", "window_start": 1440 + 480, "window_end": 1440 + 540, "duration_min": 60},
        {"id": "b", "window_start": 1380, "window_end": 1440 + 60, "duration_min": 30},
    ]
    _, plan, _ = _solve(_problem([{"id": "v0", "max_tasks_per_day": 1}], tasks))
    assert len(plan) == 2
    assert plan["b"][0][1] < 1440


def test_colliding_pins_keep_one() -> None:
    tasks = [
        {"id": "t0", "window_start": 540, "window_end": 600, "duration_min": 60, "pinned": ["v0"]},
        {"id": "t1", "window_start": 540, "window_end": 600, "duration_min": 60, "pinned": ["v0"]},
    ]
    _, plan, conflicts = _solve(_problem([{"id": "v0"}], tasks))
    assert len(plan) == 1
    assert len(conflicts) == 1 and conflicts[0][2] == "double_booking"
    kept = next(iter(plan))
    assert conflicts[0][0] != kept


def test_pin_breaking_a_rule_alone_is_dropped_with_its_name() -> None:
    tasks = [{"id": "t0", "service": "medical", "window_start": 540, "window_end": 600, "duration_min": 60,
              "pinned": ["v0"]}]
    _, plan, conflicts = _solve(_problem([{"id": "v0", "skills": ["care"]}, {"id": "v1", "skills": ["medical"]}], tasks))
    assert conflicts == (("t0", "v0", "skills"),)
    assert plan == {"t0": [("v1", 540)]}


def test_kept_pin_is_in_the_schedule_even_when_costly() -> None:
    # v1 is nearer; the pin still sends v0
    tasks = [{"id": "t0", "window_start": 540, "window_end": 600, "duration_min": 60, "pinned": ["v0"]}]
    vols = [{"id": "v0", "lat": 33.06, "lon": 108.25}, {"id": "v1", **NEAR}]
    _, plan, conflicts = _solve(_problem(vols, tasks))
    assert conflicts == () and plan == {"t0": [("v0", 540)]}


def test_no_tasks() -> None:
    c = compile_problem(_problem([{"id": "v0"}], []))
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert len(result.solution) == 0 and result.optimal
    assert result.bound is not None and result.bound.uncovered == ()
    assert _close(result.bound.soft, evaluate(c, result.solution).soft)


def test_no_candidates() -> None:
    tasks = [{"id": "t0", "service": "medical", "window_start": 540, "window_end": 600, "duration_min": 60}]
    c = compile_problem(_problem([{"id": "v0", "availability": []}], tasks))
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert len(result.solution) == 0 and result.optimal
    assert result.bound is not None and result.bound.uncovered == (10,)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems())
def test_complete_hint_is_a_solution_of_the_model(problem: Problem) -> None:
    """The values derived from a schedule for every auxiliary variable (order,
    day, load, equity) satisfy the model: the hint CP-SAT starts from is whole."""
    from ortools.sat.python import cp_model

    from assign.candidates import build_candidates
    from assign.solvers import cpsat

    c = compile_problem(problem)
    sol = solve_cpsat(c, time_limit=LIMIT, workers=1)[0]
    cands = build_candidates(c)
    pairs = cpsat._pairs(c, cands.task, cands.volunteer)
    mdl = cpsat._Model(c, pairs, np.flatnonzero(np.diff(pairs.ptr) > 0), np.zeros(0, np.int64))
    cpsat._soft_objective(mdl)
    guess = cpsat._empty_incumbent(mdl)
    found = pairs.find(c.n_volunteers, sol.task, sol.volunteer)
    guess.x[mdl.local[found]] = 1
    guess.start[mdl.task_local[pairs.task[found]]] = sol.start
    cpsat._set_hint(mdl.model, *guess.hint(mdl))
    solver = cpsat._solver(0, 1)
    solver.parameters.max_time_in_seconds = LIMIT
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(mdl.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def test_pins_colliding_through_a_shared_mate() -> None:
    """Two team tasks at the same time, one pin each, three free volunteers:
    only one team can be formed, so one pin goes, although each alone fits
    (the validator agrees: it looks for mates for every team at once)."""
    tasks = [
        {"id": "t1", "window_start": 480, "window_end": 495, "duration_min": 15, "volunteers_needed": 2,
         "pinned": ["v2"]},
        {"id": "t2", "window_start": 480, "window_end": 495, "duration_min": 15, "volunteers_needed": 2,
         "pinned": ["v1"]},
    ]
    problem = _problem([{"id": "v1"}, {"id": "v2"}, {"id": "v3"}], tasks)
    _check_against_brute_force(problem, honour_pins=True)
    c = compile_problem(problem)
    sol = solve_cpsat(c, time_limit=LIMIT, workers=1)[0]
    assert len(sol.conflicts) == 1 and sol.conflicts[0][2] == "whole_teams"
    assert len(sol) == 2
    assert violations(c, sol) == []


# ------------------------------------------------------------------ scale guard


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems())
def test_near_pairs_counts_what_rule_9_looks_at(problem: Problem) -> None:
    """The sweep's count equals the pairs of visits the model's rule-9 sieve
    examines, listed one by one."""
    from assign.candidates import build_candidates
    from assign.solvers import cpsat

    c = compile_problem(problem)
    cands = build_candidates(c)
    pairs = cpsat._pairs(c, cands.task, cands.volunteer)
    reach = cpsat._reach(c)
    dur = c.t_duration[pairs.task]
    expected = 0
    for a in range(len(pairs)):
        for b in range(a + 1, len(pairs)):
            v = pairs.volunteer[a]
            if pairs.volunteer[b] != v:
                continue
            near = pairs.lo[b] < pairs.hi[a] + dur[a] + reach[v] and pairs.lo[a] < pairs.hi[b] + dur[b] + reach[v]
            expected += int(near)
    assert cpsat.near_pairs(c, pairs) == expected


def test_a_model_too_large_is_not_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Above MAX_NEAR_PAIRS the result is the hint with the trivial bound, a
    warning says why, and the command line prints it."""
    import io
    import json

    from assign.candidates import build_candidates
    from assign.cli import main
    from assign.io import save
    from assign.solvers import cpsat, trivial_bound
    from assign.solvers.greedy import solve_greedy

    problem = _busy_problem()
    c = compile_problem(problem)
    cands = build_candidates(c)
    pairs = cpsat._pairs(c, cands.task, cands.volunteer)
    assert cpsat.near_pairs(c, pairs) > 0
    monkeypatch.setattr(cpsat, "MAX_NEAR_PAIRS", 0)
    hint = solve_greedy(c, cands)
    with pytest.warns(RuntimeWarning, match="not built"):
        result = solve_cpsat_detailed(c, cands, time_limit=LIMIT, workers=1, hint=hint)
    assert result.solution is hint and not result.optimal
    assert result.bound == trivial_bound(c, cands)
    assert [s.status for s in result.stages] == [cpsat.NOT_BUILT]
    with pytest.warns(RuntimeWarning, match="not built"):
        sol, _ = solve_cpsat(c, time_limit=LIMIT, workers=1)
    assert violations(c, sol) == []

    save(problem, tmp_path / "problem.json")
    out, err = io.StringIO(), io.StringIO()
    args = ["solve", str(tmp_path / "problem.json"), "--out", str(tmp_path / "out"), "--strategy", "cpsat"]
    assert main(args, out, err) == 0
    assert "warning: strategy 'cpsat': the exact model is not built" in err.getvalue()
    assert json.loads((tmp_path / "out" / "schedule.json").read_text())["status"] == "feasible"


def test_a_model_that_cannot_be_built_in_time_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model whose estimated building time exceeds the time limit is not
    built: the hint with the trivial bound and a warning naming the time
    (laocheng at 10 s built for 41 s before); with time enough it is."""
    from assign.candidates import build_candidates
    from assign.solvers import cpsat, trivial_bound
    from assign.solvers.greedy import solve_greedy

    c = compile_problem(_busy_problem())
    cands = build_candidates(c)
    hint = solve_greedy(c, cands)
    monkeypatch.setattr(cpsat, "BUILD_SECONDS_PER_PAIR", 1.0)  # every pair a second
    with pytest.warns(RuntimeWarning, match="time limit"):
        result = solve_cpsat_detailed(c, cands, time_limit=LIMIT, workers=1, hint=hint)
    assert result.solution is hint and not result.optimal
    assert result.bound == trivial_bound(c, cands)
    assert [s.status for s in result.stages] == [cpsat.NOT_BUILT]
    assert result.stages[0].value > LIMIT
    built = solve_cpsat_detailed(c, cands, time_limit=10 * result.stages[0].value, workers=1, hint=hint)
    assert [s.status for s in built.stages] != [cpsat.NOT_BUILT]


def test_the_strategy_leaves_the_greedy_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strategy ``cpsat`` computes its greedy hint first; the exact model gets
    the time limit less the greedy's time on the solve's clock (it had the
    whole limit: laocheng at 60 s ended at 62-65 s). With one worker the
    greedy counts by its estimate, so the split repeats."""
    from assign.candidates import build_candidates
    from assign.solvers import auto, cpsat

    c = compile_problem(_busy_problem())
    cands = build_candidates(c)
    asked: list[float | None] = []
    real = cpsat.solve_cpsat_detailed

    def spy(*args: object, **kwargs: object) -> object:
        asked.append(args[2])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cpsat, "solve_cpsat_detailed", spy)
    monkeypatch.setattr(auto, "GREEDY_PASS_RATE", 3.0 / len(cands))  # the greedy counts 3 s
    sol, _ = cpsat.cpsat_strategy(c, cands, LIMIT, 0, 1)
    assert asked == [pytest.approx(LIMIT - 3.0)]
    assert not violations(c, sol)
    monkeypatch.setattr(auto, "GREEDY_PASS_RATE", 2 * LIMIT / len(cands))  # no time left
    late, _ = cpsat.cpsat_strategy(c, cands, LIMIT, 0, 1)
    assert asked[-1] == 0.0
    assert not violations(c, late)  # the greedy's schedule, no stage run


# ------------------------------------------- bounds under both readings of rule 12


@st.composite
def pinned_problems(draw: st.DrawFn) -> Problem:
    """Tiny problems full of pins with little slack, where the two readings of
    rule 12 differ (docs/readings.md, Pins): kept pins that could be re-timed
    to let another in, teams, tight minutes and daily limits. Windows lie
    within one morning, each with at most 20 minutes of slack (the lenient
    brute force enumerates the kept pins' starts)."""
    n_vol = draw(st.integers(1, 3))
    vols = []
    for i in range(n_vol):
        vol: dict = {
            "id": f"v{i}",
            "community": "c0",
            "lat": 33.04 + draw(st.integers(-3, 3)) * 0.001,
            "lon": 108.25 + draw(st.integers(-3, 3)) * 0.001,
            "skills": list(SKILLS),
            "availability": [[_iso(8 * 60), _iso(12 * 60)]],
        }
        if draw(st.integers(0, 2)) == 0:
            vol["max_minutes"] = draw(st.sampled_from([30, 45, 60]))
        if draw(st.booleans()):
            vol["max_tasks_per_day"] = draw(st.sampled_from([1, 2, 2]))
        vols.append(vol)
    ids = [v["id"] for v in vols]
    recs = [
        {"id": f"r{i}", "community": "c0", "lat": 33.04 + draw(st.integers(-3, 3)) * 0.001,
         "lon": 108.25 + draw(st.integers(-3, 3)) * 0.001}
        for i in range(draw(st.integers(1, 2)))
    ]
    tasks = []
    for i in range(draw(st.integers(2, 4))):
        duration = draw(st.sampled_from([15, 20, 30]))
        ws = 9 * 60 + draw(st.integers(0, 3)) * 10
        we = ws + duration + draw(st.sampled_from([0, 5, 10, 20, 20]))
        task: dict = {
            "id": f"t{i}",
            "recipient": f"r{draw(st.integers(0, len(recs) - 1))}",
            "service": draw(st.sampled_from(SERVICES)),
            "window_start": _iso(ws),
            "window_end": _iso(we),
            "duration_min": duration,
            "volunteers_needed": draw(st.sampled_from([1, 1, 1, 2])),
        }
        if draw(st.integers(0, 2)):
            task["pinned"] = draw(st.lists(st.sampled_from(ids), unique=True, min_size=1, max_size=2))
        elif draw(st.booleans()):
            task["tier"] = 1  # an urgent task that a dropped pin would make room for
        tasks.append(task)
    raw = {
        "format": "assign/problem@1",
        "name": "pinned",
        "horizon": {"start": _iso(0), "end": _iso(1440)},
        "policy": {"speed_kmh": draw(st.sampled_from([6.0, 30.0]))},
        "communities": [{"id": "c0"}],
        "volunteers": vols,
        "recipients": recs,
        "tasks": tasks,
    }
    return Problem.model_validate(raw)


def _strictly_valid(c: Compiled, sol, strict) -> bool:  # type: ignore[no-untyped-def]
    """No pin the schedule drops could join its kept pins (brute force, strict reading)."""
    from assign import rules

    rows = np.flatnonzero(rules.is_pinned(c, sol.task, sol.volunteer))
    kept = set(zip(sol.task[rows].tolist(), sol.volunteer[rows].tolist(), strict=True))
    pin_t = np.repeat(np.arange(c.n_tasks), np.diff(c.t_pin_ptr)).tolist()
    dropped = set(zip(pin_t, c.t_pin.tolist(), strict=True)) - kept
    return not any(strict.can_add(kept, p) for p in dropped)


def check_both_readings(c: Compiled, sol, bound, optimal: bool) -> tuple[tuple, tuple]:  # type: ignore[no-untyped-def]
    """bound <= lenient optimum <= strict optimum <= the schedule's score, the
    schedule strictly valid; ``optimal`` only when the score is the bound."""
    strict = brute_force(c, honour_pins=True)
    lenient = brute_force(c, honour_pins=True, reading="lenient")
    assert violations(c, sol) == []
    assert _strictly_valid(c, sol, strict)
    key = evaluate(c, sol).key()
    assert _lex_at_most(lenient.key, strict.key), (lenient.key, strict.key)
    assert _lex_at_most(strict.key, key), (strict.key, key)
    assert bound is not None
    assert _lex_at_most(bound.key(), lenient.key), (bound.key(), lenient.key, strict.key)
    if optimal:
        assert tuple(bound.uncovered) == tuple(key[:-1]) and _close(bound.soft, key[-1])
    return lenient.key, strict.key


#: the lenient brute force is exponential in the kept pins' starts: the tests
#: that call it draw the same examples on every machine, as CI does (its
#: "ci" profile derandomizes); with fresh random examples one run in two took
#: minutes on an example whose kept pins have ~20 starts each (stop 51)
LENIENT_EXAMPLES = {"derandomize": True}


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), **LENIENT_EXAMPLES)
@given(pinned_problems())
def test_bound_holds_under_both_readings_of_rule_12(problem: Problem) -> None:
    """The bound is below every schedule the lenient reading allows (kept pins
    at their starts), the schedule is valid under the strict one."""
    from hypothesis import event

    c = compile_problem(problem)
    result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=1)
    lenient, strict = check_both_readings(c, result.solution, result.bound, result.optimal)
    event("readings differ" if lenient != strict else "readings agree")


def test_a_kept_pin_placed_to_block_another_beats_no_bound() -> None:
    """Independent tester's repro_1: pins p1, p2 of volunteer a (two a day) fit
    together only at 09:00 and 09:15; a schedule keeping p1 at 09:10 blocks p2,
    drops it and covers the tier-1 task u (valid when kept pins stay at their
    starts). Before, cpsat kept both, dropped u and called U1=10 optimal."""
    from assign.io import load

    c = compile_problem(load(Path(__file__).parent / "data" / "pin_retimed_blocks_pin.json"))
    result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=1)
    lenient, strict = check_both_readings(c, result.solution, result.bound, result.optimal)
    assert lenient[:-1] == (0, 0, 0, 10) and strict[:-1] == (10, 0, 0, 0)
    assert evaluate(c, result.solution).uncovered == (10, 0, 0, 0)
    # (0, 0, 0, 10) is the lenient optimum, but tier 4's 10 is above the strict
    # optimum's 0: tier by tier under both readings, the relaxation's later
    # tiers (after U1, which it meets at 0 and the schedule at 10) are trivial
    assert result.bound is not None and tuple(result.bound.uncovered) == (0, 0, 0, 0)
    assert not result.optimal


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(pinned_problems())
def test_cpsat_reaches_the_strict_optimum_with_pins(problem: Problem) -> None:
    """Over every valid schedule (every maximal set of kept pins, rule 12
    read strictly), not only those of the largest-value set of pins."""
    c = compile_problem(problem)
    result = solve_cpsat_detailed(c, time_limit=20.0, seed=0, workers=1)
    strict = brute_force(c, honour_pins=True)
    key = evaluate(c, result.solution).key()
    assert tuple(key[:-1]) == tuple(strict.key[:-1]) and _close(key[-1], strict.key[-1]), (key, strict.key)


@pytest.mark.parametrize("strategy", ["cpsat", "auto"])
def test_another_maximal_set_of_pins_covers_all(strategy: str) -> None:
    """An independent tester's case (2 volunteers, 4 tasks): the pins of the
    largest value fit together but leave a tier-3 task uncovered (U3 = 10);
    another maximal set, of lower value, lets every task be covered. Before,
    cpsat stopped at U3 = 10 and auto returned the greedy's U4 = 10, whose
    dropped pin t3/v0 could join its kept pins at other starts."""
    import assign
    from assign.io import load
    from assign.solution import solution_from_schedule

    problem = load(Path(__file__).parent / "data" / "pin_set_of_lower_value_covers_all.json")
    c = compile_problem(problem)
    schedule = assign.solve(problem, strategy=strategy, time_limit=5, seed=0, workers=1)
    sol = solution_from_schedule(c, schedule)
    strict = brute_force(c, honour_pins=True)
    lenient, strict_key = check_both_readings(c, sol, schedule.bound, schedule.status == "optimal")
    assert evaluate(c, sol).uncovered == (0, 0, 0, 0) == tuple(strict_key[:-1])
    assert schedule.status == "optimal"
    del strict, lenient


def test_auto_takes_no_schedule_a_dropped_pin_could_join() -> None:
    """An independent tester's case: the greedy's schedule drops t2/v3 as
    double_booking, which the validator accepts (t2/v3 fits nowhere next to
    the kept pins at their starts) but another timing of those pins lets it
    in; its soft score beat the strict optimum and auto returned it."""
    import assign
    from assign.io import load
    from assign.solution import solution_from_schedule

    problem = load(Path(__file__).parent / "data" / "pin_greedy_set_not_maximal.json")
    c = compile_problem(problem)
    schedule = assign.solve(problem, strategy="auto", time_limit=5, seed=0, workers=1)
    sol = solution_from_schedule(c, schedule)
    check_both_readings(c, sol, schedule.bound, schedule.status == "optimal")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pinned_problems())
def test_greedy_is_valid_under_the_strict_reading(problem: Problem) -> None:
    """The greedy's dropped pins could not join its kept pins at any starts
    (on small problems it checks that with CP-SAT and starts again from a
    maximal set of pins when one could: before, an independent tester found
    55 of 1,782 pin-heavy schedules where one could)."""
    from assign.candidates import build_candidates
    from assign.solvers.greedy import solve_greedy

    c = compile_problem(problem)
    sol = solve_greedy(c, build_candidates(c))
    assert violations(c, sol) == []
    assert _strictly_valid(c, sol, brute_force(c, honour_pins=True))


@pytest.mark.parametrize("strategy", ["cpsat", "auto"])
def test_bound_tier_by_tier_after_a_tier_the_relaxation_reaches_by_dropping_a_pin(strategy: str) -> None:
    """Fuzz case (2026-12-01): v3 is pinned to a tier-5 team of three and is
    the only volunteer for a tier-4 visit, with one visit a day. Every valid
    schedule keeps the pin (U = 0, 0, 0, 10, 0); the bound's relaxation, with
    only the surely kept pins, reaches U4 = 0 by dropping it, and its tier-5
    stage, conditioned on that, said U5 >= 10 — above the optimum's 0. The
    tiers after the first one the relaxation does not meet now keep the
    trivial bound."""
    import assign

    p = assign.load(Path(__file__).parent / "data" / "pin_tier_bound_after_unreachable_tier.json")
    c = compile_problem(p)
    best = brute_force(c, honour_pins=True).key
    assert best[:-1] == (0, 0, 0, 10, 0)
    s = assign.solve(p, strategy=strategy, time_limit=3, seed=0, workers=1)
    assert assign.check(p, s).valid and s.bound is not None
    assert _lex_at_most((*s.bound.uncovered, s.bound.soft), best)
    assert all(b <= u for b, u in zip(s.bound.uncovered, best[:-1], strict=True)), s.bound


# ------------------------------------------------------------- second chance


def _starved_first_pass(
    monkeypatch: pytest.MonkeyPatch, starve: set[int], again: frozenset[int] = frozenset()
) -> list[tuple[int, str]]:
    """Stop the stage solves of the first pass numbered in ``starve`` right
    after CP-SAT's presolve (the seed of the call is the solve's own; a second
    chance uses another), and the second chances numbered in ``again``: a
    stand-in for a tier CP-SAT does not prove in its share. Returns the calls
    made, (seed, how they ended)."""
    import assign.solvers.cpsat as cpsat

    calls: list[tuple[int, str]] = []
    run, make = cpsat._LexState.run, cpsat._solver
    starving = [False]

    def solver(*args: Any, **kwargs: Any) -> Any:
        made = make(*args, **kwargs)
        made.parameters.stop_after_presolve = starving[0]
        return made

    def starved(self: Any, seconds: float | None, seed: int) -> Any:
        if seed == self.seed:
            starving[0] = len(calls) in starve
        else:
            starving[0] = sum(1 for s, _ in calls if s != self.seed) in again
        status, solved, spent = run(self, seconds, seed)
        starving[0] = False
        calls.append((seed, solved.status_name(status)))
        return status, solved, spent

    monkeypatch.setattr(cpsat._LexState, "run", starved)
    monkeypatch.setattr(cpsat, "_solver", solver)
    return calls


def test_a_tier_not_proved_is_solved_again_in_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first tier stage gets no time: without the second chance the
    schedule is not proved; with it the tier is solved again (another seed)
    and everything is proved, the same optimum as an unhindered solve."""
    c = compile_problem(_busy_problem())
    calls = _starved_first_pass(monkeypatch, {0})
    without = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, second_chance=False)
    assert calls[0][1] != "OPTIMAL" and all(seed == 0 for seed, _ in calls)
    assert not without.optimal
    calls.clear()
    again = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert (1, "OPTIMAL") in calls
    monkeypatch.undo()
    plain = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert plain.optimal and again.optimal
    assert violations(c, again.solution) == []
    assert evaluate(c, again.solution).uncovered == evaluate(c, plain.solution).uncovered
    assert again.bound is not None and plain.bound is not None
    assert again.bound.uncovered == plain.bound.uncovered
    assert _close(again.bound.soft, plain.bound.soft)


def test_an_open_tier_is_solved_again_before_the_soft_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiers come strictly before the soft score: the tier left open by the
    first pass gets its second solve before the soft stage runs (it used to
    come after, in what the soft stage left), and the result is proved."""
    c = compile_problem(_busy_problem())
    calls = _starved_first_pass(monkeypatch, {0})
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    names = [s.name for s in result.stages]
    again = [i for i, n in enumerate(names) if n.startswith("U") and names.index(n) < i]
    assert again, names
    assert again[0] < names.index("soft"), names
    assert (1, "OPTIMAL") in calls
    assert result.optimal


def _valid_and_bounded(c: Compiled, result: Any) -> tuple[Any, Any]:
    """``result``'s schedule is valid and its bound at most the brute-force
    optimum (pins honoured), lexicographically and tier by tier; returns
    (the brute force's result, the schedule's score)."""
    best = brute_force(c, honour_pins=True)
    assert violations(c, result.solution) == []
    score = evaluate(c, result.solution)
    assert result.bound is not None
    assert all(b <= u for b, u in zip(result.bound.uncovered, best.key[:-1], strict=True)), (result.bound.key(), best.key)
    assert _lex_at_most(result.bound.key(), best.key)
    return best, score


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems(pins=True), st.sets(st.integers(0, 6), max_size=4), st.sets(st.integers(0, 2), max_size=2))
def test_second_chances_keep_the_bound_valid(problem: Problem, starve: set[int], again: set[int]) -> None:
    """Any stage solves of the first pass starved (tier and soft stages; again
    after a second chance found a better tier), and any second chances: the
    schedule is valid, the bound at most the brute-force optimum tier by
    tier, every tier proved in the time left when no second chance was
    starved (the soft stage is not solved again), and an optimal result is
    the optimum."""
    with pytest.MonkeyPatch.context() as mp:
        _starved_first_pass(mp, starve, frozenset(again))
        c = compile_problem(problem)
        result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=1)
    best, score = _valid_and_bounded(c, result)
    assert _lex_at_most(best.key, score.key())
    if not len(c.t_pin) and not again:
        assert tuple(result.bound.uncovered) == score.uncovered, (result.stages, score.key())
    if result.optimal:
        assert score.uncovered == best.key[:-1]
        assert _close(score.soft, best.key[-1])


def test_a_stage_that_returns_worse_than_its_hint_keeps_the_incumbent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stage solve loses its hint (the empty schedule is hinted) and
    stops at its first solution: the result is still never worse than the
    valid hint the solve started from (the greedy schedule)."""
    import assign.solvers.cpsat as cpsat
    from assign.candidates import build_candidates
    from assign.solvers.greedy import solve_greedy

    c = compile_problem(_busy_problem())
    greedy = solve_greedy(c, build_candidates(c))
    make, hint = cpsat._solver, cpsat._set_hint

    def first_solution(*args: Any, **kwargs: Any) -> Any:
        made = make(*args, **kwargs)
        made.parameters.stop_after_first_solution = True
        made.parameters.cp_model_presolve = False
        return made

    def lost(m: Any, indexes: Any, values: Any) -> None:
        hint(m, indexes, np.zeros_like(values))

    monkeypatch.setattr(cpsat, "_solver", first_solution)
    monkeypatch.setattr(cpsat, "_set_hint", lost)
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, hint=greedy)
    assert violations(c, result.solution) == []
    assert _lex_at_most(evaluate(c, result.solution).key(), evaluate(c, greedy).key())


def _pinned_team_of_weight(solitary: float) -> Problem:
    """One team of two pinned to v0; its recipient's group weight ``solitary``
    (-10: the task weighs 0)."""
    return _problem(
        [{"id": "v0", "lat": 33.038, "lon": 108.247, "availability": [(480, 1080)]},
         {"id": "v1", "lat": 33.045, "lon": 108.239, "availability": [(480, 1080)]}],
        [{"id": "t0", "window_start": 600, "window_end": 660, "duration_min": 45, "volunteers_needed": 2,
          "pinned": ["v0"]}],
        [{"id": "r0", "community": "c0", "lat": 33.042, "lon": 108.255, "groups": ["solitary"]}],
        policy={"group_weights": {"solitary": solitary}},
        days=1,
    )


@pytest.mark.parametrize("solitary", [-10.0, -12.0, 0.0])
def test_a_keepable_pin_of_a_task_of_weight_zero_or_less_is_kept(solitary: float) -> None:
    """An independent tester's case: the schedules of other pin sets started
    from the empty schedule, which breaks the pins their model forces; a task
    of weight <= 0 gains no U when covered, so the stages kept that start and
    the pin was dropped although it could be kept."""
    c = compile_problem(_pinned_team_of_weight(solitary))
    for workers in (1, 2):
        result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=workers)
        assert violations(c, result.solution) == []
        assert sorted(zip(result.solution.task.tolist(), result.solution.volunteer.tolist(), strict=True)) == [(0, 0), (0, 1)]
        assert result.solution.conflicts == ()


def test_a_pin_trial_cut_by_the_time_limit_runs_again_past_it() -> None:
    # the audit's case: with the time limit's wall safety net passed, every
    # CP-SAT solve of the pin decision had 0.01 s; the trials that make the
    # kept pins maximal came back unknown and keepable pins were dropped as
    # collisions (rule 12). Every dropped pin must now be one that does not
    # fit with the kept ones.
    import json

    from assign import clock as clocks
    from assign.candidates import build_candidates
    from assign.solvers.cpsat import COLLISION, _decide_pins, _fits_together, _possible_pins

    p = Problem.model_validate(json.loads((Path(__file__).parent / "data" / "pin_trials_past_the_limit.json").read_text()))
    c = compile_problem(p)
    pairs, possible = _possible_pins(c, build_candidates(c))
    with clocks.running(clocks.DeterministicClock(0.0)):
        decision = _decide_pins(c, pairs, clocks.current().now(), seed=0, workers=1)
    assert len(decision.kept) > 0
    collided = [(t, v) for t, v, rule in decision.dropped if rule == COLLISION]
    assert collided
    for t, v in collided:
        pin = pairs.find(c.n_volunteers, np.array([t]), np.array([v]))
        fits = _fits_together(c, pairs, possible.possible, np.append(decision.kept, pin), None, 0, 1)
        assert fits is False, (c.task_ids[t], c.volunteer_ids[v])


def test_a_stage_cut_before_any_schedule_keeps_the_trivial_bound() -> None:
    # the second audit's case (negative group weights): stages cut by the
    # time limit before CP-SAT found a schedule reported its objective bound,
    # the response's unset 0, so the bound said U1 >= 0 while the greedy's
    # valid schedule has U1 = -4. A bound is a promise: no valid schedule of
    # any strategy may score below it.
    import json

    from assign.candidates import build_candidates
    from assign.solvers.greedy import solve_greedy

    p = Problem.model_validate(json.loads((Path(__file__).parent / "data" / "negative_weights_cut_stage.json").read_text()))
    c = compile_problem(p)
    cands = build_candidates(c)
    greedy = solve_greedy(c, cands)
    assert not violations(c, greedy)
    floor = tuple(evaluate(c, greedy).uncovered)
    for limit in (0.5, 2.0):
        r = solve_cpsat_detailed(c, cands, time_limit=limit, seed=0, workers=1)
        assert not violations(c, r.solution)
        cut = [s for s in (*r.stages, *r.bound_stages) if s.status == "UNKNOWN" and s.name.startswith("U")]
        bound = tuple(r.bound.uncovered)
        assert bound <= floor and bound <= tuple(evaluate(c, r.solution).uncovered), (limit, bound, floor, cut)
        assert all(s.bound <= s.value for s in cut), cut


def test_a_soft_score_too_large_for_64_bits_keeps_a_valid_bound() -> None:
    """Histories of 2^30 - 1 minutes (the largest whole number accepted) and a
    fairness weight of 1e9 (the largest accepted) make squares ~10^22 that no
    scaling brings within CP-SAT's 64-bit objective (the soft stage's model is
    invalid). The tiers are still solved exactly; the soft bound stays the
    trivial one (below the score) and the status is not optimal. (Beyond
    those limits, which the input now refuses, the model building raised:
    the audit of stop 47.)"""
    import json

    from assign import solve
    from assign.check import check

    raw = json.loads(Path("tests/data/tiny.json").read_text())
    for volunteer in raw["volunteers"]:
        volunteer["history_minutes"] = (1 << 30) - 1
    raw["policy"]["weights"] = {"fairness": 1e9, "equity": -1e9}
    problem = Problem.model_validate(raw)
    schedule = solve(problem, strategy="cpsat", time_limit=10, seed=0, workers=1)
    assert check(problem, schedule).valid
    assert schedule.bound is not None
    assert schedule.bound.soft <= schedule.score.soft
    assert schedule.bound.uncovered == schedule.score.uncovered  # the tiers: proven
    assert schedule.status != "optimal"


@pytest.mark.parametrize(
    ("name", "strategy", "limit", "seed"),
    [
        # a stage that only tied its tier took CP-SAT's schedule, worse on the
        # later tiers and the soft score than the valid greedy hint (soft
        # 1,240.41 against 1,237.52; a subset of laocheng-grid)
        ("cpsat_tie_worse_later", "cpsat", 2.0, 1),
        # of a task's three equal pins the exact model kept another than the
        # greedy's, so the hint was no incumbent: U2 26 against 13
        ("cpsat_equal_pins", "cpsat", 2.0, 0),
        # the hint drops a pin kept here: the kept pins alone were the
        # incumbent, U1 148 against the greedy's 138
        ("cpsat_hint_drops_a_kept_pin", "cpsat", 2.0, 0),
        # auto's fill covered weight-0 tasks after its comparison with the
        # greedy's schedule: soft 318.60 against 318.03
        ("auto_fill_weight_zero", "auto", 10.0, 1),
        # the greedy keeps another maximal set of pins than the model's (of
        # the largest value), so its schedule is no incumbent of the model:
        # U1 133 against the greedy's 110 at 2 s; and the same problem as
        # above under cpsat: soft 326.79 against 318.03
        ("cpsat_other_maximal_pins", "cpsat", 2.0, 0),
        ("auto_fill_weight_zero", "cpsat", 2.0, 1),
    ],
)
def test_never_worse_than_the_greedy_schedule(name: str, strategy: str, limit: float, seed: int) -> None:
    """Problems of the medium-scale audit of stop 48 where a strategy returned
    a schedule lexicographically worse than the greedy's (one worker: the
    deterministic clock repeats them; each fails on the code before)."""
    import assign
    from assign.io import load

    problem = load(Path(__file__).parent / "data" / "not_worse_than_greedy" / f"{name}.json")
    got = assign.solve(problem, strategy, time_limit=limit, seed=seed, workers=1)
    greedy = assign.solve(problem, "greedy", seed=seed, workers=1)
    assert got.score is not None and greedy.score is not None
    assert _lex_at_most(
        (*got.score.uncovered, got.score.soft - 1e-6), (*greedy.score.uncovered, greedy.score.soft)
    ), (got.score, greedy.score)


# ---------------------------------------------------------------- tier floors


def _overloaded_problem() -> Problem:
    """Two volunteers, ten one-hour visits of tiers 3 and 4 in a two-hour
    window: at most four are covered, so every tier's optimum is above 0."""
    volunteers = [{"id": f"v{i}", "skills": ["meals"], "availability": [(480, 720)]} for i in range(2)]
    tasks = [
        {"id": f"t{i}", "service": "meals" if i < 5 else "companionship", "window_start": 540, "window_end": 660,
         "duration_min": 60}
        for i in range(10)
    ]
    return _problem(volunteers, tasks, days=1)


def test_a_floor_at_the_optimum_proves_its_tier_without_a_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """A floor that meets the incumbent's ``U`` proves the tier: no CP-SAT
    solve for it, a stage FLOOR_MET, and the floor is asked only once the
    tiers before are proven, with their proven ``U`` as limits."""
    from assign.solvers.cpsat import FLOOR_MET, SKIPPED

    c = compile_problem(_overloaded_problem())
    plain = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert plain.optimal and plain.bound is not None
    optimum = [int(u) for u in plain.bound.uncovered]
    asked: list[tuple[int, dict[int, int]]] = []

    def floor(tier: int, limits: dict[int, int], value: int, seconds: float | None) -> float | None:
        asked.append((tier, dict(limits)))
        assert seconds is not None and seconds > 0
        return float(optimum[tier - 1])

    calls = _starved_first_pass(monkeypatch, set())
    # (hinted by the optimum: each tier's incumbent is at its floor)
    result = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, hint=plain.solution, tier_floor=floor)
    met = [s.name for s in result.stages if s.status == FLOOR_MET]
    assert result.optimal and met == ["U3", "U4"], result.stages
    assert evaluate(c, result.solution).uncovered == tuple(optimum)
    # the tiers met by their floor ran no solve: the one solve is the soft stage's
    assert [s.name for s in result.stages if s.status not in (FLOOR_MET, SKIPPED)] == ["soft"]
    assert len(calls) == 1
    for tier, limits in asked:
        assert limits == {j: optimum[j - 1] for j in range(1, tier) if np.any(c.t_tier == j)}


def test_a_floor_below_the_schedule_raises_the_bound_of_a_stage_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stage solve stopped after presolve: the first tier with tasks
    keeps CP-SAT's bound or the floor, whichever is higher, and is not proved
    with a floor below its value."""
    c = compile_problem(_overloaded_problem())
    plain = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1)
    assert plain.optimal and plain.bound is not None
    first = next(t for t in range(1, c.n_tiers + 1) if np.any(c.t_tier == t))
    optimum = int(plain.bound.uncovered[first - 1])
    assert optimum > 0

    def floor(tier: int, limits: dict[int, int], value: int, seconds: float | None) -> float | None:
        return float(optimum) if tier == first else None

    _starved_first_pass(monkeypatch, set(range(10)))
    starved = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, second_chance=False)
    floored = solve_cpsat_detailed(c, time_limit=LIMIT, workers=1, second_chance=False, tier_floor=floor)
    assert starved.bound is not None and floored.bound is not None
    assert starved.bound.uncovered[first - 1] < optimum  # (else the test shows nothing)
    assert floored.bound.uncovered[first - 1] == optimum
    value = evaluate(c, floored.solution).uncovered[first - 1]
    assert (value == optimum) == floored.optimal or value > optimum


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_problems(pins=True), st.sets(st.integers(0, 6), max_size=4))
def test_week_floors_keep_the_bound_valid(problem: Problem, starve: set[int]) -> None:
    """``auto``'s week floors in the exact model, any stage solves starved:
    the schedule is valid, the bound at most the brute-force optimum tier by
    tier, every stage the floor proves at the optimum's U, and an optimal
    result is the optimum."""
    from assign.candidates import build_candidates
    from assign.solvers.auto import week_floor
    from assign.solvers.cpsat import FLOOR_MET

    c = compile_problem(problem)
    with pytest.MonkeyPatch.context() as mp:
        _starved_first_pass(mp, starve)
        result = solve_cpsat_detailed(c, time_limit=LIMIT, seed=0, workers=1, tier_floor=week_floor(c, build_candidates(c)))
    best, score = _valid_and_bounded(c, result)
    for s in result.stages:
        if s.status == FLOOR_MET:
            tier = int(s.name[1:])
            assert score.uncovered[tier - 1] == best.key[tier - 1], (s, score.key(), best.key)
    if result.optimal:
        assert score.uncovered == best.key[:-1]
        assert _close(score.soft, best.key[-1])


def test_the_greedy_schedule_wins_when_the_safety_net_passes_during_its_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_never_worse_than`` decides whether the greedy's pins are a maximal
    set on a clock of its own. On the solve's deterministic clock, whose
    reading jumps to ``wall_deadline + spent`` once its wall-clock safety
    net passes, a net passing during that decision (a CI run on a loaded
    machine, stop 53) ended the decision's second of time at once, left it
    undecided, and the exact model's worse schedule was returned (U3 133
    against the greedy's 110 on this problem). Fails on the code before."""
    import assign.clock as clocks
    from assign.candidates import build_candidates
    from assign.io import load
    from assign.solvers import cpsat
    from assign.solvers.greedy import fill, solve_greedy

    problem = load(Path(__file__).parent / "data" / "not_worse_than_greedy" / "cpsat_other_maximal_pins.json")
    c = compile_problem(problem)
    cands = build_candidates(c)
    hint = solve_greedy(c, cands, seed=0)
    # the exact model's schedule from the greedy's hint: another maximal set
    # of pins, worse (U3 133 against 110; one worker, half a second of its
    # clock, the net far)
    clk = clocks.DeterministicClock(600.0)
    with clocks.running(clk):
        worse = solve_cpsat_detailed(c, cands, 0.5, 0, 1, hint, clock=clk)
    assert not _lex_at_most(evaluate(c, fill(c, cands, worse.solution)).key(), evaluate(c, hint).key())

    class Jumping(clocks.DeterministicClock):
        """Its reading jumps by 10 s once the decision's first test starts
        (as when the net passes, 10 s after the start, with 10 s spent)."""

        jump = 0.0

        def now(self) -> float:
            return super().now() + self.jump

    solve_clock = Jumping(600.0)
    solve_clock.spent = 10.0
    real_fits = cpsat._fits_together

    def crossing(*args, **kwargs):  # type: ignore[no-untyped-def]
        solve_clock.jump = 10.0  # (the net passes now)
        return real_fits(*args, **kwargs)

    monkeypatch.setattr(cpsat, "_fits_together", crossing)
    with clocks.running(solve_clock):
        got = cpsat._never_worse_than(c, cands, worse, hint, 0)
    assert evaluate(c, got.solution).key() == evaluate(c, hint).key()
    assert solve_clock.spent > 10.0  # (the decision's count charged to the solve's clock)
