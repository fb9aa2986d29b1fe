"""Tests of assign/solvers/lpdual.py: the multipliers of large coverage LPs.

The bound itself is made valid by weak duality (``auto._dual_value``); these
tests check that the repair of step 2 is the exact best completion, that the
whole recipe reaches the LP's optimum on small LPs, never passes it, and
repeats under an iteration limit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from assign.candidates import build_candidates
from assign.compile import compile_problem
from assign.solvers import auto, lpdual
from assign.solvers.lpdual import CoverageShape, cg_multipliers, pdlp_multipliers
from tests.strategies import problems


def coverage_lp(seed: int, max_team: int = 2, x_cost: float = 0.0) -> dict[str, Any]:
    """A random LP of the shape of a tier LP: pairs x (one per task and
    volunteer), coverage rows ``sum x - k y = 0``, link rows ``x - y <= 0`` for
    teams, a knapsack per volunteer; cost -weight on y (and ``x_cost`` * noise on x)."""
    rng = np.random.default_rng(seed)
    n_t, n_v = int(rng.integers(2, 9)), int(rng.integers(2, 6))
    k = np.minimum(rng.integers(1, max_team + 1, size=n_t), n_v)
    task, vol = [], []
    for t in range(n_t):
        n_p = int(rng.integers(k[t], n_v + 1))
        for v in rng.choice(n_v, size=n_p, replace=False):
            task.append(t)
            vol.append(int(v))
    task_a, vol_a = np.array(task), np.array(vol)
    n_p = len(task_a)
    n = n_p + n_t
    cost = np.zeros(n)
    cost[n_p:] = -rng.integers(1, 10, size=n_t).astype(float)
    cost[:n_p] = x_cost * rng.random(n_p)
    a_eq = sparse.csr_matrix(
        (np.concatenate((np.ones(n_p), -k.astype(float))),
         (np.concatenate((task_a, np.arange(n_t))), np.concatenate((np.arange(n_p), n_p + np.arange(n_t))))),
        shape=(n_t, n),
    )
    team = np.flatnonzero(k[task_a] > 1)
    rows = [
        sparse.csr_matrix(
            (np.concatenate((np.ones(len(team)), -np.ones(len(team)))),
             (np.concatenate((np.arange(len(team)), np.arange(len(team)))), np.concatenate((team, n_p + task_a[team])))),
            shape=(len(team), n),
        )
    ]
    load = rng.integers(1, 5, size=n_p).astype(float)
    rows.append(sparse.csr_matrix((load, (vol_a, np.arange(n_p))), shape=(n_v, n)))
    b_ub = np.concatenate((np.zeros(len(team)), rng.integers(1, 8, size=n_v).astype(float)))
    return {
        "cost": cost, "a_ub": sparse.vstack(rows, format="csr"), "b_ub": b_ub,
        "a_eq": a_eq, "b_eq": np.zeros(n_t), "lo": np.zeros(n), "hi": np.ones(n),
    }


def lp_optimum(lp: dict[str, Any]) -> Any:
    res = linprog(
        lp["cost"], A_ub=lp["a_ub"], b_ub=lp["b_ub"], A_eq=lp["a_eq"], b_eq=lp["b_eq"],
        bounds=np.column_stack((lp["lo"], lp["hi"])), method="highs",
    )
    assert res.status == 0
    return res


def dual_value(lp: dict[str, Any], m_ub: Any, m_eq: Any) -> float:
    return auto._dual_value(lp["cost"], lp["a_ub"], lp["b_ub"], lp["a_eq"], lp["b_eq"], lp["lo"], lp["hi"], m_ub, m_eq)


def args(lp: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    return lp["cost"], lp["a_ub"], lp["b_ub"], lp["a_eq"], lp["b_eq"], lp["lo"], lp["hi"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), max_team=st.sampled_from([1, 2, 3]), x_cost=st.sampled_from([0.0, 0.5]))
def test_completion_is_the_best_completion(seed: int, max_team: int, x_cost: float) -> None:
    """Given the other rows' multipliers, the closed-form completion is at least
    as good as any other choice of the task and link multipliers — in
    particular the LP's own — and with the LP's optimal multipliers of the other
    rows it reaches the LP's optimum."""
    lp = coverage_lp(seed, max_team, x_cost)
    res = lp_optimum(lp)
    shape = CoverageShape(*args(lp))
    assert shape.ok
    m_ub, m_eq = np.asarray(res.ineqlin.marginals), np.asarray(res.eqlin.marginals)
    pi = np.maximum(-m_ub[shape.other], 0.0)
    full = shape.complete(pi)
    assert dual_value(lp, *full) >= dual_value(lp, m_ub, m_eq) - 1e-7
    assert dual_value(lp, *full) <= res.fun + 1e-9
    assert abs(dual_value(lp, *full) - res.fun) <= 1e-6 * max(1.0, abs(res.fun))
    # arbitrary prices: still a lower bound, and no worse than zero task multipliers
    rng = np.random.default_rng(seed)
    pi = rng.random(len(shape.other)) * 3
    naive_ub = np.zeros(lp["a_ub"].shape[0])
    naive_ub[shape.other] = -pi
    completed = dual_value(lp, *shape.complete(pi))
    assert completed <= res.fun + 1e-9
    assert completed >= dual_value(lp, naive_ub, np.zeros(lp["a_eq"].shape[0])) - 1e-9


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), max_team=st.sampled_from([1, 2]))
def test_recipe_is_a_bound_and_converges_on_small_lps(seed: int, max_team: int) -> None:
    lp = coverage_lp(seed, max_team)
    res = lp_optimum(lp)
    primal: list[Any] = []
    duals = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=2000, primal=primal)
    assert duals is not None
    value = dual_value(lp, *duals)
    assert value <= res.fun + 1e-9
    assert value >= res.fun - 1e-3 * max(1.0, abs(res.fun))
    assert len(primal) == 1 and len(primal[0]) == len(lp["cost"])


def test_recipe_repeats_under_an_iteration_limit() -> None:
    lp = coverage_lp(7, 2)
    one = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=30)
    two = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=30)
    assert one is not None and two is not None
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_glop_presolves_only_budgets_large_next_to_the_lp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Glop's presolve eats a short budget (Shiquan's tier-3 LP gave nothing at
    13 s with it, 19,634 without): it runs from GLOP_MIN_SECONDS and from
    GLOP_SECONDS_PER_NONZERO per constraint nonzero; restarts likewise
    (a small LP needs them to converge)."""
    nnz = 2_674_077  # Shiquan's tier-2 LP
    need = lpdual.GLOP_SECONDS_PER_NONZERO * nnz
    assert need > lpdual.GLOP_MIN_SECONDS
    assert not lpdual.use_glop(need - 0.1, nnz) and lpdual.use_glop(need + 0.1, nnz)
    assert not lpdual.use_glop(lpdual.GLOP_MIN_SECONDS - 0.1, 1) and lpdual.use_glop(lpdual.GLOP_MIN_SECONDS, 1)
    assert lpdual.use_glop(None, nnz) and lpdual.use_restarts(None, nnz)
    need = lpdual.RESTART_SECONDS_PER_NONZERO * nnz
    assert not lpdual.use_restarts(need - 0.1, nnz) and lpdual.use_restarts(need + 0.1, nnz)
    seen: list[tuple[bool, bool]] = []
    run = lpdual._run_pdlp

    def spy(*a: Any) -> Any:
        seen.append((a[-2], a[-1]))  # (glop, restarts)
        return run(*a)

    monkeypatch.setattr(lpdual, "_run_pdlp", spy)
    lp = coverage_lp(5, 2)

    def first_run(budget: float, iterations: int | None) -> tuple[bool, bool]:
        seen.clear()
        assert pdlp_multipliers(*args(lp), time_limit=budget, iteration_limit=iterations) is not None
        return seen[0]

    # (a small LP: presolved from GLOP_MIN_SECONDS; on the wall clock, restarts from NO_RESTART_MAX_SECONDS)
    assert first_run(lpdual.GLOP_MIN_SECONDS - 1.0, None) == (False, False)
    assert first_run(lpdual.GLOP_MIN_SECONDS + 1.0, None) == (True, False)
    assert first_run(lpdual.NO_RESTART_MAX_SECONDS + 1.0, None) == (True, True)
    assert first_run(lpdual.NO_RESTART_MAX_SECONDS + 1.0, 50) == (True, False)  # an iteration limit decides
    # as if the LP were huge: neither
    monkeypatch.setattr(lpdual, "GLOP_SECONDS_PER_NONZERO", 1.0)
    monkeypatch.setattr(lpdual, "RESTART_SECONDS_PER_NONZERO", 1.0)
    assert first_run(lpdual.NO_RESTART_MAX_SECONDS + 1.0, None) == (False, False)


def test_other_shapes_fall_back_to_pdlp() -> None:
    """An extra column outside the coverage rows (the fairness columns of the
    soft LP, say): no completion, but PDLP's multipliers still give a bound."""
    lp = coverage_lp(3, 2)
    lp["cost"] = np.concatenate((lp["cost"], [1.0]))
    lp["a_ub"] = sparse.hstack([lp["a_ub"], sparse.csr_matrix(np.ones((lp["a_ub"].shape[0], 1)))], format="csr")
    lp["a_eq"] = sparse.hstack([lp["a_eq"], sparse.csr_matrix((lp["a_eq"].shape[0], 1))], format="csr")
    lp["lo"], lp["hi"] = np.append(lp["lo"], 0.0), np.append(lp["hi"], 1.0)
    assert not CoverageShape(*args(lp)).ok
    duals = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=2000)
    assert duals is not None
    assert dual_value(lp, *duals) <= lp_optimum(lp).fun + 1e-9


def test_smoothed_gradient_matches_finite_differences() -> None:
    lp = coverage_lp(11, 2, 0.5)
    shape = CoverageShape(*args(lp))
    assert shape.ok and shape.smoothable
    rng = np.random.default_rng(0)
    pi = rng.random(len(shape.other))
    tau = 0.05
    f, grad = shape.smooth(pi, tau)
    h = 1e-6
    for i in range(len(pi)):
        e = np.zeros(len(pi))
        e[i] = h
        numeric = (shape.smooth(pi + e, tau)[0] - shape.smooth(pi - e, tau)[0]) / (2 * h)
        assert abs(numeric - grad[i]) <= 1e-4 * max(1.0, abs(numeric))


@settings(max_examples=20, deadline=None)
@given(problem=problems(max_volunteers=4, max_tasks=6))
def test_tier_lps_have_the_coverage_shape(problem: Any) -> None:
    """The tier LPs of auto.Relaxation are the ones the repair is written for
    (when they have rows at all): the shape is recognised, and the recipe's
    bound never passes HiGHS' value of the same LP."""
    c = compile_problem(problem)
    cands = build_candidates(c)
    for tier in range(1, c.n_tiers + 1):
        relax = auto.Relaxation(c, cands, c.t_tier == tier, fairness=False)
        if relax.n_y == 0:
            continue
        mine = np.flatnonzero(c.t_tier[relax.cov_tasks] == tier)
        cost = np.zeros(relax.n)
        cost[relax.n_p + mine] = -c.t_weight[relax.cov_tasks[mine]].astype(float)
        lp = {"cost": cost, "a_ub": relax.a_ub, "b_ub": relax.b_ub, "a_eq": relax.a_eq, "b_eq": relax.b_eq,
              "lo": relax.lo, "hi": relax.hi}
        assert CoverageShape(*args(lp)).ok
        duals = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=500)
        assert duals is not None
        assert dual_value(lp, *duals) <= lp_optimum(lp).fun + 1e-9


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), max_team=st.sampled_from([1, 2, 3]), x_cost=st.sampled_from([0.0, 0.5]))
def test_column_generation_reaches_the_lp_optimum(seed: int, max_team: int, x_cost: float) -> None:
    """One pair per task in the first restricted LP, one more per task a round:
    the rounds go on until no pair prices out, and the multipliers are then
    the LP's optimum, never above it."""
    lp = coverage_lp(seed, max_team, x_cost)
    res = lp_optimum(lp)
    saved = lpdual.CG_PAIRS_PER_TASK
    lpdual.CG_PAIRS_PER_TASK = 1
    try:
        primal: list[Any] = []
        duals = cg_multipliers(*args(lp), time_limit=60.0, primal=primal)
    finally:
        lpdual.CG_PAIRS_PER_TASK = saved
    assert duals is not None
    value = dual_value(lp, *duals)
    assert value <= res.fun + 1e-9
    assert value >= res.fun - 1e-6 * max(1.0, abs(res.fun))
    assert len(primal) == 1 and len(primal[0]) == len(lp["cost"])
    assert float(lp["cost"] @ primal[0]) == pytest.approx(res.fun, abs=1e-6 * max(1.0, abs(res.fun)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), max_team=st.sampled_from([1, 2, 3]))
def test_column_generation_posts_each_better_bound(seed: int, max_team: int) -> None:
    """With ``post``, each round that finds better multipliers posts their
    bound as it goes: the posts rise, none passes the LP's optimum, and the
    last is the bound of the multipliers returned (what a parent that stops
    the child keeps is what it would have got)."""
    lp = coverage_lp(seed, max_team)
    res = lp_optimum(lp)
    posts: list[float] = []
    saved = lpdual.CG_PAIRS_PER_TASK
    lpdual.CG_PAIRS_PER_TASK = 1
    try:
        duals = cg_multipliers(*args(lp), time_limit=60.0, post=posts.append)
    finally:
        lpdual.CG_PAIRS_PER_TASK = saved
    assert duals is not None and posts
    assert posts == sorted(posts)
    assert max(posts) <= res.fun + 1e-9
    assert posts[-1] == dual_value(lp, *duals)


def test_a_posting_column_generation_gives_the_same_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto._rigorous`` by column generation returns, with ``post``, its
    last post (not summed again), and that is the bound it returns without."""
    monkeypatch.setattr(auto, "PDLP_COLUMNS", 0)
    monkeypatch.setattr(lpdual, "CG_PAIRS_PER_TASK", 1)
    for seed in range(10):
        lp = coverage_lp(seed, 2)
        posts: list[float] = []
        with_post = auto._rigorous(*args(lp), 60.0, converge=True, post=posts.append)
        without = auto._rigorous(*args(lp), 60.0, converge=True)
        assert posts and with_post == posts[-1] == without


def test_column_generation_widens_an_infeasible_restricted_lp() -> None:
    """A restriction ``U <= limit`` (a row over the coverage columns) that the
    first restricted LP's pairs cannot meet: the pairs are widened and the LP's
    optimum is still reached."""
    for seed in range(40):
        lp = coverage_lp(seed, 1)
        n_t = lp["a_eq"].shape[0]
        n = len(lp["cost"])
        weight = -lp["cost"][n - n_t:]
        full = lp_optimum(lp)
        # U = sum w (1 - y) <= the LP's least U: -w.y <= U* - sum w
        row = sparse.csr_matrix((-weight, (np.zeros(n_t, dtype=int), np.arange(n - n_t, n))), shape=(1, n))
        lp["a_ub"] = sparse.vstack([lp["a_ub"], row], format="csr")
        lp["b_ub"] = np.append(lp["b_ub"], full.fun + 1e-7)
        saved = lpdual.CG_PAIRS_PER_TASK
        lpdual.CG_PAIRS_PER_TASK = 1
        try:
            shape = CoverageShape(*args(lp))
            assert shape.ok
            duals = cg_multipliers(*args(lp), time_limit=60.0)
        finally:
            lpdual.CG_PAIRS_PER_TASK = saved
        res = lp_optimum(lp)
        assert duals is not None
        value = dual_value(lp, *duals)
        assert value <= res.fun + 1e-9
        assert value >= res.fun - 1e-6 * max(1.0, abs(res.fun))


def test_column_generation_declines_other_shapes() -> None:
    """An extra column outside the coverage rows: no column generation (the
    caller's PDLP takes it)."""
    lp = coverage_lp(3, 2)
    lp["cost"] = np.concatenate((lp["cost"], [1.0]))
    lp["a_ub"] = sparse.hstack([lp["a_ub"], sparse.csr_matrix(np.ones((lp["a_ub"].shape[0], 1)))], format="csr")
    lp["a_eq"] = sparse.hstack([lp["a_eq"], sparse.csr_matrix((lp["a_eq"].shape[0], 1))], format="csr")
    lp["lo"], lp["hi"] = np.append(lp["lo"], 0.0), np.append(lp["hi"], 1.0)
    assert cg_multipliers(*args(lp), time_limit=10.0) is None


@settings(max_examples=15, deadline=None)
@given(problem=problems(max_volunteers=4, max_tasks=6))
def test_tier_bounds_by_column_generation_hold(problem: Any) -> None:
    """``Relaxation.tier_bound(..., converge=True)`` on LPs sent past the
    simplex (PDLP_COLUMNS = 0): the column generation's bound equals HiGHS'
    bound of the same tier LP, rounded up the same way."""
    c = compile_problem(problem)
    cands = build_candidates(c)
    saved = auto.PDLP_COLUMNS
    try:
        for tier in range(1, c.n_tiers + 1):
            relax = auto.Relaxation(c, cands, c.t_tier == tier, fairness=False)
            if relax.n_y == 0:
                continue
            auto.PDLP_COLUMNS = saved
            exact = relax.tier_bound(tier, {}, 30.0)
            auto.PDLP_COLUMNS = 0
            by_cg = relax.tier_bound(tier, {}, 30.0, converge=True)
            assert exact is not None and by_cg is not None
            assert by_cg == exact
    finally:
        auto.PDLP_COLUMNS = saved


def test_column_generation_leaves_an_lp_it_cannot_start_to_pdlp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first restricted LP not solved in its share of the time: None, and
    ``_rigorous`` still returns PDLP's valid bound of the LP."""
    lp = coverage_lp(5, 2)
    monkeypatch.setattr(lpdual, "CG_FIRST_SHARE", 0.0)
    assert cg_multipliers(*args(lp), time_limit=10.0) is None
    monkeypatch.setattr(auto, "PDLP_COLUMNS", 0)
    value = auto._rigorous(*args(lp), 5.0, converge=True)
    res = lp_optimum(lp)
    assert value is not None
    assert value <= res.fun + 1e-9
    assert value >= res.fun - 1e-3 * max(1.0, abs(res.fun))


def test_an_iteration_limited_run_stops_at_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under an iteration limit the time limit is the safety net (the
    deterministic clock's) that PDLP stops at, not twice it as until stop 59;
    the polish gets it too. Not cut by it, the run gives its result."""
    seen: list[float | None] = []
    run = lpdual._run_pdlp

    def spy(*a: Any) -> Any:
        seen.append(a[7])  # (pd_time)
        return run(*a)

    limits: list[tuple[float | None, bool]] = []
    polish = lpdual._polish

    def spy_polish(*a: Any) -> Any:
        limits.append((a[4], a[5]))  # (time_limit, deterministic)
        return polish(*a)

    lp = coverage_lp(5, 2)
    plain = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=30)
    monkeypatch.setattr(lpdual, "_run_pdlp", spy)
    monkeypatch.setattr(lpdual, "_polish", spy_polish)
    capped = pdlp_multipliers(*args(lp), time_limit=20.0, iteration_limit=30)
    assert seen == [20.0]
    assert limits == [(20.0, True)]
    assert plain is not None and capped is not None  # (20 s: not cut)
    assert all(np.array_equal(a, b) for a, b in zip(plain, capped, strict=True))
