"""``benchmarks/planted.py``: problems built around a hidden full cover."""

from __future__ import annotations

import pytest

import assign
from assign.check import check
from assign.model import Problem, Schedule
from tests.scripts import load_script

planted = load_script("planted")


@pytest.mark.parametrize("seed", range(8))
def test_the_hidden_schedule_covers_every_task_validly(seed: int) -> None:
    """The generator's promise: the hidden schedule is valid and covers
    every task, so the optimum leaves U = 0 in every tier."""
    raw, hidden = planted.planted(seed)
    problem = Problem.model_validate(raw)
    report = check(problem, Schedule.model_validate(hidden))
    assert report.valid, report.violations[:3]
    assert report.score is not None and not any(report.score.uncovered)
    assert len(problem.tasks) >= 20


@pytest.mark.parametrize("strategy", ["cpsat", "auto"])
def test_a_bound_on_a_planted_problem_is_zero_in_every_tier(strategy: str) -> None:
    """No bound may promise that some need cannot be covered when a valid
    schedule covers them all (one worker: the run repeats)."""
    raw, _ = planted.planted(1)
    problem = Problem.model_validate(raw)
    got = assign.solve(problem, strategy, time_limit=3, seed=0, workers=1)
    assert check(problem, got).valid
    assert got.bound is not None and not any(got.bound.uncovered), got.bound


def test_the_script_prints_its_table_and_fails_on_a_broken_bound(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table holds a row per strategy; a bound above 0 in some tier is a
    failure (exit 1)."""
    assert planted.main(["--problems", "2", "--strategies", "greedy"]) == 0
    out = capsys.readouterr().out
    assert "| greedy | " in out and "2 planted problems" in out
    real = planted.solve

    def lying(p: Problem, strategy: str, **kw: object) -> Schedule:
        s = real(p, strategy=strategy, **kw)
        assert s.bound is not None
        return s.model_copy(update={"bound": s.bound.model_copy(update={"uncovered": (1, *s.bound.uncovered[1:])})})

    monkeypatch.setattr(planted, "solve", lying)
    assert planted.main(["--problems", "1", "--strategies", "greedy"]) == 1
    assert "FAIL seed 0 greedy: bound U" in capsys.readouterr().out


@pytest.mark.parametrize("first", [0, 4])
def test_towns_side_by_side_keep_a_valid_full_cover_in_separate_components(first: int) -> None:
    """``--towns``: four planted problems joined, their ids apart and their
    hidden schedules joined, still valid and covering every task; no
    candidate pair joins two towns, so there are at least four components."""
    import numpy as np

    from assign.candidates import build_candidates
    from assign.compile import compile_problem
    from assign.solvers import auto

    seeds = list(range(first, first + 4))
    raw, hidden = planted.towns(seeds)
    problem = Problem.model_validate(raw)
    report = check(problem, Schedule.model_validate(hidden))
    assert report.valid, report.violations[:3]
    assert report.score is not None and not any(report.score.uncovered)
    assert len(problem.tasks) == sum(len(planted.planted(s)[0]["tasks"]) for s in seeds)
    c = compile_problem(problem)
    cands = build_candidates(c)
    t_label, _, _ = auto.components(c, cands)
    town = np.array([int(t.split("t")[0][1:]) for t in c.task_ids])
    for k in np.unique(t_label[cands.task]):
        assert len(np.unique(town[t_label == k])) == 1
    assert len(np.unique(t_label[cands.task])) >= 4


def test_the_script_takes_towns(capsys: pytest.CaptureFixture[str]) -> None:
    assert planted.main(["--problems", "1", "--towns", "2", "--strategies", "greedy"]) == 0
    assert "1 planted problems of 2 towns" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        planted.main(["--towns", "0"])
