"""The exceptions of ``assign``: a hierarchy of its own, so that no dependency's
error stands for a domain answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class AssignError(Exception):
    """Base class of every error ``assign`` raises on purpose."""


@dataclass(frozen=True)
class InputIssue:
    """One thing wrong with an input: where it is and what is wrong.

    ``row`` is the 1-based line of a CSV file (header = line 1) or the 0-based
    index in a JSON array; ``ident`` is the entity's id when it has one.
    """

    file: str
    entity: str
    row: int | None
    ident: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.entity:
            where += f": {self.entity}"
            if self.row is not None:
                where += f" row {self.row}"
            if self.ident:
                where += f" (id {self.ident!r})"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class ProblemError(AssignError):
    """Bad input: the problem is rejected as a whole, before any work.

    ``issues`` holds one entry per problem found.
    """

    def __init__(self, issues: list[InputIssue], headline: str = "the problem was rejected"):
        self.issues = list(issues)
        #: what the command line prints before the issues (a valid problem that
        #: cannot be written as a table bundle is not "rejected")
        self.headline = headline
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ScheduleError(AssignError):
    """A schedule file that cannot be read against its problem."""


class ScenarioError(AssignError):
    """A scenario file that cannot be used to generate a county."""


class TooLargeError(AssignError):
    """A problem that needs more memory than the machine has (its candidate
    pairs, projected while they are built): refused with what it needs and
    how to split it, before the operating system kills the process."""


#: pydantic's error types for text that is not a datetime (its message, "a
#: valid datetime or date", offers a date, which SPEC §2 does not allow)
_DATETIME_ERRORS = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type"})


def pydantic_message(err: Mapping[str, Any]) -> str:
    """The message of one of pydantic's validation errors as ``assign`` words
    it: without pydantic's "Value error, ", "required field is missing", and
    for a time that does not parse, the text, why (Python's reading where it
    names a field out of range, e.g. an hour of 25, else pydantic's) and the
    form expected."""
    kind = err.get("type")
    if kind == "missing":
        return "required field is missing"
    if kind in _DATETIME_ERRORS:
        from datetime import datetime

        value = err.get("input")
        reason = str((err.get("ctx") or {}).get("error", "")) or "not a datetime"
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.strip())
            except ValueError as exc:
                text = str(exc)
                if not text.startswith("Invalid isoformat string"):
                    reason = text
        return f"{value!r} is not an ISO 8601 datetime ({reason}); write e.g. 2026-11-30T08:00:00+08:00"
    return str(err.get("msg", "")).removeprefix("Value error, ")


def pydantic_lines(exc: Any, prefix: str, whole: str) -> list[str]:
    """``prefix: where: message`` for each error of a pydantic
    ``ValidationError`` (``where`` its dotted location, ``whole`` for the
    object itself), worded by :func:`pydantic_message`."""
    return [
        f"{prefix}: {'.'.join(str(p) for p in err['loc']) or whole}: {pydantic_message(err)}" for err in exc.errors()
    ]
