"""The nightly job killed with SIGKILL at any point (docs/batch.md, "Crash safety").

Each test runs ``python -m assign.batch`` in a subprocess and kills it: at named
points of the run (``ASSIGN_BATCH_KILL_AT``, a seam that makes the process
SIGKILL itself) and after random delays. After each kill:

* every visible file in the date's folder is whole: byte-identical to the file
  an uninterrupted run writes (a half-written file only ever exists under a
  hidden temporary name);
* a rerun exits 0 and leaves exactly the files of an uninterrupted run;
* the ledger is consistent: one run for the key, ``finished`` and ``current``,
  its assignment and uncovered rows matching schedule.json.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assign.batch.ledger import FINISHED
from assign.io import save
from assign.model import Problem
from tests.test_batch import (
    ROOT,
    folder_bytes,
    ledger_counts,
    make_config,
    runs,
    small_county,
    write_config,
)

DATE = "2026-11-30"
POINTS = ["begun", "solved", "saved", "outputs:1", "outputs:4", "written", "finished"]


@pytest.fixture(scope="module")
def crash_county() -> Problem:
    """A small county (module-scoped)."""
    return small_county(seed=5, volunteers=40, recipients=50, tasks=350)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, crash_county: Problem) -> dict[str, bytes]:
    """The files of an uninterrupted run."""
    base = tmp_path_factory.mktemp("reference")
    site = prepare(base, crash_county)
    proc = job(site)
    assert proc.returncode == 0, proc.stderr
    return folder_bytes(site / "out" / DATE)


def prepare(base: Path, county: Problem) -> Path:
    save(county, base / "input")
    write_config(base, make_config(base))
    return base


def env(kill_at: str | None = None) -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(ROOT)}
    out.pop("ASSIGN_BATCH_KILL_AT", None)
    if kill_at:
        out["ASSIGN_BATCH_KILL_AT"] = kill_at
    return out


def job(site: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assign.batch", "--config", "nightly.toml", "--date", DATE],
        cwd=site, env=env(kill_at), capture_output=True, text=True, timeout=300,
    )


def assert_no_torn_files(site: Path, reference: dict[str, bytes]) -> None:
    folder = site / "out" / DATE
    if not folder.exists():
        return
    for name, data in folder_bytes(folder).items():
        assert name in reference, f"unexpected file {name}"
        assert data == reference[name], f"{name} is not whole"


def assert_consistent(site: Path, reference: dict[str, bytes]) -> None:
    folder = site / "out" / DATE
    assert folder_bytes(folder) == reference
    assert not [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    config = make_config(site)
    (row,) = runs(config)
    assert row["status"] == FINISHED and row["current"]
    manifest = json.loads(reference["manifest.json"])
    assert row["run_key"] == manifest["run_key"]
    schedule = json.loads(reference["schedule.json"])
    counts = ledger_counts(config)
    assert counts["runs"] == 1
    assert counts["assignments"] == len(schedule["assignments"]) == row["assignments"]
    assert counts["uncovered"] == len(schedule["unassigned"]) == row["uncovered"]


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_a_point_then_rerun(point: str, tmp_path: Path, crash_county: Problem,
                                      reference: dict[str, bytes]) -> None:
    site = prepare(tmp_path, crash_county)
    proc = job(site, kill_at=point)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])
    assert_no_torn_files(site, reference)
    again = job(site)
    assert again.returncode == 0, again.stderr
    assert_consistent(site, reference)
    if point == POINTS[-1]:  # and once more: nothing changes
        counts = ledger_counts(make_config(site))
        assert job(site).returncode == 0
        assert_consistent(site, reference)
        assert ledger_counts(make_config(site)) == counts


def test_killed_after_random_delays(tmp_path: Path, crash_county: Problem, reference: dict[str, bytes]) -> None:
    """Kills at moments nobody chose: several in a row on the same site, then a rerun."""
    site = prepare(tmp_path, crash_county)
    rng = random.Random(7)
    for _ in range(4):
        delay = rng.uniform(0.3, 4.0)
        proc = subprocess.Popen(
            [sys.executable, "-m", "assign.batch", "--config", "nightly.toml", "--date", DATE],
            cwd=site, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert_no_torn_files(site, reference)
    again = job(site)
    assert again.returncode == 0, again.stderr
    assert_consistent(site, reference)


def test_killed_while_replacing_an_older_plan(tmp_path: Path, crash_county: Problem) -> None:
    """A changed input replans a published date; killed midway, readers see old or new
    files (never torn ones), the manifest is absent until the new plan is complete,
    and a rerun publishes the new plan."""
    site = prepare(tmp_path, crash_county)
    assert job(site).returncode == 0
    old = folder_bytes(site / "out" / DATE)
    raw = crash_county.model_dump(mode="json", exclude_none=True)
    raw["volunteers"] = raw["volunteers"][1:]  # one volunteer leaves
    gone = crash_county.volunteers[0].id
    for rec in raw["recipients"]:
        for key in ("preferred_volunteers", "excluded_volunteers"):
            rec[key] = [v for v in rec.get(key, []) if v != gone]
    for task in raw["tasks"]:
        for key in ("pinned", "previous_volunteers"):
            task[key] = [v for v in task.get(key, []) if v != gone]
    save(Problem.model_validate(raw), site / "input")
    proc = job(site, kill_at="outputs:3")
    assert proc.returncode == -signal.SIGKILL
    folder = site / "out" / DATE
    assert not (folder / "manifest.json").exists()
    torn = folder_bytes(folder)
    again = job(site)
    assert again.returncode == 0, again.stderr
    new = folder_bytes(folder)
    for name, data in torn.items():
        assert data in (old.get(name), new.get(name)), f"{name} is neither the old nor the new file"
    assert any(data == new.get(name) != old.get(name) for name, data in torn.items())
    manifest = json.loads(new["manifest.json"])
    rows = runs(make_config(site))
    assert len(rows) == 2 and rows[1]["current"] and not rows[0]["current"]
    assert manifest["run_key"] == rows[1]["run_key"]
    assert new != old
