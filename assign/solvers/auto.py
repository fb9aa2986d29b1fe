"""strategy="auto" (work in progress)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..candidates import Candidates
from .. import rules
from ..compile import Compiled
from ..solution import Solution

I64 = NDArray[np.int64]


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


def _keys(ptr: I64, values: NDArray[np.int32], n_vol: int) -> I64:
    rows = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    return np.unique(rows * n_vol + values.astype(np.int64))


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

    def vcol(a: NDArray[np.generic], blank: object) -> NDArray[np.generic]:
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
        excluded_keys=_keys(r_excl_ptr, r_excl, n_all),
        preferred_keys=_keys(r_pref_ptr, r_pref, n_all),
        pinned_keys=_keys(t_pin_ptr, t_pin, n_all),
        previous_keys=_keys(t_prev_ptr, t_prev, n_all),
    )
    return Sub(sub, tasks, np.concatenate((vols, [-1])))


def sub_candidates(sub: Sub, task: I64, volunteer: I64, parent: Compiled) -> Candidates:
    """Candidates of ``sub`` for the given (sub task, sub volunteer) pairs."""
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
    del parent
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
        reach = 2.0 * float(c.v_radius.max()) + 1e-6 if c.n_volunteers else 0.0
        self.max_travel = int(rules.travel_minutes(c, np.array([reach]))[0]) + 1
        self.margin = self.max_dur + self.max_travel
        order = np.argsort(cands.volunteer, kind="stable")
        self.by_vol = order
        self.vol_ptr = np.searchsorted(cands.volunteer[order], np.arange(c.n_volunteers + 1)).astype(np.int64)
        cap = (c.v_history_capacity + c.v_max_minutes).astype(np.float64)
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
        self, sol: Solution, vols: I64, day: int, max_free: int, rng: np.random.Generator
    ) -> _NeighbourhoodModel | None:
        c, cands = self.c, self.cands
        vols = np.unique(np.asarray(vols, dtype=np.int64))
        in_v = np.zeros(c.n_volunteers, dtype=bool)
        in_v[vols] = True
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


def _sweep_cliques(start: I64, end: I64) -> list[I64]:
    """Maximal sets of intervals ``[start, end)`` sharing a point (indexes)."""
    order = np.lexsort((end, start))
    s, e = start[order], end[order]
    points = np.unique(s)
    out: list[I64] = []
    for j, m in enumerate(points.tolist()):
        active = np.flatnonzero((s <= m) & (e > m))
        if len(active) < 2:
            continue
        nxt = points[j + 1] if j + 1 < len(points) else None
        if nxt is not None and int(e[active].min()) > nxt:
            continue  # the next point's set contains this one
        out.append(order[active])
    return out


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
        within = np.arange(int(n_opt.sum())) - np.repeat(np.cumsum(n_opt) - n_opt, n_opt)
        y_start = o_s[np.repeat(opt_ptr[pl_t], n_opt) + within]
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
            keep = ~bad
            y_pair, y_start, y_end, y_t, y_v, y_day, fixed_count, y_rec = (
                a[keep] for a in (y_pair, y_start, y_end, y_t, y_v, y_day, fixed_count, y_rec)
            )
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
            for clique in _sweep_cliques(y_start[idx], y_end[idx]):
                group = idx[clique]
                if len(np.unique(y_tl[group])) > 1:
                    m.add_at_most_one([y[k] for k in group])
            order = idx[np.argsort(y_start[idx], kind="stable")]
            s_sorted = y_start[order]
            a_i, b_i = [], []
            for a_pos, a in enumerate(order.tolist()):
                lo = np.searchsorted(s_sorted, y_end[a], side="left")
                hi_ = np.searchsorted(s_sorted, y_end[a] + nb.max_travel, side="left")
                if hi_ > lo:
                    a_i.append(np.full(hi_ - lo, a))
                    b_i.append(order[lo:hi_])
                del a_pos
            if a_i:
                aa, bb = np.concatenate(a_i), np.concatenate(b_i)
                diff = y_tl[aa] != y_tl[bb]
                aa, bb = aa[diff], bb[diff]
                gap = rules.travel_between_recipients(c, y_rec[aa], y_rec[bb])
                clash = y_start[bb] < y_end[aa] + gap
                for a, b in zip(aa[clash].tolist(), bb[clash].tolist(), strict=True):
                    m.add_bool_or([y[a].Not(), y[b].Not()])
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
        nb, c, m, y = self.nb, self.nb.c, self.model, self.y
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
        u_terms = []
        weight = soft_hi - soft_lo + 1
        self.u_expr: list[tuple[int, Any]] = []
        for tier in sorted(np.unique(tiers_free).tolist(), reverse=True):
            mine = np.flatnonzero(tiers_free == tier).tolist()
            ws_ = [int(c.t_weight[free[i]]) for i in mine]
            expr = sum(ws_) - cp_model.LinearExpr.weighted_sum([self.cov[i] for i in mine], ws_)
            self.u_expr.append((tier, expr))
            u_terms.append((weight, expr))
            weight *= sum(abs(w) for w in ws_) + 1
        self.fits = weight < (1 << 61)
        if self.fits:
            m.minimize(cp_model.LinearExpr.sum([wt * e for wt, e in u_terms]) + self.soft_expr)
        else:  # U only; the soft part is left to the acceptance test
            m.minimize(cp_model.LinearExpr.sum([e for _, e in u_terms]))

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
        prm.max_time_in_seconds = max(0.01, float(time_limit))
        prm.max_deterministic_time = max(0.001, float(dtime))
        code = solver.solve(self.model)
        status = solver.status_name(code)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            empty = np.zeros(0, dtype=np.int64)
            return Move(self.free, empty, empty, empty, status, solver.deterministic_time, len(self.y))
        on = np.array([solver.boolean_value(v) for v in self.y], dtype=bool)
        return Move(
            self.free, self.y_t[on], self.y_v[on], self.y_start[on], status, solver.deterministic_time, len(self.y)
        )


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
