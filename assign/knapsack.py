"""Lagrangian bound of assignment problems by one 0-1 knapsack per agent.

For a problem in which every item must be served by exactly one arc and each
agent's arcs share a capacity (the generalized assignment problem, and any
:class:`assign.core.ArcProblem` of that shape), relaxing the "exactly one arc
per item" rows with multipliers ``lam`` leaves one 0-1 knapsack per agent::

    L(lam) = sum_j lam_j - sum_i z_i(lam),
    z_i(lam) = max { sum_a (lam_item(a) - cost_a) x_a : sum_a load_a x_a <= cap_i }

over agent ``i``'s arcs. ``L(lam) <= cost`` of every feasible selection, for
every ``lam`` (weak duality); and since the knapsacks keep their integrality
the best ``L`` is at least the LP bound (Geoffrion), often well above it on
tight instances (OR-Library type D: 6,176 against the LP's ~6,150 on d20100).

The knapsacks are solved exactly by dynamic programming over the capacity,
vectorised over agents (one numpy step per arc slot), so the relaxation is
used only when ``slots x agents x (capacity + 1)`` stays small
(:data:`MAX_CELLS`). Multipliers are kept on a dyadic grid (multiples of
``2**-GRID_BITS``): with integer costs and loads every sum in the dynamic
programme is then exact in float64, and the value is a bound without any
tolerance. Subgradient optimisation with Polyak steps towards a target (the
incumbent's cost) improves the multipliers.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from . import clock as clocks

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: largest dynamic programme per evaluation (arc slots x agents x capacity cells)
MAX_CELLS = 12_000_000
#: multipliers are multiples of 2**-GRID_BITS (exact sums for integer data)
GRID_BITS = 10
#: what one evaluation (every agent's knapsack) counts on the deterministic
#: clock (:mod:`assign.clock`): seconds per arc slot (one numpy step each) and
#: per cell of the dynamic programme (OR-Library GAP, one core of a 2-CPU
#: Intel Xeon, 2026-12-01: 3.3-8.3 ms per evaluation, 48,000-440,000 cells
#: of 60-100 slots; scaled on 2026-12-03 by what the step without
#: ``take_along_axis`` saves on the AMD EPYC, OR-Library gapd: 0.52 per slot,
#: 0.83 per cell); :meth:`KnapsackLagrangian.arc_bounds` counts four
SLOT_SECONDS = 1.7e-5
CELL_SECONDS = 1.2e-8


class KnapsackLagrangian:
    """The Lagrangian relaxation of the coverage rows of an assignment problem.

    ``item``, ``agent``, ``cost``, ``load``: one entry per arc that may be
    chosen; ``capacity`` per agent. Every item must take exactly one arc."""

    def __init__(
        self,
        n_items: int,
        item: I64,
        agent: I64,
        cost: F64,
        load: I64,
        capacity: I64,
    ) -> None:
        self.n_items = int(n_items)
        item = np.asarray(item, dtype=np.int64)
        agent = np.asarray(agent, dtype=np.int64)
        # only agents with arcs take part; arcs that cannot fit are dropped
        cap_all = np.asarray(capacity, dtype=np.int64)
        load = np.asarray(load, dtype=np.int64)
        # the rows relaxed: items with an arc (one without any makes the problem
        # infeasible; it is left out, which keeps every value a bound of the rest)
        self.covered = np.zeros(self.n_items, dtype=bool)
        self.covered[item] = True
        fits = load <= cap_all[agent]
        item, agent = item[fits], agent[fits]
        cost = np.asarray(cost, dtype=np.float64)[fits]
        load = load[fits]
        agents, slot_agent = np.unique(agent, return_inverse=True)
        m = len(agents)
        order = np.argsort(slot_agent, kind="stable")
        counts = np.bincount(slot_agent, minlength=m)
        k = int(counts.max()) if m else 0
        start = np.concatenate(([0], np.cumsum(counts)[:-1])) if m else np.zeros(0, np.int64)
        pos = np.arange(len(order)) - np.repeat(start, counts)
        cap = np.minimum(cap_all[agents], np.bincount(slot_agent, weights=load, minlength=m).astype(np.int64))
        width = int(cap.max()) + 1 if m else 1
        self.m, self.k, self.width = m, k, width
        self.cap = cap
        # padded (agent, slot) tables; padding never fits (weight = width)
        self.slot_item = np.zeros((m, k), dtype=np.int64)
        self.slot_cost = np.zeros((m, k))
        self.slot_load = np.full((m, k), width, dtype=np.int64)
        self.slot_real = np.zeros((m, k), dtype=bool)
        rows, cols = slot_agent[order], pos
        self.slot_arc = np.full((m, k), -1, dtype=np.int64)  # index into the arrays given
        self.slot_arc[rows, cols] = np.flatnonzero(fits)[order]
        self.n_arcs = len(fits)
        self.slot_item[rows, cols] = item[order]
        self.slot_cost[rows, cols] = cost[order]
        self.slot_load[rows, cols] = load[order]
        self.slot_real[rows, cols] = True
        self.integral = bool(np.all(cost == np.rint(cost)))
        self._cols = np.arange(width, dtype=np.int64)

    @staticmethod
    def fits(n_agents: int, max_arcs_per_agent: int, max_capacity: int) -> bool:
        return n_agents * max_arcs_per_agent * (max_capacity + 1) <= MAX_CELLS

    def seconds(self) -> float:
        """One evaluation's time, as the deterministic clock counts it."""
        return SLOT_SECONDS * self.k + CELL_SECONDS * self.m * self.k * self.width

    def grid(self, lam: F64) -> F64:
        """``lam`` rounded to the dyadic grid (exact arithmetic, see the module)."""
        q = float(1 << GRID_BITS)
        return np.rint(np.asarray(lam, dtype=np.float64) * q) / q

    def _profit(self, lam: F64) -> F64:
        """Per (agent, slot): the knapsack profit ``lam_item - cost`` (0 for padding)."""
        return np.where(self.slot_real, lam[self.slot_item] - self.slot_cost, 0.0)

    def _lowered(self, value: F64 | float) -> F64 | float:
        """``value`` as a bound: lowered by a relative 1e-12 per summed slot when
        costs are not integral (float sums; exact otherwise, see the module)."""
        if self.integral:
            return value
        with np.errstate(invalid="ignore"):  # (infinite values stay as they are)
            lowered = value - 1e-12 * np.maximum(1.0, np.abs(value)) * (self.k + 1)
        return np.where(np.isfinite(value), lowered, value)

    def knapsacks(self, lam: F64, agents: NDArray[np.bool_] | None = None) -> tuple[F64, NDArray[np.bool_]]:
        """Every agent's best knapsack at multipliers ``lam``: its value
        ``z`` (profit ``lam_item - cost`` summed; 0 for the empty knapsack) and
        the slots it takes, ``(m, k)``. Items with ``lam = -inf`` are never
        taken; with ``agents`` (per agent row) only those rows are solved (the
        others take nothing)."""
        m, k, width = self.m, self.k, self.width
        clocks.current().charge(self.seconds())
        profit = self._profit(lam)
        if agents is not None:
            profit = np.where(np.asarray(agents, dtype=bool)[:, None], profit, 0.0)
        f = np.zeros((m, width))
        take = np.zeros((k, m, width), dtype=bool)  # where slot s was taken
        for s in range(k):
            rows, better, new = self._offer(f, s, profit)
            take[s, rows] = better
            f[rows] = new
        z = f[np.arange(m), self.cap]
        # which slots each knapsack takes (backtracking, all agents at once)
        x = np.zeros((m, k), dtype=bool)
        left = self.cap.copy()
        ar = np.arange(m)
        for s in range(k - 1, -1, -1):
            t = take[s, ar, left]
            x[:, s] = t
            left = left - np.where(t, self.slot_load[:, s], 0)
        return z, x

    def evaluate(self, lam: F64) -> tuple[float, F64]:
        """``(L(lam), subgradient)`` for ``lam`` on the grid. The subgradient of
        item ``j`` is ``1 - (number of knapsacks that take it)``."""
        z, x = self.knapsacks(lam)
        used = np.bincount(self.slot_item[x], minlength=self.n_items)
        g = (1.0 - used).astype(np.float64)
        value = math.fsum(lam[self.covered].tolist()) - math.fsum(z.tolist())
        return value, g

    def _offer(self, f: F64, s: int, profit: F64) -> tuple[I64, NDArray[np.bool_], F64]:
        """Slot ``s`` offered to the rows of ``f`` (best profit per capacity,
        C-contiguous) where it gains and fits: ``(rows, where it is taken,
        their new values)``. At capacity ``c`` the slot is taken when
        ``f[c - w] + p`` (gathered before ``f`` changes, so at most once)
        beats ``f[c]``."""
        rows = np.flatnonzero((profit[:, s] > 0) & (self.slot_load[:, s] < self.width))
        if not len(rows):
            return rows, np.zeros((0, self.width), dtype=bool), np.zeros((0, self.width))
        idx = self._cols[None, :] - self.slot_load[rows, s][:, None]
        prev = f.reshape(-1)[rows[:, None] * self.width + np.maximum(idx, 0)]
        prev += profit[rows, s][:, None]
        sub = f[rows]
        better = (idx >= 0) & (prev > sub)
        return rows, better, np.where(better, prev, sub)

    def _step(self, f: F64, s: int, profit: F64) -> F64:
        """The table after offering slot ``s`` to ``f`` (best profit per capacity)."""
        rows, _, new = self._offer(f, s, profit)
        out = f.copy()
        out[rows] = new
        return out

    def arc_bounds(self, lam: F64) -> F64:
        """Per arc (in the order given): a lower bound of the cost of every
        feasible selection that uses it — ``L(lam)`` with the arc forced in its
        agent's knapsack and its item forced out of the others'. Arcs that can
        never fit get ``inf``. An arc whose value exceeds a known cost ``V``
        is in no selection of cost ``<= V`` (reduced-cost fixing)."""
        lam = self.grid(lam)
        m, k, width = self.m, self.k, self.width
        clocks.current().charge(4.0 * self.seconds())
        profit = self._profit(lam)
        back = np.zeros((k + 1, m, width))  # back[s]: slots s.. only
        for s in range(k - 1, -1, -1):
            back[s] = self._step(back[s + 1], s, profit)
        ar = np.arange(m)
        z = back[0][ar, self.cap]
        neg = -np.inf
        z_in = np.full((m, k), neg)
        z_out = np.zeros((m, k))
        front = np.zeros((m, width))  # slots < s only
        for s in range(k):
            for room, dest in ((self.cap, z_out), (self.cap - self.slot_load[:, s], z_in)):
                idx = room[:, None] - self._cols[None, :]
                ok = idx >= 0
                tail = np.take_along_axis(back[s + 1], np.clip(idx, 0, width - 1), axis=1)
                best = np.where(ok, front + tail, neg).max(axis=1)
                dest[:, s] = np.where(room >= 0, best, neg)
            front = self._step(front, s, profit)
        z_in = z_in + np.where(self.slot_real, profit, 0.0)
        # value lost by agent i when slot s's item is kept out of its knapsack;
        # several slots of one (agent, item) pair: any one is a valid (weaker) choice
        real = self.slot_real
        drop_out = np.where(real, z[:, None] - z_out, 0.0)
        total_out = np.zeros(self.n_items)
        ai, si = np.nonzero(real)
        items = self.slot_item[ai, si]
        key = ai * self.n_items + items
        uk, first = np.unique(key, return_index=True)
        pair_drop = drop_out[ai[first], si[first]]
        np.add.at(total_out, uk % self.n_items, pair_drop)
        own = pair_drop[np.searchsorted(uk, key)]
        base = math.fsum(lam[self.covered].tolist()) - math.fsum(z.tolist())
        value = base + (z[ai] - z_in[ai, si]) + (total_out[items] - own)
        out = np.full(self.n_arcs, np.inf)
        out[self.slot_arc[ai, si]] = self._lowered(value)
        return out

    def bound(self, lam: F64) -> float:
        """A lower bound from any multipliers: ``L(lam)`` on the grid, lowered by a
        relative 1e-12 when costs are not integral (float sums)."""
        value, _ = self.evaluate(self.grid(lam))
        return float(self._lowered(value))

    def improve(
        self,
        lam0: F64,
        target: float,
        iterations: int,
        deadline: float | None = None,
    ) -> tuple[float, F64]:
        """Subgradient optimisation from ``lam0`` (Polyak steps towards
        ``target``, step factor times 0.7 after 20 evaluations without progress).
        Stops after ``iterations`` evaluations or at ``deadline``
        (on :func:`assign.clock.current`'s clock). Returns the best ``(bound, multipliers)`` seen."""
        lam = self.grid(lam0)
        best_lam = lam
        best = -math.inf
        theta = 1.0
        stall = 0
        for _ in range(max(1, int(iterations))):
            raw, g = self.evaluate(lam)
            value = float(self._lowered(raw))
            if value > best:
                if value > best + 1e-9 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
                    stall = 0
                best, best_lam = value, lam
            else:
                stall += 1
                if stall >= 20:
                    theta *= 0.7
                    stall = 0
            g = np.where(self.covered, g, 0.0)
            norm = float(g @ g)
            if norm == 0.0 or theta < 1e-4:
                break  # lam is optimal: the relaxed solution is a feasible assignment
            step = theta * max(target - value, 1e-3 * max(1.0, abs(value))) / norm
            lam = self.grid(lam + step * g)
            if deadline is not None and clocks.current().now() >= deadline:
                break
        return best, best_lam
