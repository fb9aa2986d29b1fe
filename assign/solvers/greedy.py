"""The greedy baseline: pins first, then tasks by urgency, cheapest free volunteers.

Order of work:

1. **Pins** (SPEC §4 rule 12, §10). Each pinned pair is first checked alone
   against the rules (skills, availability, radius, community, exclusion,
   pledged minutes, daily limit); a pin that breaks one is dropped with that
   rule's name. The other pins are placed in task order while *only pins* are
   booked, so that a pin is only ever dropped because of other pins: a pin that
   cannot join the pins already kept (double booking, minutes or daily limit
   with an earlier pin) is dropped with the rule it would break, so of two
   colliding pins the first in task order is kept. The pins of one task take the
   start that keeps the most of them (up to ``volunteers_needed``) at which
   enough other eligible volunteers are free - given the kept pins - to make the
   team whole; pins left out are dropped as ``whole_teams``, and all of them
   when no mates could ever make it whole. When mates exist but none is free
   next to the kept pins, the pins take their own best start and the team is
   completed below (a mate's one-volunteer pins may move out of its way).
   A one-volunteer pin that fits no free time of
   its volunteer is kept when some order of that volunteer's kept visits
   (one-volunteer ones, and complete teams moved whole) and it, each at its
   earliest start, fits (a pin fixes who, not when). Teams that still need members are then completed, least
   window slack first; a team whose start no longer has mates gets the first
   start where its kept pins and enough mates are free, and one that cannot be
   completed loses its pins as ``whole_teams``. Last, the dropped pins are seen
   again: a one-volunteer pin that fits now (a dropped team freed its
   volunteer) is kept, and one whose task the kept pins staff is named
   ``whole_teams``.
2. **Main pass.** Uncovered tasks by tier ascending, then weight per minute of
   volunteer time descending (a knapsack order: pledged minutes are what runs
   out), window start, id. Each task takes its candidates least *pressed*
   first (:func:`pressure_preference`: what the tasks of its tier and the more
   urgent ones would ask of the volunteer's pledge, in whole multiples), then
   by linear soft cost (:func:`assign.score.linear_pair_cost`: distance plus
   continuity, community, preference and stability terms), then distance
   (ties in a fixed order); the first volunteer (or the first team with a
   common start) who is free *given the bookings so far* gets it, at the
   earliest such start. (Before 2026-12-01: weight descending and the
   cheapest candidate first; Shiquan's U2 39,165 then.) :func:`fill` uses the
   same task order and the cheapest candidate first.
3. **Cheaper volunteers.** Sparing contested volunteers sends some visits
   farther than needed; with the minutes left at the end of the pass, each
   one-volunteer, non-pinned visit moves to a cheaper free candidate when the
   soft score falls by it (:func:`_cheapen`), and the main pass runs once
   more over the uncovered tasks (the moves may have freed time).

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

Speed: that exact test is Python code per (task, volunteer), so the main pass
first sieves each task's candidates with numpy - minutes left, daily limit
reached, and a "free slots" matrix (availability minus booked visits, travel
ignored: a necessary condition) - and runs the exact test only on the
survivors, in preference order, stopping at the first fit. Travel minutes are
fetched for a block of volunteers in one vectorized call and cached. With
more than one worker and components to share out (strategy ``auto``, a
province of counties), a main pass runs about half its components in a
forked child (:func:`_main_pass_split`): components share no volunteer, so
a task's choice depends on its own component's bookings alone, and the
child's bookings, replayed in its order, give the same schedule as one pass
(ankang: 35.9 -> 21.0 s, the same schedule).
"""

from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..candidates import Candidates, build_candidates
from ..compile import UNLIMITED, Compiled
from ..solution import Solution

#: volunteers whose travel minutes are fetched together
BLOCK = 8
#: candidates tried exactly before the numpy sieve runs (most tasks fit early)
PROBE = 4
#: travel cache entries kept before the cache is cleared (memory bound)
TRAVEL_CACHE_MAX = 4_000_000

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

    Used by the greedy solver and by :func:`fill`; keeps Python lists for the
    per-volunteer scalar work and numpy arrays for the per-task sieves.
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
        self.day_full = np.zeros((n_vol, max(c.n_days, 1)), dtype=bool)
        self.first_day = rules.day_of(c, c.t_window_start)
        self.last_day = rules.day_of(c, c.t_window_end - 1)
        self.max_duration = int(c.t_duration.max()) if c.n_tasks else 0
        # two recipients a volunteer serves both lie within the volunteer's
        # radius of home, so they are at most 2 * radius apart (the detour-
        # adjusted haversine is a metric); bookings further apart never interact
        max_radius = float(c.v_radius.max()) if n_vol else 0.0
        self.max_travel = int(rules.travel_minutes(c, np.array([2.0 * max_radius + 1e-6]))[0]) + 1
        self.n_recipients = max(c.n_recipients, 1)
        self._travel: dict[int, int] = {}
        #: entries the travel cache keeps before it is cleared (None: no limit,
        #: for the counterfactual search, which prefetches what it will need)
        self.travel_cache_max: int | None = TRAVEL_CACHE_MAX
        # travel minutes between recipients (rule 9's travel, radians computed once)
        self._travel_array = rules.RecipientTravel(c)
        self.covered = np.zeros(c.n_tasks, dtype=bool)
        # free slots: availability minus booked visits (travel ignored), one
        # row per volunteer, for the numpy sieve
        counts = np.diff(c.av_ptr)
        width = int(counts.max()) + 4 if n_vol else 4
        # (recipient of the visit that bounds each slot on the left / right, or
        # -1 at an edge of availability: the sieve adds travel from / to it)
        self.slot_start = np.zeros((n_vol, width), dtype=np.int64)
        self.slot_end = np.zeros((n_vol, width), dtype=np.int64)
        self.slot_prev = np.full((n_vol, width), -1, dtype=np.int64)
        self.slot_next = np.full((n_vol, width), -1, dtype=np.int64)
        owner = np.repeat(np.arange(n_vol), counts)
        column = np.arange(len(c.av_start)) - np.repeat(c.av_ptr[:-1], counts)
        self.slot_start[owner, column] = c.av_start
        self.slot_end[owner, column] = c.av_end
        self.n_slots: list[int] = counts.tolist()
        self.slot_count = counts.astype(np.int64)  # the same, as an array (for the sieve)

    # ------------------------------------------------------------------ travel

    def _fetch_keys(self, keys: list[int]) -> None:
        """Fetch, in one vectorized call, the travel minutes of these cache keys
        (``a * n_recipients + b`` for ``a -> b``) that are not cached yet."""
        cache = self._travel
        missing = [key for key in keys if key not in cache]
        if not missing:
            return
        if self.travel_cache_max is not None and len(cache) > self.travel_cache_max:
            cache.clear()
            missing = keys
        k = np.array(missing, dtype=np.int64)
        n = self.n_recipients
        cache.update(zip(missing, self._travel_array(k // n, k % n).tolist(), strict=True))

    def _travel_many(self, pairs: list[tuple[int, int]]) -> list[int]:
        """Travel minutes ``a -> b`` for each pair, cached."""
        n = self.n_recipients
        keys = [a * n + b for a, b in pairs]
        self._fetch_keys(keys)
        cache = self._travel
        return [cache[key] for key in keys]

    def prefetch_pairs(self, ra: NDArray[np.int64], rb: NDArray[np.int64]) -> None:
        """Fetch, in one vectorized call, the travel minutes ``ra -> rb`` and
        ``rb -> ra`` of many pairs of recipients."""
        n = self.n_recipients
        keys = np.unique(np.concatenate([ra * n + rb, rb * n + ra]))
        self._fetch_keys(keys.tolist())

    def prefetch(self, t: int, volunteers: Iterable[int]) -> None:
        """Fetch, in one vectorized call, the travel minutes that
        :meth:`free_ranges` will need for task ``t`` and these volunteers."""
        lo = self.window_start[t] - self.max_duration - self.max_travel
        hi = self.window_end[t] + self.max_travel
        others: list[int] = []
        for v in volunteers:
            starts = self.book_start[v]
            if starts:
                i0 = bisect_left(starts, lo)
                i1 = bisect_right(starts, hi)
                if i0 < i1:
                    others.extend(self.book_recipient[v][i0:i1])
        if others:
            r = self.recipient[t]
            n = self.n_recipients
            rn = r * n
            self._fetch_keys([rn + x for x in others] + [x * n + r for x in others])

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
        return self.clear_ranges(v, t, self.window_ranges(v, t), daily)

    def clear_ranges(
        self, v: int, t: int, ranges: Ranges, daily: bool = True, every_booking: bool = False
    ) -> Ranges:
        """``ranges`` (starts of task ``t``) less those at which ``v`` would
        double-book one of their bookings (rule 9, travel included) or, with
        ``daily``, exceed their daily limit (rule 11). Only the bookings that
        can reach the ranges are looked at: those within the largest trip two
        homes in any volunteer's radius can need; with ``every_booking``,
        every booking (for a visit outside the volunteer's radius, as the
        counterfactuals try)."""
        if not ranges:
            return ranges
        starts = self.book_start[v]
        if starts:
            dur = self.duration[t]
            if every_booking:
                i0, i1 = 0, len(starts)
            else:
                i0 = bisect_left(starts, ranges[0][0] - self.max_duration - self.max_travel)
                i1 = bisect_right(starts, ranges[-1][1] + dur + self.max_travel)
            if i0 < i1:
                r = self.recipient[t]
                n = self.n_recipients
                rn = r * n
                others = self.book_recipient[v][i0:i1]
                cache = self._travel
                try:  # (fetched by :meth:`prefetch`, as a rule)
                    travel_to = [cache[rn + x] for x in others]
                    travel_from = [cache[x * n + r] for x in others]
                except KeyError:
                    m = len(others)
                    travel = self._travel_many([(r, x) for x in others] + [(x, r) for x in others])
                    travel_to, travel_from = travel[:m], travel[m:]
                ends = self.book_end[v]
                for sb, eb, before, after in zip(starts[i0:i1], ends[i0:i1], travel_to, travel_from, strict=True):
                    # a visit starting at s conflicts with booking b unless it ends,
                    # travel included, by sb, or starts after b ends plus travel
                    ranges = _subtract(ranges, sb - dur - before + 1, eb + after - 1)
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

    def may_fit(self, t: int, volunteers: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Necessary condition for :meth:`free_ranges` to be non-empty, for many
        volunteers at once: a free slot (availability minus booked visits)
        holds the visit inside the window with the travel from the visit before
        the slot and to the visit after it, and not every day of the window is
        at the daily limit. Visits further away are ignored, so survivors still
        need the exact test."""
        ws = self.window_start[t]
        we = self.window_end[t]
        dur = self.duration[t]
        ok = np.zeros(len(volunteers), dtype=bool)
        if len(volunteers) == 0:
            return ok
        # only the columns some of these volunteers use (the others are empty)
        width = int(self.slot_count[volunteers].max())
        starts = self.slot_start[volunteers, :width]
        ends = self.slot_end[volunteers, :width]
        lo = np.maximum(starts, ws)
        hi = np.minimum(ends, we) - dur
        rows, cols = np.nonzero(lo <= hi)
        if len(rows) == 0:
            return ok
        owners = volunteers[rows]
        prev = self.slot_prev[owners, cols]
        after = self.slot_next[owners, cols]
        r = self.recipient[t]
        m = len(rows)
        # one vectorized call for both directions (prev -> r, r -> next); an
        # edge of availability (-1) stands for r itself: travel r -> r is 0
        ra = np.full(2 * m, r, dtype=np.int64)
        rb = ra.copy()
        ra[:m] = prev
        rb[m:] = after
        ra[ra < 0] = r
        rb[rb < 0] = r
        minutes = self._travel_array(ra, rb)
        travel_in = minutes[:m]
        travel_out = minutes[m:]
        fits = np.maximum(lo[rows, cols], starts[rows, cols] + travel_in) <= np.minimum(
            hi[rows, cols], ends[rows, cols] - dur - travel_out
        )
        ok[rows[fits]] = True
        first, last = self.first_day[t], self.last_day[t]
        ok &= ~self.day_full[volunteers, first : last + 1].all(axis=1)
        return ok

    # ---------------------------------------------------------------- booking

    def _carve(self, v: int, start: int, end: int, recipient: int) -> None:
        """Remove the visit ``[start, end)`` at ``recipient`` from the free slots."""
        n = self.n_slots[v]
        pieces: list[tuple[int, int, int, int]] = []
        for a, b, before, after in zip(
            self.slot_start[v, :n].tolist(), self.slot_end[v, :n].tolist(),
            self.slot_prev[v, :n].tolist(), self.slot_next[v, :n].tolist(), strict=True,
        ):
            if b <= start or a >= end:
                pieces.append((a, b, before, after))
                continue
            if a < start:
                pieces.append((a, start, before, recipient))
            if b > end:
                pieces.append((end, b, recipient, after))
        self._set_slots(v, pieces)

    def _set_slots(self, v: int, pieces: list[tuple[int, int, int, int]]) -> None:
        width = self.slot_start.shape[1]
        if len(pieces) > width:
            grow = ((0, 0), (0, max(width, len(pieces) - width)))
            self.slot_start = np.pad(self.slot_start, grow)
            self.slot_end = np.pad(self.slot_end, grow)
            self.slot_prev = np.pad(self.slot_prev, grow, constant_values=-1)
            self.slot_next = np.pad(self.slot_next, grow, constant_values=-1)
        n_old = self.n_slots[v]
        n = len(pieces)
        if n:
            columns = list(zip(*pieces, strict=True))
            self.slot_start[v, :n] = columns[0]
            self.slot_end[v, :n] = columns[1]
            self.slot_prev[v, :n] = columns[2]
            self.slot_next[v, :n] = columns[3]
        if n_old > n:
            self.slot_start[v, n:n_old] = 0
            self.slot_end[v, n:n_old] = 0
            self.slot_prev[v, n:n_old] = -1
            self.slot_next[v, n:n_old] = -1
        self.n_slots[v] = n
        self.slot_count[v] = n

    def _rebuild_slots(self, v: int) -> None:
        lo, hi = self.av_ptr[v], self.av_ptr[v + 1]
        self._set_slots(v, [(a, b, -1, -1) for a, b in zip(self.av_start[lo:hi], self.av_end[lo:hi], strict=True)])
        for s, e, r in zip(self.book_start[v], self.book_end[v], self.book_recipient[v], strict=True):
            self._carve(v, s, e, r)

    def book(self, t: int, v: int, start: int, load: int) -> None:
        """Record the assignment ``(t, v, start)``."""
        starts = self.book_start[v]
        end = start + self.duration[t]
        i = bisect_right(starts, start)
        starts.insert(i, start)
        self.book_end[v].insert(i, end)
        self.book_recipient[v].insert(i, self.recipient[t])
        self.book_task[v].insert(i, t)
        self.used[v] += load
        self.n_booked[v] += 1
        if self.limited[v]:
            day = self.day_at[start]
            count = self.day_count[v].get(day, 0) + 1
            self.day_count[v][day] = count
            if count >= self.max_per_day[v]:
                self.day_full[v, day] = True
        self._carve(v, start, end, self.recipient[t])
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
            day = self.day_at[start]
            self.day_count[v][day] -= 1
            self.day_full[v, day] = self.day_count[v][day] >= self.max_per_day[v]
        self._rebuild_slots(v)
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

    def first_free(
        self, t: int, volunteers: Sequence[int], static_start: Sequence[int] | None = None
    ) -> tuple[int, list[int]] | None:
        """The first volunteer (in the given order) free for ``t``, at their
        earliest start. ``static_start[i]`` (earliest free start ignoring
        bookings) is used as is for a volunteer with no booking."""
        n_booked = self.n_booked
        for lo in range(0, len(volunteers), BLOCK):
            block = volunteers[lo : lo + BLOCK]
            upto = len(block)
            if static_start is not None:  # the block is not tested past its first volunteer with no booking
                upto = next((j for j, v in enumerate(block) if n_booked[v] == 0), upto)
            self.prefetch(t, block[:upto])
            for i, v in enumerate(block, start=lo):
                if static_start is not None and n_booked[v] == 0:
                    return static_start[i], [v]
                ranges = self.free_ranges(v, t)
                if ranges:
                    return ranges[0][0], [v]
        return None

    def find_team(
        self, t: int, volunteers: Sequence[int], k: int, within: Ranges | None = None
    ) -> tuple[int, list[int]] | None:
        """``k`` volunteers from ``volunteers`` (in preference order) free at one
        common start (inside ``within`` when given): (start, members) or None.
        Prefers the shortest prefix of the order that holds a team."""
        if k == 1 and within is None:
            return self.first_free(t, volunteers)
        collected: list[Ranges] = []
        members: list[int] = []
        next_sweep = k
        swept = 0
        for lo in range(0, len(volunteers), BLOCK):
            block = volunteers[lo : lo + BLOCK]
            self.prefetch(t, block)
            for v in block:
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
    """Tier ascending, then weight per minute of volunteer time (weight over
    duration times team size) descending, window start, id: a knapsack order,
    since pledged minutes are what runs out. (Weight alone, before
    2026-12-01: the greedy's U2 on Shiquan 39,165; benchmarks/HISTORY.md.)"""
    id_rank = np.empty(c.n_tasks, dtype=np.int64)
    id_rank[np.argsort(np.asarray(c.task_ids, dtype=object), kind="stable")] = np.arange(c.n_tasks)
    return np.lexsort((id_rank, c.t_window_start, -weight_per_minute(c), c.t_tier)).astype(np.int64)


def weight_per_minute(c: Compiled) -> NDArray[np.float64]:
    """Each task's weight per minute of volunteer time (duration times team
    size): the key of the knapsack orders (:func:`_task_order`,
    :func:`~assign.solvers.auto.ratio_order`)."""
    return c.t_weight / (c.t_duration * c.t_needed).astype(np.float64)


#: :func:`pressure_preference` groups volunteers by whole multiples of their
#: pledge asked of them (1.0); within a group the cheaper pair goes first.
#: Static and 1.0 measured best (:func:`ordered_greedy` in the ratio order,
#: benchmarks/HISTORY.md, "A greedy that spares contested volunteers")
PRESSURE_BUCKET = 1.0
#: rows per chunk of :func:`pressure_preference`'s passes
PRESSURE_CHUNK = 4_000_000


def pressure_preference(c: Compiled, cands: Candidates) -> NDArray[np.float32]:
    """Per candidate row, a preference for volunteers whose minutes the
    tasks of the same or more urgent tiers ask for least (larger first, for
    :func:`ordered_greedy`'s ``prefer`` and the greedy's main pass).

    Each task's demand (its load times its team size) is spread evenly over
    its candidates; a volunteer's *pressure* at tier ``t`` is what the tasks
    of tiers ``1..t`` ask of them that way, over their pledged minutes. A
    greedy that takes the cheapest candidate spends the minutes of volunteers
    many tasks could use, and later tasks with no one else go uncovered; one
    that takes the least pressed candidate (cheapest among equals, in groups
    of :data:`PRESSURE_BUCKET`) leaves them. A task's previous volunteers
    and its recipient's preferred ones come before all others. Two passes
    over the rows, in chunks."""
    n_v = c.n_volunteers
    per_task = np.maximum(cands.counts(), 1)
    chunks = [slice(i, i + PRESSURE_CHUNK) for i in range(0, len(cands), PRESSURE_CHUNK)]

    def rows(sl: slice) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        t = cands.task[sl].astype(np.int64)
        return t, cands.volunteer[sl].astype(np.int64), c.t_tier[t].astype(np.int64)

    demand = np.zeros((c.n_tiers + 1) * n_v)
    for sl in chunks:  # (in chunks: a province has tens of millions of rows)
        t, v, tier = rows(sl)
        share = cands.load[sl].astype(np.float64) * c.t_needed[t] / per_task[t]
        demand += np.bincount(tier * n_v + v, weights=share, minlength=len(demand))
    cum = np.cumsum(demand.reshape(c.n_tiers + 1, n_v), axis=0)
    out = np.empty(len(cands), dtype=np.float32)
    for sl in chunks:
        t, v, tier = rows(sl)
        out[sl] = -np.floor(cum[tier, v] / np.maximum(c.v_max_minutes[v], 1) / PRESSURE_BUCKET)
        # a task's previous volunteers and its recipient's preferred ones come
        # first, whatever their pressure (continuity of care, little churn
        # against the published plan: SPEC §6's stability and continuity)
        known = rules.is_previous(c, t, v) | rules.is_preferred(c, t, v)
        out[sl][known] = 1.0
    return out


class _CandidateView:
    """The candidates of one task in preference order: (cost, km, volunteer),
    without the pairs that can never be used (load above the pledge, daily
    limit 0). Sorted per task on demand: the rows are already by km, so a
    stable sort on cost gives (cost, km) with a fixed order among ties."""

    def __init__(self, c: Compiled, cands: Candidates, prefer: NDArray[np.floating[Any]] | None = None):
        self.cands = cands
        self.max_minutes = c.v_max_minutes
        self.max_per_day = c.v_max_per_day
        self.prefer = prefer  # per row, larger first, before the cost

    def rows(self, t: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        rows = self.cands.rows(t)
        if self.prefer is None:
            order = np.argsort(self.cands.cost[rows], kind="stable")
        else:
            order = np.lexsort((self.cands.cost[rows], -self.prefer[rows]))
        vols = self.cands.volunteer[rows][order].astype(np.int64)
        loads = self.cands.load[rows][order].astype(np.int64)
        usable = (loads <= self.max_minutes[vols]) & (self.max_per_day[vols] > 0)
        return vols[usable], loads[usable], self.cands.start[rows][order][usable]


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
    alone = rules.broken_alone(c, pin_task, pin_vol)
    pin_load = rules.assignment_load(c, pin_task, pin_vol).tolist()
    ptr = c.t_pin_ptr.tolist()
    for t in np.flatnonzero(counts).tolist():
        needed = plan.needed[t]
        pins: list[int] = []
        pin_ranges: list[Ranges] = []
        load_of: dict[int, int] = {}
        for row in range(ptr[t], ptr[t + 1]):
            v = int(pin_vol[row])
            own = alone[row]
            if own is not None:
                conflicts.append((t, v, own))
                continue
            load = pin_load[row]
            if not plan.minutes_left(v, load):
                conflicts.append((t, v, "pledged_minutes"))
                continue
            ranges = plan.free_ranges(v, t)
            if not ranges and needed == 1 and ptr[t + 1] - ptr[t] == 1 and _retime_pins(plan, v, t, load):
                continue  # kept, with the volunteer's one-volunteer pins moved
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
            if start is None and int(ok.sum()) >= needed - min(len(pins), needed):
                # no mate is free next to the kept pins as they stand: the pins
                # take their own best start and the team is completed later,
                # when a mate's one-volunteer pins may move out of its way
                # (:func:`_complete_pin_teams`; a pin fixes who, not when)
                start = _best_pin_start(pin_ranges, [], min(len(pins), needed))
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
    # least slack in the window first, then fewest candidates
    pending = sorted(
        pending,
        key=lambda job: (
            int(c.t_window_end[job[0]] - c.t_window_start[job[0]] - c.t_duration[job[0]]),
            len(view.rows(job[0])[0]),
            job[0],
        ),
    )
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
        if len(mates) < missing:
            # another start for the whole team, the kept pins' and the mates'
            # free times given the other bookings (pins placed after this team
            # may have taken its first start)
            moved = _restart_team(c, plan, t, sorted(members), [v for v in pool if v not in members], missing)
            if moved is not None:
                start, mates = moved
        retimed: list[int] = []  # mates booked by moving their one-volunteer pins
        if len(mates) < missing:
            for v in pool:
                if v in members or v in mates:
                    continue
                if _retime_pins(plan, v, t, load_of[v], start):
                    retimed.append(v)
                    if len(mates) + len(retimed) == missing:
                        break
        if len(mates) + len(retimed) == missing:
            for v in mates:
                plan.book(t, v, start, load_of[v])
        else:
            for v in retimed:
                plan.unbook(t, v)
            for v in sorted(members):
                plan.unbook(t, v)
                conflicts.append((t, v, "whole_teams"))
    return conflicts


def _revisit_dropped(c: Compiled, plan: Planner, conflicts: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The pins dropped while placing, seen again once every pinned team is
    complete or dropped (a dropped team frees its members): a one-volunteer
    pin that now fits the kept pins and their teams' mates is kept after all;
    a pin whose task the kept pins (not mates: those never justify a drop)
    already staff is named ``whole_teams`` (the rule it would break now).
    Only pins and pinned teams' mates are booked at this point."""
    out: list[tuple[int, int, str]] = []
    for t, v, rule in conflicts:
        # the rules a pin may break because of other bookings (one that breaks
        # them alone fails the minutes and free-time tests below again)
        if rule in ("double_booking", "daily_limit", "pledged_minutes"):
            pinned_here = set(c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]].tolist())
            staffed = sum(u in pinned_here for u in plan.team(t)) >= plan.needed[t]
            if staffed:
                rule = "whole_teams"
            elif plan.needed[t] == 1 and not plan.covered[t]:
                load = int(rules.assignment_load(c, np.array([t]), np.array([v]))[0])
                ranges = plan.free_ranges(v, t) if plan.minutes_left(v, load) else []
                if ranges:
                    plan.book(t, v, ranges[0][0], load)
                    continue
        out.append((t, v, rule))
    return out


#: at most this many visits of one volunteer are re-timed together to keep a pin
RETIME_PINS = 6


def _retime_pins(plan: Planner, v: int, t: int, load: int, at: int | None = None) -> bool:
    """Book ``(t, v)``, which fits no free time of ``v`` as booked, by moving
    ``v``'s kept visits: its one-volunteer ones and its complete teams (all
    members move, to a start where all are free). Some order of those visits
    and the new one, each at its earliest start, fits them all (SPEC §4 rule
    12: a pin fixes who, not when; a set of visits that fits at all fits in its
    start order at earliest starts). With ``at`` (a pinned team's common
    start) ``(t, v)`` is booked there first and only the others move. Books
    and returns True when found; leaves everything as it was otherwise."""
    from itertools import permutations

    movable = [u for u in plan.book_task[v] if len(plan.team(u)) == plan.needed[u]]
    if not movable or len(movable) + 1 > RETIME_PINS:
        return False
    old: dict[int, list[tuple[int, int, int]]] = {}  # visit -> [(member, start, load)]
    for u in movable:
        old[u] = [(m, plan.book_start[m][plan.book_task[m].index(u)], plan.load_of[(u, m)]) for m in plan.team(u)]
    for u in movable:
        for m, _, _ in old[u]:
            plan.unbook(u, m)

    def restore() -> None:
        for u in movable:
            for m, start, ld in old[u]:
                plan.book(u, m, start, ld)

    def place(u: int) -> bool:
        members = old[u] if u in old else [(v, -1, load)]
        ranges = plan.free_ranges(members[0][0], u)
        for m, _, _ in members[1:]:
            ranges = _intersect(ranges, plan.free_ranges(m, u))
        if not ranges:
            return False
        for m, _, ld in members:
            plan.book(u, m, ranges[0][0], ld)
        return True

    def unplace(u: int) -> None:
        for m, _, _ in old[u] if u in old else [(v, -1, load)]:
            plan.unbook(u, m)

    if at is not None:
        if not plan.minutes_left(v, load) or not _contains(plan.free_ranges(v, t), at):
            restore()
            return False
        plan.book(t, v, at, load)
        to_place = movable
    else:
        to_place = [*movable, t]
    for order in permutations(to_place):
        placed: list[int] = []
        for u in order:
            if not place(u):
                break
            placed.append(u)
        if len(placed) == len(order):
            return True
        for u in placed:
            unplace(u)
    if at is not None:
        plan.unbook(t, v)
    restore()
    return False


def _restart_team(
    c: Compiled, plan: Planner, t: int, members: list[int], pool: list[int], missing: int
) -> tuple[int, list[int]] | None:
    """A new common start for pinned team ``t``: its kept ``members`` are
    unbooked and re-booked at the first start where all of them and
    ``missing`` volunteers of ``pool`` are free; returns (start, those mates),
    or None with the members booked as before."""
    old = {v: plan.book_start[v][plan.book_task[v].index(t)] for v in members}
    loads = {v: plan.load_of[(t, v)] for v in members}
    for v in members:
        plan.unbook(t, v)
    member_ranges = [plan.free_ranges(v, t) for v in members]
    mate_ranges = {v: r for v in pool if (r := plan.free_ranges(v, t))}
    if all(member_ranges):
        common = member_ranges[0]
        for r in member_ranges[1:]:
            common = _intersect(common, r)
        points = sorted({lo for lo, _ in common} | {lo for r in mate_ranges.values() for lo, _ in r if _contains(common, lo)})
        for start in points:
            mates = [v for v, r in mate_ranges.items() if _contains(r, start)][:missing]
            if len(mates) == missing:
                for v in members:
                    plan.book(t, v, start, loads[v])
                return start, mates
    for v in members:
        plan.book(t, v, old[v], loads[v])
    return None


def _main_pass(c: Compiled, plan: Planner, view: _CandidateView, tasks: Iterable[int]) -> None:
    max_minutes = c.v_max_minutes
    for t in tasks:
        if plan.covered[t]:
            continue
        vols, loads, static = view.rows(t)
        needed = plan.needed[t]
        if len(vols) < needed:
            continue
        ok = np.flatnonzero(plan.used[vols] + loads <= max_minutes[vols])
        if len(ok) < needed:
            continue
        found = None
        if needed == 1:
            # most tasks fit one of their first candidates: try those exactly,
            # sieve the rest with numpy before the exact test
            head = ok[:PROBE]
            found = plan.first_free(t, vols[head].tolist(), static[head].tolist())
            if found is None and len(ok) > PROBE:
                rest = ok[PROBE:]
                rest = rest[plan.may_fit(t, vols[rest])]
                if len(rest):
                    found = plan.first_free(t, vols[rest].tolist(), static[rest].tolist())
        else:
            ok = ok[plan.may_fit(t, vols[ok])]
            if len(ok) >= needed:
                found = plan.find_team(t, vols[ok].tolist(), needed)
        if found is None:
            continue
        start, team = found
        if needed == 1:
            # (a task's candidate volunteers are distinct)
            v = team[0]
            plan.book(t, v, start, int(loads[vols == v][0]))
            continue
        load_of = dict(zip(vols[ok].tolist(), loads[ok].tolist(), strict=True))
        for v in team:
            plan.book(t, v, start, load_of[v])


#: a main pass is split between the process and a forked child (by
#: components, :func:`_main_pass_split`) only over this many tasks, and when
#: the smaller half holds at least this share of the candidate pairs
SPLIT_MIN_TASKS = 20_000
SPLIT_MIN_SHARE = 0.1


@dataclass(frozen=True)
class Split:
    """How a main pass may be shared with a forked child: the tasks'
    components (``labels``, no volunteer is a candidate in two) and the
    workers allowed."""

    labels: NDArray[np.int64]
    workers: int


def split_halves(c: Compiled, cands: Candidates, order: NDArray[np.int64], split: Split) -> NDArray[np.bool_] | None:
    """The tasks of ``order`` a child takes (about half the candidate pairs,
    whole components), or None when it is not worth splitting."""
    if split.workers < 2 or len(order) < SPLIT_MIN_TASKS:
        return None
    lab = split.labels[order]
    work = cands.counts()[order].astype(np.float64)
    keys, inv = np.unique(lab, return_inverse=True)
    per = np.bincount(inv, work, len(keys))
    total = float(per.sum())
    if len(keys) < 2 or total <= 0:
        return None
    # the heaviest components first, each to the lighter side (ties by label)
    side = np.zeros(len(keys), dtype=bool)
    load = [0.0, 0.0]
    for k in np.lexsort((keys, -per)).tolist():
        b = load[1] < load[0]
        side[k] = b
        load[int(b)] += float(per[k])
    if min(load) < SPLIT_MIN_SHARE * total:
        return None
    return side[inv]


def split_share(c: Compiled, cands: Candidates, split: Split | None) -> float:
    """The share of a whole pass's candidate pairs the process keeps when
    ``split`` shares it out (1.0 when it would not): a split pass takes about
    that share of a whole one's time."""
    order = _task_order(c)
    theirs = None if split is None or not cands.complete else split_halves(c, cands, order, split)
    if theirs is None:
        return 1.0
    work = cands.counts()[order].astype(np.float64)
    return float(work[~theirs].sum() / max(1.0, work.sum()))


def _main_pass_split(
    c: Compiled, plan: Planner, view: _CandidateView, cands: Candidates, order: NDArray[np.int64], split: Split | None
) -> None:
    """:func:`_main_pass` over ``order``, the tasks of about half the
    components in a forked child beside the process's own half. Components
    share no volunteer, so a task's choice depends on its own component's
    bookings alone: the child's bookings, replayed here in its order, make
    the same plan as one pass in order (the same schedule, in about half the
    time). Without a split, or when the child fails, one pass here."""
    from ..forking import forked

    theirs = None if split is None else split_halves(c, cands, order, split)
    if theirs is None:
        _main_pass(c, plan, view, order.tolist())
        return
    mine, other = order[~theirs], order[theirs]
    was = plan.covered.copy()

    def child() -> tuple[list[int], list[int], list[int], list[int]]:
        _main_pass(c, plan, view, other.tolist())
        rows: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
        for t in other.tolist():
            if plan.covered[t] and not was[t]:
                for v in plan.teams[t]:  # (in booking order)
                    rows[0].append(t)
                    rows[1].append(v)
                    rows[2].append(plan.book_start[v][plan.book_task[v].index(t)])
                    rows[3].append(plan.load_of[(t, v)])
        return rows

    wait = forked(child)
    _main_pass(c, plan, view, mine.tolist())
    got = wait() if wait is not None else None
    if got is None:
        _main_pass(c, plan, view, other.tolist())
        return
    for t, v, start, load in zip(*got, strict=True):
        plan.book(t, v, start, load)


def ordered_greedy(
    c: Compiled,
    cands: Candidates,
    base: Solution,
    keep: NDArray[np.bool_],
    order: NDArray[np.int64],
    prefer: NDArray[np.floating[Any]] | None = None,
) -> Solution:
    """A greedy pass in a given task order, on top of ``base``'s assignments of
    the tasks in ``keep`` (e.g. the pinned ones, with ``base``'s dropped pins).

    Each task takes its candidates by ``prefer`` (per candidate row, larger
    first, e.g. an LP's value of the pair) when given, then by linear cost
    (ties by distance), the first
    volunteer (or team with a common start) free given the bookings so far, at
    the earliest such start: the greedy's own main pass
    (:func:`_main_pass`) in another order, on top of
    other bookings.
    """
    rows = np.flatnonzero(keep[base.task])
    plan = planner_of(c, Solution.build(base.task[rows], base.volunteer[rows], base.start[rows]))
    _main_pass(c, plan, _CandidateView(c, cands, prefer), order.tolist())
    t_, v_, s_ = plan.assignments()
    out = Solution.build(t_, v_, s_, list(base.conflicts))
    if cands.complete and len(order) == c.n_tasks:
        note_maximal(c, out)  # a pass over every task: nothing left could be added
    return out


#: :func:`_cheapen` looks at this many visits at most (those of the largest
#: possible savings), so that its Python loop stays a small share of the
#: greedy at province scale: on Shiquan (25,000 tasks) it moves ~360 visits
#: in 0.6 s; on Ankang (250,000 tasks) it takes 1.9 s and the refill after
#: it 6.5 s of the greedy's 36 s (27 s before the pressure preference and
#: this step; ad-hoc timing of ``solve_greedy`` on a generated problem)
CHEAPEN_VISITS = 20_000


def _cheapen(c: Compiled, plan: Planner, cands: Candidates) -> list[int]:
    """After the main pass: each one-volunteer, non-pinned visit moves to a
    cheaper candidate free for it as the bookings stand, when that lowers
    the soft score (its linear pair cost, :func:`assign.score.linear_pair_cost`,
    plus the change of the two volunteers' fairness terms). The main pass
    spares contested volunteers (:func:`pressure_preference`) and so sends
    visits farther than needed; the minutes left at its end are free to take
    them back. Visits by their possible saving, largest first; coverage is
    unchanged (pins too: rule 12 concerns kept pins only). Returns the
    volunteers who gave a visit away."""
    from ..score import fairness_share, linear_pair_cost

    tasks, vols, _ = plan.assignments()
    if not tasks or not len(cands):
        return []
    t_all = np.asarray(tasks, dtype=np.int64)
    v_all = np.asarray(vols, dtype=np.int64)
    cur = linear_pair_cost(c, t_all, v_all)
    low = np.full(c.n_tasks, np.inf)
    has = cands.counts() > 0
    low[has] = np.minimum.reduceat(cands.cost, cands.ptr[:-1][has])
    saving = cur - low[t_all]
    movable = (saving > 1e-9) & (c.t_needed[t_all] == 1) & ~rules.is_pinned(c, t_all, v_all)
    idx = np.flatnonzero(movable)
    idx = idx[np.lexsort((t_all[idx], -saving[idx]))][:CHEAPEN_VISITS]
    w_f = float(c.weights["fairness"])
    max_minutes = c.v_max_minutes
    signs = np.array([1.0, -1.0, 1.0, -1.0])

    moved: list[int] = []
    for i in idx.tolist():
        t, v = int(t_all[i]), int(v_all[i])
        r = cands.rows(t)
        cost = cands.cost[r]
        cheaper = np.flatnonzero(cost < cur[i] - 1e-9)
        if not len(cheaper):
            continue
        cheaper = cheaper[np.argsort(cost[cheaper], kind="stable")]
        others = cands.volunteer[r][cheaper].astype(np.int64)
        loads = cands.load[r][cheaper].astype(np.int64)
        ok = (plan.used[others] + loads <= max_minutes[others]) & (c.v_max_per_day[others] > 0) & (others != v)
        ok &= plan.may_fit(t, others)
        if not ok.any():
            continue
        pos = np.flatnonzero(ok)
        i_v = plan.book_task[v].index(t)
        start_v = plan.book_start[v][i_v]
        load_v = plan.load_of[(t, v)]
        plan.unbook(t, v)
        found = plan.first_free(t, others[pos].tolist())
        if found is not None:
            start, (v2,) = found
            j = int(pos[others[pos].tolist().index(v2)])
            load2 = int(loads[j])
            u_v, u_2 = int(plan.used[v]), int(plan.used[v2])
            # the two volunteers' fairness terms after the move minus before
            fair = fairness_share(c, np.array([v2, v2, v, v]), np.array([u_2 + load2, u_2, u_v, u_v + load_v]))
            delta = float(cost[cheaper[j]]) - float(cur[i]) + w_f * float(fair @ signs)
            if delta < -1e-9:
                plan.book(t, v2, start, load2)
                moved.append(v)
                continue
        plan.book(t, v, start_v, load_v)
    return moved


def _refill(
    c: Compiled,
    plan: Planner,
    view: _CandidateView,
    cands: Candidates,
    order: NDArray[np.int64],
    freed: list[int],
    split: Split | None = None,
) -> None:
    """The minutes and free time :func:`_cheapen`'s moves left behind: the
    main pass again over the uncovered tasks the volunteers who gave visits
    away could take (nothing else changed for the others, so a maximal
    schedule stays maximal); with capped candidates a task's link to them may
    lie outside the cap: over every uncovered task."""
    if not freed:
        return
    near = np.ones(c.n_tasks, dtype=bool)
    if cands.complete:
        gave = np.zeros(c.n_volunteers, dtype=bool)
        gave[freed] = True
        near[:] = False
        near[cands.task[gave[cands.volunteer]]] = True
    _finish(c, plan, view, cands, order[near[order] & ~plan.covered[order]], split)


def cheapen(c: Compiled, cands: Candidates, sol: Solution) -> Solution:
    """``sol`` with its one-volunteer, non-pinned visits moved to cheaper free
    candidates where the soft score falls (:func:`_cheapen`), and the tasks
    that the freed time lets in added (cheapest candidate first, as
    :func:`fill`); ``sol`` itself when nothing moves. Coverage never falls."""
    plan = planner_of(c, sol)
    freed = _cheapen(c, plan, cands)
    if not freed:
        return sol
    _refill(c, plan, _CandidateView(c, cands), cands, _task_order(c), freed)
    return _solution(plan, sol.conflicts)


def _finish(
    c: Compiled,
    plan: Planner,
    view: _CandidateView,
    cands: Candidates,
    order: NDArray[np.int64],
    split: Split | None = None,
) -> None:
    _main_pass_split(c, plan, view, cands, order, split if cands.complete else None)
    if not cands.complete:
        # capped (or partial) candidates may miss the volunteer who could still
        # take a task
        pending = order[~plan.covered[order]]
        if len(pending):
            full = build_candidates(c, tasks=np.sort(pending))
            _main_pass(c, plan, _CandidateView(c, full), pending.tolist())


def _solution(plan: Planner, conflicts: Sequence[tuple[int, int, str]] = ()) -> Solution:
    t, v, s = plan.assignments()
    return Solution.build(t, v, s, list(conflicts))


def solve_greedy(
    c: Compiled,
    cands: Candidates,
    seed: int = 0,
    pressure: NDArray[np.float32] | None = None,
    split: Split | None = None,
) -> Solution:
    """The greedy schedule of ``c`` (always valid; see the module docstring).

    ``seed`` is accepted for the common solver signature; the greedy is fully
    deterministic (ties break on cost, distance, volunteer index, task id).
    ``pressure``: :func:`pressure_preference` of ``cands`` when the caller
    has it already (strategy auto keeps it for its later passes). ``split``:
    the components and workers with which its main passes may run half in a
    forked child (:func:`_main_pass_split`; the same schedule).

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
    view = _CandidateView(c, cands, pressure_preference(c, cands) if pressure is None else pressure)
    pin_view = _CandidateView(c, cands)
    if not cands.complete and len(c.t_pin):
        # mates of pinned teams are sought among all eligible volunteers
        pinned_tasks = np.flatnonzero(np.diff(c.t_pin_ptr))
        pin_view = _CandidateView(c, build_candidates(c, tasks=pinned_tasks))
    conflicts, pending = _place_pins(c, plan, pin_view)
    conflicts += _complete_pin_teams(c, plan, pin_view, pending)
    conflicts = _revisit_dropped(c, plan, conflicts)
    order = _task_order(c)
    _finish(c, plan, view, cands, order, split)
    _refill(c, plan, view, cands, order, _cheapen(c, plan, cands), split)
    out = _solution(plan, conflicts)
    if conflicts:
        out = _repair_kept_pins(c, cands, out)
        out = _strict_pins(c, cands, out)
    note_maximal(c, out)  # one pass over every task: nothing left could be added
    return out


#: rounds of :func:`_repair_kept_pins` at most (one pin put back per round)
REPAIR_ROUNDS = 4
#: and the pins tried per round at most
REPAIR_TRIES = 8

#: which blocking rule a relabelled conflict names first (:func:`rename_conflicts`):
#: the pin's own rules before its collisions with other pins
_RULE_PREFERENCE = (
    "skills", "radius", "community", "exclusion", "window", "availability",
    "pledged_minutes", "daily_limit", "double_booking", "whole_teams",
)


def planner_of(c: Compiled, sol: Solution) -> Planner:
    """A planner with every assignment of ``sol`` booked (the greedy's
    booking state of a schedule)."""
    plan = Planner(c)
    if len(sol):
        loads = rules.assignment_load(c, sol.task, sol.volunteer).tolist()
        for t, v, s, load in zip(sol.task.tolist(), sol.volunteer.tolist(), sol.start.tolist(), loads, strict=True):
            plan.book(t, v, s, load)
    return plan


def _fits_at(plan: Planner, t: int, v: int, start: int, load: int) -> bool:
    """Whether ``v`` can take ``t`` at ``start`` next to the bookings (rules 3, 5, 9-11)."""
    return plan.minutes_left(v, load) and any(a <= start <= b for a, b in plan.free_ranges(v, t))


def _repair_kept_pins(c: Compiled, cands: Candidates, sol: Solution) -> Solution:
    """A safety net for rule 12, after the greedy: a pin that ``sol`` drops
    although the validator finds a start for it alongside the kept pins
    (:func:`assign.check.keepable_pins`; rare, found by fuzzing, e.g. its
    volunteer taken as the mate of another pinned team) is put in at that
    start (:func:`_put_pin_back`) and the schedule is filled again
    (:func:`fill`). One pin per round, the first whose schedule the
    validator finds fewer violations in; none such: ``sol`` as it is."""
    from ..check import keepable_pins, violations

    broken: int | None = None  # violations of ``sol``, counted once
    sol = rename_conflicts(c, sol)
    for _ in range(REPAIR_ROUNDS):
        found = keepable_pins(c, sol)
        if not found:
            return sol
        broken = len(violations(c, sol)) if broken is None else broken
        for t, v, st in found[:REPAIR_TRIES]:
            new = _put_pin_back(c, cands, sol, t, v, st)
            if new is None:
                continue
            new = rename_conflicts(c, fill(c, cands, new))
            found_now = violations(c, new)
            after = len(found_now)
            # (a repair never trades a dropped pin for another broken rule)
            if after < broken and all(x.rule == 12 for x in found_now):
                sol, broken = new, after
                break
        else:
            return sol
    return sol


def _put_pin_back(c: Compiled, cands: Candidates, sol: Solution, t: int, v: int, st: int) -> Solution | None:
    """``sol`` with pin ``(t, v)`` at ``st``: the non-pinned members of ``t``'s
    team leave; ``v``'s non-pinned visits give way (a visit in a team holding
    a kept pin is handed to another candidate free at that team's start, other
    tasks are given up whole); a team task is completed by candidates free at
    ``st``, or freed there the same way (their non-pinned visits outside
    teams with kept pins given up). None when the pin or its team does not
    fit after all."""
    plan = planner_of(c, sol)
    views: dict[int, _CandidateView] = {}

    def rows_of(x: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        # every eligible volunteer of ``x`` (capped candidates may miss the free one)
        if x not in views:
            views[x] = _CandidateView(c, cands if cands.complete else build_candidates(c, tasks=np.array([x])))
        return views[x].rows(x)

    pinned = rules.is_pinned(c, sol.task, sol.volunteer)
    kept = set(zip(sol.task[pinned].tolist(), sol.volunteer[pinned].tolist(), strict=True))

    def in_kept_team(x: int) -> bool:
        return any((x, u) in kept for u in plan.team(x))

    # every booking change, to roll back to a mark: a failed clearing is
    # undone whole, its hand-overs with it (restoring only the visits given
    # up put a volunteer back on a visit at the time of the one handed to
    # her: rule 9, found by fuzzing)
    journal: list[tuple[bool, int, int, int, int]] = []  # (booked, task, volunteer, start, load)

    def book(x: int, w: int, start: int, load: int) -> None:
        plan.book(x, w, start, load)
        journal.append((True, x, w, start, load))

    def unbook(x: int, w: int) -> None:
        start = plan.book_start[w][plan.book_task[w].index(x)]
        load = plan.load_of[(x, w)]
        plan.unbook(x, w)
        journal.append((False, x, w, start, load))

    def rollback(mark: int) -> None:
        while len(journal) > mark:
            booked, x, w, start, load = journal.pop()
            if booked:
                plan.unbook(x, w)
            else:
                plan.book(x, w, start, load)

    def clear(u: int, depth: int = 1) -> None:
        """Give up ``u``'s non-pinned visits: those in teams with kept pins
        handed over to another candidate free then (or, ``depth`` > 0, freed
        the same way), where one is, the others given up whole."""
        for x, start_x in list(zip(plan.book_task[u], plan.book_start[u], strict=True)):
            if (x, u) in kept or x == t:
                continue
            team = plan.team(x)
            if not in_kept_team(x):
                for w in team:
                    unbook(x, w)
                continue
            vols, cand_loads, _ = rows_of(x)
            options = [(w, load) for w, load in zip(vols.tolist(), cand_loads.tolist(), strict=True)
                       if w != u and w not in team]
            taker = next((w for w, load in options if _fits_at(plan, x, w, start_x, load)), None)
            if taker is None and depth > 0:
                for w, load in options:
                    mark = len(journal)
                    clear(w, depth - 1)
                    if _fits_at(plan, x, w, start_x, load):
                        taker = w
                        break
                    rollback(mark)
            if taker is not None:
                unbook(x, u)
                book(x, taker, start_x, int(cand_loads[vols.tolist().index(taker)]))

    for u in list(plan.team(t)):
        if (t, u) not in kept:
            plan.unbook(t, u)
    clear(v)
    load_tv = int(rules.assignment_load(c, np.array([t]), np.array([v]))[0])
    if not _fits_at(plan, t, v, st, load_tv):
        return None
    plan.book(t, v, st, load_tv)
    need = int(c.t_needed[t]) - len(plan.team(t))
    if need > 0:
        vols, loads, _ = rows_of(t)
        rows = list(zip(vols.tolist(), loads.tolist(), strict=True))
        for u, load in rows:
            if need and u not in plan.team(t) and _fits_at(plan, t, u, st, load):
                plan.book(t, u, st, load)
                need -= 1
        for u, load in rows:
            if not need:
                break
            if u in plan.team(t):
                continue
            mark = len(journal)
            clear(u)
            if _fits_at(plan, t, u, st, load):
                plan.book(t, u, st, load)
                need -= 1
                continue
            rollback(mark)
        if need:
            return None
    conflicts = [x for x in sol.conflicts if (x[0], x[1]) != (t, v)]
    return _solution(plan, conflicts)


def rename_conflicts(c: Compiled, sol: Solution) -> Solution:
    """``sol`` with each dropped pin listed under the most telling rule that
    blocks it: the rule it breaks alone, if any (e.g. ``pledged_minutes``
    for a visit longer than the pledge, where ``whole_teams`` was named);
    else, where the named rule does not block it, a rule that does (the
    validator's, :func:`assign.check.misnamed_pins`; the first in
    :data:`_RULE_PREFERENCE`; e.g. ``whole_teams`` for a team pin whose
    volunteer is busy with the kept pins: ``double_booking``). A pin the
    schedule keeps after all is not listed (SPEC §4 rule 12: a pin is in the
    schedule *or* a conflict; one dropped at a step and taken back at a
    later one — e.g. its volunteer made a pinned team's mate — stayed listed:
    an independent audit of stop 57, ``tests/data/pin_kept_after_a_drop.json``)."""
    from ..check import misnamed_pins

    if not sol.conflicts:
        return sol
    kept = set(zip(sol.task.tolist(), sol.volunteer.tolist(), strict=True))
    if any((t, v) in kept for t, v, _ in sol.conflicts):
        sol = Solution(sol.task, sol.volunteer, sol.start, tuple(x for x in sol.conflicts if (x[0], x[1]) not in kept))
        if not sol.conflicts:
            return sol
    ct = np.asarray([x[0] for x in sol.conflicts], dtype=np.int64)
    cv = np.asarray([x[1] for x in sol.conflicts], dtype=np.int64)
    alone = rules.broken_alone(c, ct, cv, np.ones(c.n_tasks, dtype=bool))
    wrong = misnamed_pins(c, sol)
    if not wrong and all(a is None or a == x[2] for a, x in zip(alone, sol.conflicts, strict=True)):
        return sol
    out: list[tuple[int, int, str]] = []
    for (t, v, rule), own in zip(sol.conflicts, alone, strict=True):
        blocking = wrong.get((t, v))
        if own is not None:
            rule = own
        elif blocking is not None and rule not in blocking:
            named = [r for r in _RULE_PREFERENCE if r in blocking]
            rule = named[0] if named else blocking[0]
        if (t, v, rule) not in out:
            out.append((t, v, rule))
    renamed = Solution(sol.task, sol.volunteer, sol.start, tuple(sorted(out)))
    return renamed if len(misnamed_pins(c, renamed)) <= len(wrong) else sol


#: seconds each CP-SAT check of :func:`_strict_pins` may take (tiny models)
STRICT_PIN_SECONDS = 5.0


def _strict_pins(c: Compiled, cands: Candidates, sol: Solution) -> Solution:
    """On small problems (:data:`~assign.solvers.cpsat.STRICT_PIN_PAIRS`),
    rule 12 read strictly: when a pin ``sol`` drops could join its kept pins
    at other starts (:func:`~assign.solvers.cpsat.pins_maximal`, which the
    validator, reading the kept pins at their starts, does not ask), the
    schedule starts again from a maximal set of pins holding the kept ones
    (:func:`~assign.solvers.cpsat.maximal_pins_schedule`) and is filled;
    taken when valid."""
    from ..check import violations
    from .cpsat import STRICT_PIN_PAIRS, maximal_pins_schedule, pins_maximal

    if len(c.t_pin) == 0 or len(cands) > STRICT_PIN_PAIRS:
        return sol
    full = cands if cands.complete else build_candidates(c)
    if pins_maximal(c, full, sol, time_limit=STRICT_PIN_SECONDS) is not False:
        return sol
    base = maximal_pins_schedule(c, full, sol, time_limit=STRICT_PIN_SECONDS)
    if base is None:
        return sol
    new = rename_conflicts(c, fill(c, cands, base))
    return sol if violations(c, new) else new


def book_weeks(c: Compiled, base: Solution, weeks: Sequence[tuple[int, NDArray[np.int64]]]) -> Solution:
    """``base`` with each volunteer's week of visits booked (a dive's weeks,
    :meth:`~assign.solvers.weeks.WeekBound.dive`): the one-volunteer tasks
    not yet covered, in window order, each at the volunteer's earliest free
    start next to the bookings (rules 3, 5, 9-11); then the team tasks not
    yet covered, in window order, each at the earliest start common to a
    team of the volunteers whose weeks hold it (:meth:`Planner.find_team`,
    in the weeks' order). A visit or team that does not fit is left out
    (:func:`fill` may still cover it). Teams after the singles: laocheng's
    tier-2 dive (tiers 1-2, 3 + 4 s; ad hoc, benchmarks/HISTORY.md, stop 46)
    was filled to U2 4,574 against 4,606 with teams left to the fill and
    4,594 with teams first."""
    plan = planner_of(c, base)
    covered = base.covered(c.n_tasks).copy()
    holders: dict[int, list[int]] = {}
    for v, tasks in weeks:
        held = np.unique(tasks).tolist()
        for t in held:
            if c.t_needed[t] > 1 and not covered[t]:
                holders.setdefault(t, []).append(v)
        todo = [t for t in held if not covered[t] and c.t_needed[t] == 1]
        if not todo:
            continue
        todo.sort(key=lambda t: (int(c.t_window_start[t]), t))
        loads = rules.assignment_load(c, np.asarray(todo, dtype=np.int64), np.full(len(todo), v, dtype=np.int64))
        for t, load in zip(todo, loads.tolist(), strict=True):
            if plan.minutes_left(v, int(load)):
                ranges = plan.free_ranges(v, t)
                if ranges:
                    plan.book(t, v, ranges[0][0], int(load))
                    covered[t] = True
    for t in sorted(holders, key=lambda t: (int(c.t_window_start[t]), t)):
        needed = int(c.t_needed[t])
        vols = holders[t]
        if len(vols) < needed:
            continue
        loads = rules.assignment_load(c, np.full(len(vols), t, dtype=np.int64), np.asarray(vols, dtype=np.int64))
        load_of = {v: int(x) for v, x in zip(vols, loads.tolist(), strict=True) if plan.minutes_left(v, int(x))}
        if len(load_of) < needed:
            continue
        found = plan.find_team(t, list(load_of), needed)
        if found is None:
            continue
        start, team = found
        for v in team:
            plan.book(t, v, start, load_of[v])
    return _solution(plan, list(base.conflicts))


def pinned_start(c: Compiled, cands: Candidates) -> Solution:
    """The pins :func:`solve_greedy` keeps, with their teams completed (and the
    dropped pins as conflicts): the greedy before its main pass."""
    plan = Planner(c)
    view = _CandidateView(c, cands)
    if not cands.complete and len(c.t_pin):
        pinned_tasks = np.flatnonzero(np.diff(c.t_pin_ptr))
        view = _CandidateView(c, build_candidates(c, tasks=pinned_tasks))
    conflicts, pending = _place_pins(c, plan, view)
    conflicts += _complete_pin_teams(c, plan, view, pending)
    conflicts = _revisit_dropped(c, plan, conflicts)
    return _solution(plan, conflicts)


# ------------------------------------------------------------ maximal schedules

#: schedules known to be *maximal* (no uncovered task could be added as they
#: stand), per problem: (problem, schedule) weak references, newest last
_MAXIMAL: list[tuple[weakref.ref[Compiled], weakref.ref[Solution]]] = []
#: how many are remembered
MAXIMAL_KEPT = 4


def note_maximal(c: Compiled, sol: Solution) -> None:
    """Record that no uncovered task of ``c`` could be added to ``sol`` as it
    stands (e.g. ``sol`` is the result of a greedy pass over every task with
    complete candidates). :func:`fill` then returns ``sol`` itself, and fills
    other schedules of ``c`` starting from what differs from it. Held by weak
    reference: nothing is kept alive."""
    _MAXIMAL[:] = [(rc, rs) for rc, rs in _MAXIMAL if rc() is not None and rs() is not None and rs() is not sol]
    _MAXIMAL.append((weakref.ref(c), weakref.ref(sol)))
    del _MAXIMAL[:-MAXIMAL_KEPT]


def _maximal_of(c: Compiled) -> list[Solution]:
    """The remembered maximal schedules of ``c``, newest first."""
    out = []
    for rc, rs in reversed(_MAXIMAL):
        got = rs()
        if rc() is c and got is not None:
            out.append(got)
    return out


def _changed_rows(
    c: Compiled, cands: Candidates, plan: Planner, sol: Solution, ref: Solution
) -> tuple[Candidates, NDArray[np.bool_]]:
    """What :func:`fill` must try on ``sol`` (booked in ``plan``), given a
    maximal schedule ``ref`` of the same problem and complete candidates: the
    candidate rows (a partial :class:`Candidates`) and the tasks.

    Volunteers who lost an assignment from ``ref`` to ``sol`` are *loosened*;
    every other volunteer has in ``sol`` every booking they have in ``ref``
    (no more free time, minutes or daily room). A task uncovered in both
    could not be added to ``ref``: alone, none of its volunteers was free, so
    in ``sol`` only a loosened one can be (its rows: the loosened ones); a
    team needs a loosened member (its rows: all). A task ``ref`` covers and
    ``sol`` does not keeps all its rows. Rows whose volunteer has no minutes
    left for them are dropped (minutes only run out). The greedy takes, per
    task, the first free volunteer (or team) in its order, so trying these
    rows gives exactly what trying all would."""
    n_vol = c.n_volunteers
    span = int(c.horizon_minutes) + 1

    def keys(x: Solution) -> NDArray[np.int64]:
        return (x.task.astype(np.int64) * n_vol + x.volunteer) * span + x.start

    lost = ~np.isin(keys(ref), keys(sol))
    loosened = np.zeros(n_vol, dtype=bool)
    loosened[ref.volunteer[lost]] = True
    cov = sol.covered(c.n_tasks)
    every_row = ~cov & ref.covered(c.n_tasks)
    hit = np.flatnonzero(loosened[cands.volunteer])
    hit = hit[~cov[cands.task[hit]]]
    team_hit = np.zeros(c.n_tasks, dtype=bool)
    team_hit[cands.task[hit]] = True
    every_row |= team_hit & (c.t_needed > 1)
    # (as a mask over the rows: np.union1d's unique over Shiquan's ~6 M took
    # ~1 s of the final fill)
    take = every_row[cands.task]
    take[hit] = True
    rows = np.flatnonzero(take)
    vol = cands.volunteer[rows]
    rows = rows[plan.used[vol] + cands.load[rows] <= c.v_max_minutes[vol]]
    sub = cands.subset(rows)
    todo = ~cov & (np.diff(sub.ptr) >= c.t_needed)
    return sub, todo


def fill(c: Compiled, cands: Candidates, sol: Solution, split: Split | None = None) -> Solution:
    """Extend a valid solution greedily: every uncovered task that can still be
    added (in the greedy's urgency order) is added. Keeps ``sol``'s assignments
    and conflicts; the result has no uncovered task that could be added.

    A schedule known to be maximal (:func:`note_maximal`) is returned as is;
    with complete candidates and a maximal schedule of the same problem on
    record, only the tasks and candidates :func:`_changed_rows` names are
    tried (the same result, without re-proving that the others cannot be
    added). ``split``: as in :func:`solve_greedy` (the same result)."""
    known = _maximal_of(c)
    if any(x is sol for x in known):
        return sol
    plan = planner_of(c, sol)
    order = _task_order(c)
    if known and cands.complete:
        rows, todo = _changed_rows(c, cands, plan, sol, known[0])
        _main_pass_split(c, plan, _CandidateView(c, rows), rows, order[todo[order]], split)
    else:
        _finish(c, plan, _CandidateView(c, cands), cands, order, split)
    out = _solution(plan, sol.conflicts)
    if out.conflicts and len(out) > len(sol):
        # a pin listed as dropped that the fill put back is no longer a conflict
        held = set(zip(out.task.tolist(), out.volunteer.tolist(), strict=True))
        left = tuple(x for x in out.conflicts if (x[0], x[1]) not in held)
        if len(left) < len(out.conflicts):
            out = Solution(out.task, out.volunteer, out.start, left)
    if len(out) == len(sol):  # nothing added: ``sol`` itself is maximal
        note_maximal(c, sol)
    note_maximal(c, out)
    return out
