"""The time a solve's steps share: the wall clock, or with one worker a
deterministic clock.

Every step of ``cpsat``, ``auto`` and the array core's
:func:`assign.core.solve_arcs` that reads the time (how much of the limit is
left, when a stage must end) reads :func:`current`'s clock, and every CP-SAT
solve goes through :meth:`Clock.solve`.

* :data:`WALL` (more than one worker): ``now()`` is ``time.perf_counter()``
  and a solve of ``seconds`` stops after that many seconds of wall time.
* :class:`DeterministicClock` (``workers=1``): ``now()`` advances only by
  what the solve has done, counted deterministically: each CP-SAT solve by
  its deterministic time divided by :data:`DTIME_PER_SECOND`, other steps
  by estimates from their sizes (:meth:`Clock.charge`). A solve of
  ``seconds`` stops after ``seconds * DTIME_PER_SECOND`` of CP-SAT's
  deterministic time. So what runs, and for how long, depends on the input,
  the seed and the settings only: the same schedule every time. The wall
  clock stays a safety net at the time limit (every solve also stops
  there, and past it the clock reads at least the limit, so every loop
  that reads it ends); a run that reaches it
  (:attr:`DeterministicClock.cut`) may differ from run to run.

:data:`DTIME_PER_SECOND`, the slow start (:data:`START_DTIME` at
:data:`START_DTIME_PER_SECOND`) and :data:`SETUP_PER_CONSTRAINT` are
measured, not exact (one worker, 2-CPU Intel Xeon, 2026-12-01, ad hoc over
the exact models of 15 mid-size problems): CP-SAT's deterministic time per
second of wall time ranged 0.025-0.30 between models and is lowest at the
start of a solve. With these, strategy cpsat on those problems at 8 s ended
after 2.9-7.9 s of wall time, none reached the safety net and each gave
the same schedule twice (before the slow start, with 4e-5 s per
constraint: 2.3-6.9 s, and a stage of 0.6 s on a 12,000-constraint model
stopped after 0.2 s without a solution).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: CP-SAT deterministic time per second of the deterministic clock (exact
#: models; a caller may give its own rate for its models) ...
DTIME_PER_SECOND = 0.12
#: ... after the first START_DTIME of a solve of an exact model, which goes
#: at START_DTIME_PER_SECOND (presolve and the first LPs: on four mid-size
#: models of 11,000-23,000 constraints, 0.04 more deterministic time took
#: 0.46-0.72 s once 0.01 was spent)
START_DTIME = 0.05
START_DTIME_PER_SECOND = 0.07
#: seconds of the deterministic clock per constraint of an exact model, for
#: loading it (the same four models: 0.09-0.20 s to stop after 1e-4 of
#: deterministic time)
SETUP_PER_CONSTRAINT = 1.5e-5


def _exact_budget(seconds: float) -> float:
    """The deterministic time an exact model's solve may spend in ``seconds``
    of the clock (after its setup charge): the slow start, then the rate."""
    if seconds * START_DTIME_PER_SECOND <= START_DTIME:
        return seconds * START_DTIME_PER_SECOND
    return START_DTIME + (seconds - START_DTIME / START_DTIME_PER_SECOND) * DTIME_PER_SECOND


def _exact_seconds(dtime: float) -> float:
    """The clock's seconds for ``dtime`` spent by an exact model (the inverse
    of :func:`_exact_budget`)."""
    if dtime <= START_DTIME:
        return dtime / START_DTIME_PER_SECOND
    return START_DTIME / START_DTIME_PER_SECOND + (dtime - START_DTIME) / DTIME_PER_SECOND


class Clock:
    """The wall clock (the base class; see the module docstring)."""

    deterministic = False

    def now(self) -> float:
        return time.perf_counter()

    def charge(self, seconds: float) -> None:
        """Count ``seconds`` of work done outside CP-SAT (the wall clock
        counts it itself)."""
        del seconds

    def solve_past_limit(self, solver: Any, model: Any, dtime: float) -> Any:
        """``solver.solve(model)`` stopped after ``dtime`` of CP-SAT's
        deterministic time, whatever time is left (for the few solves a valid
        schedule needs: the pin decision's); counted on this clock as an
        exact model's solve; returns the status."""
        solver.parameters.max_deterministic_time = float(dtime)
        solver.parameters.max_time_in_seconds = float("inf")
        status = solver.solve(model)
        self.charge(_exact_seconds(float(solver.response_proto.deterministic_time)))
        return status

    def wall_left(self) -> float | None:
        """Seconds of wall time to the safety net (None: none)."""
        return None

    def limit(self, params: Any, seconds: float | None, rate: float = 0.0) -> None:
        """Set CP-SAT ``params`` (a ``SatParameters``) to stop after
        ``seconds`` on this clock (None: no limit); ``rate`` is the
        deterministic time per second of the deterministic clock
        (0: :data:`DTIME_PER_SECOND`)."""
        del rate
        if seconds is not None:
            params.max_time_in_seconds = max(0.01, float(seconds))

    def solve(self, solver: Any, model: Any, seconds: float | None, rate: float = 0.0) -> Any:
        """``solver.solve(model)`` stopped after ``seconds`` on this clock
        (None: no limit but the ones already set, which stay when lower);
        returns the status."""
        self.limit(solver.parameters, seconds, rate)
        return solver.solve(model)


class DeterministicClock(Clock):
    """A clock that advances by deterministic measures of work (module
    docstring); ``limit`` seconds of wall time from its creation stay a hard
    stop (None: none)."""

    deterministic = True

    def __init__(self, limit: float | None, wall_end: float | None = None):
        self.start = time.perf_counter()
        self.spent = 0.0
        self.wall_deadline = None if limit is None else self.start + float(limit)
        if wall_end is not None:
            # (the caller's own time limit, when it comes first: :func:`wall_end`)
            self.wall_deadline = wall_end if self.wall_deadline is None else min(self.wall_deadline, wall_end)
        #: True once a solve ran into the wall-clock safety net
        self.cut = False

    def now(self) -> float:
        if self.wall_deadline is not None and time.perf_counter() >= self.wall_deadline:
            # the safety net: the time is up for every step, whatever was counted
            self.cut = True
            return self.wall_deadline + self.spent
        return self.start + self.spent

    def charge(self, seconds: float) -> None:
        self.spent += max(0.0, float(seconds))

    def wall_left(self) -> float | None:
        return None if self.wall_deadline is None else max(0.0, self.wall_deadline - time.perf_counter())

    def limit(self, params: Any, seconds: float | None, rate: float = 0.0) -> None:
        if seconds is not None:
            budget = max(1e-3, float(seconds) * rate if rate else _exact_budget(float(seconds)))
            params.max_deterministic_time = min(params.max_deterministic_time, budget)
        # the wall time is only the safety net's (a caller's wall limit goes)
        wall = self.wall_left()
        params.max_time_in_seconds = float("inf") if wall is None else max(0.01, wall)

    def solve(self, solver: Any, model: Any, seconds: float | None, rate: float = 0.0) -> Any:
        # an exact model (``rate`` 0) first counts its presolve by its size
        setup = 0.0 if rate else SETUP_PER_CONSTRAINT * len(model.proto.constraints)
        self.spent += setup
        self.limit(solver.parameters, None if seconds is None else max(0.0, seconds - setup), rate)
        status = solver.solve(model)
        dtime = float(solver.response_proto.deterministic_time)
        self.spent += dtime / rate if rate else _exact_seconds(dtime)
        if self.wall_deadline is not None and time.perf_counter() >= self.wall_deadline - 0.01:
            self.cut = True
        return status


#: the wall clock, for every solve with more than one worker
WALL = Clock()

_current: ContextVar[Clock] = ContextVar("assign_clock", default=WALL)
_wall_end: ContextVar[float | None] = ContextVar("assign_wall_end", default=None)


def current() -> Clock:
    """The clock of the solve running in this thread (:data:`WALL` outside one)."""
    return _current.get()


def resolve_workers(workers: int | None) -> int:
    """The number of workers a solve asked for ``workers`` runs with (None or
    less than 1: every CPU)."""
    import os

    return int(workers) if workers is not None and workers > 0 else (os.cpu_count() or 1)


def for_workers(workers: int, limit: float | None) -> Clock:
    """The clock a solve with ``workers`` workers and time ``limit`` runs on
    (a deterministic one's safety net at ``limit`` or at :func:`wall_end`'s
    time, the earlier)."""
    return DeterministicClock(limit, _wall_end.get()) if workers == 1 else WALL


@contextmanager
def wall_end(at: float | None) -> Iterator[None]:
    """In the ``with`` block, the deterministic clocks made by
    :func:`for_workers` have their wall-clock safety net at ``at`` (a
    ``time.perf_counter()`` reading; None: at their limit only) when that
    comes before their limit. :func:`assign.solve.solve` sets it to the
    user's time limit, less the estimated time of what follows the strategy:
    with one worker the strategy's limit counts the preparation by an
    estimate (so that runs repeat), and a machine slower at preparing than
    the estimate would otherwise run past the limit by the difference
    (Shiquan at 60 s, stop 59: 6-8 s of preparation against the estimate's
    3.8 s, the solve 64-69 s)."""
    token = _wall_end.set(at)
    try:
        yield
    finally:
        _wall_end.reset(token)


@contextmanager
def running(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` this thread's :func:`current` for the ``with`` block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


@contextmanager
def past_limit() -> Iterator[Clock]:
    """Run the ``with`` block's steps past the solve's limit, each bounded by
    its own seconds (for a decision a valid or never-worse schedule needs,
    as :meth:`Clock.solve_past_limit` for one solve). On the deterministic
    clock they run on a deterministic clock of their own without the wall
    safety net, and the solve's clock is charged what it counted: the
    solve's reading jumps to ``wall_deadline + spent`` when its net passes,
    and a net passing in the middle of the block would end the block's time
    at once (stop 53: ``cpsat``'s decision whether the greedy's pins are a
    maximal set, left undecided, returned a worse schedule). The wall clock
    has no such jump: the block runs on it as it is."""
    outer = current()
    if not outer.deterministic:
        yield outer
        return
    own = DeterministicClock(None)
    try:
        with running(own):
            yield own
    finally:
        outer.charge(own.spent)
