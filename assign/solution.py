"""A schedule as arrays: the form solvers produce and the validator, score and
metrics consume.

A :class:`Solution` is a list of assignments ``(task, volunteer, start)`` as
three parallel arrays (indexes into :class:`~assign.compile.Compiled`, start in
minutes from the horizon start) plus the dropped pins. Index ``-1`` marks an id
that does not exist in the problem (rule 1, ``references``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from .compile import Compiled, grid_origin
from .errors import ScheduleError
from .model import Schedule


@dataclass(frozen=True)
class Solution:
    """Assignments as parallel arrays, sorted by (task, volunteer)."""

    task: NDArray[np.int64]
    volunteer: NDArray[np.int64]
    start: NDArray[np.int64]
    #: dropped pins: (task index, volunteer index, rule name)
    conflicts: tuple[tuple[int, int, str], ...] = field(default=())

    @staticmethod
    def build(
        task: object,
        volunteer: object,
        start: object,
        conflicts: tuple[tuple[int, int, str], ...] | list[tuple[int, int, str]] = (),
    ) -> Solution:
        """Make a solution from any integer sequences; sorts by (task, volunteer, start)."""
        t = np.asarray(task, dtype=np.int64).reshape(-1)
        v = np.asarray(volunteer, dtype=np.int64).reshape(-1)
        s = np.asarray(start, dtype=np.int64).reshape(-1)
        order = np.lexsort((s, v, t))
        return Solution(t[order], v[order], s[order], tuple(sorted(conflicts)))

    @staticmethod
    def empty() -> Solution:
        return Solution.build([], [], [])

    def __len__(self) -> int:
        return len(self.task)

    def covered(self, n_tasks: int) -> NDArray[np.bool_]:
        """Covered = at least one assignment (SPEC §10)."""
        out = np.zeros(n_tasks, dtype=bool)
        valid = (self.task >= 0) & (self.task < n_tasks)
        out[self.task[valid]] = True
        return out


def solution_from_schedule(c: Compiled, schedule: Schedule) -> Solution:
    """Map a schedule's ids and datetimes onto the compiled problem's indexes.

    Unknown ids become -1 (a rule-1 violation for the validator); starts are
    whole minutes from the compiled problem's minute 0
    (:func:`~assign.compile.grid_origin`). A start between two whole minutes
    raises :class:`~assign.errors.ScheduleError` (it was floored).
    """
    task_of = {tid: i for i, tid in enumerate(c.task_ids)}
    vol_of = {vid: i for i, vid in enumerate(c.volunteer_ids)}
    origin = grid_origin(c.problem.horizon)
    for i, a in enumerate(schedule.assignments):
        if (a.start - origin) % timedelta(minutes=1):
            # (they were floored: a start at 09:30:59 of a 30-minute visit in a
            # 09:00-10:00 window passed, though the visit ends after 10:00)
            raise ScheduleError(
                f"assignments[{i}] (task {a.task!r}, volunteer {a.volunteer!r}): start {a.start.isoformat()} "
                "is not on a whole minute; assign reads and checks starts to the minute (docs/readings.md)"
            )
    tasks = [task_of.get(a.task, -1) for a in schedule.assignments]
    vols = [vol_of.get(a.volunteer, -1) for a in schedule.assignments]
    starts = [int((a.start - origin).total_seconds() // 60) for a in schedule.assignments]
    conflicts = [
        (task_of.get(x.task, -1), vol_of.get(x.volunteer, -1), x.rule) for x in schedule.conflicts
    ]
    return Solution.build(tasks, vols, starts, conflicts)
