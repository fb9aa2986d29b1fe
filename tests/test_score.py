"""The SPEC §6 score: unit tests per term, and a slow pure-Python reference
written straight from the SPEC text that :func:`assign.score.evaluate` must match.

The reference works on the pydantic :class:`~assign.model.Problem` (not on the
compiled arrays) so that it shares no code with the implementation; the
checker tests reuse its helpers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign.compile import compile_problem
from assign.model import SOFT_TERMS, Problem, Score
from assign.score import ScoreResult, equity_value, evaluate, fairness_terms, linear_pair_cost
from assign.solution import Solution

from .strategies import problems

DATA = Path(__file__).parent / "data"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ reference


def ref_minutes(problem: Problem, moment: Any) -> int:
    return int((moment - problem.horizon.start).total_seconds() // 60)


def ref_haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2) - math.radians(lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def ref_distance(problem: Problem, a: Any, b: Any) -> float:
    """Detour-adjusted distance between two objects with lat/lon (§2)."""
    return ref_haversine(a.lat, a.lon, b.lat, b.lon) * problem.policy.detour_factor


def ref_travel(problem: Problem, km: float) -> int:
    return max(0, math.ceil(60 * km / problem.policy.speed_kmh - 1e-9))


def ref_travel_between(problem: Problem, ra: Any, rb: Any) -> int:
    if (ra.lat, ra.lon) == (rb.lat, rb.lon):
        return 0
    return ref_travel(problem, ref_distance(problem, ra, rb))


def ref_joined(problem: Problem, vol: Any) -> list[tuple[int, int]]:
    """Availability in minutes, clipped to the horizon, touching intervals joined."""
    horizon = problem.horizon.minutes
    spans = sorted(
        (max(0, ref_minutes(problem, s)), min(horizon, math.ceil((e - problem.horizon.start).total_seconds() / 60)))
        for s, e in vol.availability
    )
    joined: list[list[int]] = []
    for s, e in spans:
        if e <= s:
            continue
        if joined and s <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], e)
        else:
            joined.append([s, e])
    return [(s, e) for s, e in joined]


def ref_max_minutes(problem: Problem, vol: Any) -> int:
    if vol.max_minutes is not None:
        return vol.max_minutes
    return sum(e - s for s, e in ref_joined(problem, vol))


class Ref:
    """Lookups by id for the reference implementations."""

    def __init__(self, problem: Problem):
        self.p = problem
        self.task = {t.id: t for t in problem.tasks}
        self.vol = {v.id: v for v in problem.volunteers}
        self.rec = {r.id: r for r in problem.recipients}

    def tier(self, task: Any) -> int:
        return task.tier if task.tier is not None else self.p.policy.service_tiers[task.service]

    def weight(self, task: Any) -> int:
        rec = self.rec[task.recipient]
        policy = self.p.policy
        return (
            10
            + sum(policy.group_weights.get(g, 0) for g in rec.groups)
            + policy.missed_weight * min(rec.missed_visits, 5)
        )

    def skills(self, task: Any) -> set[str]:
        if task.required_skills:
            return set(task.required_skills)
        return set(self.p.policy.service_skills.get(task.service, ()))

    def radius(self, vol: Any) -> float:
        policy = self.p.policy.max_travel_km
        return min(policy, vol.max_travel_km if vol.max_travel_km is not None else policy)

    def km(self, task: Any, vol: Any) -> float:
        return ref_distance(self.p, vol, self.rec[task.recipient])

    def load(self, task: Any, vol: Any) -> int:
        minutes = task.duration_min
        if self.p.policy.count_travel_in_capacity:
            minutes += 2 * ref_travel(self.p, self.km(task, vol))
        return minutes


def ref_score(problem: Problem, rows: list[tuple[str, str, int]]) -> tuple[list[int], float, dict[str, float]]:
    """SPEC §6 from its text. ``rows`` are (task id, volunteer id, start minute)."""
    ref = Ref(problem)
    weights = problem.policy.weights
    rows = [r for r in rows if r[0] in ref.task and r[1] in ref.vol]
    covered = {t for t, _, _ in rows}
    tiers = [ref.tier(t) for t in problem.tasks]
    big_t = max(tiers, default=0)
    uncovered = [0] * big_t
    for task in problem.tasks:
        if task.id not in covered:
            uncovered[ref.tier(task) - 1] += ref.weight(task)

    travel = 0.0
    load = {v.id: 0 for v in problem.volunteers}
    discontinuity = cross = mismatches = 0
    for tid, vid, _ in rows:
        task, vol = ref.task[tid], ref.vol[vid]
        rec = ref.rec[task.recipient]
        travel += ref.km(task, vol)
        load[vid] += ref.load(task, vol)
        if rec.preferred_volunteers and vid not in rec.preferred_volunteers:
            discontinuity += 1
        if vol.community != rec.community:
            cross += 1
        if vol.preferred_services and task.service not in vol.preferred_services:
            mismatches += 1

    fairness = 0.0
    for vol in problem.volunteers:
        capacity = vol.history_capacity + ref_max_minutes(problem, vol)
        if capacity > 0:
            fairness += ((vol.history_minutes + load[vol.id]) / capacity) ** 2

    equity = 0.0
    for tier in sorted(set(tiers)):
        worst = None
        for community in problem.communities:
            mine = [
                t for t in problem.tasks
                if ref.tier(t) == tier and ref.rec[t.recipient].community == community.id
            ]
            if not mine:
                continue
            total = sum(ref.weight(t) for t in mine)
            missing = sum(ref.weight(t) for t in mine if t.id not in covered)
            share = 100 * missing / total if total else 0.0
            worst = share if worst is None else max(worst, share)
        equity += worst or 0.0

    pairs = {(t, v) for t, v, _ in rows}
    changes = sum(1 for t in problem.tasks for v in set(t.previous_volunteers) if (t.id, v) not in pairs)

    terms = {
        "travel_km": travel,
        "fairness": fairness,
        "equity": equity,
        "discontinuity": float(discontinuity),
        "cross_community": float(cross),
        "mismatches": float(mismatches),
        "changes": float(changes),
    }
    soft = (
        travel
        + weights["fairness"] * fairness
        + weights["equity"] * equity
        + weights["continuity"] * discontinuity
        + weights["cross"] * cross
        + weights["preference"] * mismatches
        + weights["stability"] * changes
    )
    return uncovered, soft, terms


def rows_of(c: Any, sol: Solution) -> list[tuple[str, str, int]]:
    """A solution as (task id, volunteer id, start) with '?' for unknown ids."""
    out = []
    for t, v, s in zip(sol.task, sol.volunteer, sol.start, strict=True):
        tid = c.task_ids[t] if 0 <= t < c.n_tasks else "?"
        vid = c.volunteer_ids[v] if 0 <= v < c.n_volunteers else "?"
        out.append((tid, vid, int(s)))
    return out


@st.composite
def problem_and_rows(draw: st.DrawFn) -> tuple[Problem, Solution]:
    """A random problem and random (mostly invalid) assignments, some with unknown ids."""
    problem = draw(problems())
    n_t, n_v = len(problem.tasks), len(problem.volunteers)
    rows = draw(
        st.lists(
            st.tuples(st.integers(-1, max(n_t - 1, -1)), st.integers(-1, n_v - 1), st.integers(0, 2 * 1440 - 1)),
            max_size=10,
        )
    )
    return problem, Solution.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def assert_close(a: float, b: float) -> None:
    assert a == pytest.approx(b, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- properties


@SETTINGS
@given(problem_and_rows())
def test_evaluate_matches_reference(case: tuple[Problem, Solution]) -> None:
    problem, sol = case
    c = compile_problem(problem)
    result = evaluate(c, sol)
    uncovered, soft, terms = ref_score(problem, rows_of(c, sol))
    assert list(result.uncovered) == uncovered
    assert len(result.uncovered) == c.n_tiers
    assert set(result.terms) == set(SOFT_TERMS)
    for name in SOFT_TERMS:
        assert_close(result.terms[name], terms[name])
    assert_close(result.soft, soft)


@SETTINGS
@given(problem_and_rows())
def test_linear_pair_cost_decomposes_soft(case: tuple[Problem, Solution]) -> None:
    problem, sol = case
    c = compile_problem(problem)
    known = (sol.task >= 0) & (sol.volunteer >= 0)
    t, v = sol.task[known], sol.volunteer[known]
    if len(np.unique(t * max(c.n_volunteers, 1) + v)) != len(t):
        return  # `changes` counts a repeated pair once; the decomposition assumes none
    result = evaluate(c, sol)
    w = c.weights
    linear = float(linear_pair_cost(c, t, v).sum()) + w["stability"] * len(c.previous_keys)
    expected = linear + w["fairness"] * result.terms["fairness"] + w["equity"] * result.terms["equity"]
    assert_close(result.soft, expected)


@SETTINGS
@given(problems())
def test_empty_schedule_leaves_every_weight_uncovered(problem: Problem) -> None:
    c = compile_problem(problem)
    result = evaluate(c, Solution.empty())
    ref = Ref(problem)
    expected = [0] * c.n_tiers
    for task in problem.tasks:
        expected[ref.tier(task) - 1] += ref.weight(task)
    assert list(result.uncovered) == expected
    assert result.terms["travel_km"] == 0
    assert result.terms["changes"] == sum(len(set(t.previous_volunteers)) for t in problem.tasks)


@SETTINGS
@given(problem_and_rows(), st.data())
def test_covering_a_task_lowers_its_tier_only(case: tuple[Problem, Solution], data: st.DataObject) -> None:
    problem, sol = case
    c = compile_problem(problem)
    before = evaluate(c, sol)
    uncovered = np.nonzero(~sol.covered(c.n_tasks))[0] if c.n_tasks else np.zeros(0, np.int64)
    known = (sol.task >= 0) & (sol.volunteer >= 0)
    uncovered = np.setdiff1d(uncovered, sol.task[known])
    if len(uncovered) == 0 or c.n_volunteers == 0:
        return
    t = int(data.draw(st.sampled_from(list(uncovered))))
    v = data.draw(st.integers(0, c.n_volunteers - 1))
    more = Solution.build(
        np.append(sol.task, t), np.append(sol.volunteer, v), np.append(sol.start, c.t_window_start[t])
    )
    after = evaluate(c, more)
    tier = int(c.t_tier[t]) - 1
    assert after.uncovered[tier] == before.uncovered[tier] - c.t_weight[t]
    assert [x for i, x in enumerate(after.uncovered) if i != tier] == [
        x for i, x in enumerate(before.uncovered) if i != tier
    ]
    assert after.key() < before.key()


@SETTINGS
@given(problem_and_rows())
def test_terms_are_non_negative(case: tuple[Problem, Solution]) -> None:
    problem, sol = case
    result = evaluate(compile_problem(problem), sol)
    assert all(value >= 0 for value in result.terms.values())
    assert all(u >= 0 for u in result.uncovered)


# ------------------------------------------------------------- unit tests


def base_problem(**changes: Any) -> dict[str, Any]:
    """One community, one volunteer v1 and one recipient r1 100 m apart, one
    companionship task t1 (tier 4, no skills) of 60 min on day one."""
    raw: dict[str, Any] = {
        "format": "assign/problem@1",
        "name": "unit",
        "horizon": {"start": "2026-11-30T00:00:00+08:00", "end": "2026-12-01T00:00:00+08:00"},
        "communities": [{"id": "c1"}, {"id": "c2"}],
        "volunteers": [
            {
                "id": "v1", "community": "c1", "lat": 33.040, "lon": 108.250,
                "availability": [["2026-11-30T08:00:00+08:00", "2026-11-30T18:00:00+08:00"]],
            }
        ],
        "recipients": [{"id": "r1", "community": "c1", "lat": 33.041, "lon": 108.250}],
        "tasks": [
            {
                "id": "t1", "recipient": "r1", "service": "companionship", "duration_min": 60,
                "window_start": "2026-11-30T09:00:00+08:00", "window_end": "2026-11-30T12:00:00+08:00",
            }
        ],
    }
    for path, value in changes.items():
        target = raw
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key][0] if isinstance(target[key], list) else target[key]
        target[keys[-1]] = value
    return raw


def score_of(raw: dict[str, Any], rows: list[tuple[int, int, int]]) -> ScoreResult:
    c = compile_problem(Problem.model_validate(raw))
    return evaluate(c, Solution.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))


ASSIGNED = [(0, 0, 540)]


def test_tiny_empty_schedule_score() -> None:
    problem = Problem.model_validate(json.loads((DATA / "tiny.json").read_text()))
    result = evaluate(compile_problem(problem), Solution.empty())
    # t1 medical (tier 1) and t2 meals (tier 3) for r1: 10 + 4 solitary + 6 dementia = 20;
    # t3 (tier 2) and t4 (tier 4) for r2: 10 + 2 * 2 missed = 14
    assert result.uncovered == (20, 14, 20, 14)
    assert result.terms["equity"] == 400.0  # every tier 100 % uncovered somewhere
    assert result.terms["changes"] == 1.0  # t2's previous volunteer v2 is gone
    # v3: (300 + 0) / (600 + 600) squared; v1 (300 min) and v2 (120) have no history
    assert result.terms["fairness"] == pytest.approx(0.0625)
    assert result.soft == pytest.approx(10 * 0.0625 + 5 * 400 + 3 * 1)


def test_uncovered_has_one_entry_per_tier_up_to_the_largest() -> None:
    raw = base_problem(tasks__tier=3)
    assert score_of(raw, []).uncovered == (0, 0, 10)
    assert score_of(raw, ASSIGNED).uncovered == (0, 0, 0)


def test_no_tasks_no_tiers() -> None:
    raw = base_problem()
    raw["tasks"] = []
    result = score_of(raw, [])
    assert result.uncovered == ()
    assert result.key() == (result.soft,)


def test_weight_counts_groups_and_missed_visits() -> None:
    raw = base_problem()
    raw["recipients"][0].update(groups=["solitary", "low_income", "unknown_group"], missed_visits=9)
    assert score_of(raw, []).uncovered == (0, 0, 0, 10 + 4 + 3 + 2 * 5)


def test_travel_km_counts_each_team_member() -> None:
    raw = base_problem(tasks__volunteers_needed=2)
    raw["volunteers"].append(dict(raw["volunteers"][0], id="v2"))
    one = score_of(raw, [(0, 0, 540)]).terms["travel_km"]
    two = score_of(raw, [(0, 0, 540), (0, 1, 540)]).terms["travel_km"]
    assert one == pytest.approx(0.1112 * 1.3, rel=1e-3)
    assert two == pytest.approx(2 * one)


def test_discontinuity_pair() -> None:
    raw = base_problem()
    raw["volunteers"].append(dict(raw["volunteers"][0], id="v2"))
    raw["recipients"][0]["preferred_volunteers"] = ["v2"]
    assert score_of(raw, [(0, 0, 540)]).terms["discontinuity"] == 1
    assert score_of(raw, [(0, 1, 540)]).terms["discontinuity"] == 0
    raw["recipients"][0]["preferred_volunteers"] = []
    assert score_of(raw, [(0, 0, 540)]).terms["discontinuity"] == 0


def test_cross_community_pair() -> None:
    assert score_of(base_problem(volunteers__community="c2"), ASSIGNED).terms["cross_community"] == 1
    assert score_of(base_problem(), ASSIGNED).terms["cross_community"] == 0


def test_mismatch_pair() -> None:
    assert score_of(base_problem(volunteers__preferred_services=["meals"]), ASSIGNED).terms["mismatches"] == 1
    assert score_of(base_problem(volunteers__preferred_services=["companionship"]), ASSIGNED).terms["mismatches"] == 0
    assert score_of(base_problem(), ASSIGNED).terms["mismatches"] == 0


def test_changes_pair() -> None:
    raw = base_problem(tasks__previous_volunteers=["v1"])
    assert score_of(raw, []).terms["changes"] == 1
    assert score_of(raw, ASSIGNED).terms["changes"] == 0


def test_fairness_uses_history_and_default_max_minutes() -> None:
    # default max_minutes = 600 available minutes; 60 min of work, 120 of 600 in history
    raw = base_problem(volunteers__history_minutes=120, volunteers__history_capacity=600)
    assert score_of(raw, ASSIGNED).terms["fairness"] == pytest.approx(((120 + 60) / 1200) ** 2)
    raw = base_problem(volunteers__max_minutes=0)
    raw["volunteers"][0]["availability"] = []
    assert score_of(raw, []).terms["fairness"] == 0.0  # capacity 0: left out


def test_fairness_counts_travel_when_capacity_does() -> None:
    raw = base_problem(volunteers__max_minutes=100)
    raw["policy"] = {"count_travel_in_capacity": True, "speed_kmh": 6.0}
    # 0.145 km at 6 km/h -> 2 min each way
    assert score_of(raw, ASSIGNED).terms["fairness"] == pytest.approx((64 / 100) ** 2)


def test_equity_takes_the_worst_community_per_tier() -> None:
    raw = base_problem()
    raw["recipients"].append({"id": "r2", "community": "c2", "lat": 33.041, "lon": 108.251})
    raw["tasks"].append(dict(raw["tasks"][0], id="t2", recipient="r2"))
    raw["tasks"].append(dict(raw["tasks"][0], id="t3", recipient="r2"))
    assert score_of(raw, []).terms["equity"] == 100.0
    assert score_of(raw, [(1, 0, 540)]).terms["equity"] == 100.0  # c1 still 100 % uncovered
    assert score_of(raw, [(0, 0, 540), (1, 0, 700)]).terms["equity"] == 50.0
    assert score_of(raw, [(0, 0, 540), (1, 0, 700), (2, 0, 800)]).terms["equity"] == 0.0


def test_unknown_ids_are_ignored() -> None:
    assert score_of(base_problem(), [(-1, 0, 540), (0, -1, 540)]) == score_of(base_problem(), [])


def test_helpers_match_evaluate() -> None:
    raw = base_problem(volunteers__history_minutes=30, volunteers__history_capacity=300)
    c = compile_problem(Problem.model_validate(raw))
    sol = Solution.build([0], [0], [540])
    result = evaluate(c, sol)
    assert fairness_terms(c, np.array([60])) == pytest.approx(result.terms["fairness"])
    assert equity_value(c, np.array([True])) == result.terms["equity"] == 0.0
    assert equity_value(c, np.array([False])) == 100.0


def test_to_model_round_trip() -> None:
    result = score_of(base_problem(), ASSIGNED)
    model = result.to_model()
    assert isinstance(model, Score)
    assert model.key() == pytest.approx(result.key())
    assert model.terms.travel_km == pytest.approx(result.terms["travel_km"])
    assert Score.model_validate(model.model_dump(mode="json")) == model


def test_horizon_offset_does_not_change_the_score() -> None:
    """Same problem, horizon starting an hour earlier: minutes shift, score does not."""
    raw = base_problem()
    later = score_of(raw, ASSIGNED)
    raw["horizon"]["start"] = "2026-11-29T23:00:00+08:00"
    earlier = score_of(raw, [(0, 0, 600)])
    assert earlier.uncovered == later.uncovered
    assert earlier.soft == pytest.approx(later.soft)
