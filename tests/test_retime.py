"""Insertion with re-timing (assign/solvers/retime.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from hypothesis import HealthCheck, given, settings

from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import compile_problem
from assign.model import Problem
from assign.score import evaluate
from assign.solution import Solution
from assign.solvers.auto import ratio_order
from assign.solvers.greedy import fill, solve_greedy
from assign.solvers.retime import insert_retimed

from .strategies import problems
from .test_cpsat import dense_problems

ORIGIN = datetime(2026, 11, 30, tzinfo=timezone(timedelta(hours=8)))


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


def _blocked_problem() -> Problem:
    """One volunteer free 08:00-11:00. Two visits (60 min) were placed at
    08:30 and 10:00 (their windows allow 08:00-11:00): the gaps are 30 minutes
    each, so a third 60-minute visit fits only once the two move (08:00,
    09:00, then 10:00 for the new one); all at one home (no travel)."""
    tasks = [
        {"id": f"t{i}", "recipient": "r", "service": "companionship", "window_start": _iso(480),
         "window_end": _iso(660), "duration_min": 60}
        for i in range(3)
    ]
    return Problem.model_validate({
        "format": "assign/problem@1", "name": "blocked",
        "horizon": {"start": _iso(0), "end": _iso(1440)},
        "communities": [{"id": "c"}],
        "volunteers": [{"id": "v", "community": "c", "lat": 33.0, "lon": 108.0,
                        "availability": [[_iso(480), _iso(660)]]}],
        "recipients": [{"id": "r", "community": "c", "lat": 33.0, "lon": 108.0}],
        "tasks": tasks,
    })


def test_retiming_makes_room_where_fill_cannot() -> None:
    c = compile_problem(_blocked_problem())
    cands = build_candidates(c)
    placed = Solution.build(np.array([0, 1]), np.array([0, 0]), np.array([510, 600]))
    assert violations(c, placed) == []
    assert len(fill(c, cands, placed)) == 2  # no 60-minute gap as they stand
    got = insert_retimed(c, cands, placed, ratio_order(c))
    assert violations(c, got) == []
    assert got.covered(c.n_tasks).all()
    assert sorted(got.start.tolist()) == [480, 540, 600]


def test_team_visits_keep_their_start() -> None:
    """A team visit (partner elsewhere) is not moved: with it in the middle of
    the block there is no room, and nothing is inserted."""
    base = _blocked_problem().model_dump(mode="json", exclude_none=True)
    base["volunteers"].append({**base["volunteers"][0], "id": "w"})
    base["tasks"][1]["volunteers_needed"] = 2
    c = compile_problem(Problem.model_validate(base))
    cands = build_candidates(c)
    # t0 at 08:30 by v; the team t1 at 09:40 by v and w; w also busy from 08:00
    placed = Solution.build(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([510, 580, 580]))
    assert violations(c, placed) == []
    got = insert_retimed(c, cands, placed, ratio_order(c))
    assert violations(c, got) == []
    team_rows = got.task == 1
    assert got.start[team_rows].tolist() == [580, 580]


def test_budgets_stop_it() -> None:
    c = compile_problem(_blocked_problem())
    cands = build_candidates(c)
    placed = Solution.build(np.array([0, 1]), np.array([0, 0]), np.array([510, 600]))
    assert insert_retimed(c, cands, placed, ratio_order(c), max_trials=0) is placed
    assert insert_retimed(c, cands, placed, ratio_order(c), deadline=0.0) is placed


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=6))
def test_random_problems_stay_valid_and_cover_more(problem: Problem) -> None:
    """From the greedy's schedule: still valid, every covered task stays
    covered with the same volunteers, and U never gets worse on any tier."""
    _check(problem)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=dense_problems())
def test_dense_problems_stay_valid_and_cover_more(problem: Problem) -> None:
    _check(problem)


def _check(problem: Problem) -> None:
    c = compile_problem(problem)
    cands = build_candidates(c)
    base = solve_greedy(c, cands)
    got = insert_retimed(c, cands, base, ratio_order(c))
    assert violations(c, got) == [], violations(c, got)
    before = {(int(t), int(v)) for t, v in zip(base.task, base.volunteer, strict=True)}
    after = {(int(t), int(v)) for t, v in zip(got.task, got.volunteer, strict=True)}
    assert before <= after
    assert all(int(c.t_needed[t]) == 1 for t, _ in after - before)
    a, b = evaluate(c, base).key(), evaluate(c, got).key()
    assert all(y <= x for x, y in zip(a[:-1], b[:-1], strict=True))
