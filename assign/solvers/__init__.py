"""Solver strategies behind :func:`assign.solve.solve`.

A strategy is a function ``(c, cands, time_limit, seed, workers) -> (Solution,
Bound | None)``: it gets the compiled problem and its candidates, returns a
valid :class:`~assign.solution.Solution` and, when it can prove one, a bound
(:class:`~assign.model.Bound`, SPEC §6). Other modules add theirs with
:func:`register` (or by adding to :data:`STRATEGIES`), e.g. ``"cpsat"`` and
``"auto"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from ..candidates import Candidates
    from ..compile import Compiled
    from ..model import Bound
    from ..solution import Solution

#: ``strategy(c, cands, time_limit, seed, workers) -> (solution, bound or None)``
Strategy = Callable[["Compiled", "Candidates", "float | None", int, "int | None"], "tuple[Solution, Bound | None]"]


def _greedy(
    c: Compiled, cands: Candidates, time_limit: float | None, seed: int, workers: int | None
) -> tuple[Solution, Bound | None]:
    """The greedy baseline with the trivial bound of :func:`trivial_bound`.

    The time limit is ignored. With more than one worker (None: every CPU)
    and at least :data:`~.greedy.SPLIT_MIN_TASKS` tasks, the main passes are
    shared out between the process and a forked child by independent
    components (:func:`~.greedy.split_halves`), as strategy auto's greedy
    does: the same schedule as one worker's, sooner."""
    from ..clock import resolve_workers
    from .greedy import SPLIT_MIN_TASKS, Split, solve_greedy

    del time_limit
    split = None
    n_workers = resolve_workers(workers)
    if n_workers > 1 and c.n_tasks >= SPLIT_MIN_TASKS and cands.complete:
        from .auto import components

        split = Split(components(c, cands)[0], n_workers)
    return solve_greedy(c, cands, seed=seed, split=split), trivial_bound(c, cands)


def trivial_bound(c: Compiled, cands: Candidates) -> Bound | None:
    """A bound no valid schedule beats, from the candidates alone.

    * ``U_t`` >= the weight of the tier-t tasks that have fewer eligible free
      volunteers than ``volunteers_needed`` (no schedule can cover them; with
      a nearest-k cap only when the count is below the cap), plus the negative
      weights of the others (uncovering a task of negative weight lowers U).
    * ``soft``: a schedule whose U equals that bound covers every other task
      when all task weights are positive, so its soft score is at least the sum
      over those tasks of their ``volunteers_needed`` cheapest candidate costs
      (:func:`assign.score.linear_pair_cost`), plus ``w_stability`` × the number
      of previous pairs, plus ``w_fairness`` × the fairness of zero load (or of
      full load when that weight is negative), plus ``w_equity`` × the equity of
      leaving exactly the impossible tasks uncovered. Otherwise (a weight <= 0)
      the soft bound is the least equity any schedule can have (negative
      shares come from negative weights) times ``w_equity`` when every soft
      weight is >= 0 (the other terms are >= 0 then), and there is no bound
      when some is negative. With capped candidates only distances are used:
      the cheapest costs may be missing, the nearest ones are not.

    A schedule with a worse U is beaten lexicographically whatever its soft
    score, so this soft bound is valid for the tuple.
    """
    import numpy as np

    from ..model import Bound
    from ..score import equity_value, fairness_terms

    if cands.partial:
        from ..candidates import build_candidates

        cands = build_candidates(c, k=cands.cap)
    count = cands.counts()
    needed = c.t_needed
    impossible = count < needed
    if cands.cap is not None:
        impossible &= count < cands.cap
    weight = c.t_weight.astype(np.float64)
    lower = np.where(impossible, weight, np.minimum(weight, 0.0))
    uncovered = np.bincount(c.t_tier, weights=lower, minlength=c.n_tiers + 1)[1 : c.n_tiers + 1]
    bound_u = tuple(float(x) for x in uncovered)
    bound_u_int = tuple(int(round(x)) for x in bound_u)
    w = c.weights
    soft_weights_ok = all(value >= 0 for value in w.values())
    if c.n_tasks and weight.min() <= 0:
        if not soft_weights_ok:
            return None
        # every term is >= 0 but equity, negative where a weight is (a
        # community's uncovered share of a tier); its floor over every schedule
        from .auto import _equity_floor

        equity = _equity_floor(c, cands, None, impossible)
        return None if equity is None else Bound(uncovered=bound_u_int, soft=float(equity))

    # per task: the sum of its `needed` smallest values among its candidates
    possible = ~impossible
    if cands.cap is None:
        values = cands.cost
    else:
        values = cands.km.astype(np.float64) * (1 - 1e-6)
        # every linear term other than the distance, at its most favourable
        values = values + min(0.0, w["continuity"]) + min(0.0, w["cross"]) + min(0.0, w["preference"])
        values = values - max(0.0, w["stability"])
    linear = _cheapest_sum(cands, values, np.where(possible, needed, 0))
    fairness = fairness_terms(c, np.zeros(c.n_volunteers) if w["fairness"] >= 0 else c.v_max_minutes)
    soft = (
        linear
        + w["stability"] * len(c.previous_keys)
        + w["fairness"] * fairness
        + w["equity"] * equity_value(c, possible)
    )
    # float sums in another order may differ in the last bits
    soft -= 1e-9 * max(1.0, abs(soft))
    return Bound(uncovered=bound_u_int, soft=float(soft))


def _cheapest_sum(cands: Candidates, values: NDArray[np.float64], take: NDArray[np.int64]) -> float:
    """Sum over tasks of the ``take[t]`` smallest ``values`` among the task's rows."""
    import numpy as np

    count = cands.counts()
    take = np.minimum(take, count)
    ones = np.flatnonzero(take == 1)
    total = 0.0
    if len(ones):
        total += float(_row_minima(values, cands.ptr, ones).sum())
    for t in np.flatnonzero(take > 1).tolist():
        rows = values[cands.ptr[t] : cands.ptr[t + 1]]
        total += float(np.sort(rows)[: take[t]].sum())
    return total


def _row_minima(values: NDArray[np.float64], ptr: NDArray[np.int64], tasks: NDArray[np.int64]) -> NDArray[np.float64]:
    """Minimum of ``values`` over the (non-empty) rows of each of ``tasks``."""
    import numpy as np

    nonempty = np.flatnonzero(ptr[1:] > ptr[:-1])
    minima = np.full(len(ptr) - 1, np.inf)
    if len(nonempty):
        minima[nonempty] = np.minimum.reduceat(values, ptr[:-1][nonempty])
    return minima[tasks]


STRATEGIES: dict[str, Strategy] = {"greedy": _greedy}

#: strategies that live in their own module and register themselves on import
#: (imported on first use, so that ``import assign`` stays light)
PROVIDERS: dict[str, str] = {"cpsat": ".cpsat", "auto": ".auto"}


def register(name: str, strategy: Strategy) -> None:
    """Make ``strategy`` available to :func:`assign.solve.solve` as ``name``."""
    STRATEGIES[name] = strategy


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; ValueError for an unknown one."""
    if name not in STRATEGIES and name in PROVIDERS:
        import importlib

        try:
            importlib.import_module(PROVIDERS[name], __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}{PROVIDERS[name]}":
                raise
    if name not in STRATEGIES:
        # (the known ones include those not imported yet: the message listed
        # only "greedy" when asked first, the audit of stop 47)
        known = sorted(set(STRATEGIES) | set(PROVIDERS))
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(known)}")
    return STRATEGIES[name]


__all__ = ["PROVIDERS", "STRATEGIES", "Strategy", "get_strategy", "register", "trivial_bound"]
