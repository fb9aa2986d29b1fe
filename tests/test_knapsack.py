"""The knapsack Lagrangian bound (assign.knapsack) and its use in assign.core."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign import core
from assign.core import ArcProblem, check_arcs, lp_bound, solve_arcs
from assign.knapsack import KnapsackLagrangian


@st.composite
def small_gaps(draw: st.DrawFn) -> tuple[ArcProblem, bool]:
    """Sparse GAP-shaped problems (every item must be covered by one arc;
    an (item, agent) pair may have two arcs); integer or float costs."""
    m = draw(st.integers(1, 3))
    n = draw(st.integers(1, 6))
    floats = draw(st.booleans())
    items, agents, costs, loads = [], [], [], []
    for j in range(n):
        for i in range(m):
            for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):  # no arc, one, or two of a pair
                items.append(j)
                agents.append(i)
                raw = draw(st.integers(-20, 40))
                costs.append(raw / 7 if floats else raw)
                loads.append(draw(st.integers(0, 6)))
    caps = draw(st.lists(st.integers(0, 12), min_size=m, max_size=m))
    p = ArcProblem(
        n,
        m,
        np.asarray(items, dtype=np.int64),
        np.asarray(agents, dtype=np.int64),
        np.asarray(costs, dtype=np.float64 if floats else np.int64),
        np.asarray(loads, dtype=np.int64),
        caps,
        must_cover=np.ones(n, dtype=bool),
    )
    return p, floats


def relaxation(p: ArcProblem) -> KnapsackLagrangian:
    return KnapsackLagrangian(p.n_items, p.arc_item, p.arc_agent, p.arc_cost.astype(float), p.arc_load, p.agent_capacity)


def feasible_selections(p: ArcProblem, arc: int | None = None) -> list[tuple[float, tuple[int, ...]]]:
    """Every feasible selection (that uses ``arc``, if given) with its cost, by enumeration."""
    arcs_of = [np.flatnonzero(p.arc_item == j).tolist() for j in range(p.n_items)]
    if arc is not None:
        arcs_of[int(p.arc_item[arc])] = [arc]
    out = []
    for combo in itertools.product(*arcs_of):
        load = np.bincount(p.arc_agent[list(combo)], weights=p.arc_load[list(combo)], minlength=p.n_agents)
        if np.all(load <= p.agent_capacity):
            out.append((math.fsum(float(p.arc_cost[a]) for a in combo), combo))
    return out


def brute_optimum(p: ArcProblem, arc: int | None = None) -> float | None:
    """The cheapest feasible selection's cost (using ``arc``, if given)."""
    found = feasible_selections(p, arc)
    return min(v for v, _ in found) if found else None


def brute_lagrangian(p: ArcProblem, lam: np.ndarray) -> float:
    """sum of lam over items with an arc, minus each agent's best knapsack, by enumeration."""
    covered = np.zeros(p.n_items, dtype=bool)
    covered[p.arc_item] = True
    total = math.fsum(lam[covered].tolist())
    for i in range(p.n_agents):
        mine = np.flatnonzero(p.arc_agent == i)
        best = 0.0
        for k in range(1, len(mine) + 1):
            for sub in itertools.combinations(mine.tolist(), k):
                if p.arc_load[list(sub)].sum() <= p.agent_capacity[i]:
                    best = max(best, math.fsum(lam[p.arc_item[a]] - float(p.arc_cost[a]) for a in sub))
        total -= best
    return total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps(), st.lists(st.integers(-40, 80), min_size=6, max_size=6), st.integers(0, 3))
def test_value_is_the_exact_lagrangian(case: tuple[ArcProblem, bool], raw: list[int], shift: int) -> None:
    p, floats = case
    kl = relaxation(p)
    lam = kl.grid(np.asarray(raw[: p.n_items], dtype=np.float64) / (1 << shift))
    value, g = kl.evaluate(lam)
    expected = brute_lagrangian(p, lam)
    if floats:
        assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert value == expected  # dyadic multipliers, integer data: exact
    assert np.all(g <= 1.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps(), st.lists(st.integers(-40, 80), min_size=6, max_size=6), st.lists(st.booleans(), min_size=3, max_size=3))
def test_knapsacks_taken_are_the_best_loads(case: tuple[ArcProblem, bool], raw: list[int], solve: list[bool]) -> None:
    # the slots each knapsack takes fit its capacity, hold each slot once and
    # add up to its value, which no other load beats (by enumeration); agents
    # not asked for take nothing
    p, _ = case
    kl = relaxation(p)
    lam = kl.grid(np.asarray(raw[: p.n_items], dtype=np.float64))
    agents = np.asarray(solve[: kl.m], dtype=bool)
    z, x = kl.knapsacks(lam, agents)
    profit = np.where(kl.slot_real, lam[kl.slot_item] - kl.slot_cost, 0.0)
    for i in range(kl.m):
        taken = np.flatnonzero(x[i])
        assert kl.slot_real[i, taken].all()
        assert kl.slot_load[i, taken].sum() <= kl.cap[i]
        assert math.isclose(math.fsum(profit[i, taken].tolist()), z[i], abs_tol=1e-9)
        if not agents[i]:
            assert len(taken) == 0 and z[i] == 0.0
            continue
        real = np.flatnonzero(kl.slot_real[i])
        best = 0.0
        for k in range(1, len(real) + 1):
            for sub in itertools.combinations(real.tolist(), k):
                if kl.slot_load[i, list(sub)].sum() <= kl.cap[i]:
                    best = max(best, math.fsum(profit[i, list(sub)].tolist()))
        assert math.isclose(z[i], best, abs_tol=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps(), st.lists(st.integers(-40, 80), min_size=6, max_size=6))
def test_bounds_never_beat_the_optimum(case: tuple[ArcProblem, bool], raw: list[int]) -> None:
    p, _ = case
    opt = brute_optimum(p)
    if opt is None:
        return
    kl = relaxation(p)
    start = np.asarray(raw[: p.n_items], dtype=np.float64) / 3
    assert kl.bound(start) <= opt + 1e-12
    best, lam = kl.improve(start, opt + 5.0, 200)
    assert best <= opt + 1e-12
    assert kl.bound(lam) == best or math.isclose(kl.bound(lam), best, rel_tol=1e-12)
    assert best >= kl.bound(start) - 1e-12  # never worse than where it started


# an instance where the knapsacks' integrality matters: LP 42.8, optimum 51
C = [[6, 16, 5, 8, 13, 11], [2, 1, 17, 15, 16, 11]]
R = [[5, 5, 7, 9, 1, 2], [8, 9, 3, 3, 8, 4]]
CAP = [15, 19]
OPTIMAL = [(0, 0), (1, 1), (0, 2), (1, 3), (0, 4), (1, 5)]  # (agent, job)


def test_lagrangian_is_stronger_than_the_lp() -> None:
    p = ArcProblem.from_gap(C, R, CAP)
    assert brute_optimum(p) == 51
    lp = lp_bound(p)[-1]
    assert lp <= 43  # 42.8, rounded up
    best, _ = relaxation(p).improve(np.min(np.asarray(C, dtype=float), axis=0), 60.0, 300)
    assert 50 < best <= 51


def _optimal_mask(p: ArcProblem) -> np.ndarray:
    mask = np.zeros(p.n_arcs, dtype=bool)
    for agent, job in OPTIMAL:
        mask[np.flatnonzero((p.arc_agent == agent) & (p.arc_item == job))] = True
    return mask


def test_core_proves_optimality_with_the_knapsack_bound() -> None:
    # CP-SAT is told to stop at its first solution (the hinted optimum), so it
    # proves nothing; the knapsack bound (51) meets the incumbent and proves it,
    # and the neighbourhood search is not started
    p = ArcProblem.from_gap(C, R, CAP)
    hint = _optimal_mask(p)
    assert check_arcs(p, hint) == []
    params = {"stop_after_first_solution": True, "cp_model_presolve": False}
    res = solve_arcs(p, time_limit=30.0, seed=0, workers=1, hint=hint, params=params)
    assert res.cost == 51
    assert res.bound[-1] == 51
    assert res.status == "optimal"
    assert res.stages[-1].lns_neighbourhoods == 0
    # without the bounds (lp=False) the same run cannot prove it
    plain = solve_arcs(p, time_limit=1.0, seed=0, workers=1, hint=hint, params=params, lp=False)
    assert plain.status == "feasible"
    assert plain.bound[-1] < 51


def test_knapsacks_only_for_the_gap_shape_and_small_programmes() -> None:
    p = ArcProblem.from_gap(C, R, CAP)
    assert core._knapsacks(p, core._prepare(p)) is not None
    # an optional item (uncovered at a penalty): not the GAP shape
    opt = ArcProblem(2, 1, [0, 1], [0, 0], [1, 1], [1, 1], [5], must_cover=[True, False])
    assert core._knapsacks(opt, core._prepare(opt)) is None
    # a team of two: not the GAP shape
    team = ArcProblem(1, 2, [0, 0], [0, 1], [1, 1], [1, 1], [5, 5], item_team=[2], must_cover=[True])
    assert core._knapsacks(team, core._prepare(team)) is None
    # capacities far too large for the dynamic programme
    big = ArcProblem.from_gap(C, np.asarray(R) * 10**6, np.asarray(CAP) * 10**6)
    assert core._knapsacks(big, core._prepare(big)) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps(), st.lists(st.integers(-40, 80), min_size=6, max_size=6), st.booleans())
def test_arc_bounds_never_exceed_a_selection_with_the_arc(
    case: tuple[ArcProblem, bool], raw: list[int], improve: bool
) -> None:
    p, _ = case
    kl = relaxation(p)
    lam = np.asarray(raw[: p.n_items], dtype=np.float64) / 2
    if improve:
        _, lam = kl.improve(lam, 50.0, 50)
    per_arc = kl.arc_bounds(lam)
    assert per_arc.shape == (p.n_arcs,)
    whole = kl.bound(lam)
    for a in range(p.n_arcs):
        assert per_arc[a] >= whole - 1e-9  # forcing can only raise the bound
        best = brute_optimum(p, a)
        if best is not None:
            assert per_arc[a] <= best + 1e-9, (a, per_arc[a], best)
        if p.arc_load[a] > p.agent_capacity[p.arc_agent[a]]:
            assert per_arc[a] == np.inf


def test_arc_bounds_fix_the_known_instance() -> None:
    # at the optimum's value minus one no selection exists: every arc is fixed,
    # and each arc of the optimum keeps a bound of at most 51
    p = ArcProblem.from_gap(C, R, CAP)
    kl = relaxation(p)
    _, lam = kl.improve(np.min(np.asarray(C, dtype=float), axis=0), 60.0, 300)
    per_arc = kl.arc_bounds(lam)
    assert np.all(per_arc[_optimal_mask(p)] <= 51)
    assert (per_arc > 50).sum() > p.n_arcs // 2


def test_reduced_mip_on_the_known_instance() -> None:
    p = ArcProblem.from_gap(C, R, CAP)
    prep = core._prepare(p)
    icost = p.arc_cost.astype(np.int64)
    every = np.arange(len(prep.usable))
    assert core._reduced_mip(p, prep, icost, every, 50, 30.0)[0] == "infeasible"
    for at_most in (51, 70):
        status, chosen, bound = core._reduced_mip(p, prep, icost, every, at_most, 30.0)
        assert status == "optimal"
        assert chosen is not None and check_arcs(p, chosen) == []
        assert float(p.arc_cost[chosen].sum()) == 51 == bound
    # no arc left for an item: infeasible without a solve
    no_job0 = every[p.arc_item[prep.usable] != 0]
    assert core._reduced_mip(p, prep, icost, no_job0, 70, 30.0)[0] == "infeasible"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps(), st.lists(st.integers(-40, 80), min_size=6, max_size=6))
def test_fixing_by_arc_bounds_keeps_an_optimum(case: tuple[ArcProblem, bool], raw: list[int]) -> None:
    # the arcs whose knapsack bound is at most the optimum keep an optimal
    # selection, and those below it none at all (what the core's final solve relies on)
    p, floats = case
    if floats:
        return  # the core fixes arcs only when costs are integers after scaling
    opt = brute_optimum(p)
    if opt is None:
        return
    prep = core._prepare(p)
    kl = core._knapsacks(p, prep)
    assert kl is not None
    _, lam = kl.improve(np.asarray(raw[: p.n_items], dtype=np.float64) / 2, opt + 3.0, 100)
    floor = np.ceil(kl.arc_bounds(lam) - 1e-6)
    icost = p.arc_cost.astype(np.int64)
    status, chosen, _ = core._reduced_mip(p, prep, icost, np.flatnonzero(floor <= opt), int(opt), 30.0)
    assert status == "optimal" and chosen is not None
    assert float(p.arc_cost[chosen].sum()) == opt
    assert core._reduced_mip(p, prep, icost, np.flatnonzero(floor <= opt - 1), int(opt) - 1, 30.0)[0] == "infeasible"


@pytest.mark.parametrize("workers", [1, 2])
def test_final_mip_proves_what_the_search_cannot(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    # CP-SAT stops at its first solution everywhere (the first solve and every
    # neighbourhood start from the hint, a poor selection); the knapsack bound
    # fixes arcs and the MIP, strictly below the incumbent, finds and proves
    # the optimum: at the end of the stage with one worker, beside the search
    # with two
    p = ArcProblem.from_gap(C, R, CAP)
    feasible = []
    for agents in itertools.product(range(2), repeat=6):
        mask = np.zeros(p.n_arcs, dtype=bool)
        for job, agent in enumerate(agents):
            mask[(p.arc_agent == agent) & (p.arc_item == job)] = True
        if not check_arcs(p, mask):
            feasible.append((float(p.arc_cost[mask].sum()), agents, mask))
    worst = max(feasible, key=lambda f: f[0])
    assert worst[0] > 51
    calls: list[str] = []
    real = core._reduced_mip

    def spy(*args: object, **kwargs: object) -> tuple[str, object, object]:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(out[0])
        return out

    monkeypatch.setattr(core, "_reduced_mip", spy)
    monkeypatch.setattr(core, "_MIP_ARCS", 1.0)  # the MIP whatever the share of arcs fixed
    monkeypatch.setattr(core, "_DIVE_SHARE", 0.0)  # no dive (it would find the optimum first)
    monkeypatch.setattr(core, "_DIVE_SHARE_BESIDE", 0.0)
    params = {"stop_after_first_solution": True, "cp_model_presolve": False}
    res = solve_arcs(p, time_limit=4.0, seed=0, workers=workers, hint=worst[2], params=params, final_share=0.5)
    assert res.status == "optimal"
    assert res.cost == 51 == res.bound[-1]
    assert check_arcs(p, res.chosen) == []
    assert calls == ["optimal"]


def worst_selection(p: ArcProblem) -> np.ndarray | None:
    """The most expensive feasible selection (a poor hint)."""
    found = feasible_selections(p)
    if not found:
        return None
    mask = np.zeros(p.n_arcs, dtype=bool)
    mask[list(max(found)[1])] = True
    return mask


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_gaps())
def test_core_with_the_knapsack_path_stays_below_the_optimum(case: tuple[ArcProblem, bool]) -> None:
    # CP-SAT stopped at its first solution (the hint: the worst selection), so
    # the stage is mostly left to the knapsack
    # bound, the fixing, the search and the final solve; with integer and with
    # non-decimal float costs, the reported bound never exceeds the optimum and
    # "optimal" is only said of the optimum
    p, _ = case
    opt = brute_optimum(p)
    params = {"stop_after_first_solution": True, "cp_model_presolve": False}
    res = solve_arcs(p, time_limit=0.5, seed=0, workers=1, hint=worst_selection(p), params=params, final_share=0.5)
    if opt is None:
        assert res.status in ("infeasible", "unknown")
        return
    assert res.status in ("optimal", "feasible")
    assert check_arcs(p, res.chosen) == []
    assert res.bound[-1] <= opt + 1e-9 * max(1.0, abs(opt))
    assert res.cost >= opt - 1e-9 * max(1.0, abs(opt))
    if res.status == "optimal":
        assert math.isclose(res.cost, opt, rel_tol=1e-9, abs_tol=1e-9)
