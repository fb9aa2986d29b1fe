"""Why a need stayed uncovered: one SPEC §7 reason code per uncovered task.

The code is the first that applies, in the order ``no_skill``, ``out_of_range``,
``excluded``, ``no_availability``, ``team_too_small``, ``capacity``, with the
SPEC §10 readings: *eligible* = skills + radius + not excluded + community rule
(:func:`assign.rules.eligible`), *free* = one joined availability interval holds
the whole visit inside the window, ignoring other assignments
(:func:`assign.rules.free`). The eligible and free volunteers of a task are
exactly its :mod:`assign.candidates` (uncapped).

``team_too_small`` and ``capacity`` assume the schedule is *maximal*: no
uncovered task could be added as it stands (SPEC §10). The greedy guarantees
that, and :func:`assign.solve.solve` extends every strategy's schedule with
:func:`assign.solvers.greedy.fill` before explaining it.

The ``capacity`` detail names the tasks that took the eligible free volunteers:
for each of them, the tasks assigned to them near the window (start before the
window end plus the longest travel, end after the window start minus it; for a
volunteer with a daily limit, every task on the window's days), or, when the
volunteer's pledged minutes cannot hold this visit any more, their tasks of the
most urgent tiers. Tasks of equal or higher urgency (tier number ≤ the task's)
are named when there are any, else all of them.

Everything is vectorized over the uncovered tasks; only the text of the
details is built in a loop.

:func:`explain` builds the whole report a community can act on
(:class:`Explanation`): the reasons above (a schedule that is not maximal gets
``addable`` for the needs that could still be added), the counterfactuals of
:mod:`assign.counterfactual`, the recruitment list of :mod:`assign.supply`
and the metrics of :mod:`assign.metrics`; ``docs/explain.md`` describes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from . import rules
from .arrays import ragged_ranges
from .candidates import Candidates, build_candidates, pairs_in_radius
from .compile import UNLIMITED, Compiled
from .errors import AssignError
from .model import REASON_CODES
from .solution import Solution

if TYPE_CHECKING:
    from .counterfactual import CounterfactualReport
    from .model import Problem, Schedule
    from .supply import SupplyReport

Reason = tuple[int, str, str]

NO_SKILL, OUT_OF_RANGE, EXCLUDED, NO_AVAILABILITY, TEAM_TOO_SMALL, CAPACITY = range(6)
#: how many volunteers / tasks a detail names before "and N more"
NAMED = 5


def _names(ids: list[str], indexes: list[int], limit: int = NAMED) -> str:
    shown = ", ".join(ids[i] for i in indexes[:limit])
    if len(indexes) > limit:
        shown += f" and {len(indexes) - limit} more"
    return shown


def _skill_names(c: Compiled, mask: int) -> str:
    names = [name for name, bit in c.skill_index.items() if mask >> bit & 1]
    return ", ".join(names) if names else "none"


def _group_ptr(sorted_keys: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    return np.searchsorted(sorted_keys, np.arange(n + 1), side="left").astype(np.int64)


def _skilled_any(c: Compiled, tasks: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Does some volunteer have every skill of each task (rule 4)?"""
    out = np.zeros(len(tasks), dtype=bool)
    if c.n_volunteers == 0 or len(tasks) == 0:
        return out
    masks, first, inverse = np.unique(c.t_skills[tasks], return_index=True, return_inverse=True)
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    for k in range(len(masks)):
        rep = np.full(c.n_volunteers, tasks[first[k]], dtype=np.int64)
        out[inverse == k] = bool(rules.skills_ok(c, rep, everyone).any())
    return out


def _nearest_skilled(c: Compiled, tasks: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Nearest volunteer with the task's skills, and its distance (km)."""
    from scipy.spatial import cKDTree

    nearest = np.full(len(tasks), -1, dtype=np.int64)
    if len(tasks) == 0:
        return nearest, np.zeros(0)
    masks, first, inverse = np.unique(c.t_skills[tasks], return_index=True, return_inverse=True)
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    for k in range(len(masks)):
        rep = np.full(c.n_volunteers, tasks[first[k]], dtype=np.int64)
        skilled = everyone[rules.skills_ok(c, rep, everyone)]
        if len(skilled) == 0:
            continue
        rows = np.flatnonzero(inverse == k)
        _, hit = cKDTree(c.v_xyz[skilled]).query(c.r_xyz[c.t_recipient[tasks[rows]]], k=1)
        nearest[rows] = skilled[np.asarray(hit, dtype=np.int64)]
    km = np.zeros(len(tasks))
    found = nearest >= 0
    km[found] = rules.distance_km(c, tasks[found], nearest[found])
    return nearest, km


def _eligible_free(
    c: Compiled, uncovered: NDArray[np.int64], covered: NDArray[np.bool_], cands: Candidates | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(task, volunteer) rows of the eligible and free volunteers of the uncovered
    tasks, sorted by (task, km)."""
    if cands is None or not cands.complete:
        cands = build_candidates(c, tasks=uncovered, with_cost=False)
    rows = ~covered[cands.task]
    return cands.task[rows].astype(np.int64), cands.volunteer[rows].astype(np.int64)


def _static_codes(c: Compiled, tasks: NDArray[np.int64]) -> tuple[NDArray[np.int64], list[str]]:
    """Codes and details of tasks without any eligible free volunteer."""
    codes = np.full(len(tasks), NO_AVAILABILITY, dtype=np.int64)
    details = [""] * len(tasks)
    skilled = _skilled_any(c, tasks)
    codes[~skilled] = NO_SKILL
    rest = tasks[skilled]
    in_range = np.zeros(c.n_tasks, dtype=np.int64)
    eligible = np.zeros(c.n_tasks, dtype=np.int64)
    excluded = np.zeros(c.n_tasks, dtype=np.int64)
    for t, v, _ in pairs_in_radius(c, rest):
        in_range += np.bincount(t, minlength=c.n_tasks)
        not_excl = rules.not_excluded(c, t, v)
        excluded += np.bincount(t[~not_excl], minlength=c.n_tasks)
        eligible += np.bincount(t[not_excl & rules.community_ok(c, t, v)], minlength=c.n_tasks)
    codes[skilled & (in_range[tasks] == 0)] = OUT_OF_RANGE
    codes[skilled & (in_range[tasks] > 0) & (eligible[tasks] == 0)] = EXCLUDED
    far = np.flatnonzero(codes == OUT_OF_RANGE)
    nearest, km = _nearest_skilled(c, tasks[far])
    far_detail = dict(zip(far.tolist(), zip(nearest.tolist(), km.tolist(), strict=True), strict=True))
    for i, t in enumerate(tasks.tolist()):
        code = codes[i]
        if code == NO_SKILL:
            mask = int(c.t_skills[t])
            details[i] = (
                f"no volunteer has the required skills ({_skill_names(c, mask)})"
                if mask
                else "the problem has no volunteers"
            )
        elif code == OUT_OF_RANGE:
            v, d = far_detail[i]
            details[i] = (
                f"nearest skilled volunteer {c.volunteer_ids[v]} at {d:.2f} km > {c.v_radius[v]:.2f} km"
            )
        elif code == EXCLUDED:
            n_excl = int(excluded[t])
            n_other = int(in_range[t]) - n_excl
            parts = []
            if n_excl:
                parts.append(f"{n_excl} excluded by the recipient")
            if n_other:
                parts.append(f"{n_other} of another community (cross_community = forbid)")
            details[i] = f"{int(in_range[t])} skilled volunteers in range: " + ", ".join(parts)
        else:
            window = (
                f"{c.minute_to_datetime(int(c.t_window_start[t])).isoformat()} .. "
                f"{c.minute_to_datetime(int(c.t_window_end[t])).isoformat()}"
            )
            details[i] = (
                f"{int(eligible[t])} eligible volunteers, none free for the whole "
                f"{int(c.t_duration[t])}-min visit in the window {window}"
            )
    return codes, details


#: the codes of a task no volunteer is eligible and free for: decided by the
#: rules alone, whatever the schedule (:func:`static_reasons`)
STATIC_CODES = frozenset(REASON_CODES[i] for i in (NO_SKILL, OUT_OF_RANGE, EXCLUDED, NO_AVAILABILITY))
#: the code :func:`reasons` gives, with ``static=False``, to a task whose
#: static code it leaves to the caller (never in a schedule)
STATIC_LATER = "static"


def static_reasons(c: Compiled, tasks: NDArray[np.int64]) -> list[tuple[str, str]]:
    """(code, detail) of each of ``tasks``, tasks no volunteer is eligible
    and free for (the codes of :data:`STATIC_CODES`; looks at every
    volunteer of ``c``)."""
    tasks = np.asarray(tasks, dtype=np.int64)
    if len(tasks) == 0:
        return []
    codes, details = _static_codes(c, tasks)
    return [(REASON_CODES[int(x)], d) for x, d in zip(codes.tolist(), details, strict=True)]


def _blocking(
    c: Compiled, sol: Solution, pair_t: NDArray[np.int64], pair_v: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(uncovered task, assigned task) pairs: the assignments that took the time
    or minutes of an eligible free volunteer ``pair_v`` of ``pair_t``."""
    known = (sol.task >= 0) & (sol.task < c.n_tasks) & (sol.volunteer >= 0) & (sol.volunteer < c.n_volunteers)
    a_t = sol.task[known].astype(np.int64)
    a_v = sol.volunteer[known].astype(np.int64)
    a_s = sol.start[known].astype(np.int64)
    if len(a_t) == 0 or len(pair_t) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    horizon = c.horizon_minutes
    span = horizon + 2
    max_radius = float(c.v_radius.max())
    max_travel = int(rules.travel_minutes(c, np.array([2.0 * max_radius + 1e-6]))[0]) + 1
    max_duration = int(c.t_duration.max())

    # by time: assignments of the volunteer that start near the window
    by_time = np.lexsort((a_s, a_v))
    keys = a_v[by_time] * span + np.clip(a_s[by_time], 0, horizon)
    lo = c.t_window_start[pair_t] - max_duration - max_travel
    hi = c.t_window_end[pair_t] + max_travel
    limited = c.v_max_per_day[pair_v] < UNLIMITED
    day_lo = c.day_starts[rules.day_of(c, c.t_window_start[pair_t])]
    day_hi = c.day_starts[rules.day_of(c, c.t_window_end[pair_t] - 1) + 1]
    lo = np.where(limited, np.minimum(lo, day_lo), lo)
    hi = np.where(limited, np.maximum(hi, day_hi), hi)
    first = np.searchsorted(keys, pair_v * span + np.clip(lo, 0, horizon), side="left")
    last = np.searchsorted(keys, pair_v * span + np.clip(hi, 0, horizon), side="left")

    # by minutes: a volunteer whose pledge cannot hold the visit any more
    used = rules.volunteer_loads(c, a_t, a_v)
    exhausted = used[pair_v] + rules.assignment_load(c, pair_t, pair_v) > c.v_max_minutes[pair_v]
    by_tier = np.lexsort((a_s, c.t_tier[a_t], a_v))
    vol_ptr = np.searchsorted(a_v[by_tier], np.arange(c.n_volunteers + 1), side="left")
    m_first = vol_ptr[pair_v]
    m_last = np.minimum(vol_ptr[pair_v + 1], m_first + NAMED)

    out_u: list[NDArray[np.int64]] = []
    out_a: list[NDArray[np.int64]] = []
    for order, start, stop, use in (
        (by_time, first, last, ~exhausted),
        (by_tier, m_first, m_last, exhausted),
    ):
        count = np.where(use, stop - start, 0)
        rep = np.repeat(np.arange(len(pair_t)), count)
        rows = order[ragged_ranges(start, count)]
        out_u.append(pair_t[rep])
        out_a.append(a_t[rows])
    return np.concatenate(out_u), np.concatenate(out_a)


def _capacity_details(
    c: Compiled, sol: Solution, tasks: NDArray[np.int64], ef_t: NDArray[np.int64], ef_v: NDArray[np.int64]
) -> list[str]:
    wanted = np.zeros(c.n_tasks, dtype=bool)
    wanted[tasks] = True
    rows = wanted[ef_t]
    pair_t, pair_v = ef_t[rows], ef_v[rows]
    # the nearest few volunteers are enough to name who took the time
    rank = np.arange(len(pair_t)) - np.searchsorted(pair_t, pair_t, side="left")
    near = rank < 2 * NAMED
    block_u, block_a = _blocking(c, sol, pair_t[near], pair_v[near])
    # equal or higher urgency first: keep those when a task has any
    urgent = c.t_tier[block_a] <= c.t_tier[block_u]
    has_urgent = np.bincount(block_u[urgent], minlength=c.n_tasks) > 0
    keep = urgent | ~has_urgent[block_u]
    block_u, block_a = block_u[keep], block_a[keep]
    # distinct pairs by (uncovered task, blocker's tier, blocker): one key
    # and one sort where it fits 63 bits, repeats adjacent (np.unique and a
    # lexsort took 3 s of Ankang's 12)
    n, levels = max(c.n_tasks, 1), c.n_tiers + 1
    tier_a = c.t_tier[block_a].astype(np.int64)
    if n * levels * n < 2**62:
        key = np.sort((block_u * levels + tier_a) * n + block_a)
        block_u, block_a = key // (levels * n), key % n
    else:
        order = np.lexsort((block_a, tier_a, block_u))
        block_u, block_a = block_u[order], block_a[order]
    fresh = np.ones(len(block_u), dtype=bool)
    fresh[1:] = (block_u[1:] != block_u[:-1]) | (block_a[1:] != block_a[:-1])
    block_u, block_a = block_u[fresh], block_a[fresh]
    block_ptr = _group_ptr(block_u, c.n_tasks)
    vol_ptr = _group_ptr(pair_t, c.n_tasks)
    vols = pair_v.tolist()
    blockers = block_a.tolist()
    details = []
    for t in tasks.tolist():
        who = _names(c.volunteer_ids, vols[vol_ptr[t] : vol_ptr[t + 1]])
        n_who = int(vol_ptr[t + 1] - vol_ptr[t])
        took = blockers[block_ptr[t] : block_ptr[t + 1]]
        head = f"{n_who} eligible free volunteer{'s' if n_who != 1 else ''} ({who})"
        if took:
            tier = int(c.t_tier[t])
            scope = f"tier <= {tier}" if has_urgent[t] else "lower urgency"
            details.append(f"{head} taken by {_names(c.task_ids, took)} ({scope})")
        elif int(c.t_needed[t]) > 1:
            # (a team: its members may each be free, only never together)
            details.append(
                f"{head}: no {int(c.t_needed[t])} of them are free at one common start "
                "with pledged minutes and daily visits left"
            )
        else:
            details.append(f"{head} have no pledged minutes or daily visits left for this visit")
    return details


def reasons(c: Compiled, sol: Solution, cands: Candidates | None = None, static: bool = True) -> list[Reason]:
    """(task index, reason code, detail) for every uncovered task, by task index.

    ``cands`` may be the problem's candidates (complete ones are reused as the
    eligible-free sets; capped, partial or missing ones are rebuilt for the
    uncovered tasks only). ``static=False``: the tasks no volunteer is
    eligible and free for get the code :data:`STATIC_LATER` and no detail
    (their caller decides the static codes, :func:`static_reasons`, on a
    larger problem: :mod:`assign.parts`).

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> from assign.solution import Solution
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> [(c.task_ids[t], code) for t, code, _ in reasons(c, Solution.empty())]
    [('t1', 'capacity'), ('t2', 'capacity'), ('t3', 'team_too_small'), ('t4', 'capacity')]
    """
    covered = sol.covered(c.n_tasks)
    uncovered = np.flatnonzero(~covered).astype(np.int64)
    if len(uncovered) == 0:
        return []
    ef_t, ef_v = _eligible_free(c, uncovered, covered, cands)
    n_free = np.bincount(ef_t, minlength=c.n_tasks)[uncovered]
    codes = np.full(len(uncovered), CAPACITY, dtype=np.int64)
    details = [""] * len(uncovered)

    none = np.flatnonzero(n_free == 0)
    if static:
        static_codes, static_details = _static_codes(c, uncovered[none])
        codes[none] = static_codes
        for i, text in zip(none.tolist(), static_details, strict=True):
            details[i] = text
    else:
        codes[none] = -1

    needed = c.t_needed[uncovered]
    small = np.flatnonzero((n_free > 0) & (n_free < needed))
    codes[small] = TEAM_TOO_SMALL
    ptr = _group_ptr(ef_t, c.n_tasks)
    for i in small.tolist():
        t = int(uncovered[i])
        members = ef_v[ptr[t] : ptr[t + 1]].tolist()
        details[i] = (
            f"needs {int(needed[i])} volunteers, only {len(members)} eligible and free: "
            f"{_names(c.volunteer_ids, members)}"
        )

    busy = np.flatnonzero(codes == CAPACITY)
    for i, text in zip(busy.tolist(), _capacity_details(c, sol, uncovered[busy], ef_t, ef_v), strict=True):
        details[i] = text
    return [
        (int(t), REASON_CODES[int(code)] if code >= 0 else STATIC_LATER, text)
        for t, code, text in zip(uncovered.tolist(), codes.tolist(), details, strict=True)
    ]



# ===================================================================== reports
#
# ``explain(problem, schedule)``: the report a community can act on - every
# uncovered need with its true reason, counterfactuals for the most urgent
# tiers, the recruitment list, and the metrics.

#: reason of an uncovered task that could be added to the schedule as it stands
#: (the schedule is not maximal; no SPEC §7 code is true of it)
ADDABLE = "addable"
#: the default cap on how many needs may name one volunteer in counterfactuals
#: (None: no cap; every need gets its smallest change)
PER_VOLUNTEER: int | None = None


@dataclass(frozen=True)
class UncoveredNeed:
    """One uncovered task with its reason (SPEC §7 code, or ``addable``)."""

    task: str
    tier: int
    weight: int
    community: str
    service: str
    window_start: str
    window_end: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "tier": self.tier, "weight": self.weight, "community": self.community,
            "service": self.service, "window_start": self.window_start, "window_end": self.window_end,
            "reason": self.reason, "detail": self.detail,
        }


@dataclass(frozen=True)
class Explanation:
    """Everything :func:`explain` found, with :meth:`render` (text) and
    :meth:`to_dict` (JSON)."""

    problem: str
    tasks: int
    covered: int
    #: every uncovered task, most urgent first (tier, weight descending, window)
    needs: tuple[UncoveredNeed, ...]
    counterfactuals: CounterfactualReport
    supply: SupplyReport
    metrics: dict[str, Any]
    #: seconds per stage
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def maximal(self) -> bool:
        """No uncovered task could be added as the schedule stands (SPEC §10)."""
        return all(need.reason != ADDABLE for need in self.needs)

    def by_tier_reason(self) -> dict[int, dict[str, dict[str, int]]]:
        """Uncovered ``{tasks, weight}`` per tier and reason."""
        out: dict[int, dict[str, dict[str, int]]] = {}
        for need in self.needs:
            cell = out.setdefault(need.tier, {}).setdefault(need.reason, {"tasks": 0, "weight": 0})
            cell["tasks"] += 1
            cell["weight"] += need.weight
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "tasks": self.tasks,
            "covered": self.covered,
            "uncovered": len(self.needs),
            "maximal": self.maximal,
            "by_tier_reason": {
                str(tier): cells for tier, cells in self.by_tier_reason().items()
            },
            "needs": [need.to_dict() for need in self.needs],
            "counterfactuals": self.counterfactuals.to_dict(),
            "supply_gap": self.supply.to_dict(),
            "metrics": self.metrics,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    def render(self, limit: int = 20) -> str:
        """A readable report: tables, most urgent first, ``limit`` rows per list."""
        return _render(self, limit)


class InvalidScheduleError(AssignError):
    """The schedule breaks hard rules: explanations would not be true."""

    def __init__(self, violations: list[Any]):
        self.violations = list(violations)
        super().__init__(f"the schedule is invalid ({len(self.violations)} violation(s))")


def explain(
    problem: Problem,
    schedule: Schedule,
    *,
    time_limit: float | None = None,
    per_task: int | None = None,
    per_volunteer: int | None = PER_VOLUNTEER,
    tiers: tuple[int, ...] | None = None,
) -> Explanation:
    """Explain a schedule of ``problem``: reasons, counterfactuals, supply gap, metrics.

    The schedule is validated first (:func:`assign.check.check`);
    :class:`InvalidScheduleError` (with the violations) when it breaks a rule.
    ``time_limit`` (seconds) bounds the counterfactual search (the report says
    when it stopped early); ``per_task`` is the number of exact tries per task
    and kind, ``per_volunteer`` how many needs may name the same volunteer
    (None: no cap), ``tiers`` the tiers searched (default: the two most
    urgent present). See ``docs/explain.md``.

    Examples
    --------
    >>> import assign
    >>> problem = assign.load("tests/data/tiny.json")
    >>> report = explain(problem, assign.solve(problem))
    >>> [(need.task, need.reason) for need in report.needs]
    [('t3', 'team_too_small')]
    >>> report.supply.groups[0].describe()
    'recruit 2 care volunteer(s) living in c2, free 2026-12-01 09:00-12:00 (morning)'
    """
    from .check import check
    from .compile import compile_problem
    from .solution import solution_from_schedule

    clock = time.perf_counter()
    verdict = check(problem, schedule)
    if not verdict.valid:
        raise InvalidScheduleError(verdict.violations)
    c = compile_problem(problem)
    sol = solution_from_schedule(c, schedule)
    checked = time.perf_counter() - clock
    report = explain_solution(
        c, sol, time_limit=time_limit, per_task=per_task, per_volunteer=per_volunteer, tiers=tiers
    )
    report.seconds["check"] = checked
    return report


def explain_solution(
    c: Compiled,
    sol: Solution,
    *,
    time_limit: float | None = None,
    per_task: int | None = None,
    per_volunteer: int | None = PER_VOLUNTEER,
    tiers: tuple[int, ...] | None = None,
) -> Explanation:
    """:func:`explain` on a compiled problem and a *valid* solution."""
    from dataclasses import replace

    from .counterfactual import PER_TASK, counterfactuals, urgency_order
    from .metrics import compute_metrics
    from .solvers.greedy import fill
    from .supply import supply_gap

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    covered = sol.covered(c.n_tasks)
    uncovered = np.flatnonzero(~covered).astype(np.int64)
    # candidates of the uncovered tasks only: reasons and the maximality test
    # read no other task's rows (a covered task is never re-placed), so they are
    # complete for this use
    cands = replace(build_candidates(c, tasks=uncovered), partial=False)
    seconds["candidates"] = time.perf_counter() - clock

    clock = time.perf_counter()
    filled = fill(c, cands, sol)
    addable = filled.covered(c.n_tasks) & ~covered
    seconds["maximality"] = time.perf_counter() - clock

    clock = time.perf_counter()
    why = {t: (code, detail) for t, code, detail in reasons(c, sol, cands)}
    for t in np.flatnonzero(addable).tolist():
        rows = filled.task == t
        team = ", ".join(c.volunteer_ids[v] for v in filled.volunteer[rows].tolist())
        start = c.minute_to_datetime(int(filled.start[rows][0])).isoformat()
        why[t] = (ADDABLE, f"could be added as the schedule stands: {team} at {start}")
    community = c.t_community
    needs = tuple(
        UncoveredNeed(
            task=c.task_ids[t], tier=int(c.t_tier[t]), weight=int(c.t_weight[t]),
            community=c.community_ids[int(community[t])], service=c.problem.tasks[t].service,
            window_start=c.minute_to_datetime(int(c.t_window_start[t])).isoformat(),
            window_end=c.minute_to_datetime(int(c.t_window_end[t])).isoformat(),
            reason=why[t][0], detail=why[t][1],
        )
        for t in urgency_order(c, uncovered).tolist()
    )
    seconds["reasons"] = time.perf_counter() - clock

    cf = counterfactuals(
        c, sol, tiers=tiers, per_task=PER_TASK if per_task is None else per_task,
        per_volunteer=per_volunteer, time_limit=time_limit, skip=addable,
    )
    seconds["counterfactuals"] = cf.seconds
    supply = supply_gap(c, sol, skip=addable, cands=cands)
    seconds["supply_gap"] = supply.seconds

    clock = time.perf_counter()
    metrics = compute_metrics(c, sol)
    seconds["metrics"] = time.perf_counter() - clock
    return Explanation(
        problem=c.problem.name, tasks=c.n_tasks, covered=int(covered.sum()), needs=needs,
        counterfactuals=cf, supply=supply, metrics=metrics, seconds=seconds,
    )


# ------------------------------------------------------------------ rendering


def table(header: list[str], rows: list[list[Any]], right: set[int] | None = None) -> list[str]:
    """A plain-text table: columns padded, numbers right-aligned."""
    cells = [[str(x) for x in header]] + [[str(x) for x in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    if right is None:
        right = {i for i in range(len(header)) if rows and all(isinstance(row[i], int | float) for row in rows)}

    def line(row: list[str]) -> str:
        return "  ".join(
            (cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])) for i, cell in enumerate(row)
        ).rstrip()

    out = [line(cells[0]), line(["-" * w for w in widths])]
    out += [line(row) for row in cells[1:]]
    return out


def _more(shown: int, total: int) -> list[str]:
    return [f"... and {total - shown} more (--json lists all)"] if total > shown else []


def _clock(iso: str) -> str:
    return iso[5:16].replace("T", " ")


def _render(report: Explanation, limit: int) -> str:
    lines: list[str] = []
    n_unc = len(report.needs)
    weight = sum(need.weight for need in report.needs)
    lines.append(
        f"problem {report.problem}: {report.tasks} tasks, {report.covered} covered, "
        f"{n_unc} uncovered (weight {weight})"
    )
    if report.maximal:
        lines.append("the schedule is valid and maximal: no uncovered need could be added as it stands")
    else:
        n_add = sum(need.reason == ADDABLE for need in report.needs)
        lines.append(
            f"the schedule is valid but NOT maximal: {n_add} uncovered need(s) could be added as it "
            f"stands (reason '{ADDABLE}'); `assign solve` extends every schedule"
        )

    # uncovered by tier x reason
    codes = [code for code in (*REASON_CODES, ADDABLE) if any(n.reason == code for n in report.needs)]
    grid = report.by_tier_reason()
    if grid:
        lines += ["", "UNCOVERED NEEDS BY TIER AND REASON (tasks / weight)"]
        rows = []
        for tier, cells in grid.items():
            row: list[Any] = [tier]
            for code in codes:
                cell = cells.get(code)
                row.append(f"{cell['tasks']} / {cell['weight']}" if cell else "-")
            row.append(f"{sum(x['tasks'] for x in cells.values())} / {sum(x['weight'] for x in cells.values())}")
            rows.append(row)
        lines += table(["tier", *codes, "total"], rows, right=set(range(len(codes) + 2)))

        lines += ["", f"UNCOVERED NEEDS, MOST URGENT FIRST ({min(limit, n_unc)} of {n_unc})"]
        rows = [
            [n.task, n.tier, n.weight, n.community, n.service, f"{_clock(n.window_start)}-{n.window_end[11:16]}",
             n.reason, n.detail]
            for n in report.needs[:limit]
        ]
        lines += table(["task", "tier", "weight", "community", "service", "window", "reason", "detail"], rows)
        lines += _more(len(rows), n_unc)
    else:
        lines += ["", "every need is covered"]

    # counterfactuals
    cf = report.counterfactuals
    lines += ["", f"COUNTERFACTUALS FOR TIERS {', '.join(map(str, cf.tiers)) or '-'}: the smallest single "
              "change of one volunteer that covers the need (confirmed by the validator)"]
    kinds = ", ".join(f"{kind} {count}" for kind, count in cf.by_kind.items())
    lines.append(
        f"{len(cf.items)} of {cf.targets} uncovered needs have a confirmed change"
        + (f" (best change by kind: {kinds})" if cf.items else "")
        + ("" if cf.complete else f"; the time limit stopped the search after {cf.examined} needs")
    )
    if cf.rejected:
        lines.append(f"{cf.rejected} change(s) found by the search were refused by the validator and not reported")
    if cf.items:
        rows = []
        for item in cf.items[:limit]:
            best = item.best
            others = "; ".join(fix.change.describe() for fix in item.options[1:])
            rows.append([
                item.task, item.tier, item.weight, best.change.describe() + ("" if best.minimal else " (*)"),
                _clock(best.start), ", ".join(best.team), others or "-",
            ])
        lines += table(["task", "tier", "weight", "best change", "visit", "team", "other kinds"], rows)
        lines += _more(len(rows), len(cf.items))
        if any(not item.best.minimal for item in cf.items[:limit]):
            lines.append("(*) smallest found, not proven smallest of its kind (see docs/explain.md)")

    # supply gap
    sg = report.supply
    lines += ["", "RECRUITMENT LIST (SUPPLY GAP): volunteers to recruit per community, skills and day part"]
    if sg.groups:
        lines.append(
            f"{sg.recruits} recruit(s) over {len(sg.groups)} groups would cover {sg.covered_tasks} of "
            f"{sg.uncovered_tasks} uncovered needs (weight {sg.covered_weight} of {sg.uncovered_weight}); "
            + ("confirmed by the validator" if sg.confirmed else "NOT confirmed by the validator")
        )
        rows = [
            [g.community + (f" near {g.near}" if g.near else ""), "+".join(g.skills) or "any", g.day, g.part,
             f"{g.free_from[11:16]}-{g.free_to[11:16]}", g.tier, g.tasks, g.weight,
             g.recruits if g.recruits is not None else f">{g.tried}? covers {g.covered_tasks}"]
            for g in sg.groups[:limit]
        ]
        lines += table(["community", "skills", "day", "part", "free", "tier", "needs", "weight", "recruits"], rows,
                       right={5, 6, 7, 8})
        lines += _more(len(rows), len(sg.groups))
        per = sorted(sg.by_community().items(), key=lambda kv: -kv[1]["weight"])
        lines += ["", "by community"]
        lines += table(["community", "recruits", "needs", "weight"],
                       [[k, v["recruits"], v["tasks"], v["weight"]] for k, v in per[:limit]])
        lines += _more(min(limit, len(per)), len(per))
    else:
        lines.append("nothing to recruit for: every need is covered")

    lines += ["", *_render_metrics(report.metrics, limit)]
    return "\n".join(lines)


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _render_metrics(metrics: dict[str, Any], limit: int) -> list[str]:
    lines = ["METRICS"]
    coverage = metrics.get("coverage", {})

    def cells(title: str, items: list[tuple[str, dict[str, int]]]) -> list[str]:
        rows = [[name, c["covered"], c["tasks"], _pct(c["covered"], c["tasks"]),
                 _pct(c["covered_weight"], c["weight"])] for name, c in items if c["tasks"]]
        return ["", title, *table(["", "covered", "tasks", "share", "weight share"], rows, right={1, 2, 3, 4})]

    lines += cells("coverage per tier", [(f"tier {k}", v) for k, v in coverage.get("by_tier", {}).items()])
    groups = list(coverage.get("by_group", {}).items())
    if "no_group" in coverage:
        groups.append(("(no group)", coverage["no_group"]))
    lines += cells("coverage per priority group", groups)
    util = metrics.get("utilisation", {})
    if util.get("volunteers"):
        lines += ["", (f"utilisation of {util['volunteers']} volunteers with pledged minutes: mean "
                       f"{util['mean']:.1%}, max {util['max']:.1%}, Gini {util['gini']:.3f}, Jain {util['jain']:.3f}")]
    orgs = sorted(metrics.get("participation_by_org", {}).items(), key=lambda kv: (kv[1]["share"], kv[0]))
    if orgs:
        lines += ["", f"participation per organisation (share of its volunteers with work; lowest first, "
                      f"{min(limit, len(orgs))} of {len(orgs)})"]
        lines += table(["organisation", "volunteers", "with work", "share"],
                       [[k or "(none)", v["volunteers"], v["with_work"], _pct(v["with_work"], v["volunteers"])]
                        for k, v in orgs[:limit]], right={1, 2, 3})
    idle = sorted(metrics.get("idle_by_community", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    lines += ["", f"idle volunteers (pledged minutes, no assignment): {metrics.get('idle_volunteers', 0)}"]
    if idle:
        lines += table(["community", "idle"], [[k, v] for k, v in idle[:limit]])
        lines += _more(min(limit, len(idle)), len(idle))
    return lines
