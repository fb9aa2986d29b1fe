"""The exact 0-1 model of tasks whose start is fixed (window == duration).

A task whose window is exactly as long as its visit has one possible start,
so its (task, volunteer) pairs need no start variable: whether two pairs of a
volunteer collide (rule 9 with travel), which day they count on (rule 11) and
what they cost (rules 10, score) is known before solving. The model over a set
of such tasks is then pure 0-1 and *exact*: one Boolean per eligible free pair,
coverage rows per task (whole teams), at-most-one cliques from one sweep over
each volunteer's visits (extended by the shortest travel out of each home),
pairwise clauses where only a longer travel separates two visits, a knapsack
row per volunteer (pledged minutes) and a count row per volunteer and day.

:func:`solve_fixed_tiers` minimises ``U_j`` over these tasks tier by tier
(most urgent first, each proven optimum fixed before the next). Leaving the
other tasks out and ignoring pins only enlarges the set of schedules, so a
proven stage value is a valid lower bound of ``U_j`` for the problem (for
every tier up to the first unproven one, lexicographically) — the same
argument as for the tier-truncated models of :mod:`assign.solvers.auto`.

Solving at county scale: Shiquan's 2,518 medical appointments (tier 1) over
35 medical volunteers are 31,000 pairs; the model builds in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import rules
from ..candidates import Candidates
from ..compile import Compiled

I64 = NDArray[np.int64]


def fixed_time(c: Compiled) -> NDArray[np.bool_]:
    """Tasks with exactly one possible start."""
    return (c.t_window_end - c.t_window_start) == c.t_duration


def sweep_cliques(start: I64, end: I64) -> list[I64]:
    """Maximal sets of intervals ``[start, end)`` sharing a point (indexes)."""
    order = np.lexsort((end, start))
    s, e = start[order], end[order]
    points = np.unique(s)
    out: list[I64] = []
    # active at point m: s <= m < e; with s sorted, the candidates are a prefix
    hi_idx = np.searchsorted(s, points, side="right")
    for j, m in enumerate(points.tolist()):
        head = np.arange(int(hi_idx[j]))
        active = head[e[head] > m]
        if len(active) < 2:
            continue
        nxt = points[j + 1] if j + 1 < len(points) else None
        if nxt is not None and int(e[active].min()) > nxt:
            continue  # the next point's set contains this one
        out.append(order[active])
    return out


def add_visit_conflicts(
    m: Any,
    y: list[Any],
    idx: I64,
    start: NDArray[Any],
    end: NDArray[Any],
    recipient: NDArray[Any],
    task: NDArray[Any],
    c: Compiled,
    max_travel: int,
) -> int:
    """Rule 9 among the visits ``idx`` (options) of one volunteer, exactly.

    ``start``, ``end``, ``recipient``, ``task`` are per option (indexed by
    ``idx``); options of the same task never conflict with each other here
    (the task's coverage row handles them). Visits overlapping once each is
    extended by the shortest travel out of its home form cliques (one sweep);
    pairs that only a longer travel separates get a clause. Returns the number
    of rows added.
    """
    n_rows = 0
    s, e, rec, tk = start[idx], end[idx], recipient[idx], task[idx]
    recs, r_of = np.unique(rec, return_inverse=True)
    ra, rb = np.meshgrid(recs, recs, indexing="ij")
    tmat = rules.travel_between_recipients(c, ra.ravel(), rb.ravel()).reshape(len(recs), len(recs))
    tasks_at = np.bincount(r_of[np.unique(np.stack((r_of, tk)), axis=1)[0]], minlength=len(recs)) if len(idx) else np.zeros(0, np.int64)
    big = np.iinfo(np.int64).max // 4
    np.fill_diagonal(tmat, np.where(tasks_at > 1, 0, big))
    if len(recs) > 1 or tasks_at.max(initial=0) > 1:
        gmin = tmat.min(axis=1)[r_of]
    else:
        gmin = np.zeros(len(idx), np.int64)
    gmin = np.minimum(gmin, max_travel)
    ext = e + gmin
    for clique in sweep_cliques(s, ext):
        if len(np.unique(tk[clique])) > 1:
            m.add_at_most_one([y[k] for k in idx[clique]])
            n_rows += 1
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    lo = np.searchsorted(s_sorted, ext, side="left")
    hi = np.searchsorted(s_sorted, e + max_travel, side="left")
    cnt = np.maximum(hi - lo, 0)
    if cnt.sum():
        aa = np.repeat(np.arange(len(idx)), cnt)
        within = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        bb = order[np.repeat(lo, cnt) + within]
        diff = tk[aa] != tk[bb]
        aa, bb = aa[diff], bb[diff]
        gap = tmat[r_of[aa], r_of[bb]]
        clash = s[bb] < e[aa] + gap
        for a, b in zip(idx[aa[clash]].tolist(), idx[bb[clash]].tolist(), strict=True):
            m.add_bool_or([y[a].Not(), y[b].Not()])
            n_rows += 1
    return n_rows


@dataclass(frozen=True)
class FixedResult:
    """Outcome of :func:`solve_fixed_tiers`."""

    task: I64
    volunteer: I64
    start: I64
    #: per tier stage attempted (most urgent first): (tier, value, bound, proven)
    stages: tuple[tuple[int, float, float, bool], ...]
    pairs: int
    seconds: float


def solve_fixed_tiers(
    c: Compiled,
    cands: Candidates,
    tasks: NDArray[np.bool_],
    *,
    time_limit: float,
    seed: int = 0,
    workers: int = 1,
    hint: tuple[I64, I64] | None = None,
    pins: tuple[I64, I64] | None = None,
    obstacles: tuple[I64, I64, I64] | None = None,
) -> FixedResult:
    """Minimise ``U_j`` over the fixed-time tasks in ``tasks``, tier by tier.

    ``cands`` must hold every eligible free pair of these tasks (complete
    candidates). ``hint``: (task, volunteer) pairs of a known schedule.
    ``pins``: (task, volunteer) pairs that must be kept (each one's Boolean
    is forced on; a restriction: the stage values are then not bounds). ``obstacles``:
    assignments (task, volunteer, start) that stay as they are — their
    volunteers' visits, minutes and daily counts are taken into account (also
    a restriction). With neither, each proven stage value is a lower bound of
    the problem's ``U_j`` (see the module docstring).
    """
    import time

    from ortools.sat.python import cp_model

    began = time.perf_counter()
    deadline = began + max(0.0, float(time_limit))
    ok_task = tasks & fixed_time(c)
    rows = np.flatnonzero(ok_task[cands.task])
    t = cands.task[rows].astype(np.int64)
    v = cands.volunteer[rows].astype(np.int64)
    load = cands.load[rows].astype(np.int64)
    s = c.t_window_start[t]
    e = s + c.t_duration[t]
    rec = c.t_recipient[t]
    day = rules.day_of(c, s)
    used = np.zeros(c.n_volunteers, dtype=np.int64)
    day_used: dict[tuple[int, int], int] = {}
    keep = (load <= c.v_max_minutes[v]) & (c.v_max_per_day[v] > 0)
    if obstacles is not None and len(obstacles[0]):
        ot, ov, os_ = (np.asarray(a, dtype=np.int64) for a in obstacles)
        used = np.bincount(ov, weights=rules.assignment_load(c, ot, ov), minlength=c.n_volunteers).astype(np.int64)
        keep &= used[v] + load <= c.v_max_minutes[v]
        od = rules.day_of(c, os_)
        for vv, dd in zip(ov.tolist(), od.tolist(), strict=True):
            day_used[(vv, dd)] = day_used.get((vv, dd), 0) + 1
        dcount = np.array([day_used.get((a, b), 0) for a, b in zip(v.tolist(), day.tolist(), strict=True)], dtype=np.int64)
        keep &= dcount < c.v_max_per_day[v]
        # rule 9 against the obstacles of the same volunteer
        by = np.argsort(ov, kind="stable")
        optr = np.searchsorted(ov[by], np.arange(c.n_volunteers + 1))
        n_obs = optr[v + 1] - optr[v]
        jj = np.repeat(np.arange(len(t)), n_obs)
        within = np.arange(int(n_obs.sum())) - np.repeat(np.cumsum(n_obs) - n_obs, n_obs)
        o = by[np.repeat(optr[v], n_obs) + within]
        first = s[jj] <= os_[o]
        apart = np.where(
            first,
            rules.visits_apart(c, t[jj], s[jj], ot[o], os_[o]),
            rules.visits_apart(c, ot[o], os_[o], t[jj], s[jj]),
        )
        clash = np.zeros(len(t), dtype=bool)
        clash[jj[~apart]] = True
        keep &= ~clash
    sel = np.flatnonzero(keep)
    rows, load, s, e, rec, day = rows[sel], load[sel], s[sel], e[sel], rec[sel], day[sel]
    t, v = t[sel], v[sel]
    n: int = len(rows)

    m = cp_model.CpModel()
    y = [m.new_bool_var("") for _ in range(n)]
    # coverage per task (whole teams)
    by_task = np.argsort(t, kind="stable")
    uniq, first = np.unique(t[by_task], return_index=True)
    bounds_ = np.append(first, n).astype(np.int64)
    cov: dict[int, Any] = {}
    for i, task in enumerate(uniq.tolist()):
        idx = by_task[bounds_[i] : bounds_[i + 1]]
        need = int(c.t_needed[task])
        if len(idx) < need:
            for j in idx.tolist():
                m.add(y[j] == 0)
            continue
        if need == 1:
            m.add_at_most_one([y[j] for j in idx.tolist()])
            cov[task] = cp_model.LinearExpr.sum([y[j] for j in idx.tolist()])
        else:
            z = m.new_bool_var("")
            m.add(cp_model.LinearExpr.sum([y[j] for j in idx.tolist()]) == need * z)
            cov[task] = z
    if pins is not None and len(pins[0]) and n:
        want_keys = np.unique(np.asarray(pins[0], dtype=np.int64) * c.n_volunteers + np.asarray(pins[1], dtype=np.int64))
        forced = np.isin(t * c.n_volunteers + v, want_keys)
        for j in np.flatnonzero(forced).tolist():
            m.add(y[j] == 1)
    # per volunteer: rule 9, 10, 11
    reach = 2.0 * float(c.v_radius.max()) + 1e-6 if c.n_volunteers else 0.0
    max_travel = int(rules.travel_minutes(c, np.array([reach]))[0]) + 1
    by_vol = np.argsort(v, kind="stable")
    vu, vfirst = np.unique(v[by_vol], return_index=True)
    vb = np.append(vfirst, n).astype(np.int64)
    for i, vol in enumerate(vu.tolist()):
        idx = by_vol[vb[i] : vb[i + 1]]
        add_visit_conflicts(m, y, idx, s, e, rec, t, c, max_travel)
        room = int(c.v_max_minutes[vol] - used[vol])
        if int(load[idx].sum()) > room:
            m.add(cp_model.LinearExpr.weighted_sum([y[k] for k in idx.tolist()], load[idx].tolist()) <= room)
        lim = int(c.v_max_per_day[vol])
        if lim < len(idx):
            for d in np.unique(day[idx]).tolist():
                on = idx[day[idx] == d]
                left = lim - day_used.get((vol, d), 0)
                if len(np.unique(t[on])) > left:
                    m.add(cp_model.LinearExpr.sum([y[k] for k in on.tolist()]) <= left)
    if hint is not None:
        want = set(zip(np.asarray(hint[0]).tolist(), np.asarray(hint[1]).tolist(), strict=True))
        on = [(a, b) in want for a, b in zip(t.tolist(), v.tolist(), strict=True)]
        for var, val in zip(y, on, strict=True):
            m.add_hint(var, val)

    stages: list[tuple[int, float, float, bool]] = []
    chosen = np.zeros(n, dtype=bool)
    tiers = sorted(np.unique(c.t_tier[ok_task]).tolist())
    for k, tier in enumerate(tiers):
        mine = [task for task in cov if int(c.t_tier[task]) == tier]
        total = float(c.t_weight[ok_task & (c.t_tier == tier)].sum())
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
        prm.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
        code = solver.solve(m)
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
    return FixedResult(
        task=t[chosen], volunteer=v[chosen], start=s[chosen], stages=tuple(stages), pairs=n,
        seconds=time.perf_counter() - began,
    )
