"""The greedy baseline: always valid, urgent tiers first, deterministic, pins kept
or dropped for a reason, and maximal (no uncovered task could still be added)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import Compiled, compile_problem
from assign.model import Problem
from assign.solution import Solution
from assign.solvers.greedy import fill, solve_greedy

from .strategies import problems

DAY = "2026-11-30T"


def at(hhmm: str) -> str:
    return f"{DAY}{hhmm}:00+08:00"


def problem(volunteers: list[dict[str, Any]], tasks: list[dict[str, Any]], **policy: Any) -> Problem:
    """One community, two recipients 100 m apart, the given volunteers and tasks."""
    vols = []
    for i, extra in enumerate(volunteers):
        vol = {
            "id": f"v{i + 1}", "community": "c1", "lat": 33.040, "lon": 108.250,
            "skills": ["medical", "care", "meals"], "availability": [[at("08:00"), at("18:00")]],
        }
        vol.update(extra)
        vols.append(vol)
    jobs = []
    for i, extra in enumerate(tasks):
        job = {
            "id": f"t{i + 1}", "recipient": "r1", "service": "companionship", "duration_min": 60,
            "window_start": at("09:00"), "window_end": at("10:00"),
        }
        job.update(extra)
        jobs.append(job)
    return Problem.model_validate(
        {
            "format": "assign/problem@1",
            "name": "hand-made",
            "horizon": {"start": at("00:00"), "end": "2026-12-01T00:00:00+08:00"},
            "policy": policy,
            "communities": [{"id": "c1"}],
            "volunteers": vols,
            "recipients": [
                {"id": "r1", "community": "c1", "lat": 33.041, "lon": 108.250},
                {"id": "r2", "community": "c1", "lat": 33.042, "lon": 108.250, "groups": ["solitary"]},
            ],
            "tasks": jobs,
        }
    )


def greedy(p: Problem) -> tuple[Compiled, Solution]:
    c = compile_problem(p)
    return c, solve_greedy(c, build_candidates(c))


def covered_ids(c: Compiled, sol: Solution) -> set[str]:
    return {c.task_ids[t] for t in np.flatnonzero(sol.covered(c.n_tasks))}


def addable_start(c: Compiled, sol: Solution, task: int) -> int | None:
    """Brute force: a start at which ``task`` could be added to ``sol`` with
    ``volunteers_needed`` volunteers, each breaking no rule (the validator
    decides); None when there is none."""
    first, last = int(c.t_window_start[task]), int(c.t_window_end[task] - c.t_duration[task])
    for start in range(first, last + 1):
        fits = 0
        for v in range(c.n_volunteers):
            trial = Solution.build(
                np.r_[sol.task, task], np.r_[sol.volunteer, v], np.r_[sol.start, start], sol.conflicts
            )
            if not [x for x in violations(c, trial) if x.rule != 2]:
                fits += 1
        if fits >= c.t_needed[task]:
            return start
    return None


# ------------------------------------------------------------------ properties


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=6, max_tasks=10, max_recipients=4))
def test_greedy_schedules_are_always_valid(p: Problem) -> None:
    c, sol = greedy(p)
    assert violations(c, sol) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=3, max_tasks=5, max_recipients=2))
def test_no_uncovered_task_could_still_be_added(p: Problem) -> None:
    c, sol = greedy(p)
    for task in np.flatnonzero(~sol.covered(c.n_tasks)):
        assert addable_start(c, sol, int(task)) is None, c.task_ids[task]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=5, max_tasks=8))
def test_same_seed_same_schedule_and_chunking_does_not_matter(p: Problem) -> None:
    c = compile_problem(p)
    one = solve_greedy(c, build_candidates(c), seed=3)
    two = solve_greedy(c, build_candidates(c, chunk=2), seed=3)
    for column in ("task", "volunteer", "start"):
        np.testing.assert_array_equal(getattr(one, column), getattr(two, column))
    assert one.conflicts == two.conflicts


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=5, max_tasks=8))
def test_capped_candidates_still_valid_and_maximal_cover(p: Problem) -> None:
    c = compile_problem(p)
    capped = solve_greedy(c, build_candidates(c, k=1))
    assert violations(c, capped) == []
    # maximal: nothing could be added with every candidate (the record of
    # maximal schedules cleared, so that fill proves it again)
    from assign.solution import Solution
    from assign.solvers import greedy as greedy_module

    greedy_module._MAXIMAL.clear()
    again = Solution.build(capped.task, capped.volunteer, capped.start, list(capped.conflicts))
    assert len(greedy_module.fill(c, build_candidates(c), again)) == len(capped)


# ------------------------------------------------------------------ hand-made


def test_urgent_tier_first() -> None:
    # one volunteer, one hour: the companionship task comes first in the file,
    # the medical one (tier 1) must win
    p = problem([{}], [{}, {"service": "medical"}])
    c, sol = greedy(p)
    assert covered_ids(c, sol) == {"t2"}


def test_heavier_weight_first_within_a_tier() -> None:
    # r2's recipient is solitary (+4): same tier, the heavier need wins
    p = problem([{}], [{}, {"recipient": "r2"}])
    c, sol = greedy(p)
    assert covered_ids(c, sol) == {"t2"}


def test_travel_between_visits_is_respected() -> None:
    # two 60-min visits 1.1 km apart in back-to-back windows: the second has to
    # start after the travel, inside its 90-min window
    p = problem(
        [{}],
        [{"service": "medical"}, {"recipient": "r2", "window_start": at("10:00"), "window_end": at("11:30")}],
        speed_kmh=6.0,
    )
    raw = p.model_dump(mode="json")
    raw["recipients"][1]["lat"] = 33.050  # ~1.4 km with the detour factor
    p = Problem.model_validate(raw)
    c, sol = greedy(p)
    assert violations(c, sol) == []
    starts = dict(zip(sol.task.tolist(), sol.start.tolist(), strict=True))
    assert starts[0] == 9 * 60
    assert starts[1] > 10 * 60  # moved by the travel time


def test_team_gets_one_common_start() -> None:
    p = problem(
        [{"availability": [[at("09:00"), at("11:00")]]}, {"availability": [[at("10:00"), at("12:00")]]}],
        [{"volunteers_needed": 2, "window_start": at("09:00"), "window_end": at("12:00")}],
    )
    c, sol = greedy(p)
    assert len(sol) == 2 and set(sol.start.tolist()) == {600}


def test_pledged_minutes_and_daily_limit() -> None:
    tasks = [{"window_start": at("09:00"), "window_end": at("17:00")} for _ in range(3)]
    c, sol = greedy(problem([{"max_minutes": 120}], tasks))
    assert len(sol) == 2
    c, sol = greedy(problem([{"max_tasks_per_day": 1}], tasks))
    assert len(sol) == 1


def test_pins_first_collisions_keep_the_first() -> None:
    # both tasks pin v1 at the same hour: t1 keeps it, t2 drops it; a pin that
    # lacks the skills is dropped as such; v2 covers t2 instead
    p = problem(
        [{}, {"skills": []}],
        [{"pinned": ["v1"]}, {"pinned": ["v1"]}, {"service": "medical", "pinned": ["v2"]}],
    )
    c, sol = greedy(p)
    assert violations(c, sol) == []
    kept = {(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(sol.task, sol.volunteer, strict=True)}
    assert ("t1", "v1") in kept
    dropped = {(c.task_ids[t], c.volunteer_ids[v], rule) for t, v, rule in sol.conflicts}
    assert dropped == {("t2", "v1", "double_booking"), ("t3", "v2", "skills")}


def test_pinned_team_completed_with_a_mate() -> None:
    p = problem([{}, {}], [{"volunteers_needed": 2, "pinned": ["v2"]}])
    c, sol = greedy(p)
    assert violations(c, sol) == []
    assert sorted(sol.volunteer.tolist()) == [0, 1] and not sol.conflicts


def test_pinned_team_without_mates_loses_its_pin() -> None:
    p = problem([{}], [{"volunteers_needed": 2, "pinned": ["v1"]}])
    c, sol = greedy(p)
    assert violations(c, sol) == []
    assert len(sol) == 0 and sol.conflicts == ((0, 0, "whole_teams"),)


def test_fill_extends_a_partial_solution() -> None:
    p = problem([{}, {}], [{}, {"recipient": "r2"}, {"service": "medical"}])
    c = compile_problem(p)
    cands = build_candidates(c)
    partial = Solution.build([0], [1], [9 * 60])
    full = fill(c, cands, partial)
    assert violations(c, full) == []
    assert (0, 1, 540) in set(zip(full.task.tolist(), full.volunteer.tolist(), full.start.tolist(), strict=True))
    # two volunteers, three tasks in one hour: two are covered, whatever the start
    assert full.covered(c.n_tasks).sum() == 2


def test_greedy_does_not_mutate_inputs() -> None:
    p = problem([{}], [{}])
    before = copy.deepcopy(p.model_dump())
    greedy(p)
    assert p.model_dump() == before


# ------------------------------------------------------- maximal schedules


def _same(a: Solution, b: Solution) -> bool:
    return (
        all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("task", "volunteer", "start"))
        and a.conflicts == b.conflicts
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=8, max_recipients=3))
def test_fill_from_a_known_maximal_schedule_is_the_plain_fill(p: Problem) -> None:
    """fill() of a schedule that differs from a recorded maximal one tries only
    the tasks the difference can open; the result is the full fill's."""
    from assign.solvers import greedy as g

    c = compile_problem(p)
    cands = build_candidates(c)
    g._MAXIMAL.clear()
    ref = solve_greedy(c, cands)  # recorded as maximal
    assert fill(c, cands, ref) is ref
    # drop every other covered task (whole teams), pinned ones kept
    tasks = np.unique(ref.task)
    drop = tasks[::2]
    pinned = np.diff(c.t_pin_ptr) > 0
    drop = drop[~pinned[drop]]
    keep = ~np.isin(ref.task, drop)
    part = Solution.build(ref.task[keep], ref.volunteer[keep], ref.start[keep], list(ref.conflicts))
    fast = fill(c, cands, part)
    g._MAXIMAL.clear()
    plain = fill(c, cands, part)
    assert _same(fast, plain)
    assert violations(c, fast) == []


def test_changed_rows_skip_what_cannot_open() -> None:
    """A task no volunteer could take in the maximal schedule, whose volunteers
    lost nothing, is not tried again; one whose volunteer lost a visit is,
    with that volunteer's row."""
    from assign.solvers.greedy import Planner, _changed_rows

    # one volunteer for 9:00-10:00, three one-hour tasks in that hour, and a
    # second volunteer without time for them
    p = problem(
        [{"availability": [[at("09:00"), at("10:00")]]}, {"availability": [[at("09:00"), at("09:30")]]}],
        [{}, {}, {"recipient": "r2"}],
    )
    c = compile_problem(p)
    cands = build_candidates(c)
    ref = solve_greedy(c, cands)
    assert len(ref) == 1
    rows, todo = _changed_rows(c, cands, Planner(c), ref, ref)
    assert not todo.any() and len(rows) == 0
    empty = Solution.build([], [], [])
    rows, todo = _changed_rows(c, cands, Planner(c), empty, ref)
    assert todo.all()
    assert set(rows.volunteer.tolist()) == {int(ref.volunteer[0])}


def test_pinned_start_is_the_greedy_before_its_main_pass() -> None:
    from assign.solvers.greedy import pinned_start

    p = problem([{}, {}], [{"pinned": ["v1"]}, {"pinned": ["v1"]}, {}])
    c = compile_problem(p)
    cands = build_candidates(c)
    pins = pinned_start(c, cands)
    sol = solve_greedy(c, cands)
    assert pins.conflicts == sol.conflicts
    kept = set(zip(pins.task.tolist(), pins.volunteer.tolist(), pins.start.tolist(), strict=True))
    assert kept and kept <= set(zip(sol.task.tolist(), sol.volunteer.tolist(), sol.start.tolist(), strict=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_planner_travel_is_the_rule_pair_for_pair(p: Problem) -> None:
    """The planner's table-based travel (used by the sieve and the cache) gives
    exactly :func:`rules.travel_between_recipients`, for every ordered pair of
    recipients (same homes included) and at synthetic far-apart coordinates."""
    from assign import rules
    from assign.solvers.greedy import Planner

    c = compile_problem(p)
    n = c.n_recipients
    ra, rb = (x.ravel().astype(np.int64) for x in np.meshgrid(np.arange(n), np.arange(n)))
    assert np.array_equal(Planner(c)._travel_array(ra, rb), rules.travel_between_recipients(c, ra, rb))
    rng = np.random.default_rng(n)
    far = dataclasses.replace(c, r_lat=rng.uniform(-89.0, 89.0, n), r_lon=rng.uniform(-180.0, 180.0, n))
    assert np.array_equal(Planner(far)._travel_array(ra, rb), rules.travel_between_recipients(far, ra, rb))


# ---------------------------------------------------------------- split passes


def three_counties(seed: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Compiled, Any, Any]:
    """A generated three-county problem (pins, teams, travel), its candidates
    and a two-worker split by its components, small problems allowed to split."""
    from assign.solvers import auto, greedy
    from assign.synth import generate, load_scenario
    from tests.test_synth import _small

    c = compile_problem(generate(load_scenario(_small(tmp_path)), seed))
    cands = build_candidates(c)
    t_label, _, _ = auto.components(c, cands)
    monkeypatch.setattr(greedy, "SPLIT_MIN_TASKS", 0)
    monkeypatch.setattr(greedy, "SPLIT_MIN_SHARE", 0.05)
    return c, cands, greedy.Split(t_label, 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_split_main_pass_gives_the_same_schedule(seed: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The greedy and the fill with their main passes shared out by components
    between the process and a forked child give the schedule of one pass (a
    generated three-county problem: pins, teams, travel)."""
    from assign.solvers import greedy

    c, cands, split = three_counties(seed, tmp_path, monkeypatch)
    assert 0.5 <= greedy.split_share(c, cands, split) < 0.95  # the pairs shared out
    one = greedy.solve_greedy(c, cands)
    two = greedy.solve_greedy(c, cands, split=split)
    assert len(one) > 100
    _assert_same(one, two)
    # a fill from a thinned schedule (every other one-volunteer visit dropped)
    single = c.t_needed[one.task] == 1
    keep = ~single | (np.arange(len(one)) % 2 == 0)
    thin = Solution.build(one.task[keep], one.volunteer[keep], one.start[keep], list(one.conflicts))
    _assert_same(greedy.fill(c, cands, thin), greedy.fill(c, cands, thin, split))


def test_the_greedy_strategy_shares_its_passes_out_with_two_workers(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Strategy greedy with two workers shares its main passes out by
    components (as auto's greedy does) and returns the schedule of one
    worker; with one worker nothing is shared out."""
    from assign.solvers import get_strategy, greedy

    c, cands, _ = three_counties(0, tmp_path, monkeypatch)
    shared: list[bool] = []
    real = greedy.split_halves

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        shared.append(out is not None)
        return out

    monkeypatch.setattr(greedy, "split_halves", spy)
    run = get_strategy("greedy")
    one, _ = run(c, cands, None, 0, 1)
    assert shared == []
    two, _ = run(c, cands, None, 0, 2)
    assert shared and shared[0]
    _assert_same(one, two)


def _assert_same(a: Solution, b: Solution) -> None:
    for name in ("task", "volunteer", "start"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.conflicts == b.conflicts


def test_split_share_of_two_towns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two towns: each side of the split gets one, and the schedule is the same."""
    from assign.solvers import auto, greedy
    from tests.test_auto import _two_towns

    c = compile_problem(_two_towns(n_vol=6, n_task=14))
    cands = build_candidates(c)
    t_label, _, _ = auto.components(c, cands)
    monkeypatch.setattr(greedy, "SPLIT_MIN_TASKS", 0)
    split = greedy.Split(t_label, 2)
    share = greedy.split_share(c, cands, split)
    assert 0.5 <= share < 1.0
    assert greedy.split_share(c, cands, greedy.Split(t_label, 1)) == 1.0
    _assert_same(greedy.solve_greedy(c, cands), greedy.solve_greedy(c, cands, split=split))
