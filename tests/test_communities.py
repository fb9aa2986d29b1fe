"""Communities re-solved inside a county's schedule (``assign.solvers.communities``)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import compile_problem
from assign.score import evaluate
from assign.solution import Solution
from assign.solvers import auto, communities
from assign.solvers.greedy import solve_greedy


@cache
def _county(seed: int = 0) -> tuple[Any, Any, Solution]:
    """A county of three communities (shiquan's settings, 120 volunteers, 700
    visits): one large component and tasks nobody can serve; with its greedy
    schedule."""
    from assign.synth import generate, load_scenario

    s = load_scenario("shiquan")
    county = s.region.counties[0].model_copy(update={"communities": 3})
    counts = s.counts.model_copy(update={"volunteers": 120, "tasks": 700, "recipients": 90, "organisations": 6})
    s = s.model_copy(update={"counts": counts, "region": s.region.model_copy(update={"counties": [county]})})
    c = compile_problem(generate(s, seed))
    cands = build_candidates(c)
    return c, cands, solve_greedy(c, cands, seed=0)


@cache
def _searched() -> Solution:
    """The county's schedule after 6 s of ``auto`` (one worker)."""
    c, cands, _ = _county()
    return auto.solve_auto_detailed(c, cands, 6.0, 0, 1).solution


def _rows(sol: Solution) -> set[tuple[int, int, int]]:
    return set(zip(sol.task.tolist(), sol.volunteer.tolist(), sol.start.tolist(), strict=True))


@pytest.mark.parametrize("community", [0, 1, 2])
def test_a_community_sub_frees_its_open_tiers_holds_the_rest_and_drops_the_later_tiers(community: int) -> None:
    c, _, sol = _county()
    open_tier = 2
    cut = communities.community_sub(c, sol, community, open_tier)
    assert cut is not None
    sub = cut.sub
    mine = c.v_community[sol.volunteer] == community
    assert sorted(sub.volunteers[:-1].tolist()) == np.flatnonzero(c.v_community == community).tolist()
    assert sub.volunteers[-1] == -1  # (the dummy)
    free, fixed = sub.tasks[: cut.n_free], sub.tasks[cut.n_free :]
    # free: the community's tasks of tiers 1-2, unpinned, served by nobody outside it
    outside = set(sol.task[~mine].tolist())
    assert np.all(c.t_tier[free] <= open_tier)
    assert np.all(c.r_community[c.t_recipient[free]] == community)
    assert not outside & set(free.tolist())
    assert np.all(np.diff(c.t_pin_ptr)[free] == 0)
    # fixed: each visit of the community's volunteers that is not free nor of a later
    # tier alone, in a window that is the visit, pinned to those who make it
    sc = sub.c
    for i, t in enumerate(fixed.tolist(), start=cut.n_free):
        rows = np.flatnonzero((sol.task == t) & mine)
        assert len(rows) == sc.t_needed[i] > 0
        assert sc.t_window_start[i] == sol.start[rows[0]]
        assert sc.t_window_end[i] == sol.start[rows[0]] + c.t_duration[t]
        pinned = sub.volunteers[sc.t_pin[sc.t_pin_ptr[i] : sc.t_pin_ptr[i + 1]]]
        assert sorted(pinned.tolist()) == sorted(sol.volunteer[rows].tolist())
    # merged back unchanged, the schedule loses only the later tiers' visits of
    # the community's volunteers, and stays valid
    back = communities.merge(sol, sub, auto.sub_solution(c, sub, sol))
    lost = _rows(sol) - _rows(back)
    assert not _rows(back) - _rows(sol)
    assert len(lost) == cut.dropped > 0
    assert all(c.t_tier[t] > open_tier and c.v_community[v] == community for t, v, _ in lost)
    assert violations(c, back) == []


@pytest.mark.parametrize("community", [0, 1, 2])
def test_a_community_re_solved_is_valid_and_loses_nothing_of_the_tiers_up_to_the_open_one(community: int) -> None:
    """The sub-problem's solve starts from the schedule, so its tiers up to
    the open one are at least as covered (without that start, community 0
    comes back from 0.3 s with U2 457 against the schedule's 454: the
    sub-problem's greedy is worse than the searched schedule)."""
    c, _, _ = _county()
    sol = _searched()
    got = communities.resolve(c, sol, community, 2, 0.3, 0, 1)
    assert got is not None
    assert violations(c, got) == []
    before, after = evaluate(c, sol).key(), evaluate(c, got).key()
    assert after[:2] <= before[:2] and after[0] <= before[0], (before, after)


def test_the_communities_are_ranked_by_what_they_leave_uncovered() -> None:
    c, cands, sol = _county()
    ranked = communities.order(c, cands, sol, 2, np.ones(c.n_tasks, dtype=bool))
    coverable = (cands.counts() >= c.t_needed) & ~sol.covered(c.n_tasks) & (c.t_tier == 2)
    weight = [float(c.t_weight[coverable & (c.r_community[c.t_recipient] == x)].sum()) for x in ranked]
    assert weight == sorted(weight, reverse=True) and all(w > 0 for w in weight)
    assert communities.order(c, cands, sol, 2, np.zeros(c.n_tasks, dtype=bool)) == []


def test_long_searches_give_communities_a_share_and_repeat_with_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a search long enough (here made short), ``auto`` re-solves the
    communities before searching; the schedule is valid, not worse than the
    greedy's, and with one worker the same twice."""
    c, cands, _ = _county()
    monkeypatch.setattr(communities, "MIN_SEARCH_SECONDS", 3.0)
    monkeypatch.setattr(communities, "MAX_SECONDS", 1.5)
    monkeypatch.setattr(communities, "MIN_SECONDS", 1.0)
    calls: list[int] = []
    resolve = communities.resolve

    def counted(*args: Any, **kwargs: Any) -> Solution | None:
        calls.append(args[2])
        return resolve(*args, **kwargs)

    monkeypatch.setattr(communities, "resolve", counted)
    first = auto.solve_auto_detailed(c, cands, 12.0, 0, 1)
    assert "communities" in [name for name, _ in first.log]
    assert len(calls) >= 2
    assert violations(c, first.solution) == []
    assert first.key <= first.greedy_key
    second = auto.solve_auto_detailed(c, cands, 12.0, 0, 1)
    assert _rows(second.solution) == _rows(first.solution)
    monkeypatch.setattr(auto, "COMMUNITY_PASSES", False)
    calls.clear()
    off = auto.solve_auto_detailed(c, cands, 12.0, 0, 1)
    assert calls == [] and "communities" not in [name for name, _ in off.log]
