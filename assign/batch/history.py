"""What the ledger feeds back into a night's problem (SPEC §3 history fields).

Definitions (``docs/batch.md`` says the same for users):

* The **final plan** of a past task is its plan in the latest published run
  that planned it (as an assignment or as an uncovered need).
* A task is **served** by its final assignments when none of them was declined
  (no answer counts as served: many dispatchers record only declines); it is
  **missed** when its final plan left it uncovered or one of its volunteers
  declined.
* Over the look-back window ``[date - window_days, date)``:
  ``history_minutes`` = the load (rule 10) of the volunteer's served
  assignments; ``history_capacity`` = their pledge over the days of the window
  the ledger covers (explicit ``max_minutes`` spread over the pledge period,
  else their free minutes in the input on those days); ``missed_visits`` = the
  recipient's missed tasks; the recipient's ``preferred_volunteers`` gain the
  volunteers who served them (most visits first).
* ``previous_volunteers`` = the last published plan: the current run of the
  same date when one exists with another run key, else the latest earlier one.
* ``pinned`` = accepted assignments of the horizon's tasks; an accepted visit
  keeps the time its volunteers accepted (the task's window narrows to the
  published slot when all its accepted volunteers had the same one).
* A declined (task, volunteer) is not proposed again: for the night, the
  volunteer joins the recipient's ``excluded_volunteers`` and leaves the task's
  pins and previous list. When they accepted another visit of the same
  recipient in the horizon (an exclusion would break that pin), only the
  declined time is blocked instead: their availability loses the declined
  visit's slot (the task's whole window when the job never proposed the pair).

With ``[history] enabled = false`` only pins, declines and the previous plan
are applied; the input's own history fields are kept as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..model import Problem
from .inputs import availability_minutes, pledge_scale
from .ledger import ACCEPTED, DECLINED, Ledger


@dataclass
class LookBack:
    """What happened over a window of past days, by the ledger's final plans."""

    served_minutes: dict[str, int] = field(default_factory=dict)
    served_by: dict[str, Counter[str]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    tasks: int = 0
    served_tasks: int = 0
    missed_tasks: int = 0
    missed_by_tier: dict[int, int] = field(default_factory=dict)
    days_covered: int = 0


@dataclass
class LedgerFacts:
    """Everything the ledger contributes to one night's problem."""

    history_minutes: dict[str, int]
    history_capacity: dict[str, int]
    missed: dict[str, int]
    served_by: dict[str, list[str]]
    pinned: dict[str, list[str]]
    declined: dict[str, list[str]]
    previous: dict[str, list[str]]
    enabled: bool
    declined_slots: dict[str, list[str]] = field(default_factory=dict)  # "task|volunteer" -> [start, end]
    pinned_slots: dict[str, list[str]] = field(default_factory=dict)  # "task|volunteer" -> [start, end]

    def digest(self) -> str:
        """SHA-256 of the facts, canonical JSON (part of the run key)."""
        data = {
            "enabled": self.enabled,
            "history_minutes": self.history_minutes,
            "history_capacity": self.history_capacity,
            "missed": self.missed,
            "served_by": self.served_by,
            "pinned": self.pinned,
            "declined": self.declined,
            "previous": self.previous,
            "declined_slots": self.declined_slots,
            "pinned_slots": self.pinned_slots,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def look_back(ledger: Ledger, start: datetime, end: datetime, horizon_days: int) -> LookBack:
    """The final plans of tasks whose window starts in ``[start, end)``.

    Runs dated up to ``horizon_days`` before ``start`` can hold such tasks.
    """
    first = _day(start - timedelta(days=horizon_days + 1))
    last = _day(end - timedelta(seconds=1))
    runs = ledger.current_runs(first, last)
    date_of = {run_id: date for run_id, date, _ in runs}
    ids = list(date_of)
    window = (_ts(start), _ts(end))
    best: dict[str, str] = {}  # task -> date of its final plan
    assigned: dict[str, list[Any]] = defaultdict(list)
    uncovered: dict[str, Any] = {}
    for row in ledger.plan_rows(ids, window):
        assigned[row.task].append(row)
        d = date_of[row.run_id]
        if d > best.get(row.task, ""):
            best[row.task] = d
    for row in ledger.uncovered_rows(ids, window):
        d = date_of[row.run_id]
        if d > best.get(row.task, ""):
            best[row.task] = d
        if d == best[row.task]:
            uncovered[row.task] = row
    out = LookBack()
    served = Counter[str]()
    served_by: dict[str, Counter[str]] = defaultdict(Counter)
    missed = Counter[str]()
    missed_tier = Counter[int]()
    for task, date in best.items():
        out.tasks += 1
        final = [row for row in assigned.get(task, []) if date_of[row.run_id] == date]
        if not final:
            row = uncovered[task]
            missed[row.recipient] += 1
            missed_tier[int(row.tier)] += 1
            out.missed_tasks += 1
            continue
        if any(row.status == DECLINED for row in final):
            missed[final[0].recipient] += 1
            out.missed_tasks += 1
            continue
        out.served_tasks += 1
        for row in final:
            served[row.volunteer] += int(row.minutes)
            served_by[row.recipient][row.volunteer] += 1
    out.served_minutes = dict(served)
    out.served_by = dict(served_by)
    out.missed = dict(missed)
    out.missed_by_tier = dict(missed_tier)
    first_run = ledger.first_date()
    if first_run is not None:
        lo = max(start.date(), datetime.fromisoformat(first_run).date())
        out.days_covered = max(0, (end.date() - lo).days)
    return out


def pledged_minutes(problem: Problem, start: datetime, end: datetime, pledge_days: float | None) -> dict[str, int]:
    """Minutes each volunteer pledged over ``[start, end)``: explicit pledges
    spread over the pledge period, else free minutes in the input."""
    days = (end - start).total_seconds() / 86400.0
    scale = pledge_scale(problem, days, pledge_days)
    out = {}
    for vol in problem.volunteers:
        if vol.max_minutes is not None:
            out[vol.id] = int(round(vol.max_minutes * scale))
        else:
            out[vol.id] = availability_minutes(vol, start, end)
    return out


def gather(
    ledger: Ledger,
    problem: Problem,
    start: datetime,
    end: datetime,
    *,
    horizon_days: int,
    window_days: int,
    pledge_days: float | None,
    enabled: bool,
    horizon_tasks: Iterable[str],
) -> LedgerFacts:
    """The ledger facts of the night whose horizon is ``[start, end)``."""
    volunteers = {v.id for v in problem.volunteers}
    tasks = set(horizon_tasks)
    hist_minutes: dict[str, int] = {}
    hist_capacity: dict[str, int] = {}
    missed: dict[str, int] = {}
    served_by: dict[str, list[str]] = {}
    if enabled:
        lo = start - timedelta(days=window_days)
        past = look_back(ledger, lo, start, horizon_days)
        hist_minutes = {v: m for v, m in sorted(past.served_minutes.items()) if v in volunteers}
        if past.days_covered:
            covered_from = start - timedelta(days=past.days_covered)
            hist_capacity = {
                v: m for v, m in pledged_minutes(problem, covered_from, start, pledge_days).items() if m
            }
        missed = dict(sorted(past.missed.items()))
        served_by = {
            r: [v for v, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) if v in volunteers]
            for r, c in sorted(past.served_by.items())
        }
    pinned: dict[str, list[str]] = defaultdict(list)
    declined: dict[str, list[str]] = defaultdict(list)
    for task, vol, status in ledger.acceptances_for(tasks):
        if task not in tasks or vol not in volunteers:
            continue
        if status == ACCEPTED:
            pinned[task].append(vol)
        elif status == DECLINED:
            declined[task].append(vol)
    previous = previous_plan(ledger, start, end, tasks, volunteers, before=_day(start))
    pairs = [(t, v) for t, vs in declined.items() for v in vs]
    pins = [(t, v) for t, vs in pinned.items() for v in vs]
    slots = ledger.slots_of(pairs + pins) if pairs or pins else {}
    return LedgerFacts(
        declined_slots={f"{t}|{v}": list(slots[t, v]) for t, v in sorted(pairs) if (t, v) in slots},
        pinned_slots={f"{t}|{v}": list(slots[t, v]) for t, v in sorted(pins) if (t, v) in slots},
        history_minutes=hist_minutes,
        history_capacity=hist_capacity,
        missed=missed,
        served_by=served_by,
        pinned=dict(pinned),
        declined=dict(declined),
        previous=previous,
        enabled=enabled,
    )


def previous_plan(
    ledger: Ledger,
    start: datetime,
    end: datetime,
    tasks: set[str],
    volunteers: set[str],
    *,
    before: str | None = None,
    run_id: int | None = None,
) -> dict[str, list[str]]:
    """task -> volunteers of a published plan: run ``run_id``, or else the latest
    current run dated before ``before``."""
    if run_id is None:
        runs = ledger.current_runs("0000-00-00", _day(start - timedelta(days=1)) if before else "9999")
        if not runs:
            return {}
        run_id = runs[-1][0]
    plan: dict[str, list[str]] = defaultdict(list)
    for row in ledger.plan_rows([run_id], (_ts(start), _ts(end))):
        if row.task in tasks and row.volunteer in volunteers:
            plan[row.task].append(row.volunteer)
    return {t: sorted(vs) for t, vs in sorted(plan.items())}


def _window_minus_pins(task: Mapping[str, Any], vol: str, facts: LedgerFacts) -> list[tuple[datetime, datetime]]:
    """The declined task's window without the volunteer's published pinned slots."""
    lo, hi = _parse(task["window_start"]), _parse(task["window_end"])
    holes = sorted(
        (_parse(a), _parse(b)) for key, (a, b) in facts.pinned_slots.items() if key.split("|", 1)[1] == vol
    )
    pieces, cursor = [], lo
    for a, b in holes:
        if b <= cursor or a >= hi:
            continue
        if a > cursor:
            pieces.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        pieces.append((cursor, hi))
    return pieces


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _minus(intervals: list[list[str]], cut: tuple[datetime, datetime]) -> list[list[str]]:
    out = []
    for a_text, b_text in intervals:
        a, b = _parse(a_text), _parse(b_text)
        lo, hi = cut
        if hi <= a or lo >= b:
            out.append([a_text, b_text])
            continue
        if a < lo:
            out.append([a_text, _iso_like(lo, a_text)])
        if hi < b:
            out.append([_iso_like(hi, b_text), b_text])
    return out


def _iso_like(moment: datetime, like: str) -> str:
    """``moment`` written with the offset of the text ``like``."""
    ref = datetime.fromisoformat(like.replace("Z", "+00:00"))
    text = moment.astimezone(ref.tzinfo).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def apply(raw: dict[str, Any], facts: LedgerFacts, previous: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """Fill the history fields of a JSON-shaped night problem (in place; returned)."""
    prev = facts.previous if previous is None else previous
    declined = {(t, v) for t, vs in facts.declined.items() for v in vs}
    if facts.enabled:
        for vol in raw["volunteers"]:
            vol["history_minutes"] = facts.history_minutes.get(vol["id"], 0)
            vol["history_capacity"] = facts.history_capacity.get(vol["id"], 0)
        for rec in raw["recipients"]:
            rec["missed_visits"] = facts.missed.get(rec["id"], 0)
            barred = set(rec.get("excluded_volunteers", []))
            extra = [v for v in facts.served_by.get(rec["id"], []) if v not in barred]
            rec["preferred_volunteers"] = list(dict.fromkeys([*rec.get("preferred_volunteers", []), *extra]))
    cuts: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    pinned_pairs: set[tuple[str, str]] = set()
    for task in raw["tasks"]:
        tid = task["id"]
        accepted = [v for v in facts.pinned.get(tid, []) if (tid, v) not in declined]
        slots = {tuple(facts.pinned_slots.get(f"{tid}|{v}", ())) for v in accepted}
        if accepted and len(slots) == 1 and len(next(iter(slots))) == 2:
            # an accepted visit keeps the time its volunteers accepted
            task["window_start"], task["window_end"] = next(iter(slots))
        pins = [*task.get("pinned", []), *facts.pinned.get(tid, [])]
        task["pinned"] = [v for v in dict.fromkeys(pins) if (tid, v) not in declined]
        pinned_pairs.update((task["recipient"], v) for v in task["pinned"])
        before = [*task.get("previous_volunteers", []), *prev.get(tid, [])]
        task["previous_volunteers"] = [v for v in dict.fromkeys(before) if (tid, v) not in declined]
    excluded: dict[str, list[str]] = defaultdict(list)
    for task in raw["tasks"]:
        tid, rid = task["id"], task["recipient"]
        for vol in facts.declined.get(tid, []):
            if (rid, vol) not in pinned_pairs:
                excluded[rid].append(vol)
            else:
                # they accepted another visit of this recipient, which an exclusion would
                # break: block the declined task's window instead, except the published
                # slots of their pins (which the pins then fill)
                cuts[vol] += _window_minus_pins(task, vol, facts)
    if excluded:
        for rec in raw["recipients"]:
            if rec["id"] in excluded:
                rec["excluded_volunteers"] = list(dict.fromkeys([*rec.get("excluded_volunteers", []),
                                                                  *excluded[rec["id"]]]))
    if cuts:
        for vol in raw["volunteers"]:
            for cut in cuts.get(vol["id"], []):
                vol["availability"] = _minus(vol.get("availability", []), cut)
    return raw
