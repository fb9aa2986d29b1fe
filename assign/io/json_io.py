"""The JSON formats of SPEC §3 (problem) and §8 (schedule)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputIssue, ProblemError, ScheduleError, pydantic_message
from ..model import SCHEDULE_FORMAT, Problem, Schedule
from ..validate import SourceMap, build_problem
from .atomic import write_text_atomic


def read_json_file(
    path: str | os.PathLike[str], entity: str = "problem", nonfinite: bool = False
) -> Any:
    """Read a JSON file, turning unreadable bytes or syntax into a located ProblemError.

    With ``nonfinite``, the ``NaN``/``Infinity`` literals parse as floats so that
    the model can refuse them with the entity and field (SPEC §3 "NaN coordinate").
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProblemError([InputIssue(name, entity, None, None, None, f"cannot read file: {exc.strerror}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(
            [InputIssue(name, entity, None, None, None, f"invalid UTF-8 at byte {exc.start}")]
        ) from None
    try:
        return json.loads(text, parse_constant=float if nonfinite else _reject_constant)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            [InputIssue(name, entity, exc.lineno, None, None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None
    except ValueError as exc:
        raise ProblemError([InputIssue(name, entity, None, None, None, str(exc))]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def load_json(path: str | os.PathLike[str]) -> Problem:
    """Load and validate a problem JSON file."""
    raw = read_json_file(path, nonfinite=True)
    return build_problem(raw, SourceMap(default_file=str(path)))


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The JSON-ready dict of a problem; absent optional fields stay absent."""
    return problem.model_dump(mode="json", exclude_none=True)


def problem_to_json(problem: Problem) -> str:
    return json.dumps(problem_to_dict(problem), ensure_ascii=False, indent=1) + "\n"


def save_json(problem: Problem, path: str | os.PathLike[str]) -> None:
    """Write a problem as JSON, atomically."""
    write_text_atomic(path, problem_to_json(problem))


def schedule_to_json(schedule: Schedule) -> str:
    return json.dumps(schedule.model_dump(mode="json"), ensure_ascii=False, indent=1) + "\n"


def save_schedule(schedule: Schedule, path: str | os.PathLike[str]) -> None:
    """Write a schedule JSON file atomically."""
    write_text_atomic(path, schedule_to_json(schedule))


def iso_stamp(moment: datetime) -> str:
    """A datetime as schedule.json writes it (pydantic's form): ISO 8601, a
    zero offset as ``Z``. The CSV outputs use it, so that both files write one
    time alike (they wrote ``+00:00`` beside the JSON's ``Z``: the audit of
    stop 47)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Read a schedule JSON file."""
    from pydantic import ValidationError

    try:
        raw = read_json_file(path, entity="schedule")
    except ProblemError as exc:
        raise ScheduleError(str(exc)) from None
    if isinstance(raw, dict) and "format" not in raw:
        # (a problem file without its tag is refused; so is a schedule file: the
        # audit of stop 47 found one accepted)
        raise ScheduleError(f"{path}: schedule, field format: required field is missing (expected {SCHEDULE_FORMAT!r})")
    try:
        return Schedule.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: schedule, field {'.'.join(map(str, e['loc']))}: {pydantic_message(e)}" for e in exc.errors()]
        raise ScheduleError("\n".join(lines)) from None
