"""strategy="auto", the default: exact where small, fast paths where large.

Anytime: a valid schedule is known from the first second (the greedy) and
only ever replaced by a lexicographically better one (SPEC §6 key, checked
with :func:`assign.score.evaluate`), each replacement validated with
:func:`assign.check.violations` before it is accepted. The time limit
(default :data:`DEFAULT_TIME_LIMIT`) covers everything after the candidates.

Steps
-----
1. **Greedy** (:func:`~assign.solvers.greedy.solve_greedy`): the incumbent.
2. **Components** (:func:`components`) of the bipartite task-volunteer graph
   of every eligible free pair and every pin (uncapped candidates). No rule
   and no score term links two components except equity (a maximum over
   communities per tier), so they are solved apart:

   * **small** ones (at most :data:`SMALL_PAIRS` pairs): the exact CP-SAT model
     (:mod:`assign.solvers.cpsat`) with the greedy as hint, on the component as a
     problem of its own (:func:`subproblem`; its equity weight set to 0 when
     there are several components, equity being bounded apart, see below), in
     a thread pool (CP-SAT releases the GIL), the largest first, each with
     its share of every worker's time by its pairs as it starts
     (:class:`Shares`: what a component proven early leaves goes to the
     ones after it); beside large components, the small ones together get
     their share of the pairs of the time (:data:`SMALL_MAX_SHARE`);
     without large ones, those left open get the re-timed insertion
     (:data:`SMALL_RETIME_SECONDS`) and week bounds, and are solved again,
     round after round, in the time left (:data:`SMALL_ROUNDS`; a later
     round starts no component once its time is up). A problem that is a single small
     component is solved by the exact model as a whole, equity included.
     Without large components, a tier an exact model leaves open in its
     stage is solved again in the time its later stages leave
     (``second_chance``, :func:`~.cpsat._second_chance`), and the exact models leave
     :data:`SMALL_WEEK_SHARE` of the time to week bounds
     (:func:`_small_week_bounds`) of the tiers they do not prove (CP-SAT's
     own bound of a tier it could not finish is often far below:
     laocheng-grid, 300 tasks, tier 3: 410 against the week LP's 693).
     Inside every small component's exact model, a tier whose more urgent
     tiers are proven first gets its week bound as a floor
     (:func:`week_floor`): met by the incumbent, the tier is proven without
     a solve; else it raises the stage's bound.
   * **large** ones: (a) the greedy (its knapsack order, each task to its
     least pressed candidate, :func:`~.greedy.pressure_preference`) is the
     start; the greedy refills after the exact stages below run in the same
     order and with the same preference (:func:`ordered_greedy`,
     :func:`ratio_order`). Until 2026-12-01 the greedy took tasks by weight
     and the cheapest candidate, and a second, knapsack-ordered pass ran here
     (in a forked process beside the greedy at province scale);
     (b) when the most urgent tiers hold only fixed-time tasks (window ==
     duration, e.g. medical appointments), the exact 0-1 model of those tiers
     (:mod:`~assign.solvers.timeindexed`, up to :data:`FIXED_PAIRS` pairs,
     :data:`FIXED_SHARE` of the time): no start variables, so it scales to a
     county's tier 1 (Shiquan: 31,000 pairs, proven ~15 s into the minute;
     the models are not hinted, :data:`FIXED_HINT`). Two models, side by side: a restriction for the schedule (the pins the
     incumbent keeps forced, the one-volunteer pinned tasks in the model with
     their starts chosen, other pinned visits as obstacles) and a relaxation
     for the bound (only the pins every valid schedule keeps,
     :func:`~assign.solvers.timeindexed.surely_kept_pins`); the tiers are
     proven when the two meet; started only when its share holds
     :data:`FIXED_PASSES` estimated greedy passes (its schedules are composed
     by greedy passes, the restriction's while the relaxation runs on), and a
     model not built within its share is not solved;
     (b') *tier-truncated exact stages*: the exact model of the component's
     tier-1 tasks (plus every pinned task), then tiers 1-2, ... while the model
     has at most :data:`EXACT_PAIRS` pairs; when its bound meets its schedule
     the component's ``U_1..U_k`` are proven optimal (dropping the other tasks
     of a valid schedule keeps it valid, so the truncated optimum is the true
     one) and the schedule, completed by the ordered greedy, is offered;
     (c) LP bounds per tier (:class:`Relaxation`), each LP's point guiding a
     greedy pass (the knapsack order, each task to a volunteer the LP uses
     for it, the cheapest first; :func:`guided_preference`,
     :data:`GUIDE_SHARE`; after the first LP in the other orders of
     :func:`guide_orders` too, while the phase's time holds them, each pass
     over that tier alone, the best few then followed by the insertion with
     re-timing of its uncovered tasks before the less urgent tiers fill the
     blocks, :data:`RETIME_GUIDED`, :data:`RETIME_GUIDED_BEST`); (d) large-neighbourhood search (:class:`Search`) for the rest of
     the time, when that holds its setup (:data:`LNS_SETUP_RATE`) and the
     final steps (:data:`FINAL_RATE`, both estimated from the size); a
     search of at least :data:`.communities.MIN_SEARCH_SECONDS` (the
     nightly job's 600 s, not the default minute) first gives
     :data:`.communities.SHARE` of its time to the communities, re-solved
     one by one inside the schedule by ``auto`` itself, most uncovered
     first (:mod:`~assign.solvers.communities`, :data:`COMMUNITY_PASSES`); (e) with
     more than one worker, from the end of the exact stages (beside the LP
     bounds, then beside the LNS, which gives up a worker), a forked child
     computes week bounds (:mod:`~assign.solvers.weeks`, column generation
     over volunteers' weeks) of the open tiers whose visit sets can be
     enumerated (:func:`_week_bounds`); what it has not finished by the end
     of the LNS is dropped. For the first tier a component leaves open after
     the more urgent ones are proven, the child then dives in the week LP
     (:meth:`~assign.solvers.weeks.WeekBound.dive`) and returns at once the
     weeks booked around the incumbent's visits of the proven tiers and of
     pinned tasks (its column generation stops at :data:`WEEK_DIVE_CG_SHARE`
     of the time to the dive's end; when that cut it short, the child posts
     the dive and resumes the column generation for the tier's bound before
     it returns; the search beside it is told when the dive is due and
     polls for it in short neighbourhoods then, :meth:`Search.run`'s
     ``stop_by``); the LNS's parent inserts the dive's tier with re-timing
     (:data:`RETIME_DIVE`), fills that schedule, polishes it with a
     search of its own when it is not better as it stands, and goes on from
     the better of the two (laocheng's tier 2: the LNS alone stalls ~300
     above the week bound). A component whose blocks are too dense to list
     (Shiquan) gets the same dive over restricted pairs instead, the
     incumbent's and the likeliest others per block, as a search move
     (:func:`_restricted_dive`: no bound from it) — unless some tier after
     its first open one is small enough for an LP: then the child computes
     those tiers' LP bounds instead (:func:`_later_lp_bounds`, the tier
     alone, by column generation: Shiquan's tier 3: 899 → its LP optimum,
     ~27,000–29,000; the child posts each better bound as it goes, and a
     parent done waiting keeps the last one); (f) insertion with
     re-timing and ejections (:mod:`~assign.solvers.retime`) over the tiers
     not proven — before the LNS (at most :data:`RETIME_FIRST_SHARE` of
     the limit) and again after it (at most
     :data:`RETIME_SHARE` of the limit, by size but at least
     :data:`RETIME_MIN_SECONDS`, taken from the LNS; the LP
     phase comes first beyond :data:`RETIME_FLOOR_SHARE`, and all of it,
     with the cheaper volunteers' step, when a fixed-time stage that took
     its whole share leaves the first LP and its guided pass no room
     otherwise): uncovered visits
     that fit once one block of each volunteer (of a team: each member, at
     one start) is re-timed, or in place of a visit that moves to another
     volunteer or is worth less; (g) the greedy's last step on the final
     schedule (:func:`~.greedy.cheapen`, :data:`CHEAPEN_SHARE` of a greedy
     pass, also taken from the LNS): visits back to cheaper free volunteers
     where the soft score falls, and the time that frees refilled; (h)
     knapsack bounds (:mod:`~assign.solvers.lagrange`) of the open tiers
     nothing else bounds, after the LP phase (with two workers in a forked
     child beside the insertion) — or, where the greedy pass alone is
     estimated to take more than :data:`KNAP_EARLY_SHARE` of what is left of
     the limit (province scale, and each part of a province solved two at a
     time, :mod:`assign.parts`), of every tier, started before the greedy in
     a niced child that posts its bounds as they improve and is stopped when
     they are collected (ankang at 60 s: tier 1's bound 8,901 → ~237,000
     against U1 ~282,000; Shaanxi in parts 249,381 → 2,351,003 against
     ~2,798,000).

Why this LNS (and not the ``assign.core`` route)
------------------------------------------------
Measured on laocheng (3,000 tasks, 97,000 pairs): the exact CP-SAT model of
the whole problem does not finish its first stage in two minutes, and on a
neighbourhood of ~100 tasks and 8 volunteers (456 pairs) it needs ~2 s per
neighbourhood (start variables, disjunctions with travel, busy-time cuts,
five lexicographic solves). ``assign.core`` would need item groups for team
tasks sharing one start and has no daily limits. So neighbourhoods get their
own time-indexed 0-1 model (:class:`Neighbourhoods`): a few volunteers over
one day (or, to free pledged minutes, one or two volunteers over the whole
horizon); the tasks they serve alone and the uncovered tasks they could take
are free, everything else is fixed (their other visits are obstacles for
rule 9, counts for rule 11, minutes for rule 10). Each free task gets a set
of start options; the model has one Boolean per (task, volunteer, start),
at-most-one cliques from a sweep over each volunteer's options (travel
included where it is the shortest one), pairwise clauses where only a longer
travel separates two visits, and the exact key of the neighbourhood
(uncovered weight per tier, then pair costs, whole-week fairness through a
table, and the equity of the touched communities) in one lexicographically
weighted objective. With 5 volunteers and 40 uncovered tasks such a model
builds in ~15 ms and is proven optimal in ~0.1 s; the sizes adapt (grow
after a proof, shrink after a timeout). The start options make it a
restriction: it proves nothing about the problem, it only finds moves, and
every move is re-scored and re-validated on the whole problem.

Bound
-----
Always from relaxations of the *same* problem over uncapped candidates, and
valid both lexicographically and tier by tier for the optimal schedule
(docs/readings.md, "Bounds"):

* small components: the exact model's bound (with the week floors of its
  tiers, :func:`week_floor`), per tier raised to the week
  bound where one was computed (restricted by the more urgent tiers only when
  those are proven, so each tier's bound holds for the optimal schedule);
* per large component and tier: the exact fixed-time stage (its CP-SAT bound, also
  when not proven, for the first tier not proven) or the exact truncated stage
  when proven; otherwise
  an LP (:class:`Relaxation`: every eligible free pair, the pairs of the
  pins every valid schedule keeps at 1, teams, pledged
  minutes, daily limits, energy of availability intervals with travel, HiGHS,
  made rigorous from its duals — for LPs over :data:`PDLP_COLUMNS` columns the
  multipliers come from OR-Tools' first-order PDLP, stopped at its share of
  the time and repaired by :mod:`~assign.solvers.lpdual`, or, for the later
  tiers' LPs of the forked child, by column generation over the pairs
  (:func:`~.lpdual.cg_multipliers`, HiGHS' simplex on the pairs that price
  out), and weak duality
  over the variable box turns whatever multipliers it has into a valid bound)
  restricted by the more urgent tiers' values
  *only* when those are proven equal to the schedule's (then the optimal
  schedule satisfies the restriction), unrestricted (min ``U_t`` alone) when
  not; LPs over more than :data:`LP_MAX_COLUMNS` columns, or that cannot be
  built in their share of the time (:data:`LP_BUILD_RATE`), are skipped;
  the parent's LP phase takes the first open tier, and where week bounds
  are out of reach the forked child the later ones (step (e)); a tier
  after the first open one ``j0`` whose LP with ``j0``'s tasks has at most
  :data:`INCUMBENT_LIMIT_COLUMNS` columns is, in the children (week bounds,
  later tiers' LPs), restricted by the proven tiers and by ``U_j0 <=`` the
  schedule's ``U_j0`` (the optimal schedule ties the proven tiers, so it has
  at most the schedule's ``U_j0``; :func:`_tier_task_set`);
* the soft part: the sum over components of their pair costs and fairness
  (exact model bound, or an LP with fairness tangents once every tier of the
  component is proven, or each term at its most favourable value), plus the
  constants (stability, idle volunteers), plus equity bounded apart
  (:func:`_equity_floor`: for schedules with the bound's U, the worst
  community's share is at least the tier's overall share, and never below
  the share of tasks that can never be staffed);
* U per tier is the sum over components (U is separable; a sum of bounds that
  each hold given ties on the more urgent tiers holds for the sum), then the
  larger of it and :func:`~assign.solvers.trivial_bound`'s per tier.

Determinism
-----------
Every CP-SAT call uses ``random_seed = seed`` (plus a counter). With
``workers=1`` every step reads the time on the deterministic clock
(:mod:`assign.clock`): each CP-SAT solve stops on deterministic time
(:data:`assign.clock.DTIME_PER_SECOND` per second for the exact models,
:data:`LNS_DTIME_PER_SECOND` for the search's neighbourhoods, the
time-indexed models' own rate) and advances the clock by what it did; the
greedy passes, the components, the LPs (HiGHS to their end, PDLP on an
iteration budget), the re-timing (a budget of trials) and the week floors
(budgets of sets and pricing rounds) advance it by estimates from their sizes. So what runs, and for how long, follows from the
input, the seed and the settings: the same schedule every time (and the
same bound, but for the week bounds below), unless the wall clock's safety net at the time limit stops a solve first
(on a machine much slower than the one the rates were measured on). Week
bounds of small components are timed on the wall clock (in the time the
deterministic clock leaves them, which then counts all of it), and so are
the large components' week bounds and the later tiers' restricted LPs
after the search (in what the run leaves of the wall's limit, never
charged): they may raise the bound differently from run to run, never
change the schedule. With ``workers > 1``
neighbourhoods and components are solved in parallel on the wall clock:
not deterministic.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import clock as clocks
from .. import rules
from ..arrays import ragged_ranges
from ..candidates import Candidates
from ..compile import Compiled, pair_keys
from ..solution import Solution
from . import communities
from .greedy import Split, ordered_greedy, pressure_preference, weight_per_minute
from .timeindexed import (
    BUILD_TIMEOUT,
    add_visit_conflicts,
    fixed_time,
    max_travel_minutes,
    solve_tiers,
    split_pin_groups,
)

if TYPE_CHECKING:
    from .cpsat import TierFloor

I64 = NDArray[np.int64]

#: each step's end (``AutoResult.log``) with the incumbent's score there, at
#: INFO (``assign solve --verbose`` prints them)
_log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Sub:
    """A sub-problem: a :class:`Compiled` over some tasks and volunteers of a
    parent problem, with the index maps back to the parent."""

    c: Compiled
    tasks: I64  # parent index of each sub task
    volunteers: I64  # parent index of each sub volunteer (the last one may be the dummy, -1)


def _remap_csr(ptr: I64, values: NDArray[np.int32], rows: I64, vmap: I64) -> tuple[I64, NDArray[np.int32]]:
    """Rows ``rows`` of a CSR list of volunteer indexes, values through ``vmap``."""
    counts = ptr[rows + 1] - ptr[rows]
    new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    new_ptr[1:] = np.cumsum(counts)
    idx = np.repeat(ptr[rows], counts) + (np.arange(int(counts.sum())) - np.repeat(new_ptr[:-1], counts))
    return new_ptr, vmap[values[idx]].astype(np.int32)


def subproblem(
    c: Compiled,
    tasks: I64,
    volunteers: I64,
    *,
    window_start: I64 | None = None,
    window_end: I64 | None = None,
    needed: I64 | None = None,
    pins: tuple[I64, I64] | None = None,
    folded_load: I64 | None = None,
    weights: dict[str, float] | None = None,
) -> Sub:
    """The problem restricted to ``tasks`` and ``volunteers`` (parent indexes).

    Volunteers outside the sub-problem that a recipient prefers or excludes, or
    that a task lists as previous, are mapped to one dummy volunteer without
    skills or time (so "has preferred volunteers" and "changes" keep their
    meaning). Optional overrides, per sub task: windows, team sizes; ``pins``
    replaces the pins by (sub task, sub volunteer) pairs. ``folded_load`` (per
    sub volunteer) is load served outside the sub-problem: it is taken off
    ``max_minutes`` and added to the history (minutes and capacity), so rule 10
    and the fairness term stay exact.
    """
    tasks = np.asarray(tasks, dtype=np.int64)
    vols = np.asarray(volunteers, dtype=np.int64)
    n_sub = len(vols)
    n_all = n_sub + 1  # + dummy
    vmap = np.full(c.n_volunteers, n_sub, dtype=np.int64)
    vmap[vols] = np.arange(n_sub)
    take = np.concatenate((vols, [0]))  # dummy copies volunteer 0's scalar fields, then is blanked

    def vcol(a: NDArray[Any], blank: Any) -> NDArray[Any]:
        out = a[take].copy() if len(a) else np.zeros(n_all, dtype=a.dtype)
        out[-1] = blank
        return out

    counts = np.diff(c.av_ptr)[vols]
    av_ptr = np.zeros(n_all + 1, dtype=np.int64)
    av_ptr[1 : n_sub + 1] = np.cumsum(counts)
    av_ptr[-1] = av_ptr[-2]
    idx = np.repeat(c.av_ptr[vols], counts) + (np.arange(int(counts.sum())) - np.repeat(av_ptr[:n_sub], counts))
    max_minutes = vcol(c.v_max_minutes, 0)
    history = vcol(c.v_history_minutes, 0)
    history_cap = vcol(c.v_history_capacity, 0)
    if folded_load is not None:
        fl = np.asarray(folded_load, dtype=np.int64)
        max_minutes[:n_sub] -= fl
        history[:n_sub] += fl
        history_cap[:n_sub] += fl
    r_all = np.arange(c.n_recipients, dtype=np.int64)
    r_pref_ptr, r_pref = _remap_csr(c.r_pref_ptr, c.r_pref, r_all, vmap)
    r_excl_ptr, r_excl = _remap_csr(c.r_excl_ptr, c.r_excl, r_all, vmap)
    t_prev_ptr, t_prev = _remap_csr(c.t_prev_ptr, c.t_prev, tasks, vmap)
    if pins is None:
        t_pin_ptr, t_pin = _remap_csr(c.t_pin_ptr, c.t_pin, tasks, vmap)
    else:
        pt, pv = (np.asarray(x, dtype=np.int64) for x in pins)
        order = np.lexsort((pv, pt))
        pt, pv = pt[order], pv[order]
        t_pin_ptr = np.searchsorted(pt, np.arange(len(tasks) + 1)).astype(np.int64)
        t_pin = pv.astype(np.int32)
    ws = c.t_window_start[tasks] if window_start is None else np.asarray(window_start, dtype=np.int64)
    we = c.t_window_end[tasks] if window_end is None else np.asarray(window_end, dtype=np.int64)
    nd = c.t_needed[tasks] if needed is None else np.asarray(needed, dtype=np.int64)
    sub = dataclasses.replace(
        c,
        weights=dict(c.weights if weights is None else weights),
        task_ids=[c.task_ids[t] for t in tasks.tolist()],
        volunteer_ids=[c.volunteer_ids[v] for v in vols.tolist()] + ["\x00dummy"],
        v_community=vcol(c.v_community, -1),
        v_org=vcol(c.v_org, 0),
        v_lat=vcol(c.v_lat, 0.0),
        v_lon=vcol(c.v_lon, 0.0),
        v_xyz=np.vstack((c.v_xyz[vols], np.zeros((1, 3)))) if len(c.v_xyz) else np.zeros((n_all, 3)),
        v_skills=vcol(c.v_skills, 0),
        v_radius=vcol(c.v_radius, 0.0),
        v_max_minutes=max_minutes,
        v_max_per_day=vcol(c.v_max_per_day, 0),
        v_pref_services=vcol(c.v_pref_services, 0),
        v_history_minutes=history,
        v_history_capacity=history_cap,
        v_pledge_fraction=vcol(c.v_pledge_fraction, 0.0),
        av_ptr=av_ptr,
        av_start=c.av_start[idx],
        av_end=c.av_end[idx],
        r_pref_ptr=r_pref_ptr,
        r_pref=r_pref,
        r_excl_ptr=r_excl_ptr,
        r_excl=r_excl,
        t_recipient=c.t_recipient[tasks],
        t_service=c.t_service[tasks],
        t_tier=c.t_tier[tasks],
        t_weight=c.t_weight[tasks],
        t_skills=c.t_skills[tasks],
        t_window_start=ws,
        t_window_end=we,
        t_duration=c.t_duration[tasks],
        t_needed=nd,
        t_pin_ptr=t_pin_ptr,
        t_pin=t_pin,
        t_prev_ptr=t_prev_ptr,
        t_prev=t_prev,
        excluded_keys=pair_keys(r_excl_ptr, r_excl, n_all),
        preferred_keys=pair_keys(r_pref_ptr, r_pref, n_all),
        pinned_keys=pair_keys(t_pin_ptr, t_pin, n_all),
        previous_keys=pair_keys(t_prev_ptr, t_prev, n_all),
    )
    return Sub(sub, tasks, np.concatenate((vols, [-1])))


def sub_solution(c: Compiled, sub: Sub, sol: Solution) -> Solution:
    """``sol``'s assignments whose task and volunteer are both in ``sub``, in
    ``sub``'s indexes (a hint or a start for a solve of ``sub``)."""
    tmap = np.full(c.n_tasks, -1, dtype=np.int64)
    tmap[sub.tasks] = np.arange(len(sub.tasks))
    vmap = np.full(c.n_volunteers, -1, dtype=np.int64)
    real = sub.volunteers >= 0  # (not the dummy)
    vmap[sub.volunteers[real]] = np.flatnonzero(real)
    rows = np.flatnonzero((tmap[sol.task] >= 0) & (vmap[sol.volunteer] >= 0))
    return Solution.build(tmap[sol.task[rows]], vmap[sol.volunteer[rows]], sol.start[rows])


def sub_candidates(sub: Sub, task: I64, volunteer: I64) -> Candidates:
    """Candidates of ``sub`` for the given (sub task, sub volunteer) pairs (the
    free ones: each keeps its earliest free start in ``sub``)."""
    from .. import rules
    from ..score import linear_pair_cost

    c = sub.c
    t = np.asarray(task, dtype=np.int64)
    v = np.asarray(volunteer, dtype=np.int64)
    km = rules.distance_km(c, t, v)
    order = np.lexsort((km, t))
    t, v, km = t[order], v[order], km[order]
    start = rules.earliest_free_start(c, t, v)
    ok = start >= 0
    t, v, km, start = t[ok], v[ok], km[ok], start[ok]
    return Candidates(
        task=t.astype(np.int32),
        volunteer=v.astype(np.int32),
        km=km.astype(np.float32),
        start=start,
        load=rules.assignment_load(c, t, v, km).astype(np.int32),
        cost=np.asarray(linear_pair_cost(c, t, v, km), dtype=np.float64),
        ptr=np.searchsorted(t, np.arange(c.n_tasks + 1)).astype(np.int64),
    )


# --------------------------------------------------------------------- LNS


@dataclass
class Move:
    """What one neighbourhood solve produced."""

    free: I64  # parent task indexes whose assignments the move replaces
    task: I64  # new assignments (parent indexes)
    volunteer: I64
    start: I64
    status: str
    dtime: float
    n_vars: int


def _stable_order(values: NDArray[np.int32]) -> I64:
    """``np.argsort(values, kind="stable")`` for non-negative 32-bit values:
    a plain sort of ``value << 32 | index`` (unique keys, so the same order;
    measured on 64 M pairs: 2.8 s instead of 4.7 s)."""
    n = len(values)
    if n >= 1 << 32 or (n and int(values.min()) < 0):  # pragma: no cover - beyond any county
        return np.argsort(values, kind="stable").astype(np.int64)
    key = (values.astype(np.int64) << 32) | np.arange(n, dtype=np.int64)
    key.sort()
    key &= 0xFFFFFFFF
    return key


class Neighbourhoods:
    """Large-neighbourhood search on a time-indexed model of a few volunteers over one day.

    A neighbourhood is a set ``V`` of volunteers and a calendar day. Its *free*
    tasks are the tasks of that day served only by volunteers of ``V``, and the
    uncovered tasks of that day that enough volunteers of ``V`` could serve.
    Everything else stays as it is: the other visits of ``V`` are fixed
    obstacles (rule 9 with travel, the day's count for rule 11, minutes for
    rule 10). The free tasks are re-solved exactly over a finite set of start
    options per task (window grid, availability edges, the incumbent's starts,
    and the starts right after / before nearby fixed and current visits with
    travel), so the model is pure 0-1: one Boolean per (task, volunteer, start)
    option, at-most-one cliques from a sweep over each volunteer's options,
    pairwise clauses where only travel separates two visits, and linear rows
    for minutes and daily limits. The objective is the SPEC §6 key restricted to
    the neighbourhood (uncovered weight per tier, then the soft score with the
    exact fairness of the volunteers' whole-week loads and the exact equity of
    the touched communities), lexicographic through weights that cannot
    overflow; the current assignment is a complete hint, so the solve never
    returns anything worse in the model.
    """

    def __init__(self, c: Compiled, cands: Candidates, step: int = 15, max_options: int = 24):
        self.c = c
        self.cands = cands
        self.step = step
        self.max_options = max_options
        self.day_ws = rules.day_of(c, c.t_window_start)
        self.max_dur = int(c.t_duration.max()) if c.n_tasks else 0
        self.max_travel = max_travel_minutes(c)
        self.margin = self.max_dur + self.max_travel
        self.by_vol = _stable_order(cands.volunteer)
        order = self.by_vol
        self.vol_ptr = np.searchsorted(cands.volunteer[order], np.arange(c.n_volunteers + 1)).astype(np.int64)
        cap = c.share_capacity
        self.fair_cap = cap
        # total and per-(tier, community) weights for equity
        n_comm = max(c.n_communities, 1)
        self.n_comm = n_comm
        self.cell = c.t_tier.astype(np.int64) * n_comm + c.t_community
        cells = (c.n_tiers + 1) * n_comm
        self.cell_total = np.bincount(self.cell, weights=c.t_weight.astype(np.float64), minlength=cells)
        self.cell_count = np.bincount(self.cell, minlength=cells)

    # -- selection ------------------------------------------------------------

    def pairs_of(self, vols: I64) -> I64:
        """Candidate rows of these volunteers."""
        parts = [self.by_vol[self.vol_ptr[v] : self.vol_ptr[v + 1]] for v in vols.tolist()]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def build(
        self, sol: Solution, vols: I64, day: int | None, max_free: int, rng: np.random.Generator
    ) -> _NeighbourhoodModel | None:
        """The model of volunteers ``vols`` over calendar day ``day`` (None: the
        whole horizon), with at most ``max_free`` uncovered tasks (most urgent first)."""
        c, cands = self.c, self.cands
        vols = np.unique(np.asarray(vols, dtype=np.int64))
        in_v = np.zeros(c.n_volunteers, dtype=bool)
        in_v[vols] = True
        if day is None:
            d0, d1 = -self.margin - 1, c.horizon_minutes + self.margin + 1
        else:
            d0 = int(c.day_starts[day])
            d1 = int(c.day_starts[day + 1]) if day + 1 < len(c.day_starts) else c.horizon_minutes
        covered = sol.covered(c.n_tasks)
        row_in = in_v[sol.volunteer]
        team_out = np.zeros(c.n_tasks, dtype=bool)
        team_out[sol.task[~row_in]] = True
        touched = np.zeros(c.n_tasks, dtype=bool)
        touched[sol.task[row_in & (sol.start >= d0) & (sol.start < d1)]] = True
        free_cov = np.flatnonzero(touched & ~team_out)
        rows = self.pairs_of(vols)
        if day is not None:
            rows = rows[self.day_ws[cands.task[rows]] == day]
        ptask = cands.task[rows].astype(np.int64)
        n_in = np.bincount(ptask, minlength=c.n_tasks)
        unc = np.flatnonzero(~covered & (n_in >= c.t_needed) & (n_in > 0))
        if len(unc) > max_free:
            order = np.lexsort((rng.random(len(unc)), -c.t_weight[unc], c.t_tier[unc]))
            unc = np.sort(unc[order[:max_free]])
        free = np.union1d(free_cov, unc)
        if len(free) == 0:
            return None
        is_free = np.zeros(c.n_tasks, dtype=bool)
        is_free[free] = True
        rows = rows[is_free[ptask]]
        return _NeighbourhoodModel(self, sol, vols, free, rows, (d0, d1))


class _NeighbourhoodModel:
    """The CP-SAT model of one neighbourhood (see :class:`Neighbourhoods`)."""

    def __init__(self, nb: Neighbourhoods, sol: Solution, vols: I64, free: I64, rows: I64, span: tuple[int, int]):
        from ortools.sat.python import cp_model

        c, cands = nb.c, nb.cands
        self.free = free
        self.vols = vols
        n_v = len(vols)
        vloc = np.full(c.n_volunteers, -1, dtype=np.int64)
        vloc[vols] = np.arange(n_v)
        tloc = np.full(c.n_tasks, -1, dtype=np.int64)
        tloc[free] = np.arange(len(free))
        is_free = tloc >= 0
        d0, d1 = span

        # the incumbent's other visits of V: obstacles, counts and minutes
        mine = np.flatnonzero(vloc[sol.volunteer] >= 0)
        other = mine[~is_free[sol.task[mine]]]
        cur = mine[is_free[sol.task[mine]]]
        o_vol = vloc[sol.volunteer[other]]
        o_task = sol.task[other]
        o_start = sol.start[other]
        used = np.bincount(
            o_vol, weights=rules.assignment_load(c, o_task, sol.volunteer[other]), minlength=n_v
        ).astype(np.int64)
        near = (o_start >= d0 - nb.margin) & (o_start < d1 + nb.margin)
        b_vol, b_task, b_start = o_vol[near], o_task[near], o_start[near]
        b_end = b_start + c.t_duration[b_task]
        b_rec = c.t_recipient[b_task]
        o_day = rules.day_of(c, o_start)

        # start options per free task
        p_task = cands.task[rows].astype(np.int64)
        p_vol = cands.volunteer[rows].astype(np.int64)
        ws, we, dur = c.t_window_start[free], c.t_window_end[free], c.t_duration[free]
        hi = we - dur
        points: list[I64] = []
        owners: list[I64] = []
        k = np.arange(0, int(((hi - ws).max() // nb.step) + 1) if len(free) else 0)
        grid = ws[:, None] + nb.step * k[None, :]
        gmask = grid <= hi[:, None]
        owners.append(np.nonzero(gmask)[0])
        points.append(grid[gmask])
        owners.append(np.arange(len(free)))
        points.append(hi)
        cur_t, cur_s = sol.task[cur], sol.start[cur]
        owners.append(tloc[cur_t])
        points.append(cur_s)
        # availability edges of V
        av_idx = np.concatenate([np.arange(c.av_ptr[v], c.av_ptr[v + 1]) for v in vols.tolist()]) if n_v else np.zeros(0, np.int64)
        a_s, a_e = c.av_start[av_idx], c.av_end[av_idx]
        keep_av = (a_e > d0 - nb.margin) & (a_s < d1 + nb.margin)
        a_s, a_e = a_s[keep_av], a_e[keep_av]
        if len(a_s):
            ti, ai = np.nonzero((a_s[None, :] >= ws[:, None]) & (a_s[None, :] <= hi[:, None]))
            owners.append(ti)
            points.append(a_s[ai])
            late = a_e[None, :] - dur[:, None]
            ti, ai = np.nonzero((late >= ws[:, None]) & (late <= hi[:, None]))
            owners.append(ti)
            points.append(late[ti, ai])
        # right after / before nearby visits (fixed ones and the current free ones), with travel
        n_rec = [b_rec, c.t_recipient[cur_t]]
        n_start = [b_start, cur_s]
        n_end = [b_end, cur_s + c.t_duration[cur_t]]
        nr, ns, ne = (np.concatenate(x) for x in (n_rec, n_start, n_end))
        if len(nr):
            ti, ni = np.nonzero((ne[None, :] <= hi[:, None] + 0) & (ne[None, :] + nb.max_travel >= ws[:, None]) |
                                (ns[None, :] >= ws[:, None]) & (ns[None, :] - nb.max_travel - dur[:, None] <= hi[:, None]))
            rt = c.t_recipient[free[ti]]
            after = ne[ni] + rules.travel_between_recipients(c, nr[ni], rt)
            before = ns[ni] - dur[ti] - rules.travel_between_recipients(c, rt, nr[ni])
            owners += [ti, ti]
            points += [after, before]
        own = np.concatenate(owners)
        pts = np.concatenate(points)
        ok = (pts >= ws[own]) & (pts <= hi[own])
        key = np.unique(own[ok] * (1 << 32) + pts[ok])
        o_t, o_s = key >> 32, key & ((1 << 32) - 1)
        # thin out tasks with too many options (keep the incumbent's start and the edges)
        counts = np.bincount(o_t, minlength=len(free))
        if counts.max(initial=0) > nb.max_options:
            keep = np.ones(len(o_t), dtype=bool)
            cur_key = set((tloc[cur_t] * (1 << 32) + cur_s).tolist())
            for t in np.flatnonzero(counts > nb.max_options).tolist():
                idx = np.flatnonzero(o_t == t)
                pick = np.unique(np.linspace(0, len(idx) - 1, nb.max_options).round().astype(np.int64))
                mask = np.zeros(len(idx), dtype=bool)
                mask[pick] = True
                for j, kk in enumerate((t * (1 << 32) + o_s[idx]).tolist()):
                    if kk in cur_key:
                        mask[j] = True
                keep[idx[~mask]] = False
            o_t, o_s = o_t[keep], o_s[keep]
        opt_ptr = np.searchsorted(o_t, np.arange(len(free) + 1))

        # (pair, option) Booleans: availability, fixed obstacles, daily limits
        pl_t = tloc[p_task]
        n_opt = opt_ptr[pl_t + 1] - opt_ptr[pl_t]
        y_pair = np.repeat(np.arange(len(rows)), n_opt)
        y_start = o_s[ragged_ranges(opt_ptr[pl_t], n_opt)]
        y_t = p_task[y_pair]
        y_v = p_vol[y_pair]
        y_end = y_start + c.t_duration[y_t]
        ok = rules.available(c, y_v, y_start, y_end)
        y_day = rules.day_of(c, y_start)
        limit = c.v_max_per_day[y_v]
        fixed_count = np.zeros(len(y_v), dtype=np.int64)
        if len(o_vol):
            okey = o_vol * (c.n_days + 2) + o_day
            ykey = vloc[y_v] * (c.n_days + 2) + y_day
            uk, uc = np.unique(okey, return_counts=True)
            pos = np.minimum(np.searchsorted(uk, ykey), max(len(uk) - 1, 0))
            fixed_count = np.where(uk[pos] == ykey, uc[pos], 0) if len(uk) else fixed_count
        ok &= fixed_count < limit
        y_load = cands.load[rows].astype(np.int64)[y_pair]
        ok &= used[vloc[y_v]] + y_load <= c.v_max_minutes[y_v]
        sel = np.flatnonzero(ok)
        y_pair, y_start, y_end, y_t, y_v, y_day, fixed_count = (
            a[sel] for a in (y_pair, y_start, y_end, y_t, y_v, y_day, fixed_count)
        )
        y_rec = c.t_recipient[y_t]
        # clash with fixed visits of the same volunteer (rule 9, travel included)
        if len(b_vol) and len(y_v):
            bad = np.zeros(len(y_v), dtype=bool)
            yl = vloc[y_v]
            for j in range(n_v):
                yi = np.flatnonzero(yl == j)
                bi = np.flatnonzero(b_vol == j)
                if not len(yi) or not len(bi):
                    continue
                ys, ye, yr = y_start[yi][:, None], y_end[yi][:, None], y_rec[yi][:, None]
                bs, be, br = b_start[bi][None, :], b_end[bi][None, :], b_rec[bi][None, :]
                yr_b, br_b = np.broadcast_arrays(yr, br)
                t_yb = rules.travel_between_recipients(c, yr_b.ravel(), br_b.ravel()).reshape(yr_b.shape)
                t_by = rules.travel_between_recipients(c, br_b.ravel(), yr_b.ravel()).reshape(yr_b.shape)
                apart = np.where(ys <= bs, bs >= ye + t_yb, ys >= be + t_by)
                bad[yi] = ~apart.all(axis=1)
            keep = np.flatnonzero(~bad)
            y_pair, y_start, y_end, y_t = y_pair[keep], y_start[keep], y_end[keep], y_t[keep]
            y_v, y_day, fixed_count, y_rec = y_v[keep], y_day[keep], fixed_count[keep], y_rec[keep]
        self.y_pair, self.y_start, self.y_t, self.y_v = y_pair, y_start, y_t, y_v
        n_y = len(y_pair)

        m = cp_model.CpModel()
        self.model = m
        y = [m.new_bool_var("") for _ in range(n_y)]
        self.y = y
        y_tl = tloc[y_t]
        # coverage and teams
        by_task = np.argsort(y_tl, kind="stable")
        tptr = np.searchsorted(y_tl[by_task], np.arange(len(free) + 1))
        cov: list[Any] = []
        z_vars: list[tuple[Any, I64]] = []
        pinned_rows = rules.is_pinned(c, sol.task[cur], sol.volunteer[cur])
        pins = set(zip(sol.task[cur][pinned_rows].tolist(), sol.volunteer[cur][pinned_rows].tolist(), strict=True))
        for i, t in enumerate(free.tolist()):
            idx = by_task[tptr[i] : tptr[i + 1]]
            need = int(c.t_needed[t])
            if len(idx) == 0:
                cov.append(0)
                continue
            if need == 1:
                m.add_at_most_one([y[j] for j in idx])
                cov.append(cp_model.LinearExpr.sum([y[j] for j in idx]))
            else:
                zs = []
                for s in np.unique(y_start[idx]).tolist():
                    at = idx[y_start[idx] == s]
                    if len(at) < need:
                        for j in at:
                            m.add(y[j] == 0)
                        continue
                    z = m.new_bool_var("")
                    m.add(cp_model.LinearExpr.sum([y[j] for j in at]) == need * z)
                    zs.append(z)
                    z_vars.append((z, at))
                if zs:
                    m.add_at_most_one(zs)
                    cov.append(cp_model.LinearExpr.sum(zs))
                else:
                    cov.append(0)
            for v in {vv for tt, vv in pins if tt == t}:
                m.add(cp_model.LinearExpr.sum([y[j] for j in idx if y_v[j] == v]) == 1)
        self.z_vars = z_vars
        # rule 9 among options of one volunteer; rule 10; rule 11
        yl = vloc[y_v]
        by_vol = np.argsort(yl, kind="stable")
        vptr = np.searchsorted(yl[by_vol], np.arange(n_v + 1))
        loads = cands.load[rows].astype(np.int64)[y_pair]
        self.load_expr: list[Any] = []
        for j in range(n_v):
            idx = by_vol[vptr[j] : vptr[j + 1]]
            if len(idx) == 0:
                self.load_expr.append(0)
                continue
            add_visit_conflicts(m, y, idx, y_start, y_start, y_end - y_start, y_rec, y_tl, c, nb.max_travel)
            v = int(vols[j])
            expr = cp_model.LinearExpr.weighted_sum([y[k] for k in idx], loads[idx].tolist())
            self.load_expr.append(expr)
            room = int(c.v_max_minutes[v] - used[j])
            if int(loads[idx].sum()) > room:
                m.add(expr <= room)
            lim = int(c.v_max_per_day[v])
            if lim < len(idx):
                days = y_day[idx]
                for d in np.unique(days).tolist():
                    on = idx[days == d]
                    left = lim - int(fixed_count[on][0])
                    if len(np.unique(y_tl[on])) > left:
                        m.add(cp_model.LinearExpr.sum([y[k] for k in on]) <= left)
        self.cov = cov
        self.used = used
        self.loads = loads
        self.cur = cur
        self.sol = sol
        self.nb = nb
        self.vloc = vloc
        self.tloc = tloc
        self._rows = rows
        self._objective(cp_model, by_vol, vptr)

    def _objective(self, cp_model: Any, by_vol: I64, vptr: I64) -> None:
        nb, c, m = self.nb, self.nb.c, self.model
        free = self.free
        scale = 1000.0
        soft_terms: list[Any] = []
        soft_lo = soft_hi = 0
        # linear pair costs
        cost = np.rint(nb.cands.cost[self._rows][self.y_pair] * scale).astype(np.int64)
        if len(cost):
            soft_terms.append(cp_model.LinearExpr.weighted_sum(self.y, cost.tolist()))
            soft_lo += int(np.minimum(cost, 0).sum())
            soft_hi += int(np.maximum(cost, 0).sum())
        # fairness, exact per volunteer (a table over the load)
        w_f = c.weights["fairness"]
        if w_f != 0.0:
            for j, v in enumerate(self.vols.tolist()):
                cap = nb.fair_cap[v]
                idx = by_vol[vptr[j] : vptr[j + 1]]
                if cap <= 0 or len(idx) == 0:
                    continue
                base = int(self.used[j])
                most = min(int(self.loads[idx].sum()), int(c.v_max_minutes[v]) - base)
                if most <= 0:
                    continue
                h = float(c.v_history_minutes[v])
                loads = np.arange(most + 1, dtype=np.float64)
                table = np.rint(scale * w_f * ((h + base + loads) / cap) ** 2).astype(np.int64)
                table -= table[0]
                lv = m.new_int_var(0, most, "")
                m.add(lv == self.load_expr[j])
                fv = m.new_int_var(int(table.min()), int(table.max()), "")
                m.add_element(lv, table.tolist(), fv)
                soft_terms.append(fv)
                soft_lo += int(table.min())
                soft_hi += int(table.max())
        # equity of the touched (tier, community) cells
        w_e = c.weights["equity"]
        tiers_free = c.t_tier[free]
        if w_e > 0.0:
            covered = self.sol.covered(c.n_tasks)
            unc_w = np.where(covered, 0, c.t_weight).astype(np.float64)
            is_free = self.tloc >= 0
            const = np.bincount(nb.cell[~is_free], weights=unc_w[~is_free], minlength=len(nb.cell_total))
            for tier in np.unique(tiers_free).tolist():
                cells = np.arange(tier * nb.n_comm, (tier + 1) * nb.n_comm)
                has = nb.cell_count[cells] > 0
                total = nb.cell_total[cells]
                share = np.where(has & (total > 0), 100.0 * const[cells] / np.where(total > 0, total, 1.0), 0.0)
                mine = np.flatnonzero(tiers_free == tier)
                comm = c.t_community[free[mine]]
                touched = np.unique(comm)
                others = np.setdiff1d(np.flatnonzero(has), touched)
                floor = float(share[others].max()) if len(others) else 0.0
                gain = scale * w_e
                hi_share = max(100.0, floor)
                mt = m.new_int_var(int(np.floor(gain * floor)), int(np.ceil(gain * hi_share)) + 1, "")
                for cm in touched.tolist():
                    tot = float(total[cm])
                    if tot <= 0:
                        continue
                    sel = mine[comm == cm]
                    ws_ = [int(c.t_weight[free[i]]) for i in sel.tolist()]
                    # U = const + sum w (1 - cov):  tot * M >= gain * 100 * U
                    unc = int(const[cells[cm]]) + sum(ws_) - cp_model.LinearExpr.weighted_sum(
                        [self.cov[i] for i in sel.tolist()], ws_
                    )
                    m.add(int(round(tot)) * mt >= int(round(gain * 100)) * unc)
                soft_terms.append(mt)
                soft_lo += int(np.floor(gain * floor))
                soft_hi += int(np.ceil(gain * hi_share)) + 1
        self.soft_expr = cp_model.LinearExpr.sum(soft_terms) if soft_terms else 0
        # U per tier, lexicographic through weights
        self.u_expr: list[tuple[int, Any]] = []
        spans: list[int] = []
        for tier in sorted(np.unique(tiers_free).tolist(), reverse=True):  # least urgent first
            at = np.flatnonzero(tiers_free == tier).tolist()
            ws_ = [int(c.t_weight[free[i]]) for i in at]
            expr = sum(ws_) - cp_model.LinearExpr.weighted_sum([self.cov[i] for i in at], ws_)
            self.u_expr.append((tier, expr))
            spans.append(sum(abs(w) for w in ws_) + 1)
        u_terms, weight = _lexicographic([e for _, e in self.u_expr], spans, soft_hi - soft_lo + 1)
        self.fits = weight <= OBJECTIVE_MAX
        if self.fits:
            m.minimize(cp_model.LinearExpr.sum([wt * e for wt, e in u_terms]) + self.soft_expr)
        else:
            # U alone, still lexicographic (the soft part is left to the
            # acceptance test); the least urgent tiers dropped until it fits
            k = 0
            u_terms, weight = _lexicographic([e for _, e in self.u_expr], spans, 1)
            while weight > OBJECTIVE_MAX and k < len(spans) - 1:
                k += 1
                u_terms, weight = _lexicographic([e for _, e in self.u_expr[k:]], spans[k:], 1)
            m.minimize(cp_model.LinearExpr.sum([wt * e for wt, e in u_terms]))

    def hint(self) -> None:
        """The incumbent as a complete hint."""
        sol = self.sol
        cur = self.cur
        want = set(zip(sol.task[cur].tolist(), sol.volunteer[cur].tolist(), sol.start[cur].tolist(), strict=True))
        self.model.clear_hints()
        on = np.zeros(len(self.y), dtype=bool)
        for i, key in enumerate(zip(self.y_t.tolist(), self.y_v.tolist(), self.y_start.tolist(), strict=True)):
            if key in want:
                on[i] = True
        for var, val in zip(self.y, on.tolist(), strict=True):
            self.model.add_hint(var, val)
        for z, at in self.z_vars:
            self.model.add_hint(z, bool(on[at].any()))

    def solve(self, seed: int, time_limit: float, dtime: float) -> Move:
        from ortools.sat.python import cp_model

        self.hint()
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.random_seed = int(seed) % (1 << 31)
        prm.max_deterministic_time = max(0.001, float(dtime))
        code = clocks.current().solve(solver, self.model, time_limit, LNS_DTIME_PER_SECOND)
        status = solver.status_name(code)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            empty = np.zeros(0, dtype=np.int64)
            return Move(self.free, empty, empty, empty, status, solver.deterministic_time, len(self.y))
        on = np.array([solver.boolean_value(v) for v in self.y], dtype=bool)
        return Move(
            self.free, self.y_t[on], self.y_v[on], self.y_start[on], status, solver.deterministic_time, len(self.y)
        )


#: a neighbourhood's objective (the lexicographic weights times the largest
#: U they multiply, plus the soft range) is kept below this: CP-SAT declares a
#: model invalid ("possible integer overflow in objective") when the sum of its
#: terms and offset could pass 2^62 (40 volunteers over the week with 300
#: uncovered Shiquan tasks did with the bound 2^61 before 2026-12-01)
OBJECTIVE_MAX = 1 << 59


def _lexicographic(exprs: list[Any], spans: list[int], first: int) -> tuple[list[tuple[int, Any]], int]:
    """Weights making ``exprs`` (least urgent first, each in ``[0, span)``)
    lexicographic, the least urgent weighted ``first``: (weight, expr) pairs
    and the weight one more would need (the objective's range)."""
    out = []
    weight = first
    for expr, span in zip(exprs, spans, strict=True):
        out.append((weight, expr))
        weight *= span
    return out, weight


def apply_move(sol: Solution, n_tasks: int, move: Move) -> Solution:
    """The incumbent with the free tasks' assignments replaced by the move's."""
    is_free = np.zeros(n_tasks, dtype=bool)
    is_free[move.free] = True
    keep = ~is_free[sol.task]
    return Solution.build(
        np.concatenate((sol.task[keep], move.task)),
        np.concatenate((sol.volunteer[keep], move.volunteer)),
        np.concatenate((sol.start[keep], move.start)),
        list(sol.conflicts),
    )


@dataclass
class LnsStats:
    neighbourhoods: int = 0
    improvements: int = 0
    optimal: int = 0
    work: float = 0.0
    seconds: float = 0.0


class Search:
    """The LNS loop: pick neighbourhoods, solve them, keep what improves the key."""

    def __init__(
        self,
        c: Compiled,
        cands: Candidates,
        sol: Solution,
        seed: int,
        tier_floor: tuple[float, ...] | None = None,
        focus: NDArray[np.bool_] | None = None,
    ):
        from scipy.spatial import cKDTree

        from ..score import evaluate

        self.c = c
        self.cands = cands
        self.nb = Neighbourhoods(c, cands)
        self.sol = sol
        self.key = evaluate(c, sol).key()
        self.seed = seed
        self.rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x1A5A])
        self.coverable = cands.counts() >= c.t_needed
        self.focus_vols = np.ones(c.n_volunteers, dtype=bool)
        if focus is not None:
            self.coverable = self.coverable & focus
            self.focus_vols = np.zeros(c.n_volunteers, dtype=bool)
            self.focus_vols[cands.volunteer[focus[cands.task]]] = True
        self.tree = cKDTree(c.v_xyz) if c.n_volunteers else None
        self.size = [5.0, 5.0, 2.0]  # volunteers per neighbourhood, by kind
        self.max_free = [40.0, 40.0, 60.0]  # uncovered tasks offered, by kind
        self.tier_floor = tier_floor
        self.stats = LnsStats()
        self.fails = np.zeros(c.n_tiers + 2)

    def _pick(self) -> tuple[int, I64, int | None] | None:
        """A neighbourhood: (kind, volunteers, day or None for the whole horizon).

        Kind 0: an uncovered task of the most urgent open tier, some of its
        candidates, its day. Kind 2: the same over the whole horizon with fewer
        volunteers (pledged minutes are weekly: freeing them needs the other
        days). Kind 1: a busy volunteer and volunteers living near, one day (soft).
        """
        c, rng, cands = self.c, self.rng, self.cands
        unc = np.flatnonzero(~self.sol.covered(c.n_tasks) & self.coverable)
        if len(unc) and self.tier_floor is not None:
            floor = np.asarray(self.tier_floor[: c.n_tiers])
            cur = np.asarray(self.key[: c.n_tiers])
            open_tier = np.concatenate(([False], cur > floor))
            unc = unc[open_tier[c.t_tier[unc]]]
        draw = rng.random()
        kind = 1
        if len(unc):
            kind = 0 if draw < 0.45 else 2 if draw < 0.8 else 1
        k = int(round(self.size[kind]))
        if kind != 1:
            tier = c.t_tier[unc]
            w = 4.0 ** (-(tier - tier.min()).astype(np.float64))
            t = int(rng.choice(unc, p=w / w.sum()))
            pool = cands.volunteer[cands.rows(t)][: 3 * k].astype(np.int64)
            vols = pool[rng.choice(len(pool), size=min(k, len(pool)), replace=False)]
            return kind, np.sort(vols), (int(self.nb.day_ws[t]) if kind == 0 else None)
        if len(self.sol) == 0 or self.tree is None:
            return None
        busy = np.flatnonzero(self.focus_vols[self.sol.volunteer])
        if len(busy) == 0:
            return None
        r = int(busy[rng.integers(len(busy))])
        v = int(self.sol.volunteer[r])
        day = int(rules.day_of(c, self.sol.start[r : r + 1])[0])
        _, near = self.tree.query(c.v_xyz[v], k=min(3 * k, c.n_volunteers))
        near = np.atleast_1d(near)
        near = near[near != v]
        extra = near[rng.choice(len(near), size=min(k - 1, len(near)), replace=False)] if len(near) else near
        return kind, np.sort(np.concatenate(([v], extra)).astype(np.int64)), day

    def run(
        self, deadline: float, work_budget: float, workers: int = 1, sub_dtime: float = 1.0, stop: Any = None,
        stop_by: float | None = None,
    ) -> Solution:
        """Improve until the deadline or the work budget is spent (or, checked
        between rounds, ``stop()`` is true); a later call resumes the search.
        ``stop_by``: when ``stop()`` is expected to turn true (a dive due
        from a child): no round started before it runs past it, and later
        rounds get at most :data:`STOP_POLL_SECONDS` of wall time each, so the
        search stops soon after (a round is one neighbourhood's solve, up to
        ``sub_dtime`` of CP-SAT's deterministic time: on laocheng at 10 s one
        ran 1.3 s past the week dive's return, too late for its fill), for
        :data:`STOP_POLL_WINDOW` after it."""
        import time
        from concurrent.futures import ThreadPoolExecutor

        from ..check import violations
        from ..score import evaluate

        began = time.perf_counter()
        clock = clocks.current()
        c = self.c
        n_par = max(1, int(workers))
        pool = ThreadPoolExecutor(max_workers=n_par) if n_par > 1 else None
        try:
            while self.stats.work < work_budget and clock.now() < deadline - 0.05:
                if stop is not None and stop():
                    break
                jobs: list[tuple[int, _NeighbourhoodModel]] = []
                for _ in range(n_par):
                    picked = self._pick()
                    if picked is None:
                        break
                    kind, vols, day = picked
                    mdl = self.nb.build(self.sol, vols, day, int(self.max_free[kind]), self.rng)
                    if mdl is not None:
                        jobs.append((kind, mdl))
                if not jobs:
                    break
                left = max(0.05, deadline - clock.now())
                if stop_by is not None and clock.now() < stop_by + STOP_POLL_WINDOW:
                    left = min(left, max(STOP_POLL_SECONDS, stop_by - clock.now()))
                sub_seed = self.seed + self.stats.neighbourhoods

                def one(
                    job: tuple[int, _NeighbourhoodModel], i: int = 0, s0: int = sub_seed, wall: float = left
                ) -> Move:
                    return job[1].solve(s0 + i, wall, sub_dtime)

                if pool is None:
                    moves = [one(jobs[0])]
                else:
                    moves = list(pool.map(one, jobs, range(len(jobs))))
                taken_v = np.zeros(c.n_volunteers, dtype=bool)
                taken_t = np.zeros(c.n_tasks, dtype=bool)
                for (kind, mdl), move in zip(jobs, moves, strict=True):
                    self.stats.neighbourhoods += 1
                    overhead = WORK_PER_VARIABLE * move.n_vars + WORK_PER_NEIGHBOURHOOD
                    self.stats.work += move.dtime + overhead
                    clock.charge(overhead / LNS_DTIME_PER_SECOND)
                    if move.status == "OPTIMAL":
                        self.stats.optimal += 1
                        self.size[kind] = min(self.size[kind] + 0.25, 40.0)
                        self.max_free[kind] = min(self.max_free[kind] * 1.05, 300.0)
                    else:
                        self.size[kind] = max(1.0, self.size[kind] * 0.8)
                        self.max_free[kind] = max(10.0, self.max_free[kind] * 0.8)
                    if len(move.free) == 0 or taken_v[mdl.vols].any() or taken_t[move.free].any():
                        continue
                    new = apply_move(self.sol, c.n_tasks, move)
                    key = evaluate(c, new).key()
                    if key < self.key:
                        if violations(c, new):  # never expected; never accepted
                            continue
                        self.sol, self.key = new, key
                        self.stats.improvements += 1
                        taken_v[mdl.vols] = True
                        taken_t[move.free] = True
        finally:
            if pool is not None:
                pool.shutdown()
        self.stats.seconds += time.perf_counter() - began
        return self.sol


#: a search told when its ``stop()`` is due (:meth:`Search.run`'s ``stop_by``)
#: gives each neighbourhood started after that at most this much wall time,
#: for this long (a child whose dive does not come — its tier proven, its
#: enumeration too large — leaves the search its whole neighbourhoods again)
STOP_POLL_SECONDS = 0.1
STOP_POLL_WINDOW = 2.0
#: work charged per Boolean of a neighbourhood model, on top of CP-SAT's
#: deterministic time (model building in Python is not in the latter)
WORK_PER_VARIABLE = 2e-5
#: and per neighbourhood (selection, bookkeeping, evaluation)
WORK_PER_NEIGHBOURHOOD = 0.01
#: with one worker (:class:`assign.clock.DeterministicClock`), the work above
#: per second of the clock: the neighbourhoods' small models go faster than
#: the exact ones (laocheng with one worker, ad hoc on a 2-CPU Intel Xeon:
#: 0.4-1.3 units per second of wall time)
LNS_DTIME_PER_SECOND = 0.3


# ------------------------------------------------------------------- bound


def latest_free_start(c: Compiled, t: I64, v: I64) -> tuple[I64, I64]:
    """Latest start (and its availability interval) at which the visit of ``t``
    fits the window and one availability interval of ``v``; -1 where none."""
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    dur = c.t_duration[t]
    lo_start = c.t_window_start[t]
    hi_start = c.t_window_end[t] - dur
    out = np.full(len(t), -1, dtype=np.int64)
    where = np.full(len(t), -1, dtype=np.int64)
    if len(c.av_start) == 0 or len(t) == 0:
        return out, where
    span = c.horizon_minutes + 2
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
    skeys = owner * span + c.av_start
    # last interval of v starting at or before hi_start
    idx = np.searchsorted(skeys, v * span + np.clip(hi_start, 0, span - 1), side="right") - 1
    first = c.av_ptr[v]
    pending = np.flatnonzero((idx >= first) & (lo_start <= hi_start))
    idx = idx[pending]
    while len(pending):
        e = np.minimum(hi_start[pending], c.av_end[idx] - dur[pending])
        fits = (e >= lo_start[pending]) & (e >= c.av_start[idx])
        out[pending[fits]] = e[fits]
        where[pending[fits]] = idx[fits]
        # intervals end in order: once one ends before lo_start + dur, none earlier fits
        go_on = ~fits & (idx - 1 >= first[pending]) & (c.av_end[np.maximum(idx - 1, 0)] >= lo_start[pending] + dur[pending])
        pending = pending[go_on]
        idx = idx[go_on] - 1
    return out, where


def _rigorous(
    cost: NDArray[np.float64],
    a_ub: Any,
    b_ub: NDArray[np.float64],
    a_eq: Any,
    b_eq: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    time_limit: float | None,
    primal: list[NDArray[np.float64]] | None = None,
    deterministic: bool = False,
    converge: bool = False,
    post: Any = None,
) -> float | None:
    """A lower bound of ``min cost.z`` over the LP, valid whatever the solver's
    tolerances: the Lagrangian value of its duals over the (finite) box.
    The solver's primal point, when there is one, is appended to ``primal``.

    ``converge``: an LP too large for the simplex whose time lets it converge
    is solved by column generation (:func:`~.lpdual.cg_multipliers`) rather
    than PDLP, on the wall clock (PDLP when it lacks the coverage shape);
    ``post(bound)`` is then called with each better bound as it is found."""

    import time

    from scipy.optimize import linprog

    # deterministic: the LP stops on its own (PDLP: an iteration budget from
    # ``time_limit``), the wall clock only at the deterministic clock's safety net
    wall = clocks.current().wall_left() if deterministic else time_limit

    def first_order(seconds: float | None) -> float | None:
        from .lpdual import pdlp_multipliers

        iterations = None
        if deterministic and time_limit is not None:
            # an iteration budget instead of the clock, so that runs repeat
            nnz = max(1, int(a_ub.nnz) + int(a_eq.nnz))
            iterations = int(np.clip(PDLP_RATE * (float(time_limit) - PDLP_FIXED_SECONDS) / nnz, 20, PDLP_ITERATIONS))
        # (deterministic: ``seconds`` is the time to the safety net, which
        # PDLP and its polish stop at whatever the iterations)
        duals = pdlp_multipliers(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, seconds, iterations, primal)
        if duals is None:
            return None
        return _dual_value(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, *duals)

    if len(cost) > PDLP_COLUMNS:
        if converge and not deterministic and wall is not None:
            from .lpdual import cg_multipliers

            began = time.perf_counter()
            # (the bound of the multipliers returned is the last one posted:
            # not summed again, 0.2-0.5 s on Shiquan's tier 3)
            posted: list[float] = []

            def relay(value: float) -> None:
                posted.append(value)
                post(value)

            duals = cg_multipliers(
                cost, a_ub, b_ub, a_eq, b_eq, lo, hi, float(wall), primal, None if post is None else relay
            )
            if duals is not None:
                return posted[-1] if posted else _dual_value(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, *duals)
            wall = max(0.05, float(wall) - (time.perf_counter() - began))
        return first_order(wall)
    # mid-size LPs on the wall clock: the simplex gets a share of the time and
    # PDLP the rest when it did not finish (ankang's largest tier-1 LP, 110,000
    # columns: HiGHS unsolved after 30 s, PDLP 53,554 in 3.3 s)
    began = time.perf_counter()
    fallback = not deterministic and wall is not None and len(cost) >= PDLP_FALLBACK_COLUMNS
    options: dict[str, Any] = {"presolve": True}
    if wall is not None:
        options["time_limit"] = max(1e-3, float(wall) * (SIMPLEX_SHARE if fallback else 1.0))
    try:
        res = linprog(
            cost,
            A_ub=a_ub if a_ub.shape[0] else None,
            b_ub=b_ub if a_ub.shape[0] else None,
            A_eq=a_eq if a_eq.shape[0] else None,
            b_eq=b_eq if a_eq.shape[0] else None,
            bounds=np.column_stack((lo, hi)),
            method="highs",
            options=options,
        )
    except (ValueError, RuntimeError):
        res = None
    if res is None or res.status != 0:
        if fallback and wall is not None and float(wall) - (time.perf_counter() - began) > 0.05:
            return first_order(float(wall) - (time.perf_counter() - began))
        return None
    if primal is not None:
        primal.append(np.asarray(res.x, dtype=np.float64))
    m_ub = np.asarray(res.ineqlin.marginals) if a_ub.shape[0] else np.zeros(0)
    m_eq = np.asarray(res.eqlin.marginals) if a_eq.shape[0] else np.zeros(0)
    return _dual_value(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, m_ub, m_eq)


def _dual_value(
    cost: NDArray[np.float64],
    a_ub: Any,
    b_ub: NDArray[np.float64],
    a_eq: Any,
    b_eq: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    m_ub: NDArray[np.float64],
    m_eq: NDArray[np.float64],
) -> float:
    """Weak duality over the box: for any multipliers (those of ``<=`` rows
    clipped to <= 0), ``b.m + sum min(r lo, r hi)`` with reduced costs
    ``r = cost - A^T m`` is at most ``min cost.z``; the sum is taken exactly
    and lowered for the rounding of ``r`` (:func:`~.lpdual.rigorous_sum`)."""
    from .lpdual import lagrangian_terms, rigorous_sum

    return rigorous_sum(lagrangian_terms(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, m_ub, m_eq))


#: the open small components are solved again when at least this much of
#: the limit is left after their first round and their week bounds (and
#: again after each later round, at most SMALL_ROUNDS rounds in all)
SMALL_AGAIN_MIN_SECONDS = 0.5
SMALL_ROUNDS = 6
#: seconds of the re-timed insertion over the small components a round leaves
#: open, when no large component is there (whose insertions take them in)
SMALL_RETIME_SECONDS = 0.2


class Shares:
    """The time of ``workers`` workers until ``end`` (on ``now``'s clock),
    handed out to jobs as they start, by their weights.

    A job's share is the worker-time the running jobs do not hold, times its
    weight over the weight of the jobs not yet started, at least ``floor``
    and never past ``end``. A job that ends before its share is used up
    gives the rest back (:meth:`done`) to the jobs after it: small
    components that are proven early leave their time to the open ones. Safe
    to call from a pool's threads; with one worker it depends only on the
    clock, so a deterministic clock gives the same shares every time."""

    def __init__(self, weights: dict[int, float], end: float, workers: int, now: Any, floor: float = 0.2):
        import threading

        self.weights = weights
        self.left_weight = float(sum(weights.values()))
        self.end = end
        self.workers = max(1, int(workers))
        self.now = now
        self.floor = floor
        self.held: dict[int, float] = {}
        self.lock = threading.Lock()

    def take(self, k: int) -> float:
        """Job ``k``'s share, in seconds, as it starts."""
        with self.lock:
            t = self.now()
            held = sum(max(0.0, e - t) for e in self.held.values())
            free = max(0.0, self.workers * (self.end - t) - held)
            w = float(self.weights[k])
            share = free * w / self.left_weight if self.left_weight > 0 else free
            self.left_weight = max(0.0, self.left_weight - w)
            share = max(self.floor, min(share, self.end - t))
            self.held[k] = t + share
            return share

    def done(self, k: int) -> None:
        """Job ``k`` has ended: what it holds is free again."""
        with self.lock:
            self.held.pop(k, None)

    def over(self) -> bool:
        """Whether the time is up (a job that would start now gets only the
        floor, past ``end``)."""
        return bool(self.now() >= self.end)


#: energy rows of one availability interval at most (the most violated by
#: the all-ones point; laocheng needs at most 31, the audit of stop 49's
#: zero-slack windows up to 6,643)
ENERGY_ROWS_PER_GROUP = 256


class Relaxation:
    """An LP relaxation of SPEC §4/§6 over every eligible free pair of some tasks.

    Columns: ``x_p`` in [0, 1] per usable pair (load within the pledge, daily
    limit above 0, task with enough pairs for its team), ``y_t`` in [0, 1] per
    coverable task, ``phi_v`` per volunteer (fairness, bounded below by tangents
    of the convex ``((h + load) / cap)^2``). A pin every valid schedule keeps
    (:func:`~.timeindexed.sure_pin_rows`, with ``pins``) is in it at ``x = 1``,
    in the mask or not, and its task has no other pair: the pair (and its
    task's coverage, covered) is taken out of the columns and its use of each
    row out of the row's right-hand side (:attr:`pin_t`, :attr:`pin_v`,
    :attr:`pin_tasks`); other pins are left out (dropping rule 12 only
    enlarges the set of schedules). Rows, each implied by the rules:

    * ``sum_p x_p = team_t * y_t`` (rule 2) and ``x_p <= y_t`` for teams;
    * rule 10: ``sum load_p x_p <= max_minutes``;
    * rule 11: the pairs whose allowed starts all lie on one day count against it;
    * rules 5 and 9 (energy): for a volunteer, the pairs whose allowed visits lie
      inside ``[A, B)`` within one availability interval satisfy
      ``sum (dur_p + g) x_p <= B - A + g``, ``g`` the shortest travel between two
      of the interval's visits (n visits need n - 1 trips); of the windows
      ``[A, B)`` that the all-ones point violates, one row per distinct set
      of pairs, at most :data:`ENERGY_ROWS_PER_GROUP` per interval (the most
      violated).
    """

    def __init__(
        self, c: Compiled, cands: Candidates, task_mask: NDArray[np.bool_], *, fairness: bool = True, pins: bool = True
    ):
        from scipy import sparse

        self.c = c
        w = c.weights
        # the rows of the mask's tasks only (candidates are sorted by task: at
        # province scale a pass over every pair took 3.4 s of a 3.5-s build)
        mine = np.flatnonzero(task_mask)
        rows_m = ragged_ranges(cands.ptr[mine], cands.ptr[mine + 1] - cands.ptr[mine])
        pin_rows = np.zeros(0, dtype=np.int64)
        is_pin = np.zeros(len(rows_m), dtype=bool)
        if pins and len(c.t_pin):
            # a surely kept pin's pair is in every valid schedule: x = 1, in
            # the mask or not (its minutes, day and time count), and its task
            # (of one volunteer) no other volunteer's
            from .timeindexed import sure_pin_rows

            pin_rows = sure_pin_rows(c, cands)
            held = np.zeros(c.n_tasks, dtype=bool)
            held[cands.task[pin_rows]] = True
            # (the union of two sorted sets that share no row, as a merge:
            # np.union1d's unique over Shiquan tier 3's 1.85 M rows took
            # 1.4 s of a 6.2-s build)
            rows_m = rows_m[~held[cands.task[rows_m]]]
            at = np.searchsorted(rows_m, pin_rows)
            rows_m = np.insert(rows_m, at, pin_rows)
            is_pin = np.zeros(len(rows_m), dtype=bool)
            is_pin[at + np.arange(len(pin_rows))] = True
        t = cands.task[rows_m].astype(np.int64)
        v = cands.volunteer[rows_m].astype(np.int64)
        usable = (cands.load[rows_m].astype(np.int64) <= c.v_max_minutes[v]) & (c.v_max_per_day[v] > 0)
        cnt = np.bincount(t[usable], minlength=c.n_tasks)
        coverable = task_mask & (cnt >= c.t_needed)
        usable &= coverable[t] | is_pin
        keep = np.flatnonzero(usable)
        rows_p = rows_m[keep]
        t, v = t[keep], v[keep]
        is_pin = is_pin[keep]
        self.t, self.v = t, v
        load = cands.load[rows_p].astype(np.int64)
        dur = c.t_duration[t]
        n_p = len(rows_p)
        cov_tasks = np.flatnonzero(coverable)
        self.cov_tasks = cov_tasks
        ycol = np.full(c.n_tasks, -1, dtype=np.int64)
        ycol[cov_tasks] = n_p + np.arange(len(cov_tasks))
        n_y = len(cov_tasks)
        fair_vols = np.unique(v) if w["fairness"] > 0 and fairness else np.zeros(0, dtype=np.int64)
        cap = c.share_capacity
        fair_vols = fair_vols[cap[fair_vols] > 0]
        pcol = n_p + n_y + np.arange(len(fair_vols))
        n_f = len(fair_vols)
        n = n_p + n_y + n_f
        self.n_p, self.n_y, self.n = n_p, n_y, n
        lo = np.zeros(n)
        hi = np.ones(n)
        rr: list[I64] = []
        cc: list[I64] = []
        vv: list[NDArray[np.float64]] = []
        rhs: list[NDArray[np.float64]] = []
        nrow = 0

        def add(rows: I64, cols: I64, vals: NDArray[np.float64], b: NDArray[np.float64]) -> None:
            nonlocal nrow
            rr.append(rows + nrow)
            cc.append(cols)
            vv.append(vals)
            rhs.append(b)
            nrow += len(b)

        # teams: x_p <= y_t
        team = np.flatnonzero(c.t_needed[t] > 1)
        if len(team):
            k = np.arange(len(team))
            add(np.concatenate((k, k)), np.concatenate((team, ycol[t[team]])),
                np.concatenate((np.ones(len(team)), -np.ones(len(team)))), np.zeros(len(team)))
        # rule 10
        total = np.bincount(v, weights=load, minlength=c.n_volunteers)
        tight = total > c.v_max_minutes
        sel = np.flatnonzero(tight[v])
        if len(sel):
            vid = np.flatnonzero(tight)
            rmap = np.full(c.n_volunteers, -1, dtype=np.int64)
            rmap[vid] = np.arange(len(vid))
            add(rmap[v[sel]], sel, load[sel].astype(np.float64), c.v_max_minutes[vid].astype(np.float64))
        # allowed starts: earliest (candidates) and latest
        early = cands.start[rows_p].astype(np.int64)
        late, late_iv = latest_free_start(c, t, v)
        span = c.horizon_minutes + 2
        owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
        ekeys = owner * span + c.av_end
        early_iv = np.searchsorted(ekeys, v * span + early + dur, side="left")
        # rule 11
        d_lo, d_hi = rules.day_of(c, early), rules.day_of(c, late)
        limited = (c.v_max_per_day[v] < (1 << 40)) & (d_lo == d_hi)
        if limited.any():
            sel = np.flatnonzero(limited)
            key = v[sel] * (c.n_days + 2) + d_lo[sel]
            uk, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
            lim = c.v_max_per_day[uk // (c.n_days + 2)]
            bind = counts > lim
            if bind.any():
                rmap = np.full(len(uk), -1, dtype=np.int64)
                rmap[bind] = np.arange(int(bind.sum()))
                keep = bind[inv]
                add(rmap[inv[keep]], sel[keep], np.ones(int(keep.sum())), lim[bind].astype(np.float64))
        # energy of availability intervals
        one = np.flatnonzero((early_iv == late_iv) & (late >= 0))
        order = one[np.argsort(early_iv[one], kind="stable")]
        groups = np.split(order, np.flatnonzero(np.diff(early_iv[order])) + 1) if len(order) else []
        s_rows: list[I64] = []
        s_cols: list[I64] = []
        s_vals: list[NDArray[np.float64]] = []
        s_rhs: list[float] = []
        n_span = 0
        for g in groups:
            if len(g) < 2:
                continue
            a_lo = early[g]
            b_hi = late[g] + dur[g]
            rec = c.t_recipient[t[g]]
            ur = np.unique(rec)
            # two tasks at one home: no trip between them (and no k-d tree:
            # Shiquan's groups hold ~400 homes, 2.1 s of tier 3's build)
            gap = 0 if len(np.unique(t[g])) > len(ur) else rules.shortest_travel(c, ur) or 0
            A = np.unique(a_lo)
            Bv = np.unique(b_hi)
            inside = (a_lo[None, None, :] >= A[:, None, None]) & (b_hi[None, None, :] <= Bv[None, :, None])
            need = ((dur[g] + gap)[None, None, :] * inside).sum(axis=2)
            room = Bv[None, :] - A[:, None] + gap
            ia, ib = np.nonzero((need > room) & (Bv[None, :] > A[:, None]))
            if len(ia) == 0:
                continue
            # one row per distinct set of members, with the least room of the
            # windows holding that set, in the order of their first window
            # (a loop over the windows took 8.5 s of a 13-s build on 40,878
            # pairs in long availability intervals: the audit of stop 49)
            packed = np.ascontiguousarray(np.packbits(inside[ia, ib], axis=1))
            if len(ia) == 1:
                first, inv = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
            else:
                # (a row's bytes as one key: np.unique over rows costs more per call)
                keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
                _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
            least = np.full(len(first), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(least, inv, room[ia, ib].astype(np.int64))
            by_first = np.argsort(first, kind="stable")
            if len(first) > ENERGY_ROWS_PER_GROUP:
                # the most violated sets only (each row is implied by the
                # rules, so fewer rows still bound): tight windows gave one
                # interval 6,643 rows, a 40,878-pair problem 577,611
                excess = need[ia, ib][first[by_first]] - least[by_first]
                most = np.sort(np.argsort(-excess, kind="stable")[:ENERGY_ROWS_PER_GROUP])
                by_first = by_first[most]
            members = inside[ia[first[by_first]], ib[first[by_first]]]
            k, m = np.nonzero(members)
            cols = g[m]
            s_rows.append(n_span + k)
            s_cols.append(cols)
            s_vals.append((dur[cols] + gap).astype(np.float64))
            s_rhs.extend(least[by_first].astype(np.float64).tolist())
            n_span += len(by_first)
        if n_span:
            add(np.concatenate(s_rows), np.concatenate(s_cols), np.concatenate(s_vals), np.asarray(s_rhs))
        self.n_span = n_span
        # fairness tangents: phi_v >= f(L) + f'(L) (load - L)
        self.fair_const = 0.0
        if n_f:
            hist = c.v_history_minutes[fair_vols].astype(np.float64)
            capf = cap[fair_vols]
            most = np.minimum(np.bincount(v, weights=load, minlength=c.n_volunteers)[fair_vols], c.v_max_minutes[fair_vols])
            lo[pcol] = (hist / capf) ** 2
            hi[pcol] = ((hist + most) / capf) ** 2
            fmap = np.full(c.n_volunteers, -1, dtype=np.int64)
            fmap[fair_vols] = np.arange(n_f)
            mine = np.flatnonzero(fmap[v] >= 0)
            for frac in np.linspace(0.0, 1.0, N_TANGENTS):
                point = frac * most
                slope = 2.0 * (hist + point) / capf**2
                value = ((hist + point) / capf) ** 2
                # slope * sum load x - phi <= slope * point - value
                rows = np.concatenate((fmap[v[mine]], np.arange(n_f)))
                cols = np.concatenate((mine, pcol))
                vals = np.concatenate((slope[fmap[v[mine]]] * load[mine], -np.ones(n_f)))
                add(rows, cols, vals, slope * point - value)
        self.a_ub = sparse.csr_matrix(
            (np.concatenate(vv) if vv else np.zeros(0), (np.concatenate(rr) if rr else np.zeros(0, np.int64),
             np.concatenate(cc) if cc else np.zeros(0, np.int64))),
            shape=(nrow, n),
        )
        self.b_ub = np.concatenate(rhs) if rhs else np.zeros(0)
        # equalities: sum x - team y = 0 (a pinned pair of a task outside the
        # mask has no y: x = 1 alone)
        in_y = np.flatnonzero(ycol[t] >= 0)
        self.a_eq = sparse.csr_matrix(
            (np.concatenate((np.ones(len(in_y)), -c.t_needed[cov_tasks].astype(np.float64))),
             (np.concatenate((ycol[t[in_y]] - n_p, np.arange(n_y))), np.concatenate((in_y, n_p + np.arange(n_y))))),
            shape=(n_y, n),
        )
        self.b_eq = np.zeros(n_y)
        cost_x = cands.cost[rows_p].astype(np.float64)
        #: the surely kept pins' pairs (volunteer, minutes, cost) and their
        #: tasks in the mask: in every schedule, so out of the LP's columns
        self.pin_t = np.zeros(0, dtype=np.int64)
        self.pin_v = np.zeros(0, dtype=np.int64)
        self.pin_load = np.zeros(0, dtype=np.int64)
        self.pin_cost = np.zeros(0)
        self.pin_tasks = np.zeros(0, dtype=np.int64)
        if is_pin.any():
            # the pinned pairs (x = 1) and their tasks' coverage (y = 1) are
            # taken out of the LP, their use of each row out of its right-hand
            # side: PDLP cut short did badly with the fixed columns in it
            # (Shiquan's tier 2 at 5 s: nothing above the trivial 2,775
            # against 19,509 without the pins; at 10 s 18,159 against 20,518)
            pin_x = np.flatnonzero(is_pin)
            pin_y = np.unique(ycol[t[pin_x]][ycol[t[pin_x]] >= 0])
            gone = np.zeros(n, dtype=bool)
            gone[pin_x] = True
            gone[pin_y] = True
            self.b_ub = self.b_ub - self.a_ub @ gone.astype(np.float64)
            self.a_ub = self.a_ub[:, ~gone]
            eq_keep = np.ones(n_y, dtype=bool)
            eq_keep[pin_y - n_p] = False
            self.a_eq = self.a_eq[np.flatnonzero(eq_keep)][:, ~gone]
            self.b_eq = self.b_eq[eq_keep]
            self.pin_t, self.pin_v, self.pin_load, self.pin_cost = t[pin_x], v[pin_x], load[pin_x], cost_x[pin_x]
            self.pin_tasks = cov_tasks[pin_y - n_p]
            keep_x = ~is_pin
            t, v, load, cost_x = t[keep_x], v[keep_x], load[keep_x], cost_x[keep_x]
            self.t, self.v = t, v
            cov_tasks = cov_tasks[eq_keep]
            self.cov_tasks = cov_tasks
            lo, hi = lo[~gone], hi[~gone]
            n_p, n_y = int(keep_x.sum()), int(eq_keep.sum())
            n = n_p + n_y + n_f
            pcol = n_p + n_y + np.arange(n_f)
            self.n_p, self.n_y, self.n = n_p, n_y, n
        self.lo, self.hi = lo, hi
        self.cost_x = cost_x
        self.pcol = pcol
        self.fair_vols = fair_vols
        self.load = load
        self.task_mask = task_mask
        self.coverable = coverable
        #: the LP's primal point of the last :meth:`tier_bound` (None: not solved)
        self.point: NDArray[np.float64] | None = None

    def guide(self, cands: Candidates) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """From the last LP point: the LP's coverage ``y`` per task (0 outside
        the LP) and its ``x`` per row of ``cands`` (0 for pairs outside it);
        the surely kept pins' tasks and pairs at 1."""
        if self.point is None or len(self.point) != self.n:
            return None
        c = self.c
        x = np.concatenate((np.clip(self.point[: self.n_p], 0.0, 1.0), np.ones(len(self.pin_v))))
        y = np.zeros(c.n_tasks)
        y[self.cov_tasks] = np.clip(self.point[self.n_p : self.n_p + self.n_y], 0.0, 1.0)
        y[self.pin_tasks] = 1.0
        keys = np.concatenate((self.t, self.pin_t)) * c.n_volunteers + np.concatenate((self.v, self.pin_v))
        order = np.argsort(keys)
        keys, x = keys[order], x[order]
        query = cands.task.astype(np.int64) * c.n_volunteers + cands.volunteer.astype(np.int64)
        if not len(keys):
            return y, np.zeros(len(query))
        pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return y, np.where(keys[pos] == query, x[pos], 0.0)

    def forced(self) -> NDArray[np.float64]:
        """Per tier (index 0..T), the weight of the LP's tasks no schedule covers."""
        c = self.c
        out = ~self.coverable & self.task_mask
        forced = np.zeros(c.n_tiers + 1)
        np.add.at(forced, c.t_tier[out], c.t_weight[out].astype(np.float64))
        return forced

    def _restrictions(self, limits: dict[int, float]) -> tuple[Any, NDArray[np.float64]]:
        """The base rows plus ``U_j <= limits[j]`` for the given tiers."""
        from scipy import sparse

        if not limits:
            return self.a_ub, self.b_ub
        c = self.c
        forced = self.forced()
        rows, rhs = [], []
        w_cov = c.t_weight[self.cov_tasks].astype(np.float64)
        tier_cov = c.t_tier[self.cov_tasks]
        for j, limit in sorted(limits.items()):
            mine = np.flatnonzero(tier_cov == j)
            if not len(mine):
                continue
            row = np.zeros(self.n)
            row[self.n_p + mine] = -w_cov[mine]
            rows.append(row)
            rhs.append(float(limit - forced[j] - w_cov[mine].sum()))
        if not rows:
            return self.a_ub, self.b_ub
        extra = sparse.csr_matrix(np.vstack(rows))
        return sparse.vstack([self.a_ub, extra], format="csr"), np.concatenate((self.b_ub, rhs))

    def tier_bound(
        self,
        tier: int,
        limits: dict[int, float],
        time_limit: float | None,
        deterministic: bool = False,
        converge: bool = False,
        post: Any = None,
    ) -> float | None:
        """A lower bound of ``U_tier`` over the LP's tasks under ``U_j <= limits[j]``
        (integral weights: rounded up), or None when the LP was not solved
        (``converge`` and ``post``, which gets the tier's bounds: see
        :func:`_rigorous`)."""
        import math

        c = self.c
        forced = self.forced()
        mine = np.flatnonzero(c.t_tier[self.cov_tasks] == tier)
        if len(mine) == 0:
            return float(forced[tier])
        wi = c.t_weight[self.cov_tasks[mine]]
        cost = np.zeros(self.n)
        cost[self.n_p + mine] = -wi.astype(np.float64)
        offset = float(wi.sum())
        a_ub, b_ub = self._restrictions(limits)

        def of_lp(value: float) -> float:
            """The tier's bound from the LP's."""
            part = value + offset
            if np.all(wi >= 0):
                g = int(np.gcd.reduce(wi)) if np.any(wi) else 1
                part = max(0.0, math.ceil((part - 1e-6) / g) * g)
            return float(forced[tier] + part)

        point: list[NDArray[np.float64]] = []
        value = _rigorous(
            cost, a_ub, b_ub, self.a_eq, self.b_eq, self.lo, self.hi, time_limit, point, deterministic, converge,
            None if post is None else (lambda v: post(of_lp(v))),
        )
        self.point = point[0] if point else None
        return None if value is None else of_lp(value)

    def soft_bound(
        self, limits: dict[int, float], time_limit: float | None, volunteers: NDArray[np.bool_]
    ) -> float | None:
        """A lower bound, under ``U_j <= limits[j]``, of the LP tasks' pair costs
        plus the fairness of ``volunteers`` (equity too when built with it).
        Volunteers without a fairness column count at their most favourable
        load: their surely kept pins' (weight > 0) or the most they can take
        (weight < 0). The surely kept pins' pair costs are constants."""
        c = self.c
        w = c.weights
        cap = c.share_capacity
        rest = volunteers & (cap > 0)
        rest[self.fair_vols] = False
        # (the surely kept pins' minutes are in every schedule: the least load)
        load = np.bincount(self.pin_v, weights=self.pin_load, minlength=c.n_volunteers).astype(np.float64)
        if w["fairness"] < 0:
            total = np.bincount(self.v, weights=self.load, minlength=c.n_volunteers) + load
            load = np.minimum(total, c.v_max_minutes).astype(np.float64)
        extra = w["fairness"] * float((((c.v_history_minutes[rest] + load[rest]) / cap[rest]) ** 2).sum())
        extra += math.fsum(self.pin_cost.tolist())
        cost = np.zeros(self.n)
        cost[: self.n_p] = self.cost_x
        cost[self.pcol] = w["fairness"]
        a_ub, b_ub = self._restrictions(limits)
        value = _rigorous(cost, a_ub, b_ub, self.a_eq, self.b_eq, self.lo, self.hi, time_limit)
        if value is None:
            return None
        return value + extra - 1e-9 * max(1.0, abs(extra))


N_TANGENTS = 6


# ------------------------------------------------------------- orchestration

#: default time limit (seconds) when the caller gives none
DEFAULT_TIME_LIMIT = 60.0
#: components with at most this many candidate pairs are solved exactly (cpsat)
SMALL_PAIRS = 1500
#: tier-truncated models of a large component are solved exactly up to this size
EXACT_PAIRS = 2500
#: fixed-time tier prefixes (:mod:`~assign.solvers.timeindexed`) are solved exactly up to this many pairs
FIXED_PAIRS = 400_000
#: share of the time left for them (tier 1 strictly first: on a slow machine
#: Shiquan seed 1's tier-1 models, 37,000 options, one core each, need ~15 s
#: alone and did not find a schedule in the 19-20 s of 0.6, leaving U1 at
#: the greedy's 27,189; with 0.8 the stage proved 26,285 at 51.5 s of 53,
#: where 0.6 lost it in the run beside it — ad hoc /tmp/s38/ab4.sh,
#: benchmarks/HISTORY.md, stop 38. A stage that proves early leaves the rest
#: its time, as before)
FIXED_SHARE = 0.8
#: LPs with more columns are solved by PDLP (first-order) instead of HiGHS' simplex
PDLP_COLUMNS = 150_000
#: LPs from this many columns up to PDLP_COLUMNS, on the wall clock: the
#: simplex gets SIMPLEX_SHARE of the time, PDLP the rest if it did not finish
PDLP_FALLBACK_COLUMNS = 20_000
SIMPLEX_SHARE = 0.5
#: PDLP's speed in constraint-matrix nonzeros times iterations per second, without
#: restarts (measured: Shiquan's tier-2 LP, 2.7 M nonzeros, ~10 ms per iteration),
#: its fixed cost in seconds (glop presolve, setup, the polish of
#: :mod:`~assign.solvers.lpdual`) and the iterations after which its bound stops
#: rising (500: within 0.2 % of the LP's optimum there). An LP solved by PDLP gets
#: at most the time of that many iterations; with workers=1 PDLP stops after
#: the iterations its time share is worth at this rate
PDLP_RATE = 2.5e8
PDLP_FIXED_SECONDS = 3.5
PDLP_ITERATIONS = 500


#: a first-order LP is started when this share of its full time
#: (:func:`_pdlp_seconds`) is left. `python benchmarks/bounds.py lp shiquan
#: --seed 1 --tier 2 --pdlp 2 3 4.5 6 8.8` (2026-12-02, idle; 626,890
#: columns, full time 8.8 s): U2 >= 3,540 (nothing) / 17,839 / 16,840 /
#: 18,468 / 18,541. With the whole time required, a machine ~0.5 s slower in
#: the steps before skipped Shiquan's tier-2 LP and the LP-guided pass after
#: it: U2 27,997 and its bound 3,540 instead of ~27,100 and ~18,600
PDLP_MIN_SHARE = 0.35


def _lp_min_seconds(n_cols: int, converge: bool = False) -> float:
    """The time a tier LP of ``n_cols`` columns needs after its build to be
    worth starting: a first-order LP :data:`PDLP_MIN_SHARE` of its fixed cost
    and its iterations, at ~4 nonzeros per column, or by column generation
    (``converge``, :func:`_rigorous`) :data:`CG_MIN_RATE` per column."""
    if n_cols <= PDLP_COLUMNS:
        return 0.05
    if converge:
        return CG_MIN_RATE * n_cols
    return PDLP_MIN_SHARE * _pdlp_seconds(4 * n_cols)


def lp_pass_fit(room: float, passes: float, lp_min: float, alone_ok: bool) -> bool | None:
    """Whether a tier LP is started, and whether its guided pass follows:
    ``room`` is the time left for the LP once its build and its guided pass
    (``passes`` seconds) are taken off, ``lp_min`` the least it needs
    (:func:`_lp_min_seconds`). True when the LP and its pass fit; False when
    only the LP fits and ``alone_ok`` (the phase's first LP: it then runs
    without its pass and takes the pass's time); None when the LP is
    skipped."""
    if room >= lp_min:
        return True
    if alone_ok and room + passes >= lp_min:
        return False
    return None


def _lp_share(relax: Relaxation, share: float) -> float:
    """``share`` of time for ``relax``'s LP, at most what PDLP can use when it
    is the solver (:func:`_pdlp_seconds` of its nonzeros)."""
    if relax.n > PDLP_COLUMNS:
        return min(share, _pdlp_seconds(int(relax.a_ub.nnz) + int(relax.a_eq.nnz)))
    return share


def _pdlp_seconds(nnz: int) -> float:
    """The time an LP of ``nnz`` nonzeros gets from PDLP: its fixed cost and
    :data:`PDLP_ITERATIONS` iterations. An LP is started only when this much
    is left (measured with the time of only 150 iterations: Shiquan's tier-3
    bound varied from 5,122 to 28,230 while U2 lost the LNS time it took)."""
    return PDLP_FIXED_SECONDS + PDLP_ITERATIONS * nnz / PDLP_RATE


#: per-tier LP relaxations with more columns are skipped (time and memory)
LP_MAX_COLUMNS = 2_500_000
#: seconds per column to build a relaxation, with margin (measured on Shiquan:
#: tier 2 665,000 columns in 1.2 s, tier 3 1.77 M in 2.6 s, tier 4 3.7 M in
#: 7.2 s); an LP that cannot be built in its share is skipped
LP_BUILD_RATE = 3.0e-6
#: seconds per column of a HiGHS LP's solve, as the deterministic clock
#: (one worker) counts it (a PDLP LP counts its whole share: its iteration
#: budget is set from it)
LP_SOLVE_RATE = 1.0e-5
#: the LP-guided greedy pass after a tier LP runs only when it costs at most
#: this share of the time limit (else the LNS has the time), a pass estimated
#: at GREEDY_PASS_RATE seconds per candidate pair (measured on Shiquan: 6.1 M
#: pairs, 3.3 s a pass; small problems cost more per pair — laocheng, 97,000
#: pairs, 0.3 s — but their passes are cheap anyway). The pass takes tasks in
#: the knapsack order (:func:`ratio_order`) and each to a volunteer whose pair
#: the LP's point uses (x above GUIDE_USED: the LP's support; PDLP's points
#: spread a task over many pairs at ~0.001-0.01 each), at first the least
#: pressed (:func:`~.greedy.pressure_preference`). Measured from the final
#: Shiquan schedules (ad hoc, one pass after the restricted tier-2 LP, 10 s of
#: PDLP): U2 29,524 -> 28,595 (seed 0) and 28,030 -> 27,272 (seed 1); the
#: threshold 1e-5 .. 3e-3 gave 28,571-28,615, 1e-2 29,140; the first of the
#: two passes before 2026-12-01 (tasks by LP coverage, the LP's fractions)
#: 30,239 and the pressure alone 29,558 on the same start; on laocheng from
#: the greedy's schedule the two old passes 5,168 / 5,184, this one 4,899
#: (with the cheapest among the LP's pairs instead of the least pressed, see
#: :func:`guided_preference`: 28,502 / 27,233 / 4,852)
GUIDE_SHARE = 0.1
#: orders with random ties the guided pass after the first LP tries too (:func:`guide_orders`)
GUIDE_RANDOM_ORDERS = 4
#: each of those passes over the first open tier is followed by the insertion
#: with re-timing (:mod:`.retime`) of that tier's uncovered tasks, before the
#: less urgent tiers fill the volunteers' blocks, in at most this many times
#: the pass's estimate (at least :data:`RETIME_MIN_SECONDS`; 0: none, as
#: before stop 58; with one worker its block budget, charged to the clock by
#: the blocks it tried: charged whole, eight orders took a 3-s run's search
#: on a grid of tests/test_clock.py). Shiquan seed 0 from its
#: 60-s schedule's tier 1 (ad hoc, benchmarks/HISTORY.md "Stop 58"): the
#: eight orders' U2 28,287-28,426, re-timed 28,017-28,159 in 1.2-2.1 s each;
#: the whole schedule after the insertion over tiers 2-4 27,999 against
#: 28,229; the same insertion after the less urgent tiers (the final
#: schedule's) took 28,318 to 28,316
RETIME_GUIDED = 4.0
#: those orders' passes all run first (while the time holds them and one
#: re-timing), then the re-timing takes the passes with the least U of the
#: tier, at most this many (while the time holds them): a pass's U ranks its
#: re-timed U well, and the re-timing takes ~2.5 times a pass. Shiquan seed 0
#: from its 60-s schedule's tier 1 (ad hoc, benchmarks/HISTORY.md "Stop 59"):
#: the passes' U2 28,313-28,536 in 0.4-0.9 s, re-timed 28,084-28,348 in
#: 1.0-1.3 s, the best pass (28,313) re-timed the best (28,084); before
#: stop 59 each order was re-timed in turn and 2-5 of the eight fitted
RETIME_GUIDED_BEST = 3
#: the same after a week dive: its weeks booked (the dive's tier and the more
#: urgent ones), that tier's uncovered tasks are inserted with re-timing
#: before the fill, in at most this many times a pass's estimate over them
#: (0: straight to the fill, as before stop 58). Laocheng seed 0 at 10 s,
#: `assign solve`, 16 runs each alternating (ad hoc, HISTORY "Stop 58"): U2
#: median 4,605 -> 4,589, 10 runs of 16 better, 5 worse
RETIME_DIVE = 4.0
GUIDE_USED = 1e-3
GREEDY_PASS_RATE = 5.5e-7
#: with two workers or more, a fixed-time stage that proves its tiers starts
#: the next tier's LP (when it needs PDLP: over :data:`PDLP_COLUMNS` columns)
#: in a forked child before it composes its schedule with the incumbent (a
#: greedy pass over the other tiers, 3-9 s on Shiquan), so that the LP's
#: build and its PDLP run beside that pass instead of after it; the stage
#: waits at most LP_CHILD_WAIT seconds for its relaxation's proof once the
#: restriction is solved (else it composes first, as before, and the LP
#: phase builds the LP itself). The child's PDLP leaves the guided pass
#: after it ORDERED_PASS_SHARE of the greedy's seconds (no ordered pass has
#: run yet to time it: Shiquan seed 1 on a slow machine, greedy 13.5 / 14.2
#: / 9.7 / 10.9 s, the pass after the stage 9.0 / 6.7 / 7.8 / 6.4 s)
LP_CHILD_WAIT = 2.0
ORDERED_PASS_SHARE = 0.6
#: how long past its own end the LP phase waits for that child's result, at
#: least (:func:`lp_child_wait`)
LP_CHILD_GRACE = 1.0


def lp_child_wait(now: float, until: float, child_until: float, n_cols: int) -> float:
    """How long the LP phase, at ``now``, waits for the forked LP of
    ``n_cols`` columns, due at ``child_until``, before it builds that LP
    itself, within its own end ``until``: past the child's due time,
    :data:`LP_CHILD_GRACE` or as long as a rebuilt LP would need before it
    gave anything (its build and :func:`_lp_min_seconds`), whichever is
    longer. A child later than that is taken as lost; one less late is still
    the sooner bound. (With the grace alone, on Shiquan seeds 0 and 1,
    2026-12-06, the child came back 0.4-1.0 s past its due time, its guide
    0.3-0.8 s of it, and missed the grace in ~1 run of 3; the LP phase then
    built the same LP again after the stage, ~15-20 s, and the guided passes
    had no time left: U2 ~28,400-28,650 instead of ~28,050 on seed 0.)"""
    rebuild = LP_BUILD_RATE * n_cols + _lp_min_seconds(n_cols)
    return max(0.0, min(until, child_until + max(LP_CHILD_GRACE, rebuild)) - now)


#: shares of the time limit for the exact stages and the LP bounds of large components
EXACT_SHARE = 0.2
LP_SHARE = 0.8
#: next to large components, the small ones get the time of every worker for
#: their share of the candidate pairs of the time left, at least EXACT_SHARE
#: and at most SMALL_MAX_SHARE (until stop 50: one worker's for EXACT_SHARE;
#: 15 small components beside 4 large ones, with half the pairs, got 0.2 s
#: each and kept U1 and U2 that the bound says are 0)
SMALL_MAX_SHARE = 0.6
#: with workers=1 the LNS stops after this much work per second of time limit
#: (CP-SAT deterministic time + WORK_PER_VARIABLE per model Boolean); a
#: deterministic budget, calibrated to end before the deadline on the
#: benchmark machine; the wall clock only stops it as a safety net
WORK_RATE = 1.2
#: share of the time limit kept after the LNS for the soft bound and final checks
SOFT_RESERVE = 0.05
#: seconds per candidate pair of the steps that always run, estimated from the
#: problem's size (measured on ankang, 64 M pairs, 2026-11-30, with margin:
#: connected components 2.9-3.5 s; the final bound, the fill of what the LNS
#: changed and the checks 5.8-6.9 s; the LNS's setup, mostly a sort of the
#: pairs by volunteer, 3.8 s)
COMPONENTS_RATE = 6.0e-8
FINAL_RATE = 1.1e-7
LNS_SETUP_RATE = 7.0e-8
#: niceness added to the forked processes (0: none). Raising it put the
#: parent's work first on a machine shared with other work, but there the
#: child (then a second greedy pass) did not finish in time (measured on
#: ankang with one other busy process on the 2 cores, 2026-11-30)
FORK_NICE = 0
#: what :func:`~.greedy.cheapen` on the final schedule is estimated to cost,
#: as a share of one greedy pass (Shiquan: ~1.3 s against the pass's ~3 s,
#: from auto's step log, ad hoc)
CHEAPEN_SHARE = 0.4
#: and on the wall, at least this share of the last ordered greedy pass's
#: time (measured on a slower machine, 2026-12-01: cheapen 2.0-2.6 s where
#: an ordered pass took 2.7 s and CHEAPEN_SHARE estimated 1.3 s; the solve
#: ran 1.2 s over its minute): the insertion before it leaves it that time
CHEAPEN_PASS_SHARE = 1.0
#: from this LNS setup estimate (seconds) on, the LP bounds leave the LNS its
#: setup, as much time again and the final steps' (not at county scale:
#: Shiquan's setup is estimated at 0.4 s)
LNS_RESERVE_FROM = 2.0
#: the fixed-time stage's models are not hinted with the incumbent: CP-SAT's
#: hint search (a decision per hinted literal, the full linear relaxation
#: at each) took 5-10 s on Shiquan's tier 1 to rebuild the greedy's schedule,
#: which its own search beats within a second; one worker, each model alone
#: (ad hoc, 2026-12-01, /tmp/s24/hint.py): seed 0 relaxation 11.3 / 11.6 s
#: hinted against 8.7 / 9.5 s not, restriction 13.6 / 14.1 against 7.7 / 6.6;
#: seed 1 18.6 / 18.5 against 8.1 / 8.0 and 19.2 / 17.3 against 8.9 / 8.3
#: (two CP-SAT seeds each; every run proven optimal). The incumbent stays
#: the schedule when the stage finds nothing better.
FIXED_HINT = False
#: the fixed-time stage's relaxation keeps at least one pin of each group of
#: :func:`~.timeindexed.kept_pin_groups` (False: only the surely kept pins
#: are forced, as before 2026-12-02, stop 29)
FIXED_PIN_GROUPS = True
#: the fixed-time stage builds its model and composes two schedules with
#: greedy passes: it is started only when its share of the time is at least
#: this many estimated greedy passes (ankang: ~70 s of passes for a ~10 s share)
FIXED_PASSES = 2.0


def _send_solution(sol: Solution) -> Any:
    return (sol.task, sol.volunteer, sol.start, list(sol.conflicts))


def _receive_solution(got: Any) -> Solution:
    return Solution.build(*got)


def _forked(
    fn: Any, send_as: Any = _send_solution, receive_as: Any = _receive_solution, nice: int = FORK_NICE,
    partial: bool = False,
) -> Any:
    """:func:`assign.forking.forked` with :class:`Solution` results and
    :data:`FORK_NICE` by default."""
    from ..forking import forked

    return forked(fn, send_as, receive_as, nice, partial)


#: the insertion with re-timing and ejection after the LNS: at most this
#: share of the time limit, a whole pass estimated at this many seconds per
#: candidate pair, and the blocks it tries per second (with one worker its
#: budget). Measured (ad hoc, one whole pass, 2026-12-01): Shiquan seed 0
#: (6.28 M pairs) 2.06 M blocks in 15.6 s, laocheng (97,000 pairs) 23,000
#: blocks in 0.3 s. (Without ejections: a Shiquan pass ~450,000 blocks in
#: 2.1-2.4 s since the sieve, 14-15 s before; 3 % of the limit until then.)
#: The share is what the LP phase and the LNS can spare on Shiquan: at 0.35
#: the tier-2 LP (its bound and the guided pass) no longer fit the minute
RETIME_SHARE = 0.25
RETIME_PAIR_SECONDS = 3.0e-6
#: ... and at least this much (within RETIME_SHARE): by the pairs alone, a
#: problem of fewer than ~17,000 pairs got under the 0.05 s the pass needs to
#: start, and skipped it, where it takes ~0.05 s and covers much (stop 50,
#: audit problems at 10 s: U4 1,241 -> 560 on p19 when it ran)
RETIME_MIN_SECONDS = 0.2
RETIME_TRIAL_RATE = 100_000.0
#: the final fill's extra work per second of that insertion, per candidate
#: pair: ankang (64 M pairs) 6.4 s after a 7.4-s pass, Shiquan (6.3 M)
#: ~0.5 s after 15 s (ad hoc, fills timed before and after the insertion)
RETIME_FILL_PER_PAIR = 1.4e-8
#: the part of that insertion's share that the LP phase may not take (the
#: share it had until 2026-12-01: Shiquan seed 1, its tier 1 proven at 22 s
#: of 60, otherwise lost its tier-2 LP, bound 18,763 -> 3,540, U2 27,935)
RETIME_FLOOR_SHARE = 0.04
#: the pass over the first open tier before the LNS, at most this share
RETIME_FIRST_SHARE = 0.05
#: how long past its deadline the parent waits for the insertion's child (its
#: last block tried and its schedule sent)
RETIME_CHILD_GRACE = 1.0
#: whether long searches (:data:`.communities.MIN_SEARCH_SECONDS`) give a share
#: of their time to communities re-solved inside the schedule
#: (:mod:`.communities`; Shiquan from its 60-s schedule, ad hoc: U2 -206 in
#: 16 communities of 20 s, where the search took -79 in 320 s)
COMMUNITY_PASSES = True

#: the week bounds' child starts only when it has this many seconds, and
#: stops starting work this long before the LNS ends
WEEK_MIN_SECONDS = 2.0
#: with one worker, the large components' week bounds run after the search,
#: on the wall clock, in at most this share of the time the run leaves
WEEK_ONE_WORKER_SHARE = 0.5
WEEK_MARGIN = 0.5
#: task sets with more candidate pairs, or whose blocks could hold more than
#: WEEK_BLOCK_PAIRS two-visit sets (:func:`~assign.solvers.weeks.block_pairs`),
#: get no week bound: their enumeration would not fit
#: :data:`~assign.solvers.weeks.MAX_STATES` (Laocheng's tiers 1-2: 164,000 ->
#: 3.9 M states; its tier 3 alone, 1.1 M, fits; tiers 1-3, 1.6 M, do not;
#: Shiquan's tier 2: 96 M)
WEEK_MAX_PAIRS = 200_000
WEEK_BLOCK_PAIRS = 1_200_000
#: the week dive (:func:`_week_bounds`) ends this share of the search's time
#: before the search does, and a search from its schedule takes this share of
#: what is left then; it starts only with DIVE_MIN_SECONDS to go
DIVE_POLISH_SHARE = 0.3
DIVE_MIN_SECONDS = 0.5
#: and ends at least this many greedy passes before the search does (the
#: fill of a dived schedule: 12.4 s on Shiquan on a 2-CPU Intel Xeon, where
#: a pass took 4.9 s; an ad-hoc step log, benchmarks/HISTORY.md)
DIVE_FILL_PASSES = 2.5
#: with a dive to follow, the week child's column generation stops at this
#: share of the time to the dive's end (the dive takes the rest), and goes
#: on after the dive (:func:`_week_bounds`)
WEEK_DIVE_CG_SHARE = 0.5
#: problems of small components only: the share of the time the exact models
#: leave to week bounds of the tiers they do not prove (a grid of a community,
#: laocheng-grid, 60 s: tier 3's bound 410 from CP-SAT, 693 from the week LP in
#: 0.3 s, ``benchmarks/bounds.py weeks``); their enumerations are small, so each starts with SMALL_WEEK_MIN_SECONDS left
SMALL_WEEK_SHARE = 0.03
SMALL_WEEK_MIN_SECONDS = 0.2


def _impossible_u(c: Compiled, cands: Candidates, tasks: NDArray[np.bool_]) -> list[float]:
    """The least ``U_j`` (j = 1..T) of every schedule over ``tasks``: the
    weight of those nobody can staff (fewer candidates than the team) and the
    negative weights of the others (uncovering one lowers U): the trivial
    part of a bound."""
    out = np.zeros(c.n_tiers)
    impossible = cands.counts() < c.t_needed
    w = c.t_weight.astype(np.float64)
    least = np.where(impossible, w, np.minimum(w, 0.0))
    np.add.at(out, c.t_tier[tasks] - 1, least[tasks])
    return [float(x) for x in out]


def _bound_u_so_far(
    c: Compiled, cands: Candidates, t_label: I64, comps: list[int], comp_bounds: dict[int, ComponentBound], whole: Any
) -> list[float]:
    """The uncovered part of the bound as it stands (for the steps' log): the
    whole problem's when there is one (``whole()``), else the components'
    bounds added up, the trivial part for the others and for tasks outside
    every component (as :func:`_assemble_bound` adds them)."""
    bound = whole()
    if bound is not None:
        return [float(x) for x in bound.uncovered]
    w = c.t_weight.astype(np.float64)
    least = np.where(cands.counts() < c.t_needed, w, np.minimum(w, 0.0))
    rest = ~np.isin(t_label, [k for k in comps if k in comp_bounds])
    u = np.bincount(c.t_tier[rest] - 1, least[rest], minlength=c.n_tiers).astype(np.float64)
    for k in comps:
        b = comp_bounds.get(k)
        if b is not None:
            u += np.asarray(b.uncovered[: c.n_tiers], dtype=np.float64)
    return [float(x) for x in u]


def _comp_tier_u(c: Compiled, t_label: I64, sol: Solution) -> NDArray[np.float64]:
    """``U_j`` of ``sol`` per component (row, by ``t_label``) and tier (column j - 1)."""
    left = ~sol.covered(c.n_tasks)
    n_lab, T = int(t_label.max(initial=-1)) + 1, c.n_tiers
    u = np.bincount(t_label[left] * T + (c.t_tier[left] - 1), c.t_weight[left].astype(np.float64), n_lab * T)
    return np.asarray(u, dtype=np.float64).reshape(n_lab, T)


def _tier_u(c: Compiled, tasks: NDArray[np.bool_], covered: NDArray[np.bool_]) -> list[float]:
    """``U_j`` for j = 1..T over ``tasks``: the weight of those left uncovered."""
    return [float(c.t_weight[tasks & (c.t_tier == j) & ~covered].sum()) for j in range(1, c.n_tiers + 1)]


def _pins_kept(cands: Candidates, sol: Solution, tasks: NDArray[np.bool_]) -> bool:
    """Whether every pin of ``tasks`` that ``sol`` drops is no eligible free
    pair (it breaks a rule alone: every valid schedule drops it): then the
    strict and the lenient readings of rule 12 agree that ``sol`` is valid,
    and the optimum under either is lexicographically no worse than it (the
    restriction by its U of :func:`_tier_task_set` holds under both; a
    schedule that drops another pin is checked strictly only on small
    problems). Laocheng's schedules drop 5 pins, all of them so."""
    for t, v, _ in sol.conflicts:
        if tasks[t] and np.any(cands.volunteer[cands.ptr[t] : cands.ptr[t + 1]] == v):
            return False
    return True


#: a tier's LP after the first open tier is restricted by the schedule's U of
#: that tier (:func:`_tier_task_set`) when the restricted LP has at most this
#: many columns (a simplex-sized LP; PDLP's multipliers converge far slower
#: with the limit rows: Shiquan's tier 3 restricted, 2.6 M columns, 899 after
#: 20 s and 28,765 after 60 s against 29,434 alone after 20 s; laocheng's tier
#: 3, 42,600 columns, 3,735 alone -> 4,885 restricted in 0.7 s; ad hoc,
#: 2026-12-01)
INCUMBENT_LIMIT_COLUMNS = PDLP_COLUMNS


def _tier_task_set(
    c: Compiled,
    tasks: NDArray[np.bool_],
    tier: int,
    ub: list[float],
    prim: list[float],
    task_pairs: I64 | None = None,
    pins_ok: bool = True,
) -> tuple[NDArray[np.bool_], dict[int, float]]:
    """The tasks and limits of a tier's bound (LP or week): restricted by the
    more urgent tiers (their tasks in, ``U_j <= ub[j]``) when those are
    proven (bound ``ub`` = schedule's ``prim``), else the tier alone, unrestricted.

    With ``task_pairs`` (each task's candidate pairs), a tier after the first
    open one ``j0`` is restricted by the proven tiers and by ``U_j0 <=
    prim[j0]`` when that LP has at most :data:`INCUMBENT_LIMIT_COLUMNS`
    columns: the lexicographic optimum ties the schedule on the proven tiers,
    so its ``U_j0`` is at most the schedule's, and its ``U_tier`` is at least
    the least ``U_tier`` under those limits (the tiers between ``j0`` and
    ``tier`` are left out: they only compete for volunteers). The bound holds
    for the lexicographic optimum, tier by tier, as every bound of ``auto``
    does (docs/readings.md, "Bounds"). With ``pins_ok`` False (the schedule
    drops an eligible pin: :func:`_pins_kept`) neither restriction is used."""
    proven = [ub[j - 1] == prim[j - 1] for j in range(1, tier)]
    if not pins_ok:
        # the schedule may be valid only under the lenient reading of rule 12
        # (:func:`_pins_kept`): its U need not bound the strict optimum's
        return tasks & (c.t_tier == tier), {}
    if all(proven):
        return tasks & (c.t_tier <= tier), {j: ub[j - 1] for j in range(1, tier)}
    if task_pairs is not None:
        j0 = proven.index(False) + 1
        mask = tasks & ((c.t_tier <= j0) | (c.t_tier == tier))
        if int(task_pairs[mask].sum()) <= INCUMBENT_LIMIT_COLUMNS:
            limits = {j: ub[j - 1] for j in range(1, j0)}
            limits[j0] = prim[j0 - 1]
            return mask, limits
    return tasks & (c.t_tier == tier), {}


def _week_mask(c: Compiled, cands: Candidates, mask: NDArray[np.bool_], task_pairs: I64) -> bool:
    """Whether the week bound of ``mask``'s tasks is worth trying (size gates)."""
    from .weeks import block_pairs

    if int(task_pairs[mask].sum()) > WEEK_MAX_PAIRS:
        return False
    n = block_pairs(c, cands, mask)
    return n is not None and n <= WEEK_BLOCK_PAIRS


def _week_bounds(
    c: Compiled,
    cands: Candidates,
    jobs: list[tuple[int, NDArray[np.bool_], list[float], list[float], int]],
    until: float,
    task_pairs: I64,
    dive: tuple[float, Solution] | None = None,
    min_seconds: float = WEEK_MIN_SECONDS,
    incumbent: Solution | None = None,
    post: Any = None,
) -> tuple[dict[tuple[int, int], float], dict[int, Any], list[Any]]:
    """Week bounds (:class:`~assign.solvers.weeks.WeekBound`) of the open tiers
    of components ``(k, tasks, bound per tier, schedule's U per tier, first
    tier to look at)``, most urgent first, until ``until``: ``{(k, tier):
    bound}``. A tier is restricted
    by the more urgent ones when those are proven (bound = schedule's U), as
    the LP bounds are; one the week bound proves counts as proven for the next.
    A tier after the first open one first gets its pair LP restricted by the
    proven tiers and the schedule's U of the first open one, when small
    enough (:func:`_tier_task_set`); the larger of the two bounds counts.

    With ``dive = (until, incumbent)``, the first tier of a component left
    open whose more urgent tiers are proven also gets a dive in its master LP
    (:meth:`~assign.solvers.weeks.WeekBound.dive`) until then, its weeks
    booked around the incumbent (:func:`_book_dive`): per component, the
    assignments and dropped pins of its tasks, ``{k: (task, volunteer,
    start, conflicts)}`` (the rest of the component still to be filled).
    After a dive it returns at once, with the jobs left (the parent wants the
    dive's schedule while its search runs). With ``post`` (a forked child's
    :func:`~assign.forking.forked` ``post``), the column generation before
    the dive stops at :data:`WEEK_DIVE_CG_SHARE` of the time to the dive's
    end, so that the dive gets the rest (laocheng at 10 s, whose enumeration
    takes 2.7-3.4 s, had no dive or a 0.3-s one after a converged column
    generation); when that cut it short, the bounds so far and the dive are
    posted as ``(bounds, dives, [])`` and the tier's column generation goes
    on from where it stopped (:meth:`~.weeks.WeekBound.tier_bound`,
    ``warm``) before the child returns, with no dive."""
    import time

    from .weeks import WeekBound, schedule_weeks

    out: dict[tuple[int, int], float] = {}
    dives: dict[int, Any] = {}
    for n_job, (k, in_comp, ub_in, prim, first) in enumerate(jobs):
        ub = list(ub_in)
        dove = first > 1
        for tier in range(first, c.n_tiers + 1):
            if ub[tier - 1] == prim[tier - 1]:
                continue
            if until - time.perf_counter() < min_seconds:
                return out, dives, []
            safe = incumbent is None or _pins_kept(cands, incumbent, in_comp)
            mask, limits = _tier_task_set(c, in_comp, tier, ub, prim, pins_ok=safe)
            r_mask, r_limits = _tier_task_set(c, in_comp, tier, ub, prim, task_pairs, pins_ok=safe)
            if r_limits and not limits:
                # after the first open tier: the pair LP restricted by the
                # schedule's U there (laocheng's tier 3: 3,735 alone, 4,885
                # restricted, the week bound alone 4,279)
                relax = Relaxation(c, cands, r_mask, fairness=False)
                value = relax.tier_bound(tier, r_limits, max(0.05, until - time.perf_counter()))
                if value is not None:
                    out[(k, tier)] = value
                    ub[tier - 1] = max(ub[tier - 1], min(value, prim[tier - 1]))
                if ub[tier - 1] == prim[tier - 1] or until - time.perf_counter() < min_seconds:
                    continue
            if not _week_mask(c, cands, mask, task_pairs):
                dove = True  # (a later tier's dive would not hold this one)
                continue
            wb = WeekBound(c, cands, mask, deadline=until)
            if not wb.ok:
                dove = True
                continue
            # the dive that may follow the bound (time permitting)
            diving = dive if not dove and (tier == 1 or limits) else None
            cg_seconds = until - time.perf_counter()
            cut = post is not None and diving is not None and diving[0] - time.perf_counter() > DIVE_MIN_SECONDS
            if cut and diving is not None:
                cg_seconds = min(cg_seconds, WEEK_DIVE_CG_SHARE * (diving[0] - time.perf_counter()))
            # the master begins with the schedule's weeks, which meet the
            # limits (its U of the tiers proven); laocheng at 10 s: U2 ~4,600
            # instead of ~4,635 (benchmarks/HISTORY.md, "Stop 55")
            start = schedule_weeks(incumbent.task, incumbent.volunteer) if incumbent is not None else None
            value = wb.tier_bound(tier, limits, cg_seconds, stop_at=prim[tier - 1], start=start)
            if value is not None:
                out[(k, tier)] = max(value, out.get((k, tier), value))
                ub[tier - 1] = max(ub[tier - 1], min(value, prim[tier - 1]))
            if diving is not None and ub[tier - 1] < prim[tier - 1] and diving[0] - time.perf_counter() > DIVE_MIN_SECONDS:
                dove = True
                weeks = wb.dive(diving[0])
                if weeks:
                    dives[k] = _book_dive(c, weeks, diving[1], tier, in_comp)
                left = [(k, in_comp, ub, prim, tier + 1)] if tier < c.n_tiers else []
                if not (cut and wb.cut):
                    return out, dives, left + list(jobs[n_job + 1 :])
                # the column generation was cut for the dive: the dive to the
                # parent now, the column generation on to its end here (then
                # the jobs left to the parent, as after a dive)
                post((dict(out), dives, []))
                value = wb.tier_bound(tier, limits, until - time.perf_counter(), stop_at=prim[tier - 1], warm=True)
                if value is not None:
                    out[(k, tier)] = max(value, out.get((k, tier), value))
                    ub[tier - 1] = max(ub[tier - 1], min(value, prim[tier - 1]))  # (``left`` holds ub)
                return out, {}, left + list(jobs[n_job + 1 :])
    return out, dives, []


#: the deterministic clock's count of a week floor (:func:`week_floor`, one
#: worker): per visit set enumerated, per set priced in a round, per round
#: (its master LP). Measured on the 8 grids of stop 51 (1-100,000 sets,
#: 1-28 rounds; ad hoc, Intel Xeon, 2026-12-05): 1.0e-6 s per set, 1.2e-7 s
#: per set and round, 1.6-2.4 ms per round; the rates below count more
FLOOR_PER_SET = 1.5e-6
FLOOR_PER_PRICED_SET = 2.0e-7
FLOOR_PER_ROUND = 4.0e-3


def week_floor(c: Compiled, cands: Candidates) -> TierFloor:
    """Week bounds as floors of the exact model's tiers
    (:data:`~assign.solvers.cpsat.TierFloor`), for small components: tier
    ``t``'s is the :class:`~assign.solvers.weeks.WeekBound` over the tasks of
    tiers ``1..t`` with the more urgent tiers held at their proven ``U``; none
    where the size gates refuse it (:func:`_week_mask`) or it is not done in
    its time.

    On the wall clock the enumeration and the column generation stop at
    ``seconds``. On the deterministic clock (one worker) the work is bounded
    by counts so that runs repeat: the enumeration by the sets ``seconds``
    pays for at :data:`FLOOR_PER_SET`, the rounds by what is left of it, and
    the clock is charged by the same rates; the wall clock's safety net
    stops it too (the run is then marked ``cut``)."""
    import time

    from .weeks import WeekBound

    task_pairs = np.bincount(cands.task, minlength=c.n_tasks)
    # the floors found, by tier and limits (a component solved again in a
    # later round asks for the same ones; a floor that stopped at an earlier
    # incumbent's U is still a floor)
    found: dict[tuple[int, tuple[tuple[int, int], ...]], float] = {}

    def floor(tier: int, limits: dict[int, int], value: int, seconds: float | None) -> float | None:
        key = (tier, tuple(sorted(limits.items())))
        if key not in found:
            got = compute(tier, limits, value, seconds)
            if got is None:
                return None
            found[key] = got
        return found[key]

    def compute(tier: int, limits: dict[int, int], value: int, seconds: float | None) -> float | None:
        mask = c.t_tier <= tier
        if not _week_mask(c, cands, mask, task_pairs):
            return None
        lims = {j: float(u) for j, u in limits.items()}
        clock = clocks.current()
        began = time.perf_counter()
        if not clock.deterministic:
            deadline = None if seconds is None else began + seconds
            wb = WeekBound(c, cands, mask, deadline=deadline)
            rest = None if deadline is None else max(0.0, deadline - time.perf_counter())
            return wb.tier_bound(tier, lims, rest, stop_at=value) if wb.ok else None
        assert isinstance(clock, clocks.DeterministicClock)
        wall = clock.wall_left()
        net = None if wall is None else began + wall
        if seconds is None:
            wb = WeekBound(c, cands, mask, deadline=net)
            rounds = 400
        else:
            most = int(seconds / FLOOR_PER_SET)
            wb = WeekBound(c, cands, mask, max_states=most, deadline=net)
            if not wb.ok:
                clock.charge(seconds)  # (how far it got is not known: all of it)
                if net is not None and time.perf_counter() >= net:
                    clock.cut = True
                return None
            per_round = FLOOR_PER_ROUND + FLOOR_PER_PRICED_SET * wb.n_states
            rounds = int((seconds - FLOOR_PER_SET * wb.n_states) / per_round)
        if not wb.ok or rounds < 1:
            clock.charge(FLOOR_PER_SET * getattr(wb, "n_states", 0))
            return None
        got = wb.tier_bound(tier, lims, None if net is None else max(0.0, net - time.perf_counter()), max_iterations=rounds, stop_at=value)
        clock.charge(FLOOR_PER_SET * wb.n_states + wb.iterations * (FLOOR_PER_ROUND + FLOOR_PER_PRICED_SET * wb.n_states))
        if wb.cut and wb.iterations < rounds:
            clock.cut = True  # (stopped by the safety net)
        return got

    return floor


def _small_week_bounds(
    c: Compiled,
    cands: Candidates,
    masks: dict[int, NDArray[np.bool_]],
    bounds: dict[int, list[float]],
    best: Solution,
    until: float,
    task_pairs: I64,
) -> dict[int, list[float]]:
    """Week bounds (in this process) of the tiers the exact models of small
    components (``masks``: tasks; ``bounds``: their bound per tier) leave
    open, most urgent first, until ``until``: ``{k: raised bound per tier}``
    for the components some tier of which rose. A tier's week bound is
    restricted by the more urgent tiers only when those are proven, and a
    later tier's pair LP by ``best``'s U of the first open tier (as in
    :func:`_week_bounds`), so each tier's bound holds for the optimal
    schedule, and never exceeds ``best``'s U (the schedule proves that much)."""
    import time

    clock = clocks.current()
    given = until
    if clock.deterministic:
        # (they raise the bound only, never change the schedule: on the wall
        # clock, in the time the deterministic one leaves them; the clock is
        # charged all of it below, so that what comes after them starts at
        # the same count every run and within the wall's limit)
        wall = clock.wall_left()
        until = time.perf_counter() + max(0.0, min(until - clock.now(), np.inf if wall is None else wall))
    cov = best.covered(c.n_tasks)
    jobs = []
    prims = {}
    for k, in_comp in masks.items():
        prim = _tier_u(c, in_comp, cov)
        ub = [float(x) for x in bounds[k]]
        if any(u < p for u, p in zip(ub, prim, strict=True)):
            jobs.append((k, in_comp, ub, prim, 1))
            prims[k] = prim
    if not jobs:
        return {}
    found, _, _ = _week_bounds(c, cands, jobs, until, task_pairs, None, min_seconds=SMALL_WEEK_MIN_SECONDS, incumbent=best)
    if clock.deterministic:
        clock.charge(given - clock.now())
    out: dict[int, list[float]] = {}
    for (k, tier), value in sorted(found.items()):
        ub = out.setdefault(k, [float(x) for x in bounds[k]])
        ub[tier - 1] = max(ub[tier - 1], min(float(value), prims[k][tier - 1]))
    return {k: ub for k, ub in out.items() if ub != [float(x) for x in bounds[k]]}


def _book_dive(
    c: Compiled, weeks: list[tuple[int, I64]], incumbent: Solution, tier: int, in_comp: NDArray[np.bool_]
) -> tuple[I64, I64, I64, list[tuple[int, int, str]]]:
    """A dive's weeks of ``tier`` booked (:func:`~assign.solvers.greedy.book_weeks`)
    around ``incumbent``'s visits of the more urgent tiers and of pinned tasks
    (proven tiers: its visits there are optimal, and a relaxed week may not
    fit between blocks); the component's assignments and dropped pins."""
    from .greedy import book_weeks

    keep = (c.t_tier[incumbent.task] < tier) | (np.diff(c.t_pin_ptr)[incumbent.task] > 0)
    base = Solution.build(incumbent.task[keep], incumbent.volunteer[keep], incumbent.start[keep], incumbent.conflicts)
    sol = book_weeks(c, base, weeks)
    rows = np.flatnonzero(in_comp[sol.task])
    conf = [x for x in sol.conflicts if in_comp[x[0]]]
    return sol.task[rows], sol.volunteer[rows], sol.start[rows], conf


#: the restricted week dive (:func:`_restricted_dive`) keeps, per availability
#: block, this many visits of the open tier besides the incumbent's, those of
#: most weight per minute over the square root of the task's pairs (measured
#: on Shiquan's tier 2 from a 60 s schedule, U2 29,885, ad hoc: 6 per block
#: gave 29,683 in 6 s, 8 gave 29,776; by weight per minute alone 6 gave
#: 29,775, 4 29,840, 8 29,708, 10 29,785; seed 1 from 28,263: 28,186 and,
#: by weight per minute, 28,235)
RESTRICTED_PER_BLOCK = 6
#: and is tried on components of at most this many candidate pairs (Shiquan:
#: 6.1 M; at province scale its listing alone would take the search's time)
RESTRICTED_MAX_PAIRS = 10_000_000
#: components too dense for week bounds get the LP bounds of their tiers after
#: the first open one in the forked child (:func:`_later_lp_bounds`) instead
#: of the restricted dive (False: the dive, as before 2026-12-01)
LATER_LP_BOUNDS = True
#: those LPs by column generation (:func:`~.lpdual.cg_multipliers`; False:
#: PDLP, as before 2026-12-02). The child shares the machine with the search:
#: Shiquan seed 1's tier 3 (1.77 M columns) got 20.7 s there and PDLP reached
#: 5,133 of its LP optimum 27,233; column generation needs ~9 s alone
LATER_LP_CONVERGE = True
#: seconds per column such a column generation needs to be worth starting
#: (Shiquan's tier 3: 5.3 s, by when it had 20,784 alone; PDLP's estimate
#: :func:`_lp_min_seconds` was 17.7 s, and the child, with 21.9 s left for
#: the build and the LP, often skipped it, leaving the bound at 1,200)
CG_MIN_RATE = 3.0e-6
#: the later tiers' LP child's CPU priority offset (it only raises bounds;
#: beside the parent's tier-2 LP on Shiquan seed 1, three runs each, ad hoc:
#: U2 26,897 / 27,123 / 27,100 and tier-2 bound 18,648 / 18,259 / 18,481 at
#: 10, against 27,088 / 27,170 / 27,243 and 18,034 / 18,298 / 18,249 at 0)
LATER_LP_NICE = 10


def _restricted_pairs(
    c: Compiled, cands: Candidates, in_comp: NDArray[np.bool_], tier: int, incumbent: Solution
) -> Candidates | None:
    """The component's pairs of tiers up to ``tier`` that ``incumbent`` uses,
    and per availability block the :data:`RESTRICTED_PER_BLOCK` visits of
    ``tier`` of most weight per minute, scarce tasks first (None when the
    blocks' visits are too many to list)."""
    from .weeks import MAX_STATES, block_visits

    ct = cands.task.astype(np.int64)
    cv = cands.volunteer.astype(np.int64)
    mine = in_comp[ct] & (c.t_tier[ct] <= tier)
    used = np.unique(incumbent.task * c.n_volunteers + incumbent.volunteer)
    keep = mine & np.isin(ct * c.n_volunteers + cv, used)
    open_rows = np.flatnonzero(mine & (c.t_tier[ct] == tier) & (cands.load.astype(np.int64) <= c.v_max_minutes[cv]))
    got = block_visits(c, ct[open_rows], cv[open_rows], MAX_STATES)
    if got is None:
        return None
    pair, blk = got[0], got[1]
    tt = ct[open_rows][pair]
    # weight per minute, scarce tasks first (per the square root of their pairs)
    n_pairs = np.bincount(ct[open_rows], minlength=c.n_tasks)[tt]
    ratio = c.t_weight[tt].astype(np.float64) / np.maximum(1, c.t_duration[tt]) / np.sqrt(np.maximum(1, n_pairs))
    order = np.lexsort((tt, -ratio, blk))
    b = blk[order]
    rank = np.arange(len(order)) - np.searchsorted(b, b, side="left")
    keep[open_rows[pair[order[rank < RESTRICTED_PER_BLOCK]]]] = True
    return cands.subset(np.flatnonzero(keep))


def _restricted_dive(
    c: Compiled,
    cands: Candidates,
    k: int,
    in_comp: NDArray[np.bool_],
    tier: int,
    limits: dict[int, float],
    incumbent: Solution,
    until: float,
) -> tuple[dict[tuple[int, int], float], dict[int, Any], list[Any]]:
    """A week dive (:meth:`~assign.solvers.weeks.WeekBound.dive`) for a
    component whose blocks are too dense to list every visit set (Shiquan's
    tier 2: 96 M two-visit sets): over :func:`_restricted_pairs` only, so the
    master's value is no bound (none is returned) and the dive is a search
    move over every volunteer at once, from the incumbent's weeks and their
    likeliest alternatives. Returns what :func:`_week_bounds` does:
    ``({}, {k: (task, volunteer, start, conflicts)}, [])``, the dive's weeks
    booked around the incumbent (:func:`_book_dive`; empty when it could not
    be done by ``until``)."""
    import time

    from .weeks import WeekBound

    sub = _restricted_pairs(c, cands, in_comp, tier, incumbent)
    if sub is None:
        return {}, {}, []
    mask = in_comp & (c.t_tier <= tier)
    wb = WeekBound(c, sub, mask, deadline=until)
    if not wb.ok or wb.tier_bound(tier, limits, 0.6 * (until - time.perf_counter())) is None:
        return {}, {}, []
    weeks = wb.dive(until)
    if not weeks:
        return {}, {}, []
    return {}, {k: _book_dive(c, weeks, incumbent, tier, in_comp)}, []


def _restricted_pass(c: Compiled, cands: Candidates, job: Any, incumbent: Solution, until: float) -> Any:
    """``_restricted_dive`` of ``job`` = (component, its tasks, tier, limits) as a
    function for :func:`_forked`."""

    def run() -> Any:
        k, in_comp, tier, limits = job
        return _restricted_dive(c, cands, k, in_comp, tier, limits, incumbent, until)

    return run


def _retime_room(factor: float, estimate: float) -> float:
    """The time of a first open tier's insertion with re-timing before the
    less urgent tiers fill the blocks (:data:`RETIME_GUIDED`,
    :data:`RETIME_DIVE`): ``factor`` times ``estimate`` (a greedy pass's over
    the tier), at least :data:`RETIME_MIN_SECONDS`; 0 when ``factor`` is."""
    return max(RETIME_MIN_SECONDS, factor * estimate) if factor > 0 else 0.0


def guide_orders(
    c: Compiled, cands: Candidates, prefer: NDArray[np.float64], tier: int, seed: int = 0
) -> list[I64]:
    """Task orders for the LP-guided pass (tier ascending in each; they
    differ within a tier): the knapsack order (:func:`ratio_order`), then
    one-volunteer tasks before teams (a team needs several volunteers free
    at one start), then the knapsack order with ties by the fewest pairs the
    LP uses (``prefer`` > 0 on the rows of tiers up to ``tier``: the most
    constrained first), then singles first with ties by the window's slack
    (the tightest first), then :data:`GUIDE_RANDOM_ORDERS` orders singles
    first with random ties (drawn from ``seed``).

    The pass is sensitive to the order within the tier: on the LP phase's
    start of Shiquan seeds 0 / 1 (ad hoc, 2026-12-01, /tmp/s24/gv2.py) U2
    was 28,539 / 27,241 in the knapsack order, 28,343 / 27,160 singles
    first, 28,538 / 27,044 by the LP's pairs, 28,369 / 27,001 singles first
    by slack (random orders ~41,000); laocheng 4,875 / 4,875 / 4,847 /
    4,875. No one order won on all three, so the pass tries them and keeps
    the best. Singles first with random ties (eight draws, the same start):
    28,323-28,449 and 27,000-27,114 (/tmp/s24/gv4.py)."""
    n = c.n_tasks
    idx = np.arange(n)
    wpm = weight_per_minute(c)
    slack = c.t_window_end - c.t_window_start - c.t_duration
    team = (c.t_needed > 1).astype(np.int64)
    lp_rows = (prefer > 0) & (c.t_tier[cands.task] <= tier)
    used = np.bincount(cands.task, weights=lp_rows.astype(np.float64), minlength=n)
    return [
        ratio_order(c),
        np.lexsort((idx, c.t_window_start, -wpm, team, c.t_tier)).astype(np.int64),
        np.lexsort((idx, used, -wpm, c.t_tier)).astype(np.int64),
        np.lexsort((idx, slack, -wpm, team, c.t_tier)).astype(np.int64),
    ] + [
        np.lexsort((idx, rng.random(n), -wpm, team, c.t_tier)).astype(np.int64)
        for rng in [np.random.default_rng(seed)] for _ in range(GUIDE_RANDOM_ORDERS)
    ]


def guided_preference(
    c: Compiled, cands: Candidates, x_lp: NDArray[np.float64], pressure: NDArray[np.floating[Any]], tier: int
) -> NDArray[np.float64]:
    """The preference per candidate row of the greedy pass guided by the LP of
    ``tier`` (and the more urgent tiers): for their tasks the pairs the LP's
    point uses (``x_lp`` above :data:`GUIDE_USED`) first, the cheapest among
    them (the pass breaks ties by cost); for the less urgent tiers, which the
    LP does not see, the least pressed (``pressure``,
    :func:`~.greedy.pressure_preference`). Measured (ad hoc, one pass on the
    final schedules' tier 1): Shiquan U2 28,502 / 27,233 (seeds 0 / 1) and
    laocheng 4,852 from the greedy's schedule, against 28,595 / 27,272 /
    4,899 with the pressure among the LP's pairs too."""
    # (a task's rows share its tier: the two scales never meet in one sort)
    mine = c.t_tier[cands.task] <= tier
    out: NDArray[np.float64] = np.where(mine, x_lp > GUIDE_USED, pressure.astype(np.float64))
    return out


def child_lp_tiers(open_tiers: list[int], fixed_upto: int) -> list[int]:
    """The open tiers of a component whose LP bounds the forked child
    computes (:func:`_later_lp_bounds`): those after the first open tier
    that the parent's LP phase takes (with its LP-guided pass). Tiers up to
    ``fixed_upto`` are bounded by the exact fixed-time model, not by an LP, so
    the parent's tier is the first open one after them (Shiquan seed 2, whose
    tier 1 stays open at 60 s: the child took tiers 2 and 3, the parent had
    no LP and no guided pass, and U2 stayed at 31,849; with its tier-2 LP and
    pass, 30,630-30,686 in two runs each, benchmarks/HISTORY.md, stop 29)."""
    lp_open = [j for j in open_tiers if j > fixed_upto]
    return lp_open[1:]


def later_lp_fits(n_cols: int, room: float) -> bool:
    """Whether a later tier's LP of ``n_cols`` columns (:func:`_later_lp_bounds`)
    is worth starting with ``room`` seconds: its build
    (:data:`LP_BUILD_RATE`) and the least its solve needs
    (:func:`_lp_min_seconds`, by column generation when
    :data:`LATER_LP_CONVERGE`)."""
    return room >= LP_BUILD_RATE * n_cols + _lp_min_seconds(n_cols, LATER_LP_CONVERGE)


def _later_lp_bounds(
    c: Compiled,
    cands: Candidates,
    jobs: list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]],
    until: float,
) -> Any:
    """The LP bounds (:class:`Relaxation`) of the tiers after the first open
    one of components whose blocks are too dense for week bounds, as a
    function for :func:`_forked`: ``jobs`` are (component, tier, its tasks and
    limits by :func:`_tier_task_set`, their pairs), most urgent tier first,
    until ``until``. Those tiers' more urgent ones are not all proven, so each
    LP is the tier alone, unrestricted (a bound of the tier for every valid
    schedule), or, when small enough, restricted by the proven tiers and the
    schedule's U of the first open one (:func:`_tier_task_set`). Started only when the LP can be built and solved in the time
    left (:func:`_lp_min_seconds`), as in the parent's LP phase, which takes
    the first open tier. Returns what :func:`_week_bounds` does:
    ``({(k, tier): bound}, {}, [])``. On Shiquan (seed 0) tier 3's bound
    rises from 899 (the tasks nobody can staff) to ~29,400 (PDLP, 10 s
    alone); LPs over :data:`PDLP_COLUMNS` columns are solved by column
    generation (:data:`LATER_LP_CONVERGE`), started from
    :data:`CG_MIN_RATE` seconds per column (seed 1: its LP optimum, 27,233,
    in 7-8 s beside the search, where PDLP gave 4,165-5,133 in ~20 s)."""
    import time

    def run(post: Any = None) -> tuple[dict[tuple[int, int], float], dict[int, Any], list[Any]]:
        # (with ``post``, the bounds so far are posted as they improve, in the
        # shape of the result: a parent that stops the child keeps them)
        out: dict[tuple[int, int], float] = {}
        for i, (k, tier, mask, limits, n_cols) in enumerate(jobs):
            if not later_lp_fits(n_cols, until - time.perf_counter()):
                continue
            relax = Relaxation(c, cands, mask, fairness=False)
            # the last LP takes the time left (the child has nothing else to do:
            # on Shiquan seed 1 beside the search, tier 3's PDLP cut at its
            # estimate gave 6,530, the bound it reaches alone in 10 s ~29,000)
            share = until - time.perf_counter()
            if i < len(jobs) - 1:
                share = _lp_share(relax, share)
            def posting(value: float, key: tuple[int, int] = (k, tier)) -> None:
                post(({**out, key: value}, {}, []))

            value = relax.tier_bound(
                tier, limits, max(0.05, share), converge=LATER_LP_CONVERGE, post=None if post is None else posting
            )
            if value is not None:
                out[(k, tier)] = value
                if post is not None:
                    post((dict(out), {}, []))
            del relax
        return out, {}, []

    return run


#: knapsack bounds (:mod:`.lagrange`): in the process at most this share of the
#: limit, in a forked child at most KNAP_CHILD_SHARE; a tier is tried only when
#: KNAP_MIN_STEPS steps fit (by :data:`~assign.solvers.lagrange.STEP_RATE`), and
#: takes at most KNAP_MAX_STEPS. Ad hoc (2026-12-01): Shiquan's tier 1 (31,000
#: pairs) 20,831 after 1 step, 24,674 after 300 (1.3 s; the optimum 28,095);
#: laocheng's tier 2 4,085 after 300 (0.4 s; its LP 4,179)
KNAP_SHARE = 0.03
KNAP_CHILD_SHARE = 0.15
KNAP_MIN_STEPS = 3
KNAP_MAX_STEPS = 300
#: the knapsack child's CPU priority offset (it only raises bounds)
KNAP_NICE = 10
#: the knapsack child starts beside the first greedy pass when that pass is
#: estimated to take more than this share of the time left: at province
#: scale the bounds after the greedy get no time (Ankang, its strategy given
#: 60 s by benchmarks/solve.py: the pass ~30 % of the time left, and the
#: later child, at most KNAP_CHILD_SHARE of the limit, made no step on its
#: 64 M pairs: the trivial bound 8,901); a county's pass is far under it
#: (Shiquan ~6 %)
KNAP_EARLY_SHARE = 0.25
#: and runs until the limit or this many times the pass's estimate, whichever
#: is later (beside two parts' greedies a pass takes ~2.5 times its estimate)
KNAP_EARLY_PASSES = 3.0


def _take_posted(wait: Any, timeout: float) -> Any:
    """A child's bounds that it posts as they improve (the knapsack child,
    :func:`_knapsack_bounds`; the later tiers' LPs, :func:`_later_lp_bounds`),
    waiting at most ``timeout`` seconds: its result, or when it is not done
    (it is then stopped) the last bounds it posted (None: none)."""
    got = wait(timeout)
    return got if got is not None else _last_posted(wait)


def _last_posted(wait: Any) -> Any:
    """The last result a child posted that was not taken (None: none)."""
    last = None
    while (posted := wait.partial()) is not None:
        last = posted
    return last


def _knapsack_jobs(
    c: Compiled,
    large: list[int],
    t_label: I64,
    comp_bounds: dict[int, ComponentBound],
    best: Solution,
    bounded: set[tuple[int, int]],
    week_comps: set[int],
    task_pairs: I64,
) -> list[tuple[int, NDArray[np.bool_], int]]:
    """Per tier, the tasks of the large components where it is open and no
    LP (``bounded``) or week bound will bound it: ``(tier, mask, pairs)``."""
    prim = _comp_tier_u(c, t_label, best)
    out = []
    for tier in range(1, c.n_tiers + 1):
        wanted = np.zeros(len(prim), dtype=bool)
        for k in large:
            if k in week_comps or (k, tier) in bounded:
                continue
            have = comp_bounds.get(k)
            ub = have.uncovered[tier - 1] if have else 0.0
            wanted[k] = ub < prim[k, tier - 1]
        mask = wanted[t_label] & (c.t_tier == tier)
        if mask.any():
            out.append((tier, mask, int(task_pairs[mask].sum())))
    return out


def _knapsack_bounds(
    c: Compiled,
    cands: Candidates,
    jobs: list[tuple[int, NDArray[np.bool_], int]],
    t_label: I64,
    until: float | None,
    budget: float | None,
) -> Any:
    """The knapsack bounds of ``jobs`` (:func:`_knapsack_jobs`), most urgent
    tier first, as a function (for :func:`_forked` or to call): until the
    wall time ``until``, or with steps by size within ``budget`` seconds (the
    same steps every run). Returns ``{(component, tier): bound}``."""
    import time

    from .lagrange import STEP_RATE, KnapsackBound

    def run(post: Any = None) -> dict[tuple[int, int], float]:
        # (with ``post``, the bounds so far are posted as they improve: a
        # parent that stops the child early keeps them)
        out: dict[tuple[int, int], float] = {}
        spent = 0.0
        for tier, mask, n_items in jobs:
            step = STEP_RATE * max(1, n_items)
            room = (until - time.perf_counter()) if until is not None else (budget or 0.0) - spent
            steps = min(KNAP_MAX_STEPS, int(room / step))
            if steps < KNAP_MIN_STEPS:
                continue
            kb = KnapsackBound(c, cands, mask)

            def posting(got: dict[int, int], tier: int = tier) -> None:
                post({**out, **{(int(k), tier): float(v) for k, v in got.items()}})

            got = kb.run(steps, labels=t_label, until=until, post=None if post is None else posting)
            spent += step * steps
            for k, value in got.items():
                out[(int(k), tier)] = float(value)
            if post is not None:
                post(dict(out))
        return out

    return run


#: the later tiers' restricted LPs at the end of the search
#: (:func:`_late_lp_jobs`) take a forked child for LATE_LP_FACTOR times their
#: estimated time (LP_BUILD_RATE + LP_SOLVE_RATE per column; laocheng's
#: tiers 3-4, 42,600 and 67,300 columns, ~1 s each against ~0.5 s
#: estimated): the most urgent of them whose window is at most LATE_LP_SHARE
#: of the limit (:func:`_late_fit`; at 10 s laocheng's tier 3 alone, ~1.1 s)
LATE_LP_FACTOR = 2.0
LATE_LP_SHARE = 0.12
LATE_LP_MIN_SECONDS = 0.25


def _late_window(jobs: list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]]) -> float:
    """The time given to :func:`_late_lp_jobs`' LPs: LATE_LP_FACTOR times their estimate."""
    return LATE_LP_FACTOR * sum((LP_BUILD_RATE + LP_SOLVE_RATE) * n for *_, n in jobs)


def _late_lp_starts(now: float, lns_end: float, retime_budget: float, window: float) -> bool:
    """Whether the later tiers' restricted LPs of ``window`` seconds
    (:func:`_late_window`) still start at ``now``, the search ending at
    ``lns_end``: they run in the search's last ``window`` seconds and on
    through the insertion after it (``retime_budget``, which collects
    them), so they fit while ``window`` ends by then. (Until stop 57 they
    had to start before ``lns_end - window``: at 10 s laocheng's week child
    comes back ~0.5 s after that, and tier 3's bound stayed its LP alone,
    3,756 instead of ~4,800; benchmarks/HISTORY.md, "Stop 57".)"""
    return lns_end + retime_budget - window > now


def _late_fit(
    jobs: list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]], budget: float
) -> list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]]:
    """The longest prefix of ``jobs`` (most urgent first) whose
    :func:`_late_window` is at most ``budget``."""
    n = 0
    while n < len(jobs) and _late_window(jobs[: n + 1]) <= budget:
        n += 1
    return jobs[:n]


def _late_lp_jobs(
    c: Compiled,
    cands: Candidates,
    large: list[int],
    t_label: I64,
    comp_bounds: dict[int, ComponentBound],
    found: dict[tuple[int, int], float],
    best: Solution,
    task_pairs: I64,
    budget: float = np.inf,
) -> list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]]:
    """Per large component, the tiers after its first open one whose LP
    restricted by the proven tiers and ``best``'s U of the first open one
    (:func:`_tier_task_set`) is simplex-sized and could raise their bound
    (bounds so far: ``comp_bounds`` and the children's ``found``), as
    :func:`_later_lp_bounds` jobs: the most urgent whose window fits
    ``budget`` (:func:`_late_fit`)."""
    got = {k: list(b.uncovered) for k, b in comp_bounds.items()}
    for (k, tier), value in found.items():
        if k in got:
            got[k][tier - 1] = max(got[k][tier - 1], value)
    prim_all = _comp_tier_u(c, t_label, best)
    jobs = []
    for k in large:
        if k not in got:
            continue
        in_comp = t_label == k
        if not _pins_kept(cands, best, in_comp):
            continue  # (its U may be below the optimum's under the strict reading)
        ub = got[k]
        prim = [float(x) for x in prim_all[k]]
        for tier in range(1, c.n_tiers + 1):
            if ub[tier - 1] >= prim[tier - 1]:
                continue
            if all(ub[j - 1] == prim[j - 1] for j in range(1, tier)):
                continue  # the first open tier itself (the LP phase's)
            mask, limits = _tier_task_set(c, in_comp, tier, ub, prim, task_pairs)
            if limits:  # (small enough)
                jobs.append((k, tier, mask, limits, int(task_pairs[mask].sum())))
    return _late_fit(jobs, budget)


def _merge_tier_bounds(
    c: Compiled,
    cands: Candidates,
    got: dict[tuple[int, int], float],
    comp_bounds: dict[int, ComponentBound],
    t_label: I64,
    best: Solution,
) -> None:
    """Raise the components' tier bounds to ``got``'s (never above the schedule's U)."""
    prim = _comp_tier_u(c, t_label, best)
    for (k, tier), value in got.items():
        b = comp_bounds.get(k)
        ub = list(b.uncovered) if b else _impossible_u(c, cands, t_label == k)
        ub[tier - 1] = max(ub[tier - 1], min(value, float(prim[k, tier - 1])))
        comp_bounds[k] = ComponentBound(ub, b.soft if b else -np.inf, b.proven if b else False)


def insert_split(c: Compiled, cands: Candidates, sol: Solution, order: I64, until: float, split: Split) -> Solution:
    """:func:`~.retime.insert_retimed` of ``order`` until the wall time
    ``until``, about half the components (:func:`~.greedy.split_halves`) in a
    forked child: an insertion or an ejection stays inside its component, so
    the halves' schedules join (the same schedule as one pass when neither
    half runs out of time). One pass here when there is nothing to split or
    the child fails."""
    import time

    from .greedy import split_halves
    from .retime import insert_retimed

    theirs = split_halves(c, cands, order, split)
    wait = None
    if theirs is not None:
        child_order = order[theirs]
        wait = _forked(lambda: insert_retimed(c, cands, sol, child_order, deadline=until))
    if theirs is None or wait is None:
        return insert_retimed(c, cands, sol, order, deadline=until)
    got = insert_retimed(c, cands, sol, order[~theirs], deadline=until)
    other = wait(max(0.0, until - time.perf_counter()) + RETIME_CHILD_GRACE)
    if other is None:
        return got
    child_side = np.isin(split.labels, np.unique(split.labels[child_order]))
    a = ~child_side[got.task]
    b = child_side[other.task]
    return Solution.build(
        np.concatenate((got.task[a], other.task[b])),
        np.concatenate((got.volunteer[a], other.volunteer[b])),
        np.concatenate((got.start[a], other.start[b])),
        list(got.conflicts),
    )


def restrict_candidates(c: Compiled, cands: Candidates, mask: NDArray[np.bool_]) -> Candidates:
    """The candidate rows whose task is in ``mask`` (marked partial)."""
    return cands.subset(np.flatnonzero(mask[cands.task]))


#: :func:`components` links volunteers in a dense volunteers x volunteers
#: matrix (one byte a cell) up to this many cells: on ankang (20,000 volunteers,
#: 64 M pairs) 3.4 s instead of 9.2 s for the task-volunteer graph
DENSE_COMPONENTS_CELLS = 500_000_000


def components(c: Compiled, cands: Candidates) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Connected components of the bipartite task-volunteer graph of the
    candidate pairs and the pins: (label per task, label per volunteer, count).
    Labels are numbered by their smallest task (then volunteer) index.

    Up to :data:`DENSE_COMPONENTS_CELLS` volunteer pairs, the graph is taken
    over the volunteers alone: each task links its volunteers (pairs, then
    pins) to its first one, its *anchor*, and joins the anchor's component (a
    task without any is a component of its own): the same partition, from a
    far smaller graph."""
    from scipy.sparse import coo_matrix, csr_matrix
    from scipy.sparse.csgraph import connected_components

    n_t, n_v = c.n_tasks, c.n_volunteers
    n = n_t + n_v
    n_pin = np.diff(c.t_pin_ptr)
    pin_t = np.repeat(np.arange(n_t, dtype=np.int64), n_pin)
    if n_v * n_v <= DENSE_COMPONENTS_CELLS:
        n_pair = np.diff(cands.ptr)
        anchor = np.full(n_t, -1, dtype=np.int64)
        has_pin = n_pin > 0
        anchor[has_pin] = c.t_pin[c.t_pin_ptr[:-1][has_pin]]
        has_pair = n_pair > 0
        anchor[has_pair] = cands.volunteer[cands.ptr[:-1][has_pair]]
        adj = np.zeros((n_v, n_v), dtype=bool)
        adj[np.repeat(anchor, n_pair), cands.volunteer] = True
        adj[anchor[pin_t], c.t_pin] = True
        count_v, label_v = connected_components(csr_matrix(adj), directed=False)
        del adj
        label = np.empty(n, dtype=np.int64)
        label[n_t:] = label_v
        alone = anchor < 0
        label[:n_t][~alone] = label_v[anchor[~alone]]
        label[:n_t][alone] = count_v + np.arange(int(alone.sum()))
        count = int(count_v) + int(alone.sum())
    else:
        rows = np.concatenate((cands.task.astype(np.int64), pin_t))
        cols = n_t + np.concatenate((cands.volunteer.astype(np.int64), c.t_pin.astype(np.int64)))
        graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        count, label = connected_components(graph, directed=False)
    # renumber by first appearance so that labels do not depend on scipy's order
    first = np.full(count, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(count)
    label = rank[label]
    return label[:n_t].astype(np.int64), label[n_t:].astype(np.int64), int(count)


@dataclass
class ComponentBound:
    """A component's lexicographic bound: ``uncovered`` per tier 1..T over its
    tasks, ``soft`` the part of the soft score it owns (pair costs and the
    fairness of its volunteers), ``proven`` tiers equal to its schedule's."""

    uncovered: list[float]
    soft: float
    proven: bool


@dataclass
class AutoResult:
    """What :func:`solve_auto_detailed` did."""

    solution: Solution
    bound: Any  # assign.model.Bound | None
    key: tuple[float, ...]
    greedy_key: tuple[float, ...]
    n_components: int
    n_small: int
    n_large: int
    exact_tiers: dict[int, int]  # large component -> tiers proven by tier-truncated exact models
    lns: LnsStats
    seconds: float
    log: list[tuple[str, float]]  # steps and the wall seconds at their ends
    keys: list[tuple[float, ...]] = dataclasses.field(default_factory=list)  # the incumbent's key there


def _replace_tasks(
    sol: Solution, mask: NDArray[np.bool_], task: I64, volunteer: I64, start: I64, conflicts: list[tuple[int, int, str]]
) -> Solution:
    """``sol`` with the assignments and dropped pins of the tasks in ``mask`` replaced."""
    keep = ~mask[sol.task]
    kept_conf = [x for x in sol.conflicts if not mask[x[0]]]
    return Solution.build(
        np.concatenate((sol.task[keep], task)),
        np.concatenate((sol.volunteer[keep], volunteer)),
        np.concatenate((sol.start[keep], start)),
        kept_conf + list(conflicts),
    )


def _trivial_soft_part(c: Compiled, cands: Candidates, tasks: NDArray[np.bool_], vols: NDArray[np.bool_]) -> float:
    """The smallest value the pair costs of ``tasks`` and the fairness of ``vols``
    can take in any schedule (each term at its most favourable value)."""
    keep = tasks[cands.task]
    linear = float(np.minimum(cands.cost[keep], 0.0).sum())
    cap = c.share_capacity
    sel = vols & (cap > 0)
    h = c.v_history_minutes[sel].astype(np.float64)
    w_f = c.weights["fairness"]
    load = 0.0 if w_f >= 0 else c.v_max_minutes[sel].astype(np.float64)
    fairness = float((((h + load) / cap[sel]) ** 2).sum())
    value = linear + w_f * fairness
    return value - 1e-9 * max(1.0, abs(value))


def _equity_floor(
    c: Compiled, cands: Candidates, bound_u: list[float] | None, impossible: NDArray[np.bool_] | None = None
) -> float | None:
    """A lower bound of ``w_equity * equity`` for the schedules whose U equals
    ``bound_u`` (None: for every schedule).

    With a task of negative weight (negative group weights) a community's
    uncovered share can be negative or above 100 %: each tier's worst share
    is then bounded by the largest, over its communities with demand, of the
    least share the community can have (``w_equity > 0``; the most it can
    have when ``w_equity < 0``) — its uncovered weight at least the
    impossible tasks' plus the negative weights, at most the impossible
    tasks' plus the positive weights — for every schedule. ``impossible``:
    the tasks no schedule covers (default: fewer candidates than their team)."""
    w_e = c.weights["equity"]
    if w_e == 0.0 or c.n_tasks == 0:
        return 0.0
    n_comm = max(c.n_communities, 1)
    cell = c.t_tier.astype(np.int64) * n_comm + c.t_community
    cells = (c.n_tiers + 1) * n_comm
    weight = c.t_weight.astype(np.float64)
    total = np.bincount(cell, weights=weight, minlength=cells).reshape(-1, n_comm)
    count = np.bincount(cell, minlength=cells).reshape(-1, n_comm)
    if impossible is None:
        impossible = cands.counts() < c.t_needed
    forced = np.bincount(cell[impossible], weights=weight[impossible], minlength=cells).reshape(-1, n_comm)
    if np.any(c.t_weight < 0):
        def cell_sum(x: NDArray[np.float64]) -> NDArray[np.float64]:
            out = np.bincount(cell, weights=np.where(impossible, 0.0, x), minlength=cells)
            return np.asarray(out, dtype=np.float64).reshape(-1, n_comm)

        least = forced + cell_sum(np.minimum(weight, 0.0))
        most = forced + cell_sum(np.maximum(weight, 0.0))
        safe = np.where(total != 0, total, 1.0)
        # (SPEC §6 as assign.score reads it: a community whose tier weighs 0 has share 0)
        low = np.where(total > 0, 100.0 * least / safe, np.where(total < 0, 100.0 * most / safe, 0.0))
        high = np.where(total > 0, 100.0 * most / safe, np.where(total < 0, 100.0 * least / safe, 0.0))
        share_of = low if w_e > 0 else high
        tiers = [t for t in range(1, c.n_tiers + 1) if (count[t] > 0).any()]
        value = math.fsum(float(share_of[t][count[t] > 0].max()) for t in tiers)
        out = w_e * value
        return out - 1e-9 * max(1.0, abs(out))
    value = 0.0
    for tier in range(1, c.n_tiers + 1):
        has = count[tier] > 0
        if not has.any():
            continue
        if w_e < 0:
            value += 100.0  # no community's uncovered share exceeds 100 %
            continue
        pos = has & (total[tier] > 0)
        share = float((100.0 * forced[tier][pos] / total[tier][pos]).max()) if pos.any() else 0.0
        if bound_u is not None and total[tier][has].sum() > 0:
            share = max(share, 100.0 * bound_u[tier - 1] / float(total[tier][has].sum()))
        value += share
    out = w_e * value
    return out - 1e-9 * max(1.0, abs(out))


def solve_auto_detailed(
    c: Compiled,
    cands: Candidates,
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    *,
    max_work: float | None = None,
    start: Solution | None = None,
) -> AutoResult:
    """strategy="auto" with a report of what it did (see the module docstring).

    Its steps read the time on :func:`assign.clock.for_workers`'s clock: with
    ``workers=1`` the deterministic one, so that runs repeat. ``start``, a
    schedule of ``c``, is offered right after the greedy's (taken when valid
    and better: every step after starts from it)."""
    n_workers = clocks.resolve_workers(workers)
    limit = DEFAULT_TIME_LIMIT if time_limit is None else max(0.0, float(time_limit))
    with clocks.running(clocks.for_workers(n_workers, limit)):
        return _solve_auto_detailed(c, cands, limit, seed, n_workers, max_work, start)


def _solve_auto_detailed(
    c: Compiled, cands: Candidates, limit: float, seed: int, n_workers: int, max_work: float | None,
    start: Solution | None = None,
) -> AutoResult:
    import time
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    from ..candidates import build_candidates
    from ..check import violations
    from ..model import Bound
    from ..score import evaluate
    from . import trivial_bound
    from .cpsat import STRICT_PIN_PAIRS, pins_maximal, solve_cpsat_detailed
    from .greedy import cheapen, fill, solve_greedy, split_share

    began = time.perf_counter()  # (wall time, for the report)
    clock = clocks.current()
    now = clock.now
    deadline = now() + limit
    log: list[tuple[str, float]] = []
    keys: list[tuple[float, ...]] = []  # the incumbent's key at each mark
    # for the steps' log only: the uncovered part of the bound so far, from
    # the whole problem's bound once there is one, else the components' ones
    bound_so_far: dict[str, Any] = {}

    def mark(name: str) -> None:
        log.append((name, time.perf_counter() - began))
        keys.append(tuple(best_key))
        if _log.isEnabledFor(logging.INFO):
            fields: dict[str, Any] = {"step": name, "seconds": round(log[-1][1], 3)}
            score = "-"
            if best_key:
                fields.update(uncovered=[float(u) for u in best_key[:-1]], soft=float(best_key[-1]))
                score = "U " + " / ".join(f"{u:g}" for u in best_key[:-1]) + f", soft {best_key[-1]:.1f}"
            if bound_so_far:
                bu = _bound_u_so_far(c, full, t_label, **bound_so_far)
                fields["bound_uncovered"] = bu
                score += "; bound U " + " / ".join(f"{u:g}" for u in bu)
            _log.info("auto %7.2f s  %-44s %s", log[-1][1], name, score, extra={"fields": fields})

    def left() -> float:
        return deadline - now()

    # the last ordered pass's time (None before the first)
    ordered_seconds: float | None = None

    def greedy_pass(*args: Any) -> Solution:
        # an ordered greedy pass, counted on the deterministic clock by its
        # estimate (the wall clock counts itself); its time kept for the LP
        # phase's reserve (the guided pass is one)
        nonlocal ordered_seconds
        t0 = now()
        out = ordered_greedy(*args)
        clock.charge(pass_est)
        ordered_seconds = now() - t0
        return out

    full = cands if cands.complete else build_candidates(c)
    # one greedy pass (the strategy "greedy": the knapsack order with the
    # pressure preference) is estimated from the number of pairs (deterministic)
    pass_est = GREEDY_PASS_RATE * len(full)
    final_est = max(SOFT_RESERVE * limit, FINAL_RATE * len(full))

    # components first: the greedy's main passes share them out between the
    # process and a forked child when more than one worker is allowed
    best_key: tuple[float, ...] = ()
    t_label, v_label, n_comp = components(c, full)
    clock.charge(COMPONENTS_RATE * len(full))
    mark("components")
    split = Split(t_label, n_workers)
    task_pairs = np.diff(full.ptr)  # pairs per task: counts of pairs in a task set without a pass over them
    pairs_per = np.bincount(t_label, weights=task_pairs, minlength=n_comp).astype(np.int64)
    comps = [int(k) for k in np.flatnonzero(pairs_per > 0)]
    small = [k for k in comps if pairs_per[k] <= SMALL_PAIRS]
    large = [k for k in comps if pairs_per[k] > SMALL_PAIRS]
    # what one greedy pass costs (unsplit: the refills after it run in the process alone)
    kept_share = split_share(c, full, split)

    # the knapsack bounds' forked child (:mod:`.lagrange`), if any
    knap_wait: Any = None
    if n_workers > 1 and large and pass_est * kept_share > KNAP_EARLY_SHARE * (left() - final_est):
        # at province scale the greedy pass takes all or most of what is
        # left of the limit (ankang at 60 s: prepared in 43 s, its greedy
        # ~60 s; a part of it solved two at a time, assign.parts: the greedy
        # ~9 of a part's ~10 s), and no bound but the trivial one would be
        # reported: every tier's knapsack bound starts now beside it, in a
        # niced child that posts its bounds as they improve, taken (the child
        # stopped) where the knapsack bounds are collected
        in_large = np.zeros(n_comp, dtype=bool)
        in_large[large] = True
        early = []
        for tier in range(1, c.n_tiers + 1):
            mask = in_large[t_label] & (c.t_tier == tier)
            if mask.any():
                early.append((tier, mask, int(task_pairs[mask].sum())))
        # (its own horizon: the limit, or the greedy pass as it may really
        # take beside other work — the pass always completes, and the bounds
        # posted by then are taken: a part of Shaanxi solved two at a time at
        # the default minute gets ~1.2 s and its greedy takes ~5 s)
        horizon = max(limit, KNAP_EARLY_PASSES * pass_est)
        run_early = _knapsack_bounds(c, full, early, t_label, time.perf_counter() + horizon, None)
        knap_wait = _forked(run_early, dict, dict, KNAP_NICE, partial=True)

    t_pass = now()
    # the greedy's preference, kept for the ordered passes below
    pressure = pressure_preference(c, cands)
    greedy = solve_greedy(c, cands, seed=seed, pressure=pressure, split=split)
    clock.charge(pass_est)
    pass_seconds = (now() - t_pass) / kept_share
    greedy_key = evaluate(c, greedy).key()
    best, best_key = greedy, greedy_key
    greedy_valid = not violations(c, greedy)
    if not greedy_valid:
        # (a pin the greedy could not keep although it can be kept, rare):
        # every valid schedule offered replaces it, whatever its score
        best_key = (float("inf"),) * len(greedy_key)
    mark("greedy")

    def kept_pins(sol: Solution) -> frozenset[tuple[int, int]]:
        rows = np.flatnonzero(rules.is_pinned(c, sol.task, sol.volunteer))
        return frozenset(zip(sol.task[rows].tolist(), sol.volunteer[rows].tolist(), strict=True))

    # (an invalid greedy schedule's pins are no witness)
    best_pins = kept_pins(greedy) if greedy_valid else frozenset()
    # on small problems with pins, rule 12 is also read strictly (as the
    # exact model and the brute force read it): a schedule whose dropped
    # pin could join its kept pins at other starts is not taken (the
    # validator, reading the kept pins at their starts, accepts it)
    strict_pins = len(c.t_pin) > 0 and len(full) <= STRICT_PIN_PAIRS

    def strictly_valid(sol: Solution) -> bool:
        return not strict_pins or pins_maximal(c, full, sol, time_limit=max(0.05, 0.05 * limit), seed=seed) is not False

    if greedy_valid and not strictly_valid(greedy):
        best_key = (float("inf"),) * len(greedy_key)

    def offer(sol: Solution) -> bool:
        # rule 12 read as the brute force reads it: a schedule whose kept pins
        # are a strict subset of the incumbent's drops a pin that a valid
        # schedule keeps together with all of its own (the incumbent): it is
        # never taken, and one keeping a strict superset is taken whatever
        # its score
        nonlocal best, best_key, best_pins
        pins = kept_pins(sol)
        if pins < best_pins:
            return False
        key = evaluate(c, sol).key()
        if (key < best_key or pins > best_pins) and not violations(c, sol) and strictly_valid(sol):
            best, best_key, best_pins = sol, key, pins
            return True
        return False

    if start is not None and offer(start):
        mark("start")

    # the LP-guided greedy pass, judged by the problem's size (not the clock,
    # so that a run with one worker repeats)
    guided = GREEDY_PASS_RATE * len(full.task) <= GUIDE_SHARE * limit
    # the first LP's forked child (:data:`LP_CHILD_WAIT`): (component, tier,
    # its tasks, its limits, until, wait)
    lp_child: list[tuple[int, int, NDArray[np.bool_], dict[int, float], float, Any]] = []

    def start_lp_child(k: int, in_comp: NDArray[np.bool_], k_fixed: int, task: I64, stages: Any) -> None:
        """Fork the LP of tier ``k_fixed + 1`` of component ``k`` when the
        stage's schedule (its tasks ``task``, to be composed) meets the
        stage's proven bounds on tiers 1..k_fixed: the LP the LP phase would
        build after the composition (:func:`_tier_task_set`, all proven),
        solved until the guided pass's time. The LP phase takes its bound
        and point only if it would build that very LP."""
        if n_workers < 2 or lp_child or not guided or k_fixed >= T or len(stages) < k_fixed:
            return
        cov = np.zeros(c.n_tasks, dtype=bool)
        cov[task] = True
        got = _tier_u(c, in_comp, cov)
        for j, (tier_j, _value, bound, proven) in enumerate(stages[:k_fixed]):
            if tier_j != j + 1 or not proven or got[j] != bound:
                return
        tier = k_fixed + 1
        # (the stage's tiers proven: restricted by them, as the LP phase does)
        mask, limits = _tier_task_set(c, in_comp, tier, got, got)
        n_cols = int(task_pairs[mask].sum())
        if n_cols <= PDLP_COLUMNS or n_cols > LP_MAX_COLUMNS:
            return
        start = now()
        build = LP_BUILD_RATE * n_cols
        until = min(start + build + _pdlp_seconds(4 * n_cols), deadline - final_est - ORDERED_PASS_SHARE * pass_seconds)
        if until - start - build < _lp_min_seconds(n_cols):
            return

        def run() -> tuple[float | None, Any]:
            relax = Relaxation(c, full, mask, fairness=False)
            share = _lp_share(relax, until - now())
            value = relax.tier_bound(tier, limits, max(0.05, share))
            return value, relax.guide(cands)

        wait = _forked(run, send_as=tuple, receive_as=tuple, nice=0)
        if wait is not None:
            lp_child.append((k, tier, mask, limits, until, wait))

    def take_lp_child(k: int, tier: int, mask: NDArray[np.bool_], limits: dict[int, float], until: float) -> Any:
        """The forked LP's (bound, guide) when it is this LP (waiting until
        ``until`` at most), else None (a child of another LP is stopped)."""
        if not lp_child or (lp_child[0][0], lp_child[0][1]) != (k, tier):
            return None
        _, _, c_mask, c_limits, c_until, wait = lp_child.pop()
        if not (np.array_equal(c_mask, mask) and c_limits == limits):
            wait(0.0)
            return None
        got = wait(lp_child_wait(now(), until, c_until, int(task_pairs[mask].sum())))
        if got is None:  # (later than a rebuild would take, or failed: said in -v)
            mark(f"tier-{tier} LP, forked child lost")
        return got
    T = c.n_tiers
    comp_bounds: dict[int, ComponentBound] = {}
    exact_tiers: dict[int, int] = {}
    fixed_tiers: dict[int, int] = {}
    lns_stats = LnsStats()
    global_bound: Bound | None = None
    bound_so_far.update(comps=comps, comp_bounds=comp_bounds, whole=lambda: global_bound)
    # the week bounds' forked child (started after the exact stages), what it found
    week_wait: Any = None
    # when the dive of that child (or of the restricted dive's) is due, while one is
    dive_due: float | None = None
    week_got: Any = None
    week_found: dict[tuple[int, int], float] = {}
    # (component, tier) whose LP bound the child computes instead (:func:`_later_lp_bounds`)
    child_lp: set[tuple[int, int]] = set()
    # (component, tier) with an LP bound, components in the week child
    lp_bounded: set[tuple[int, int]] = set()
    week_comps: set[int] = set()
    # a whole pass of the insertion by its size, at most its share of the limit
    retime_budget = min(RETIME_SHARE * limit, max(RETIME_MIN_SECONDS, RETIME_PAIR_SECONDS * len(full))) if large else 0.0
    # the final fill's extra work after it, per second of the pass (the blocks
    # it re-timed are tried again), by the size
    # (split between the process and a child as the greedy's main passes are)
    retime_fill = RETIME_FILL_PER_PAIR * len(full) * kept_share
    cheapen_budget = CHEAPEN_SHARE * pass_est if large else 0.0
    lns_end = deadline - final_est - retime_budget * (1.0 + retime_fill) - cheapen_budget

    def cheapen_reserve() -> float:
        """The time the cheaper volunteers' step is kept before the final
        steps: its estimate, and on the wall at least the last ordered pass's
        time (:data:`CHEAPEN_PASS_SHARE`)."""
        if large and ordered_seconds is not None:
            return max(cheapen_budget, CHEAPEN_PASS_SHARE * ordered_seconds)
        return cheapen_budget

    def cheapen_fits(estimate: float) -> bool:
        """Whether that step, estimated at ``estimate`` seconds, still fits
        before the final steps (half of it on top of them)."""
        return left() > final_est + 0.5 * estimate

    final_small = FINAL_RATE * len(full) + 0.05  # the final steps of a problem of small components

    def retimed_pass(first: int, last: int, budget: float, tasks: NDArray[np.bool_] | None = None) -> None:
        """:func:`retimed` of ``best`` over tiers ``first..last``, offered."""
        offer(retimed(best, first, last, budget, tasks))

    def retimed(
        sol: Solution, first: int, last: int, budget: float, tasks: NDArray[np.bool_] | None = None,
        charge_tried: bool = False,
    ) -> Solution:
        """:func:`~.retime.insert_retimed` of ``sol`` over tiers ``first..last``
        in the knapsack order (of the tasks in ``tasks`` only, when given);
        with one worker a budget of blocks tried instead of the clock, so that
        runs repeat, charged to the clock whole or (``charge_tried``) by the
        blocks tried."""
        from .retime import insert_retimed

        order = ratio_order(c)
        order = order[(c.t_tier[order] >= first) & (c.t_tier[order] <= last)]
        if tasks is not None:
            order = order[tasks[order]]
        if n_workers == 1:
            # (the wall clock's safety net: the final steps' time kept, the
            # fill's extra work after the pass included — ankang
            # tries ~35,000-57,000 blocks a second, not RETIME_TRIAL_RATE, and
            # ran 8 s over its minute; a run cut by it may not repeat)
            wall = clock.wall_left()
            net = None if wall is None else time.perf_counter() + max(0.0, wall - final_est) / (1.0 + retime_fill)
            tried: list[int] = []
            got = insert_retimed(
                c, full, sol, order, deadline=net, max_trials=int(RETIME_TRIAL_RATE * budget), tried=tried
            )
            if isinstance(clock, clocks.DeterministicClock) and net is not None and time.perf_counter() >= net:
                clock.cut = True
            clock.charge(min(budget, tried[0] / RETIME_TRIAL_RATE) if charge_tried else budget)
            return got
        return insert_split(c, full, sol, order, now() + budget, split)

    def retimed_tier(
        sol: Solution, tier: int, tasks: NDArray[np.bool_], factor: float, estimate: float, until: float
    ) -> Solution:
        """``sol`` with the uncovered tasks of ``tier`` (in ``tasks``) inserted
        with re-timing before the less urgent tiers fill the blocks
        (:data:`RETIME_GUIDED`, :data:`RETIME_DIVE`): in at most ``factor``
        times ``estimate`` (a pass's over them; at least
        :data:`RETIME_MIN_SECONDS`), never past ``until``; with one worker
        charged by the blocks tried. ``sol`` itself when ``factor`` is 0 or
        no time is left."""
        room = min(_retime_room(factor, estimate), until - now())
        if room <= 0.0:
            return sol
        return retimed(sol, tier, tier, room, tasks, charge_tried=True)

    def community_pass(
        floor_u: NDArray[np.float64], tasks: NDArray[np.bool_], vols: NDArray[np.bool_], until: float
    ) -> bool:
        """The communities of ``tasks`` re-solved one by one inside the
        incumbent until ``until`` (:func:`.communities.resolve`), each taken
        where ``offer`` finds it valid and better; the first open tier is the
        first whose U is above ``floor_u``. With one worker each community's
        solve is deterministic on its own and counts its whole limit. Whether
        any community ran."""
        above = np.flatnonzero(np.asarray(best_key[:T]) > floor_u + 1e-9)
        if len(above) == 0:
            return False
        open_tier = int(above[0]) + 1
        ranked = communities.order(c, full, best, open_tier, tasks)
        if len(ranked) < 2:  # (one community: the search is already over it)
            return False
        per = min(communities.MAX_SECONDS, max(communities.MIN_SECONDS, (until - now()) / len(ranked)))
        ran = False
        for i, x in enumerate(ranked):
            budget = min(per, until - now())
            if budget < communities.MIN_SECONDS:
                break
            got = communities.resolve(c, best, x, open_tier, budget, seed + i, n_workers, vols)
            if clock.deterministic:
                clock.charge(budget)
            ran = True
            if got is not None:
                offer(got)
        return ran

    def week_job(k: int, cov: NDArray[np.bool_]) -> tuple[Any, list[float], list[float], list[int]]:
        """Large component ``k``'s week-bound job for :func:`_week_bounds`
        (None when no open tier could get one: the tier alone, the smaller
        mask, is too large), its bound and U per tier (schedule covering
        ``cov``), and its open tiers."""
        in_comp = t_label == k
        prim = _tier_u(c, in_comp, cov)
        have = comp_bounds.get(k)
        ub = list(have.uncovered) if have else _impossible_u(c, full, in_comp)
        open_tiers = [j for j in range(1, T + 1) if ub[j - 1] != prim[j - 1]]
        if any(_week_mask(c, full, in_comp & (c.t_tier == j), task_pairs) for j in open_tiers):
            return (k, in_comp, ub, prim, 1), ub, prim, open_tiers
        return None, ub, prim, open_tiers

    def small_spare() -> float:
        """The time left for another round of small components: the clock's,
        none when one worker's wall-clock safety net leaves less than a
        round's minimum (a run it stops may not repeat: the clock's ``cut``)."""
        spare = left() - final_small
        wall = clock.wall_left()
        if wall is not None and spare > SMALL_AGAIN_MIN_SECONDS >= wall - final_small:
            assert isinstance(clock, clocks.DeterministicClock)
            clock.cut = True
            return 0.0
        return spare

    def retimed_small(ks: list[int]) -> None:
        """The insertion over small components ``ks`` (left open by a round)
        for :data:`SMALL_RETIME_SECONDS`, when the time left holds it."""
        if ks and left() - final_small > SMALL_RETIME_SECONDS + SMALL_AGAIN_MIN_SECONDS:
            retimed_pass(1, T, SMALL_RETIME_SECONDS, np.isin(t_label, ks))
            mark("re-timed insertion (small)")

    if len(comps) == 1 and small:
        # one small component: the exact model of the whole problem, then week
        # bounds of the tiers it leaves open in the share of the time kept
        reserve = SMALL_WEEK_SHARE * max(0.0, left())
        r = solve_cpsat_detailed(
            c, full, time_limit=max(0.05, left() - reserve), seed=seed, workers=n_workers, hint=best, clock=clock,
            tier_floor=week_floor(c, full),
        )
        offer(r.solution)
        global_bound = r.bound
        mark("exact")
        if global_bound is not None and not r.optimal:
            everything = np.ones(c.n_tasks, dtype=bool)
            raised = _small_week_bounds(c, full, {0: everything}, {0: list(global_bound.uncovered)}, best, deadline - final_small, task_pairs)
            if 0 in raised:
                global_bound = Bound(uncovered=tuple(int(x) for x in raised[0]), soft=global_bound.soft)
                mark("week bounds (small)")
    else:
        # small components apart, exactly, each with its own pair costs and fairness
        w_sub = dict(c.weights)
        w_sub["equity"] = 0.0
        if large:
            small_pairs = float(sum(pairs_per[k] for k in small)) / max(1.0, float(len(full)))
            budget = min(SMALL_MAX_SHARE, max(EXACT_SHARE, small_pairs)) * max(0.0, left())
        else:
            budget = (0.9 - SMALL_WEEK_SHARE) * max(0.0, left())

        #: each component's week floors (:func:`week_floor`), kept for the rounds after
        floors: dict[int, TierFloor] = {}

        def solve_small(k: int, shares: Shares, source: Solution | None = None, round_: int = 0) -> tuple[int, Sub | None, Any]:
            """Component ``k`` exactly, hinted by ``source``'s visits in it
            (None: the greedy's), in its share of ``shares``; round ``round_``
            (from 0) runs with seed + ``round_``. A later round's component
            whose turn comes once the round's time is up is not solved
            (``None``, ``None``): its first round's schedule and bound stay.
            (Each solve costs its floor and its stages' setup whatever its
            share: with one worker, eight open towns of a round given 1.3 s
            ran 3.7 s, to 13.5 s of a 10-s limit.)"""
            if round_ > 0 and shares.over():
                return k, None, None
            source = greedy if source is None else source
            tasks = np.flatnonzero(t_label == k)
            vols = np.flatnonzero(v_label == k)
            sub = subproblem(c, tasks, vols, weights=w_sub)
            keep = np.flatnonzero(t_label[full.task] == k)
            tmap = np.full(c.n_tasks, -1, dtype=np.int64)
            tmap[tasks] = np.arange(len(tasks))
            vmap = np.full(c.n_volunteers, -1, dtype=np.int64)
            vmap[vols] = np.arange(len(vols))
            sc = sub_candidates(sub, tmap[full.task[keep]], vmap[full.volunteer[keep]])
            if k not in floors:
                floors[k] = week_floor(sub.c, sc)
            hint = sub_solution(c, sub, source)
            # a tier left open is solved again in the share's time left only
            # when no large component waits for that time
            try:
                r = solve_cpsat_detailed(
                    sub.c, sc, time_limit=shares.take(k), seed=(seed + round_) % 2**31, workers=1, hint=hint,
                    clock=clock, second_chance=not large, tier_floor=floors[k],
                )
            finally:
                shares.done(k)
            return k, sub, r

        def solve_round(ks: list[int], end: float, source: Solution | None = None, round_: int = 0) -> list[tuple[int, Sub | None, Any]]:
            """Components ``ks`` exactly, the largest first, sharing the time
            of every worker until ``end`` by their pairs as they start
            (:class:`Shares`: a component proven early leaves its time to the
            ones after it); the results in the order of ``ks``."""
            shares = Shares({k: float(pairs_per[k]) for k in ks}, end, n_workers, now)
            order = sorted(ks, key=lambda k: (-int(pairs_per[k]), k))

            def one(k: int) -> tuple[int, Sub | None, Any]:
                return solve_small(k, shares, source, round_)

            if n_workers > 1 and len(ks) > 1:
                with ThreadPoolExecutor(max_workers=n_workers) as pool:
                    got = list(pool.map(one, order))
            else:
                got = [one(k) for k in order]
            by_k = {g[0]: g for g in got}
            return [by_k[k] for k in ks]

        def placed(base: Solution, k: int, sub: Sub, r: Any) -> Solution:
            """``base`` with component ``k``'s visits replaced by ``r``'s schedule."""
            rs = r.solution
            conf = [(int(sub.tasks[t]), int(sub.volunteers[v]), rule) for t, v, rule in rs.conflicts]
            return _replace_tasks(base, t_label == k, sub.tasks[rs.task], sub.volunteers[rs.volunteer], rs.start, conf)

        def keep_bound(k: int, sub: Sub, r: Any, first: bool) -> None:
            """Component ``k``'s bound from ``r`` (a second round's only when it
            proves the component or is at least the first round's in every
            tier: either is a bound, a mix need not be)."""
            mask = t_label == k
            least_u = _impossible_u(c, full, mask)
            ub = list(r.bound.uncovered) + least_u[len(r.bound.uncovered) :] if r.bound else least_u
            soft = (r.bound.soft if r.bound else -np.inf) - c.weights["stability"] * len(sub.c.previous_keys)
            # the sub-problem's tier list may be shorter; its proven flag is its own
            new = ComponentBound([float(x) for x in ub[:T]], float(soft), bool(r.optimal))
            old = comp_bounds.get(k)
            if first or old is None or new.proven or (
                all(a >= b for a, b in zip(new.uncovered, old.uncovered, strict=True)) and new.soft >= old.soft
            ):
                comp_bounds[k] = new

        if small:
            results = solve_round(small, now() + budget)
            for k, sub, r in results:
                assert sub is not None  # (the first round solves every component)
                offer(placed(best, k, sub, r))
                keep_bound(k, sub, r, True)
            mark("small components")
            if not large:
                open_small = [k for k, _, r in results if not r.optimal]
                retimed_small(open_small)
                # (until the final steps: with the time the first round left,
                # unless they end early, as the rounds below would solve
                # these components again, each at the cost of its model's
                # setup: eight open towns given 0.26 s each took 2 s, to
                # 11.5 s of 10, when the bounds were held to their share)
                raised = _small_week_bounds(
                    c, full, {k: t_label == k for k in open_small}, {k: list(comp_bounds[k].uncovered) for k in open_small},
                    best, deadline - final_small, task_pairs,
                )
                for k, ub in raised.items():
                    b = comp_bounds[k]
                    comp_bounds[k] = ComponentBound(ub, b.soft, b.proven)
                if raised:
                    mark("week bounds (small)")
                # the time the components left (a round can end early, its
                # components proven or stopped by their own stages): the open
                # ones again, from the best schedule, another seed each round
                # (a problem of 880 tasks in small components at 10 s ended
                # at 3.1 s with three tiers open: the audit of stop 49)
                still = [k for k in open_small if not comp_bounds[k].proven]
                spare = small_spare()
                round_ = 1
                while still and spare > SMALL_AGAIN_MIN_SECONDS and round_ < SMALL_ROUNDS:
                    second = solve_round(still, now() + 0.9 * spare, best, round_)
                    # compared after the fill, which the final steps give
                    # every schedule (a time-limited stage may leave visits
                    # that the fill adds: U4 122 before it, 20 after); a
                    # component's new schedule joins only if its own U is
                    # lexicographically lower
                    base = fill(c, cands, best, split)
                    offer(base)
                    trial = best
                    for k, sub, r in second:
                        if sub is None:
                            continue
                        cand = placed(trial, k, sub, r)
                        mask = t_label == k
                        if _tier_u(c, mask, cand.covered(c.n_tasks)) < _tier_u(c, mask, trial.covered(c.n_tasks)):
                            trial = cand
                        keep_bound(k, sub, r, False)
                    if trial is not best:
                        offer(fill(c, cands, trial, split))
                    mark("small components again" if round_ == 1 else f"small components again ({round_})")
                    still = [k for k in still if not comp_bounds[k].proven]
                    retimed_small(still)
                    spare = small_spare()
                    round_ += 1

        fixed = fixed_time(c)

        def fixed_stage(
            in_comp: NDArray[np.bool_], model: NDArray[np.bool_], budget: float
        ) -> tuple[int, list[float], list[float]]:
            """The exact 0-1 model of the component's most urgent tiers, all of
            fixed-time tasks (:mod:`~assign.solvers.timeindexed`). Solved with the
            pins the incumbent keeps forced and the other pinned visits as
            obstacles (a restriction: its schedule keeps rule 12), then without
            pins nor obstacles (a relaxation, so its stages are bounds) hinted
            by that schedule; without pins the two are one model, solved once.
            Returns the number of tiers proven (the schedule's ``U_j`` in the
            component meets the bound), the component's ``U_j`` of the best
            schedule, and the stage bounds (the first unproven stage's
            included; the trivial ones after it).

            One CP-SAT worker per model: on Shiquan's tier 1 (31,000 pairs) one
            worker proved the optimum in 14-18 s where two had not in 40 s.
            With ``workers=1`` the models also stop on a deterministic-time
            budget (:data:`WORK_RATE` per second), so runs repeat."""
            # with one worker the deterministic budgets stop the models; the
            # clock, later, is only a safety net
            stop = now() + (budget if n_workers > 1 else 1.5 * budget)
            pinned_task = np.diff(c.t_pin_ptr) > 0
            keep = model | ~in_comp | pinned_task

            def compose(tasks: NDArray[np.bool_], task: I64, volunteer: I64, start: I64) -> Solution:
                conf = [x for x in best.conflicts if tasks[x[0]]]
                base = _replace_tasks(best, tasks, task, volunteer, start, conf)
                return greedy_pass(c, cands, base, keep | tasks, order, pressure)

            tiers = tuple(range(1, k_fixed + 1))
            # the restriction: the component's one-volunteer pinned tasks join
            # the model with their kept pins forced (their starts chosen with
            # the fixed-time visits), the other pinned visits are obstacles
            kept = np.flatnonzero(in_comp[best.task] & rules.is_pinned(c, best.task, best.volunteer))
            extra_r = np.zeros(c.n_tasks, dtype=bool)
            extra_r[best.task[kept]] = True
            extra_r &= ~model & (c.t_needed == 1)
            model_r = model | extra_r
            obst = np.flatnonzero(in_comp[best.task] & ~model_r[best.task] & pinned_task[best.task])
            # the relaxation: the pins every valid schedule keeps, forced, and
            # at least one of each group of pins of which every valid
            # schedule keeps one (:func:`~.timeindexed.kept_pin_groups`)
            sure, groups = split_pin_groups(c, full)
            p_task = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
            p_vol = c.t_pin.astype(np.int64)
            sure &= in_comp[p_task]
            groups = [g for g in groups if in_comp[p_task[g]].all()] if FIXED_PIN_GROUPS else []
            extra_x = np.zeros(c.n_tasks, dtype=bool)
            extra_x[p_task[sure]] = True
            for g in groups:
                extra_x[p_task[g]] = True
            extra_x &= ~model
            model_x = model | extra_x
            rows = np.flatnonzero(model_r[best.task])
            hint = (best.task[rows], best.volunteer[rows], best.start[rows]) if FIXED_HINT else None
            dtime = WORK_RATE * budget if n_workers == 1 else None
            relax_kw: dict[str, Any] = {
                "mode": "relax", "seed": seed, "workers": 1, "hint": hint, "tiers": tiers, "dtime": dtime,
                "pins": (p_task[sure], p_vol[sure]), "pinned_only": extra_x,
                "pin_groups": [(p_task[g], p_vol[g]) for g in groups],
            }
            restricted = None
            if len(kept) or len(obst):
                restrict_kw: dict[str, Any] = {
                    "mode": "restrict", "seed": seed, "workers": 1, "hint": hint, "tiers": tiers,
                    "dtime": None if dtime is None else dtime / 2,
                    "pins": (best.task[kept], best.volunteer[kept]), "pinned_only": extra_r,
                    "obstacles": (best.task[obst], best.volunteer[obst], best.start[obst]),
                }
                with ThreadPoolExecutor(max_workers=1) as pool:
                    if n_workers > 1:  # the relaxation beside, one core each (CP-SAT releases the GIL)
                        fut_x = pool.submit(solve_tiers, c, full, model_x, time_limit=budget, **relax_kw)
                        restricted = solve_tiers(c, full, model_r, time_limit=budget, **restrict_kw)
                    else:
                        restricted = solve_tiers(c, full, model_r, time_limit=0.75 * budget, **restrict_kw)
                        if FIXED_HINT:
                            relax_kw["hint"] = (restricted.task, restricted.volunteer, restricted.start)
                    # (composed while the relaxation runs on: the stage used to
                    # end with both passes after both models)
                    # (not when its model could not be built in time, nor when it
                    # found no schedule: the pass would only rebuild the incumbent)
                    if restricted.status != BUILD_TIMEOUT and restricted.stages:
                        if n_workers > 1 and guided:
                            # unless the relaxation proves the stage soon: then the
                            # next tier's LP is forked first (:data:`LP_CHILD_WAIT`;
                            # a fork once the relaxation's thread is done)
                            try:
                                relaxed = fut_x.result(timeout=max(0.0, min(LP_CHILD_WAIT, stop - now())))
                            except FutureTimeout:
                                mark("fixed-time stage composed before its proof")
                            else:
                                start_lp_child(k, in_comp, k_fixed, restricted.task, relaxed.stages)
                        offer(compose(model_r, restricted.task, restricted.volunteer, restricted.start))
                    if n_workers > 1:
                        relaxed = fut_x.result()
            if restricted is None or n_workers == 1:
                relaxed = solve_tiers(
                    c, full, model_x, time_limit=max(0.1, stop - now()), **relax_kw
                )
                if relaxed.status != BUILD_TIMEOUT and relaxed.stages:
                    start_lp_child(k, in_comp, k_fixed, relaxed.task, relaxed.stages)
            # valid when it keeps the pins; not composed when the restriction's
            # schedule has the same stage values (on Shiquan a 2.6 s greedy pass
            # that never won, the LNS's time instead)
            same = (
                restricted is not None
                and restricted.status != BUILD_TIMEOUT
                and [v for _, v, _, _ in restricted.stages] == [v for _, v, _, _ in relaxed.stages]
            )
            if relaxed.status != BUILD_TIMEOUT and relaxed.stages and not same:
                offer(compose(model_x, relaxed.task, relaxed.volunteer, relaxed.start))
            cov = best.covered(c.n_tasks)
            got = _tier_u(c, in_comp, cov)
            upto = 0
            bounds = _impossible_u(c, full, in_comp)  # (the tiers after the first unproven stage)
            for tier, _value, bound, proven in relaxed.stages:
                # a stage's bound holds when the stages before it are proven and
                # met by the schedule (they are then the problem's optimum)
                bounds[tier - 1] = bound
                if not proven or got[tier - 1] != bound:
                    break
                upto = tier
            return upto, got, bounds

        # large components: tier-truncated exact stages (greedy refills in the knapsack order)
        pinned = np.diff(c.t_pin_ptr) > 0
        order = ratio_order(c)
        exact_deadline = now() + EXACT_SHARE * max(0.0, left())
        for k in large:
            in_comp = t_label == k
            tasks = np.flatnonzero(in_comp)
            vols = np.flatnonzero(v_label == k)
            lsub: Sub | None = None  # built when a truncated stage needs it
            tmap = np.full(c.n_tasks, -1, dtype=np.int64)
            tmap[tasks] = np.arange(len(tasks))
            vmap = np.full(c.n_volunteers, -1, dtype=np.int64)
            vmap[vols] = np.arange(len(vols))
            proven_upto = 0
            k_fixed = 0
            for tier in range(1, T + 1):
                if not bool(np.all(fixed[in_comp & (c.t_tier == tier)])):
                    break
                k_fixed = tier
            model = in_comp & (c.t_tier <= k_fixed)
            # (and never the composition's time after it: a greedy pass, its
            # share of the greedy's seconds, and the final steps')
            fixed_budget = max(0.0, min(FIXED_SHARE * left(), left() - final_est - ORDERED_PASS_SHARE * pass_seconds))
            if (
                k_fixed
                and int(task_pairs[model].sum()) <= FIXED_PAIRS
                and fixed_budget > max(1.0, FIXED_PASSES * pass_est)
            ):
                proven_upto, got, stage_bounds = fixed_stage(in_comp, model, fixed_budget)
                comp_bounds[k] = ComponentBound(got[:proven_upto] + stage_bounds[proven_upto:], -np.inf, False)
                fixed_tiers[k] = k_fixed
                mark(f"fixed-time tiers 1-{k_fixed}: proven up to {proven_upto}")
                exact_deadline = max(exact_deadline, now() + EXACT_SHARE * max(0.0, left()))
            for tier in range(proven_upto + 1, T + 1):
                mask = in_comp & ((c.t_tier <= tier) | pinned)
                if int(task_pairs[mask].sum()) > EXACT_PAIRS or now() >= exact_deadline:
                    break
                sel = np.flatnonzero(mask[full.task])
                if lsub is None:
                    lsub = subproblem(c, tasks, vols)
                trunc = sub_candidates(lsub, tmap[full.task[sel]], vmap[full.volunteer[sel]])
                rows = np.flatnonzero(mask[best.task])
                hint = Solution.build(tmap[best.task[rows]], vmap[best.volunteer[rows]], best.start[rows])
                r = solve_cpsat_detailed(
                    lsub.c, trunc, time_limit=max(0.1, exact_deadline - now()), seed=seed,
                    workers=n_workers, hint=hint, clock=clock, second_chance=False,
                )
                rs = r.solution
                conf = [(int(lsub.tasks[t]), int(lsub.volunteers[v]), rule) for t, v, rule in rs.conflicts]
                cand = _replace_tasks(best, in_comp, lsub.tasks[rs.task], lsub.volunteers[rs.volunteer], rs.start, conf)
                offer(greedy_pass(c, cands, cand, mask | ~in_comp, order, pressure))
                # proven: the truncated model's bound (valid for this component's
                # U_1..U_tier: the other tiers' tasks only compete for volunteers,
                # pinned ones are in) meets its schedule on those tiers
                cov = rs.covered(lsub.c.n_tasks)
                got = [float(lsub.c.t_weight[(lsub.c.t_tier == j) & ~cov].sum()) for j in range(1, tier + 1)]
                if r.bound is None or [float(x) for x in r.bound.uncovered[:tier]] != got:
                    break
                proven_upto = tier
                comp_bounds[k] = ComponentBound(got + _impossible_u(c, full, in_comp)[tier:], -np.inf, False)
            exact_tiers[k] = proven_upto
        if large:
            mark("exact tiers")

        # week bounds (column generation over volunteers' weeks, :mod:`.weeks`) of
        # the large components' open tiers: in a forked child beside the LP bounds,
        # then beside the LNS, which gives up one of its workers; with one worker
        # after the search, in the process (before the later tiers' LPs)
        # (the later tiers' LP child needs no search beside it, only its own
        # time, which runs on through the insertion: it may start when the
        # search has no time left; on Shiquan seed 1 the fixed-time stage
        # proved tier 1 anywhere from 22 to 35 s of 55, and past ~32 s tier
        # 3's bound stayed at 1,200, the tasks nobody can staff, instead of
        # ~27,500)
        week_room = lns_end - now() > WEEK_MIN_SECONDS + WEEK_MARGIN
        if large and n_workers > 1 and (week_room or LATER_LP_BOUNDS):
            cov_best = best.covered(c.n_tasks)
            jobs = []
            restricted: tuple[int, NDArray[np.bool_], int, dict[int, float]] | None = None
            later: list[tuple[int, int, NDArray[np.bool_], dict[int, float], int]] = []
            for k in large:
                in_comp = t_label == k
                job, ub, prim, open_tiers = week_job(k, cov_best)
                if job is not None:
                    if week_room:
                        jobs.append(job)
                        week_comps.add(k)
                    continue
                # too dense for week bounds: the LP bounds of the later tiers
                # (:func:`child_lp_tiers`) that are not too large for an LP
                for j in child_lp_tiers(open_tiers, fixed_tiers.get(k, 0)):
                    lp_mask, lp_limits = _tier_task_set(
                        c, in_comp, j, ub, prim, task_pairs, pins_ok=_pins_kept(full, best, in_comp)
                    )
                    n_lp = int(task_pairs[lp_mask].sum())
                    if 0 < n_lp <= LP_MAX_COLUMNS:
                        later.append((k, j, lp_mask, lp_limits, n_lp))
                if week_room and open_tiers and restricted is None and pairs_per[k] <= RESTRICTED_MAX_PAIRS:
                    # or a dive over restricted pairs in the first open tier,
                    # when the more urgent ones are proven
                    restricted = (k, in_comp, open_tiers[0], {j: ub[j - 1] for j in range(1, open_tiers[0])})
            week_until = lns_end - WEEK_MARGIN
            # the dive leaves the search a share of its time to polish what it gives
            # and its fill (a dived schedule's fill took ~2.5 greedy passes on
            # Shiquan) time before the search ends
            dive_until = lns_end - max(
                DIVE_POLISH_SHARE * max(0.0, lns_end - now()), DIVE_FILL_PASSES * pass_seconds
            )
            # (bounds only: it may run on through the insertion after the LNS)
            lp_until = week_until + retime_budget
            if (
                not jobs
                and LATER_LP_BOUNDS
                and any(later_lp_fits(n, lp_until - now()) for *_, n in later)
            ):
                # the later tiers' LP bounds take the child rather than the
                # restricted dive (Shiquan: the dive gave nothing since the
                # greedy spares contested volunteers; tier 3's bound was 899)
                week_wait = _forked(
                    _later_lp_bounds(c, full, later, lp_until), send_as=tuple, receive_as=tuple, nice=LATER_LP_NICE,
                    partial=True,
                )
                child_lp = {(k, j) for k, j, *_ in later}
            elif (
                not jobs
                and restricted is not None
                and RESTRICTED_PER_BLOCK > 0
                and dive_until - now() > DIVE_MIN_SECONDS
            ):
                week_wait = _forked(_restricted_pass(c, full, restricted, best, dive_until), send_as=tuple, receive_as=tuple)
                dive_due = dive_until

            def week_pass(post: Any) -> tuple[dict[tuple[int, int], float], dict[int, Any], list[Any]]:
                return _week_bounds(c, full, jobs, week_until, task_pairs, (dive_until, best), incumbent=best, post=post)

            if jobs:
                week_wait = _forked(week_pass, send_as=tuple, receive_as=tuple, partial=True)
                dive_due = dive_until

        # LP bounds of the large components, tier by tier
        # at province scale the LNS's own setup takes seconds: the LPs leave it
        # that and as much again to search, and the final steps their time (on
        # ankang the LPs of a component's tier 1 gave nothing in 15 s where the
        # LNS, in 10 s, took 411 off U1 of the greedy; Shiquan's setup is below
        # LNS_RESERVE_FROM, its LPs keep their time)
        lns_setup = LNS_SETUP_RATE * len(full)
        lns_keep = final_est + 2.0 * lns_setup if lns_setup >= LNS_RESERVE_FROM else 0.0
        # (never the final steps' and the re-timing's time: on a slower machine
        # Shiquan's LPs ran into it and the solve overran its limit — save the
        # insertion's time beyond RETIME_FLOOR_SHARE of the limit, which the
        # LPs come before: their bounds and the guided pass are worth more;
        # the LNS and then the insertion take what they leave)
        retime_spare = max(0.0, retime_budget - RETIME_FLOOR_SHARE * limit) * (1.0 + retime_fill)
        lns_keep = max(lns_keep, deadline - lns_end - retime_spare)
        lp_deadline = now() + LP_SHARE * max(0.0, left() - lns_keep)
        # its time, reserved after each LP: the last ordered pass's when one ran
        # (the greedy's own time counts its refills too: on a loaded machine
        # Shiquan's pass_seconds was 8.7 s where an ordered pass took 3-4.5 s)
        passes = (pass_seconds if ordered_seconds is None else ordered_seconds) if guided else 0.0
        # the first LP with a guided pass may take all the time before what is
        # kept (the LNS's LP_SHARE too): its pass is worth more than the search
        # (on a slower machine Shiquan's fixed-time stage of tier 1 ended at
        # ~34 s of 60, the tier-2 LP no longer fitted LP_SHARE of the rest and
        # U2 stayed at 27,997 with the trivial bound 3,540, where the LP and
        # its pass give ~27,100 and ~18,700; the LNS had no time there anyway)
        lp_end = now() + max(0.0, left() - lns_keep) if guided else lp_deadline
        first_lp = True
        for k in large:
            in_comp = t_label == k
            have = comp_bounds.get(k)
            ub = list(have.uncovered) if have else _impossible_u(c, full, in_comp)
            cov_best = best.covered(c.n_tasks)
            prim = _tier_u(c, in_comp, cov_best)
            pins_ok = _pins_kept(full, best, in_comp)
            for tier in range(exact_tiers.get(k, 0) + 1, T + 1):
                end = lp_end if first_lp else lp_deadline
                # squeezed (a fixed-time stage that took its whole share:
                # Shiquan's ended at ~41 s of 53 when its proof was slow, and
                # U2 stayed at 27,997 with the trivial bound 3,540), the first
                # LP and its guided pass take the insertion's and the cheaper
                # volunteers' time too, all but the final steps' (on slowed
                # stages the LP and its pass took 600-800 off U2 in four runs
                # of five, the insertion 48-64; benchmarks/HISTORY.md, stop 30)
                squeezed = max(end, deadline - final_est) if first_lp and guided else end
                if squeezed - now() <= 0.05:
                    break
                if (k, tier) in child_lp:
                    continue  # the forked child's
                # restricted by the more urgent tiers only when those are proven
                mask, limits = _tier_task_set(c, in_comp, tier, ub, prim, pins_ok=pins_ok)
                if tier <= fixed_tiers.get(k, 0):
                    continue  # the exact fixed-time model's bound (an LP's is weaker)
                # the LP forked by the fixed-time stage (beside its composition),
                # when it is this one: its bound and point
                forked_lp = take_lp_child(k, tier, mask, limits, squeezed) if first_lp else None
                if forked_lp is not None:
                    value, guide = forked_lp
                    this_first, first_lp = True, False
                    mark(f"tier-{tier} LP, forked beside the stage")
                else:
                    n_cols = int(task_pairs[mask].sum())
                    # skipped when it could not be built and solved usefully in the time
                    # left (a first-order LP needs its fixed cost and its iterations;
                    # ~4 nonzeros per column), with the guided greedy pass after it
                    room = end - now() - LP_BUILD_RATE * n_cols - passes
                    if room < _lp_min_seconds(n_cols) and squeezed > end:
                        end = squeezed
                        room = end - now() - LP_BUILD_RATE * n_cols - passes
                    # when the LP fits only without its guided pass, the LP alone
                    # (the first LP: its bound is worth more than the insertion
                    # and the knapsack bounds that would take its time — on a slow
                    # machine Shiquan's tier-1 stage ended at ~40 s of 54, and the
                    # tier-2 bound stayed at the trivial 3,540 where 5-8 s of PDLP
                    # give ~14,000-18,000; benchmarks/HISTORY.md, stop 38)
                    with_pass = lp_pass_fit(room, passes, _lp_min_seconds(n_cols), first_lp and guided)
                    if n_cols > LP_MAX_COLUMNS or with_pass is None:
                        continue
                    relax = Relaxation(c, full, mask, fairness=False)
                    # the most urgent tier left takes the time (the guided greedy pass
                    # follows); a later tier gets what an early-converged LP leaves. A
                    # first-order LP's bound can be worth little when cut short, so
                    # splitting the time between tiers would lose both
                    share = _lp_share(relax, end - now() - (passes if with_pass else 0.0))  # the LNS gets the rest
                    this_first, first_lp = first_lp, False
                    value = relax.tier_bound(tier, limits, max(0.05, share), deterministic=clock.deterministic)
                    # (on the deterministic clock: its build and its solve by their sizes)
                    clock.charge(LP_BUILD_RATE * n_cols + (max(0.05, share) if relax.n > PDLP_COLUMNS else LP_SOLVE_RATE * n_cols))
                    # the guided pass only when cheap next to the time limit, and
                    # when its time (reserved above) is left
                    guide = relax.guide(cands) if guided and with_pass else None
                # (with one worker also when the wall clock's safety net holds
                # the passes: on a slow machine a one-worker Shiquan's passes
                # started just before it and ran ~4 s past, stop 59)
                wall = clock.wall_left()
                if guide is not None and now() + passes <= deadline and (wall is None or wall >= passes):
                    # LP-guided greedy: the knapsack order, each task to a volunteer
                    # the LP uses for it (x above GUIDE_USED), the cheapest first;
                    # the less urgent tiers' by pressure; the more urgent tiers kept
                    keep_lp = (in_comp & (c.t_tier < tier)) | ~in_comp | pinned
                    prefer = guided_preference(c, cands, guide[1], pressure, tier)
                    base_lp = best
                    if this_first:
                        # after the first LP, the pass in several orders of the
                        # tier's tasks (:func:`guide_orders`), each over the
                        # tier alone (a pass takes tasks in order: the tier's
                        # visits do not depend on the less urgent tiers after
                        # it; ~1/7 of a whole pass on Shiquan), while the
                        # phase's time holds them; the best completed
                        in_tier = c.t_tier == tier
                        tier_est = GREEDY_PASS_RATE * int(task_pairs[in_tier].sum())
                        w_here = np.where(in_comp & in_tier, c.t_weight, 0.0)  # (U of the tier: w_here @ ~covered)
                        # every order's pass first, while the time holds it and
                        # one re-timing (its budget) after it; then the
                        # re-timing of the best passes, at most
                        # RETIME_GUIDED_BEST, while the time holds the last one's
                        # (:data:`RETIME_GUIDED_BEST`)
                        retime_room = _retime_room(RETIME_GUIDED, tier_est)
                        tried_parts: list[tuple[float, int, Solution, I64]] = []
                        part_seconds = 0.0
                        for i, o in enumerate(guide_orders(c, cands, prefer, tier, seed)):
                            if i and now() + part_seconds + retime_room + passes > lp_deadline:
                                break
                            t0 = now()
                            part = ordered_greedy(c, cands, base_lp, keep_lp, o[in_tier[o]], prefer)
                            clock.charge(tier_est)
                            part_seconds = now() - t0
                            tried_parts.append((float(w_here @ ~part.covered(c.n_tasks)), i, part, o))
                        tried_parts.sort(key=lambda x: (x[0], x[1]))
                        pick: tuple[float, Solution, I64] | None = None
                        retime_seconds = 0.0
                        for j, (u_part, _, part, o) in enumerate(tried_parts):
                            if j and (j >= RETIME_GUIDED_BEST or now() + retime_seconds + passes > lp_deadline):
                                break
                            t0 = now()
                            part = retimed_tier(part, tier, in_comp, RETIME_GUIDED, tier_est, lp_deadline - passes)
                            retime_seconds = now() - t0
                            u_part = float(w_here @ ~part.covered(c.n_tasks))
                            if pick is None or u_part < pick[0]:
                                pick = (u_part, part, o)
                        assert pick is not None
                        better = offer(greedy_pass(c, cands, pick[1], keep_lp | in_tier, pick[2], prefer))
                    else:
                        better = offer(greedy_pass(c, cands, base_lp, keep_lp, order, prefer))
                    if better:
                        cov_best = best.covered(c.n_tasks)
                        prim = _tier_u(c, in_comp, cov_best)
                        pins_ok = _pins_kept(full, best, in_comp)
                if value is not None:
                    ub[tier - 1] = max(ub[tier - 1], min(value, prim[tier - 1]))
                    lp_bounded.add((k, tier))
            comp_bounds[k] = ComponentBound(ub, -np.inf, False)
        for *_, wait in lp_child:  # (a forked LP that no LP phase took)
            wait(0.0)
        lp_child.clear()
        if large:
            mark("lp bounds")

        # knapsack bounds (:mod:`.lagrange`) of the open tiers that no LP, week
        # bound or exact stage bounds (at province scale no LP fits the minute:
        # ankang's tier 1 had the trivial 8,901 against ~280,000)
        knap_jobs = _knapsack_jobs(c, large, t_label, comp_bounds, best, lp_bounded | child_lp, week_comps, task_pairs)
        if knap_wait is not None:
            pass  # (started beside the greedy: it bounds every tier)
        elif knap_jobs and n_workers > 1 and week_wait is None:
            # beside the insertion and the fill (one thread each at province
            # scale), until the cheaper volunteers' step (which waiting for it
            # took: on Shiquan the parent waited 4 s for a bound that raised
            # nothing and then had no time left for that step), at most
            # KNAP_CHILD_SHARE of the limit
            until = min(deadline - final_est - cheapen_reserve(), now() + KNAP_CHILD_SHARE * limit)
            # (niced: where the search runs beside it, its CP-SAT workers come first)
            knap_wait = _forked(_knapsack_bounds(c, full, knap_jobs, t_label, until, None), dict, dict, KNAP_NICE)
        elif knap_jobs:
            # in the process, steps by size (one worker: the same steps every run)
            budget = min(KNAP_SHARE * limit, max(0.0, left() - final_est - cheapen_reserve()))
            got = _knapsack_bounds(c, full, knap_jobs, t_label, None, budget)()
            clock.charge(budget)
            _merge_tier_bounds(c, full, got, comp_bounds, t_label, best)
            mark("knapsack bounds")

    # the tiers every large component has proven need no insertion; the open
    # ones get a pass before the LNS, the first open one first (the knapsack
    # order by tier), stopped at RETIME_FIRST_SHARE of the limit (until stop
    # 50 the first open tier alone, Shiquan's tier 2 in ~1 s; the later
    # tiers waited for the pass after the LNS: on 24 problems of the audit
    # of stop 49 at 10 s, one worker, 13 better and 1 worse with every tier)
    open_from = 1 + min((exact_tiers.get(k, 0) for k in large), default=0)
    if large and open_from <= T and retime_budget > 0 and lns_end - now() > RETIME_FIRST_SHARE * limit:
        retimed_pass(open_from, T, RETIME_FIRST_SHARE * limit)
        mark(f"re-timed insertion, tiers {open_from}-{T}")

    # LNS over the large components, when the time left after the final steps
    # holds its setup (estimated from the size) and some search
    if large and lns_end - now() > LNS_SETUP_RATE * len(full) + 1.0:
        focus = np.isin(t_label, large)
        floor_u = np.zeros(T)
        for k in large:
            floor_u += np.asarray(comp_bounds[k].uncovered[:T])
        outside = ~focus
        np.add.at(floor_u, c.t_tier[outside] - 1, np.where(best.covered(c.n_tasks)[outside], 0, c.t_weight[outside]))
        search = Search(c, cands, best, seed, tier_floor=tuple(float(x) for x in floor_u), focus=focus)
        work = np.inf
        if n_workers == 1:
            work = WORK_RATE * limit if max_work is None else max_work
        elif max_work is not None:
            work = max_work
        while week_wait is not None:
            # one worker fewer while the week bounds' child runs, all of them after
            # (the later tiers' LP child posts bounds as it goes: its end only)
            back = week_wait.finished if child_lp else week_wait.ready
            search.run(lns_end, work, workers=n_workers - 1, stop=back, stop_by=dive_due)
            dive_due = None  # (one dive a child; what else it sends are bounds)
            if not back():
                break
            # a dive the child posted while it finishes its bounds, else its end
            sent = None if child_lp else week_wait.partial()
            if sent is None:
                sent = week_got = _take_posted(week_wait, 0.0) if child_lp else week_wait(0.0)
                week_wait = None
                if sent is None:
                    break
            week_found.update(sent[0])
            dives, rest = sent[1], sent[2]
            if rest and lns_end - now() > WEEK_MIN_SECONDS + WEEK_MARGIN:
                # the tiers after the dive's, in a new child, with the
                # schedule's U as it is now (a later tier's LP is restricted by
                # the first open tier's: :func:`_tier_task_set`)
                offer(search.sol)  # (the search's schedule so far)
                cov_now = best.covered(c.n_tasks)
                rest = [(k, m, u, _tier_u(c, m, cov_now), f) for k, m, u, _, f in rest]
                def rest_pass(rest: list[Any] = rest) -> tuple[dict[tuple[int, int], float], dict[int, Any], list[Any]]:
                    return _week_bounds(c, full, rest, week_until, task_pairs, None, incumbent=best)

                week_wait = _forked(rest_pass, send_as=tuple, receive_as=tuple)
            if dives and lns_end - now() > 0.8 * DIVE_FILL_PASSES * pass_seconds:
                # (a dive back on time has DIVE_FILL_PASSES passes left, one a
                # little late most of them; one back later is dropped: on a
                # slower machine Shiquan's restricted dive came back at 49.8 s
                # of 60 and its fill ran to 62.3 s)
                offer(search.sol)
                for k, (dt, dv, ds, dconf) in dives.items():
                    # the dive's schedule of the component, filled; when it is
                    # not better as it stands (a relaxed week may lose a visit
                    # of a more urgent tier), a search of its own polishes it
                    # for a share of the time left
                    booked = _replace_tasks(best, t_label == k, dt, dv, ds, dconf)
                    # the dive's tier: the first the exact stages left open
                    dive_tier = exact_tiers.get(k, 0) + 1
                    in_k = (t_label == k) & (c.t_tier == dive_tier)
                    booked = retimed_tier(
                        booked, dive_tier, t_label == k, RETIME_DIVE, GREEDY_PASS_RATE * int(task_pairs[in_k].sum()),
                        lns_end - DIVE_FILL_PASSES * pass_seconds,
                    )
                    dived = fill(c, cands, booked)
                    if not offer(dived) and lns_end - now() > 1.0:
                        # (on the component alone: elsewhere the two schedules agree)
                        polish = Search(c, cands, dived, seed, tier_floor=search.tier_floor, focus=t_label == k)
                        share = DIVE_POLISH_SHARE * (lns_end - now())
                        polish.run(now() + share, work, workers=n_workers - (week_wait is not None))
                        offer(polish.sol)
                search.sol, search.key = best, best_key
                mark("week dive")
        if COMMUNITY_PASSES and week_wait is None and lns_end - now() >= communities.MIN_SEARCH_SECONDS:
            # long limits: the communities re-solved one by one inside the
            # schedule (:mod:`.communities`), in a share of the search's time
            offer(search.sol)
            if community_pass(floor_u, focus, np.isin(v_label, large), now() + communities.SHARE * (lns_end - now())):
                search.sol, search.key = best, best_key
                mark("communities")
        # the last seconds of the search give a worker to the later tiers' LPs
        # restricted by the schedule's U of the first open tier as it is then
        # (:func:`_late_lp_jobs`; the earlier the schedule, the weaker)
        # (with one worker after the search, in the process, below)
        late = []
        if n_workers > 1 and week_wait is None and knap_wait is None:
            late = _late_lp_jobs(c, full, large, t_label, comp_bounds, week_found, best, task_pairs, LATE_LP_SHARE * limit)
        late_window = _late_window(late)
        if late and _late_lp_starts(now(), lns_end, retime_budget, late_window):
            search.run(lns_end - late_window, work, workers=n_workers)
            offer(search.sol)
            late = _late_lp_jobs(c, full, large, t_label, comp_bounds, week_found, best, task_pairs, LATE_LP_SHARE * limit)
            if late:
                week_wait = _forked(
                    _later_lp_bounds(c, full, late, lns_end + retime_budget), send_as=tuple, receive_as=tuple,
                    partial=True,
                )
                child_lp = {(k, j) for k, j, *_ in late}
                search.run(lns_end, work, workers=n_workers - 1, stop=week_wait.finished)
        search.run(lns_end, work, workers=n_workers)
        offer(search.sol)
        lns_stats = search.stats
        mark("lns")
    def collect(until: float) -> None:
        """The forked child's bounds (waiting until ``until`` at most; the
        later tiers' LP child's as posted when it is not done), merged."""
        nonlocal week_wait, week_got
        done = "week bounds"
        if week_wait is not None:
            week_got = week_wait(max(0.0, until - now()))
            if week_got is None and child_lp:
                week_got = _last_posted(week_wait)
                done = "week bounds (the LP child's as posted)"
            week_wait = None
            if week_got is not None:
                week_found.update(week_got[0])
        _merge_tier_bounds(c, full, week_found, comp_bounds, t_label, best)
        mark(done if week_got is not None else "week bounds (not done)")

    # the later tiers' LP bounds are collected after the insertion (the child
    # computes them meanwhile on the other worker); the rest now
    later_child = week_wait is not None and bool(child_lp)
    if (week_wait is not None or week_got is not None) and not later_child:
        collect(lns_end)

    # insertion with re-timing and ejection (:mod:`.retime`) over the tiers not
    # proven: uncovered visits that fit once one block of each volunteer (team
    # members: at one start) is re-timed, or in place of a visit that moves to
    # another volunteer or is worth less
    # (never into the final steps' time, its fill's extra work included: at
    # province scale the greedy may leave the LNS nothing, and the pass would
    # run from there)
    # (nor into the cheaper volunteers' step: its time by the last ordered
    # pass's when one ran, :data:`CHEAPEN_PASS_SHARE`)
    cheapen_est = cheapen_reserve()
    # (when the step no longer fits, the insertion takes its time: on a slow
    # machine Shiquan's LP phase ended with 4.8 s left, the step's estimate
    # 5 s, and the run ended 4.6 s early with neither)
    cheapen_keep = cheapen_est if cheapen_fits(cheapen_est) else 0.0
    retime_now = min(retime_budget, (left() - final_est - cheapen_keep) / (1.0 + retime_fill))
    if large and retime_now > 0.05:
        retimed_pass(open_from, T, retime_now)
        mark("re-timed insertion")
    if later_child:
        collect(lns_end + retime_budget)
    if knap_wait is not None:
        knap_got = _take_posted(knap_wait, max(0.0, deadline - final_est - cheapen_keep - now()))
        knap_wait = None
        if knap_got is not None:
            _merge_tier_bounds(c, full, knap_got, comp_bounds, t_label, best)
        mark("knapsack bounds" if knap_got is not None else "knapsack bounds (not done)")

    # with one worker, the later tiers' restricted LPs (two workers fork them
    # at the end of the search): on the wall clock, never charged to the
    # deterministic one — they raise bounds only, the schedule stays the same
    if large and n_workers == 1:
        # and before them the week bounds of the large components' open tiers
        # (two workers fork them beside the search), as the small components'
        # are: on the wall clock, in at most WEEK_ONE_WORKER_SHARE of what the
        # deterministic clock's run leaves before the final steps, the cheaper
        # volunteers' step and the LPs (laocheng-grid at twice its size, 10 s:
        # U2 >= 315 against the LP's 168)
        wall = clock.wall_left() if clock.deterministic else left()
        cov_now = best.covered(c.n_tasks)
        jobs = [j for j in (week_job(k, cov_now)[0] for k in large) if j is not None]
        room = np.inf if wall is None else wall - final_est - cheapen_est
        # (a tier starts with SMALL_WEEK_MIN_SECONDS left, as the small
        # components' do: a medium component's bound takes ~0.2 s, and one
        # cut short is still a bound)
        if jobs and WEEK_ONE_WORKER_SHARE * room > SMALL_WEEK_MIN_SECONDS:
            until = time.perf_counter() + WEEK_ONE_WORKER_SHARE * min(room, limit)
            by_tier = _week_bounds(
                c, full, jobs, until, task_pairs, None, min_seconds=SMALL_WEEK_MIN_SECONDS, incumbent=best
            )[0]
            week_found.update(by_tier)
            _merge_tier_bounds(c, full, by_tier, comp_bounds, t_label, best)
            mark("week bounds")
        late = _late_lp_jobs(c, full, large, t_label, comp_bounds, week_found, best, task_pairs, LATE_LP_SHARE * limit)
        # (at least LATE_LP_MIN_SECONDS: an LP is started with its minimum time left)
        late_window = max(LATE_LP_MIN_SECONDS, _late_window(late))
        wall = clock.wall_left() if clock.deterministic else left()
        room = np.inf if wall is None else wall - final_est
        if late and late_window <= LATE_LP_SHARE * limit and room > late_window:
            got = _later_lp_bounds(c, full, late, time.perf_counter() + late_window)()[0]
            _merge_tier_bounds(c, full, got, comp_bounds, t_label, best)
            mark("later tiers' restricted LPs")

    # the soft part of the large components' bounds (an LP, once every tier is proven)
    cov_best = best.covered(c.n_tasks)
    for k in large:
        in_comp = t_label == k
        b = comp_bounds[k]
        prim = _tier_u(c, in_comp, cov_best)
        proven = all(b.uncovered[j] == prim[j] for j in range(T))
        soft = _trivial_soft_part(c, full, in_comp, v_label == k)
        n_cols = int(task_pairs[in_comp].sum())
        # only when its build and a first solve fit before the final steps (a
        # 388,529-pair problem at 2 s built it with 0.5 s left and ended at
        # 13.5 s: the audit of stop 49)
        if proven and n_cols <= LP_MAX_COLUMNS and left() > FINAL_RATE * len(full) + LP_BUILD_RATE * n_cols + _lp_min_seconds(n_cols):
            relax = Relaxation(c, full, in_comp)
            value = relax.soft_bound({j + 1: b.uncovered[j] for j in range(T)}, max(0.05, left()), v_label == k)
            if value is not None:
                soft = max(soft, value)
        comp_bounds[k] = ComponentBound(b.uncovered, soft, proven)

    # visits back to cheaper free volunteers (the greedy's last step, on the
    # search's schedule: its refills spare contested volunteers too), when
    # the time left holds it by estimate
    if large and cheapen_fits(cheapen_est):
        offer(cheapen(c, full, best))
        clock.charge(cheapen_budget)
        mark("cheaper volunteers")

    final = fill(c, cands, best, split)
    mark("fill")
    if not offer(final) and final is not best and not violations(c, final):
        # the fill added tasks whose cover raises the score (weight 0 or less:
        # docs/readings.md, "Solving"); assign.solve fills the returned
        # schedule anyway, so the filled one is what stands against the
        # greedy's, filled too (the audit of stop 48: soft 315.5 before the
        # fill and 318.6 after, against the greedy's 318.0)
        best, best_key = final, evaluate(c, final).key()
        if not violations(c, greedy):
            greedy_filled = fill(c, cands, greedy, split)
            filled_key = evaluate(c, greedy_filled).key()
            if filled_key < best_key and kept_pins(greedy_filled) >= kept_pins(best) and strictly_valid(greedy_filled):
                best, best_key = greedy_filled, filled_key
    if violations(c, best):  # only when the greedy's schedule was invalid and nothing replaced it
        best, best_key = greedy, greedy_key

    bound = global_bound
    if bound is None:
        bound = _assemble_bound(c, full, t_label, v_label, comps, comp_bounds, best)
    triv = trivial_bound(c, full)
    if bound is None:
        bound = triv
    elif triv is not None:
        # the trivial U (weight of tasks that can never be staffed) holds for every
        # schedule, so the larger of the two per tier is still a valid bound; the
        # soft part stays ours (see _assemble_bound)
        bound = Bound(
            uncovered=tuple(max(a, b) for a, b in zip(bound.uncovered, triv.uncovered, strict=True)),
            soft=bound.soft,
        )
    key_u, key_soft = tuple(best_key[:-1]), float(best_key[-1])
    if bound is not None and (
        tuple(bound.uncovered) > key_u
        or (tuple(bound.uncovered) == key_u and bound.soft > key_soft + 1e-6 * max(1.0, abs(key_soft)))
    ):
        # the exact stages may keep a pin that the schedule drops where the
        # validator allows it (kept pins at their starts, docs/readings.md,
        # Pins): their bound is then no promise for this schedule, the
        # trivial one is
        bound = triv
    final_bound = bound
    bound_so_far["whole"] = lambda: final_bound
    mark("done")
    return AutoResult(
        solution=best,
        bound=bound,
        key=best_key,
        greedy_key=greedy_key,
        n_components=len(comps),
        n_small=len(small),
        n_large=len(large),
        exact_tiers=exact_tiers,
        lns=lns_stats,
        seconds=time.perf_counter() - began,
        log=log,
        keys=keys,
    )


def _assemble_bound(
    c: Compiled,
    full: Candidates,
    t_label: I64,
    v_label: I64,
    comps: list[int],
    comp_bounds: dict[int, ComponentBound],
    best: Solution,
) -> Any:
    """Add the components' bounds (U is separable; the soft part is separable
    except equity, bounded apart) into one bound of the whole problem."""
    from ..model import Bound
    from ..score import evaluate

    T = c.n_tiers
    in_some = np.isin(t_label, comps)
    u = np.zeros(T)
    # tasks outside every component with pairs are never covered
    out = ~in_some
    np.add.at(u, c.t_tier[out] - 1, c.t_weight[out].astype(np.float64))
    soft = c.weights["stability"] * len(c.previous_keys)
    vol_in = np.isin(v_label, comps)
    # fairness of volunteers without any pair: load 0
    cap = c.share_capacity
    idle = ~vol_in & (cap > 0)
    soft += c.weights["fairness"] * float(((c.v_history_minutes[idle] / cap[idle]) ** 2).sum())
    all_proven = True
    for k in comps:
        b = comp_bounds.get(k)
        if b is None:
            in_comp = t_label == k
            b = ComponentBound(_impossible_u(c, full, in_comp), _trivial_soft_part(c, full, in_comp, v_label == k), False)
        u += np.asarray(b.uncovered[:T], dtype=np.float64)
        soft += b.soft
        all_proven = all_proven and b.proven
    score = evaluate(c, best)
    tied = all_proven and tuple(int(round(x)) for x in u) == tuple(score.uncovered)
    eq = _equity_floor(c, full, [float(x) for x in u] if tied else None)
    if eq is None or not np.isfinite(soft):
        return None
    soft += eq
    soft -= 1e-9 * max(1.0, abs(soft))
    return Bound(uncovered=tuple(int(round(x)) for x in u), soft=float(soft))


def solve_auto(
    c: Compiled, cands: Candidates, time_limit: float | None, seed: int, workers: int | None
) -> tuple[Solution, Any]:
    """The strategy entry: ``(solution, bound)``."""
    result = solve_auto_detailed(c, cands, time_limit, seed, workers)
    return result.solution, result.bound


def _register() -> None:
    from . import register

    register("auto", solve_auto)


_register()


# ---------------------------------------------------------- ordered greedy


def ratio_order(c: Compiled) -> I64:
    """Tier ascending, then weight per minute of volunteer time descending
    (a knapsack greedy: pledged minutes are what runs out), window start, index."""
    return np.lexsort((np.arange(c.n_tasks), c.t_window_start, -weight_per_minute(c), c.t_tier)).astype(np.int64)

