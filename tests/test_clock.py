"""The clocks of a solve (assign.clock): with one worker every CP-SAT solve
stops on deterministic time, the clock advances by deterministic measures
only, and runs whose time limit binds repeat."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest
from ortools.sat.python import cp_model

from assign import clock as clocks
from assign.candidates import build_candidates
from assign.compile import compile_problem
from assign.solvers import auto
from assign.solvers.cpsat import solve_cpsat_detailed
from assign.synth import generate, load_scenario


def _model(n: int = 12) -> cp_model.CpModel:
    m = cp_model.CpModel()
    xs = [m.new_bool_var(f"x{i}") for i in range(n)]
    m.add(sum((i % 5 + 1) * x for i, x in enumerate(xs)) <= 11)
    m.maximize(sum((i % 7 + 2) * x for i, x in enumerate(xs)))
    return m


def test_deterministic_clock_counts_charges_setup_and_dtime() -> None:
    clock = clocks.DeterministicClock(None)
    t0 = clock.now()
    clock.charge(1.5)
    clock.charge(-3.0)  # nothing is ever taken back
    assert clock.now() - t0 == pytest.approx(1.5)
    m = _model()
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = clock.solve(solver, m, 2.0)
    assert status == cp_model.OPTIMAL
    setup = clocks.SETUP_PER_CONSTRAINT * len(m.proto.constraints)
    # a slow start, then the rate
    start = clocks.START_DTIME / clocks.START_DTIME_PER_SECOND
    budget = clocks.START_DTIME + (2.0 - setup - start) * clocks.DTIME_PER_SECOND
    assert solver.parameters.max_deterministic_time == pytest.approx(budget)
    assert math.isinf(solver.parameters.max_time_in_seconds)  # no limit: no safety net
    dtime = solver.response_proto.deterministic_time
    assert dtime < clocks.START_DTIME  # a tiny model: in the slow start
    spent = setup + dtime / clocks.START_DTIME_PER_SECOND
    assert clock.now() - t0 == pytest.approx(1.5 + spent)
    assert not clock.cut


def test_exact_models_budget_and_charge_are_inverse() -> None:
    for seconds in (0.0, 0.1, 0.5, 0.71, 1.0, 7.5):
        budget = clocks._exact_budget(seconds)
        assert clocks._exact_seconds(budget) == pytest.approx(seconds)
    assert clocks._exact_budget(0.5) == pytest.approx(0.5 * clocks.START_DTIME_PER_SECOND)
    assert clocks._exact_budget(11.0) - clocks._exact_budget(10.0) == pytest.approx(clocks.DTIME_PER_SECOND)


def test_deterministic_clock_keeps_a_lower_budget_and_its_own_rate() -> None:
    clock = clocks.DeterministicClock(30.0)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = 0.01
    clock.limit(solver.parameters, 10.0, rate=0.5)
    assert solver.parameters.max_deterministic_time == pytest.approx(0.01)
    clock.limit(solver.parameters, 0.004, rate=0.5)
    assert solver.parameters.max_deterministic_time == pytest.approx(0.002)
    assert 0 < solver.parameters.max_time_in_seconds <= 30.0  # the safety net at the limit


def test_safety_net_ends_the_time_of_every_step() -> None:
    """Past the wall-clock limit the clock reads at least the limit, however
    little was counted: loops that read it stop (a search of tiny solves
    would otherwise run on past the limit at the pace of its charges)."""
    clock = clocks.DeterministicClock(0.05)
    clock.charge(0.01)
    time.sleep(0.1)  # past the limit (a wait, not a speed: any machine gets there)
    assert clock.now() >= clock.start + 0.05 + 0.01
    assert clock.cut
    late = clocks.DeterministicClock(3600.0)
    late.charge(0.25)
    assert late.now() == pytest.approx(late.start + 0.25) and not late.cut


def test_wall_clock_sets_a_time_limit() -> None:
    solver = cp_model.CpSolver()
    assert clocks.WALL.solve(solver, _model(), 3.0) == cp_model.OPTIMAL
    assert solver.parameters.max_time_in_seconds == pytest.approx(3.0)
    assert math.isinf(solver.parameters.max_deterministic_time)
    assert clocks.for_workers(2, 10.0) is clocks.WALL
    assert clocks.for_workers(1, 10.0).deterministic


def _record_solves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    seen: list[tuple[float, float]] = []
    original = cp_model.CpSolver.solve

    def solve(self: cp_model.CpSolver, model: Any, *args: Any, **kw: Any) -> Any:
        seen.append((self.parameters.max_deterministic_time, self.parameters.max_time_in_seconds))
        return original(self, model, *args, **kw)

    monkeypatch.setattr(cp_model.CpSolver, "solve", solve)
    return seen


@pytest.fixture(scope="module")
def grid() -> Any:
    """A ninth of a community (the laocheng-grid scenario): 300 visits, more
    than a few seconds prove."""
    c = compile_problem(generate(load_scenario("laocheng-grid"), 0))
    return c, build_candidates(c)


def test_one_worker_solves_on_deterministic_budgets(grid: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    c, cands = grid
    seen = _record_solves(monkeypatch)
    solve_cpsat_detailed(c, cands, time_limit=1.0, seed=0, workers=1)
    assert seen and all(math.isfinite(d) for d, _ in seen)
    seen.clear()
    solve_cpsat_detailed(c, cands, time_limit=1.0, seed=0, workers=2)
    assert seen and all(math.isinf(d) for d, _ in seen)


def _no_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deterministic clock without its wall-clock net (a slow or busy
    machine reaching it would make runs differ; this test is about the rest)."""
    original = clocks.for_workers
    monkeypatch.setattr(
        clocks, "for_workers", lambda workers, limit: clocks.DeterministicClock(None) if workers == 1 else original(workers, limit)
    )


def _same(a: Any, b: Any) -> None:
    for name in ("task", "volunteer", "start"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.conflicts == b.conflicts


def test_cpsat_repeats_when_the_time_binds(grid: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    c, cands = grid
    _no_safety_net(monkeypatch)
    first = solve_cpsat_detailed(c, cands, time_limit=2.0, seed=1, workers=1)
    second = solve_cpsat_detailed(c, cands, time_limit=2.0, seed=1, workers=1)
    assert not first.optimal  # the limit bound the run
    _same(first.solution, second.solution)
    assert first.bound == second.bound


def test_auto_large_path_repeats_when_the_time_binds(grid: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact tier stages, LP bounds, the search: all on the deterministic clock."""
    c, cands = grid
    _no_safety_net(monkeypatch)
    monkeypatch.setattr(auto, "SMALL_PAIRS", 0)
    first = auto.solve_auto_detailed(c, cands, 3.0, 2, 1)
    second = auto.solve_auto_detailed(c, cands, 3.0, 2, 1)
    assert first.lns.neighbourhoods > 0
    assert first.lns.work < auto.WORK_RATE * 3.0  # the clock stopped it, not the work budget
    _same(first.solution, second.solution)
    assert first.bound == second.bound


class _OverrunClock(clocks.Clock):
    """A clock of counted seconds on which every CP-SAT solve takes the
    solver's own time, at most its share, and ``over`` seconds more (as
    CP-SAT's presolve of a large model does on the wall: its time limit does
    not cut it); work outside CP-SAT takes none."""

    def __init__(self, over: float):
        self.t = 0.0
        self.over = over

    def now(self) -> float:
        return self.t

    def solve(self, solver: Any, model: Any, seconds: float | None, rate: float = 0.0) -> Any:
        status = super().solve(solver, model, seconds, rate)
        took = solver.wall_time if seconds is None else min(max(0.0, seconds), solver.wall_time)
        self.t += took + self.over
        return status


def test_cpsat_stages_leave_the_last_overrun(grid: Any) -> None:
    """After a stage runs past its share, the next stages leave that much of
    the time left and do not start below it: with a steady overrun the
    stages after the first end by the limit (before, the last one started
    with less than the overrun left and ran past the limit by it)."""
    c, cands = grid
    for limit in (7.0, 9.0):
        clk = _OverrunClock(over=2.0)
        r = solve_cpsat_detailed(c, cands, time_limit=limit, seed=0, workers=2, clock=clk)
        assert clk.t <= limit + 1e-9, (limit, clk.t, [(s.name, s.status) for s in r.stages])


def test_past_limit_runs_on_a_clock_without_the_safety_net() -> None:
    """``past_limit``: on a deterministic clock whose wall net has passed,
    the block reads a clock of its own that advances by its charges only,
    and the solve's clock is charged them after; on the wall clock the block
    runs on it."""
    solve = clocks.DeterministicClock(1e-9)  # (its net passed at once)
    solve.charge(2.0)
    with clocks.running(solve):
        with clocks.past_limit() as own:
            assert own is not solve and clocks.current() is own
            t0 = own.now()
            own.charge(0.5)
            assert own.now() == t0 + 0.5 and own.wall_left() is None
        assert clocks.current() is solve
    assert solve.spent == 2.5
    with clocks.past_limit() as wall:
        assert wall is clocks.WALL
