"""A cheap bound of an urgency tier: volunteers' knapsacks, coupled by multipliers.

The pair LP of :class:`~assign.solvers.auto.Relaxation` and the week bounds of
:mod:`.weeks` are strong but do not fit everywhere: at province scale
(ankang, 64 M candidate pairs) no LP is solved in the minute, and a tier
whose LP does not fit its share is left with the trivial bound (the weight
of the tasks nobody can take: ankang's tier 1 8,901 where schedules leave
~280,000 uncovered). This bound needs one sort of the tier's pairs per
step.

For a set of tasks (one tier's, in practice), ``y_t`` whether task ``t`` is
covered and ``x_tv`` whether volunteer ``v`` takes it, every valid schedule
satisfies ``sum_v x_tv = n_t y_t`` (whole teams) and, per volunteer, three
*laminar* capacity rows over the visits' durations ``d``:

* **block**: the visits that have one joined availability interval only in
  which they fit (rules 3 and 5) lie in it, disjoint (rule 9), within the
  span of their feasible placements there: their minutes add up to at most
  that span;
* **day**: with ``max_tasks_per_day = m`` (rule 11), the visits whose start
  can only fall on one calendar day are at most ``m`` there, so their minutes
  are at most ``m`` times the longest of them (a block that crosses midnight
  is left out of its days);
* **pledge**: all the volunteer's minutes are at most ``max_minutes``
  (rule 10; ``Candidates.load`` adds travel to the durations when travel
  counts, so the durations alone are a relaxation).

With a multiplier ``mu_t >= 0`` per task on the team rows, the Lagrangian

    L(mu) = sum_t max(0, w_t - n_t mu_t) + sum_v K_v(mu)

is at least the covered weight of every valid schedule, where ``K_v`` is the
most ``sum mu_t x_tv`` a volunteer can collect with ``0 <= x <= 1`` under
their three rows. The rows form a laminar family on one measure (minutes),
so ``K_v`` is a polymatroid's greedy: visits by ``mu_t / d`` descending, each
taking as much as every row above it leaves — computed for all volunteers at
once, a row level at a time (a stable sort by group and a cumulative sum).
``L`` is minimised by projected subgradient steps (Polyak's, towards the
incumbent's covered weight); every step's value is a bound, the best per
component is kept (the Lagrangian separates by component).

**Pins every valid schedule keeps** (:func:`~.timeindexed.sure_pin_rows`,
one volunteer each; since stop 56, as the pair LP and the week bounds have
forced them since stop 54): their tasks are covered in every schedule, so
those of the mask count as covered and take no part in ``L``, and their
visits, of any tier, take their volunteer's room: the pledge loses their
minutes, a day with a daily limit one visit for each pin whose start can
only fall on it, and a block (the one interval a pin fits in) holds the
row's visits and the pins together within the hull of all their
placements, less the pins' minutes (or the row's own span, if smaller).

The bound of ``U`` is the tasks' weight minus ``L`` (and minus the pinned
tasks' weight), after a relative 1e-9
for the float sums, rounded to the weights' gcd. Tasks with fewer candidates
than their team, and tasks of weight <= 0 (never worth covering), take no
part in ``L``: they count fully in ``U``'s bound as in the trivial one.
Its optimum is the LP of coverage and those rows, weaker than the pair LP
(which has travel in its energy rows); it is for where that LP cannot run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..candidates import Candidates
from ..compile import Compiled

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

# a volunteer's "no limit" per day is a huge sentinel; above this it is none
_NO_DAILY_LIMIT = 1 << 30
# seconds per item and step (sorts and sums; 2-CPU AMD EPYC, Shiquan's tier 4)
STEP_RATE = 4e-7
# steps without a better value before the step halves
STALL = 5


@dataclass
class _Level:
    """One row level: ``group`` per item (-1: not in a row of this level) and
    the capacity in minutes of each group."""

    group: I64
    cap: F64


def _first_block(c: Compiled, v: I64, lo: I64, hi: I64, dur: I64) -> tuple[I64, I64]:
    """Per visit (volunteer ``v``, starts in ``[lo, hi - dur]``): the index of the
    one availability interval in which it fits, or -1 when it fits in none or in
    more than one; and how many it fits in (capped at 2)."""
    n_vol = len(c.av_ptr) - 1
    horizon = int(max(int(c.av_end.max(initial=0)), int(hi.max(initial=0)))) + 1
    owner = np.repeat(np.arange(n_vol, dtype=np.int64), np.diff(c.av_ptr))
    key_end = owner * horizon + c.av_end
    key_start = owner * horizon + c.av_start
    # intervals of v that overlap [lo, hi): end > lo and start < hi (times
    # clipped so that a key never reaches another volunteer's range)
    first = np.searchsorted(key_end, v * horizon + np.clip(lo, 0, horizon - 1), side="right")
    last = np.searchsorted(key_start, v * horizon + np.clip(hi, 0, horizon), side="left")
    found = np.full(len(v), -1, dtype=np.int64)
    count = np.zeros(len(v), dtype=np.int64)
    span = last - first
    for k in range(int(span.max(initial=0))):
        j = first + k
        jj = np.where(j < last, j, 0)
        live = (j < last) & (owner[jj] == v)
        fits = live & (np.maximum(lo, c.av_start[jj]) + dur <= np.minimum(hi, c.av_end[jj]))
        found = np.where(fits & (count == 0), jj, found)
        count = np.minimum(count + fits, 2)
    return np.where(count == 1, found, -1), count


def _day_of(c: Compiled, minute: I64) -> I64:
    return np.searchsorted(c.day_starts, minute, side="right") - 1


def _placements(c: Compiled, v: I64, ws: I64, we: I64, dur: I64) -> tuple[I64, I64, I64, I64, I64]:
    """Per visit (volunteer ``v``, window ``[ws, we)``, ``dur`` minutes): the
    one interval it fits in (-1: none or several, :func:`_first_block`), the
    span ``[lo, hi)`` its placements take there (the window where -1), and
    the first and last day its start can fall on."""
    block, _ = _first_block(c, v, ws, we, dur)
    bj = np.where(block >= 0, block, 0)
    lo = np.where(block >= 0, np.maximum(ws, c.av_start[bj]), ws)
    hi = np.where(block >= 0, np.minimum(we, c.av_end[bj]), we)
    return block, lo, hi, _day_of(c, lo), _day_of(c, hi - dur)


class KnapsackBound:
    """The Lagrangian above for the tasks of ``tasks`` (a mask), over ``cands``
    (every eligible free pair: a partial candidate list gives no bound);
    with ``pins``, the surely kept pins forced (module docstring)."""

    def __init__(self, c: Compiled, cands: Candidates, tasks: NDArray[np.bool_], pins: bool = True):
        if not cands.complete:
            raise ValueError("a knapsack bound needs every eligible pair (candidates are capped or a subset)")
        self.c = c
        w = c.t_weight.astype(np.int64)
        need = c.t_needed.astype(np.int64)
        counts = cands.counts()
        self.tasks = np.asarray(tasks, dtype=bool)
        pin_rows = np.zeros(0, dtype=np.int64)
        if pins and len(c.t_pin):
            from .timeindexed import sure_pin_rows

            pin_rows = sure_pin_rows(c, cands)
        pin_t = cands.task[pin_rows].astype(np.int64)
        pin_v = cands.volunteer[pin_rows].astype(np.int64)
        held = np.zeros(c.n_tasks, dtype=bool)
        held[pin_t] = True
        #: the mask's tasks a surely kept pin covers in every valid schedule
        self.held = self.tasks & held
        # tasks that take part: worth covering, with enough candidates, not held
        self.live = self.tasks & (w > 0) & (counts >= need) & ~held
        rows = np.flatnonzero(self.live[cands.task])
        t = cands.task[rows].astype(np.int64)
        v = cands.volunteer[rows].astype(np.int64)
        dur = c.t_duration[t].astype(np.int64)
        ws, we = c.t_window_start[t], c.t_window_end[t]
        self.item_task, self.item_vol = t, v
        self.dur = dur.astype(np.float64)

        # block rows: visits with one interval they fit in, within their placements' span
        block, lo, hi, first_day, last_day = _placements(c, v, ws, we, dur)
        in_block = block >= 0
        bj = np.where(in_block, block, 0)
        n_av = len(c.av_start)
        span_lo = np.full(n_av, np.iinfo(np.int64).max, dtype=np.int64)
        span_hi = np.full(n_av, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(span_lo, block[in_block], lo[in_block])
        np.maximum.at(span_hi, block[in_block], hi[in_block])
        # (a block no visit fits only in keeps its sentinels: capacity 0, not a wrapped difference)
        block_cap = np.where(span_hi >= span_lo, span_hi - span_lo, 0).astype(np.float64)
        # the pins: in the one block they fit, with the row's visits inside
        # the hull of all their placements, less their minutes
        pin_dur = c.t_duration[pin_t].astype(np.int64)
        pin_block, p_lo, p_hi, p_first, p_last = _placements(
            c, pin_v, c.t_window_start[pin_t], c.t_window_end[pin_t], pin_dur
        )
        p_in = pin_block >= 0
        if p_in.any():
            hull_lo, hull_hi = span_lo.copy(), span_hi.copy()
            np.minimum.at(hull_lo, pin_block[p_in], p_lo[p_in])
            np.maximum.at(hull_hi, pin_block[p_in], p_hi[p_in])
            pinned_minutes = np.bincount(pin_block[p_in], pin_dur[p_in], n_av)
            with_pins = (hull_hi - hull_lo - pinned_minutes).astype(np.float64)
            has_items = span_hi >= span_lo
            block_cap = np.where(has_items, np.clip(np.minimum(block_cap, with_pins), 0.0, None), block_cap)
        levels = [_Level(np.where(in_block, block, -1), block_cap)]

        # day rows (volunteers with a daily limit): the visits whose start falls on one day
        limit = c.v_max_per_day.astype(np.int64)
        n_days = max(1, len(c.day_starts) - 1)
        limited = limit[v] < _NO_DAILY_LIMIT
        # a block that crosses midnight keeps its visits out of the day rows
        block_day = _day_of(c, c.av_start)
        block_whole_day = block_day == _day_of(c, c.av_end - 1)
        one_day = (first_day == last_day) & (first_day >= 0) & (first_day < n_days)
        one_day &= ~in_block | block_whole_day[bj]
        day_group = np.where(limited & one_day, v * n_days + first_day, -1)
        n_day_groups = (len(c.av_ptr) - 1) * n_days
        longest = np.zeros(n_day_groups, dtype=np.float64)
        sel = day_group >= 0
        np.maximum.at(longest, day_group[sel], self.dur[sel])
        owner = np.arange(n_day_groups, dtype=np.int64) // n_days
        # a pin whose start can only fall on one day takes one of its visits
        p_day = (p_first == p_last) & (p_first >= 0) & (p_first < n_days) & (limit[pin_v] < _NO_DAILY_LIMIT)
        day_pins = np.bincount(pin_v[p_day] * n_days + p_first[p_day], minlength=n_day_groups)
        day_left = np.maximum(0, np.minimum(limit[owner], _NO_DAILY_LIMIT) - day_pins)
        day_cap = day_left.astype(np.float64) * longest
        levels.append(_Level(day_group, day_cap))

        # the pledge, less the pins' minutes
        pledge = c.v_max_minutes.astype(np.float64) - np.bincount(pin_v, pin_dur, c.n_volunteers)
        levels.append(_Level(v, np.maximum(pledge, 0.0)))
        self.levels = levels

        self.w = w.astype(np.float64)
        self.need = need.astype(np.float64)
        # the weight of the tasks (all of them: those not live count fully in U)
        self.t_index = np.flatnonzero(self.live)

    @property
    def n_items(self) -> int:
        return len(self.item_task)

    def knapsacks(self, mu: F64) -> tuple[F64, F64]:
        """Per item, the amount ``x`` (0..1) the volunteers' greedy takes and the
        value ``mu_t x`` it collects, for multipliers ``mu`` (per task)."""
        p = mu[self.item_task]
        x = np.zeros(self.n_items)
        val = np.zeros(self.n_items)
        pos = np.flatnonzero(p > 0)
        if len(pos) == 0:
            return x, val
        dens = p[pos] / self.dur[pos]
        # the global order: density descending, ties by item (stable)
        order = pos[np.argsort(-dens, kind="stable")]
        amount = self.dur[order].copy()
        for level in self.levels:
            g = level.group[order]
            o = np.argsort(g, kind="stable")  # groups, density order kept inside each
            gs = g[o]
            inside = gs >= 0
            a = amount[o]
            csum = np.cumsum(a)
            # the cumulative minutes before each item within its group
            starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
            size = np.diff(np.r_[starts, len(gs)])
            before = csum - a - np.repeat(np.r_[0.0, csum][starts], size)
            capped = np.clip(level.cap[np.where(inside, gs, 0)] - before, 0.0, a)
            a = np.where(inside, capped, a)
            amount[o] = a
        x[order] = amount / self.dur[order]
        val[order] = p[order] * x[order]
        return x, val

    def run(
        self,
        steps: int,
        target: float | None = None,
        labels: I64 | None = None,
        until: float | None = None,
        post: Callable[[dict[int, int]], None] | None = None,
        post_every: float = 1.0,
    ) -> dict[int, int]:
        """``steps`` subgradient steps; the bound of the tasks' ``U`` per label of
        ``labels`` (per task; default one label 0 for all): the tasks' weight
        minus the smallest Lagrangian seen, rounded up to the gcd.

        ``labels`` must not split a component (no volunteer may be a
        candidate of tasks of two labels): the minimum per label is taken over
        different steps. ``target``, a covered weight some schedule reaches
        over the tasks that take part (so at most ``L``'s minimum; the
        pinned tasks' weight left out), aims Polyak's steps; without it they aim 5 % below the
        current value. The step halves after :data:`STALL` steps without a
        better ``L``. Multipliers stay in ``[0, w_t / n_t]`` (beyond it a
        multiplier only adds to the knapsacks). With ``until`` (a
        ``time.perf_counter()``), no step starts that would end after it.
        With ``post``, the bounds so far (as returned) are passed to it at
        most every ``post_every`` seconds between steps (e.g. sent to a
        parent process that may stop this one before it ends)."""
        import time

        c = self.c
        lab = np.zeros(c.n_tasks, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        keys = np.unique(lab[self.tasks])
        n_lab = len(keys)
        tl = np.searchsorted(keys, lab)  # (read only at tasks of the mask)
        live = self.t_index
        live_lab = tl[live]
        item_lab = tl[self.item_task]
        w, need = self.w[live], self.need[live]
        top = w / need
        # start at mu = w / n: each volunteer's knapsack of the visits' shares
        mu = np.zeros(c.n_tasks)
        mu[live] = top
        best = np.full(n_lab, np.inf)
        best_scale = np.ones(n_lab)
        best_total = np.inf
        weight_lab = np.bincount(live_lab, w, n_lab)  # (the scale of a label's sums)
        alpha, stall = 1.0, 0
        began = posted = time.perf_counter()
        for i in range(max(1, steps)):
            if until is not None and i > 0 and time.perf_counter() + (time.perf_counter() - began) / i > until:
                break
            x, val = self.knapsacks(mu)
            free = np.maximum(0.0, w - need * mu[live])
            taken = np.bincount(item_lab, val, n_lab)
            per = np.bincount(live_lab, free, n_lab) + taken
            better = per < best
            best = np.where(better, per, best)
            best_scale = np.where(better, weight_lab + taken, best_scale)
            total = float(per.sum())
            if total < best_total * (1.0 - 1e-9):
                best_total, stall = total, 0
            else:
                stall += 1
                if stall >= STALL:
                    alpha, stall = alpha / 2.0, 0
            # a subgradient of L at mu: the takers, minus the team where the task is worth it
            g = np.bincount(self.item_task, x, c.n_tasks)[live] - need * (w > need * mu[live])
            norm = float(g @ g)
            if norm <= 1e-12:
                break  # mu is optimal
            aim = 0.95 * total if target is None else min(float(target), 0.95 * total)
            mu[live] = np.clip(mu[live] - alpha * (total - aim) / norm * g, 0.0, top)
            if post is not None and time.perf_counter() - posted >= post_every:
                post(self._per_label(keys, tl, best, best_scale))
                posted = time.perf_counter()
        return self._per_label(keys, tl, best, best_scale)

    def _per_label(self, keys: I64, tl: I64, best: F64, best_scale: F64) -> dict[int, int]:
        """The bound of the tasks' ``U`` per label (:meth:`run`) from the
        smallest Lagrangian per label ``best`` (labels ``keys``, the tasks'
        label indices ``tl``) and its scale."""
        c = self.c
        # per label (tasks of the mask grouped by label, every group non-empty):
        # the weight and the gcd of the weights (0 for all-zero: then 1)
        tm = np.flatnonzero(self.tasks)
        if len(tm) == 0:
            return {}
        by = np.argsort(tl[tm], kind="stable")
        grouped = tl[tm][by]
        heads = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        weights = c.t_weight[tm][by].astype(np.int64)
        totals = np.add.reduceat(weights, heads)
        gcds = np.gcd.reduceat(np.abs(weights), heads)
        # the weight the surely kept pins cover in every schedule
        held = np.add.reduceat(np.where(self.held[tm][by], weights, 0), heads)
        out: dict[int, int] = {}
        for i, k in enumerate(keys.tolist()):
            g_w = max(1, int(gcds[i]))
            # the covered weight of the positive tasks: a multiple of the gcd, at most L
            cover = float(best[i]) + 1e-9 * max(1.0, float(best_scale[i]))
            out[int(k)] = int(totals[i]) - int(held[i]) - g_w * math.floor(cover / g_w)
        return out
