"""The greedy baseline: pins first, then tasks by urgency, cheapest free volunteers.

Order of work:

1. **Pins** (SPEC §4 rule 12, §10). Each pinned pair is first checked alone
   against the rules (skills, availability, radius, community, exclusion,
   pledged minutes, daily limit); a pin that breaks one is dropped with that
   rule's name. The surviving pins are then placed in task order: a pin that
   cannot join the pins already kept (double booking, minutes, daily limit with
   an earlier pin, or no start in common with the other pins of its task) is
   dropped with the rule it would break, so of two colliding pins the first in
   task order is kept. A team task with fewer pins than ``volunteers_needed`` is
   completed at once with volunteers who have no pins still to place (so that a
   completion never pushes out a later pin); if it cannot be completed, its pins
   are dropped as ``whole_teams``.
2. **Main pass.** Uncovered tasks by tier ascending, weight descending, window
   start, id. Each task takes its candidates in order of linear soft cost
   (:func:`assign.score.linear_pair_cost`: distance plus continuity, community,
   preference and stability terms), then distance; the first volunteer (or the
   first team with a common start) who is free *given the bookings so far* gets
   it, at the earliest such start.

Why no extra "final pass" is needed with full candidates: bookings only ever
remove free time and minutes, so a task found impossible in the main pass stays
impossible; when the main pass ends, no uncovered task can be added to the
schedule as it stands (SPEC §10, ``capacity`` / ``team_too_small``). With a
nearest-k cap on the candidates a final pass over the uncovered tasks with
uncapped candidates restores that property.

"Free given the bookings" is computed per volunteer as a list of closed ranges
of feasible start minutes: the task window intersected with the volunteer's
joined availability intervals (rule 5), minus, for each booked visit ``b``, the
open range ``(start_b - duration - travel(r, r_b), end_b + travel(r_b, r))``
(rule 9, travel from :func:`assign.rules.travel_between_recipients`), minus the
days whose daily limit is reached (rule 11, days from :func:`assign.rules.day_of`);
the pledged-minutes test (rule 10) uses :func:`assign.rules.assignment_load`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..candidates import Candidates, build_candidates
from ..compile import UNLIMITED, Compiled
from ..solution import Solution

Ranges = list[list[int]]  # sorted, disjoint, closed [lo, hi] ranges of start minutes


def _subtract(ranges: Ranges, lo: int, hi: int) -> Ranges:
    """``ranges`` minus the closed range ``[lo, hi]``."""
    if lo > hi:
        return ranges
    out: Ranges = []
    for a, b in ranges:
        if b < lo or a > hi:
            out.append([a, b])
            continue
        if a < lo:
            out.append([a, lo - 1])
        if b > hi:
            out.append([hi + 1, b])
    return out


def _intersect(x: Ranges, y: Ranges) -> Ranges:
    out: Ranges = []
    i = j = 0
    while i < len(x) and j < len(y):
        lo = max(x[i][0], y[j][0])
        hi = min(x[i][1], y[j][1])
        if lo <= hi:
            out.append([lo, hi])
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def _contains(ranges: Ranges, point: int) -> bool:
    for a, b in ranges:
        if a <= point <= b:
            return True
        if a > point:
            return False
    return False


def _earliest_covered(collected: Sequence[Ranges], k: int) -> int | None:
    """Earliest start lying in at least ``k`` of the range lists, or None."""
    events: list[tuple[int, int]] = []
    for ranges in collected:
        for a, b in ranges:
            events.append((a, 1))
            events.append((b + 1, -1))
    events.sort()  # at equal positions -1 (an end) sorts before +1 (a start)
    depth = 0
    for position, delta in events:
        depth += delta
        if depth >= k:
            return position
    return None


class Planner:
    """Bookings of every volunteer and the "free given the bookings" test.

    Used by the greedy solver and by :func:`fill`; works on Python lists for
    the per-volunteer scalar work and on numpy arrays for per-task filters.
    """

    def __init__(self, c: Compiled):
        self.c = c
        n_vol = c.n_volunteers
        self.av_ptr: list[int] = c.av_ptr.tolist()
        self.av_start: list[int] = c.av_start.tolist()
        self.av_end: list[int] = c.av_end.tolist()
        self.window_start: list[int] = c.t_window_start.tolist()
        self.window_end: list[int] = c.t_window_end.tolist()
        self.duration: list[int] = c.t_duration.tolist()
        self.recipient: list[int] = c.t_recipient.tolist()
        self.needed: list[int] = c.t_needed.tolist()
        self.max_minutes: list[int] = c.v_max_minutes.tolist()
        self.max_per_day: list[int] = c.v_max_per_day.tolist()
        self.limited: list[bool] = (c.v_max_per_day < UNLIMITED).tolist()
        self.used = np.zeros(n_vol, dtype=np.int64)
        self.n_booked = [0] * n_vol
        self.book_start: list[list[int]] = [[] for _ in range(n_vol)]
        self.book_end: list[list[int]] = [[] for _ in range(n_vol)]
        self.book_recipient: list[list[int]] = [[] for _ in range(n_vol)]
        self.book_task: list[list[int]] = [[] for _ in range(n_vol)]
        self.load_of: dict[tuple[int, int], int] = {}
        self.teams: dict[int, list[int]] = {}
        self.day_count: list[dict[int, int]] = [{} for _ in range(n_vol)]
        self.day_starts: list[int] = c.day_starts.tolist()
        # minute -> calendar day, from the one implementation of the rule
        self.day_at: list[int] = rules.day_of(c, np.arange(c.horizon_minutes + 1)).tolist()
        self.max_duration = int(c.t_duration.max()) if c.n_tasks else 0
        # two recipients a volunteer serves both lie within the volunteer's
        # radius of home, so they are at most 2 * radius apart (the detour-
        # adjusted haversine is a metric); bookings further apart never interact
        max_radius = float(c.v_radius.max()) if n_vol else 0.0
        self.max_travel = int(rules.travel_minutes(c, np.array([2.0 * max_radius + 1e-6]))[0]) + 1
        self.n_recipients = max(c.n_recipients, 1)
        self._travel: dict[int, int] = {}
        self.covered = np.zeros(c.n_tasks, dtype=bool)

    # ------------------------------------------------------------------ travel

    def _travel_many(self, pairs: list[tuple[int, int]]) -> list[int]:
        """Travel minutes ``a -> b`` for each pair, cached."""
        n = self.n_recipients
        cache = self._travel
        keys = [a * n + b for a, b in pairs]
        missing = [i for i, key in enumerate(keys) if key not in cache]
        if missing:
            ra = np.array([pairs[i][0] for i in missing], dtype=np.int64)
            rb = np.array([pairs[i][1] for i in missing], dtype=np.int64)
            for i, minutes in zip(missing, rules.travel_between_recipients(self.c, ra, rb).tolist(), strict=True):
                cache[keys[i]] = minutes
        return [cache[key] for key in keys]

    # -------------------------------------------------------------- free test

    def window_ranges(self, v: int, t: int) -> Ranges:
        """Starts where the visit lies in the window and one availability interval."""
        lo = self.window_start[t]
        dur = self.duration[t]
        hi = self.window_end[t] - dur
        first = bisect_left(self.av_end, lo + dur, self.av_ptr[v], self.av_ptr[v + 1])
        out: Ranges = []
        for k in range(first, self.av_ptr[v + 1]):
            a = self.av_start[k]
            if a > hi:
                break
            b = min(self.av_end[k] - dur, hi)
            a = max(a, lo)
            if a <= b:
                out.append([a, b])
        return out

    def free_ranges(self, v: int, t: int, daily: bool = True) -> Ranges:
        """Starts at which ``v`` can take task ``t`` given the bookings so far
        (rules 3, 5, 9 and, with ``daily``, 11; minutes are tested apart)."""
        ranges = self.window_ranges(v, t)
        if not ranges:
            return ranges
        starts = self.book_start[v]
        if starts:
            dur = self.duration[t]
            lo = ranges[0][0]
            hi = ranges[-1][1]
            i0 = bisect_left(starts, lo - self.max_duration - self.max_travel)
            i1 = bisect_right(starts, hi + dur + self.max_travel)
            if i0 < i1:
                r = self.recipient[t]
                others = self.book_recipient[v][i0:i1]
                travel = self._travel_many([(r, x) for x in others] + [(x, r) for x in others])
                m = len(others)
                ends = self.book_end[v]
                for j in range(m):
                    sb = starts[i0 + j]
                    # a visit starting at s conflicts with booking b unless it ends,
                    # travel included, by sb, or starts after b ends plus travel
                    ranges = _subtract(ranges, sb - dur - travel[j] + 1, ends[i0 + j] + travel[m + j] - 1)
                    if not ranges:
                        return ranges
        if daily and self.limited[v]:
            counts = self.day_count[v]
            limit = self.max_per_day[v]
            for day in range(self.day_at[ranges[0][0]], self.day_at[ranges[-1][1]] + 1):
                if counts.get(day, 0) >= limit:
                    ranges = _subtract(ranges, self.day_starts[day], self.day_starts[day + 1] - 1)
                    if not ranges:
                        break
        return ranges

    def minutes_left(self, v: int, load: int) -> bool:
        """Rule 10: the volunteer's pledged minutes still hold ``load`` more."""
        return int(self.used[v]) + load <= self.max_minutes[v]

    # ---------------------------------------------------------------- booking

    def book(self, t: int, v: int, start: int, load: int) -> None:
        """Record the assignment ``(t, v, start)``."""
        starts = self.book_start[v]
        i = bisect_right(starts, start)
        starts.insert(i, start)
        self.book_end[v].insert(i, start + self.duration[t])
        self.book_recipient[v].insert(i, self.recipient[t])
        self.book_task[v].insert(i, t)
        self.used[v] += load
        self.n_booked[v] += 1
        if self.limited[v]:
            day = self.day_at[start]
            self.day_count[v][day] = self.day_count[v].get(day, 0) + 1
        self.load_of[(t, v)] = load
        self.teams.setdefault(t, []).append(v)
        self.covered[t] = True

    def unbook(self, t: int, v: int) -> None:
        """Remove the assignment of ``v`` to ``t``."""
        i = self.book_task[v].index(t)
        start = self.book_start[v][i]
        for column in (self.book_start, self.book_end, self.book_recipient, self.book_task):
            del column[v][i]
        self.used[v] -= self.load_of.pop((t, v))
        self.n_booked[v] -= 1
        if self.limited[v]:
            self.day_count[v][self.day_at[start]] -= 1
        team = self.teams[t]
        team.remove(v)
        if not team:
            del self.teams[t]
            self.covered[t] = False

    def team(self, t: int) -> list[int]:
        """Volunteers booked on task ``t``."""
        return list(self.teams.get(t, ()))

    def assignments(self) -> tuple[list[int], list[int], list[int]]:
        """All bookings as (tasks, volunteers, starts)."""
        tasks: list[int] = []
        vols: list[int] = []
        starts: list[int] = []
        for v, booked in enumerate(self.book_task):
            if booked:
                tasks.extend(booked)
                vols.extend([v] * len(booked))
                starts.extend(self.book_start[v])
        return tasks, vols, starts

    # ------------------------------------------------------------ team search

    def find_team(
        self,
        t: int,
        volunteers: Iterable[int],
        k: int,
        within: Ranges | None = None,
        static_start: Sequence[int] | None = None,
    ) -> tuple[int, list[int]] | None:
        """``k`` volunteers from ``volunteers`` (in preference order) free at one
        common start (inside ``within`` when given): (start, members) or None.

        ``static_start`` gives, per volunteer, the earliest free start ignoring
        bookings; it is used as is for a volunteer with no booking when ``k == 1``
        and ``within`` is None (a fast path that needs no range arithmetic).
        """
        if k == 1 and within is None:
            for i, v in enumerate(volunteers):
                if static_start is not None and self.n_booked[v] == 0:
                    return static_start[i], [v]
                ranges = self.free_ranges(v, t)
                if ranges:
                    return ranges[0][0], [v]
            return None
        collected: list[Ranges] = []
        members: list[int] = []
        next_sweep = k
        swept = 0
        for v in volunteers:
            ranges = self.free_ranges(v, t)
            if within is not None and ranges:
                ranges = _intersect(ranges, within)
            if not ranges:
                continue
            collected.append(ranges)
            members.append(v)
            if len(collected) >= next_sweep:
                found = self._pick(collected, members, k)
                if found is not None:
                    return found
                swept = len(collected)
                next_sweep = 2 * swept
        if len(collected) >= k and len(collected) != swept:
            return self._pick(collected, members, k)
        return None

    @staticmethod
    def _pick(collected: list[Ranges], members: list[int], k: int) -> tuple[int, list[int]] | None:
        start = _earliest_covered(collected, k)
        if start is None:
            return None
        team = [v for v, ranges in zip(members, collected, strict=True) if _contains(ranges, start)][:k]
        return start, team


def _task_order(c: Compiled) -> NDArray[np.int64]:
    """Tier ascending, weight descending, window start, id."""
    id_rank = np.empty(c.n_tasks, dtype=np.int64)
    id_rank[np.argsort(np.asarray(c.task_ids, dtype=object), kind="stable")] = np.arange(c.n_tasks)
    return np.lexsort((id_rank, c.t_window_start, -c.t_weight, c.t_tier)).astype(np.int64)


def _alone_rules(c: Compiled, t: NDArray[np.int64], v: NDArray[np.int64]) -> list[str]:
    """For each pin, the first rule it breaks on its own ('' when none)."""
    km = rules.distance_km(c, t, v)
    load = rules.assignment_load(c, t, v, km)
    checks = [
        ("skills", rules.skills_ok(c, t, v)),
        ("availability", rules.free(c, t, v)),
        ("radius", rules.radius_ok(c, t, v, km)),
        ("community", rules.community_ok(c, t, v)),
        ("exclusion", rules.not_excluded(c, t, v)),
        ("pledged_minutes", load <= c.v_max_minutes[v]),
        ("daily_limit", c.v_max_per_day[v] > 0),
    ]
    broken = np.full(len(t), "", dtype=object)
    for name, ok in reversed(checks):
        broken[~ok] = name
    return [str(x) for x in broken]


class _CandidateView:
    """Candidates re-sorted per task by (cost, km, volunteer), without the pairs
    that can never be used (load above the pledge, daily limit 0)."""

    def __init__(self, c: Compiled, cands: Candidates):
        v = cands.volunteer.astype(np.int64)
        usable = (cands.load.astype(np.int64) <= c.v_max_minutes[v]) & (c.v_max_per_day[v] > 0)
        order = np.lexsort((cands.volunteer, cands.km, cands.cost, cands.task))
        order = order[usable[order]]
        task = cands.task[order]
        self.volunteer = cands.volunteer[order].astype(np.int64)
        self.load = cands.load[order].astype(np.int64)
        self.start = cands.start[order]
        self.ptr = np.searchsorted(task, np.arange(c.n_tasks + 1), side="left")

    def rows(self, t: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        lo, hi = self.ptr[t], self.ptr[t + 1]
        return self.volunteer[lo:hi], self.load[lo:hi], self.start[lo:hi]


def _best_pin_start(pins: list[Ranges], mates: list[Ranges], needed: int) -> int | None:
    """The start that keeps the most pins (up to ``needed``) while the pins and
    mates free there can still form a whole team; earliest among equals."""
    events: list[tuple[int, int, int]] = []
    for group, ranges_list in ((1, pins), (0, mates)):
        for ranges in ranges_list:
            for a, b in ranges:
                events.append((a, 1, group))
                events.append((b + 1, -1, group))
    events.sort()
    best: int | None = None
    best_value = 0
    n_pins = n_all = 0
    i = 0
    while i < len(events):
        position = events[i][0]
        while i < len(events) and events[i][0] == position:
            _, delta, group = events[i]
            n_all += delta
            n_pins += delta * group
            i += 1
        if n_pins >= 1 and n_all >= needed and min(n_pins, needed) > best_value:
            best, best_value = position, min(n_pins, needed)
            if best_value == needed:
                break
    return best


def _place_pins(
    c: Compiled, plan: Planner, view: _CandidateView
) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, int]]]:
    """Decide which pins the schedule keeps and at which start.

    Returns the dropped pins as (task, volunteer, rule) and the teams still to
    complete as (task, start, missing members). While pins are placed only pins
    are booked, so that a pin is only ever dropped because of other pins
    (SPEC §10); mates of partial teams are added afterwards by
    :func:`_complete_pin_teams`.
    """
    conflicts: list[tuple[int, int, str]] = []
    pending: list[tuple[int, int, int]] = []
    if len(c.t_pin) == 0:
        return conflicts, pending
    counts = np.diff(c.t_pin_ptr)
    pin_task = np.repeat(np.arange(c.n_tasks, dtype=np.int64), counts)
    pin_vol = c.t_pin.astype(np.int64)
    alone = _alone_rules(c, pin_task, pin_vol)
    pin_load = rules.assignment_load(c, pin_task, pin_vol).tolist()
    ptr = c.t_pin_ptr.tolist()
    for t in np.flatnonzero(counts).tolist():
        needed = plan.needed[t]
        pins: list[int] = []
        pin_ranges: list[Ranges] = []
        load_of: dict[int, int] = {}
        for row in range(ptr[t], ptr[t + 1]):
            v = int(pin_vol[row])
            if alone[row]:
                conflicts.append((t, v, alone[row]))
                continue
            load = pin_load[row]
            if not plan.minutes_left(v, load):
                conflicts.append((t, v, "pledged_minutes"))
                continue
            ranges = plan.free_ranges(v, t)
            if not ranges:
                rule = "daily_limit" if plan.free_ranges(v, t, daily=False) else "double_booking"
                conflicts.append((t, v, rule))
                continue
            pins.append(v)
            pin_ranges.append(ranges)
            load_of[v] = load
        if not pins:
            continue
        start = _best_pin_start(pin_ranges, [], needed)
        if start is None or sum(_contains(r, start) for r in pin_ranges) < needed:
            # the pins alone cannot make the team: look for mates (free given the
            # kept pins only, as SPEC §10 and the validator read it)
            vols, cand_loads, _ = view.rows(t)
            ok = (plan.used[vols] + cand_loads <= c.v_max_minutes[vols]) & ~np.isin(vols, pin_vol[ptr[t] : ptr[t + 1]])
            mate_ranges = [r for r in (plan.free_ranges(v, t) for v in vols[ok].tolist()) if r]
            start = _best_pin_start(pin_ranges, mate_ranges, needed)
        if start is None:
            conflicts.extend((t, v, "whole_teams") for v in pins)
            continue
        team = [v for v, r in zip(pins, pin_ranges, strict=True) if _contains(r, start)][:needed]
        for v in pins:
            if v not in team:
                conflicts.append((t, v, "whole_teams"))
        for v in team:
            plan.book(t, v, start, load_of[v])
        if len(team) < needed:
            pending.append((t, start, needed - len(team)))
    return conflicts, pending


def _complete_pin_teams(
    c: Compiled, plan: Planner, view: _CandidateView, pending: list[tuple[int, int, int]]
) -> list[tuple[int, int, str]]:
    """Add mates to the pinned teams that need them, most constrained team first;
    a team that cannot be completed loses its pins (``whole_teams``)."""
    conflicts: list[tuple[int, int, str]] = []
    pending = sorted(pending, key=lambda job: (len(view.rows(job[0])[0]), job[0]))
    for t, start, missing in pending:
        vols, loads, _ = view.rows(t)
        ok = plan.used[vols] + loads <= c.v_max_minutes[vols]
        pool = vols[ok].tolist()
        load_of = dict(zip(pool, loads[ok].tolist(), strict=True))
        members = set(plan.team(t))
        mates: list[int] = []
        for v in pool:
            if v in members:
                continue
            if _contains(plan.free_ranges(v, t), start):
                mates.append(v)
                if len(mates) == missing:
                    break
        if len(mates) == missing:
            for v in mates:
                plan.book(t, v, start, load_of[v])
        else:
            for v in sorted(members):
                plan.unbook(t, v)
                conflicts.append((t, v, "whole_teams"))
    return conflicts


def _main_pass(c: Compiled, plan: Planner, view: _CandidateView, tasks: Iterable[int]) -> None:
    max_minutes = c.v_max_minutes
    for t in tasks:
        if plan.covered[t]:
            continue
        vols, loads, static = view.rows(t)
        needed = plan.needed[t]
        if len(vols) < needed:
            continue
        ok = plan.used[vols] + loads <= max_minutes[vols]
        if needed > 1 or not ok.all():
            idx = np.flatnonzero(ok)
            if len(idx) < needed:
                continue
            vols, loads, static = vols[idx], loads[idx], static[idx]
        pool = vols.tolist()
        found = plan.find_team(t, pool, needed, static_start=static.tolist())
        if found is None:
            continue
        start, team = found
        load_of = dict(zip(pool, loads.tolist(), strict=True))
        for v in team:
            plan.book(t, v, start, load_of[v])


def _finish(c: Compiled, plan: Planner, view: _CandidateView, cands: Candidates, order: NDArray[np.int64]) -> None:
    _main_pass(c, plan, view, order.tolist())
    if cands.cap is not None:
        # capped candidates may miss the volunteer who could still take a task
        left = np.flatnonzero(~plan.covered)
        if len(left):
            full = build_candidates(c, tasks=left)
            pending = order[~plan.covered[order]]
            _main_pass(c, plan, _CandidateView(c, full), pending.tolist())


def _solution(plan: Planner, conflicts: Sequence[tuple[int, int, str]] = ()) -> Solution:
    t, v, s = plan.assignments()
    return Solution.build(t, v, s, list(conflicts))


def solve_greedy(c: Compiled, cands: Candidates, seed: int = 0) -> Solution:
    """The greedy schedule of ``c`` (always valid; see the module docstring).

    ``seed`` is accepted for the common solver signature; the greedy is fully
    deterministic (ties break on cost, distance, volunteer index, task id).

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> from assign.candidates import build_candidates
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> sol = solve_greedy(c, build_candidates(c))
    >>> sorted(c.task_ids[t] for t in set(sol.task.tolist()))
    ['t1', 't2', 't4']
    """
    del seed
    plan = Planner(c)
    view = _CandidateView(c, cands)
    conflicts, pending = _place_pins(c, plan, view)
    conflicts += _complete_pin_teams(c, plan, view, pending)
    _finish(c, plan, view, cands, _task_order(c))
    return _solution(plan, conflicts)


def fill(c: Compiled, cands: Candidates, sol: Solution) -> Solution:
    """Extend a valid solution greedily: every uncovered task that can still be
    added (in the greedy's urgency order) is added. Keeps ``sol``'s assignments
    and conflicts; the result has no uncovered task that could be added."""
    plan = Planner(c)
    if len(sol):
        loads = rules.assignment_load(c, sol.task, sol.volunteer).tolist()
        for t, v, s, load in zip(sol.task.tolist(), sol.volunteer.tolist(), sol.start.tolist(), loads, strict=True):
            plan.book(t, v, s, load)
    view = _CandidateView(c, cands)
    _finish(c, plan, view, cands, _task_order(c))
    return _solution(plan, sol.conflicts)
