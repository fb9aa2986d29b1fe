"""One iCalendar file (RFC 5545) per volunteer with their visits of the night's plan.

Deterministic: every event's ``UID`` is derived from the task and volunteer,
``DTSTAMP`` is the run date's local midnight (no wall clock), times are in UTC
(no ``VTIMEZONE`` needed; calendar programs show them in local time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..model import Problem, Schedule

PRODID = "-//assign//nightly batch//EN"


def volunteer_calendars(
    problem: Problem, schedule: Schedule, stamp: datetime, labels: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """``{volunteer id: .ics bytes}`` for every volunteer with an assignment."""
    from icalendar import Calendar, Event, vGeo

    tasks = {t.id: t for t in problem.tasks}
    recipients = {r.id: r for r in problem.recipients}
    communities = {c.id: c for c in problem.communities}
    team: dict[str, list[str]] = {}
    for a in schedule.assignments:
        team.setdefault(a.task, []).append(a.volunteer)
    by_volunteer: dict[str, list[Any]] = {}
    for a in schedule.assignments:
        by_volunteer.setdefault(a.volunteer, []).append(a)
    utc_stamp = stamp.astimezone(UTC)
    out: dict[str, bytes] = {}
    for vid in sorted(by_volunteer):
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", f"assign: visits of {vid}")
        for a in sorted(by_volunteer[vid], key=lambda x: (x.start, x.task)):
            task = tasks.get(a.task)
            if task is None:
                continue
            rec = recipients.get(task.recipient)
            end = a.end or a.start
            event = Event()
            event.add("uid", f"{a.task}/{vid}@assign")
            event.add("dtstamp", utc_stamp)
            event.add("dtstart", a.start.astimezone(UTC))
            event.add("dtend", end.astimezone(UTC))
            label = (labels or {}).get(task.service, task.service)
            event.add("summary", f"{label} - recipient {task.recipient}")
            others = [v for v in team.get(a.task, []) if v != vid]
            lines = [
                f"Task {task.id}: {task.service}, {task.duration_min} min",
                f"Window {task.window_start.isoformat()} - {task.window_end.isoformat()}",
                f"Recipient {task.recipient}",
            ]
            if rec is not None:
                comm = communities.get(rec.community)
                lines.append(f"Community {comm.name if comm else rec.community}")
                event.add("location", f"{rec.lat:.6f},{rec.lon:.6f}")
                event.add("geo", vGeo((rec.lat, rec.lon)))
            if others:
                lines.append("Team: " + ", ".join(others))
            if a.travel_km is not None:
                lines.append(f"Distance from home {a.travel_km:.2f} km")
            event.add("description", "\n".join(lines))
            event.add("status", "CONFIRMED" if vid in task.pinned else "TENTATIVE")
            event.add("transp", "OPAQUE")
            cal.add_component(event)
        out[vid] = cal.to_ical()
    return out


def parse_events(data: bytes) -> Sequence[Any]:
    """The VEVENTs of an .ics file (for tests and tools)."""
    from icalendar import Calendar

    return list(Calendar.from_ical(data).walk("VEVENT"))
