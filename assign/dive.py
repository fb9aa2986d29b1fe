"""Dantzig-Wolfe diving for problems of the generalized-assignment shape.

The knapsack Lagrangian of :mod:`assign.knapsack` is the dual of a master LP
over *columns*, one feasible knapsack (a set of items one agent can hold)
each::

    min  sum_c cost_c x_c
    s.t. sum_{c holds j} x_c = 1      for every item j
         sum_{c of agent i} x_c <= 1  for every agent i,   x >= 0

On tight instances (OR-Library type D) its value is within ~0.1 % of the
optimum (d20100: 6,176 against 6,185), so its fractional solution is a good
guide to an integer one. :func:`dive` solves it by column generation (the
master in GLOP, kept between solves so that each starts from the last basis;
pricing is one exact knapsack per agent, :meth:`KnapsackLagrangian.knapsacks`;
Wentges smoothing towards the multipliers of the best Lagrangian value seen),
then fixes the column of largest value (an agent's whole load), solves the
master again on what is left, and so on. A node's master starts from the
pool's columns of its free agents cut down to its open items (a subset of a
feasible load is one), its pricing from the parent's best Lagrangian
multipliers (the parent master's duals are degenerate: without the fixed
agent's multiplier they price a child far off). Once at most
:data:`RESIDUAL_ITEMS` items or :data:`RESIDUAL_AGENTS` agents are left, the
rest is solved exactly by CP-SAT. Limited discrepancy search (Harvey and
Ginsberg) re-runs the dive with up to 1, 2, ... :data:`MAX_DISCREPANCY`
deviations from the best column (a column passed over is forbidden below),
and every node whose master value reaches the best selection known is cut.

It is a heuristic: it proves nothing (the bound stays the Lagrangian's), it
only returns a selection strictly cheaper than the one it was given, or None.
Every selection it returns satisfies the capacities and covers each item once
(the caller checks it again). Measured in benchmarks/HISTORY.md ("GAP").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import clock as clocks
from .knapsack import KnapsackLagrangian

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bools = NDArray[np.bool_]

#: the rest is solved exactly once at most this many items ...
RESIDUAL_ITEMS = 25
#: ... or this many agents are left
RESIDUAL_AGENTS = 3
#: deviations from the best column allowed in the last dive
MAX_DISCREPANCY = 3
#: weight of the stability centre in the priced multipliers (Wentges)
SMOOTHING = 0.5
#: column generation at a node stops when the master is within this relative
#: distance of the Lagrangian value (a guide, not a bound, is needed here) ...
TAIL_TOLERANCE = 2e-4
#: ... or when its value has not fallen for this many rounds (degenerate tails)
STALL_ROUNDS = 30
#: subgradient steps whose knapsacks seed the first master, and a child's
WALK_STEPS = 100
CHILD_WALK_STEPS = 5
#: CP-SAT limits of one residual solve (seconds, deterministic units)
RESIDUAL_SECONDS = 2.0
#: column generation rounds at most per node
MAX_ROUNDS = 1000
#: columns a node's master starts with (those of smallest reduced cost at its
#: parent's best Lagrangian multipliers; the root takes the whole pool)
NODE_COLUMNS = 600
#: what the deterministic clock (:mod:`assign.clock`) counts for a master
#: LP's solve, per row and column of it, and for a column put in a master
MASTER_SECONDS_PER_ENTRY = 5.5e-6
COLUMN_SECONDS = 2.2e-5
#: CP-SAT deterministic time per second of the clock, residual models
RESIDUAL_DTIME_PER_SECOND = 0.4


class _Master:
    """The master LP of one node in GLOP: a row per open item (= 1, with an
    artificial column of cost ``big`` so that it is always feasible) and per
    free agent (<= 1). Columns are only added, so each solve after the first
    starts from the last basis (GLOP reloads the model on any other change,
    which is why every node gets a master of its own)."""

    def __init__(self, items: I64, agents: I64, n_items: int, n_agents: int, big: float) -> None:
        from ortools.linear_solver import pywraplp

        self.solver = s = pywraplp.Solver.CreateSolver("GLOP")
        # no presolve or scaling: they would throw the basis away between solves
        s.SetSolverSpecificParametersAsString("use_preprocessing: false, use_scaling: false")
        self.inf = s.infinity()
        self.obj = s.Objective()
        self.obj.SetMinimization()
        self.item_ids, self.agent_ids = items, agents
        self.item_row = np.full(n_items, -1, dtype=np.int64)
        self.item_row[items] = np.arange(len(items))
        self.agent_row = np.full(n_agents, -1, dtype=np.int64)
        self.agent_row[agents] = np.arange(len(agents))
        self.items = [s.Constraint(1.0, 1.0) for _ in range(len(items))]
        self.agents = [s.Constraint(-self.inf, 1.0) for _ in range(len(agents))]
        self.artificial = []
        for row in self.items:
            a = s.NumVar(0.0, self.inf, "")
            row.SetCoefficient(a, 1.0)
            self.obj.SetCoefficient(a, big)
            self.artificial.append(a)
        self.vars: list[Any] = []
        self.cols: list[int] = []  # pool ids of the columns, in order

    def add(self, col: int, items: I64, agent: int, cost: float) -> None:
        clocks.current().charge(COLUMN_SECONDS)
        v = self.solver.NumVar(0.0, self.inf, "")
        for r in self.item_row[items].tolist():
            self.items[r].SetCoefficient(v, 1.0)
        self.agents[int(self.agent_row[agent])].SetCoefficient(v, 1.0)
        self.obj.SetCoefficient(v, cost)
        self.vars.append(v)
        self.cols.append(col)

    def solve(self, n_items: int, n_agents: int) -> tuple[float, F64, F64] | None:
        """``(value, item duals, agent duals)`` (0 off the node's rows) or None."""
        from ortools.linear_solver import pywraplp

        clocks.current().charge(MASTER_SECONDS_PER_ENTRY * (len(self.items) + len(self.agents) + len(self.vars)))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        pi = np.zeros(n_items)
        pi[self.item_ids] = [r.dual_value() for r in self.items]
        mu = np.zeros(n_agents)
        mu[self.agent_ids] = [r.dual_value() for r in self.agents]
        return float(self.obj.Value()), pi, mu

    def values(self) -> tuple[F64, float]:
        """The columns' values and the artificial columns' total (last solve)."""
        x = np.array([v.solution_value() for v in self.vars])
        return x, math.fsum(a.solution_value() for a in self.artificial)


class _Dive:
    def __init__(
        self, kl: KnapsackLagrangian, best: float, deadline: float, seed: int,
        post: Callable[[I64, float], None] | None = None,
    ) -> None:
        self.kl = kl
        self.post = post
        self.best = best
        self.found: I64 | None = None
        self.deadline = deadline
        self.clock = clocks.current()
        self.seed = seed
        real_cost = kl.slot_cost[kl.slot_real]
        self.big = float(max(1.0, np.abs(real_cost).max() if len(real_cost) else 1.0) * 10.0 + 1.0)
        # the column pool: agent row, slots, cost, items, and items as a bool matrix
        self.col_agent: list[int] = []
        self.col_slots: list[I64] = []
        self.col_cost: list[float] = []
        self.col_items: list[I64] = []
        self.member = np.zeros((64, kl.n_items), dtype=bool)
        self.index: dict[tuple[int, bytes], int] = {}  # (agent, slots) -> pool id
        # per (agent row, item): the cost of its slot (0 without one)
        self.item_cost = np.zeros((kl.m, kl.n_items))
        self.item_cost[np.nonzero(kl.slot_real)[0], kl.slot_item[kl.slot_real]] = kl.slot_cost[kl.slot_real]
        self.master: _Master | None = None
        self.centre: F64 | None = None  # the caller's multipliers: the root's first stability centre
        self.nodes = 0

    def add(self, agent: int, slots: I64) -> bool:
        """A column into the pool (and the current master); False if known."""
        key = (agent, slots.tobytes())
        if len(slots) == 0 or key in self.index:
            return False
        kl = self.kl
        items = kl.slot_item[agent, slots]
        cost = math.fsum(kl.slot_cost[agent, slots].tolist())
        col = len(self.col_cost)
        self.index[key] = col
        if col == len(self.member):
            self.member = np.vstack((self.member, np.zeros_like(self.member)))
        self.member[col, items] = True
        self.col_agent.append(agent)
        self.col_slots.append(slots)
        self.col_cost.append(cost)
        self.col_items.append(items)
        if self.master is not None:
            self.master.add(col, items, agent, cost)
        return True

    def add_knapsacks(self, x: Bools, rows: I64) -> int:
        return sum(self.add(int(i), np.flatnonzero(x[i])) for i in rows.tolist())

    def open_master(
        self, covered: Bools, free_agents: Bools, forbidden: frozenset[int], duals: tuple[F64, F64] | None
    ) -> None:
        """A fresh master for the node: the pool's columns of free agents not
        passed over, each cut down to the node's open items (a subset of a
        feasible load is feasible: the cut column joins the pool), at most
        :data:`NODE_COLUMNS` of them, those of smallest reduced cost at the
        parent's multipliers ``duals``. (Only the columns that fit whole
        would leave a deep node's master without a feasible basis for many
        rounds.)"""
        kl = self.kl
        self.master = None  # (the parent's: cut columns go to the pool only)
        n = len(self.col_cost)
        agent = np.asarray(self.col_agent, dtype=np.int64)
        member = self.member[:n]
        open_mask = ~covered & kl.covered
        usable = free_agents[agent]
        if forbidden:
            usable[np.fromiter(forbidden, dtype=np.int64)] = False
        cols = np.flatnonzero(usable)
        cut = member[cols] & open_mask[None, :]
        keep = cut.any(axis=1)
        cols, cut = cols[keep], cut[keep]
        if duals is not None and len(cols) > NODE_COLUMNS:
            pi, mu = duals
            cost = (cut * self.item_cost[agent[cols]]).sum(axis=1)
            rc = cost - cut @ pi - mu[agent[cols]]
            best = np.argsort(rc, kind="stable")[:NODE_COLUMNS]
            cols, cut = cols[best], cut[best]
        whole = cut.sum(axis=1) == member[cols].sum(axis=1)
        chosen: list[int] = []
        for c, w in zip(cols.tolist(), whole.tolist(), strict=True):
            if not w:  # the column cut down to the open items: into the pool
                a, slots = self.col_agent[c], self.col_slots[c]
                kept = slots[open_mask[kl.slot_item[a, slots]]]
                self.add(a, kept)
                c = self.index[(a, kept.tobytes())]
            chosen.append(c)
        open_items = np.flatnonzero(open_mask)
        self.master = _Master(open_items, np.flatnonzero(free_agents), kl.n_items, kl.m, self.big)
        for c in sorted(set(chosen)):
            self.master.add(c, self.col_items[c], self.col_agent[c], self.col_cost[c])

    def walk(self, lam: F64, covered: Bools, free_agents: Bools, fixed_cost: float, steps: int) -> tuple[F64, float]:
        """Subgradient steps on the node's Lagrangian from ``lam``; every
        knapsack solved on the way joins the pool. Returns the best
        multipliers met and their value."""
        kl = self.kl
        open_items = ~covered & kl.covered
        lam = np.where(open_items, lam, 0.0)
        best_lam, best_value = lam, -math.inf
        rows = np.flatnonzero(free_agents)
        for _ in range(steps):
            if self.clock.now() > self.deadline:
                break
            value, x, _ = self.lagrangian(lam, covered, free_agents, fixed_cost)
            self.add_knapsacks(x, rows)
            if value > best_value:
                best_lam, best_value = lam, value
            g = np.where(open_items, 1.0 - np.bincount(kl.slot_item[x], minlength=kl.n_items), 0.0)
            norm = float(g @ g)
            if norm == 0.0:
                break
            lam = lam + 0.1 * max(1.0, 0.002 * abs(value)) / math.sqrt(norm) * g
        return best_lam, best_value

    def lagrangian(self, lam: F64, covered: Bools, free_agents: Bools, fixed_cost: float) -> tuple[float, Bools, F64]:
        """The Lagrangian value of the node at ``lam``, the knapsacks priced
        and each agent's multiplier that goes with ``lam`` (minus its best
        knapsack's value; 0 for agents not free)."""
        lam_n = np.where(covered, -np.inf, lam)
        z, x = self.kl.knapsacks(lam_n, free_agents)
        open_items = ~covered & self.kl.covered
        z_free = np.where(free_agents, np.maximum(z, 0.0), 0.0)
        value = fixed_cost + math.fsum(lam[open_items].tolist()) - math.fsum(z_free.tolist())
        return value, x, -z_free

    def node_lp(
        self, covered: Bools, free_agents: Bools, fixed_cost: float, centre: F64 | None
    ) -> tuple[float, tuple[F64, F64]] | None:
        """Column generation at a node from the stability centre ``centre``
        (from the parent's; the caller's multipliers at the root): the
        master's value, and the multipliers of the best Lagrangian value met
        with their agent multipliers, which the node's children start from
        (the master's own duals are degenerate — an item's dual offset by its
        agent's — and without the fixed agent's they price a child far off);
        None: infeasible."""
        assert self.master is not None
        kl, master = self.kl, self.master
        centre_value = -math.inf
        centre_mu = np.zeros(kl.m)
        if centre is not None:
            centre_value, _, centre_mu = self.lagrangian(centre, covered, free_agents, fixed_cost)
        rows = np.flatnonzero(free_agents)
        out = None
        last = math.inf
        stall = 0
        for _ in range(MAX_ROUNDS):
            out = master.solve(kl.n_items, kl.m)
            if out is None:
                return None
            value, pi, mu = out
            if centre is None:
                centre = pi
            added = 0
            alpha = SMOOTHING
            while True:
                priced = alpha * centre + (1.0 - alpha) * pi
                lv, x, lmu = self.lagrangian(priced, covered, free_agents, fixed_cost)
                if lv > centre_value:
                    centre, centre_value, centre_mu = priced, lv, lmu
                # columns of negative reduced cost at the master's own duals
                cost_x = np.where(x, kl.slot_cost, 0.0).sum(axis=1)
                pi_x = np.where(x, pi[kl.slot_item], 0.0).sum(axis=1)
                rc = cost_x - pi_x - mu
                added = self.add_knapsacks(x, rows[rc[rows] < -1e-7])
                if added or alpha == 0.0:
                    break
                alpha = 0.0  # mispricing: price at the master's duals
            if added == 0:
                return value, (centre, centre_mu)
            stall = stall + 1 if value >= last - 1e-9 * max(1.0, abs(value)) else 0
            last = min(last, value)
            if (
                fixed_cost + value - centre_value <= max(1e-6, TAIL_TOLERANCE * abs(value))
                or stall >= STALL_ROUNDS
                or self.clock.now() > self.deadline
            ):
                break
        final = master.solve(kl.n_items, kl.m)  # with the columns just added
        assert centre is not None  # (set by the first round's pricing)
        return None if final is None else (final[0], (centre, centre_mu))

    def residual(self, covered: Bools, free_agents: Bools, fixed_cost: float) -> tuple[I64, float] | None:
        """CP-SAT on the open items and free agents, strictly below the best."""
        from ortools.sat.python import cp_model

        kl = self.kl
        open_items = ~covered & kl.covered
        ok = kl.slot_real & free_agents[:, None] & open_items[kl.slot_item]
        ai, si = np.nonzero(ok)
        items = kl.slot_item[ai, si]
        if np.any(np.bincount(items, minlength=kl.n_items)[open_items] == 0):
            return None
        mdl = cp_model.CpModel()
        xs = [mdl.new_bool_var("") for _ in range(len(ai))]
        order = np.argsort(items, kind="stable")
        starts = np.searchsorted(items[order], np.flatnonzero(open_items))
        ends = np.append(starts[1:], len(order)) if len(starts) else starts
        for b, e in zip(starts.tolist(), ends.tolist(), strict=True):
            mdl.add_exactly_one([xs[k] for k in order[b:e].tolist()])
        for agent in np.unique(ai).tolist():
            ks = np.flatnonzero(ai == agent)
            loads = kl.slot_load[agent, si[ks]]
            if loads.sum() > kl.cap[agent]:
                mdl.add(sum(int(w) * xs[k] for k, w in zip(ks.tolist(), loads.tolist(), strict=True)) <= int(kl.cap[agent]))
        costs = kl.slot_cost[ai, si]
        objective = sum(int(c) * x for c, x in zip(costs.tolist(), xs, strict=True))
        if math.isfinite(self.best):
            mdl.add(objective <= int(round(self.best - fixed_cost)) - 1)
        mdl.minimize(objective)
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.random_seed = int(self.seed) & 0x7FFFFFFF
        prm.max_deterministic_time = RESIDUAL_SECONDS
        # (the clock sets the time limit: wall seconds, or on the deterministic
        # clock its budget and the safety net only)
        left = max(0.05, min(RESIDUAL_SECONDS, self.deadline - self.clock.now()))
        code = self.clock.solve(solver, mdl, left, RESIDUAL_DTIME_PER_SECOND)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        on = np.array([solver.boolean_value(x) for x in xs], dtype=bool)
        # the cost summed exactly (CP-SAT's objective value is a double that
        # may miss an integral sum by an ulp)
        return kl.slot_arc[ai[on], si[on]], math.fsum(costs[on].tolist())

    def node(self, fixed: list[int], discrepancy: int, forbidden: frozenset[int], duals: tuple[F64, F64] | None) -> None:
        """The dive below the columns ``fixed`` (pool ids), with at most
        ``discrepancy`` deviations from the best column left; the columns
        ``forbidden`` were passed over above; ``duals``: the parent's best
        Lagrangian multipliers (items, agents), None at the root."""
        self.nodes += 1
        if self.clock.now() > self.deadline:
            return
        kl = self.kl
        covered = np.zeros(kl.n_items, dtype=bool)
        free_agents = np.ones(kl.m, dtype=bool)
        for c in fixed:
            covered[self.col_items[c]] = True
            free_agents[self.col_agent[c]] = False
        fixed_cost = math.fsum(self.col_cost[c] for c in fixed)
        n_open = int((~covered & kl.covered).sum())
        if n_open <= RESIDUAL_ITEMS or int(free_agents.sum()) <= RESIDUAL_AGENTS:
            out = self.residual(covered, free_agents, fixed_cost)
            if out is not None and fixed_cost + out[1] < self.best:
                arcs = [kl.slot_arc[self.col_agent[c], self.col_slots[c]] for c in fixed]
                self.found = np.concatenate([*arcs, out[0]]).astype(np.int64)
                self.best = fixed_cost + out[1]
                if self.post is not None:
                    self.post(self.found, self.best)
            return
        centre = self.centre
        if duals is not None:  # a child: columns and a centre from a walk from the parent's multipliers
            centre, _ = self.walk(duals[0], covered, free_agents, fixed_cost, CHILD_WALK_STEPS)
        self.open_master(covered, free_agents, forbidden, duals)
        got = self.node_lp(covered, free_agents, fixed_cost, centre)
        if got is None:
            return
        assert self.master is not None
        value, child = got
        x, artificial = self.master.values()
        if artificial > 1e-6 or math.ceil(fixed_cost + value - 1e-6) >= self.best:
            return
        local = np.argsort(-x, kind="stable")[: 1 + discrepancy]
        cand = [self.master.cols[i] for i in local.tolist() if x[i] > 1e-6]
        passed: list[int] = []
        for rank, c in enumerate(cand):
            self.node([*fixed, c], discrepancy - rank, forbidden.union(passed), child)
            passed.append(c)
            if self.clock.now() > self.deadline:
                break


def dive(
    kl: KnapsackLagrangian,
    lam: F64,
    start: I64 | None,
    best: float,
    deadline: float,
    seed: int = 0,
    post: Callable[[I64, float], None] | None = None,
) -> tuple[I64 | None, float, int]:
    """Diving over the knapsack columns of ``kl`` (integral costs; at most one
    slot per (agent, item)) until ``deadline`` (on :func:`assign.clock.current`'s clock), from the
    multipliers ``lam`` (the Lagrangian's) and the selection ``start`` (arc
    positions as given to ``kl``, or None), looking for a selection cheaper
    than ``best``. Returns ``(arc positions or None, its cost, nodes)``.
    ``post(arc positions, cost)``, when given, is called on each improvement
    as it is found (the dive goes on), e.g. to hand it to a search beside."""
    if not kl.covered.all():
        return None, best, 0  # an item without an arc: no selection covers every item
    d = _Dive(kl, best, deadline, seed, post)
    d.centre = np.where(kl.covered, np.asarray(lam, dtype=np.float64), 0.0)
    if start is not None and len(start):
        where = np.full(kl.n_arcs, -1, dtype=np.int64)
        rows, cols = np.nonzero(kl.slot_arc >= 0)
        where[kl.slot_arc[rows, cols]] = rows * kl.k + cols
        pos = where[np.asarray(start, dtype=np.int64)]
        pos = pos[pos >= 0]
        for agent in np.unique(pos // kl.k).tolist():
            d.add(int(agent), np.sort(pos[pos // kl.k == agent] % kl.k))
    # a subgradient walk from lam: every knapsack it solves is a column
    d.walk(d.centre, np.zeros(kl.n_items, dtype=bool), np.ones(kl.m, dtype=bool), 0.0, WALK_STEPS)
    for discrepancy in range(MAX_DISCREPANCY + 1):
        d.node([], discrepancy, frozenset(), None)
        if d.clock.now() > deadline:
            break
    return d.found, d.best, d.nodes
