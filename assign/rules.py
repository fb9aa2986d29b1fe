"""The hard rules of SPEC §4, once, vectorized over arrays of (task, volunteer) pairs.

Candidate generation, every solver and the validator call these functions; no
other module re-implements a rule. Arguments ``t`` and ``v`` are integer arrays
of task and volunteer indexes of the same length (one entry per pair).
"""

from __future__ import annotations

import weakref

import numpy as np
from numpy.typing import NDArray

from .compile import EARTH_RADIUS_KM, Compiled

RADIUS_TOLERANCE_KM = 1e-9
TRAVEL_TOLERANCE = 1e-9

IntArray = NDArray[np.integer]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------- geometry


def haversine_km(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Great-circle distance in km (Earth radius 6371.0 km), no detour factor."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    return _haversine_rad(p1, np.radians(lon1), np.cos(p1), p2, np.radians(lon2), np.cos(p2))


def _haversine_rad(
    p1: FloatArray, l1: FloatArray, cos1: FloatArray, p2: FloatArray, l2: FloatArray, cos2: FloatArray
) -> FloatArray:
    """:func:`haversine_km` from latitudes and longitudes in radians and the
    latitudes' cosines (the one formula; callers may compute these once)."""
    h = np.sin((p2 - p1) / 2) ** 2 + cos1 * cos2 * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(np.maximum(h, 0.0), 1.0)))


def distance_km(c: Compiled, t: IntArray, v: IntArray) -> FloatArray:
    """Detour-adjusted distance from each volunteer's home to the task's recipient."""
    r = c.t_recipient[t]
    return haversine_km(c.v_lat[v], c.v_lon[v], c.r_lat[r], c.r_lon[r]) * c.detour_factor


def recipient_distance_km(c: Compiled, ra: IntArray, rb: IntArray) -> FloatArray:
    """Detour-adjusted distance between two recipients' homes."""
    return haversine_km(c.r_lat[ra], c.r_lon[ra], c.r_lat[rb], c.r_lon[rb]) * c.detour_factor


#: travel minutes are capped here (2^31 - 1): a trip this long fits no
#: horizon (at most 366 days) and no pledge twice over (at most 2^30 - 1
#: minutes), so rules 9 and 10 read the same, and every table holds it in 32
#: bits (a speed of 1e-8 km/h made trips that wrapped around, audit of stop 47)
TRAVEL_CAP = (1 << 31) - 1


def travel_minutes(c: Compiled, km: FloatArray) -> NDArray[np.int64]:
    """``ceil(60 * d / speed - 1e-9)`` for detour-adjusted distances ``km``,
    at most :data:`TRAVEL_CAP`."""
    with np.errstate(over="ignore"):
        minutes = np.ceil(60.0 * np.asarray(km, dtype=np.float64) / c.speed_kmh - TRAVEL_TOLERANCE)
    return np.clip(minutes, 0, TRAVEL_CAP).astype(np.int64)


def travel_between_recipients(c: Compiled, ra: IntArray, rb: IntArray) -> NDArray[np.int64]:
    """Travel minutes between two visits (0 at the same home)."""
    same = (c.r_lat[ra] == c.r_lat[rb]) & (c.r_lon[ra] == c.r_lon[rb])
    return np.where(same, 0, travel_minutes(c, recipient_distance_km(c, ra, rb)))


#: a problem of at most this many (recipient, recipient) cells keeps the
#: travel minutes of every pair in one int32 table, built in chunks once per
#: compiled problem, on the first :class:`RecipientTravel` (Shiquan: 3,100
#: recipients, 9.6 M cells, 38 MB; the greedy's passes time travel millions
#: of times, benchmarks/HISTORY.md)
TRAVEL_TABLE_CELLS = 16_000_000
#: rows of the table computed at once (bounds the float temporaries)
_TABLE_CHUNK_CELLS = 1_000_000
_TABLES: weakref.WeakKeyDictionary[Compiled, NDArray[np.int32]] = weakref.WeakKeyDictionary()


class RecipientTravel:
    """:func:`travel_between_recipients` for many calls: the recipients'
    radians and cosines are computed once, and on problems of at most
    :data:`TRAVEL_TABLE_CELLS` recipient pairs every pair's minutes are
    looked up in a table of this same formula (``table=False``: never). The
    same minutes pair for pair; its "same home" case needs no test here,
    since equal coordinates give 0 km and ``ceil(-1e-9) = 0`` minutes."""

    def __init__(self, c: Compiled, table: bool = True) -> None:
        self.c = c
        self.lat = np.radians(np.asarray(c.r_lat, dtype=np.float64))
        self.lon = np.radians(np.asarray(c.r_lon, dtype=np.float64))
        self.cos = np.cos(self.lat)
        n = len(self.lat)
        self.full: NDArray[np.int32] | None = None
        if table and n * n <= TRAVEL_TABLE_CELLS:
            got = _TABLES.get(c)
            if got is None:
                got = np.empty((n, n), dtype=np.int32)
                step = max(1, _TABLE_CHUNK_CELLS // max(1, n))
                every = np.arange(n, dtype=np.int64)
                for lo in range(0, n, step):
                    rows = every[lo : lo + step]
                    got[lo : lo + len(rows)] = self._compute(np.repeat(rows, n), np.tile(every, len(rows))).reshape(
                        len(rows), n
                    )
                _TABLES[c] = got
            self.full = got

    def _compute(self, ra: IntArray, rb: IntArray) -> NDArray[np.int64]:
        lat, lon, cos = self.lat, self.lon, self.cos
        km = _haversine_rad(lat[ra], lon[ra], cos[ra], lat[rb], lon[rb], cos[rb]) * self.c.detour_factor
        return travel_minutes(self.c, km)

    def __call__(self, ra: IntArray, rb: IntArray) -> NDArray[np.int64]:
        if self.full is not None:
            return self.full[ra, rb].astype(np.int64)
        return self._compute(ra, rb)

    def table(self, recipients: IntArray) -> NDArray[np.int64]:
        """The ``(n, n)`` minutes between every two of ``recipients`` (row: from)."""
        r = np.asarray(recipients, dtype=np.int64)
        n = len(r)
        return self(np.repeat(r, n), np.tile(r, n)).reshape(n, n)


def shortest_travel(c: Compiled, recipients: IntArray) -> int | None:
    """The shortest travel between two distinct entries of ``recipients``
    (recipient indexes, distinct), by :func:`travel_between_recipients`; None
    for fewer than two. Travel grows with the great-circle distance, which grows
    with the chord between unit vectors, so only pairs whose chord is within a
    relative 1e-6 of the closest chord are timed (a k-d tree finds them) — the
    same minimum as over all pairs, without the n x n matrix."""
    from scipy.spatial import cKDTree

    r = np.asarray(recipients, dtype=np.int64)
    if len(r) < 2:
        return None
    xyz = c.r_xyz[r]
    tree = cKDTree(xyz)
    dist, _ = tree.query(xyz, k=2)
    reach = float(dist[:, 1].min()) * (1.0 + 1e-6) + 1e-12
    pairs = tree.query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:  # pragma: no cover - the closest pair is always within reach
        pairs = np.array([[0, 1]])
    return int(travel_between_recipients(c, r[pairs[:, 0]], r[pairs[:, 1]]).min())


# --------------------------------------------------------------- static rules


def skills_ok(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """Rule 4: the volunteer has every required skill of the task."""
    need = c.t_skills[t]
    return (c.v_skills[v] & need) == need


def radius_ok(c: Compiled, t: IntArray, v: IntArray, km: FloatArray | None = None) -> BoolArray:
    """Rule 6: distance(home, recipient) <= the volunteer's radius (1e-9 km tolerance)."""
    if km is None:
        km = distance_km(c, t, v)
    return km <= c.v_radius[v] + RADIUS_TOLERANCE_KM


def community_ok(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """Rule 7: under ``cross_community = "forbid"`` volunteer and recipient share a community."""
    if not c.forbid_cross:
        return np.ones(len(t), dtype=bool)
    return c.v_community[v] == c.r_community[c.t_recipient[t]]


def _member(keys: NDArray[np.int64], query: NDArray[np.int64]) -> BoolArray:
    if len(keys) == 0:
        return np.zeros(len(query), dtype=bool)
    pos = np.searchsorted(keys, query)
    pos = np.minimum(pos, len(keys) - 1)
    return keys[pos] == query


def not_excluded(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """Rule 8: the volunteer is not in the recipient's ``excluded_volunteers``."""
    key = c.t_recipient[t].astype(np.int64) * c.n_volunteers + np.asarray(v, dtype=np.int64)
    return ~_member(c.excluded_keys, key)


def is_preferred(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """The volunteer is in the recipient's ``preferred_volunteers``."""
    key = c.t_recipient[t].astype(np.int64) * c.n_volunteers + np.asarray(v, dtype=np.int64)
    return _member(c.preferred_keys, key)


def is_pinned(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """The pair is a pin (the volunteer already accepted the task)."""
    key = np.asarray(t, dtype=np.int64) * c.n_volunteers + np.asarray(v, dtype=np.int64)
    return _member(c.pinned_keys, key)


def is_previous(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """The pair was in the last published schedule."""
    key = np.asarray(t, dtype=np.int64) * c.n_volunteers + np.asarray(v, dtype=np.int64)
    return _member(c.previous_keys, key)


def window_ok(c: Compiled, t: IntArray, start: IntArray) -> BoolArray:
    """Rule 3: ``window_start <= start`` and ``start + duration <= window_end``."""
    return (c.t_window_start[t] <= start) & (start + c.t_duration[t] <= c.t_window_end[t])


def _interval_keys(c: Compiled) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    span = c.horizon_minutes + 2
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
    return owner * span + c.av_start, owner * span + c.av_end, span


def available(c: Compiled, v: IntArray, start: IntArray, end: IntArray) -> BoolArray:
    """Rule 5: ``[start, end)`` lies inside one joined availability interval of ``v``."""
    v = np.asarray(v, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    if len(c.av_start) == 0:
        return np.zeros(len(v), dtype=bool)
    skeys, _, span = _interval_keys(c)
    inside = (start >= 0) & (end <= c.horizon_minutes)
    query = v * span + np.clip(start, 0, c.horizon_minutes)
    pos = np.searchsorted(skeys, query, side="right") - 1
    ok = pos >= 0
    pos = np.maximum(pos, 0)
    ok &= (pos >= c.av_ptr[v]) & (pos < c.av_ptr[v + 1])
    ok &= c.av_end[pos] >= end
    return ok & inside


def earliest_free_start(
    c: Compiled, t: IntArray, v: IntArray, not_before: IntArray | None = None
) -> NDArray[np.int64]:
    """Earliest start at or after ``not_before`` (default: the window start) at which
    the whole visit of task ``t`` lies in the window and in one availability
    interval of ``v``, ignoring other assignments; -1 where there is none.

    This is the "free" test of SPEC §10 when ``not_before`` is omitted.
    """
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    dur = c.t_duration[t]
    lo_start = c.t_window_start[t] if not_before is None else np.maximum(c.t_window_start[t], not_before)
    hi_start = c.t_window_end[t] - dur
    result = np.full(len(t), -1, dtype=np.int64)
    if len(c.av_start) == 0 or len(t) == 0:
        return result
    _, ekeys, span = _interval_keys(c)
    # first interval of v that ends late enough to hold a visit starting at lo_start
    first = np.searchsorted(ekeys, v * span + np.clip(lo_start + dur, 0, span - 1), side="left")
    last = c.av_ptr[v + 1]
    pending = np.nonzero((first < last) & (lo_start <= hi_start))[0]
    idx = first[pending]
    while len(pending):
        s = np.maximum(lo_start[pending], c.av_start[idx])
        fits = (s <= hi_start[pending]) & (s + dur[pending] <= c.av_end[idx])
        result[pending[fits]] = s[fits]
        # intervals are sorted: once an interval starts after hi_start none later fits
        go_on = ~fits & (c.av_start[idx] <= hi_start[pending]) & (idx + 1 < last[pending])
        pending = pending[go_on]
        idx = idx[go_on] + 1
    return result


def free(c: Compiled, t: IntArray, v: IntArray) -> BoolArray:
    """SPEC §10 "free": one joined interval holds the whole visit somewhere in the window."""
    return earliest_free_start(c, t, v) >= 0


def eligible(c: Compiled, t: IntArray, v: IntArray, km: FloatArray | None = None) -> BoolArray:
    """SPEC §10 "eligible": skills, radius, not excluded, community rule."""
    return skills_ok(c, t, v) & radius_ok(c, t, v, km) & not_excluded(c, t, v) & community_ok(c, t, v)


def broken_alone(c: Compiled, t: IntArray, v: IntArray, staffed: BoolArray | None = None) -> list[str | None]:
    """The first rule of SPEC §4 each pair (a pin, as a rule) breaks on its own,
    whatever else the schedule holds, in the order skills, availability,
    radius, community, exclusion, pledged minutes, daily limit and, when
    ``staffed`` (per task: it has enough eligible free volunteers for its
    team) is given, whole teams; None where it breaks none of them. Rule 12
    lets a pin be dropped for these; the greedy, the exact model and the
    conflicts' names read them here."""
    km = distance_km(c, t, v)
    load = assignment_load(c, t, v, km)
    checks = [
        ("skills", skills_ok(c, t, v)),
        ("availability", free(c, t, v)),
        ("radius", radius_ok(c, t, v, km)),
        ("community", community_ok(c, t, v)),
        ("exclusion", not_excluded(c, t, v)),
        ("pledged_minutes", load <= c.v_max_minutes[v]),
        ("daily_limit", c.v_max_per_day[v] > 0),
    ]
    if staffed is not None:
        checks.append(("whole_teams", staffed[t]))
    broken = np.full(len(t), None, dtype=object)
    for name, ok in reversed(checks):
        broken[~np.asarray(ok, dtype=bool)] = name
    return broken.tolist()


# ---------------------------------------------------------- load and calendar


def assignment_load(c: Compiled, t: IntArray, v: IntArray, km: FloatArray | None = None) -> NDArray[np.int64]:
    """Rule 10's minutes of one assignment: the duration, plus ``2 * travel`` from
    home and back when ``count_travel_in_capacity``."""
    load = c.t_duration[t].astype(np.int64)
    if c.count_travel:
        if km is None:
            km = distance_km(c, t, v)
        load = load + 2 * travel_minutes(c, km)
    return load


def volunteer_loads(c: Compiled, t: IntArray, v: IntArray, km: FloatArray | None = None) -> NDArray[np.int64]:
    """Rule 10's load of every volunteer (problem order) under the assignments
    ``(t, v)``: the sum of their :func:`assignment_load`."""
    v = np.asarray(v, dtype=np.int64)
    if len(v) == 0:
        return np.zeros(c.n_volunteers, dtype=np.int64)
    return np.bincount(
        v, weights=assignment_load(c, np.asarray(t, dtype=np.int64), v, km).astype(np.float64), minlength=c.n_volunteers
    ).round().astype(np.int64)


def day_of(c: Compiled, minute: IntArray) -> NDArray[np.int64]:
    """Calendar day index (horizon timezone) of each minute offset."""
    return (np.searchsorted(c.day_starts, np.asarray(minute, dtype=np.int64), side="right") - 1).astype(np.int64)


# ------------------------------------------------------------- double booking


def visits_apart(
    c: Compiled, task_a: IntArray, start_a: IntArray, task_b: IntArray, start_b: IntArray
) -> BoolArray:
    """Rule 9 for ordered visits of one volunteer (``start_a <= start_b``):
    ``start_b >= start_a + duration_a + travel(recipient_a, recipient_b)``.

    Equal starts always fail, since every duration is at least one minute.
    Checking the consecutive visits of a volunteer (sorted by start) is enough:
    great-circle distance obeys the triangle inequality, ceil-travel is then
    subadditive up to one minute, and the visit in between lasts at least one.
    """
    ta = np.asarray(task_a, dtype=np.int64)
    tb = np.asarray(task_b, dtype=np.int64)
    travel = travel_between_recipients(c, c.t_recipient[ta], c.t_recipient[tb])
    return np.asarray(start_b) >= np.asarray(start_a) + c.t_duration[ta] + travel
