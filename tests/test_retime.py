"""Insertion with re-timing (assign/solvers/retime.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign import rules
from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import Compiled, _unit_xyz, compile_problem
from assign.model import Problem
from assign.score import evaluate
from assign.solution import Solution
from assign.solvers import retime
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


@st.composite
def packed_problems(draw: st.DrawFn) -> Problem:
    """One or two volunteers with one short block each and more visits than
    fit: windows overlapping inside the block, recipients up to ~2 km apart
    (travel of 0-10 minutes at 12 km/h), so that most insertions need the
    block's visits moved and travel decides."""
    n_vol = draw(st.integers(1, 2))
    vols = []
    for i in range(n_vol):
        lo = draw(st.sampled_from([480, 540]))
        hi = lo + draw(st.sampled_from([150, 180, 240]))
        vols.append({"id": f"v{i}", "community": "c", "lat": 33.0, "lon": 108.0,
                     "availability": [[_iso(lo), _iso(hi)]]})
    n_rec = draw(st.integers(1, 4))
    recs = [{"id": f"r{i}", "community": "c", "lat": 33.0 + draw(st.integers(0, 15)) * 0.001,
             "lon": 108.0 + draw(st.integers(0, 15)) * 0.001} for i in range(n_rec)]
    tasks = []
    for i in range(draw(st.integers(2, 7))):
        dur = draw(st.sampled_from([30, 45, 60, 90]))
        ws = draw(st.integers(480, 700)) // 5 * 5
        we = ws + dur + draw(st.sampled_from([0, 15, 30, 60, 120]))
        tasks.append({"id": f"t{i}", "recipient": f"r{draw(st.integers(0, n_rec - 1))}", "service": "companionship",
                      "window_start": _iso(ws), "window_end": _iso(we), "duration_min": dur,
                      "tier": draw(st.integers(1, 3)),
                      "volunteers_needed": draw(st.sampled_from([1, 1, 1, 2])) if n_vol > 1 else 1})
    return Problem.model_validate({
        "format": "assign/problem@1", "name": "packed",
        "horizon": {"start": _iso(0), "end": _iso(1440)},
        "communities": [{"id": "c"}], "volunteers": vols, "recipients": recs, "tasks": tasks,
    })


def _blocked_team_problem() -> Problem:
    """Two volunteers free 08:00-11:00, each with two visits (60 min, windows
    08:00-11:00) placed at 08:30 and 10:00, and a third task for both of them
    together (60 min, same window): the team fits only once both volunteers'
    visits move, leaving the same hour free to both."""
    p = _blocked_problem().model_dump(mode="json")
    p["volunteers"].append({**p["volunteers"][0], "id": "w"})
    p["tasks"] = [{**p["tasks"][0], "id": f"t{i}"} for i in range(4)]
    p["tasks"].append({**p["tasks"][0], "id": "team", "volunteers_needed": 2})
    return Problem.model_validate(p)


def test_a_team_gets_one_start_once_both_members_move() -> None:
    c = compile_problem(_blocked_team_problem())
    cands = build_candidates(c)
    team = c.task_ids.index("team")
    v, w = c.volunteer_ids.index("v"), c.volunteer_ids.index("w")
    t = [c.task_ids.index(f"t{i}") for i in range(4)]
    placed = Solution.build(np.array(t), np.array([v, v, w, w]), np.array([510, 600, 510, 600]))
    assert violations(c, placed) == []
    assert violations(c, fill(c, cands, placed)) == [] and not fill(c, cands, placed).covered(c.n_tasks)[team]
    got = insert_retimed(c, cands, placed, ratio_order(c))
    assert violations(c, got) == [], violations(c, got)
    rows = np.flatnonzero(got.task == team)
    assert sorted(got.volunteer[rows].tolist()) == sorted([v, w])
    (at,) = set(got.start[rows].tolist())  # one start for the whole team
    assert at in (480, 540, 600)
    assert sorted(got.start[got.task != team].tolist()) == sorted(2 * list({480, 540, 600} - {at}))


def test_teams_can_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    c = compile_problem(_blocked_team_problem())
    cands = build_candidates(c)
    t = [c.task_ids.index(f"t{i}") for i in range(4)]
    v, w = c.volunteer_ids.index("v"), c.volunteer_ids.index("w")
    placed = Solution.build(np.array(t), np.array([v, v, w, w]), np.array([510, 600, 510, 600]))
    monkeypatch.setattr(retime, "TEAMS", False)
    assert insert_retimed(c, cands, placed, ratio_order(c)) is placed


def test_budgets_stop_it() -> None:
    c = compile_problem(_blocked_problem())
    cands = build_candidates(c)
    placed = Solution.build(np.array([0, 1]), np.array([0, 0]), np.array([510, 600]))
    assert insert_retimed(c, cands, placed, ratio_order(c), max_trials=0) is placed
    assert insert_retimed(c, cands, placed, ratio_order(c), deadline=0.0) is placed


def test_the_blocks_tried_are_reported() -> None:
    """``tried`` gets the blocks tried: none under a budget of none, some
    (within a budget) when the visit is inserted."""
    c = compile_problem(_blocked_problem())
    cands = build_candidates(c)
    placed = Solution.build(np.array([0, 1]), np.array([0, 0]), np.array([510, 600]))
    tried: list[int] = []
    insert_retimed(c, cands, placed, ratio_order(c), max_trials=0, tried=tried)
    got = insert_retimed(c, cands, placed, ratio_order(c), max_trials=100, tried=tried)
    assert got.covered(c.n_tasks).all()
    assert tried[0] == 0 and 0 < tried[1] <= 100


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


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=dense_problems(pins=True), seed=st.integers(0, 2**16))
def test_dense_problems_with_pins_stay_valid(problem: Problem, seed: int) -> None:
    """Pinned visits are never ejected (and teams never)."""
    _check(problem, seed)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=packed_problems(), seed=st.integers(0, 2**16))
def test_packed_problems_stay_valid_and_cover_more(problem: Problem, seed: int) -> None:
    """Short shared blocks, travel, teams; the greedy's visits moved later
    where valid: insertions (teams too) need the blocks re-timed."""
    _check(problem, seed)


def _check(problem: Problem, seed: int | None = None) -> None:
    c = compile_problem(problem)
    cands = build_candidates(c)
    base = solve_greedy(c, cands)
    if seed is not None:
        base = _shifted(c, base, seed)
    got = insert_retimed(c, cands, base, ratio_order(c))
    assert violations(c, got) == [], violations(c, got)
    before = {(int(t), int(v)) for t, v in zip(base.task, base.volunteer, strict=True)}
    after = {(int(t), int(v)) for t, v in zip(got.task, got.volunteer, strict=True)}
    # teams and tasks with pins keep their volunteers (ejections move
    # one-volunteer visits of tasks without pins only)
    has_pin = np.diff(c.t_pin_ptr) > 0
    kept = {(t, v) for t, v in before if c.t_needed[t] > 1 or has_pin[t]}
    assert kept <= after
    # whole teams only, each at one start
    per_task = np.bincount(got.task, minlength=c.n_tasks)
    cov = per_task > 0
    assert (per_task[cov] == c.t_needed[cov]).all()
    for t in np.flatnonzero(cov & (c.t_needed > 1)).tolist():
        assert len(set(got.start[got.task == t].tolist())) == 1
    # every move lowers U lexicographically: a task newly covered, or one
    # given up for a more urgent or heavier one
    a, b = evaluate(c, base).key(), evaluate(c, got).key()
    assert tuple(b[:-1]) <= tuple(a[:-1])
    if after != before:
        assert tuple(b[:-1]) < tuple(a[:-1])


def _shifted(c: Compiled, base: Solution, seed: int) -> Solution:
    """``base`` with one-volunteer visits moved later inside their windows
    where the schedule stays valid: gaps that only re-timing can use."""
    rng = np.random.default_rng(seed)
    start = base.start.copy()
    for r in rng.permutation(len(start)).tolist():
        t = int(base.task[r])
        if c.t_needed[t] != 1:
            continue
        latest = int(c.t_window_end[t] - c.t_duration[t])
        if latest <= start[r]:
            continue
        trial = start.copy()
        trial[r] = int(rng.integers(start[r] + 1, latest + 1))
        moved = Solution.build(base.task, base.volunteer, trial, list(base.conflicts))
        if not violations(c, moved):
            start = trial
    return Solution.build(base.task, base.volunteer, start, list(base.conflicts))


def _same_with_and_without_sieve(problem: Problem, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    c = compile_problem(problem)
    cands = build_candidates(c)
    base = _shifted(c, solve_greedy(c, cands), seed)
    got = insert_retimed(c, cands, base, ratio_order(c))
    with monkeypatch.context() as m:
        m.setattr(retime, "SIEVE", False)
        exact = insert_retimed(c, cands, base, ratio_order(c))
    for a, b in ((got.task, exact.task), (got.volunteer, exact.volunteer), (got.start, exact.start)):
        assert np.array_equal(a, b)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=st.one_of(packed_problems(), dense_problems()), seed=st.integers(0, 2**16))
def test_the_sieve_changes_nothing(problem: Problem, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sieve only skips blocks the exact test would refuse: the same
    schedule with and without it (dense problems: visits with travel packed
    into shared blocks; the greedy's visits moved later where valid, so that
    insertions need re-timing)."""
    _same_with_and_without_sieve(problem, seed, monkeypatch)


def test_the_sieve_passes_the_blocked_problem() -> None:
    c = compile_problem(_blocked_problem())
    cands = build_candidates(c)
    placed = Solution.build(np.array([0, 1]), np.array([0, 0]), np.array([510, 600]))
    got = insert_retimed(c, cands, placed, ratio_order(c))
    assert sorted(got.start.tolist()) == [480, 540, 600]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-60.0, 60.0), st.floats(-179.0, 179.0)), min_size=2, max_size=6
    ),
    st.floats(0.5, 80.0),
    st.floats(1.0, 2.0),
    st.floats(1e-4, 0.05),
)
def test_the_sieve_travel_is_a_lower_bound(
    points: list[tuple[float, float]], speed: float, detour: float, spread: float
) -> None:
    """Its chord travel never exceeds :func:`assign.rules.travel_between_recipients`
    (points close together, where minutes round, and far apart)."""
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    lat = np.concatenate((lat, lat[:1] + spread))  # one near neighbour
    lon = np.concatenate((lon, lon[:1]))
    c = SimpleNamespace(
        r_lat=lat, r_lon=lon, r_xyz=_unit_xyz(lat, lon), t_recipient=np.zeros(1, dtype=np.int64),
        t_window_start=np.zeros(1), t_window_end=np.zeros(1), t_duration=np.zeros(1),
        detour_factor=detour, speed_kmh=speed,
    )
    sieve = retime._Sieve(c)  # type: ignore[arg-type]
    n = len(lat)
    a, b = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    exact = rules.travel_between_recipients(c, a, b)  # type: ignore[arg-type]
    low = np.array([sieve.travel(int(x), int(y)) for x, y in zip(a, b, strict=True)])
    assert (low <= exact).all()
    assert (low[a == b] == 0).all()


def test_a_fixed_start_must_follow_the_visits_before_it() -> None:
    """The exact test with the new visit at a given start (a team's): one
    volunteer's visits at 08:30 and 10:00 move to 08:00 and, after the new
    one, as early as they can; 08:55 overlaps the first (08:00-09:00), 09:00
    fits, as does 08:00 with both after it; 09:05 leaves no room at the end."""
    c = compile_problem(_blocked_team_problem())
    cands = build_candidates(c)
    v = c.volunteer_ids.index("v")
    t = [c.task_ids.index(f"t{i}") for i in range(2)]
    team = c.task_ids.index("team")
    placed = Solution.build(np.array(t), np.array([v, v]), np.array([510, 600]))
    ins = retime._Inserter(c, cands, placed)
    (b,) = range(int(c.av_ptr[v]), int(c.av_ptr[v + 1]))
    A, B, _, day_lo, day_hi = ins.day(v, b) or (0, 0, 0, 0, 0)
    assert ins.arrange(team, v, A, B, day_lo, day_hi, 535) is None
    assert ins.arrange(team, v, A, B, day_lo, day_hi, 545) is None
    rows, starts = ins.arrange(team, v, A, B, day_lo, day_hi, 540) or ([], [])
    assert rows == [0, retime.NEW, 1] and starts == [480, 540, 600]
    rows, starts = ins.arrange(team, v, A, B, day_lo, day_hi, 480) or ([], [])
    assert rows == [retime.NEW, 0, 1] and starts == [480, 540, 600]


def _ejection_problem(with_w: bool, x_service: str = "companionship", x_pinned: bool = False) -> Problem:
    """Volunteer v (care skills) free 08:00-09:00 holds visit x (60 min);
    task t (disability care, tier 2, only v can do it) wants the same hour.
    ``with_w``: volunteer w (no skills) is free then too, for x."""
    vols = [{"id": "v", "community": "c", "lat": 33.0, "lon": 108.0, "skills": ["care"],
             "availability": [[_iso(480), _iso(540)]]}]
    if with_w:
        vols.append({"id": "w", "community": "c", "lat": 33.0, "lon": 108.0,
                     "availability": [[_iso(480), _iso(540)]]})
    task = {"recipient": "r", "window_start": _iso(480), "window_end": _iso(540), "duration_min": 60}
    x = {**task, "id": "x", "service": x_service}
    if x_pinned:
        x["pinned"] = ["v"]
    return Problem.model_validate({
        "format": "assign/problem@1", "name": "eject",
        "horizon": {"start": _iso(0), "end": _iso(1440)},
        "communities": [{"id": "c"}], "volunteers": vols,
        "recipients": [{"id": "r", "community": "c", "lat": 33.0, "lon": 108.0}],
        "tasks": [{**task, "id": "t", "service": "disability_care"}, x],
    })


def _eject(problem: Problem) -> tuple[Compiled, Solution, Solution]:
    c = compile_problem(problem)
    cands = build_candidates(c)
    base = Solution.build(np.array([c.task_ids.index("x")]), np.array([c.volunteer_ids.index("v")]), np.array([480]))
    assert violations(c, base) == []
    return c, base, insert_retimed(c, cands, base, ratio_order(c))


def _pairs(c: Compiled, sol: Solution) -> set[tuple[str, str]]:
    return {(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(sol.task.tolist(), sol.volunteer.tolist(), strict=True)}


def test_a_visit_moves_to_another_volunteer_to_make_room() -> None:
    c, _, got = _eject(_ejection_problem(with_w=True))
    assert violations(c, got) == []
    assert _pairs(c, got) == {("t", "v"), ("x", "w")}


def test_a_visit_worth_less_is_given_up_for_a_more_urgent_one() -> None:
    c, base, got = _eject(_ejection_problem(with_w=False))
    assert violations(c, got) == []
    assert _pairs(c, got) == {("t", "v")}
    assert evaluate(c, got).key()[:-1] < evaluate(c, base).key()[:-1]


def test_a_visit_worth_as_much_stays() -> None:
    c, base, got = _eject(_ejection_problem(with_w=False, x_service="disability_care"))
    assert got is base


def test_pinned_visits_stay() -> None:
    c, base, got = _eject(_ejection_problem(with_w=False, x_pinned=True))
    assert got is base


def test_ejections_can_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retime, "EJECT", False)
    _, base, got = _eject(_ejection_problem(with_w=True))
    assert got is base


@pytest.mark.parametrize("seed", [0, 1])
def test_split_insertion_is_the_one_pass(seed: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The insertion with about half the components in a forked child gives,
    when neither half runs out of time, the schedule of one pass (a generated
    three-county problem, from its greedy schedule with every third
    one-volunteer visit dropped)."""
    import time

    from assign.solvers import auto, greedy
    from tests.test_greedy import three_counties

    c, cands, split = three_counties(seed, tmp_path, monkeypatch)
    base = greedy.solve_greedy(c, cands)
    drop = (c.t_needed[base.task] == 1) & (np.arange(len(base)) % 3 == 0) & ~rules.is_pinned(c, base.task, base.volunteer)
    sol = Solution.build(base.task[~drop], base.volunteer[~drop], base.start[~drop], list(base.conflicts))
    order = auto.ratio_order(c)
    assert greedy.split_halves(c, cands, order, split) is not None
    one = insert_retimed(c, cands, sol, order)
    two = auto.insert_split(c, cands, sol, order, time.perf_counter() + 600.0, split)
    assert len(one) > len(sol)  # the insertion did something
    key = lambda s: sorted(zip(s.task.tolist(), s.volunteer.tolist(), s.start.tolist(), strict=True))  # noqa: E731
    assert key(one) == key(two)
    assert two.conflicts == sol.conflicts
    assert violations(c, two) == []
