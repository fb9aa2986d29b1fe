"""The validator: every violation of the SPEC §4 hard rules 1-12 in a solution.

Each rule is tested with the one vectorized implementation in
:mod:`assign.rules`; Python loops run only over violations found (and over the
dropped pins, which are few).

Readings of the spec made here:

* **Rule 1, references.** An assignment naming an unknown task or volunteer is
  a violation; it takes part in no other rule (and in no score). A repeated
  (task, volunteer) pair is reported once per pair. Conflicts that name an
  unknown id, or a pair that is not a pin, or a pin the schedule keeps anyway,
  are not assignments and are ignored.
* **Rule 2, whole teams.** A covered task has exactly ``volunteers_needed``
  distinct volunteers (among its assignments with known ids) and one start.
* **Rule 3, window**, also covers the schedule file's ``end`` field: when an
  assignment states ``end``, it must equal ``start + duration_min``
  (:func:`check` only; a :class:`~assign.solution.Solution` has no ``end``).
* **Rule 9, double booking.** Only consecutive visits of a volunteer (sorted by
  start) are compared; that is exact (see :func:`assign.rules.visits_apart`).
  One violation is reported per offending consecutive pair, on the later visit.
* **Rule 10 / 11** are reported once per volunteer / per volunteer and day.
* Starts are whole minutes of the clock (from :func:`~assign.compile.grid_origin`,
  the whole minute at or before the horizon start); a schedule with a start
  between two whole minutes is refused by
  :func:`~assign.solution.solution_from_schedule` (it was floored).
* **Rule 12, pins.** A pin (task, volunteer) that is not in the schedule must be
  listed in ``conflicts``; every listed rule name must be one of SPEC §10's and
  must be *justified*:

  - the pin cannot be added to the pins the schedule keeps ("K", each at the
    start the schedule gives it; K is not re-timed): there is no start in the
    task's window at which the pin, together with the kept pins,
    breaks no rule - i.e. the static rules (skills, radius, community,
    exclusion) hold, the visit lies in one availability interval, it does not
    double-book any kept pin of the volunteer (travel included), the
    volunteer's kept pins plus this one fit ``max_minutes`` and the day's
    ``max_tasks_per_day``, and the task's team can still be whole: fewer kept
    pins on the task than ``volunteers_needed``, the same start as those kept
    pins, and enough other volunteers (eligible, free at that start, not
    colliding with their own kept pins, within their minutes and daily limit)
    to complete the team - and enough for every team at once: that team and
    the kept pins' teams short of their size that share a possible mate with
    it (or need its volunteer) all get distinct mates, free next to each
    other's visits too (:func:`_teams_fit`). Non-pin assignments never justify dropping a pin;
    "of two colliding pins, one is kept" (SPEC §10) follows, since a pin that
    collides only with other dropped pins can be added to K. In particular
    more pins on a task than ``volunteers_needed`` justify ``whole_teams``
    only once the schedule keeps ``volunteers_needed`` of them.
  - and the named rule is one of those that block it: a static rule it breaks,
    ``availability`` or ``window`` when no start of the window lies in one
    availability interval ("alone it breaks"), ``pledged_minutes`` when its
    load plus the kept pins' exceeds ``max_minutes``, or any of
    ``availability``, ``double_booking``, ``daily_limit``, ``whole_teams`` that
    is broken at some start of the window; ``whole_teams`` or
    ``double_booking`` when the pin fits alone at some start but never with
    mates for every team. ``references`` and ``pins`` never justify a drop.

  An unknown rule name or an unjustified one is a rule-12 violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .arrays import ragged_ranges
from .compile import Compiled, compile_problem
from .model import RULE_NAMES, Problem, Schedule
from .rules import (
    assignment_load,
    available,
    community_ok,
    day_of,
    distance_km,
    earliest_free_start,
    eligible,
    is_pinned,
    not_excluded,
    radius_ok,
    skills_ok,
    travel_between_recipients,
    visits_apart,
    volunteer_loads,
    window_ok,
)
from .score import ScoreResult, evaluate
from .solution import Solution, solution_from_schedule

I64 = NDArray[np.int64]
B = NDArray[np.bool_]

RULE_OF_NAME: dict[str, int] = {name: rule for rule, name in RULE_NAMES.items()}


@dataclass(frozen=True)
class Violation:
    """One broken hard rule, located by task and/or volunteer id."""

    rule: int
    name: str
    task: str | None
    volunteer: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.task is not None:
            where.append(f"task {self.task}")
        if self.volunteer is not None:
            where.append(f"volunteer {self.volunteer}")
        head = f"rule {self.rule} ({self.name})"
        if where:
            head += ": " + ", ".join(where)
        return f"{head}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    """The verdict on a schedule: valid iff no violation; with its recomputed score."""

    valid: bool
    violations: list[Violation] = field(default_factory=list)
    score: ScoreResult | None = None


def _violation(rule: int, task: str | None, volunteer: str | None, message: str) -> Violation:
    return Violation(rule, RULE_NAMES[rule], task, volunteer, message)


class _Names:
    """Id and time formatting for messages."""

    def __init__(self, c: Compiled):
        self.c = c

    def task(self, t: int | np.integer) -> str | None:
        return self.c.task_ids[int(t)] if 0 <= t < self.c.n_tasks else None

    def volunteer(self, v: int | np.integer) -> str | None:
        return self.c.volunteer_ids[int(v)] if 0 <= v < self.c.n_volunteers else None

    def time(self, minute: int) -> str:
        return self.c.minute_to_datetime(int(minute)).isoformat()

    def skills(self, mask: int) -> str:
        return ", ".join(name for name, bit in self.c.skill_index.items() if mask >> bit & 1)


# ------------------------------------------------------------------ rules 1-11


def _references(c: Compiled, sol: Solution, known: B, report_unknown: bool) -> list[Violation]:
    names = _Names(c)
    out: list[Violation] = []
    if report_unknown:
        for i in np.nonzero(~known)[0]:
            t, v = int(sol.task[i]), int(sol.volunteer[i])
            what = []
            if names.task(t) is None:
                what.append("unknown task")
            if names.volunteer(v) is None:
                what.append("unknown volunteer")
            out.append(_violation(1, names.task(t), names.volunteer(v), " and ".join(what)))
    keys = sol.task[known] * c.n_volunteers + sol.volunteer[known]
    unique, counts = np.unique(keys, return_counts=True)
    for key, count in zip(unique[counts > 1], counts[counts > 1], strict=True):
        t, v = divmod(int(key), c.n_volunteers)
        out.append(_violation(1, names.task(t), names.volunteer(v), f"the pair is assigned {count} times"))
    return out


def _whole_teams(c: Compiled, t: I64, v: I64, s: I64) -> list[Violation]:
    names = _Names(c)
    if len(t) == 0:
        return []
    pairs = np.unique(t * c.n_volunteers + v)
    distinct = np.bincount(pairs // c.n_volunteers, minlength=c.n_tasks)
    first = np.full(c.n_tasks, np.iinfo(np.int64).max)
    last = np.full(c.n_tasks, np.iinfo(np.int64).min)
    np.minimum.at(first, t, s)
    np.maximum.at(last, t, s)
    covered = np.zeros(c.n_tasks, dtype=bool)
    covered[t] = True
    out: list[Violation] = []
    for task in np.nonzero(covered & ((distinct != c.t_needed) | (first != last)))[0]:
        problems = []
        if distinct[task] != c.t_needed[task]:
            problems.append(f"{distinct[task]} distinct volunteers, the task needs {c.t_needed[task]}")
        if first[task] != last[task]:
            problems.append(f"team members start at different times ({names.time(first[task])} .. {names.time(last[task])})")
        out.append(_violation(2, names.task(task), None, "; ".join(problems)))
    return out


def _per_assignment(c: Compiled, t: I64, v: I64, s: I64) -> list[Violation]:
    """Rules 3-8: one test per assignment."""
    names = _Names(c)
    end = s + c.t_duration[t]
    km = distance_km(c, t, v)
    tests: list[tuple[int, B]] = [
        (3, window_ok(c, t, s)),
        (4, skills_ok(c, t, v)),
        (5, available(c, v, s, end)),
        (6, radius_ok(c, t, v, km)),
        (7, community_ok(c, t, v)),
        (8, not_excluded(c, t, v)),
    ]
    out: list[Violation] = []
    for rule, ok in tests:
        for i in np.nonzero(~ok)[0]:
            ti, vi = int(t[i]), int(v[i])
            if rule == 3:
                msg = (
                    f"visit {names.time(s[i])} .. {names.time(end[i])} is not inside the window "
                    f"{names.time(c.t_window_start[ti])} .. {names.time(c.t_window_end[ti])}"
                )
            elif rule == 4:
                lacking = int(c.t_skills[ti]) & ~int(c.v_skills[vi])
                msg = f"lacks required skill(s) {names.skills(lacking)}"
            elif rule == 5:
                msg = f"not available for the whole visit {names.time(s[i])} .. {names.time(end[i])}"
            elif rule == 6:
                msg = f"distance {km[i]:.3f} km exceeds the radius {c.v_radius[vi]:g} km"
            elif rule == 7:
                msg = (
                    f"volunteer of community {c.community_ids[c.v_community[vi]]} serves a recipient of "
                    f"community {c.community_ids[c.t_community[ti]]} under cross_community = forbid"
                )
            else:
                msg = f"the volunteer is excluded by recipient {c.recipient_ids[c.t_recipient[ti]]}"
            out.append(_violation(rule, names.task(ti), names.volunteer(vi), msg))
    return out


def _double_booking(c: Compiled, t: I64, v: I64, s: I64) -> list[Violation]:
    names = _Names(c)
    order = np.lexsort((t, s, v))
    t, v, s = t[order], v[order], s[order]
    # consecutive visits suffice: see rules.visits_apart (travel is subadditive
    # up to one minute and durations are >= 1); equal starts always violate.
    # A repeated (task, volunteer) pair is rule 1's, not a second visit.
    pair = (v[1:] == v[:-1]) & (t[1:] != t[:-1])
    ok = visits_apart(c, t[:-1], s[:-1], t[1:], s[1:])
    out: list[Violation] = []
    for i in np.nonzero(pair & ~ok)[0]:
        a, b = i, i + 1
        out.append(
            _violation(
                9,
                names.task(t[b]),
                names.volunteer(v[b]),
                f"starts {names.time(s[b])}, too soon after task {names.task(t[a])} "
                f"({names.time(s[a])}, {c.t_duration[t[a]]} min) plus travel",
            )
        )
    return out


def _pledged_minutes(c: Compiled, t: I64, v: I64) -> list[Violation]:
    names = _Names(c)
    load = volunteer_loads(c, t, v)
    out: list[Violation] = []
    for vi in np.nonzero(load > c.v_max_minutes)[0]:
        out.append(
            _violation(10, None, names.volunteer(vi), f"load {int(load[vi])} min exceeds max_minutes {c.v_max_minutes[vi]}")
        )
    return out


def _daily_limit(c: Compiled, v: I64, s: I64) -> list[Violation]:
    names = _Names(c)
    zone = ZoneInfo(c.problem.horizon.timezone)
    days = c.n_days + 2
    keys = _day_keys(c, v, s)
    unique, counts = np.unique(keys, return_counts=True)
    vol, day = unique // days, unique % days - 1
    out: list[Violation] = []
    for i in np.nonzero(counts > c.v_max_per_day[vol])[0]:
        if 0 <= day[i] < c.n_days:
            midnight = c.minute_to_datetime(int(c.day_starts[day[i]])).astimezone(zone)
            label = midnight.date().isoformat()
        else:
            label = "a day outside the horizon"
        out.append(
            _violation(
                11,
                None,
                names.volunteer(vol[i]),
                f"{counts[i]} visits start on {label}, max_tasks_per_day is {c.v_max_per_day[vol[i]]}",
            )
        )
    return out


# ---------------------------------------------------------------------- rule 12


@dataclass(frozen=True)
class _KeptPins:
    """The pins a schedule keeps, sorted by (volunteer, start), for collision tests."""

    task: I64
    volunteer: I64
    start: I64
    load: NDArray[np.float64]  # per volunteer
    per_task: I64  # number of kept pins per task
    first_start: I64  # per task
    last_start: I64  # per task
    day_keys: I64  # sorted volunteer * (n_days + 2) + day + 1

    @staticmethod
    def of(c: Compiled, t: I64, v: I64, s: I64) -> _KeptPins:
        pinned = is_pinned(c, t, v)
        t, v, s = t[pinned], v[pinned], s[pinned]
        order = np.lexsort((t, s, v))
        t, v, s = t[order], v[order], s[order]
        first = np.full(c.n_tasks, np.iinfo(np.int64).max)
        last = np.full(c.n_tasks, np.iinfo(np.int64).min)
        np.minimum.at(first, t, s)
        np.maximum.at(last, t, s)
        return _KeptPins(
            task=t,
            volunteer=v,
            start=s,
            load=volunteer_loads(c, t, v).astype(np.float64),
            per_task=np.bincount(np.unique(t * c.n_volunteers + v) // max(c.n_volunteers, 1), minlength=c.n_tasks),
            first_start=first,
            last_start=last,
            day_keys=np.sort(_day_keys(c, v, s)),
        )

    def collides(self, c: Compiled, task: int | I64, vols: I64, starts: I64) -> B:
        """Would a visit of ``task`` (one, or one per row) by ``vols[i]`` at
        ``starts[i]`` double-book one of that volunteer's kept pins? Neighbours
        by start suffice (rules.visits_apart)."""
        n = len(self.task)
        if n == 0 or len(vols) == 0:
            return np.zeros(len(vols), dtype=bool)
        base = min(int(self.start.min()), int(starts.min()))
        span = max(int(self.start.max()), int(starts.max())) - base + 1
        kept_keys = self.volunteer * span + (self.start - base)
        query = vols * span + (starts - base)
        tasks = np.broadcast_to(np.asarray(task, dtype=np.int64), (len(vols),))
        after = np.searchsorted(kept_keys, query, side="right")
        before = after - 1
        bad = np.zeros(len(vols), dtype=bool)
        has_before = before >= 0
        b = np.maximum(before, 0)
        has_before &= self.volunteer[b] == vols
        bad |= has_before & ~visits_apart(c, self.task[b], self.start[b], tasks, starts)
        has_after = after < n
        a = np.minimum(after, n - 1)
        has_after &= self.volunteer[a] == vols
        bad |= has_after & ~visits_apart(c, tasks, starts, self.task[a], self.start[a])
        return bad

    def day_count(self, c: Compiled, vols: I64, starts: I64) -> I64:
        """Kept pins of ``vols[i]`` starting on the day of ``starts[i]``."""
        keys = _day_keys(c, vols, starts)
        return np.searchsorted(self.day_keys, keys, side="right") - np.searchsorted(self.day_keys, keys, side="left")


def _day_keys(c: Compiled, v: I64, s: I64) -> I64:
    days = c.n_days + 2
    return v * days + (np.clip(day_of(c, s), -1, days - 2) + 1)


def _interval_points(lo: I64, hi: I64) -> I64:
    """Starts that sample both an allowed range [lo, hi] and what lies around it."""
    return np.concatenate((lo - 1, lo, hi, hi + 1))


def _pin_obstacles(c: Compiled, kept: _KeptPins, t: int, v: int) -> tuple[set[str], I64, set[str]]:
    """The rule names that block adding pin (t, v) to the kept pins, and the
    starts at which it could be added counting each other volunteer as a
    possible mate on its own (none: it cannot; then the set is non-empty).
    Whether the mates are enough for every team at once is :func:`_teams_fit`'s;
    the third set names the rules that block the pin where they are not at
    any of those starts (``whole_teams`` and ``double_booking`` there, the
    other starts' rules elsewhere, by :func:`_blocking`)."""
    dur = int(c.t_duration[t])
    first, last = int(c.t_window_start[t]), int(c.t_window_end[t]) - dur
    needed = int(c.t_needed[t])
    ti, vi = np.array([t], dtype=np.int64), np.array([v], dtype=np.int64)

    always: set[str] = set()
    for name, ok in (
        ("skills", skills_ok(c, ti, vi)),
        ("radius", radius_ok(c, ti, vi)),
        ("community", community_ok(c, ti, vi)),
        ("exclusion", not_excluded(c, ti, vi)),
    ):
        if not ok[0]:
            always.add(name)
    if earliest_free_start(c, ti, vi)[0] < 0:
        always |= {"availability", "window"}
    if kept.load[v] + assignment_load(c, ti, vi)[0] > c.v_max_minutes[v]:
        always.add("pledged_minutes")
    kept_on_task = int(kept.per_task[t])
    if kept_on_task >= needed:
        always.add("whole_teams")
    team_start: int | None = None
    if kept_on_task > 0 and kept.first_start[t] == kept.last_start[t]:
        team_start = int(kept.first_start[t])

    # other volunteers who could complete the team
    mates_needed = needed - kept_on_task - 1
    mates = np.zeros(0, dtype=np.int64)
    if mates_needed > 0 and "whole_teams" not in always:
        others = np.arange(c.n_volunteers, dtype=np.int64)
        taken = kept.volunteer[kept.task == t]
        others = others[(others != v) & ~np.isin(others, taken)]
        tt = np.full(len(others), t, dtype=np.int64)
        fits = eligible(c, tt, others) & (earliest_free_start(c, tt, others) >= 0)
        fits &= kept.load[others] + assignment_load(c, tt, others) <= c.v_max_minutes[others]
        mates = others[fits]

    # candidate starts: every boundary of every allowed range, and next to it
    people = np.concatenate((vi, mates))
    counts = c.av_ptr[people + 1] - c.av_ptr[people]
    interval = ragged_ranges(c.av_ptr[people], counts)
    mine = np.isin(kept.volunteer, people)
    kt, ks = kept.task[mine], kept.start[mine]
    tk = np.full(len(kt), t, dtype=np.int64)
    to_kept = travel_between_recipients(c, c.t_recipient[tk], c.t_recipient[kt])
    from_kept = travel_between_recipients(c, c.t_recipient[kt], c.t_recipient[tk])
    points = [
        np.array([first, last], dtype=np.int64),
        _interval_points(c.av_start[interval], c.av_end[interval] - dur),
        _interval_points(ks + c.t_duration[kt] + from_kept, ks - dur - to_kept),
        _interval_points(c.day_starts[1:-1], c.day_starts[1:-1] - 1),
    ]
    if team_start is not None:
        points.append(np.array([team_start - 1, team_start, team_start + 1], dtype=np.int64))
    # next to the kept teams that still need mates (:func:`_teams_fit` may need
    # a mate of theirs, or ``v``, free around them)
    short = np.flatnonzero((kept.per_task > 0) & (kept.per_task < c.t_needed))
    if len(short):
        ks2 = kept.first_start[short]
        ts = np.full(len(short), t, dtype=np.int64)
        into = travel_between_recipients(c, c.t_recipient[ts], c.t_recipient[short])
        out_of = travel_between_recipients(c, c.t_recipient[short], c.t_recipient[ts])
        points.append(_interval_points(ks2 + c.t_duration[short] + out_of, ks2 - dur - into))
    starts = np.unique(np.clip(np.concatenate(points), first, last))

    n = len(starts)
    vs = np.full(n, v, dtype=np.int64)
    avail_bad = ~available(c, vs, starts, starts + dur)
    booked_bad = kept.collides(c, t, vs, starts)
    daily_bad = kept.day_count(c, vs, starts) + 1 > c.v_max_per_day[v]
    team_bad = np.full(n, "whole_teams" in always)
    if kept_on_task > 0:
        team_bad |= starts != (team_start if team_start is not None else -(1 << 62))
    if mates_needed > 0:
        if len(mates):
            grid_u = np.tile(mates, n)
            grid_s = np.repeat(starts, len(mates))
            ok = available(c, grid_u, grid_s, grid_s + dur)
            ok &= ~kept.collides(c, t, grid_u, grid_s)
            ok &= kept.day_count(c, grid_u, grid_s) + 1 <= c.v_max_per_day[grid_u]
            free_mates = ok.reshape(n, len(mates)).sum(axis=1)
        else:
            free_mates = np.zeros(n, dtype=np.int64)
        team_bad |= free_mates < mates_needed
    blocked = avail_bad | booked_bad | daily_bad | team_bad
    if always - {"whole_teams"}:
        blocked[:] = True
    per_start = (
        ("availability", avail_bad),
        ("double_booking", booked_bad),
        ("daily_limit", daily_bad),
        ("whole_teams", team_bad),
    )
    if not blocked.all():
        teams = {"whole_teams", "double_booking"}
        every = {name for name, bad in per_start if bad[blocked].all()} & teams if blocked.any() else teams
        some = {name for name, bad in per_start if bad[blocked].any()} | teams
        return set(), starts[~blocked], _blocking(every, some)
    # the rules broken at every start name it; when none is, each rule
    # broken at some start does (a volunteer free 08:00-14:40 who keeps a
    # pin and may take one visit a day: daily_limit, not availability,
    # though a start at 13:50 would end past 14:40 — an independent
    # tester's case, stop 54)
    every = {name for name, bad in per_start if bad.all()}
    some = {name for name, bad in per_start if bad.any()}
    # (the rules of ``always`` are broken at every start)
    return _blocking(every | always, some | always), np.zeros(0, dtype=np.int64), set()


def _blocking(every: set[str], some: set[str]) -> set[str]:
    """The rules that block a pin given those broken at every start where it
    could be added and those broken at some: the first, or the second when
    the first is empty (SPEC §10: the rule it would break)."""
    return every if every else some


#: nodes of :func:`_teams_fit`'s search before it gives up (then a CP-SAT
#: model decides)
TEAM_SEARCH_NODES = 5_000
#: the search runs over at most this many linked teams; beyond, or when it
#: gives up, a CP-SAT model decides (:func:`_teams_model`)
TEAM_SEARCH_TEAMS = 12
#: ... of at most this many linked teams (beyond: undecided, the pin counts as keepable)
TEAM_MODEL_TEAMS = 2_000
#: CP-SAT's deterministic time for that model (undecided after it)
TEAM_MODEL_SECONDS = 10.0


@dataclass
class _TeamContext:
    """What :func:`_teams_fit` keeps between calls on one schedule: the kept
    teams short of their size, the schedule's own mates of each task (tried
    first: they staff the kept teams already) and each volunteer's roles as
    such a mate, possible mates and teams met so far."""

    mates_now: dict[int, list[int]]
    ready: bool = False
    short: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    roles: dict[int, list[int]] = field(default_factory=dict)
    cands: dict[int, I64] = field(default_factory=dict)
    demands_of: dict[int, list[int]] = field(default_factory=dict)
    witness_ok: bool = False

    def prepare(self, c: Compiled, kept: _KeptPins) -> None:
        self.short = np.flatnonzero((kept.per_task > 0) & (kept.per_task < c.t_needed))
        short_set = set(self.short.tolist())
        for k, mates_k in self.mates_now.items():
            if k in short_set:
                for u in mates_k:
                    self.roles.setdefault(u, []).append(k)
        self.witness_ok = self._roles_valid(c, kept)
        self.ready = True

    def _roles_valid(self, c: Compiled, kept: _KeptPins) -> bool:
        """The schedule's own mates make every kept team short of its size
        whole, each mate next to the kept pins and their other such roles
        (only then can they stay as a witness, :func:`_teams_witness`)."""
        k = np.asarray([k for u, ks in self.roles.items() for k in ks], dtype=np.int64)
        u = np.asarray([u for u, ks in self.roles.items() for _ in ks], dtype=np.int64)
        have = np.bincount(k, minlength=c.n_tasks)[self.short]
        if np.any(have != c.t_needed[self.short] - kept.per_task[self.short]):
            return False
        if not len(k):
            return True
        sk = kept.first_start[k]
        if not _could_join(c, kept, k, sk, u).all():
            return False
        order = np.lexsort((sk, u))
        k, u, sk = k[order], u[order], sk[order]
        same = u[1:] == u[:-1]
        if not visits_apart(c, k[:-1][same], sk[:-1][same], k[1:][same], sk[1:][same]).all():
            return False
        dk = _day_keys(c, u, sk)
        _, first, counts = np.unique(dk, return_index=True, return_counts=True)
        if np.any(kept.day_count(c, u[first], sk[first]) + counts > c.v_max_per_day[u[first]]):
            return False
        load = volunteer_loads(c, k, u)
        return bool(np.all(kept.load + load <= c.v_max_minutes))


def _could_join(c: Compiled, kept: _KeptPins, x: I64, sx: I64, u: I64) -> B:
    """Row by row: could volunteer ``u`` join task ``x`` at ``sx`` next to the
    kept pins alone (not pinned to it, eligible, available, not double-booking
    a kept pin, within the day's limit and the pledged minutes)?"""
    pinned_there = np.isin(x * c.n_volunteers + u, kept.task * c.n_volunteers + kept.volunteer)
    ok = ~pinned_there & eligible(c, x, u) & available(c, u, sx, sx + c.t_duration[x])
    ok &= ~kept.collides(c, x, u, sx)
    ok &= kept.day_count(c, u, sx) + 1 <= c.v_max_per_day[u]
    ok &= kept.load[u] + assignment_load(c, x, u) <= c.v_max_minutes[u]
    return ok


def _teams_fit(c: Compiled, kept: _KeptPins, t: int, v: int, start: int, ctx: _TeamContext) -> bool | None:
    """Whether pin (t, v) at ``start`` and the kept pins can all have whole
    teams at once: the task of (t, v) and every kept pin's task short of its
    team get distinct other volunteers (eligible, available, not double-booked
    with the kept pins, the new visit or each other, within their daily limits
    and pledged minutes). Only the teams linked to the new visit through a
    volunteer who could serve both are searched (the schedule itself staffs
    the others), each trying the schedule's own mates first; when the
    schedule's mates can simply stay (:func:`_teams_witness`) no search is
    needed. None when undecided: more than :data:`TEAM_SEARCH_TEAMS` linked
    teams, or :data:`TEAM_SEARCH_NODES` nodes searched."""
    needed = c.t_needed
    if not ctx.ready:
        ctx.prepare(c, kept)
    if not np.any(ctx.short != t):
        return True  # no kept team to complete: the per-mate test that found this start is exact
    if np.any(kept.first_start[ctx.short] != kept.last_start[ctx.short]):
        return None  # a kept team without one start: rule 2 is reported anyway
    need0 = int(needed[t] - kept.per_task[t] - 1)
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    others = everyone[everyone != v]
    mates0 = others[_could_join(c, kept, np.full(len(others), t, dtype=np.int64), np.full(len(others), start), others)]
    if len(mates0) < need0:
        return False
    if ctx.witness_ok and _teams_witness(c, kept, t, v, start, need0, mates0, ctx):
        return True

    def cands_of(k: int) -> I64:
        if k not in ctx.cands:
            ks = np.full(c.n_volunteers, k, dtype=np.int64)
            ctx.cands[k] = everyone[_could_join(c, kept, ks, np.full(c.n_volunteers, int(kept.first_start[k])), everyone)]
        return ctx.cands[k]

    def demands_of(u: int) -> list[int]:
        if u not in ctx.demands_of:
            sh = ctx.short
            us = np.full(len(sh), u, dtype=np.int64)
            ctx.demands_of[u] = sh[_could_join(c, kept, sh, kept.first_start[sh], us)].tolist()
        return ctx.demands_of[u]

    # the kept teams linked to the new visit (through v or a shared possible mate)
    d_task = [t]
    d_start = [start]
    d_need = [need0]
    cands: dict[int, I64] = {0: mates0}
    queue = [v, *(mates0.tolist() if need0 > 0 else [])]
    seen = set(queue)
    while queue:
        for k in demands_of(queue.pop()):
            if k == t or k in d_task:
                continue
            if len(d_task) >= TEAM_MODEL_TEAMS:
                return None
            d_task.append(k)
            d_start.append(int(kept.first_start[k]))
            d_need.append(int(needed[k] - kept.per_task[k]))
            cands[len(d_task) - 1] = cands_of(k)
            fresh = [u for u in cands_of(k).tolist() if u not in seen]
            seen.update(fresh)
            queue.extend(fresh)
    linked = list(range(len(d_task)))
    if len(linked) == 1 and need0 <= 0:
        return True
    if any(len(cands[i]) < d_need[i] for i in linked):
        return False
    # each team tries its own mates of the schedule first, then volunteers who
    # are nobody's mate there, then the others
    tries: dict[int, list[int]] = {}
    load_of: dict[int, dict[int, float]] = {}
    for i in linked:
        own = set(ctx.mates_now.get(d_task[i], []))
        tries[i] = sorted(cands[i].tolist(), key=lambda u: (u not in own, u in ctx.roles, u))
        loads = assignment_load(c, np.full(len(cands[i]), d_task[i]), cands[i]).tolist()
        load_of[i] = dict(zip(cands[i].tolist(), loads, strict=True))
    order = [0, *sorted(linked[1:], key=lambda i: (len(cands[i]) - d_need[i], i))]
    days = day_of(c, np.asarray([d_start[i] for i in linked], dtype=np.int64)).tolist()
    day = dict(zip(linked, days, strict=True))
    new_load = float(assignment_load(c, np.array([t]), np.array([v]))[0])
    if len(linked) > TEAM_SEARCH_TEAMS:
        return _teams_model(c, kept, t, v, start, new_load, d_task, d_start, d_need, tries, load_of, day)
    added: dict[int, list[tuple[int, int, int]]] = {v: [(t, start, day[0])]}
    extra_load: dict[int, float] = {v: new_load}
    nodes = 0

    def fits(u: int, i: int) -> bool:
        x, sx = d_task[i], d_start[i]
        same_day = 0
        for a, sa, day_a in added.get(u, []):
            same_day += day_a == day[i]
            first, then = ((a, sa), (x, sx)) if sa <= sx else ((x, sx), (a, sa))
            if not visits_apart(c, np.array([first[0]]), np.array([first[1]]), np.array([then[0]]), np.array([then[1]]))[0]:
                return False
        count = int(kept.day_count(c, np.array([u]), np.array([sx]))[0])
        if count + same_day + 1 > int(c.v_max_per_day[u]):
            return False
        return float(kept.load[u]) + extra_load.get(u, 0.0) + load_of[i][u] <= float(c.v_max_minutes[u])

    def place(k: int, still: int, first: int) -> bool | None:
        """Team order[k] needs ``still`` more mates, from its tries ``first``.. on."""
        nonlocal nodes
        i = order[k]
        if still == 0:
            return True if k + 1 == len(order) else place(k + 1, d_need[order[k + 1]], 0)
        gave_up = False
        for j in range(first, len(tries[i])):
            nodes += 1
            if nodes > TEAM_SEARCH_NODES:
                return None
            u = tries[i][j]
            if not fits(u, i):
                continue
            added.setdefault(u, []).append((d_task[i], d_start[i], day[i]))
            extra_load[u] = extra_load.get(u, 0.0) + load_of[i][u]
            got = place(k, still - 1, j + 1)
            added[u].pop()
            extra_load[u] -= load_of[i][u]
            if got:
                return True
            gave_up |= got is None
        return None if gave_up else False

    found = place(0, d_need[0], 0)
    if found is None:  # the search gave up: the exact model decides
        return _teams_model(c, kept, t, v, start, new_load, d_task, d_start, d_need, tries, load_of, day)
    return found


def _teams_model(
    c: Compiled, kept: _KeptPins, t: int, v: int, start: int, new_load: float,
    d_task: list[int], d_start: list[int], d_need: list[int],
    cands: dict[int, list[int]], load_of: dict[int, dict[int, float]], day: dict[int, int],
) -> bool | None:
    """:func:`_teams_fit`'s question as a CP-SAT model, for when its search
    gives up: team ``i`` (the new visit's first) takes ``d_need[i]`` of its
    candidates ``cands[i]``, a volunteer in no two teams whose visits clash
    (nor with ``v``'s new visit), within daily limits and pledged minutes
    next to the kept pins. None when undecided in
    :data:`TEAM_MODEL_SECONDS` (deterministic time)."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    teams = list(range(len(d_task)))
    y: dict[tuple[int, int], Any] = {}
    by_vol: dict[int, list[int]] = {}
    for i in teams:
        for u in cands[i]:
            y[(i, u)] = m.new_bool_var("")
            by_vol.setdefault(u, []).append(i)
        m.add(sum(y[(i, u)] for u in cands[i]) == d_need[i])

    def apart(a: int, sa: int, b: int, sb: int) -> bool:
        """Rule 9 for two visits of one volunteer, in either order."""
        (a, sa), (b, sb) = sorted(((a, sa), (b, sb)), key=lambda x: x[1])
        return bool(visits_apart(c, np.array([a]), np.array([sa]), np.array([b]), np.array([sb]))[0])

    new_day = int(day_of(c, np.array([start]))[0])
    for u, mine in by_vol.items():
        if u == v:  # v's new visit of t is fixed
            for i in mine:
                if not apart(t, start, d_task[i], d_start[i]):
                    m.add(y[(i, u)] == 0)
        for x in range(len(mine)):
            for z in range(x + 1, len(mine)):
                if not apart(d_task[mine[x]], d_start[mine[x]], d_task[mine[z]], d_start[mine[z]]):
                    m.add_bool_or([y[(mine[x], u)].Not(), y[(mine[z], u)].Not()])
        per_day: dict[int, list[int]] = {}
        for i in mine:
            per_day.setdefault(day[i], []).append(i)
        for d, on_day in per_day.items():
            base = int(kept.day_count(c, np.array([u]), np.array([d_start[on_day[0]]]))[0]) + (u == v and d == new_day)
            room = int(c.v_max_per_day[u]) - base
            if room < len(on_day):
                m.add(sum(y[(i, u)] for i in on_day) <= max(room, 0))
        # pledged minutes (loads are whole minutes)
        room_min = float(c.v_max_minutes[u]) - float(kept.load[u]) - (new_load if u == v else 0.0)
        loads = [int(round(load_of[i][u])) for i in mine]
        if sum(loads) > room_min:
            m.add(sum(w * y[(i, u)] for w, i in zip(loads, mine, strict=True)) <= int(np.floor(room_min + 1e-9)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = TEAM_MODEL_SECONDS
    status = solver.solve(m)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def _teams_witness(
    c: Compiled, kept: _KeptPins, t: int, v: int, start: int, need: int, mates: I64, ctx: _TeamContext
) -> bool:
    """True when the schedule's own mates of the kept teams short of their size
    can stay as they are: ``v`` takes the new visit next to its roles there,
    and ``need`` of ``mates`` each fit next to theirs (then every team is whole
    at once). False says nothing: a search is needed."""
    day = day_of(c, np.array([start]))
    one_t = np.array([t], dtype=np.int64)
    one_s = np.array([start], dtype=np.int64)

    def fits_next_to_roles(u: int) -> bool:
        roles = np.asarray([k for k in ctx.roles.get(u, []) if k != t], dtype=np.int64)  # its visit of t stays
        sk = kept.first_start[roles]
        before = sk <= start
        ts = np.full(len(roles), t, dtype=np.int64)
        ss = np.full(len(roles), start, dtype=np.int64)
        apart = np.where(before, visits_apart(c, roles, sk, ts, ss), visits_apart(c, ts, ss, roles, sk))
        if not apart.all():
            return False
        same_day = int((day_of(c, sk) == day[0]).sum())
        if int(kept.day_count(c, np.array([u]), one_s)[0]) + same_day + 1 > int(c.v_max_per_day[u]):
            return False
        us = np.full(len(roles), u, dtype=np.int64)
        load = float(assignment_load(c, roles, us).sum()) + float(assignment_load(c, one_t, np.array([u]))[0])
        return float(kept.load[u]) + load <= float(c.v_max_minutes[u])

    if not fits_next_to_roles(v):
        return False
    found = 0
    for u in mates.tolist():
        if found >= need:
            break
        found += fits_next_to_roles(int(u))
    return found >= need


def _pins(
    c: Compiled, t: I64, v: I64, s: I64, conflicts: tuple[tuple[int, int, str], ...],
    keepable: list[tuple[int, int, int]] | None = None,
    misnamed: dict[tuple[int, int], list[str]] | None = None,
) -> list[Violation]:
    names = _Names(c)
    n_vol = c.n_volunteers
    pin_task = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    pin_keys = pin_task * n_vol + c.t_pin.astype(np.int64)
    dropped = pin_keys[~np.isin(pin_keys, t * n_vol + v)]
    if len(dropped) == 0:
        return []
    listed: dict[int, list[str]] = {}
    for ct, cv, rule in conflicts:
        if 0 <= ct < c.n_tasks and 0 <= cv < n_vol:
            listed.setdefault(ct * n_vol + cv, []).append(rule)
    kept = _KeptPins.of(c, t, v, s)
    mates_now: dict[int, list[int]] = {}
    for task, vol in zip(t[~is_pinned(c, t, v)].tolist(), v[~is_pinned(c, t, v)].tolist(), strict=True):
        mates_now.setdefault(task, []).append(vol)
    team_ctx = _TeamContext(mates_now)
    out: list[Violation] = []
    for key in dropped:
        pt, pv = divmod(int(key), n_vol)
        task_id, vol_id = names.task(pt), names.volunteer(pv)
        rules = listed.get(int(key), [])
        if not rules:
            out.append(_violation(12, task_id, vol_id, "pinned pair is neither in the schedule nor listed in conflicts"))
            continue
        obstacles: set[str] | None = None
        where: int | None = None
        undecided = False
        for rule in dict.fromkeys(rules):
            if rule not in RULE_OF_NAME:
                out.append(
                    _violation(12, task_id, vol_id, f"conflict names unknown rule {rule!r}; known: {', '.join(RULE_OF_NAME)}")
                )
                continue
            if obstacles is None:
                obstacles, open_starts, short_teams = _pin_obstacles(c, kept, pt, pv)
                for start in open_starts.tolist():
                    fit = _teams_fit(c, kept, pt, pv, int(start), team_ctx)
                    if fit is None or fit:  # a search that gave up: keepable, as without teammates
                        where = int(start)
                        undecided = fit is None
                        break
                if len(open_starts) and where is None:
                    # every start lacks mates for some team: adding it would leave a
                    # kept team short, or double-book the volunteer a team needs
                    obstacles = short_teams
            if where is not None:
                out.append(
                    _violation(
                        12, task_id, vol_id,
                        f"pin dropped as a conflict with {rule}, but it can be kept "
                        f"(e.g. starting {names.time(where)} alongside the kept pins"
                        + ("; whether the kept teams then still find mates was not searched: too many "
                           "teams share them" if undecided else "") + ")",
                    )
                )
            elif rule not in obstacles:
                if misnamed is not None:
                    misnamed[(pt, pv)] = sorted(obstacles)
                out.append(
                    _violation(
                        12, task_id, vol_id,
                        f"pin dropped as a conflict with {rule}, but {rule} does not block it "
                        f"(blocked by: {', '.join(sorted(obstacles))})",
                    )
                )
        if keepable is not None and where is not None:
            keepable.append((pt, pv, where))
    return out


def keepable_pins(c: Compiled, sol: Solution) -> list[tuple[int, int, int]]:
    """The pins ``sol`` drops that the validator calls keepable (rule 12): per
    pin ``(task, volunteer, start)``, a start where it fits alongside the
    kept pins. Only the pins are looked at (cheap when few are dropped)."""
    out: list[tuple[int, int, int]] = []
    _pins(c, sol.task, sol.volunteer, sol.start, sol.conflicts, keepable=out)
    return out


def misnamed_pins(c: Compiled, sol: Solution) -> dict[tuple[int, int], list[str]]:
    """The pins ``sol`` drops that cannot be kept but are listed in
    ``conflicts`` with a rule that does not block them (rule 12): per pin
    ``(task, volunteer)``, the names of the rules that do, sorted."""
    out: dict[tuple[int, int], list[str]] = {}
    _pins(c, sol.task, sol.volunteer, sol.start, sol.conflicts, misnamed=out)
    return out


# ------------------------------------------------------------------ entry points


def _violations(c: Compiled, sol: Solution, report_unknown: bool = True) -> list[Violation]:
    known = (
        (sol.task >= 0) & (sol.task < c.n_tasks) & (sol.volunteer >= 0) & (sol.volunteer < c.n_volunteers)
    )
    t = sol.task[known].astype(np.int64)
    v = sol.volunteer[known].astype(np.int64)
    s = sol.start[known].astype(np.int64)
    out = _references(c, sol, known, report_unknown)
    out += _whole_teams(c, t, v, s)
    out += _per_assignment(c, t, v, s)
    out += _double_booking(c, t, v, s)
    out += _pledged_minutes(c, t, v)
    out += _daily_limit(c, v, s)
    out += _pins(c, t, v, s, sol.conflicts)
    return out


def violations(c: Compiled, sol: Solution) -> list[Violation]:
    """Every violation of SPEC §4 rules 1-12 by ``sol``, ordered by rule.

    An empty list means the solution is valid.
    """
    return _violations(c, sol)


def check(problem: Problem, schedule: Schedule) -> CheckReport:
    """Validate a schedule against its problem and recompute its score.

    Adds to :func:`violations` what only the schedule file shows: unknown ids
    by name (rule 1) and an ``end`` that differs from ``start + duration_min``
    (rule 3).
    """
    c = compile_problem(problem)
    sol = solution_from_schedule(c, schedule)
    task_of = {tid: i for i, tid in enumerate(c.task_ids)}
    volunteer_ids = set(c.volunteer_ids)
    extra: list[Violation] = []
    for a in schedule.assignments:
        ti = task_of.get(a.task)
        what = []
        if ti is None:
            what.append(f"unknown task {a.task!r}")
        if a.volunteer not in volunteer_ids:
            what.append(f"unknown volunteer {a.volunteer!r}")
        if what:
            extra.append(_violation(1, a.task, a.volunteer, " and ".join(what)))
        if ti is not None and a.end is not None and a.end != a.start + timedelta(minutes=int(c.t_duration[ti])):
            extra.append(
                _violation(
                    3, a.task, a.volunteer,
                    f"end {a.end.isoformat()} is not start {a.start.isoformat()} + {c.t_duration[ti]} min",
                )
            )
    found = sorted(extra + _violations(c, sol, report_unknown=False), key=lambda x: x.rule)
    return CheckReport(valid=not found, violations=found, score=evaluate(c, sol))
