"""Counterfactuals: the smallest single change of one volunteer that covers a need.

For every uncovered task of the two most urgent tiers present (tier numbers
``tiers``, default the two smallest tier numbers among all tasks), three kinds of
change are tried, each by one named volunteer:

``availability``
    An *eligible* volunteer (skills, radius, not excluded, community rule) who
    is not *free* for the visit (SPEC §10), or is free but booked, adds ``N``
    minutes of free time: an
    interval of theirs starts earlier or ends later, a gap between two of them
    is bridged, or (for a volunteer with no free time near the window) a new
    interval is added. ``N`` is the smallest amount that lets the visit fit in
    the window next to their bookings (rule 9, travel included), within their
    daily limit (rule 11) and pledged minutes (rule 10; a volunteer without an
    explicit ``max_minutes`` pledges their available minutes, so the pledge
    grows by ``N`` with the free time).
``radius``
    A volunteer with the skills, of the right community, not excluded and free
    for the visit, who lives beyond their *personal* radius but within the
    policy's ``max_travel_km``, widens their personal radius to ``X`` km (the
    distance rounded up to 0.1 km). A radius beyond the policy's is a policy
    change, not a volunteer's, and is never proposed.
``pledge``
    An eligible, free volunteer whose time is free given their bookings but
    whose pledged minutes cannot hold the visit pledges ``M`` more minutes.

A team task (``volunteers_needed`` > 1) is covered when the changed volunteer
and ``volunteers_needed - 1`` volunteers who can already join (eligible, free
given their bookings, with minutes left) share a start.

**Search.** The candidate pairs of all target tasks are found and ranked with
numpy: a lower bound of each change's size (for availability the minutes the
visit misses in the free slots left between the volunteer's bookings, travel
to a neighbouring visit kept; for radius and pledge the exact size). Per task and kind, candidates are then tried exactly in
that order against the greedy solver's booking state
(:class:`assign.solvers.greedy.Planner`): the current schedule is kept and the
task is inserted for the changed volunteer, the repair the greedy would make.
The search of a kind stops at the first change whose size reaches the next
candidate's lower bound (then it is *minimal*: no candidate of that kind is
smaller) or after ``per_task`` exact tries. ``per_volunteer`` (default: no
cap) limits how many needs, most urgent first, may name the same volunteer.

**Confirmation.** Every change found is confirmed by the validator: the change
is applied to the compiled problem, the insertion is added to the current
schedule, and :func:`assign.check.violations` must find nothing (see
:func:`confirm` for how changes are checked together in rounds, each on the
part of the schedule it touches). A change the validator refuses is dropped
and the next best of its kind is searched. Because the current schedule is
kept, no need of any tier is uncovered by a change. Only confirmed changes are
reported.

**Ranking across kinds** is by *effort* in minutes of the volunteer's time:
``N`` for availability, ``M`` for a pledge, and for a radius the extra travel
there and back, ``2 * ceil(60 * widening_km / speed_kmh)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import rules
from .arrays import ragged_ranges
from .candidates import pairs_in_radius
from .compile import Compiled
from .solution import Solution
from .solvers.greedy import Planner, Ranges, _contains, _intersect, planner_of

KINDS: tuple[str, ...] = ("availability", "radius", "pledge")
AVAILABILITY, RADIUS, PLEDGE = range(3)
#: the availability candidates free for the visit but booked (a ranked list of its own)
BOOKED = 3
#: exact tries per task among them (they rarely succeed: their bookings block)
BOOKED_TRIES = 2
#: exact tries per task and kind (the candidates are ranked by a lower bound)
PER_TASK = 8
#: searches for the next best fix after the validator refused one
RETRIES = 2
#: radii are proposed in steps of 0.1 km
RADIUS_STEP_KM = 0.1

I64 = NDArray[np.int64]


# ------------------------------------------------------------------- results


@dataclass(frozen=True)
class Change:
    """One volunteer's change: its kind, size and what exactly changes."""

    kind: str
    volunteer: str
    #: minutes (availability, pledge) or km of widening (radius)
    amount: float
    unit: str
    #: minutes of the volunteer's time, to rank changes of different kinds
    effort: int
    #: availability: the free time added, ISO datetimes [start, end), and how
    #: it joins the volunteer's free time: ``later_end`` (an interval ends
    #: later), ``earlier_start``, ``bridge`` (joins two intervals) or ``new``
    free_from: str | None = None
    free_to: str | None = None
    how: str | None = None
    #: radius: the personal radius before and after (km)
    radius_from_km: float | None = None
    radius_to_km: float | None = None
    #: pledge: max_minutes before and after
    pledge_from: int | None = None
    pledge_to: int | None = None

    def describe(self) -> str:
        """One line a community officer can read out."""
        if self.kind == "availability":
            day, start, end = _clock(self.free_from)[:5], _clock(self.free_from)[6:], _clock(self.free_to)[6:]
            minutes = f"+{int(self.amount)} min"
            if self.how == "later_end":
                return f"{self.volunteer} stays free until {end} instead of {start} on {day} ({minutes})"
            if self.how == "earlier_start":
                return f"{self.volunteer} is free from {start} instead of {end} on {day} ({minutes})"
            if self.how == "bridge":
                return f"{self.volunteer} is also free {start}-{end} on {day}, joining two free periods ({minutes})"
            return f"{self.volunteer} adds free time {start}-{end} on {day} ({minutes})"

        if self.kind == "radius":
            return (
                f"{self.volunteer} widens their radius from {self.radius_from_km:.1f} km "
                f"to {self.radius_to_km:.1f} km"
            )
        return f"{self.volunteer} pledges {int(self.amount)} more min ({self.pledge_from} -> {self.pledge_to})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind, "volunteer": self.volunteer, "amount": self.amount,
            "unit": self.unit, "effort_min": self.effort, "text": self.describe(),
        }
        if self.kind == "availability":
            out["free_from"], out["free_to"], out["how"] = self.free_from, self.free_to, self.how
        elif self.kind == "radius":
            out["radius_from_km"], out["radius_to_km"] = self.radius_from_km, self.radius_to_km
        else:
            out["pledge_from"], out["pledge_to"] = self.pledge_from, self.pledge_to
        return out


def _clock(iso: str | None) -> str:
    """``MM-DD HH:MM`` of an ISO datetime."""
    return "" if iso is None else iso[5:16].replace("T", " ")


def _local(c: Compiled, minute: int) -> str:
    """ISO datetime of a minute offset in the horizon's timezone."""
    from zoneinfo import ZoneInfo

    return c.minute_to_datetime(minute).astimezone(ZoneInfo(c.problem.horizon.timezone)).isoformat()


@dataclass(frozen=True)
class Fix:
    """A confirmed change and the insertion that covers the need with it."""

    change: Change
    #: start of the visit (ISO) and the team (the changed volunteer first)
    start: str
    team: tuple[str, ...]
    #: True when no candidate of this kind needs a smaller change
    minimal: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.change.to_dict(), "start": self.start, "team": list(self.team), "minimal": self.minimal}


@dataclass(frozen=True)
class Counterfactual:
    """The confirmed fixes of one uncovered task: the best of each kind, by effort."""

    task: str
    tier: int
    weight: int
    options: tuple[Fix, ...]

    @property
    def best(self) -> Fix:
        return self.options[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "tier": self.tier, "weight": self.weight,
            "best": self.best.to_dict(), "options": [fix.to_dict() for fix in self.options],
        }


@dataclass(frozen=True)
class CounterfactualReport:
    """Counterfactuals of the uncovered tasks of the most urgent tiers."""

    tiers: tuple[int, ...]
    #: uncovered tasks of those tiers, and how many were searched
    targets: int
    examined: int
    #: tasks with at least one confirmed fix, most urgent first
    items: tuple[Counterfactual, ...]
    #: fixes found by the search and refused by the validator (dropped)
    rejected: int = 0
    #: False when the time limit stopped the search before every target
    complete: bool = True
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tiers": list(self.tiers), "targets": self.targets, "examined": self.examined,
            "with_fix": len(self.items), "rejected": self.rejected, "complete": self.complete,
            "best_by_kind": dict(self.by_kind), "seconds": round(self.seconds, 3),
            "items": [item.to_dict() for item in self.items],
        }


# --------------------------------------------------------------- internals


@dataclass
class _Option:
    """A candidate fix found by the search (indexes, minutes from horizon start)."""

    task: int
    kind: int
    volunteer: int
    amount: float
    effort: int
    start: int
    team: list[int]
    minimal: bool
    free: tuple[int, int] | None = None
    radius: float | None = None
    extra_minutes: int = 0


def urgent_tiers(c: Compiled, count: int = 2) -> tuple[int, ...]:
    """The ``count`` smallest tier numbers among the tasks (the most urgent present)."""
    return tuple(int(x) for x in np.unique(c.t_tier)[:count])


def urgency_order(c: Compiled, tasks: I64) -> I64:
    """``tasks`` by tier ascending, weight descending, window start, id."""
    tasks = np.asarray(tasks, dtype=np.int64)
    ids = np.asarray([c.task_ids[t] for t in tasks.tolist()], dtype=object)
    id_rank = np.empty(len(tasks), dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(len(tasks))
    order = np.lexsort((id_rank, c.t_window_start[tasks], -c.t_weight[tasks], c.t_tier[tasks]))
    return tasks[order]


def _depth_ranges(collected: list[Ranges], k: int) -> Ranges:
    """Starts lying in at least ``k`` of the range lists (closed ranges)."""
    if k <= 0:
        return [[-(1 << 40), 1 << 40]]
    events: list[tuple[int, int]] = []
    for ranges in collected:
        for a, b in ranges:
            events.append((a, 1))
            events.append((b + 1, -1))
    events.sort()
    out: Ranges = []
    depth = 0
    opened: int | None = None
    for position, delta in events:
        depth += delta
        if depth >= k and opened is None:
            opened = position
        elif depth < k and opened is not None:
            if position - 1 >= opened:
                out.append([opened, position - 1])
            opened = None
    return out


def _missing_pieces(intervals: list[tuple[int, int]], s: int, e: int) -> list[tuple[int, int]]:
    """Parts of ``[s, e)`` outside the (sorted, disjoint) intervals."""
    pieces = []
    cursor = s
    for a, b in intervals:
        if b <= cursor:
            continue
        if a >= e:
            break
        if a > cursor:
            pieces.append((cursor, a))
        cursor = max(cursor, b)
        if cursor >= e:
            break
    if cursor < e:
        pieces.append((cursor, e))
    return pieces


def availability_lower_bound(
    c: Compiled,
    t: I64,
    v: I64,
    intervals: tuple[I64, I64, I64] | None = None,
    edges: tuple[I64, I64] | None = None,
) -> I64:
    """For pairs ``(t, v)``: the fewest minutes of free time ``v`` must add so that
    one visit of ``t`` fits in the window and in one joined interval, as one
    contiguous piece (extend an interval, bridge a gap or add an interval),
    ignoring bookings. 0 when the volunteer is free (SPEC §10).

    ``intervals`` (CSR ``ptr, start, end`` per volunteer, sorted and disjoint)
    replaces the availability, e.g. by the free slots left between bookings,
    and ``edges`` gives for each interval the recipient of the booked visit
    that closes it on the left and on the right (-1: an edge of the
    availability, where free time can be added). A visit next to a booked one
    keeps the travel between them and cannot reach into it; every placement
    that avoids the bookings overlaps the availability exactly where it
    overlaps those (shrunk) slots, so the result stays a lower bound.
    """
    av_ptr, av_start, av_end = (c.av_ptr, c.av_start, c.av_end) if intervals is None else intervals
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    dur = c.t_duration[t]
    lo = c.t_window_start[t]
    hi = c.t_window_end[t] - dur
    best = dur.copy()
    if len(t) == 0 or len(av_start) == 0:
        return best
    span = c.horizon_minutes + 2
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(av_ptr))
    ekeys = owner * span + av_end
    first_row = av_ptr[v]
    last_row = av_ptr[v + 1]
    here = c.t_recipient[t].astype(np.int64)

    def shrunk(rows: I64, pairs: I64) -> tuple[I64, I64, NDArray[np.bool_], NDArray[np.bool_]]:
        """Start and end of intervals ``rows`` for the pairs, less the travel to a
        booked neighbour, and whether each side is closed by one."""
        a, b = av_start[rows].copy(), av_end[rows].copy()
        if edges is None:
            no = np.zeros(len(rows), dtype=bool)
            return a, b, no, no
        before, after = edges[0][rows], edges[1][rows]
        left, right = before >= 0, after >= 0
        if left.any():
            a[left] += rules.travel_between_recipients(c, before[left], here[pairs[left]])
        if right.any():
            b[right] -= rules.travel_between_recipients(c, here[pairs[right]], after[right])
        return a, b, left, right

    # the interval before the first one ending after the window start (for a bridge)
    idx = np.searchsorted(ekeys, v * span + np.clip(lo, 0, span - 1), side="right") - 1
    idx = np.maximum(idx, first_row)
    pending = np.flatnonzero(idx < last_row)
    idx = idx[pending]
    while len(pending):
        a, b, left, right = shrunk(idx, pending)
        d, low, high = dur[pending], lo[pending], hi[pending]
        # one interval: the most of the visit it can hold (the overlap is a
        # trapezoid in the start; its best point, clipped to the starts that
        # do not reach into a booked visit)
        s_lo = np.where(left, np.maximum(low, a), low)
        s_hi = np.where(right, np.minimum(high, b - d), high)
        open_ = s_lo <= s_hi
        overlap = np.zeros(len(pending), dtype=np.int64)
        for start in (np.clip(a, s_lo, s_hi), np.clip(b - d, s_lo, s_hi)):
            overlap = np.maximum(overlap, np.minimum(start + d, b) - np.maximum(start, a))
        overlap = np.where(open_, np.maximum(overlap, 0), 0)
        best[pending] = np.minimum(best[pending], d - overlap)
        # bridge to the next interval across a gap in the availability: the
        # visit starts in this one, ends in the next
        has_next = idx + 1 < last_row[pending]
        nxt = np.minimum(idx + 1, len(av_start) - 1)
        a2, b2, left2, _ = shrunk(nxt, pending)
        b_lo = np.maximum(np.maximum(low, a), a2 - d)
        b_hi = np.minimum(np.minimum(high, b), b2 - d)
        bridge = has_next & ~right & ~left2 & (b_lo <= b_hi)
        best[pending[bridge]] = np.minimum(best[pending[bridge]], (a2 - b)[bridge])
        go_on = has_next & (av_start[nxt] < high + d)
        pending = pending[go_on]
        idx = idx[go_on] + 1
    return np.maximum(best, 0)


# --------------------------------------------------------------- the search


class _Search:
    """The per-task exact search over ranked candidate pairs."""

    def __init__(self, c: Compiled, plan: Planner, per_task: int):
        self.c = c
        self.plan = plan
        self.per_task = per_task
        self.default_pledge = np.array([v.max_minutes is None for v in c.problem.volunteers], dtype=bool)
        self.policy_radius = float(c.problem.policy.max_travel_km)
        # eligible free volunteers per task, by distance: the possible team mates
        self.mate_ptr: I64 = np.zeros(c.n_tasks + 1, dtype=np.int64)
        self.mate_vol: I64 = np.zeros(0, dtype=np.int64)
        self.mate_load: I64 = np.zeros(0, dtype=np.int64)
        self._mates: dict[int, list[tuple[int, Ranges]]] = {}

    # ------------------------------------------------------------ team mates

    def mates(self, t: int) -> list[tuple[int, Ranges]]:
        """Volunteers who can join task ``t`` as things stand, with their starts."""
        if t in self._mates:
            return self._mates[t]
        plan = self.plan
        rows = slice(int(self.mate_ptr[t]), int(self.mate_ptr[t + 1]))
        vols, loads = self.mate_vol[rows], self.mate_load[rows]
        keep = (plan.used[vols] + loads <= self.c.v_max_minutes[vols]) & (self.c.v_max_per_day[vols] > 0)
        vols = vols[keep]
        out: list[tuple[int, Ranges]] = []
        if len(vols):
            vols = vols[plan.may_fit(t, vols)]
            for u in vols.tolist():
                ranges = plan.free_ranges(u, t)
                if ranges:
                    out.append((u, ranges))
        self._mates[t] = out
        return out

    def team_starts(self, t: int, v: int) -> tuple[Ranges | None, list[tuple[int, Ranges]]]:
        """Starts at which ``volunteers_needed - 1`` mates other than ``v`` can
        join task ``t`` (None: no constraint, a one-person task)."""
        needed = int(self.c.t_needed[t])
        if needed == 1:
            return None, []
        mates = [(u, r) for u, r in self.mates(t) if u != v]
        return _depth_ranges([r for _, r in mates], needed - 1), mates

    def team_at(self, t: int, v: int, start: int, mates: list[tuple[int, Ranges]]) -> list[int]:
        needed = int(self.c.t_needed[t])
        return [v] + [u for u, r in mates if _contains(r, start)][: needed - 1]

    # ---------------------------------------------------------------- kinds

    def try_availability(self, t: int, v: int) -> _Option | None:
        c, plan = self.c, self.plan
        lo = plan.window_start[t]
        dur = plan.duration[t]
        hi = plan.window_end[t] - dur
        allowed = plan.clear_ranges(v, t, [[lo, hi]], every_booking=True)
        team, mates = self.team_starts(t, v)
        if team is not None:
            allowed = _intersect(allowed, team)
        if not allowed:
            return None
        p0, p1 = plan.av_ptr[v], plan.av_ptr[v + 1]
        intervals = [
            (a, b) for a, b in zip(plan.av_start[p0:p1], plan.av_end[p0:p1], strict=True) if a < hi + dur and b > lo
        ]
        points: set[int] = set()
        for a, b in allowed:
            points.add(a)
            points.add(b)
        for a_k, b_k in intervals:
            for p in (a_k, a_k - dur, b_k, b_k - dur):
                for a, b in allowed:
                    if a <= p <= b:
                        points.add(p)
        best: tuple[int, int, tuple[int, int]] | None = None
        for s in sorted(points):
            pieces = _missing_pieces(intervals, s, s + dur)
            if len(pieces) != 1:
                continue
            x, y = pieces[0]
            if best is None or y - x < best[0]:
                best = (y - x, s, (x, y))
        if best is None:
            return None
        added, start, piece = best
        load = int(rules.assignment_load(c, np.array([t]), np.array([v]))[0])
        limit = int(c.v_max_minutes[v]) + (added if self.default_pledge[v] else 0)
        if int(plan.used[v]) + load > limit:
            return None
        team_members = self.team_at(t, v, start, mates) if team is not None else [v]
        return _Option(t, AVAILABILITY, v, float(added), added, start, team_members, False, free=piece)

    def _fits_now(self, t: int, v: int) -> tuple[int, list[int]] | None:
        """Earliest start at which ``v`` (time only) and a team can take ``t``."""
        ranges = self.plan.clear_ranges(v, t, self.plan.window_ranges(v, t), every_booking=True)
        team, mates = self.team_starts(t, v)
        if team is not None:
            ranges = _intersect(ranges, team)
        if not ranges:
            return None
        start = ranges[0][0]
        return start, (self.team_at(t, v, start, mates) if team is not None else [v])

    def try_pledge(self, t: int, v: int, extra: int) -> _Option | None:
        found = self._fits_now(t, v)
        if found is None:
            return None
        start, team = found
        return _Option(t, PLEDGE, v, float(extra), extra, start, team, False, extra_minutes=extra)

    def try_radius(self, t: int, v: int, new_radius: float, load: int) -> _Option | None:
        if int(self.plan.used[v]) + load > int(self.c.v_max_minutes[v]) or self.c.v_max_per_day[v] <= 0:
            return None
        found = self._fits_now(t, v)
        if found is None:
            return None
        start, team = found
        widening = new_radius - float(self.c.v_radius[v])
        effort = 2 * int(rules.travel_minutes(self.c, np.array([max(widening, 0.0)]))[0])
        return _Option(t, RADIUS, v, widening, effort, start, team, False, radius=new_radius)


def rounded_radius(km: NDArray[np.float64], cap: float) -> NDArray[np.float64]:
    """Distances rounded up to the radius step, at most ``cap`` (the policy's),
    and never below the distance (the radius test allows 1e-9 km)."""
    steps = np.ceil(np.asarray(km) / RADIUS_STEP_KM - 1e-6) * RADIUS_STEP_KM
    steps = np.where(steps + rules.RADIUS_TOLERANCE_KM < km, steps + RADIUS_STEP_KM, steps)
    return np.asarray(np.round(np.minimum(steps, cap), 6), dtype=np.float64)


@dataclass
class _Ranked:
    """Candidate pairs of one kind, grouped by task and ranked by lower bound."""

    ptr: I64
    volunteer: I64
    bound: NDArray[np.float64]
    extra: NDArray[np.float64]

    @staticmethod
    def of(n_tasks: int, t: I64, v: I64, bound: NDArray[Any], km: NDArray[Any], extra: NDArray[Any]) -> _Ranked:
        order = np.lexsort((v, km, bound, t))
        t = t[order]
        return _Ranked(
            ptr=np.searchsorted(t, np.arange(n_tasks + 1), side="left").astype(np.int64),
            volunteer=v[order],
            bound=np.asarray(bound, dtype=np.float64)[order],
            extra=np.asarray(extra, dtype=np.float64)[order],
        )


def _free_slots(plan: Planner) -> tuple[tuple[I64, I64, I64], tuple[I64, I64]]:
    """The planner's free slots (availability minus booked visits) as CSR, and
    the recipients of the booked visits around each (-1: none)."""
    n = np.asarray(plan.n_slots, dtype=np.int64)
    width = plan.slot_start.shape[1]
    used = np.arange(width)[None, :] < n[:, None]
    ptr = np.zeros(len(n) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(n)
    slots = (ptr, plan.slot_start[used].astype(np.int64), plan.slot_end[used].astype(np.int64))
    return slots, (plan.slot_prev[used].astype(np.int64), plan.slot_next[used].astype(np.int64))


def _candidate_pairs(c: Compiled, plan: Planner, targets: I64, search: _Search) -> dict[int, _Ranked]:
    """Rank every candidate pair of the target tasks, per kind, with numpy."""
    def recipient_rules(t: I64, v: I64, km: NDArray[np.float64]) -> NDArray[np.bool_]:
        return rules.not_excluded(c, t, v) & rules.community_ok(c, t, v)

    chunks = list(pairs_in_radius(c, targets, pair_filter=recipient_rules))
    t = np.concatenate([x[0] for x in chunks]) if chunks else np.zeros(0, np.int64)
    v = np.concatenate([x[1] for x in chunks]) if chunks else np.zeros(0, np.int64)
    km = np.concatenate([x[2] for x in chunks]) if chunks else np.zeros(0)
    free = rules.earliest_free_start(c, t, v) >= 0
    load = rules.assignment_load(c, t, v, km)

    # mates: eligible and free, by distance
    order = np.lexsort((v[free], km[free], t[free]))
    mate_t = t[free][order]
    search.mate_ptr = np.searchsorted(mate_t, np.arange(c.n_tasks + 1), side="left").astype(np.int64)
    search.mate_vol = v[free][order]
    search.mate_load = load[free][order]

    ranked: dict[int, _Ranked] = {}
    # availability: every eligible volunteer - one not free for the visit, or
    # free but booked. The bound uses the free slots between bookings; a
    # volunteer with an explicit pledge needs its minutes left, one without
    # pledges their free minutes, which grow with the free time added; one
    # whose daily limit is reached on every day of the window cannot take it
    default_pledge = search.default_pledge[v]
    short_by = plan.used[v] + load - c.v_max_minutes[v]
    first_day, last_day = plan.first_day[t], plan.last_day[t]
    day_open = np.zeros(len(t), dtype=bool)
    for offset in range(int((last_day - first_day).max(initial=0)) + 1):
        day = np.minimum(first_day + offset, last_day)
        day_open |= (first_day + offset <= last_day) & ~plan.day_full[v, day]
    usable = (c.v_max_per_day[v] > 0) & (default_pledge | (short_by <= 0)) & day_open
    slots, edges = _free_slots(plan)
    need = np.maximum(availability_lower_bound(c, t[usable], v[usable], slots, edges), short_by[usable])
    booked = free[usable]
    for source, rows in ((AVAILABILITY, ~booked), (BOOKED, booked)):
        tr, vr = t[usable][rows], v[usable][rows]
        ranked[source] = _Ranked.of(c.n_tasks, tr, vr, need[rows], km[usable][rows], need[rows])
    # pledge: eligible, free, minutes short
    short = free & (plan.used[v] + load > c.v_max_minutes[v]) & (c.v_max_per_day[v] > 0)
    extra = plan.used[v[short]] + load[short] - c.v_max_minutes[v[short]]
    ranked[PLEDGE] = _Ranked.of(c.n_tasks, t[short], v[short], extra, km[short], extra)

    # radius: beyond the personal radius, within the policy's
    policy_radius = search.policy_radius
    narrow = np.flatnonzero(c.v_radius < policy_radius - rules.RADIUS_TOLERANCE_KM).astype(np.int64)
    rt: list[I64] = []
    rv: list[I64] = []
    rk: list[NDArray[np.float64]] = []
    if len(narrow):
        wide = replace(c, v_radius=np.full(c.n_volunteers, policy_radius))
        for ct, cv, ckm in pairs_in_radius(wide, targets, volunteers=narrow, pair_filter=recipient_rules):
            beyond = ~rules.radius_ok(c, ct, cv, ckm)
            rt.append(ct[beyond])
            rv.append(cv[beyond])
            rk.append(ckm[beyond])
    t_r = np.concatenate(rt) if rt else np.zeros(0, np.int64)
    v_r = np.concatenate(rv) if rv else np.zeros(0, np.int64)
    km_r = np.concatenate(rk) if rk else np.zeros(0)
    free_r = rules.earliest_free_start(c, t_r, v_r) >= 0
    t_r, v_r, km_r = t_r[free_r], v_r[free_r], km_r[free_r]
    new_radius = rounded_radius(km_r, policy_radius)
    widening = new_radius - c.v_radius[v_r]
    ranked[RADIUS] = _Ranked.of(c.n_tasks, t_r, v_r, widening, km_r, new_radius)
    return ranked


def _prefetch_travel(c: Compiled, plan: Planner, ranked: dict[int, _Ranked], per_task: int) -> None:
    """Fetch in one vectorized call the travel minutes between each task and the
    bookings of the volunteers its search will most likely try."""
    n_booked = np.asarray(plan.n_booked, dtype=np.int64)
    book_ptr = np.zeros(c.n_volunteers + 1, dtype=np.int64)
    book_ptr[1:] = np.cumsum(n_booked)
    booked = np.asarray([r for rs in plan.book_recipient for r in rs], dtype=np.int64)
    tasks: list[I64] = []
    vols: list[I64] = []
    for source, pairs in ranked.items():
        counts = np.diff(pairs.ptr)
        owner = np.repeat(np.arange(c.n_tasks, dtype=np.int64), counts)
        rank = np.arange(len(owner)) - np.repeat(pairs.ptr[:-1], counts)
        head = rank < (min(per_task, BOOKED_TRIES) if source == BOOKED else per_task)
        tasks.append(owner[head])
        vols.append(pairs.volunteer[head])
    t = np.concatenate(tasks)
    v = np.concatenate(vols)
    count = n_booked[v]
    rows = np.repeat(np.arange(len(t)), count)
    others = booked[ragged_ranges(book_ptr[v], count)]
    plan.prefetch_pairs(c.t_recipient[t][rows].astype(np.int64), others)


class Finder:
    """The best fix of each kind for each target task: candidates ranked with
    numpy, then tried exactly against the greedy's booking state."""

    def __init__(
        self,
        c: Compiled,
        sol: Solution,
        targets: I64,
        *,
        per_task: int = PER_TASK,
        per_volunteer: int | None = None,
        plan: Planner | None = None,
    ):
        self.c = c
        self.per_task = per_task
        self.per_volunteer = per_volunteer
        plan = plan if plan is not None else planner_of(c, sol)
        # the travel it prefetches stays (as in its own cache before stop 48)
        plan.travel_cache_max = None
        self.search = _Search(c, plan, per_task)
        self.ranked = _candidate_pairs(c, plan, np.sort(np.asarray(targets, dtype=np.int64)), self.search)
        _prefetch_travel(c, plan, self.ranked, per_task)
        self.loads: dict[tuple[int, int], int] = {}
        #: per kind, the ranked candidate lists tried and their tries per task
        self.segments: dict[int, list[tuple[int, int]]] = {
            AVAILABILITY: [(AVAILABILITY, per_task), (BOOKED, min(per_task, BOOKED_TRIES))],
            RADIUS: [(RADIUS, per_task)],
            PLEDGE: [(PLEDGE, per_task)],
        }
        #: how many chosen fixes name each volunteer
        self.named = np.zeros(c.n_volunteers, dtype=np.int64)

    def best(self, t: int, kind: int, banned: frozenset[int] = frozenset()) -> _Option | None:
        """The smallest fix of ``kind`` for task ``t`` among the candidates tried
        (``banned`` volunteers count as failed tries).

        Candidates come in lists ranked by a lower bound of the change's size;
        each list is tried in order until the next bound reaches the best size
        found or its tries run out. An availability change is sought first among
        the volunteers not free for the visit, then (a few tries) among those
        free but booked."""
        best: _Option | None = None
        minimal = True
        for source, tries in self.segments[kind]:
            pairs = self.ranked[source]
            lo, hi = int(pairs.ptr[t]), int(pairs.ptr[t + 1])
            tried = 0
            row = lo
            passed_over = np.inf  # smallest bound of a volunteer named too often
            while row < hi and tried < tries:
                bound = float(pairs.bound[row])
                if best is not None and best.amount <= bound:
                    break
                v = int(pairs.volunteer[row])
                if self.per_volunteer is not None and self.named[v] >= self.per_volunteer:
                    passed_over = min(passed_over, bound)
                    row += 1
                    continue
                tried += 1
                found = None if v in banned else self._try(t, kind, v, pairs, row)
                if found is not None and (best is None or found.amount < best.amount):
                    best = found
                row += 1
            # this list cannot hold a smaller change when every remaining bound,
            # and every bound passed over, is at least the best size
            rest = float(pairs.bound[row]) if row < hi else np.inf
            minimal = minimal and best is not None and best.amount <= min(rest, passed_over)
        if best is not None:
            best.minimal = minimal
        return best

    def _try(self, t: int, kind: int, v: int, pairs: _Ranked, row: int) -> _Option | None:
        search = self.search
        if kind == AVAILABILITY:
            return search.try_availability(t, v)
        if kind == PLEDGE:
            return search.try_pledge(t, v, int(pairs.extra[row]))
        key = (t, v)
        if key not in self.loads:
            self.loads[key] = int(rules.assignment_load(self.c, np.array([t]), np.array([v]))[0])
        return search.try_radius(t, v, float(pairs.extra[row]), self.loads[key])

    def run(self, targets: I64, deadline: float | None = None) -> tuple[list[_Option], int]:
        """The best fix of each kind of each target (in order), and how many
        targets were searched before the deadline."""
        options: list[_Option] = []
        examined = 0
        for t in np.asarray(targets, dtype=np.int64).tolist():
            if deadline is not None and time.perf_counter() > deadline:
                break
            examined += 1
            chosen = [x for x in (self.best(t, kind) for kind in (AVAILABILITY, RADIUS, PLEDGE)) if x is not None]
            for option in chosen:
                self.named[option.volunteer] += 1
            options.extend(chosen)
        return options, examined


# ------------------------------------------------------------ confirmation


def with_changes(c: Compiled, options: list[_Option]) -> Compiled:
    """``c`` with every option's change applied (one change per volunteer)."""
    radius = c.v_radius.copy()
    max_minutes = c.v_max_minutes.copy()
    added: list[tuple[int, int, int]] = []
    for option in options:
        v = option.volunteer
        if option.kind == RADIUS:
            assert option.radius is not None
            radius[v] = option.radius
        elif option.kind == PLEDGE:
            max_minutes[v] += option.extra_minutes
        else:
            assert option.free is not None
            added.append((v, *option.free))
    if not added:
        return replace(c, v_radius=radius, v_max_minutes=max_minutes)
    ptr, start, end = _insert_intervals(c, added)
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(ptr))
    total = np.bincount(owner, weights=(end - start).astype(np.float64), minlength=c.n_volunteers)
    default = np.array([v.max_minutes is None for v in c.problem.volunteers], dtype=bool)
    for v, _, _ in added:
        if default[v]:
            max_minutes[v] = int(total[v])
    return replace(c, av_ptr=ptr, av_start=start, av_end=end, v_radius=radius, v_max_minutes=max_minutes)


def _insert_intervals(c: Compiled, added: list[tuple[int, int, int]]) -> tuple[I64, I64, I64]:
    """Joined availability CSR with the intervals ``(volunteer, start, end)`` added
    (only the changed volunteers' rows are rebuilt)."""
    by_volunteer: dict[int, list[tuple[int, int]]] = {}
    for v, x, y in added:
        by_volunteer.setdefault(v, []).append((x, y))
    counts = np.diff(c.av_ptr)
    starts: list[I64] = []
    ends: list[I64] = []
    row = 0
    for v in sorted(by_volunteer):
        p0, p1 = int(c.av_ptr[v]), int(c.av_ptr[v + 1])
        starts.append(c.av_start[row:p0])
        ends.append(c.av_end[row:p0])
        spans = sorted([*zip(c.av_start[p0:p1].tolist(), c.av_end[p0:p1].tolist(), strict=True), *by_volunteer[v]])
        joined: list[list[int]] = []
        for x, y in spans:
            if joined and x <= joined[-1][1]:  # touching or overlapping intervals join
                joined[-1][1] = max(joined[-1][1], y)
            else:
                joined.append([x, y])
        starts.append(np.array([x for x, _ in joined], dtype=np.int64))
        ends.append(np.array([y for _, y in joined], dtype=np.int64))
        counts[v] = len(joined)
        row = p1
    starts.append(c.av_start[row:])
    ends.append(c.av_end[row:])
    ptr = np.zeros(c.n_volunteers + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    return ptr, np.concatenate(starts).astype(np.int64), np.concatenate(ends).astype(np.int64)


def pin_independent(c: Compiled, sol: Solution) -> NDArray[np.bool_]:
    """Volunteers whose change cannot alter the verdict on the dropped pins.

    Whether dropping a pin ``(task, u)`` is justified (rule 12, SPEC §10) depends
    on the pins the schedule keeps, on ``u`` and, for a team task, on the other
    volunteers who could complete the team. So a change of a volunteer who
    holds no dropped pin, when no dropped pin is on a team task, leaves rule 12
    as it is for a schedule that only gains assignments that are not pins.
    """
    out = np.ones(c.n_volunteers, dtype=bool)
    for t, v, _ in sol.conflicts:
        if 0 <= t < c.n_tasks and c.t_needed[t] > 1:
            out[:] = False
            break
        if 0 <= v < c.n_volunteers:
            out[v] = False
    return out


def confirm(c: Compiled, sol: Solution, options: list[_Option]) -> list[bool]:
    """For each option: does the validator accept the current schedule plus the
    option's insertion, on the problem with the option's change?

    ``sol`` must be valid. Options are checked in rounds of options that share
    no volunteer and no task (such options touch disjoint rules: rules 1-11
    concern one assignment, one task or one volunteer). When an option's change
    cannot alter the verdict on the dropped pins (:func:`pin_independent`) and
    its task has no pin, rules 1-11 are checked on the part of the schedule the
    option touches (every assignment of its volunteers and of their tasks, which
    decides those rules exactly) on the problem without pins; otherwise the
    whole schedule is checked on the whole changed problem.
    """
    from .check import violations

    ok = [False] * len(options)
    if not options:
        return ok
    independent = pin_independent(c, sol)
    has_pins = np.diff(c.t_pin_ptr) > 0
    quick = [i for i, o in enumerate(options) if independent[o.volunteer] and not has_pins[o.task]]
    slow = [i for i, o in enumerate(options) if not (independent[o.volunteer] and not has_pins[o.task])]

    no_pins = replace(
        c, t_pin_ptr=np.zeros(c.n_tasks + 1, dtype=np.int64), t_pin=np.zeros(0, dtype=np.int32),
        pinned_keys=np.zeros(0, dtype=np.int64),
    )
    by_volunteer = np.argsort(sol.volunteer, kind="stable")
    vol_ptr = np.searchsorted(sol.volunteer[by_volunteer], np.arange(c.n_volunteers + 1))
    task_ptr = np.searchsorted(sol.task, np.arange(c.n_tasks + 1))  # sol is sorted by task

    def added(chosen: list[_Option]) -> tuple[I64, I64, I64]:
        return (
            np.asarray([o.task for o in chosen for _ in o.team], dtype=np.int64),
            np.asarray([v for o in chosen for v in o.team], dtype=np.int64),
            np.asarray([o.start for o in chosen for _ in o.team], dtype=np.int64),
        )

    def check_part(chosen: list[_Option]) -> list[Any]:
        vols = sorted({v for o in chosen for v in o.team})
        rows = np.concatenate([by_volunteer[vol_ptr[v] : vol_ptr[v + 1]] for v in vols])
        tasks = np.unique(sol.task[rows])
        rows = np.unique(np.concatenate([rows, *(np.arange(task_ptr[t], task_ptr[t + 1]) for t in tasks)]))
        t, v, s = added(chosen)
        trial = Solution.build(np.r_[sol.task[rows], t], np.r_[sol.volunteer[rows], v], np.r_[sol.start[rows], s])
        return violations(with_changes(no_pins, chosen), trial)

    def check_whole(chosen: list[_Option]) -> list[Any]:
        t, v, s = added(chosen)
        trial = Solution.build(np.r_[sol.task, t], np.r_[sol.volunteer, v], np.r_[sol.start, s], sol.conflicts)
        return violations(with_changes(c, chosen), trial)

    _in_rounds(c, options, quick, check_part, ok)
    _in_rounds(c, options, slow, check_whole, ok)
    return ok


def _in_rounds(
    c: Compiled, options: list[_Option], pending: list[int], check: Any, ok: list[bool]
) -> None:
    """Check ``options[pending]`` in rounds of options sharing no volunteer and no
    task; a violation names the option it blames (by task or volunteer), which is
    refused, and the others of its round are checked again."""
    solo = False
    while pending:
        batch: list[int] = []
        rest: list[int] = []
        used_v: set[int] = set()
        used_t: set[int] = set()
        for i in pending:
            option = options[i]
            members = set(option.team)
            if (solo and batch) or option.task in used_t or members & used_v:
                rest.append(i)
                continue
            batch.append(i)
            used_t.add(option.task)
            used_v |= members
        chosen = [options[i] for i in batch]
        found = check(chosen)
        if not found:
            for i in batch:
                ok[i] = True
            pending = rest
            continue
        blamed: set[int] = set()
        unexplained = False
        by_task = {c.task_ids[o.task]: i for i, o in zip(batch, chosen, strict=True)}
        by_volunteer = {c.volunteer_ids[v]: i for i, o in zip(batch, chosen, strict=True) for v in o.team}
        for violation in found:
            hit = {by_task.get(violation.task or ""), by_volunteer.get(violation.volunteer or "")} - {None}
            if not hit:
                unexplained = True
            blamed |= {i for i in hit if i is not None}
        if unexplained and len(batch) > 1:
            solo = True  # check one by one from now on
            pending = batch + rest
            continue
        if unexplained:
            blamed = set(batch)
        # the others go back and are checked again without the blamed ones
        pending = [i for i in batch if i not in blamed] + rest


# --------------------------------------------------------------- entry point


def counterfactuals(
    c: Compiled,
    sol: Solution,
    *,
    tiers: tuple[int, ...] | None = None,
    per_task: int = PER_TASK,
    per_volunteer: int | None = None,
    time_limit: float | None = None,
    skip: NDArray[np.bool_] | None = None,
    plan: Planner | None = None,
) -> CounterfactualReport:
    """Confirmed counterfactuals for the uncovered tasks of ``tiers`` (default: the
    two most urgent tiers present), most urgent task first.

    ``sol`` must be valid. ``skip`` marks tasks not to search (e.g. tasks that
    could be added as the schedule stands). ``time_limit`` (seconds) stops the
    search early (the report says so); without it the result is deterministic.

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> from assign.candidates import build_candidates
    >>> from assign.solvers.greedy import solve_greedy
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> report = counterfactuals(c, solve_greedy(c, build_candidates(c)))
    >>> report.tiers, report.targets, report.items
    ((1, 2), 1, ())
    """
    clock = time.perf_counter()
    deadline = None if time_limit is None else clock + time_limit
    if tiers is None:
        tiers = urgent_tiers(c)
    uncovered = ~sol.covered(c.n_tasks)
    if skip is not None:
        uncovered &= ~skip
    targets = np.flatnonzero(uncovered & np.isin(c.t_tier, np.asarray(tiers, dtype=np.int64)))
    targets = urgency_order(c, targets)
    if len(targets) == 0:
        return CounterfactualReport(tuple(tiers), 0, 0, (), seconds=time.perf_counter() - clock)
    finder = Finder(c, sol, targets, per_task=per_task, per_volunteer=per_volunteer, plan=plan)
    options, examined = finder.run(targets, deadline)
    accepted = confirm(c, sol, options)
    rejected = len(options) - sum(accepted)
    # a fix the validator refuses is replaced by the next best of its kind
    banned: dict[tuple[int, int], set[int]] = {}
    retry = [o for o, ok in zip(options, accepted, strict=True) if not ok]
    for _ in range(RETRIES):
        if not retry:
            break
        again: list[_Option] = []
        for old in retry:
            refused = banned.setdefault((old.task, old.kind), set())
            refused.add(old.volunteer)
            found = finder.best(old.task, old.kind, frozenset(refused))
            if found is not None:
                again.append(found)
        verdict = confirm(c, sol, again)
        rejected += len(again) - sum(verdict)
        options += again
        accepted += verdict
        retry = [o for o, ok in zip(again, verdict, strict=True) if not ok]
    per_task_fixes: dict[int, list[_Option]] = {}
    for option, ok in zip(options, accepted, strict=True):
        if ok:
            per_task_fixes.setdefault(option.task, []).append(option)
    items = []
    by_kind = dict.fromkeys(KINDS, 0)
    for t in targets[:examined].tolist():
        fixes = per_task_fixes.get(t)
        if not fixes:
            continue
        fixes.sort(key=lambda o: (o.effort, o.amount, o.kind, o.volunteer))
        by_kind[KINDS[fixes[0].kind]] += 1
        items.append(
            Counterfactual(
                task=c.task_ids[t], tier=int(c.t_tier[t]), weight=int(c.t_weight[t]),
                options=tuple(_fix(c, o) for o in fixes),
            )
        )
    return CounterfactualReport(
        tiers=tuple(tiers),
        targets=len(targets),
        examined=examined,
        items=tuple(items),
        rejected=rejected,
        complete=examined == len(targets),
        seconds=time.perf_counter() - clock,
        by_kind=by_kind,
    )


def _fix(c: Compiled, option: _Option) -> Fix:
    v = option.volunteer
    kind = KINDS[option.kind]
    if option.kind == AVAILABILITY:
        assert option.free is not None
        x, y = option.free
        ends = set(c.av_end[c.av_ptr[v] : c.av_ptr[v + 1]].tolist())
        starts = set(c.av_start[c.av_ptr[v] : c.av_ptr[v + 1]].tolist())
        how = {(True, True): "bridge", (True, False): "later_end", (False, True): "earlier_start"}.get(
            (x in ends, y in starts), "new"
        )
        change = Change(
            kind, c.volunteer_ids[v], option.amount, "min", option.effort,
            free_from=_local(c, x), free_to=_local(c, y), how=how,
        )
    elif option.kind == RADIUS:
        assert option.radius is not None
        change = Change(
            kind, c.volunteer_ids[v], round(option.amount, 3), "km", option.effort,
            radius_from_km=round(float(c.v_radius[v]), 3), radius_to_km=round(option.radius, 3),
        )
    else:
        change = Change(
            kind, c.volunteer_ids[v], option.amount, "min", option.effort,
            pledge_from=int(c.v_max_minutes[v]), pledge_to=int(c.v_max_minutes[v]) + option.extra_minutes,
        )
    return Fix(
        change=change,
        start=_local(c, option.start),
        team=tuple(c.volunteer_ids[u] for u in option.team),
        minimal=option.minimal,
    )


__all__ = [
    "KINDS",
    "Change",
    "Counterfactual",
    "CounterfactualReport",
    "Fix",
    "availability_lower_bound",
    "confirm",
    "counterfactuals",
    "Finder",
    "pin_independent",
    "planner_of",
    "urgent_tiers",
    "urgency_order",
    "with_changes",
]
