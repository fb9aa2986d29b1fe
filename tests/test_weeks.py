"""Tests of assign/solvers/weeks.py: a tier's lower bound by column generation
over volunteers' weeks.

* validity: every bound (after any number of pricing rounds, with or without
  the limits of the more urgent tiers, stopped early or not) is at most the
  brute-force optimum's ``U_tier`` (pins honoured);
* exactness: the pricing is the exact optimum of the relaxation the module
  docstring defines, recomputed here in plain Python (blocks, sequences with
  travel, pledge, days), and at least what any valid one-volunteer schedule
  collects; the enumeration yields every sequenceable set of every block once
  (within the day's visits in a one-day block) and nothing else; converged,
  the bound is the LP over *all* relaxed weeks;
* limits: too many states (or visits in a set, or a spent deadline) gives no
  bound; ``stop_at`` and ``time_limit`` cut the rounds without losing validity;
  hand-made instances where the week bound beats the pair LP.

Also: no usable pair gives the whole weight; ``MAX_LEVEL`` visits in a set
are allowed, one more is not; a team task fewer volunteers can reach than it
needs counts as uncovered.
"""

from __future__ import annotations

import itertools
import math
import time
from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from assign import rules
from assign.candidates import Candidates, build_candidates
from assign.compile import Compiled, compile_problem
from assign.model import Problem
from assign.solvers import weeks
from assign.solvers.auto import Relaxation
from assign.solvers.weeks import WeekBound, _enumerate
from tests.bruteforce import _Tiny, _uncovered_key, brute_force, valid_choices
from tests.strategies import SERVICES, SKILLS, problems

TZ = timezone(timedelta(hours=8))
ORIGIN = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
DAY = 1440


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


# ------------------------------------------------------------- strategies


@st.composite
def dense_problems(
    draw: st.DrawFn, max_volunteers: int = 4, max_tasks: int = 5, pins: bool = True, long: bool = False
) -> Problem:
    """A small problem where the volunteers' own rules bind: every volunteer
    can serve every recipient (all skills, within radius), availability of
    1-6 hours (sometimes across midnight, sometimes touching intervals that
    join), tasks whose windows fall in the availability, recipients close
    enough for short travel (some at the same home), pledges and daily
    limits, team tasks and pins. ``long``: blocks up to 10 hours (more visits per set)."""
    horizon = 2 * DAY

    def near() -> tuple[float, float]:
        return (33.04 + draw(st.integers(-12, 12)) * 0.001, 108.25 + draw(st.integers(-12, 12)) * 0.001)

    n_vol = draw(st.integers(1, max_volunteers))
    volunteers = []
    spans: list[tuple[int, int]] = []
    for i in range(n_vol):
        lat, lon = near()
        intervals = []
        for _ in range(draw(st.integers(1, 3))):
            s = draw(st.integers(0, horizon // 15 - 4)) * 15
            if draw(st.integers(0, 4)) == 0:  # across midnight
                s = DAY - draw(st.integers(1, 8)) * 15
            e = min(horizon, s + draw(st.integers(4, 40 if long else 24)) * 15)
            intervals.append([s, e])
            if draw(st.integers(0, 4)) == 0 and e < horizon:  # a touching one (joins)
                e2 = min(horizon, e + draw(st.integers(2, 8)) * 15)
                intervals.append([e, e2])
                e = e2
            spans.append((s, e))
        vol: dict = {
            "id": f"v{i}",
            "community": "c0",
            "lat": lat,
            "lon": lon,
            "skills": list(SKILLS),
            "availability": [[_iso(s), _iso(e)] for s, e in intervals],
        }
        if draw(st.booleans()):
            vol["max_minutes"] = draw(st.integers(0, 300))
        if draw(st.integers(0, 2)) == 0:
            vol["max_tasks_per_day"] = draw(st.integers(0, 3))
        volunteers.append(vol)
    vol_ids = [v["id"] for v in volunteers]
    n_rec = draw(st.integers(1, 4))
    homes = [near() for _ in range(draw(st.integers(1, n_rec)))]
    recipients = []
    for i in range(n_rec):
        lat, lon = homes[draw(st.integers(0, len(homes) - 1))]  # some share a home
        recipients.append(
            {
                "id": f"r{i}",
                "community": "c0",
                "lat": lat,
                "lon": lon,
                "groups": draw(st.lists(st.sampled_from(["solitary", "low_income", "left_behind"]), unique=True, max_size=2)),
                "missed_visits": draw(st.integers(0, 2)),
            }
        )
    tasks = []
    prev_end: int | None = None
    for i in range(draw(st.integers(1, max_tasks))):
        duration = draw(st.sampled_from([15, 30, 45, 60, 90]))
        s, e = spans[draw(st.integers(0, len(spans) - 1))]
        ws = max(0, min(horizon - duration, s + draw(st.integers(-2, max(0, (e - s) // 15))) * 15))
        if prev_end is not None and draw(st.integers(0, 2)) == 0:
            # right after the previous window starts and ends: travel decides
            ws = max(0, min(horizon - duration, prev_end + draw(st.sampled_from([0, 0, 5, 15]))))
        prev_end = ws + duration
        we = min(horizon, ws + duration + draw(st.sampled_from([0, 15, 45, 90, 180, 300])))
        task: dict = {
            "id": f"t{i}",
            "recipient": f"r{draw(st.integers(0, n_rec - 1))}",
            "service": draw(st.sampled_from(SERVICES)),
            "tier": draw(st.integers(1, 3)),
            "window_start": _iso(ws),
            "window_end": _iso(we),
            "duration_min": duration,
            "volunteers_needed": draw(st.sampled_from([1, 1, 1, 2])),
        }
        if pins and draw(st.integers(0, 3)) == 0:
            task["pinned"] = draw(st.lists(st.sampled_from(vol_ids), unique=True, min_size=1, max_size=2))
        tasks.append(task)
    raw = {
        "format": "assign/problem@1",
        "name": "dense",
        "horizon": {
            "start": _iso(0), "end": _iso(horizon),
            # other calendars move midnight inside the blocks
            "timezone": draw(st.sampled_from(["Asia/Shanghai", "Asia/Shanghai", "UTC", "Asia/Kolkata"])),
        },
        "policy": {
            "max_travel_km": 8.0,
            "count_travel_in_capacity": draw(st.booleans()),
            "speed_kmh": draw(st.sampled_from([3.0, 6.0, 12.0, 30.0])),
        },
        "communities": [{"id": "c0"}],
        "volunteers": volunteers,
        "recipients": recipients,
        "tasks": tasks,
    }
    return Problem.model_validate(raw)


@st.composite
def pinned_problems(draw: st.DrawFn) -> Problem:
    """A dense problem (:func:`dense_problems`, one or two
    volunteers, mostly with a pledge of 30-180 minutes, half of them with a
    daily limit of one or two visits) whose one-volunteer tasks are pinned
    to one of its volunteers half of the time: surely kept pins whose
    minutes, days and blocks bind."""
    problem = draw(dense_problems(max_volunteers=2, max_tasks=5, pins=False))
    vols = [v.id for v in problem.volunteers]
    # pledges and daily limits that bind
    volunteers = []
    for v in problem.volunteers:
        update: dict[str, int] = {}
        if draw(st.integers(0, 3)):
            update["max_minutes"] = draw(st.integers(2, 12)) * 15
        if draw(st.booleans()):
            update["max_tasks_per_day"] = draw(st.integers(1, 2))
        volunteers.append(v.model_copy(update=update))
    problem = problem.model_copy(update={"volunteers": volunteers})
    tasks = []
    for t in problem.tasks:
        if t.volunteers_needed == 1 and draw(st.booleans()):
            t = t.model_copy(update={"pinned": (draw(st.sampled_from(vols)),)})
        tasks.append(t)
    return problem.model_copy(update={"tasks": tasks})


@st.composite
def opened_problems(draw: st.DrawFn, max_tasks: int = 5) -> Problem:
    """The shared random problems (radius, communities, exclusions, groups,
    pins...) with each volunteer also free around the windows of some tasks
    (and sometimes every skill): the shared strategy alone rarely has a pair."""
    problem = draw(problems(max_volunteers=3, max_tasks=max_tasks))
    end = problem.horizon.end
    vols = []
    for v in problem.volunteers:
        extra = []
        for t in problem.tasks:
            if draw(st.integers(0, 2)):
                before = timedelta(minutes=draw(st.sampled_from([0, 15, 60])))
                after = timedelta(minutes=draw(st.sampled_from([0, 30, 120])))
                extra.append((max(problem.horizon.start, t.window_start - before), min(end, t.window_end + after)))
        update: dict[str, object] = {"availability": tuple(v.availability) + tuple(extra)}
        if draw(st.integers(0, 3)):
            update["skills"] = tuple(SKILLS)
        vols.append(v.model_copy(update=update))
    update = {"volunteers": tuple(vols)}
    if draw(st.booleans()):
        update["policy"] = problem.policy.model_copy(update={"max_travel_km": 8.0})
    return problem.model_copy(update=update)


def any_problem(max_tasks: int = 5) -> st.SearchStrategy[Problem]:
    return st.one_of(opened_problems(max_tasks=max_tasks), dense_problems(max_tasks=max_tasks))


def _compile(problem: Problem) -> tuple[Compiled, Candidates]:
    c = compile_problem(problem)
    return c, build_candidates(c)


# ------------------------------------- the relaxation of the docstring, in plain Python


def _day(c: Compiled, minute: int) -> int:
    return bisect_right([int(x) for x in c.day_starts], minute) - 1


def _travel(c: Compiled, ta: int, tb: int) -> int:
    ra, rb = c.t_recipient[[ta]].astype(np.int64), c.t_recipient[[tb]].astype(np.int64)
    return int(rules.travel_between_recipients(c, ra, rb)[0])


def _blocks(c: Compiled, v: int) -> list[tuple[int, int, int, int]]:
    """(index, start, end, day or -1 across midnight) of each joined interval of ``v``."""
    out = []
    for b in range(int(c.av_ptr[v]), int(c.av_ptr[v + 1])):
        s, e = int(c.av_start[b]), int(c.av_end[b])
        d0, d1 = _day(c, s), _day(c, e - 1)
        out.append((b, s, e, d0 if d0 == d1 else -1))
    return out


def _items(
    c: Compiled, cands: Candidates, mask: np.ndarray, v: int, sure: frozenset[tuple[int, int]] = frozenset()
) -> dict[int, int]:
    """Task -> rule-10 minutes of the usable pairs of ``v`` (in the mask, within
    the pledge); with ``sure`` (surely kept pins, (task, volunteer)): a pinned
    task is its volunteer's alone, in the mask or not."""
    pinned = {t for t, _ in sure}
    out = {}
    for t, x, m in zip(cands.task.tolist(), cands.volunteer.tolist(), cands.load.tolist(), strict=True):
        usable = (t, x) in sure or (mask[t] and t not in pinned)
        if x == v and usable and m <= int(c.v_max_minutes[v]):
            out[t] = m
    return out


def _sure_pins(c: Compiled, cands: Candidates) -> frozenset[tuple[int, int]]:
    """The surely kept pins, (task, volunteer)."""
    from assign.solvers.timeindexed import surely_kept_pins

    sure = surely_kept_pins(c, cands)
    return frozenset(
        (t, int(c.t_pin[p]))
        for t in range(c.n_tasks)
        for p in range(int(c.t_pin_ptr[t]), int(c.t_pin_ptr[t + 1]))
        if sure[p]
    )


def _forced(c: Compiled, cands: Candidates, mask: np.ndarray, v: int, sure: frozenset[tuple[int, int]]) -> set[int]:
    """The tasks of ``v``'s surely kept pins that some set of exactly one of
    its blocks holds: every relaxed week must hold them."""
    items = _items(c, cands, mask, v, sure)
    mine = {t for t, x in sure if x == v and t in items}
    blocks_of: dict[int, int] = {}
    for _, s, e, _ in _blocks(c, v):
        held = set().union(*_block_sets(c, sorted(items), s, e))
        for t in mine & held:
            blocks_of[t] = blocks_of.get(t, 0) + 1
    return {t for t, n in blocks_of.items() if n == 1}


def _block_sets(c: Compiled, tasks: list[int], start: int, end: int) -> set[frozenset[int]]:
    """Every non-empty task set some order of which fits the block: each visit
    at its earliest (window, block, previous visit's end plus travel)."""
    found: set[frozenset[int]] = set()
    seen: set[tuple[frozenset[int], int, int]] = set()

    def go(done: frozenset[int], last: int | None, free_at: int) -> None:
        for t in tasks:
            if t in done:
                continue
            s = max(int(c.t_window_start[t]), start, free_at + (0 if last is None else _travel(c, last, t)))
            e = s + int(c.t_duration[t])
            if e <= min(int(c.t_window_end[t]), end):
                now = done | {t}
                found.add(now)
                if (now, t, e) not in seen:
                    seen.add((now, t, e))
                    go(now, t, e)

    go(frozenset(), None, start)
    return found


def _add_set(
    items: dict[int, int], minutes: int, days: dict[int, int], S: tuple[int, ...], d: int, cap: int, per_day: int
) -> tuple[int, dict[int, int]] | None:
    """A week's minutes and visits per day with the block set ``S`` (block day
    ``d``, -1 across midnight) added; None past the pledge or a day's limit."""
    m = minutes + sum(items[t] for t in S)
    if m > cap:
        return None
    dd = dict(days)
    if d >= 0:
        dd[d] = dd.get(d, 0) + len(S)
        if dd[d] > per_day:
            return None
    return m, dd


def _relaxed_weeks(
    c: Compiled, cands: Candidates, mask: np.ndarray, v: int,
    sure: frozenset[tuple[int, int]] = frozenset(), must: set[int] | None = None,
) -> list[tuple[int, ...]]:
    """Every relaxed week of ``v`` (sorted task tuples, a task repeated when in
    two blocks, the empty week included): one set or none per block, minutes
    within the pledge, visits of one-day blocks within the daily limit; with
    ``sure``, over :func:`_items`' pairs, and only the weeks holding ``must``."""
    items = _items(c, cands, mask, v, sure)
    per_day = int(c.v_max_per_day[v])
    cap = int(c.v_max_minutes[v])
    partial: list[tuple[tuple[int, ...], int, dict[int, int]]] = [((), 0, {})]
    for _, s, e, d in _blocks(c, v):
        options = _block_sets(c, sorted(items), s, e)
        grown = list(partial)
        for tasks, minutes, days in partial:
            for S in options:
                step = _add_set(items, minutes, days, S, d, cap, per_day)
                if step is not None:
                    grown.append((tuple(sorted(tasks + tuple(S))), *step))
        partial = grown
    return sorted({w for w, _, _ in partial if must is None or must <= set(w)})


def _best_week(
    c: Compiled, cands: Candidates, mask: np.ndarray, v: int, pi: np.ndarray,
    sure: frozenset[tuple[int, int]] = frozenset(), must: frozenset[int] = frozenset(),
) -> float:
    """The most ``pi`` one relaxed week of ``v`` collects (a DP over blocks on
    (minutes, visits per day, the ``must`` tasks held): same optimum as
    enumerating the weeks), among the weeks holding ``must``; -inf without one."""
    items = _items(c, cands, mask, v, sure)
    per_day = int(c.v_max_per_day[v])
    cap = int(c.v_max_minutes[v])
    Key = tuple[int, tuple[tuple[int, int], ...], frozenset[int]]
    states: dict[Key, float] = {(0, (), frozenset()): 0.0}
    for _, s, e, d in _blocks(c, v):
        options = _block_sets(c, sorted(items), s, e)
        grown = dict(states)
        for (minutes, days, held), value in states.items():
            for S in options:
                step = _add_set(items, minutes, dict(days), S, d, cap, per_day)
                if step is None:
                    continue
                m, dd = step
                key = (m, tuple(sorted(dd.items())), held | (must & S))
                got = value + math.fsum(float(pi[t]) for t in S)
                if got > grown.get(key, -math.inf):
                    grown[key] = got
        states = grown
    return max((x for (_, _, held), x in states.items() if held == must), default=-math.inf)


def _best_schedule(
    c: Compiled, tiny: _Tiny, mask: np.ndarray, v: int, pi: np.ndarray, sure: frozenset[tuple[int, int]] = frozenset()
) -> float:
    """The most ``pi`` a valid one-volunteer schedule of ``v`` collects (SPEC §4
    rules 3, 5, 9, 10, 11 for ``v`` alone; teams ignored; with ``sure``, its
    surely kept pins held and the other volunteers' left to them), by the
    brute force's exact placement search; -inf when none holds its pins."""
    pinned = {t for t, _ in sure}
    own = {t for t, x in sure if x == v and (t, v) in tiny.allowed}
    tasks = [t for t in range(c.n_tasks) if (t in own or (mask[t] and t not in pinned)) and (t, v) in tiny.allowed]
    best = -math.inf if own else 0.0
    for r in range(1, len(tasks) + 1):
        for subset in itertools.combinations(tasks, r):
            if not own <= set(subset):
                continue
            if sum(tiny.load[(t, v)] for t in subset) > int(c.v_max_minutes[v]):
                continue
            choice = tuple((v,) if t in subset else None for t in range(c.n_tasks))
            if tiny.place(choice) is not None:
                best = max(best, math.fsum(float(pi[t]) for t in subset))
    return best


def _rounded(x: float, g: int) -> float:
    return float(max(0.0, math.ceil((x - 1e-6) / g) * g))


def _week_lp(
    c: Compiled, cands: Candidates, mask: np.ndarray, tier: int, limits: dict[int, float]
) -> tuple[float, int]:
    """The LP the column generation converges to, with *every* relaxed week as
    a column: min ``W_k - sum_{tier k} w y`` over ``y`` in [0, 1] and
    ``lam >= 0`` with ``team_t y_t <= sum lam [t in week]`` (with multiplicity;
    ``y_t = 0`` when fewer volunteers than ``team_t`` have a week with ``t``),
    ``sum lam <= 1`` per volunteer and ``sum_{tier j} w y >= W_j - limits[j]``;
    the weeks over the pairs the surely kept pins leave (:func:`_items`),
    each holding its volunteer's forced pins (:func:`_forced`).
    Returns its value and the gcd of the tier's weights."""
    sure = _sure_pins(c, cands)
    T = [t for t in range(c.n_tasks) if mask[t] and (int(c.t_tier[t]) == tier or int(c.t_tier[t]) in limits)]
    pos = {t: i for i, t in enumerate(T)}
    n_t = len(T)
    w = np.array([float(c.t_weight[t]) for t in T])
    mine = np.array([int(c.t_tier[t]) == tier for t in T])
    cols: list[tuple[int, tuple[int, ...]]] = []
    for v in range(c.n_volunteers):
        for week in _relaxed_weeks(c, cands, mask, v, sure, _forced(c, cands, mask, v, sure)):
            rows = tuple(t for t in week if t in pos)
            if rows:
                cols.append((v, rows))
    n = n_t + len(cols)
    cost = np.zeros(n)
    cost[:n_t] = -np.where(mine, w, 0.0)
    r_i: list[int] = []
    c_i: list[int] = []
    val: list[float] = []
    b: list[float] = []
    for i, t in enumerate(T):  # team y - sum lam <= 0
        r_i.append(i)
        c_i.append(i)
        val.append(float(c.t_needed[t]))
        b.append(0.0)
    for k, (_, rows) in enumerate(cols):
        for t in rows:
            r_i.append(pos[t])
            c_i.append(n_t + k)
            val.append(-1.0)
    row = n_t
    for v in range(c.n_volunteers):  # convexity
        ks = [k for k, (x, _) in enumerate(cols) if x == v]
        if ks:
            for k in ks:
                r_i.append(row)
                c_i.append(n_t + k)
                val.append(1.0)
            b.append(1.0)
            row += 1
    for j, lim in limits.items():  # -sum_{tier j} w y <= lim - W_j
        js = [i for i, t in enumerate(T) if int(c.t_tier[t]) == j]
        if not js:
            continue
        for i in js:
            r_i.append(row)
            c_i.append(i)
            val.append(-w[i])
        b.append(float(lim) - float(w[js].sum()))
        row += 1
    a = sparse.csr_matrix((val, (r_i, c_i)), shape=(row, n))
    # a task fewer volunteers have a week with than its team needs stays uncovered
    reach = {t: len({x for x, rows in cols if t in rows}) for t in T}
    bounds = [(0.0, 1.0 if reach[t] >= int(c.t_needed[t]) else 0.0) for t in T] + [(0.0, None)] * len(cols)
    res = linprog(cost, A_ub=a, b_ub=np.array(b), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    g = int(np.gcd.reduce([int(c.t_weight[t]) for t in T if int(c.t_tier[t]) == tier]))
    return float(w[mine].sum()) + float(res.fun), g


# ------------------------------------------------------------------ 1. validity


@_settings(400)
@given(problem=any_problem())
def test_bounds_never_beat_the_brute_force_optimum(problem: Problem) -> None:
    """For every tier j, after 1, 2 or all pricing rounds, the bound is at most
    the optimum's U_j (pins honoured), a multiple of the gcd of the tier's
    weights, and grows with the rounds; with the tasks of tiers <= j and the
    optimum's U_i (i < j) as limits, with tier j's tasks alone and no limits,
    and with every task in the mask (the less urgent ones priced at 0)."""
    c, cands = _compile(problem)
    best = brute_force(c, honour_pins=True).key
    every = np.ones(c.n_tasks, dtype=bool)
    for j in range(1, c.n_tiers + 1):
        above = {i: float(best[i - 1]) for i in range(1, j)}
        for mask, limits in ((c.t_tier <= j, above), (c.t_tier == j, {}), (every, above)):
            wb = WeekBound(c, cands, mask)
            assert wb.ok
            event(f"forced pins: {'some' if wb.forced else 'none'}")
            got = [wb.tier_bound(j, limits, None, max_iterations=n) for n in (1, 2, 400)]
            assert got == sorted(got), got  # later rounds keep the best multipliers
            weights = c.t_weight[mask & (c.t_tier == j)]
            for value in got:
                assert value is not None and 0.0 <= value <= best[j - 1], (j, limits, value, best)
                if len(weights):
                    assert value % int(np.gcd.reduce(weights)) == 0
                else:
                    assert value == 0.0
            if len(weights):
                assert wb.iterations >= 3


@_settings(200)
@given(problem=pinned_problems())
def test_forced_pins_never_raise_a_bound_above_any_valid_schedule(problem: Problem) -> None:
    """On pin-heavy problems, for every tier alone: the week bound and the
    pair LP's bound, both with the surely kept pins forced, are at most the
    least U of the tier over every valid schedule — the brute force's
    enumeration under the strict reading of rule 12, and the lenient
    reading's optimum."""
    c, cands = _compile(problem)
    every = valid_choices(c, honour_pins=True)
    lenient = brute_force(c, honour_pins=True, reading="lenient").key
    for j in range(1, c.n_tiers + 1):
        mine = c.t_tier == j
        if not mine.any():
            continue
        least = min(min(_uncovered_key(c, choice)[j - 1] for choice in every), lenient[j - 1])
        wb = WeekBound(c, cands, mine)
        event(f"forced pins: {'some' if len(wb.forced) else 'none'}")
        week = wb.tier_bound(j, {}, None)
        assert week is not None and week <= least, (j, week, least)
        pair_lp = Relaxation(c, cands, mine, fairness=False).tier_bound(j, {}, None)
        assert pair_lp is not None and pair_lp <= least, (j, pair_lp, least)


def _prefix_cases(
    c: Compiled, cands: Candidates, best: tuple[float, ...]
) -> Iterator[tuple[int, np.ndarray, dict[int, float], WeekBound]]:
    """Per tier j with a usable pair: tiers <= j, the optimum's U_i (i < j) as
    limits, and the WeekBound of those tasks."""
    for j in range(1, c.n_tiers + 1):
        mask = c.t_tier <= j
        if np.any(mask & (c.t_tier == j)) and _any_usable(c, cands, mask):
            yield j, mask, {i: float(best[i - 1]) for i in range(1, j)}, WeekBound(c, cands, mask)


def _any_usable(c: Compiled, cands: Candidates, mask: np.ndarray) -> bool:
    t, v = cands.task.astype(np.int64), cands.volunteer.astype(np.int64)
    return bool(np.any(mask[t] & (cands.load.astype(np.int64) <= c.v_max_minutes[v])))


@_settings(250)
@given(problem=dense_problems(max_tasks=5, pins=False))
def test_converged_bound_is_the_lp_over_all_weeks(problem: Problem) -> None:
    """Run to convergence, the bound is the (rounded) LP over every relaxed
    week, built here from an independent enumeration; and it is valid."""
    c, cands = _compile(problem)
    best = brute_force(c).key
    for j, mask, limits, wb in _prefix_cases(c, cands, best):
        assert wb.ok
        got = wb.tier_bound(j, limits, None)
        lp, g = _week_lp(c, cands, mask, j, limits)
        assert got == _rounded(lp, g), (j, got, lp)
        assert got <= best[j - 1]


@_settings(200)
@given(problem=any_problem(), data=st.data())
def test_start_columns_steer_but_never_raise_the_bound(problem: Problem, data: st.DataObject) -> None:
    """``start`` columns only seed the master: the optimum's weeks (valid
    weeks, so relaxed ones) leave the converged bound as it is without them,
    and arbitrary columns (any tasks for any volunteer: no week at all) still
    give a bound at most the optimum (pins honoured), after any number of rounds."""
    c, cands = _compile(problem)
    result = brute_force(c, honour_pins=True)
    best, sol = result.key, result.solution
    mine = weeks.schedule_weeks(sol.task.astype(np.int64), sol.volunteer.astype(np.int64))
    assert sorted((x, t) for x, ts in mine for t in ts.tolist()) == sorted(
        zip(sol.volunteer.tolist(), sol.task.tolist(), strict=True)
    )
    junk = [
        (data.draw(st.integers(0, c.n_volunteers - 1)),
         np.array(data.draw(st.lists(st.integers(0, c.n_tasks - 1), max_size=4)), dtype=np.int64))
        for _ in range(data.draw(st.integers(0, 4)) if c.n_volunteers and c.n_tasks else 0)
    ]
    rounds = data.draw(st.sampled_from([1, 2, 400]))
    for j in range(1, c.n_tiers + 1):
        mask = c.t_tier <= j
        limits = {i: float(best[i - 1]) for i in range(1, j)}
        plain = WeekBound(c, cands, mask).tier_bound(j, limits, None)
        seeded = WeekBound(c, cands, mask)
        assert seeded.tier_bound(j, limits, None, start=mine) == plain, j
        lp = seeded._lp
        if lp is not None and mine and np.any(mask[sol.task]):
            assert len(lp.col_rows) > 0  # (the start columns are in the master)
        wild = WeekBound(c, cands, mask).tier_bound(j, limits, None, max_iterations=rounds, start=junk + mine)
        assert wild is not None and wild <= best[j - 1], (j, wild, best)


# ------------------------------------------------------------------ 2. pricing


@_settings(250)
@given(problem=dense_problems(max_tasks=7, long=True), data=st.data())
def test_pricing_is_the_exact_relaxed_week(problem: Problem, data: st.DataObject) -> None:
    """Per volunteer, ``price`` is the exact optimum of the relaxation (plain
    Python), at least the best valid one-volunteer schedule (up to 5 tasks: the
    brute force's limit), and its week is a relaxed week (one sequenceable set
    per block, pledge, days) collecting exactly that value."""
    c, cands = _compile(problem)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=c.n_tasks, max_size=c.n_tasks)), dtype=bool)
    if data.draw(st.booleans()):
        mask[:] = True
    wb = WeekBound(c, cands, mask)
    if not wb.ok:
        assert not _any_usable(c, cands, mask)
        return
    sure = _sure_pins(c, cands)
    must = {v: frozenset(_forced(c, cands, mask, v, sure)) for v in range(c.n_volunteers)}
    assert wb.forced == sorted((t, v) for v in must for t in must[v])
    event(f"forced pins: {len(wb.forced)}")
    tiny = _Tiny(c) if c.n_tasks <= 5 else None  # the brute force's size limit
    price = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0, 14.0]), st.floats(0.0, 40.0))
    for _ in range(3):
        pi = np.array(data.draw(st.lists(price, min_size=c.n_tasks, max_size=c.n_tasks)))
        values, week_tasks = wb.price(pi)
        assert len(values) == len(week_tasks) == len(wb.vols)
        by_vol = dict(zip(wb.vols.tolist(), values.tolist(), strict=True))
        for v in range(c.n_volunteers):
            expected = _best_week(c, cands, mask, v, pi, sure, must[v])
            got = by_vol.get(v, 0.0)  # a volunteer without any set collects nothing
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), (v, got, expected)
            if tiny is not None:
                assert got >= _best_schedule(c, tiny, mask, v, pi, sure) - 1e-9
        for v, value, week in zip(wb.vols.tolist(), values.tolist(), week_tasks, strict=True):
            items = _items(c, cands, mask, v, sure)
            assert all(int(t) in items for t in week)
            assert math.fsum(float(pi[t]) for t in week) == pytest.approx(value, rel=1e-9, abs=1e-9)
            assert sum(items[int(t)] for t in week) <= int(c.v_max_minutes[v])
            assert tuple(sorted(int(t) for t in week)) in set(_relaxed_weeks(c, cands, mask, v, sure, set(must[v])))
        # the rows skipped (a dive's fixed volunteers) get nothing, the others the same
        skip = {i for i in range(len(wb.vols)) if data.draw(st.booleans())}
        s_values, s_weeks = wb.price(pi, skip=skip)
        for i in range(len(wb.vols)):
            if i in skip:
                assert s_values[i] == 0.0 and len(s_weeks[i]) == 0
            else:
                assert s_values[i] == values[i] and np.array_equal(s_weeks[i], week_tasks[i])


def test_pricing_respects_pledge_and_days_by_hand() -> None:
    """One volunteer, two one-day blocks on day 0 and one on day 1, one task
    per block: daily limit 1 keeps one visit of day 0; the pledge keeps two
    visits in all."""
    c, cands = _compile(_line_problem(
        [(540, 660), (780, 900), (DAY + 540, DAY + 660)],
        [(540, 600), (780, 840), (DAY + 540, DAY + 600)],
        max_tasks_per_day=1, max_minutes=120,
    ))
    wb = WeekBound(c, cands, np.ones(c.n_tasks, dtype=bool))
    assert wb.ok and wb.vols.tolist() == [0]
    values, week = wb.price(np.array([5.0, 7.0, 6.0]))
    assert values.tolist() == [13.0]  # t1 (day 0, the better one) + t2 (day 1)
    assert sorted(week[0].tolist()) == [1, 2]
    values, week = wb.price(np.array([5.0, 7.0, 0.0]))
    assert values.tolist() == [7.0]
    assert week[0].tolist() == [1]


# ---------------------------------------------------------------- 3. enumeration


@_settings(250)
@given(problem=dense_problems(max_tasks=8, pins=False, long=True), data=st.data())
def test_enumeration_is_complete_and_exact(problem: Problem, data: st.DataObject) -> None:
    """``_enumerate`` gives, for every block, each task set that some order fits
    into the block exactly once (in a block inside one day, of at most the
    owner's visits per day), and no other; minutes, sizes, groups, owners
    and days as documented."""
    c, cands = _compile(problem)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=c.n_tasks, max_size=c.n_tasks)), dtype=bool)
    if data.draw(st.booleans()):
        mask[:] = True
    t = cands.task.astype(np.int64)
    v = cands.volunteer.astype(np.int64)
    load = cands.load.astype(np.int64)
    keep = mask[t] & (load <= c.v_max_minutes[v])
    t, v, load = t[keep], v[keep], load[keep]
    if not len(t):
        return
    # the level's sort as built, by three keys (the packed key does not fit),
    # or with hashes that mostly collide (sets of one hash interleave)
    sort = data.draw(st.sampled_from(["packed", "three keys", "colliding hashes"]))
    with pytest.MonkeyPatch.context() as mp:
        if sort == "three keys":
            mp.setattr(weeks, "PACK_LOW_BITS", 0)
        elif sort == "colliding hashes":
            real = weeks._hash_rows
            mp.setattr(weeks, "_hash_rows", lambda rows: real(rows) & np.uint64(1) << np.uint64(63))
        got = _enumerate(c, t, v, load, weeks.MAX_STATES)
    assert got is not None
    sets, owner, day, used = got
    n_blocks = len(c.av_start)
    assert owner.tolist() == np.repeat(np.arange(c.n_volunteers), np.diff(c.av_ptr)).tolist()
    expected: dict[int, set[frozenset[int]]] = {}
    for x in range(c.n_volunteers):
        items = _items(c, cands, mask, x)
        for b, s, e, d in _blocks(c, x):
            assert int(day[b]) == d
            found = _block_sets(c, sorted(items), s, e)
            if d >= 0:  # a block inside one day: at most the day's visits (rule 11)
                found = {f for f in found if len(f) <= int(c.v_max_per_day[x])}
            if found:
                expected[b] = found
    assert used.tolist() == sorted(expected)
    listed: dict[int, list[frozenset[int]]] = {}
    n = len(sets.size)
    assert len(sets.ptr) == n + 1 and len(sets.block) == len(sets.minutes) == n
    for k in range(n):
        tasks = sets.task[sets.ptr[k] : sets.ptr[k + 1]].tolist()
        b = int(sets.block[k])
        x = int(owner[b])
        assert len(tasks) == len(set(tasks)) == int(sets.size[k])
        items = _items(c, cands, mask, x)
        assert int(sets.minutes[k]) == sum(items[q] for q in tasks)
        listed.setdefault(b, []).append(frozenset(tasks))
    for b, found in listed.items():
        assert len(found) == len(set(found)), f"block {b}: a set listed twice"
    assert {b: set(f) for b, f in listed.items()} == expected
    # sorted by (block, minutes, size); groups start where the triple changes
    triple = list(zip(sets.block.tolist(), sets.minutes.tolist(), sets.size.tolist(), strict=True))
    assert triple == sorted(triple)
    starts = [k for k in range(n) if k == 0 or triple[k] != triple[k - 1]]
    assert sets.gstart.tolist() == starts
    assert list(zip(sets.gblock.tolist(), sets.gminutes.tolist(), sets.gsize.tolist(), strict=True)) == [
        triple[k] for k in starts
    ]
    assert n_blocks == len(day)
    # the cheap forecast bounds the two-visit sets from above
    forecast = weeks.block_pairs(c, cands, mask)
    assert forecast is not None and forecast >= int(np.sum(sets.size == 2))


def test_block_pairs_forecast(monkeypatch: pytest.MonkeyPatch) -> None:
    """``block_pairs``: sum over blocks of n (n - 1) / 2 for n visits that fit
    the block; None beyond ``MAX_STATES`` (pair, interval) rows."""
    # 4 visits fit the first block, 2 the second (the others' windows miss it)
    c, cands = _compile(_line_problem(
        [(480, 720), (DAY + 480, DAY + 720)],
        [(480, 720), (480, 720), (480, DAY + 720), (480, DAY + 720)], duration=30,
    ))
    mask = np.ones(c.n_tasks, dtype=bool)
    assert weeks.block_pairs(c, cands, mask) == 4 * 3 // 2 + 2 * 1 // 2
    assert weeks.block_pairs(c, cands, np.zeros(c.n_tasks, dtype=bool)) == 0
    monkeypatch.setattr(weeks, "MAX_STATES", 7)  # 4 pairs x 2 intervals = 8 rows
    assert weeks.block_pairs(c, cands, mask) is None


# ---------------------------------------------------------------- 4. the state limit


def _line_problem(
    blocks: list[tuple[int, int]],
    windows: list[tuple[int, int]],
    *,
    duration: int = 60,
    step_deg: float = 0.0,
    groups: list[list[str]] | None = None,
    max_tasks_per_day: int | None = None,
    max_minutes: int | None = None,
) -> Problem:
    """One volunteer with the availability ``blocks``; task ``i`` at recipient
    ``i``, ``step_deg`` degrees of latitude apart along a line, in window ``i``."""
    vol: dict = {
        "id": "v0", "community": "c0", "lat": 33.04, "lon": 108.25, "skills": list(SKILLS),
        "availability": [[_iso(s), _iso(e)] for s, e in blocks],
    }
    if max_tasks_per_day is not None:
        vol["max_tasks_per_day"] = max_tasks_per_day
    if max_minutes is not None:
        vol["max_minutes"] = max_minutes
    n = len(windows)
    recipients = [
        {"id": f"r{i}", "community": "c0", "lat": 33.04 + step_deg * (i - (n - 1) / 2), "lon": 108.25,
         "groups": (groups[i] if groups else [])}
        for i in range(n)
    ]
    tasks = [
        {"id": f"t{i}", "recipient": f"r{i}", "service": "companionship", "window_start": _iso(ws),
         "window_end": _iso(we), "duration_min": duration}
        for i, (ws, we) in enumerate(windows)
    ]
    return Problem.model_validate({
        "format": "assign/problem@1", "name": "line",
        "horizon": {"start": _iso(0), "end": _iso(2 * DAY)},
        "policy": {"max_travel_km": 10.0},
        "communities": [{"id": "c0"}], "volunteers": [vol], "recipients": recipients, "tasks": tasks,
    })


def test_too_many_states_gives_no_bound() -> None:
    """Four visits that can follow one another in any order: with a state
    budget of one the enumeration gives up, ``ok`` is False and
    ``tier_bound`` is None; with the default it succeeds."""
    c, cands = _compile(_line_problem([(480, 1080)], [(480, 1080)] * 4, duration=30))
    mask = np.ones(c.n_tasks, dtype=bool)
    for tiny in (1, 4, 10):
        wb = WeekBound(c, cands, mask, max_states=tiny)
        assert not wb.ok
        assert wb.tier_bound(4, {}, None) is None
        assert wb.tier_bound(4, {}, None, max_iterations=1, stop_at=0.0) is None
    wb = WeekBound(c, cands, mask)
    assert wb.ok
    assert wb.n_states == 2**4 - 1  # every non-empty subset of the four, once
    assert wb.tier_bound(4, {}, None) == 0.0
    t = cands.task.astype(np.int64)
    assert _enumerate(c, t, cands.volunteer.astype(np.int64), cands.load.astype(np.int64), 3) is None


def test_the_state_budget_counts_what_is_held_at_once() -> None:
    """The budget bounds the rows the enumeration holds at one time (the sets
    kept, a level's (set, last) states, their extensions), not all it ever
    made: four visits in any order hold at most 74 (the second level: 10
    sets kept, 12 states, 48 extensions) though 132 rows are made in all.
    Counting them all refused Shiquan's single communities."""
    c, cands = _compile(_line_problem([(480, 1080)], [(480, 1080)] * 4, duration=30))
    mask = np.ones(c.n_tasks, dtype=bool)
    assert not WeekBound(c, cands, mask, max_states=73).ok
    wb = WeekBound(c, cands, mask, max_states=74)
    assert wb.ok and wb.n_states == 2**4 - 1


def test_too_many_visits_in_one_set_gives_no_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A level of ``MAX_LEVEL`` visits stops the enumeration (no bound)."""
    c, cands = _compile(_line_problem([(480, 1080)], [(480, 1080)] * 4, duration=30))
    mask = np.ones(c.n_tasks, dtype=bool)
    monkeypatch.setattr(weeks, "MAX_LEVEL", 3)
    wb = WeekBound(c, cands, mask)
    assert not wb.ok and wb.tier_bound(4, {}, None) is None


def test_past_deadline_gives_no_bound() -> None:
    """An enumeration not done by its deadline gives no bound; a far one does."""
    c, cands = _compile(_line_problem([(480, 1080)], [(480, 1080)] * 3, duration=30))
    mask = np.ones(c.n_tasks, dtype=bool)
    late = WeekBound(c, cands, mask, deadline=time.perf_counter() - 1.0)
    assert not late.ok and late.tier_bound(4, {}, None) is None
    assert WeekBound(c, cands, mask, deadline=time.perf_counter() + 600.0).ok


def test_max_level_visits_in_a_set_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three visits fit the block, none more: with ``MAX_LEVEL = 3`` no set has
    *more* than ``MAX_LEVEL`` visits, so the enumeration should succeed."""
    c, cands = _compile(_line_problem([(480, 1080)], [(480, 1080)] * 3, duration=30))
    monkeypatch.setattr(weeks, "MAX_LEVEL", 3)
    wb = WeekBound(c, cands, np.ones(c.n_tasks, dtype=bool))
    assert wb.ok and wb.n_states == 7


def test_no_usable_pair_gives_the_whole_weight() -> None:
    """Nobody can do the tasks (the volunteer is free on the wrong day): every
    schedule leaves the whole tier uncovered, and the docstring reserves
    ``ok = False`` for an enumeration that was too big."""
    c, cands = _compile(_line_problem([(DAY + 480, DAY + 600)], [(480, 600), (480, 600)]))
    assert len(cands) == 0
    wb = WeekBound(c, cands, np.ones(c.n_tasks, dtype=bool))
    assert wb.ok
    assert wb.tier_bound(4, {}, None) == float(c.t_weight.sum())


# ------------------------------------------------------ 5. stronger than the pair LP


@pytest.mark.parametrize(("block", "pair_lp"), [(180, 3.0), (170, 5.0)])
def test_week_bound_beats_the_pair_lp(block: int, pair_lp: float) -> None:
    """One volunteer free from 9:00 for ``block`` minutes, three 60-minute
    visits in that window at homes 10 and 20 minutes apart (weights 10, 13,
    14): two visits fit, never three, so the week bound is the exact 10.

    * 180 minutes: only travel prevents the third visit. The pair LP's energy
      row ``sum (60 + g) x <= 180 + g`` (g = 10) covers the two heavy visits
      and 50/70 of the third: 10 * 20/70 = 2.86, rounded up to 3. (Before
      stop 45 a group whose durations alone fit its span got no row: 0.)
    * 170 minutes: its energy row ``sum (60 + g) x <= 170 + g`` (g = 10, the
      shortest travel) still covers the two heavy visits and 40/70 of the
      third: 10 * 30/70 = 4.29, rounded up to 5."""
    p = _line_problem(
        [(540, 540 + block)], [(540, 540 + block)] * 3, step_deg=0.0138,
        groups=[[], ["low_income"], ["solitary"]],
    )
    c, cands = _compile(p)
    assert c.t_weight.tolist() == [10, 13, 14]
    travel = [_travel(c, a, b) for a, b in itertools.combinations(range(3), 2)]
    assert travel == [10, 20, 10], travel
    mask = np.ones(c.n_tasks, dtype=bool)
    assert brute_force(c).key[3] == 10
    pair = Relaxation(c, cands, mask, fairness=False).tier_bound(4, {}, None)
    assert pair == pair_lp
    wb = WeekBound(c, cands, mask)
    assert wb.ok
    assert wb.tier_bound(4, {}, None) == 10.0
    assert wb.tier_bound(4, {}, None, max_iterations=1) == 10.0  # w / team: the first prices suffice
    # the relaxed week: any one or two of the three in the block, never all three
    sets = {frozenset(wb.sets.task[wb.sets.ptr[k] : wb.sets.ptr[k + 1]].tolist()) for k in range(len(wb.sets.size))}
    assert sets == {frozenset(s) for r in (1, 2) for s in itertools.combinations(range(3), r)}
    values, week = wb.price(np.array([10.0, 13.0, 14.0]))
    assert values.tolist() == [27.0]
    assert sorted(week[0].tolist()) == [1, 2]


# ------------------------------------------------------------------ 6. stop_at


@_settings(150)
@given(problem=any_problem())
def test_stop_at(problem: Problem) -> None:
    """``stop_at`` the value reached returns that value (no larger than the
    brute force); ``stop_at`` 0 stops after the first round, as
    ``max_iterations=1`` and a zero time limit do; a ``stop_at`` above the
    value changes nothing."""
    c, cands = _compile(problem)
    best = brute_force(c, honour_pins=True).key
    for j, _mask, limits, wb in _prefix_cases(c, cands, best):
        value = wb.tier_bound(j, limits, None)
        assert value is not None
        assert wb.tier_bound(j, limits, None, stop_at=value) == value <= best[j - 1]
        assert wb.tier_bound(j, limits, None, stop_at=value + 1000.0) == value
        first = wb.tier_bound(j, limits, None, max_iterations=1)
        assert wb.tier_bound(j, limits, None, stop_at=0.0) == first
        assert wb.tier_bound(j, limits, 0.0) == first  # a spent time limit: one round
        before = wb.iterations
        wb.tier_bound(j, limits, None, stop_at=0.0)
        assert wb.iterations == before + 1


def test_team_without_enough_volunteers_stays_uncovered() -> None:
    """A two-person task that only one volunteer can reach is never covered:
    the bound is its whole weight, not half of it (the Lagrangian alone would
    let one volunteer "cover" half the team)."""
    base = _line_problem([(480, 720)], [(480, 720), (480, 720)], groups=[["solitary"], []]).model_dump(
        mode="json", exclude_none=True
    )
    base["tasks"][0]["volunteers_needed"] = 2
    c, cands = _compile(Problem.model_validate(base))
    wb = WeekBound(c, cands, np.ones(c.n_tasks, dtype=bool))
    assert wb.ok and not wb.staffable[0] and wb.staffable[1]
    assert c.t_weight.tolist() == [14, 10]  # gcd 2: half of 14 would show
    assert wb.tier_bound(4, {}, None) == 14.0 == brute_force(c).key[3]


def test_a_surely_kept_pin_holds_its_volunteer() -> None:
    """One volunteer free 9:00-10:00, pinned to an hour's companionship (tier
    4) then: a medical visit (tier 1) in the same hour cannot be theirs. The
    week bound of tier 1 alone (the pinned task outside its mask) is the
    visit's weight, as the brute force's optimum; without the pins forced
    (before stop 54) it was 0."""
    base = _line_problem([(540, 600)], [(540, 600), (540, 600)]).model_dump(mode="json", exclude_none=True)
    base["tasks"][0]["pinned"] = ["v0"]
    base["tasks"][1]["service"] = "medical"
    c, cands = _compile(Problem.model_validate(base))
    assert c.t_tier.tolist() == [4, 1]
    mask = c.t_tier == 1
    optimum = brute_force(c, honour_pins=True).key
    assert optimum[0] == float(c.t_weight[1]) > 0
    free = WeekBound(c, cands, mask, pins=False)
    assert free.forced == [] and free.tier_bound(1, {}, None) == 0.0
    wb = WeekBound(c, cands, mask)
    assert wb.forced == [(0, 0)]
    assert wb.tier_bound(1, {}, None) == optimum[0]
    values, week = wb.price(np.array([0.0, 5.0]))
    assert values.tolist() == [0.0] and week[0].tolist() == [0]  # the pin, worth nothing, and no room left


# ------------------------------------------------------------------ the dive


@_settings(80)
@given(problem=dense_problems(max_tasks=5))
def test_dive_gives_relaxed_weeks_and_a_valid_schedule(problem: Problem) -> None:
    """After a tier's bound, the dive fixes at most one week per volunteer,
    each one of the volunteer's relaxed weeks (the independent enumeration);
    booked after the greedy's pins and filled, the schedule is valid."""
    from assign.check import violations
    from assign.solvers.greedy import book_weeks, fill, pinned_start

    c, cands = _compile(problem)
    best = brute_force(c).key
    for j, mask, limits, wb in _prefix_cases(c, cands, best):
        if wb.tier_bound(j, limits, None) is None:
            continue
        weeks = wb.dive(time.perf_counter() + 30.0)
        if weeks is None:  # no master LP was solved (nothing to price)
            continue
        vols = [v for v, _ in weeks]
        assert len(vols) == len(set(vols))
        for v, tasks in weeks:
            assert tuple(sorted(tasks.tolist())) in set(_relaxed_weeks(c, cands, mask, v)), (v, tasks)
        sol = fill(c, cands, book_weeks(c, pinned_start(c, cands), weeks))
        assert violations(c, sol) == []


@_settings(60)
@given(problem=dense_problems(max_tasks=5))
def test_dive_cut_short_gives_every_volunteer_of_the_lp_a_week(problem: Problem) -> None:
    """A dive whose deadline has passed fixes nothing in the LP; it gives
    each volunteer with a column of positive value at most one of those
    columns (relaxed weeks), the choice covering the most weight — the
    limits' tiers first — as an enumeration of every choice finds, and at
    least what each volunteer's largest column covers."""
    c, cands = _compile(problem)
    best = brute_force(c).key
    for j, mask, limits, wb in _prefix_cases(c, cands, best):
        if wb.tier_bound(j, limits, None) is None or wb._lp is None or wb._lp.master.duals is None:
            continue
        lp = wb._lp
        lam = np.array([v.solution_value() for v in lp.master.lams])
        owner = np.asarray(lp.col_vol, dtype=np.int64)
        using = {int(wb.vols[i]) for i in np.unique(owner[lam > 1e-6]).tolist()}
        weeks = wb.dive(time.perf_counter() - 1.0)
        assert weeks is not None
        vols = [v for v, _ in weeks]
        assert len(vols) == len(set(vols)) and set(vols) <= using
        for v, tasks in weeks:
            assert tuple(sorted(tasks.tolist())) in set(_relaxed_weeks(c, cands, mask, v)), (v, tasks)
        # the weight covered: a task of the tier counts its weight, one of a
        # limit's tier more than the whole tier's
        tier_w = c.t_weight[lp.T] * (c.t_tier[lp.T] == j)
        value = tier_w + c.t_weight[lp.T] * np.isin(c.t_tier[lp.T], list(limits)) * (int(tier_w.sum()) + 1)

        def covered(chosen: list[np.ndarray], value: np.ndarray = value, rows: np.ndarray = lp.T) -> int:
            n = np.zeros(c.n_tasks, dtype=np.int64)
            for tasks in chosen:
                np.add.at(n, tasks, 1)
            return int(value[(n >= c.t_needed)[rows]].sum())

        per_vol: dict[int, list[np.ndarray]] = {}
        for k in np.argsort(-lam, kind="stable").tolist():
            if lam[k] > 1e-6:
                per_vol.setdefault(int(wb.vols[owner[k]]), []).append(lp.T[lp.col_rows[k]])
        largest = [cols[0] for cols in per_vol.values()]
        every = max(
            covered([cols[i] for cols, i in zip(per_vol.values(), pick, strict=True) if i >= 0])
            for pick in itertools.product(*[range(-1, len(cols)) for cols in per_vol.values()])
        )
        got = covered([tasks for _, tasks in weeks])
        assert covered(largest) <= got == every, (got, every, covered(largest))


def test_a_cut_dive_completes_with_columns_that_do_not_overlap() -> None:
    """Two volunteers whose largest columns hold the same two tasks: the
    completion gives the second their other column, covering all three
    (each volunteer's largest column would cover two); a fixed one stays."""
    from types import SimpleNamespace

    c = SimpleNamespace(t_tier=np.array([2, 2, 2]), t_weight=np.array([10, 10, 10]), t_needed=np.array([1, 1, 1]))
    lp = SimpleNamespace(
        T=np.arange(3), key=(2, []), col_rows=[np.array([0, 1]), np.array([2]), np.array([0, 1]), np.array([2])]
    )
    owner = np.array([0, 0, 1, 1])
    lam = np.array([0.6, 0.4, 0.6, 0.4])
    greedy = {0: 0, 1: 2}
    got = weeks._complete(c, lp, {}, greedy, lam, owner, 5.0)  # type: ignore[arg-type]
    assert sorted(got.items()) in ([(0, 0), (1, 3)], [(0, 1), (1, 2)])
    # with volunteer 0 fixed on its first column, volunteer 1 takes task 2
    assert weeks._complete(c, lp, {0: 0}, greedy, lam, owner, 5.0) == {0: 0, 1: 3}  # type: ignore[arg-type]


@_settings(100)
@given(problem=dense_problems(max_tasks=14))
def test_week_dive_booked_around_the_incumbent_keeps_the_urgent_tiers(problem: Problem) -> None:
    """auto's week child, tier 1 taken as proven at the incumbent's U1 (the
    bound then holds for schedules at least as good there): the dive's weeks
    of tier 2 are booked around the incumbent's visits of tier 1 and of
    pinned tasks, so the schedule (filled) is valid and keeps the
    incumbent's U1."""
    from assign.check import violations
    from assign.score import evaluate
    from assign.solvers import auto
    from assign.solvers.greedy import fill, solve_greedy

    c, cands = _compile(problem)
    inc = solve_greedy(c, cands)
    if violations(c, inc) or c.n_tiers < 2:
        return
    everything = np.ones(c.n_tasks, dtype=bool)
    prim = [float(c.t_weight[(c.t_tier == j) & ~inc.covered(c.n_tasks)].sum()) for j in range(1, c.n_tiers + 1)]
    ub = [prim[0]] + [0.0] * (c.n_tiers - 1)
    now = time.perf_counter()
    _, dives, _ = auto._week_bounds(c, cands, [(0, everything, ub, prim, 1)], now + 30.0, np.diff(cands.ptr), (now + 30.0, inc))
    for dt, dv, ds, dconf in dives.values():
        sol = fill(c, cands, auto._replace_tasks(inc, everything, dt, dv, ds, dconf))
        assert violations(c, sol) == []
        assert evaluate(c, sol).uncovered[0] == prim[0]


def test_booked_weeks_hold_a_team_whose_members_weeks_hold_it() -> None:
    """A two-person task (window from 9:00) and a one-person one; two
    volunteers free until 12:00, from 8:00 and from 8:30. Weeks that give the
    team task to both book it at one start common to both, after the
    single; a week of one member alone does not book it (it is left to the
    fill); the schedule is valid."""
    from assign.check import violations
    from assign.solution import Solution
    from assign.solvers.greedy import book_weeks

    base = _line_problem([(480, 720)], [(540, 720), (480, 720)], step_deg=0.005).model_dump(mode="json", exclude_none=True)
    other = dict(base["volunteers"][0], id="v1", availability=[[_iso(510), _iso(720)]])
    base["volunteers"].append(other)
    base["tasks"][0]["volunteers_needed"] = 2
    c, _ = _compile(Problem.model_validate(base))
    empty = Solution.build(np.zeros(0), np.zeros(0), np.zeros(0))
    team, single = 0, 1
    sol = book_weeks(c, empty, [(0, np.array([team, single])), (1, np.array([team]))])
    assert violations(c, sol) == []
    rows = np.flatnonzero(sol.task == team)
    assert sorted(sol.volunteer[rows].tolist()) == [0, 1]
    assert len(set(sol.start[rows].tolist())) == 1
    assert sol.start[rows][0] >= 540  # inside the window, both free
    assert np.flatnonzero(sol.task == single).size == 1
    alone = book_weeks(c, empty, [(0, np.array([team, single]))])
    assert alone.task.tolist() == [single]


def test_no_dive_before_a_bound() -> None:
    problem = Problem.model_validate(
        {
            "format": "assign/problem@1",
            "name": "empty",
            "horizon": {"start": _iso(0), "end": _iso(1440)},
            "communities": [{"id": "c0"}],
            "volunteers": [],
            "recipients": [],
            "tasks": [],
        }
    )
    c, cands = _compile(problem)
    wb = WeekBound(c, cands, np.zeros(c.n_tasks, dtype=bool))
    assert wb.dive(time.perf_counter() + 1.0) is None


@_settings(80)
@given(problem=dense_problems(max_tasks=14))
def test_restricted_dive_keeps_the_urgent_tiers_and_is_valid(problem: Problem) -> None:
    """The week dive over restricted pairs (auto's move for blocks too dense
    to list): its pairs hold every pair the incumbent uses in the tiers up to
    the open one and at most RESTRICTED_PER_BLOCK more per block; its weeks,
    booked around the incumbent's tier-1 and pinned visits and filled, give a
    valid schedule with the incumbent's U1."""
    from assign.check import violations
    from assign.score import evaluate
    from assign.solvers import auto
    from assign.solvers.greedy import fill, solve_greedy

    c, cands = _compile(problem)
    inc = solve_greedy(c, cands)
    if violations(c, inc) or c.n_tiers < 2:
        return
    everything = np.ones(c.n_tasks, dtype=bool)
    sub = auto._restricted_pairs(c, cands, everything, 2, inc)
    assert sub is not None
    keys = set((sub.task.astype(np.int64) * c.n_volunteers + sub.volunteer).tolist())
    for t, v in zip(inc.task.tolist(), inc.volunteer.tolist(), strict=True):
        if c.t_tier[t] <= 2:
            assert t * c.n_volunteers + v in keys
    used = set((inc.task * c.n_volunteers + inc.volunteer).tolist())
    extra = [k for k in keys if k not in used]
    assert all(c.t_tier[k // c.n_volunteers] == 2 for k in extra)
    assert len(extra) <= auto.RESTRICTED_PER_BLOCK * len(c.av_start)
    u1 = float(c.t_weight[(c.t_tier == 1) & ~inc.covered(c.n_tasks)].sum())
    _, dives, _ = auto._restricted_dive(c, cands, 0, everything, 2, {1: u1}, inc, time.perf_counter() + 30.0)
    for dt, dv, ds, dconf in dives.values():
        sol = fill(c, cands, auto._replace_tasks(inc, everything, dt, dv, ds, dconf))
        assert violations(c, sol) == []
        assert evaluate(c, sol).uncovered[0] == u1


@given(problem=dense_problems(max_tasks=8, long=True), data=st.data())
def test_item_travel_table_is_the_rule(problem: Problem, data: st.DataObject) -> None:
    """The enumeration's travel (a table of the items' distinct recipients,
    or pair by pair beyond ``TRAVEL_TABLE_CELLS``) is rule 9's travel."""
    c, _ = _compile(problem)
    item_rec = np.array(data.draw(st.lists(st.integers(0, len(c.r_lat) - 1), min_size=1, max_size=12)), dtype=np.int64)
    a = np.array(data.draw(st.lists(st.integers(0, len(item_rec) - 1), min_size=1, max_size=20)), dtype=np.int64)
    b = np.array(data.draw(st.lists(st.integers(0, len(item_rec) - 1), min_size=len(a), max_size=len(a))), dtype=np.int64)
    expected = [int(rules.travel_between_recipients(c, item_rec[[x]], item_rec[[y]])[0]) for x, y in zip(a, b, strict=True)]
    assert weeks._item_travel(c, item_rec)(a, b).tolist() == expected
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(weeks, "TRAVEL_TABLE_CELLS", 0)
        assert weeks._item_travel(c, item_rec)(a, b).tolist() == expected


class _TickClock:
    """A stand-in for the ``time`` module: one "second" per reading."""

    now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def _ticked_bounds(
    c: Compiled, cands: Candidates, ticks: int
) -> Iterator[tuple[int, np.ndarray, dict[int, float], WeekBound, float | None]]:
    """:func:`_prefix_cases` with each tier's column generation stopped by its
    time limit after ``ticks`` readings of the clock: ``(tier, mask, limits,
    week bound, value)``; the limits those of the optimum (pins honoured:
    the relaxation forces the surely kept ones)."""
    best = brute_force(c, honour_pins=True).key
    for j, mask, limits, wb in _prefix_cases(c, cands, best):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(weeks, "time", _TickClock())
            value = wb.tier_bound(j, limits, ticks + 0.5)
        yield j, mask, limits, wb, value


@_settings(60)
@given(problem=dense_problems(max_tasks=5), ticks=st.integers(0, 6))
def test_tier_bound_stopped_by_its_time_keeps_its_columns_in_the_master(problem: Problem, ticks: int) -> None:
    """Column generation stopped by its time limit at any round: every column
    it lists is in the master LP (a column priced but not yet solved once
    broke the dive after it), and the dive then gives relaxed weeks."""

    c, cands = _compile(problem)
    for _, mask, _, wb, value in _ticked_bounds(c, cands, ticks):
        lp = wb._lp
        if value is None or lp is None:
            continue
        assert len(lp.col_rows) == len(lp.col_vol) == len(lp.master.lams)
        got = wb.dive(time.perf_counter() + 30.0)
        if got is None:
            continue
        # a second dive in the same LP (whose columns now hold the first's)
        again = wb.dive(time.perf_counter() + 30.0)
        assert again is not None
        for v, tasks in got + again:
            assert tuple(sorted(tasks.tolist())) in set(_relaxed_weeks(c, cands, mask, v)), (v, tasks)


@_settings(60)
@given(problem=dense_problems(max_tasks=5), ticks=st.integers(0, 4))
def test_warm_restart_after_a_cut_and_a_dive_converges_to_the_lp(problem: Problem, ticks: int) -> None:
    """auto's week child cuts the column generation short for a dive, then
    goes on from the columns it has (the dive's included, its fixings not):
    run to convergence, the warm restart gives the LP over every relaxed
    week, as a cold one does; a call that was not cut had converged."""

    c, cands = _compile(problem)
    for j, mask, limits, wb, first in _ticked_bounds(c, cands, ticks):
        lp, g = _week_lp(c, cands, mask, j, limits)
        if first is None:
            continue
        assert first <= _rounded(lp, g)
        if not wb.cut:
            assert first == _rounded(lp, g)
        event("cut" if wb.cut else "converged")
        before = wb._lp
        assert before is not None
        n_before = len(before.master.lams)
        wb.dive(time.perf_counter() + 30.0)
        # the dive worked in a copy: the LP's master has its columns, unfixed
        assert len(before.master.lams) == n_before
        assert all(v.lb() == 0.0 for v in before.master.lams)
        assert wb.tier_bound(j, limits, None, warm=True) == _rounded(lp, g)
        assert not wb.cut
        after = wb._lp
        assert after is not None
        if before.col_rows:
            assert after.master is before.master  # from its basis
        assert len(after.master.lams) == len(after.col_rows)


@_settings(40)
@given(problem=dense_problems(max_tasks=8))
def test_week_child_posts_its_dive_then_finishes_the_bound(problem: Problem) -> None:
    """With ``post`` and the column generation cut for the dive
    (WEEK_DIVE_CG_SHARE 0), auto's week child posts ``(bounds, dives, [])``
    and returns the tier's bound as an uncut run does, with no dive."""
    from assign.solvers import auto
    from assign.solvers.greedy import solve_greedy

    c, cands = _compile(problem)
    inc = solve_greedy(c, cands)
    if c.n_tiers < 2:
        return
    everything = np.ones(c.n_tasks, dtype=bool)
    prim = [float(c.t_weight[(c.t_tier == j) & ~inc.covered(c.n_tasks)].sum()) for j in range(1, c.n_tiers + 1)]
    ub = [prim[0]] + [0.0] * (c.n_tiers - 1)
    job = [(0, everything, ub, prim, 1)]
    pairs = np.diff(cands.ptr)
    now = time.perf_counter()
    plain, _, _ = auto._week_bounds(c, cands, job, now + 30.0, pairs, (now + 30.0, inc))
    posted: list[tuple] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auto, "WEEK_DIVE_CG_SHARE", 0.0)
        now = time.perf_counter()
        final, dives, _ = auto._week_bounds(c, cands, job, now + 30.0, pairs, (now + 30.0, inc), post=posted.append)
    assert len(posted) <= 1 and dives == {}
    event("posted" if posted else "not posted")
    if posted:
        early, _, rest = posted[0]
        assert rest == []
        assert all(early[key] <= final[key] for key in early)
        tier = min(j for _, j in early)
        assert final[(0, tier)] == plain[(0, tier)]
    else:
        assert final == plain
