"""An independent brute-force optimum for tiny problems (<= 4 volunteers, <= 5 tasks).

Used to test the exact solvers; shares nothing with them. The static rules,
travel, loads and days come from :mod:`assign.rules` (the one implementation of
each rule) and the score from :func:`assign.score.evaluate`; the search is
plain Python.

Method
------
1. Every task is either uncovered or staffed by a *team*: a subset of size
   ``volunteers_needed`` of its eligible volunteers (skills, radius, community,
   exclusion) who could do the visit somewhere in the window (rules 3 and 5,
   tested with :func:`assign.rules.available` for every start minute of the
   window). All combinations of these choices are enumerated.
2. Pledged minutes (rule 10) do not depend on time: they are checked first.
3. Whether starts exist that make the whole set valid (rules 2, 3, 5, 9, 11)
   is decided by a depth-first search that places the covered tasks in order
   of non-decreasing start, each at a start from a finite candidate set.

   **Why the candidate set is complete.** Take any valid schedule and keep
   moving some task one minute earlier while the schedule stays valid; starts
   are bounded below, so this stops in a "left-justified" valid schedule where
   no task can move. Moving task ``t`` earlier cannot break rule 9 against a
   visit that starts later (the gap only grows), nor rule 10; tasks with the
   same start share no volunteer. So ``t`` is blocked by one of: (a) ``s - 1``
   is not an allowed start of the whole team (window or availability): ``s``
   is the first minute of a run of the team's allowed starts; (b) ``s - 1``
   lies on another day (rule 11): ``s`` is a day start; (c) a visit ``u`` of a
   shared volunteer starting before ``t`` needs ``s >= end_u + travel(u, t)``
   and ``s - 1`` violates it: ``s = end_u + travel(u, t)``. Placing tasks in
   start order, every start of a left-justified schedule is therefore in
   {run starts of the team's allowed starts} ∪ {day starts} ∪ {end_u +
   travel(u, t) for placed u sharing a volunteer}, and is at least the last
   placed start. The DFS tries exactly these, so it finds a valid placement
   whenever one exists.
4. The soft score does not depend on the starts, so the lexicographic minimum
   of :func:`assign.score.evaluate` over the valid sets is the optimum.

Pins (``honour_pins=True``) follow SPEC §4 rule 12 read exactly: a schedule is
valid when its set K of kept pins is feasible and no other pin p that is
feasible alone can be added (no valid set contains K ∪ {p}).

``reading="lenient"`` reads "cannot be added to the pins the schedule keeps"
as the validator does (:mod:`assign.check`, docs/readings.md, Pins): the kept
pins stay at the starts the schedule gives them, and p can be added when some
set holding K at those starts (their teams whole, with any mates) and p (its
team whole) breaks no rule 1-11. A schedule is then valid when *some* timing
of its kept pins (every start of each kept-pin task is tried) blocks every
dropped pin feasible alone; its other tasks are placed around them. Every
strictly valid schedule is leniently valid, so this optimum is at most the
strict one. Keep the slack of the pinned tasks small: the kept pins' starts
are enumerated.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from assign import rules
from assign.compile import Compiled
from assign.score import ScoreResult, evaluate
from assign.solution import Solution

MAX_VOLUNTEERS = 4
MAX_TASKS = 5

Team = tuple[int, ...]
Choice = tuple[Team | None, ...]


@dataclass(frozen=True)
class BruteResult:
    """The optimum found by enumeration."""

    key: tuple[float, ...]
    score: ScoreResult
    solution: Solution
    n_valid: int
    #: with ``honour_pins``: the pin sets that some valid-by-rules-1-11 schedule holds
    pin_sets: frozenset[frozenset[tuple[int, int]]] = frozenset()

    def can_add(self, kept: set[tuple[int, int]], pin: tuple[int, int]) -> bool:
        """Some schedule holds the pins ``kept`` and ``pin`` together (exact reading)."""
        wanted = frozenset(kept) | {pin}
        return any(wanted <= held for held in self.pin_sets)


class _Tiny:
    """Per-pair data of a tiny problem, as plain Python."""

    def __init__(self, c: Compiled):
        if c.n_volunteers > MAX_VOLUNTEERS or c.n_tasks > MAX_TASKS:
            raise ValueError("brute force is for tiny problems only")
        self.c = c
        n_t, n_v = c.n_tasks, c.n_volunteers
        self.allowed: dict[tuple[int, int], set[int]] = {}
        self.load: dict[tuple[int, int], int] = {}
        self.members: list[list[int]] = []
        for t in range(n_t):
            ws, we, dur = int(c.t_window_start[t]), int(c.t_window_end[t]), int(c.t_duration[t])
            starts = np.arange(ws, we - dur + 1, dtype=np.int64)
            usable = []
            for v in range(n_v):
                tt = np.array([t], dtype=np.int64)
                vv = np.array([v], dtype=np.int64)
                if not rules.eligible(c, tt, vv)[0]:
                    continue
                ok = rules.available(c, np.full(len(starts), v), starts, starts + dur)
                ok &= rules.window_ok(c, np.full(len(starts), t), starts)
                if not ok.any():
                    continue
                self.allowed[(t, v)] = set(starts[ok].tolist())
                self.load[(t, v)] = int(rules.assignment_load(c, tt, vv)[0])
                usable.append(v)
            self.members.append(usable)
        rec = c.t_recipient.astype(np.int64)
        ia, ib = np.meshgrid(np.arange(n_t), np.arange(n_t), indexing="ij")
        travel = rules.travel_between_recipients(c, rec[ia.ravel()], rec[ib.ravel()]).reshape(n_t, n_t)
        #: minimum of start_b - start_a when a and b share a volunteer and a goes first
        self.gap = (c.t_duration[:, None] + travel).tolist() if n_t else []
        self.day_starts = [int(x) for x in c.day_starts]
        self.max_minutes = [int(x) for x in c.v_max_minutes]
        self.max_per_day = [int(x) for x in c.v_max_per_day]

    def options(self, t: int) -> list[Team | None]:
        needed = int(self.c.t_needed[t])
        return [None, *itertools.combinations(self.members[t], needed)]

    def day(self, minute: int) -> int:
        # the day-index convention of rules.day_of: searchsorted(side="right") - 1
        return bisect_right(self.day_starts, minute) - 1

    def minutes_ok(self, choice: Choice) -> bool:
        used = [0] * self.c.n_volunteers
        for t, team in enumerate(choice):
            for v in team or ():
                used[v] += self.load[(t, v)]
        return all(u <= m for u, m in zip(used, self.max_minutes, strict=True))

    def common(self, t: int, team: Team) -> set[int]:
        """The starts at which the whole team can do task ``t``."""
        return set.intersection(*(self.allowed[(t, v)] for v in team))

    def place(self, choice: Choice, fixed: dict[int, int] | None = None) -> dict[int, int] | None:
        """Starts of the covered tasks making the set valid, or None; the
        tasks in ``fixed`` only at the start it gives them (the others are
        left-justified around them, so the argument above still holds)."""
        covered = [t for t, team in enumerate(choice) if team is not None]
        team_of = {t: choice[t] for t in covered}
        allowed: dict[int, set[int]] = {}
        for t in covered:
            team = team_of[t]
            assert team is not None
            common = self.common(t, team)
            if fixed is not None and t in fixed:
                common = common & {fixed[t]}
            if not common:
                return None
            allowed[t] = common
        runs = {t: sorted(s for s in allowed[t] if s - 1 not in allowed[t]) for t in covered}
        placed: dict[int, int] = {}
        per_day: dict[tuple[int, int], int] = {}

        def candidates(t: int, floor: int) -> list[int]:
            team = set(team_of[t] or ())
            points = set(runs[t])
            points.update(d for d in self.day_starts if d in allowed[t])
            for u, s in placed.items():
                if team & set(team_of[u] or ()):
                    points.add(s + self.gap[u][t])
            return sorted(p for p in points if p >= floor and p in allowed[t])

        def fits(t: int, s: int) -> bool:
            team = set(team_of[t] or ())
            for u, su in placed.items():
                if team & set(team_of[u] or ()) and s < su + self.gap[u][t]:
                    return False
            d = self.day(s)
            return all(per_day.get((v, d), 0) + 1 <= self.max_per_day[v] for v in team)

        def dfs(floor: int) -> bool:
            if len(placed) == len(covered):
                return True
            for t in covered:
                if t in placed:
                    continue
                for s in candidates(t, floor):
                    if not fits(t, s):
                        continue
                    d = self.day(s)
                    placed[t] = s
                    for v in team_of[t] or ():
                        per_day[(v, d)] = per_day.get((v, d), 0) + 1
                    if dfs(s):
                        return True
                    del placed[t]
                    for v in team_of[t] or ():
                        per_day[(v, d)] -= 1
            return False

        return dict(placed) if dfs(-(1 << 40)) else None


def _solution(choice: Choice, starts: dict[int, int]) -> Solution:
    task, vol, start = [], [], []
    for t, team in enumerate(choice):
        for v in team or ():
            task.append(t)
            vol.append(v)
            start.append(starts[t])
    return Solution.build(task, vol, start)


def _uncovered_key(c: Compiled, choice: Choice) -> tuple[int, ...]:
    key = [0] * c.n_tiers
    for t, team in enumerate(choice):
        if team is None:
            key[int(c.t_tier[t]) - 1] += int(c.t_weight[t])
    return tuple(key)


def _pins_of(c: Compiled, choice: Choice) -> frozenset[tuple[int, int]]:
    pins = set()
    for t, team in enumerate(choice):
        wanted = set(c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]].tolist())
        pins.update((t, v) for v in team or () if v in wanted)
    return frozenset(pins)


def valid_choices(c: Compiled, honour_pins: bool = False) -> list[Choice]:
    """Every schedule of ``c`` valid by rules 1-11 (and rule 12 with
    ``honour_pins``; else pins ignored), as a team or None per task, by the
    same enumeration and placement as :func:`brute_force`."""
    tiny = _Tiny(c)
    placed = [
        choice
        for choice in itertools.product(*(tiny.options(t) for t in range(c.n_tasks)))
        if tiny.minutes_ok(choice) and tiny.place(choice) is not None
    ]
    if not honour_pins or not len(c.t_pin):
        return placed
    valid, _ = _rule12(c, {_pins_of(c, ch) for ch in placed})
    return [ch for ch in placed if valid(_pins_of(c, ch))]


def _rule12(
    c: Compiled, achievable: set[frozenset[tuple[int, int]]]
) -> tuple[Callable[[frozenset[tuple[int, int]]], bool], set[tuple[int, int]]]:
    """Rule 12 (strict reading) given the sets of pins the schedules valid by
    rules 1-11 keep: ``valid(kept)`` (every pin dropped could not join the
    kept ones), and the pins some such schedule keeps."""
    pin_t = np.repeat(np.arange(c.n_tasks), np.diff(c.t_pin_ptr)).tolist()
    all_pins = set(zip(pin_t, c.t_pin.tolist(), strict=True))
    alone_ok = {p for p in all_pins if any(p in k for k in achievable)}

    def valid(kept: frozenset[tuple[int, int]]) -> bool:
        for p in alone_ok - kept:
            wanted = kept | {p}
            if any(wanted <= k for k in achievable):
                return False
        return True

    return valid, alone_ok


def brute_force(c: Compiled, honour_pins: bool = False, reading: str = "strict") -> BruteResult:
    """The lexicographically smallest score over all valid schedules of ``c``.

    With ``honour_pins=False`` pins are ignored (use problems without pins, or
    read the result as the optimum of the pin-free problem). ``reading``:
    ``"strict"`` or ``"lenient"`` (rule 12, see the module docstring).
    """
    if reading not in ("strict", "lenient"):
        raise ValueError(f"unknown reading {reading!r}")
    tiny = _Tiny(c)
    choices: Iterable[Choice] = itertools.product(*(tiny.options(t) for t in range(c.n_tasks)))
    by_key: dict[tuple[int, ...], list[Choice]] = {}
    for choice in choices:
        if tiny.minutes_ok(choice):
            by_key.setdefault(_uncovered_key(c, choice), []).append(choice)

    if honour_pins and len(c.t_pin):
        feasible: list[tuple[Choice, dict[int, int]]] = []
        for group in by_key.values():
            for choice in group:
                starts = tiny.place(choice)
                if starts is not None:
                    feasible.append((choice, starts))
        achievable = {_pins_of(c, ch) for ch, _ in feasible}
        valid, alone_ok = _rule12(c, achievable)
        if reading == "lenient":
            lenient = _Lenient(c, tiny, alone_ok)
            for key in sorted(by_key):
                good = []
                for choice in by_key[key]:
                    starts = lenient.place(choice)
                    if starts is not None:
                        good.append((choice, starts))
                if good:
                    best = _best(c, good, len(good))
                    return BruteResult(best.key, best.score, best.solution, best.n_valid, frozenset(achievable))
            raise AssertionError("the empty schedule with every pin listed is always valid")
        good = [(ch, st) for ch, st in feasible if valid(_pins_of(c, ch))]
        best = _best(c, good, len(good))
        return BruteResult(best.key, best.score, best.solution, best.n_valid, frozenset(achievable))

    for key in sorted(by_key):
        good = []
        for choice in by_key[key]:
            starts = tiny.place(choice)
            if starts is not None:
                good.append((choice, starts))
        if good:
            return _best(c, good, len(good))
    raise AssertionError("the empty schedule is always valid")


class _Lenient:
    """Rule 12 read with the kept pins at their starts (``reading="lenient"``)."""

    def __init__(self, c: Compiled, tiny: _Tiny, alone_ok: set[tuple[int, int]]):
        self.c, self.tiny, self.alone_ok = c, tiny, alone_ok
        self.pins_of_task: dict[int, set[int]] = {}
        for t in range(c.n_tasks):
            self.pins_of_task[t] = set(c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]].tolist())
        self.cache: dict[tuple[object, ...], bool] = {}

    def place(self, choice: Choice) -> dict[int, int] | None:
        """Starts making ``choice`` valid under the lenient reading, or None."""
        kept = _pins_of(self.c, choice)
        dropped = sorted(self.alone_ok - kept)
        if not dropped:
            return self.tiny.place(choice)
        held: dict[int, tuple[int, ...]] = {}
        for t, v in sorted(kept):
            held[t] = (*held.get(t, ()), v)
        k_tasks = sorted(held)
        options = []
        for t in k_tasks:
            team = choice[t]
            assert team is not None
            options.append(sorted(self.tiny.common(t, team)))
        for combo in itertools.product(*options):
            at = dict(zip(k_tasks, combo, strict=True))
            # (the set itself at these starts first: the cheaper test, and
            # most combinations fail it; a pin seed of hypothesis spent
            # minutes on the other order)
            starts = self.tiny.place(choice, at)
            if starts is None or any(self._addable(held, at, p) for p in dropped):
                continue
            return starts
        return None

    def _addable(self, held: dict[int, tuple[int, ...]], at: dict[int, int], pin: tuple[int, int]) -> bool:
        """Some set holding the kept pins ``held`` at the starts ``at`` (their
        teams whole, any mates) and ``pin`` (its team whole) breaks no rule 1-11."""
        key = (tuple(sorted(held.items())), tuple(sorted(at.items())), pin)
        if key in self.cache:
            return self.cache[key]
        c, tiny = self.c, self.tiny
        t, v = pin
        need = dict(held)
        need[t] = (*need.get(t, ()), v)
        tasks = sorted(need)
        per_task = []
        for u in tasks:
            must = set(need[u])
            size = int(c.t_needed[u])
            per_task.append([team for team in itertools.combinations(tiny.members[u], size) if must <= set(team)])
        found = False
        for teams in itertools.product(*per_task):
            choice: list[Team | None] = [None] * c.n_tasks
            for u, team in zip(tasks, teams, strict=True):
                choice[u] = team
            ch = tuple(choice)
            if tiny.minutes_ok(ch) and tiny.place(ch, at) is not None:
                found = True
                break
        self.cache[key] = found
        return found


def _best(c: Compiled, good: list[tuple[Choice, dict[int, int]]], n_valid: int) -> BruteResult:
    best: BruteResult | None = None
    for choice, starts in good:
        sol = _solution(choice, starts)
        score = evaluate(c, sol)
        if best is None or score.key() < best.key:
            best = BruteResult(score.key(), score, sol, n_valid)
    assert best is not None
    return best


__all__ = ["BruteResult", "MAX_TASKS", "MAX_VOLUNTEERS", "brute_force"]
