"""Insertion with re-timing: cover a task by moving one volunteer's visits.

The greedy and ``fill`` insert a visit only into a gap of a volunteer's day
as it is; visits placed at the start of their own windows leave gaps too
short for anything. :func:`insert_retimed` tries, for each uncovered task of
one volunteer (in the given order), each candidate volunteer with pledged
minutes to spare and each availability interval (*block*) of theirs that can
hold the visit: the block's visits keep their order, the new one goes into
each position in turn, and every visit is started as early as it can
(window, travel from the previous visit, the block's start). Team visits keep
their start (their partners are elsewhere). The first arrangement that fits
the block, the travel to the volunteer's visits before and after the block,
the pledge and the day's limit is taken.

Every accepted schedule is still checked by the caller
(:func:`assign.check.violations`), as everything auto offers.
"""

from __future__ import annotations

import math
import time
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
#: a visit as the insertion sees it: (task, start, fixed, row of the schedule or -1)
Visit = tuple[int, int, bool, int]


def insert_retimed(
    c: Compiled,
    cands: Candidates,
    sol: Solution,
    order: I64,
    deadline: float | None = None,
    max_trials: int | None = None,
) -> Solution:
    """``sol`` with the tasks of ``order`` (uncovered, one volunteer needed)
    inserted where re-timing one block of one volunteer makes room; stops at
    ``deadline`` (``time.perf_counter()``) or after ``max_trials`` blocks tried
    (a budget that does not depend on the machine's speed)."""
    travel = rules.RecipientTravel(c)
    task = sol.task.astype(np.int64)
    vol = sol.volunteer.astype(np.int64)
    start = sol.start.astype(np.int64).copy()
    load = rules.assignment_load(c, task, vol)
    used = np.bincount(vol, weights=load, minlength=c.n_volunteers).astype(np.int64)
    fixed_row = c.t_needed[task] > 1
    # per volunteer: rows of sol by start (``start`` is updated in place)
    by_vol = np.lexsort((start, vol))
    visits = {int(vol[g[0]]): g.tolist() for g in np.split(by_vol, np.flatnonzero(np.diff(vol[by_vol])) + 1) if len(g)}
    row_task = task.tolist()
    extra: dict[int, list[tuple[int, int]]] = {}  # volunteer -> [(task, start)] inserted here
    covered = sol.covered(c.n_tasks)
    # visits per (volunteer, day), for a quick test of rule 11 before any block
    n_days = max(1, c.n_days)
    day_count = np.zeros((c.n_volunteers, n_days), dtype=np.int64)
    np.add.at(day_count, (vol, np.clip(rules.day_of(c, start), 0, n_days - 1)), 1)
    t_day0 = rules.day_of(c, c.t_window_start)
    t_day1 = rules.day_of(c, c.t_window_end - 1)
    # minutes of each block not taken by visits (a quick necessary test)
    span = int(c.horizon_minutes) + 2
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
    ekeys = owner * span + c.av_end
    blk_of = np.searchsorted(ekeys, vol * span + start, side="right")
    block_free = (c.av_end - c.av_start).astype(np.int64)
    inb = blk_of < len(ekeys)
    np.subtract.at(block_free, blk_of[inb], c.t_duration[task[inb]])
    one_day = rules.day_of(c, c.av_start) == rules.day_of(c, c.av_end - 1)
    ws_all, we_all, dur_all = c.t_window_start, c.t_window_end, c.t_duration
    day_starts = c.day_starts
    sieve = _Sieve(c)
    mine_cache: dict[int, list[Visit]] = {}

    def mine_of(v: int) -> list[Visit]:
        """The volunteer's visits (task, start, fixed, row of sol or -1) by start."""
        got = mine_cache.get(v)
        if got is None:
            got = [(row_task[r], int(start[r]), bool(fixed_row[r]), r) for r in visits.get(v, [])]
            got += [(x, s, True, -1) for x, s in extra.get(v, [])]  # inserted ones: fixed
            got.sort(key=lambda z: z[1])
            mine_cache[v] = got
        return got

    trials = 0
    for t in order.tolist():
        if deadline is not None and time.perf_counter() > deadline:
            break
        if max_trials is not None and trials >= max_trials:
            break
        if covered[t] or c.t_needed[t] != 1:
            continue
        du = int(dur_all[t])
        rows = cands.rows(t)
        cv = cands.volunteer[rows].astype(np.int64)
        cl = cands.load[rows].astype(np.int64)
        room = used[cv] + cl <= c.v_max_minutes[cv]
        if t_day0[t] == t_day1[t] and 0 <= t_day0[t] < n_days:
            room &= day_count[cv, t_day0[t]] < c.v_max_per_day[cv]
        cv, cl = cv[room], cl[room]
        # the candidates' blocks that hold the visit (window and block), have
        # as many minutes free and lie within one day (re-timing must not
        # move a visit to another day)
        got = block_visits(c, np.full(len(cv), t, dtype=np.int64), cv, _NO_LIMIT)
        assert got is not None  # no limit
        which, blocks = got[0], got[1]
        good = (block_free[blocks] >= du) & one_day[blocks]
        done = False
        for i, b in zip(which[good].tolist(), blocks[good].tolist(), strict=True):
            v, lv = int(cv[i]), int(cl[i])
            trials += 1
            A, B = int(c.av_start[b]), int(c.av_end[b])
            d0 = int(np.searchsorted(day_starts, A, side="right")) - 1
            if day_count[v, d0] >= c.v_max_per_day[v]:
                continue
            day_lo = int(day_starts[d0])
            day_hi = int(day_starts[d0 + 1]) if d0 + 1 < len(day_starts) else 1 << 62
            mine = mine_of(v)
            if SIEVE and not sieve.may_fit(t, v, b, mine, A, B, day_lo, day_hi):
                continue
            inside = [z for z in mine if A <= z[1] < B]
            before = [z for z in mine if day_lo <= z[1] < A]
            after = [z for z in mine if B <= z[1] < day_hi]
            # travel between every two of: the block's visits, the new one,
            # the day's visits before and after the block (rule 9 is pairwise)
            group = [z[0] for z in inside] + [t] + [z[0] for z in before] + [z[0] for z in after]
            recs = c.t_recipient[np.asarray(group, dtype=np.int64)].astype(np.int64)
            m = len(recs)
            tm = travel.table(recs).tolist()
            n_in = len(inside)
            i_new = n_in
            i_before = range(n_in + 1, n_in + 1 + len(before))
            i_after = range(n_in + 1 + len(before), m)
            ends_before = [(i, z[1] + int(dur_all[z[0]])) for i, z in zip(i_before, before, strict=True)]
            for pos in range(n_in + 1):
                seq = list(range(pos)) + [i_new] + list(range(pos, n_in))
                placed = list(ends_before)
                starts: list[int] = []
                ok = True
                for i in seq:
                    if i == i_new:
                        x, s_fix, fx = t, 0, False
                    else:
                        x, s_fix, fx = inside[i][0], inside[i][1], inside[i][2]
                    ready = A
                    for j, e in placed:
                        ready = max(ready, e + tm[j][i])
                    if fx:
                        if s_fix < ready:
                            ok = False
                            break
                        s = s_fix
                    else:
                        s = max(ready, int(ws_all[x]))
                    if s + int(dur_all[x]) > min(int(we_all[x]), B):
                        ok = False
                        break
                    starts.append(s)
                    placed.append((i, s + int(dur_all[x])))
                if ok:
                    for q, z in zip(i_after, after, strict=True):
                        if any(e + tm[j][q] > z[1] for j, e in placed):
                            ok = False
                            break
                if not ok:
                    continue
                for i, s in zip(seq, starts, strict=True):
                    if i == i_new:
                        extra.setdefault(v, []).append((t, s))
                    elif inside[i][3] >= 0:
                        start[inside[i][3]] = s
                used[v] += lv
                day_count[v, d0] += 1
                mine_cache.pop(v, None)
                sieve.changed(v)
                block_free[b] -= du
                covered[t] = True
                done = True
                break
            if done:
                break
    if not extra:
        return sol
    added = np.array([(t, v, s) for v, got_v in extra.items() for t, s in got_v], dtype=np.int64)
    return Solution.build(
        np.concatenate((task, added[:, 0])),
        np.concatenate((vol, added[:, 1])),
        np.concatenate((start, added[:, 2])),
        list(sol.conflicts),
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

    def _chain(self, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int) -> _Chain:
        got = self.blocks.get(b)
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
        self.blocks[b] = got
        self.of_vol.setdefault(v, []).append(b)
        return got

    def may_fit(self, t: int, v: int, b: int, mine: list[Visit], A: int, B: int, day_lo: int, day_hi: int) -> bool:
        """False only when no position of block ``b`` takes task ``t``."""
        ch = self._chain(v, b, mine, A, B, day_lo, day_hi)
        r, du, ws = self.rec[t], self.dur[t], self.ws[t]
        hi = min(B, self.we[t])
        n = len(ch.recs)
        for k in range(n + 1):
            pred = ch.pred if k == 0 else (ch.recs[k - 1], ch.ends[k - 1])
            ready = A if pred is None else max(A, pred[1] + self.travel(pred[0], r))
            end = max(ready, ws) + du
            if end > hi:
                break  # (later positions start no earlier)
            succ = ch.succ if k == n else (ch.recs[k], ch.latest[k])
            if succ is None or end + self.travel(r, succ[0]) <= succ[1]:
                return True
        return False


@dataclass
class _Chain:
    """A block's visits as :class:`_Sieve` sees them."""

    pred: tuple[int, int] | None  # (recipient, end) of the day's last visit before the block
    succ: tuple[int, int] | None  # (recipient, start) of the day's first visit after it
    recs: list[int]  # the block's visits' recipients, by start
    ends: list[int]  # their earliest ends
    latest: list[int]  # their latest starts
