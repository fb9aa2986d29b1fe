"""strategy="cpsat": the exact CP-SAT constraint model of SPEC §4 with the §6 score.

One CP-SAT model holds every hard rule; the score is optimised lexicographically,
one stage per tier and a last stage for the soft score.

Variables
---------
* ``x[p]`` — one Boolean per candidate pair ``p = (task, volunteer)`` (eligible
  and free, :mod:`assign.candidates`; re-checked here with :mod:`assign.rules`).
  Pairs of tasks with fewer candidates than ``volunteers_needed`` are left out:
  such tasks can never be covered.
* ``covered[t]`` — ``sum(x[p] for p of t) == volunteers_needed[t] * covered[t]``:
  whole teams only (rule 2).
* ``start[t]`` — one start per task, shared by the team (rule 2); its domain is
  the union of the starts allowed for the task's pairs: the window (rule 3)
  intersected with each volunteer's joined availability intervals (rule 5).
  ``x[p] -> start[t] in allowed(p)`` (``AddLinearExpressionInDomain(...)
  .OnlyEnforceIf(x[p])``) where ``allowed(p)`` is narrower than the domain.

Constraints
-----------
* Rule 9, for every two candidate pairs ``(a, v)``, ``(b, v)`` of one volunteer
  whose allowed starts could clash: ``(start_b >= start_a + dur_a + travel(a, b))
  or (start_a >= start_b + dur_b + travel(b, a))``. The order concerns only the
  two tasks' starts (a team shares its start), so it is stated once per task
  pair with one order Boolean, enforced by a literal ``z`` that each volunteer
  taking both tasks switches on (clause ``z or not x[a, v] or not x[b, v]``;
  with a single such volunteer the two ``x`` enforce it directly). Pairs whose
  allowed starts keep them apart anyway are skipped; pairs that can never be
  apart get ``not (x[a, v] and x[b, v])``; when the windows allow one order
  only, no order Boolean is made. Equal starts always clash (durations >= 1).
* Redundant, for propagation and the linear relaxation: a ``NoOverlap`` of
  optional intervals per volunteer, and busy-time cuts — the visits of a
  volunteer that must lie inside a span ``[A, B)`` satisfy
  ``sum (dur + g) x <= B - A + g``, ``g`` the shortest travel between two of
  them (:meth:`_Model._busy_time`).
* Rule 10: ``sum(load[p] * x[p]) <= max_minutes`` with
  :func:`assign.rules.assignment_load` (travel counted when the policy says so).
* Rule 11: a pair whose allowed starts all lie on one day counts ``x[p]`` on
  that day; otherwise it gets day Booleans ``y[p, d]`` with ``sum_d y = x[p]``
  and ``y[p, d] -> start[t]`` in day ``d``. Only days whose possible count
  exceeds ``max_tasks_per_day`` get a constraint.
* Rule 12: kept pins are fixed to 1 (how they are chosen: :func:`_decide_pins`).

Objective
---------
Stage ``t`` (t = 1..T) minimises ``U_t`` (integer task weights) and fixes it:
``== value`` when proved optimal, ``<= value`` otherwise. A stage is skipped
(optimal at once) when the incumbent already covers every coverable tier-t
task. The last stage minimises the soft score, scaled to integers by a power
of two ``S`` chosen so that the objective's largest possible magnitude stays
below 2^52:

* pair terms: ``round(S * linear_pair_cost[p]) * x[p]``;
* fairness: ``q_v = history_minutes + load_v``, ``sq_v = q_v^2``
  (``AddMultiplicationEquality``), weight ``w_fairness / cap_v^2``;
* equity: per tier, an integer ``M_t >= ceil(G * U_ct / W_ct)`` for every
  community ``c`` with tier-t demand, ``G = round(100 * |w_equity| * S / 2^j)``,
  objective coefficient ``2^j`` (``j`` keeps ``W_ct * M_t`` within int64); with
  a negative equity weight ``M_t`` is the exact maximum of exact ceilings;
* constants (``w_stability`` × previous pairs, fairness of volunteers without
  candidates, equity of tiers without coverable tasks) are added outside.

The stages share the time limit: a tier stage gets the time left over the
stages still to come (the soft stage counted twice); what a stage does not
use passes on. When the stages end before the limit with a tier not proved
(its share was too short: a 25-volunteer grid at 60 s proved ``U4`` in
14-27 s, its share was 19.8 s, and the soft stage was done in 7-14 s), that
tier is solved once more, from the best schedule and with the seed + 1, in
all the time left, the later stages' constraints set aside; a better value
runs the later stages again (:func:`_second_chance`).

The rounding of every coefficient is bounded term by term, the ceilings of
``M_t`` by ``2^j / S`` per tier: the soft bound reported is
``best_bound / S + constants - rounding error - 1e-9 * max(1, |value|)``, so
it is valid for the true (float) score. The returned schedule is scored by the
caller with :func:`assign.score.evaluate`, never from the model.

Bounds
------
``U_t``'s stage bound is valid only while every earlier stage was proved
optimal (its value is then fixed at the true optimum). Once a stage stops
early its value is fixed at the value found, so later stages' bounds say
nothing about the original problem: later tiers then report the trivial bound
(the weight of their tasks that have too few candidates) and the soft part the
trivial relaxation (every objective term at its most favourable value). The
same holds after the first tier where the pins' relaxation (below) does not
meet the returned schedule: it may have reached that tier's value by dropping
a pin every valid schedule keeps.

Pins (SPEC §4 rule 12, §10)
---------------------------
A pin that breaks a rule alone is dropped with that rule's name (skills,
availability, radius, community, exclusion, pledged_minutes, daily_limit, or
whole_teams when its task has fewer candidates than its team size). The other
pins are tried all together on a model of the pinned tasks only (the empty
schedule is valid, so no other task matters). When they collide, a CP-SAT
model keeps a largest compatible subset (hence a maximal one); each dropped pin
is named with the rule it would break (checked with :func:`assign.check.violations`).
The schedule's pins are chosen under the strict reading (a pin goes only
when no timing of the kept pins lets it in), but its bound must hold for every
valid schedule under either reading: when pins collided (other maximal subsets
give other valid schedules), or when some kept pin is not *surely kept*
(:func:`~assign.solvers.timeindexed.surely_kept_pins`; read leniently, a
schedule may place its kept pins so that another no longer fits, and drop it),
the bound comes from a second lexicographic pass on a relaxation where only
the surely kept pins are forced and every other pin is free (kept or not, no
maximality). ``optimal`` then needs the schedule's score to equal that bound.

A ``hint`` that is a valid schedule holding the kept pins (checked with the
validator) is the starting incumbent: the result is never worse than it, even
when CP-SAT finds nothing in time. Of the pin sets of the largest value, the
one keeping most of the hint's pins is kept, so that a hint that chose among
equal pins qualifies. Any other hint only guides the first stage, and the
kept pins' schedule filled by the greedy (:func:`~.greedy.fill`) is the
starting incumbent. A stage that only ties its tier keeps the incumbent
unless CP-SAT's schedule is better on the later tiers and the soft objective.

Determinism: fixed ``random_seed``, ``num_workers``; with ``workers=1`` and a
problem solved to optimality, the same schedule every time.

Scale: the model has one Boolean per candidate pair and, per volunteer, one
clause per two candidate tasks that could clash, so it grows with
(candidates per volunteer)^2. It proves tiny and small problems in
milliseconds to seconds; on a community-week (3,000 tasks, 100,000 pairs, five
million clauses) building takes ~40 s, CP-SAT's presolve over a minute (so it
is switched off above ``LARGE_MODEL_CONSTRAINTS``), and within minutes the
search barely improves on the hint. Above :data:`MAX_NEAR_PAIRS` pairs of
visits that could clash (counted by a sweep before anything is built) the
model is not built at all, nor when building it would take longer than the
time limit (:data:`BUILD_SECONDS_PER_PAIR`, :data:`BUILD_SECONDS_PER_NEAR_PAIR`,
:data:`BUILD_SHARE`: laocheng's community-week needs ~40 s): the result is
the hint (the greedy schedule) with the trivial bound, a ``RuntimeWarning``
says why, and its one stage is ``model``/``NOT_BUILT``. On the
deterministic clock (one worker) the building counts its estimate.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model
from ortools.util.python.sorted_interval_list import Domain

from .. import clock as clocks
from .. import rules
from ..arrays import ragged_ranges
from ..candidates import Candidates, build_candidates
from ..compile import UNLIMITED, Compiled
from ..model import Bound
from ..score import linear_pair_cost
from ..solution import Solution

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

#: largest magnitude of the scaled soft objective (keeps doubles exact)
OBJECTIVE_LIMIT = 2.0**52
#: largest magnitude of any scaled linear constraint
CONSTRAINT_LIMIT = 2.0**61
MAX_SCALE = 2.0**40
#: longest span of the busy-time cuts (minutes) and their number per volunteer
MAX_SPAN = 720
MAX_CUTS_PER_VOLUNTEER = 2000

#: above this many constraints CP-SAT's presolve alone can outlast minutes: skip it
LARGE_MODEL_CONSTRAINTS = 1_000_000

#: the exact model is not built when its volunteers have more pairs of
#: candidate visits that could clash in time (:func:`near_pairs`, rule 9's
#: sieve) than this: laocheng's 5.0 M took a minute and 6.5 GB to build and
#: solve; Shiquan's 2.5 billion would need terabytes. ``cpsat`` then returns
#: its starting schedule with the trivial bound and warns (use ``auto``).
MAX_NEAR_PAIRS = 10_000_000
#: the model's building time, estimated from its size: seconds per candidate
#: pair and per pair of visits that could clash (one core of a 2-CPU Intel
#: Xeon, 2026-12-01, ad hoc: laocheng's 97,482 pairs and 5.0 M near pairs
#: 39.7 s; four mid-size problems of 1,150-2,537 pairs 0.2-1.1 s) ...
BUILD_SECONDS_PER_PAIR = 2.5e-4
BUILD_SECONDS_PER_NEAR_PAIR = 3e-6
#: ... and the share of the time limit the estimate may take: a model that
#: would take longer is not built (as above MAX_NEAR_PAIRS): its building
#: alone would overrun the limit (laocheng at 10 s took 41 s, to return its
#: hint)
BUILD_SHARE = 1.0
#: (a model estimated to build within this many seconds is always built)
BUILD_MIN_SECONDS = 1.0
#: seconds per constraint of the model that the lexicographic stages leave
#: before the deadline: the soft stage's presolve runs past its limit by more
#: than the tiers' stages did (laocheng, 5.4 M constraints, 60 s: the soft
#: stage 0.9-1.1 s past its share, the U stages at most 0.25 s once the
#: first had run) and reading the schedule after it takes ~0.5 s there
#: (ad hoc, /tmp/s25/cp3.py, 2026-12-02); ~1.6 s on laocheng, ~3 ms on a
#: 10,000-constraint model
TAIL_PER_CONSTRAINT = 3e-7

#: names CP-SAT gives its statuses
OPTIMAL = "OPTIMAL"
FEASIBLE = "FEASIBLE"
SKIPPED = "TRIVIAL"  # a stage proved without a solve
NOT_RUN = "NOT_RUN"  # no time left
NOT_BUILT = "NOT_BUILT"  # the model was too large to build (MAX_NEAR_PAIRS)


@dataclass(frozen=True)
class StageInfo:
    """One lexicographic stage: which part of the score, how it ended."""

    name: str  # "U1".."UT", "soft", or "pins"
    status: str
    value: float
    bound: float
    seconds: float


_log = logging.getLogger(__name__)
#: set while ``cpsat`` runs as the strategy (:func:`cpsat_strategy`): the
#: label of the pass and its start (``time.perf_counter``); its steps are then
#: logged as they end (``assign solve --verbose``); unset inside ``auto``
_REPORTING: ContextVar[tuple[str, float] | None] = ContextVar("_REPORTING", default=None)


def _report(step: str, text: str, **fields: Any) -> None:
    """Log one step of the strategy as it ends (nothing unless reporting)."""
    on = _REPORTING.get()
    if on is None or not _log.isEnabledFor(logging.INFO):
        return
    label, began = on
    seconds = time.perf_counter() - began
    name = f"{label} {step}" if label else step
    _log.info("cpsat %7.2f s  %-44s %s", seconds, name, text, extra={"fields": {"step": name, "seconds": round(seconds, 3), **fields}})


def _report_stage(info: StageInfo) -> None:
    if _REPORTING.get() is None:
        return
    if info.name == "pins":  # (value: the pins kept; bound: the pins that break no rule alone)
        what = f"{info.value:g} of {info.bound:g} pins kept"
    else:
        what = f"value {info.value:g}, bound {info.bound:g}"
    _report(
        info.name,
        f"{info.status}: {what} ({info.seconds:.2f} s)",
        status=info.status,
        value=float(info.value),
        bound=float(info.bound),
    )


@dataclass(frozen=True)
class CpsatResult:
    """What :func:`solve_cpsat_detailed` found, with how it got there."""

    solution: Solution
    bound: Bound | None
    #: every stage proved optimal (and, after pin collisions, the relaxed bound
    #: pass proved the same score): the schedule is optimal
    optimal: bool
    stages: tuple[StageInfo, ...] = ()
    bound_stages: tuple[StageInfo, ...] = ()
    seconds: float = 0.0
    n_pairs: int = 0
    scale: float = 1.0


# --------------------------------------------------------------------- pairs


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Usable pairs sorted by (task, volunteer), with their allowed start ranges."""

    task: I64
    volunteer: I64
    km: F64
    load: I64
    cost: F64
    lo: I64  # hull of allowed starts
    hi: I64
    range_ptr: I64  # CSR over pairs: closed ranges [range_lo, range_hi] of starts
    range_lo: I64
    range_hi: I64
    ptr: I64  # CSR over all tasks

    def __len__(self) -> int:
        return len(self.task)

    def ranges(self, p: int) -> list[list[int]]:
        a, b = int(self.range_ptr[p]), int(self.range_ptr[p + 1])
        return [[int(lo), int(hi)] for lo, hi in zip(self.range_lo[a:b], self.range_hi[a:b], strict=True)]

    def find(self, n_volunteers: int, task: I64, volunteer: I64) -> I64:
        """Pair index of each (task, volunteer), -1 where it is not a pair."""
        keys = self.task * n_volunteers + self.volunteer
        query = np.asarray(task, dtype=np.int64) * n_volunteers + np.asarray(volunteer, dtype=np.int64)
        if len(keys) == 0:
            return np.full(len(query), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return np.where(keys[pos] == query, pos, -1).astype(np.int64)


def _pairs(c: Compiled, task: I64, volunteer: I64) -> _Pairs:
    """Deduplicate, re-check (eligible and free), drop tasks that cannot be
    staffed, and compute each pair's allowed start ranges."""
    n_vol = max(c.n_volunteers, 1)
    keys = np.unique(np.asarray(task, dtype=np.int64) * n_vol + np.asarray(volunteer, dtype=np.int64))
    t, v = keys // n_vol, keys % n_vol
    km = rules.distance_km(c, t, v)
    ok = rules.eligible(c, t, v, km) & rules.free(c, t, v)
    t, v, km = t[ok], v[ok], km[ok]
    count = np.bincount(t, minlength=c.n_tasks)
    ok = count[t] >= c.t_needed[t]
    t, v, km = t[ok], v[ok], km[ok]
    n = len(t)

    counts = c.av_ptr[v + 1] - c.av_ptr[v]
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    interval = ragged_ranges(c.av_ptr[v], counts)
    tt = t[owner]
    lo = np.maximum(c.t_window_start[tt], c.av_start[interval])
    hi = np.minimum(c.t_window_end[tt], c.av_end[interval]) - c.t_duration[tt]
    keep = lo <= hi
    owner, lo, hi = owner[keep], lo[keep], hi[keep]
    range_ptr = np.zeros(n + 1, dtype=np.int64)
    range_ptr[1:] = np.cumsum(np.bincount(owner, minlength=n))
    hull_lo = np.zeros(n, dtype=np.int64)
    hull_hi = np.zeros(n, dtype=np.int64)
    if n:
        hull_lo = lo[range_ptr[:-1]]
        hull_hi = hi[range_ptr[1:] - 1]
    return _Pairs(
        task=t,
        volunteer=v,
        km=km,
        load=rules.assignment_load(c, t, v, km).astype(np.int64),
        cost=np.asarray(linear_pair_cost(c, t, v, km), dtype=np.float64),
        lo=hull_lo,
        hi=hull_hi,
        range_ptr=range_ptr,
        range_lo=lo,
        range_hi=hi,
        ptr=np.searchsorted(t, np.arange(c.n_tasks + 1), side="left").astype(np.int64),
    )


def _reach(c: Compiled) -> I64:
    """Per volunteer, minutes of travel between two recipients that can be
    theirs: those lie within the radius of the volunteer's home, so at most two
    radii apart (triangle inequality), plus one."""
    return rules.travel_minutes(c, 2.0 * c.v_radius.astype(np.float64) + 1e-6).astype(np.int64) + 1


def near_pairs(c: Compiled, pairs: _Pairs) -> int:
    """How many two pairs of one volunteer could clash in time (allowed start
    hulls closer than duration plus :func:`_reach`): the pairs rule 9 must
    look at (:meth:`_Model._clashing_pairs`), counted by a sweep, without
    listing them."""
    if len(pairs) < 2:
        return 0
    v = pairs.volunteer
    span = 4 * int(c.horizon_minutes) + 8  # lo lies in [-span/4, span/2]: keys do not mix volunteers
    offset = span // 4
    key = v * span + pairs.lo + offset
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    far = v[order] * span + pairs.hi[order] + c.t_duration[pairs.task[order]] + _reach(c)[v[order]] + offset
    far = np.minimum(far, v[order] * span + span - 1)
    later = np.searchsorted(sorted_key, far, side="left") - np.arange(len(order)) - 1
    return int(np.maximum(later, 0).sum())


def _merge(ranges: list[list[int]]) -> list[list[int]]:
    ranges = sorted(ranges)
    out: list[list[int]] = []
    for lo, hi in ranges:
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


# --------------------------------------------------------------------- model


@dataclass
class _Term:
    """One variable of the soft objective: true coefficient, variable bounds."""

    index: int  # CP-SAT variable index
    coef: float
    lo: int
    hi: int


class _Model:
    """The hard rules on the pairs of ``tasks`` (all pairs of each task);
    ``cuts``: with the redundant busy-time cuts (for the relaxation; a model
    only asked whether it is feasible goes without)."""

    def __init__(self, c: Compiled, pairs: _Pairs, tasks: I64, fixed: I64, cuts: bool = True):
        self.c = c
        self.pairs = pairs
        m = cp_model.CpModel()
        self.model = m
        self.tasks = np.asarray(tasks, dtype=np.int64)
        parts = [np.arange(pairs.ptr[t], pairs.ptr[t + 1], dtype=np.int64) for t in self.tasks]
        self.pair_idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        n = len(self.pair_idx)
        self.x = [m.new_bool_var("") for _ in range(n)]
        self.x_not = [var.Not() for var in self.x]
        self.x_index = np.array([var.index for var in self.x], dtype=np.int64)
        self.local = np.full(len(pairs), -1, dtype=np.int64)
        self.local[self.pair_idx] = np.arange(n)
        self.task_local = np.full(c.n_tasks, -1, dtype=np.int64)
        self.task_local[self.tasks] = np.arange(len(self.tasks))
        self.cov: list[Any] = []
        # how to compute every auxiliary variable from x and the starts (complete hints)
        self.z_info: list[tuple[int, list[tuple[int, int]]]] = []  # z, (pair a, pair b) that switch it on
        self.o_info: list[tuple[int, int, int]] = []  # o, task a, task b: o = a goes first
        self.y_info: list[tuple[int, int, int, int]] = []  # y, pair, task, day
        self.fair_info: list[tuple[int, int, int, list[int], list[int]]] = []  # q, sq, history, pairs, loads
        self.equity_info: list[tuple[int, int, list[tuple[int | None, int, list[int], list[int], int]]]] = []
        self.start: list[Any] = []
        self.start_lo: list[int] = []
        self.start_hi: list[int] = []
        self._tasks_and_windows()
        self.task_lo = np.array([d for d in self.start_lo], dtype=np.int64)
        self.task_hi = np.array(self.start_hi, dtype=np.int64)
        self._double_booking()
        self._pledged_minutes()
        self._daily_limit()
        if cuts:
            self._busy_time()
        for p in np.asarray(fixed, dtype=np.int64):
            if self.local[p] < 0:
                raise ValueError("a fixed pair is not in the model")
            m.add(self.x[self.local[p]] == 1)
        self.cov_index = np.array([var.index for var in self.cov], dtype=np.int64)
        self.start_index = np.array([var.index for var in self.start], dtype=np.int64)

    # -- rules 2, 3, 5
    def _tasks_and_windows(self) -> None:
        m, P, c = self.model, self.pairs, self.c
        for t in self.tasks:
            a, b = int(P.ptr[t]), int(P.ptr[t + 1])
            cov = m.new_bool_var("")
            own = [P.ranges(p) for p in range(a, b)]
            domain = _merge([r for ranges in own for r in ranges])
            start = m.new_int_var_from_domain(Domain.from_intervals(domain), "")
            xs = [self.x[self.local[p]] for p in range(a, b)]
            m.add(sum(xs) == int(c.t_needed[t]) * cov)
            for p, ranges, xp in zip(range(a, b), own, xs, strict=True):
                if ranges != domain:
                    m.add_linear_expression_in_domain(start, Domain.from_intervals(ranges)).only_enforce_if(xp)
                del p
            self.cov.append(cov)
            self.start.append(start)
            self.start_lo.append(domain[0][0])
            self.start_hi.append(domain[-1][1])

    def _by_volunteer(self) -> list[I64]:
        """Local pair indexes grouped by volunteer (each group sorted by task)."""
        vol = self.pairs.volunteer[self.pair_idx]
        order = np.lexsort((self.pairs.task[self.pair_idx], vol))
        bounds = np.flatnonzero(np.diff(vol[order])) + 1
        return [g for g in np.split(order, bounds) if len(g)]

    # -- rule 9
    def _clashing_pairs(self) -> tuple[I64, I64, I64, I64]:
        """Every two pairs (pa, pb) of one volunteer, task of pa < task of pb,
        whose allowed starts do not keep the visits apart (travel included)
        whatever they are; with the gaps ``start_b - start_a`` needed when a
        goes first (``gap_a``) and ``start_a - start_b`` when b does."""
        P, c = self.pairs, self.c
        found: list[tuple[I64, I64, I64, I64]] = []
        reach_of = _reach(c)
        for group in self._by_volunteer():
            if len(group) < 2:
                continue
            glob = self.pair_idx[group]
            reach = int(reach_of[P.volunteer[glob[0]]])  # a cheap sieve
            ia, ib = np.triu_indices(len(group), 1)
            pa, pb = glob[ia], glob[ib]
            ta, tb = P.task[pa], P.task[pb]
            near = (P.lo[pb] < P.hi[pa] + c.t_duration[ta] + reach) & (P.lo[pa] < P.hi[pb] + c.t_duration[tb] + reach)
            pa, pb, ta, tb = pa[near], pb[near], ta[near], tb[near]
            ra, rb = c.t_recipient[ta], c.t_recipient[tb]
            gap_a = c.t_duration[ta] + rules.travel_between_recipients(c, ra, rb)
            gap_b = c.t_duration[tb] + rules.travel_between_recipients(c, rb, ra)
            apart = (P.hi[pa] + gap_a <= P.lo[pb]) | (P.hi[pb] + gap_b <= P.lo[pa])
            found.append((pa[~apart], pb[~apart], gap_a[~apart], gap_b[~apart]))
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        return tuple(np.concatenate([f[i] for f in found]) for i in range(4))  # type: ignore[return-value]

    def _double_booking(self) -> None:
        """Rule 9. Two visits of a volunteer that could clash need an order. The
        order only concerns the two tasks' starts, so it is stated once per task
        pair, enforced by a literal ``z`` that every volunteer who takes both
        tasks switches on (``z or not x_a or not x_b``); ``z`` may be on
        needlessly only at the cost of a stricter model, so it is never wrong."""
        m, P, c = self.model, self.pairs, self.c
        pa, pb, gap_a, gap_b = self._clashing_pairs()
        x, x_not = self.x, self.x_not
        la, lb = self.local[pa], self.local[pb]
        never = (P.lo[pa] + gap_a > P.hi[pb]) & (P.lo[pb] + gap_b > P.hi[pa])
        for a, b in zip(la[never].tolist(), lb[never].tolist(), strict=True):
            m.add_bool_or([x_not[a], x_not[b]])
        rest = ~never
        ta, tb = P.task[pa[rest]], P.task[pb[rest]]
        la, lb, gap_a, gap_b = la[rest], lb[rest], gap_a[rest], gap_b[rest]
        key = ta * max(c.n_tasks, 1) + tb
        order = np.argsort(key, kind="stable")
        key, ta, tb, la, lb, gap_a, gap_b = (arr[order] for arr in (key, ta, tb, la, lb, gap_a, gap_b))
        bounds = np.flatnonzero(np.diff(key)) + 1
        firsts = np.concatenate(([0], bounds)) if len(key) else np.zeros(0, dtype=np.int64)
        ends = np.concatenate((bounds, [len(key)])) if len(key) else np.zeros(0, dtype=np.int64)
        t_lo, t_hi = self.task_lo.tolist(), self.task_hi.tolist()
        ta, tb = self.task_local[ta].tolist(), self.task_local[tb].tolist()
        la, lb, gap_a, gap_b = la.tolist(), lb.tolist(), gap_a.tolist(), gap_b.tolist()
        for i, j in zip(firsts.tolist(), ends.tolist(), strict=True):
            a, b = ta[i], tb[i]
            ga, gb = gap_a[i], gap_b[i]
            can_ab = t_lo[a] + ga <= t_hi[b]
            can_ba = t_lo[b] + gb <= t_hi[a]
            if j - i == 1:
                when = [x[la[i]], x[lb[i]]]
            else:
                z = m.new_bool_var("")
                for k in range(i, j):
                    m.add_bool_or([z, x_not[la[k]], x_not[lb[k]]])
                when = [z]
                self.z_info.append((z.index, [(la[k], lb[k]) for k in range(i, j)]))
            sa, sb = self.start[a], self.start[b]
            if can_ab and can_ba:
                o = m.new_bool_var("")
                self.o_info.append((o.index, a, b))
                m.add(sb >= sa + ga).only_enforce_if([*when, o])
                m.add(sa >= sb + gb).only_enforce_if([*when, o.Not()])
            elif can_ab:
                m.add(sb >= sa + ga).only_enforce_if(when)
            else:
                m.add(sa >= sb + gb).only_enforce_if(when)
        # redundant: no two visits of a volunteer overlap (travel left out)
        involved = np.unique(np.concatenate((self.local[pa], self.local[pb])))
        vol = P.volunteer[self.pair_idx[involved]]
        by_vol = np.lexsort((involved, vol))
        involved, vol = involved[by_vol], vol[by_vol]
        for group in np.split(involved, np.flatnonzero(np.diff(vol)) + 1) if len(involved) else []:
            if len(group) < 2:
                continue
            intervals = []
            for k in group.tolist():
                t = int(P.task[self.pair_idx[k]])
                tl = self.task_local[t]
                intervals.append(m.new_optional_fixed_size_interval_var(self.start[tl], int(c.t_duration[t]), x[k], ""))
            m.add_no_overlap(intervals)

    # -- redundant cuts
    def _busy_time(self) -> None:
        """Cuts the disjunctions lack in the linear relaxation (rules 5 and 9):
        the visits of a volunteer that must lie inside a span [A, B) fit in it,
        travel included: ``sum (dur_p + g) x_p <= B - A + g`` where ``g`` is the
        shortest travel between two of those visits (n visits need n - 1 trips).
        Spans run from one visit's earliest start to another's latest end (at
        most ``MAX_SPAN`` minutes); only spans that can bind get a cut, at most
        ``MAX_CUTS_PER_VOLUNTEER`` per volunteer."""
        m, P, c = self.model, self.pairs, self.c
        for group in self._by_volunteer():
            if len(group) < 2:
                continue
            glob = self.pair_idx[group]
            lo = P.lo[glob]
            dur = c.t_duration[P.task[glob]]
            end = P.hi[glob] + dur
            rec = c.t_recipient[P.task[glob]]
            ia, ib = np.meshgrid(rec, rec, indexing="ij")
            travel = rules.travel_between_recipients(c, ia.ravel(), ib.ravel()).reshape(len(rec), len(rec))
            np.fill_diagonal(travel, np.iinfo(np.int64).max)
            travel = np.minimum(travel, travel.T)
            seen: set[tuple[int, ...]] = set()
            for a_ in np.unique(lo):
                # the visits starting at a_ or later by end: for a span
                # [a_, b_) the visits inside are a prefix of them, so the
                # sums of durations and the shortest trip among them are
                # running sums and minima (one pass per a_, not per span)
                after = np.flatnonzero((lo >= a_) & (end <= a_ + MAX_SPAN))
                after = after[np.argsort(end[after], kind="stable")]
                ends = end[after]
                spans = np.unique(ends)
                if len(spans) == 0:
                    continue
                sub = travel[np.ix_(after, after)]
                below = np.where(np.tri(len(after), k=-1, dtype=bool), sub, np.iinfo(np.int64).max)
                gaps = np.minimum.accumulate(below.min(axis=1))
                durs = np.cumsum(dur[after])
                count = np.searchsorted(ends, spans, side="right")
                last = count - 1
                binds = (count >= 2) & (durs[last] > (spans - a_) - gaps[last] * (count - 1))
                for b_, n_in in zip(spans[binds].tolist(), count[binds].tolist(), strict=True):
                    inside = np.sort(after[:n_in])
                    key = tuple(inside.tolist())
                    if key in seen:
                        continue
                    seen.add(key)
                    gap = int(gaps[n_in - 1])
                    m.add(
                        cp_model.LinearExpr.weighted_sum(
                            [self.x[group[k]] for k in inside], [int(d) + gap for d in dur[inside]]
                        )
                        <= int(b_ - a_) + gap
                    )
                    if len(seen) >= MAX_CUTS_PER_VOLUNTEER:
                        break
                if len(seen) >= MAX_CUTS_PER_VOLUNTEER:
                    break

    # -- rule 10
    def _pledged_minutes(self) -> None:
        m, P, c = self.model, self.pairs, self.c
        for group in self._by_volunteer():
            glob = self.pair_idx[group]
            v = int(P.volunteer[glob[0]])
            if int(P.load[glob].sum()) > int(c.v_max_minutes[v]):
                m.add(
                    cp_model.LinearExpr.weighted_sum([self.x[k] for k in group], [int(x) for x in P.load[glob]])
                    <= int(c.v_max_minutes[v])
                )

    # -- rule 11
    def _daily_limit(self) -> None:
        m, P, c = self.model, self.pairs, self.c
        day_starts = c.day_starts
        for group in self._by_volunteer():
            glob = self.pair_idx[group]
            v = int(P.volunteer[glob[0]])
            limit = int(c.v_max_per_day[v])
            if limit >= UNLIMITED or limit >= len(group):
                continue
            if limit == 0:
                for k in group:
                    m.add(self.x[k] == 0)
                continue
            first = rules.day_of(c, P.lo[glob])
            last = rules.day_of(c, P.hi[glob])
            per_day: dict[int, list[int]] = {}
            for k, d0, d1 in zip(group, first, last, strict=True):
                for d in range(int(d0), int(d1) + 1):
                    per_day.setdefault(d, []).append(int(k))
            binding = {d for d, ks in per_day.items() if len(ks) > limit}
            if not binding:
                continue
            day_var: dict[tuple[int, int], Any] = {}
            for k, d0, d1 in zip(group, first, last, strict=True):
                days = range(int(d0), int(d1) + 1)
                if len(days) == 1 or not binding.intersection(days):
                    continue
                t = int(P.task[self.pair_idx[k]])
                start = self.start[self.task_local[t]]
                ys = []
                for d in days:
                    y = m.new_bool_var("")
                    lo = int(day_starts[d])
                    hi = int(day_starts[d + 1]) - 1 if d + 1 < len(day_starts) else c.horizon_minutes
                    m.add_linear_constraint(start, lo, hi).only_enforce_if(y)
                    day_var[(int(k), d)] = y
                    self.y_info.append((y.index, int(k), int(self.task_local[t]), d))
                    ys.append(y)
                m.add(sum(ys) == self.x[int(k)])
            for d in sorted(binding):
                terms = [day_var.get((k, d), self.x[k]) for k in per_day[d]]
                m.add(sum(terms) <= limit)

    def complete(self, x: I64, start: I64) -> I64:
        """Every variable's value given x (per local pair) and the starts (per
        local task): a complete hint, a solution when x and the starts are."""
        full = np.zeros(len(self.model.proto.variables), dtype=np.int64)
        x = np.asarray(x, dtype=np.int64)
        start = np.asarray(start, dtype=np.int64)
        full[self.x_index] = x
        cov = np.zeros(len(self.tasks), dtype=np.int64)
        if len(self.tasks):
            task = self.task_local[self.pairs.task[self.pair_idx]]
            cov = (np.bincount(task, weights=x, minlength=len(self.tasks)) > 0).astype(np.int64)
        full[self.cov_index] = cov
        full[self.start_index] = start
        xs, starts, covs = x.tolist(), start.tolist(), cov.tolist()
        for index, both in self.z_info:
            full[index] = int(any(xs[a] and xs[b] for a, b in both))
        for index, a, b in self.o_info:
            full[index] = int(starts[a] < starts[b])
        if self.y_info:
            days = rules.day_of(self.c, start).tolist()
            for index, k, t, d in self.y_info:
                full[index] = int(xs[k] == 1 and days[t] == d)
        for q, sq, h, ks, loads in self.fair_info:
            value = h + sum(load * xs[k] for k, load in zip(ks, loads, strict=True))
            full[q], full[sq] = value, value * value
        for top, gain, rows in self.equity_info:
            values = []
            for cell, total, locs, ws, const in rows:
                if total == 0:
                    value = 0
                else:
                    u = const + sum(w * (1 - covs[i]) for i, w in zip(locs, ws, strict=True))
                    num, den = gain * u * (1 if total > 0 else -1), abs(total)
                    value = -((-num) // den)  # exact integer ceiling
                if cell is not None:
                    full[cell] = value
                values.append(value)
            full[top] = max(values)
        return full

    # -- objectives
    def uncovered(self, tier: int) -> tuple[list[int], list[int], int]:
        """``U_tier = constant + sum(weight * (1 - covered))``: (cov indexes,
        weights, weight of the tier's tasks outside the model)."""
        c = self.c
        in_model = np.zeros(c.n_tasks, dtype=bool)
        in_model[self.tasks] = True
        of_tier = c.t_tier == tier
        constant = int(c.t_weight[of_tier & ~in_model].sum())
        local = np.flatnonzero(c.t_tier[self.tasks] == tier)
        return [int(i) for i in local], [int(c.t_weight[self.tasks[i]]) for i in local], constant


@dataclass
class _Soft:
    """The scaled soft objective of a model."""

    indexes: list[int]
    coefs: list[int]
    scale: float
    constant: float  # true units, outside the model
    error: float  # rounding error bound, true units
    trivial: float  # trivial lower bound, true units (constant and error included)


def _soft_objective(mdl: _Model) -> _Soft:
    """Add the soft-score variables to ``mdl`` and return the scaled objective."""
    c, P, m = mdl.c, mdl.pairs, mdl.model
    w = c.weights
    terms: list[_Term] = []
    constant = w["stability"] * len(c.previous_keys)
    ceil_error = 0.0

    # linear pair costs
    for k, p in enumerate(mdl.pair_idx):
        if P.cost[p] != 0.0:
            terms.append(_Term(int(mdl.x_index[k]), float(P.cost[p]), 0, 1))

    # fairness
    w_fair = w["fairness"]
    cap = c.share_capacity
    history = c.v_history_minutes
    has_pairs = np.zeros(c.n_volunteers, dtype=bool)
    groups = mdl._by_volunteer()
    for group in groups:
        has_pairs[P.volunteer[mdl.pair_idx[group[0]]]] = True
    if w_fair != 0.0:
        for idle in np.flatnonzero((cap > 0) & ~has_pairs):
            constant += w_fair * (float(history[idle]) / float(cap[idle])) ** 2
        for group in groups:
            glob = mdl.pair_idx[group]
            v = int(P.volunteer[glob[0]])
            if cap[v] <= 0:
                continue
            h = int(history[v])
            most = h + min(int(P.load[glob].sum()), int(c.v_max_minutes[v]))
            q = m.new_int_var(h, most, "")
            m.add(q == h + cp_model.LinearExpr.weighted_sum([mdl.x[k] for k in group], [int(x) for x in P.load[glob]]))
            sq = m.new_int_var(h * h, most * most, "")
            m.add_multiplication_equality(sq, [q, q])
            mdl.fair_info.append((q.index, sq.index, h, [int(k) for k in group], [int(x) for x in P.load[glob]]))
            terms.append(_Term(sq.index, w_fair / float(cap[v]) ** 2, h * h, most * most))

    # equity
    w_eq = w["equity"]
    equity_terms: list[tuple[Any, list[tuple[int, list[int], list[int], int]]]] = []
    if w_eq != 0.0 and c.n_tasks and c.n_communities:
        comm = c.t_community
        in_model = mdl.task_local >= 0
        for tier in range(1, c.n_tiers + 1):
            cells: list[tuple[int, list[int], list[int], int]] = []
            for cm in np.unique(comm[c.t_tier == tier]):
                mask = (c.t_tier == tier) & (comm == cm)
                total = int(c.t_weight[mask].sum())
                if total == 0:
                    cells.append((0, [], [], 0))
                    continue
                inside = np.flatnonzero(mask & in_model)
                cells.append(
                    (
                        total,
                        [int(mdl.task_local[t]) for t in inside],
                        [int(c.t_weight[t]) for t in inside],
                        int(c.t_weight[mask & ~in_model].sum()),
                    )
                )
            if not cells:
                continue
            if all(not locs for _, locs, _, _ in cells):
                shares = [100.0 * const / total if total else 0.0 for total, _, _, const in cells]
                constant += w_eq * max(shares)
                continue
            equity_terms.append((tier, cells))
    # share bounds per cell (true percentage points), before choosing K
    equity_cells: list[tuple[list[tuple[int, list[int], list[int], int, float, float]], float, float]] = []
    for _tier, cells in equity_terms:
        rows = []
        for total, locs, ws, const in cells:
            if total == 0:
                rows.append((total, locs, ws, const, 0.0, 0.0))
                continue
            u_lo = const + sum(min(0, x) for x in ws)
            u_hi = const + sum(max(0, x) for x in ws)
            a, b = 100.0 * u_lo / total, 100.0 * u_hi / total
            rows.append((total, locs, ws, const, min(a, b), max(a, b)))
        equity_cells.append((rows, max(r[4] for r in rows), max(r[5] for r in rows)))

    # the scale S: the objective's largest magnitude stays below OBJECTIVE_LIMIT
    magnitude = sum(abs(t.coef) * max(abs(t.lo), abs(t.hi)) for t in terms)
    magnitude += sum(abs(w_eq) * (max(abs(lo), abs(hi)) + 1.0) for _, lo, hi in equity_cells)
    scale = 1.0
    if magnitude > 0:
        scale = 2.0 ** math.floor(math.log2(OBJECTIVE_LIMIT / magnitude))
        scale = min(max(scale, 1.0), MAX_SCALE)

    # Equity in scaled units: M = ceil(G * U_ct / W_ct) with G = 100 |w_equity| S / 2^j
    # rounded, and objective coefficient sign(w_equity) * 2^j (exact). j is the
    # smallest that keeps |W| * M within CONSTRAINT_LIMIT.
    if equity_cells:
        biggest = max(abs(r[0]) for rows, _, _ in equity_cells for r in rows) or 1
        ratio = max(
            [(sum(abs(x) for x in r[2]) + abs(r[3])) / abs(r[0]) for rows, _, _ in equity_cells for r in rows if r[0]]
            or [1.0]
        )
        wanted = 100.0 * abs(w_eq) * scale * 4.0 * biggest * max(ratio, 1.0) / CONSTRAINT_LIMIT
        unit = 2.0 ** max(0, math.ceil(math.log2(wanted))) if wanted > 0 else 1.0
        gain = int(round(100.0 * abs(w_eq) * scale / unit))
        sign = 1 if w_eq > 0 else -1

    def scaled_range(lo: float, hi: float) -> tuple[int, int]:
        return math.floor(lo / 100.0 * gain) - 1, math.ceil(hi / 100.0 * gain) + 1

    for rows, top_lo, top_hi in equity_cells:
        lo, hi = scaled_range(top_lo, top_hi)
        top = m.new_int_var(lo, hi, "")
        exacts = []
        hint_rows: list[tuple[int | None, int, list[int], list[int], int]] = []
        for total, locs, ws, const, c_lo, c_hi in rows:
            # U_ct = const + sum(w) - sum(w * covered)
            expr_u: Any = 0
            if total != 0:
                expr_u = const + sum(ws) - cp_model.LinearExpr.weighted_sum([mdl.cov[i] for i in locs], ws)
            side = 1 if total > 0 else -1
            cell_index: int | None = None
            if w_eq > 0:  # minimising pushes M down onto the largest ceiling
                if total == 0:
                    m.add(top >= 0)
                else:
                    m.add(abs(total) * top >= side * gain * expr_u)
            else:  # M is pushed up: make it the exact maximum of exact ceilings
                cell = m.new_int_var(*scaled_range(c_lo, c_hi), "")
                if total == 0:
                    m.add(cell == 0)
                else:
                    m.add(abs(total) * cell >= side * gain * expr_u)
                    m.add(abs(total) * cell <= side * gain * expr_u + abs(total) - 1)
                exacts.append(cell)
                cell_index = cell.index
            hint_rows.append((cell_index, total, locs, ws, const))
        if exacts:
            m.add_max_equality(top, exacts)
        mdl.equity_info.append((top.index, gain, hint_rows))
        terms.append(_Term(top.index, sign * unit / scale, lo, hi))
        # the ceiling adds < 1 unit, the rounding of G at most 1/2 unit per 100 %
        share = max(abs(top_lo), abs(top_hi)) / 100.0
        ceil_error += unit / scale * (1.0 + 0.5 * share)

    indexes, coefs = [], []
    error = ceil_error
    trivial = constant
    for t in terms:
        scaled = round(t.coef * scale)
        error += abs(scaled - t.coef * scale) * max(abs(t.lo), abs(t.hi)) / scale
        trivial += min(t.coef * t.lo, t.coef * t.hi)
        if scaled != 0:
            indexes.append(t.index)
            coefs.append(int(scaled))
    trivial -= error
    return _Soft(indexes, coefs, scale, constant, error, trivial - 1e-9 * max(1.0, abs(trivial)))


def _expr(m: cp_model.CpModel, indexes: list[int], coefs: list[int]) -> Any:
    return cp_model.LinearExpr.weighted_sum([m.get_int_var_from_proto_index(i) for i in indexes], coefs)


# ------------------------------------------------------------------- solving


def _workers(workers: int | None) -> int:
    if workers is not None and workers > 0:
        return int(workers)
    return max(1, min(8, os.cpu_count() or 1))


def _solver(seed: int, workers: int, model: cp_model.CpModel | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver; its time limit is set by the clock that runs it
    (:meth:`assign.clock.Clock.solve`)."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = int(seed)
    params.num_workers = workers
    params.log_search_progress = False
    if model is not None and len(model.proto.constraints) > LARGE_MODEL_CONSTRAINTS:
        # on a community-week model presolve took over a minute before the
        # search (and the complete hint) even started
        params.cp_model_presolve = False
    return solver


def _set_hint(m: cp_model.CpModel, indexes: I64, values: I64) -> None:
    m.clear_hints()
    hint = m.proto.solution_hint
    hint.vars.extend([int(i) for i in indexes])
    hint.values.extend([int(x) for x in values])


@dataclass
class _Incumbent:
    """A solution of a model: x per local pair, start per local task; ``full``
    is the whole CP-SAT assignment when it came from this model."""

    x: I64
    start: I64
    full: I64 | None = None

    def covered(self, mdl: _Model) -> I64:
        if len(mdl.tasks) == 0:
            return np.zeros(0, dtype=np.int64)
        task = mdl.task_local[mdl.pairs.task[mdl.pair_idx]]
        return (np.bincount(task, weights=self.x, minlength=len(mdl.tasks)) > 0).astype(np.int64)

    def hint(self, mdl: _Model) -> tuple[I64, I64]:
        full = self.full if self.full is not None else mdl.complete(self.x, self.start)
        return np.arange(len(full), dtype=np.int64), full


def _read(mdl: _Model, solver: cp_model.CpSolver) -> _Incumbent:
    full = np.asarray(solver.response_proto.solution, dtype=np.int64)
    return _Incumbent(x=full[mdl.x_index], start=full[mdl.start_index], full=full)


def _empty_incumbent(mdl: _Model) -> _Incumbent:
    return _Incumbent(
        x=np.zeros(len(mdl.pair_idx), dtype=np.int64), start=np.asarray(mdl.start_lo, dtype=np.int64)
    )


@dataclass
class _Lex:
    incumbent: _Incumbent
    stages: list[StageInfo] = field(default_factory=list)
    bound_u: list[int] = field(default_factory=list)
    bound_soft: float = 0.0
    proved: bool = True
    #: per tier, the bound that holds for every schedule (impossible tasks and negative weights)
    trivial_u: list[int] = field(default_factory=list)
    #: whether ``incumbent`` is a solution of the model (see :func:`_lexicographic`)
    valid: bool = True

    def add(self, info: StageInfo) -> None:
        """Record a stage as it ends (and log it when reporting)."""
        self.stages.append(info)
        _report_stage(info)


#: ``(tier, limits, value, seconds) -> floor``: a lower bound of ``U_tier``
#: over every valid schedule with ``U_j <= limits[j]`` (the more urgent tiers
#: at their proven optimum), or None; ``value`` is the incumbent's ``U_tier``
#: (a bound that reaches it may stop there), ``seconds`` the most it may take
#: on the current clock (None: no limit)
TierFloor = Callable[[int, dict[int, int], int, float | None], float | None]
#: the share of the time left that a tier's floor may take
FLOOR_SHARE = 0.1
#: a stage proven by its floor alone (:meth:`_LexState.floor`)
FLOOR_MET = "FLOOR_MET"
_NO_FLOOR = -(2**62)


@dataclass
class _UStage:
    """One tier's stage of :func:`_lexicographic`, as it stands."""

    tier: int
    locs: list[int]
    weights: list[int]
    constant: int
    trivial: int
    value: int = 0
    bound: int = 0
    proven: bool = False
    #: the clock's seconds its last solve took (deterministic with one worker)
    seconds: float = 0.0
    #: index in the model's constraints of the one this stage added (None: none)
    pos: int | None = None
    #: that constraint's domain while it is set aside (:meth:`set_aside`)
    saved: list[int] | None = None
    #: the covered weight as a CP-SAT expression (built once, :meth:`expr`)
    cov_expr: Any = field(default=None, repr=False)
    #: a lower bound of ``U`` from outside the model (:meth:`_LexState.floor`)
    floor: int = _NO_FLOOR

    def expr(self, mdl: _Model) -> Any:
        if self.cov_expr is None:
            self.cov_expr = cp_model.LinearExpr.weighted_sum([mdl.cov[i] for i in self.locs], self.weights)
        return self.cov_expr

    def u_of(self, mdl: _Model, inc: _Incumbent) -> int:
        """The tier's uncovered weight in ``inc``."""
        covered = inc.covered(mdl)
        return self.constant + sum(w * (1 - int(covered[i])) for i, w in zip(self.locs, self.weights, strict=True))

    def fix(self, mdl: _Model, equal: bool) -> None:
        """Add ``U_tier == value`` (``equal``) or ``<= value``; remember where."""
        m = mdl.model
        self.pos = len(m.proto.constraints)
        covered = sum(self.weights) - (self.value - self.constant)
        m.add(self.expr(mdl) == covered) if equal else m.add(self.expr(mdl) >= covered)

    def set_aside(self, mdl: _Model) -> None:
        """Make the stage's constraint hold for everything (its domain the
        whole of int64): CP-SAT's model cannot delete a constraint."""
        con = None if self.pos is None else mdl.model.proto.constraints[self.pos]
        if con is None or not con.has_linear():  # (a constant's: true)
            return
        self.saved = list(con.linear.domain)
        con.linear.domain.clear()
        con.linear.domain.extend([-cp_model.INT_MAX, cp_model.INT_MAX])

    def put_back(self, mdl: _Model) -> None:
        if self.saved is not None and self.pos is not None:
            dom = mdl.model.proto.constraints[self.pos].linear.domain
            dom.clear()
            dom.extend(self.saved)
        self.saved = None


def _lexicographic(
    mdl: _Model,
    soft: _Soft,
    incumbent: _Incumbent,
    deadline: float | None,
    seed: int,
    workers: int,
    hint: tuple[I64, I64] | None = None,
    second_chance: bool = False,
    valid: bool = True,
    tier_floor: TierFloor | None = None,
) -> _Lex:
    """Minimise U_1, ..., U_T, then soft; fix each stage; collect bounds.

    ``second_chance``: when the stages end before ``deadline`` with a tier not
    proved, that tier is solved again in the time left (:func:`_second_chance`).
    ``valid``: ``incumbent`` is a solution of the model, so a stage keeps it
    when CP-SAT returns worse; else (the empty schedule of a model that
    forces pins) CP-SAT's first solution replaces it, and the result's
    ``valid`` says whether one was found. ``tier_floor``: lower bounds of the
    tiers from outside the model (:meth:`_LexState.floor`)."""
    c = mdl.c
    out = _Lex(incumbent=incumbent, valid=valid)
    runs: list[_UStage] = []
    for tier in range(1, c.n_tiers + 1):
        locs, weights, constant = mdl.uncovered(tier)
        trivial = constant + sum(min(0, w) for w in weights)  # no schedule does better
        out.trivial_u.append(trivial)
        runs.append(_UStage(tier, locs, weights, constant, trivial))
    state = _LexState(mdl, soft, out, runs, deadline, seed, workers, tier_floor)
    state.tiers_from(0, hint)
    if second_chance and deadline is not None:
        # tiers come strictly before the soft score: a tier left open gets
        # most of the time left before the soft stage does
        _second_chance(state, before_soft=True)
    state.soft_stage()
    if second_chance and deadline is not None:
        _second_chance(state)
    state.finish()
    return out


class _LexState:
    """The stages of :func:`_lexicographic` over one model: shares of the
    time, the stages' records, the incumbent."""

    def __init__(
        self,
        mdl: _Model,
        soft: _Soft,
        out: _Lex,
        runs: list[_UStage],
        deadline: float | None,
        seed: int,
        workers: int,
        tier_floor: TierFloor | None = None,
    ) -> None:
        self.mdl, self.soft, self.out, self.runs = mdl, soft, out, runs
        self.tier_floor = tier_floor
        self.deadline, self.seed, self.workers = deadline, seed, workers
        # the most a stage ran past its share on the clock so far: CP-SAT's
        # presolve of a large model is not cut by the time limit (laocheng,
        # 97,000 pairs, 5.4 M constraints, at 60 s: U1 took 10.3 s on a 3.7-s
        # share, each later stage ~4 s, and the solve ended at 65 s); the next
        # stages' shares leave that much, and a stage is not run when the time
        # left is below it. The largest, not the last: the stages solve the
        # same model, and a stage that stopped early (U4 proven) says nothing
        # of the next one's presolve
        self.excess = 0.0
        #: the soft stage: its raw bound (None: none) and whether it proved optimal
        self.soft_raw: float | None = None
        self.soft_proven = False

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - clocks.current().now()

    def pose(self, objective: Any, hint: tuple[I64, I64] | None) -> I64:
        """Set the model's objective and its hint (None: the incumbent's);
        returns the hinted values (every variable's)."""
        m = self.mdl.model
        m.minimize(objective)
        idx, val = hint if hint is not None else self.out.incumbent.hint(self.mdl)
        _set_hint(m, idx, val)
        return val

    def run(self, seconds: float | None, seed: int) -> tuple[Any, Any, float]:
        """Solve the posed model for at most ``seconds`` on the clock:
        (status, solver, wall seconds)."""
        m = self.mdl.model
        solver = _solver(seed, self.workers, m)
        began = time.perf_counter()
        status = clocks.current().solve(solver, m, seconds)
        return status, solver, time.perf_counter() - began

    def _later_key(self, first: int, inc: _Incumbent) -> tuple[float, ...]:
        """``inc``'s uncovered weights of the tier stages from ``first`` on and
        its soft objective (as the model states it): what decides between two
        schedules that tie on the stages before."""
        _, val = inc.hint(self.mdl)
        soft = self.soft
        value = float(np.dot(val[soft.indexes], np.asarray(soft.coefs, dtype=np.float64))) if soft.indexes else 0.0
        return (*(float(r.u_of(self.mdl, inc)) for r in self.runs[first:]), value)

    def tiers_from(self, first: int, hint: tuple[I64, I64] | None) -> None:
        """Run the tier stages ``first``.. in order, each in its share of the
        time left: the tier stages share all but :data:`SOFT_KEEPS` of it
        equally (tiers come strictly first; a stage that ends early passes
        its time on). The soft stage used to count as two stages, so that
        one open tier got a third of the time: of 60 planted problems of the
        stop-48 audit (every task coverable) `auto` left a tier open at 10 s
        on 46 with one worker and 38 with two (now 44 and 33; ad hoc runs,
        benchmarks/HISTORY.md "Stop 49"; ``benchmarks/planted.py`` measures
        the same kind of problem)."""
        mdl, out = self.mdl, self.out
        n_left = sum(1 for r in self.runs[first:] if r.locs) + 2
        for at, r in enumerate(self.runs[first:], start=first):
            name = f"U{r.tier}"
            if not r.locs:
                r.value = r.bound = r.constant
                r.proven, r.pos = True, None
                out.add(StageInfo(name, SKIPPED, r.constant, r.constant, 0.0))
                continue
            n_left -= 1
            r.value = r.u_of(mdl, out.incumbent)
            r.seconds = 0.0
            if r.value == r.trivial and all(w >= 0 for w in r.weights):
                # every coverable task of the tier is covered: nothing can do better
                r.bound, r.proven = r.value, True
                out.add(StageInfo(name, SKIPPED, r.value, r.value, 0.0))
                r.fix(mdl, equal=False)
                continue
            if self.floor(at, r):
                # the floor meets the incumbent: proven without a solve
                r.fix(mdl, equal=True)
                continue
            remaining = self.left()
            if remaining is not None and remaining <= self.excess:
                r.bound, r.proven = max(r.trivial, r.floor), False
                out.add(StageInfo(name, NOT_RUN, r.value, r.bound, 0.0))
                r.fix(mdl, equal=False)
                continue
            self.pose(r.constant + sum(r.weights) - r.expr(mdl), hint)
            hint = None
            on_clock = clocks.current().now()
            # the share of the time left once the objective and hint are set (on
            # laocheng's 5.4 M constraints that takes ~0.5 s per stage)
            if self.deadline is None:
                share = None
            else:
                share = max(0.0, self.deadline - on_clock - self.excess) * (1.0 - SOFT_KEEPS) / (n_left - 1)
            status, solver, spent = self.run(share, self.seed)
            r.seconds = clocks.current().now() - on_clock
            if share is not None:
                # the time past what the solver itself took, within its share
                # (a stage that ended early measured its overrun less what it
                # left of its share, and the last stage could run past the
                # limit: the test of the overrunning clock, 7.013 s of 7, on
                # a slower machine); the deterministic clock counts by its
                # share, not the wall, so that runs repeat
                took = share if clocks.current().deterministic else min(share, solver.wall_time)
                self.excess = max(self.excess, r.seconds - took)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                found = int(round(solver.objective_value))
                # a solve stopped early may return worse than its hint (one
                # worker, the 25-volunteer grid: U4 1,282 from a hint of
                # 406): the incumbent stays then, when it is a solution
                got = _read(mdl, solver)
                # a tie keeps the incumbent unless the new schedule is better
                # on what comes after: CP-SAT's tie may be worse there, and
                # the result was worse than its valid hint (the audit of stop
                # 48: soft 1,240.4 against the greedy hint's 1,237.5)
                if (
                    not out.valid
                    or found < r.value
                    or (found == r.value and self._later_key(at + 1, got) < self._later_key(at + 1, out.incumbent))
                ):
                    out.incumbent, out.valid = got, True
                    r.value = found
                r.bound = max(math.ceil(solver.best_objective_bound - 1e-6), r.floor)
            elif status == cp_model.INFEASIBLE:
                raise RuntimeError("the CP-SAT model is infeasible: the kept pins must be feasible")
            else:
                # cut before any schedule: CP-SAT's objective bound may be
                # the response's unset default, 0 — above the optimum when
                # weights are negative (the audit: U1 bound 0 against a
                # valid -4); the trivial bound holds
                r.bound = max(r.trivial, r.floor)
            # (the floor may meet a schedule CP-SAT did not prove)
            r.proven = status == cp_model.OPTIMAL or r.bound >= r.value
            out.add(StageInfo(name, solver.status_name(status), r.value, r.bound, spent))
            r.fix(mdl, equal=r.proven)

    def floor(self, at: int, r: _UStage) -> bool:
        """Ask :attr:`tier_floor` for a lower bound of stage ``r``'s ``U``
        (kept in ``r.floor``), in at most :data:`FLOOR_SHARE` of the time
        left, once every earlier tier is proven: the floor holds for every
        schedule with those tiers at their optimum, as the stage's schedules
        are. True (and the stage proven) when it meets the incumbent's ``U``.
        The model is not changed: CP-SAT still searches as it would (a
        constraint ``U >= floor`` in it made the next stages' schedules worse
        on 5 of 8 grids and better on 2, one worker at 10 s; ad hoc,
        benchmarks/HISTORY.md "Stop 51")."""
        r.floor = _NO_FLOOR
        # (an incumbent that is not a solution of the model, the empty
        # schedule of a model that forces pins, proves nothing)
        if self.tier_floor is None or not self.out.valid or not all(x.proven for x in self.runs[:at]):
            return False
        remaining = self.left()
        if remaining is not None and remaining <= self.excess:
            return False
        limits = {x.tier: x.value for x in self.runs[:at] if x.locs}
        on_clock = clocks.current().now()
        seconds = None if remaining is None else FLOOR_SHARE * (remaining - self.excess)
        got = self.tier_floor(r.tier, limits, r.value, seconds)
        if got is None or not math.isfinite(got):
            return False
        r.floor = max(r.trivial, math.ceil(got - 1e-6))
        if r.floor < r.value:
            return False
        r.bound, r.proven = r.value, True
        self.out.add(StageInfo(f"U{r.tier}", FLOOR_MET, r.value, r.value, clocks.current().now() - on_clock))
        return True

    def soft_stage(self) -> None:
        """The last stage: the soft score, in all the time left."""
        soft, out = self.soft, self.out
        self.soft_raw, self.soft_proven = None, False
        if not soft.indexes:
            self.soft_proven = True
            out.add(StageInfo("soft", SKIPPED, soft.constant, soft.constant, 0.0))
            return
        remaining = self.left()
        if remaining is not None and remaining <= self.excess:
            out.add(StageInfo("soft", NOT_RUN, math.nan, soft.trivial, 0.0))
            return
        hinted = self.pose(_expr(self.mdl.model, soft.indexes, soft.coefs), None)
        left = self.left()
        status, solver, spent = self.run(None if left is None else max(0.0, left - self.excess), self.seed)
        value = math.nan
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            # the incumbent's (hinted) soft objective
            had = float(np.dot(hinted[soft.indexes], np.asarray(soft.coefs, dtype=np.float64)))
            if solver.objective_value <= had or not out.valid:  # (else the incumbent stays, as above)
                out.incumbent, out.valid = _read(self.mdl, solver), True
            value = min(solver.objective_value, had) / soft.scale + soft.constant
            raw = solver.best_objective_bound / soft.scale + soft.constant - soft.error
            self.soft_raw = raw - 1e-9 * max(1.0, abs(raw))
        elif status == cp_model.INFEASIBLE:
            raise RuntimeError("the CP-SAT model is infeasible after fixing the tiers")
        self.soft_proven = status == cp_model.OPTIMAL
        shown = self.soft_raw if self.soft_raw is not None and all(r.proven for r in self.runs) else soft.trivial
        out.add(StageInfo("soft", solver.status_name(status), value, max(shown, soft.trivial), spent))

    def finish(self) -> None:
        """The bounds: a tier's stage bound while every earlier tier is proved,
        else the trivial one; the soft stage's once every tier is."""
        out, soft = self.out, self.soft
        out.bound_u = []
        prefix = True
        for r in self.runs:
            out.bound_u.append(max(r.bound, r.trivial) if prefix else r.trivial)
            prefix = prefix and r.proven
        if not soft.indexes:
            exact = soft.constant - soft.error - 1e-9 * max(1.0, abs(soft.constant))
            out.bound_soft = exact if prefix else soft.trivial
        else:
            out.bound_soft = max(self.soft_raw, soft.trivial) if prefix and self.soft_raw is not None else soft.trivial
        out.proved = prefix and self.soft_proven


#: a tier not proved in its share is solved again when the later stages left
#: at least this share of its first solve's time, and ...
SECOND_CHANCE_SHARE = 0.5
#: ... at least this many seconds
SECOND_CHANCE_MIN_SECONDS = 0.5
#: the share of the time left that the soft stage keeps when a tier is solved
#: again before it (:func:`_second_chance` with ``before_soft``)
SOFT_KEEPS = 0.25


def _second_chance(state: _LexState, before_soft: bool = False) -> None:
    """Solve the first tier not proved again, in the time the later stages
    left: they often end well before the deadline (a 25-volunteer grid at
    60 s: U4 not proved in its 19.8-s share, the soft stage optimal in 7-14 s,
    the solve over at 27-34 s; CP-SAT proves U4 in 14-18 s when given more).

    ``before_soft``: called between the tier stages and the soft stage, with
    all but :data:`SOFT_KEEPS` of the time left, and the soft stage is not
    run here (it runs next). The soft stage used to take all the time left
    first: on planted problems of 15-45 volunteers and teams (the medium-scale
    audit of stop 48, every task coverable) a tier stayed open at 10 s that
    CP-SAT closes in 3.5 s more (U4 245 where 0 is reachable, 60 s: 0).

    The later stages' constraints (conditioned on ``U_k <=`` the value found)
    are set aside, ``U_k`` is minimised again from the incumbent with another
    seed; then:

    * a better ``U_k``: it is fixed and the later stages run again;
    * the same ``U_k``, proved: the later stages' results stand (they were
      conditioned on ``U_k <=`` a value that is now the optimum's);
    * else: the later stages' constraints come back; ``U_k``'s bound is the
      better of the two solves'.

    Each tier gets at most one second solve."""
    mdl, out = state.mdl, state.out
    part = (1.0 - SOFT_KEEPS) if before_soft else 1.0  # of the time left
    tried: set[int] = set()
    while True:
        k = next((i for i, r in enumerate(state.runs) if not r.proven), None)
        if k is None or k in tried:
            return
        tried.add(k)
        r = state.runs[k]
        remaining = state.left()
        assert remaining is not None
        budget = (remaining - state.excess) * part
        if not r.locs or budget < max(SECOND_CHANCE_MIN_SECONDS, SECOND_CHANCE_SHARE * r.seconds):
            return
        later = state.runs[k + 1 :]
        for x in later:
            x.set_aside(mdl)
        state.pose(r.constant + sum(r.weights) - r.expr(mdl), None)
        on_clock = clocks.current().now()
        left = state.left()
        assert left is not None
        seconds = max(0.0, left - state.excess) * part
        status, solver, spent = state.run(seconds, (state.seed + 1) % 2**31)
        state.excess = max(state.excess, clocks.current().now() - on_clock - seconds)
        if status == cp_model.INFEASIBLE:
            raise RuntimeError("the CP-SAT model is infeasible: the kept pins must be feasible")
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        # the incumbent's U_k (the later stages may have lowered it below the
        # stage's value)
        have = r.u_of(mdl, out.incumbent)
        value = int(round(solver.objective_value)) if found else have
        best = solver.best_objective_bound
        bound = math.ceil(best - 1e-6) if found and math.isfinite(best) else r.trivial  # (as in tiers_from)
        out.add(StageInfo(f"U{r.tier}", solver.status_name(status), value, bound, spent))
        r.bound = max(r.bound, bound)
        if found and (value < have or not out.valid):
            # a better U_k: fixed anew, the later stages run again (their
            # constraints stay set aside)
            out.incumbent, out.valid = _read(mdl, solver), True
            r.set_aside(mdl)
            r.value, r.proven = value, status == cp_model.OPTIMAL
            r.seconds = clocks.current().now() - on_clock
            r.fix(mdl, equal=r.proven)
            r.saved = None
            for x in later:
                x.pos, x.saved = None, None
            state.tiers_from(k + 1, None)
            if not before_soft:
                state.soft_stage()
            continue
        r.value = have
        r.proven = r.bound >= have
        if r.proven:
            # U_k == the incumbent's from now on (its constraint said ``<=``
            # the stage's value, which the later stages may have beaten): a
            # second chance of a later tier must not trade U_k for it
            r.set_aside(mdl)
            r.fix(mdl, equal=True)
            r.saved = None
        for x in later:
            x.put_back(mdl)


# ---------------------------------------------------------------------- pins


@dataclass
class _PinDecision:
    kept: I64  # pair indexes of kept pins
    dropped: list[tuple[int, int, str]]  # (task, volunteer, rule guess)
    contested_tasks: I64  # pinned tasks of components where pins were dropped for collisions
    #: pair indexes of the pins that break no rule alone (kept or dropped for collisions)
    possible: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    incumbent_x: dict[int, int] = field(default_factory=dict)  # pair -> 1 for the pin solution
    incumbent_start: dict[int, int] = field(default_factory=dict)  # task -> start
    stage: StageInfo | None = None


def _components(c: Compiled, pairs: _Pairs, tasks: I64) -> I64:
    """Component label of each pinned task: tasks sharing a candidate volunteer
    are linked (their feasibility depends on each other only through them)."""
    parent = list(range(len(tasks)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first_of: dict[int, int] = {}
    for i, t in enumerate(tasks):
        for p in range(int(pairs.ptr[t]), int(pairs.ptr[t + 1])):
            v = int(pairs.volunteer[p])
            if v in first_of:
                a, b = find(first_of[v]), find(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_of[v] = i
    return np.array([find(i) for i in range(len(tasks))], dtype=np.int64)


#: CP-SAT's deterministic time a solve of :func:`_decide_pins` may take past
#: the time limit (a trial of the pinned tasks alone takes a few thousandths)
PIN_TRIAL_DTIME = 1.0
#: seconds of the time limit below which those solves run past it at once
PIN_MIN_SECONDS = 0.25


def _decide_pins(
    c: Compiled, pairs: _Pairs, deadline: float | None, seed: int, workers: int, prefer: Solution | None = None
) -> _PinDecision:
    """Which pins are kept (SPEC §4 rule 12): all that break no rule alone when
    they fit together, else a largest compatible subset — among those of the
    largest value, the one that keeps most of the pins ``prefer`` keeps (the
    hint: where it keeps the same pins it is the starting incumbent, so the
    result is never worse than it; the audit of stop 48 found one of three
    equal pins of a task kept, another than the greedy's, and the result
    U2 26 against the greedy's 13)."""
    if len(c.t_pin) == 0:
        return _PinDecision(np.zeros(0, np.int64), [], np.zeros(0, np.int64))
    dropped, pins = _alone(c, pairs)
    if len(pins) == 0:
        return _PinDecision(pins, dropped, np.zeros(0, np.int64))
    tasks = np.unique(pairs.task[pins])

    def remaining() -> float | None:
        return None if deadline is None else max(0.05, deadline - clocks.current().now())

    # all together
    began = time.perf_counter()
    mdl = _Model(c, pairs, tasks, pins)
    solver = _solver(seed, workers)
    status = clocks.current().solve(solver, mdl.model, remaining())
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        inc = _read(mdl, solver)
        decision = _PinDecision(pins, dropped, np.zeros(0, np.int64), possible=pins)
        decision.stage = StageInfo("pins", solver.status_name(status), len(pins), len(pins), time.perf_counter() - began)
        _remember(decision, mdl, inc)
        return decision

    def must_solve(solver: Any, model: Any, again: bool) -> Any:
        # the kept pins must be a maximal set (rule 12): with the time limit
        # (nearly) spent, a solve runs past it on its own budget at once;
        # ``again``: one the limit cut runs again so (the audit's case: the
        # limit's wall safety net left 0.01 s per trial, 5 to 21 keepable
        # pins were dropped); a valid schedule comes before the limit
        clock = clocks.current()
        left, wall = remaining(), clock.wall_left()
        if (left is not None and left < PIN_MIN_SECONDS) or (wall is not None and wall < PIN_MIN_SECONDS):
            return clock.solve_past_limit(solver, model, PIN_TRIAL_DTIME)
        status = clock.solve(solver, model, left)
        if again and status == cp_model.UNKNOWN:
            status = clock.solve_past_limit(solver, model, PIN_TRIAL_DTIME)
        return status

    # collisions: keep a compatible subset of the largest value (hence a
    # maximal one), the value of a pin its task's weight, the tiers strict
    # (SPEC §6: of two colliding pins, the more urgent need stays)
    mdl = _Model(c, pairs, tasks, np.zeros(0, np.int64))
    keep = [mdl.model.new_bool_var("") for _ in pins]
    for k, p in zip(keep, pins, strict=True):
        mdl.model.add_implication(k, mdl.x[mdl.local[p]])
    values = _pin_values(c, pairs.task[pins])
    preferred = np.zeros(len(pins), dtype=bool)
    if prefer is not None and len(prefer):
        preferred = np.isin(
            pairs.task[pins].astype(np.int64) * c.n_volunteers + pairs.volunteer[pins],
            prefer.task.astype(np.int64) * c.n_volunteers + prefer.volunteer,
        )
    objective = values
    scale = len(pins) + 1
    if preferred.any() and int(values.sum()) < (1 << 62) // scale:
        objective = values * scale + preferred  # (ties of value: the preferred pins)
    mdl.model.maximize(sum(int(v) * k for v, k in zip(objective, keep, strict=True)))
    solver = _solver(seed, workers)
    status = must_solve(solver, mdl.model, again=False)
    chosen = np.zeros(len(pins), dtype=bool)
    inc = _empty_incumbent(mdl)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = np.array([solver.boolean_value(k) for k in keep], dtype=bool)
        inc = _read(mdl, solver)
    status_name = solver.status_name(status)
    if status != cp_model.OPTIMAL:
        # not proved largest: make the subset maximal by trying each other
        # pin, the most valuable first (the more urgent need stays); a trial
        # is a model of the pinned tasks alone, solved in milliseconds
        for i in np.lexsort((~preferred, -values)).tolist():
            if chosen[i]:
                continue
            trial = chosen.copy()
            trial[i] = True
            test = _Model(c, pairs, tasks, pins[trial], cuts=False)
            solver = _solver(seed, workers)
            found = must_solve(solver, test.model, again=True)
            if found in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                chosen = trial
                inc = _read(test, solver)
                mdl = test
    kept = pins[chosen]
    for p in pins[~chosen]:
        dropped.append((int(pairs.task[p]), int(pairs.volunteer[p]), COLLISION))
    label = _components(c, pairs, tasks)
    lost_tasks = np.unique(pairs.task[pins[~chosen]])
    lost_labels = np.unique(label[np.searchsorted(tasks, lost_tasks)])
    contested = tasks[np.isin(label, lost_labels)]
    decision = _PinDecision(kept, dropped, contested, possible=pins)
    decision.stage = StageInfo("pins", status_name, int(chosen.sum()), len(pins), time.perf_counter() - began)
    _remember(decision, mdl, inc)
    return decision


def _pin_values(c: Compiled, tasks: I64) -> I64:
    """Per pin (its task given): a value whose sum over a set of pins orders
    the sets by tiers strictly, then by weight — each tier's weights scaled
    past the sum of every less urgent tier's; a task's weight is shared by
    its pins (a team task weighs what a single one does, SPEC §5). All ones
    (the number of pins) when that would not fit 53 bits."""
    tasks = np.asarray(tasks, dtype=np.int64)
    _, inverse, count = np.unique(tasks, return_inverse=True, return_counts=True)
    share = count[inverse]  # pins of the pin's task
    common = int(np.lcm.reduce(np.unique(share))) if len(share) else 1
    tier = c.t_tier[tasks].astype(np.int64)
    weight = np.maximum(c.t_weight[tasks].astype(np.int64), 1) * (common // share)
    levels = np.unique(tier)[::-1]  # least urgent first
    scale = np.ones(len(tasks), dtype=np.int64)
    step = 1
    for t in levels.tolist():
        scale[tier == t] = step
        step *= int(weight[tier == t].sum()) + 1  # more than the tier's whole sum
        if step >= 2**53 // max(1, int(weight.max())):
            return np.ones(len(tasks), dtype=np.int64)
    return weight * scale


def _surely_kept_pairs(c: Compiled, cands: Candidates, pairs: _Pairs) -> I64:
    """Pair indexes of the pins that every valid schedule keeps, read either
    way (:func:`~assign.solvers.timeindexed.surely_kept_pins`)."""
    if len(c.t_pin) == 0:
        return np.zeros(0, dtype=np.int64)
    from .timeindexed import surely_kept_pins

    sure = surely_kept_pins(c, cands)
    pin_t = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    found = pairs.find(c.n_volunteers, pin_t[sure], c.t_pin.astype(np.int64)[sure])
    return found[found >= 0]


def _remember(decision: _PinDecision, mdl: _Model, inc: _Incumbent) -> None:
    for k in np.flatnonzero(inc.x):
        decision.incumbent_x[int(mdl.pair_idx[k])] = 1
    for i, t in enumerate(mdl.tasks):
        decision.incumbent_start[int(t)] = int(inc.start[i])


def _incumbent_from(mdl: _Model, xs: dict[int, int], starts: dict[int, int]) -> _Incumbent:
    inc = _empty_incumbent(mdl)
    for p in xs:
        if mdl.local[p] >= 0:
            inc.x[mdl.local[p]] = 1
    for t, s in starts.items():
        if mdl.task_local[t] >= 0:
            inc.start[mdl.task_local[t]] = s
    return inc


#: placeholder rule of a pin dropped because it collides with the kept pins
COLLISION = "<collision>"
_PIN_RULES = ("double_booking", "daily_limit", "whole_teams", "pledged_minutes", "availability", "window")


def _collision_rule(c: Compiled, sol: Solution, task: int, volunteer: int) -> str:
    """The rule a pin would break next to the kept pins of ``sol``: too many
    pins on its task, the volunteer's minutes, a kept visit of the volunteer
    within reach of its window, the day's limit, else its team."""
    pinned = rules.is_pinned(c, sol.task, sol.volunteer)
    kt, kv, ks = sol.task[pinned], sol.volunteer[pinned], sol.start[pinned]
    if int((kt == task).sum()) >= int(c.t_needed[task]):
        return "whole_teams"
    mine = kv == volunteer
    t1 = np.array([task], dtype=np.int64)
    v1 = np.array([volunteer], dtype=np.int64)
    used = int(rules.assignment_load(c, kt[mine], kv[mine]).sum()) if mine.any() else 0
    if used + int(rules.assignment_load(c, t1, v1)[0]) > int(c.v_max_minutes[volunteer]):
        return "pledged_minutes"
    if mine.any():
        first, last = int(c.t_window_start[task]), int(c.t_window_end[task] - c.t_duration[task])
        others = kt[mine]
        before = rules.travel_between_recipients(c, c.t_recipient[others], np.repeat(c.t_recipient[task], len(others)))
        after = rules.travel_between_recipients(c, np.repeat(c.t_recipient[task], len(others)), c.t_recipient[others])
        reach = (ks[mine] + c.t_duration[others] + before > first) & (last + c.t_duration[task] + after > ks[mine])
        if reach.any():
            return "double_booking"
        days = set(rules.day_of(c, np.array([first, last])).tolist())
        on_day = np.isin(rules.day_of(c, ks[mine]), list(days)).sum()
        if int(on_day) >= int(c.v_max_per_day[volunteer]):
            return "daily_limit"
    return "whole_teams"


def _name_dropped_pins(c: Compiled, sol: Solution) -> Solution:
    """Give each dropped pin a rule the validator accepts as what blocks it.

    Pins dropped alone already name their rule; colliding ones get
    :func:`_collision_rule`. A name the validator rejects is replaced by the
    next of :data:`_PIN_RULES` (a handful of validator runs at most); when none
    is accepted (the validator reads "can be added" with the kept pins at their
    starts, more leniently than this module's any timing) the first
    name stays."""
    if not sol.conflicts:
        return sol
    from ..check import violations

    names: dict[tuple[int, int], list[str]] = {}
    for t, v, rule in sol.conflicts:
        first = _collision_rule(c, sol, t, v) if rule == COLLISION else rule
        names[(t, v)] = [first, *[r for r in _PIN_RULES if r != first]]
    current = {key: 0 for key in names}
    for _ in range(len(_PIN_RULES) + 1):
        conflicts = tuple((t, v, names[(t, v)][current[(t, v)]]) for t, v in names)
        trial = Solution.build(sol.task, sol.volunteer, sol.start, conflicts)
        bad = set()
        for item in violations(c, trial):
            if item.rule == 12 and item.task is not None and item.volunteer is not None:
                bad.add((c.task_ids.index(item.task), c.volunteer_ids.index(item.volunteer)))
        bad &= set(names)
        if not bad:
            return trial
        for key in bad:
            current[key] += 1
            if current[key] >= len(names[key]):
                current[key] = 0
                names[key] = names[key][:1]  # give up on this one: keep the first name
    conflicts = tuple((t, v, names[(t, v)][current[(t, v)]]) for t, v in names)
    return Solution.build(sol.task, sol.volunteer, sol.start, conflicts)


def _from_hint(c: Compiled, pairs: _Pairs, mdl: _Model, hint: Solution, pins: _PinDecision) -> tuple[_Incumbent, bool]:
    """The hint as values of ``mdl``, and whether it is a solution of it: valid
    (rules 1-11, checked by the validator), made of model pairs, holding every
    kept pin."""
    from ..check import violations

    guess = _empty_incumbent(mdl)
    p = pairs.find(c.n_volunteers, hint.task, hint.volunteer)
    known = (p >= 0) & (mdl.local[np.maximum(p, 0)] >= 0)
    guess.x[mdl.local[p[known]]] = 1
    guess.start[mdl.task_local[pairs.task[p[known]]]] = hint.start[known]
    if not known.all() or not np.isin(pins.kept, p).all():
        return guess, False
    plain = Solution.build(hint.task, hint.volunteer, hint.start)
    return guess, all(item.rule == 12 for item in violations(c, plain))


#: schedules of other pin sets :func:`_other_pin_sets` tries at most
PIN_SET_ROUNDS = 20


def _solution_of(
    c: Compiled, pairs: _Pairs, mdl: _Model, inc: _Incumbent, pins: _PinDecision
) -> tuple[Solution, I64]:
    """The schedule of ``inc`` with the pins it drops as conflicts (their
    static rule, else a collision, named by :func:`_name_dropped_pins`), and
    the pair indexes of the possible pins it keeps."""
    glob = mdl.pair_idx[np.flatnonzero(inc.x)]
    task, volunteer = pairs.task[glob], pairs.volunteer[glob]
    held = set(zip(task.tolist(), volunteer.tolist(), strict=True))
    conflicts = [(t, v, rule) for t, v, rule in pins.dropped if rule != COLLISION and (t, v) not in held]
    kept = pins.possible[np.isin(pins.possible, glob)]
    for p in pins.possible[~np.isin(pins.possible, glob)].tolist():
        conflicts.append((int(pairs.task[p]), int(pairs.volunteer[p]), COLLISION))
    sol = Solution.build(task, volunteer, inc.start[mdl.task_local[task]], conflicts)
    return _name_dropped_pins(c, sol), kept


def _fits_together(
    c: Compiled, pairs: _Pairs, possible: I64, pins: I64, deadline: float | None, seed: int, workers: int
) -> bool | None:
    """Whether ``pins`` can all be kept together (at any starts, teams whole:
    the pin model of :func:`_decide_pins`); None when out of time."""
    remaining = None if deadline is None else deadline - clocks.current().now()
    if remaining is not None and remaining <= 0:
        return None
    test = _Model(c, pairs, np.unique(pairs.task[possible]), pins, cuts=False)
    status = clocks.current().solve(_solver(seed, workers), test.model, remaining)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def _addable_pin(
    c: Compiled, pairs: _Pairs, possible: I64, kept: I64, deadline: float | None, seed: int, workers: int
) -> bool | None:
    """Whether some possible pin outside ``kept`` fits together with them;
    None when a test ran out of time."""
    for p in possible[~np.isin(possible, kept)].tolist():
        fits = _fits_together(c, pairs, possible, np.append(kept, p), deadline, seed, workers)
        if fits is None or fits:
            return fits
    return False


def _maximal_superset(
    c: Compiled, pairs: _Pairs, possible: I64, kept: I64, deadline: float | None, seed: int, workers: int
) -> I64 | None:
    """A maximal set of pins that fit together holding ``kept`` (which must
    fit together): the others tried one by one, most valuable first; None
    when out of time."""
    values = _pin_values(c, pairs.task[possible])
    out = np.asarray(kept, dtype=np.int64)
    for i in np.argsort(-values, kind="stable").tolist():
        p = int(possible[i])
        if p in out:
            continue
        fits = _fits_together(c, pairs, possible, np.append(out, p), deadline, seed, workers)
        if fits is None:
            return None
        if fits:
            out = np.append(out, p)
    return out


#: problems of at most this many candidate pairs have their pins checked
#: under the strict reading of rule 12 by ``auto`` and the greedy
#: (:func:`pins_maximal`, :func:`maximal_pins_schedule`)
STRICT_PIN_PAIRS = 1500


def _pairs_with_pins(c: Compiled, cands: Candidates) -> _Pairs:
    """The pairs of ``cands`` and of every pin (a pin need not be a candidate)."""
    pin_t = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    return _pairs(
        c,
        np.concatenate((np.asarray(cands.task, dtype=np.int64), pin_t)),
        np.concatenate((np.asarray(cands.volunteer, dtype=np.int64), c.t_pin.astype(np.int64))),
    )


def _alone(c: Compiled, pairs: _Pairs) -> tuple[list[tuple[int, int, str]], I64]:
    """The pins that break a rule alone, with it, and the pair indexes of
    the others."""
    pin_t = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    pin_v = c.t_pin.astype(np.int64)
    static = rules.broken_alone(c, pin_t, pin_v, np.diff(pairs.ptr) > 0)
    dropped: list[tuple[int, int, str]] = []
    ok_pairs: list[int] = []
    found = pairs.find(c.n_volunteers, pin_t, pin_v)
    for t, v, rule, p in zip(pin_t, pin_v, static, found, strict=True):
        if rule is not None:
            dropped.append((int(t), int(v), rule))
        elif p < 0:  # cannot happen: a pair that passes every static test is a pair
            dropped.append((int(t), int(v), "availability"))
        else:
            ok_pairs.append(int(p))
    return dropped, np.asarray(ok_pairs, dtype=np.int64)


def _possible_pins(c: Compiled, cands: Candidates) -> tuple[_Pairs, _PinDecision]:
    """The pairs of ``cands`` and the pins, and a pin decision holding the
    pins that break a rule alone (``dropped``, with it) and the others
    (``possible``), nothing decided about those."""
    pairs = _pairs_with_pins(c, cands)
    dropped, possible = _alone(c, pairs)
    return pairs, _PinDecision(possible, dropped, np.zeros(0, np.int64), possible=possible)


def pins_maximal(c: Compiled, cands: Candidates, sol: Solution, time_limit: float | None = None, seed: int = 0) -> bool | None:
    """Whether no pin that ``sol`` drops and that breaks no rule alone could
    be kept together with the pins ``sol`` keeps, at any starts (rule 12 read
    strictly, as :func:`_decide_pins` and ``tests/bruteforce.py`` read it);
    None when undecided in ``time_limit``. One CP-SAT model per such pin:
    meant for small problems."""
    if len(c.t_pin) == 0:
        return True
    deadline = None if time_limit is None else clocks.current().now() + float(time_limit)
    pairs, pins = _possible_pins(c, cands)
    kept = pins.possible[np.isin(pins.possible, pairs.find(c.n_volunteers, sol.task, sol.volunteer))]
    if len(kept) == len(pins.possible):
        return True
    addable = _addable_pin(c, pairs, pins.possible, kept, deadline, seed, 1)
    return None if addable is None else not addable


def maximal_pins_schedule(
    c: Compiled, cands: Candidates, sol: Solution, time_limit: float | None = None, seed: int = 0
) -> Solution | None:
    """A schedule of the pinned tasks alone keeping a maximal set of pins
    (read strictly) that holds the pins ``sol`` keeps, the others listed as
    conflicts with a rule; None when out of time or when ``sol``'s kept
    pins do not fit together. For small problems (CP-SAT models of the
    pinned tasks, one per pin)."""
    deadline = None if time_limit is None else clocks.current().now() + float(time_limit)
    pairs, pins = _possible_pins(c, cands)
    kept = pins.possible[np.isin(pins.possible, pairs.find(c.n_volunteers, sol.task, sol.volunteer))]
    M = _maximal_superset(c, pairs, pins.possible, kept, deadline, seed, 1)
    if M is None:
        return None
    mdl = _Model(c, pairs, np.unique(pairs.task[pins.possible]), M)
    remaining = None if deadline is None else max(0.05, deadline - clocks.current().now())
    solver = _solver(seed, 1)
    if clocks.current().solve(solver, mdl.model, remaining) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    out, _ = _solution_of(c, pairs, mdl, _read(mdl, solver), pins)
    return out


def _other_pin_sets(
    c: Compiled, pairs: _Pairs, staffed: I64, fixed: I64, pins: _PinDecision,
    relaxed: _Model, inc: _Incumbent, solution: Solution,
    deadline: float | None, seed: int, workers: int,
) -> Solution:
    """The schedule of the chosen pins (``solution``) or a better one keeping
    another maximal set of pins. The chosen set is the one of the largest
    value (:func:`_decide_pins`), but rule 12 asks only that no dropped pin
    fits with the kept ones: another maximal set may let more be covered (an
    independent tester's case: U3 10 where a valid schedule covers all).

    The relaxation (only the surely kept pins ``fixed`` forced) is solved
    again while its schedule beats the best valid one. When the pins it
    keeps are a maximal set, it is valid: done. Else they are extended to a
    maximal set M, the schedule keeping M (and dropping the rest) is solved
    and kept when better, and a cut removes the proper subsets of M from the
    relaxation (one pin outside M, or all of M); the chosen set's cut comes
    first. The cuts follow rule 12 read strictly, so they leave the bound to
    the first relaxation (read leniently, a schedule may keep a set a pin
    could join at other starts)."""
    from ..score import evaluate

    possible = pins.possible
    best, best_key = solution, evaluate(c, solution).key()
    cuts: list[I64] = [pins.kept[np.isin(pins.kept, possible)]]
    mdl = relaxed

    def cut_model(forced: I64) -> _Model:
        m = _Model(c, pairs, staffed, forced)
        for M in cuts:
            outside = [m.x[m.local[p]] for p in possible[~np.isin(possible, M)].tolist()]
            inside = [m.x[m.local[p]] for p in M.tolist()]
            m.model.add(len(M) * sum(outside) + sum(inside) >= len(M))
        return m

    def solve(m: _Model) -> _Incumbent | None:
        # (the empty schedule breaks the pins the model forces: not a solution)
        try:
            lex = _lexicographic(m, _soft_objective(m), _empty_incumbent(m), deadline, seed, workers, valid=False)
        except RuntimeError:  # infeasible: nothing of that kind left
            return None
        return lex.incumbent if lex.valid else None

    for _ in range(PIN_SET_ROUNDS):
        cand, kept = _solution_of(c, pairs, mdl, inc, pins)
        if evaluate(c, cand).key() >= best_key:
            return best
        M = _maximal_superset(c, pairs, possible, kept, deadline, seed, workers)
        if M is None:
            return best
        if len(M) == len(kept):
            return cand  # kept is maximal: the relaxation's schedule is valid and better
        if deadline is not None and deadline - clocks.current().now() <= 0:
            return best
        with_m = _Model(c, pairs, staffed, M)
        got = solve(with_m)
        if got is not None:
            sol_m, _ = _solution_of(c, pairs, with_m, got, pins)
            key_m = evaluate(c, sol_m).key()
            if key_m < best_key:
                best, best_key = sol_m, key_m
        cuts.append(M)
        if deadline is not None and deadline - clocks.current().now() <= 0:
            return best
        mdl = cut_model(fixed)
        got = solve(mdl)
        if got is None:
            return best
        inc = got
    return best


# ------------------------------------------------------------------ entry points


def solve_cpsat_detailed(
    c: Compiled,
    cands: Candidates | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    hint: Solution | None = None,
    *,
    clock: clocks.Clock | None = None,
    second_chance: bool = True,
    tier_floor: TierFloor | None = None,
) -> CpsatResult:
    """Solve exactly with CP-SAT; see the module docstring for the model.

    ``time_limit`` (seconds, None: until proved) is shared by all stages; the
    time a stage does not use passes to the next (building the model counts,
    and may overrun a short limit on large problems); with ``second_chance``
    the first tier not proved is solved again in the time the stages leave
    before the limit (:func:`_second_chance`). ``tier_floor``: lower bounds of
    the tiers from outside the model (``auto`` gives week bounds); a tier
    whose floor meets the incumbent is proven without a solve, and a floor
    raises the tier's bound (used only when every pin kept is one every
    valid schedule keeps). ``hint`` (e.g. the greedy
    schedule) is the starting incumbent when valid, else it seeds the first
    stage. ``cands`` with a nearest-k cap are rebuilt uncapped.

    The time is read on ``clock`` (None: the deterministic clock with one
    worker, else the wall clock; :mod:`assign.clock`), so with ``workers=1``
    the same input and seed give the same result.
    """
    n_workers = _workers(workers)
    clk = clock if clock is not None else clocks.for_workers(n_workers, time_limit)
    with clocks.running(clk):
        return _solve_cpsat_detailed(c, cands, time_limit, seed, n_workers, hint, second_chance, tier_floor)


def _solve_cpsat_detailed(
    c: Compiled,
    cands: Candidates | None,
    time_limit: float | None,
    seed: int,
    n_workers: int,
    hint: Solution | None,
    second_chance: bool = True,
    tier_floor: TierFloor | None = None,
) -> CpsatResult:
    began = time.perf_counter()
    deadline = None if time_limit is None else clocks.current().now() + float(time_limit)
    if cands is None or getattr(cands, "cap", None) is not None:
        # the model is exact only over every eligible free pair (a nearest-k cap
        # would make its bounds bounds of another problem)
        cands = build_candidates(c)
    pairs = _pairs_with_pins(c, cands)

    near = near_pairs(c, pairs)
    if near > MAX_NEAR_PAIRS:
        why = f"{near:,} pairs of candidate visits could clash (more than {MAX_NEAR_PAIRS:,})"
        return _not_built(c, cands, pairs, hint, seed, float(near), float(MAX_NEAR_PAIRS), why, began)
    build = BUILD_SECONDS_PER_PAIR * len(pairs) + BUILD_SECONDS_PER_NEAR_PAIR * near
    if time_limit is not None and build > max(BUILD_MIN_SECONDS, BUILD_SHARE * float(time_limit)):
        why = (
            f"building it would take ~{build:.0f} s ({len(pairs):,} candidate pairs, {near:,} pairs of visits "
            f"that could clash), more than {BUILD_SHARE:.0%} of the {float(time_limit):.1f} s time limit"
        )
        return _not_built(c, cands, pairs, hint, seed, build, BUILD_SHARE * float(time_limit), why, began)

    pins = _decide_pins(c, pairs, deadline, seed, n_workers, prefer=hint)
    if pins.stage is not None:
        _report_stage(pins.stage)
    collided = len(pins.contested_tasks) > 0
    staffed = np.flatnonzero(np.diff(pairs.ptr) > 0)
    # the kept pins every valid schedule keeps, under either reading of rule 12
    # (the bound may force only those): the others make a relaxed bound pass
    sure = _surely_kept_pairs(c, cands, pairs)
    loose = not np.isin(pins.kept, sure).all()

    mdl = _Model(c, pairs, staffed, pins.kept)
    # the stages end a little before the deadline: what comes after them
    # (reading the schedule, naming dropped pins) and the last stage's own
    # overrun grow with the model (TAIL_PER_CONSTRAINT)
    lex_deadline = None if deadline is None else deadline - TAIL_PER_CONSTRAINT * len(mdl.model.proto.constraints)
    main_deadline = lex_deadline
    if (collided or loose) and lex_deadline is not None:
        now = clocks.current().now()
        main_deadline = now + 0.6 * max(0.0, lex_deadline - now)
    soft = _soft_objective(mdl)
    clocks.current().charge(build)  # (the deterministic clock's count of the building)
    n_constraints = len(mdl.model.proto.constraints)
    _report(
        "model",
        f"{len(pairs):,} candidate pairs, {near:,} pairs that could clash, {n_constraints:,} constraints",
        pairs=len(pairs),
        near_pairs=near,
        constraints=n_constraints,
    )
    start_from = _incumbent_from(mdl, pins.incumbent_x, pins.incumbent_start)
    first_hint = None
    if hint is not None and len(hint):
        guess, valid = _from_hint(c, pairs, mdl, hint, pins)
        if valid:
            start_from = guess  # a valid schedule with our pins: never return worse
        else:
            first_hint = guess.hint(mdl)
            # the hint drops a pin kept here (or keeps another of a task's
            # pins): the kept pins' schedule filled by the greedy is the
            # starting incumbent instead of the kept pins alone (the audit of
            # stop 48: U1 99 and U2 161 after 2 s against the greedy's 0 and 0)
            from .greedy import fill

            sol, _ = _solution_of(c, pairs, mdl, start_from, pins)
            filled, ok = _from_hint(c, pairs, mdl, fill(c, cands, sol), pins)
            if ok:
                start_from = filled
    # (with pins that collide, or kept though some valid schedule drops them,
    # the bounds reported are the relaxed pass's below, whose model another
    # pin set makes: no floor in either, as its limits would be this model's)
    floor = None if collided or loose else tier_floor
    lex = _lexicographic(mdl, soft, start_from, main_deadline, seed, n_workers, first_hint, second_chance, tier_floor=floor)

    inc = lex.incumbent
    chosen = np.flatnonzero(inc.x)
    glob = mdl.pair_idx[chosen]
    task = pairs.task[glob]
    volunteer = pairs.volunteer[glob]
    # a pin the schedule holds anyway (possible only when the pin decision ran
    # out of time) is not a conflict
    held = set(zip(task.tolist(), volunteer.tolist(), strict=True))
    conflicts = [(t, v, rule) for t, v, rule in pins.dropped if (t, v) not in held]
    solution = Solution.build(task, volunteer, inc.start[mdl.task_local[task]], conflicts)
    solution = _name_dropped_pins(c, solution)

    bound_u, bound_soft, proved = lex.bound_u, lex.bound_soft, lex.proved
    bound_stages: list[StageInfo] = []
    if collided or loose:
        # other pin subsets give other valid schedules (other maximal subsets
        # when pins collided; read leniently, a schedule may also place its
        # kept pins so that another pin no longer fits): bound them too, with
        # only the surely kept pins forced
        fixed = pins.kept[np.isin(pins.kept, sure)]
        relaxed = _Model(c, pairs, staffed, fixed)
        relaxed_soft = _soft_objective(relaxed)
        seed_inc = _Incumbent(x=inc.x.copy(), start=inc.start.copy())
        on = _REPORTING.get()
        token = None if on is None else _REPORTING.set(("bound pass", on[1]))
        try:
            rlex = _lexicographic(relaxed, relaxed_soft, seed_inc, lex_deadline, seed, n_workers)
        finally:
            if token is not None:
                _REPORTING.reset(token)
        bound_stages = rlex.stages
        bound_u, bound_soft = rlex.bound_u, rlex.bound_soft
        # the relaxation's schedule is a valid one when no pin it drops could
        # join the pins it keeps (a maximal set, read strictly): then it may
        # beat the schedule of the chosen pins; else, cut that set off and
        # solve again (a cut keeps one more pin outside it)
        solution = _other_pin_sets(c, pairs, staffed, fixed, pins, relaxed, rlex.incumbent, solution, deadline, seed, n_workers)
        from ..score import evaluate

        score = evaluate(c, solution)
        proved = rlex.proved and tuple(score.uncovered) == tuple(bound_u) and score.soft - bound_soft <= 1e-6 * max(
            1.0, abs(score.soft)
        )
        # tier by tier (docs/readings.md, "Bounds"): a stage of the relaxation
        # holds for the optimal schedule only while every earlier stage met the
        # schedule's U. It may reach a U_j no valid schedule has (dropping a pin
        # every valid one keeps), and its later stages are conditioned on that:
        # after the first such tier, the trivial bound (fuzz case: a team of
        # three pinned in tier 5 beside a tier-4 visit of its pinned member;
        # U5 >= 10 against the optimum's 0)
        met = [int(b) == int(u) for b, u in zip(bound_u, score.uncovered, strict=True)]
        if not all(met):
            j = met.index(False)
            bound_u = list(bound_u[: j + 1]) + [int(x) for x in rlex.trivial_u[j + 1 :]]
            bound_soft = min(bound_soft, relaxed_soft.trivial)
    stages = ([pins.stage] if pins.stage is not None else []) + lex.stages
    bound = Bound(uncovered=tuple(int(x) for x in bound_u), soft=float(bound_soft))
    return CpsatResult(
        solution=solution,
        bound=bound,
        optimal=proved,
        stages=tuple(stages),
        bound_stages=tuple(bound_stages),
        seconds=time.perf_counter() - began,
        n_pairs=len(pairs),
        scale=soft.scale,
    )


def _not_built(
    c: Compiled, cands: Candidates, pairs: _Pairs, hint: Solution | None, seed: int,
    size: float, most: float, why: str, began: float,
) -> CpsatResult:
    """The result when the model is too large to build (:data:`MAX_NEAR_PAIRS`)
    or to build in time (:data:`BUILD_SHARE`): the hint (else the greedy
    schedule) with the trivial bound, and a warning saying ``why``; its one
    stage ``model``/``NOT_BUILT`` holds the ``size`` and the ``most`` allowed."""
    _report("model", f"{NOT_BUILT}: {why}", status=NOT_BUILT)
    import warnings

    from . import trivial_bound
    from .greedy import solve_greedy

    warnings.warn(
        f"strategy 'cpsat': the exact model is not built: {why}; "
        f"returning the {'given hint' if hint is not None else 'greedy schedule'} "
        "with the trivial bound — strategy 'auto' solves problems of this size",
        RuntimeWarning,
        stacklevel=3,
    )
    solution = hint if hint is not None else solve_greedy(c, cands, seed=seed)
    return CpsatResult(
        solution=solution,
        bound=trivial_bound(c, cands),
        optimal=False,
        stages=(StageInfo("model", NOT_BUILT, size, most, time.perf_counter() - began),),
        seconds=time.perf_counter() - began,
        n_pairs=len(pairs),
    )


def solve_cpsat(
    c: Compiled,
    cands: Candidates | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    hint: Solution | None = None,
) -> tuple[Solution, Bound | None]:
    """The exact CP-SAT strategy: ``(solution, bound)``.

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> sol, bound = solve_cpsat(c, time_limit=10, workers=1)
    >>> [(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(sol.task, sol.volunteer)]
    [('t1', 'v1'), ('t2', 'v2'), ('t4', 'v3')]
    >>> bound.uncovered  # t3 needs two carers; only v3 is free that day
    (0, 14, 0, 0)
    """
    result = solve_cpsat_detailed(c, cands, time_limit, seed, workers, hint)
    return result.solution, result.bound


def cpsat_strategy(
    c: Compiled, cands: Candidates, time_limit: float | None, seed: int, workers: int | None
) -> tuple[Solution, Bound | None]:
    """The registry entry: the greedy schedule as hint, then :func:`solve_cpsat`
    in the time the greedy left (on the clock of the solve: with one worker
    the greedy counts by its estimate, ``GREEDY_PASS_RATE`` per pair)."""
    from ..score import evaluate
    from .auto import GREEDY_PASS_RATE
    from .greedy import solve_greedy

    clk = clocks.for_workers(_workers(workers), time_limit)
    token = _REPORTING.set(("", time.perf_counter()))
    try:
        with clocks.running(clk):
            began = clk.now()
            hint = solve_greedy(c, cands, seed=seed)
            clk.charge(GREEDY_PASS_RATE * len(cands))
            if _log.isEnabledFor(logging.INFO):
                score = evaluate(c, hint)
                _report("greedy", _score_text(score.uncovered, score.soft), uncovered=[float(u) for u in score.uncovered], soft=score.soft)
            left = None if time_limit is None else max(0.0, float(time_limit) - (clk.now() - began))
            result = solve_cpsat_detailed(c, cands, left, seed, workers, hint, clock=clk)
            result = _never_worse_than(c, cands, result, hint, seed)
        if _log.isEnabledFor(logging.INFO):
            score = evaluate(c, result.solution)
            _report(
                "done",
                _score_text(score.uncovered, score.soft) + (", proven optimal" if result.optimal else ""),
                uncovered=[float(u) for u in score.uncovered],
                soft=score.soft,
                optimal=result.optimal,
            )
    finally:
        _REPORTING.reset(token)
    return result.solution, result.bound


#: seconds (on the solve's clock) to decide whether the greedy schedule's
#: pins are a maximal set, read strictly (:func:`_never_worse_than`)
HINT_PINS_SECONDS = 1.0


def _never_worse_than(c: Compiled, cands: Candidates, result: CpsatResult, hint: Solution, seed: int) -> CpsatResult:
    """``result`` with its schedule filled (as :func:`assign.solve` fills
    every strategy's; the fill is not done twice), or the greedy schedule
    ``hint`` when that is valid and scores better (it is filled already).

    The exact model fixes one maximal set of pins, the one of the largest
    value (:func:`_decide_pins`); where the greedy keeps another maximal set
    its schedule is no incumbent of the model, and a short limit could end
    worse than it (the audit of stop 48: 3 of 17 cases at 2 s, e.g. U1 133
    against the greedy's 110). Rule 12 asks only for a maximal set, read
    strictly here as by the model (:func:`pins_maximal`), so that schedule
    is as valid as the model's. The bound holds for every valid schedule
    (the relaxed bound pass when pins collide), so it stays; ``optimal`` is
    kept only when the model's schedule is returned."""
    from ..check import violations
    from ..score import evaluate
    from .greedy import fill

    filled = replace(result, solution=fill(c, cands, result.solution))
    if len(hint) == 0:
        return filled
    mine = evaluate(c, filled.solution).key()
    theirs = evaluate(c, hint).key()
    better = theirs[:-1] < mine[:-1] or (
        theirs[:-1] == mine[:-1] and theirs[-1] < mine[-1] - 1e-9 * max(1.0, abs(mine[-1]))
    )
    if not better or violations(c, hint):
        return filled
    with clocks.past_limit():  # (a safety net passing mid-decision ended it undecided: stop 53)
        maximal = pins_maximal(c, cands, hint, time_limit=HINT_PINS_SECONDS, seed=seed)
    if maximal is not True:
        return filled
    _report("greedy kept", "the greedy schedule scores better with another maximal set of pins")
    return replace(result, solution=hint, optimal=False)


def _score_text(uncovered: Any, soft: float) -> str:
    """A score as the solver's steps show it (``U 0 / 14 / 0 / 0, soft 505.0``)."""
    return "U " + " / ".join(f"{float(u):g}" for u in uncovered) + f", soft {soft:.1f}"


def _register() -> None:
    from . import register

    register("cpsat", cpsat_strategy)


_register()

__all__ = ["CpsatResult", "StageInfo", "cpsat_strategy", "solve_cpsat", "solve_cpsat_detailed"]
