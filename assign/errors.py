"""The exceptions of ``assign``: a hierarchy of its own, so that no dependency's
error stands for a domain answer."""

from __future__ import annotations

from dataclasses import dataclass


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

    def __init__(self, issues: list[InputIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ScheduleError(AssignError):
    """A schedule file that cannot be read against its problem."""


class ScenarioError(AssignError):
    """A scenario file that cannot be used to generate a county."""


class TooLargeError(AssignError):
    """A problem that needs more memory than the machine has (its candidate
    pairs, projected while they are built): refused with what it needs and
    how to split it, before the operating system kills the process."""
