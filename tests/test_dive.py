"""Dantzig-Wolfe diving (assign.dive) and its use in assign.core."""

from __future__ import annotations

import itertools
import math
from time import perf_counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign import core, dive
from assign.core import ArcProblem, check_arcs, solve_arcs
from assign.knapsack import KnapsackLagrangian


def gap(m: int, n: int, seed: int, tight: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random instance of OR-Library type D's recipe (cost falls as the
    resource rises; capacity ``tight`` x the mean load per agent)."""
    rng = np.random.default_rng(seed)
    r = rng.integers(1, 101, size=(m, n))
    c = 111 - r + rng.integers(-10, 11, size=(m, n))
    cap = np.maximum((tight * r.sum(axis=1) / m).astype(np.int64), r.max(axis=1))
    return c, r, cap


def knapsacks(c: np.ndarray, r: np.ndarray, cap: np.ndarray) -> KnapsackLagrangian:
    m, n = c.shape
    return KnapsackLagrangian(n, np.tile(np.arange(n), m), np.repeat(np.arange(m), n), c.ravel().astype(float), r.ravel(), cap)


def with_multipliers(
    m: int, n: int, seed: int, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, KnapsackLagrangian, float, np.ndarray]:
    """An instance of :func:`gap`, its knapsacks, and the bound and multipliers
    of ``steps`` subgradient steps from each item's cheapest cost."""
    c, r, cap = gap(m, n, seed)
    kl = knapsacks(c, r, cap)
    lb, lam = kl.improve(c.min(axis=0).astype(float), float(c.max(axis=0).sum()), steps)
    return c, r, cap, kl, lb, lam


def brute(c: np.ndarray, r: np.ndarray, cap: np.ndarray) -> float:
    m, n = c.shape
    best = math.inf
    for agents in itertools.product(range(m), repeat=n):
        a = np.asarray(agents)
        if np.all(np.bincount(a, weights=r[a, np.arange(n)], minlength=m) <= cap):
            best = min(best, float(c[a, np.arange(n)].sum()))
    return best


def cost_of(c: np.ndarray, r: np.ndarray, cap: np.ndarray, arcs: np.ndarray) -> float:
    """The selection's cost, after checking it covers every item once within the capacities."""
    m, n = c.shape
    chosen = np.zeros(m * n, dtype=bool)
    chosen[arcs] = True
    x = chosen.reshape(m, n)
    assert np.all(x.sum(axis=0) == 1), "every item exactly once"
    assert np.all((r * x).sum(axis=1) <= cap), "capacities"
    return float((c * x).sum())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(2, 3), n=st.integers(2, 7), seed=st.integers(0, 10_000), forced=st.booleans())
def test_dive_finds_only_valid_cheaper_selections(m: int, n: int, seed: int, forced: bool) -> None:
    # forced: the dive proper (column generation, fixing, discrepancies) down
    # to one agent; else the exact residual solve at once (few items)
    c, r, cap = gap(m, n, seed)
    optimum = brute(c, r, cap)
    kl = knapsacks(c, r, cap)
    lam = c.min(axis=0).astype(float)
    with pytest.MonkeyPatch.context() as patch:
        if forced:
            patch.setattr(dive, "RESIDUAL_ITEMS", 0)
            patch.setattr(dive, "RESIDUAL_AGENTS", 1)
        found, value, _ = dive.dive(kl, lam, None, math.inf, perf_counter() + 20.0)
        if not math.isfinite(optimum):
            assert found is None
            return
        if not forced:  # exact
            assert found is not None and value == optimum
        if found is not None:
            assert cost_of(c, r, cap, found) == value >= optimum
        # strictly below what it is given, or nothing
        again, value2, _ = dive.dive(kl, lam, found, optimum, perf_counter() + 20.0)
        assert again is None and value2 == optimum


@pytest.mark.parametrize("seed", [7, 8])
def test_one_dive_lands_near_the_bound(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    # 10 agents, 60 items: the dive proper runs (more than RESIDUAL_ITEMS
    # items); one dive, no discrepancy, so what it finds does not depend on
    # the machine's speed (~1 s here, the deadline is far)
    monkeypatch.setattr(dive, "MAX_DISCREPANCY", 0)
    c, r, cap, kl, lb, lam = with_multipliers(10, 60, seed, 300)
    found, value, nodes = dive.dive(kl, lam, None, math.inf, perf_counter() + 120.0)
    assert found is not None and nodes > 1
    assert cost_of(c, r, cap, found) == value >= lb
    # the knapsack bound is tight on this kind of instance: one dive lands
    # within 1.3-1.5 % of it (each item to its cheapest agent with room, in
    # order of cheapest cost, finds no feasible selection on these two)
    assert value <= 1.025 * lb


def test_dive_in_solve_arcs(monkeypatch: pytest.MonkeyPatch) -> None:
    """solve_arcs takes the dive's selection when it is better, with one
    worker (before the search) and with two (in a forked child beside it)."""
    c, r, cap = gap(8, 40, 3)
    p = ArcProblem.from_gap(c, r, cap)
    calls: list[float | None] = []
    real = core._dive_below

    def spy(*args: object, **kwargs: object) -> object:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(None if out is None else float(p.arc_cost[out].sum()))
        return out

    monkeypatch.setattr(core, "_dive_below", spy)
    # CP-SAT stops at its first solution, so that the dive has something to improve
    params = {"stop_after_first_solution": True}
    for workers in (1, 2):
        calls.clear()
        res = solve_arcs(p, time_limit=6.0, seed=0, workers=workers, params=params)
        assert check_arcs(p, res.chosen) == []
        assert res.bound[-1] <= res.cost
        if workers == 1:  # (a forked child's calls are not seen here)
            assert len(calls) == 1
            if calls[0] is not None:
                assert res.cost <= calls[0]
    # no fork on the platform: the dive first, for half of the search's time
    # (not all of it, which the search beside it would have had)
    monkeypatch.setattr(core, "forked", lambda *args, **kwargs: None)
    seen: list[tuple[float, float]] = []

    def timed(*args: object) -> object:
        seen.append((perf_counter(), float(args[7])))  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "_dive_below", timed)
    began = perf_counter()
    res = solve_arcs(p, time_limit=6.0, seed=0, workers=2, params=params)
    assert check_arcs(p, res.chosen) == [] and len(seen) == 1
    called, dive_end = seen[0]
    search_end = began + 6.0  # (final_share 0)
    assert dive_end - called <= 0.5 * (search_end - called) + 0.01


@pytest.mark.parametrize("seed", [1, 2])
def test_dive_posts_each_improvement_as_found(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    # every selection the dive finds reaches post() at once, each valid and
    # strictly cheaper than the one before, the last the one returned
    monkeypatch.setattr(dive, "MAX_DISCREPANCY", 2)
    c, r, cap, kl, _, lam = with_multipliers(6, 40, seed, 100)
    posted: list[tuple[np.ndarray, float]] = []
    found, value, _ = dive.dive(kl, lam, None, math.inf, perf_counter() + 60.0, post=lambda a, v: posted.append((a.copy(), v)))
    assert found is not None and posted
    costs = [v for _, v in posted]
    assert all(b < a for a, b in zip(costs, costs[1:], strict=False))
    assert all(cost_of(c, r, cap, a) == v for a, v in posted)
    assert np.array_equal(posted[-1][0], found) and costs[-1] == value


def test_a_node_master_takes_pool_columns_cut_to_its_open_items() -> None:
    # below a fixed column, a pool column that holds one of its items does
    # not fit whole; cut down to the open items it still does (a subset of
    # a feasible load), so the node's master starts from it
    c, r, cap = gap(2, 4, 0, tight=2.0)
    kl = knapsacks(c, r, cap)
    d = dive._Dive(kl, math.inf, perf_counter() + 10.0, 0)
    assert d.add(0, np.array([0, 1, 2]))  # agent 0: items 0, 1, 2 (slots are items here)
    covered = np.array([True, False, False, False])  # item 0 is taken above
    free = np.array([False, True])  # ... by agent 0 ... (its columns are not usable)
    d.open_master(covered, free, frozenset(), (np.zeros(4), np.zeros(2)))
    assert d.master is not None and d.master.cols == []
    free = np.array([True, False])  # ... by agent 1: agent 0's column, cut, is
    d.open_master(covered, free, frozenset(), (np.zeros(4), np.zeros(2)))
    assert d.master is not None and len(d.master.cols) == 1
    col = d.master.cols[0]
    assert d.col_agent[col] == 0 and d.col_items[col].tolist() == [1, 2]
    assert d.col_cost[col] == float(c[0, 1] + c[0, 2])
    # the column passed over above stays out (its cut version, another
    # column, does not)
    d.open_master(covered, free, frozenset({0}), None)
    assert d.master is not None and d.master.cols == [col]


def test_search_takes_selections_posted_beside_it() -> None:
    # the search installs a strictly better selection handed to it (the
    # dive's child posts them) before its next neighbourhood
    c, r, cap = gap(3, 7, 4)
    p = ArcProblem.from_gap(c, r, cap)
    optimum = solve_arcs(p, time_limit=10.0, seed=0, workers=1)
    assert optimum.status == "optimal"
    worse = solve_arcs(p, time_limit=5.0, seed=0, workers=1, params={"stop_after_first_solution": True}, lns=False, lp=False)
    prep = core._prepare(p)
    _, icost, _ = core._cost_scale(p.arc_cost, prep.usable, prep.max_chosen, None)
    eng = core._Engine(p, prep, icost)
    stage = eng.stages[-1]
    eng.model.minimize(core.cp_model.LinearExpr.weighted_sum(stage.vars, stage.coefs) + stage.offset)
    value = eng.stage_value(stage, worse.chosen)
    queue = [None, optimum.chosen.copy(), worse.chosen.copy()]  # then nothing new
    got, got_value, _, improved = eng.lns(
        stage, worse.chosen, value, perf_counter() + 0.5, 1, 0, None, inject=lambda: queue.pop() if queue else None,
    )
    assert got_value == eng.stage_value(stage, optimum.chosen) == int(round(optimum.cost))
    assert check_arcs(p, got) == [] and improved >= (value > got_value)


def test_dive_skips_two_arcs_of_one_pair() -> None:
    # a knapsack could take both arcs of one (item, agent) pair: no dive
    p = ArcProblem(2, 1, [0, 0, 1], [0, 0, 0], [1, 2, 3], [1, 1, 1], [3], must_cover=[True, True])
    prep = core._prepare(p)
    icost = np.asarray([1, 2, 3], dtype=np.int64)
    floor = np.zeros(3, dtype=np.int64)
    chosen = np.array([True, False, True])
    assert core._dive_below(p, prep, icost, floor, np.zeros(2), chosen, 10, perf_counter() + 5, 0) is None


def test_no_dive_when_an_item_has_no_arc() -> None:
    # item 1 has no arc: nothing covers every item (an independent tester's
    # case: the dive returned a selection without it)
    kl = KnapsackLagrangian(2, np.array([0, 0]), np.array([0, 1]), np.array([3.0, 4.0]), np.array([1, 1]), np.array([5, 5]))
    found, value, nodes = dive.dive(kl, np.zeros(2), None, math.inf, perf_counter() + 5.0)
    assert found is None and value == math.inf and nodes == 0
