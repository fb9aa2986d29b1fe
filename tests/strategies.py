"""Hypothesis strategies for random valid problems (shared by the test modules)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from assign.model import Problem

TZ = timezone(timedelta(hours=8))
ORIGIN = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
SERVICES = ("medical", "disability_care", "meals", "companionship", "household", "errands")
SKILLS = ("medical", "care", "meals", "driving")
GROUPS = ("disabled_dementia", "solitary", "special_family", "low_income", "left_behind", "other")


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


@st.composite
def problems(
    draw: st.DrawFn,
    max_volunteers: int = 4,
    max_tasks: int = 6,
    days: int = 2,
    max_recipients: int = 3,
) -> Problem:
    """A small random valid problem: windows, teams, travel, pins, exclusions,
    preferences, history, both community policies and both capacity rules."""
    horizon_min = days * 1440
    n_comm = draw(st.integers(1, 2))
    communities = [{"id": f"c{i}", "name": f"Community {i}"} for i in range(n_comm)]

    def point() -> tuple[float, float]:
        # within ~6 km of the county seat so that radius and travel both matter
        return (
            round(33.04 + draw(st.integers(-25, 25)) * 0.001, 4),
            round(108.25 + draw(st.integers(-25, 25)) * 0.001, 4),
        )

    n_vol = draw(st.integers(1, max_volunteers))
    volunteers = []
    for i in range(n_vol):
        lat, lon = point()
        intervals = []
        for _ in range(draw(st.integers(0, 3))):
            s = draw(st.integers(0, horizon_min - 30)) // 15 * 15
            e = min(horizon_min, s + draw(st.integers(2, 16)) * 15)
            intervals.append([_iso(s), _iso(e)])
        vol: dict = {
            "id": f"v{i}",
            "community": f"c{draw(st.integers(0, n_comm - 1))}",
            "org": draw(st.sampled_from(["", "hospital", "school"])),
            "lat": lat,
            "lon": lon,
            "skills": draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=3)),
            "availability": intervals,
            "history_minutes": draw(st.integers(0, 300)),
            "history_capacity": draw(st.sampled_from([0, 300, 600])),
        }
        if draw(st.booleans()):
            vol["max_minutes"] = draw(st.integers(0, 240))
        if draw(st.integers(0, 3)) == 0:
            vol["max_tasks_per_day"] = draw(st.integers(0, 2))
        if draw(st.integers(0, 3)) == 0:
            vol["max_travel_km"] = draw(st.sampled_from([1.0, 2.5, 8.0]))
        if draw(st.integers(0, 3)) == 0:
            vol["preferred_services"] = draw(st.lists(st.sampled_from(SERVICES), unique=True, min_size=1, max_size=2))
        volunteers.append(vol)
    vol_ids = [v["id"] for v in volunteers]

    n_rec = draw(st.integers(1, max_recipients))
    recipients = []
    for i in range(n_rec):
        lat, lon = point()
        recipients.append(
            {
                "id": f"r{i}",
                "community": f"c{draw(st.integers(0, n_comm - 1))}",
                "lat": lat,
                "lon": lon,
                "groups": draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=2)),
                "preferred_volunteers": draw(st.lists(st.sampled_from(vol_ids), unique=True, max_size=2)),
                "excluded_volunteers": draw(st.lists(st.sampled_from(vol_ids), unique=True, max_size=1)),
                "missed_visits": draw(st.integers(0, 7)),
            }
        )

    n_task = draw(st.integers(0, max_tasks))
    tasks = []
    for i in range(n_task):
        duration = draw(st.sampled_from([15, 30, 45, 60]))
        ws = draw(st.integers(0, horizon_min - duration)) // 15 * 15
        slack = draw(st.sampled_from([0, 0, 15, 30, 60, 120]))
        we = min(horizon_min, ws + duration + slack)
        task: dict = {
            "id": f"t{i}",
            "recipient": f"r{draw(st.integers(0, n_rec - 1))}",
            "service": draw(st.sampled_from(SERVICES)),
            "window_start": _iso(ws),
            "window_end": _iso(we),
            "duration_min": duration,
            "volunteers_needed": draw(st.sampled_from([1, 1, 1, 2])),
        }
        if draw(st.integers(0, 4)) == 0:
            task["tier"] = draw(st.integers(1, 5))
        if draw(st.integers(0, 3)) == 0:
            task["required_skills"] = draw(st.lists(st.sampled_from(SKILLS), unique=True, min_size=1, max_size=2))
        if draw(st.integers(0, 4)) == 0:
            task["pinned"] = draw(st.lists(st.sampled_from(vol_ids), unique=True, min_size=1, max_size=2))
        if draw(st.integers(0, 3)) == 0:
            task["previous_volunteers"] = draw(st.lists(st.sampled_from(vol_ids), unique=True, max_size=2))
        tasks.append(task)

    policy: dict = {
        "max_travel_km": draw(st.sampled_from([2.0, 5.0])),
        "cross_community": draw(st.sampled_from(["allow", "forbid"])),
        "count_travel_in_capacity": draw(st.booleans()),
        "speed_kmh": draw(st.sampled_from([6.0, 12.0])),
    }
    raw = {
        "format": "assign/problem@1",
        "name": "random",
        "horizon": {"start": _iso(0), "end": _iso(horizon_min)},
        "policy": policy,
        "communities": communities,
        "volunteers": volunteers,
        "recipients": recipients,
        "tasks": tasks,
    }
    return Problem.model_validate(raw)
