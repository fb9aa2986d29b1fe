"""Tests of strategy "cpsat" (assign/solvers/cpsat.py) against an independent brute force."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign.check import violations
from assign.compile import Compiled, compile_problem
from assign.model import Problem
from assign.score import evaluate
from assign.solvers.cpsat import solve_cpsat, solve_cpsat_detailed
from tests.bruteforce import brute_force
from tests.strategies import problems

TZ = timezone(timedelta(hours=8))
ORIGIN = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
SERVICES = ("medical", "disability_care", "meals", "companionship", "household", "errands")
SKILLS = ("medical", "care", "meals")
LIMIT = 10.0  # seconds per solve; tiny problems prove in milliseconds


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


@st.composite
def dense_problems(draw: st.DrawFn, pins: bool = False) -> Problem:
    """Tiny problems where most tasks can be covered and the rules bite: close
    homes, long availability, overlapping windows (some across midnight),
    teams, tight minutes and daily limits."""
    origin = draw(st.sampled_from([0, 0, 20 * 60]))  # a horizon may start at 20:00
    horizon = 2 * 1440
    vols = []
    n_vol = draw(st.sampled_from([1, 2, 3, 4, 4]))
    for i in range(n_vol):
        shape = draw(st.sampled_from(["all", "days", "days", "random"]))
        if shape == "all":
            spans = [(0, horizon)]
        elif shape == "days":
            # daytime blocks, touching blocks join (the block may end where the next starts)
            first = draw(st.sampled_from([6, 8, 9])) * 60
            last = draw(st.sampled_from([12, 18, 24])) * 60
            spans = [(d * 1440 + first, d * 1440 + last) for d in range(2)]
        else:
            spans = []
            for _ in range(draw(st.integers(1, 3))):
                s = draw(st.integers(0, horizon // 15 - 8)) * 15
                spans.append((s, min(horizon, s + draw(st.integers(4, 48)) * 15)))
        intervals = [[_iso(origin + s), _iso(origin + e)] for s, e in spans]
        vol: dict = {
            "id": f"v{i}",
            "community": f"c{draw(st.integers(0, 1))}",
            "lat": 33.04 + draw(st.integers(-12, 12)) * 0.001,
            "lon": 108.25 + draw(st.integers(-12, 12)) * 0.001,
            "skills": draw(st.lists(st.sampled_from(SKILLS), unique=True, min_size=2, max_size=3)),
            "availability": intervals,
            "history_minutes": draw(st.sampled_from([0, 0, 60, 400])),
            "history_capacity": draw(st.sampled_from([0, 300, 900])),
        }
        if draw(st.booleans()):
            vol["max_minutes"] = draw(st.sampled_from([0, 45, 60, 90, 120, 200]))
        if draw(st.integers(0, 2)) == 0:
            vol["max_tasks_per_day"] = draw(st.sampled_from([0, 1, 1, 2]))
        if draw(st.integers(0, 3)) == 0:
            vol["preferred_services"] = [draw(st.sampled_from(SERVICES))]
        vols.append(vol)
    ids = [v["id"] for v in vols]
    recs = []
    for i in range(draw(st.integers(1, 3))):
        recs.append(
            {
                "id": f"r{i}",
                "community": f"c{draw(st.integers(0, 1))}",
                "lat": 33.04 + draw(st.integers(-12, 12)) * 0.001,
                "lon": 108.25 + draw(st.integers(-12, 12)) * 0.001,
                "groups": draw(st.lists(st.sampled_from(["solitary", "low_income", "other"]), unique=True, max_size=2)),
                "preferred_volunteers": draw(st.lists(st.sampled_from(ids), unique=True, max_size=1)),
                "excluded_volunteers": draw(st.lists(st.sampled_from(ids), unique=True, max_size=1))
                if draw(st.integers(0, 3)) == 0
                else [],
                "missed_visits": draw(st.integers(0, 3)),
            }
        )
    tasks = []
    for i in range(draw(st.sampled_from([0, 2, 3, 4, 5, 5]))):
        duration = draw(st.sampled_from([15, 30, 45, 60, 90]))
        ws = draw(st.integers(0, (horizon - duration) // 15)) * 15
        if draw(st.integers(0, 3)):  # mostly in the daytime, some across midnight
            ws = min(horizon - duration, draw(st.integers(0, 1)) * 1440 + draw(st.integers(32, 95)) * 15)
        we = min(horizon, ws + duration + draw(st.sampled_from([0, 15, 30, 60, 120, 240])))
        task: dict = {
            "id": f"t{i}",
            "recipient": f"r{draw(st.integers(0, len(recs) - 1))}",
            "service": draw(st.sampled_from(SERVICES)),
            "window_start": _iso(origin + ws),
            "window_end": _iso(origin + we),
            "duration_min": duration,
            "volunteers_needed": draw(st.sampled_from([1, 1, 2])),
        }
        if draw(st.integers(0, 3)) == 0:
            task["tier"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 3)) == 0:
            task["previous_volunteers"] = draw(st.lists(st.sampled_from(ids), unique=True, max_size=2))
        if pins and draw(st.integers(0, 2)) == 0:
            task["pinned"] = draw(st.lists(st.sampled_from(ids), unique=True, min_size=1, max_size=2))
        tasks.append(task)
    weights = draw(
        st.sampled_from(
            [{}, {"fairness": 0.0}, {"equity": 0.0, "fairness": 2.5}, {"stability": 7.25, "cross": 0.5}, {"equity": 11.0}]
        )
    )
    raw = {
        "format": "assign/problem@1",
        "name": "dense",
        "horizon": {"start": _iso(origin), "end": _iso(origin + horizon)},
        "policy": {
            "speed_kmh": draw(st.sampled_from([3.0, 12.0, 30.0])),
            "cross_community": draw(st.sampled_from(["allow", "allow", "forbid"])),
            "count_travel_in_capacity": draw(st.booleans()),
            "weights": weights,
        },
        "communities": [{"id": "c0"}, {"id": "c1"}],
        "volunteers": vols,
        "recipients": recs,
        "tasks": tasks,
    }
    return Problem.model_validate(raw)
