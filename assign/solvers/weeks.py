"""A bound of an urgency tier by column generation over volunteers' weeks.

The pair LP of :class:`~assign.solvers.auto.Relaxation` lets a volunteer take
fractions of visits that no order of visits could fit; on county problems
with windows it is weak (laocheng's tier 2: 4,179 where schedules reach
4,682). This module relaxes only what couples volunteers — that a task is
covered by its team — and keeps each volunteer's own rules whole. With
multipliers ``pi`` (one per task, from the restricted master LP) and ``mu``
(one per more urgent tier held at its value), the Lagrangian

    L(pi, mu) = W_k + sum_j mu_j (W_j - U_j)
                + sum_t min(0, team_t pi_t - w_t [tier k] - mu_j w_t [tier j])
                - sum_v P_v(pi)

is at most ``U_k`` of every valid schedule with ``U_j <= limits[j]``, where
``P_v(pi)`` is the most ``pi`` volunteer ``v`` can collect with one valid week
of their own. ``P_v`` only needs to be an *upper* bound of that (a relaxation
of the volunteer's rules still gives a bound); it is computed exactly over
this relaxation of rules 3, 5, 9, 10 and 11:

* a week is one set of visits per **block** (joined availability interval);
  inside a block the visits follow one another with travel (rule 9 between
  consecutive visits), each inside its window and the block (rules 3, 5);
  rule 9 between blocks is dropped;
* rule 10: the sets' minutes (``Candidates.load``) add up to at most the pledge;
* rule 11: per calendar day at most ``max_tasks_per_day`` visits; blocks that
  cross midnight do not count (dropped);
* rule 12: a pin that every valid schedule keeps
  (:func:`~assign.solvers.timeindexed.surely_kept_pins`: its task needs one
  volunteer) is its volunteer's visit, in the mask or not, and no other
  volunteer's; when it fits one block of its volunteer, every week holds it
  (:meth:`WeekBound.price` adds a bonus to the sets holding it and takes it
  back). Laocheng's tier 2 under ``U1 <= 3,264``: 4,444 -> 4,489 (27 such
  pins); laocheng-grid seed 0's tier 3: 693 -> 743 (5 pins). Other pins
  are dropped;
* teams' common start (rule 2) and the task's being taken in two blocks are
  dropped.

Every feasible visit set of every block is enumerated once, level by level
(sets of one visit, of two, ...) with numpy: a state is (set, last visit) with
its earliest end, which is all that matters for what can follow; in a block
inside one day, sets of more visits than the owner's ``max_tasks_per_day``
are left out (no week holds them). ``P_v`` is
then, for each multiplier vector, a knapsack over the blocks (best set per
block for each (minutes, visits) pair, a max-plus dynamic programme over
minutes and the day's visits). A problem whose enumeration would exceed
:data:`MAX_STATES` gets no bound from here (a partial enumeration would not
be a bound).

The master LP of the last bound is also a start for schedules
(:meth:`WeekBound.dive`): fixing its largest columns at 1 and pricing again,
until every volunteer it uses has a week. Those weeks are weeks of the
relaxation (the visits of one volunteer, in blocks), booked into a schedule
by :func:`~assign.solvers.greedy.book_weeks`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..arrays import ragged_ranges
from ..candidates import Candidates
from ..compile import Compiled

I64 = NDArray[np.int64]

#: the enumeration gives up (no bound) when it would hold more rows than this
#: at once: the visit sets kept, a level's (set, last visit) states and their
#: extensions (~100 bytes each: Shiquan's community c12 alone, tiers 1-2, holds
#: 12.0 M at its second level, 1.2 GB, and 2.2 M sets in the end)
MAX_STATES = 12_000_000
#: and beyond this many visits in one set (a level)
MAX_LEVEL = 12
#: the enumeration sorts each level's rows by one 64-bit key (a hash of the
#: set, the last item, the end) when the last two take at most this many
#: bits (the hash keeps the rest; else three keys)
PACK_LOW_BITS = 40
_NEG = -1e18
#: Wentges smoothing of the multipliers priced (0: the master's duals alone)
SMOOTHING = 0.5
#: the dive (:meth:`WeekBound.dive`) fixes the columns of at least this value
#: at each node, or the DIVE_MIN_FIX largest (doubled when behind the clock),
#: then prices DIVE_ROUNDS times. In auto on laocheng at 60 s (medians of 3,
#: benchmarks/HISTORY.md): U2 4,584 with 2 (adaptive), 4,662 with 1, 4,625
#: with 5 (fixed); the LNS alone 4,739
DIVE_THRESHOLD = 0.5
DIVE_MIN_FIX = 2
DIVE_ROUNDS = 8
#: GLOP's parameters in the dive (see :meth:`WeekBound.dive`)
DIVE_LP_PARAMS = "use_preprocessing: true, use_scaling: true"
#: a dive cut by its deadline completes its weeks with CP-SAT in this long,
#: kept from the dive's time (:func:`_complete`)
DIVE_COMPLETE_SECONDS = 0.25


@dataclass
class _Sets:
    """Every feasible visit set of every block, grouped by block.

    ``ptr``/``task`` give the sets' tasks (CSR), ``block`` their block,
    ``minutes`` and ``size`` their rule-10 minutes and visits. Sets are sorted
    by (block, minutes, size); ``gstart`` are the first rows of each
    (block, minutes, size) group and ``gblock`` their blocks."""

    ptr: I64
    task: I64
    block: I64
    minutes: I64
    size: I64
    gstart: I64
    gblock: I64
    gminutes: I64
    gsize: I64


_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93, 0xA0761D6478BD642F,
     0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3, 0x1D8E4E27C47D124F, 0xC2B2AE3D27D4EB4F,
     0x165667B19E3779F9, 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63],
    dtype=np.uint64,
)


def _hash_rows(rows: NDArray[np.int32]) -> NDArray[np.uint64]:
    """A 64-bit mix of each row: equal rows, equal hashes."""
    h = np.zeros(len(rows), dtype=np.uint64)
    for k in range(rows.shape[1]):
        col = rows[:, k]
        h = (h + col.astype(np.uint64) + np.uint64(1)) * _MIX[k % len(_MIX)]
        h ^= h >> np.uint64(31)
    return h


def _insert_sorted(rows: NDArray[np.int32], x: NDArray[np.int32]) -> NDArray[np.int32]:
    """Each row of ``rows`` (sorted, without ``x``'s value) with ``x``
    inserted in order: a column at a time (cheaper than sorting the rows)."""
    n, k = rows.shape
    if k == 1:
        # (two-visit sets, the largest level of most enumerations: a min and a max)
        out1 = np.empty((n, 2), dtype=rows.dtype)
        np.minimum(rows[:, 0], x, out=out1[:, 0])
        np.maximum(rows[:, 0], x, out=out1[:, 1])
        return out1
    at = (rows < x[:, None]).sum(axis=1)
    out = np.empty((n, k + 1), dtype=rows.dtype)
    for i in range(k + 1):
        after = rows[:, i - 1] if i else x  # (x where i == 0: only used if at == 0)
        out[:, i] = np.where(at > i, rows[:, min(i, k - 1)], np.where(at == i, x, after))
    return out


def _once(rows: NDArray[np.int32], key: NDArray[np.uint64]) -> NDArray[np.int32]:
    """``rows`` (sorted by ``key``, equal rows of one key adjacent unless
    another row of the same key lies between them) with every row once: the
    rows whose key no other shares are kept as they are, the others made
    distinct by :func:`numpy.unique` (rare: hash collisions)."""
    clash = np.zeros(len(key), dtype=bool)
    if len(key) > 1:
        eq = key[1:] == key[:-1]
        clash[1:] = eq
        clash[:-1] |= eq
    if not clash.any():
        return rows
    return np.concatenate((rows[~clash], np.unique(rows[clash], axis=0)))


def block_visits(c: Compiled, t: I64, v: I64, max_items: int) -> tuple[I64, I64, I64, I64] | None:
    """The visits of pairs ``(t, v)`` in blocks: (pair row, block, earliest
    start, latest end) wherever the visit fits the block and the window;
    None when the pairs have more than ``max_items`` (pair, interval) rows."""
    reps = np.diff(c.av_ptr)[v]
    if int(reps.sum()) > max_items:
        return None
    pair = np.repeat(np.arange(len(t)), reps)
    blk = ragged_ranges(c.av_ptr[v], reps)
    pt = t[pair]
    lo = np.maximum(c.t_window_start[pt], c.av_start[blk])
    lim = np.minimum(c.t_window_end[pt], c.av_end[blk])
    fits = lo + c.t_duration[pt] <= lim
    return pair[fits], blk[fits], lo[fits], lim[fits]


def _block_owner_day(c: Compiled) -> tuple[I64, I64]:
    """Each block's (availability interval's) volunteer, and its calendar day
    (-1 for a block across midnight)."""
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
    d0 = rules.day_of(c, c.av_start)
    d1 = rules.day_of(c, c.av_end - 1)
    return owner, np.where(d0 == d1, d0, -1)


def block_pairs(c: Compiled, cands: Candidates, task_mask: NDArray[np.bool_]) -> int | None:
    """How many two-visit sets the blocks of the mask's tasks could hold at
    most (sum over blocks of n (n - 1) / 2, n its visits; 0 in a block inside
    one day whose owner takes one visit a day): a cheap forecast
    of the enumeration's size (Laocheng: tiers 1-2 164,000 -> 3.9 M states;
    Shiquan's tier 2: 96 M). None beyond :data:`MAX_STATES` (pair, interval) rows."""
    rows = np.flatnonzero(task_mask[cands.task])
    got = block_visits(c, cands.task[rows].astype(np.int64), cands.volunteer[rows].astype(np.int64), MAX_STATES)
    if got is None:
        return None
    n = np.bincount(got[1], minlength=len(c.av_start)).astype(np.int64)
    # (none in a block inside one day of an owner with one visit a day)
    owner, day = _block_owner_day(c)
    n[(day >= 0) & (c.v_max_per_day[owner] < 2)] = 0
    return int((n * (n - 1) // 2).sum())


#: the enumeration times travel from a table of the items' distinct
#: recipients when it has at most this many cells (else pair by pair)
TRAVEL_TABLE_CELLS = 4_000_000


def _item_travel(c: Compiled, item_rec: I64) -> Any:
    """``f(a, b)``: travel minutes from item ``a``'s recipient to item ``b``'s
    (:class:`~assign.rules.RecipientTravel`), from a table of the distinct
    recipients when small enough (the enumeration asks millions of times)."""
    travel = rules.RecipientTravel(c)
    rec, inv = np.unique(item_rec, return_inverse=True)
    n = len(rec)
    if n * n > TRAVEL_TABLE_CELLS:
        return lambda a, b: travel(item_rec[a], item_rec[b])
    table = travel.table(rec).astype(np.int32)
    inv = inv.reshape(-1)
    return lambda a, b: table[inv[a], inv[b]].astype(np.int64)


def _enumerate(
    c: Compiled, t: I64, v: I64, load: I64, max_states: int, deadline: float | None = None
) -> tuple[_Sets, I64, I64, I64] | None:
    """The blocks' visit sets of the pairs ``(t, v)``; None when too many, or
    when ``deadline`` (``time.perf_counter()``) passes (checked between the
    steps of a level: one level of a mid-size problem took seconds).

    Returns the sets, each block's volunteer, its day (-1 across midnight) and
    the sorted list of blocks used."""
    got = block_visits(c, t, v, max_states)
    if got is None:
        return None
    pair, blk, lo, lim = got
    dur = c.t_duration[t[pair]]
    latest = lim - dur
    span = int(c.horizon_minutes) + 2
    order = np.lexsort((latest, blk))
    pair, blk, lo, lim, dur, latest = pair[order], blk[order], lo[order], lim[order], dur[order], latest[order]
    n_items = len(pair)
    item_task = t[pair]
    item_rec = c.t_recipient[item_task].astype(np.int64)
    item_load = load[pair]
    item_key = blk * span + latest
    n_blocks_all = len(c.av_start)
    bstart = np.searchsorted(blk, np.arange(n_blocks_all + 1), side="left")

    travel = _item_travel(c, item_rec)
    # the visits a set of a block inside one day may hold: the owner's visits
    # per day (rule 11); a bigger set is in no week, so it is neither kept nor
    # extended (laocheng's tiers 1-2: 651,468 sets instead of 760,477, 14 %
    # fewer, the same bound; the pledge, checked per visit, would cut 0.1 %)
    owner, day = _block_owner_day(c)
    item_most = np.where(day[blk] >= 0, np.minimum(c.v_max_per_day[owner[blk]], MAX_LEVEL + 1), MAX_LEVEL + 1)
    j_bits = max(1, (n_items - 1).bit_length())
    set_rows: list[NDArray[np.int32]] = []  # per level: (n_sets, level) item indices
    # level 1: every item alone, at its earliest
    alone = np.flatnonzero(item_most >= 1)
    mem = alone.astype(np.int32)[:, None]  # (item indices: int32 halves the traffic)
    last = alone.astype(np.int64)
    end = (lo + dur)[alone]
    kept = 0  # the sets of the levels done (``set_rows``)
    def late() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    distinct = mem  # this level's sets, each once
    while len(last):
        if late():
            return None
        set_rows.append(distinct)
        kept += len(distinct)
        # only states that may grow by one more visit
        level = mem.shape[1]
        grow = item_most[last] > level
        if not grow.all():
            mem, last, end = mem[grow], last[grow], end[grow]
        b = blk[last]
        # candidates: items of the block whose latest start is not before this end
        pos = np.searchsorted(item_key, b * span + end, side="left")
        cnt = bstart[b + 1] - pos
        n_new = int(cnt.sum())
        if n_new == 0:
            break
        # the rows held at once: the sets kept, this level's (set, last)
        # states and their extensions (the extensions of the levels before
        # are gone; counting them too refused Shiquan's community c12, whose
        # second level alone makes 11 M extensions, for 2.2 M sets in all)
        if kept + len(last) + n_new > max_states:
            return None
        src = np.repeat(np.arange(len(last)), cnt)
        j = ragged_ranges(pos, cnt)
        ok = np.ones(n_new, dtype=bool)
        for col in range(mem.shape[1]):
            ok &= mem[src, col] != j
        src, j = src[ok], j[ok]
        if late():
            return None
        trav = travel(last[src], j)
        s = np.maximum(np.maximum(end[src] + trav, lo[j]), c.av_start[blk[j]])
        e = s + dur[j]
        ok = e <= lim[j]
        src, j, e = src[ok], j[ok], e[ok]
        if not len(j):
            break
        if mem.shape[1] >= MAX_LEVEL:
            return None  # a set of more than MAX_LEVEL visits exists
        if late():
            return None
        new_mem = _insert_sorted(np.take(mem, src, axis=0), j.astype(np.int32))
        # one sort for both steps: rows by a hash of their set (its high
        # bits), then by last item, then by end (the low bits); kept: the
        # earliest end per (set, last) and each set once. A row is dropped
        # only when it equals the previous one, so a hash collision can only
        # keep a dominated duplicate, never lose one; sets whose hashes'
        # high bits collide are made distinct exactly (:func:`_once`)
        e_off = (e - e.min()).astype(np.uint64)
        e_bits = int(e_off.max()).bit_length()
        low = e_bits + j_bits
        h = _hash_rows(new_mem)
        if low <= PACK_LOW_BITS:
            key = (h >> np.uint64(low) << np.uint64(low)) | (j.astype(np.uint64) << np.uint64(e_bits)) | e_off
            o = np.argsort(key)
            if late():
                return None
            # (one gather of the key rather than three: j, e and the hash's high bits are in it)
            key = key[o]
            new_mem = np.take(new_mem, o, axis=0)  # (np.take: ~3x faster than indexing rows)
            j = ((key >> np.uint64(e_bits)) & np.uint64((1 << j_bits) - 1)).astype(np.int64)
            e = (key & np.uint64((1 << e_bits) - 1)).astype(np.int64) + int(e.min())
            h = key
        else:
            low = 0
            o = np.lexsort((e, j, h))
            if late():
                return None
            new_mem, j, e, h = np.take(new_mem, o, axis=0), j[o], e[o], h[o]
        same_set = np.all(new_mem[1:] == new_mem[:-1], axis=1)
        head = np.ones(len(j), dtype=bool)
        head[1:] = ~same_set | (j[1:] != j[:-1])
        first = np.ones(len(j), dtype=bool)
        first[1:] = ~same_set
        mem, last, end = new_mem[head], j[head], e[head]
        distinct = _once(new_mem[first], h[first] >> np.uint64(low))

    # flatten the sets, sorted by (block, minutes, size)
    empty = [np.zeros(0, dtype=np.int64)]
    sizes = np.concatenate([np.full(len(r), r.shape[1], dtype=np.int64) for r in set_rows] or empty)
    items = np.concatenate([r.ravel() for r in set_rows] or empty)
    ptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    first_item = items[ptr[:-1]]
    sblock = blk[first_item]
    minutes = np.add.reduceat(item_load[items], ptr[:-1]) if len(items) else np.zeros(0, dtype=np.int64)
    o = np.lexsort((sizes, minutes, sblock))
    sizes_o = sizes[o]
    starts = ptr[:-1][o]
    idx = ragged_ranges(starts, sizes_o)
    items_o = items[idx]
    ptr_o = np.zeros(len(o) + 1, dtype=np.int64)
    np.cumsum(sizes_o, out=ptr_o[1:])
    sblock, minutes = sblock[o], minutes[o]
    new = np.ones(len(o), dtype=bool)
    new[1:] = (sblock[1:] != sblock[:-1]) | (minutes[1:] != minutes[:-1]) | (sizes_o[1:] != sizes_o[:-1])
    gstart = np.flatnonzero(new)
    sets = _Sets(ptr_o, item_task[items_o], sblock, minutes, sizes_o, gstart, sblock[gstart], minutes[gstart], sizes_o[gstart])
    used = np.unique(sblock)
    return sets, owner, day, used


class _Master:
    """The restricted master LP, kept in GLOP between solves (columns are
    only added, so each solve starts from the last basis):
    ``min sum_t w_t (1 - y_t) + big * sum_j s_j`` over ``y`` in [0, 1] (0 for
    tasks without enough volunteers for their team) and
    week columns ``lam >= 0`` with ``team_t y_t - sum lam [t in week] <= 0``,
    ``sum lam of v <= 1`` and ``sum_{tier j} w y + s_j >= W_j - U_j``."""

    def __init__(
        self, team: NDArray[np.float64], w_obj: NDArray[np.float64], able: NDArray[np.bool_], n_vols: int,
        lim_w: list[NDArray[np.float64]], lim_rhs: list[float], big: float,
    ) -> None:
        from ortools.linear_solver import pywraplp

        self.solver = s = pywraplp.Solver.CreateSolver("GLOP")
        #: the week columns' variables, in the order added; the task rows'
        #: duals of the last solve (None before one)
        self.lams: list[Any] = []
        self.duals: NDArray[np.float64] | None = None
        # columns are only added: primal simplex from the last basis, which
        # presolve and scaling would throw away (laocheng's tier 2: 1.5 s of
        # LP solves instead of 4.4 s)
        s.SetSolverSpecificParametersAsString("use_preprocessing: false, use_scaling: false")
        inf = s.infinity()
        obj = s.Objective()
        self.y = [s.NumVar(0.0, 1.0 if ok else 0.0, "") for ok in able.tolist()]
        self.cover = []
        for i, y in enumerate(self.y):
            row = s.Constraint(-inf, 0.0)
            row.SetCoefficient(y, float(team[i]))
            self.cover.append(row)
            if w_obj[i]:
                obj.SetCoefficient(y, -float(w_obj[i]))
        self.conv = [s.Constraint(-inf, 1.0) for _ in range(n_vols)]
        self.lim = []
        for wj, rhs in zip(lim_w, lim_rhs, strict=True):
            row = s.Constraint(float(rhs), inf)
            for i in np.flatnonzero(wj).tolist():
                row.SetCoefficient(self.y[i], float(wj[i]))
            slack = s.NumVar(0.0, inf, "")
            row.SetCoefficient(slack, 1.0)
            obj.SetCoefficient(slack, float(big))
            self.lim.append(row)
        obj.SetMinimization()

    def add(self, cols: list[I64], vols: list[int]) -> None:
        """Add week columns (task rows, volunteer row), not solving."""
        s = self.solver
        inf = s.infinity()
        for rows, x in zip(cols, vols, strict=True):
            lam = s.NumVar(0.0, inf, "")
            self.lams.append(lam)
            for r, n in zip(*np.unique(rows, return_counts=True), strict=True):
                self.cover[int(r)].SetCoefficient(lam, -float(n))
            self.conv[int(x)].SetCoefficient(lam, 1.0)

    def solve(self, cols: list[I64], vols: list[int]) -> tuple[NDArray[np.float64], NDArray[np.float64], float] | None:
        """Add the week columns (task rows, volunteer row) and re-solve; the
        duals ``(pi, mu)`` (signs for a bound: both >= 0), None on failure."""
        from ortools.linear_solver import pywraplp

        s = self.solver
        self.add(cols, vols)
        if s.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        pi = np.array([-row.dual_value() for row in self.cover])
        mu = np.array([row.dual_value() for row in self.lim])
        self.duals = np.maximum(pi, 0.0)
        return self.duals, np.maximum(mu, 0.0), float(s.Objective().Value())


class WeekBound:
    """Lower bounds of one tier's uncovered weight by column generation over
    volunteers' weeks (module docstring). Build once per task mask; ``ok`` is
    False when the enumeration was too big or not done by ``deadline`` (then
    :meth:`tier_bound` gives None)."""

    def __init__(
        self,
        c: Compiled,
        cands: Candidates,
        task_mask: NDArray[np.bool_],
        max_states: int = MAX_STATES,
        deadline: float | None = None,
        pins: bool = True,
    ) -> None:
        self.c = c
        chosen = task_mask[cands.task]
        sure_t = sure_v = np.zeros(0, dtype=np.int64)
        if pins and len(c.t_pin):
            from .timeindexed import sure_pin_rows

            # a surely kept pin's task (of one volunteer) is that volunteer's
            # visit in every valid schedule: no other volunteer's pair of it,
            # and the pinned pair whatever the mask (its minutes and time count)
            pin_rows = sure_pin_rows(c, cands)
            sure_t, sure_v = cands.task[pin_rows].astype(np.int64), cands.volunteer[pin_rows].astype(np.int64)
            held = np.zeros(c.n_tasks, dtype=bool)
            held[sure_t] = True
            chosen &= ~held[cands.task]
            chosen[pin_rows] = True
        rows = np.flatnonzero(chosen)
        t = cands.task[rows].astype(np.int64)
        v = cands.volunteer[rows].astype(np.int64)
        load = cands.load[rows].astype(np.int64)
        keep = load <= c.v_max_minutes[v]
        t, v, load = t[keep], v[keep], load[keep]
        self.tasks = np.flatnonzero(task_mask)
        self._lp: _TierLP | None = None
        got = _enumerate(c, t, v, load, max_states, deadline)
        self.ok = got is not None
        if got is None:
            return
        sets, owner, day, used = got
        self.sets = sets
        self.block_day = day
        vols = np.unique(owner[used])
        self.vols = vols
        self._force_pins(sure_t, sure_v, owner)
        # per volunteer: its blocks in time order, the groups of each block
        gb = sets.gblock
        self.g_of_block = np.searchsorted(gb, np.arange(len(c.av_start) + 1), side="left")
        # blocks are numbered volunteer by volunteer: ``used`` splits by owner
        cut = np.flatnonzero(np.diff(owner[used])) + 1
        self.vol_blocks = dict(zip(vols.tolist(), np.split(used, cut), strict=True)) if len(vols) else {}
        #: the most blocks of one volunteer (:meth:`price`'s bonus for forced pins)
        self.most_blocks = max((len(b) for b in self.vol_blocks.values()), default=0)
        self.gcd = {}
        self.cap = {}
        for x in vols:
            bl = self.vol_blocks[int(x)]
            gs = np.concatenate([np.arange(self.g_of_block[b], self.g_of_block[b + 1]) for b in bl])
            mins = sets.gminutes[gs]
            pos = mins[mins > 0]
            g = int(np.gcd.reduce(pos)) if len(pos) else 1
            most = 0
            for b in bl:
                most += int(sets.gminutes[self.g_of_block[b] : self.g_of_block[b + 1]].max())
            self.gcd[int(x)] = max(1, g)
            self.cap[int(x)] = min(int(c.v_max_minutes[x]), most)
        #: visit sets enumerated
        self.n_states = len(sets.size)
        # tasks that have fewer volunteers with a set holding them than their
        # team needs can never be covered (else a "half-covered" team would count)
        set_block = np.repeat(sets.block, sets.size)
        usable = (day[set_block] < 0) | (c.v_max_per_day[owner[set_block]] > 0)  # rule 11 with a limit of 0
        tv = np.unique(sets.task[usable] * c.n_volunteers + owner[set_block[usable]])
        self.staffable = np.bincount(tv // c.n_volunteers, minlength=c.n_tasks) >= c.t_needed
        #: pricing rounds done by :meth:`tier_bound` so far
        self.iterations = 0

    def _force_pins(self, sure_t: I64, sure_v: I64, owner: I64) -> None:
        """The pins every week must hold: a surely kept pin whose visit fits
        one block of its volunteer (its sets are that block's; a pin that fits
        two blocks stays free: a week could then hold it twice). Sets holding
        one get :meth:`price`'s bonus (:attr:`set_pins`), taken back per
        volunteer (:attr:`vol_pins`)."""
        s = self.sets
        #: per set, the forced pins it holds; per volunteer row, its forced pins
        self.set_pins = np.zeros(len(s.size), dtype=np.int64)
        self.vol_pins = np.zeros(len(self.vols), dtype=np.int64)
        #: the forced pins (task, volunteer)
        self.forced: list[tuple[int, int]] = []
        if not len(sure_t):
            return
        item_set = np.repeat(np.arange(len(s.size), dtype=np.int64), s.size)
        pin_of = np.full(self.c.n_tasks, -1, dtype=np.int64)
        pin_of[sure_t] = np.arange(len(sure_t))
        hit = np.flatnonzero(pin_of[s.task] >= 0)  # items of pinned tasks: the pinned pairs only
        p = pin_of[s.task[hit]]
        blk = s.block[item_set[hit]]
        # per pin, the blocks its sets lie in
        pb = np.unique(p * len(owner) + blk)
        n_blocks = np.bincount(pb // len(owner), minlength=len(sure_t))
        force = n_blocks == 1
        take = force[p]
        np.add.at(self.set_pins, item_set[hit[take]], 1)
        vrow = np.searchsorted(self.vols, sure_v[force])
        np.add.at(self.vol_pins, vrow, 1)
        self.forced = sorted(zip(sure_t[force].tolist(), sure_v[force].tolist(), strict=True))

    # -------------------------------------------------------------- pricing

    def price(
        self, pi_task: NDArray[np.float64], skip: Container[int] = ()
    ) -> tuple[NDArray[np.float64], list[I64]]:
        """Per volunteer of :attr:`vols`: the most ``pi`` one relaxed week
        collects, and the tasks of a week that collects it; 0 and no tasks
        for the rows (of :attr:`vols`) in ``skip`` (a dive's fixed volunteers)."""
        s = self.sets
        prof = np.add.reduceat(pi_task[s.task], s.ptr[:-1]) if len(s.task) else np.zeros(0)
        bonus = 0.0
        if len(self.forced) and len(prof):
            # a week's value is at most its blocks' best sets: a bonus above
            # that on every forced pin's sets makes the best week hold them
            # all (when one can); taken back below. The value is an upper
            # bound of the best week that holds them whatever the bonus.
            bonus = 1.0 + self.most_blocks * float(np.abs(prof).max())
            prof = prof + bonus * self.set_pins
        gmax = np.maximum.reduceat(prof, s.gstart) if len(prof) else np.zeros(0)
        # the first set of each group reaching its maximum
        group_of = np.repeat(np.arange(len(s.gstart)), np.diff(np.append(s.gstart, len(prof))))
        hit = np.flatnonzero(prof >= gmax[group_of])
        first_hit = hit[np.r_[True, group_of[hit][1:] != group_of[hit][:-1]]] if len(hit) else hit
        garg = np.full(len(s.gstart), -1, dtype=np.int64)
        garg[group_of[first_hit]] = first_hit
        values = np.zeros(len(self.vols))
        weeks: list[I64] = []
        c = self.c
        for i, x in enumerate(self.vols.tolist()):
            if i in skip:
                weeks.append(np.zeros(0, np.int64))
                continue
            val, chosen = self._week(x, gmax, garg, int(c.v_max_per_day[x]))
            values[i] = val - bonus * int(self.vol_pins[i])
            weeks.append(np.concatenate([s.task[s.ptr[k] : s.ptr[k + 1]] for k in chosen]) if chosen else np.zeros(0, np.int64))
        return values, weeks

    def _week(self, x: int, gmax: NDArray[np.float64], garg: I64, per_day: int) -> tuple[float, list[int]]:
        s = self.sets
        blocks = self.vol_blocks[x]
        # fast path: the best set of every block fits the pledge and the days
        total_m = 0
        day_count: dict[int, int] = {}
        picks: list[int] = []
        value = 0.0
        for b in blocks.tolist():
            g0, g1 = int(self.g_of_block[b]), int(self.g_of_block[b + 1])
            k = g0 + int(np.argmax(gmax[g0:g1]))
            if gmax[k] <= 0:
                continue
            value += float(gmax[k])
            picks.append(k)
            total_m += int(s.gminutes[k])
            d = int(self.block_day[b])
            if d >= 0:
                day_count[d] = day_count.get(d, 0) + int(s.gsize[k])
        if total_m <= self.cap[x] and all(n <= per_day for n in day_count.values()):
            return value, [int(garg[k]) for k in picks]
        g = self.gcd[x]
        nm = self.cap[x] // g + 1
        most_day = max(int(s.gsize[self.g_of_block[b] : self.g_of_block[b + 1]].max()) for b in blocks.tolist())
        L = max(0, min(per_day, most_day * len(blocks)))
        F = np.full((nm, L + 1), _NEG)
        F[0, 0] = 0.0
        trace: list[tuple[Any, ...]] = []
        day = None
        for b in blocks.tolist():
            d = int(self.block_day[b])
            if d != -1 and d != day:
                trace.append(("day", F))
                F2 = np.full_like(F, _NEG)
                F2[:, 0] = F.max(axis=1)
                F, day = F2, d
            g0, g1 = int(self.g_of_block[b]), int(self.g_of_block[b + 1])
            NF = F.copy()
            ch = np.full(F.shape, -1, dtype=np.int64)
            for k in range(g0, g1):
                if gmax[k] <= 0:
                    continue
                dm = int(s.gminutes[k]) // g
                dc = int(s.gsize[k]) if d != -1 else 0
                if dm >= nm or dc > L:
                    continue
                cand = F[: nm - dm, : L + 1 - dc] + float(gmax[k])
                view = NF[dm:, dc:]
                better = cand > view
                view[better] = cand[better]
                ch[dm:, dc:][better] = k
            trace.append(("block", ch, b))
            F = NF
        value = float(F.max())
        m, cc = (int(z) for z in np.unravel_index(int(np.argmax(F)), F.shape))
        chosen: list[int] = []
        for entry in reversed(trace):
            if entry[0] == "day":
                cc = int(np.argmax(entry[1][m, :]))
                continue
            _, ch, b = entry
            k = int(ch[m, cc])
            if k >= 0:
                chosen.append(int(garg[k]))
                m -= int(s.gminutes[k]) // g
                cc -= int(s.gsize[k]) if int(self.block_day[b]) != -1 else 0
        return value, chosen

    # ------------------------------------------------------- the bound

    def tier_bound(
        self,
        tier: int,
        limits: dict[int, float],
        time_limit: float | None,
        max_iterations: int = 400,
        stop_at: float | None = None,
        warm: bool = False,
        start: list[tuple[int, I64]] | None = None,
    ) -> float | None:
        """A lower bound of ``U_tier`` over the mask's tasks, for every valid
        schedule with ``U_j <= limits[j]`` over them (integral weights: rounded
        up); None when nothing could be computed. Stops early once the
        bound reaches ``stop_at`` (a schedule's ``U_tier``: proven).

        ``warm``: the column generation goes on where the last call (same
        tasks) left it, with its columns and those a :meth:`dive` in it
        added: for the same tier and limits in the last call's master LP,
        from its basis (a dive fixes columns in a copy of it), else in a new
        master LP holding those columns.

        ``start``: columns a new master LP (not a ``warm`` one) begins with,
        ``(volunteer, tasks)``: a schedule's weeks (:func:`schedule_weeks`).
        They steer the multipliers only — the bound is the Lagrangian of the
        pricing, valid whatever the master holds — so that a master whose
        limit rows the first priced weeks cannot meet starts at the
        schedule's value instead (laocheng's tier 2 under its proven ``U1``:
        ~1.5 s of rounds at the limit rows' penalty before the master was
        feasible; benchmarks/HISTORY.md, "Stop 55")."""

        if not self.ok:
            return None
        began = time.perf_counter()
        c = self.c
        T = self.tasks[(c.t_tier[self.tasks] == tier) | np.isin(c.t_tier[self.tasks], list(limits))]
        if not np.any(c.t_tier[T] == tier):
            return 0.0
        nT = len(T)
        able = self.staffable[T]  # y_t = 0 for the others
        tpos = np.full(c.n_tasks, -1, dtype=np.int64)
        tpos[T] = np.arange(nT)
        w = c.t_weight[T].astype(np.float64)
        k = c.t_needed[T].astype(np.float64)
        mine = c.t_tier[T] == tier
        lim_tiers = sorted(j for j in limits if np.any(c.t_tier[T] == j))
        lim_rows = [c.t_tier[T] == j for j in lim_tiers]
        lim_rhs = [float(w[r].sum()) - float(limits[j]) for j, r in zip(lim_tiers, lim_rows, strict=True)]
        Wk = float(w[mine].sum())
        vols = self.vols
        vrow = {int(x): i for i, x in enumerate(vols.tolist())}
        nV = len(vols)
        # columns: (volunteer, tasks)
        col_rows: list[I64] = []
        col_vol: list[int] = []
        seen: set[tuple[int, bytes]] = set()
        best = -math.inf
        pi_full = np.zeros(c.n_tasks)

        def make() -> _Master:
            return _Master(k, np.where(mine, w, 0.0), able, nV, [np.where(r, w, 0.0) for r in lim_rows], lim_rhs, Wk + 1.0)

        wi = c.t_weight[T[mine]]
        g = int(np.gcd.reduce(wi)) if np.any(wi) else 1
        # (U >= 0 only when no weight is negative: negative group weights)
        floor = 0.0 if np.all(wi >= 0) else -math.inf

        def rounded(x: float) -> float:
            return float(max(floor, math.ceil((x - 1e-6) / g) * g))

        center = (np.where(mine, w / k, 0.0), np.zeros(len(lim_tiers)))
        rmp: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        rmp_value = math.inf
        #: whether the last call stopped on its time limit (or iterations)
        #: before its bound met the master LP's value
        self.cut = False
        last = self._lp
        master = None
        got = None
        if warm and last is not None and np.array_equal(last.T, T) and last.col_rows:
            col_rows, col_vol, seen = list(last.col_rows), list(last.col_vol), set(last.seen)
            same = last.key == (tier, sorted(limits.items()))
            if same:
                # the same LP: its master (a dive works on a copy) from its
                # last basis, with the columns added since (a new one solved
                # from scratch took 0.3 s of laocheng's tier 2 after a dive)
                master = last.master
                got = master.solve(col_rows[len(master.lams) :], col_vol[len(master.lams) :])
            else:
                master = make()
                got = master.solve(col_rows, col_vol)
            if same and last.center is not None:
                # the same LP: the stabilisation's centre and bound so far hold
                center, best = last.center, last.best
        if master is None:
            master = make()
            for x, tasks in start or []:
                rows = _new_column(tpos, seen, int(x), np.asarray(tasks, dtype=np.int64)) if int(x) in vrow else None
                if rows is not None:
                    col_rows.append(rows)
                    col_vol.append(vrow[int(x)])
            got = master.solve(col_rows, col_vol) if col_rows else None
        if got is not None:
            rmp, rmp_value = got[:2], math.ceil(Wk + got[2] - 1e-6)
        alpha = SMOOTHING
        for _ in range(max_iterations):
            # Wentges smoothing: price between the best multipliers so far and the master's
            if rmp is None:
                pi, mu = center
            else:
                pi = alpha * center[0] + (1.0 - alpha) * rmp[0]
                mu = alpha * center[1] + (1.0 - alpha) * rmp[1]
            pi_full[:] = 0.0
            pi_full[T] = pi
            values, weeks = self.price(pi_full)
            coef = k * pi - w * mine
            for mj, r in zip(mu, lim_rows, strict=True):
                coef = coef - mj * w * r
            terms = [Wk, -float(values.sum()), float(np.minimum(coef, 0.0)[able].sum())]
            terms += [float(mj * b) for mj, b in zip(mu, lim_rhs, strict=True)]
            value = math.fsum(terms)
            # rounding of the float sums: a relative 1e-9 of their size
            size = math.fsum(abs(z) for z in terms) + float(np.abs(coef).sum()) + float(np.abs(values).sum())
            value -= 1e-9 * max(1.0, size)
            if value > best:
                best, center = value, (pi, mu)
            self.iterations += 1
            if rounded(best) >= min(rmp_value, math.inf if stop_at is None else stop_at):
                break
            if time_limit is not None and time.perf_counter() - began >= time_limit:
                self.cut = True
                break  # (before adding columns: every column kept is in the master)
            added = 0
            for x, week in zip(vols.tolist(), weeks, strict=True):
                # (tasks of other tiers price at 0: not in the master)
                rows = _new_column(tpos, seen, x, week)
                if rows is None:
                    continue
                col_rows.append(rows)
                col_vol.append(vrow[x])
                added += 1
            if added == 0:
                if rmp is None or alpha == 0.0:
                    break  # the master is optimal: nothing prices out at its duals
                alpha = 0.0  # a mispricing: price at the master's duals next
                continue
            alpha = SMOOTHING
            got = master.solve(col_rows[-added:], col_vol[-added:])
            if got is None:
                break
            rmp, obj = got[:2], got[2]
            rmp_value = math.ceil(Wk + obj - 1e-6)
            if time_limit is not None and time.perf_counter() - began >= time_limit:
                self.cut = True
                break
        else:
            self.cut = True  # (max_iterations)
        #: the week columns generated: (volunteer, tasks) pairs
        self.columns = [(int(vols[x]), T[r]) for x, r in zip(col_vol, col_rows, strict=True)]
        self._lp = _TierLP(T, tpos, vrow, master, col_rows, col_vol, seen, center, best, (tier, sorted(limits.items())), make)
        if best == -math.inf:
            return None
        return rounded(best)

    # ------------------------------------------------------- the dive

    def dive(
        self, deadline: float, threshold: float = DIVE_THRESHOLD, min_fix: int = DIVE_MIN_FIX,
        rounds: int = DIVE_ROUNDS,
    ) -> list[tuple[int, I64]] | None:
        """Weeks for volunteers by diving in the master LP of the last
        :meth:`tier_bound`: its columns of value at least ``threshold`` (or
        the ``min_fix`` largest) are fixed at 1, a few pricing rounds
        (``rounds``) follow, until no volunteer has a column of positive
        value left or the ``deadline`` — in a copy of that master, which
        is left as it was for the column generation to go on from (``warm``);
        when the share of the time spent
        passes the share of the root's volunteers fixed, ``min_fix`` doubles
        (so that the dive ends). Cut by the deadline, each volunteer not
        fixed takes at most one of their columns of positive value in the
        last LP (:func:`_complete`). Returns the fixed weeks as
        (volunteer, tasks): one relaxed week each (module docstring: travel
        between blocks, teams' common starts and pins are not in it), to be
        booked into a schedule; None without a master to dive in."""
        lp = self._lp
        if lp is None or lp.master.duals is None or lp.make is None:
            return None
        # the root: the last LP's point (every column of ``lp`` is in its
        # master); the dive fixes columns in a copy, so that the column
        # generation can go on from the master's basis afterwards
        root = np.array([v.solution_value() for v in lp.master.lams])
        root = np.concatenate([root, np.zeros(len(lp.col_rows) - len(root))])  # (an earlier dive's columns)
        c, master = self.c, lp.make()
        master.add(lp.col_rows, lp.col_vol)
        master.duals = lp.master.duals
        solved = False
        fixed: dict[int, int] = {}  # volunteer row -> column
        pi_full = np.zeros(c.n_tasks)

        def generate() -> bool:
            for _ in range(rounds):
                if time.perf_counter() >= deadline or master.duals is None:
                    return False
                pi_full[:] = 0.0
                pi_full[lp.T] = master.duals
                _, weeks = self.price(pi_full, skip=fixed)  # (the fixed ones take no column)
                rows_l: list[I64] = []
                vols_l: list[int] = []
                for x, week in zip(self.vols.tolist(), weeks, strict=True):
                    i = lp.vrow[x]
                    rows = None if i in fixed else _new_column(lp.tpos, lp.seen, x, week)
                    if rows is not None:
                        rows_l.append(rows)
                        vols_l.append(i)
                if not rows_l:
                    return True
                lp.col_rows.extend(rows_l)
                lp.col_vol.extend(vols_l)
                if master.solve(rows_l, vols_l) is None:
                    return False
            return True

        # fixing columns leaves the last basis primal infeasible: presolve and
        # scaling pay there (laocheng's tiers 1-2, the dive in 2 s: the
        # component's U2 4,207 with them, 4,945 without; 10 s: 4,047 / 4,456)
        master.solver.SetSolverSpecificParametersAsString(DIVE_LP_PARAMS)
        began = time.perf_counter()
        end = deadline
        if deadline - began > 4 * DIVE_COMPLETE_SECONDS:
            deadline -= DIVE_COMPLETE_SECONDS  # (the completion's time, if cut)
        in_use: int | None = None  # volunteers with a column of positive value at the root
        while time.perf_counter() < deadline:
            lam = np.array([v.solution_value() for v in master.lams]) if solved else root
            owner = np.asarray(lp.col_vol, dtype=np.int64)
            free = np.ones(len(self.vols), dtype=bool)
            free[list(fixed)] = False
            open_cols = np.flatnonzero((lam > 1e-6) & free[owner])
            if not len(open_cols):
                break
            if in_use is None:
                in_use = len(np.unique(owner[open_cols]))
            elif (time.perf_counter() - began) / max(1e-9, deadline - began) > len(fixed) / max(1, in_use):
                min_fix *= 2  # behind the clock: fix more at once, so that the dive ends
            order = open_cols[np.argsort(-lam[open_cols], kind="stable")]
            pick = order[lam[order] >= threshold]
            if len(pick) < min_fix:
                pick = order[:min_fix]
            for j in pick.tolist():
                i = int(owner[j])
                if i not in fixed:
                    fixed[i] = j
                    master.lams[j].SetLb(1.0)
            solved = True
            if master.solve([], []) is None or not generate():
                break
        # cut short by the deadline: every volunteer left gets a column of the
        # last LP (a dive stopped half-way books half the weeks: laocheng's
        # tiers 1-2 in 3 s, the component's U2 5,012 instead of ~4,200), first
        # its largest one
        lam = np.array([v.solution_value() for v in master.lams]) if solved else root
        owner = np.asarray(lp.col_vol, dtype=np.int64)
        greedy = dict(fixed)
        for j in np.argsort(-lam, kind="stable").tolist():
            if lam[j] <= 1e-6:
                break
            greedy.setdefault(int(owner[j]), j)
        if DIVE_COMPLETE_SECONDS > 0 and len(greedy) > len(fixed):
            # those largest columns overlap: one column (or none) per volunteer
            # left, among those of positive value, chosen by CP-SAT for the
            # most coverage (laocheng's tier 2 in a 1.8-s dive, the
            # component's relaxed U2 4,623 -> 4,464; HISTORY "Stop 55")
            seconds = max(0.05, min(DIVE_COMPLETE_SECONDS, end - time.perf_counter()))
            greedy = _complete(self.c, lp, fixed, greedy, lam, owner, seconds)
        return [(int(self.vols[i]), lp.T[lp.col_rows[j]]) for i, j in sorted(greedy.items())]


def _complete(
    c: Compiled, lp: _TierLP, fixed: dict[int, int], greedy: dict[int, int], lam: NDArray[np.float64], owner: I64,
    seconds: float,
) -> dict[int, int]:
    """A dive cut short, completed: the ``fixed`` columns (volunteer row ->
    column of ``lp``) kept, and for each other volunteer at most one of their
    columns of positive value ``lam``, chosen to cover the most weight
    (tasks of the limits' tiers first, as in the master: each weighs more
    than all of the tier's together; a task counts when its team is full
    with the fixed columns' visits). CP-SAT, one worker, ``seconds``,
    hinted with ``greedy`` (each volunteer's largest column), which it
    returns when it finds nothing."""
    from ortools.sat.python import cp_model

    free = np.ones(int(owner.max()) + 1 if len(owner) else 0, dtype=bool)
    free[list(fixed)] = False
    cand = np.flatnonzero((lam > 1e-6) & free[owner])

    def visits(chosen: dict[int, int]) -> I64:
        # per task of the master, the visits the chosen columns hold
        n = np.zeros(len(lp.T), dtype=np.int64)
        for j in chosen.values():
            np.add.at(n, lp.col_rows[j], 1)
        return n

    base = visits(fixed)
    assert lp.key is not None
    tier, limits = lp.key[0], dict(lp.key[1])
    tt = c.t_tier[lp.T]
    w = c.t_weight[lp.T].astype(np.int64)
    big = int(w[tt == tier].sum()) + 1
    coef = np.where(tt == tier, w, 0) + np.where(np.isin(tt, list(limits)), w * big, 0)
    need = c.t_needed[lp.T].astype(np.int64)
    m = cp_model.CpModel()
    x = {int(j): m.new_bool_var("") for j in cand.tolist()}
    by_vol: dict[int, list[Any]] = {}
    terms: dict[int, list[Any]] = {}
    for j, var in x.items():
        by_vol.setdefault(int(owner[j]), []).append(var)
        for r in lp.col_rows[j].tolist():
            terms.setdefault(r, []).append(var)
        m.add_hint(var, 1 if greedy.get(int(owner[j])) == j else 0)
    for vs in by_vol.values():
        m.add_at_most_one(vs)
    obj = []
    for r, vs in terms.items():
        if base[r] >= need[r] or coef[r] <= 0:
            continue
        y = m.new_bool_var("")
        m.add(int(need[r]) * y <= int(base[r]) + sum(vs))
        obj.append(int(coef[r]) * y)
    m.maximize(sum(obj))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = seconds
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy
    out = dict(fixed)
    for j, var in x.items():
        if solver.value(var):
            out[int(owner[j])] = j

    def covered(chosen: dict[int, int]) -> int:
        return int(coef[visits(chosen) >= need].sum())

    return out if covered(out) >= covered(greedy) else greedy


def _new_column(tpos: I64, seen: set[tuple[int, bytes]], x: int, tasks: I64) -> I64 | None:
    """Volunteer ``x``'s week ``tasks`` as a column of a master: its rows
    (``tpos``; tasks outside the master are left out), or None when it holds
    none or the master has it (``seen``, to which it is added)."""
    rows = tpos[tasks]
    rows = rows[rows >= 0]
    key = (x, np.sort(rows).tobytes())
    if not len(rows) or key in seen:
        return None
    seen.add(key)
    return rows


def schedule_weeks(task: I64, volunteer: I64) -> list[tuple[int, I64]]:
    """A schedule's assignments as weeks ``(volunteer, tasks)``, volunteer by
    volunteer (the ``start`` of :meth:`WeekBound.tier_bound`)."""
    order = np.argsort(volunteer, kind="stable")
    v, t = np.asarray(volunteer)[order], np.asarray(task, dtype=np.int64)[order]
    cut = np.flatnonzero(np.diff(v)) + 1
    return [(int(x[0]), ts) for x, ts in zip(np.split(v, cut), np.split(t, cut), strict=True) if len(x)]


@dataclass
class _TierLP:
    """The master LP of the last :meth:`WeekBound.tier_bound`, for the dive."""

    T: I64  # its tasks
    tpos: I64  # row of each task of the problem (-1: not in it)
    vrow: dict[int, int]  # row of each volunteer
    master: _Master
    col_rows: list[I64]  # columns' task rows, in the master's order
    col_vol: list[int]  # and their volunteer rows
    seen: set[tuple[int, bytes]]
    #: the stabilisation's centre (task and limit multipliers) and the best
    #: bound (unrounded) when the column generation stopped, for a warm start
    center: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    best: float = -math.inf
    #: the tier and limits of that LP
    key: tuple[int, list[tuple[int, float]]] | None = None
    #: a new empty master of the same LP (the dive's copy)
    make: Callable[[], _Master] | None = None
