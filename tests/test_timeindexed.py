"""Tests of the time-indexed models (assign/solvers/timeindexed.py): exact on
fixed-time tasks, a relaxation (bounds) and a restriction (schedules) on
windows; and of their use by strategy "auto" on large components."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from assign.candidates import build_candidates
from assign.check import violations
from assign.compile import compile_problem
from assign.model import Problem
from assign.solution import Solution
from assign.solvers import auto
from assign.solvers.timeindexed import fixed_time, solve_tiers, sure_pin_rows, sweep_cliques
from assign.solvers.weeks import WeekBound
from tests.bruteforce import brute_force
from tests.strategies import SKILLS, problems
from tests.test_auto import _check


def _fixed(problem: Problem, pins: bool) -> Problem:
    """Every window shrunk to its visit (one possible start); pins dropped unless asked."""
    tasks = []
    for t in problem.tasks:
        update: dict[str, object] = {"window_end": t.window_start + timedelta(minutes=t.duration_min)}
        if not pins:
            update["pinned"] = ()
        tasks.append(t.model_copy(update=update))
    return problem.model_copy(update={"tasks": tuple(tasks)})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5))
def test_stages_equal_brute_force(problem: Problem) -> None:
    """Without pins the model is exact: each proven stage value is the brute
    force's lexicographic optimum of that tier, and its schedule is valid."""
    p = _fixed(problem, pins=False)
    c = compile_problem(p)
    assert fixed_time(c).all()
    cands = build_candidates(c)
    r = solve_tiers(c, cands, np.ones(c.n_tasks, dtype=bool), time_limit=10.0)
    best = brute_force(c)
    sol = Solution.build(r.task, r.volunteer, r.start)
    assert violations(c, sol) == []
    for tier, value, bound, proven in r.stages:
        assert proven
        assert value == bound == best.key[tier - 1], (tier, value, bound, best.key)
    covered = sol.covered(c.n_tasks)
    for tier, value, _, _ in r.stages:
        assert value == float(c.t_weight[(c.t_tier == tier) & ~covered].sum())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5))
def test_restricted_model_keeps_pins_and_obstacles(problem: Problem) -> None:
    """With pins forced and fixed visits as obstacles the schedule, joined to
    the obstacles, breaks no rule 9-11, and keeps the forced pins."""
    p = _fixed(problem, pins=False)
    c = compile_problem(p)
    cands = build_candidates(c)
    n = c.n_tasks
    if n < 2:
        return
    # the first task's best single assignment becomes an obstacle
    first = cands.rows(0)
    if first.stop == first.start or c.t_needed[0] != 1:
        return
    ot = np.array([0])
    ov = np.array([int(cands.volunteer[first.start])])
    if c.v_max_per_day[ov[0]] == 0:
        return  # the obstacle alone would break rule 11
    if int(cands.load[first.start]) > int(c.v_max_minutes[ov[0]]):
        return  # ... or rule 10 (a pledge of 0 minutes)
    os_ = np.array([int(c.t_window_start[0])])
    rest = np.ones(n, dtype=bool)
    rest[0] = False
    r = solve_tiers(c, cands, rest, mode="restrict", time_limit=10.0, obstacles=(ot, ov, os_))
    sol = Solution.build(np.concatenate((ot, r.task)), np.concatenate((ov, r.volunteer)), np.concatenate((os_, r.start)))
    assert violations(c, sol) == []
    if len(r.task):
        # forcing the pairs just found is feasible and keeps them
        again = solve_tiers(
            c, cands, rest, mode="restrict", time_limit=10.0, obstacles=(ot, ov, os_), pins=(r.task, r.volunteer)
        )
        got = set(zip(again.task.tolist(), again.volunteer.tolist(), strict=True))
        assert set(zip(r.task.tolist(), r.volunteer.tolist(), strict=True)) <= got


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5))
def test_auto_fixed_time_path(problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every component large and every task fixed-time (pins kept): the
    fixed-time stage runs; the schedule is valid and the bound below the
    brute-force optimum."""
    with monkeypatch.context() as patch:
        patch.setattr(auto, "SMALL_PAIRS", 0)
        result = _check(_fixed(problem, pins=True), max_work=0.3)
    if result.n_large:
        assert any(name.startswith("fixed-time tiers") for name, _ in result.log)


def test_sweep_cliques() -> None:
    start = np.array([0, 10, 20, 5, 40])
    end = np.array([15, 30, 25, 12, 50])
    cliques = sorted(sorted(x.tolist()) for x in sweep_cliques(start, end))
    assert cliques == [[0, 1, 3], [1, 2]]


_GRID: list[object] = []


def _grid_compiled() -> object:
    """laocheng-grid's compiled problem (its recipients' homes), built once."""
    if not _GRID:
        from assign.synth import generate, load_scenario

        _GRID.append(compile_problem(generate(load_scenario("laocheng-grid"), 0)))
    return _GRID[0]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_visit_conflicts_exclude_exactly_the_sure_conflicts(data: st.DataObject) -> None:
    """Rule 9 among one volunteer's options: the model's rows (cliques and
    enforced conjunctions) exclude a pair of options of two tasks exactly
    when every two starts in their ranges clash, travel included (checked
    start by start), however close or far the homes."""
    from ortools.sat.python import cp_model

    from assign import rules
    from assign.solvers.timeindexed import add_visit_conflicts, max_travel_minutes

    c = _grid_compiled()
    n = data.draw(st.integers(2, 9))
    n_rec = int(c.r_lat.shape[0])  # type: ignore[attr-defined]
    homes = data.draw(st.lists(st.integers(0, min(n_rec, 6) - 1), min_size=n, max_size=n))
    recipient = np.asarray([data.draw(st.sampled_from([h, h * 7 % n_rec])) for h in homes], dtype=np.int64)
    task = np.asarray(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.int64)
    lo = np.asarray(data.draw(st.lists(st.integers(0, 240), min_size=n, max_size=n)), dtype=np.int64)
    hi = lo + np.asarray(data.draw(st.lists(st.sampled_from([0, 0, 5, 20]), min_size=n, max_size=n)), dtype=np.int64)
    duration = np.asarray(data.draw(st.lists(st.sampled_from([15, 30, 45, 60]), min_size=n, max_size=n)), dtype=np.int64)
    m = cp_model.CpModel()
    y = [m.new_bool_var("") for _ in range(n)]
    add_visit_conflicts(m, y, np.arange(n), lo, hi, duration, recipient, task, c, max_travel_minutes(c))
    excluded = set()
    for ct in m.proto.constraints:  # (has_* only: the other accessors would change the constraint)
        if ct.has_at_most_one():
            lits = list(ct.at_most_one.literals)
            excluded |= {(a, b) for a in lits for b in lits if a != b}
        elif ct.has_bool_and():
            (a,) = list(ct.enforcement_literal)
            for lit in ct.bool_and.literals:
                excluded |= {(a, -lit - 1), (-lit - 1, a)}
        elif ct.has_bool_or():
            a, b = (-lit - 1 for lit in ct.bool_or.literals)
            excluded |= {(a, b), (b, a)}
    for a in range(n):
        for b in range(a + 1, n):
            if task[a] == task[b]:
                continue  # (the task's own rows keep one of them)
            t = int(rules.travel_between_recipients(c, recipient[[a]], recipient[[b]])[0])
            clash = all(
                not (sa + duration[a] + t <= sb or sb + duration[b] + t <= sa)
                for sa in range(int(lo[a]), int(hi[a]) + 1)
                for sb in range(int(lo[b]), int(hi[b]) + 1)
            )
            assert ((a, b) in excluded) == clash, (a, b, clash, t)


def _no_pins(problem: Problem) -> Problem:
    return problem.model_copy(update={"tasks": tuple(t.model_copy(update={"pinned": ()}) for t in problem.tasks)})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5), step=st.sampled_from([1, 15, 60]))
def test_relaxation_bounds_and_restriction_schedules(problem: Problem, step: int) -> None:
    """On windows: the relaxation's stages never beat the brute-force optimum
    (lexicographically), the restriction's schedule is valid and never better."""
    p = _no_pins(problem)
    c = compile_problem(p)
    cands = build_candidates(c)
    every = np.ones(c.n_tasks, dtype=bool)
    best = brute_force(c).key[:-1]
    relax = solve_tiers(c, cands, every, mode="relax", step=step, time_limit=10.0)
    bounds = tuple(b for _, _, b, _ in relax.stages)
    tiers = [tier for tier, _, _, _ in relax.stages]
    assert bounds <= tuple(best[j - 1] for j in tiers), (bounds, best)
    restrict = solve_tiers(c, cands, every, mode="restrict", step=step, time_limit=10.0)
    sol = Solution.build(restrict.task, restrict.volunteer, restrict.start)
    assert violations(c, sol) == []
    values = tuple(val for _, val, _, _ in restrict.stages)
    assert values >= tuple(best[j - 1] for j, _, _, _ in restrict.stages), (values, best)
    # the restriction's proven stages are values of its schedule
    covered = sol.covered(c.n_tasks)
    for tier, value, _, proven in restrict.stages:
        if proven:
            assert value == float(c.t_weight[(c.t_tier == tier) & ~covered].sum())


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=4, max_tasks=5), data=st.data())
def test_surely_kept_pins_are_in_the_optimum(problem: Problem, data: st.DataObject) -> None:
    """A pin flagged as surely kept is in the brute force's optimal schedule
    (which honours rule 12), so forcing it keeps a relaxation valid."""
    from assign.solvers.timeindexed import surely_kept_pins

    # volunteers free and skilled enough to be candidates, and one-volunteer
    # tasks pinned to a candidate (random pins rarely are one): the first such
    # task always, the others with a coin flip
    day = timedelta(days=1)
    vols = tuple(
        v.model_copy(update={
            "skills": tuple(SKILLS),
            "availability": tuple(
                (problem.horizon.start + day * k, problem.horizon.start + day * k + timedelta(hours=h))
                for k, h in enumerate(data.draw(st.lists(st.integers(2, 20), min_size=2, max_size=2)))
            ),
            "max_travel_km": None,
        })
        for v in problem.volunteers
    )
    problem = problem.model_copy(update={"volunteers": vols})
    c0 = compile_problem(problem)
    cands0 = build_candidates(c0)
    tasks = []
    n = len(problem.tasks)
    flips = iter(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    # and sometimes a rival pin to a volunteer who is no candidate of the
    # task (it breaks a rule alone: it goes, and is no rival)
    rivals = iter(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    first = True
    for i, t in enumerate(problem.tasks):
        r = cands0.rows(i)
        flip, rival = next(flips), next(rivals)
        pin: tuple[str, ...] = ()
        if r.stop > r.start and t.volunteers_needed == 1 and (first or flip):
            pin = (c0.volunteer_ids[int(cands0.volunteer[r.start])],)
            first = False
            others = sorted(set(range(c0.n_volunteers)) - set(cands0.volunteer[r].tolist()))
            if rival and others:
                pin += (c0.volunteer_ids[others[0]],)
                event("a rival pin outside the candidates")
        tasks.append(t.model_copy(update={"pinned": pin}))
    c = compile_problem(problem.model_copy(update={"tasks": tuple(tasks)}))
    cands = build_candidates(c)
    sure = surely_kept_pins(c, cands)
    event("some pin surely kept" if sure.any() else "none surely kept")
    if not sure.any():
        return
    best = brute_force(c, honour_pins=True)
    pin_t = np.repeat(np.arange(c.n_tasks), np.diff(c.t_pin_ptr))
    kept = set(zip(best.solution.task.tolist(), best.solution.volunteer.tolist(), strict=True))
    for t, v in zip(pin_t[sure].tolist(), c.t_pin[sure].tolist(), strict=True):
        assert (t, v) in kept, (t, v)
    # their candidate rows (sure_pin_rows), and the relaxations that force
    # them (the pair LP, the week bound) stay below the optimum tier by tier
    rows = sure_pin_rows(c, cands)
    pairs = sorted(zip(cands.task[rows].tolist(), cands.volunteer[rows].tolist(), strict=True))
    assert pairs == sorted(zip(pin_t[sure].tolist(), c.t_pin[sure].tolist(), strict=True))
    for j in range(1, c.n_tiers + 1):
        mask = c.t_tier <= j
        limits = {i: float(best.key[i - 1]) for i in range(1, j)}
        lp = auto.Relaxation(c, cands, mask, fairness=False).tier_bound(j, limits, None)
        assert lp is None or lp <= best.key[j - 1], (j, lp, best.key)
        wb = WeekBound(c, cands, mask)
        if wb.ok:
            assert set(wb.forced) <= set(pairs)
            week = wb.tier_bound(j, limits, None)
            assert week is None or week <= best.key[j - 1], (j, week, best.key)
    # the LP's soft bound (pair costs and fairness; the pins' pairs constants,
    # their minutes every volunteer's least load) under the optimum's U is at
    # most the LP's objective at the optimum's pairs
    every = {j: float(best.key[j - 1]) for j in range(1, c.n_tiers + 1)}
    soft = auto.Relaxation(c, cands, np.ones(c.n_tasks, dtype=bool)).soft_bound(
        every, None, np.ones(c.n_volunteers, dtype=bool)
    )
    if soft is not None:
        taken = []
        for t, v in zip(best.solution.task.tolist(), best.solution.volunteer.tolist(), strict=True):
            r = cands.rows(t)
            taken.append(r.start + cands.volunteer[r].tolist().index(v))
        load = np.bincount(cands.volunteer[taken], weights=cands.load[taken], minlength=c.n_volunteers)
        cap = c.share_capacity
        has = cap > 0
        at_optimum = float(cands.cost[taken].sum()) + c.weights["fairness"] * float(
            (((c.v_history_minutes[has] + load[has]) / cap[has]) ** 2).sum()
        )
        assert soft <= at_optimum + 1e-6, (soft, at_optimum)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=problems(max_volunteers=3, max_tasks=5), data=st.data())
def test_every_valid_schedule_keeps_a_pin_of_each_group(problem: Problem, data: st.DataObject) -> None:
    """:func:`kept_pin_groups`: every schedule valid under the lenient
    reading of rule 12 (so every strictly valid one too), enumerated by brute
    force, keeps at least one pin of each group; and the time-indexed
    relaxation with the groups (and the surely kept pins) bounds the lenient
    optimum's U of its first tier."""
    import itertools

    from assign.solvers.timeindexed import kept_pin_groups, surely_kept_pins
    from tests.bruteforce import _Lenient, _pins_of, _Tiny

    # volunteers skilled and free for an hour or two each day, one-volunteer
    # tasks pinned, several of them to one volunteer (groups need two pins of
    # one volunteer near each other)
    day = timedelta(days=1)
    vols = tuple(
        v.model_copy(update={
            "skills": tuple(SKILLS),
            "availability": tuple(
                (problem.horizon.start + day * k + timedelta(hours=8), problem.horizon.start + day * k + timedelta(hours=8 + h))
                for k, h in enumerate(data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=2)))
            ),
            "max_travel_km": 100.0,
            "community": problem.volunteers[0].community,
            # (pledges and daily limits both ways: roomy or binding)
            "max_minutes": data.draw(st.sampled_from([None, 50, 70, 600])),
            "max_tasks_per_day": data.draw(st.sampled_from([None, None, 1, 2, 5])),
        })
        for v in problem.volunteers
    )
    recipients = tuple(r.model_copy(update={"excluded_volunteers": (), "community": problem.volunteers[0].community})
                       for r in problem.recipients)
    problem = problem.model_copy(update={"volunteers": vols, "recipients": recipients})
    c0 = compile_problem(problem)
    # the one-volunteer tasks, most of them in the first morning (near one
    # another; short windows: the lenient brute force tries every start of
    # the kept pins), pinned to one volunteer
    who = data.draw(st.integers(0, c0.n_volunteers - 1))
    n = len(problem.tasks)
    # (a pin the next day, outside the group, shares the pledge and the days)
    kinds = iter(data.draw(st.lists(st.sampled_from(["morning", "morning", "morning", "next day", "none"]), min_size=n, max_size=n)))
    spans = iter(data.draw(st.lists(st.sampled_from([30, 35, 40, 45]), min_size=n, max_size=n)))
    morning = problem.horizon.start + timedelta(hours=8)
    tasks = []
    for t in problem.tasks:
        kind, span = next(kinds), next(spans)
        if t.volunteers_needed == 1 and kind != "none":
            at = morning + (day if kind == "next day" else timedelta(0))
            t = t.model_copy(update={
                "window_start": at, "window_end": at + timedelta(minutes=span),
                "duration_min": 30, "pinned": (c0.volunteer_ids[who],),
            })
        else:
            t = t.model_copy(update={"pinned": ()})
        tasks.append(t)
    c = compile_problem(problem.model_copy(update={"tasks": tuple(tasks)}))
    cands = build_candidates(c)
    groups = kept_pin_groups(c, cands)
    event(f"{len(groups)} groups")


    if not groups:
        return
    pin_t = np.repeat(np.arange(c.n_tasks), np.diff(c.t_pin_ptr))
    want = [{(int(pin_t[i]), int(c.t_pin[i])) for i in g.tolist()} for g in groups]
    # every leniently valid schedule (as tests/bruteforce.py enumerates them)
    tiny = _Tiny(c)
    feasible = []
    for choice in itertools.product(*(tiny.options(t) for t in range(c.n_tasks))):
        if tiny.minutes_ok(choice) and tiny.place(choice) is not None:
            feasible.append(choice)
    achievable = {_pins_of(c, ch) for ch in feasible}
    all_pins = set(zip(pin_t.tolist(), c.t_pin.tolist(), strict=True))
    lenient = _Lenient(c, tiny, {p for p in all_pins if any(p in k for k in achievable)})
    n_valid = 0
    for choice in feasible:
        if lenient.place(choice) is None:
            continue
        n_valid += 1
        kept = _pins_of(c, choice)
        for g in want:
            assert kept & g, (sorted(kept), sorted(g))
    assert n_valid  # (the schedule keeping every feasible pin it can is among them)
    # the relaxation with the groups bounds the lenient optimum's U1
    best = brute_force(c, honour_pins=True, reading="lenient")
    sure = surely_kept_pins(c, cands)
    first = int(c.t_tier.min())
    r = solve_tiers(
        c, cands, np.ones(c.n_tasks, dtype=bool), mode="relax", time_limit=20, workers=1, tiers=(first,),
        pins=(pin_t[sure], c.t_pin[sure].astype(np.int64)), pin_groups=[(pin_t[g], c.t_pin[g].astype(np.int64)) for g in groups],
    )
    if r.stages:
        assert r.stages[0][2] <= best.key[first - 1] + 1e-9, (r.stages, best.key)


def test_a_pin_whose_rival_breaks_a_rule_alone_is_surely_kept() -> None:
    """An audit's problem (tests/data/pin_rival_breaks_alone.json): task t3
    needs one volunteer and is pinned to v3 and to v2, whom its recipient
    excludes. v2's pin goes in every valid schedule, so v3's is surely kept
    (before, v2 counted as a rival: cpsat found the optimum but could not
    prove its soft part and reported "feasible")."""
    from pathlib import Path

    import assign
    from assign.solvers.timeindexed import surely_kept_pins

    p = assign.load(Path(__file__).parent / "data" / "pin_rival_breaks_alone.json")
    c = compile_problem(p)
    sure = surely_kept_pins(c, build_candidates(c))
    pin_t = np.repeat(np.arange(c.n_tasks), np.diff(c.t_pin_ptr))
    flagged = {(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(pin_t[sure].tolist(), c.t_pin[sure].tolist(), strict=True)}
    assert ("t3", "v3") in flagged and ("t3", "v2") not in flagged
    best = brute_force(c, honour_pins=True)
    s = assign.solve(p, strategy="cpsat", time_limit=20, seed=0, workers=1)
    assert assign.check(p, s).valid
    assert s.score.uncovered == best.key[:-1]
    assert s.status == "optimal"


def test_model_building_stops_when_its_time_is_spent() -> None:
    """A model that cannot be built in its time is not solved: no stages, no
    assignments, status BUILD_TIMEOUT (a zero limit is always spent)."""
    from assign.solvers.timeindexed import BUILD_TIMEOUT
    from tests.test_auto import _two_towns

    c = compile_problem(_two_towns(n_vol=4, n_task=8))
    cands = build_candidates(c)
    tasks = np.ones(c.n_tasks, dtype=bool)
    done = solve_tiers(c, cands, tasks, mode="restrict", time_limit=10.0)
    assert done.stages and done.status != BUILD_TIMEOUT
    cut = solve_tiers(c, cands, tasks, mode="restrict", time_limit=0.0)
    assert cut.status == BUILD_TIMEOUT and cut.stages == () and len(cut.task) == 0
