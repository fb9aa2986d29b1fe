"""Candidates: every eligible and free (task, volunteer) pair, as a brute-force
all-pairs filter with :mod:`assign.rules` finds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign import rules
from assign.candidates import build_candidates
from assign.compile import compile_problem
from assign.io import load
from assign.model import Problem
from assign.score import linear_pair_cost

from .strategies import problems

TINY = Path(__file__).parent / "data" / "tiny.json"


def brute_force(problem: Problem) -> set[tuple[int, int]]:
    c = compile_problem(problem)
    grid_t, grid_v = np.meshgrid(np.arange(c.n_tasks), np.arange(c.n_volunteers), indexing="ij")
    t, v = grid_t.ravel(), grid_v.ravel()
    ok = rules.eligible(c, t, v) & rules.free(c, t, v)
    return set(zip(t[ok].tolist(), v[ok].tolist(), strict=True))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=6, max_tasks=8))
def test_candidates_equal_brute_force(problem: Problem) -> None:
    c = compile_problem(problem)
    cands = build_candidates(c, chunk=3)  # small chunks: exercise the chunking
    found = list(zip(cands.task.tolist(), cands.volunteer.tolist(), strict=True))
    assert len(found) == len(set(found))
    assert set(found) == brute_force(problem)
    # sorted by (task, km) (km to ~1e-6 km) with a CSR pointer
    assert np.all(np.diff(cands.task) >= 0)
    same_task = np.diff(cands.task) == 0
    assert np.all(np.diff(cands.km.astype(np.float64))[same_task] >= -1e-5)
    for task in range(c.n_tasks):
        assert np.all(cands.task[cands.rows(task)] == task)
    t, v = cands.task.astype(np.int64), cands.volunteer.astype(np.int64)
    np.testing.assert_array_equal(cands.start, rules.earliest_free_start(c, t, v))
    np.testing.assert_allclose(cands.km, rules.distance_km(c, t, v), rtol=1e-6)
    np.testing.assert_array_equal(cands.load, rules.assignment_load(c, t, v))
    np.testing.assert_allclose(cands.cost, linear_pair_cost(c, t, v), rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(problems(max_volunteers=6, max_tasks=6))
def test_nearest_k_cap_keeps_the_nearest(problem: Problem) -> None:
    c = compile_problem(problem)
    full = build_candidates(c)
    capped = build_candidates(c, k=1)
    assert np.all(capped.counts() == np.minimum(full.counts(), 1))
    for task in range(c.n_tasks):
        if full.counts()[task]:
            assert capped.km[capped.rows(task)][0] == full.km[full.rows(task)][0]


def test_subset_of_tasks_and_compact_dtypes() -> None:
    c = compile_problem(load(TINY))
    full = build_candidates(c)
    part = build_candidates(c, tasks=np.array([2, 0]))
    assert set(part.task.tolist()) <= {0, 2}
    assert len(part) == full.counts()[[0, 2]].sum()
    assert len(full.ptr) == c.n_tasks + 1
    assert full.task.dtype == np.int32 and full.volunteer.dtype == np.int32
    assert full.km.dtype == np.float32 and full.load.dtype == np.int32


@settings(max_examples=40, deadline=None)
@given(problems(max_volunteers=5, max_tasks=6), st.data())
def test_row_subset_keeps_its_rows_and_pointer(problem: Problem, data: st.DataObject) -> None:
    c = compile_problem(problem)
    full = build_candidates(c)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(full), max_size=len(full))), dtype=bool)
    rows = np.flatnonzero(keep)
    sub = full.subset(rows)
    assert sub.partial and not sub.complete and len(sub.ptr) == c.n_tasks + 1
    for col in ("task", "volunteer", "km", "start", "load", "cost"):
        np.testing.assert_array_equal(getattr(sub, col), getattr(full, col)[rows])
    for task in range(c.n_tasks):
        assert np.all(sub.task[sub.rows(task)] == task)
        assert sub.counts()[task] == int(keep[full.rows(task)].sum())


def test_tiny_candidates() -> None:
    c = compile_problem(load(TINY))
    cands = build_candidates(c)
    pairs = {(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(cands.task, cands.volunteer, strict=True)}
    # t3 (care, r2 excludes v1) -> only v3 is free on Dec 1; t1 medical -> v1 only
    assert ("t1", "v1") in pairs and ("t3", "v3") in pairs
    assert ("t3", "v1") not in pairs and ("t1", "v2") not in pairs


def _columns(cands: object) -> list[np.ndarray]:
    return [getattr(cands, f) for f in ("task", "volunteer", "km", "start", "load", "cost", "ptr")]


def test_two_workers_build_the_same_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked child builds the second half of the chunks: the same arrays,
    row for row, also with a cap, a subset of tasks, a child that fails and
    a platform that cannot fork (the process then builds them itself)."""
    from assign import forking
    from assign.synth import generate, load_scenario

    c = compile_problem(generate(load_scenario("laocheng-grid-25"), 0))
    assert c.n_tasks > 5 * 16  # several chunks of 16
    subset = np.arange(3, c.n_tasks, 2)
    for kwargs in ({}, {"k": 3}, {"tasks": subset}, {"with_cost": False}):
        one = build_candidates(c, chunk=16, **kwargs)  # type: ignore[arg-type]
        two = build_candidates(c, chunk=16, workers=2, **kwargs)  # type: ignore[arg-type]
        assert len(one) > 0
        for a, b in zip(_columns(one), _columns(two), strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        assert (one.cap, one.partial) == (two.cap, two.partial)
    one = build_candidates(c, chunk=16)
    monkeypatch.setattr(forking, "forked", lambda fn, **_: (lambda timeout=None: None))  # the child failed
    for a, b in zip(_columns(one), _columns(build_candidates(c, chunk=16, workers=2)), strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(forking, "forked", lambda fn, **_: None)  # no fork here
    for a, b in zip(_columns(one), _columns(build_candidates(c, chunk=16, workers=2)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_problem_too_large_for_the_memory_is_refused_while_its_pairs_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full build whose pairs need more memory than was available when it
    started stops with a TooLargeError that says what it needs and how to
    split the problem, with one worker and with two (the child stopped);
    where the memory cannot be read, and for a subset of tasks, nothing is
    checked."""
    from assign import candidates
    from assign.errors import TooLargeError
    from assign.synth import generate, load_scenario

    c = compile_problem(generate(load_scenario("laocheng-grid-25"), 0))
    whole = build_candidates(c, chunk=16)
    need = len(whole) * candidates.MEMORY_PER_PAIR
    monkeypatch.setattr(candidates, "available_memory", lambda: need - 1)
    with pytest.raises(TooLargeError):
        build_candidates(c, chunk=16)
    # (two workers: the process projects its half's pairs to every task)
    monkeypatch.setattr(candidates, "available_memory", lambda: need // 2)
    for workers in (1, 2):
        with pytest.raises(TooLargeError, match=r"too large for this machine's memory.*GiB.*county") as err:
            build_candidates(c, chunk=16, workers=workers)
        assert f"{c.n_tasks:,} tasks" in str(err.value)
    # a subset of tasks (the fill's, the explanations') is not checked
    assert len(build_candidates(c, chunk=16, tasks=np.arange(c.n_tasks))) == len(whole)
    # (twice what it needs: the projection from part of the tasks may overshoot)
    monkeypatch.setattr(candidates, "available_memory", lambda: 2 * need)
    assert len(build_candidates(c, chunk=16)) == len(whole)
    assert len(build_candidates(c, chunk=16, workers=2)) == len(whole)
    monkeypatch.setattr(candidates, "available_memory", lambda: None)
    assert len(build_candidates(c, chunk=16)) == len(whole)


def test_the_memory_guard_projects_once_a_quarter_of_the_tasks_is_done() -> None:
    """Before a quarter of the tasks only the pairs built count; from then
    on the pairs projected to every task."""
    from assign.candidates import MEMORY_PER_PAIR, _MemoryGuard
    from assign.errors import TooLargeError

    guard = _MemoryGuard(n_tasks=100, available=1000 * MEMORY_PER_PAIR, mine=100)
    guard.check(pairs=300, done=24)  # 300 pairs so far: they fit
    with pytest.raises(TooLargeError, match="1,200 candidate"):
        guard.check(pairs=300, done=25)  # 300 * 100 / 25 = 1,200 projected
    guard.check(pairs=1000, done=100)
    with pytest.raises(TooLargeError):
        guard.check(pairs=1001, done=10)  # more than fits, built already
    # half the tasks here, the other half in a forked child at the same pace
    half = _MemoryGuard(n_tasks=100, available=1000 * MEMORY_PER_PAIR, mine=50)
    half.check(pairs=500, done=12)  # ~1,000 pairs in the two processes
    with pytest.raises(TooLargeError, match="1,002 candidate"):
        half.check(pairs=501, done=12)
    with pytest.raises(TooLargeError, match="1,250 candidate"):
        half.check(pairs=250, done=20)  # 250 * 100 / 20 once 12.5 of the 50 are done


def test_candidates_benchmark_reports_same_arrays(capsys: pytest.CaptureFixture[str]) -> None:
    """``benchmarks/candidates.py`` times the build in subprocesses and
    checks every run's arrays against the first one-worker run's."""
    from tests.scripts import load_script

    load_script("candidates").main(["laocheng-grid-25", "--repeat", "1", "--workers", "1", "2"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| laocheng-grid-25 |")]
    assert len(rows) == 2 and all(row.endswith("| yes |") for row in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=6, max_tasks=8))
def test_the_recipient_sieve_refuses_only_pairs_none_of_whose_tasks_pass(problem: Problem) -> None:
    """``may_serve`` of every (volunteer, recipient) pair is the row sieve
    ``may_be_free`` over the recipient's tasks, any of them: it drops no pair
    with a task the row sieve would pass, and keeps none without."""
    from assign.candidates import _Sieve

    c = compile_problem(problem)
    if c.n_tasks == 0:
        return
    sieve = _Sieve.of(c)
    rec_tasks = np.argsort(c.t_recipient, kind="stable").astype(np.int64)
    recs = np.unique(c.t_recipient)
    rec_ptr = np.searchsorted(c.t_recipient[rec_tasks], np.append(recs, recs.max() + 1))
    grid_v, grid_r = np.meshgrid(np.arange(c.n_volunteers), np.arange(len(recs)), indexing="ij")
    v, r = grid_v.ravel().astype(np.int64), grid_r.ravel().astype(np.int64)
    got = sieve.may_serve(v, r, rec_ptr.astype(np.int64), rec_tasks)
    for x, y, ok in zip(v.tolist(), r.tolist(), got.tolist(), strict=True):
        tasks = rec_tasks[rec_ptr[y] : rec_ptr[y + 1]]
        assert ok == bool(sieve.may_be_free(tasks, np.full(len(tasks), x)).any())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1e-7, 0.5, 0.5000001, 3.0, 12.25])), max_size=40),
    st.sampled_from([0, 1 << 21, 1 << 40]),
)
def test_pairs_are_ordered_by_task_then_km_ties_in_their_given_order(rows: list[tuple[int, float]], spread: int) -> None:
    """The packed key and its fallback (a task span too wide to pack) give
    the same order: task, km to 2**-20 km, then the rows' own order."""
    from assign.candidates import _task_km_order

    t = np.array([a * (spread + 1) for a, _ in rows], dtype=np.int64)
    km = np.array([b for _, b in rows], dtype=np.float64)
    order = _task_km_order(t, km)
    kmq = np.minimum(km * (1 << 20), (1 << 42) - 1).astype(np.int64)
    expected = sorted(range(len(rows)), key=lambda i: (t[i], kmq[i], i))
    assert order.tolist() == expected
