"""Communities re-solved inside a county's schedule: a large neighbourhood for
long time limits.

The search's neighbourhoods (:class:`~assign.solvers.auto.Search`) hold a few
volunteers over a day; at county scale they stop improving the first open
tier (ad hoc, benchmarks/HISTORY.md stop 52: Shiquan from a 60-s
schedule, two workers, 320 s: U2 -79). One
community is the size where ``auto`` has its strongest moves (the exact
stages, the week bound and its dive): :func:`resolve` cuts one out of the
county's schedule and solves it with ``auto``, and the caller keeps the
result where it is better.

The sub-problem of community ``X`` (:func:`community_sub`):

* its volunteers: those of ``X`` (``volunteer.community``);
* *free* tasks: the tasks of ``X``'s recipients of the tiers up to the first
  open one, unpinned, that no volunteer outside ``X`` serves in the schedule
  (uncovered, or served by ``X``'s volunteers alone), with their windows;
* *fixed* visits: every other visit of ``X``'s volunteers of those tiers,
  and any pinned or shared (a team with members outside ``X``) visit of
  theirs: a task whose window is its scheduled visit, pinned to the same
  volunteers, so that it stays as it is;
* the volunteers' other visits (later tiers, unpinned, theirs alone) are
  dropped: the tiers are strict, so their time is worth less than any visit
  of the open tier. (Kept as tasks the solve may drop, they held it back:
  ad hoc, a 4-community county at 40 s, U2 3,138 against 3,079 when
  dropped; HISTORY stop 52.)

The sub-problem's solve starts from the county's schedule
(:func:`~.auto.sub_solution`), so it returns nothing worse on the sub-problem's own
score; a visit it drops is taken back by the insertion and the fill after
the search where it still fits.

:func:`resolve` returns the county's schedule with ``X``'s volunteers' visits
replaced by the sub-problem's schedule. Nothing here judges it: ``auto``
takes it only when it is valid and scores better (its ``offer``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..candidates import Candidates
from ..compile import Compiled
from ..solution import Solution

if TYPE_CHECKING:
    from .auto import Sub

I64 = NDArray[np.int64]

#: a community pass starts only when the search has at least this many seconds
#: (a community needs ~20 s to beat the county's schedule: at 60 s there is none)
MIN_SEARCH_SECONDS = 120.0
#: the share of the search's time the communities take (the search the rest)
SHARE = 0.6
#: the time of one community: at most MAX_SECONDS, and a community is started
#: only with MIN_SECONDS
MAX_SECONDS = 20.0
MIN_SECONDS = 8.0


@dataclass(frozen=True)
class CommunitySub:
    """A community's sub-problem (:func:`community_sub`)."""

    sub: Sub  # the problem, with its tasks' and volunteers' parent indexes
    n_free: int  # the first n_free sub tasks are free, the rest fixed
    dropped: int  # visits of the community's volunteers left out (later tiers)


def community_sub(
    c: Compiled, sol: Solution, community: int, open_tier: int, volunteers: NDArray[np.bool_] | None = None
) -> CommunitySub | None:
    """The sub-problem of ``community`` around ``sol`` (module docstring),
    over the volunteers in ``volunteers`` (a mask; all by default); None
    when it has no free task or no volunteer."""
    from .auto import subproblem

    in_v = c.v_community == community
    if volunteers is not None:
        in_v &= volunteers
    vols = np.flatnonzero(in_v)
    if len(vols) == 0:
        return None
    task_comm = c.r_community[c.t_recipient]
    pinned = np.diff(c.t_pin_ptr) > 0
    mine = in_v[sol.volunteer]
    served_outside = np.zeros(c.n_tasks, dtype=bool)
    served_outside[sol.task[~mine]] = True
    free = (c.t_tier <= open_tier) & (task_comm == community) & ~pinned & ~served_outside
    free_tasks = np.flatnonzero(free)
    if len(free_tasks) == 0:
        return None
    rows = np.flatnonzero(mine)
    rt = sol.task[rows]
    held = ~free[rt] & ((c.t_tier[rt] <= open_tier) | pinned[rt] | served_outside[rt])
    fixed_rows = rows[held]
    fixed_tasks, of_row = np.unique(sol.task[fixed_rows], return_inverse=True)
    tasks = np.concatenate((free_tasks, fixed_tasks))
    n_free = len(free_tasks)
    ws = c.t_window_start[tasks].copy()
    we = c.t_window_end[tasks].copy()
    needed = c.t_needed[tasks].copy()
    start = np.zeros(len(fixed_tasks), dtype=np.int64)
    start[of_row] = sol.start[fixed_rows]
    ws[n_free:] = start
    we[n_free:] = start + c.t_duration[fixed_tasks]
    needed[n_free:] = np.bincount(of_row, minlength=len(fixed_tasks))
    vmap = np.full(c.n_volunteers, -1, dtype=np.int64)
    vmap[vols] = np.arange(len(vols))
    pins = (n_free + of_row.astype(np.int64), vmap[sol.volunteer[fixed_rows]])
    sub = subproblem(c, tasks, vols, window_start=ws, window_end=we, needed=needed, pins=pins)
    dropped = int(len(rows) - len(fixed_rows) - int(free[rt].sum()))
    return CommunitySub(sub, n_free, dropped)


def merge(sol: Solution, sub: Sub, sub_sol: Solution) -> Solution:
    """``sol`` with the sub-problem's volunteers' visits replaced by
    ``sub_sol``'s (the parent's dropped pins kept: the sub-problem has none of
    its own but the fixed visits, which it keeps)."""
    vols = sub.volunteers[sub.volunteers >= 0]
    keep = ~np.isin(sol.volunteer, vols)
    real = sub.volunteers[sub_sol.volunteer] >= 0
    return Solution.build(
        np.concatenate((sol.task[keep], sub.tasks[sub_sol.task[real]])),
        np.concatenate((sol.volunteer[keep], sub.volunteers[sub_sol.volunteer[real]])),
        np.concatenate((sol.start[keep], sub_sol.start[real])),
        sol.conflicts,
    )


@contextmanager
def _quiet() -> Iterator[None]:
    """The nested solve's steps stay off the caller's log (``--verbose``)."""
    loggers = [logging.getLogger(f"assign.solvers.{name}") for name in ("auto", "cpsat")]
    was = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, before in zip(loggers, was, strict=True):
            logger.disabled = before


def resolve(
    c: Compiled,
    sol: Solution,
    community: int,
    open_tier: int,
    time_limit: float,
    seed: int,
    workers: int,
    volunteers: NDArray[np.bool_] | None = None,
) -> Solution | None:
    """``sol`` with ``community`` re-solved by ``auto`` in ``time_limit``
    seconds (module docstring); None when it has nothing to re-solve."""
    from ..candidates import build_candidates
    from .auto import solve_auto_detailed, sub_solution

    cut = community_sub(c, sol, community, open_tier, volunteers)
    if cut is None:
        return None
    sub = cut.sub
    cands = build_candidates(sub.c, workers=workers)
    if len(cands) == 0:
        return None
    with _quiet():
        result = solve_auto_detailed(sub.c, cands, time_limit, seed, workers, start=sub_solution(c, sub, sol))
    return merge(sol, sub, result.solution)


def order(c: Compiled, cands: Candidates, sol: Solution, open_tier: int, tasks: NDArray[np.bool_]) -> list[int]:
    """The communities by the weight of their uncovered tasks of ``open_tier``
    that someone could serve (among ``tasks``), largest first (then by index);
    those with none are left out."""
    coverable = tasks & (cands.counts() >= c.t_needed) & ~sol.covered(c.n_tasks) & (c.t_tier == open_tier)
    weight = np.bincount(
        c.r_community[c.t_recipient[coverable]], weights=c.t_weight[coverable], minlength=c.n_communities
    )
    ranked = np.lexsort((np.arange(c.n_communities), -weight))
    return [int(x) for x in ranked if weight[x] > 0]


__all__ = ["CommunitySub", "community_sub", "merge", "order", "resolve"]
