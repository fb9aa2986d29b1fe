"""Malformed inputs (SPEC §3 "Bad input is rejected as a whole", §9, §10).

Every file or bundle folder under ``tests/data/bad/`` holds exactly one kind of
fault. Each case loads it through :func:`assign.io.load` and checks the one
located issue: file, entity, row, id, field and a fragment of the message.
Rows are 0-based array indexes for JSON and 1-based CSV lines (header = 1) for
bundles. See ``tests/data/bad/README.md`` for the list.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from assign.errors import InputIssue, ProblemError
from assign.io import load

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"


class Case(NamedTuple):
    name: str  # file stem under tests/data/bad (a .json file or a bundle folder)
    fragment: str  # part of the message
    file: str  # base name of the file the issue names
    entity: str
    row: int | None
    ident: str | None
    field: str | None


CASES = [
    # --- identities and references
    Case("duplicate_id", "duplicate community id 'c1'", "duplicate_id.json", "community", 2, "c1", "id"),
    Case("dangling_task_recipient", "unknown recipient 'r9'", "dangling_task_recipient.json", "task", 1, "t2", "recipient"),
    Case("dangling_volunteer_community", "unknown community 'c9'", "volunteers.csv", "volunteer", 5, "v3", "community"),
    Case("dangling_excluded_volunteer", "unknown volunteer 'v9'", "dangling_excluded_volunteer.json", "recipient", 1, "r2", "excluded_volunteers"),
    Case("dangling_pinned", "unknown volunteer 'v7'", "dangling_pinned.json", "task", 3, "t4", "pinned"),
    Case("availability_unknown_volunteer", "unknown volunteer 'v9'", "availability.csv", "availability", 4, "v9", "volunteer"),
    Case("history_unknown_volunteer", "unknown volunteer 'v9'", "history.csv", "history assignment", 3, "t0b", "volunteer"),
    Case("id_too_long", "at most 64 characters", "id_too_long.json", "task", 0, "t" * 65, "id"),
    # --- time
    Case("window_shorter_than_duration", "shorter than duration_min 240", "window_shorter_than_duration.json", "task", 2, "t3", "duration_min"),
    # (it was reported on duration_min as a window of negative minutes)
    Case("window_end_before_start", "the window ends before it starts", "window_end_before_start.json", "task", 0, "t1", "window_end"),
    Case("task_outside_horizon", "lies outside the horizon", "tasks.csv", "task", 5, "t4", "window_end"),
    # (pydantic's "a valid datetime or date" offered a date; hour 25 was "unexpected extra characters")
    Case("malformed_datetime", "'2026-11-31T09:00:00+08:00' is not an ISO 8601 datetime (day is out of range for month)", "tasks.csv", "task", 2, "t1", "window_start"),
    Case("hour_out_of_range", "is not an ISO 8601 datetime (hour must be in 0..23)", "hour_out_of_range.json", "task", 1, "t2", "window_start"),
    Case("date_only_datetime", "date without a time", "availability.csv", "availability", 3, "v1", "start"),
    # (JSON: the interval and its end named, not only 'availability')
    Case("availability_date_only_json", "date without a time", "availability_date_only_json.json", "volunteer", 1, "v2", "availability[0].end"),
    Case("datetime_without_offset", "no UTC offset", "datetime_without_offset.json", "horizon", None, None, "horizon.start"),
    # (TOML's own dates and local datetimes were quoted as datetime.date(2026, 11, 30))
    Case("toml_local_date", "2026-11-30 is a date without a time", "problem.toml", "horizon", None, None, "horizon.start"),
    Case("toml_local_datetime", "2026-11-30T00:00:00 has no UTC offset", "problem.toml", "horizon", None, None, "horizon.start"),
    Case("number_as_datetime", "expected an ISO 8601 datetime", "number_as_datetime.json", "task", 1, "t2", "window_start"),
    # (named by the volunteer before the audit of stop 47; the model names the past task)
    Case("history_unparsable_minutes", "expected a whole number, got 'x'", "history.csv", "history assignment", 2, "t0", "minutes"),
    # (JSON: it was "history, field 'history.assignments.0.minutes'", no row or id)
    Case("history_negative_minutes", "greater than or equal to 0", "history_negative_minutes.json", "history assignment", 0, "old1", "minutes"),
    Case("history_malformed_datetime", "'yesterday' is not an ISO 8601 datetime", "history.csv", "history assignment", 2, "t0", "start"),
    Case("availability_end_before_start", "ends before it starts", "availability.csv", "availability", 5, "v1", "end"),
    Case("horizon_end_before_start", "end must be after its start", "horizon_end_before_start.json", "horizon", None, None, "horizon.end"),
    Case("unknown_timezone", "unknown IANA timezone 'Asia/Atlantis'", "problem.toml", "horizon", None, None, "horizon.timezone"),
    # (a folder of the tz database: it raised IsADirectoryError, audit of stop 47)
    Case("timezone_folder", "unknown IANA timezone 'America'", "timezone_folder.json", "horizon", None, None, "horizon.timezone"),
    Case("long_horizon", "longer than 366 days", "long_horizon.json", "horizon", None, None, "horizon.end"),
    # --- numbers
    Case("nan_coordinate", "finite number", "nan_coordinate.json", "volunteer", 1, "v2", "lat"),
    Case("nan_coordinate_csv", "finite number", "recipients.csv", "recipient", 2, "r1", "lat"),
    Case("latitude_out_of_range", "less than or equal to 90", "latitude_out_of_range.json", "recipient", 0, "r1", "lat"),
    Case("negative_duration", "greater than 0", "negative_duration.json", "task", 0, "t1", "duration_min"),
    Case("negative_max_minutes", "greater than or equal to 0", "volunteers.csv", "volunteer", 4, "v2", "max_minutes"),
    Case("boolean_number", "boolean is not a number", "boolean_number.json", "task", 0, "t1", "duration_min"),
    Case("text_number", "expected a number, got the text '30'", "text_number.json", "task", 0, "t1", "duration_min"),
    Case("text_boolean", "expected true or false, got 'yes'", "text_boolean.json", "policy", None, None, "policy.count_travel_in_capacity"),
    Case("number_as_boolean", "expected true or false, got 1", "number_as_boolean.json", "policy", None, None, "policy.count_travel_in_capacity"),
    Case("unparsable_number", "expected a whole number, got 'abc'", "tasks.csv", "task", 3, "t2", "duration_min"),
    # (Python's int() reads "6_0" as 60; a spreadsheet does not)
    Case("number_with_underscore", "expected a whole number, got '6_0'", "tasks.csv", "task", 3, "t2", "duration_min"),
    Case("fractional_integer", "expected a whole number, got 1.5", "tasks.csv", "task", 4, "t3", "volunteers_needed"),
    # (beyond 64 bits it raised OverflowError; beyond 2^30 the exact model's squares overflow)
    Case("huge_integer", "whole numbers are at most 1,073,741,823", "huge_integer.json", "volunteer", 1, "v2", "max_minutes"),
    Case("huge_weight", "weight fairness is larger than 1e+09", "huge_weight.json", "policy", None, None, "policy.weights"),
    # (a tier of 10^8 raised MemoryError: the score holds one U per tier up to the largest)
    Case("huge_tier", "less than or equal to 1000", "huge_tier.json", "task", 0, "t1", "tier"),
    # --- policy and structure
    # (found only when compiling, with no file, row or field, before the audit of stop 47)
    Case("too_many_skills", "65th distinct skill name", "too_many_skills.json", "volunteer", 2, "v3", "skills"),
    Case("unknown_service_without_tier", "unknown service 'gardening' and no tier", "unknown_service_without_tier.json", "task", 3, "t4", "service"),
    Case("unknown_weights_term", "unknown soft-score weight speed", "unknown_weights_term.json", "policy", None, None, "policy.weights"),
    Case("missing_required_field", "required field is missing", "missing_required_field.json", "task", 2, "t3", "duration_min"),
    # (they were silently replaced by the CSV tables')
    Case("entities_in_toml", "the tasks of a bundle belong in tasks.csv", "problem.toml", "problem", None, None, "tasks"),
    Case("wrong_format_tag", "wrong format tag 'assign/problem@2'", "wrong_format_tag.json", "problem", None, None, "format"),
    # --- file level: JSON
    Case("invalid_utf8", "invalid UTF-8", "invalid_utf8.json", "problem", None, None, None),
    Case("truncated", "invalid JSON", "truncated.json", "problem", 80, None, None),
    # --- file level: bundle
    Case("bad_header_unknown_column", "unknown column 'population'", "communities.csv", "community", 1, None, "population"),
    Case("bad_header_missing_column", "missing column 'duration_min'", "tasks.csv", "task", 1, None, "duration_min"),
    Case("bad_header_duplicate_column", "duplicate column 'lat'", "recipients.csv", "recipient", 1, None, "lat"),
    Case("invalid_utf8_csv", "invalid UTF-8", "volunteers.csv", "volunteer", 4, None, None),
    Case("empty_list_item", "empty item in list 'medical;;care'", "volunteers.csv", "volunteer", 2, "v1", "skills"),
    Case("wrong_cell_count", "expected 8 cells", "recipients.csv", "recipient", 3, "r2", None),
    Case("missing_file", "file is missing", "tasks.csv", "task", None, None, None),
    Case("invalid_toml", "invalid TOML", "problem.toml", "problem", 4, None, None),
]


def case_path(case: Case) -> Path:
    folder = BAD / case.name
    return folder if folder.is_dir() else BAD / f"{case.name}.json"


def load_issues(path: Path) -> list[InputIssue]:
    with pytest.raises(ProblemError) as info:
        load(path)
    return info.value.issues


def test_every_bad_input_has_a_case() -> None:
    on_disk = {p.stem if p.suffix == ".json" else p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert on_disk == {case.name for case in CASES}
    assert len(CASES) >= 24


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_rejected_with_a_located_issue(case: Case) -> None:
    path = case_path(case)
    assert path.exists(), path
    issues = load_issues(path)
    assert len(issues) == 1, issues
    issue = issues[0]
    assert case.fragment in issue.message
    assert Path(issue.file).name == case.file
    # the file is named with its folder, so a user finds it
    assert Path(issue.file).parent == (path if path.is_dir() else path.parent)
    assert issue.entity == case.entity
    assert issue.row == case.row
    assert issue.ident == case.ident
    assert issue.field == case.field
    # the printed message carries all of it
    text = str(issue)
    assert case.file in text and case.fragment in text
    if case.field:
        assert repr(case.field) in text


def test_error_message_reads_well() -> None:
    issue = load_issues(BAD / "dangling_volunteer_community")[0]
    assert str(issue) == (
        f"{BAD / 'dangling_volunteer_community' / 'volunteers.csv'}: volunteer row 5 "
        "(id 'v3'), field 'community': unknown community 'c9'"
    )


def test_problem_toml_path_is_a_bundle_too() -> None:
    issues = load_issues(BAD / "unknown_timezone" / "problem.toml")
    assert issues[0].field == "horizon.timezone"


def test_every_issue_of_a_bundle_is_reported(tmp_path: Path) -> None:
    """Problems in several files are reported together, not one at a time."""
    folder = tmp_path / "b"
    shutil.copytree(DATA / "bundle_tiny", folder)
    vol = folder / "volunteers.csv"
    vol.write_text(vol.read_text().replace("33.050", "95.0").replace(",120,", ",-1,"))
    rec = folder / "recipients.csv"
    rec.write_text(rec.read_text().replace("r2,c2,33.048", "r2,c2,abc"))
    issues = load_issues(folder)
    found = {(Path(i.file).name, i.row, i.field) for i in issues}
    assert found == {
        ("volunteers.csv", 5, "lat"),
        ("volunteers.csv", 4, "max_minutes"),
        ("recipients.csv", 3, "lat"),
    }
    # the unparsable number is reported once, in our words, not again by the model
    (rec_issue,) = [i for i in issues if i.file.endswith("recipients.csv")]
    assert "expected a number, got 'abc'" in rec_issue.message


def test_structural_issues_of_several_files_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    shutil.copytree(DATA / "bundle_tiny", folder)
    (folder / "communities.csv").unlink()
    (folder / "tasks.csv").write_text("id,recipient\n")
    issues = load_issues(folder)
    names = sorted((Path(i.file).name, i.field or "") for i in issues)
    assert ("communities.csv", "") in names
    assert ("tasks.csv", "service") in names and ("tasks.csv", "duration_min") in names


def test_empty_csv_needs_a_header(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    shutil.copytree(DATA / "bundle_tiny", folder)
    (folder / "communities.csv").write_text("\n\n")
    (issue,) = load_issues(folder)
    assert "header row" in issue.message and issue.file.endswith("communities.csv")


def test_history_in_both_places_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    shutil.copytree(DATA / "bundle_tiny", folder)
    (folder / "history.csv").write_text(
        "task,volunteer,recipient,start,minutes\nt0,v1,r1,2026-11-29T09:00:00+08:00,30\n"
    )
    with (folder / "problem.toml").open("a") as handle:
        handle.write(
            '\n[[history.assignments]]\ntask = "t0"\nvolunteer = "v1"\nrecipient = "r1"\n'
            'start = "2026-11-29T09:00:00+08:00"\nminutes = 30\n'
        )
    (issue,) = load_issues(folder)
    assert issue.file.endswith("problem.toml") and issue.field == "history"
    assert "both" in issue.message


def test_empty_list_item_at_an_end(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    shutil.copytree(DATA / "bundle_tiny", folder)
    tasks = folder / "tasks.csv"
    tasks.write_text(tasks.read_text().replace(",v3,", ",v3;,"))
    (issue,) = load_issues(folder)
    assert (issue.row, issue.ident, issue.field) == (5, "t4", "pinned")
    assert "empty item" in issue.message


def test_infinity_in_json_is_located(tmp_path: Path) -> None:
    text = (DATA / "tiny.json").read_text().replace('"max_travel_km": 5.0', '"max_travel_km": Infinity')
    path = tmp_path / "inf.json"
    path.write_text(text)
    (issue,) = load_issues(path)
    assert (issue.entity, issue.field) == ("policy", "policy.max_travel_km")
    assert "finite" in issue.message


def test_scenario_file_given_as_a_problem_says_how_to_make_one() -> None:
    from assign.synth import SCENARIOS_DIR

    path = SCENARIOS_DIR / "laocheng.toml"
    (issue,) = load_issues(path)
    assert (issue.file, issue.entity, issue.row, issue.field) == (str(path), "problem", None, None)
    assert "scenario" in issue.message and "assign generate" in issue.message


def test_other_toml_file_given_as_a_problem_is_named(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("a = 1\n")
    (issue,) = load_issues(path)
    assert issue.file == str(path) and issue.entity == "problem"
    assert "not a problem" in issue.message and "scenario" not in issue.message


# --------------------------------------------------------------------------- CLI contract


def run_cli(args: list[str]) -> int:
    cli = pytest.importorskip("assign.cli")
    try:
        code = cli.main(args)
    except SystemExit as exc:  # argparse-style exits
        code = exc.code
    return 0 if code is None else int(code)


CLI_CASES = ["dangling_task_recipient", "nan_coordinate_csv", "missing_file", "truncated"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_solve_rejects_bad_input_and_writes_nothing(name: str, tmp_path: Path) -> None:
    src = BAD / name if (BAD / name).is_dir() else BAD / f"{name}.json"
    out = tmp_path / "out"
    assert run_cli(["solve", str(src), "--out", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize("name", CLI_CASES)
@pytest.mark.parametrize("target", ["converted.json", "converted_bundle"])
def test_cli_convert_rejects_bad_input_and_writes_nothing(name: str, target: str, tmp_path: Path) -> None:
    src = BAD / name if (BAD / name).is_dir() else BAD / f"{name}.json"
    dst = tmp_path / target
    assert run_cli(["convert", str(src), str(dst)]) == 2
    assert not dst.exists()


def test_an_empty_availability_interval_is_accepted() -> None:
    # SPEC §3 does not forbid [start, end] with end == start (the second
    # audit: it was refused as "ends before it starts"). It holds no visit
    # and joins nothing apart that touching intervals would not join anyway.
    import assign
    from assign.compile import compile_problem

    from .test_cpsat import _problem

    p = _problem(
        [{"id": "v1", "availability": [(480, 540), (540, 540), (540, 600)]}, {"id": "v2", "availability": [(540, 540)]}],
        [{"id": "t1", "window_start": 480, "window_end": 600, "duration_min": 120}],
    )
    c = compile_problem(p)
    assert c.v_max_minutes.tolist() == [120, 0]
    s = assign.solve(p, strategy="greedy", seed=0, workers=1)
    assert [(a.task, a.volunteer) for a in s.assignments] == [("t1", "v1")]
    assert assign.check(p, s).valid
