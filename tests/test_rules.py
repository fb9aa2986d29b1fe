"""Each vectorized rule of :mod:`assign.rules` in a penalised / unpenalised pair
built from one volunteer, one recipient and one task, plus brute-force
cross-checks of the interval searches on random problems."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assign import rules
from assign.compile import Compiled, compile_problem
from assign.model import Problem

from .strategies import problems
from .test_score import SETTINGS, Ref, base_problem, ref_joined, ref_travel_between

T0 = np.array([0])
V0 = np.array([0])


def compiled(raw: dict[str, Any]) -> Compiled:
    return compile_problem(Problem.model_validate(raw))


def one(array: Any) -> Any:
    return np.asarray(array).item()


# ------------------------------------------------------------------ static rules


def test_skills_ok_pair() -> None:
    need = base_problem(tasks__service="meals")  # default skills: [meals]
    assert not one(rules.skills_ok(compiled(need), T0, V0))
    need["volunteers"][0]["skills"] = ["meals", "driving"]
    assert one(rules.skills_ok(compiled(need), T0, V0))


def test_skills_ok_task_skills_override_the_service() -> None:
    raw = base_problem(tasks__service="meals", tasks__required_skills=["driving"], volunteers__skills=["driving"])
    assert one(rules.skills_ok(compiled(raw), T0, V0))
    raw["tasks"][0]["required_skills"] = ["driving", "care"]
    assert not one(rules.skills_ok(compiled(raw), T0, V0))


def test_radius_ok_pair_and_personal_radius() -> None:
    raw = base_problem()  # 0.111 km * 1.3
    assert one(rules.radius_ok(compiled(raw), T0, V0))
    raw["volunteers"][0]["max_travel_km"] = 0.1
    assert not one(rules.radius_ok(compiled(raw), T0, V0))
    raw["volunteers"][0]["max_travel_km"] = 50.0  # the policy's 5 km still applies
    raw["recipients"][0]["lat"] = 33.10
    assert not one(rules.radius_ok(compiled(raw), T0, V0))


def test_radius_ok_is_inclusive_with_tolerance() -> None:
    raw = base_problem()
    c = compiled(raw)
    km = float(rules.distance_km(c, T0, V0)[0])
    raw["volunteers"][0]["max_travel_km"] = km - 5e-10
    assert one(rules.radius_ok(compiled(raw), T0, V0))
    raw["volunteers"][0]["max_travel_km"] = km - 1e-6
    assert not one(rules.radius_ok(compiled(raw), T0, V0))


def test_community_ok_pair() -> None:
    raw = base_problem(volunteers__community="c2")
    assert one(rules.community_ok(compiled(raw), T0, V0))  # allow
    raw["policy"] = {"cross_community": "forbid"}
    assert not one(rules.community_ok(compiled(raw), T0, V0))
    raw["volunteers"][0]["community"] = "c1"
    assert one(rules.community_ok(compiled(raw), T0, V0))


def test_not_excluded_pair() -> None:
    raw = base_problem()
    assert one(rules.not_excluded(compiled(raw), T0, V0))
    raw["recipients"][0]["excluded_volunteers"] = ["v1"]
    assert not one(rules.not_excluded(compiled(raw), T0, V0))


def test_membership_tests() -> None:
    raw = base_problem(tasks__pinned=["v1"], tasks__previous_volunteers=["v1"])
    raw["recipients"][0]["preferred_volunteers"] = ["v1"]
    c = compiled(raw)
    assert one(rules.is_pinned(c, T0, V0)) and one(rules.is_previous(c, T0, V0)) and one(rules.is_preferred(c, T0, V0))
    c = compiled(base_problem())
    assert not (one(rules.is_pinned(c, T0, V0)) or one(rules.is_previous(c, T0, V0)) or one(rules.is_preferred(c, T0, V0)))


# ------------------------------------------------------------------ time rules


def test_window_ok_bounds() -> None:
    c = compiled(base_problem())  # window 540 .. 720, 60 min
    starts = np.array([539, 540, 660, 661])
    assert rules.window_ok(c, np.zeros(4, dtype=np.int64), starts).tolist() == [False, True, True, False]


def test_available_joins_touching_intervals() -> None:
    raw = base_problem()
    raw["volunteers"][0]["availability"] = [
        ["2026-11-30T08:00:00+08:00", "2026-11-30T09:00:00+08:00"],
        ["2026-11-30T09:00:00+08:00", "2026-11-30T10:00:00+08:00"],
        ["2026-11-30T10:30:00+08:00", "2026-11-30T12:00:00+08:00"],
    ]
    c = compiled(raw)
    v = np.zeros(5, dtype=np.int64)
    starts = np.array([480, 540, 541, 630, 660])
    ends = starts + 60
    # [480, 600) joined; [541, 601) crosses the end; [630, 690) inside the second
    assert rules.available(c, v, starts, ends).tolist() == [True, True, False, True, True]
    assert not one(rules.available(c, V0, np.array([599]), np.array([631])))


def test_available_without_intervals() -> None:
    raw = base_problem()
    raw["volunteers"][0]["availability"] = []
    c = compiled(raw)
    assert not one(rules.available(c, V0, np.array([540]), np.array([600])))
    assert c.v_max_minutes[0] == 0
    assert one(rules.earliest_free_start(c, T0, V0)) == -1


def test_earliest_free_start_pair() -> None:
    raw = base_problem()
    raw["volunteers"][0]["availability"] = [["2026-11-30T09:30:00+08:00", "2026-11-30T11:00:00+08:00"]]
    assert one(rules.earliest_free_start(compiled(raw), T0, V0)) == 570
    raw["volunteers"][0]["availability"] = [["2026-11-30T11:30:00+08:00", "2026-11-30T13:00:00+08:00"]]
    assert one(rules.earliest_free_start(compiled(raw), T0, V0)) == -1  # only 30 min inside the window
    assert not one(rules.free(compiled(raw), T0, V0))


@SETTINGS
@given(problems(), st.data())
def test_earliest_free_start_is_the_brute_force_one(problem: Problem, data: st.DataObject) -> None:
    c = compile_problem(problem)
    if c.n_tasks == 0:
        return
    pairs = [(t, v) for t in range(c.n_tasks) for v in range(c.n_volunteers)]
    t = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    got = rules.earliest_free_start(c, t, v)
    for i in range(len(t)):
        task = problem.tasks[t[i]]
        vol = int(v[i])
        joined = ref_joined(problem, problem.volunteers[vol])
        first = int(c.t_window_start[t[i]])
        last = int(c.t_window_end[t[i]]) - task.duration_min
        expected = next(
            (s for s in range(first, last + 1) if any(a <= s and s + task.duration_min <= b for a, b in joined)),
            -1,
        )
        assert got[i] == expected
        minute = data.draw(st.integers(first - 30, last + 30))
        inside = any(a <= minute and minute + task.duration_min <= b for a, b in joined)
        assert one(rules.available(c, v[i : i + 1], np.array([minute]), np.array([minute + task.duration_min]))) == inside


# ------------------------------------------------------------- travel and load


def test_travel_minutes_rounds_up_with_tolerance() -> None:
    c = compiled(base_problem())  # 12 km/h: one minute per 0.2 km
    km = np.array([0.0, 0.2, 0.2 + 1e-6, 0.2 * (1 + 1e-12), 0.39])
    assert rules.travel_minutes(c, km).tolist() == [0, 1, 2, 1, 2]


@pytest.mark.parametrize("count_travel", [False, True])
@pytest.mark.parametrize("speed", [1e-10, 1e-300])
def test_travel_beyond_32_bits_is_capped_not_wrapped(speed: float, count_travel: bool) -> None:
    """At a speed of 1e-10 km/h a 100-m trip takes ~10^11 minutes, more than
    32 bits hold; at 1e-300 it is infinite. Both are capped at
    ``TRAVEL_CAP`` (longer than any horizon), in the formula and in the table,
    so two visits at different homes never fit one volunteer's day. Before the
    cap the table's int32 wrapped around (the audit of stop 47 found schedules
    ``solve`` called valid and ``check`` refused), and infinity was cast to garbage.
    With travel counted in the pledge, a visit's load (twice the capped trip)
    exceeds every pledge and must not wrap around in the candidates' 32-bit
    loads either: then no visit fits."""
    from assign import solve as solve_problem
    from assign.check import check

    raw = base_problem()
    raw["policy"] = {"speed_kmh": speed, "count_travel_in_capacity": count_travel}
    raw["recipients"].append({"id": "r2", "community": "c1", "lat": 33.042, "lon": 108.250})
    raw["tasks"].append({**raw["tasks"][0], "id": "t2", "recipient": "r2"})
    c = compiled(raw)
    trip = rules.travel_between_recipients(c, np.array([0, 1]), np.array([1, 0]))
    assert trip.tolist() == [rules.TRAVEL_CAP, rules.TRAVEL_CAP]
    assert rules.RecipientTravel(c).table(np.array([0, 1])).tolist() == [[0, rules.TRAVEL_CAP], [rules.TRAVEL_CAP, 0]]
    problem = Problem.model_validate(raw)
    for strategy in ("greedy", "cpsat", "auto"):
        schedule = solve_problem(problem, strategy=strategy, time_limit=5, seed=0, workers=1)
        # one visit: the trip never fits (none when it counts in the pledge)
        assert len(schedule.assignments) == (0 if count_travel else 1), strategy
        assert check(problem, schedule).valid, strategy


def test_travel_between_recipients_same_home_is_zero() -> None:
    raw = base_problem()
    raw["recipients"].append({"id": "r2", "community": "c1", "lat": 33.041, "lon": 108.250})
    raw["recipients"].append({"id": "r3", "community": "c1", "lat": 33.061, "lon": 108.250})
    c = compiled(raw)
    ref = Ref(Problem.model_validate(raw))
    assert rules.travel_between_recipients(c, np.array([0, 0]), np.array([1, 2])).tolist() == [
        0,
        ref_travel_between(ref.p, ref.rec["r1"], ref.rec["r3"]),
    ]
    assert rules.travel_between_recipients(c, np.array([0]), np.array([2]))[0] == math.ceil(60 * 2.2239 * 1.3 / 12)


def _recipients_at(points: list[tuple[int, int]], step: tuple[float, float]) -> dict[str, Any]:
    """The base problem with one recipient per grid point (``step`` degrees
    of latitude and longitude a unit), its task at the first."""
    raw = base_problem()
    raw["recipients"] = [
        {"id": f"r{i}", "community": "c1", "lat": 33.0 + step[0] * a, "lon": 108.2 + step[1] * b}
        for i, (a, b) in enumerate(points)
    ]
    raw["tasks"][0]["recipient"] = "r0"
    return raw


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=30), st.data())
@SETTINGS
def test_shortest_travel_is_the_all_pairs_minimum(points: list[tuple[int, int]], data: st.DataObject) -> None:
    # recipients on a coarse grid (~100 m steps, repeated homes likely)
    c = compiled(_recipients_at(points, (0.001, 0.001)))
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, len(points) - 1), min_size=2))))
    ra, rb = np.meshgrid(chosen, chosen, indexing="ij")
    off = ra != rb
    expected = int(rules.travel_between_recipients(c, ra[off], rb[off]).min())
    assert rules.shortest_travel(c, chosen) == expected
    assert rules.shortest_travel(c, chosen[:1]) is None


@given(
    st.lists(st.tuples(st.integers(-3000, 3000), st.integers(-3000, 3000)), min_size=1, max_size=25),
    st.integers(1, 40),
)
@SETTINGS
def test_recipient_travel_table_is_the_formula_pair_for_pair(points: list[tuple[int, int]], chunk: int) -> None:
    """``RecipientTravel``'s table (built in row chunks of any size) gives
    every pair the minutes of :func:`travel_between_recipients`, as does the
    path without a table; a problem over ``TRAVEL_TABLE_CELLS`` gets none."""
    raw = _recipients_at(points, (0.0007, 0.0009))
    c = compiled(raw)
    n = len(points)
    ra, rb = (x.ravel() for x in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    expected = rules.travel_between_recipients(c, ra, rb).tolist()
    old_chunk = rules._TABLE_CHUNK_CELLS
    rules._TABLE_CHUNK_CELLS = chunk
    try:
        travel = rules.RecipientTravel(c)
    finally:
        rules._TABLE_CHUNK_CELLS = old_chunk
    assert travel.full is not None and travel.full.shape == (n, n)
    assert travel(ra, rb).tolist() == expected
    assert rules.RecipientTravel(c, table=False)(ra, rb).tolist() == expected
    assert rules.RecipientTravel(c).full is travel.full  # built once per compiled problem
    old_cells = rules.TRAVEL_TABLE_CELLS
    rules.TRAVEL_TABLE_CELLS = n * n - 1
    try:
        fresh = compiled(raw)
        untabled = rules.RecipientTravel(fresh)
    finally:
        rules.TRAVEL_TABLE_CELLS = old_cells
    assert untabled.full is None and untabled(ra, rb).tolist() == expected


def test_assignment_load_pair() -> None:
    raw = base_problem()
    assert one(rules.assignment_load(compiled(raw), T0, V0)) == 60
    raw["policy"] = {"count_travel_in_capacity": True}
    assert one(rules.assignment_load(compiled(raw), T0, V0)) == 60 + 2 * 1


def test_visits_apart_pair() -> None:
    raw = base_problem()
    raw["recipients"].append({"id": "r2", "community": "c1", "lat": 33.051, "lon": 108.250})
    raw["tasks"].append(dict(raw["tasks"][0], id="t2", recipient="r2"))
    raw["tasks"].append(dict(raw["tasks"][0], id="t3"))  # same home as t1
    c = compiled(raw)
    travel = int(rules.travel_between_recipients(c, np.array([0]), np.array([1]))[0])
    assert travel > 0
    a, b, same = np.array([0]), np.array([1]), np.array([2])
    assert one(rules.visits_apart(c, a, np.array([540]), b, np.array([600 + travel])))
    assert not one(rules.visits_apart(c, a, np.array([540]), b, np.array([599 + travel])))
    assert one(rules.visits_apart(c, a, np.array([540]), same, np.array([600])))  # same home: no travel
    assert not one(rules.visits_apart(c, a, np.array([540]), same, np.array([540])))  # same start


def test_day_of_uses_the_horizon_timezone() -> None:
    raw = base_problem()
    raw["horizon"] = {
        "start": "2026-11-30T12:00:00+08:00",
        "end": "2026-12-02T12:00:00+08:00",
        "timezone": "Asia/Shanghai",
    }
    raw["tasks"][0].update(window_start="2026-11-30T13:00:00+08:00", window_end="2026-11-30T15:00:00+08:00")
    c = compiled(raw)
    minutes = np.array([0, 719, 720, 720 + 1439, 720 + 1440])
    assert rules.day_of(c, minutes).tolist() == [0, 0, 1, 1, 2]
    raw["horizon"]["timezone"] = "UTC"  # local midnight = 08:00+08:00
    c = compiled(raw)
    assert rules.day_of(c, np.array([0, 1199, 1200])).tolist() == [0, 0, 1]


def test_eligible_combines_the_static_rules() -> None:
    raw = base_problem()
    assert one(rules.eligible(compiled(raw), T0, V0))
    for change in (
        {"tasks__service": "medical"},
        {"volunteers__max_travel_km": 0.05},
    ):
        assert not one(rules.eligible(compiled(base_problem(**change)), T0, V0))
