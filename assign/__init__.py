"""assign: volunteers to elderly-care tasks, with hard rules, strict urgency,
fairness, explanations and proven bounds.

The public surface, re-exported by hand::

    problem = assign.load("county.json")          # or a table-bundle folder
    schedule = assign.solve(problem)              # SPEC §8 schedule
    report = assign.check(problem, schedule)      # independent validation
    assign.save(problem, "county-bundle")         # JSON <-> bundle

Heavy dependencies (scipy, OR-Tools) are imported only by the functions that
need them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .check import CheckReport, Violation, check
from .compile import Compiled, compile_problem
from .errors import AssignError, InputIssue, ProblemError, ScenarioError, ScheduleError
from .explain import Explanation, explain
from .io import load, load_schedule, save, save_schedule
from .model import (
    Assignment,
    Bound,
    Community,
    Conflict,
    History,
    Horizon,
    PastAssignment,
    Policy,
    Problem,
    Recipient,
    Schedule,
    Score,
    ScoreTerms,
    SolverInfo,
    Task,
    Unassigned,
    Volunteer,
)
from .solve import solve

if TYPE_CHECKING:
    from .synth import Scenario

__version__ = "0.1.0"


def generate(scenario: Scenario | str | os.PathLike[str], seed: int = 0) -> Problem:
    """A synthetic problem from a scenario name or file (see :mod:`assign.synth`)."""
    from .synth import generate as _generate

    return _generate(scenario, seed)


__all__ = [
    "__version__",
    "AssignError",
    "Assignment",
    "Bound",
    "CheckReport",
    "Community",
    "Compiled",
    "Conflict",
    "History",
    "Horizon",
    "InputIssue",
    "PastAssignment",
    "Policy",
    "Problem",
    "ProblemError",
    "Recipient",
    "ScenarioError",
    "Schedule",
    "ScheduleError",
    "Score",
    "ScoreTerms",
    "SolverInfo",
    "Task",
    "Unassigned",
    "Violation",
    "Volunteer",
    "check",
    "compile_problem",
    "Explanation",
    "explain",
    "generate",
    "load",
    "load_schedule",
    "save",
    "save_schedule",
    "solve",
]
