"""One night of the batch job: input -> ledger history -> solve -> outputs -> ledger.

The run key is SHA-256 of (date, input hash, settings hash, ledger-facts hash):
what the night is planned from. The steps, each safe to kill::

    1. lock the output folder (a second job for the same folder exits 5)
    2. connect to the ledger (exit 3 when unreachable), read and validate the
       input (exit 2 when bad: the failure is recorded under its run key and
       nothing is written), cut the date's horizon, read the ledger facts
    3. a run with this key already solved or finished? -> go to 6 (no new rows)
    4. record the run as ``started`` (one transaction)
    5. solve; store assignments, uncovered needs, the problem and the schedule,
       status ``solved`` (one transaction)
    6. render every output file from the stored problem and schedule and put
       them in place one by one, atomically; ``manifest.json`` last
    7. mark the run ``finished`` and ``current`` for its date (one transaction)

Killed before 5 commits, a rerun solves again (the ``started`` row is reused);
killed after, it renders the stored result again, so the files are
byte-identical whatever the solver. Outputs hold no wall-clock value; timings
are kept in the ledger only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import ProblemError, TooLargeError, pydantic_message
from .config import BatchConfig, ConfigError
from .ledger import FINISHED, SOLVED, Ledger, LedgerError, connect, pack
from .log import BatchLog
from .outputs import kill_point

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3
EXIT_OUTPUT = 4
EXIT_BUSY = 5

EXIT_CODES = {
    EXIT_OK: "the night is planned and published (or was already, identically)",
    EXIT_INTERNAL: "unexpected internal error (a bug: the traceback is logged)",
    EXIT_BAD_INPUT: "bad input, bad configuration or bad command line; nothing was written",
    EXIT_DATABASE: "the ledger or input database is unreachable or refused an operation",
    EXIT_OUTPUT: "the output folder cannot be written (permissions, disk full)",
    EXIT_BUSY: "another batch job holds the output folder's lock",
}


class OutputError(Exception):
    """The output folder cannot be written."""


class BusyError(Exception):
    """Another job holds the lock."""


@dataclass
class BatchResult:
    """What one night did."""

    exit_code: int
    date: str
    status: str  # planned | reused | failed
    message: str
    run_key: str | None = None
    run_id: int | None = None
    folder: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def resolve_date(value: str | Date | None, zone: str | None) -> Date:
    """``YYYY-MM-DD``, ``today`` or ``tomorrow`` (default) in ``zone``."""
    if isinstance(value, Date):
        return value
    now = datetime.now(ZoneInfo(zone or "Asia/Shanghai"))
    if value in (None, "", "tomorrow"):
        return (now + timedelta(days=1)).date()
    if value == "today":
        return now.date()
    try:
        return Date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"--date: expected YYYY-MM-DD, today or tomorrow, got {value!r}") from None


def run_key(date: str, input_hash: str, settings_hash: str, facts_hash: str) -> str:
    return hashlib.sha256(f"{date}|{input_hash}|{settings_hash}|{facts_hash}".encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".batch.lock", "a+")
    except OSError as exc:
        raise OutputError(f"cannot use output folder {folder}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(f"another batch job is running on {folder}") from None
        yield
    finally:
        handle.close()  # closing releases the lock (the kernel does it on SIGKILL too)


def _solver_steps(log: BatchLog) -> AbstractContextManager[None]:
    """In JSON mode, each solver step (:func:`assign.solve.steps_to`: the
    preparation, each step of ``auto`` with its time and the score so far)
    as a ``solve.step`` event; text mode stays one line per job step."""
    import logging

    from ..solve import steps_to

    if log.fmt != "json":
        return nullcontext()

    class Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", None)
            log.info("solve.step", " ".join(record.getMessage().split()), **(fields or {}))

    return steps_to(Forward(logging.INFO))


def run_batch(config: BatchConfig, day: Date | str | None = None, log: BatchLog | None = None) -> BatchResult:
    """Plan one night; never raises for expected failures (see :data:`EXIT_CODES`)."""
    log = log or BatchLog(config.log.format)
    try:
        the_day = resolve_date(day, config.job.timezone)
    except ConfigError as exc:
        log.error("config", str(exc))
        return BatchResult(EXIT_BAD_INPUT, str(day), "failed", str(exc))
    date = the_day.isoformat()
    log.date = date
    try:
        # the config's own errors before the lock, which creates the output
        # folder (they left it and its lock file behind: the audit of stop 47)
        _check_strategy(config)
        config.ledger_url()
        if config.input_kind() == "database":
            config.input_url()
        elif config.input_kind() == "bundle" and config.input.path and config.path(config.input.path).is_file():
            # (it was read as JSON: "invalid JSON", the audit of stop 47)
            raise ConfigError(
                f"[input] path: {config.path(config.input.path)} is a file; a bundle is a folder, "
                'a JSON file ends in .json (or set kind = "json")'
            )
    except ConfigError as exc:
        # (named with the config file, as its parse errors are: the audit of stop 47)
        message = f"{config.file}: {exc}"
        log.error("config", message, exit_code=EXIT_BAD_INPUT)
        return BatchResult(EXIT_BAD_INPUT, date, "failed", message)
    try:
        with _locked(config.output_dir):
            return _run(config, the_day, log)
    except BusyError as exc:
        log.error("busy", str(exc), exit_code=EXIT_BUSY)
        return BatchResult(EXIT_BUSY, date, "failed", str(exc))
    except OutputError as exc:
        log.error("output", str(exc), exit_code=EXIT_OUTPUT)
        return BatchResult(EXIT_OUTPUT, date, "failed", str(exc))
    except ConfigError as exc:
        log.error("config", str(exc), exit_code=EXIT_BAD_INPUT)
        return BatchResult(EXIT_BAD_INPUT, date, "failed", str(exc))
    except LedgerError as exc:
        log.error("database", str(exc), exit_code=EXIT_DATABASE)
        return BatchResult(EXIT_DATABASE, date, "failed", str(exc))
    except TooLargeError as exc:
        # (the county's problem needs more memory than the machine has: input
        # to split, not a fault of the job; nothing was written)
        log.error("too_large", str(exc), exit_code=EXIT_BAD_INPUT)
        return BatchResult(EXIT_BAD_INPUT, date, "failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - a nightly job reports, never dies silently
        log.error("internal", f"unexpected error: {type(exc).__name__}: {exc}", exit_code=EXIT_INTERNAL,
                  traceback=traceback.format_exc())
        if config.log.format != "json":
            log.stream.write(traceback.format_exc())
        return BatchResult(EXIT_INTERNAL, date, "failed", f"{type(exc).__name__}: {exc}")


def _check_strategy(config: BatchConfig) -> None:
    from ..solve import solve  # noqa: F401 - importing registers every strategy
    from ..solvers import get_strategy

    try:
        get_strategy(config.solve.strategy)
    except ValueError as exc:
        raise ConfigError(f"[solve] strategy: {exc}") from None


def _run(config: BatchConfig, day: Date, log: BatchLog) -> BatchResult:
    from sqlalchemy.exc import SQLAlchemyError

    from .history import apply, gather, previous_plan
    from .inputs import hash_input, horizon_bounds, horizon_problem, load_input

    date = day.isoformat()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    _check_strategy(config)
    settings_hash = config.settings_hash()
    settings_json = json.dumps(config.settings(), sort_keys=True)
    from .. import __version__

    engine = connect(config.ledger_url(), config.ledger.connect_timeout)
    try:
        ledger = Ledger(engine, config.ledger.prefix)
        ledger.create()
        log.progress("reading the input")
        try:
            loaded = load_input(config)
        except ProblemError as exc:
            input_hash, _ = hash_input(config)
            key = run_key(date, input_hash, settings_hash, "")
            fields = _fields(date, input_hash, settings_hash, "", settings_json, __version__)
            run_id = ledger.fail(key, fields, str(exc))
            log.error("input.rejected", f"the input was rejected ({len(exc.issues)} issue(s)); nothing was written",
                      run_key=key, run_id=run_id, exit_code=EXIT_BAD_INPUT, issues=[str(i) for i in exc.issues])
            if config.log.format != "json":
                for issue in exc.issues:
                    log.stream.write(f"  {issue}\n")
            return BatchResult(EXIT_BAD_INPUT, date, "failed", str(exc), key, run_id)
        timings["input"] = time.perf_counter() - clock

        problem = loaded.problem
        zone = config.job.timezone or problem.horizon.timezone
        horizon_days = config.job.horizon_days
        start, end = horizon_bounds(day, horizon_days, zone)
        raw = horizon_problem(problem, start, end, horizon_days, config.input.pledge_days, zone,
                              f"{problem.name}-{date}")
        task_ids = [t["id"] for t in raw["tasks"]]
        if not task_ids:
            log.warning("input.empty", f"the input has no task inside the horizon {start.isoformat()} .. "
                        f"{end.isoformat()}; the night plans nothing")
        mark = time.perf_counter()
        log.progress(f"reading the ledger ({len(task_ids):,} tasks in the horizon)")
        facts = gather(
            ledger, problem, start, end,
            horizon_days=horizon_days, window_days=config.history.window_days,
            pledge_days=config.input.pledge_days, enabled=config.history.enabled, horizon_tasks=task_ids,
        )
        timings["history"] = time.perf_counter() - mark
        key = run_key(date, loaded.input_hash, settings_hash, facts.digest())
        fields = _fields(date, loaded.input_hash, settings_hash, facts.digest(), settings_json, __version__)
        existing = ledger.run_by_key(key)
        if existing is not None and existing["status"] in (SOLVED, FINISHED):
            log.info("run.reuse", f"run {key[:12]} was already {existing['status']}; publishing its stored result",
                     run_key=key, run_id=existing["id"])
            old = json.loads(existing["timings"] or "{}")
            return _publish(config, ledger, int(existing["id"]), key, date, log, {**old, **timings},
                            reused=True, already_current=bool(existing["current"]) and existing["status"] == FINISHED)

        run_id, _ = ledger.begin(key, fields)
        log.info("run.started", f"run {key[:12]} started: {len(task_ids):,} tasks, "
                 f"{len(raw['volunteers']):,} volunteers", run_key=key, run_id=run_id)
        kill_point("begun")

        current = ledger.current_runs(date, date)
        previous = None
        if current and current[0][2] != key:
            # the plan already published for this date is what volunteers were told
            previous = previous_plan(ledger, start, end, set(task_ids), {v["id"] for v in raw["volunteers"]},
                                     run_id=current[0][0])
        raw = apply(raw, facts, previous)
        try:
            night = _build(raw)
        except ProblemError as exc:
            ledger.fail(key, fields, str(exc))
            log.error("input.rejected", "the night's problem is invalid; nothing was written",
                      run_key=key, exit_code=EXIT_BAD_INPUT, issues=[str(i) for i in exc.issues])
            return BatchResult(EXIT_BAD_INPUT, date, "failed", str(exc), key, run_id)

        mark = time.perf_counter()
        log.progress(f"solving with strategy {config.solve.strategy}")
        from ..solve import solve

        with _solver_steps(log), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            schedule = solve(
                night, strategy=config.solve.strategy, time_limit=config.solve.time_limit,
                seed=config.solve.seed, workers=config.solve.workers, k=config.solve.k,
                parts=config.solve.parts,
            )
        for w in caught:  # (e.g. a solve well past its time limit, saying where the time went)
            log.warning("solve.warning", str(w.message), category=w.category.__name__)
        timings["solve"] = time.perf_counter() - mark
        kill_point("solved")
        if schedule.solver is not None:
            schedule = schedule.model_copy(update={"solver": schedule.solver.model_copy(update={"seconds": 0.0})})
        mark = time.perf_counter()
        problem_dict = night.model_dump(mode="json", exclude_none=True)
        schedule_dict = schedule.model_dump(mode="json")
        assignment_rows, uncovered_rows = _ledger_rows(night, schedule)
        score = schedule.score
        values = {
            "problem": pack(problem_dict),
            "schedule": pack(schedule_dict),
            "tasks": len(night.tasks),
            "covered": len({a.task for a in schedule.assignments}),
            "uncovered": len(schedule.unassigned),
            "assignments": len(schedule.assignments),
            "schedule_status": schedule.status,
            "score": json.dumps(score.model_dump(mode="json") if score else None, sort_keys=True),
            "bound": json.dumps(schedule.bound.model_dump(mode="json") if schedule.bound else None, sort_keys=True),
            "timings": json.dumps({k: round(v, 3) for k, v in timings.items()}, sort_keys=True),
        }
        ledger.save_solution(run_id, assignment_rows, uncovered_rows, values)
        timings["store"] = time.perf_counter() - mark
        kill_point("saved")
        return _publish(config, ledger, run_id, key, date, log, timings, reused=False, already_current=False)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise LedgerError(f"the database refused an operation: {reason}") from None
    finally:
        engine.dispose()


def _fields(date: str, input_hash: str, settings_hash: str, facts: str, settings: str, version: str) -> dict[str, Any]:
    return {
        "date": date, "input_hash": input_hash, "settings_hash": settings_hash, "history_hash": facts,
        "settings": settings, "version": version, "started_at": _now(),
    }


def _build(raw: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from ..errors import InputIssue
    from ..model import Problem
    from ..validate import validate_problem

    try:
        night = Problem.model_validate(raw)
    except ValidationError as exc:
        raise ProblemError(
            [InputIssue("<night problem>", "problem", None, None, ".".join(map(str, e["loc"])), pydantic_message(e))
             for e in exc.errors()]
        ) from None
    validate_problem(night, "<night problem>")
    return night


def _ledger_rows(problem: Any, schedule: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import numpy as np

    from ..compile import compile_problem
    from ..rules import assignment_load

    c = compile_problem(problem)
    t_index = {tid: i for i, tid in enumerate(c.task_ids)}
    v_index = {vid: i for i, vid in enumerate(c.volunteer_ids)}
    tasks = {t.id: t for t in problem.tasks}
    community = {r.id: r.community for r in problem.recipients}
    items = list(schedule.assignments)
    if items:
        t = np.array([t_index[a.task] for a in items], dtype=np.int64)
        v = np.array([v_index[a.volunteer] for a in items], dtype=np.int64)
        loads = assignment_load(c, t, v).tolist()
    else:
        loads = []
    assigned = []
    for a, load in zip(items, loads, strict=True):
        task = tasks[a.task]
        end = a.end or a.start
        assigned.append({
            "task": a.task, "volunteer": a.volunteer, "recipient": task.recipient,
            "community": community.get(task.recipient, ""), "service": task.service,
            "start": a.start.isoformat(), "end": end.isoformat(), "start_ts": int(a.start.timestamp()),
            "window_ts": int(task.window_start.timestamp()), "minutes": int(load),
            "travel_km": float(a.travel_km or 0.0),
        })
    uncovered = []
    for u in schedule.unassigned:
        task = tasks[u.task]
        uncovered.append({
            "task": u.task, "recipient": task.recipient, "community": community.get(task.recipient, ""),
            "tier": problem.task_tier(task), "reason": u.reason, "detail": u.detail,
            "window_start": task.window_start.isoformat(), "window_ts": int(task.window_start.timestamp()),
        })
    return assigned, uncovered


def _publish(
    config: BatchConfig, ledger: Ledger, run_id: int, key: str, date: str, log: BatchLog,
    timings: dict[str, float], *, reused: bool, already_current: bool,
) -> BatchResult:
    """Render the stored result of a run, put the files in place, mark it current."""
    from ..model import Problem, Schedule
    from .outputs import render_all, write_folder

    mark = time.perf_counter()
    problem_dict, schedule_dict = ledger.blobs(run_id)
    problem = Problem.model_validate(problem_dict)
    schedule = Schedule.model_validate(schedule_dict)
    row = ledger.run_by_key(key) or {}
    settings = json.loads(row.get("settings") or "{}")
    meta = {
        "date": date,
        "run_key": key,
        "input_hash": row.get("input_hash", ""),
        "settings_hash": row.get("settings_hash", ""),
        "version": row.get("version", ""),
        "strategy": schedule.solver.strategy if schedule.solver else "",
        "history": "enabled" if settings.get("history", {}).get("enabled", True) else "disabled",
    }
    out = config.output
    log.progress("rendering the outputs")
    files = render_all(problem, schedule, meta, dispatch=out.dispatch, calendars=out.calendars,
                       report=out.report, report_rows=out.report_rows, progress=log.progress)
    timings["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    folder = config.output_dir / date
    try:
        counts = write_folder(folder, files)
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
    timings["write"] = time.perf_counter() - mark
    kill_point("written")
    if not already_current:
        total = sum(v for k, v in timings.items() if k != "total")
        values = {"timings": json.dumps({**{k: round(v, 3) for k, v in timings.items()}, "total": round(total, 3)},
                                        sort_keys=True),
                  "finished_at": _now()}
        if reused:
            values.pop("timings")
        ledger.finish(run_id, date, values)
    kill_point("finished")
    metrics = schedule.metrics.get("coverage", {}).get("total", {})
    reasons: dict[str, int] = {}
    for u in schedule.unassigned:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    summary = {
        "tasks": metrics.get("tasks", len(problem.tasks)),
        "covered": metrics.get("covered", 0),
        "weight": metrics.get("weight", 0),
        "covered_weight": metrics.get("covered_weight", 0),
        "assignments": len(schedule.assignments),
        "uncovered_by_reason": reasons,
        "conflicts": len(schedule.conflicts),
        "files": counts,
        "score": schedule.score.model_dump(mode="json")["uncovered"] if schedule.score else None,
    }
    status = "reused" if reused else "planned"
    tasks, covered = summary["tasks"], summary["covered"]
    share = f"{100.0 * covered / tasks:.1f}%" if tasks else "-"
    message = (f"{status}: {covered:,} of {tasks:,} tasks covered ({share}), "
               f"{summary['assignments']:,} assignments; outputs in {folder}")
    log.info("run.finished", message, run_key=key, run_id=run_id, exit_code=EXIT_OK, status=status,
             timings={k: round(v, 3) for k, v in timings.items()}, **{k: summary[k] for k in ("tasks", "covered")})
    return BatchResult(EXIT_OK, date, status, message, key, run_id, folder, summary)


def describe_exit_codes() -> str:
    return "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


__all__ = ["BatchResult", "EXIT_CODES", "run_batch", "resolve_date", "describe_exit_codes"]
