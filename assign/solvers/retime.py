"""Insertion with re-timing: cover a task by moving one volunteer's visits.

The greedy and ``fill`` insert a visit only into a gap of a volunteer's day
as it is; visits placed at the start of their own windows leave gaps too
short for anything. :func:`insert_retimed` tries, for each uncovered task
(in the given order), each candidate volunteer with pledged minutes to spare
and each availability interval (*block*) of theirs that can hold the visit:
the block's visits keep their order, the new one goes into each position in
turn, and every visit is started as early as it can (window, travel from
the previous visits, the block's start). Team visits keep their start (their
partners are elsewhere). The first arrangement that fits the block, the
travel to the volunteer's visits before and after the block, the pledge and
the day's limit is taken.

A team (``t_needed > 1``) needs one start shared by a block of each member:
the sieve below gives each candidate block the starts it may take; where
enough candidates' ranges meet, the exact test runs with the new visit at
that start, per candidate, until the team is whole (since 2026-12-01).

Most blocks tried take nothing (Shiquan: ~0.1 %), so a necessary test runs
first (:class:`_Sieve`: travel by a lower bound, between neighbours in time,
earliest ends and latest starts cached per block): the same schedules, a
whole pass on Shiquan in ~2.4 s instead of ~15 s.

Every accepted schedule is still checked by the caller
(:func:`assign.check.violations`), as everything auto offers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..candidates import Candidates
from ..compile import EARTH_RADIUS_KM, Compiled
from ..rules import TRAVEL_TOLERANCE
from ..solution import Solution
from .weeks import block_visits

I64 = NDArray[np.int64]
_NO_LIMIT = 1 << 62
#: whether the exact test of a block runs only after :class:`_Sieve`'s
#: necessary one (off: the same schedules, ~6x slower on Shiquan)
SIEVE = True
#: whether teams are inserted too (a start shared by a block of each member)
TEAMS = True
#: whether a task that fits nowhere may take the place of a visit that moves
#: to another volunteer, or of a visit worth less (:meth:`_Inserter.eject_one`)
EJECT = True
#: the visits whose places elsewhere one ejection seeks at most (each costs a
#: search over their candidates' blocks; known failures are free). A whole
#: pass on Shiquan from the LP-guided schedule (ad hoc, 2026-12-01): 22.1 s
#: without a cap, U3 / U4 55,198 / 21,087; 8: 15.6 s, 55,221 / 21,434; 4:
#: 14.5 s, 55,269 / 21,695; 1: 11.4 s, 55,585 / 22,184 (U2 28,447 in all)
EJECT_LOOKS = 8
#: the shared starts tried per team at most (where enough members' sieve
#: ranges meet, earliest first)
TEAM_STARTS = 8
#: a visit as the insertion sees it: (task, start, fixed, row of the schedule or -1)
Visit = tuple[int, int, bool, int]


def insert_retimed(
    c: Compiled,
    cands: Candidates,
    sol: Solution,
    order: I64,
    deadline: float | None = None,
    max_trials: int | None = None,
    tried: list[int] | None = None,
) -> Solution:
    """``sol`` with the uncovered tasks of ``order`` inserted, in that order,
    where re-timing one block of each volunteer makes room (a team: the same
    start in a block of each of its members); stops at ``deadline``
    (``time.perf_counter()``) or after ``max_trials`` blocks tried (a budget
    that does not depend on the machine's speed). The number of blocks
    tried is appended to ``tried`` when given."""
    ins = _Inserter(c, cands, sol)
    for t in order.tolist():
        if deadline is not None and time.perf_counter() > deadline:
            break
        if max_trials is not None and ins.trials >= max_trials:
            break
        if ins.covered[t]:
            continue
        if c.t_needed[t] == 1:
            if not ins.insert_one(t) and EJECT:
                ins.eject_one(t)
        elif TEAMS:
            ins.insert_team(t)
    if tried is not None:
        tried.append(ins.trials)
    return ins.solution()


#: the new visit in an :data:`Arrangement` (-1 is a visit inserted before)
NEW = -2
#: an arrangement of a block: (its visits with the new one, in order, as rows
#: of the schedule, -1 for visits inserted before and :data:`NEW`; their starts)
Arrangement = tuple[list[int], list[int]]


class _Inserter:
    """The state of :func:`insert_retimed`: the schedule's starts (updated in
    place), the inserted visits, minutes, visits per day, free minutes per
    block, and the caches of each volunteer's visits and of the sieve."""

    def __init__(self, c: Compiled, cands: Candidates, sol: Solution) -> None:
        self.c, self.cands, self.sol = c, cands, sol
        self.travel = rules.RecipientTravel(c)
        task = sol.task.astype(np.int64)
        vol = sol.volunteer.astype(np.int64)
        self.task, self.vol = task, vol
        self.start = start = sol.start.astype(np.int64).copy()
        load = rules.assignment_load(c, task, vol)
        self.used = np.bincount(vol, weights=load, minlength=c.n_volunteers).astype(np.int64)
        self.fixed_row = (c.t_needed[task] > 1).tolist()
        # per volunteer: rows of sol by start (``start`` is updated in place)
        by_vol = np.lexsort((start, vol))
        self.visits = {
            int(vol[g[0]]): g.tolist() for g in np.split(by_vol, np.flatnonzero(np.diff(vol[by_vol])) + 1) if len(g)
        }
        self.row_task = task.tolist()
        self.extra: dict[int, list[tuple[int, int]]] = {}  # volunteer -> [(task, start)] inserted here
        self.covered = sol.covered(c.n_tasks)
        # visits per (volunteer, day), for a quick test of rule 11 before any block
        self.n_days = n_days = max(1, c.n_days)
        row_day = np.clip(rules.day_of(c, start), 0, n_days - 1)
        self.day_count = np.zeros((c.n_volunteers, n_days), dtype=np.int64)
        np.add.at(self.day_count, (vol, row_day), 1)
        self.t_day0 = rules.day_of(c, c.t_window_start)
        self.t_day1 = rules.day_of(c, c.t_window_end - 1)
        # minutes of each block not taken by visits (a quick necessary test)
        span = int(c.horizon_minutes) + 2
        owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
        ekeys = owner * span + c.av_end
        blk_of = np.searchsorted(ekeys, vol * span + start, side="right")
        self.block_free = (c.av_end - c.av_start).astype(np.int64)
        inb = blk_of < len(ekeys)
        np.subtract.at(self.block_free, blk_of[inb], c.t_duration[task[inb]])
        self.one_day = rules.day_of(c, c.av_start) == rules.day_of(c, c.av_end - 1)
        self.ws, self.we, self.dur = c.t_window_start.tolist(), c.t_window_end.tolist(), c.t_duration.tolist()
        # per block: its start, end, day and the day's bounds
        day_starts = np.append(c.day_starts, 1 << 62).astype(np.int64)
        d0 = np.searchsorted(c.day_starts, c.av_start, side="right") - 1
        self.blk = list(
            zip(
                c.av_start.tolist(), c.av_end.tolist(), d0.tolist(),
                day_starts[d0].tolist(), day_starts[d0 + 1].tolist(), strict=True,
            )
        )
        self.sieve = _Sieve(c)
        self.mine_cache: dict[int, list[Visit]] = {}
        self.trials = 0
        # for ejections: rows given up, their blocks, loads and days; tasks with pins
        self.removed = np.zeros(len(task), dtype=bool)
        self.row_block = np.where(inb, blk_of, -1).tolist()
        self.row_load = load.astype(np.int64).tolist()
        self.row_day = row_day.tolist()
        # (a task with pins is never moved nor given up, kept pin or not: its
        # dropped pins' reasons were judged against where it is)
        self.has_pin = (np.diff(c.t_pin_ptr) > 0).tolist()
        self.tier, self.weight = c.t_tier.tolist(), c.t_weight.tolist()
        # tasks known not to fit any other volunteer (until one of their candidates changes)
        self.stuck: set[int] = set()
        self.watch: dict[int, list[int]] = {}

    def mine(self, v: int) -> list[Visit]:
        """The volunteer's visits (task, start, fixed, row of sol or -1) by start."""
        got = self.mine_cache.get(v)
        if got is None:
            start, row_task, fixed_row = self.start, self.row_task, self.fixed_row
            removed = self.removed
            got = [(row_task[r], int(start[r]), fixed_row[r], r) for r in self.visits.get(v, []) if not removed[r]]
            got += [(x, s, True, -1) for x, s in self.extra.get(v, [])]  # inserted ones: fixed
            got.sort(key=lambda z: z[1])
            self.mine_cache[v] = got
        return got

    def blocks(self, t: int, room: bool = True) -> tuple[I64, I64, I64]:
        """(volunteer, load, block) of the candidates of ``t`` in their blocks
        that hold the visit (window and block) and lie within one day
        (re-timing must not move a visit to another day); with ``room``, only
        candidates with minutes and the day's room left and blocks with as
        many minutes free (without: for an ejection, which frees some)."""
        c = self.c
        rows = self.cands.rows(t)
        cv = self.cands.volunteer[rows].astype(np.int64)
        cl = self.cands.load[rows].astype(np.int64)
        if room:
            ok = self.used[cv] + cl <= c.v_max_minutes[cv]
            if self.t_day0[t] == self.t_day1[t] and 0 <= self.t_day0[t] < self.n_days:
                ok &= self.day_count[cv, self.t_day0[t]] < c.v_max_per_day[cv]
            cv, cl = cv[ok], cl[ok]
        got = block_visits(c, np.full(len(cv), t, dtype=np.int64), cv, _NO_LIMIT)
        assert got is not None  # no limit
        which, blocks = got[0], got[1]
        good = self.one_day[blocks]
        if room:
            good &= self.block_free[blocks] >= self.dur[t]
        return cv[which[good]], cl[which[good]], blocks[good]

    def day(self, v: int, b: int) -> tuple[int, int, int, int, int] | None:
        """(block start, block end, day, day start, next day's start) of block
        ``b``, or None when ``v``'s visits that day are at the daily limit."""
        got = self.blk[b]
        if self.day_count[v, got[2]] >= self.c.v_max_per_day[v]:
            return None
        return got

    def arrange(
        self, t: int, v: int, A: int, B: int, day_lo: int, day_hi: int, at: int | None, mine: list[Visit] | None = None
    ) -> Arrangement | None:
        """The exact test: the first position in block ``[A, B)`` of ``v``
        where the new visit of ``t`` fits with every visit of the block
        started as early as it can (team and inserted visits, and the new one
        when ``at`` is given, at their own start), travel between every two
        of the day's visits respected; None when no position does. ``mine``:
        ``v``'s visits when not :meth:`mine`'s (one left out, for an ejection)."""
        ws_all, we_all, dur_all = self.ws, self.we, self.dur
        if mine is None:
            mine = self.mine(v)
        inside = [z for z in mine if A <= z[1] < B]
        before = [z for z in mine if day_lo <= z[1] < A]
        after = [z for z in mine if B <= z[1] < day_hi]
        # travel between every two of: the block's visits, the new one,
        # the day's visits before and after the block (rule 9 is pairwise)
        group = [z[0] for z in inside] + [t] + [z[0] for z in before] + [z[0] for z in after]
        recs = self.c.t_recipient[np.asarray(group, dtype=np.int64)].astype(np.int64)
        m = len(recs)
        tm = self.travel.table(recs).tolist()
        n_in = len(inside)
        i_new = n_in
        i_before = range(n_in + 1, n_in + 1 + len(before))
        i_after = range(n_in + 1 + len(before), m)
        ends_before = [(i, z[1] + dur_all[z[0]]) for i, z in zip(i_before, before, strict=True)]
        for pos in range(n_in + 1):
            seq = list(range(pos)) + [i_new] + list(range(pos, n_in))
            placed = list(ends_before)
            starts: list[int] = []
            ok = True
            for i in seq:
                if i == i_new:
                    x, s_fix, fx = t, (0 if at is None else at), at is not None
                else:
                    x, s_fix, fx = inside[i][0], inside[i][1], inside[i][2]
                ready = A
                for j, e in placed:
                    ready = max(ready, e + tm[j][i])
                if fx:
                    if s_fix < ready or s_fix < ws_all[x]:
                        ok = False
                        break
                    s = s_fix
                else:
                    s = max(ready, ws_all[x])
                if s + dur_all[x] > min(we_all[x], B):
                    ok = False
                    break
                starts.append(s)
                placed.append((i, s + dur_all[x]))
            if ok:
                for q, z in zip(i_after, after, strict=True):
                    if any(e + tm[j][q] > z[1] for j, e in placed):
                        ok = False
                        break
            if ok:
                rows = [NEW if i == i_new else inside[i][3] for i in seq]
                return rows, starts
        return None

    def book(self, t: int, v: int, load: int, b: int, d0: int, arr: Arrangement) -> None:
        """Insert ``t`` for ``v`` in block ``b`` and re-time the block's visits."""
        for r, s in zip(*arr, strict=True):
            if r == NEW:
                self.extra.setdefault(v, []).append((t, s))
            elif r >= 0:  # (visits inserted before, row -1, keep their start)
                self.start[r] = s
        self.used[v] += load
        self.day_count[v, d0] += 1
        self.block_free[b] -= self.dur[t]
        self.covered[t] = True
        self.changed(v)

    def changed(self, v: int, freed_day: int = -1) -> None:
        """Forget what is known of ``v``'s visits and, when a visit of ``v``
        on day ``freed_day`` was given up, which tasks of that day were found
        to fit no other volunteer than their own where ``v`` is a candidate.
        (A visit added elsewhere, its block re-timed, may in rare cases make
        room too; such tasks stay skipped until a visit is freed near them: a
        search heuristic, never a rule.)"""
        self.mine_cache.pop(v, None)
        self.sieve.changed(v)
        if freed_day >= 0:
            for x in self.watch.pop(v * self.n_days + freed_day, []):
                self.stuck.discard(x)

    def drop(self, r: int) -> None:
        """Give up row ``r`` of the schedule."""
        v, t = int(self.vol[r]), self.row_task[r]
        self.removed[r] = True
        self.used[v] -= self.row_load[r]
        self.day_count[v, self.row_day[r]] -= 1
        self.block_free[self.row_block[r]] += self.dur[t]
        self.covered[t] = False
        self.changed(v, self.row_day[r])

    def find_one(self, t: int, other_than: int = -1) -> tuple[int, int, int, int, Arrangement] | None:
        """(volunteer, load, block, day, arrangement) of the first candidate
        block (of a volunteer other than ``other_than``) that takes ``t``."""
        for v, lv, b in zip(*(x.tolist() for x in self.blocks(t)), strict=True):
            if v == other_than:
                continue
            self.trials += 1
            got = self.day(v, b)
            if got is None:
                continue
            A, B, d0, day_lo, day_hi = got
            if SIEVE and not self.sieve.may_fit(t, v, b, self.mine(v), A, B, day_lo, day_hi):
                continue
            arr = self.arrange(t, v, A, B, day_lo, day_hi, None)
            if arr is not None:
                return v, lv, b, d0, arr
        return None

    def insert_one(self, t: int) -> bool:
        """``t`` (one volunteer) into the first candidate block that takes it."""
        got = self.find_one(t)
        if got is None:
            return False
        v, lv, b, d0, arr = got
        self.book(t, v, lv, b, d0, arr)
        return True

    def better(self, t: int, x: int) -> bool:
        """Covering ``t`` instead of ``x`` improves U (SPEC §6: lexicographic by tier)."""
        return self.tier[t] < self.tier[x] or (self.tier[t] == self.tier[x] and self.weight[t] > self.weight[x])

    def elsewhere(self, x: int, v: int) -> tuple[int, int, int, int, Arrangement] | None:
        """Where ``x`` (now with ``v``) could go instead, with another volunteer;
        failures remembered until one of ``x``'s candidates changes."""
        if x in self.stuck:
            return None
        got = self.find_one(x, other_than=v)
        if got is None:
            self.stuck.add(x)
            days = range(max(0, int(self.t_day0[x])), min(self.n_days - 1, int(self.t_day1[x])) + 1)
            for u in self.cands.volunteer[self.cands.rows(x)].tolist():
                for d in days:
                    self.watch.setdefault(u * self.n_days + d, []).append(x)
        return got

    def eject_one(self, t: int) -> bool:
        """``t`` (one volunteer) in place of a one-volunteer visit ``x`` of a
        candidate's block (re-timed): ``x`` moves to another volunteer where
        it fits (U falls by ``t``'s weight), or, when ``t`` is worth more
        (:meth:`better`), is given up. Team visits and the visits of tasks with
        pins stay."""
        du = self.dur[t]
        max_minutes = self.c.v_max_minutes
        looked = 0  # visits whose other places were sought for t
        for v, lv, b in zip(*(x.tolist() for x in self.blocks(t, room=False)), strict=True):
            A, B, d0, day_lo, day_hi = self.blk[b]
            visits = self.mine(v)
            for x, _, fixed, r in visits:
                if fixed or r < 0 or not A <= self.start[r] < B or self.has_pin[x]:
                    continue
                if self.block_free[b] + self.dur[x] < du or self.used[v] - self.row_load[r] + lv > max_minutes[v]:
                    continue
                swap = self.better(t, x)
                if not swap and (x in self.stuck or looked >= EJECT_LOOKS):
                    continue
                self.trials += 1
                without = [z for z in visits if z[3] != r]
                arr = None
                if not SIEVE or self.sieve.may_fit(t, v, b, without, A, B, day_lo, day_hi, cache=False):
                    arr = self.arrange(t, v, A, B, day_lo, day_hi, None, without)
                if arr is None:
                    continue
                # (where x could go does not depend on v's visits)
                looked += x not in self.stuck
                spot = self.elsewhere(x, v)
                if spot is None and not swap:
                    continue
                self.drop(r)
                self.book(t, v, lv, b, d0, arr)
                if spot is not None:
                    self.book(x, *spot)
                return True
        return False

    def insert_team(self, t: int) -> bool:
        """``t`` (a team) at one start in a block of each of ``t_needed``
        distinct candidates. The sieve gives each candidate block the starts
        it may take (ranges); the starts where enough candidates' ranges meet
        are tried earliest first (at most :data:`TEAM_STARTS`), each with the
        exact test per candidate in candidate order until the team is whole."""
        need = int(self.c.t_needed[t])
        spans: list[tuple[int, int, int, int, int]] = []  # (lo, hi, candidate index, volunteer, block)
        ctx: dict[int, tuple[int, int, int, int, int, int, int]] = {}  # index -> (load, block, A, B, d0, day_lo, day_hi)
        vols, loads, blocks = self.blocks(t)
        for i, (v, lv, b) in enumerate(zip(vols.tolist(), loads.tolist(), blocks.tolist(), strict=True)):
            self.trials += 1
            got = self.day(v, b)
            if got is None:
                continue
            A, B, d0, day_lo, day_hi = got
            for lo, hi in self.sieve.ranges(t, v, b, self.mine(v), A, B, day_lo, day_hi):
                spans.append((lo, hi, i, v, b))
            ctx[i] = (lv, b, A, B, d0, day_lo, day_hi)
        if len({z[3] for z in spans}) < need:
            return False
        tried = 0
        for s in sorted({z[0] for z in spans}):
            here = sorted({(z[2], z[3]) for z in spans if z[0] <= s <= z[1]})  # candidate order
            if len(here) < need:
                continue
            tried += 1
            if tried > TEAM_STARTS:
                break
            team: list[tuple[int, int, Arrangement]] = []
            for i, v in here:
                lv, b, A, B, d0, day_lo, day_hi = ctx[i]
                arr = self.arrange(t, v, A, B, day_lo, day_hi, s)
                if arr is not None:
                    team.append((i, v, arr))
                    if len(team) == need:
                        break
            if len(team) == need:
                for i, v, arr in team:
                    lv, b, _, _, d0, _, _ = ctx[i]
                    self.book(t, v, lv, b, d0, arr)
                return True
        return False

    def solution(self) -> Solution:
        if not self.extra and not self.removed.any():
            return self.sol
        added = np.array([(t, v, s) for v, got_v in self.extra.items() for t, s in got_v], dtype=np.int64)
        added = added.reshape(-1, 3)
        keep = ~self.removed
        return Solution.build(
            np.concatenate((self.task[keep], added[:, 0])),
            np.concatenate((self.vol[keep], added[:, 1])),
            np.concatenate((self.start[keep], added[:, 2])),
            list(self.sol.conflicts),
        )


class _Sieve:
    """A necessary test of :func:`insert_retimed`'s exact one, in plain Python
    and cached per block: travel by a lower bound (the chord between the
    recipients' unit vectors is never longer than the great circle), and only
    between neighbours in time. Per block (until its volunteer changes): the
    block's visits' earliest ends (from the block's start and the day's last
    visit before it) and latest starts (to the block's end and the day's
    first visit after it). A position for the new visit passes when, started
    after its predecessor's earliest end plus travel and inside its window
    and the block, it ends, plus travel, by its successor's latest start.
    Every arrangement the exact test accepts passes (its starts are the
    earliest with the true travel between every two visits, which only makes
    them later), so the sieve changes nothing the insertion does, only how
    many exact tests run (Shiquan: ~0.1 % of the blocks tried take a visit)."""

    def __init__(self, c: Compiled) -> None:
        self.xyz = c.r_xyz.tolist()
        self.rec = c.t_recipient.tolist()
        self.ws, self.we, self.dur = c.t_window_start.tolist(), c.t_window_end.tolist(), c.t_duration.tolist()
        # minutes per unit chord, a hair low so that rounding never lifts the bound
        self.per_chord = 60.0 * EARTH_RADIUS_KM * float(c.detour_factor) / float(c.speed_kmh) * (1.0 - 1e-9)
        self.blocks: dict[int, _Chain] = {}
        self.of_vol: dict[int, list[int]] = {}

    def changed(self, v: int) -> None:
        """Forget the blocks of ``v`` (a visit was inserted, others re-timed)."""
        for b in self.of_vol.pop(v, []):
            self.blocks.pop(b, None)

    def travel(self, ra: int, rb: int) -> int:
        """A lower bound of the travel minutes from recipient ``ra`` to ``rb``
        (:func:`assign.rules.travel_minutes` of a shorter distance)."""
        a, b = self.xyz[ra], self.xyz[rb]
        chord = math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)
        return max(0, math.ceil(self.per_chord * chord - TRAVEL_TOLERANCE))

    def _chain(
        self, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int, cache: bool = True
    ) -> _Chain:
        got = self.blocks.get(b) if cache else None
        if got is not None:
            return got
        rec, ws, we, dur = self.rec, self.ws, self.we, self.dur
        before = [z for z in mine if day_lo <= z[1] < A]
        inside = [z for z in mine if A <= z[1] < B]
        after = [z for z in mine if B <= z[1] < day_hi]
        first = max(before, key=lambda z: z[1] + dur[z[0]]) if before else None
        pred = (rec[first[0]], first[1] + dur[first[0]]) if first else None
        succ = (rec[after[0][0]], after[0][1]) if after else None
        recs = [rec[z[0]] for z in inside]
        ends: list[int] = []
        prev = pred
        for (x, s, fixed, _), r in zip(inside, recs, strict=True):
            ready = A if prev is None else max(A, prev[1] + self.travel(prev[0], r))
            end = (s if fixed else max(ready, ws[x])) + dur[x]
            ends.append(end)
            prev = (r, end)
        latest = [0] * len(inside)
        nxt = succ
        for i in range(len(inside) - 1, -1, -1):
            x, s, fixed, _ = inside[i]
            end_by = min(B, we[x]) if nxt is None else min(B, we[x], nxt[1] - self.travel(recs[i], nxt[0]))
            latest[i] = s if fixed else end_by - dur[x]
            nxt = (recs[i], latest[i])
        got = _Chain(pred, succ, recs, ends, latest)
        if cache:
            self.blocks[b] = got
            self.of_vol.setdefault(v, []).append(b)
        return got

    def _positions(
        self, t: int, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int, cache: bool
    ) -> Iterator[tuple[int, int]]:
        """Per position in the block, the starts ``[lo, hi]`` of ``t`` that
        the exact test may accept there (empty ranges left out)."""
        ch = self._chain(v, b, mine, A, B, day_lo, day_hi, cache)
        r, du, ws = self.rec[t], self.dur[t], self.ws[t]
        hi = min(B, self.we[t])
        n = len(ch.recs)
        for k in range(n + 1):
            pred = ch.pred if k == 0 else (ch.recs[k - 1], ch.ends[k - 1])
            lo = max(A, ws) if pred is None else max(A, ws, pred[1] + self.travel(pred[0], r))
            if lo + du > hi:
                return  # (later positions start no earlier)
            succ = ch.succ if k == n else (ch.recs[k], ch.latest[k])
            last = hi - du if succ is None else min(hi - du, succ[1] - self.travel(r, succ[0]) - du)
            if lo <= last:
                yield lo, last

    def ranges(
        self, t: int, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int
    ) -> list[tuple[int, int]]:
        """The starts ``[lo, hi]``, one range per position in the block, that
        the exact test may accept for ``t`` at a given start (outside them it
        does not)."""
        return list(self._positions(t, v, b, mine, A, B, day_lo, day_hi, True))

    def may_fit(
        self, t: int, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int, cache: bool = True
    ) -> bool:
        """False only when no position of block ``b`` takes task ``t`` (with
        ``v``'s visits ``mine``; ``cache``: they are the volunteer's own, and
        the block's chain is kept until :meth:`changed`)."""
        return next(self._positions(t, v, b, mine, A, B, day_lo, day_hi, cache), None) is not None


@dataclass
class _Chain:
    """A block's visits as :class:`_Sieve` sees them."""

    pred: tuple[int, int] | None  # (recipient, end) of the day's last visit before the block
    succ: tuple[int, int] | None  # (recipient, start) of the day's first visit after it
    recs: list[int]  # the block's visits' recipients, by start
    ends: list[int]  # their earliest ends
    latest: list[int]  # their latest starts
