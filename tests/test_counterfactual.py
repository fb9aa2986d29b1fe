"""Counterfactuals: one hand-made problem per kind of change (availability in its
four shapes, radius, pledge, a team), the limits of the search, and on random
problems every reported change confirmed independently: applied to the
pydantic problem, with the visit added to the schedule, through ``assign.check``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assign
from assign.compile import compile_problem
from assign.counterfactual import (
    PLEDGE,
    Counterfactual,
    CounterfactualReport,
    Fix,
    _missing_pieces,
    _Option,
    availability_lower_bound,
    confirm,
    counterfactuals,
    urgent_tiers,
)
from assign.model import Assignment, Problem, Schedule
from assign.solution import solution_from_schedule

from .strategies import problems
from .test_greedy import at, problem


def explained(p: Problem, **options: Any) -> tuple[CounterfactualReport, Schedule]:
    schedule = assign.solve(p)
    c = compile_problem(p)
    return counterfactuals(c, solution_from_schedule(c, schedule), **options), schedule


def only(report: CounterfactualReport, task: str = "t1") -> Counterfactual:
    items = {item.task: item for item in report.items}
    assert task in items, report
    return items[task]


def apply(p: Problem, schedule: Schedule, task: str, fix: Fix) -> tuple[Problem, Schedule]:
    """The fix applied to the problem model, and its visit added to the schedule."""
    change = fix.change
    volunteers = []
    for v in p.volunteers:
        if v.id == change.volunteer:
            if change.kind == "availability":
                assert change.free_from and change.free_to
                window = (datetime.fromisoformat(change.free_from), datetime.fromisoformat(change.free_to))
                v = v.model_copy(update={"availability": (*v.availability, window)})
            elif change.kind == "radius":
                v = v.model_copy(update={"max_travel_km": change.radius_to_km})
            else:
                v = v.model_copy(update={"max_minutes": change.pledge_to})
        volunteers.append(v)
    start = datetime.fromisoformat(fix.start)
    duration = next(t.duration_min for t in p.tasks if t.id == task)
    added = tuple(
        Assignment(task=task, volunteer=v, start=start, end=start + timedelta(minutes=duration)) for v in fix.team
    )
    return (
        p.model_copy(update={"volunteers": tuple(volunteers)}),
        schedule.model_copy(update={"assignments": schedule.assignments + added}),
    )


def assert_confirmed(p: Problem, schedule: Schedule, item: Counterfactual) -> None:
    before = {a.task for a in schedule.assignments}
    for fix in item.options:
        changed, extended = apply(p, schedule, item.task, fix)
        verdict = assign.check(changed, extended)
        assert verdict.valid, (fix, [str(v) for v in verdict.violations])
        assert {a.task for a in extended.assignments} == before | {item.task}
        assert fix.team[0] == fix.change.volunteer


# ---------------------------------------------------------------- availability


def test_availability_earlier_start() -> None:
    p = problem([{"availability": [[at("10:00"), at("18:00")]]}],
                [{"service": "medical", "window_end": at("10:30")}])
    report, schedule = explained(p)
    item = only(report)
    fix = item.best
    assert fix.change.kind == "availability" and fix.change.amount == 30
    assert fix.change.how == "earlier_start" and fix.minimal
    assert fix.change.free_from == at("09:30") and fix.change.free_to == at("10:00")
    assert "free from 09:30 instead of 10:00" in fix.change.describe()
    assert_confirmed(p, schedule, item)


def test_availability_later_end() -> None:
    p = problem([{"availability": [[at("08:00"), at("09:30")]]}], [{"service": "medical"}])
    report, schedule = explained(p)
    fix = only(report).best
    assert (fix.change.kind, fix.change.amount, fix.change.how) == ("availability", 30, "later_end")
    assert "free until 10:00 instead of 09:30" in fix.change.describe()
    assert_confirmed(p, schedule, only(report))


def test_availability_bridges_a_gap() -> None:
    p = problem([{"availability": [[at("08:00"), at("09:20")], [at("09:40"), at("18:00")]]}],
                [{"service": "medical"}])
    report, schedule = explained(p)
    fix = only(report).best
    assert (fix.change.amount, fix.change.how) == (20, "bridge")
    assert_confirmed(p, schedule, only(report))


def test_availability_new_interval() -> None:
    p = problem([{"availability": [[at("14:00"), at("18:00")]]}], [{"service": "medical"}])
    report, schedule = explained(p)
    fix = only(report).best
    assert (fix.change.amount, fix.change.how) == (60, "new")
    assert_confirmed(p, schedule, only(report))


def test_availability_takes_the_smallest_change() -> None:
    vols = [{"availability": [[at("14:00"), at("18:00")]]}, {"availability": [[at("09:15"), at("18:00")]]}]
    report, schedule = explained(problem(vols, [{"service": "medical"}]))
    fix = only(report).best
    assert (fix.change.volunteer, fix.change.amount, fix.minimal) == ("v2", 15, True)


def test_availability_respects_the_bookings() -> None:
    # v1 is free 08:00-09:30 and busy 08:00-09:00 with a medical visit: the
    # companionship visit (window 08:00-10:00) fits 09:00-10:00 with 30 more minutes
    p = problem(
        [{"availability": [[at("08:00"), at("09:30")]]}],
        [{"window_start": at("08:00"), "window_end": at("10:00")},
         {"service": "medical", "window_start": at("08:00"), "window_end": at("09:00")}],
    )
    report, schedule = explained(p, tiers=(1, 4))
    item = only(report)
    assert (item.best.change.amount, item.best.start) == (30, at("09:00"))
    assert_confirmed(p, schedule, item)


def test_an_explicit_pledge_that_is_used_up_blocks_an_availability_change() -> None:
    # the only volunteer would need more free time AND more pledged minutes:
    # two changes, so nothing is reported for the availability kind
    p = problem(
        [{"availability": [[at("08:00"), at("09:00")]], "max_minutes": 60}],
        [{"service": "medical", "window_start": at("08:00"), "window_end": at("09:00")},
         {"service": "disability_care", "window_start": at("09:00")}],
    )
    report, _ = explained(p)
    assert report.targets == 1 and report.items == ()


# ---------------------------------------------------------------- radius, pledge


def test_radius_widening() -> None:
    # the recipient is 0.14 km away (detour included), the personal radius 0.1 km
    p = problem([{"max_travel_km": 0.1}], [{"service": "medical"}])
    report, schedule = explained(p)
    fix = only(report).best
    assert fix.change.kind == "radius" and fix.minimal
    assert (fix.change.radius_from_km, fix.change.radius_to_km) == (0.1, 0.2)
    assert abs(fix.change.amount - 0.1) < 1e-9
    assert fix.change.effort == 2  # 2 x ceil(60 * 0.1 / 12)
    assert_confirmed(p, schedule, only(report))


def test_no_radius_beyond_the_policy() -> None:
    # ~8.6 km away with a 5 km policy radius: widening is a policy change, not proposed
    p = problem([{"lat": 33.10, "lon": 108.25}], [{"service": "medical"}])
    report, _ = explained(p)
    assert report.targets == 1 and report.items == ()


def test_pledge_more_minutes() -> None:
    tasks = [{"service": "medical"}, {"service": "disability_care", "window_start": at("14:00"), "window_end": at("15:00")}]
    p = problem([{"max_minutes": 60}], tasks)
    report, schedule = explained(p)
    item = only(report, "t2")
    fix = item.best
    assert fix.change.kind == "pledge" and fix.change.amount == 60
    assert (fix.change.pledge_from, fix.change.pledge_to) == (60, 120)
    assert "pledges 60 more min" in fix.change.describe()
    assert_confirmed(p, schedule, item)


def test_team_task_with_a_changed_member() -> None:
    # a two-person task: v1 can join as things stand, v2 needs 60 more minutes
    p = problem([{}, {"availability": [[at("10:00"), at("18:00")]]}],
                [{"service": "disability_care", "volunteers_needed": 2}])
    report, schedule = explained(p)
    item = only(report)
    assert item.best.change.volunteer == "v2" and item.best.team == ("v2", "v1")
    assert_confirmed(p, schedule, item)


def test_best_of_each_kind_ranked_by_effort() -> None:
    # v1 is out of radius by 0.04 km; v2 needs 30 more minutes of free time
    vols: list[dict[str, Any]] = [{"max_travel_km": 0.1}, {"availability": [[at("09:30"), at("18:00")]]}]
    report, schedule = explained(problem(vols, [{"service": "medical"}]))
    item = only(report)
    assert [fix.change.kind for fix in item.options] == ["radius", "availability"]
    assert_confirmed(problem(vols, [{"service": "medical"}]), schedule, item)


# ---------------------------------------------------------------- scope and limits


def test_only_the_two_most_urgent_tiers_present() -> None:
    vols = [{"availability": [[at("14:00"), at("18:00")]]}]
    tasks = [{"service": "medical"}, {"service": "meals", "recipient": "r2"}, {"window_start": at("11:00"), "window_end": at("12:00")}]
    p = problem(vols, tasks)
    c = compile_problem(p)
    assert urgent_tiers(c) == (1, 3)
    report, _ = explained(p)
    assert report.tiers == (1, 3) and report.targets == 2
    assert {item.task for item in report.items} == {"t1", "t2"}


def test_per_volunteer_cap_names_the_next_best() -> None:
    # two needs, both best fixed by v2 (+15 min); with a cap of 1 the second
    # need names v1 (+60 min), not marked minimal
    vols = [{"availability": [[at("14:00"), at("18:00")]]}, {"availability": [[at("09:15"), at("18:00")]]}]
    tasks = [{"service": "medical"}, {"service": "medical", "recipient": "r2"}]
    report, _ = explained(problem(vols, tasks), per_volunteer=1)
    best = {item.task: item.best for item in report.items}
    assert best["t2"].change.volunteer == "v2"  # r2's need is heavier: searched first
    assert best["t1"].change.volunteer == "v1" and not best["t1"].minimal


def test_the_validator_refuses_a_wrong_change() -> None:
    p = problem([{"max_minutes": 60}], [{"service": "medical"}, {"service": "disability_care", "window_start": at("14:00"), "window_end": at("15:00")}])
    c = compile_problem(p)
    sol = solution_from_schedule(c, assign.solve(p))
    too_little = _Option(task=1, kind=PLEDGE, volunteer=0, amount=30, effort=30, start=14 * 60, team=[0],
                         minimal=True, extra_minutes=30)
    enough = _Option(task=1, kind=PLEDGE, volunteer=0, amount=60, effort=60, start=14 * 60, team=[0],
                     minimal=True, extra_minutes=60)
    assert confirm(c, sol, [too_little, enough]) == [False, True]


def test_time_limit_zero_stops_the_search() -> None:
    report, _ = explained(problem([{"availability": [[at("14:00"), at("18:00")]]}], [{"service": "medical"}]),
                          time_limit=0.0)
    assert not report.complete and report.examined == 0 and report.items == ()


def test_to_dict() -> None:
    report, _ = explained(problem([{"max_minutes": 0}], [{"service": "medical"}]))
    out = report.to_dict()
    assert out["with_fix"] == 1 and out["items"][0]["best"]["kind"] == "pledge"
    assert out["items"][0]["best"]["team"] == ["v1"]


# ---------------------------------------------------------------- properties


def tightened(p: Problem, seed: int) -> Problem:
    """``p`` with smaller personal radii and pledges on some volunteers, so that
    radius and pledge changes come up as well as availability ones."""
    rng = np.random.default_rng(seed)
    volunteers = []
    for v in p.volunteers:
        update: dict[str, Any] = {}
        if rng.random() < 0.5:
            update["max_travel_km"] = float(rng.choice([0.3, 0.6, 1.0]))
        if rng.random() < 0.5:
            update["max_minutes"] = int(rng.choice([0, 30, 60]))
        volunteers.append(v.model_copy(update=update))
    return p.model_copy(update={"volunteers": tuple(volunteers)})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=6, max_recipients=3), st.integers(0, 2**16), st.booleans())
def test_every_reported_change_is_confirmed_independently(p: Problem, seed: int, tighten: bool) -> None:
    if tighten:
        p = tightened(p, seed)
    schedule = assign.solve(p)
    c = compile_problem(p)
    report = counterfactuals(c, solution_from_schedule(c, schedule), per_volunteer=None)
    tiers = set(urgent_tiers(c))
    assert report.complete and report.rejected >= 0
    for item in report.items:
        assert item.tier in tiers
        assert [fix.change.effort for fix in item.options] == sorted(fix.change.effort for fix in item.options)
        assert len({fix.change.kind for fix in item.options}) == len(item.options)
        assert_confirmed(p, schedule, item)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=4, max_recipients=2))
def test_availability_bound_is_a_lower_bound(p: Problem) -> None:
    # the vectorized bound never exceeds the fewest minutes found by trying every
    # start; it is 0 exactly for free volunteers
    c = compile_problem(p)
    t = np.repeat(np.arange(c.n_tasks), c.n_volunteers)
    v = np.tile(np.arange(c.n_volunteers), c.n_tasks)
    if len(t) == 0:
        return
    bound = availability_lower_bound(c, t, v)
    from assign import rules

    assert np.array_equal(bound == 0, rules.free(c, t, v))
    for tt, vv, b in zip(t.tolist(), v.tolist(), bound.tolist(), strict=True):
        intervals = list(zip(c.av_start[c.av_ptr[vv] : c.av_ptr[vv + 1]].tolist(),
                             c.av_end[c.av_ptr[vv] : c.av_ptr[vv + 1]].tolist(), strict=True))
        dur = int(c.t_duration[tt])
        best = None
        for s in range(int(c.t_window_start[tt]), int(c.t_window_end[tt]) - dur + 1):
            pieces = _missing_pieces(intervals, s, s + dur)
            if len(pieces) <= 1:
                n = pieces[0][1] - pieces[0][0] if pieces else 0
                best = n if best is None else min(best, n)
        if best is not None:
            assert b <= best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=6, max_recipients=3))
def test_availability_bound_with_bookings_is_a_lower_bound(p: Problem) -> None:
    # the bound over the free slots between bookings (travel kept) never exceeds
    # the fewest minutes found by trying every start clear of the bookings
    from assign.candidates import build_candidates
    from assign.counterfactual import _free_slots, planner_of
    from assign.solvers.greedy import solve_greedy

    c = compile_problem(p)
    sol = solve_greedy(c, build_candidates(c))
    plan = planner_of(c, sol)
    t = np.repeat(np.arange(c.n_tasks), c.n_volunteers)
    v = np.tile(np.arange(c.n_volunteers), c.n_tasks)
    if len(t) == 0:
        return
    slots, edges = _free_slots(plan)
    bound = availability_lower_bound(c, t, v, slots, edges)
    for tt, vv, b in zip(t.tolist(), v.tolist(), bound.tolist(), strict=True):
        intervals = list(zip(c.av_start[c.av_ptr[vv] : c.av_ptr[vv + 1]].tolist(),
                             c.av_end[c.av_ptr[vv] : c.av_ptr[vv + 1]].tolist(), strict=True))
        dur = int(c.t_duration[tt])
        lo, hi = int(c.t_window_start[tt]), int(c.t_window_end[tt]) - dur
        best = None
        for a, z in plan.clear_ranges(vv, tt, [[lo, hi]], every_booking=True):
            for s in range(a, z + 1):
                pieces = _missing_pieces(intervals, s, s + dur)
                if len(pieces) <= 1:
                    n = pieces[0][1] - pieces[0][0] if pieces else 0
                    best = n if best is None else min(best, n)
        if best is not None:
            assert b <= best, (tt, vv, b, best)
