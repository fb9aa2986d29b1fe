"""``benchmarks/crosscheck.py``: bounds checked against every run's schedules."""

from __future__ import annotations

from typing import Any

import pytest

from assign.io import load
from assign.model import Bound
from tests.scripts import load_script

cross = load_script("crosscheck")


def test_lex_le_is_lexicographic_with_the_soft_tolerance() -> None:
    assert cross.lex_le((1, 2, 3.0), (1, 2, 3.0))
    assert cross.lex_le((1, 2, 3.0 + 1e-9), (1, 2, 3.0))  # within SPEC §10's relative 1e-6
    assert not cross.lex_le((1, 2, 3.1), (1, 2, 3.0))
    assert cross.lex_le((1, 1, 99.0), (1, 2, 0.0))  # a smaller U decides, whatever the soft part
    assert not cross.lex_le((1, 3, 0.0), (1, 2, 100.0))
    assert not cross.lex_le((2, 0, 0.0), (1, 9, 9.0))


def test_the_runs_of_a_tiny_problem_agree() -> None:
    problem = load("tests/data/tiny.json")
    rows, failures = cross.crosscheck(problem, [("cpsat", 1, 5.0), ("auto", 1, 5.0), ("greedy", 1, 0.0)], 0)
    assert failures == []
    assert len(rows) == 3 and all(r["valid"] for r in rows)


def test_a_bound_above_a_schedule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose bound promises more than a valid schedule (its own or
    another run's) fails the check."""
    problem = load("tests/data/tiny.json")
    real = cross.solve

    def lying(p: Any, strategy: str, **kw: Any) -> Any:
        s = real(p, strategy=strategy, **kw)
        if strategy != "greedy":
            return s
        assert s.score is not None
        worse = (*s.score.uncovered[:-1], s.score.uncovered[-1] + 1)
        return s.model_copy(update={"bound": Bound(uncovered=worse, soft=0.0)})

    monkeypatch.setattr(cross, "solve", lying)
    _, failures = cross.crosscheck(problem, [("cpsat", 1, 5.0), ("greedy", 1, 0.0)], 0)
    assert [f for f in failures if f.startswith("greedy")]
    assert all("bound" in f for f in failures)
