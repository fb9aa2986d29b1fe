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
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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


def solve_limit(strategy: str, time_limit: float | None) -> float | None:
    """The time limit a solve of ``strategy`` keeps: ``time_limit``, or
    ``auto``'s default when None (``cpsat`` without one runs until it
    proves; the greedy, which has none, passes it on as given)."""
    from .solvers.auto import DEFAULT_TIME_LIMIT

    return DEFAULT_TIME_LIMIT if time_limit is None and strategy == "auto" else time_limit


def _strategy_limit(
    strategy: str, time_limit: float | None, workers: int | None, spent: float, n_pairs: int
) -> float | None:
    """The strategy's time limit once ``spent`` seconds went to preparing the
    problem (with one worker: its estimate from the ``n_pairs`` candidate
    pairs) — see :func:`solve`."""
    from . import clock as clocks

    time_limit = solve_limit(strategy, time_limit)
    if strategy == "greedy" or time_limit is None:
        return time_limit
    if clocks.for_workers(clocks.resolve_workers(workers), None).deterministic:
        spent = PREP_SECONDS_PER_PAIR * n_pairs
    return max(0.0, float(time_limit) - spent)


#: seconds per candidate pair of what follows the strategy (the fill of
#: what it left uncovered, the reasons, the conflicts' names; Shiquan, 6.3 M
#: pairs: 0.4-0.9 s, 2026-12-06), kept out of the wall-clock safety net of a
#: one-worker solve (:func:`_wall_end`)
FINISH_SECONDS_PER_PAIR = 2e-7


def _wall_end(strategy: str, time_limit: float | None, clock: float, n_pairs: int) -> float | None:
    """The wall-clock safety net of a one-worker strategy that began its
    preparation at ``clock`` (a ``time.perf_counter()`` reading): the time
    limit less what follows the strategy (:data:`FINISH_SECONDS_PER_PAIR`),
    however long the preparation took (:func:`assign.clock.wall_end`; the
    strategy's own limit counts the preparation by an estimate). None
    without a time limit, and for the greedy."""
    time_limit = solve_limit(strategy, time_limit)
    if strategy == "greedy" or time_limit is None:
        return None
    return clock + float(time_limit) - FINISH_SECONDS_PER_PAIR * n_pairs


#: a solve that ends this much past its time limit (seconds, and share of
#: the limit: the larger) warns where its time went (:func:`overrun_warning`)
OVERRUN_SECONDS = 5.0
OVERRUN_SHARE = 0.1


def overrun_warning(
    strategy: str, time_limit: float | None, prepared: float, strategy_seconds: float, total: float
) -> str | None:
    """The warning of a solve that ran well past its time limit (``None``
    when it did not): where the time went — preparing the problem
    (validation, compilation, candidate pairs), the strategy (``auto``
    always completes its first greedy pass, its never-worse-than-greedy
    baseline) and the rest (filling and explaining the uncovered tasks) —
    and how long this problem needed, for the next run's limit."""
    if strategy == "greedy":
        return None  # (the greedy has no time limit)
    limit = solve_limit(strategy, time_limit)
    if limit is None or total <= limit + max(OVERRUN_SECONDS, OVERRUN_SHARE * limit):
        return None
    rest = max(0.0, total - prepared - strategy_seconds)
    why = (
        f"preparing the problem took {prepared:.1f} s, strategy {strategy!r} {strategy_seconds:.1f} s"
        + (" (it always completes its first greedy pass, the baseline it never returns worse than)"
           if strategy == "auto" else "")
        + f", filling and explaining the schedule {rest:.1f} s"
    )
    return (
        f"the solve took {total:.1f} s against a time limit of {limit:g} s: {why}; "
        f"a problem of this size needs a limit of at least {total:.0f} s to be solved within it"
    )


def solve(
    problem: Problem,
    strategy: str = "auto",
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    *,
    k: int | None = None,
    parts: bool | None = None,
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
        Passed to the strategy (the greedy ignores the time limit and is
        deterministic: with more than one worker it shares its passes out
        by independent components, the same schedule sooner). The time limit (for ``auto``, None is its
        default of 60 s) covers the preparation too: the time spent
        validating and compiling the problem and building its candidates is
        taken off the strategy's (Shiquan: 3-6 s of the minute) — with one
        worker its estimate from the
        number of candidate pairs (:data:`PREP_SECONDS_PER_PAIR`), so that
        the deterministic clock repeats (docs/readings.md, "Time limit and
        workers"). A solve that ends well past its limit (by more than
        :data:`OVERRUN_SECONDS` and :data:`OVERRUN_SHARE` of it: at
        province scale the preparation and the greedy pass alone take
        longer than a minute) warns (RuntimeWarning) where its time went
        (:func:`overrun_warning`).
    k
        Give the strategy only the ``k`` nearest candidates of each task
        (None: all; at least 1): less memory and time. The greedy fill that
        follows every strategy may give the tasks it left uncovered any
        candidate, so a schedule may use volunteers beyond the ``k`` nearest.
    parts
        Solve the problem in parts that share no volunteer, one part at a
        time (:mod:`assign.parts`): memory for one part's candidate pairs
        at a time — a province. None (the default): as one problem, and in
        parts when its candidate pairs would not fit the memory
        (:class:`~assign.errors.TooLargeError`); False: never in parts.

    Raises :class:`~assign.errors.ProblemError` for a bad problem and
    :class:`~assign.errors.TooLargeError` when its candidate pairs would not
    fit the machine's memory (docs/readings.md, "Memory").

    Examples
    --------
    >>> from assign.io import load
    >>> schedule = solve(load("tests/data/tiny.json"))
    >>> [(u.task, u.reason) for u in schedule.unassigned]
    [('t3', 'team_too_small')]
    """
    from .compile import compile_problem
    from .errors import TooLargeError
    from .parts import solve_in_parts
    from .solvers import get_strategy
    from .validate import validate_problem

    run = get_strategy(strategy)
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise ValueError(f"time_limit must be a number of seconds above 0 (or None), got {time_limit!r}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"k must be a whole number of at least 1 (or None), got {k!r}")
    clock = time.perf_counter()
    validate_problem(problem)
    c = compile_problem(problem)

    def in_parts() -> Schedule:
        spent = time.perf_counter() - clock
        got = solve_in_parts(c, strategy, time_limit, seed, workers, k, spent=spent)
        seconds = time.perf_counter() - clock
        _log.info("solved in %d parts in %.2f s", got.n_parts, seconds)
        # (preparing: validation, compilation, linking the parts and their candidate pairs)
        late = overrun_warning(strategy, time_limit, spent + got.prepare_s, got.strategy_s, seconds)
        if late is not None:
            warnings.warn(late, RuntimeWarning, stacklevel=3)
        return build_schedule(
            c, got.solution, reasons=got.reasons, bound=got.bound, strategy=strategy, seconds=seconds, seed=seed
        )

    if parts:
        return in_parts()
    try:
        return _solve_whole(c, run, strategy, time_limit, seed, workers, k, clock)
    except TooLargeError as error:
        if parts is False:
            raise
        _log.warning("%s; solving it in parts that share no volunteer instead", error)
        return in_parts()


def _solve_whole(
    c: Compiled, run: Any, strategy: str, time_limit: float | None, seed: int, workers: int | None,
    k: int | None, clock: float,
) -> Schedule:
    """:func:`solve` of the compiled problem ``c`` as one problem (``clock``: when the solve began)."""
    from . import clock as clocks
    from .candidates import build_candidates
    from .explain import reasons
    from .solvers.greedy import fill, rename_conflicts

    cands = build_candidates(c, k=k, workers=clocks.resolve_workers(workers))
    prepared = time.perf_counter() - clock
    limit = _strategy_limit(strategy, time_limit, workers, prepared, len(cands))
    _log.info(
        "prepared in %.2f s: %d tasks, %d volunteers, %d candidate pairs; %s %s",
        prepared, c.n_tasks, c.n_volunteers, len(cands), strategy,
        "without a time limit" if limit is None else f"gets {limit:.2f} s",
    )
    with clocks.wall_end(_wall_end(strategy, time_limit, clock, len(cands))):
        sol, bound = run(c, cands, limit, seed, workers)
    ran = time.perf_counter() - clock - prepared
    if strategy != "greedy":
        # (the greedy does both itself)
        sol = rename_conflicts(c, fill(c, cands, sol))
    why = reasons(c, sol, cands)
    seconds = time.perf_counter() - clock
    _log.info("solved, filled and explained in %.2f s", seconds)
    late = overrun_warning(strategy, time_limit, prepared, ran, seconds)
    if late is not None:
        warnings.warn(late, RuntimeWarning, stacklevel=3)
    return build_schedule(
        c, sol, reasons=why, bound=bound, strategy=strategy, seconds=seconds, seed=seed
    )
