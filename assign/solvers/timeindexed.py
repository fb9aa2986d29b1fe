"""Time-indexed 0-1 models of whole tiers: a relaxation and a restriction.

Each eligible free (task, volunteer) pair gets *options*: ranges of start
minutes ``[lo, hi]``. One Boolean per option; the rows are the SPEC §4 rules
stated so that they hold for every start inside the chosen ranges:

* coverage per task (whole teams: ``sum = team * z``; one option per pair);
* rule 9, *sure* conflicts only: two options of a volunteer conflict when no
  starts in their ranges keep the visits apart, travel included
  (``hi_b < lo_a + dur_a + travel_ab`` and ``hi_a < lo_b + dur_b + travel_ba``).
  Options whose intervals ``[hi, lo + dur + g)`` share a point (``g`` the
  shortest travel out of the option's home) conflict pairwise: one
  at-most-one per maximal clique from a sweep; pairs that only a longer
  travel separates get a clause;
* rule 10: a knapsack row per volunteer (pledged minutes do not depend on
  the start); rule 11: a count per volunteer and day, over the options whose
  range lies inside that day.

Two kinds of options make two models (:func:`solve_tiers`):

* ``"relax"``: each pair's feasible starts (window ∩ availability) cut into
  ranges of ``step`` minutes. Every valid schedule picks, per assignment, the
  range holding its start, and satisfies every row (the rows only claim
  conflicts that hold for all starts in the ranges; team members may even sit
  in different ranges). So the model is a **relaxation**: its CP-SAT bound,
  with the tasks of other tiers left out and pins ignored, is a bound of the
  problem's ``U_j`` (tier by tier, as in :mod:`assign.solvers.auto`).
* ``"restrict"``: one option per range, at its first feasible start
  (``lo == hi``): conflicts are then exact and a team shares its start
  (``z`` per task and start), so a solution is a valid schedule of these
  tasks: a **restriction**, for schedules.

A task whose window is as long as its visit (fixed-time, e.g. medical
appointments) has one start: both models coincide and are exact. For such
tasks no start variables are needed at all, which is what lets a county's
tier 1 be solved exactly (Shiquan: 2,518 appointments, 35 medical
volunteers, 31,000 pairs, proven optimal in ~7-9 s on one core without a
hint, 11-19 s hinted with the greedy's schedule: CP-SAT's hint search is
the difference, see :data:`assign.solvers.auto.FIXED_HINT`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .. import clock as clocks
from .. import rules
from ..arrays import ragged_ranges
from ..candidates import Candidates
from ..compile import Compiled

I64 = NDArray[np.int64]
Mode = Literal["relax", "restrict"]


def fixed_time(c: Compiled) -> NDArray[np.bool_]:
    """Tasks with exactly one possible start (window == duration)."""
    return (c.t_window_end - c.t_window_start) == c.t_duration


def sweep_cliques(start: I64, end: I64) -> list[I64]:
    """Maximal sets of intervals ``[start, end)`` sharing a point (indexes);
    empty intervals belong to none."""
    real = np.flatnonzero(end > start)
    order = real[np.lexsort((end[real], start[real]))]
    s, e = start[order], end[order]
    points = np.unique(s)
    out: list[I64] = []
    upto = np.searchsorted(s, points, side="right")  # active at m: s <= m < e, a prefix in s
    for j, m in enumerate(points.tolist()):
        head = np.arange(int(upto[j]))
        active = head[e[head] > m]
        if len(active) < 2:
            continue
        nxt = points[j + 1] if j + 1 < len(points) else None
        if nxt is not None and int(e[active].min()) > nxt:
            continue  # the next point's set contains this one
        out.append(order[active])
    return out


def max_travel_minutes(c: Compiled) -> int:
    """Travel minutes between two homes in one volunteer's radius, at most."""
    reach = 2.0 * float(c.v_radius.max()) + 1e-6 if c.n_volunteers else 0.0
    return int(rules.travel_minutes(c, np.array([reach]))[0]) + 1


def add_visit_conflicts(
    m: Any,
    y: list[Any],
    idx: I64,
    lo: NDArray[Any],
    hi: NDArray[Any],
    duration: NDArray[Any],
    recipient: NDArray[Any],
    task: NDArray[Any],
    c: Compiled,
    max_travel: int,
) -> int:
    """Rule 9 among the options ``idx`` of one volunteer: every *sure*
    conflict (see the module docstring), exactly when ``lo == hi``.

    ``lo``, ``hi`` (start range), ``duration``, ``recipient``, ``task`` are
    per option (indexed by ``idx``); options of one task never conflict here
    (the task's coverage rows handle them). Returns the number of rows added.
    """
    n_rows = 0
    a_lo, a_hi, dur, rec, tk = lo[idx], hi[idx], duration[idx], recipient[idx], task[idx]
    if len(idx) < 2:
        return 0
    recs, r_of = np.unique(rec, return_inverse=True)
    pairs_rt = np.unique(np.stack((r_of, tk)), axis=1)
    tasks_at = np.bincount(pairs_rt[0], minlength=len(recs))
    # per recipient, at most the shortest travel to another visit of these:
    # 0 to another task at the same home, else at most the travel to the
    # nearest other home (it only widens the clique intervals below; every
    # other pair's conflict is tested with its own travel)
    gmin = np.minimum(np.where(tasks_at > 1, 0, _nearest_travel_floor(c, recs))[r_of], max_travel)
    end = a_lo + dur + gmin  # the clique interval is [hi, end)
    for clique in sweep_cliques(a_hi, end):
        if len(np.unique(tk[clique])) > 1:
            m.add_at_most_one([y[k] for k in idx[clique]])
            n_rows += 1
    # pairs (a, b), hi_a <= hi_b, that a longer travel than g makes conflict
    order = np.argsort(a_hi, kind="stable")
    h_sorted = a_hi[order]
    pos = np.empty(len(idx), dtype=np.int64)
    pos[order] = np.arange(len(idx))
    first = pos + 1
    last = np.searchsorted(h_sorted, a_lo + dur + max_travel, side="left")
    cnt = np.maximum(last - first, 0)
    if cnt.sum():
        aa = np.repeat(np.arange(len(idx)), cnt)
        bb = order[ragged_ranges(first, cnt)]
        keep = tk[aa] != tk[bb]
        aa, bb = aa[keep], bb[keep]
        # (a start range longer than the visit and gmin leaves its clique
        # interval empty: its pairs are tested one by one)
        in_clique = (a_hi[bb] < end[aa]) & (a_hi[aa] < end[bb]) & (a_hi[aa] < end[aa]) & (a_hi[bb] < end[bb])
        travel = rules.travel_between_recipients(c, rec[aa], rec[bb])  # (symmetric)
        sure = (a_hi[bb] < a_lo[aa] + dur[aa] + travel) & (a_hi[aa] < a_lo[bb] + dur[bb] + travel)
        pick = np.flatnonzero(sure & ~in_clique)
        # y_a excludes every such y_b: one enforced conjunction per option a,
        # written into the proto (a clause per pair through the Python API
        # took ~1.5 s for Shiquan's 297,000 pairs)
        if len(pick):
            lit = np.fromiter((y[k].index for k in idx.tolist()), dtype=np.int64, count=len(idx))  # per option here
            pa, pb = aa[pick], bb[pick]
            order_p = np.argsort(pa, kind="stable")
            pa, pb = pa[order_p], pb[order_p]
            cuts = np.flatnonzero(np.diff(pa)) + 1
            lit_a = lit[pa[np.concatenate(([0], cuts))]].tolist()
            neg_b = (-lit[pb] - 1).tolist()
            bounds = np.concatenate(([0], cuts, [len(pa)])).tolist()
            cons = m.proto.constraints
            for j, lit in enumerate(lit_a):
                ct = cons.add()
                ct.enforcement_literal.append(lit)
                ct.bool_and.literals.extend(neg_b[bounds[j] : bounds[j + 1]])
            n_rows += len(lit_a)
    return n_rows


def _nearest_travel_floor(c: Compiled, recs: I64) -> I64:
    """Per recipient of ``recs`` (distinct): at most the travel minutes to the
    nearest other one (a k-d tree on the chords, one minute below for
    rounding); a large number when there is no other."""
    from scipy.spatial import cKDTree

    from ..compile import EARTH_RADIUS_KM

    big = np.iinfo(np.int64).max // 4
    if len(recs) < 2:
        return np.full(len(recs), big, dtype=np.int64)
    xyz = c.r_xyz[recs]
    chord, _ = cKDTree(xyz).query(xyz, k=2)
    km = 2.0 * np.arcsin(np.minimum(chord[:, 1] / 2.0, 1.0)) * EARTH_RADIUS_KM * c.detour_factor
    return np.maximum(rules.travel_minutes(c, km) - 1, 0)


@dataclass(frozen=True)
class Options:
    """Options of the pairs of some tasks (parallel arrays)."""

    task: I64
    volunteer: I64
    load: I64
    lo: I64
    hi: I64
    pair: I64  # index of the option's pair (task, volunteer), 0..n_pairs-1


def make_options(
    c: Compiled,
    cands: Candidates,
    tasks: NDArray[np.bool_],
    step: int,
    mode: Mode,
    pinned_only: NDArray[np.bool_] | None = None,
) -> Options:
    """The options of every candidate pair of ``tasks`` (see the module
    docstring); for the tasks in ``pinned_only``, of their pinned pairs only."""
    rows = np.flatnonzero(tasks[cands.task])
    t = cands.task[rows].astype(np.int64)
    v = cands.volunteer[rows].astype(np.int64)
    if pinned_only is not None:
        keep_row = ~pinned_only[t] | rules.is_pinned(c, t, v)
        rows, t, v = rows[keep_row], t[keep_row], v[keep_row]
    load = cands.load[rows].astype(np.int64)
    ok = (load <= c.v_max_minutes[v]) & (c.v_max_per_day[v] > 0)
    t, v, load = t[ok], v[ok], load[ok]
    dur = c.t_duration[t]
    # feasible start ranges: window ∩ each availability interval of the volunteer
    counts = c.av_ptr[v + 1] - c.av_ptr[v]
    owner = np.repeat(np.arange(len(t), dtype=np.int64), counts)
    iv = ragged_ranges(c.av_ptr[v], counts)
    tt = t[owner]
    r_lo = np.maximum(c.t_window_start[tt], c.av_start[iv])
    r_hi = np.minimum(c.t_window_end[tt], c.av_end[iv]) - dur[owner]
    keep = r_lo <= r_hi
    owner, r_lo, r_hi = owner[keep], r_lo[keep], r_hi[keep]
    # cut each range into buckets of `step` minutes counted from the window start
    step = max(1, int(step))
    ws = c.t_window_start[t[owner]]
    k0 = (r_lo - ws) // step
    k1 = (r_hi - ws) // step
    nb = k1 - k0 + 1
    o_owner = np.repeat(owner, nb)
    k = ragged_ranges(k0, nb)
    o_ws = c.t_window_start[t[o_owner]]
    o_lo = np.maximum(np.repeat(r_lo, nb), o_ws + k * step)
    o_hi = np.minimum(np.repeat(r_hi, nb), o_ws + (k + 1) * step - 1)
    if mode == "restrict":
        o_hi = o_lo.copy()
    # one option per (pair, bucket): ranges of one pair never share a bucket
    # unless two availability intervals meet inside it (joined intervals do not)
    key = o_owner * (1 << 20) + k
    _, first = np.unique(key, return_index=True)
    if len(first) != len(key):  # merge ranges of the same bucket (relaxation: their hull)
        uk, inv = np.unique(key, return_inverse=True)
        lo_m = np.full(len(uk), np.iinfo(np.int64).max)
        hi_m = np.full(len(uk), np.iinfo(np.int64).min)
        np.minimum.at(lo_m, inv, o_lo)
        np.maximum.at(hi_m, inv, o_hi)
        o_owner = o_owner[first]
        o_lo, o_hi = lo_m, (lo_m if mode == "restrict" else hi_m)
    return Options(task=t[o_owner], volunteer=v[o_owner], load=load[o_owner], lo=o_lo, hi=o_hi, pair=o_owner)


def surely_kept_pins(c: Compiled, cands: Candidates) -> NDArray[np.bool_]:
    """Per pin (rows of ``c.t_pin``), whether *every* valid schedule keeps it.

    SPEC rule 12 lets a pin go only when alone it breaks a rule or it collides
    with other pins. A pin surely stays when (conservatively): its task needs
    one volunteer and has no other pin among the candidates, and the pair is eligible and free (a candidate) within the
    volunteer's pledge and daily limit; all the volunteer's pins together fit
    the pledge; on each day its window touches, the volunteer's pins whose
    windows touch that day fit the daily limit; and no other pin of the
    volunteer can come near it (their windows, widened by the longest travel,
    stay apart). The volunteer's candidacy as a mate of a pinned team task
    (more than one volunteer needed) counts as a pin of theirs here: a kept
    pin's team may need them as its mate, and the pin may go when it keeps
    them from that team (rule 12 read either way: with the kept pins
    re-timed or at their starts). Then it collides with no set of other pins
    (nor their teams), so it is kept. Used to strengthen relaxations without
    losing their validity. (The groups of :func:`kept_pin_groups` of one pin.)
    """
    return split_pin_groups(c, cands)[0]


def pin_candidate_rows(c: Compiled, cands: Candidates) -> I64:
    """Per pin (rows of ``c.t_pin``), its pair's row of ``cands``; -1 where
    the pair is no candidate (candidates are sorted by task: only the pinned
    tasks' rows are read)."""
    pt = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    n = cands.ptr[pt + 1] - cands.ptr[pt]
    rows = ragged_ranges(cands.ptr[pt], n)
    pin = np.repeat(np.arange(len(pt), dtype=np.int64), n)
    hit = cands.volunteer[rows].astype(np.int64) == c.t_pin[pin].astype(np.int64)
    out = np.full(len(pt), -1, dtype=np.int64)
    out[pin[hit]] = rows[hit]
    return out


def sure_pin_rows(c: Compiled, cands: Candidates) -> I64:
    """The rows of ``cands`` of the surely kept pins
    (:func:`surely_kept_pins`: pairs of every valid schedule), sorted."""
    if not len(c.t_pin):
        return np.zeros(0, dtype=np.int64)
    return np.unique(pin_candidate_rows(c, cands)[surely_kept_pins(c, cands)])


def kept_pin_groups(c: Compiled, cands: Candidates) -> list[NDArray[np.int64]]:
    """Groups of two or more pins (rows of ``c.t_pin``) of which *every* valid
    schedule keeps at least one.

    A group is the pins of one volunteer that can come near one another
    (windows widened by the longest travel, chained), when each of them
    meets :func:`surely_kept_pins`' conditions but the one on nearness, no
    other pin of the volunteer (nor their candidacy as a mate of a pinned
    team task) comes near any of them, and on each day a member's window
    touches, the volunteer's pins outside the group whose windows touch
    that day leave room for one more under the daily limit. A schedule
    keeping none of them could add any one (nothing else it keeps can clash
    with it, its pledge holds all the volunteer's pins, its day has room),
    which rule 12 forbids, read either way (with the kept pins at their
    starts or re-timed). Of two pins of one volunteer in the same
    half-hour, a schedule may keep either: neither is surely kept, but
    dropping both is not valid (Shiquan seed 2's tier 1: its relaxation
    rose from 26,273 to 26,302 with these groups, the restriction 26,324)."""
    return split_pin_groups(c, cands)[1]


def split_pin_groups(c: Compiled, cands: Candidates) -> tuple[NDArray[np.bool_], list[NDArray[np.int64]]]:
    """:func:`surely_kept_pins` and :func:`kept_pin_groups` from one pass."""
    sure = np.zeros(len(c.t_pin), dtype=bool)
    groups = []
    for group in _pin_groups(c, cands):
        if len(group) == 1:
            sure[group] = True
        else:
            groups.append(group)
    return sure, groups


def _pin_groups(c: Compiled, cands: Candidates) -> list[NDArray[np.int64]]:
    """The groups of :func:`kept_pin_groups`, those of one pin included (the
    surely kept pins)."""
    n_pins = len(c.t_pin)
    if n_pins == 0:
        return []
    pt = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    pv = c.t_pin.astype(np.int64)
    query = pt * c.n_volunteers + pv
    row = pin_candidate_rows(c, cands)
    found = row >= 0
    # one volunteer needed and one pin that is a candidate (of two such pins
    # either may go; a pin outside the candidates breaks a rule alone, so it
    # goes in every valid schedule and is no rival)
    rivals = np.bincount(pt[found], minlength=c.n_tasks)
    ok = found & (c.t_needed[pt] == 1) & (rivals[pt] == 1)
    load = np.where(found, cands.load[np.maximum(row, 0)].astype(np.int64) if len(cands.task) else 0, 0)
    ok &= c.v_max_per_day[pv] > 0
    # the volunteer's pins together: minutes (a pin outside the candidates is
    # counted at its duration, at least what it would use)
    use = np.where(found, load, c.t_duration[pt])
    # ... and their candidacies as mates of pinned team tasks (each counted
    # as a pin of theirs; their own pins of those tasks are counted already)
    pinned_team = (np.diff(c.t_pin_ptr) > 0) & (c.t_needed > 1)
    mate = pinned_team[cands.task]
    if mate.any():
        mt = cands.task[mate].astype(np.int64)
        mv = cands.volunteer[mate].astype(np.int64)
        own = np.isin(mt * c.n_volunteers + mv, query)
        mt, mv = mt[~own], mv[~own]
        ml = cands.load[mate][~own].astype(np.int64)
        pt = np.concatenate((pt, mt))
        pv = np.concatenate((pv, mv))
        use = np.concatenate((use, ml))
        ok = np.concatenate((ok, np.zeros(len(mt), dtype=bool)))
    total = np.bincount(pv, weights=use, minlength=c.n_volunteers)
    ok &= total[pv] <= c.v_max_minutes[pv]
    ws, we = c.t_window_start[pt], c.t_window_end[pt]
    d0, d1 = rules.day_of(c, ws), rules.day_of(c, we - 1)
    margin = max_travel_minutes(c)
    by = np.argsort(pv, kind="stable")
    ptr = np.searchsorted(pv[by], np.arange(c.n_volunteers + 1))
    # chains of nearness among each volunteer's pins (and mate candidacies):
    # their windows widened by the longest travel overlap, so a sweep in
    # window order splits them where a window starts after every earlier
    # one's widened end (the running maximum kept apart per volunteer)
    lo = ws - ws.min()
    hi = we + margin - ws.min()
    big = int(hi.max()) + 1
    o = np.lexsort((lo, pv))
    reach = np.maximum.accumulate(pv[o] * big + hi[o])
    starts = np.ones(len(o), dtype=bool)
    starts[1:] = (pv[o][1:] != pv[o][:-1]) | (pv[o][1:] * big + lo[o][1:] >= reach[:-1])
    cut = np.flatnonzero(starts)
    all_ok = np.logical_and.reduceat(ok[o], cut)
    groups: list[NDArray[np.int64]] = []
    for g in np.flatnonzero(all_ok).tolist():
        group = np.sort(o[cut[g] : cut[g + 1] if g + 1 < len(cut) else len(o)])
        v = int(pv[group[0]])
        lim = int(c.v_max_per_day[v])
        if lim < (1 << 40):
            # each member's days: the volunteer's pins outside the group leave room for it
            mine = by[ptr[v] : ptr[v + 1]]
            outside = mine[~np.isin(mine, group)]
            if any(
                int(np.count_nonzero((d0[outside] <= d) & (d1[outside] >= d))) + 1 > lim
                for i in group.tolist()
                for d in range(int(d0[i]), int(d1[i]) + 1)
            ):
                continue
        groups.append(group)
    return groups


@dataclass(frozen=True)
class TierResult:
    """Outcome of :func:`solve_tiers`: the chosen options (for ``"restrict"``,
    and for fixed-time tasks, a schedule: start = ``lo``) and one stage per
    tier attempted, most urgent first: (tier, value, bound, proven)."""

    task: I64
    volunteer: I64
    start: I64
    stages: tuple[tuple[int, float, float, bool], ...]
    options: int
    seconds: float
    status: str


#: status of a :func:`solve_tiers` result whose model could not be built in its time
BUILD_TIMEOUT = "BUILD_TIMEOUT"
#: CP-SAT deterministic time per second of the deterministic clock (one
#: worker, :mod:`assign.clock`) on these models: ``auto``'s budget for them
#: (its ``WORK_RATE``, set on the benchmark machine)
DTIME_PER_SECOND = 1.2
#: tasks added to the model between two looks at the clock
BUILD_CHECK = 256


def _unbuilt(n_options: int, began: float) -> TierResult:
    """The result of a model whose building ran out of time: nothing chosen."""
    empty = np.zeros(0, dtype=np.int64)
    return TierResult(
        task=empty, volunteer=empty, start=empty, stages=(), options=n_options,
        seconds=time.perf_counter() - began, status=BUILD_TIMEOUT,
    )


def solve_tiers(
    c: Compiled,
    cands: Candidates,
    tasks: NDArray[np.bool_],
    *,
    mode: Mode = "relax",
    step: int = 15,
    time_limit: float,
    seed: int = 0,
    workers: int = 1,
    hint: tuple[I64, I64, I64] | None = None,
    pins: tuple[I64, I64] | None = None,
    obstacles: tuple[I64, I64, I64] | None = None,
    tiers: tuple[int, ...] | None = None,
    pinned_only: NDArray[np.bool_] | None = None,
    dtime: float | None = None,
    params: dict[str, Any] | None = None,
    pin_groups: list[tuple[I64, I64]] | None = None,
) -> TierResult:
    """Minimise ``U_j`` over ``tasks``, tier by tier (each proven optimum fixed
    before the next; stops at the first stage not proven).

    ``cands`` must hold every eligible free pair of these tasks (complete
    candidates). ``hint``: assignments (task, volunteer, start) of a known
    schedule. ``pins``: (task, volunteer) pairs that must be kept, and
    ``obstacles``: assignments (task, volunteer, start) that stay as they are
    (their visits, minutes and daily counts taken into account) — both
    restrictions, for schedules. In ``"relax"`` mode without pins and
    obstacles every stage bound (``"relax"``: also of a stage not proven, when
    the stages before it are proven) is a bound of the problem's ``U_j``.
    ``pinned_only``: tasks whose options are those of their pinned pairs
    only (for one-volunteer tasks whose pin is forced, nothing is lost).
    ``tiers``: the tiers to minimise (default: every tier of ``tasks``).
    ``dtime``: a CP-SAT deterministic-time budget over all stages (with one
    worker, a limit that repeats exactly, unlike ``time_limit``).
    ``pin_groups``: groups of pins (task, volunteer) of which at least one
    is kept (:func:`kept_pin_groups`: every valid schedule does; the
    relaxation stays one), the groups' tasks in ``tasks``.
    ``params``: CP-SAT parameters that replace the defaults set here (e.g.
    ``{"linearization_level": 1}``; ``benchmarks/bounds.py fixed`` compares them).

    Building the model watches ``time_limit`` too: when it is spent before
    the model is complete (a very large model), nothing is solved and the
    result has no stages, no assignments and status :data:`BUILD_TIMEOUT`.
    """
    from ortools.sat.python import cp_model

    began = time.perf_counter()
    clock = clocks.current()
    deadline = clock.now() + max(0.0, float(time_limit))
    opts = make_options(c, cands, tasks, step, mode, pinned_only)
    t, v, load, lo, hi = opts.task, opts.volunteer, opts.load, opts.lo, opts.hi
    dur = c.t_duration[t]
    rec = c.t_recipient[t]
    used = np.zeros(c.n_volunteers, dtype=np.int64)
    span_days = c.n_days + 2  # day keys: volunteer * span_days + day
    day_used: dict[int, int] = {}  # obstacles per day key
    keep = np.ones(len(t), dtype=bool)
    day_lo, day_hi = rules.day_of(c, lo), rules.day_of(c, hi)
    if obstacles is not None and len(obstacles[0]):
        ot, ov, os_ = (np.asarray(a, dtype=np.int64) for a in obstacles)
        used = rules.volunteer_loads(c, ot, ov)
        keep &= used[v] + load <= c.v_max_minutes[v]
        uk, uc = np.unique(ov * span_days + rules.day_of(c, os_), return_counts=True)
        day_used = dict(zip(uk.tolist(), uc.tolist(), strict=True))
        query = v * span_days + day_lo
        pos = np.minimum(np.searchsorted(uk, query), len(uk) - 1)
        dcount = np.where(uk[pos] == query, uc[pos], 0)
        keep &= (day_lo != day_hi) | (dcount < c.v_max_per_day[v])
        # rule 9 against the obstacles of the same volunteer (options are
        # dropped only when every start in them clashes: restrict has lo == hi)
        by = np.argsort(ov, kind="stable")
        optr = np.searchsorted(ov[by], np.arange(c.n_volunteers + 1))
        n_obs = optr[v + 1] - optr[v]
        jj = np.repeat(np.arange(len(t)), n_obs)
        o = by[ragged_ranges(optr[v], n_obs)]
        o_end = os_[o] + c.t_duration[ot[o]]
        after = hi[jj] >= o_end + rules.travel_between_recipients(c, c.t_recipient[ot[o]], rec[jj])
        before = lo[jj] + dur[jj] + rules.travel_between_recipients(c, rec[jj], c.t_recipient[ot[o]]) <= os_[o]
        clash = np.zeros(len(t), dtype=bool)
        clash[jj[~(after | before)]] = True
        keep &= ~clash
    sel = np.flatnonzero(keep)
    t, v, load, lo, hi, dur, rec = t[sel], v[sel], load[sel], lo[sel], hi[sel], dur[sel], rec[sel]
    pair = opts.pair[sel]
    day_lo, day_hi = day_lo[sel], day_hi[sel]
    n: int = len(t)
    want = sorted(np.unique(c.t_tier[tasks]).tolist()) if tiers is None else list(tiers)

    m = cp_model.CpModel()
    y = [m.new_bool_var("") for _ in range(n)]
    cov: dict[int, Any] = {}
    z_of: list[tuple[Any, I64]] = []
    by_task = np.argsort(t, kind="stable")
    uniq, first = np.unique(t[by_task], return_index=True)
    ends = np.append(first, n).astype(np.int64)
    for i, task in enumerate(uniq.tolist()):
        if i % BUILD_CHECK == 0 and clock.now() > deadline:
            return _unbuilt(n, began)
        idx = by_task[ends[i] : ends[i + 1]]
        need = int(c.t_needed[task])
        if len(np.unique(v[idx])) < need:
            for j in idx.tolist():
                m.add(y[j] == 0)
            continue
        if need == 1:
            m.add_at_most_one([y[j] for j in idx.tolist()])
            cov[task] = cp_model.LinearExpr.sum([y[j] for j in idx.tolist()])
            continue
        # a team: one option per member, the same start (restrict) or any ranges (relax)
        for p in np.unique(pair[idx]).tolist():
            mine = idx[pair[idx] == p]
            if len(mine) > 1:
                m.add_at_most_one([y[j] for j in mine.tolist()])
        if mode == "restrict":
            zs = []
            for s in np.unique(lo[idx]).tolist():
                at = idx[lo[idx] == s]
                if len(np.unique(v[at])) < need:
                    for j in at.tolist():
                        m.add(y[j] == 0)
                    continue
                z = m.new_bool_var("")
                m.add(cp_model.LinearExpr.sum([y[j] for j in at.tolist()]) == need * z)
                zs.append(z)
                z_of.append((z, at))
            if zs:
                m.add_at_most_one(zs)
                cov[task] = cp_model.LinearExpr.sum(zs)
        else:
            z = m.new_bool_var("")
            m.add(cp_model.LinearExpr.sum([y[j] for j in idx.tolist()]) == need * z)
            cov[task] = z
            z_of.append((z, idx))
    if pins is not None and len(pins[0]) and n:
        keys = np.asarray(pins[0], dtype=np.int64) * c.n_volunteers + np.asarray(pins[1], dtype=np.int64)
        ok_key = t * c.n_volunteers + v
        pinned = np.flatnonzero(np.isin(ok_key, keys))
        pinned = pinned[np.argsort(ok_key[pinned], kind="stable")]
        for at in np.split(pinned, np.flatnonzero(np.diff(ok_key[pinned])) + 1) if len(pinned) else []:
            m.add(cp_model.LinearExpr.sum([y[j] for j in at.tolist()]) == 1)  # the pair's options: one
    for g_task, g_vol in pin_groups or []:
        # at least one pin of the group kept (its pairs' options)
        keys = np.asarray(g_task, dtype=np.int64) * c.n_volunteers + np.asarray(g_vol, dtype=np.int64)
        at = np.flatnonzero(np.isin(t * c.n_volunteers + v, keys))
        m.add(cp_model.LinearExpr.sum([y[j] for j in at.tolist()]) >= 1)
    # per volunteer: rules 9, 10, 11
    max_travel = max_travel_minutes(c)
    by_vol = np.argsort(v, kind="stable")
    vu, vfirst = np.unique(v[by_vol], return_index=True)
    vb = np.append(vfirst, n).astype(np.int64)
    for i, vol in enumerate(vu.tolist()):
        if clock.now() > deadline:  # a volunteer's rows can be many
            return _unbuilt(n, began)
        idx = by_vol[vb[i] : vb[i + 1]]
        add_visit_conflicts(m, y, idx, lo, hi, dur, rec, t, c, max_travel)
        room = int(c.v_max_minutes[vol] - used[vol])
        if int(load[idx].sum()) > room:
            m.add(cp_model.LinearExpr.weighted_sum([y[k] for k in idx.tolist()], load[idx].tolist()) <= room)
        lim = int(c.v_max_per_day[vol])
        if lim < len(idx):
            one_day = idx[day_lo[idx] == day_hi[idx]]
            for d in np.unique(day_lo[one_day]).tolist():
                on = one_day[day_lo[one_day] == d]
                left = lim - day_used.get(vol * span_days + d, 0)
                if len(np.unique(t[on])) > left:
                    m.add(cp_model.LinearExpr.sum([y[k] for k in on.tolist()]) <= left)
    if hint is not None and len(hint[0]):
        ht, hv, hs = (np.asarray(a, dtype=np.int64) for a in hint)
        hk = ht * c.n_volunteers + hv
        order = np.argsort(hk)
        hk, hs = hk[order], hs[order]
        ok_key = t * c.n_volunteers + v
        pos = np.minimum(np.searchsorted(hk, ok_key), len(hk) - 1)
        on = (hk[pos] == ok_key) & (lo <= hs[pos]) & (hs[pos] <= hi)
        if mode == "restrict":
            on &= hs[pos] == lo
        for var, val in zip(y, on.tolist(), strict=True):
            m.add_hint(var, val)
        for z, at in z_of:
            m.add_hint(z, bool(on[at].any()))

    stages: list[tuple[int, float, float, bool]] = []
    chosen = np.zeros(n, dtype=bool)
    status = "unknown"
    spent = 0.0
    for k, tier in enumerate(want):
        mine = [task for task in cov if int(c.t_tier[task]) == tier]
        total = float(c.t_weight[tasks & (c.t_tier == tier)].sum())
        if not mine:
            stages.append((tier, total, total, True))
            continue
        w = [int(c.t_weight[task]) for task in mine]
        covered = cp_model.LinearExpr.weighted_sum([cov[task] for task in mine], w)
        m.maximize(covered)
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = max(1, int(workers))
        prm.random_seed = (int(seed) + k) % (1 << 31)
        if dtime is not None:
            prm.max_deterministic_time = max(0.01, float(dtime) - spent)
        # measured on Shiquan's tier 1 with its pins (32,000 options, one
        # worker): proven in 13 s (restriction) and 8.5 s (relaxation) with the
        # full linear relaxation, 72 s and 31 s with the default level
        prm.linearization_level = 2
        # and a lighter presolve (one round, no probing): the same models
        # proved in 14-19 s against 19-29 s (one worker, two seeds each, the
        # 2-CPU Xeon, 2026-12-01, ad hoc on the models dumped from auto)
        prm.cp_model_probing_level = 0
        prm.max_presolve_iterations = 1
        for key, value in (params or {}).items():
            setattr(prm, key, value)
        code = clock.solve(solver, m, max(0.05, deadline - clock.now()), DTIME_PER_SECOND)
        spent += solver.deterministic_time
        status = solver.status_name(code)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        value = int(round(solver.objective_value))
        best = int(np.floor(solver.best_objective_bound + 1e-6))
        chosen = np.array([solver.boolean_value(var) for var in y], dtype=bool)
        proven = code == cp_model.OPTIMAL
        stages.append((tier, total - value, total - best, proven))
        if not proven:
            break
        m.add(covered >= value)
        m.clear_hints()
        for var, val in zip(y, chosen.tolist(), strict=True):
            m.add_hint(var, val)
    return TierResult(
        task=t[chosen], volunteer=v[chosen], start=lo[chosen], stages=tuple(stages), options=n,
        seconds=time.perf_counter() - began, status=status,
    )
