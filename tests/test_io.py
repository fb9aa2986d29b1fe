"""JSON and table-bundle reading and writing (SPEC §3, §9, §10).

The central property: JSON -> bundle -> JSON and bundle -> JSON -> bundle change
nothing, checked on the sample problem, on hand-written bundles and on random
valid problems (hypothesis).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assign.errors import ProblemError
from assign.io import load, load_json, problem_to_dict, save, save_json
from assign.io.bundle import TABLES, bundle_texts, load_bundle, save_bundle
from assign.model import MAX_WEIGHT, Problem
from assign.validate import validate_problem
from tests.strategies import problems

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.json"
BUNDLE_TINY = DATA / "bundle_tiny"
BUNDLE_FILES = {"problem.toml", *(table.file for table in TABLES)}


def json_roundtrip(problem: Problem, folder: Path) -> Problem:
    """Problem -> bundle -> Problem -> JSON -> Problem, asserting nothing changes."""
    bundle = folder / "bundle"
    save_bundle(problem, bundle)
    again = load_bundle(bundle)
    assert again == problem
    assert problem_to_dict(again) == problem_to_dict(problem)
    path = folder / "p.json"
    save_json(again, path)
    back = load_json(path)
    assert back == problem
    assert problem_to_dict(back) == problem_to_dict(problem)
    # writing the bundle again gives the same bytes
    bundle2 = folder / "bundle2"
    save_bundle(back, bundle2)
    for name in BUNDLE_FILES:
        assert (bundle / name).read_bytes() == (bundle2 / name).read_bytes(), name
    return again


# --------------------------------------------------------------------------- fixed examples


def test_hand_written_bundle_is_the_json_problem() -> None:
    from_json = load(TINY)
    from_bundle = load(BUNDLE_TINY)
    assert from_bundle == from_json
    assert problem_to_dict(from_bundle) == problem_to_dict(from_json)


def test_problem_toml_path_loads_the_bundle() -> None:
    assert load(BUNDLE_TINY / "problem.toml") == load(BUNDLE_TINY)


def test_json_bundle_json_changes_nothing(tmp_path: Path) -> None:
    problem = load(TINY)
    json_roundtrip(problem, tmp_path)
    # and the JSON text written from the bundle equals the one written directly
    save(problem, tmp_path / "direct.json")
    save(load(tmp_path / "bundle"), tmp_path / "via_bundle.json")
    assert (tmp_path / "direct.json").read_text() == (tmp_path / "via_bundle.json").read_text()


def test_bundle_json_bundle_changes_nothing(tmp_path: Path) -> None:
    problem = load(BUNDLE_TINY)
    save(problem, tmp_path / "p.json")
    save(load(tmp_path / "p.json"), tmp_path / "b1")
    assert load(tmp_path / "b1") == problem
    save(load(tmp_path / "b1"), tmp_path / "p2.json")
    save(load(tmp_path / "p2.json"), tmp_path / "b2")
    for name in BUNDLE_FILES:
        assert (tmp_path / "b1" / name).read_text() == (tmp_path / "b2" / name).read_text()
    assert (tmp_path / "p.json").read_text() == (tmp_path / "p2.json").read_text()


def test_saved_bundle_layout(tmp_path: Path) -> None:
    save(load(TINY), tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == BUNDLE_FILES  # no temp files left
    header = (tmp_path / "out" / "volunteers.csv").read_text().splitlines()[0]
    assert header == (
        "id,community,org,lat,lon,skills,max_minutes,max_tasks_per_day,max_travel_km,"
        "preferred_services,history_minutes,history_capacity"
    )
    rows = (tmp_path / "out" / "volunteers.csv").read_text().splitlines()
    # None (default max_minutes) is an empty cell; lists are joined with ';'
    assert rows[1] == "v1,c1,county hospital,33.04,108.25,medical;care,,,,,0,0"
    toml = (tmp_path / "out" / "problem.toml").read_text()
    assert "[policy.service_tiers]" in toml and "[policy.weights]" in toml
    assert 'start = "2026-11-30T00:00:00+08:00"' in toml
    assert (tmp_path / "out" / "history.csv").read_text() == "task,volunteer,recipient,start,minutes\n"


def test_lenient_reading(tmp_path: Path) -> None:
    """BOM, CRLF line ends, blank and comma-only lines, spaces around list items."""
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE_TINY, folder)
    vol = folder / "volunteers.csv"
    text = vol.read_text().replace("meals;care", " meals ;  care ")
    vol.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() + b",,,,,,,,,,,\r\n\r\n")
    assert load(folder) == load(TINY)


def test_row_numbers_count_physical_lines(tmp_path: Path) -> None:
    """A quoted cell spanning lines and blank lines still give the right line."""
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE_TINY, folder)
    (folder / "communities.csv").write_text(
        'id,name,lat,lon\n\nc1,"Lao\ncheng",33.04,108.25\n\nc2,,95,\n'
    )
    with pytest.raises(ProblemError) as info:
        load(folder)
    (issue,) = info.value.issues
    assert (issue.row, issue.ident, issue.field) == (6, "c2", "lat")


def test_exact_floats_datetimes_and_text(tmp_path: Path) -> None:
    raw = json.loads(TINY.read_text())
    raw["name"] = 'Wëek 49, "draft"\nsecond line'
    raw["horizon"] = {"start": "2026-11-29T16:00:00Z", "end": "2026-12-02T00:00:00.250000+08:00",
                      "timezone": "UTC"}
    raw["communities"][0]["name"] = "老城, \"east\""
    raw["volunteers"][0]["lat"] = 33.123456789012345
    raw["volunteers"][0]["lon"] = 0.1 + 0.2
    raw["volunteers"][0]["max_travel_km"] = 1e-7
    raw["volunteers"][1]["org"] = "  padded org  "
    raw["volunteers"][0]["availability"][0] = ["2026-11-30T05:30:00+05:30", "2026-11-30T12:00:00.000001+08:00"]
    raw["policy"]["weights"] = {"fairness": 2.5e-3}
    raw["policy"]["service_tiers"] = {"gardening": 7}
    raw["policy"]["service_skills"] = {"gardening": ["green thumb", "tools"]}
    raw["tasks"][3]["service"] = "gardening"
    raw["tasks"][0]["tier"] = 2
    raw["tasks"][0]["required_skills"] = ["medical", "care"]
    raw["history"] = {"assignments": [
        {"task": "old1", "volunteer": "v1", "recipient": "r1", "start": "2026-11-20T09:00:00-03:00", "minutes": 45},
    ]}
    problem = Problem.model_validate(raw)
    validate_problem(problem)
    again = json_roundtrip(problem, tmp_path)
    assert again.volunteers[0].lon == 0.1 + 0.2
    assert problem_to_dict(again)["volunteers"][0]["availability"][0][0] == "2026-11-30T05:30:00+05:30"
    assert problem_to_dict(again)["horizon"]["start"] == "2026-11-29T16:00:00Z"
    assert "45" in (tmp_path / "bundle" / "history.csv").read_text()


def test_history_in_problem_toml_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE_TINY, folder)
    with (folder / "problem.toml").open("a") as handle:
        handle.write(
            '\n[[history.assignments]]\ntask = "old"\nvolunteer = "v1"\nrecipient = "r1"\n'
            'start = 2026-11-29T09:00:00+08:00\nminutes = 30\n'
        )
    problem = load(folder)
    assert [a.task for a in problem.history.assignments] == ["old"]
    # written back, it goes to history.csv
    save(problem, tmp_path / "out")
    assert load(tmp_path / "out") == problem
    assert "old,v1,r1," in (tmp_path / "out" / "history.csv").read_text()


def test_saving_over_an_old_bundle_leaves_no_stale_history(tmp_path: Path) -> None:
    raw = json.loads(TINY.read_text())
    raw["history"] = {"assignments": [
        {"task": "old", "volunteer": "v1", "recipient": "r1", "start": "2026-11-20T09:00:00+08:00", "minutes": 5},
    ]}
    save(Problem.model_validate(raw), tmp_path / "b")
    save(load(TINY), tmp_path / "b")
    assert load(tmp_path / "b") == load(TINY)


def test_list_items_that_cannot_be_cells_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    raw = json.loads(TINY.read_text())
    raw["volunteers"][0]["skills"] = ["first aid;cpr"]
    problem = Problem.model_validate(raw)
    with pytest.raises(ProblemError) as info:
        save_bundle(problem, tmp_path / "b")
    (issue,) = info.value.issues
    assert issue.file == str(tmp_path / "b" / "volunteers.csv")
    assert (issue.entity, issue.ident, issue.field) == ("volunteer", "v1", "skills")
    assert "';'" in issue.message
    assert not (tmp_path / "b").exists()


def test_bundle_texts_match_saved_files(tmp_path: Path) -> None:
    problem = load(TINY)
    save_bundle(problem, tmp_path)
    for name, text in bundle_texts(problem).items():
        assert (tmp_path / name).read_text() == text


def test_save_picks_format_by_extension(tmp_path: Path) -> None:
    problem = load(TINY)
    save(problem, tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text())["format"] == "assign/problem@1"
    save(problem, tmp_path / "folder")
    assert (tmp_path / "folder" / "problem.toml").is_file()


# --------------------------------------------------------------------------- properties

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(problems())
def test_random_problems_round_trip(problem: Problem) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        json_roundtrip(problem, Path(tmp))


# Text that stresses CSV and TOML quoting: commas, quotes, new lines, non-ASCII.
TEXT = st.text(
    alphabet=st.characters(codec="utf-8"), max_size=12
)
# Ids and list items: no ';' and no surrounding white space (see docs/formats.md).
IDENT = st.text(
    alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8
).filter(lambda s: ";" not in s and s == s.strip())
ORIGIN = datetime(2026, 11, 30, tzinfo=UTC)


@st.composite
def tricky_problems(draw: st.DrawFn) -> Problem:
    """Small valid problems whose values are hard to write exactly as tables."""

    def stamp(minute: int, fraction: bool = False) -> str:
        offset = timedelta(minutes=15 * draw(st.integers(-48, 56)))
        micro = draw(st.sampled_from([0, 0, 1, 250000])) if fraction else 0
        moment = ORIGIN + timedelta(minutes=minute, microseconds=micro)
        if draw(st.booleans()):
            return moment.isoformat().replace("+00:00", "Z")
        return moment.astimezone(timezone(offset)).isoformat()

    lat = st.floats(-90, 90)
    lon = st.floats(-180, 180)
    positive = st.floats(min_value=1e-300, allow_infinity=False)
    ids = draw(st.lists(IDENT, min_size=4, max_size=4, unique=True))
    comm, vol, rec, task = ids
    services = draw(st.lists(IDENT, min_size=1, max_size=2, unique=True))
    skills = st.lists(IDENT, max_size=3)
    horizon = 3 * 1440
    raw: dict[str, Any] = {
        "format": "assign/problem@1",
        "name": draw(TEXT),
        "horizon": {"start": stamp(0), "end": stamp(horizon),
                    "timezone": draw(st.sampled_from(["Asia/Shanghai", "UTC", "America/Sao_Paulo"]))},
        "policy": {
            "speed_kmh": draw(positive),
            "detour_factor": draw(st.floats(1, 1e6)),
            "service_tiers": {s: draw(st.integers(1, 9)) for s in services},
            "service_skills": {s: draw(skills) for s in services},
            "group_weights": {g: draw(st.integers(-5, 50)) for g in draw(st.lists(IDENT, max_size=2))},
            "weights": draw(st.dictionaries(st.sampled_from(["fairness", "equity", "stability"]), st.floats(-MAX_WEIGHT, MAX_WEIGHT))),
        },
        "communities": [{"id": comm, "name": draw(TEXT)}],
        "volunteers": [],
        "recipients": [],
        "tasks": [],
    }
    if draw(st.booleans()):
        raw["communities"][0].update(lat=draw(lat), lon=draw(lon))
    intervals = []
    for _ in range(draw(st.integers(0, 3))):
        s = draw(st.integers(0, horizon - 10))
        intervals.append([stamp(s, True), stamp(draw(st.integers(s + 1, horizon)), True)])
    volunteer: dict[str, Any] = {
        "id": vol, "community": comm, "org": draw(TEXT), "lat": draw(lat), "lon": draw(lon),
        "skills": draw(skills), "availability": intervals,
        "preferred_services": draw(st.lists(st.sampled_from(services), max_size=2)),
        "history_minutes": draw(st.integers(0, 10**6)),
        "history_capacity": draw(st.integers(0, 10**6)),
    }
    for key, strategy in (("max_minutes", st.integers(0, 10**6)),
                          ("max_tasks_per_day", st.integers(0, 9)),
                          ("max_travel_km", positive)):
        if draw(st.booleans()):
            volunteer[key] = draw(strategy)
    raw["volunteers"].append(volunteer)
    raw["recipients"].append({
        "id": rec, "community": comm, "lat": draw(lat), "lon": draw(lon),
        "groups": draw(st.lists(IDENT, max_size=2)),
        "preferred_volunteers": draw(st.lists(st.just(vol), max_size=1)),
        "excluded_volunteers": draw(st.lists(st.just(vol), max_size=1)),
        "missed_visits": draw(st.integers(0, 99)),
    })
    duration = draw(st.integers(1, 120))
    start = draw(st.integers(0, horizon - duration))
    end = draw(st.integers(start + duration, horizon))
    item: dict[str, Any] = {
        "id": task, "recipient": rec, "service": draw(st.sampled_from(services)),
        "window_start": stamp(start), "window_end": stamp(end), "duration_min": duration,
        "volunteers_needed": draw(st.integers(1, 3)),
        "required_skills": draw(skills),
        "pinned": draw(st.lists(st.just(vol), max_size=1)),
        "previous_volunteers": draw(st.lists(st.just(vol), max_size=1)),
    }
    if draw(st.booleans()):
        item["tier"] = draw(st.integers(1, 9))
    raw["tasks"].append(item)
    raw["history"] = {"assignments": [
        {"task": draw(IDENT), "volunteer": vol, "recipient": rec, "start": stamp(-draw(st.integers(1, 10**5)), True),
         "minutes": draw(st.integers(0, 999))}
        for _ in range(draw(st.integers(0, 2)))
    ]}
    problem = Problem.model_validate(raw)
    validate_problem(problem)
    return problem


@SETTINGS
@given(tricky_problems())
def test_tricky_problems_round_trip(problem: Problem) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        json_roundtrip(problem, Path(tmp))


def test_the_load_benchmark_times_each_run_in_a_fresh_process(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/load.py: one line of runs per problem and a table row with
    its task count and medians (the figures of benchmarks/HISTORY.md, stop 45)."""
    from tests.scripts import load_script

    bench = load_script("load")
    got = bench.run_once("tests/data/tiny.json", True)
    assert got["tasks"] == 4 and got["load"] >= 0.0 and got["compile"] is not None
    bench.main(["tests/data/tiny.json", "--repeat", "2", "--no-compile"])
    out = capsys.readouterr().out
    assert "tests/data/tiny.json: load " in out and "; compile" not in out
    assert "| tests/data/tiny.json | 4 |" in out and out.rstrip().endswith("| - |")
