"""One entry point for every strategy: ``solve(problem) -> Schedule`` (SPEC §8).

Steps: validate cross references, compile, build candidates, run the strategy,
extend its schedule greedily so that no uncovered task could still be added
(:func:`assign.solvers.greedy.fill`; SPEC §10 reads ``capacity`` and
``team_too_small`` as untrue otherwise), then score, explain and measure it.

Imports of the heavy parts (scipy, OR-Tools) happen inside :func:`solve`, so
``import assign`` stays light.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

_log = logging.getLogger(__name__)


@contextmanager
def steps_to(handler: logging.Handler) -> Iterator[None]:
    """While the block runs, the ``assign`` loggers' INFO records — the
    preparation of :func:`solve`, each step of ``auto`` as it ends with the
    score so far (its record's ``fields``: step, seconds, uncovered, soft) —
    go to ``handler`` (``assign solve --verbose``, ``assign batch``'s JSON log)."""
    logger = logging.getLogger("assign")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

#: relative (and absolute) tolerance under which score and bound are "equal"
OPTIMAL_TOLERANCE = 1e-6

if TYPE_CHECKING:
    from .compile import Compiled
    from .model import Bound, Problem, Schedule, Score
    from .solution import Solution


def _is_optimal(score: Score, bound: Bound | None) -> bool:
    """SPEC §8: optimal only when the score equals the bound: the same uncovered
    weights, and soft within the SPEC §10 tolerance (relative 1e-6; a proven
    bound may sit a few ulps below the score it proves)."""
    if bound is None or tuple(score.uncovered) != tuple(bound.uncovered):
        return False
    return math.isclose(score.soft, bound.soft, rel_tol=OPTIMAL_TOLERANCE, abs_tol=OPTIMAL_TOLERANCE)


def build_schedule(
    c: Compiled,
    sol: Solution,
    *,
    reasons: list[tuple[int, str, str]],
    bound: Bound | None,
    strategy: str,
    seconds: float,
    seed: int,
) -> Schedule:
    """Assemble the SPEC §8 schedule of a solution (score, metrics, explanations)."""
    import numpy as np

    from . import __version__
    from .metrics import compute_metrics
    from .model import Assignment, Conflict, Schedule, SolverInfo, Unassigned
    from .rules import distance_km
    from .score import evaluate

    score = evaluate(c, sol).to_model()
    task = sol.task.astype(np.int64)
    volunteer = sol.volunteer.astype(np.int64)
    km = np.round(distance_km(c, task, volunteer), 2).tolist() if len(task) else []
    ends = (sol.start + c.t_duration[task]).tolist() if len(task) else []
    assignments = tuple(
        Assignment(
            task=c.task_ids[t],
            volunteer=c.volunteer_ids[v],
            start=c.minute_to_datetime(s),
            end=c.minute_to_datetime(e),
            travel_km=d,
        )
        for t, v, s, e, d in zip(task.tolist(), volunteer.tolist(), sol.start.tolist(), ends, km, strict=True)
    )
    unassigned = tuple(
        Unassigned(task=c.task_ids[t], reason=code, detail=detail)  # type: ignore[arg-type]
        for t, code, detail in reasons
    )
    conflicts = tuple(
        Conflict(task=c.task_ids[t], volunteer=c.volunteer_ids[v], rule=rule) for t, v, rule in sol.conflicts
    )
    return Schedule(
        problem=c.problem.name,
        status="optimal" if _is_optimal(score, bound) else "feasible",
        assignments=assignments,
        unassigned=unassigned,
        conflicts=conflicts,
        score=score,
        bound=bound,
        metrics=compute_metrics(c, sol),
        solver=SolverInfo(strategy=strategy, seconds=round(seconds, 3), seed=seed, version=__version__),
    )


#: with one worker the preparation counts by this estimate per candidate
#: pair instead of its time, so that the deterministic clock repeats
#: (Shiquan, 6.3 M pairs: validation, compilation and candidates 3-6 s; ad
#: hoc /tmp/s25/brk.py, 2026-12-02)
PREP_SECONDS_PER_PAIR = 6e-7


def _strategy_limit(
    strategy: str, time_limit: float | None, workers: int | None, spent: float, n_pairs: int
) -> float | None:
    """The strategy's time limit once ``spent`` seconds went to preparing the
    problem (with one worker: its estimate from the ``n_pairs`` candidate
    pairs) — see :func:`solve`."""
    from . import clock as clocks
    from .solvers.auto import DEFAULT_TIME_LIMIT

    if strategy == "greedy":
        return time_limit
    if time_limit is None:
        if strategy != "auto":
            return None  # (cpsat: until proved)
        time_limit = DEFAULT_TIME_LIMIT
    if clocks.for_workers(clocks.resolve_workers(workers), None).deterministic:
        spent = PREP_SECONDS_PER_PAIR * n_pairs
    return max(0.0, float(time_limit) - spent)


def solve(
    problem: Problem,
    strategy: str = "auto",
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    *,
    k: int | None = None,
) -> Schedule:
    """Solve ``problem`` with the named strategy and return its SPEC §8 schedule.

    Parameters
    ----------
    problem
        A problem from :func:`assign.io.load` (or built in Python: its cross
        references are checked here; :class:`~assign.errors.ProblemError` if bad).
    strategy
        A name of :data:`assign.solvers.STRATEGIES` (``"greedy"``, ...);
        ValueError for an unknown one.
    time_limit, seed, workers
        Passed to the strategy (the greedy ignores the time limit and workers
        and is deterministic). The time limit (for ``auto``, None is its
        default of 60 s) covers the preparation too: the time spent
        validating and compiling the problem and building its candidates is
        taken off the strategy's (Shiquan: 3-6 s, so ``assign solve``
        reported 63-64 s at 60 s) — with one worker its estimate from the
        number of candidate pairs (:data:`PREP_SECONDS_PER_PAIR`), so that
        the deterministic clock repeats (docs/readings.md, "Time limit and
        workers").
    k
        Keep only the ``k`` nearest candidates of each task (None: all).

    Examples
    --------
    >>> from assign.io import load
    >>> schedule = solve(load("tests/data/tiny.json"))
    >>> [(u.task, u.reason) for u in schedule.unassigned]
    [('t3', 'team_too_small')]
    """
    from . import clock as clocks
    from .candidates import build_candidates
    from .compile import compile_problem
    from .explain import reasons
    from .solvers import get_strategy
    from .solvers.greedy import fill, rename_conflicts
    from .validate import validate_problem

    run = get_strategy(strategy)
    clock = time.perf_counter()
    validate_problem(problem)
    c = compile_problem(problem)
    cands = build_candidates(c, k=k, workers=clocks.resolve_workers(workers))
    limit = _strategy_limit(strategy, time_limit, workers, time.perf_counter() - clock, len(cands))
    _log.info(
        "prepared in %.2f s: %d tasks, %d volunteers, %d candidate pairs; %s %s",
        time.perf_counter() - clock, c.n_tasks, c.n_volunteers, len(cands), strategy,
        "without a time limit" if limit is None else f"gets {limit:.2f} s",
    )
    sol, bound = run(c, cands, limit, seed, workers)
    if strategy != "greedy":
        # (the greedy does both itself)
        sol = rename_conflicts(c, fill(c, cands, sol))
    why = reasons(c, sol, cands)
    seconds = time.perf_counter() - clock
    _log.info("solved, filled and explained in %.2f s", seconds)
    return build_schedule(
        c, sol, reasons=why, bound=bound, strategy=strategy, seconds=seconds, seed=seed
    )
