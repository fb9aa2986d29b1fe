"""The ``assign`` command line: solve writes three files and a summary, check
exits 0 / 1, convert round-trips, generate delegates, bad input exits 2 and
writes nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import assign
from assign.cli import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_OK, main

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.json"
ROOT = Path(__file__).parent.parent


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``assign solve tests/data/tiny.json --out DIR``: the folder and stdout."""
    out = tmp_path_factory.mktemp("solve") / "out"
    code, stdout, _ = run("solve", str(TINY), "--out", str(out))
    assert code == EXIT_OK
    return out, stdout


def test_solve_writes_three_files(solved: tuple[Path, str]) -> None:
    out, _ = solved
    assert sorted(p.name for p in out.iterdir()) == ["assignments.csv", "schedule.json", "unassigned.csv"]
    schedule = json.loads((out / "schedule.json").read_text())
    assert schedule["format"] == "assign/schedule@1"
    rows = list(csv.DictReader((out / "assignments.csv").open()))
    assert list(rows[0]) == ["task", "volunteer", "start", "end", "travel_km"]
    assert {r["task"] for r in rows} == {"t1", "t2", "t4"}
    missing = list(csv.DictReader((out / "unassigned.csv").open()))
    assert [(r["task"], r["reason"]) for r in missing] == [("t3", "team_too_small")]
    assert missing[0]["detail"]


def test_solve_summary(solved: tuple[Path, str]) -> None:
    _, stdout = solved
    for fragment in (
        "problem tiny", "3 volunteers", "4 tasks", "U1=0", "tier 1: 1/1 tasks",
        "utilisation", "Gini", "idle", "team_too_small 1", "bound:", "gap", "strategy auto",
        "proven optimal: tiers 1-4 and the soft part",
    ):
        assert fragment in stdout, fragment


def test_solve_verbose_prints_the_steps_on_stderr(tmp_path: Path) -> None:
    """``--verbose``: the preparation and each of auto's steps (with the
    score so far) on stderr, the summary unchanged on stdout; without it,
    nothing on stderr, and the logger is left as it was."""
    import logging

    code, quiet_out, quiet_err = run("solve", str(TINY), "--out", str(tmp_path / "a"))
    assert code == EXIT_OK and quiet_err == ""
    code, out, err = run("solve", str(TINY), "--out", str(tmp_path / "b"), "--verbose")
    assert code == EXIT_OK
    lines = err.splitlines()
    assert lines[0].startswith("prepared in ") and "4 candidate pairs; auto gets" in lines[0]
    steps = [line.split()[3] for line in lines if line.startswith("auto ")]
    assert steps[:2] == ["components", "greedy"] and steps[-1] == "done"
    assert any(line.startswith("auto ") and line.endswith("U 0 / 14 / 0 / 0, soft 505.0") for line in lines)
    # the bound so far, once the components have one: at the end, the one reported
    done = next(line for line in lines if line.startswith("auto ") and line.split()[3] == "done")
    assert done.endswith("U 0 / 14 / 0 / 0, soft 505.0; bound U 0 / 14 / 0 / 0")
    assert lines[-1].startswith("solved, filled and explained in ")
    # (the summary's seconds and the folder written differ)
    def same(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith(("status ", "wrote "))]

    assert same(out) == same(quiet_out) and "bound:" in out
    assert not logging.getLogger("assign").handlers and logging.getLogger("assign").level == logging.NOTSET
    code, _, err = run("solve", str(TINY), "--out", str(tmp_path / "c"))
    assert err == ""


def test_solve_verbose_with_cpsat_prints_its_stages(tmp_path: Path) -> None:
    """``--strategy cpsat --verbose``: the greedy hint, the pins' stage, the
    model's size, each tier's and the soft stage with status, value and
    bound, then ``done`` with the score, in that order."""
    code, _, err = run("solve", str(TINY), "--out", str(tmp_path / "a"), "--strategy", "cpsat", "--workers", "1", "--verbose")
    assert code == EXIT_OK
    steps = {line.split()[3]: line for line in err.splitlines() if line.startswith("cpsat ")}
    assert list(steps) == ["greedy", "pins", "model", "U1", "U2", "U3", "U4", "soft", "done"]
    assert steps["model"].endswith("3 candidate pairs, 0 pairs that could clash, 13 constraints")
    assert steps["U2"].endswith("TRIVIAL: value 14, bound 14 (0.00 s)")
    assert "OPTIMAL: value 504.967, bound 504.967" in steps["soft"]
    assert steps["done"].endswith("U 0 / 14 / 0 / 0, soft 505.0, proven optimal")


def test_check_valid_schedule_exits_0(solved: tuple[Path, str]) -> None:
    out, _ = solved
    code, stdout, _ = run("check", str(TINY), str(out / "schedule.json"))
    assert code == EXIT_OK
    assert "valid" in stdout and "U2=14" in stdout


def test_check_tampered_schedule_exits_1_with_rule_number(solved: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = solved
    schedule = json.loads((out / "schedule.json").read_text())
    first = schedule["assignments"][0]
    first["start"] = "2026-11-30T03:00:00+08:00"  # before the window, v1 not available
    first["end"] = "2026-11-30T03:30:00+08:00"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(schedule))
    code, stdout, _ = run("check", str(TINY), str(tampered))
    assert code == EXIT_INVALID
    assert "rule 3 (window)" in stdout and "rule 5 (availability)" in stdout


def test_convert_round_trip(tmp_path: Path) -> None:
    bundle, back = tmp_path / "bundle", tmp_path / "back.json"
    assert run("convert", str(TINY), str(bundle))[0] == EXIT_OK
    assert (bundle / "problem.toml").exists()
    assert run("convert", str(bundle), str(back))[0] == EXIT_OK
    assert assign.load(back) == assign.load(TINY)


def test_solve_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run("solve", str(DATA / "bundle_tiny"), "--out", str(out), "--seed", "2")
    assert code == EXIT_OK and (out / "schedule.json").exists()
    assert json.loads((out / "schedule.json").read_text())["solver"]["seed"] == 2


@pytest.mark.parametrize("bad", ["dangling_pinned.json", "truncated.json", "task_outside_horizon"])
def test_bad_input_exits_2_and_writes_nothing(bad: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run("solve", str(DATA / "bad" / bad), "--out", str(out))
    assert code == EXIT_BAD_INPUT
    assert "rejected" in stderr and str(DATA / "bad" / bad) in stderr
    assert not out.exists()


def test_a_problem_too_large_for_the_memory_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assign import candidates

    monkeypatch.setattr(candidates, "available_memory", lambda: 1)
    out = tmp_path / "out"
    code, _, stderr = run("solve", str(TINY), "--out", str(out))
    assert code == EXIT_BAD_INPUT
    assert "error: the problem is too large for this machine's memory" in stderr and "county" in stderr
    assert not out.exists()


@pytest.mark.parametrize("case", ["file_in_place", "file_in_path", "output_name_is_a_folder"])
def test_an_unusable_out_exits_2_before_solving(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``--out`` that cannot take the three files is refused before the
    solve starts, and nothing is written. (A solve used to run whole, then
    fail with a traceback, after writing schedule.json and assignments.csv
    beside a folder named unassigned.csv: the audit of stop 47.)"""
    import importlib

    solve_module = importlib.import_module("assign.solve")  # (``assign.solve`` is the function)

    def no_solve(*_: object, **__: object) -> None:
        raise AssertionError("the solve started")

    monkeypatch.setattr(solve_module, "solve", no_solve)
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    out = {"file_in_place": blocker, "file_in_path": blocker / "sub", "output_name_is_a_folder": tmp_path / "out"}[case]
    if case == "output_name_is_a_folder":
        (out / "unassigned.csv").mkdir(parents=True)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    code, _, stderr = run("solve", str(TINY), "--out", str(out))
    assert code == EXIT_BAD_INPUT
    assert "error: --out" in stderr and "nothing was written" in stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert blocker.read_text() == "keep me"


def test_convert_to_an_unusable_destination_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    code, _, stderr = run("convert", str(TINY), str(blocker))  # a bundle folder where a file is
    assert code == EXIT_BAD_INPUT and "DST" in stderr and "not a folder" in stderr
    code, _, stderr = run("convert", str(TINY), str(blocker / "p.json"))
    assert code == EXIT_BAD_INPUT and "not a folder" in stderr
    assert blocker.read_text() == "keep me"


def test_the_three_outputs_are_on_disk_before_the_first_replaces_its_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old set of outputs stays whole while the new one is written: every
    new file is written (to a temporary file) before the first rename. (Each
    file used to be renamed as soon as written, so a run killed in between
    left a new schedule.json beside the old CSVs: the audit of stop 47.)"""
    import os

    out = tmp_path / "out"
    code, _, _ = run("solve", str(TINY), "--out", str(out))
    assert code == EXIT_OK
    staged: list[list[str]] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        staged.append(sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code, _, _ = run("solve", str(TINY), "--out", str(out), "--seed", "1")
    assert code == EXIT_OK
    assert len(staged) == 3
    assert len(staged[0]) == 3 and {name.split(".")[1] for name in staged[0]} == {"schedule", "assignments", "unassigned"}
    assert sorted(p.name for p in out.iterdir()) == ["assignments.csv", "schedule.json", "unassigned.csv"]


def test_a_valid_problem_that_a_bundle_cannot_hold_is_not_called_rejected(tmp_path: Path) -> None:
    """A skill with surrounding white space is a valid JSON string but no CSV
    cell holds it: the headline said "the problem was rejected"."""
    raw = json.loads(TINY.read_text())
    raw["volunteers"][0]["skills"] = [" care"]
    src = tmp_path / "p.json"
    src.write_text(json.dumps(raw))
    code, _, stderr = run("convert", str(src), str(tmp_path / "bundle"))
    assert code == EXIT_BAD_INPUT and not (tmp_path / "bundle").exists()
    assert "error: the problem cannot be written as a table bundle (1 issue(s))" in stderr
    assert "field 'skills': cannot be written as a table cell" in stderr


@pytest.mark.parametrize(
    "option",
    [["--k", "0"], ["--k", "-3"], ["--time-limit", "0"], ["--time-limit", "-1"], ["--time-limit", "nan"],
     ["--workers", "0"]],
)
def test_solve_refuses_option_values_out_of_range(
    option: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """They were accepted: --k 0 gave the strategy no pair at all, a negative
    time limit was read as none left (the nightly job's config refuses both)."""
    code, _, _ = run("solve", str(TINY), "--out", str(tmp_path / "out"), *option)
    assert code == EXIT_BAD_INPUT and f"argument {option[0]}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_solve_in_python_refuses_a_k_or_time_limit_out_of_range() -> None:
    from assign.io import load

    problem = load(TINY)
    for kwargs in ({"k": 0}, {"time_limit": -1.0}, {"time_limit": float("inf")}):
        with pytest.raises(ValueError):
            assign.solve(problem, **kwargs)  # type: ignore[arg-type]


def test_missing_problem_file_exits_2(tmp_path: Path) -> None:
    code, _, stderr = run("solve", str(tmp_path / "nope.json"), "--out", str(tmp_path / "out"))
    assert code == EXIT_BAD_INPUT and "cannot read" in stderr
    assert not (tmp_path / "out").exists()


def test_unknown_strategy_exits_2(tmp_path: Path) -> None:
    code, _, stderr = run("solve", str(TINY), "--out", str(tmp_path / "out"), "--strategy", "magic")
    assert code == EXIT_BAD_INPUT and "unknown strategy" in stderr
    assert not (tmp_path / "out").exists()


def test_unreadable_schedule_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "s.json"
    broken.write_text("{")
    code, _, stderr = run("check", str(TINY), str(broken))
    assert code == EXIT_BAD_INPUT and "error" in stderr


def test_a_schedule_without_its_format_tag_exits_2(solved: tuple[Path, str], tmp_path: Path) -> None:
    """As a problem file without its tag is refused, so is a schedule file (it
    was checked as if tagged: the audit of stop 47)."""
    out, _ = solved
    raw = json.loads((out / "schedule.json").read_text())
    del raw["format"]
    untagged = tmp_path / "s.json"
    untagged.write_text(json.dumps(raw))
    code, _, stderr = run("check", str(TINY), str(untagged))
    assert code == EXIT_BAD_INPUT and "field format: required field is missing" in stderr


def test_a_malformed_start_in_a_schedule_names_the_text_and_the_form(solved: tuple[Path, str], tmp_path: Path) -> None:
    """pydantic's "a valid datetime or date, unexpected extra characters"
    offered a date, which SPEC §2 does not allow, and named no value."""
    out, _ = solved
    raw = json.loads((out / "schedule.json").read_text())
    raw["assignments"][0]["start"] = "2026-11-30T25:00:00+08:00"
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps(raw))
    code, _, stderr = run("check", str(TINY), str(bad))
    assert code == EXIT_BAD_INPUT
    assert "field assignments.0.start: '2026-11-30T25:00:00+08:00' is not an ISO 8601 datetime (hour must be in 0..23)" in stderr


def test_a_start_between_two_whole_minutes_is_refused_not_floored(solved: tuple[Path, str], tmp_path: Path) -> None:
    """It was floored: 59 seconds late passed as on time."""
    out, _ = solved
    raw = json.loads((out / "schedule.json").read_text())
    first = raw["assignments"][0]
    first["start"] = first["start"].replace(":00+", ":59+", 1)
    first.pop("end", None)
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps(raw))
    for command in ("check", "explain"):
        code, _, stderr = run(command, str(TINY), str(bad))
        assert code == EXIT_BAD_INPUT and "is not on a whole minute" in stderr, (command, stderr)


def test_csv_datetimes_are_written_as_in_schedule_json(tmp_path: Path) -> None:
    """A zero offset is ``Z`` in both files (the CSV wrote ``+00:00``: the
    audit of stop 47); other offsets as they are."""
    utc = tmp_path / "utc.json"
    utc.write_text(TINY.read_text().replace("+08:00", "+00:00"))
    for problem in (utc, TINY):
        out = tmp_path / f"out-{problem.stem}"
        assert run("solve", str(problem), "--out", str(out))[0] == EXIT_OK
        in_json = {(a["task"], a["start"], a["end"]) for a in json.loads((out / "schedule.json").read_text())["assignments"]}
        rows = csv.DictReader((out / "assignments.csv").open())
        assert {(r["task"], r["start"], r["end"]) for r in rows} == in_json
        assert all(s.endswith("Z" if problem == utc else "+08:00") for _, s, _ in in_json)


def test_usage_and_help() -> None:
    assert run()[0] == 2
    assert run("solve")[0] == 2  # missing arguments


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "exit codes" in text and "  2  bad input" in text


def test_generate_delegates_to_synth(tmp_path: Path) -> None:
    out = tmp_path / "laocheng"
    code, _, _ = run("generate", "laocheng", "--seed", "1", "--out", str(out))
    assert code == EXIT_OK and (out / "problem.toml").exists()
    assert len(assign.load(out).volunteers) == 266


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assign", "check", str(TINY), str(tmp_path / "missing.json")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT


def test_tier_values_write_long_runs_once() -> None:
    """A problem whose largest tier is 1,000 printed a thousand U's."""
    from assign.cli import _tier_values

    assert _tier_values([0, 14, 0, 0]) == "U1=0, U2=14, U3=0, U4=0"
    assert _tier_values([0, 14] + [0] * 998) == "U1=0, U2=14, U3-U1000=0"
    assert _tier_values([5, 5, 5, 5, 1]) == "U1-U4=5, U5=1"
    assert _tier_values([]) == "(no tasks)"


def test_summary_names_the_proven_tiers() -> None:
    """The summary says which most urgent tiers meet their bound."""
    from assign.cli import summary
    from assign.io import load
    from assign.model import Bound, Score
    from assign.solve import solve

    problem = load(TINY)
    schedule = solve(problem, time_limit=5, seed=0)
    terms = dict(schedule.score.terms)
    partial = schedule.model_copy(
        update={
            "score": Score(uncovered=(0, 20, 3, 0), soft=schedule.score.soft, terms=terms),
            "bound": Bound(uncovered=(0, 14, 0, 0), soft=0.0),
            "status": "feasible",
        }
    )
    assert "proven optimal: tier 1\n" in summary(problem, partial) + "\n"
    # tiers 2 and 3 are open: (20 - 14) / 20 and (3 - 0) / 3; tier 4 meets its bound
    assert "open tiers (uncovered weight vs bound, share not proven): U2 20 vs 14 (30.0%), U3 3 vs 0 (100.0%)\n" in (
        summary(problem, partial) + "\n"
    )
    none = partial.model_copy(update={"bound": Bound(uncovered=(0, 14, 0, 0), soft=0.0),
                                      "score": Score(uncovered=(1, 20, 3, 0), soft=0.0, terms=terms)})
    assert "proven optimal: no tier" in summary(problem, none)
