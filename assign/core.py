"""Array-level assignment core: items, agents, arcs, solved exactly by CP-SAT.

This module knows nothing about volunteers, tasks, times or places. The domain
solvers compile a problem into an :class:`ArcProblem` (plain numpy columns) and
call :func:`solve_arcs`; the GAP benchmark (``benchmarks/gap.py``) does the same
with OR-Library instances.

Model
-----
* ``n_items`` items (tasks, jobs) and ``n_agents`` agents (volunteers).
* An **arc** ``a`` is a way to serve item ``arc_item[a]`` by agent
  ``arc_agent[a]``; choosing it costs ``arc_cost[a]`` and uses ``arc_load[a]`` of
  the agent's ``agent_capacity``.
* An item is **covered** when exactly ``item_team[i]`` of its arcs are chosen,
  with pairwise distinct agents; otherwise none of its arcs may be chosen
  (whole teams only). Several arcs of one (item, agent) pair are allowed (for
  instance one per start time); at most one of them is chosen.
* ``must_cover[i]`` items have to be covered (GAP jobs); the others may stay
  uncovered at a penalty of ``item_weight[i]``.
* **Cliques** of arcs (CSR ``clique_ptr``, ``clique_arcs``): at most one arc of
  each clique is chosen (double booking of fixed-time visits).
* Input is checked when the problem is built: whole numbers where indexes,
  loads, capacities, weights, tiers and teams are meant (in the range of their
  column's integer type), costs, loads, capacities and weights at most 2^40
  in size (:data:`MAX_VALUE`), arc indexes in range (also a ``hint`` and the
  ``chosen`` of :func:`check_arcs` and :func:`evaluate_arcs`); anything else
  is a ``ValueError`` naming the argument.

Objective (lower is better), compared lexicographically::

    (U_1, ..., U_T, cost)

``U_k`` is the uncovered weight of the items of the k-th smallest tier value
(``ArcResult.tiers`` lists the values; a lower tier is strictly more urgent) and
``cost`` the sum of ``arc_cost`` over the chosen arcs.

Solving and bounds
------------------
:func:`solve_arcs` solves tier by tier, then the cost, on one CP-SAT model.
After a stage it adds ``stage objective <= value found`` and hints the next
stage with the incumbent, so every later stage stays feasible. A stage's
bound is the best of the CP-SAT bound, an LP bound of the *same restricted
model* (HiGHS, made rigorous from its duals, see :class:`_LP`) and a trivial
bound valid for every schedule. Within a stage the full model runs first;
when it does not prove the stage optimal in its share of the time, a
large-neighbourhood search (fix every arc outside a group of related agents
or items at the incumbent, re-solve the rest with CP-SAT, in parallel
threads; with the stage's LP solved, only each item's arcs of smallest LP
reduced cost are freed) improves the incumbent for the rest of the stage's
time. Optionally (``final_share``) the full model runs once more at the end
of the stage, from the search's incumbent, to prove or improve it.

Problems of the generalized-assignment shape (every item must be covered by
one arc, no cliques; :func:`_knapsacks`) get a stronger bound: the Lagrangian
relaxation of the coverage rows, one exact 0-1 knapsack per agent
(:mod:`assign.knapsack`), its multipliers started from the LP's duals. Its
value is a bound of the stage; per arc, the same relaxation with the arc
forced in bounds every selection that uses it, so arcs whose bound exceeds
the incumbent are fixed out (reduced-cost fixing: only selections at least
as good are cut off, never the incumbent). The search stops once the
incumbent meets the bound. When the fixing leaves at most a quarter of the
arcs, HiGHS' MIP looks for a selection strictly below the incumbent among
the arcs left — beside the search, in a thread of its own, from the moment
the fixing is that strong when two workers or more are allowed; else as the
final solve: "infeasible" proves the incumbent optimal, "optimal" proves what
it found (OR-Library gapc#6: 2,391, proven). On the same problems, before the
search, Dantzig-Wolfe diving (:mod:`assign.dive`: column generation over the
agents' knapsacks, fixing one agent's load at a time, limited discrepancy
search) looks for a selection strictly below the incumbent among the arcs the
fixing leaves — with two workers or more in a forked child, for the rest of
the stage (no final solve then), while the search goes on beside it on the
other workers (each selection the dive finds reaches the search as it is
found, and the search goes on from it when it is better); with one, for half
of the search's time, then the search from it. On OR-Library type D, where the search stalls 0.5 % above the
optimum on 20 agents, the dive lands within ~0.1 %.

Why the bounds are valid lexicographic bounds even when a stage is not
proven optimal: a bound ``B`` is valid when no feasible schedule ``S`` has
``S <lex B``; position ``k`` only has to hold for schedules that tie ``B`` on
positions ``< k``. Stage ``k`` is solved under ``U_j <= V_j`` (``V_j`` = value
found at stage ``j``) and ``B_j <= V_j``, so every schedule that ties the
bound prefix is feasible in the restricted model, and the restricted model's
bound holds for it. (Fixing with ``==`` instead of ``<=`` would break this;
so would fixing below the reported bound.)

Costs may be floats. CP-SAT needs integers: costs are multiplied by the
smallest power of ten (up to 1e6) that makes them integral, else by
``cost_scale`` (default 1e4) and rounded. The reported cost is always the
exact sum of the original costs; with rounding the cost bound is lowered by
the worst rounding error the chosen arcs could have, so it stays a bound.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from ortools.sat.python import cp_model
from scipy import sparse
from scipy.optimize import linprog

from . import clock as clocks
from .forking import forked
from .knapsack import KnapsackLagrangian

__all__ = [
    "ArcProblem",
    "ArcResult",
    "StageReport",
    "check_arcs",
    "cliques_csr",
    "evaluate_arcs",
    "lp_bound",
    "solve_arcs",
]

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]
Status = Literal["optimal", "feasible", "infeasible", "unknown"]

_MAX_EXACT_SCALE_DIGITS = 6
_DEFAULT_COST_SCALE = 1e4
_MAX_OBJECTIVE_SUM = float(1 << 50)
_REL_TOL = 1e-9
_NAN = math.nan
# large-neighbourhood search (tuned on OR-Library GAP types C and D, see benchmarks/HISTORY.md)
_LNS_SUB_LIMIT = 0.25  # seconds per neighbourhood
_LNS_K0 = 3  # first size of agent neighbourhoods (agents)
_LNS_ITEMS0 = 10  # first size of item neighbourhoods (items)
_LNS_ITEM_PROB = 0.1  # share of item neighbourhoods
_LNS_KEEP = 3  # per item, the arcs of the smallest LP reduced costs a neighbourhood may free
# knapsack Lagrangian bound (problems of the GAP shape, see _knapsacks)
_KNAP_SHARE = 0.15  # at most this share of the stage's time
_KNAP_ITERATIONS = 1000  # subgradient steps at most
_MIP_ARCS = 0.25  # the final MIP only when fixing left at most this share of the arcs
_DIVE_SHARE = 0.5  # Dantzig-Wolfe diving (assign.dive): this share of the search's time, then the search
# with two workers or more, the dive in a child and the search beside it: this
# share of the rest of the stage, final solve included (on OR-Library type D
# the final full solve after them almost never improved; they gain by its time)
_DIVE_SHARE_BESIDE = 1.0
_DIVE_MARGIN = 0.25  # seconds the dive beside ends before the stage, for its child to finish
_DIVE_GRACE = 1.0  # seconds the dive's child may overrun its share (a residual solve) before it is dropped
# the deterministic clock (workers=1, assign.clock): rates and charges of the
# core's steps, measured on OR-Library GAP (benchmarks/HISTORY.md, "One worker: the same schedule twice")
CORE_DTIME_PER_SECOND = 0.3  # CP-SAT deterministic time per second, full stage models
LNS_DTIME_PER_SECOND = 0.35  # the same for neighbourhood models
LNS_OVERHEAD_PER_VARIABLE = 3e-6  # seconds per x variable to clone, fix and hint one neighbourhood
LNS_OVERHEAD = 5e-3  # and per neighbourhood (a solve that proves at once: 4-9 ms on gapd#6, 0 deterministic time)
LP_SECONDS_PER_NONZERO = 1e-6  # a HiGHS LP bound, run to its end, per nonzero of its rows
MIP_NODES_PER_SECOND = 120.0  # HiGHS' MIP (_reduced_mip): its node limit per second of the clock (gapc#3: 243 nodes in 2.0 s)
MIP_SETUP_PER_ARC = 1e-5  # and its presolve and root, per arc
DETERMINISTIC_SHARE = 0.85  # of the time limit, planned on the deterministic clock


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


#: the largest size of an integer cost, load, capacity or weight, and of a
#: float cost: sums over a million arcs, and costs times ``cost_scale``, stay
#: inside CP-SAT's 64-bit integers (2^62 weights overflowed into a negative
#: objective labelled optimal; the audit of stop 48)
MAX_VALUE = 1 << 40


def _integers(arr: NDArray[Any], dtype: Any, name: str) -> NDArray[Any]:
    """``arr`` as integers of ``dtype``: refused unless every value is a whole
    number inside the dtype's range (a cast wrapped 2^32 + 1 to 1)."""
    if arr.dtype.kind not in "iubf":
        raise ValueError(f"{name}: expected integers, got {arr.dtype}")
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
        raise ValueError(f"{name}: expected integers")
    info = np.iinfo(dtype)
    if arr.size and (arr.min() < info.min or arr.max() > info.max):
        raise ValueError(f"{name}: values outside the range of {np.dtype(dtype).name}")
    return np.array(arr, dtype=dtype)  # a copy we own


def _column(value: ArrayLike | None, n: int, dtype: Any, default: Any, name: str) -> NDArray[Any]:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name}: expected a 1-D array of length {n}, got shape {arr.shape}")
    if np.dtype(dtype).kind == "i":
        return _integers(arr, dtype, name)
    if dtype is np.bool_ and arr.dtype.kind != "b":
        raise ValueError(f"{name}: expected booleans")
    if np.dtype(dtype).kind == "f" and arr.dtype.kind not in "iubf":
        raise ValueError(f"{name}: expected numbers, got {arr.dtype}")
    return np.array(arr, dtype=dtype)  # a copy we own


def _arc_indexes(problem: ArcProblem, value: ArrayLike, name: str) -> I64:
    """Arc indexes given by a caller, each in ``[0, n_arcs)``."""
    arr = np.asarray(value).reshape(-1)
    idx = _integers(arr, np.int64, name)
    if idx.size and (idx.min() < 0 or idx.max() >= problem.n_arcs):
        raise ValueError(f"{name}: arc index out of range [0, {problem.n_arcs})")
    return idx


def cliques_csr(cliques: Sequence[Sequence[int]]) -> tuple[I64, I32]:
    """Lists of arc indices -> ``(clique_ptr, clique_arcs)``."""
    ptr = np.zeros(len(cliques) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(c) for c in cliques])
    flat = [int(a) for c in cliques for a in c]
    return ptr, np.asarray(flat, dtype=np.int32)


@dataclass(frozen=True, init=False, eq=False)
class ArcProblem:
    """An assignment problem as numpy columns (see the module docstring).

    Arrays are copied on construction and made read-only. Only the first
    seven arguments are required; the defaults are weight 1, tier 1, team 1,
    optional coverage and no cliques.
    """

    n_items: int
    n_agents: int
    arc_item: I32
    arc_agent: I32
    arc_cost: NDArray[Any]  # float64, or int64 when given integers
    arc_load: I64
    agent_capacity: I64
    item_weight: I64
    item_tier: I32
    item_team: I64
    must_cover: Bools
    clique_ptr: I64
    clique_arcs: I32

    def __init__(
        self,
        n_items: int,
        n_agents: int,
        arc_item: ArrayLike,
        arc_agent: ArrayLike,
        arc_cost: ArrayLike,
        arc_load: ArrayLike,
        agent_capacity: ArrayLike,
        *,
        item_weight: ArrayLike | None = None,
        item_tier: ArrayLike | None = None,
        item_team: ArrayLike | None = None,
        must_cover: ArrayLike | None = None,
        clique_ptr: ArrayLike | None = None,
        clique_arcs: ArrayLike | None = None,
    ) -> None:
        for label, count in (("n_items", n_items), ("n_agents", n_agents)):
            if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
                raise ValueError(f"{label}: expected a whole number, got {count!r}")
        n_items, n_agents = int(n_items), int(n_agents)
        if n_items < 0 or n_agents < 0:
            raise ValueError("n_items and n_agents must be >= 0")
        item = np.asarray(arc_item)
        if item.ndim != 1:
            raise ValueError("arc_item: expected a 1-D array")
        n_arcs = item.shape[0]
        item = _column(item, n_arcs, np.int32, 0, "arc_item")
        agent = _column(arc_agent, n_arcs, np.int32, 0, "arc_agent")
        raw_cost = np.asarray(arc_cost)
        if raw_cost.dtype.kind not in "iubf":
            raise ValueError(f"arc_cost: expected numbers, got {raw_cost.dtype}")
        if raw_cost.dtype.kind in "iub":
            cost = _column(raw_cost, n_arcs, np.int64, 0, "arc_cost")
        else:
            cost = _column(raw_cost.astype(np.float64), n_arcs, np.float64, 0.0, "arc_cost")
            if not np.all(np.isfinite(cost)):
                raise ValueError("arc_cost: expected finite values")
        load = _column(arc_load, n_arcs, np.int64, 0, "arc_load")
        cap = _column(agent_capacity, n_agents, np.int64, 0, "agent_capacity")
        weight = _column(item_weight, n_items, np.int64, 1, "item_weight")
        tier = _column(item_tier, n_items, np.int32, 1, "item_tier")
        team = _column(item_team, n_items, np.int64, 1, "item_team")
        must = _column(must_cover, n_items, np.bool_, False, "must_cover")
        if clique_ptr is None and clique_arcs is None:
            cptr, carcs = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
        elif clique_ptr is None or clique_arcs is None:
            raise ValueError("clique_ptr and clique_arcs go together")
        else:
            cptr = _integers(np.asarray(clique_ptr).reshape(-1), np.int64, "clique_ptr")
            carcs = _integers(np.asarray(clique_arcs).reshape(-1), np.int32, "clique_arcs")
        if n_arcs and (item.min() < 0 or item.max() >= n_items):
            raise ValueError("arc_item: index out of range")
        if n_arcs and (agent.min() < 0 or agent.max() >= n_agents):
            raise ValueError("arc_agent: index out of range")
        for label, column in (
            ("arc_cost", cost), ("arc_load", load), ("agent_capacity", cap), ("item_weight", weight)
        ):
            if column.size and max(-float(column.min()), float(column.max())) > MAX_VALUE:
                raise ValueError(f"{label}: values must be at most 2^40 in size")
        if np.any(load < 0):
            raise ValueError("arc_load: must be >= 0")
        if np.any(cap < 0):
            raise ValueError("agent_capacity: must be >= 0")
        if np.any(weight < 0):
            raise ValueError("item_weight: must be >= 0")
        if np.any(team < 1):
            raise ValueError("item_team: must be >= 1")
        if (
            cptr.shape[0] < 1
            or cptr[0] != 0
            or cptr[-1] != carcs.shape[0]
            or np.any(np.diff(cptr) < 0)
        ):
            raise ValueError(
                "clique_ptr: must start at 0, not decrease and end at len(clique_arcs)"
            )
        if carcs.shape[0] and (carcs.min() < 0 or carcs.max() >= n_arcs):
            raise ValueError("clique_arcs: arc index out of range")
        values: dict[str, Any] = {
            "n_items": n_items,
            "n_agents": n_agents,
            "arc_item": item,
            "arc_agent": agent,
            "arc_cost": cost,
            "arc_load": load,
            "agent_capacity": cap,
            "item_weight": weight,
            "item_tier": tier,
            "item_team": team,
            "must_cover": must,
            "clique_ptr": cptr,
            "clique_arcs": carcs,
        }
        for key, value in values.items():
            object.__setattr__(
                self, key, _readonly(value) if isinstance(value, np.ndarray) else value
            )

    @property
    def n_arcs(self) -> int:
        return int(self.arc_item.shape[0])

    @property
    def n_cliques(self) -> int:
        return int(self.clique_ptr.shape[0] - 1)

    @property
    def tiers(self) -> tuple[int, ...]:
        """The distinct tier values, most urgent first: the order of ``U``."""
        return tuple(int(t) for t in np.unique(self.item_tier))

    @classmethod
    def from_gap(cls, cost: ArrayLike, resource: ArrayLike, capacity: ArrayLike) -> ArcProblem:
        """A generalized assignment problem (minimisation): ``cost[i, j]`` and
        ``resource[i, j]`` of job ``j`` done by agent ``i``; every job is assigned."""
        c = np.asarray(cost)
        r = np.asarray(resource)
        if c.ndim != 2 or c.shape != r.shape:
            raise ValueError("cost and resource must be m x n matrices of one shape")
        m, n = c.shape
        agent, item = np.divmod(np.arange(m * n, dtype=np.int64), n)
        return cls(
            n,
            m,
            item,
            agent,
            c.reshape(-1),
            r.reshape(-1),
            capacity,
            must_cover=np.ones(n, dtype=bool),
        )


@dataclass(frozen=True)
class StageReport:
    """One lexicographic stage: ``name`` is ``"tier <value>"`` or ``"cost"``;
    ``value`` and ``bound`` in the problem's units (cost unscaled);
    ``status`` is the CP-SAT status name of the full solve, or ``"skipped"``
    (nothing to decide); ``lns_*`` count the neighbourhoods solved after it and
    how many improved the stage."""

    name: str
    status: str
    value: float
    bound: float
    lp_bound: float | None
    seconds: float
    lns_neighbourhoods: int = 0
    lns_improvements: int = 0


@dataclass(frozen=True, eq=False)
class ArcResult:
    """What :func:`solve_arcs` found.

    ``chosen`` is a bool mask over arcs and ``covered`` over items (all False
    when no solution is known). ``objective`` and ``bound`` are
    ``(U_1, ..., U_T, cost)`` with ``T = len(tiers)``; ``bound`` is a valid
    lexicographic lower bound (no feasible selection is lexicographically
    smaller). Without a solution ``objective`` is all ``inf``; a proven
    infeasible problem has an all-``inf`` bound too.
    """

    chosen: Bools
    covered: Bools
    tiers: tuple[int, ...]
    objective: tuple[float, ...]
    bound: tuple[float, ...]
    status: Status
    seconds: float
    stages: tuple[StageReport, ...]
    cost_scale: float

    @property
    def uncovered(self) -> tuple[float, ...]:
        return self.objective[:-1]

    @property
    def cost(self) -> float:
        return self.objective[-1]

    @property
    def gap(self) -> float | None:
        """``(cost - bound cost) / max(1, |cost|)`` once the U parts agree, else None."""
        if self.uncovered != self.bound[:-1] or not math.isfinite(self.cost):
            return None
        return (self.cost - self.bound[-1]) / max(1.0, abs(self.cost))


# --------------------------------------------------------------------------
# checking and evaluating a selection


def _as_mask(problem: ArcProblem, chosen: ArrayLike, name: str = "chosen") -> Bools:
    arr = np.asarray(chosen)
    if arr.dtype.kind == "b":
        if arr.shape != (problem.n_arcs,):
            raise ValueError(f"{name}: expected {problem.n_arcs} booleans")
        return arr.astype(bool)
    mask = np.zeros(problem.n_arcs, dtype=bool)
    mask[_arc_indexes(problem, arr, name)] = True
    return mask


def check_arcs(problem: ArcProblem, chosen: ArrayLike) -> list[str]:
    """Rule violations of a selection (bool mask or arc indices); empty when valid."""
    p = problem
    x = _as_mask(p, chosen)
    issues: list[str] = []
    count = np.bincount(p.arc_item[x], minlength=p.n_items)
    bad = np.flatnonzero((count != 0) & (count != p.item_team))
    issues += [f"item {i}: {count[i]} arcs chosen, team is {p.item_team[i]}" for i in bad]
    pairs = p.arc_item[x].astype(np.int64) * max(p.n_agents, 1) + p.arc_agent[x]
    uniq, times = np.unique(pairs, return_counts=True)
    for key in uniq[times > 1]:
        issues.append(
            f"item {key // max(p.n_agents, 1)}: agent {key % max(p.n_agents, 1)} chosen twice"
        )
    issues += [f"item {i}: must be covered" for i in np.flatnonzero(p.must_cover & (count == 0))]
    used = np.bincount(p.arc_agent[x], weights=p.arc_load[x], minlength=p.n_agents)
    over = np.flatnonzero(used > p.agent_capacity)
    issues += [f"agent {a}: load {int(used[a])} > capacity {p.agent_capacity[a]}" for a in over]
    if len(p.clique_arcs):
        clique_of = np.repeat(np.arange(p.n_cliques, dtype=np.int64), np.diff(p.clique_ptr))
        keys = np.unique(
            clique_of * max(p.n_arcs, 1) + p.clique_arcs
        )  # an arc listed twice counts once
        hit = keys[x[keys % max(p.n_arcs, 1)]] // max(p.n_arcs, 1)
        per = np.bincount(hit, minlength=p.n_cliques)
        issues += [f"clique {k}: {per[k]} arcs chosen" for k in np.flatnonzero(per > 1)]
    return issues


def evaluate_arcs(problem: ArcProblem, chosen: ArrayLike) -> tuple[float, ...]:
    """``(U_1, ..., U_T, cost)`` of a selection (no validity check)."""
    p = problem
    x = _as_mask(p, chosen)
    covered = np.bincount(p.arc_item[x], minlength=p.n_items) > 0
    tiers = np.unique(p.item_tier)
    unc = [int(p.item_weight[(p.item_tier == t) & ~covered].sum()) for t in tiers]
    cost = math.fsum(p.arc_cost[x].tolist())
    return (*unc, float(cost))


# --------------------------------------------------------------------------
# preprocessing shared by the CP-SAT model and the LP


@dataclass
class _Prep:
    usable: I64  # arc indices that may be chosen
    coverable: Bools  # items that can be covered at all
    optional: I64  # coverable items that may stay uncovered
    must: I64  # must-cover items (all coverable if feasible)
    infeasible_items: I64  # must-cover items that cannot be covered
    tiers: I64
    tier_of_item: I64  # index into tiers, per item
    forced: I64  # per tier: weight that is uncovered in every selection
    trivial_cost: float  # lower bound on cost valid for every feasible selection
    max_chosen: int  # most arcs any feasible selection can choose


def _prepare(p: ArcProblem) -> _Prep:
    fits = p.arc_load <= p.agent_capacity[p.arc_agent]
    cand = np.flatnonzero(fits)
    n_ag = max(p.n_agents, 1)
    pairs = np.unique(p.arc_item[cand].astype(np.int64) * n_ag + p.arc_agent[cand])
    distinct = np.bincount(pairs // n_ag, minlength=p.n_items)
    coverable = distinct >= p.item_team
    usable = cand[coverable[p.arc_item[cand]]]
    tiers = np.unique(p.item_tier).astype(np.int64)
    tier_of_item = np.searchsorted(tiers, p.item_tier).astype(np.int64)
    out = ~coverable & ~p.must_cover
    forced = np.bincount(tier_of_item[out], weights=p.item_weight[out], minlength=len(tiers))
    forced = np.rint(forced).astype(np.int64) if len(tiers) else np.zeros(0, dtype=np.int64)
    # trivial cost bound: the `team` cheapest usable arcs of each coverable item
    cost = p.arc_cost[usable].astype(np.float64)
    items = p.arc_item[usable].astype(np.int64)
    order = np.lexsort((cost, items))
    items_s, cost_s = items[order], cost[order]
    first = np.searchsorted(items_s, np.arange(p.n_items))
    rank = np.arange(len(items_s)) - first[items_s] if len(items_s) else np.zeros(0, dtype=np.int64)
    take = rank < p.item_team[items_s]
    per_item = np.bincount(items_s[take], weights=cost_s[take], minlength=p.n_items)
    per_item = np.where(p.must_cover, per_item, np.minimum(per_item, 0.0))
    trivial = math.fsum(per_item[coverable].tolist())
    max_chosen = int(min(p.item_team[coverable].sum(), len(usable)))
    return _Prep(
        usable=usable.astype(np.int64),
        coverable=coverable,
        optional=np.flatnonzero(coverable & ~p.must_cover).astype(np.int64),
        must=np.flatnonzero(coverable & p.must_cover).astype(np.int64),
        infeasible_items=np.flatnonzero(~coverable & p.must_cover).astype(np.int64),
        tiers=tiers,
        tier_of_item=tier_of_item,
        forced=forced,
        trivial_cost=trivial,
        max_chosen=max_chosen,
    )


def _cost_scale(
    cost: NDArray[Any], usable: I64, max_chosen: int, scale: float | None
) -> tuple[float, I64, bool]:
    """(scale, integer costs of all arcs, exact?)."""
    c = cost.astype(np.float64)
    if cost.dtype.kind == "i" and scale is None:
        return 1.0, cost.astype(np.int64), True
    cu = np.abs(c[usable])
    biggest = float(np.sort(cu)[-max_chosen:].sum()) if max_chosen and len(cu) else 0.0

    def fits(s: float) -> bool:
        return biggest * s <= _MAX_OBJECTIVE_SUM

    candidates = (
        [float(scale)]
        if scale is not None
        else [10.0**k for k in range(_MAX_EXACT_SCALE_DIGITS + 1)]
    )
    for s in candidates:
        r = c * s
        if fits(s) and np.all(np.abs(r - np.rint(r)) <= _REL_TOL * np.maximum(1.0, np.abs(r))):
            return s, np.rint(r).astype(np.int64), True
    s = float(scale) if scale is not None else _DEFAULT_COST_SCALE
    while s > 1e-12 and not fits(s):
        s /= 10.0
    return s, np.rint(c * s).astype(np.int64), False


# --------------------------------------------------------------------------
# LP relaxation (HiGHS through scipy), with a rigorous dual bound


class _LP:
    """LP relaxation over ``z = (x over usable arcs, y over optional items)``.

    :meth:`bound` returns a lower bound computed from the solver's duals by
    Lagrangian duality (``b.m + sum(min(0, reduced cost))`` over the box
    ``0 <= z <= 1``), which is valid for any multipliers of the right sign, so
    solver tolerances cannot make it too high.
    """

    def __init__(self, p: ArcProblem, prep: _Prep):
        u = prep.usable
        nu, no = len(u), len(prep.optional)
        self.nu, self.no = nu, no
        self.n = nu + no
        ypos = np.full(p.n_items, -1, dtype=np.int64)
        ypos[prep.optional] = nu + np.arange(no)
        self.ypos = ypos
        items = p.arc_item[u].astype(np.int64)
        agents = p.arc_agent[u].astype(np.int64)
        cover = np.flatnonzero(prep.coverable)
        row_of_item = np.full(p.n_items, -1, dtype=np.int64)
        row_of_item[cover] = np.arange(len(cover))
        # equalities: sum x - team*y = 0 (optional), sum x = team (must)
        er = [row_of_item[items], row_of_item[prep.optional]]
        ec = [np.arange(nu), ypos[prep.optional]]
        ev = [np.ones(nu), -p.item_team[prep.optional].astype(np.float64)]
        b_eq = np.where(p.must_cover[cover], p.item_team[cover], 0).astype(np.float64)
        self.A_eq = sparse.csr_matrix(
            (np.concatenate(ev), (np.concatenate(er), np.concatenate(ec))),
            shape=(len(cover), self.n),
        )
        self.b_eq = b_eq
        self.cover_items = cover  # the item of each equality row
        rows: list[I64] = []
        cols: list[I64] = []
        vals: list[F64] = []
        rhs: list[float] = []
        nrow = 0
        # capacities that can bind
        total = np.bincount(agents, weights=p.arc_load[u], minlength=p.n_agents)
        binding = total > p.agent_capacity
        sel = np.flatnonzero(binding[agents])
        if len(sel):
            ag = np.flatnonzero(binding)
            r_of = np.full(p.n_agents, -1, dtype=np.int64)
            r_of[ag] = nrow + np.arange(len(ag))
            rows.append(r_of[agents[sel]])
            cols.append(sel)
            vals.append(p.arc_load[u][sel].astype(np.float64))
            rhs += p.agent_capacity[ag].astype(float).tolist()
            nrow += len(ag)
        # at-most-one groups: cliques and duplicate (item, agent) pairs
        for group in _amo_groups(p, prep):
            rows.append(np.full(len(group), nrow, dtype=np.int64))
            cols.append(group)
            vals.append(np.ones(len(group)))
            rhs.append(1.0)
            nrow += 1
        # x <= y for optional team items (implied for team 1)
        team_opt = p.item_team[items] > 1
        sel = np.flatnonzero(team_opt & (ypos[items] >= 0))
        if len(sel):
            k = np.arange(len(sel), dtype=np.int64)
            rows += [nrow + k, nrow + k]
            cols += [sel, ypos[items[sel]]]
            vals += [np.ones(len(sel)), -np.ones(len(sel))]
            rhs += [0.0] * len(sel)
            nrow += len(sel)
        self.A_ub = sparse.csr_matrix(
            (
                np.concatenate(vals) if vals else np.zeros(0),
                (
                    np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
                    np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
                ),
            ),
            shape=(nrow, self.n),
        )
        self.b_ub = np.asarray(rhs, dtype=np.float64)
        self.reduced: F64 | None = None  # reduced costs of the last solved LP
        self.eq_duals: F64 | None = None  # and the multipliers of its equality rows

    def bound(
        self,
        c: F64,
        extra: Sequence[tuple[F64, float]],
        time_limit: float | None,
    ) -> float | None:
        """Lower bound of ``min c.z`` s.t. the base rows and ``row.z <= rhs`` for
        ``extra``; None when the LP could not be solved in time."""
        A_ub = self.A_ub
        b_ub = self.b_ub
        if extra:
            A_ub = sparse.vstack(
                [A_ub, sparse.csr_matrix(np.vstack([r for r, _ in extra]))], format="csr"
            )
            b_ub = np.concatenate([b_ub, np.asarray([b for _, b in extra], dtype=np.float64)])
        self.reduced = None
        self.eq_duals = None
        if self.n == 0:
            return 0.0
        options: dict[str, Any] = {"presolve": True}
        clock = clocks.current()
        if clock.deterministic:
            # run to its end (the wall clock's safety net aside) and count it by its size
            time_limit = clock.wall_left()
            clock.charge(LP_SECONDS_PER_NONZERO * (A_ub.nnz + self.A_eq.nnz + self.n))
        if time_limit is not None:
            options["time_limit"] = max(float(time_limit), 1e-3)
        has_ub = A_ub.shape[0] > 0
        has_eq = self.A_eq.shape[0] > 0
        try:
            res = linprog(
                c,
                A_ub=A_ub if has_ub else None,
                b_ub=b_ub if has_ub else None,
                A_eq=self.A_eq if has_eq else None,
                b_eq=self.b_eq if has_eq else None,
                bounds=(0.0, 1.0),
                method="highs",
                options=options,
            )
        except (ValueError, RuntimeError):
            return None
        if res.status != 0:
            return None
        m_ub = np.minimum(np.asarray(res.ineqlin.marginals), 0.0) if has_ub else np.zeros(0)
        m_eq = np.asarray(res.eqlin.marginals) if has_eq else np.zeros(0)
        reduced = c.astype(np.float64).copy()
        if has_ub:
            reduced -= A_ub.T @ m_ub
        if has_eq:
            reduced -= self.A_eq.T @ m_eq
        self.reduced = reduced  # a guide for the search (no part of the bound)
        self.eq_duals = m_eq if has_eq else None
        terms = np.concatenate([m_ub * b_ub, m_eq * self.b_eq, np.minimum(reduced, 0.0)])
        value = math.fsum(terms.tolist())
        scale = math.fsum(np.abs(terms).tolist())
        return value - 1e-9 * max(1.0, scale)


def _knapsacks(p: ArcProblem, prep: _Prep) -> KnapsackLagrangian | None:
    """The knapsack Lagrangian (:mod:`assign.knapsack`) of a problem of the
    generalized-assignment shape — every coverable item must be covered by one
    arc, no cliques — when its dynamic programme is small enough; else None."""
    if len(prep.optional) or not len(prep.must) or p.n_cliques:
        return None
    if np.any(p.item_team[prep.must] != 1):
        return None
    u = prep.usable
    agents = p.arc_agent[u].astype(np.int64)
    load = p.arc_load[u]
    counts = np.bincount(agents, minlength=p.n_agents)
    room = np.minimum(p.agent_capacity, np.bincount(agents, weights=load, minlength=p.n_agents))
    if not KnapsackLagrangian.fits(int((counts > 0).sum()), int(counts.max()), int(room.max())):
        return None
    return KnapsackLagrangian(
        p.n_items, p.arc_item[u].astype(np.int64), agents, p.arc_cost[u].astype(np.float64), load, p.agent_capacity
    )


def _amo_groups(p: ArcProblem, prep: _Prep) -> list[I64]:
    """At-most-one groups as positions in ``prep.usable``: the cliques (restricted
    to usable arcs, deduplicated) and arcs sharing one (item, agent) pair."""
    pos = np.full(p.n_arcs, -1, dtype=np.int64)
    pos[prep.usable] = np.arange(len(prep.usable))
    groups: list[I64] = []
    ptr = p.clique_ptr
    mapped = pos[p.clique_arcs] if len(p.clique_arcs) else np.zeros(0, dtype=np.int64)
    for k in range(p.n_cliques):
        g = np.unique(mapped[ptr[k] : ptr[k + 1]])
        g = g[g >= 0]
        if len(g) >= 2:
            groups.append(g)
    u = prep.usable
    n_ag = max(p.n_agents, 1)
    keys = p.arc_item[u].astype(np.int64) * n_ag + p.arc_agent[u]
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    if len(ks):
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        ends = np.r_[starts[1:], len(ks)]
        for s, e in zip(starts, ends, strict=True):
            if e - s >= 2:
                groups.append(order[s:e].astype(np.int64))
    return groups


# --------------------------------------------------------------------------
# CP-SAT


@dataclass
class _Stage:
    name: str
    vars: list[Any]  # CP-SAT literals
    coefs: list[int]
    offset: int  # stage value = offset + sum coefs * vars
    lp_c: F64  # LP objective over z (same sense, no offset)
    tier: int | None  # tier index, None for cost


def _build(
    p: ArcProblem, prep: _Prep, icost: I64
) -> tuple[cp_model.CpModel, list[Any], list[Any], list[_Stage]]:
    model = cp_model.CpModel()
    u = prep.usable
    xs = [model.new_bool_var("") for _ in range(len(u))]
    ys = [model.new_bool_var("") for _ in range(len(prep.optional))]
    ypos = np.full(p.n_items, -1, dtype=np.int64)
    ypos[prep.optional] = np.arange(len(prep.optional))
    items = p.arc_item[u].astype(np.int64)
    order = np.argsort(items, kind="stable")
    first = np.searchsorted(items[order], np.arange(p.n_items + 1))
    for i in np.flatnonzero(prep.coverable):
        lits = [xs[k] for k in order[first[i] : first[i + 1]]]
        team = int(p.item_team[i])
        if p.must_cover[i]:
            if team == 1:
                model.add_exactly_one(lits)
            else:
                model.add(cp_model.LinearExpr.sum(lits) == team)
        else:
            y = ys[ypos[i]]
            if team == 1:
                model.add_exactly_one([*lits, ~y])
            else:
                model.add(cp_model.LinearExpr.sum(lits) == team * y)
                for lit in lits:
                    model.add_implication(lit, y)
    agents = p.arc_agent[u].astype(np.int64)
    loads = p.arc_load[u]
    total = np.bincount(agents, weights=loads, minlength=p.n_agents)
    a_order = np.argsort(agents, kind="stable")
    a_first = np.searchsorted(agents[a_order], np.arange(p.n_agents + 1))
    for a in np.flatnonzero(total > p.agent_capacity):
        ks = a_order[a_first[a] : a_first[a + 1]]
        model.add(
            cp_model.LinearExpr.weighted_sum([xs[k] for k in ks], loads[ks].tolist())
            <= int(p.agent_capacity[a])
        )
    for group in _amo_groups(p, prep):
        model.add_at_most_one([xs[k] for k in group])
    n_z = len(u) + len(prep.optional)
    stages: list[_Stage] = []
    opt_w = p.item_weight[prep.optional]
    opt_t = prep.tier_of_item[prep.optional]
    for t in range(len(prep.tiers)):
        sel = np.flatnonzero((opt_t == t) & (opt_w > 0))
        if not len(sel):
            continue
        w = opt_w[sel]
        lp_c = np.zeros(n_z)
        lp_c[len(u) + sel] = -w
        stages.append(
            _Stage(
                name=f"tier {int(prep.tiers[t])}",
                vars=[ys[k] for k in sel],
                coefs=(-w).tolist(),
                offset=int(w.sum()),
                lp_c=lp_c,
                tier=t,
            )
        )
    cu = icost[u]
    nz = np.flatnonzero(cu != 0)
    if len(nz):
        lp_c = np.zeros(n_z)
        lp_c[: len(u)] = p.arc_cost[u].astype(np.float64)
        stages.append(
            _Stage(
                name="cost",
                vars=[xs[k] for k in nz],
                coefs=cu[nz].tolist(),
                offset=0,
                lp_c=lp_c,
                tier=None,
            )
        )
    return model, xs, ys, stages


def _apply_params(
    prm: Any, time_limit: float, workers: int, seed: int, params: Mapping[str, Any] | None
) -> None:
    prm.max_time_in_seconds = max(1e-3, float(time_limit))
    prm.num_workers = int(workers)
    prm.random_seed = int(seed) % (1 << 31)
    for key, value in (params or {}).items():
        if isinstance(value, list | tuple):  # repeated fields, e.g. ignore_subsolvers
            getattr(prm, key).extend(value)
        else:
            setattr(prm, key, value)


class _Engine:
    """The CP-SAT model of one problem and the moves on it: hints, stage
    solves and large-neighbourhood search."""

    def __init__(self, p: ArcProblem, prep: _Prep, icost: I64):
        self.p, self.prep, self.icost = p, prep, icost
        self.model, self.xs, self.ys, self.stages = _build(p, prep, icost)
        self.x_index = np.asarray([v.index for v in self.xs], dtype=np.int64)
        self.y_index = np.asarray([v.index for v in self.ys], dtype=np.int64)
        u = prep.usable
        self.u_item = p.arc_item[u].astype(np.int64)
        self.u_agent = p.arc_agent[u].astype(np.int64)
        # CSR of usable positions by agent and by item (for neighbourhoods)
        self.by_agent = np.argsort(self.u_agent, kind="stable")
        self.agent_ptr = np.searchsorted(self.u_agent[self.by_agent], np.arange(p.n_agents + 1))
        self.by_item = np.argsort(self.u_item, kind="stable")
        self.item_ptr = np.searchsorted(self.u_item[self.by_item], np.arange(p.n_items + 1))
        self.active_agents = np.flatnonzero(np.diff(self.agent_ptr) > 0)
        self.active_items = np.flatnonzero(np.diff(self.item_ptr) > 0)
        self.lns_sizes: tuple[float, ...] = ()
        self.near: Bools | None = None  # per usable arc: LP-near its item (see set_guide)

    def set_guide(self, reduced: F64 | None) -> None:
        """Mark, per item, the usable arcs whose LP reduced cost is among its
        ``_LNS_KEEP`` smallest (ties included); neighbourhoods free only those
        (and the incumbent's arcs). A heuristic filter: it never touches a bound."""
        self.near = None
        if reduced is None or len(reduced) != len(self.xs) or not len(self.xs):
            return
        order = np.lexsort((reduced, self.u_item))
        items_s = self.u_item[order]
        first = np.searchsorted(items_s, np.arange(self.p.n_items + 1))
        last = np.minimum(first[:-1] + _LNS_KEEP, first[1:]) - 1  # the KEEP-th smallest
        thr = np.full(self.p.n_items, np.inf)
        has = first[1:] > first[:-1]
        thr[has] = reduced[order[last[has]]]
        cut = thr[self.u_item]
        self.near = reduced <= cut + 1e-9 * (1.0 + np.abs(cut))

    # -- solutions ---------------------------------------------------------

    def mask_from(self, solution: NDArray[np.int64]) -> Bools:
        mask = np.zeros(self.p.n_arcs, dtype=bool)
        if len(self.x_index):
            mask[self.prep.usable] = solution[self.x_index] > 0
        return mask

    def covered(self, mask: Bools) -> Bools:
        return np.bincount(self.p.arc_item[mask], minlength=self.p.n_items) > 0

    def stage_value(self, stage: _Stage, mask: Bools) -> int:
        if stage.tier is None:
            return int(self.icost[mask].sum())
        prep = self.prep
        sel = prep.optional[prep.tier_of_item[prep.optional] == stage.tier]
        return int(self.p.item_weight[sel][~self.covered(mask)[sel]].sum())

    def hint(self, model: cp_model.CpModel, mask: Bools, positions: I64 | None = None) -> None:
        """Hint ``mask`` on the x variables at ``positions`` (default all) and all y."""
        model.clear_hints()
        pos = np.arange(len(self.xs)) if positions is None else positions
        vals = mask[self.prep.usable[pos]].astype(np.int64)
        yv = self.covered(mask)[self.prep.optional].astype(np.int64)
        hint = model.proto.solution_hint
        hint.vars.extend(np.concatenate([self.x_index[pos], self.y_index]).tolist())
        hint.values.extend(np.concatenate([vals, yv]).tolist())

    # -- large-neighbourhood search ----------------------------------------

    def _walk(self, rng: np.random.Generator, start_agent: bool, k: int) -> I64:
        """``k`` related agents (or items): a random one, then a random walk on
        the arc graph (agent -> arc -> item -> arc -> agent), random ones when
        the walk gets stuck."""
        if start_agent:
            pool, own_ptr, own, other_ptr, other = (
                self.active_agents,
                self.agent_ptr,
                self.by_agent,
                self.item_ptr,
                self.by_item,
            )
            own_of, other_of = self.u_agent, self.u_item
        else:
            pool = self.active_items
            own_ptr, own, other_ptr, other = (
                self.item_ptr,
                self.by_item,
                self.agent_ptr,
                self.by_agent,
            )
            own_of, other_of = self.u_item, self.u_agent
        k = min(k, len(pool))
        chosen = [int(rng.choice(pool))]
        seen = set(chosen)
        tries = 0
        while len(chosen) < k and tries < 8 * k:
            tries += 1
            a = chosen[int(rng.integers(len(chosen)))]
            arcs = own[own_ptr[a] : own_ptr[a + 1]]
            mid = int(other_of[arcs[int(rng.integers(len(arcs)))]])
            peers = other[other_ptr[mid] : other_ptr[mid + 1]]
            b = int(own_of[peers[int(rng.integers(len(peers)))]])
            if b not in seen:
                seen.add(b)
                chosen.append(b)
        while len(chosen) < k:
            b = int(rng.choice(pool))
            if b not in seen:
                seen.add(b)
                chosen.append(b)
        return np.asarray(chosen, dtype=np.int64)

    def neighbourhood(self, rng: np.random.Generator, kind: int, k: int, incumbent: Bools) -> I64:
        """Free x positions of one neighbourhood.

        kind 0: every arc of ``k`` related agents and of the items they serve
        (work is reshuffled inside the group and may also leave it);
        kind 1: every arc of ``k`` related items (they may move to any agent
        with room left)."""
        item_free = np.zeros(self.p.n_items, dtype=bool)
        if kind == 0:
            group = np.zeros(self.p.n_agents, dtype=bool)
            group[self._walk(rng, True, k)] = True
            free = group[self.u_agent]
            item_free[self.u_item[free & incumbent[self.prep.usable]]] = True
            return np.flatnonzero(free | item_free[self.u_item])
        item_free[self._walk(rng, False, k)] = True
        return np.flatnonzero(item_free[self.u_item])

    def lns(
        self,
        stage: _Stage,
        incumbent: Bools,
        value: int,
        deadline: float,
        workers: int,
        seed: int,
        params: Mapping[str, Any] | None,
        floor: int | None = None,
        stop: threading.Event | None = None,
        until: Callable[[int], bool] | None = None,
        sizes: tuple[float, ...] = (),
        inject: Callable[[], Bools | None] | None = None,
    ) -> tuple[Bools, int, int, int]:
        """Improve ``incumbent`` until ``deadline``: fix every x outside a
        neighbourhood at its incumbent value and solve the rest (one CP-SAT
        worker per neighbourhood). ``workers`` threads (CP-SAT releases the
        GIL) each loop on their own: take the current incumbent, solve one
        neighbourhood, and install the result when it is strictly better (or
        equal, as a sideways move, when nobody changed the incumbent meanwhile);
        no thread waits for another. When the stage has an LP guide
        (:meth:`set_guide`), a neighbourhood frees only each item's LP-nearest
        arcs and its incumbent arcs, so larger groups fit in the time per
        neighbourhood. The size of each kind of neighbourhood adapts: it grows
        after a quick proof and shrinks after a timeout. With one worker the
        search runs in the calling thread and is reproducible up to time
        limits. The search stops early once the incumbent's value is at most
        ``floor`` (a proven bound: nothing better exists), once ``stop`` is set
        (another thread proved the stage) or once ``until`` holds for the
        incumbent's value. ``sizes``: the neighbourhood sizes to start from
        (those a previous call adapted, :attr:`lns_sizes`). ``inject()``, when
        given, returns a valid selection found elsewhere (None: none new; e.g.
        the dive's child beside the search): before each neighbourhood every
        one waiting is taken, and installed when strictly better. Returns
        (incumbent, value, neighbourhoods solved, improvements)."""
        if len(self.active_agents) == 0:
            return incumbent, value, 0, 0
        n_par = max(1, int(workers))
        size = list(sizes) if len(sizes) == 2 else [
            float(min(_LNS_K0, len(self.active_agents))),
            float(min(_LNS_ITEMS0, len(self.active_items))),
        ]
        cap = [float(len(self.active_agents)), float(len(self.active_items))]
        base = self.model  # has the stage objective and every earlier fixing
        all_pos = np.arange(len(self.xs))
        lock = threading.Lock()
        state: dict[str, Any] = {
            "incumbent": incumbent,
            "value": value,
            "solved": 0,
            "improved": 0,
            "error": None,
        }

        # one worker: the calling thread's clock (deterministic with
        # workers=1); threads: the wall clock
        clock = clocks.current() if n_par == 1 else clocks.WALL
        overhead = LNS_OVERHEAD + LNS_OVERHEAD_PER_VARIABLE * len(self.xs)

        def worker(tid: int) -> None:
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x1A5, tid])
            while True:
                left = deadline - clock.now()
                if left < 0.02:
                    return
                if floor is not None and state["value"] <= floor:
                    return
                if stop is not None and stop.is_set():
                    return
                if until is not None and until(state["value"]):
                    return
                limit = min(_LNS_SUB_LIMIT, left)
                with lock:
                    while inject is not None and (got := inject()) is not None:
                        v_got = self.stage_value(stage, got)
                        if v_got < state["value"]:
                            state["improved"] += 1
                            state["incumbent"], state["value"] = got, v_got
                    inc = state["incumbent"]
                    kind = int(rng.random() < _LNS_ITEM_PROB)
                    k = round(size[kind])
                free = self.neighbourhood(rng, kind, k, inc)
                if self.near is not None:
                    free = free[self.near[free] | inc[self.prep.usable[free]]]
                fixed = np.setdiff1d(all_pos, free, assume_unique=True)
                sub = base.clone()
                variables = sub.proto.variables
                vals = inc[self.prep.usable[fixed]].astype(int).tolist()
                for idx, v in zip(self.x_index[fixed].tolist(), vals, strict=True):
                    dom = variables[idx].domain
                    dom[0] = v
                    dom[1] = v
                self.hint(sub, inc, free)
                solver = cp_model.CpSolver()
                _apply_params(solver.parameters, limit, 1, int(rng.integers(1 << 30)), params)
                clock.charge(overhead)  # the clone, the fixings and the hint above
                t = clock.now()
                code = clock.solve(solver, sub, limit, LNS_DTIME_PER_SECOND)
                secs = clock.now() - t
                sol = None
                if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                    sol = np.asarray(solver.response_proto.solution, dtype=np.int64)
                mask = v_new = None
                if sol is not None:
                    mask = self.mask_from(sol)
                    v_new = self.stage_value(stage, mask)
                with lock:
                    state["solved"] += 1
                    if code in (cp_model.OPTIMAL, cp_model.INFEASIBLE) and secs < 0.5 * limit:
                        size[kind] = min(size[kind] * 1.15 + 0.2, cap[kind])
                    elif code not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
                        size[kind] = max(2.0, size[kind] * 0.85)
                    if mask is None or v_new is None:
                        continue
                    if v_new < state["value"]:
                        state["improved"] += 1
                        state["incumbent"], state["value"] = mask, v_new
                    elif v_new == state["value"] and state["incumbent"] is inc:
                        state["incumbent"] = mask  # a sideways move on the plateau

        def guarded(tid: int) -> None:
            try:
                worker(tid)
            except BaseException as exc:  # pragma: no cover - re-raised below
                with lock:
                    state["error"] = exc

        if n_par == 1:
            worker(0)
        else:
            threads = [threading.Thread(target=guarded, args=(t,)) for t in range(n_par)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            if state["error"] is not None:
                raise state["error"]
        self.lns_sizes = tuple(size)  # diagnostics: the adapted sizes
        return state["incumbent"], state["value"], state["solved"], state["improved"]


def _fix_zero(model: Any, var_index: I64) -> None:
    """Fix the model's variables of ``var_index`` at 0 (their domain becomes [0, 0])."""
    variables = model.proto.variables
    for idx in var_index.tolist():
        dom = variables[idx].domain
        dom.clear()
        dom.extend([0, 0])


def _reduced_mip(
    p: ArcProblem, prep: _Prep, icost: I64, keep: I64, at_most: int, time_limit: float
) -> tuple[str, Bools | None, float | None]:
    """HiGHS' MIP (``scipy.optimize.milp``) on a problem of the GAP shape
    (:func:`_knapsacks`) restricted to the usable arcs at positions ``keep`` and
    to selections of scaled cost ``<= at_most``. Returns ``(status, selection
    or None, bound or None)``: ``"infeasible"`` (no such selection among those
    arcs), ``"optimal"`` (the selection is the best of them), ``"feasible"`` or
    ``"unknown"``. Gap tolerance 0; the selection is returned only when it passes
    :func:`check_arcs`. With the arcs fixed out by their knapsack bounds,
    "infeasible" proves the incumbent optimal and "optimal" the selection.
    The bound (a lower bound on the scaled cost of every selection of at most
    ``at_most``) is given with a selection only."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    if time_limit <= 0.01:
        return "unknown", None, None
    arcs = prep.usable[keep]
    n = len(arcs)
    if n == 0:
        return "infeasible", None, None
    col = np.arange(n)
    items = p.arc_item[arcs].astype(np.int64)
    agents = p.arc_agent[arcs].astype(np.int64)
    if np.any(np.bincount(items, minlength=p.n_items)[prep.must] == 0):
        return "infeasible", None, None  # some item has no arc left
    cost = icost[arcs].astype(np.float64)
    cover = sparse.csr_matrix((np.ones(n), (items, col)), shape=(p.n_items, n))[prep.must]
    load = sparse.csr_matrix((p.arc_load[arcs].astype(np.float64), (agents, col)), shape=(p.n_agents, n))
    constraints = [
        LinearConstraint(cover, 1.0, 1.0),
        LinearConstraint(load, -np.inf, p.agent_capacity.astype(np.float64)),
        LinearConstraint(cost[None, :], -np.inf, float(at_most)),
    ]
    options: dict[str, Any] = {"time_limit": float(time_limit), "mip_rel_gap": 0.0, "disp": False}
    clock = clocks.current()
    if clock.deterministic:
        # a node limit in place of the time (HiGHS runs one thread: the same
        # nodes every time), the wall clock's safety net aside
        setup = MIP_SETUP_PER_ARC * n
        node_limit = max(1, int((time_limit - setup) * MIP_NODES_PER_SECOND))
        options["node_limit"] = node_limit
        wall = clock.wall_left()
        options["time_limit"] = 1e9 if wall is None else max(1e-3, wall)
    res = milp(
        cost,
        constraints=constraints,
        integrality=np.ones(n),
        bounds=Bounds(0.0, 1.0),
        options=options,
    )
    if clock.deterministic:
        nodes = getattr(res, "mip_node_count", None)
        clock.charge(setup + (node_limit if nodes is None else int(nodes)) / MIP_NODES_PER_SECOND)
    if res.status == 2:  # HiGHS: infeasible
        return "infeasible", None, None
    if res.x is None:
        return "unknown", None, None
    chosen = np.zeros(p.n_arcs, dtype=bool)
    chosen[arcs[np.asarray(res.x) > 0.5]] = True
    if check_arcs(p, chosen):
        return "unknown", None, None
    bound = getattr(res, "mip_dual_bound", None)
    value = float(icost[chosen].sum())
    bound_up = value if bound is None or not np.isfinite(bound) else min(value, math.ceil(float(bound) - 1e-6))
    return ("optimal" if res.status == 0 else "feasible"), chosen, float(bound_up)


def _dive_below(
    p: ArcProblem, prep: _Prep, icost: I64, arc_floor: I64, lam: F64, incumbent: Bools, value: int,
    deadline: float, seed: int, post: Callable[[Bools], None] | None = None,
) -> Bools | None:
    """:func:`assign.dive.dive` on a problem of the GAP shape (scaled integer
    costs ``icost``, multipliers ``lam`` in the same units), over the usable
    arcs whose knapsack bound ``arc_floor`` stays below ``value``: a valid
    selection of scaled cost below ``value``, or None. Problems with two
    usable arcs for one (item, agent) pair are left alone (a knapsack could
    take both). ``post(selection)``, when given, receives each improvement
    the dive finds as it finds it."""
    from .dive import dive

    keep = np.flatnonzero(arc_floor < value)
    arcs = prep.usable[keep]
    items = p.arc_item[arcs].astype(np.int64)
    agents = p.arc_agent[arcs].astype(np.int64)
    if len(np.unique(items * max(p.n_agents, 1) + agents)) < len(arcs):
        return None
    if np.any(np.bincount(items, minlength=p.n_items)[prep.must] == 0):
        return None  # an item without an arc left: nothing below value
    kl = KnapsackLagrangian(p.n_items, items, agents, icost[arcs].astype(np.float64), p.arc_load[arcs], p.agent_capacity)
    pos = np.full(p.n_arcs, -1, dtype=np.int64)
    pos[arcs] = np.arange(len(arcs))
    start = pos[np.flatnonzero(incumbent)]

    def selection(found: I64 | None) -> Bools | None:
        if found is None:
            return None
        chosen = np.zeros(p.n_arcs, dtype=bool)
        chosen[arcs[found]] = True
        if check_arcs(p, chosen) or int(icost[chosen].sum()) >= value:
            return None  # never expected
        return chosen

    def posted(found: I64, _cost: float) -> None:
        chosen = selection(found)
        if chosen is not None and post is not None:
            post(chosen)

    found, _, _ = dive(kl, lam, start[start >= 0], float(value), deadline, seed, None if post is None else posted)
    return selection(found)


def _strong_fixing(arc_floor: I64, value: int) -> bool:
    """Whether the knapsack fixing at ``value`` (arcs whose bound reaches it
    are out) leaves at most :data:`_MIP_ARCS` of the arcs, the MIP's share."""
    return int((arc_floor < value).sum()) <= _MIP_ARCS * len(arc_floor)


def _mip_beside(
    p: ArcProblem, prep: _Prep, icost: I64, keep: I64, at_most: int, deadline: float,
    out: dict[str, Any], stop: threading.Event,
) -> None:
    """:func:`_reduced_mip` until ``deadline``, in a thread beside the search:
    its result (or error) goes to ``out``; ``stop`` is set when it proves the
    stage (or fails), so the search ends."""
    try:
        out["out"] = _reduced_mip(p, prep, icost, keep, at_most, deadline - perf_counter())
        out["at_most"] = at_most
    except BaseException as exc:  # pragma: no cover - re-raised by the caller
        out["error"] = exc
        stop.set()
        return
    if out["out"][0] in ("infeasible", "optimal"):
        stop.set()


def _full_solve(
    eng: _Engine, model: Any, limit: float, workers: int, seed: int,
    params: Mapping[str, Any] | None, log: bool,
) -> tuple[Any, str, Bools | None, float | None]:
    """One CP-SAT solve of the full stage model: (status code, status name,
    the selection found or None, its objective bound rounded up or None)."""
    solver = cp_model.CpSolver()
    _apply_params(solver.parameters, limit, workers, seed, params)
    solver.parameters.log_search_progress = bool(log)
    code = clocks.current().solve(solver, model, limit, CORE_DTIME_PER_SECOND)
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return code, solver.status_name(code), None, None
    found = eng.mask_from(np.asarray(solver.response_proto.solution, dtype=np.int64))
    return code, solver.status_name(code), found, float(math.ceil(solver.best_objective_bound - 1e-6))


def solve_arcs(
    problem: ArcProblem,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int | None = None,
    hint: ArrayLike | None = None,
    *,
    lp: bool = True,
    lns: bool = True,
    main_share: float = 0.3,
    final_share: float = 0.0,
    cost_scale: float | None = None,
    params: Mapping[str, Any] | None = None,
    log: bool = False,
) -> ArcResult:
    """Solve lexicographically: tier stages (most urgent first), then cost.

    Time: ``time_limit`` seconds are shared by the stages; each gets an equal
    share of what is left (a stage that finishes early passes its time on) and
    at least ``min(0.05 s, time_limit / 100)``, so the total may overrun by that
    per stage. Within a stage, the full CP-SAT model runs first, for
    ``main_share`` of the stage's time when ``lns`` is on; if it did not prove
    the stage optimal, large-neighbourhood search (:meth:`_Engine.lns`) uses
    the rest. With ``final_share > 0`` the search stops that share of the
    stage's time early and the full model runs once more, hinted with the
    search's incumbent and cut at its value, so it may still prove the stage
    (a short ``main_share`` then keeps the proofs it would lose). The stage's
    bound comes from the full solves (and the LP).

    ``workers`` (default ``os.cpu_count()``) CP-SAT workers, and as many LNS
    threads. With ``workers=1`` every step runs on the deterministic clock of
    :mod:`assign.clock` (CP-SAT solves on deterministic time at
    :data:`CORE_DTIME_PER_SECOND` and :data:`LNS_DTIME_PER_SECOND`, the
    knapsack evaluations, the dive's master LPs, the LP bound and HiGHS' MIP
    counted by their sizes, the MIP stopped by a node limit), so ``seed``
    repeats a run exactly, whether or not the time limit binds, unless the
    wall clock's safety net at ``time_limit`` is reached (a machine much
    slower or busier than the one the rates were measured on); with one
    worker the steps plan on :data:`DETERMINISTIC_SHARE` of the limit, to
    stay clear of that net. ``hint`` (bool mask or arc indices)
    seeds the first stage and is the fallback solution when it is valid.
    ``lp`` adds the HiGHS LP bound of each stage's model (its time counts) and,
    for problems of the generalized-assignment shape, the knapsack Lagrangian
    bound (:mod:`assign.knapsack`, at most 15 % of the stage's time, from the
    LP's duals); once the incumbent reaches that bound the stage is proven and
    the search stops. With ``lns`` and that bound, Dantzig-Wolfe diving
    (:mod:`assign.dive`) runs before the search (one worker: half of its time)
    or beside it (more workers: a forked child, for the whole search time).
    ``params`` are extra CP-SAT parameters (``{"linearization_level": 2}``).

    ``status`` is ``"optimal"`` only when ``objective == bound`` (every stage
    proven; costs within a relative 1e-9), ``"feasible"`` with a solution,
    ``"infeasible"`` when the must-cover items provably cannot all be covered,
    ``"unknown"`` when no solution was found in time.
    """
    if not isinstance(problem, ArcProblem):
        raise TypeError(f"problem: expected an ArcProblem, got {type(problem).__name__}")
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise ValueError(f"time_limit: expected a number of seconds above 0, got {time_limit!r}")
    if cost_scale is not None and not (math.isfinite(cost_scale) and cost_scale > 0):
        raise ValueError(f"cost_scale: expected a number above 0, got {cost_scale!r}")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers: expected at least 1 (or None: every CPU), got {workers!r}")
    if hint is not None:
        _as_mask(problem, hint, "hint")  # (checked here: a bad index failed deep inside)
    for label, share in (("main_share", main_share), ("final_share", final_share)):
        if not (math.isfinite(share) and 0.0 <= share <= 1.0):
            raise ValueError(f"{label}: expected a share between 0 and 1, got {share!r}")
    if params:
        from ortools.sat import sat_parameters_pb2

        known = {f.name for f in sat_parameters_pb2.SatParameters.DESCRIPTOR.fields}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"params: unknown CP-SAT parameter(s) {', '.join(unknown)}")
    workers = int(workers) if workers is not None else (os.cpu_count() or 1)
    with clocks.running(clocks.for_workers(workers, time_limit)):
        return _solve_arcs(
            problem, time_limit, seed, workers, hint, lp=lp, lns=lns, main_share=main_share,
            final_share=final_share, cost_scale=cost_scale, params=params, log=log,
        )


def _solve_arcs(
    problem: ArcProblem,
    time_limit: float,
    seed: int,
    workers: int,
    hint: ArrayLike | None,
    *,
    lp: bool,
    lns: bool,
    main_share: float,
    final_share: float,
    cost_scale: float | None,
    params: Mapping[str, Any] | None,
    log: bool,
) -> ArcResult:
    """:func:`solve_arcs` on the clock of :func:`assign.clock.current`."""
    clock = clocks.current()
    now = clock.now
    t_wall = perf_counter()
    t0 = now()
    # with one worker the steps plan on a share of the limit (the clock's
    # counts are estimates; the wall clock's safety net stays at the limit)
    deadline = t0 + float(time_limit) * (DETERMINISTIC_SHARE if clock.deterministic else 1.0)
    p = problem
    prep = _prepare(p)
    tiers = tuple(int(t) for t in prep.tiers)
    n_t = len(tiers)
    inf = math.inf
    min_budget = min(0.05, float(time_limit) / 100.0)

    def finish(
        status: Status,
        chosen: Bools | None,
        bound: tuple[float, ...],
        stages: list[StageReport],
        scale: float,
    ) -> ArcResult:
        if chosen is None:
            objective: tuple[float, ...] = (inf,) * (n_t + 1)
            chosen = np.zeros(p.n_arcs, dtype=bool)
        else:
            objective = evaluate_arcs(p, chosen)
        covered = np.bincount(p.arc_item[chosen], minlength=p.n_items) > 0
        return ArcResult(
            chosen=_readonly(chosen),
            covered=_readonly(covered),
            tiers=tiers,
            objective=objective,
            bound=bound,
            status=status,
            seconds=perf_counter() - t_wall,
            stages=tuple(stages),
            cost_scale=scale,
        )

    if len(prep.infeasible_items):
        return finish("infeasible", None, (inf,) * (n_t + 1), [], 1.0)

    scale, icost, exact = _cost_scale(p.arc_cost, prep.usable, prep.max_chosen, cost_scale)
    err = p.arc_cost[prep.usable].astype(np.float64) - icost[prep.usable] / scale
    rounding_slack = (
        0.0 if exact else math.fsum(np.sort(np.minimum(err, 0.0))[: prep.max_chosen].tolist())
    )

    eng = _Engine(p, prep, icost)
    model, stages = eng.model, eng.stages
    lp_model = _LP(p, prep) if lp and stages else None
    knap = _knapsacks(p, prep) if lp and stages else None

    incumbent: Bools | None = None
    hint_mask = None if hint is None else _as_mask(p, hint)
    if hint_mask is not None:
        eng.hint(model, hint_mask)
        if not check_arcs(p, hint_mask):
            incumbent = hint_mask
    if incumbent is None and not p.must_cover.any():
        incumbent = np.zeros(p.n_arcs, dtype=bool)  # the empty selection is valid
    if not stages and incumbent is None:  # must-cover items, nothing to optimise: find any solution
        stages = [_Stage("cost", [], [], 0, np.zeros(len(eng.xs) + len(eng.ys)), None)]

    tier_bound: list[float] = [float(f) for f in prep.forced]  # valid for every selection
    tier_reports: dict[int, StageReport] = {}
    cost_bound = prep.trivial_cost
    cost_report: StageReport | None = None
    restrictions: list[tuple[F64, float]] = []
    all_proven = True

    for k, stage in enumerate(stages):
        ts = now()
        stage_deadline = ts + max(min_budget, (deadline - ts) / (len(stages) - k))
        lp_value: float | None = None
        if lp_model is not None:
            lp_value = lp_model.bound(stage.lp_c, restrictions, 0.5 * (stage_deadline - ts))
            eng.set_guide(None if lp_model.reduced is None else lp_model.reduced[: lp_model.nu])
        expr = cp_model.LinearExpr.weighted_sum(stage.vars, stage.coefs) + stage.offset
        model.minimize(expr)
        code = cp_model.UNKNOWN
        cp_bound: float | None = None
        attempts = 0
        while attempts < 2:  # a second try only when the first found nothing to start from
            attempts += 1
            share = main_share if (lns and attempts == 1) else 1.0
            limit = max(min_budget, share * (stage_deadline - now()))
            code, status_name, found, found_bound = _full_solve(eng, model, limit, workers, seed, params, log)
            if code == cp_model.INFEASIBLE:
                if incumbent is None:  # only must-cover items can make the base model infeasible
                    return finish("infeasible", None, (inf,) * (n_t + 1), [], scale)
                raise RuntimeError(f"{stage.name}: infeasible although the incumbent satisfies it")
            if found is not None:
                incumbent, cp_bound = found, found_bound
            if incumbent is not None or stage_deadline - now() < min_budget:
                break
        if incumbent is None:  # no solution at all (must-cover items, no time)
            if stage.tier is not None and lp_value is not None:
                lb = prep.forced[stage.tier] + math.ceil(lp_value + stage.offset - 1e-6)
                tier_bound[stage.tier] = max(tier_bound[stage.tier], float(lb))
            elif stage.tier is None and lp_value is not None:
                cost_bound = max(cost_bound, lp_value)
            partial = [
                StageReport(stage.name, status_name, inf, _NAN, lp_value, now() - ts)
            ]
            return finish("unknown", None, (*tier_bound, cost_bound), partial, scale)
        proven = code == cp_model.OPTIMAL
        value = eng.stage_value(stage, incumbent)
        knap_value: float | None = None
        n_beside = n_dive = 0  # neighbourhoods solved beside the dive, improvements there and by it
        floor: int | None = None  # a proven lower bound of the stage value (scaled units)
        arc_floor: I64 | None = None  # per usable arc: the same for selections using it
        if knap is not None and stage.tier is None and not proven and stage_deadline - now() > 0.05:
            # any start is valid: the LP's duals, else each item's cheapest arc (the trivial bound)
            if lp_model is not None and lp_model.eq_duals is not None:
                lam0 = np.zeros(p.n_items)
                lam0[lp_model.cover_items] = lp_model.eq_duals
            else:
                lam0 = np.full(p.n_items, np.inf)
                np.minimum.at(lam0, p.arc_item[prep.usable], p.arc_cost[prep.usable].astype(np.float64))
                lam0[~np.isfinite(lam0)] = 0.0
            until = min(stage_deadline, now() + _KNAP_SHARE * (stage_deadline - ts))
            target = math.fsum(p.arc_cost[incumbent].tolist())
            knap_value, lam = knap.improve(lam0, target, _KNAP_ITERATIONS, until)
            if exact:  # every cost is a multiple of 1/scale
                floor = math.ceil(knap_value * scale - 1e-6)
                proven = value <= floor
                per_arc = knap.arc_bounds(lam) * scale - 1e-6
                arc_floor = np.where(
                    np.isfinite(per_arc), np.ceil(np.minimum(per_arc, 2.0**62)), 2.0**62
                ).astype(np.int64)
                # reduced-cost fixing: an arc whose bound exceeds the incumbent is
                # in no selection at least as good (the search only looks there)
                _fix_zero(model, eng.x_index[arc_floor > value])
                share = _DIVE_SHARE_BESIDE if workers > 1 else _DIVE_SHARE
                weak = not _strong_fixing(arc_floor, value)
                if lns and not proven and weak and share > 0 and stage_deadline - now() > 0.5:
                    # Dantzig-Wolfe diving (assign.dive): a selection strictly
                    # below the incumbent, among the arcs the fixing leaves, for
                    # the search to go on from. With two workers or more it runs
                    # in a forked child while the search goes on beside it. Only
                    # where the fixing is weak: where it is strong, HiGHS' MIP on
                    # the arcs left (below) proves faster (OR-Library types B, C)
                    search_end = stage_deadline - min(max(float(final_share), 0.0), 1.0) * (stage_deadline - ts)
                    room = max(0.0, search_end - now())
                    dive_end = now() + _DIVE_SHARE_BESIDE * max(0.0, stage_deadline - _DIVE_MARGIN - now())
                    args = (p, prep, icost, arc_floor, lam * scale, incumbent, value, dive_end, seed + k)
                    wait = None
                    if workers > 1:  # each improvement reaches the search beside as it is found
                        wait = forked(functools.partial(_dive_below, *args), partial=True)  # (post: the next argument)
                    if wait is None:  # one worker, or no fork on this platform: first the dive
                        found = _dive_below(*args[:7], now() + _DIVE_SHARE * room, seed + k)
                    else:
                        # the search beside it stops early if its incumbent makes
                        # the fixing strong: then the dive is dropped for the MIP
                        model.add(expr <= value)
                        strong_now = functools.partial(_strong_fixing, arc_floor)
                        incumbent, value, n_beside, n_dive = eng.lns(
                            stage, incumbent, value, dive_end, workers - 1, seed + k, params, floor,
                            until=strong_now, sizes=eng.lns_sizes, inject=wait.partial,
                        )
                        late = 0.0 if strong_now(value) else max(0.0, min(dive_end + _DIVE_GRACE, stage_deadline) - now())
                        found = wait(late)
                    if found is not None and eng.stage_value(stage, found) < value:
                        incumbent, value = found, eng.stage_value(stage, found)
                        n_dive += 1
                    proven = value <= floor
        n_lns, n_imp = n_beside, n_dive
        if lns and not proven and stage.vars and stage_deadline - now() > 0.05:
            model.add(expr <= value)  # neighbourhoods only look for better selections
            final = min(max(float(final_share), 0.0), 1.0) * (stage_deadline - ts)
            lns_deadline = max(now(), stage_deadline - final)
            # with two workers or more, once the fixing is strong (at the start
            # or after the search improved enough), HiGHS' MIP on the arcs left
            # (see below) runs beside the search for the rest of the stage, in
            # place of one search thread and of the final solve
            eng.lns_sizes = ()  # each stage's search starts from the first sizes
            mip: dict[str, Any] = {}
            mip_thread: threading.Thread | None = None
            stop = threading.Event()
            # (arc_floor is only set for the cost stage of the GAP shape)
            strong = None if arc_floor is None or workers < 2 else functools.partial(_strong_fixing, arc_floor)
            while True:
                if strong is not None and mip_thread is None and strong(value) and stage_deadline - now() > 0.5:
                    assert arc_floor is not None
                    mip_thread = threading.Thread(
                        target=_mip_beside,
                        args=(p, prep, icost, np.flatnonzero(arc_floor < value), value - 1, stage_deadline, mip, stop),
                        daemon=True,
                    )
                    mip_thread.start()
                    lns_deadline = stage_deadline
                incumbent, value, solved, improved = eng.lns(
                    stage, incumbent, value, lns_deadline, workers - (mip_thread is not None), seed + k, params,
                    floor, stop, until=strong if mip_thread is None else None, sizes=eng.lns_sizes,
                )
                n_lns, n_imp = n_lns + solved, n_imp + improved
                if floor is not None and value <= floor:
                    break  # proven by the knapsack bound
                if strong is None or mip_thread is not None or not strong(value) or now() >= lns_deadline:
                    break
            proven = floor is not None and value <= floor
            if mip_thread is not None:
                mip_thread.join()
                if "error" in mip:
                    raise mip["error"]
                code_m, found, bound_m = mip["out"]
                if found is not None and eng.stage_value(stage, found) < value:
                    incumbent, value = found, eng.stage_value(stage, found)
                    n_imp += 1
                if bound_m is not None:  # a bound below the MIP's cut: one of the stage
                    cp_bound = bound_m if cp_bound is None else max(cp_bound, bound_m)
                if code_m == "infeasible":  # nothing at or below the cut: the start value is optimal
                    proven = proven or value <= mip["at_most"] + 1
                elif code_m == "optimal":  # the best at or below the cut, taken above
                    proven = True
                if proven:
                    status_name = "OPTIMAL"
            if not proven and lns_deadline < stage_deadline and stage_deadline - now() >= min_budget:
                # the full model once more, hinted with the search's incumbent and
                # cut at its value: it may prove the stage or improve it. Its bound
                # is a bound of the stage (the cut keeps every selection at least
                # as good as the incumbent), so the better of the two bounds counts.
                # With the knapsack bounds (the GAP shape's cost stage), when they leave at
                # most a quarter of the arcs, HiGHS' MIP solves the model
                # instead, strictly below the incumbent and without every arc
                # whose knapsack bound reaches it (see _reduced_mip): "infeasible"
                # proves the incumbent, "optimal" what it found. (On OR-Library
                # type C it proves in seconds what CP-SAT does not; on type D,
                # where the bound fixes little, neither MIP finds anything.)
                if arc_floor is not None and _strong_fixing(arc_floor, value):
                    left = stage_deadline - now()
                    kept = np.flatnonzero(arc_floor < value)
                    code_m, found, bound_m = _reduced_mip(p, prep, icost, kept, value - 1, left)
                    if found is not None:
                        incumbent, value = found, eng.stage_value(stage, found)  # strictly better
                        n_imp += 1
                    if bound_m is not None:
                        cp_bound = bound_m if cp_bound is None else max(cp_bound, bound_m)
                    if code_m in ("infeasible", "optimal") or (floor is not None and value <= floor):
                        proven, status_name = True, "OPTIMAL"
                else:
                    model.add(expr <= value)
                    eng.hint(model, incumbent)
                    left = stage_deadline - now()
                    code_f, name_f, found, bound_f = _full_solve(eng, model, left, workers, seed + 1, params, log)
                    if found is not None and bound_f is not None:
                        found_value = eng.stage_value(stage, found)
                        if found_value < value:
                            incumbent, value = found, found_value
                            n_imp += 1
                        cp_bound = bound_f if cp_bound is None else max(cp_bound, bound_f)
                        proven = code_f == cp_model.OPTIMAL and value <= bound_f
                        status_name = name_f
        all_proven = all_proven and proven
        secs = now() - ts
        if stage.tier is not None:
            forced = int(prep.forced[stage.tier])
            cand = [0]
            if cp_bound is not None:
                cand.append(int(cp_bound))
            if lp_value is not None:
                cand.append(math.ceil(lp_value + stage.offset - 1e-6))
            b = value if proven else min(max(cand), value)
            tier_bound[stage.tier] = float(forced + b)
            lp_rep = None if lp_value is None else forced + lp_value + stage.offset
            tier_reports[stage.tier] = StageReport(
                stage.name,
                status_name,
                float(forced + value),
                float(forced + b),
                lp_rep,
                secs,
                n_lns,
                n_imp,
            )
            # fix the tier at the value found (<=, see the module docstring)
            model.add(expr <= value)
            restrictions.append((stage.lp_c, float(value - stage.offset)))
        else:
            cand_c = [prep.trivial_cost]
            if proven:
                cand_c.append(value / scale + rounding_slack)
            elif cp_bound is not None:
                cand_c.append(cp_bound / scale + rounding_slack)
            if lp_value is not None:
                cand_c.append(lp_value)
            if knap_value is not None:
                cand_c.append(knap_value)
            cb = max(cand_c)
            if exact:  # every cost is a multiple of 1/scale
                cb = math.ceil(round(cb * scale, 6) - 1e-6) / scale
            true_cost = math.fsum(p.arc_cost[incumbent].tolist())
            cost_bound = min(cb, true_cost)
            cost_report = StageReport(
                stage.name, status_name, true_cost, cost_bound, lp_value, secs, n_lns, n_imp
            )
        eng.hint(model, incumbent)

    assert incumbent is not None
    reports: list[StageReport] = []
    for t in range(n_t):
        if t in tier_reports:
            reports.append(tier_reports[t])
        else:
            f = float(prep.forced[t])
            reports.append(StageReport(f"tier {tiers[t]}", "skipped", f, f, None, 0.0))
    true_cost = math.fsum(p.arc_cost[incumbent].tolist())
    if cost_report is None:  # every usable arc costs 0 after scaling
        cost_bound = true_cost if exact else min(true_cost, cost_bound)
        cost_report = StageReport("cost", "skipped", true_cost, cost_bound, None, 0.0)
    reports.append(cost_report)
    bound = (*tier_bound, cost_bound)
    objective = evaluate_arcs(p, incumbent)
    same_u = all(objective[t] == bound[t] for t in range(n_t))
    closed = objective[-1] - bound[-1] <= _REL_TOL * max(1.0, abs(objective[-1]))
    status: Status = "optimal" if same_u and (closed or (all_proven and exact)) else "feasible"
    if status == "optimal" and not closed:
        bound = (*tier_bound, objective[-1])
    return finish(status, incumbent, bound, reports, scale)


def lp_bound(problem: ArcProblem, time_limit: float | None = None) -> tuple[float, ...]:
    """A lexicographic LP bound ``(U_1, ..., U_T, cost)`` without CP-SAT.

    Tier by tier, the LP minimum of ``U_t`` (rounded up: weights are integers)
    under ``U_j <= B_j`` for the earlier tiers; then the LP minimum cost under
    all of them. Each LP's value comes from its duals (rigorous). A position
    whose LP is not solved (time, numerical trouble) and every later one get
    the bound valid for every selection (forced uncovered weight; the sum of
    the cheapest arcs). ``time_limit`` is shared by all LPs.
    """
    p = problem
    t0 = perf_counter()
    prep = _prepare(p)
    n_t = len(prep.tiers)
    if len(prep.infeasible_items):
        return (math.inf,) * (n_t + 1)
    lpm = _LP(p, prep)
    nu = len(prep.usable)
    bounds: list[float] = [float(f) for f in prep.forced]
    cost_b = prep.trivial_cost
    restrictions: list[tuple[F64, float]] = []
    ok = True
    opt_w = p.item_weight[prep.optional]
    opt_t = prep.tier_of_item[prep.optional]

    def left() -> float | None:
        return None if time_limit is None else max(1e-3, time_limit - (perf_counter() - t0))

    for t in range(n_t):
        sel = np.flatnonzero((opt_t == t) & (opt_w > 0))
        if not len(sel):
            continue
        c = np.zeros(lpm.n)
        c[nu + sel] = -opt_w[sel]
        offset = int(opt_w[sel].sum())
        value = lpm.bound(c, restrictions, left())
        if value is None:
            ok = False
            break
        g = int(np.gcd.reduce(opt_w[sel]))
        part = max(0, math.ceil((value + offset - 1e-6) / g) * g)
        bounds[t] = float(prep.forced[t] + part)
        restrictions.append((c, float(part - offset)))
    if ok:
        c = np.zeros(lpm.n)
        c[:nu] = p.arc_cost[prep.usable].astype(np.float64)
        value = lpm.bound(c, restrictions, left())
        if value is not None:
            cost_b = max(cost_b, value)
            if p.arc_cost.dtype.kind == "i":
                cost_b = float(math.ceil(cost_b - 1e-6))
    return (*bounds, cost_b)
