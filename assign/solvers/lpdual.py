"""Row multipliers of large coverage LPs, fast: PDLP, then an exact repair.

:func:`pdlp_multipliers` serves :func:`assign.solvers.auto._rigorous` for LPs
too large for simplex in the time given. Whatever it returns, the caller turns
it into a valid bound by weak duality (``auto._dual_value``); this module only
makes the multipliers good, never the bound valid.

1. **PDLP** (OR-Tools' first-order LP solver, one thread) with glop presolve
   when the budget is large next to the LP (:func:`use_glop`) and without
   restarts unless the budget is long next to it (:func:`use_restarts`): at
   a limit PDLP returns the average iterate since its last restart, which
   for the first ~1,000 iterations is the better point, and the restart
   checks cost ~40 % of the time (measured on Shiquan's tier-2 LP, 665,000
   columns, 2.7 M nonzeros: 150 / 300 / 600 iterations give 14,810 / 15,215
   / 15,127 against 13,317 / 14,982 / 15,142 with the defaults; the LP's
   optimum is 15,263).
2. **Task completion.** The tier LPs of :class:`assign.solvers.auto.Relaxation`
   have a rigid shape: every column in exactly one equality row
   ``sum_p x_p - k_t y_t = 0`` (one ``y`` column per row, coefficient
   ``-k_t``, its pairs ``x_p`` with ``+1``), a box ``[0, 1]``, and for teams
   the link rows ``x_p - y_t <= 0``. Given multipliers of the other rows,
   the best multipliers of the equality and link rows are in closed form:
   with ``c_p`` the reduced costs of a task's pairs, ``u_t`` between the
   ``k``-th and ``(k+1)``-th smallest and ``-max(0, u_t - c_p)`` per link, the
   Lagrangian over the box becomes ``b.m + sum_t min(0, c_y + sum of the k
   smallest c_p)``. This turns a rough PDLP point into a much better bound at
   the cost of a sort (0.1 s on Shiquan: 200 iterations 14,233 -> 14,549,
   100 iterations -28,250 -> 12,915).
3. **Smoothed dual polish.** That function of the other rows' multipliers
   only (8,300 on Shiquan instead of 164,000) is raised by L-BFGS-B on its
   entropy smoothing (a soft-min at temperature ``tau``, exact for teams of 1
   and 2 via elementary symmetric sums): +380 in 0.8 s from a 200-iteration
   point.

The candidate multipliers (PDLP's in both sign conventions, completed,
polished) are compared by their float64 Lagrangian value and the best is
returned. With an iteration limit (``workers=1``) every step is counted in
iterations, so runs repeat; the clock is only a safety net.

When the LP lacks the shape of step 2 (e.g. it carries the fairness columns),
only step 1 runs.

:func:`cg_multipliers` is the other way to such multipliers: column
generation over the pair columns with HiGHS' dual simplex (through scipy) on
the restricted LPs. Where the LP has the time to converge it reaches the LP's
optimum, which PDLP's iterates approach slowly (Shiquan's tier 3, 1.77 M
columns: its optimum 27,233 in ~9 s, PDLP 20,964 after 10 s); where it does
not (tier 2 with its teams: the restricted LPs are slower) PDLP's early
iterates are the better multipliers. The study behind the parameters: ``benchmarks/bounds.py lp``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: share of a wall-clock budget for PDLP; the polish has the rest
PDLP_SHARE = 0.8
#: L-BFGS iterations of the polish under an iteration limit (two temperatures)
POLISH_ITERATIONS = 40
#: smoothing temperatures, relative to max |cost|: first half, second half
TAU_REL = (5e-4, 1e-4)
#: glop presolve (~1.7 s on Shiquan's tier 2 idle, twice that on a slow
#: moment of the machine) pays off only when the budget is large next to it:
#: from GLOP_MIN_SECONDS and from GLOP_SECONDS_PER_NONZERO times the LP's
#: constraint nonzeros (Shiquan's tier 2, 2.7 M: 8.0 s; tier 3, 5.7 M:
#: 17 s). `python benchmarks/bounds.py lp shiquan --seed 1 --tier 2 --limit
#: 1=26285 --pdlp 4 4.5 5.1 5.5 6 7 --glop-min 4` (and 100; 2026-12-03
#: 08:00, idle): with presolve U2 >= 3,540 (nothing) / 10,039 / 15,558 /
#: 18,164 / 17,962 / 18,679, without 17,960 / 18,171 / 17,258 / 17,254 /
#: 18,431 / 18,542. The same at 14:38, the machine at ~60 % of its speed
#: (budgets 4 / 5 / 6 / 7 / 9 s): with 3,540 / 3,540 / 11,412 / 17,981 /
#: 18,271, without 15,332 / 18,036 / 17,254 / 17,258 / 18,669. Tier 3
#: (1.77 M columns; `--tier 3 --pdlp 13 20 30 --restart-min 1000`, 16:30):
#: with 1,200 (nothing) / 22,986 / 27,210, without 17,686 / 25,705 / 26,879
#: (its optimum is 27,233; an earlier ad hoc run: 1,200 / 27,147 / 27,227
#: and 19,634 / 26,216 / 26,988). A budget the presolve eats gives nothing;
#: one well above it gains a little, not every run
GLOP_MIN_SECONDS = 6.0
GLOP_SECONDS_PER_NONZERO = 3.0e-6
#: PDLP restarts from NO_RESTART_MAX_SECONDS and from RESTART_SECONDS_PER_NONZERO
#: times the LP's nonzeros (Shiquan's tier 2: 16 s, tier 3: 34 s): without
#: restarts its average lags behind after ~1,000 iterations, and a small LP
#: may not reach PDLP's own optimality test (then it runs to the clock, and
#: with one worker the soft bound would not repeat); with them a large LP's
#: point is poor for long: Shiquan's tier 3, budgets 13 / 20 / 30 s, with
#: restarts U3 >= 1,200 (nothing) / 1,200 / 5,643, without 17,686 / 25,705 /
#: 26,879 (`--tier 3 --pdlp 13 20 30 --glop-min 100 --restart-min 12`, and
#: 1000; 2026-12-03 16:30, the machine at ~60 % of its speed); tier 2 at 13 /
#: 20 s 18,410 / 18,669 against 18,724 / 18,768 (ad hoc, 14:40-14:46)
NO_RESTART_MAX_SECONDS = 12.0
RESTART_SECONDS_PER_NONZERO = 6.0e-6
NO_RESTART_MAX_ITERATIONS = 1000


def use_glop(time_limit: float | None, nonzeros: int) -> bool:
    """Whether PDLP presolves with glop in a budget of ``time_limit`` seconds
    (None: no limit) an LP of ``nonzeros`` constraint nonzeros."""
    if time_limit is None:
        return True
    return float(time_limit) >= max(GLOP_MIN_SECONDS, GLOP_SECONDS_PER_NONZERO * nonzeros)


def use_restarts(time_limit: float | None, nonzeros: int) -> bool:
    """Whether PDLP restarts in a wall-clock budget of ``time_limit`` seconds
    (None: no limit) on an LP of ``nonzeros`` constraint nonzeros."""
    if time_limit is None:
        return True
    return float(time_limit) >= max(NO_RESTART_MAX_SECONDS, RESTART_SECONDS_PER_NONZERO * nonzeros)


def lagrangian_terms(
    cost: F64, a_ub: Any, b_ub: F64, a_eq: Any, b_eq: F64, lo: F64, hi: F64, m_ub: F64, m_eq: F64
) -> F64:
    """The terms of the Lagrangian over the box, ``b.m`` and ``min(r lo, r hi)``
    per column with reduced costs ``r = cost - A^T m``, the multipliers of
    ``<=`` rows clipped to <= 0: their sum is at most ``min cost.z`` (weak
    duality). :func:`rigorous_sum` sums them exactly for a bound;
    :func:`box_value` in float64 to compare candidates."""
    m_ub = np.minimum(np.asarray(m_ub, dtype=np.float64), 0.0) if a_ub.shape[0] else np.zeros(0)
    m_eq = np.asarray(m_eq, dtype=np.float64) if a_eq.shape[0] else np.zeros(0)
    reduced = np.asarray(cost, dtype=np.float64).copy()
    if a_ub.shape[0]:
        reduced -= a_ub.T @ m_ub
    if a_eq.shape[0]:
        reduced -= a_eq.T @ m_eq
    box = np.minimum(reduced * lo, reduced * hi)
    return np.concatenate([m_ub * b_ub, m_eq * b_eq, box])


def box_value(
    cost: F64, a_ub: Any, b_ub: F64, a_eq: Any, b_eq: F64, lo: F64, hi: F64, m_ub: F64, m_eq: F64
) -> float:
    """The float64 Lagrangian value of multipliers (to compare candidates only)."""
    return float(lagrangian_terms(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, m_ub, m_eq).sum())


def rigorous_sum(terms: F64) -> float:
    """A lower bound of the exact sum of :func:`lagrangian_terms`' terms, so
    of ``min cost.z``: the sum taken exactly (``math.fsum``), lowered by a
    relative 1e-9 for the rounding of the reduced costs in the terms."""
    import math

    value = math.fsum(terms.tolist())
    return value - 1e-9 * max(1.0, math.fsum(np.abs(terms).tolist()))


class CoverageShape:
    """The coverage structure of step 2, recognised from the arrays (``ok``
    False when the LP does not have it)."""

    def __init__(self, cost: F64, a_ub: Any, b_ub: F64, a_eq: Any, b_eq: F64, lo: F64, hi: F64):
        from scipy import sparse

        self.ok = False
        n, n_ub, n_eq = len(cost), a_ub.shape[0], a_eq.shape[0]
        if n_eq == 0 or np.any(b_eq != 0) or np.any(lo != 0) or np.any(hi != 1):
            return
        aec = sparse.csc_matrix(a_eq)
        aec.sum_duplicates()
        aec.eliminate_zeros()
        if not np.all(np.diff(aec.indptr) == 1):
            return  # a column outside every equality row, or in two
        task = aec.indices.astype(np.int64)
        coef = aec.data
        isy = coef < 0
        if np.any(np.bincount(task[isy], minlength=n_eq) != 1) or not np.all(coef[~isy] == 1):
            return
        kf = np.zeros(n_eq)
        kf[task[isy]] = -coef[isy]
        if np.any(kf != np.round(kf)):
            return
        k = np.round(kf).astype(np.int64)
        ycol = np.empty(n_eq, np.int64)
        ycol[task[isy]] = np.flatnonzero(isy)
        # link rows x_p - y_t <= 0 of the same task
        aur = sparse.csr_matrix(a_ub)
        nnz = np.diff(aur.indptr)
        cand = np.flatnonzero((b_ub == 0) & (nnz == 2))
        st = aur.indptr[cand]
        c0, c1 = aur.indices[st], aur.indices[st + 1]
        d0, d1 = aur.data[st], aur.data[st + 1]
        sw = d0 < 0
        xc, yc = np.where(sw, c1, c0), np.where(sw, c0, c1)
        dx, dy = np.where(sw, d1, d0), np.where(sw, d0, d1)
        good = (dx == 1) & (dy == -1) & ~isy[xc] & isy[yc] & (task[xc] == task[yc])
        link_rows, xc = cand[good], xc[good]
        _, first = np.unique(xc, return_index=True)
        link_rows, xc = link_rows[first], xc[first]
        xcols = np.flatnonzero(~isy)
        xcols = xcols[np.argsort(task[xcols], kind="stable")]  # pairs grouped by task
        tx = task[xcols]
        nx = np.bincount(tx, minlength=n_eq)
        nl = np.bincount(task[xc], minlength=n_eq)
        if np.any(nx < k) or np.any((k >= 2) & (nl != nx)):
            return  # a task without enough pairs, or a team pair without its link row
        link_of = np.full(n, -1, np.int64)
        link_of[xc] = link_rows
        other = np.ones(n_ub, dtype=bool)
        other[link_rows] = False
        self.other = np.flatnonzero(other)
        self.a_oth = sparse.csr_matrix(aur[self.other])
        self.a_oth_t = sparse.csr_matrix(self.a_oth.T)
        self.b_oth = np.asarray(b_ub, dtype=np.float64)[self.other]
        self.cost, self.n_ub = cost, n_ub
        self.k, self.ycol, self.xcols, self.tx, self.nx = k, ycol, xcols, tx, nx
        self.starts = np.searchsorted(tx, np.arange(n_eq))
        self.link_x = link_of[xcols]
        self.ok = True
        # the soft-min of the polish is written for teams of 1 and 2
        self.smoothable = bool(k.max() <= 2 and len(self.other) > 0)

    def complete(self, pi: F64) -> tuple[F64, F64]:
        """Full ``(m_ub, m_eq)`` from prices ``pi = -m >= 0`` of the other rows."""
        c = self.cost + self.a_oth_t @ pi
        cx = c[self.xcols]
        order = np.lexsort((cx, self.tx))
        cs = cx[order]
        st, k = self.starts, self.k
        ck = cs[st + k - 1]
        cnext = np.where(self.nx > k, cs[np.minimum(st + k, len(cs) - 1)], ck)
        u = np.where(k == 1, ck, 0.5 * (ck + cnext))
        m_ub = np.zeros(self.n_ub)
        m_ub[self.other] = -pi
        has = self.link_x >= 0
        m_ub[self.link_x[has]] = -np.maximum(0.0, u[self.tx[has]] - cx[has])
        return m_ub, u

    def smooth(self, pi: F64, tau: float) -> tuple[float, F64]:
        """``-G_tau(pi)`` and its gradient, ``G_tau`` the entropy-smoothed
        Lagrangian of :meth:`complete`'s multipliers (for L-BFGS-B)."""
        c = self.cost + self.a_oth_t @ pi
        cx = c[self.xcols]
        st, t, k = self.starts, self.tx, self.k
        mn = np.minimum.reduceat(cx, st)
        w = np.exp(-(cx - mn[t]) / tau)
        s1 = np.add.reduceat(w, st)
        s2 = np.add.reduceat(w * w, st)
        rest = np.maximum(s1 - 1.0, 0.0)
        e2 = np.maximum(rest + 0.5 * np.maximum(rest * rest - np.maximum(s2 - 1.0, 0.0), 0.0), 1e-300)
        ek = np.where(k == 2, e2, s1)
        a = -(c[self.ycol] + k * mn) / tau + np.log(ek)
        f = -tau * np.logaddexp(0.0, a)
        sig = 0.5 * (1.0 + np.tanh(0.5 * a))
        p = np.where(k[t] == 2, w * np.maximum(s1[t] - w, 0.0) / ek[t], w / s1[t])
        z = np.zeros(len(c))
        z[self.xcols] = sig[t] * p
        z[self.ycol] = sig
        g = -self.b_oth @ pi + f.sum()
        grad = -self.b_oth + self.a_oth @ z
        if not (np.isfinite(g) and np.all(np.isfinite(grad))):
            return 1e30, np.zeros_like(pi)
        return float(-g), -grad


def _run_pdlp(
    cost: F64, a_ub: Any, b_ub: F64, a_eq: Any, b_eq: F64, lo: F64, hi: F64,
    time_limit: float | None, iteration_limit: int | None, glop: bool, restarts: bool,
) -> tuple[F64, F64] | None:
    """PDLP's (dual, primal) vectors, or None."""
    from ortools.pdlp import solvers_pb2
    from ortools.pdlp.python import pdlp
    from scipy import sparse

    n_ub = a_ub.shape[0]
    qp = pdlp.QuadraticProgram()
    qp.objective_vector = cost
    qp.constraint_matrix = sparse.vstack([a_ub, a_eq], format="csc")
    b = np.where(np.abs(b_ub) < 1e-12, 0.0, b_ub)  # tiny right-hand sides only slow PDLP down
    qp.constraint_lower_bounds = np.concatenate((np.full(n_ub, -np.inf), b_eq))
    qp.constraint_upper_bounds = np.concatenate((b, b_eq))
    qp.variable_lower_bounds = lo
    qp.variable_upper_bounds = hi
    prm = solvers_pb2.PrimalDualHybridGradientParams()
    prm.num_threads = 1
    prm.verbosity_level = 0
    prm.presolve_options.use_glop = bool(glop)
    if not restarts:
        prm.restart_strategy = solvers_pb2.PrimalDualHybridGradientParams.NO_RESTARTS
    if time_limit is not None:
        prm.termination_criteria.time_sec_limit = max(0.05, float(time_limit))
    if iteration_limit is not None:
        prm.termination_criteria.iteration_limit = max(1, int(iteration_limit))
    try:
        res = pdlp.primal_dual_hybrid_gradient(qp, prm)
    except (ValueError, RuntimeError):
        return None
    y = np.asarray(res.dual_solution, dtype=np.float64)
    x = np.asarray(res.primal_solution, dtype=np.float64)
    if len(y) != qp.constraint_matrix.shape[0] or not np.all(np.isfinite(y)):
        return None
    return y, x


def _as_arrays(
    cost: Any, a_ub: Any, b_ub: Any, a_eq: Any, b_eq: Any, lo: Any, hi: Any
) -> tuple[F64, Any, F64, Any, F64, F64, F64]:
    """The LP's vectors as float64 arrays and its matrices as CSR."""
    from scipy import sparse

    def f(x: Any) -> F64:
        return np.asarray(x, dtype=np.float64)

    return f(cost), sparse.csr_matrix(a_ub), f(b_ub), sparse.csr_matrix(a_eq), f(b_eq), f(lo), f(hi)


def pdlp_multipliers(
    cost: F64,
    a_ub: Any,
    b_ub: F64,
    a_eq: Any,
    b_eq: F64,
    lo: F64,
    hi: F64,
    time_limit: float | None,
    iteration_limit: int | None = None,
    primal: list[F64] | None = None,
) -> tuple[F64, F64] | None:
    """Multipliers ``(m_ub <= 0, m_eq)`` of ``min cost.z, a_ub z <= b_ub,
    a_eq z = b_eq, lo <= z <= hi`` (``_dual_value``'s convention), or None.

    ``time_limit`` is the whole call's wall-clock budget; with an
    ``iteration_limit`` PDLP stops after that many iterations and the polish
    after :data:`POLISH_ITERATIONS` (the same result every run), and
    ``time_limit`` is only the safety net both stop at whatever else (the
    deterministic clock's: a call cut by it may differ from run to run; until
    stop 59 PDLP's was at twice it and the polish had none, and a one-worker
    Shiquan's tier-2 LP ran 17 s, past the net). PDLP's primal point is
    appended to ``primal`` (for the LP-guided greedy)."""

    t0 = time.monotonic()
    cost, a_ub, b_ub, a_eq, b_eq, lo, hi = _as_arrays(cost, a_ub, b_ub, a_eq, b_eq, lo, hi)
    n_ub = a_ub.shape[0]
    deterministic = iteration_limit is not None
    if time_limit is None:
        pd_time = None
    else:
        pd_time = float(time_limit) if deterministic else PDLP_SHARE * float(time_limit)
    nnz = int(a_ub.nnz) + int(a_eq.nnz)
    glop = use_glop(time_limit, nnz)
    if deterministic:
        restarts = int(iteration_limit or 0) > NO_RESTART_MAX_ITERATIONS
    else:
        restarts = use_restarts(time_limit, nnz)
    got = _run_pdlp(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, pd_time, iteration_limit, glop, restarts)
    if got is None and glop:
        # glop presolve may stop on its own (e.g. it finds the LP infeasible): plain PDLP once more
        if pd_time is not None:
            pd_time = max(0.05, pd_time - (time.monotonic() - t0))
        got = _run_pdlp(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, pd_time, iteration_limit, False, restarts)
    if got is None:
        return None
    y, x = got
    if primal is not None and len(x) == len(cost):
        primal.append(x)
    # PDLP's sign convention for rows is taken from its result: try both
    cands = [(s * y[:n_ub], s * y[n_ub:]) for s in (1.0, -1.0)]
    vals = [box_value(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, *cd) for cd in cands]
    shape = CoverageShape(cost, a_ub, b_ub, a_eq, b_eq, lo, hi)
    if shape.ok:
        sign = 1.0 if vals[0] >= vals[1] else -1.0
        pi = np.maximum(-sign * y[:n_ub][shape.other], 0.0)
        more = [shape.complete(pi), *_polish(shape, pi, cost, t0, time_limit, deterministic)]
        cands.extend(more)
        vals.extend(box_value(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, *cd) for cd in more)
    mu, me = cands[int(np.argmax(vals))]
    return np.minimum(mu, 0.0), me


def _polish(
    shape: CoverageShape, pi: F64, cost: F64, t0: float, time_limit: float | None, deterministic: bool
) -> list[tuple[F64, F64]]:
    """Completed multipliers after L-BFGS-B on the smoothed Lagrangian, one
    per temperature of :data:`TAU_REL` (iteration-limited when
    ``deterministic``, stopped ``time_limit`` seconds after ``t0`` whatever
    else)."""
    from scipy.optimize import minimize

    out: list[tuple[F64, F64]] = []
    if not shape.smoothable:
        return out
    scale = max(1e-12, float(np.abs(cost).max()))
    if time_limit is None:
        total, deadline = POLISH_ITERATIONS, None
    elif deterministic:
        total, deadline = POLISH_ITERATIONS, t0 + float(time_limit)
    else:
        total, deadline = 10_000, t0 + float(time_limit) - 0.35
    x = pi
    for stage, rel in enumerate(TAU_REL):
        maxiter = total // 2 if stage == 0 else total - total // 2
        stage_deadline: float | None = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # (an iteration-limited polish: the net alone, not half of it)
            stage_deadline = time.monotonic() + (0.5 * left if stage == 0 and not deterministic else left)

        def stop(_xk: Any, _d: float | None = stage_deadline) -> None:
            if _d is not None and time.monotonic() > _d:
                raise StopIteration

        try:
            with np.errstate(all="ignore"):
                res = minimize(
                    shape.smooth, x, args=(rel * scale,), jac=True, method="L-BFGS-B",
                    bounds=[(0.0, None)] * len(x), callback=stop,
                    options={"maxiter": maxiter, "maxcor": 20, "gtol": 0.0, "ftol": 0.0},
                )
        except (ValueError, FloatingPointError, ArithmeticError):
            break
        if not np.all(np.isfinite(res.x)):
            break
        x = np.maximum(res.x, 0.0)
        out.append(shape.complete(x))
    return out


#: column generation (:func:`cg_multipliers`): each task's pairs in the first
#: restricted LP, and the pairs of negative reduced cost added per task a round
CG_PAIRS_PER_TASK = 5
#: a restricted LP that is infeasible (a restriction ``U_j <= limit`` its pairs
#: cannot meet) is retried with this many times more pairs per task, so often
CG_WIDEN = 3
CG_WIDEN_TIMES = 2
#: the first restricted LP must be solved within this share of the time, or
#: the LP is left to PDLP (None): ankang's tier 1 (396,000 columns, 41,000
#: rows of volunteers' minutes; ad hoc 2026-12-02) gave 56,943 by column
#: generation in 10 s and in 30 s, 246,432 by PDLP in 10 s; with this share,
#: `python benchmarks/bounds.py lp ankang --tier 1 --pdlp 10 --cg 10`:
#: 246,455 (PDLP) and 246,390 (column generation, gone to PDLP)
CG_FIRST_SHARE = 0.25


def cg_multipliers(
    cost: F64,
    a_ub: Any,
    b_ub: F64,
    a_eq: Any,
    b_eq: F64,
    lo: F64,
    hi: F64,
    time_limit: float,
    primal: list[F64] | None = None,
    post: Callable[[float], None] | None = None,
) -> tuple[F64, F64] | None:
    """Multipliers ``(m_ub <= 0, m_eq)`` of a coverage LP (the shape of
    :class:`CoverageShape`) by column generation, or None when the LP lacks
    that shape or no restricted LP was solved: the pair columns enter a
    restricted LP (HiGHS' dual simplex through scipy) a few per task, first
    those of least load, then each round those of most negative reduced cost
    under its duals, until none is left (the restricted optimum is the LP's)
    or the wall-clock ``time_limit`` is spent. When the first restricted LP
    is not solved in :data:`CG_FIRST_SHARE` of the time, None: an LP of many
    rows is PDLP's.

    Every round's duals, as they are and completed (:meth:`CoverageShape.complete`),
    are candidates; the best by :func:`box_value` is returned, and the caller
    turns it into a bound by weak duality, so a round cut short is still
    valid. The LP's point (the restricted LP's, zero elsewhere) is appended to
    ``primal``. With ``post``, each round that finds better multipliers
    calls it with their bound (:func:`rigorous_sum`, what the caller's weak
    duality gives for them): a caller that must stop early keeps it. (Ad hoc
    trace, 2026-12-06, Shiquan seed 0 at 60 s: tier 3's LP in the forked
    child ended its eighth round 0.14 s past its time, then its bound took
    ~0.3 s more, and the parent, done waiting, dropped the seven rounds'
    bound: 899.)

    Measured (ad hoc, 2026-12-02, Shiquan seed 1, one thread, idle): tier 3
    alone (1.77 M columns, 5,113 volunteer rows) reaches its LP optimum,
    27,233, in 5 rounds and 8.9 s with ~110,000 columns (PDLP: 20,964 after
    10 s, 26,990 after 20 s); tier 2 alone (665,000 columns, teams), whose
    restricted LPs are slower, 8,557 after 9 s where PDLP has ~15,000, so
    it is used where an LP has the time to converge (the later tiers'
    bounds of :func:`assign.solvers.auto._later_lp_bounds`)."""
    from scipy import sparse
    from scipy.optimize import linprog

    began = time.monotonic()
    deadline = began + float(time_limit)
    cost, a_ub, b_ub, a_eq, b_eq, lo, hi = _as_arrays(cost, a_ub, b_ub, a_eq, b_eq, lo, hi)
    shape = CoverageShape(cost, a_ub, b_ub, a_eq, b_eq, lo, hi)
    if not shape.ok:
        return None
    n, n_ub = len(cost), a_ub.shape[0]
    ub_c, eq_c = sparse.csc_matrix(a_ub), sparse.csc_matrix(a_eq)
    xcols, tx = shape.xcols, shape.tx

    def cheapest(score: F64, per: int, allowed: NDArray[np.bool_]) -> I64:
        """Per task the ``per`` allowed pair columns of least ``score``."""
        keep = allowed[xcols]
        cols, s, t = xcols[keep], score[xcols][keep], tx[keep]
        order = np.lexsort((cols, s, t))
        first = np.searchsorted(t[order], t[order], side="left")
        return cols[order[np.arange(len(order)) - first < per]]

    load = np.asarray(abs(ub_c).sum(axis=0)).ravel() if n_ub else np.zeros(n)
    inside = np.zeros(n, dtype=bool)
    inside[shape.ycol] = True
    inside[cheapest(load, CG_PAIRS_PER_TASK, np.ones(n, dtype=bool))] = True
    best: tuple[float, F64, F64] | None = None
    point: F64 | None = None
    widened = 0
    while True:
        left = deadline - time.monotonic()
        if best is None:
            left = began + CG_FIRST_SHARE * float(time_limit) - time.monotonic()
        if left <= 0.05:
            break
        cols = np.flatnonzero(inside)
        try:
            res = linprog(
                cost[cols],
                A_ub=ub_c[:, cols] if n_ub else None,
                b_ub=b_ub if n_ub else None,
                A_eq=eq_c[:, cols],
                b_eq=b_eq,
                bounds=np.column_stack((lo[cols], hi[cols])),
                method="highs-ds",
                options={"presolve": True, "time_limit": left},
            )
        except (ValueError, RuntimeError):
            break
        if res.status == 2 and widened < CG_WIDEN_TIMES:
            # infeasible: more pairs per task, the least loaded first
            widened += 1
            inside[cheapest(load, CG_PAIRS_PER_TASK * CG_WIDEN**widened, np.ones(n, dtype=bool))] = True
            continue
        if res.status not in (0, 1) or res.ineqlin is None or res.eqlin is None:
            break
        if res.status == 1 and best is None:
            break  # the first restricted LP not solved in its share: PDLP's
        m_ub = np.minimum(np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0) if n_ub else np.zeros(0)
        m_eq = np.asarray(res.eqlin.marginals, dtype=np.float64)
        if not (np.all(np.isfinite(m_ub)) and np.all(np.isfinite(m_eq))):
            break
        better = None
        for cand in ((m_ub, m_eq), shape.complete(-m_ub[shape.other])):
            terms = lagrangian_terms(cost, a_ub, b_ub, a_eq, b_eq, lo, hi, *cand)
            value = float(terms.sum())
            if best is None or value > best[0]:
                best, better = (value, *cand), terms
        if post is not None and better is not None:
            post(rigorous_sum(better))
        if res.status == 0 and res.x is not None:
            point = np.zeros(n)
            point[cols] = res.x
        if res.status != 0:
            break  # the time ran out inside the restricted LP
        reduced = cost - ub_c.T @ m_ub - eq_c.T @ m_eq if n_ub else cost - eq_c.T @ m_eq
        entering = cheapest(reduced, CG_PAIRS_PER_TASK, (reduced < -1e-9) & ~inside)
        if len(entering) == 0:
            break  # no column prices out: the restricted optimum is the LP's
        inside[entering] = True
    if best is None:
        return None
    if primal is not None and point is not None:
        primal.append(point)
    return best[1], best[2]
