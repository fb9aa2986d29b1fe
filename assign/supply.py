"""The supply gap: whom to recruit, where and when, to cover the needs left uncovered.

The uncovered tasks are grouped by the recipient's community, the required
skills and the *day part* of the window start (local time: ``morning`` before
12:00, ``afternoon`` 12:00-18:00, ``evening`` from 18:00; night hours count as
morning). For every group, ``k`` hypothetical recruits are added to the supply
list - volunteers with exactly the group's skills, living at the median home
of the group's recipients (coordinate-wise), registered with the community,
free from the group's first window start to its last window end on that day,
pledging those minutes (the SPEC default), no daily limit, the policy's radius
- and the group's tasks are solved with the greedy solver
(:func:`assign.solvers.greedy.solve_greedy`) for ``k = k0, k0 + 1, ...`` until
they are all covered. ``k0`` is a lower bound (the largest team, and the
visit minutes over the free minutes of one recruit), so the reported ``k`` is
the first count at which the greedy covers the group. The existing volunteers
are left as they are: the schedule is maximal (:func:`assign.explain.explain`
checks it), so none of them could take one of these tasks.

Groups are solved all at once and independently: in the solved sub-problem
every group is a community of its own under ``cross_community = "forbid"``, so
a recruit serves only the group it was recruited for. Only the groups not yet
covered are solved again with one more recruit.

A recipient farther than the policy radius from the group's centre cannot be
served by a recruit living there; such tasks form their own group "near" that
recipient (a recruit living next door).

Finally the whole recruitment list is *confirmed*: every recruit is added to
the real problem, their assignments are added to the current schedule, and
:func:`assign.check.violations` must find nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from . import rules
from .arrays import ragged_ranges
from .candidates import Candidates
from .compile import UNLIMITED, Compiled, _unit_xyz
from .solution import Solution

DAY_PARTS: tuple[tuple[str, int, int], ...] = (
    ("morning", 0, 12 * 60),
    ("afternoon", 12 * 60, 18 * 60),
    ("evening", 18 * 60, 24 * 60),
)
#: rounds of "one more recruit" for the groups not yet covered
MAX_ROUNDS = 200

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Recruitment:
    """One line of the recruitment list: a community, skills and a day part."""

    community: str
    skills: tuple[str, ...]
    day: str
    part: str
    #: where the recruits should live: the centre of the group's recipients,
    #: or next to one recipient (``near`` names them) out of the centre's reach
    lat: float
    lon: float
    near: str | None
    #: when they should be free (ISO datetimes, [from, to))
    free_from: str
    free_to: str
    tasks: int
    weight: int
    #: the most urgent tier among the tasks, and the uncovered weight per tier
    tier: int
    weight_by_tier: dict[int, int]
    #: recruits needed to cover every task of the group (None: not found
    #: within the limit; ``covered_*`` then say what the largest count covers)
    recruits: int | None
    covered_tasks: int
    covered_weight: int
    #: recruits in the last solve of the group (== recruits when covered)
    tried: int = 0
    task_ids: tuple[str, ...] = field(default=(), repr=False)

    def describe(self) -> str:
        skills = "+".join(self.skills) or "any skill"
        where = f"near {self.near}" if self.near else f"in {self.community}"
        text = (
            f"recruit {self.recruits if self.recruits is not None else self.tried} {skills} volunteer(s) "
            f"living {where}, free {self.day} {self.free_from[11:16]}-{self.free_to[11:16]} ({self.part})"
        )
        if self.recruits is None:
            text += f": covers {self.covered_tasks} of {self.tasks} needs"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "community": self.community, "skills": list(self.skills), "day": self.day, "part": self.part,
            "lat": round(self.lat, 6), "lon": round(self.lon, 6), "near": self.near,
            "free_from": self.free_from, "free_to": self.free_to,
            "tasks": self.tasks, "weight": self.weight, "tier": self.tier,
            "weight_by_tier": {str(k): v for k, v in sorted(self.weight_by_tier.items())},
            "recruits": self.recruits, "tried": self.tried, "covered_tasks": self.covered_tasks,
            "covered_weight": self.covered_weight, "task_ids": list(self.task_ids),
        }


@dataclass(frozen=True)
class SupplyReport:
    """The recruitment list, most urgent group first."""

    groups: tuple[Recruitment, ...]
    uncovered_tasks: int
    uncovered_weight: int
    #: recruits in the list, and the needs they cover together
    recruits: int
    covered_tasks: int
    covered_weight: int
    #: the validator accepted the schedule plus every recruit's assignments
    confirmed: bool
    seconds: float = 0.0
    #: the recruits as SPEC §3 volunteer objects (ids ``recruit-1``, ...), ready
    #: to be added to the supply list
    recruit_list: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    #: the visits that cover the needs: (task, volunteer, start ISO); existing
    #: volunteers appear when they complete a recruit's team
    assignments: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)

    def by_community(self) -> dict[str, dict[str, int]]:
        """Recruits and uncovered weight per community."""
        out: dict[str, dict[str, int]] = {}
        for g in self.groups:
            cell = out.setdefault(g.community, {"recruits": 0, "tasks": 0, "weight": 0})
            cell["recruits"] += g.recruits or 0
            cell["tasks"] += g.tasks
            cell["weight"] += g.weight
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "uncovered_tasks": self.uncovered_tasks, "uncovered_weight": self.uncovered_weight,
            "recruits": self.recruits, "covered_tasks": self.covered_tasks,
            "covered_weight": self.covered_weight, "confirmed": self.confirmed,
            "seconds": round(self.seconds, 3), "by_community": self.by_community(),
            "groups": [g.to_dict() for g in self.groups],
            "recruit_list": list(self.recruit_list),
            "assignments": [{"task": t, "volunteer": v, "start": s} for t, v, s in self.assignments],
        }


# ------------------------------------------------------------------ grouping


@dataclass
class _Groups:
    """Uncovered tasks grouped; arrays per group, tasks sorted by group."""

    tasks: I64  # uncovered task indexes, sorted by group
    group: I64  # group of each of those tasks
    community: I64
    skills: NDArray[np.uint64]
    day: I64
    part: I64
    near: I64  # recipient index for an outlying group, -1 for a centre group
    lat: F64
    lon: F64
    free_start: I64
    free_end: I64
    #: per task of the problem: the window and team size left for recruits
    #: (a team task that existing volunteers can join keeps their start and
    #: needs fewer members)
    window_start: I64
    window_end: I64
    needed: I64

    @property
    def n(self) -> int:
        return len(self.community)


def day_part(c: Compiled, minute: I64) -> tuple[I64, I64]:
    """(calendar day, day part index) of minute offsets."""
    day = rules.day_of(c, minute)
    into = np.asarray(minute, dtype=np.int64) - c.day_starts[np.clip(day, 0, c.n_days - 1)]
    part = (into >= DAY_PARTS[1][1]).astype(np.int64) + (into >= DAY_PARTS[2][1])
    return day, part


def _group(c: Compiled, uncovered: I64, radius: float, window: tuple[I64, I64, I64]) -> _Groups:
    day, part = day_part(c, c.t_window_start[uncovered])
    community = c.t_community[uncovered].astype(np.int64)
    skills = c.t_skills[uncovered]
    keys = np.column_stack((community, skills.view(np.int64), day, part))
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    recipients = c.t_recipient[uncovered].astype(np.int64)
    # centre: coordinate-wise median home of the group's tasks
    lat = np.zeros(len(first))
    lon = np.zeros(len(first))
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(first) + 1))
    for g in range(len(first)):
        rows = order[bounds[g] : bounds[g + 1]]
        lat[g] = float(np.median(c.r_lat[recipients[rows]]))
        lon[g] = float(np.median(c.r_lon[recipients[rows]]))
    km = rules.haversine_km(lat[inverse], lon[inverse], c.r_lat[recipients], c.r_lon[recipients]) * c.detour_factor
    remote = km > radius + rules.RADIUS_TOLERANCE_KM
    # an outlying task gets a group of its own near its recipient
    near = np.where(remote, recipients, -1)
    keys = np.column_stack((inverse, near))
    _, head, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    g_near = near[head]
    g_lat = np.where(g_near >= 0, c.r_lat[np.maximum(g_near, 0)], lat[inverse[head]])
    g_lon = np.where(g_near >= 0, c.r_lon[np.maximum(g_near, 0)], lon[inverse[head]])
    ws = c.t_window_start[uncovered]
    we = c.t_window_end[uncovered]
    free_start = np.full(len(head), np.iinfo(np.int64).max)
    free_end = np.full(len(head), np.iinfo(np.int64).min)
    np.minimum.at(free_start, group, ws)
    np.maximum.at(free_end, group, we)
    order = np.argsort(group, kind="stable")
    return _Groups(
        tasks=uncovered[order], group=group[order], community=community[head], skills=skills[head],
        day=day[head], part=part[head], near=g_near, lat=g_lat, lon=g_lon,
        free_start=free_start, free_end=free_end,
        window_start=window[0], window_end=window[1], needed=window[2],
    )


def _helpers(
    c: Compiled, sol: Solution, tasks: I64, cands: Candidates | None
) -> tuple[tuple[I64, I64, I64], tuple[I64, I64, I64]]:
    """Existing volunteers who can join uncovered team tasks as things stand.

    Team tasks (most urgent first) take, at the start where most can join, up
    to ``volunteers_needed - 1`` eligible volunteers free given their bookings
    (and those taken by earlier team tasks) with minutes left; the task keeps
    that start and needs that many fewer recruits. Returns the helpers'
    assignments (task, volunteer, start) and the per-task (window start,
    window end, team size) left for recruits."""
    from .candidates import build_candidates
    from .counterfactual import _depth_ranges, planner_of, urgency_order

    window_start = c.t_window_start.copy()
    window_end = c.t_window_end.copy()
    needed = c.t_needed.copy()
    out_t: list[int] = []
    out_v: list[int] = []
    out_s: list[int] = []
    team = tasks[c.t_needed[tasks] > 1]
    if len(team):
        if cands is None or not cands.complete:
            cands = build_candidates(c, tasks=team, with_cost=False)
        plan = planner_of(c, sol)
        for t in urgency_order(c, team).tolist():
            rows = cands.rows(t)
            vols = cands.volunteer[rows].astype(np.int64)
            loads = cands.load[rows].astype(np.int64)
            ok = (plan.used[vols] + loads <= c.v_max_minutes[vols]) & (c.v_max_per_day[vols] > 0)
            vols, loads = vols[ok], loads[ok]
            if len(vols) == 0:
                continue
            keep = plan.may_fit(t, vols)
            found = [(v, r, load) for v, load in zip(vols[keep].tolist(), loads[keep].tolist(), strict=True)
                     if (r := plan.free_ranges(v, t))]
            for h in range(min(int(c.t_needed[t]) - 1, len(found)), 0, -1):
                common = _depth_ranges([r for _, r, _ in found], h)
                if common:
                    start = common[0][0]
                    chosen = [(v, load) for v, r, load in found if any(a <= start <= b for a, b in r)][:h]
                    for v, load in chosen:
                        plan.book(t, v, start, load)
                        out_t.append(t)
                        out_v.append(v)
                        out_s.append(start)
                    window_start[t] = start
                    window_end[t] = start + int(c.t_duration[t])
                    needed[t] -= h
                    break
    helpers = (np.asarray(out_t, np.int64), np.asarray(out_v, np.int64), np.asarray(out_s, np.int64))
    return helpers, (window_start, window_end, needed)


def _lower_bound(c: Compiled, groups: _Groups) -> I64:
    """Recruits no group can do with fewer: its largest team, its visit
    minutes over one recruit's free minutes, and the most visits that overlap
    wherever they start in their windows."""
    t = groups.tasks
    needed = groups.needed[t]
    minutes = np.bincount(groups.group, weights=(c.t_duration[t] * needed).astype(np.float64), minlength=groups.n)
    largest = np.zeros(groups.n, dtype=np.int64)
    np.maximum.at(largest, groups.group, needed)
    span = np.maximum(groups.free_end - groups.free_start, 1)
    bound = np.maximum(largest, np.ceil(minutes / span - 1e-9).astype(np.int64))
    # visits that must overlap: the part of a visit inside its window whatever
    # its start, [window_end - duration, window_start + duration), when not empty
    ws, we, dur = groups.window_start[t], groups.window_end[t], c.t_duration[t]
    forced = np.flatnonzero(we - dur < ws + dur)
    if len(forced):
        group = groups.group[forced]
        times = np.r_[(we - dur)[forced], (ws + dur)[forced]]
        delta = np.r_[needed[forced], -needed[forced]]
        order = np.lexsort((delta, times, np.r_[group, group]))
        depth = np.cumsum(delta[order])  # each group's events sum to 0
        most = np.zeros(groups.n, dtype=np.int64)
        np.maximum.at(most, np.r_[group, group][order], depth)
        bound = np.maximum(bound, most)
    return bound


# ------------------------------------------------------------ the sub-problem


def _recruit_problem(c: Compiled, groups: _Groups, chosen: I64, k: I64, radius: float) -> tuple[Compiled, I64, I64]:
    """A compiled problem holding only the tasks of the ``chosen`` groups and
    ``k[g]`` recruits per group, each group a community of its own under
    ``forbid``. Returns it, the original index of each of its tasks, and the
    group of each recruit."""
    in_chosen = np.zeros(groups.n, dtype=bool)
    in_chosen[chosen] = True
    rows = np.flatnonzero(in_chosen[groups.group])
    tasks = groups.tasks[rows]
    task_group = groups.group[rows]
    # one pseudo-recipient per (group, recipient), at the recipient's home
    pair = task_group * max(c.n_recipients, 1) + c.t_recipient[tasks]
    pseudo, t_pseudo = np.unique(pair, return_inverse=True)
    t_pseudo = t_pseudo.reshape(-1)
    r_group = pseudo // max(c.n_recipients, 1)
    r_orig = pseudo % max(c.n_recipients, 1)
    # recruits
    v_group = np.repeat(chosen, k[chosen])
    n_vol = len(v_group)
    n_rec = len(pseudo)
    n_task = len(tasks)
    zeros_ptr_v = np.zeros(n_rec + 1, dtype=np.int64)
    zeros_ptr_t = np.zeros(n_task + 1, dtype=np.int64)
    no_members = np.zeros(0, dtype=np.int32)
    no_keys = np.zeros(0, dtype=np.int64)
    v_lat = groups.lat[v_group]
    v_lon = groups.lon[v_group]
    sub = replace(
        c,
        forbid_cross=True,
        task_ids=[c.task_ids[t] for t in tasks.tolist()],
        volunteer_ids=[f"recruit-{i}" for i in range(n_vol)],
        recipient_ids=[c.recipient_ids[r] for r in r_orig.tolist()],
        community_ids=[f"group-{g}" for g in range(groups.n)],
        org_names=["recruit"],
        n_communities=groups.n,
        v_community=v_group.astype(np.int32),
        v_org=np.zeros(n_vol, dtype=np.int32),
        v_lat=v_lat,
        v_lon=v_lon,
        v_xyz=_unit_xyz(v_lat, v_lon) if n_vol else np.zeros((0, 3)),
        v_skills=groups.skills[v_group],
        v_radius=np.full(n_vol, radius),
        v_max_minutes=(groups.free_end - groups.free_start)[v_group].astype(np.int64),
        v_max_per_day=np.full(n_vol, UNLIMITED, dtype=np.int64),
        v_pref_services=np.zeros(n_vol, dtype=np.uint64),
        v_history_minutes=np.zeros(n_vol, dtype=np.int64),
        v_history_capacity=np.zeros(n_vol, dtype=np.int64),
        v_pledge_fraction=np.zeros(n_vol, dtype=np.float64),
        av_ptr=np.arange(n_vol + 1, dtype=np.int64),
        av_start=groups.free_start[v_group].astype(np.int64),
        av_end=groups.free_end[v_group].astype(np.int64),
        r_community=r_group.astype(np.int32),
        r_lat=c.r_lat[r_orig],
        r_lon=c.r_lon[r_orig],
        r_xyz=c.r_xyz[r_orig],
        r_missed=c.r_missed[r_orig],
        r_pref_ptr=zeros_ptr_v,
        r_pref=no_members,
        r_excl_ptr=zeros_ptr_v,
        r_excl=no_members,
        t_recipient=t_pseudo.astype(np.int32),
        t_service=c.t_service[tasks],
        t_tier=c.t_tier[tasks],
        t_weight=c.t_weight[tasks],
        t_skills=c.t_skills[tasks],
        t_window_start=groups.window_start[tasks],
        t_window_end=groups.window_end[tasks],
        t_duration=c.t_duration[tasks],
        t_needed=groups.needed[tasks],
        t_pin_ptr=zeros_ptr_t,
        t_pin=no_members,
        t_prev_ptr=zeros_ptr_t,
        t_prev=no_members,
        excluded_keys=no_keys,
        preferred_keys=no_keys,
        pinned_keys=no_keys,
        previous_keys=no_keys,
    )
    return sub, tasks, v_group


def _recruit_candidates(sub: Compiled, v_group: I64) -> Candidates:
    """Every eligible and free (task, recruit) pair of the sub-problem: a task's
    group recruits, checked with the rules (no spatial search needed: recruits
    serve their own group only)."""
    from .score import linear_pair_cost

    task_group = sub.r_community[sub.t_recipient].astype(np.int64)
    order = np.argsort(v_group, kind="stable")
    ptr = np.searchsorted(v_group[order], np.arange(sub.n_communities + 1))
    count = ptr[task_group + 1] - ptr[task_group]
    t = np.repeat(np.arange(sub.n_tasks, dtype=np.int64), count)
    v = order[ragged_ranges(ptr[task_group], count)].astype(np.int64)
    km = rules.distance_km(sub, t, v)
    start = rules.earliest_free_start(sub, t, v)
    keep = rules.eligible(sub, t, v, km) & (start >= 0)
    t, v, km, start = t[keep], v[keep], km[keep], start[keep]
    rank = np.lexsort((v, km, t))
    t, v, km, start = t[rank], v[rank], km[rank], start[rank]
    return Candidates(
        task=t.astype(np.int32), volunteer=v.astype(np.int32), km=km.astype(np.float32), start=start,
        load=rules.assignment_load(sub, t, v, km).astype(np.int32),
        cost=np.asarray(linear_pair_cost(sub, t, v, km), dtype=np.float64),
        ptr=np.searchsorted(t, np.arange(sub.n_tasks + 1)).astype(np.int64),
    )


def _solve_groups(c: Compiled, groups: _Groups, chosen: I64, k: I64, radius: float) -> tuple[NDArray[np.bool_], Solution, I64, I64]:
    """Solve the chosen groups with ``k`` recruits each: (group fully covered,
    the sub-solution, original task of each sub task, group of each recruit)."""
    from .solvers.greedy import solve_greedy

    sub, tasks, v_group = _recruit_problem(c, groups, chosen, k, radius)
    sol = solve_greedy(sub, _recruit_candidates(sub, v_group))
    covered = sol.covered(sub.n_tasks)
    task_group = sub.r_community[sub.t_recipient].astype(np.int64)
    missing = np.bincount(task_group[~covered], minlength=groups.n)
    done = np.zeros(groups.n, dtype=bool)
    done[chosen] = missing[chosen] == 0
    return done, sol, tasks, v_group


# ---------------------------------------------------------------- confirming


def with_recruits(c: Compiled, groups: _Groups, v_group: I64, radius: float) -> Compiled:
    """``c`` with the recruits appended to its volunteers (pair keys re-based)."""
    n_old = c.n_volunteers
    n_new = n_old + len(v_group)

    def rebase(keys: I64) -> I64:
        if n_old == 0:
            return keys
        return (keys // n_old) * n_new + keys % n_old

    lat = groups.lat[v_group]
    lon = groups.lon[v_group]
    free = (groups.free_end - groups.free_start)[v_group].astype(np.int64)
    org = len(c.org_names)
    taken = set(c.volunteer_ids)
    ids = []
    for i in range(len(v_group)):
        rid = f"recruit-{i + 1}"
        while rid in taken:
            rid += "-new"
        ids.append(rid)
    return replace(
        c,
        volunteer_ids=c.volunteer_ids + ids,
        org_names=c.org_names + ["recruit"],
        v_community=np.r_[c.v_community, groups.community[v_group]].astype(np.int32),
        v_org=np.r_[c.v_org, np.full(len(v_group), org)].astype(np.int32),
        v_lat=np.r_[c.v_lat, lat],
        v_lon=np.r_[c.v_lon, lon],
        v_xyz=np.vstack([c.v_xyz.reshape(-1, 3), _unit_xyz(lat, lon).reshape(-1, 3)]),
        v_skills=np.r_[c.v_skills, groups.skills[v_group]].astype(np.uint64),
        v_radius=np.r_[c.v_radius, np.full(len(v_group), radius)],
        v_max_minutes=np.r_[c.v_max_minutes, free].astype(np.int64),
        v_max_per_day=np.r_[c.v_max_per_day, np.full(len(v_group), UNLIMITED)].astype(np.int64),
        v_pref_services=np.r_[c.v_pref_services, np.zeros(len(v_group), np.uint64)].astype(np.uint64),
        v_history_minutes=np.r_[c.v_history_minutes, np.zeros(len(v_group), np.int64)],
        v_history_capacity=np.r_[c.v_history_capacity, np.zeros(len(v_group), np.int64)],
        v_pledge_fraction=np.r_[c.v_pledge_fraction, np.zeros(len(v_group))],
        av_ptr=np.r_[c.av_ptr, c.av_ptr[-1] + np.arange(1, len(v_group) + 1)].astype(np.int64),
        av_start=np.r_[c.av_start, groups.free_start[v_group]].astype(np.int64),
        av_end=np.r_[c.av_end, groups.free_end[v_group]].astype(np.int64),
        excluded_keys=rebase(c.excluded_keys),
        preferred_keys=rebase(c.preferred_keys),
        pinned_keys=rebase(c.pinned_keys),
        previous_keys=rebase(c.previous_keys),
    )


# ---------------------------------------------------------------- entry point


def supply_gap(
    c: Compiled,
    sol: Solution,
    *,
    max_rounds: int = MAX_ROUNDS,
    skip: NDArray[np.bool_] | None = None,
    cands: Candidates | None = None,
) -> SupplyReport:
    """The recruitment list for the uncovered tasks of ``sol`` (see the module
    docstring). ``skip`` marks uncovered tasks to leave out (e.g. ones that
    could be added as the schedule stands); ``cands`` may hold the candidates of
    the uncovered tasks (to find existing volunteers who can join team tasks).

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> from assign.candidates import build_candidates
    >>> from assign.solvers.greedy import solve_greedy
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> report = supply_gap(c, solve_greedy(c, build_candidates(c)))
    >>> report.uncovered_tasks, report.recruits, report.confirmed
    (1, 2, True)
    """
    from .check import violations

    clock = time.perf_counter()
    radius = float(c.problem.policy.max_travel_km)
    uncovered_mask = ~sol.covered(c.n_tasks)
    if skip is not None:
        uncovered_mask &= ~skip
    uncovered = np.flatnonzero(uncovered_mask).astype(np.int64)
    if len(uncovered) == 0:
        return SupplyReport((), 0, 0, 0, 0, 0, True, time.perf_counter() - clock)
    helpers, window = _helpers(c, sol, uncovered, cands)
    groups = _group(c, uncovered, radius, window)
    k = _lower_bound(c, groups)
    cap = np.bincount(groups.group, weights=groups.needed[groups.tasks].astype(np.float64), minlength=groups.n)
    cap = np.maximum(cap.astype(np.int64), k)
    done = np.zeros(groups.n, dtype=bool)
    final_k = k.copy()
    # the assignments of each group's last solve: (task, group, recruit of the group, start)
    kept: list[tuple[I64, I64, I64, I64]] = []
    pending = np.arange(groups.n, dtype=np.int64)
    rounds = 0
    while len(pending):
        rounds += 1
        covered, sub_sol, sub_tasks, v_group = _solve_groups(c, groups, pending, k, radius)
        done |= covered
        left = pending[~covered[pending]]
        grow = left[k[left] < cap[left]] if rounds < max_rounds else left[:0]
        # groups settled in this round keep its assignments
        settled = np.ones(groups.n, dtype=bool)
        settled[grow] = False
        first = np.searchsorted(v_group, v_group, side="left")  # v_group is sorted by group
        g_of = v_group[sub_sol.volunteer]
        rows = settled[g_of]
        kept.append(
            (sub_tasks[sub_sol.task[rows]], g_of[rows], (sub_sol.volunteer - first[sub_sol.volunteer])[rows],
             sub_sol.start[rows])
        )
        final_k[pending] = k[pending]
        k[grow] += 1
        pending = grow
    a_task, a_group, a_member, a_start = (np.concatenate(column) for column in zip(*kept, strict=True))
    offset = np.cumsum(final_k) - final_k
    v_group = np.repeat(np.arange(groups.n, dtype=np.int64), final_k)
    covered_task = np.zeros(c.n_tasks, dtype=bool)
    covered_task[a_task] = True
    # helpers stay only on the team tasks the recruits complete
    h_task, h_vol, h_start = helpers
    kept_helper = covered_task[h_task]
    # confirm in the real problem: the schedule plus every recruit's and helper's visits
    full = with_recruits(c, groups, v_group, radius)
    add_task = np.r_[a_task, h_task[kept_helper]].astype(np.int64)
    add_vol = np.r_[c.n_volunteers + offset[a_group] + a_member, h_vol[kept_helper]].astype(np.int64)
    add_start = np.r_[a_start, h_start[kept_helper]].astype(np.int64)
    trial = Solution.build(
        np.r_[sol.task, add_task], np.r_[sol.volunteer, add_vol], np.r_[sol.start, add_start], sol.conflicts
    )
    confirmed = not violations(full, trial)
    lines = _lines(c, groups, done, final_k, covered_task)
    weight = c.t_weight
    recruit_ids = full.volunteer_ids[c.n_volunteers :]
    recruit_list = _recruit_list(c, groups, v_group, recruit_ids)
    zone = ZoneInfo(c.problem.horizon.timezone)
    order = np.lexsort((add_vol, add_start, add_task))
    visits = tuple(
        (full.task_ids[t], full.volunteer_ids[v], c.minute_to_datetime(s).astimezone(zone).isoformat())
        for t, v, s in zip(add_task[order].tolist(), add_vol[order].tolist(), add_start[order].tolist(), strict=True)
    )
    return SupplyReport(
        groups=tuple(lines),
        uncovered_tasks=len(uncovered),
        uncovered_weight=int(weight[uncovered].sum()),
        recruits=int(final_k.sum()),
        covered_tasks=int(covered_task.sum()),
        covered_weight=int(weight[covered_task].sum()),
        confirmed=confirmed,
        seconds=time.perf_counter() - clock,
        recruit_list=recruit_list,
        assignments=visits,
    )


def _recruit_list(c: Compiled, groups: _Groups, v_group: I64, ids: list[str]) -> tuple[dict[str, Any], ...]:
    zone = ZoneInfo(c.problem.horizon.timezone)
    names = {bit: name for name, bit in c.skill_index.items()}
    out = []
    for rid, g in zip(ids, v_group.tolist(), strict=True):
        mask = int(groups.skills[g])
        out.append({
            "id": rid,
            "community": c.community_ids[int(groups.community[g])],
            "org": "recruit",
            "lat": float(groups.lat[g]),
            "lon": float(groups.lon[g]),
            "skills": sorted(names[b] for b in names if mask >> b & 1),
            "availability": [[
                c.minute_to_datetime(int(groups.free_start[g])).astimezone(zone).isoformat(),
                c.minute_to_datetime(int(groups.free_end[g])).astimezone(zone).isoformat(),
            ]],
        })
    return tuple(out)


def _lines(c: Compiled, groups: _Groups, done: NDArray[np.bool_], k: I64, covered: NDArray[np.bool_]) -> list[Recruitment]:
    zone = ZoneInfo(c.problem.horizon.timezone)
    names = {bit: name for name, bit in c.skill_index.items()}
    ptr = np.searchsorted(groups.group, np.arange(groups.n + 1))
    lines: list[Recruitment] = []
    for g in range(groups.n):
        tasks = groups.tasks[ptr[g] : ptr[g + 1]]
        mask = int(groups.skills[g])
        skills = tuple(sorted(names[b] for b in names if mask >> b & 1))
        day_start = c.minute_to_datetime(int(c.day_starts[min(int(groups.day[g]), c.n_days - 1)]))
        day: date = day_start.astimezone(zone).date()
        tiers = c.t_tier[tasks]
        weights = c.t_weight[tasks]
        by_tier = {int(x): int(weights[tiers == x].sum()) for x in np.unique(tiers)}
        hit = covered[tasks]
        lines.append(
            Recruitment(
                community=c.community_ids[int(groups.community[g])],
                skills=skills,
                day=day.isoformat(),
                part=DAY_PARTS[int(groups.part[g])][0],
                lat=float(groups.lat[g]),
                lon=float(groups.lon[g]),
                near=c.recipient_ids[int(groups.near[g])] if groups.near[g] >= 0 else None,
                free_from=c.minute_to_datetime(int(groups.free_start[g])).astimezone(zone).isoformat(),
                free_to=c.minute_to_datetime(int(groups.free_end[g])).astimezone(zone).isoformat(),
                tasks=len(tasks),
                weight=int(weights.sum()),
                tier=int(tiers.min()),
                weight_by_tier=by_tier,
                recruits=int(k[g]) if done[g] else None,
                tried=int(k[g]),
                covered_tasks=int(hit.sum()),
                covered_weight=int(weights[hit].sum()),
                task_ids=tuple(c.task_ids[t] for t in tasks.tolist()),
            )
        )
    lines.sort(key=lambda line: (line.tier, -line.weight_by_tier[line.tier], -line.weight, line.community, line.day, line.part))
    return lines


__all__ = ["DAY_PARTS", "Recruitment", "SupplyReport", "day_part", "supply_gap", "with_recruits"]
