"""The nightly batch job (``assign batch``, docs/batch.md): ledger, history,
idempotency, outputs, failures and the safety of what people open.

Problems are small synthetic communities (the laocheng scenario with fewer
people), solved with the greedy strategy, so every test takes a few seconds.
PostgreSQL tests use the server that ``.ci/services.sh`` starts (its URL in
``ASSIGN_TEST_PG_URL`` or ``.ci/pg_url``) and are skipped when none answers.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assign.batch import config_from_dict, run_batch
from assign.batch.config import BatchConfig
from assign.batch.ledger import ACCEPTED, DECLINED, FAILED, FINISHED, Ledger, connect
from assign.batch.log import BatchLog
from assign.batch.outputs import file_name, safe_cell
from assign.io import save
from assign.model import Problem
from tests.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 30)


# ----------------------------------------------------------------- helpers


def small_county(seed: int = 3, volunteers: int = 60, recipients: int = 80, tasks: int = 600) -> Problem:
    """A one-community county over a week (laocheng scenario, fewer people)."""
    from assign.synth import generate, load_scenario

    sc = load_scenario("laocheng")
    counts = sc.counts.model_copy(update={"volunteers": volunteers, "recipients": recipients, "tasks": tasks})
    return generate(sc.model_copy(update={"counts": counts}), seed)


def make_config(base: Path, **sections: dict[str, Any]) -> BatchConfig:
    """A config rooted in ``base``: bundle input ``input``, SQLite ledger, greedy, 1-day horizon."""
    raw: dict[str, Any] = {
        "job": {"horizon_days": 1, "timezone": "Asia/Shanghai"},
        "input": {"path": "input"},
        "ledger": {"url": "sqlite:///ledger.sqlite"},
        "solve": {"strategy": "greedy"},
        "output": {"dir": "out"},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return config_from_dict(raw, base=base)


def write_config(base: Path, config: BatchConfig) -> Path:
    """Write ``config`` as ``base/nightly.toml`` (for command-line runs)."""
    import tomli_w

    data = config.model_dump(exclude={"base", "file"}, exclude_none=True)
    path = base / "nightly.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def quiet_log() -> BatchLog:
    return BatchLog("text", io.StringIO())


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every visible file of a folder, by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def ledger_counts(config: BatchConfig) -> dict[str, int]:
    from sqlalchemy import func, select

    ledger = Ledger(connect(config.ledger_url()), config.ledger.prefix)
    out = {}
    with ledger.engine.connect() as conn:
        for name in ("runs", "assignments", "uncovered", "acceptances"):
            table = getattr(ledger.t, name)
            out[name] = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    ledger.engine.dispose()
    return out


def runs(config: BatchConfig) -> list[dict[str, Any]]:
    from sqlalchemy import select

    ledger = Ledger(connect(config.ledger_url()), config.ledger.prefix)
    r = ledger.t.runs
    cols = [c for c in r.c if c.name not in ("problem", "schedule")]
    with ledger.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(select(*cols).order_by(r.c.id)).mappings()]
    ledger.engine.dispose()
    return rows


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m assign.batch ARGS`` in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    full_env.pop("ASSIGN_BATCH_KILL_AT", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "assign.batch", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


def pg_url() -> str | None:
    """The test PostgreSQL server's URL, or None."""
    url = os.environ.get("ASSIGN_TEST_PG_URL")
    if not url:
        path = ROOT / ".ci" / "pg_url"
        url = path.read_text().strip() if path.is_file() else None
    if not url:
        return None
    try:
        engine = connect(url, timeout=3)
    except Exception:  # noqa: BLE001 - any failure means "no server"
        return None
    engine.dispose()
    return url


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def county() -> Problem:
    """The small county every test plans (module-scoped: generated once)."""
    return small_county()


@pytest.fixture()
def site(tmp_path: Path, county: Problem) -> Path:
    """A job folder with the county as a table bundle in ``input/``."""
    save(county, tmp_path / "input")
    return tmp_path


# ----------------------------------------------------------------- planning


def test_a_night_writes_every_output_and_records_the_run(site: Path) -> None:
    from assign.check import check
    from assign.io import load_schedule
    from assign.model import Schedule

    config = make_config(site)
    result = run_batch(config, DAY, quiet_log())
    assert result.exit_code == 0, result.message
    assert result.status == "planned"
    folder = site / "out" / "2026-11-30"
    files = folder_bytes(folder)
    for name in ("schedule.json", "assignments.csv", "unassigned.csv", "report.html", "manifest.json"):
        assert name in files
    assert any(n.startswith("dispatch/") and n.endswith(".csv") for n in files)
    assert any(n.startswith("calendars/") and n.endswith(".ics") for n in files)
    manifest = json.loads(files["manifest.json"])
    assert manifest["run_key"] == result.run_key
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == digest
    assert set(manifest["files"]) | {"manifest.json"} == set(files)

    schedule = load_schedule(folder / "schedule.json")
    assert schedule.solver is not None and schedule.solver.seconds == 0.0
    # the schedule is valid for the night's problem stored in the ledger
    ledger = Ledger(connect(config.ledger_url()))
    problem_dict, schedule_dict = ledger.blobs(result.run_id or 0)
    night = Problem.model_validate(problem_dict)
    assert Schedule.model_validate(schedule_dict) == schedule
    report = check(night, schedule)
    assert report.valid, report.violations[:3]
    assert night.horizon.start.isoformat() == "2026-11-30T00:00:00+08:00"
    assert night.horizon.end.isoformat() == "2026-12-01T00:00:00+08:00"
    assert all(t.window_start.date() == DAY for t in night.tasks)

    (row,) = runs(config)
    assert row["status"] == FINISHED and row["current"] and row["date"] == "2026-11-30"
    assert row["assignments"] == len(schedule.assignments)
    assert row["uncovered"] == len(schedule.unassigned)
    timings = json.loads(row["timings"])
    assert {"input", "history", "solve", "render", "write", "total"} <= set(timings)
    assert json.loads(row["score"])["uncovered"] == list(schedule.score.uncovered)  # type: ignore[union-attr]
    counts = ledger_counts(config)
    assert counts["assignments"] == len(schedule.assignments)
    assert counts["uncovered"] == len(schedule.unassigned)
    ledger.engine.dispose()


def test_rerun_is_byte_identical_and_adds_no_rows(site: Path) -> None:
    config = make_config(site)
    first = run_batch(config, DAY, quiet_log())
    assert first.exit_code == 0
    folder = site / "out" / "2026-11-30"
    before = folder_bytes(folder)
    mtimes = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    counts = ledger_counts(config)
    again = run_batch(config, DAY, quiet_log())
    assert again.exit_code == 0 and again.status == "reused"
    assert again.run_key == first.run_key
    assert folder_bytes(folder) == before
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == mtimes  # nothing rewritten
    assert ledger_counts(config) == counts
    # a deleted output comes back identical
    (folder / "report.html").unlink()
    shutil.rmtree(folder / "calendars")
    assert run_batch(config, DAY, quiet_log()).exit_code == 0
    assert folder_bytes(folder) == before
    assert ledger_counts(config) == counts


def test_two_fresh_sites_give_the_same_bytes(tmp_path: Path, county: Problem) -> None:
    outputs = []
    for name in ("a", "b"):
        base = tmp_path / name
        save(county, base / "input")
        assert run_batch(make_config(base), DAY, quiet_log()).exit_code == 0
        outputs.append(folder_bytes(base / "out" / "2026-11-30"))
    assert outputs[0] == outputs[1]


def test_json_and_bundle_inputs_agree(tmp_path: Path, county: Problem) -> None:
    save(county, tmp_path / "county.json")
    save(county, tmp_path / "input")
    a = run_batch(make_config(tmp_path / "j", input={"path": str(tmp_path / "county.json")}), DAY, quiet_log())
    b = run_batch(make_config(tmp_path / "b", input={"path": str(tmp_path / "input")}), DAY, quiet_log())
    assert a.exit_code == b.exit_code == 0
    sa = json.loads((tmp_path / "j/out/2026-11-30/schedule.json").read_text())
    sb = json.loads((tmp_path / "b/out/2026-11-30/schedule.json").read_text())
    assert sa["assignments"] == sb["assignments"]


def test_a_changed_input_replans_with_stability(site: Path, county: Problem) -> None:
    config = make_config(site)
    first = run_batch(config, DAY, quiet_log())
    assert first.exit_code == 0
    folder = site / "out" / "2026-11-30"
    old = json.loads((folder / "schedule.json").read_text())
    old_pairs = {(a["task"], a["volunteer"]) for a in old["assignments"]}
    # the input changes: one more visit in the night's horizon
    raw = county.model_dump(mode="json", exclude_none=True)
    extra = dict(raw["tasks"][0], id="t-new", window_start="2026-11-30T15:00:00+08:00",
                 window_end="2026-11-30T18:00:00+08:00", duration_min=30, service="companionship",
                 pinned=[], previous_volunteers=[], required_skills=[])
    extra.pop("tier", None)
    raw["tasks"].append(extra)
    save(Problem.model_validate(raw), site / "input")
    second = run_batch(config, DAY, quiet_log())
    assert second.exit_code == 0 and second.status == "planned"
    assert second.run_key != first.run_key
    rows = runs(config)
    assert [r["status"] for r in rows] == [FINISHED, FINISHED]
    assert [bool(r["current"]) for r in rows] == [False, True]
    # the published plan is the new plan's previous plan, and it mostly stands
    ledger = Ledger(connect(config.ledger_url()))
    problem_dict, _ = ledger.blobs(second.run_id or 0)
    ledger.engine.dispose()
    previous = {(t["id"], v) for t in problem_dict["tasks"] for v in t.get("previous_volunteers", [])}
    own = {(t.id, v) for t in county.tasks for v in t.previous_volunteers}
    assert old_pairs <= previous and previous - old_pairs <= own
    new = json.loads((folder / "schedule.json").read_text())
    new_pairs = {(a["task"], a["volunteer"]) for a in new["assignments"]}
    kept = len(old_pairs & new_pairs) / len(old_pairs)
    assert kept >= 0.8, kept
    assert new["score"]["terms"]["changes"] == len(previous - new_pairs)
    assert "t-new" in {a["task"] for a in new["assignments"]} | {u["task"] for u in new["unassigned"]}
    # the manifest names the new run
    assert json.loads((folder / "manifest.json").read_text())["run_key"] == second.run_key


def test_the_ledger_fills_history_pins_and_declines(site: Path) -> None:
    config = make_config(site, job={"horizon_days": 2})
    first = run_batch(config, DAY, quiet_log())
    assert first.exit_code == 0
    ledger = Ledger(connect(config.ledger_url()))
    _, schedule = ledger.blobs(first.run_id or 0)
    day1 = [a for a in schedule["assignments"] if a["start"].startswith("2026-11-30")]
    day2 = [a for a in schedule["assignments"] if a["start"].startswith("2026-12-01")]
    assert day1 and len(day2) >= 4
    # dispatcher: one day-1 visit declined; day-2 visits: two accepted, one declined
    declined_past = day1[0]
    accepted = day2[:2]
    declined = next(a for a in day2[2:] if a["task"] not in {x["task"] for x in accepted})
    ledger.record_acceptances(
        [{"task": declined_past["task"], "volunteer": declined_past["volunteer"], "status": DECLINED}]
        + [{"task": a["task"], "volunteer": a["volunteer"], "status": ACCEPTED} for a in accepted]
        + [{"task": declined["task"], "volunteer": declined["volunteer"], "status": DECLINED}]
    )
    second = run_batch(config, date(2026, 12, 1), quiet_log())
    assert second.exit_code == 0, second.message
    night, plan = ledger.blobs(second.run_id or 0)
    ledger.engine.dispose()
    tasks = {t["id"]: t for t in night["tasks"]}
    vols = {v["id"]: v for v in night["volunteers"]}
    recs = {r["id"]: r for r in night["recipients"]}
    # pins: the accepted visits
    for a in accepted:
        assert a["volunteer"] in tasks[a["task"]]["pinned"]
        assert (a["task"], a["volunteer"]) in {(x["task"], x["volunteer"]) for x in plan["assignments"]}
    # a declined visit is not proposed to the same volunteer again
    t = tasks[declined["task"]]
    assert declined["volunteer"] not in t["pinned"] + t["previous_volunteers"]
    assert (declined["task"], declined["volunteer"]) not in {(x["task"], x["volunteer"]) for x in plan["assignments"]}
    # previous plan: the day-2 part of the first night's plan
    previous = {(tid, v) for tid, task in tasks.items() for v in task.get("previous_volunteers", [])}
    own = {(t.id, v) for t in small_county().tasks for v in t.previous_volunteers}
    assert {(a["task"], a["volunteer"]) for a in day2} - {(declined["task"], declined["volunteer"])} == previous - own
    # history: served minutes of day 1, missed visits, continuity
    served = {a["volunteer"] for a in day1[1:]}
    assert all(vols[v]["history_minutes"] > 0 for v in served)
    assert any(v["history_capacity"] > 0 for v in vols.values())
    task1 = {t.id: t for t in small_county().tasks}[declined_past["task"]]
    assert recs[task1.recipient]["missed_visits"] >= 1
    some = day1[1]
    rec = {t.id: t for t in small_county().tasks}[some["task"]].recipient
    assert some["volunteer"] in recs[rec]["preferred_volunteers"]


def test_without_history_the_input_fields_stand(site: Path) -> None:
    config = make_config(site, job={"horizon_days": 2}, history={"enabled": False})
    assert run_batch(config, DAY, quiet_log()).exit_code == 0
    second = run_batch(config, date(2026, 12, 1), quiet_log())
    ledger = Ledger(connect(config.ledger_url()))
    night, _ = ledger.blobs(second.run_id or 0)
    ledger.engine.dispose()
    source = {v.id: v for v in small_county().volunteers}
    for vol in night["volunteers"]:
        assert vol["history_minutes"] == source[vol["id"]].history_minutes
    assert any(t.get("previous_volunteers") for t in night["tasks"])  # stability still applies


def test_pledges_are_scaled_to_the_horizon(site: Path, county: Problem) -> None:
    config = make_config(site, job={"horizon_days": 2}, input={"pledge_days": 7})
    result = run_batch(config, DAY, quiet_log())
    ledger = Ledger(connect(config.ledger_url()))
    night, _ = ledger.blobs(result.run_id or 0)
    ledger.engine.dispose()
    source = {v.id: v for v in county.volunteers}
    for vol in night["volunteers"]:
        pledge = source[vol["id"]].max_minutes
        if pledge is None:
            assert "max_minutes" not in vol
        else:
            assert vol["max_minutes"] == pledge * 2 // 7


# ----------------------------------------------------------------- failures


def test_bad_input_exits_2_names_file_row_field_and_records_the_failure(site: Path) -> None:
    path = site / "input" / "volunteers.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[3]]))
    cells[header.index("community")] = "nowhere"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    lines[3] = buffer.getvalue()
    path.write_text("\n".join(lines) + "\n")
    config = make_config(site)
    write_config(site, config)
    proc = cli("--config", "nightly.toml", "--date", "2026-11-30", cwd=site)
    assert proc.returncode == 2, proc.stderr
    assert "volunteers.csv" in proc.stderr and "row 4" in proc.stderr and "'community'" in proc.stderr
    assert "unknown community 'nowhere'" in proc.stderr
    assert not (site / "out" / "2026-11-30").exists()
    assert proc.stdout == ""
    (row,) = runs(config)
    assert row["status"] == FAILED and not row["current"] and "nowhere" in row["error"]
    again = cli("--config", "nightly.toml", "--date", "2026-11-30", cwd=site)
    assert again.returncode == 2
    (row,) = runs(config)
    assert row["attempts"] == 2


def test_unreachable_database_has_its_own_exit_code(tmp_path: Path, county: Problem) -> None:
    save(county, tmp_path / "input")
    for url in ("postgresql+psycopg://nobody:secret@127.0.0.1:9/none", "sqlite:////nonexistent-dir/x/ledger.sqlite"):
        config = make_config(tmp_path, ledger={"url": url, "connect_timeout": 2})
        write_config(tmp_path, config)
        proc = cli("--config", "nightly.toml", "--date", "2026-11-30", cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr
        assert "database unreachable" in proc.stderr
        assert "secret" not in proc.stderr  # the password is not printed
        assert not (tmp_path / "out" / "2026-11-30").exists()


def test_config_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "nightly.toml").write_text("[job]\nhorizon_days = 0\nbogus = 1\n")
    proc = cli("--config", "nightly.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "job.horizon_days" in proc.stderr and "job.bogus" in proc.stderr
    proc = cli("--config", "missing.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "not found" in proc.stderr
    proc = cli("--config", "nightly.toml", "--date", "30/11/2026", cwd=tmp_path)
    assert proc.returncode == 2


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[input]\npath = "input"\npledge_days = true\n', "input.pledge_days"),  # (true was 1 day)
        ('[input]\npath = "input"\n[solve]\ntime_limit = true\n', "solve.time_limit"),  # (1 s)
        ('[input]\npath = "input"\n[job]\nhorizon_days = "7"\n', "job.horizon_days"),
        ('[input]\npath = "input"\n[output]\ndispatch = 0\n', "output.dispatch"),
        ('[input]\npath = "input"\n[ledger]\nconnect_timeout = inf\n', "ledger.connect_timeout"),
        ("", "input: missing"),  # (an empty config read the ledger as its input)
        ('[input]\npath = "input"\n[solve]\nstrategy = "magic"\n', "auto, cpsat, greedy"),
        ('[input]\npath = "input"\n[ledger]\nurl_env = "ASSIGN_TEST_UNSET_URL"\n', "which is not set"),
    ],
)
def test_a_config_error_exits_2_and_creates_nothing(tmp_path: Path, toml: str, key: str) -> None:
    """Each is a config error naming its key, found before the job takes its
    lock: nothing is created, not even the output folder (the audit of stop
    47: wrong types were converted, an empty config read the ledger's
    database, and later config errors left out/ and its lock file behind)."""
    (tmp_path / "nightly.toml").write_text(toml)
    proc = cli("--config", "nightly.toml", "--date", "2026-11-30", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert key in proc.stderr and "nightly.toml" in proc.stderr  # (the file named too)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nightly.toml"]


def test_an_input_file_that_is_no_json_is_a_config_error(tmp_path: Path) -> None:
    """``[input] path`` to a file not ending in .json means a bundle, which is a
    folder: a config error naming the key (it was read as JSON and reported as
    "invalid JSON": the audit of stop 47)."""
    (tmp_path / "county.txt").write_text("not a bundle")
    (tmp_path / "nightly.toml").write_text('[input]\npath = "county.txt"\n')
    proc = cli("--config", "nightly.toml", "--date", "2026-11-30", cwd=tmp_path)
    assert proc.returncode == 2
    assert "[input] path" in proc.stderr and "a bundle is a folder" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.txt", "nightly.toml"]


def test_every_output_folder_is_synced(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename is durable once its folder is synced: every folder of the
    night's outputs is (dispatch/ and calendars/ were not: the audit of stop 47)."""
    from assign.batch import outputs

    synced: list[Path] = []
    real = outputs._fsync_dir
    monkeypatch.setattr(outputs, "_fsync_dir", lambda p: (synced.append(Path(p)), real(p))[1])
    result = run_batch(make_config(site), DAY, quiet_log())
    assert result.exit_code == 0
    night = site / "out" / str(DAY)
    folders = {p for p in night.rglob("*") if p.is_dir()} | {night}
    assert len(folders) > 1  # (dispatch/, calendars/ ...)
    assert folders <= set(synced)


def test_unwritable_output_exits_4(site: Path) -> None:
    (site / "blocker").write_text("a file where the output folder should go")
    result = run_batch(make_config(site, output={"dir": "blocker/out"}), DAY, quiet_log())
    assert result.exit_code == 4


def test_a_second_job_on_the_same_folder_exits_5(site: Path) -> None:
    config = make_config(site)
    config.output_dir.mkdir(parents=True)
    with open(config.output_dir / ".batch.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        assert run_batch(config, DAY, quiet_log()).exit_code == 5


def test_json_log_lines(site: Path) -> None:
    write_config(site, make_config(site))
    proc = cli("--config", "nightly.toml", "--date", "2026-11-30", "--log-json", cwd=site)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert {"time", "level", "event", "message", "date"} <= set(records[-1])
    assert records[-1]["event"] == "run.finished" and records[-1]["exit_code"] == 0
    assert "run.started" in {r["event"] for r in records}
    assert proc.stdout.startswith("2026-11-30: planned")


def test_json_log_has_the_solver_steps(site: Path) -> None:
    """With ``auto``, the JSON log carries the preparation and each of its
    steps as ``solve.step`` events (step, seconds, the score so far), between
    the job's progress events; the text log has none of them."""
    write_config(site, make_config(site, solve={"strategy": "auto", "time_limit": 5.0, "workers": 1}))
    proc = cli("--config", "nightly.toml", "--date", "2026-11-30", "--log-json", cwd=site)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    steps = [r for r in records if r["event"] == "solve.step"]
    assert steps[0]["message"].startswith("prepared in ")
    names = [r["step"] for r in steps if "step" in r]
    assert names[:2] == ["components", "greedy"] and names[-1] == "done"
    done = next(r for r in steps if r.get("step") == "done")
    assert len(done["uncovered"]) == 4 and done["seconds"] >= 0 and "soft" in done
    assert records.index(steps[0]) > [r["event"] for r in records].index("run.started")
    assert records[-1]["event"] == "run.finished"
    proc = cli("--config", "nightly.toml", "--date", "2026-12-01", cwd=site)
    assert proc.returncode == 0, proc.stderr
    assert "prepared in" not in proc.stderr and " greedy " not in proc.stderr


# ----------------------------------------------------------------- safe outputs


def hostile_problem() -> Problem:
    """A tiny county whose names and ids are markup and spreadsheet formulas."""
    script = "<script>alert(1)</script>"
    raw = {
        "format": "assign/problem@1",
        "name": "<img src=x onerror=alert(2)>",
        "horizon": {"start": "2026-11-30T00:00:00+08:00", "end": "2026-12-02T00:00:00+08:00"},
        "policy": {"service_tiers": {"=cmd|' /C calc'!A0": 3}},
        "communities": [{"id": "c1", "name": "<b>Laocheng</b> & \"friends\"", "lat": 33.04, "lon": 108.25},
                        {"id": "../../etc", "name": "=1+1"}],
        "volunteers": [
            {"id": script, "community": "c1", "org": "=HYPERLINK(\"http://evil\",\"x\")", "lat": 33.040,
             "lon": 108.250, "skills": ["meals"],
             "availability": [["2026-11-30T08:00:00+08:00", "2026-11-30T18:00:00+08:00"]]},
            {"id": "@SUM(1+1)", "community": "../../etc", "org": "+1", "lat": 33.041, "lon": 108.251,
             "skills": ["meals"], "availability": [["2026-11-30T08:00:00+08:00", "2026-11-30T18:00:00+08:00"]]},
        ],
        "recipients": [
            {"id": "-2+3", "community": "c1", "lat": 33.041, "lon": 108.252, "groups": ["solitary"]},
            {"id": "r2", "community": "../../etc", "lat": 33.042, "lon": 108.253},
        ],
        "tasks": [
            {"id": "=t1", "recipient": "-2+3", "service": "meals", "window_start": "2026-11-30T11:00:00+08:00",
             "window_end": "2026-11-30T13:00:00+08:00", "duration_min": 30},
            {"id": "t2", "recipient": "r2", "service": "=cmd|' /C calc'!A0",
             "window_start": "2026-11-30T09:00:00+08:00", "window_end": "2026-11-30T10:00:00+08:00",
             "duration_min": 30},
            {"id": "t3", "recipient": "r2", "service": "medical", "window_start": "2026-11-30T14:00:00+08:00",
             "window_end": "2026-11-30T15:00:00+08:00", "duration_min": 30},
        ],
    }
    return Problem.model_validate(raw)


@pytest.fixture()
def hostile_site(tmp_path: Path) -> Path:
    """A job over the hostile county, already run for 2026-11-30."""
    base = tmp_path / "hostile"
    save(hostile_problem(), base / "county.json")
    config = make_config(base, input={"path": "county.json"})
    result = run_batch(config, DAY, quiet_log())
    assert result.exit_code == 0, result.message
    return base / "out" / "2026-11-30"


def test_safe_cell_and_file_names() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+1") == "'+1"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\t=1") == "'\t=1"
    assert safe_cell("plain") == "plain" and safe_cell("") == ""
    assert file_name("v001", ".ics") == "v001.ics"
    for hostile in ("<script>alert(1)</script>", "../../etc", "con", "a/b", "..", "x."):
        name = file_name(hostile, ".csv")
        assert "/" not in name and not name.startswith(".") and name.endswith(".csv")
    assert file_name("a/b", ".csv") != file_name("a_b", ".csv")


def test_dispatch_sheets_neutralise_formulas(hostile_site: Path) -> None:
    sheets = sorted((hostile_site / "dispatch").glob("*.csv"))
    assert len(sheets) == 2
    assert all(p.parent == hostile_site / "dispatch" for p in sheets)
    cells = []
    for sheet in sheets:
        data = sheet.read_bytes()
        assert data.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][0] == "day"
        cells += [cell for row in rows[1:] for cell in row]
    assert cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        if cell.startswith("-"):
            float(cell)  # only numbers we wrote ourselves may start with "-"
    assert "'=t1" in cells and "'@SUM(1+1)" in cells and "'-2+3" in cells
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells
    assert "'=cmd|' /C calc'!A0" in cells


def test_report_escapes_names_and_free_text(hostile_site: Path) -> None:
    html = (hostile_site / "report.html").read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>Laocheng</b>" not in html and "&lt;b&gt;Laocheng&lt;/b&gt; &amp; &quot;friends&quot;" in html
    assert "http://" not in html.replace("http://evil", "") and "https://" not in html
    assert "Content-Security-Policy" in html


def test_calendars_open_as_a_volunteer_would(hostile_site: Path, site: Path) -> None:
    from icalendar import Calendar

    from assign.io import load_schedule

    calendars = sorted((hostile_site / "calendars").glob("*.ics"))
    assert calendars and all(p.parent == hostile_site / "calendars" for p in calendars)
    assert all("<" not in p.name for p in calendars)
    # a real-sized night: every assignment is one event in its volunteer's calendar
    assert run_batch(make_config(site), DAY, quiet_log()).exit_code == 0
    folder = site / "out" / "2026-11-30"
    schedule = load_schedule(folder / "schedule.json")
    by_volunteer: dict[str, list[Any]] = {}
    for a in schedule.assignments:
        by_volunteer.setdefault(a.volunteer, []).append(a)
    uids = set()
    for volunteer, items in by_volunteer.items():
        data = (folder / "calendars" / file_name(volunteer, ".ics")).read_bytes()
        assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.rstrip().endswith(b"END:VCALENDAR")
        assert all(len(line) <= 75 for line in data.split(b"\r\n"))  # RFC 5545 line folding
        cal = Calendar.from_ical(data)
        assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
        events = list(cal.walk("VEVENT"))
        assert len(events) == len(items)
        starts = sorted(e.decoded("DTSTART") for e in events)
        assert starts == sorted(a.start for a in items)
        for event in events:
            for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "GEO"):
                assert prop in event
            assert event.decoded("DTEND") > event.decoded("DTSTART")
            uids.add(str(event["UID"]))
    assert len(uids) == len(schedule.assignments)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def open_in_chromium(page: Path, workdir: Path) -> tuple[str, list[str]]:
    """The DOM of ``page`` after loading in headless Chromium, and its console lines."""
    browser = chromium()
    assert browser is not None
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={workdir / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


# On CI (.ci/run sets up the services) a missing browser or server fails instead of skipping.
ON_CI = os.environ.get("CI") == "true"


@pytest.mark.skipif(chromium() is None and not ON_CI, reason="chromium is not installed (.ci/services.sh installs it)")
def test_report_renders_in_chromium_without_console_errors(hostile_site: Path, site: Path, tmp_path: Path) -> None:
    assert run_batch(make_config(site), DAY, quiet_log()).exit_code == 0
    for page in (site / "out" / "2026-11-30" / "report.html", hostile_site / "report.html"):
        dom, console = open_in_chromium(page, tmp_path)
        assert console == [], console
        assert "<h1>" in dom and "Coverage by tier and community" in dom
        assert dom.count('<img src="data:image/png;base64,') >= 3
        assert "<script" not in dom.lower()
    # the hostile names are shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    # the probe itself works: a page with a script error is caught
    probe = tmp_path / "probe.html"
    probe.write_text("<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>")
    _, console = open_in_chromium(probe, tmp_path)
    assert any("undefinedFunction" in line for line in console)


# ----------------------------------------------------------------- command line


def test_cli_hook_parses_and_runs(site: Path) -> None:
    import argparse

    from assign.batch.cli import add_subparser
    from assign.batch.cli import run as run_cli

    write_config(site, make_config(site))
    parser = argparse.ArgumentParser(prog="assign")
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["batch", "--config", str(site / "nightly.toml"), "--date", "2026-11-30", "--quiet"])
    stdout = io.StringIO()
    args.stderr = io.StringIO()
    assert args.run(args, stdout) == 0 and args.run is run_cli
    assert stdout.getvalue().startswith("2026-11-30: planned")
    assert args.stderr.getvalue() == ""


def test_relative_dates_and_the_default(site: Path) -> None:
    from assign.batch.run import resolve_date

    today = resolve_date("today", "Asia/Shanghai")
    assert resolve_date(None, "Asia/Shanghai") == resolve_date("tomorrow", "Asia/Shanghai")
    assert (resolve_date("tomorrow", "Asia/Shanghai") - today).days == 1
    assert resolve_date("2026-11-30", None) == DAY


def test_example_config_is_valid() -> None:
    from assign.batch.config import load_config

    config = load_config(ROOT / "examples" / "nightly.toml")
    assert config.job.horizon_days >= 1
    assert config.input_kind() in ("bundle", "json", "database")
    assert config.solve.strategy == "auto"


def test_the_nightly_job_solves_in_parts_when_told(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[solve] parts = true`` reaches ``assign.solve`` (in parts from the
    start), and the night is planned; by default ``parts`` is None (in parts
    only when the whole would not fit the memory)."""
    import importlib

    solve_module = importlib.import_module("assign.solve")
    real = solve_module.solve
    asked: list[Any] = []

    def solve(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("parts"))
        return real(*args, **kwargs)

    monkeypatch.setattr(solve_module, "solve", solve)
    assert make_config(site).solve.parts is None
    result = run_batch(make_config(site, solve={"strategy": "greedy", "parts": True}), DAY, quiet_log())
    assert result.exit_code == 0, result.message
    assert asked == [True]
    with pytest.raises(Exception, match="parts"):
        make_config(site, solve={"strategy": "greedy", "parts": "sometimes"})


def test_the_nightly_job_solves_with_auto_unless_told(tmp_path: Path) -> None:
    """Without a ``[solve]`` section the job uses ``assign.solve``'s default
    strategy and time limit, not the greedy baseline."""
    from assign.batch.config import load_config

    path = tmp_path / "nightly.toml"
    path.write_text('[input]\npath = "problem.json"\n', encoding="utf-8")
    config = load_config(path)
    assert (config.solve.strategy, config.solve.time_limit) == ("auto", None)


# ----------------------------------------------------------------- PostgreSQL


@pytest.fixture()
def pg() -> Iterator[tuple[str, str]]:
    """(URL, unique table prefix) on the test PostgreSQL server; tables dropped after."""
    url = pg_url()
    if url is None:
        if ON_CI:
            pytest.fail("no PostgreSQL server on CI: .ci/services.sh did not start one")
        pytest.skip("no PostgreSQL server (run .ci/services.sh, or set ASSIGN_TEST_PG_URL)")
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    yield url, prefix
    from sqlalchemy import inspect, text

    engine = connect(url)
    with engine.begin() as conn:
        for name in inspect(conn).get_table_names():
            if name.startswith(prefix):
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def test_postgresql_ledger_and_database_input(pg: tuple[str, str], tmp_path: Path, county: Problem) -> None:
    from assign.batch.inputs import save_database

    url, prefix = pg
    engine = connect(url)
    save_database(county, engine, prefix + "in_")
    engine.dispose()
    config = make_config(
        tmp_path, input={"kind": "database", "path": None, "url": url, "prefix": prefix + "in_"},
        ledger={"url": url, "prefix": prefix}, job={"horizon_days": 2},
    )
    first = run_batch(config, DAY, quiet_log())
    assert first.exit_code == 0, first.message
    folder = tmp_path / "out" / "2026-11-30"
    before = folder_bytes(folder)
    counts = ledger_counts(config)
    again = run_batch(config, DAY, quiet_log())
    assert again.status == "reused" and folder_bytes(folder) == before and ledger_counts(config) == counts
    # the same county from a bundle on SQLite plans the same night
    save(county, tmp_path / "lite" / "input")
    lite = run_batch(make_config(tmp_path / "lite", job={"horizon_days": 2}), DAY, quiet_log())
    assert lite.exit_code == 0
    same = json.loads((tmp_path / "lite/out/2026-11-30/schedule.json").read_text())
    assert json.loads(before["schedule.json"])["assignments"] == same["assignments"]
    # the next night reads its history from PostgreSQL
    second = run_batch(config, date(2026, 12, 1), quiet_log())
    assert second.exit_code == 0
    rows = runs(config)
    assert [r["date"] for r in rows] == ["2026-11-30", "2026-12-01"]
    assert all(r["status"] == FINISHED and r["current"] for r in rows)


def test_postgresql_bad_database_input_is_located(pg: tuple[str, str], tmp_path: Path, county: Problem) -> None:
    from sqlalchemy import text

    from assign.batch.inputs import save_database

    url, prefix = pg
    engine = connect(url)
    save_database(county, engine, prefix + "in_")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {prefix}in_tasks SET duration_min = -5 WHERE id = '{county.tasks[2].id}'"))
    engine.dispose()
    config = make_config(tmp_path, input={"kind": "database", "path": None, "url": url, "prefix": prefix + "in_"},
                         ledger={"url": url, "prefix": prefix})
    stream = io.StringIO()
    result = run_batch(config, DAY, BatchLog("text", stream))
    assert result.exit_code == 2
    text_out = stream.getvalue()
    assert f"table {prefix}in_tasks" in text_out and "row 3" in text_out and "'duration_min'" in text_out
    assert "assign:assign@" not in text_out  # password hidden
    (row,) = runs(config)
    assert row["status"] == FAILED


# ----------------------------------------------------------------- simulation


def test_three_nights_simulated(tmp_path: Path) -> None:
    simulate = load_script("simulate")
    results = simulate.simulate(
        scenario="laocheng", seed=2, nights=3, horizon_days=2, db="sqlite", out=tmp_path, tasks_per_week=700,
        outputs=False, quiet=True,
    )
    for arm in ("history", "nohistory"):
        figures = results["arms"][arm]
        assert figures["tasks"] == figures["tasks_in_period"] > 0
        assert figures["served_tasks"] + figures["missed_tasks"] == figures["tasks"]
        assert 0 <= figures["utilisation_gini"] <= 1
        assert figures["accepted"] > 0 and figures["declined"] > 0
    assert "recipients missed twice or more" in simulate.markdown(results)
    assert (tmp_path / "history" / "2026-12-02" / "schedule.json").is_file()


def test_the_reports_look_back_shares_are_the_scores_fairness() -> None:
    """The report's look-back shares come from the score's one formula: their
    squares add up to the schedule's SPEC §6 fairness term, with history and
    default pledges (some with seconds) in play."""
    from datetime import timedelta

    from assign import solve
    from assign.batch.report import volunteer_loads

    problem = small_county(volunteers=20, recipients=30, tasks=80)
    volunteers = []
    for i, v in enumerate(problem.volunteers):
        update: dict[str, Any] = {"history_minutes": 37 * i, "history_capacity": 600 if i % 3 else 0}
        if i % 2 and v.availability:
            first = v.availability[0]
            update["availability"] = [(first[0], first[1] + timedelta(seconds=30)), *v.availability[1:]]
            update["max_minutes"] = None
        volunteers.append(v.model_copy(update=update))
    problem = problem.model_copy(update={"volunteers": volunteers})
    schedule = solve(problem, strategy="greedy")
    assert schedule.score is not None and schedule.assignments
    loads = volunteer_loads(problem, schedule)
    assert loads.load.sum() > 0
    assert float((loads.ratio[loads.counted] ** 2).sum()) == pytest.approx(schedule.score.terms.fairness, rel=1e-9)


def test_a_night_too_large_for_the_memory_fails_as_bad_input(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A county whose candidate pairs would not fit the machine's memory:
    exit 2 with a ``too_large`` event that says how to split it, and no
    published plan."""
    from assign import candidates

    monkeypatch.setattr(candidates, "available_memory", lambda: 1)
    config = make_config(site)
    stream = io.StringIO()
    result = run_batch(config, DAY, BatchLog("json", stream))
    assert result.exit_code == 2 and "too large for this machine's memory" in result.message
    events = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    (event,) = [e for e in events if e.get("event") == "too_large"]
    assert event["level"] == "error" and "county" in event["message"]
    assert not (site / "out" / "2026-11-30").exists()


def test_a_night_past_its_time_limit_logs_where_the_time_went(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver's warnings reach the job's log (not the bare stderr): with
    no slack and a limit of a microsecond, the overrun warning is due."""
    import importlib

    solve_module = importlib.import_module("assign.solve")
    monkeypatch.setattr(solve_module, "OVERRUN_SECONDS", 0.0)
    monkeypatch.setattr(solve_module, "OVERRUN_SHARE", 0.0)
    config = make_config(site, solve={"strategy": "auto", "time_limit": 1e-6, "workers": 1})
    stream = io.StringIO()
    result = run_batch(config, DAY, BatchLog("json", stream))
    assert result.exit_code == 0, result.message
    events = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    (warning,) = [e for e in events if e.get("event") == "solve.warning"]
    assert warning["level"] == "warning" and warning["category"] == "RuntimeWarning"
    assert "against a time limit of 1e-06 s" in warning["message"]
