"""The ledger: what every night did, in a SQL database (SQLAlchemy Core).

Tables (names take the ``[ledger] prefix``; see ``docs/batch.md``):

``runs``
    one row per distinct run key (date, input hash, settings hash, history
    hash): status ``started`` -> ``solved`` -> ``finished`` (or ``failed``),
    ``current`` (the published run of its date), score, bound, counts, timings,
    the error of a failed run, and the solved problem and schedule (zlib-packed
    JSON) from which the outputs are rendered.
``assignments``
    the assignments of each solved run, one row per (run, task, volunteer).
``uncovered``
    the uncovered needs of each solved run with their SPEC §7 reason.
``acceptances``
    filled by the dispatcher (or the simulator): ``accepted`` or ``declined``
    per (task, volunteer). The job only reads it.

Every state change is one transaction, so a job killed at any point leaves the
ledger as it was before or after that change, never in between.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AssignError

#: Status values of ``runs.status``.
STARTED, SOLVED, FINISHED, FAILED = "started", "solved", "finished", "failed"
ACCEPTED, DECLINED = "accepted", "declined"


class LedgerError(AssignError):
    """The ledger database cannot be reached or used (exit code 3)."""


def pack(obj: Any) -> bytes:
    """Canonical JSON, zlib-compressed (deterministic: no timestamps)."""
    return zlib.compress(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8"), 6)


def unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


@dataclass(frozen=True)
class Tables:
    """The ledger's SQLAlchemy tables for one prefix."""

    metadata: Any
    runs: Any
    assignments: Any
    uncovered: Any
    acceptances: Any


def ledger_tables(prefix: str = "") -> Tables:
    """Build the ledger's tables (``prefix`` is prepended to every name)."""
    from sqlalchemy import (
        BigInteger,
        Boolean,
        Column,
        Float,
        ForeignKey,
        Index,
        Integer,
        LargeBinary,
        MetaData,
        String,
        Table,
        Text,
    )

    md = MetaData()
    runs = Table(
        f"{prefix}runs",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_key", String(64), nullable=False, unique=True),
        Column("date", String(10), nullable=False, index=True),
        Column("input_hash", String(64), nullable=False),
        Column("settings_hash", String(64), nullable=False),
        Column("history_hash", String(64), nullable=False, default=""),
        Column("settings", Text, nullable=False),
        Column("version", String(32), nullable=False),
        Column("status", String(16), nullable=False),
        Column("current", Boolean, nullable=False, default=False),
        Column("attempts", Integer, nullable=False, default=1),
        Column("tasks", Integer),
        Column("covered", Integer),
        Column("uncovered", Integer),
        Column("assignments", Integer),
        Column("schedule_status", String(16)),
        Column("score", Text),
        Column("bound", Text),
        Column("timings", Text),
        Column("error", Text),
        Column("started_at", String(40)),
        Column("finished_at", String(40)),
        Column("problem", LargeBinary),
        Column("schedule", LargeBinary),
    )
    assignments = Table(
        f"{prefix}assignments",
        md,
        Column("run_id", Integer, ForeignKey(f"{prefix}runs.id", ondelete="CASCADE"), primary_key=True),
        Column("task", String(64), primary_key=True),
        Column("volunteer", String(64), primary_key=True),
        Column("recipient", String(64), nullable=False),
        Column("community", String(64), nullable=False),
        Column("service", Text, nullable=False),
        Column("start", String(40), nullable=False),
        Column("end", String(40), nullable=False),
        Column("start_ts", BigInteger, nullable=False),
        Column("window_ts", BigInteger, nullable=False),
        Column("minutes", Integer, nullable=False),
        Column("travel_km", Float, nullable=False),
        Index(f"{prefix}assignments_window", "window_ts"),
        Index(f"{prefix}assignments_task", "task", "volunteer"),
    )
    uncovered = Table(
        f"{prefix}uncovered",
        md,
        Column("run_id", Integer, ForeignKey(f"{prefix}runs.id", ondelete="CASCADE"), primary_key=True),
        Column("task", String(64), primary_key=True),
        Column("recipient", String(64), nullable=False),
        Column("community", String(64), nullable=False),
        Column("tier", Integer, nullable=False),
        Column("reason", String(32), nullable=False),
        Column("detail", Text, nullable=False),
        Column("window_start", String(40), nullable=False),
        Column("window_ts", BigInteger, nullable=False),
        Index(f"{prefix}uncovered_window", "window_ts"),
    )
    acceptances = Table(
        f"{prefix}acceptances",
        md,
        Column("task", String(64), primary_key=True),
        Column("volunteer", String(64), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("responded_at", String(40)),
        Column("note", Text),
    )
    return Tables(md, runs, assignments, uncovered, acceptances)


def connect(url: str, timeout: float = 10.0) -> Any:
    """An SQLAlchemy engine for ``url``, checked by opening one connection.

    Raises :class:`LedgerError` when the URL is malformed, its driver is not
    installed or the server does not answer within ``timeout`` seconds.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from .config import redact

    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args["timeout"] = max(timeout, 30.0)
    elif url.startswith("postgresql"):
        connect_args["connect_timeout"] = max(1, int(round(timeout)))
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise LedgerError(f"cannot use database URL {redact(url)}: {exc}") from None
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise LedgerError(f"database unreachable at {redact(url)}: {reason}") from None
    return engine


class Ledger:
    """The ledger tables in one database, with the few operations the job needs."""

    def __init__(self, engine: Any, prefix: str = ""):
        self.engine = engine
        self.t = ledger_tables(prefix)

    def create(self) -> None:
        """Create missing tables (idempotent)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self.t.metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot create the ledger tables: {_reason(exc)}") from None

    # ------------------------------------------------------------------ runs

    def run_by_key(self, key: str) -> Mapping[str, Any] | None:
        from sqlalchemy import select

        r = self.t.runs
        cols = [c for c in r.c if c.name not in ("problem", "schedule")]
        with self.engine.connect() as conn:
            row = conn.execute(select(*cols).where(r.c.run_key == key)).mappings().first()
        return dict(row) if row else None

    def begin(self, key: str, fields: Mapping[str, Any]) -> tuple[int, str]:
        """Insert the run (status ``started``) or count one more attempt of it.

        Returns ``(run id, status before this call)``; a ``solved`` or
        ``finished`` run keeps its status (its result is reused).
        """
        from sqlalchemy import select

        r = self.t.runs
        with self.engine.begin() as conn:
            row = conn.execute(select(r.c.id, r.c.status, r.c.attempts).where(r.c.run_key == key)).first()
            if row is None:
                values = {**fields, "run_key": key, "status": STARTED, "current": False, "attempts": 1}
                run_id = conn.execute(r.insert().values(**values)).inserted_primary_key[0]
                return int(run_id), ""
            update: dict[str, Any] = {"attempts": row.attempts + 1, "started_at": fields.get("started_at")}
            if row.status in (STARTED, FAILED):
                update.update(status=STARTED, error=None)
            conn.execute(r.update().where(r.c.id == row.id).values(**update))
            return int(row.id), str(row.status)

    def fail(self, key: str, fields: Mapping[str, Any], error: str) -> int:
        """Record a failed run (one row per key; a repeated failure counts an attempt)."""
        run_id, before = self.begin(key, fields)
        r = self.t.runs
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"error": error, "finished_at": fields.get("started_at")}
            if before not in (SOLVED, FINISHED):
                values["status"] = FAILED
            conn.execute(r.update().where(r.c.id == run_id).values(**values))
        return run_id

    def save_solution(
        self,
        run_id: int,
        assignments: Sequence[Mapping[str, Any]],
        uncovered: Sequence[Mapping[str, Any]],
        values: Mapping[str, Any],
    ) -> None:
        """Store a solved run's rows and blobs, status ``solved``, in one transaction."""
        r, a, u = self.t.runs, self.t.assignments, self.t.uncovered
        with self.engine.begin() as conn:
            conn.execute(a.delete().where(a.c.run_id == run_id))
            conn.execute(u.delete().where(u.c.run_id == run_id))
            for chunk in _chunks([{**row, "run_id": run_id} for row in assignments], 5000):
                conn.execute(a.insert(), chunk)
            for chunk in _chunks([{**row, "run_id": run_id} for row in uncovered], 5000):
                conn.execute(u.insert(), chunk)
            conn.execute(r.update().where(r.c.id == run_id).values(status=SOLVED, **values))

    def blobs(self, run_id: int) -> tuple[Any, Any]:
        """The stored (problem dict, schedule dict) of a solved run."""
        from sqlalchemy import select

        r = self.t.runs
        with self.engine.connect() as conn:
            row = conn.execute(select(r.c.problem, r.c.schedule).where(r.c.id == run_id)).one()
        return unpack(row.problem), unpack(row.schedule)

    def finish(self, run_id: int, date: str, values: Mapping[str, Any]) -> None:
        """Publish the run: status ``finished``, the only ``current`` run of its date."""
        r = self.t.runs
        with self.engine.begin() as conn:
            conn.execute(
                r.update().where((r.c.date == date) & (r.c.id != run_id) & r.c.current).values(current=False)
            )
            conn.execute(r.update().where(r.c.id == run_id).values(status=FINISHED, current=True, **values))

    def current_runs(self, first: str, last: str) -> list[tuple[int, str, str]]:
        """``(id, date, run_key)`` of the published run of every date in ``[first, last]``."""
        from sqlalchemy import select

        r = self.t.runs
        query = (
            select(r.c.id, r.c.date, r.c.run_key)
            .where(r.c.current & (r.c.status == FINISHED) & (r.c.date >= first) & (r.c.date <= last))
            .order_by(r.c.date)
        )
        with self.engine.connect() as conn:
            return [(int(i), str(d), str(k)) for i, d, k in conn.execute(query)]

    def first_date(self) -> str | None:
        """The earliest date with a published run."""
        from sqlalchemy import func, select

        r = self.t.runs
        with self.engine.connect() as conn:
            value = conn.execute(select(func.min(r.c.date)).where(r.c.status == FINISHED)).scalar()
        return str(value) if value is not None else None

    # --------------------------------------------------------------- plan rows

    def plan_rows(self, run_ids: Sequence[int], window: tuple[int, int] | None = None) -> Iterator[Any]:
        """Assignment rows of runs, with the acceptance status of each pair.

        ``window`` keeps tasks whose window starts in ``[lo, hi)`` (epoch seconds).
        """
        from sqlalchemy import select

        a, acc = self.t.assignments, self.t.acceptances
        if not run_ids:
            return iter(())
        query = (
            select(a.c.run_id, a.c.task, a.c.volunteer, a.c.recipient, a.c.minutes, a.c.window_ts, acc.c.status)
            .select_from(a.outerjoin(acc, (acc.c.task == a.c.task) & (acc.c.volunteer == a.c.volunteer)))
            .where(a.c.run_id.in_(list(run_ids)))
        )
        if window is not None:
            query = query.where((a.c.window_ts >= window[0]) & (a.c.window_ts < window[1]))
        return self._rows(query)

    def uncovered_rows(self, run_ids: Sequence[int], window: tuple[int, int] | None = None) -> Iterator[Any]:
        """Uncovered rows ``(run_id, task, recipient, window_ts, tier, reason)`` of runs."""
        from sqlalchemy import select

        u = self.t.uncovered
        if not run_ids:
            return iter(())
        query = select(u.c.run_id, u.c.task, u.c.recipient, u.c.window_ts, u.c.tier, u.c.reason).where(
            u.c.run_id.in_(list(run_ids))
        )
        if window is not None:
            query = query.where((u.c.window_ts >= window[0]) & (u.c.window_ts < window[1]))
        return self._rows(query)

    def acceptances_for(self, tasks: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(task, volunteer, status)`` of every acceptance of the given tasks."""
        from sqlalchemy import select

        acc = self.t.acceptances
        out: list[tuple[str, str, str]] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(tasks)), 900):
                query = select(acc.c.task, acc.c.volunteer, acc.c.status).where(acc.c.task.in_(chunk))
                out += [(str(t), str(v), str(s)) for t, v, s in conn.execute(query)]
        return sorted(out)

    def slots_of(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        """``(start, end)`` of each (task, volunteer) pair in the latest run that proposed it."""
        from sqlalchemy import select

        a = self.t.assignments
        wanted = set(pairs)
        best: dict[tuple[str, str], tuple[int, str, str]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted({t for t, _ in wanted}), 900):
                query = select(a.c.run_id, a.c.task, a.c.volunteer, a.c.start, a.c.end).where(a.c.task.in_(chunk))
                for run_id, task, vol, start, end in conn.execute(query):
                    key = (str(task), str(vol))
                    if key in wanted and (key not in best or run_id > best[key][0]):
                        best[key] = (int(run_id), str(start), str(end))
        return {key: (start, end) for key, (_, start, end) in best.items()}

    def record_acceptances(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace acceptances ``{task, volunteer, status[, responded_at, note]}``."""
        acc = self.t.acceptances
        with self.engine.begin() as conn:
            for row in rows:
                key = (acc.c.task == row["task"]) & (acc.c.volunteer == row["volunteer"])
                conn.execute(acc.delete().where(key))
            for chunk in _chunks(list(rows), 5000):
                conn.execute(acc.insert(), chunk)
        return len(rows)

    def _rows(self, query: Any) -> Iterator[Any]:
        with self.engine.connect() as conn:
            yield from conn.execute(query).all()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
