"""Tests of assign/synth.py: scenarios load, problems validate, counts match,
generation is deterministic per seed, and the streamed bundle equals generate()."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from assign.errors import ScenarioError
from assign.model import Problem
from assign.synth import (
    BUNDLE_COLUMNS,
    SCENARIOS_DIR,
    Scenario,
    generate,
    generate_to,
    load_scenario,
    scenario_names,
)
from assign.validate import validate_problem
from tests.scripts import load_script

HAS_BUNDLE = importlib.util.find_spec("assign.io.bundle") is not None


@pytest.fixture(scope="module")
def laocheng() -> Scenario:
    """The one-community scenario of the seed article (266 volunteers)."""
    return load_scenario("laocheng")


@pytest.fixture(scope="module")
def laocheng_problem(laocheng: Scenario) -> Problem:
    """Laocheng generated with seed 1."""
    return generate(laocheng, seed=1)


def _small(tmp_path: Path) -> Path:
    """A three-county, two-city variant of shiquan, small enough for a round trip."""
    text = (SCENARIOS_DIR / "shiquan.toml").read_text(encoding="utf-8")
    head, template = text.split("[communities]", 1)
    head = head.split("[counts]", 1)[0]
    custom = (
        head.replace('name = "shiquan"', 'name = "tiny-province"', 1)
        + """[counts]
volunteers = 300
organisations = 12
recipients = 200
tasks = 1500

[region]
min_separation_km = 15.0
bounds = [31.7, 39.6, 105.5, 111.3]
[[region.counties]]
name = "shiquan"
lat = 33.04
lon = 108.25
communities = 3
community_names = ["laocheng"]
[[region.cities]]
name = "ankang"
lat = 32.68
lon = 109.03
counties = 2
communities_per_county = 2
spread_km = 40.0

[communities]"""
        + template
    )
    path = tmp_path / "tiny-province.toml"
    path.write_text(custom, encoding="utf-8")
    return path


# ----------------------------------------------------------------- scenarios


def test_shipped_scenarios_load() -> None:
    names = scenario_names()
    for name in ("laocheng-grid-25", "laocheng-grid", "laocheng", "shiquan", "ankang", "shaanxi"):
        assert name in names
        scenario = load_scenario(name)
        assert scenario.name == name
        assert str(scenario.horizon.start) == "2026-11-30"
        assert scenario.horizon.timezone == "Asia/Shanghai"


def test_scenario_by_path(tmp_path: Path) -> None:
    assert load_scenario(SCENARIOS_DIR / "laocheng.toml").name == "laocheng"
    assert load_scenario(_small(tmp_path)).name == "tiny-province"


def test_unknown_scenario_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("atlantis")
    bad = tmp_path / "bad.toml"
    bad.write_text((SCENARIOS_DIR / "laocheng.toml").read_text().replace("days = 7", "days = 0"))
    with pytest.raises(ScenarioError, match="horizon.days"):
        load_scenario(bad)


# ----------------------------------------------------------------- laocheng


def test_laocheng_counts_match_scenario(laocheng: Scenario, laocheng_problem: Problem) -> None:
    p = laocheng_problem
    validate_problem(p)
    assert [c.id for c in p.communities] == ["laocheng"]
    assert len(p.volunteers) == laocheng.counts.volunteers == 266
    assert len(p.recipients) == laocheng.counts.recipients
    assert len(p.tasks) == laocheng.counts.tasks
    orgs = Counter(v.org for v in p.volunteers)
    assert orgs.pop("building-heads") == 94  # context: 94 building heads
    assert len(orgs) == 6 and sum(orgs.values()) == 172  # 172 cadres of 6 institutions
    assert p.volunteers[0].id == "v00001" and p.recipients[0].id == "r000001"
    assert p.tasks[0].id == "t000001"


def test_laocheng_is_valid_and_realistic(laocheng_problem: Problem) -> None:
    p = laocheng_problem
    start, end = p.horizon.start, p.horizon.end
    for t in p.tasks:
        assert start <= t.window_start and t.window_end <= end
        assert (t.window_end - t.window_start).total_seconds() / 60 >= t.duration_min
        if t.service == "medical":  # fixed appointments
            assert (t.window_end - t.window_start).total_seconds() / 60 == t.duration_min
        if t.service == "meals":  # lunch or dinner
            assert t.window_start.hour in (11, 17)
    services = Counter(t.service for t in p.tasks)
    assert set(services) == {"medical", "disability_care", "meals", "companionship", "household", "errands"}
    assert any(t.volunteers_needed == 2 for t in p.tasks if t.service == "disability_care")
    assert all(t.volunteers_needed == 1 for t in p.tasks if t.service != "disability_care")
    medical = sum("medical" in v.skills for v in p.volunteers) / len(p.volunteers)
    assert 0.02 <= medical <= 0.12  # scarce
    for group in ("disabled_dementia", "solitary", "low_income"):
        assert any(group in r.groups for r in p.recipients)
    assert sum(bool(t.pinned) for t in p.tasks) > 0
    assert sum(bool(r.excluded_volunteers) for r in p.recipients) > 0
    assert sum(bool(r.preferred_volunteers) for r in p.recipients) > 0
    assert sum(v.max_minutes is not None for v in p.volunteers) > 0
    assert sum(v.max_tasks_per_day is not None for v in p.volunteers) > 0
    # cadres free on weekday evenings or at weekends; building heads in the daytime
    for v in p.volunteers:
        for s, _e in v.availability:
            local = s.astimezone(start.tzinfo)
            if v.org != "building-heads" and local.weekday() < 5:
                assert local.hour >= 17
    recipients = {r.id: r for r in p.recipients}
    for t in p.tasks:
        if t.service == "disability_care":
            assert "disabled_dementia" in recipients[t.recipient].groups


def test_same_seed_same_problem_other_seed_other(laocheng: Scenario, laocheng_problem: Problem) -> None:
    assert generate(laocheng, seed=1) == laocheng_problem
    other = generate(laocheng, seed=2)
    assert other != laocheng_problem
    assert len(other.tasks) == len(laocheng_problem.tasks)


# ----------------------------------------------------------------- shiquan


def test_shiquan_size() -> None:
    p = generate("shiquan", seed=0)
    assert len(p.communities) == 16
    assert len(p.volunteers) == 2178
    assert 24_000 <= len(p.tasks) <= 26_000
    orgs = {v.org for v in p.volunteers} - {"building-heads"}
    assert len(orgs) <= 95
    # demand above supply in some communities, not in all
    supply: Counter[str] = Counter()
    demand: Counter[str] = Counter()
    for v in p.volunteers:
        supply[v.community] += v.max_minutes or sum(
            int((e - s).total_seconds() // 60) for s, e in v.availability
        )
    recipients = {r.id: r.community for r in p.recipients}
    for t in p.tasks:
        demand[recipients[t.recipient]] += t.duration_min * t.volunteers_needed
    ratio = [supply[c.id] / demand[c.id] for c in p.communities]
    assert min(ratio) < 0.8 and max(ratio) > 1.0


# ----------------------------------------------------------------- files


def test_json_output_round_trips(tmp_path: Path, laocheng: Scenario, laocheng_problem: Problem) -> None:
    from assign.io import load

    out = generate_to(laocheng, 1, tmp_path / "laocheng.json")
    assert load(out) == laocheng_problem


@pytest.mark.skipif(not HAS_BUNDLE, reason="assign/io/bundle.py not written yet")
def test_streamed_bundle_equals_generate(tmp_path: Path) -> None:
    from assign.io import load

    scenario = load_scenario(_small(tmp_path))
    out = generate_to(scenario, 7, tmp_path / "bundle")
    for name, columns in BUNDLE_COLUMNS.items():
        header = (out / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(columns)
    text = (out / "tasks.csv").read_text(encoding="utf-8")
    assert "+08:00" in text
    loaded = load(out)
    assert loaded == generate(scenario, 7)
    assert len(loaded.communities) == 3 + 2 * 2
    counties = {c.id.rsplit("-c", 1)[0] for c in loaded.communities if c.id != "laocheng"}
    assert counties == {"shiquan", "ankang-01", "ankang-02"}
    assert len(loaded.tasks) == 1500
    # writing again over the same folder replaces it
    generate_to(scenario, 8, out)
    assert load(out) == generate(scenario, 8)


# ------------------------------------------------- one community (benchmarks)


def _one_community() -> Any:
    return load_script("solve").one_community


def test_one_community_keeps_its_own_and_drops_every_outside_reference(tmp_path: Path) -> None:
    """``benchmarks/solve.py``'s ``NAME:COMMUNITY`` problems: the community's
    recipients, their tasks and its volunteers; a pin naming an outsider is
    dropped whole, other references to outsiders filtered; the result passes
    the cross-reference checks."""
    problem = generate(load_scenario(_small(tmp_path)), seed=2)
    community = problem.communities[0].id
    inside = [v.id for v in problem.volunteers if v.community == community]
    outside = [v.id for v in problem.volunteers if v.community != community]
    recs = {r.id for r in problem.recipients if r.community == community}
    mine = [i for i, t in enumerate(problem.tasks) if t.recipient in recs]
    assert len(inside) >= 2 and outside and len(mine) >= 3
    # three of its tasks: a team pinned inside, a team pinned half outside,
    # one whose previous volunteers mix both
    tasks = list(problem.tasks)
    a, b, d = mine[:3]
    tasks[a] = tasks[a].model_copy(update={"pinned": (inside[0], inside[1]), "volunteers_needed": 2})
    tasks[b] = tasks[b].model_copy(update={"pinned": (inside[0], outside[0]), "volunteers_needed": 2})
    tasks[d] = tasks[d].model_copy(update={"previous_volunteers": (outside[0], inside[1])})
    problem = problem.model_copy(update={"tasks": tuple(tasks)})

    cut = _one_community()(problem, community)

    validate_problem(cut)
    assert [x.id for x in cut.communities] == [community]
    assert [v.id for v in cut.volunteers] == inside
    assert {r.id for r in cut.recipients} == recs
    assert [t.id for t in cut.tasks] == [problem.tasks[i].id for i in mine]
    got = {t.id: t for t in cut.tasks}
    assert got[tasks[a].id].pinned == (inside[0], inside[1])
    assert got[tasks[b].id].pinned == ()
    assert got[tasks[d].id].previous_volunteers == (inside[1],)
    mine_v = set(inside)
    for t in cut.tasks:
        assert set(t.pinned) <= mine_v and set(t.previous_volunteers) <= mine_v
    for r in cut.recipients:
        assert set(r.preferred_volunteers) <= mine_v and set(r.excluded_volunteers) <= mine_v
    for x in cut.history.assignments:
        assert x.volunteer in mine_v and x.recipient in recs


def test_one_community_refuses_an_unknown_community(tmp_path: Path) -> None:
    problem = generate(load_scenario(_small(tmp_path)), seed=2)
    with pytest.raises(SystemExit, match="no community 'nowhere'"):
        _one_community()(problem, "nowhere")
