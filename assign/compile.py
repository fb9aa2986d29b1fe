"""Compile a :class:`~assign.model.Problem` into numpy columns, once.

Everything after this module (rules, score, candidates, solvers, explanations)
works on a :class:`Compiled` instance, never on pydantic objects in a loop.

Conventions:

* times are whole minutes from :func:`grid_origin` (int64): the whole
  minute of the clock at or before ``horizon.start``;
* skills and services are bit masks (uint64), so at most 64 distinct skill
  names and 64 distinct service names per problem;
* per-entity lists (availability, preferred/excluded volunteers, pins,
  previous volunteers) are CSR pairs ``(ptr, values)``; membership tests of
  (row, volunteer) pairs use sorted int64 keys ``row * n_volunteers + volunteer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .errors import InputIssue, ProblemError
from .model import MAX_NAMES, Horizon, Problem, horizon_days, interval_union

EARTH_RADIUS_KM = 6371.0
UNLIMITED = np.int64(1 << 40)

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]
B = NDArray[np.bool_]


def grid_origin(horizon: Horizon) -> datetime:
    """Minute 0 of the compiled times: the whole minute of the clock at or
    before the horizon start (a horizon start with seconds does not move the
    whole minutes the other times fall on: 09:00 stays a start)."""
    start: datetime = horizon.start
    return start - timedelta(seconds=start.second, microseconds=start.microsecond)


def _minutes(moment: datetime, origin: datetime) -> int:
    """Whole minutes from ``origin`` to ``moment``, rounded down."""
    return int((moment - origin).total_seconds() // 60)


def _minutes_up(moment: datetime, origin: datetime) -> int:
    """Whole minutes from ``origin`` to ``moment``, rounded up. Intervals a
    visit must lie in (windows, availability) start at the next whole minute
    and end at the last one, so that a visit inside the minutes is inside the
    exact interval too (docs/readings.md)."""
    return -int((origin - moment).total_seconds() // 60)


def _unit_xyz(lat: F64, lon: F64) -> F64:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _csr(lists: list[list[int]]) -> tuple[I64, I32]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    flat = [v for x in lists for v in x]
    return ptr, np.asarray(flat, dtype=np.int32)


def pair_keys(ptr: I64, values: I32, n_volunteers: int) -> I64:
    """Sorted membership keys ``row * n_volunteers + volunteer`` of a CSR list."""
    rows = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    return np.unique(rows * n_volunteers + values.astype(np.int64))


def _mask(names: tuple[str, ...] | list[str], index: dict[str, int], kind: str) -> int:
    mask = 0
    for name in names:
        if name not in index:
            if len(index) >= MAX_NAMES:
                # (validation names the row first; this guards problems built in Python)
                raise ProblemError(
                    [InputIssue("<problem>", kind, None, name, None, f"more than {MAX_NAMES} distinct {kind} names")]
                )
            index[name] = len(index)
        mask |= 1 << index[name]
    return mask


@dataclass(frozen=True, eq=False)
class Compiled:
    """A problem as arrays. Build with :func:`compile_problem`."""

    problem: Problem
    horizon_minutes: int
    day_starts: I64  # minute offsets of local midnights; day d = [day_starts[d], day_starts[d+1])
    # policy
    speed_kmh: float
    detour_factor: float
    forbid_cross: bool
    count_travel: bool
    weights: dict[str, float]
    # names
    task_ids: list[str]
    volunteer_ids: list[str]
    recipient_ids: list[str]
    community_ids: list[str]
    skill_index: dict[str, int]
    service_index: dict[str, int]
    org_names: list[str]
    # communities
    n_communities: int
    # volunteers
    v_community: I32
    v_org: I32
    v_lat: F64
    v_lon: F64
    v_xyz: F64
    v_skills: U64
    v_radius: F64
    v_max_minutes: I64
    v_max_per_day: I64
    v_pref_services: U64
    v_history_minutes: I64
    v_history_capacity: I64
    # a default pledge's minutes beyond its whole minutes (SPEC §10: the
    # union's exact minutes; availability with seconds), in [0, 1); 0 for a
    # given max_minutes. Capacity (rule 10) compares whole-minute loads, so
    # v_max_minutes (floored) decides it; the shares of §6 and the metrics
    # divide by the exact pledge (pledge_minutes, share_capacity).
    v_pledge_fraction: F64
    av_ptr: I64  # joined availability intervals per volunteer, clipped to the horizon
    av_start: I64
    av_end: I64
    # recipients
    r_community: I32
    r_lat: F64
    r_lon: F64
    r_xyz: F64
    r_missed: I64
    r_pref_ptr: I64
    r_pref: I32
    r_excl_ptr: I64
    r_excl: I32
    # tasks
    t_recipient: I32
    t_service: I32
    t_tier: I32
    t_weight: I64
    t_skills: U64
    t_window_start: I64
    t_window_end: I64
    t_duration: I64
    t_needed: I64
    t_pin_ptr: I64
    t_pin: I32
    t_prev_ptr: I64
    t_prev: I32
    # derived keys for membership tests
    excluded_keys: I64 = field(repr=False)  # recipient * n_vol + volunteer
    preferred_keys: I64 = field(repr=False)  # recipient * n_vol + volunteer
    pinned_keys: I64 = field(repr=False)  # task * n_vol + volunteer
    previous_keys: I64 = field(repr=False)  # task * n_vol + volunteer

    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def n_volunteers(self) -> int:
        return len(self.volunteer_ids)

    @property
    def n_recipients(self) -> int:
        return len(self.recipient_ids)

    @property
    def n_tiers(self) -> int:
        """T: the largest tier among all tasks (0 without tasks)."""
        return int(self.t_tier.max()) if self.n_tasks else 0

    @property
    def n_days(self) -> int:
        return len(self.day_starts) - 1

    @property
    def t_community(self) -> I32:
        """The community of each task's recipient."""
        return self.r_community[self.t_recipient]

    @property
    def r_has_preferred(self) -> B:
        return np.diff(self.r_pref_ptr) > 0

    @property
    def v_has_pref_services(self) -> B:
        return self.v_pref_services != 0

    @cached_property
    def pledge_minutes(self) -> F64:
        """Each volunteer's exact pledge: ``max_minutes``, or by default the
        exact minutes of the availability union (a float; SPEC §10)."""
        return self.v_max_minutes.astype(np.float64) + self.v_pledge_fraction

    @cached_property
    def share_capacity(self) -> F64:
        """SPEC §6 fairness denominators ``history_capacity + max_minutes``,
        with the exact default pledge (:attr:`pledge_minutes`)."""
        return self.v_history_capacity.astype(np.float64) + self.pledge_minutes

    def minute_to_datetime(self, minute: int) -> datetime:
        """The aware datetime of a minute offset, in the horizon start's offset."""
        return grid_origin(self.problem.horizon) + timedelta(minutes=int(minute))


def compile_problem(problem: Problem) -> Compiled:
    """Turn a validated Problem into arrays (linear in its size)."""
    horizon = problem.horizon
    origin = grid_origin(horizon)
    horizon_minutes = _minutes(horizon.end, origin)
    policy = problem.policy

    day_starts = [_minutes(d, origin) for d in horizon_days(horizon)]

    community_ids = [c.id for c in problem.communities]
    community_of = {cid: i for i, cid in enumerate(community_ids)}
    volunteer_ids = [v.id for v in problem.volunteers]
    volunteer_of = {vid: i for i, vid in enumerate(volunteer_ids)}
    recipient_ids = [r.id for r in problem.recipients]
    recipient_of = {rid: i for i, rid in enumerate(recipient_ids)}
    task_ids = [t.id for t in problem.tasks]
    n_vol = len(volunteer_ids)

    skill_index: dict[str, int] = {}
    service_index: dict[str, int] = {}
    org_index: dict[str, int] = {}

    # volunteers
    vols = problem.volunteers
    v_lat = np.array([v.lat for v in vols], dtype=np.float64)
    v_lon = np.array([v.lon for v in vols], dtype=np.float64)
    v_skills = np.array([_mask(v.skills, skill_index, "skill") for v in vols], dtype=np.uint64)
    v_pref_services = np.array(
        [_mask(v.preferred_services, service_index, "service") for v in vols], dtype=np.uint64
    )
    v_radius = np.array(
        [min(policy.max_travel_km, v.max_travel_km or policy.max_travel_km) for v in vols],
        dtype=np.float64,
    )
    v_org = np.array([org_index.setdefault(v.org, len(org_index)) for v in vols], dtype=np.int32)

    av_ptr = np.zeros(n_vol + 1, dtype=np.int64)
    av_s: list[int] = []
    av_e: list[int] = []
    v_max_minutes = np.zeros(n_vol, dtype=np.int64)
    v_pledge_fraction = np.zeros(n_vol, dtype=np.float64)
    for i, v in enumerate(vols):
        # joined as given (to the microsecond), then each joined interval
        # rounded inward to whole minutes (see _minutes_up)
        exact = interval_union(v.availability, horizon.start, horizon.end)
        rounded = [(_minutes_up(a, origin), _minutes(b, origin)) for a, b in exact]
        joined = [(a, b) for a, b in rounded if b > a]
        for a, b in joined:
            av_s.append(a)
            av_e.append(b)
        av_ptr[i + 1] = len(av_s)
        # the default: the minutes of the union, clipped to the horizon (SPEC
        # §10), exact — whole minutes of it, not of its rounded intervals
        seconds = sum((b - a).total_seconds() for a, b in exact)
        total = int(seconds // 60)
        if v.max_minutes is None:
            v_max_minutes[i] = total
            v_pledge_fraction[i] = (seconds - 60 * total) / 60
        else:
            v_max_minutes[i] = v.max_minutes
    v_max_per_day = np.array(
        [UNLIMITED if v.max_tasks_per_day is None else v.max_tasks_per_day for v in vols],
        dtype=np.int64,
    )

    # recipients
    recs = problem.recipients
    r_lat = np.array([r.lat for r in recs], dtype=np.float64)
    r_lon = np.array([r.lon for r in recs], dtype=np.float64)
    group_weights = policy.group_weights
    r_group_weight = np.array(
        [sum(group_weights.get(g, 0) for g in r.groups) for r in recs], dtype=np.int64
    )
    r_missed = np.array([r.missed_visits for r in recs], dtype=np.int64)
    r_pref_ptr, r_pref = _csr([[volunteer_of[x] for x in r.preferred_volunteers] for r in recs])
    r_excl_ptr, r_excl = _csr([[volunteer_of[x] for x in r.excluded_volunteers] for r in recs])

    # tasks
    tasks = problem.tasks
    t_recipient = np.array([recipient_of[t.recipient] for t in tasks], dtype=np.int32)
    t_service = np.array(
        [service_index.setdefault(t.service, len(service_index)) for t in tasks], dtype=np.int32
    )
    if len(service_index) > MAX_NAMES:
        raise ProblemError(
            [InputIssue("<problem>", "service", None, None, None, f"more than {MAX_NAMES} distinct services")]
        )
    t_tier = np.array([problem.task_tier(t) for t in tasks], dtype=np.int32)
    t_skills = np.array([_mask(problem.task_skills(t), skill_index, "skill") for t in tasks], dtype=np.uint64)
    t_window_start = np.array([_minutes_up(t.window_start, origin) for t in tasks], dtype=np.int64)
    t_window_end = np.array([_minutes(t.window_end, origin) for t in tasks], dtype=np.int64)
    t_duration = np.array([t.duration_min for t in tasks], dtype=np.int64)
    t_needed = np.array([t.volunteers_needed for t in tasks], dtype=np.int64)
    t_pin_ptr, t_pin = _csr([[volunteer_of[x] for x in t.pinned] for t in tasks])
    t_prev_ptr, t_prev = _csr([[volunteer_of[x] for x in t.previous_volunteers] for t in tasks])
    missed = np.minimum(r_missed, 5) * policy.missed_weight
    t_weight = (10 + r_group_weight + missed)[t_recipient] if len(tasks) else np.zeros(0, np.int64)

    return Compiled(
        problem=problem,
        horizon_minutes=horizon_minutes,
        day_starts=np.asarray(day_starts, dtype=np.int64),
        speed_kmh=float(policy.speed_kmh),
        detour_factor=float(policy.detour_factor),
        forbid_cross=policy.cross_community == "forbid",
        count_travel=bool(policy.count_travel_in_capacity),
        weights=dict(policy.weights),
        task_ids=task_ids,
        volunteer_ids=volunteer_ids,
        recipient_ids=recipient_ids,
        community_ids=community_ids,
        skill_index=skill_index,
        service_index=service_index,
        org_names=list(org_index),
        n_communities=len(community_ids),
        v_community=np.array([community_of[v.community] for v in vols], dtype=np.int32),
        v_org=v_org,
        v_lat=v_lat,
        v_lon=v_lon,
        v_xyz=_unit_xyz(v_lat, v_lon) if n_vol else np.zeros((0, 3)),
        v_skills=v_skills,
        v_radius=v_radius,
        v_max_minutes=v_max_minutes,
        v_max_per_day=v_max_per_day,
        v_pref_services=v_pref_services,
        v_history_minutes=np.array([v.history_minutes for v in vols], dtype=np.int64),
        v_history_capacity=np.array([v.history_capacity for v in vols], dtype=np.int64),
        v_pledge_fraction=v_pledge_fraction,
        av_ptr=av_ptr,
        av_start=np.asarray(av_s, dtype=np.int64),
        av_end=np.asarray(av_e, dtype=np.int64),
        r_community=np.array([community_of[r.community] for r in recs], dtype=np.int32),
        r_lat=r_lat,
        r_lon=r_lon,
        r_xyz=_unit_xyz(r_lat, r_lon) if len(recs) else np.zeros((0, 3)),
        r_missed=r_missed,
        r_pref_ptr=r_pref_ptr,
        r_pref=r_pref,
        r_excl_ptr=r_excl_ptr,
        r_excl=r_excl,
        t_recipient=t_recipient,
        t_service=t_service,
        t_tier=t_tier,
        t_weight=np.asarray(t_weight, dtype=np.int64),
        t_skills=t_skills,
        t_window_start=t_window_start,
        t_window_end=t_window_end,
        t_duration=t_duration,
        t_needed=t_needed,
        t_pin_ptr=t_pin_ptr,
        t_pin=t_pin,
        t_prev_ptr=t_prev_ptr,
        t_prev=t_prev,
        excluded_keys=pair_keys(r_excl_ptr, r_excl, n_vol),
        preferred_keys=pair_keys(r_pref_ptr, r_pref, n_vol),
        pinned_keys=pair_keys(t_pin_ptr, t_pin, n_vol),
        previous_keys=pair_keys(t_prev_ptr, t_prev, n_vol),
    )
