"""The validator: each SPEC §4 rule in a penalised / unpenalised pair, the pin
(rule 12) readings by hand, a slow pure-Python reference checker that
:func:`assign.check.violations` must agree with on random schedules, and
single-rule mutations of valid schedules built by a simple greedy."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign.check import CheckReport, Violation, check, violations
from assign.compile import Compiled, compile_problem
from assign.model import RULE_NAMES, Assignment, Conflict, Problem, Schedule
from assign.rules import earliest_free_start
from assign.solution import Solution

from .strategies import problems
from .test_score import (
    SETTINGS,
    Ref,
    base_problem,
    ref_joined,
    ref_max_minutes,
    ref_travel_between,
    rows_of,
)

Row = tuple[int, int, int]

# ------------------------------------------------------------------ reference


class RefChecker:
    """SPEC §4 (with the module docstring's rule-12 reading) in plain Python,
    pairwise and minute by minute."""

    def __init__(self, problem: Problem):
        self.p = problem
        self.ref = Ref(problem)
        self.zone = ZoneInfo(problem.horizon.timezone)
        self.joined = {v.id: ref_joined(problem, v) for v in problem.volunteers}
        self.max_minutes = {v.id: ref_max_minutes(problem, v) for v in problem.volunteers}

    def window(self, tid: str) -> tuple[int, int]:
        task = self.ref.task[tid]
        start = int((task.window_start - self.p.horizon.start).total_seconds() // 60)
        end = int((task.window_end - self.p.horizon.start).total_seconds() // 60)
        return start, end

    def day(self, minute: int) -> Any:
        return (self.p.horizon.start + timedelta(minutes=minute)).astimezone(self.zone).date()

    def static_broken(self, tid: str, vid: str) -> set[str]:
        ref, task, vol = self.ref, self.ref.task[tid], self.ref.vol[vid]
        rec = ref.rec[task.recipient]
        broken = set()
        if not ref.skills(task) <= set(vol.skills):
            broken.add("skills")
        if ref.km(task, vol) > ref.radius(vol) + 1e-9:
            broken.add("radius")
        if self.p.policy.cross_community == "forbid" and vol.community != rec.community:
            broken.add("community")
        if vid in rec.excluded_volunteers:
            broken.add("exclusion")
        return broken

    def available(self, vid: str, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.joined[vid])

    def apart(self, ta: str, sa: int, tb: str, sb: int) -> bool:
        """Rule 9 for two visits, in whichever order they come."""
        if sa > sb:
            ta, sa, tb, sb = tb, sb, ta, sa
        if sa == sb:
            return False
        a, b = self.ref.task[ta], self.ref.task[tb]
        travel = ref_travel_between(self.p, self.ref.rec[a.recipient], self.ref.rec[b.recipient])
        return sb >= sa + a.duration_min + travel

    def person_broken(self, tid: str, vid: str, s: int, kept: list[tuple[str, str, int]]) -> set[str]:
        """Rules a visit (tid, vid, s) breaks on its own or with the kept pins."""
        task = self.ref.task[tid]
        broken = self.static_broken(tid, vid)
        first, end = self.window(tid)
        if not (first <= s and s + task.duration_min <= end):
            broken.add("window")
        if not self.available(vid, s, s + task.duration_min):
            broken.add("availability")
        mine = [(t, x) for t, u, x in kept if u == vid]
        if any(not self.apart(t, x, tid, s) for t, x in mine):
            broken.add("double_booking")
        load = sum(self.ref.load(self.ref.task[t], self.ref.vol[vid]) for t, _ in mine)
        if load + self.ref.load(task, self.ref.vol[vid]) > self.max_minutes[vid]:
            broken.add("pledged_minutes")
        limit = self.ref.vol[vid].max_tasks_per_day
        if limit is not None and 1 + sum(1 for _, x in mine if self.day(x) == self.day(s)) > limit:
            broken.add("daily_limit")
        return broken

    def pin_obstacles(self, tid: str, vid: str, kept: list[tuple[str, str, int]]) -> set[str] | None:
        """None when the pin can be added to the kept pins, else the rules that
        block it: those broken at every start, or, when none is, those broken
        at some start."""
        task = self.ref.task[tid]
        first, end = self.window(tid)
        team = [(u, x) for t, u, x in kept if t == tid]
        members = {u for u, _ in team}
        names: set[str] = set()
        if not any(self.available(vid, s, s + task.duration_min) for s in range(first, end - task.duration_min + 1)):
            names |= {"availability", "window"}
        every: set[str] | None = None
        for s in range(first, end - task.duration_min + 1):
            broken = self.person_broken(tid, vid, s, kept)
            if len(members) >= task.volunteers_needed or any(x != s for _, x in team):
                broken.add("whole_teams")
            else:
                mates = [
                    u.id for u in self.p.volunteers
                    if u.id != vid and u.id not in members and not self.person_broken(tid, u.id, s, kept)
                ]
                if len(mates) < task.volunteers_needed - len(members) - 1:
                    broken.add("whole_teams")
            if not broken:
                if self.teams_fit(tid, vid, s, kept):
                    return None
                broken = {"whole_teams", "double_booking"}
            names |= broken
            every = set(broken) if every is None else every & broken
        if every:
            return (names & {"availability", "window"}) | every
        return names

    def teams_fit(self, tid: str, vid: str, s: int, kept: list[tuple[str, str, int]]) -> bool:
        """The pin (tid, vid) at s and the kept pins' teams it is linked to (by a
        volunteer who could serve both, alone next to the kept pins) can all be
        whole at once; a kept team with two starts counts as fitting."""
        need = {t.id: t.volunteers_needed for t in self.p.tasks}
        on: dict[str, set[str]] = {}
        at: dict[str, set[int]] = {}
        for t, u, x in kept:
            on.setdefault(t, set()).add(u)
            at.setdefault(t, set()).add(x)
        demands = [(tid, s, need[tid] - len(on.get(tid, set())) - 1)]
        for t in on:
            if t != tid and len(on[t]) < need[t]:
                if len(at[t]) > 1:
                    return True
                demands.append((t, next(iter(at[t])), need[t] - len(on[t])))

        def candidates(t: str, x: int) -> list[str]:
            return [
                u.id for u in self.p.volunteers
                if u.id not in on.get(t, set()) and not (t == tid and u.id == vid)
                and not self.person_broken(t, u.id, x, kept)
            ]

        cands = [candidates(t, x) for t, x, _ in demands]
        reach = {vid} | (set(cands[0]) if demands[0][2] > 0 else set())
        linked, grown = [0], True
        while grown:
            grown = False
            for i in range(1, len(demands)):
                if i not in linked and reach & set(cands[i]):
                    reach |= set(cands[i])
                    linked.append(i)
                    grown = True

        def place(k: int, visits: list[tuple[str, str, int]]) -> bool:
            if k == len(linked):
                return True
            t, x, n = demands[linked[k]]
            free = [u for u in cands[linked[k]] if not self.person_broken(t, u, x, visits)]
            return any(
                place(k + 1, visits + [(t, u, x) for u in group]) for group in itertools.combinations(free, max(n, 0))
            )

        return place(0, [*kept, (tid, vid, s)])

    def violated(self, rows: list[tuple[str, str, int]], conflicts: list[tuple[str, str, str]]) -> set[int]:
        ref = self.ref
        found: set[int] = set()
        known = [r for r in rows if r[0] in ref.task and r[1] in ref.vol]
        if len(known) < len(rows):
            found.add(1)
        if any(n > 1 for n in Counter((t, v) for t, v, _ in known).values()):
            found.add(1)
        for tid in {t for t, _, _ in known}:
            team = [(v, s) for t, v, s in known if t == tid]
            if len({v for v, _ in team}) != ref.task[tid].volunteers_needed or len({s for _, s in team}) > 1:
                found.add(2)
        rule_of = {name: rule for rule, name in RULE_NAMES.items()}
        for tid, vid, s in known:
            for name in self.person_broken(tid, vid, s, []):
                if name in ("window", "skills", "availability", "radius", "community", "exclusion"):
                    found.add(rule_of[name])
        for i, (ta, va, sa) in enumerate(known):
            for tb, vb, sb in known[i + 1 :]:
                if va == vb and ta != tb and not self.apart(ta, sa, tb, sb):
                    found.add(9)
        for vol in self.p.volunteers:
            mine = [(t, s) for t, v, s in known if v == vol.id]
            if sum(ref.load(ref.task[t], vol) for t, _ in mine) > self.max_minutes[vol.id]:
                found.add(10)
            per_day = Counter(self.day(s) for _, s in mine)
            if vol.max_tasks_per_day is not None and any(n > vol.max_tasks_per_day for n in per_day.values()):
                found.add(11)
        pairs = {(t, v) for t, v, _ in known}
        kept = [(t, v, s) for t, v, s in known if v in ref.task[t].pinned]
        for task in self.p.tasks:
            for vid in task.pinned:
                if (task.id, vid) in pairs:
                    continue
                listed = [rule for t, v, rule in conflicts if (t, v) == (task.id, vid)]
                if not listed or any(rule not in rule_of for rule in listed):
                    found.add(12)
                    continue
                obstacles = self.pin_obstacles(task.id, vid, kept)
                if obstacles is None or any(rule not in obstacles for rule in listed):
                    found.add(12)
        return found


def rules_found(c: Compiled, sol: Solution) -> set[int]:
    return {v.rule for v in violations(c, sol)}


def conflicts_of(c: Compiled, sol: Solution) -> list[tuple[str, str, str]]:
    return [(c.task_ids[t], c.volunteer_ids[v], rule) for t, v, rule in sol.conflicts]


# ------------------------------------------------------------------ greedy


def build(rows: list[Row], conflicts: list[tuple[int, int, str]] | None = None) -> Solution:
    return Solution.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], conflicts or [])


def greedy(c: Compiled) -> list[Row]:
    """A valid schedule (rules 1-11) by adding whole teams task by task, pinned
    volunteers first, checking with :func:`violations` after every addition."""
    rows: list[Row] = []

    def clean(trial: list[Row], partial: int | None) -> bool:
        for v in violations(c, build(trial)):
            if v.rule == 12 or (v.rule == 2 and partial is not None and v.task == c.task_ids[partial]):
                continue
            return False
        return True

    pinned = [set(c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]].tolist()) for t in range(c.n_tasks)]
    order = sorted(range(c.n_tasks), key=lambda t: (not pinned[t], c.t_tier[t], -c.t_weight[t]))
    for t in order:
        first, last = int(c.t_window_start[t]), int(c.t_window_end[t] - c.t_duration[t])
        vols = np.arange(c.n_volunteers)
        free = earliest_free_start(c, np.full(len(vols), t), vols)
        starts = sorted(set(range(first, last + 1, 15)) | {int(s) for s in free if s >= 0})
        people = sorted(range(c.n_volunteers), key=lambda v: v not in pinned[t])
        for s in starts:
            team: list[Row] = []
            for v in people:
                if len(team) == c.t_needed[t]:
                    break
                if clean([*rows, *team, (t, v, s)], partial=t):
                    team.append((t, v, s))
            if len(team) == c.t_needed[t] and clean([*rows, *team], partial=None):
                rows += team
                break
    return rows


def without_pins(problem: Problem) -> Problem:
    return problem.model_copy(update={"tasks": tuple(t.model_copy(update={"pinned": ()}) for t in problem.tasks)})


def generous(problem: Problem, draw: st.DrawFn | None = None) -> Problem:
    """Relax the random problem's limits, each by a biased coin flip (all of
    them without ``draw``), so that greedy finds assignments to mutate and
    collisions between them."""

    def flip() -> bool:
        return draw is None or draw(st.integers(0, 3)) > 0

    policy = problem.policy
    if flip():
        policy = policy.model_copy(update={"max_travel_km": 10.0})
    span = ((problem.horizon.start, problem.horizon.end),)
    relax: dict[str, dict[str, Any]] = {
        "availability": {"availability": span} if flip() else {},
        "skills": {"skills": ("medical", "care", "meals", "driving")} if flip() else {},
        "radius": {"max_travel_km": None} if flip() else {},
        "minutes": {"max_minutes": None} if flip() else {},
    }
    update: dict[str, Any] = {}
    for part in relax.values():
        update.update(part)
    volunteers = tuple(v.model_copy(update=update) for v in problem.volunteers)
    recipients = problem.recipients
    if flip():
        recipients = tuple(r.model_copy(update={"excluded_volunteers": ()}) for r in recipients)
    return problem.model_copy(update={"policy": policy, "volunteers": volunteers, "recipients": recipients})


@st.composite
def valid_cases(draw: st.DrawFn) -> tuple[Problem, list[Row]]:
    """A pin-free problem with tasks and a valid schedule for it (rarely empty)."""
    problem = without_pins(draw(problems().filter(lambda p: len(p.tasks) > 0)))
    rows = greedy(compile_problem(relaxed := generous(problem, draw)))
    if not rows:
        relaxed = generous(problem)
        rows = greedy(compile_problem(relaxed))
    return relaxed, rows


def crowded(problem: Problem, draw: st.DrawFn) -> Problem:
    """Squeeze every window into one morning and pin volunteers to most tasks,
    so that pins collide (double booking, minutes, daily limits, teams)."""
    problem = generous(problem, draw)
    origin = problem.horizon.start
    vol_ids = [v.id for v in problem.volunteers]
    tasks = []
    for task in problem.tasks:
        start = 480 + draw(st.integers(0, 8)) * 15
        end = start + task.duration_min + draw(st.sampled_from([0, 15, 30, 60]))
        pins = draw(st.lists(st.sampled_from(vol_ids), unique=True, max_size=2)) if draw(st.integers(0, 3)) else []
        tasks.append(
            task.model_copy(
                update={
                    "window_start": origin + timedelta(minutes=start),
                    "window_end": origin + timedelta(minutes=end),
                    "pinned": tuple(pins),
                }
            )
        )
    return problem.model_copy(update={"tasks": tuple(tasks)})


# ------------------------------------------------------------ reference agreement


@st.composite
def random_cases(draw: st.DrawFn) -> tuple[Problem, Solution]:
    """Random schedules near the windows, with random conflicts for random pins."""
    problem = draw(problems().filter(lambda p: len(p.tasks) > 0))
    if draw(st.booleans()):
        problem = crowded(problem, draw)
    elif draw(st.booleans()):
        problem = generous(problem, draw)
    c = compile_problem(problem)
    rows: list[Row] = []
    if draw(st.booleans()):
        rows = greedy(c)
        drop = draw(st.booleans())
        if rows and drop:
            rows.pop(draw(st.integers(0, len(rows) - 1)))
    for _ in range(draw(st.integers(0, 4))):
        t = draw(st.integers(-1, c.n_tasks - 1)) if c.n_tasks else -1
        v = draw(st.integers(-1, c.n_volunteers - 1))
        if t >= 0:
            s = int(c.t_window_start[t]) + draw(st.integers(-20, int(c.t_window_end[t] - c.t_window_start[t])))
        else:
            s = draw(st.integers(0, 2879))
        rows.append((t, v, s))
    pins = [(t, int(v)) for t in range(c.n_tasks) for v in c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]]]
    names = [*RULE_NAMES.values(), "bogus"]
    conflicts = []
    for t, v in pins:
        for rule in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            conflicts.append((t, v, rule))
    return problem, build(rows, conflicts)


@SETTINGS
@given(random_cases())
def test_violations_agree_with_the_reference(case: tuple[Problem, Solution]) -> None:
    problem, sol = case
    c = compile_problem(problem)
    expected = RefChecker(problem).violated(rows_of(c, sol), conflicts_of(c, sol))
    assert rules_found(c, sol) == expected


@st.composite
def pinned_cases(draw: st.DrawFn) -> tuple[Problem, list[Row]]:
    problem = crowded(draw(problems(max_tasks=8).filter(lambda p: len(p.tasks) > 1)), draw)
    return problem, greedy(compile_problem(problem))


@SETTINGS
@given(pinned_cases())
def test_justified_conflicts_make_a_valid_schedule(case: tuple[Problem, list[Row]]) -> None:
    """Greedy keeps what pins it can; every dropped pin that cannot be added to
    the kept ones, listed with any rule that blocks it, passes rule 12."""
    problem, rows = case
    c = compile_problem(problem)
    ref = RefChecker(problem)
    named = rows_of(c, build(rows))
    kept = [(t, v, s) for t, v, s in named if v in ref.ref.task[t].pinned]
    conflicts = []
    for task in problem.tasks:
        for vid in task.pinned:
            if (task.id, vid) in {(t, v) for t, v, _ in named}:
                continue
            obstacles = ref.pin_obstacles(task.id, vid, kept)
            if obstacles is None:
                return  # greedy's order left a pin out that could stay; not this test's subject
            for rule in sorted(obstacles):
                conflicts.append((c.task_ids.index(task.id), c.volunteer_ids.index(vid), rule))
    found = violations(c, build(rows, conflicts))
    assert found == [], [str(v) for v in found]


# ---------------------------------------------------------------- mutations


def replace(rows: list[Row], i: int, **changes: int) -> list[Row]:
    t, v, s = rows[i]
    new = (changes.get("t", t), changes.get("v", v), changes.get("s", s))
    return [*rows[:i], new, *rows[i + 1 :]]


def with_volunteer(problem: Problem, index: int, **changes: Any) -> Problem:
    vols = list(problem.volunteers)
    vols[index] = vols[index].model_copy(update=changes)
    return problem.model_copy(update={"volunteers": tuple(vols)})


@SETTINGS
@given(valid_cases(), st.data())
def test_breaking_one_rule_is_caught_with_its_number(case: tuple[Problem, list[Row]], data: st.DataObject) -> None:
    problem, rows = case
    c = compile_problem(problem)
    assert rules_found(c, build(rows)) == set()
    if not rows:
        return
    ref = RefChecker(problem)
    i = data.draw(st.integers(0, len(rows) - 1))
    t, v, s = rows[i]
    team = [k for k, r in enumerate(rows) if r[0] == t]
    others = [u for u in range(c.n_volunteers) if u not in {rows[k][1] for k in team}]
    mutants: list[tuple[int, Compiled, list[Row]]] = []

    mutants.append((1, c, [*rows, rows[i]]))
    mutants.append((1, c, [*rows, (t, -1, s)]))
    if len(team) > 1:
        mutants.append((2, c, [r for k, r in enumerate(rows) if k != i]))
        mutants.append((2, c, replace(rows, i, s=s + 1)))
    if others:
        mutants.append((2, c, [*rows, (t, others[0], s)]))
    late = int(c.t_window_end[t] - c.t_duration[t]) + 1
    mutants.append((3, c, [(a, b, late if a == t else x) for a, b, x in rows]))
    for u in others:
        tid, vid = c.task_ids[t], c.volunteer_ids[u]
        broken = ref.static_broken(tid, vid)
        for name, rule in (("skills", 4), ("radius", 6), ("community", 7), ("exclusion", 8)):
            if name in broken:
                mutants.append((rule, c, replace(rows, i, v=u)))
    first, last = int(c.t_window_start[t]), int(c.t_window_end[t] - c.t_duration[t])
    away = [x for x in range(first, last + 1) if not ref.available(c.volunteer_ids[v], x, x + int(c.t_duration[t]))]
    if away:
        mutants.append((5, c, [(a, b, away[0] if a == t else x) for a, b, x in rows]))
    covered = {r[0] for r in rows}
    for t2 in range(c.n_tasks):
        if t2 not in covered and c.t_needed[t2] == 1:
            mutants.append((9, c, [*rows, (t2, v, s)]))
            break
    load = sum(ref.ref.load(problem.tasks[a], problem.volunteers[b]) for a, b, _ in rows if b == v)
    mutants.append((10, compile_problem(with_volunteer(problem, v, max_minutes=load - 1)), rows))
    day = ref.day(s)
    same_day = sum(1 for _, b, x in rows if b == v and ref.day(x) == day)
    mutants.append((11, compile_problem(with_volunteer(problem, v, max_tasks_per_day=same_day - 1)), rows))
    uncovered = [k for k in range(c.n_tasks) if k not in covered]
    if uncovered:
        tasks = list(problem.tasks)
        tasks[uncovered[0]] = tasks[uncovered[0]].model_copy(update={"pinned": (c.volunteer_ids[v],)})
        mutants.append((12, compile_problem(problem.model_copy(update={"tasks": tuple(tasks)})), rows))

    for rule, compiled, mutant in mutants:
        sol = build(mutant)
        found = rules_found(compiled, sol)
        assert rule in found, (rule, mutant, [str(x) for x in violations(compiled, sol)])
        assert found == RefChecker(compiled.problem).violated(rows_of(compiled, sol), [])


@SETTINGS
@given(problems())
def test_empty_schedule_is_valid_without_pins(problem: Problem) -> None:
    c = compile_problem(without_pins(problem))
    assert violations(c, Solution.empty()) == []
    # with pins, the empty schedule breaks only rule 12, once per pin
    c = compile_problem(problem)
    found = violations(c, Solution.empty())
    assert {v.rule for v in found} <= {12}
    assert len(found) == len(c.t_pin)


# --------------------------------------------------------------- unit pairs


def compiled(raw: dict[str, Any]) -> Compiled:
    return compile_problem(Problem.model_validate(raw))


def two_tasks(**task2: Any) -> dict[str, Any]:
    """base_problem with a second recipient 1.1 km north and a task t2 there."""
    raw = base_problem()
    raw["recipients"].append({"id": "r2", "community": "c1", "lat": 33.051, "lon": 108.250})
    raw["tasks"].append(dict(raw["tasks"][0], id="t2", recipient="r2", **task2))
    return raw


def second_volunteer(raw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    raw["volunteers"].append(dict(raw["volunteers"][0], id="v2", **changes))
    return raw


def found(raw: dict[str, Any], rows: list[Row], conflicts: list[tuple[int, int, str]] | None = None) -> list[Violation]:
    return violations(compiled(raw), build(rows, conflicts))


def numbers(raw: dict[str, Any], rows: list[Row], conflicts: list[tuple[int, int, str]] | None = None) -> set[int]:
    return {v.rule for v in found(raw, rows, conflicts)}


OK = [(0, 0, 540)]


def test_base_assignment_is_valid() -> None:
    assert found(base_problem(), OK) == []


def test_rule_1_references() -> None:
    assert numbers(base_problem(), [(0, -1, 540)]) == {1}
    assert numbers(base_problem(), [(-1, 0, 540)]) == {1}
    assert 1 in numbers(base_problem(), [(0, 0, 540), (0, 0, 540)])


def test_rule_2_whole_teams() -> None:
    raw = second_volunteer(base_problem(tasks__volunteers_needed=2))
    assert numbers(raw, [(0, 0, 540), (0, 1, 540)]) == set()
    assert numbers(raw, [(0, 0, 540)]) == {2}
    assert numbers(raw, [(0, 0, 540), (0, 1, 541)]) == {2}
    raw = second_volunteer(base_problem())
    assert numbers(raw, [(0, 0, 540), (0, 1, 540)]) == {2}


def test_rule_3_window() -> None:
    assert numbers(base_problem(), [(0, 0, 660)]) == set()
    assert numbers(base_problem(), [(0, 0, 661)]) == {3}
    assert numbers(base_problem(), [(0, 0, 539)]) == {3}


def test_rule_4_skills() -> None:
    assert numbers(base_problem(tasks__service="medical"), OK) == {4}
    assert numbers(base_problem(tasks__service="medical", volunteers__skills=["medical"]), OK) == set()


def test_rule_5_availability() -> None:
    raw = base_problem(volunteers__max_minutes=600)
    raw["volunteers"][0]["availability"] = [["2026-11-30T09:00:00+08:00", "2026-11-30T09:59:00+08:00"]]
    assert numbers(raw, OK) == {5}
    raw["volunteers"][0]["availability"].append(["2026-11-30T09:59:00+08:00", "2026-11-30T10:00:00+08:00"])
    assert numbers(raw, OK) == set()


def test_rule_6_radius() -> None:
    assert numbers(base_problem(volunteers__max_travel_km=0.1), OK) == {6}
    assert numbers(base_problem(volunteers__max_travel_km=0.2), OK) == set()


def test_rule_7_community() -> None:
    raw = base_problem(volunteers__community="c2")
    assert numbers(raw, OK) == set()
    raw["policy"] = {"cross_community": "forbid"}
    assert numbers(raw, OK) == {7}


def test_rule_8_exclusion() -> None:
    raw = base_problem()
    raw["recipients"][0]["excluded_volunteers"] = ["v1"]
    assert numbers(raw, OK) == {8}


def test_rule_9_double_booking_with_travel() -> None:
    raw = two_tasks()
    c = compiled(raw)
    travel = int(np.ceil(60 * 1.1119 * 1.3 / 12))  # 1.1 km north at 12 km/h
    assert c.t_recipient.tolist() == [0, 1]
    assert numbers(raw, [(0, 0, 540), (1, 0, 600 + travel)]) == set()
    assert numbers(raw, [(0, 0, 540), (1, 0, 599 + travel)]) == {9}
    assert numbers(raw, [(0, 0, 540), (1, 0, 540)]) == {9}
    # later visit first in the list order: still caught
    assert numbers(raw, [(1, 0, 540), (0, 0, 600)]) == {9}


def test_rule_9_same_home_needs_no_travel() -> None:
    raw = base_problem()
    raw["tasks"].append(dict(raw["tasks"][0], id="t2"))
    assert numbers(raw, [(0, 0, 540), (1, 0, 600)]) == set()
    assert numbers(raw, [(0, 0, 540), (1, 0, 599)]) == {9}


def test_rule_9_only_consecutive_visits_need_checking() -> None:
    """Three visits a, b, c: a-b and b-c apart implies a-c apart."""
    raw = two_tasks()
    raw["tasks"].append(dict(raw["tasks"][0], id="t3", window_end="2026-11-30T15:00:00+08:00"))
    assert numbers(raw, [(0, 0, 540), (1, 0, 620), (2, 0, 700)]) == set()


def test_rule_10_pledged_minutes() -> None:
    raw = two_tasks()
    raw["volunteers"][0]["max_minutes"] = 120
    assert numbers(raw, [(0, 0, 540), (1, 0, 660)]) == set()
    raw["volunteers"][0]["max_minutes"] = 119
    assert numbers(raw, [(0, 0, 540), (1, 0, 660)]) == {10}


def test_rule_10_counts_travel_when_the_policy_says_so() -> None:
    raw = base_problem(volunteers__max_minutes=61)
    assert numbers(raw, OK) == set()
    raw["policy"] = {"count_travel_in_capacity": True}
    assert numbers(raw, OK) == {10}  # 60 + 2 * 1 min


def test_rule_11_daily_limit() -> None:
    raw = two_tasks()
    raw["volunteers"][0]["max_tasks_per_day"] = 1
    assert numbers(raw, [(0, 0, 540), (1, 0, 660)]) == {11}
    assert numbers(raw, [(0, 0, 540)]) == set()
    raw["volunteers"][0]["max_tasks_per_day"] = 0
    assert numbers(raw, [(0, 0, 540)]) == {11}


def test_rule_11_days_follow_the_timezone() -> None:
    raw = two_tasks()
    raw["horizon"]["timezone"] = "UTC"  # UTC midnight = 08:00+08:00
    raw["volunteers"][0]["availability"] = [["2026-11-30T00:00:00+08:00", "2026-11-30T18:00:00+08:00"]]
    raw["tasks"][0].update(window_start="2026-11-30T06:00:00+08:00", window_end="2026-11-30T07:00:00+08:00")
    raw["volunteers"][0]["max_tasks_per_day"] = 1
    assert numbers(raw, [(0, 0, 360), (1, 0, 600)]) == set()


# ------------------------------------------------------------------ rule 12


def pinned(raw: dict[str, Any], task: int, *vols: str) -> dict[str, Any]:
    raw["tasks"][task]["pinned"] = list(vols)
    return raw


def test_pin_kept_or_listed() -> None:
    raw = pinned(base_problem(), 0, "v1")
    assert numbers(raw, OK) == set()
    assert numbers(raw, []) == {12}
    assert numbers(raw, OK, [(0, 0, "skills")]) == set()  # listed but kept: ignored


@pytest.mark.parametrize("rule", ["bogus", "pins", "references"])
def test_pin_conflict_naming_a_rule_that_never_applies(rule: str) -> None:
    raw = pinned(base_problem(tasks__service="medical"), 0, "v1")
    assert numbers(raw, [], [(0, 0, rule)]) == {12}


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"tasks__service": "medical"}, "skills"),
        ({"volunteers__max_travel_km": 0.1}, "radius"),
        ({"volunteers__community": "c2", "policy": {"cross_community": "forbid"}}, "community"),
        ({"volunteers__max_minutes": 59}, "pledged_minutes"),
        ({"volunteers__max_tasks_per_day": 0}, "daily_limit"),
    ],
)
def test_pin_that_alone_breaks_a_rule(changes: dict[str, Any], rule: str) -> None:
    policy = changes.pop("policy", None)
    raw = pinned(base_problem(**changes), 0, "v1")
    if policy:
        raw["policy"] = policy
    assert numbers(raw, [], [(0, 0, rule)]) == set()
    assert numbers(raw, [], [(0, 0, "exclusion")]) == {12}  # not the rule it breaks
    raw = pinned(base_problem(), 0, "v1")
    assert numbers(raw, [], [(0, 0, rule)]) == {12}  # nothing breaks: it must be kept


def test_pin_excluded_alone() -> None:
    raw = pinned(base_problem(), 0, "v1")
    raw["recipients"][0]["excluded_volunteers"] = ["v1"]
    assert numbers(raw, [], [(0, 0, "exclusion")]) == set()


def test_pin_not_free_in_its_window() -> None:
    raw = pinned(base_problem(), 0, "v1")
    raw["volunteers"][0]["availability"] = [["2026-11-30T11:30:00+08:00", "2026-11-30T13:00:00+08:00"]]
    assert numbers(raw, [], [(0, 0, "availability")]) == set()
    assert numbers(raw, [], [(0, 0, "window")]) == set()
    assert numbers(raw, [], [(0, 0, "double_booking")]) == {12}


def test_of_two_colliding_pins_one_is_kept() -> None:
    raw = two_tasks(window_start="2026-11-30T09:00:00+08:00", window_end="2026-11-30T10:00:00+08:00")
    raw["tasks"][0]["window_end"] = "2026-11-30T10:00:00+08:00"
    pinned(pinned(raw, 0, "v1"), 1, "v1")
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "double_booking")]) == set()
    assert numbers(raw, [(1, 0, 540)], [(0, 0, "double_booking")]) == set()
    assert numbers(raw, [], [(0, 0, "double_booking"), (1, 0, "double_booking")]) == {12}
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "pledged_minutes")]) == {12}


def test_pin_dropped_for_a_non_pin_assignment_is_not_justified() -> None:
    raw = two_tasks(window_start="2026-11-30T09:00:00+08:00", window_end="2026-11-30T10:00:00+08:00")
    raw["tasks"][0]["window_end"] = "2026-11-30T10:00:00+08:00"
    pinned(raw, 1, "v1")
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "double_booking")]) == {12}


def test_pin_fits_only_in_a_gap_between_kept_pins() -> None:
    """t1 (09:00-12:00 window) fits between the kept pins t2 (09:00-09:30) and
    t3 (11:00-11:30) only when it starts in 09:30..10:00: never at a window end."""
    raw = base_problem(volunteers__max_minutes=600)
    raw["tasks"].append(dict(raw["tasks"][0], id="t2", duration_min=30, window_end="2026-11-30T09:30:00+08:00"))
    raw["tasks"].append(
        dict(raw["tasks"][0], id="t3", duration_min=30,
             window_start="2026-11-30T11:00:00+08:00", window_end="2026-11-30T11:30:00+08:00")
    )
    for task in range(3):
        pinned(raw, task, "v1")
    kept = [(1, 0, 540), (2, 0, 660)]
    assert numbers(raw, [*kept, (0, 0, 570)]) == set()
    assert numbers(raw, kept, [(0, 0, "double_booking")]) == {12}
    raw["tasks"][0]["duration_min"] = 100  # no longer fits the 90 min gap
    assert numbers(raw, kept, [(0, 0, "double_booking")]) == set()
    assert numbers(raw, kept, [(0, 0, "availability")]) == {12}


def test_colliding_pins_through_pledged_minutes_and_daily_limit() -> None:
    raw = pinned(pinned(two_tasks(), 0, "v1"), 1, "v1")
    raw["volunteers"][0]["max_minutes"] = 100
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "pledged_minutes")]) == set()
    raw["volunteers"][0]["max_minutes"] = 120
    raw["volunteers"][0]["max_tasks_per_day"] = 1
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "daily_limit")]) == set()
    assert numbers(raw, [(0, 0, 540)], [(1, 0, "pledged_minutes")]) == {12}


def test_more_pins_than_the_team_needs() -> None:
    raw = pinned(second_volunteer(base_problem()), 0, "v1", "v2")
    assert numbers(raw, [(0, 0, 540)], [(0, 1, "whole_teams")]) == set()
    assert numbers(raw, [], [(0, 0, "whole_teams"), (0, 1, "whole_teams")]) == {12}


def test_pin_must_join_the_kept_team_start() -> None:
    raw = pinned(second_volunteer(base_problem(tasks__volunteers_needed=2)), 0, "v1", "v2")
    raw["volunteers"][1]["availability"] = [["2026-11-30T10:00:00+08:00", "2026-11-30T18:00:00+08:00"]]
    # v1 kept at 09:00 alone would be a partial team, so that schedule is invalid;
    # the rule-12 question is whether v2 can join at 09:00: it cannot
    found_rules = numbers(raw, [(0, 0, 540)], [(0, 1, "availability")])
    assert found_rules == {2}
    assert numbers(raw, [(0, 0, 600), (0, 1, 600)]) == set()


def test_team_pin_without_possible_mates() -> None:
    raw = pinned(base_problem(tasks__volunteers_needed=2), 0, "v1")
    assert numbers(raw, [], [(0, 0, "whole_teams")]) == set()
    second_volunteer(raw)  # a second free, eligible volunteer: the team can be whole
    assert numbers(raw, [], [(0, 0, "whole_teams")]) == {12}
    raw["volunteers"][1]["skills"] = []
    raw["tasks"][0]["service"] = "meals"
    raw["volunteers"][0]["skills"] = ["meals"]
    assert numbers(raw, [], [(0, 0, "whole_teams")]) == set()  # v2 lacks the skill


def test_rule_12_messages_name_pin_and_reason() -> None:
    raw = pinned(base_problem(), 0, "v1")
    (violation,) = found(raw, [], [(0, 0, "skills")])
    assert violation.rule == 12 and violation.name == "pins"
    assert violation.task == "t1" and violation.volunteer == "v1"
    assert str(violation).startswith("rule 12 (pins): task t1, volunteer v1: ")
    assert "can be kept" in violation.message


# ------------------------------------------------------------------ check()


def schedule(assignments: list[dict[str, Any]], conflicts: list[dict[str, str]] | None = None) -> Schedule:
    return Schedule(
        problem="unit",
        assignments=tuple(Assignment(**a) for a in assignments),
        conflicts=tuple(Conflict(**x) for x in conflicts or []),
    )


def test_check_valid_schedule_with_score() -> None:
    problem = Problem.model_validate(base_problem())
    report = check(problem, schedule([{"task": "t1", "volunteer": "v1", "start": "2026-11-30T09:00:00+08:00",
                                       "end": "2026-11-30T10:00:00+08:00"}]))
    assert isinstance(report, CheckReport)
    assert report.valid and report.violations == []
    assert report.score is not None and report.score.uncovered == (0, 0, 0, 0)


def test_check_end_must_match_duration() -> None:
    problem = Problem.model_validate(base_problem())
    report = check(problem, schedule([{"task": "t1", "volunteer": "v1", "start": "2026-11-30T09:00:00+08:00",
                                       "end": "2026-11-30T09:30:00+08:00"}]))
    assert not report.valid
    assert [v.rule for v in report.violations] == [3]
    # the same instant in another offset is the same end
    report = check(problem, schedule([{"task": "t1", "volunteer": "v1", "start": "2026-11-30T09:00:00+08:00",
                                       "end": "2026-11-30T02:00:00Z"}]))
    assert report.valid


def test_check_names_unknown_ids() -> None:
    problem = Problem.model_validate(base_problem())
    report = check(problem, schedule([{"task": "t9", "volunteer": "v1", "start": "2026-11-30T09:00:00+08:00"},
                                      {"task": "t1", "volunteer": "vX", "start": "2026-11-30T09:00:00+08:00"}]))
    assert [v.rule for v in report.violations] == [1, 1]
    assert "unknown task 't9'" in report.violations[0].message
    assert report.violations[1].volunteer == "vX"
    assert report.score is not None and report.score.uncovered == (0, 0, 0, 10)


def test_check_pins_through_conflicts() -> None:
    raw = pinned(base_problem(tasks__service="medical"), 0, "v1")
    problem = Problem.model_validate(raw)
    assert check(problem, schedule([], [{"task": "t1", "volunteer": "v1", "rule": "skills"}])).valid
    report = check(problem, schedule([], [{"task": "t1", "volunteer": "v1", "rule": "radius"}]))
    assert [v.rule for v in report.violations] == [12]


def test_tiny_schedule() -> None:
    problem = Problem.model_validate(json.loads((Path(__file__).parent / "data" / "tiny.json").read_text()))
    c = compile_problem(problem)
    # t1 medical by v1, t2 meals by v2, t4 by its pin v3; t3 needs two carers on day 2: only v3 is free
    good = build([(0, 0, 540), (1, 1, 660), (3, 2, 1440 + 840)])
    assert violations(c, good) == []
    assert rules_found(c, build([(0, 0, 540), (1, 1, 660)])) == {12}
    assert violations(c, build([(0, 0, 540), (1, 1, 660)], [(3, 2, "availability")]))[0].rule == 12
    # v3 may do one task a day: t3 at 09:00 on day 2 would push the pin out
    assert rules_found(c, build([(0, 0, 540), (1, 1, 660), (3, 2, 1440 + 840), (2, 2, 1440 + 540)])) >= {2, 11}


# ------------------------------------------- pins and the mates of kept teams


def _mates_problem(n_vols: int, t2_needed: int = 2) -> Problem:
    """t1 and t2 at 08:00 (15 min); t1 needs two and is pinned to v2, t2 needs
    ``t2_needed`` and is pinned to v1; the other volunteers are free."""
    from .test_cpsat import _problem

    tasks = [
        {"id": "t1", "window_start": 480, "window_end": 495, "duration_min": 15, "volunteers_needed": 2,
         "pinned": ["v2"]},
        {"id": "t2", "window_start": 480, "window_end": 495, "duration_min": 15, "volunteers_needed": t2_needed,
         "pinned": ["v1"]},
    ]
    return _problem([{"id": f"v{i}"} for i in range(1, n_vols + 1)], tasks)


def test_a_pin_needing_the_mate_a_kept_team_needs_may_go() -> None:
    """Three volunteers: t1 (v2 + v3) is kept; t2's pin v1 would need v3 too,
    so it cannot be added to the kept pins; with a fourth volunteer it can."""
    c = compile_problem(_mates_problem(3))
    sol = build([(0, 1, 480), (0, 2, 480)], [(1, 0, "whole_teams")])
    assert violations(c, sol) == []
    assert violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "double_booking")])) == []
    assert [v.rule for v in violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "daily_limit")]))] == [12]
    c = compile_problem(_mates_problem(4))
    found = violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "whole_teams")]))
    assert [v.rule for v in found] == [12] and "can be kept" in found[0].message


def test_a_pin_whose_volunteer_a_kept_team_needs_may_go() -> None:
    """t2 is v1's alone; t1 (pinned to v2) can only be completed by v1 at the
    same time: keeping both is impossible, one pin goes; a third volunteer
    could complete t1, and then v1's pin must stay."""
    c = compile_problem(_mates_problem(2, t2_needed=1))
    sol = build([(0, 1, 480), (0, 0, 480)], [(1, 0, "double_booking")])
    assert violations(c, sol) == []
    c = compile_problem(_mates_problem(3, t2_needed=1))
    found = violations(c, build([(0, 1, 480), (0, 0, 480)], [(1, 0, "double_booking")]))
    assert [v.rule for v in found] == [12] and "can be kept" in found[0].message


@st.composite
def team_pin_cases(draw: st.DrawFn) -> tuple[Problem, Solution]:
    """Two to four team tasks around 08:00 with pins, two to five volunteers,
    some kept with mates (a random valid-looking choice), the others dropped
    with a random rule: the cases where mates are shared."""
    from .test_cpsat import _problem

    n_vols = draw(st.integers(2, 5))
    vols = [{"id": f"v{i}", "max_tasks_per_day": draw(st.sampled_from([None, 1, 2]))} for i in range(n_vols)]
    for v in vols:
        if v["max_tasks_per_day"] is None:
            del v["max_tasks_per_day"]
    tasks = []
    for j in range(draw(st.integers(2, 4))):
        start = 480 + 15 * draw(st.integers(0, 3))
        pins = draw(st.lists(st.sampled_from([v["id"] for v in vols]), max_size=2, unique=True))
        tasks.append({"id": f"t{j}", "window_start": start, "window_end": start + 15 * draw(st.integers(1, 3)),
                      "duration_min": 15, "volunteers_needed": draw(st.integers(1, 3)), "pinned": pins})
    problem = _problem(vols, tasks)
    c = compile_problem(problem)
    rows: list[Row] = []
    conflicts: list[tuple[int, int, str]] = []
    for t in range(c.n_tasks):
        pins = [int(v) for v in c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]]]
        s = int(c.t_window_start[t])
        if pins and draw(st.booleans()):
            others = [v for v in range(c.n_volunteers) if v not in pins]
            mates = draw(st.permutations(others))[: max(0, int(c.t_needed[t]) - len(pins))]
            rows += [(t, v, s) for v in pins[: int(c.t_needed[t])] + list(mates)]
            pins = pins[int(c.t_needed[t]) :]
        for v in pins:
            conflicts.append((t, v, draw(st.sampled_from(["whole_teams", "double_booking", "daily_limit"]))))
    return problem, build(rows, conflicts)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(team_pin_cases())
def test_pins_sharing_mates_agree_with_the_reference(case: tuple[Problem, Solution]) -> None:
    """Rule 12 with teams competing for mates: the validator's search and the
    reference's enumeration find the same rules broken."""
    problem, sol = case
    c = compile_problem(problem)
    expected = RefChecker(problem).violated(rows_of(c, sol), conflicts_of(c, sol))
    assert rules_found(c, sol) == expected


def test_dropped_pins_among_many_kept_teams() -> None:
    """A county-like crowd of pinned teams (1,000 volunteers, 6,000 tasks):
    pins dropped with their whole task could be kept, and each is flagged,
    without searching all the kept teams the shared mates link (a search over
    all of them recursed thousands deep)."""
    from assign.candidates import build_candidates
    from assign.rules import is_pinned
    from assign.solvers.greedy import solve_greedy

    from .test_cpsat import _problem

    rng = np.random.default_rng(1)
    n_vols, n_tasks = 1000, 6000
    vols = [{"id": f"v{i}", "lat": 33.04 + int(rng.integers(-20, 20)) * 0.001,
             "lon": 108.25 + int(rng.integers(-20, 20)) * 0.001} for i in range(n_vols)]
    tasks = []
    for j in range(n_tasks):
        ws = 480 + 30 * int(rng.integers(0, 16)) + 1440 * int(rng.integers(0, 2))
        need = int(rng.choice([1, 2, 2, 3]))
        pins = [f"v{int(x)}" for x in rng.choice(n_vols, size=int(rng.integers(0, need + 1)), replace=False)]
        tasks.append({"id": f"t{j}", "window_start": ws, "window_end": ws + 60, "duration_min": 30,
                      "volunteers_needed": need, "pinned": pins})
    c = compile_problem(_problem(vols, tasks))
    sol = solve_greedy(c, build_candidates(c))
    assert violations(c, sol) == []
    rows = np.flatnonzero(is_pinned(c, sol.task, sol.volunteer) & (c.t_needed[sol.task] > 1))
    drop = rng.choice(rows, size=20, replace=False)
    gone = np.isin(sol.task, sol.task[drop])
    listed = [(int(sol.task[r]), int(sol.volunteer[r]), "whole_teams") for r in drop]
    found = violations(c, Solution.build(sol.task[~gone], sol.volunteer[~gone], sol.start[~gone],
                                         [*sol.conflicts, *listed]))
    flagged = {(v.task, v.volunteer) for v in found if v.rule == 12 and "can be kept" in v.message}
    assert {(c.task_ids[t], c.volunteer_ids[v]) for t, v, _ in listed} <= flagged


def test_past_the_search_an_exact_model_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the search's size (or when it gives up), a CP-SAT model of the
    same question decides: the pin that would take the kept team's only mate
    may go; with a fourth volunteer it can be kept (it said "keepable, not
    searched" for both, and flagged schedules the solvers had proven right)."""
    import sys

    check_module = sys.modules["assign.check"]
    for name, value in (("TEAM_SEARCH_TEAMS", 0), ("TEAM_SEARCH_NODES", 0)):
        with monkeypatch.context() as m:
            m.setattr(check_module, name, value)
            c = compile_problem(_mates_problem(3))
            assert violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "whole_teams")])) == []
            c = compile_problem(_mates_problem(4))
            found = violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "whole_teams")]))
            assert [v.rule for v in found] == [12] and "can be kept" in found[0].message
            assert "not searched" not in found[0].message


def test_an_undecided_team_question_keeps_the_lenient_verdict_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the exact model's size too, a pin that fits with mates counted one
    by one is flagged, and the message says the teams were not searched."""
    import sys

    check_module = sys.modules["assign.check"]
    monkeypatch.setattr(check_module, "TEAM_SEARCH_TEAMS", 0)
    monkeypatch.setattr(check_module, "TEAM_MODEL_TEAMS", 1)
    c = compile_problem(_mates_problem(3))
    found = violations(c, build([(0, 1, 480), (0, 2, 480)], [(1, 0, "whole_teams")]))
    assert [v.rule for v in found] == [12] and "not searched" in found[0].message


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(team_pin_cases())
def test_the_exact_team_model_agrees_with_the_reference(case: tuple[Problem, Solution]) -> None:
    """The CP-SAT model that decides where the search gives up finds what the
    reference's enumeration finds (the model asked in place of the search)."""
    import sys

    problem, sol = case
    c = compile_problem(problem)
    expected = RefChecker(problem).violated(rows_of(c, sol), conflicts_of(c, sol))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(sys.modules["assign.check"], "TEAM_SEARCH_TEAMS", 0)
        assert rules_found(c, sol) == expected
