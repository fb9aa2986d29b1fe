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

import time

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..candidates import Candidates
from ..compile import Compiled
from ..solution import Solution
from .weeks import block_visits

I64 = NDArray[np.int64]
_NO_LIMIT = 1 << 62


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
            mine = [(row_task[r], int(start[r]), bool(fixed_row[r]), r) for r in visits.get(v, [])]
            mine += [(x, s, True, -1) for x, s in extra.get(v, [])]  # inserted ones: fixed
            mine.sort(key=lambda z: z[1])
            inside = [z for z in mine if A <= z[1] < B]
            if day_count[v, d0] >= c.v_max_per_day[v]:
                continue
            day_lo = int(day_starts[d0])
            day_hi = int(day_starts[d0 + 1]) if d0 + 1 < len(day_starts) else 1 << 62
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
