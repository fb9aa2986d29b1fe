"""Tests of solving in parts that share no volunteer (assign/parts.py): the
links hold every candidate pair; the greedy in parts is the greedy; every
strategy's schedule in parts is valid, scored as the whole problem and
bounded by the brute force; a problem whose pairs do not fit the memory as a
whole is solved in parts; one worker repeats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign import parts as parts_module
from assign import solve
from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import compile_problem
from assign.errors import TooLargeError
from assign.model import Problem, Schedule
from assign.parts import pack, part_labels
from assign.score import evaluate
from assign.solution import Solution
from tests.bruteforce import brute_force
from tests.strategies import problems


def _three_counties(tmp_path: Path, seed: int = 0) -> Problem:
    from assign.synth import generate, load_scenario
    from tests.test_synth import _small

    return generate(load_scenario(_small(tmp_path)), seed)


def _solution(problem: Problem, schedule: Schedule) -> tuple[Any, Solution]:
    from assign.check import solution_from_schedule

    c = compile_problem(problem)
    return c, solution_from_schedule(c, schedule)


def _same(a: Schedule, b: Schedule) -> None:
    """The same assignments, reasons, dropped pins and score."""
    assert [x.model_dump() for x in a.assignments] == [x.model_dump() for x in b.assignments]
    assert [x.model_dump() for x in a.unassigned] == [x.model_dump() for x in b.unassigned]
    assert [x.model_dump() for x in a.conflicts] == [x.model_dump() for x in b.conflicts]
    assert a.score == b.score


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=5, max_tasks=8))
def test_links_join_every_candidate_pair(problem: Problem) -> None:
    """Every eligible and free (task, volunteer) pair lies inside one
    component of the links (they are a superset of the candidate pairs)."""
    c = compile_problem(problem)
    cands = build_candidates(c)
    got = part_labels(c, chunk=2)
    t = cands.task.astype(np.int64)
    v = cands.volunteer.astype(np.int64)
    assert np.array_equal(got.task[t], got.volunteer[v])
    # every component with tasks gets a part; parts are numbered from 0
    of = pack(got, 1)
    assert all(of[k] >= 0 for k in set(got.task.tolist()))
    assert sorted(set(x for x in of if x >= 0)) == list(range(max(of) + 1))


def _canonical(labels: np.ndarray) -> list[int]:
    """Labels renumbered by first occurrence (the partition, not its numbering)."""
    seen: dict[int, int] = {}
    return [seen.setdefault(int(x), len(seen)) for x in labels]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=5, max_tasks=8), chunk=st.integers(1, 3))
def test_linking_in_two_processes_gives_the_same_components(problem: Problem, chunk: int) -> None:
    """Half of the chunks linked in a forked child and the two partitions
    joined: the same components of tasks and volunteers, the same estimates."""
    c = compile_problem(problem)
    one = part_labels(c, chunk=chunk)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parts_module, "SPLIT_MIN_CHUNKS", 2)
        two = part_labels(c, chunk=chunk, workers=2)
    both = np.concatenate([one.volunteer, one.task]), np.concatenate([two.volunteer, two.task])
    assert _canonical(both[0]) == _canonical(both[1])
    assert one.n == two.n
    # a component's estimate follows it whatever its number
    first_one = {int(k): int(one.estimate[k]) for k in one.task}
    first_two = {int(k): int(two.estimate[k]) for k in two.task}
    assert [first_one[int(k)] for k in one.task] == [first_two[int(k)] for k in two.task]


def test_the_greedy_in_parts_is_the_greedy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated three-county problem (pins, teams, travel), each
    component a part: the greedy part by part makes the whole greedy's
    schedule, reasons and dropped pins (its choices for a task depend on
    its component's bookings alone), and the same trivial bound's U."""
    problem = _three_counties(tmp_path)
    monkeypatch.setattr(parts_module, "PART_PAIRS", 1)
    whole = solve(problem, "greedy", workers=1)
    apart = solve(problem, "greedy", workers=1, parts=True)
    c = compile_problem(problem)
    assert part_labels(c).n > 3  # (several parts)
    assert len(whole.assignments) > 100 and whole.unassigned and whole.conflicts
    _same(whole, apart)
    assert whole.bound is not None and apart.bound is not None
    assert apart.bound.uncovered == whole.bound.uncovered and apart.bound.soft == 0.0


def test_parts_side_by_side_make_the_same_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With two workers the parts are solved two at a time in forked
    children: the greedy's schedule, reasons and bound are those of the
    parts one after the other; a part whose child fails is solved in the
    parent (here: every odd part's child raises)."""
    from assign import forking

    problem = _three_counties(tmp_path)
    monkeypatch.setattr(parts_module, "PART_PAIRS", 1)
    one_by_one = solve(problem, "greedy", workers=1, parts=True)
    started: list[int] = []
    real_forked = forking.forked

    def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(1)
        return real_forked(fn, *args, **kwargs)

    monkeypatch.setattr(forking, "forked", counted)
    side_by_side = solve(problem, "greedy", workers=2, parts=True)
    n_parts = max(pack(part_labels(compile_problem(problem)), 1)) + 1
    assert len(started) == n_parts >= 3  # (a child for each part; none forks in turn)
    _same(one_by_one, side_by_side)
    assert one_by_one.bound == side_by_side.bound

    real_solve_part = parts_module._solve_part
    import os

    parent = os.getpid()

    def failing(c: Any, p: int, *args: Any) -> Any:
        if p % 2 and os.getpid() != parent:
            raise RuntimeError("a child that fails")
        return real_solve_part(c, p, *args)

    monkeypatch.setattr(parts_module, "_solve_part", failing)
    _same(one_by_one, solve(problem, "greedy", workers=2, parts=True))


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    problem=problems(max_volunteers=4, max_tasks=5),
    strategy=st.sampled_from(["auto", "cpsat", "greedy"]),
    workers=st.sampled_from([1, 2]),
)
def test_schedules_in_parts_are_valid_and_bounded(problem: Problem, strategy: str, workers: int) -> None:
    """Each component a part (with two workers, two at a time in forked
    children): the joined schedule is valid, its score is the whole
    problem's, every uncovered task has one reason, and the bound (the
    parts' U summed, soft 0) is at most the brute-force optimum,
    lexicographically and tier by tier."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parts_module, "PART_PAIRS", 1)
        schedule = solve(problem, strategy, time_limit=2.0, workers=workers, parts=True)
    from assign.check import check

    assert check(problem, schedule).valid
    c, sol = _solution(problem, schedule)
    assert violations(c, sol) == []
    score = evaluate(c, sol)
    assert tuple(schedule.score.uncovered) == score.uncovered
    assert schedule.score.soft == pytest.approx(score.soft, abs=1e-6)
    covered = {a.task for a in schedule.assignments}
    assert sorted(u.task for u in schedule.unassigned) == sorted(set(c.task_ids) - covered)
    best = brute_force(c, honour_pins=True).key
    assert schedule.bound is not None
    key = schedule.bound.key()
    assert key <= best, (key, best)
    assert all(b <= u for b, u in zip(schedule.bound.uncovered, best[:-1], strict=True))


def test_a_problem_too_large_as_a_whole_is_solved_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the whole problem's pairs would not fit the memory (its build
    refused) but each part's fit, ``assign.solve`` solves it in parts by
    itself; with ``parts=False`` it raises."""
    from assign import candidates

    problem = _three_counties(tmp_path)
    n_tasks = len(problem.tasks)
    real = candidates._MemoryGuard.check

    def check(self: Any, pairs: int, done: int) -> None:
        if self.n_tasks == n_tasks:
            raise TooLargeError("too large as a whole")
        real(self, pairs, done)

    monkeypatch.setattr(parts_module, "PART_PAIRS", 1)
    apart = solve(problem, "greedy", workers=1, parts=True)
    monkeypatch.setattr(candidates._MemoryGuard, "check", check)
    _same(apart, solve(problem, "greedy", workers=1))
    with pytest.raises(TooLargeError, match="as a whole"):
        solve(problem, "greedy", workers=1, parts=False)


def test_parts_say_where_their_time_went(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts' time in three shares (linking and candidates; strategies;
    fill, reasons, join) that add up to the call's, and the overrun warning
    of a solve in parts names the strategies' share (it said 0.0 s for
    filling and explaining, counting everything after compiling as the
    strategy's)."""
    import importlib
    import time as time_module
    import warnings

    from assign.parts import solve_in_parts

    solve_module = importlib.import_module("assign.solve")  # (the package's ``solve`` is the function)

    problem = _three_counties(tmp_path)
    c = compile_problem(problem)
    monkeypatch.setattr(parts_module, "PART_PAIRS", 50_000)
    began = time_module.perf_counter()
    got = solve_in_parts(c, "auto", 2.0, 0, 1)
    took = time_module.perf_counter() - began
    assert got.n_parts > 1
    assert min(got.prepare_s, got.strategy_s, got.rest_s) > 0
    assert got.prepare_s + got.strategy_s + got.rest_s <= took
    seen: list[tuple[float, float, float]] = []

    def warning(strategy: str, limit: float | None, prepared: float, ran: float, total: float) -> str:
        seen.append((prepared, ran, total))
        return "late"

    monkeypatch.setattr(solve_module, "overrun_warning", warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solve(problem, "auto", time_limit=2.0, workers=1, parts=True)
    assert [str(w.message) for w in caught] == ["late"]
    (prepared, ran, total), = seen
    assert prepared > 0 and ran > 0
    assert prepared + ran < total  # (filling and explaining took some time too)


def test_parts_repeat_with_one_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """auto in parts, one worker, the same seed: the same schedule twice
    (on the deterministic clock without its wall-clock net: a busy machine
    reaching it would make runs differ — seen in CI beside a province run)."""
    from tests.test_clock import _no_safety_net

    _no_safety_net(monkeypatch)
    problem = _three_counties(tmp_path, seed=1)
    monkeypatch.setattr(parts_module, "PART_PAIRS", 50_000)
    first = solve(problem, "auto", time_limit=4.0, workers=1, seed=3, parts=True)
    _same(first, solve(problem, "auto", time_limit=4.0, workers=1, seed=3, parts=True))


def test_the_command_line_solves_in_parts(tmp_path: Path) -> None:
    """``assign solve --parts`` writes the schedule (the bundled tiny
    problem: one part), the greedy's as without the flag."""
    import json

    from tests.test_cli import TINY, run

    for flag, out in (([], tmp_path / "a"), (["--parts"], tmp_path / "b")):
        code, _, _ = run("solve", str(TINY), "--out", str(out), "--strategy", "greedy", *flag)
        assert code == 0
    a = json.loads((tmp_path / "a" / "schedule.json").read_text())
    b = json.loads((tmp_path / "b" / "schedule.json").read_text())
    assert a["assignments"] == b["assignments"] and a["unassigned"] == b["unassigned"]
