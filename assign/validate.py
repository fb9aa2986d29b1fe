"""Turn raw input (parsed JSON or table rows) into a :class:`~assign.model.Problem`,
or reject it with one located message per problem found (SPEC §3, §10).

Field-level errors come from pydantic; cross-entity checks (duplicate ids,
dangling references, windows outside the horizon, services without a tier)
are made here. Both are reported through a :class:`SourceMap`, which knows in
which file and on which row each entity came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import InputIssue, ProblemError, pydantic_message
from .model import MAX_NAMES, PROBLEM_FORMAT, Problem

ENTITY_LISTS = ("communities", "volunteers", "recipients", "tasks")


@dataclass
class SourceMap:
    """Where each part of a problem came from.

    ``files`` maps a section (``"top"``, ``"communities"``, ``"availability"``...)
    to a file name; ``rows`` maps a section to the row of each entity, by index.
    For JSON input every section is the same file and rows are array indexes.
    """

    default_file: str
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    #: for availability rows of a bundle: volunteer index -> list of CSV rows
    availability_rows: dict[int, list[int]] = field(default_factory=dict)

    def file(self, section: str) -> str:
        return self.files.get(section, self.default_file)

    def row(self, section: str, index: int) -> int:
        rows = self.rows.get(section)
        if rows is None or index >= len(rows):
            return index
        return rows[index]


def _ident(raw: Mapping[str, Any], section: str, index: int) -> str | None:
    items = raw.get(section)
    if isinstance(items, list) and 0 <= index < len(items) and isinstance(items[index], dict):
        value = items[index].get("id")
        if isinstance(value, str):
            return value
    return None


def _entity_name(section: str) -> str:
    return {
        "communities": "community",
        "volunteers": "volunteer",
        "recipients": "recipient",
        "tasks": "task",
    }.get(section, section)


def _issues_from_pydantic(
    exc: ValidationError, raw: Mapping[str, Any], source: SourceMap
) -> list[InputIssue]:
    issues = []
    for err in exc.errors():
        loc = list(err["loc"])
        message = pydantic_message(err)
        if loc and loc[0] in ENTITY_LISTS and len(loc) >= 2 and isinstance(loc[1], int):
            section, index = str(loc[0]), int(loc[1])
            rest = [str(p) for p in loc[2:]]
            file = source.file(section)
            row = source.row(section, index)
            if section == "volunteers" and rest[:1] == ["availability"]:
                avail_rows = source.availability_rows.get(index)
                if avail_rows is not None:
                    file = source.file("availability")
                    interval = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 0
                    row = avail_rows[min(interval, len(avail_rows) - 1)] if avail_rows else row
                    part = rest[2] if len(rest) > 2 else None
                    rest = [{"0": "start", "1": "end"}.get(part or "", "start/end")]
                elif len(rest) > 1 and rest[1].isdigit():
                    # JSON: which interval, and its start or end (the audit of
                    # stop 47: "field 'availability'" named neither)
                    part = {"0": "start", "1": "end"}.get(rest[2], rest[2]) if len(rest) > 2 else None
                    rest = [f"availability[{rest[1]}]" + (f".{part}" if part else "")]
            fld = ".".join(p for p in rest if not p.isdigit()) or None
            issues.append(
                InputIssue(file, _entity_name(section), row, _ident(raw, section, index), fld, message)
            )
        elif loc[:2] == ["history", "assignments"] and len(loc) >= 3 and isinstance(loc[2], int):
            # a past assignment: its row and task, as the references' checks name it
            # (it was "history, field 'history.assignments.0.minutes'": the audit of stop 47)
            index = int(loc[2])
            items = raw.get("history", {}).get("assignments", []) if isinstance(raw.get("history"), dict) else []
            item = items[index] if isinstance(items, list) and index < len(items) else None
            task = item.get("task") if isinstance(item, dict) else None
            fld = ".".join(str(p) for p in loc[3:]) or None
            issues.append(
                InputIssue(source.file("history"), "history assignment", source.row("history", index),
                           task if isinstance(task, str) else None, fld, message)
            )
        else:
            section = str(loc[0]) if loc else "top"
            fld = ".".join(str(p) for p in loc) or None
            issues.append(InputIssue(source.file("top"), section, None, None, fld, message))
    return issues


def _check_references(problem: Problem, source: SourceMap) -> list[InputIssue]:
    issues: list[InputIssue] = []

    def report(section: str, index: int, ident: str | None, fld: str, message: str) -> None:
        issues.append(
            InputIssue(
                source.file(section),
                _entity_name(section),
                source.row(section, index),
                ident,
                fld,
                message,
            )
        )

    known: dict[str, set[str]] = {}
    for section in ENTITY_LISTS:
        seen: set[str] = set()
        for index, item in enumerate(getattr(problem, section)):
            if item.id in seen:
                report(section, index, item.id, "id", f"duplicate {_entity_name(section)} id {item.id!r}")
            seen.add(item.id)
        known[section] = seen

    def refs(section: str, index: int, ident: str, fld: str, values: Sequence[str], target: str) -> None:
        for value in values:
            if value not in known[target]:
                report(section, index, ident, fld, f"unknown {_entity_name(target)} {value!r}")

    for i, vol in enumerate(problem.volunteers):
        refs("volunteers", i, vol.id, "community", [vol.community], "communities")
    for i, rec in enumerate(problem.recipients):
        refs("recipients", i, rec.id, "community", [rec.community], "communities")
        refs("recipients", i, rec.id, "preferred_volunteers", rec.preferred_volunteers, "volunteers")
        refs("recipients", i, rec.id, "excluded_volunteers", rec.excluded_volunteers, "volunteers")
    policy = problem.policy
    start, end = problem.horizon.start, problem.horizon.end
    recipients = known["recipients"]
    for i, task in enumerate(problem.tasks):
        if task.recipient not in recipients:
            refs("tasks", i, task.id, "recipient", [task.recipient], "recipients")
        if task.pinned:
            refs("tasks", i, task.id, "pinned", task.pinned, "volunteers")
        if task.previous_volunteers:
            refs("tasks", i, task.id, "previous_volunteers", task.previous_volunteers, "volunteers")
        if task.tier is None and task.service not in policy.service_tiers:
            report(
                "tasks", i, task.id, "service",
                f"unknown service {task.service!r} and no tier given "
                "(set the task's tier or policy.service_tiers)",
            )
        if task.window_start < start or task.window_end > end:
            report(
                "tasks", i, task.id, "window_start" if task.window_start < start else "window_end",
                f"window {task.window_start.isoformat()} .. {task.window_end.isoformat()} "
                f"lies outside the horizon {start.isoformat()} .. {end.isoformat()}",
            )
        for fld, values in (("pinned", task.pinned), ("previous_volunteers", task.previous_volunteers)):
            if len(set(values)) != len(values):
                report("tasks", i, task.id, fld, "a volunteer is listed twice")
    for i, past in enumerate(problem.history.assignments):
        for fld, value, target in (
            ("volunteer", past.volunteer, "volunteers"),
            ("recipient", past.recipient, "recipients"),
        ):
            if value not in known[target]:
                issues.append(
                    InputIssue(source.file("history"), "history assignment", source.row("history", i),
                               past.task, fld, f"unknown {_entity_name(target)} {value!r}")
                )
    return issues


def _check_name_limits(problem: Problem, source: SourceMap) -> list[InputIssue]:
    """The row and field where a 65th distinct skill or service name appears,
    in the order the compiler meets them (volunteers, then tasks)."""
    issues: list[InputIssue] = []
    skills = set().union(*(v.skills for v in problem.volunteers), *(problem.task_skills(t) for t in problem.tasks))
    services = set().union(*(v.preferred_services for v in problem.volunteers), (t.service for t in problem.tasks))
    if len(skills) <= MAX_NAMES and len(services) <= MAX_NAMES:
        return issues  # (the common case, without the scan that finds the row)
    for kind, rows in (
        ("skill", [
            *(("volunteers", i, v.id, "skills", v.skills) for i, v in enumerate(problem.volunteers)),
            *(("tasks", i, t.id, "required_skills" if t.required_skills else "service", problem.task_skills(t))
              for i, t in enumerate(problem.tasks)),
        ]),
        ("service", [
            *(("volunteers", i, v.id, "preferred_services", v.preferred_services)
              for i, v in enumerate(problem.volunteers)),
            *(("tasks", i, t.id, "service", (t.service,)) for i, t in enumerate(problem.tasks)),
        ]),
    ):
        seen: set[str] = set()
        for section, index, ident, fld, names in rows:
            seen.update(names)
            if len(seen) > MAX_NAMES:
                issues.append(
                    InputIssue(source.file(section), _entity_name(section), source.row(section, index), ident, fld,
                               f"a {MAX_NAMES + 1}th distinct {kind} name: a problem holds at most {MAX_NAMES}")
                )
                break
    return issues


def build_problem(raw: Any, source: SourceMap) -> Problem:
    """Validate ``raw`` (a dict shaped like the JSON format) into a Problem.

    Raises :class:`ProblemError` listing every problem found.
    """
    if not isinstance(raw, dict):
        raise ProblemError(
            [InputIssue(source.file("top"), "problem", None, None, None, "expected a JSON object at the top level")]
        )
    fmt = raw.get("format")
    if fmt != PROBLEM_FORMAT:
        raise ProblemError(
            [
                InputIssue(
                    source.file("top"), "problem", None, None, "format",
                    f"wrong format tag {fmt!r}, expected {PROBLEM_FORMAT!r}",
                )
            ]
        )
    try:
        problem = Problem.model_validate(raw)
    except ValidationError as exc:
        raise ProblemError(_issues_from_pydantic(exc, raw, source)) from None
    issues = _check_references(problem, source) or _check_name_limits(problem, source)
    if issues:
        raise ProblemError(issues)
    return problem


def validate_problem(problem: Problem, file: str = "<memory>") -> None:
    """Cross-reference checks for a Problem built in Python; raises ProblemError."""
    source = SourceMap(default_file=file)
    issues = _check_references(problem, source) or _check_name_limits(problem, source)
    if issues:
        raise ProblemError(issues)


Loader = Callable[[str], Problem]
