"""Tests of the knapsack bound (assign/solvers/lagrange.py): never above any
valid schedule's U of the tier (brute force), never above the LP of its own
relaxation (an independent scipy model), known values by hand, and auto
reporting it where nothing else bounds a tier."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from assign.candidates import build_candidates
from assign.compile import Compiled, compile_problem
from assign.model import Problem
from assign.solvers import auto
from assign.solvers.lagrange import KnapsackBound
from tests.bruteforce import _uncovered_key, brute_force, valid_choices
from tests.strategies import problems
from tests.test_weeks import dense_problems, pinned_problems

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _tier_alone(problem: Problem, c: Compiled, tier: int) -> Problem:
    """The problem with the tasks of ``tier`` only and no pins: its optimum's
    U of that tier is the least of every valid schedule of the whole problem
    (those schedules' visits of the tier are valid here)."""
    keep = [t.model_copy(update={"pinned": ()}) for i, t in enumerate(problem.tasks) if int(c.t_tier[i]) == tier]
    return problem.model_copy(update={"tasks": keep})


def _bounds(c: Compiled, steps: int = 200) -> list[int]:
    cands = build_candidates(c)
    return [KnapsackBound(c, cands, c.t_tier == j).run(steps).get(0, 0) for j in range(1, c.n_tiers + 1)]


@SETTINGS
@given(problem=st.one_of(problems(max_volunteers=4, max_tasks=5), dense_problems(max_tasks=5)))
def test_never_above_the_least_u_of_the_tier(problem: Problem) -> None:
    """For every tier, after 1 and 200 steps: with the surely kept pins
    forced, at most the least U of that tier over every valid schedule (the
    brute force's enumeration, rule 12 read strictly) and at most the
    lexicographic optimum's under either reading of rule 12; without them,
    at most the least U of the tier's tasks alone, pins dropped."""
    c = compile_problem(problem)
    best = brute_force(c, honour_pins=True).key
    lenient = brute_force(c, honour_pins=True, reading="lenient").key
    every = valid_choices(c, honour_pins=True)
    cands = build_candidates(c)
    for j in range(1, c.n_tiers + 1):
        mine = c.t_tier == j
        forced = KnapsackBound(c, cands, mine)
        free = KnapsackBound(c, cands, mine, pins=False)
        got = [kb.run(n).get(0) for kb in (forced, free) for n in (1, 200)]
        if not mine.any():
            assert got == [None] * 4
            continue
        # (a schedule valid under the lenient reading only counts too)
        least = min(min(_uncovered_key(c, choice)[j - 1] for choice in every), lenient[j - 1])
        alone = compile_problem(_tier_alone(problem, c, j))
        least_alone = brute_force(alone).key[j - 1]
        assert least_alone <= least <= best[j - 1]
        for value in got[:2]:
            assert value is not None and value <= least, (j, got, least, best, lenient)
        for value in got[2:]:
            assert value is not None and value <= least_alone, (j, got, least_alone)
        g = int(np.gcd.reduce(np.abs(c.t_weight[mine])))
        for value in got:
            assert (value - int(c.t_weight[mine].sum())) % g == 0


@SETTINGS
@given(problem=pinned_problems())
def test_forced_pins_never_above_the_least_u_of_any_valid_schedule(problem: Problem) -> None:
    """With many pins, for every tier after 200 steps: the bound with the
    surely kept pins forced is at most the least U of that tier over every
    valid schedule, under either reading of rule 12 (the strict one's every
    schedule, the lenient one's optimum)."""
    c = compile_problem(problem)
    every = valid_choices(c, honour_pins=True)
    lenient = brute_force(c, honour_pins=True, reading="lenient").key
    cands = build_candidates(c)
    for j in range(1, c.n_tiers + 1):
        mine = c.t_tier == j
        if not mine.any():
            continue
        least = min(min(_uncovered_key(c, choice)[j - 1] for choice in every), lenient[j - 1])
        value = KnapsackBound(c, cands, mine).run(200).get(0)
        assert value is not None and value <= least, (j, value, least)


def _relaxation_lp(c: Compiled, tier: int) -> float:
    """The LP of the knapsack relaxation, written independently from the
    module's docstring: max sum w y, sum_v x_tv = n_t y_t, 0 <= x, y <= 1, per
    volunteer the block, day and pledge rows over durations; returns its
    optimum (a covered weight)."""
    cands = build_candidates(c)
    t_all = cands.task.astype(int)
    v_all = cands.volunteer.astype(int)
    w = c.t_weight.astype(float)
    # tasks worth covering with enough candidates for their team
    counts = np.bincount(t_all, minlength=c.n_tasks)
    tasks = [t for t in range(c.n_tasks) if c.t_tier[t] == tier and w[t] > 0 and counts[t] >= c.t_needed[t]]
    pairs = [(t, v) for t, v in zip(t_all, v_all, strict=True) if t in tasks]
    n, m = len(pairs), len(tasks)
    col = {t: n + i for i, t in enumerate(tasks)}
    a_eq = np.zeros((m, n + m))
    for i, (t, _v) in enumerate(pairs):
        a_eq[tasks.index(t), i] = 1.0
    for t in tasks:
        a_eq[tasks.index(t), col[t]] = -float(c.t_needed[t])
    rows: list[np.ndarray] = []
    caps: list[float] = []

    def day(minute: int) -> int:
        return int(np.searchsorted(c.day_starts, minute, side="right")) - 1

    for v in range(len(c.v_max_minutes)):
        mine = [i for i, (_t, u) in enumerate(pairs) if u == v]
        blocks = list(zip(c.av_start[c.av_ptr[v] : c.av_ptr[v + 1]], c.av_end[c.av_ptr[v] : c.av_ptr[v + 1]], strict=True))
        where: dict[int, tuple[int, int, int] | None] = {}
        for i in mine:
            t = pairs[i][0]
            d, ws, we = int(c.t_duration[t]), int(c.t_window_start[t]), int(c.t_window_end[t])
            fits = [(a, b) for a, b in blocks if max(ws, a) + d <= min(we, b)]
            where[i] = (max(ws, fits[0][0]), min(we, fits[0][1]), int(fits[0][0])) if len(fits) == 1 else None
        # block rows: the span of the placements of the visits that fit one block only
        for a, _b in blocks:
            inside = [i for i in mine if where[i] is not None and where[i][2] == a]  # type: ignore[index]
            if inside:
                lo = min(where[i][0] for i in inside)  # type: ignore[index]
                hi = max(where[i][1] for i in inside)  # type: ignore[index]
                row = np.zeros(n + m)
                for i in inside:
                    row[i] = c.t_duration[pairs[i][0]]
                rows.append(row)
                caps.append(float(hi - lo))
        # day rows: visits whose start falls on one day, unless their block crosses midnight
        limit = int(c.v_max_per_day[v])
        if limit < 1 << 30:
            by_day: dict[int, list[int]] = {}
            for i in mine:
                t = pairs[i][0]
                d = int(c.t_duration[t])
                if where[i] is not None:
                    lo, hi, a = where[i]  # type: ignore[misc]
                    b = [e for s, e in blocks if s == a][0]
                    if day(a) != day(b - 1):
                        continue
                    first, last = day(lo), day(hi - d)
                else:
                    first, last = day(int(c.t_window_start[t])), day(int(c.t_window_end[t]) - d)
                if first == last:
                    by_day.setdefault(first, []).append(i)
            for members in by_day.values():
                row = np.zeros(n + m)
                for i in members:
                    row[i] = c.t_duration[pairs[i][0]]
                rows.append(row)
                caps.append(float(limit * max(c.t_duration[pairs[i][0]] for i in members)))
        if mine:
            row = np.zeros(n + m)
            for i in mine:
                row[i] = c.t_duration[pairs[i][0]]
            rows.append(row)
            caps.append(float(c.v_max_minutes[v]))
    if n + m == 0:
        return 0.0
    cost = np.zeros(n + m)
    for t in tasks:
        cost[col[t]] = -w[t]
    res = linprog(
        cost,
        A_ub=np.array(rows) if rows else None,
        b_ub=np.array(caps) if caps else None,
        A_eq=a_eq if m else None,
        b_eq=np.zeros(m) if m else None,
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return -float(res.fun)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=st.one_of(problems(max_volunteers=4, max_tasks=5), dense_problems(max_tasks=5)))
def test_never_above_its_lp_and_near_it_after_many_steps(problem: Problem) -> None:
    """Any multipliers give at most the relaxation's LP (weak duality: the
    module's L is computed right), and 2,000 steps come near it (pins not
    forced: the LP here has none)."""
    c = compile_problem(problem)
    cands = build_candidates(c)
    for j in range(1, c.n_tiers + 1):
        if not np.any(c.t_tier == j):
            continue
        cover = _relaxation_lp(c, j)
        weights = c.t_weight[c.t_tier == j].astype(int)
        g = int(np.gcd.reduce(np.abs(weights[weights != 0]))) if np.any(weights != 0) else 1
        # what any multipliers give at best: the LP's cover rounded down to the gcd
        at_most = int(weights.sum()) - g * int(np.floor(cover / g + 1e-9))
        got = KnapsackBound(c, cands, c.t_tier == j, pins=False).run(2000).get(0)
        assert got is not None and got <= at_most, (j, got, at_most, cover)
        # and near it: within 0.5 % of the weight or one gcd
        assert got >= at_most - max(g, 0.005 * float(np.abs(weights).sum())), (j, got, at_most, cover)


def _one_volunteer(
    *, duration: int = 30, blocks: list[tuple[int, int]] | None = None, window: tuple[int, int] = (480, 1200),
    max_minutes: int | None = None, max_tasks_per_day: int | None = None,
) -> Problem:
    """One volunteer, three visits at one home (no travel) in ``window``, of
    weights 16, 14 and 10 (recipient groups), tier 4."""
    from tests.test_weeks import _line_problem

    return _line_problem(
        blocks or [(480, 1200)], [window] * 3, duration=duration,
        groups=[["disabled_dementia"], ["solitary"], []],
        max_tasks_per_day=max_tasks_per_day, max_minutes=max_minutes,
    )


def test_pledge_by_hand() -> None:
    """A 60-minute pledge, three 30-minute visits of weight 16, 14, 10: the
    best covers 16 + 14, so U >= 10 (the greedy by worth per minute)."""
    c = compile_problem(_one_volunteer(max_minutes=60))
    assert c.t_weight.tolist() == [16, 14, 10]
    assert _bounds(c)[3] == 10


def test_block_span_by_hand() -> None:
    """Three 60-minute visits in one 2-hour availability: at most two fit,
    U >= the lightest (10)."""
    c = compile_problem(_one_volunteer(duration=60, blocks=[(480, 600)], window=(480, 600)))
    assert _bounds(c)[3] == 10


def test_daily_limit_by_hand() -> None:
    """One visit a day, three visits that can only start on day 0: U >= 14 + 10."""
    c = compile_problem(_one_volunteer(window=(540, 720), max_tasks_per_day=1))
    assert _bounds(c)[3] == 24


def test_a_surely_kept_pin_takes_its_volunteers_room() -> None:
    """A 60-minute pledge, three 30-minute visits of weight 16, 14, 10 (tier
    4) and a 30-minute visit of tier 1 pinned to the volunteer, which every
    valid schedule keeps: tier 4 gets 30 minutes, one visit, so U4 >= 14 +
    10 (the brute force's optimum); with the pin not forced, U4 >= 10. The
    pinned task is covered in every schedule: U1 >= 0, and its weight never
    counts."""
    base = _one_volunteer(max_minutes=60)
    pinned = base.tasks[0].model_copy(update={"id": "tp", "tier": 1, "pinned": ("v0",)})
    problem = base.model_copy(update={"tasks": [*base.tasks, pinned]})
    c = compile_problem(problem)
    cands = build_candidates(c)
    assert c.t_weight.tolist() == [16, 14, 10, 16]
    optimum = brute_force(c, honour_pins=True).key
    assert optimum[:4] == (0, 0, 0, 24)
    four = c.t_tier == 4
    assert KnapsackBound(c, cands, four).run(200).get(0) == 24
    assert KnapsackBound(c, cands, four, pins=False).run(200).get(0) == 10
    assert KnapsackBound(c, cands, c.t_tier == 1).run(200).get(0) == 0


def test_a_surely_kept_pin_takes_a_visit_of_its_day() -> None:
    """Two visits a day, three visits of tier 4 (16, 14, 10) and a pinned one
    of tier 1 that can only start on day 0: tier 4 gets one visit, U4 >= 14 +
    10 (the brute force's optimum); with the pin not forced, U4 >= 10."""
    base = _one_volunteer(window=(540, 720), max_tasks_per_day=2)
    pinned = base.tasks[0].model_copy(update={"id": "tp", "tier": 1, "pinned": ("v0",)})
    c = compile_problem(base.model_copy(update={"tasks": [*base.tasks, pinned]}))
    cands = build_candidates(c)
    assert brute_force(c, honour_pins=True).key[:4] == (0, 0, 0, 24)
    four = c.t_tier == 4
    assert KnapsackBound(c, cands, four).run(200).get(0) == 24
    assert KnapsackBound(c, cands, four, pins=False).run(200).get(0) == 10


def test_capped_candidates_are_refused() -> None:
    """A subset of the candidates, or the nearest k only (some eligible pairs
    missing: a team of two with one candidate left would count as impossible),
    gives no bound."""
    c = compile_problem(_one_volunteer())
    cands = build_candidates(c).subset(np.arange(2))
    assert cands.partial
    with pytest.raises(ValueError, match="every eligible pair"):
        KnapsackBound(c, cands, c.t_tier == 4)
    capped = build_candidates(c, k=1)
    assert not capped.partial and not capped.complete
    with pytest.raises(ValueError, match="every eligible pair"):
        KnapsackBound(c, capped, c.t_tier == 4)


def _knapsack_only(patch: pytest.MonkeyPatch) -> None:
    """auto with no exact stage, no LP and no week bound."""
    patch.setattr(auto, "SMALL_PAIRS", 0)
    patch.setattr(auto, "EXACT_PAIRS", 0)
    patch.setattr(auto, "FIXED_PAIRS", 0)
    patch.setattr(auto, "WEEK_MAX_PAIRS", 0)
    patch.setattr(auto.Relaxation, "tier_bound", lambda *a, **k: None)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5), workers=st.sampled_from([1, 2]))
def test_auto_with_knapsack_bounds_only(problem: Problem, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """auto's bounds from the knapsack bounds alone (in the process with one
    worker, from a forked child with two) never exceed the brute-force optimum."""
    from tests.test_auto import _check

    with monkeypatch.context() as patch:
        _knapsack_only(patch)
        _check(problem, workers=workers, max_work=0.2)


@pytest.mark.parametrize("workers", [1, 2])
def test_auto_reports_the_knapsack_bound(workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where nothing else bounds a tier, auto reports the knapsack bound: the
    pledge example above is proven (U4 = 10 = bound), not left at the trivial 0."""
    c = compile_problem(_one_volunteer(max_minutes=60))
    cands = build_candidates(c)
    with monkeypatch.context() as patch:
        _knapsack_only(patch)
        result = auto.solve_auto_detailed(c, cands, 10.0, 0, workers, max_work=0.2)
    assert result.key[3] == 10
    assert result.bound is not None and result.bound.uncovered[3] == 10
    assert "knapsack bounds" in [name for name, _ in result.log]


def _greedy_takes_the_limit(patch: pytest.MonkeyPatch) -> None:
    """auto as at province scale: the greedy pass's estimate exceeds the
    whole limit (ankang at 60 s), so the knapsack bounds start beside it."""
    patch.setattr(auto, "GREEDY_PASS_RATE", 1e3)


def test_posted_bounds_grow_and_end_at_the_result() -> None:
    """``run(post=...)`` posts the bounds so far between steps: each post
    at least the one before (the smallest Lagrangian only falls), the last
    one the result (the same steps), and a run without posts gives it too."""
    c = compile_problem(_one_volunteer(max_minutes=60))
    cands = build_candidates(c)
    mask = c.t_tier == 4
    posts: list[dict[int, int]] = []
    got = KnapsackBound(c, cands, mask).run(50, post=posts.append, post_every=0.0)
    assert posts and posts[-1] == got == KnapsackBound(c, cands, mask).run(50)
    values = [p[0] for p in posts]
    assert values == sorted(values)


def test_a_stopped_knapsack_child_gives_its_last_post() -> None:
    """:func:`auto._take_posted`: a child that is not done in time is
    stopped, and the last bounds it posted are taken; one that is done
    gives its result; one that posted nothing and is not done gives None."""
    import time

    def posting(post):  # type: ignore[no-untyped-def]
        post({(0, 1): 5.0})
        post({(0, 1): 7.0})
        time.sleep(60.0)
        return {(0, 1): 9.0}

    wait = auto._forked(posting, dict, dict, 0, partial=True)
    assert wait is not None
    time.sleep(0.5)
    assert auto._take_posted(wait, 0.5) == {(0, 1): 7.0}
    done = auto._forked(lambda post: {(0, 1): 9.0}, dict, dict, 0, partial=True)
    assert auto._take_posted(done, 30.0) == {(0, 1): 9.0}
    silent = auto._forked(lambda post: time.sleep(60.0), dict, dict, 0, partial=True)
    assert auto._take_posted(silent, 0.2) is None


def test_the_knapsack_bounds_start_beside_a_greedy_that_takes_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the greedy pass alone takes the limit, two workers start every
    tier's knapsack bound before it (in a child) and report it: the pledge
    example is proven (U4 = 10 = bound) although the knapsack bounds after
    the LP phase, the only ones before, find nothing left to bound."""
    c = compile_problem(_one_volunteer(max_minutes=60))
    cands = build_candidates(c)
    started: list[list[int]] = []
    real = auto._knapsack_bounds

    def spy(c, cands, jobs, t_label, until, budget):  # type: ignore[no-untyped-def]
        started.append([tier for tier, *_ in jobs])
        return real(c, cands, jobs, t_label, until, budget)

    with monkeypatch.context() as patch:
        _knapsack_only(patch)
        _greedy_takes_the_limit(patch)
        patch.setattr(auto, "_knapsack_jobs", lambda *a, **k: [])
        patch.setattr(auto, "_knapsack_bounds", spy)
        result = auto.solve_auto_detailed(c, cands, 10.0, 0, 2, max_work=0.2)
    assert started == [[4]]
    assert result.key[3] == 10
    assert result.bound is not None and result.bound.uncovered[3] == 10
    names = [name for name, _ in result.log]
    assert names.index("greedy") < names.index("knapsack bounds")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5))
def test_knapsack_bounds_beside_the_greedy_stay_below_the_optimum(problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    """The knapsack child started beside the greedy (every tier, before the
    schedule is known) never reports a bound above the brute-force optimum."""
    from tests.test_auto import _check

    with monkeypatch.context() as patch:
        _knapsack_only(patch)
        _greedy_takes_the_limit(patch)
        _check(problem, workers=2, max_work=0.2)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_first_block_is_the_one_block_a_visit_fits(data: st.DataObject) -> None:
    """``_first_block`` against a loop: the one joined interval of the visit's
    volunteer where it fits (windows may reach before or after every block)."""
    from types import SimpleNamespace

    from assign.solvers.lagrange import _first_block

    n_vol = data.draw(st.integers(1, 4))
    starts, ends, ptr = [], [], [0]
    for _ in range(n_vol):
        t = 0
        for _ in range(data.draw(st.integers(0, 3))):
            a = t + data.draw(st.integers(1, 60))
            b = a + data.draw(st.integers(1, 90))
            starts.append(a)
            ends.append(b)
            t = b
        ptr.append(len(starts))
    c = SimpleNamespace(av_ptr=np.array(ptr), av_start=np.array(starts, dtype=np.int64), av_end=np.array(ends, dtype=np.int64))
    n = data.draw(st.integers(1, 12))
    v = np.array([data.draw(st.integers(0, n_vol - 1)) for _ in range(n)], dtype=np.int64)
    lo = np.array([data.draw(st.integers(-300, 400)) for _ in range(n)], dtype=np.int64)
    dur = np.array([data.draw(st.integers(1, 60)) for _ in range(n)], dtype=np.int64)
    hi = lo + dur + np.array([data.draw(st.integers(0, 200)) for _ in range(n)], dtype=np.int64)
    got, count = _first_block(c, v, lo, hi, dur)  # type: ignore[arg-type]
    for i in range(n):
        fits = [j for j in range(ptr[v[i]], ptr[v[i] + 1]) if max(lo[i], starts[j]) + dur[i] <= min(hi[i], ends[j])]
        assert got[i] == (fits[0] if len(fits) == 1 else -1), (i, fits, got[i])
        assert count[i] == min(len(fits), 2)


def test_first_block_never_takes_another_volunteers_block() -> None:
    """A window reaching before the horizon must not find the previous
    volunteer's block (its key range): volunteer 1's only block is too short,
    volunteer 0's would fit."""
    from types import SimpleNamespace

    from assign.solvers.lagrange import _first_block

    c = SimpleNamespace(av_ptr=np.array([0, 1, 2]), av_start=np.array([500, 10]), av_end=np.array([590, 20]))
    one = np.array([1], dtype=np.int64)
    got, count = _first_block(c, one, np.array([-200]), np.array([600]), np.array([30]))  # type: ignore[arg-type]
    assert got.tolist() == [-1] and count.tolist() == [0]
