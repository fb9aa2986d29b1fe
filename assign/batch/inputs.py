"""Where a night's problem comes from: a table bundle, a problem JSON file, or
input tables in a SQL database; and how one date's horizon is cut out of it.

The input describes the county over any span (a week, a month, a year): every
volunteer, their free time, every recipient and every requested visit. A night
plans ``[date 00:00, date + horizon_days)`` in the job's time zone: the tasks
whose whole window lies inside it, the free time clipped to it, and pledged
minutes scaled to it (see :func:`horizon_problem`).

Database input tables (names take the ``[input] prefix``) mirror the SPEC §9
files; list cells hold ``;``-separated items as in the CSV files, datetimes are
ISO 8601 text with an offset:

=================  =============================================================
``problem``        one row: ``id`` (1), ``format``, ``name``, ``horizon_start``,
                   ``horizon_end``, ``timezone``, ``policy`` (a JSON object or empty)
``communities``    id, name, lat, lon
``volunteers``     id, community, org, lat, lon, skills, max_minutes,
                   max_tasks_per_day, max_travel_km, preferred_services,
                   history_minutes, history_capacity
``availability``   ``id`` (integer key, gives the order), volunteer, start, end
``recipients``     id, community, lat, lon, groups, preferred_volunteers,
                   excluded_volunteers, missed_visits
``tasks``          id, recipient, service, tier, required_skills, window_start,
                   window_end, duration_min, volunteers_needed, pinned,
                   previous_volunteers
=================  =============================================================
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InputIssue, ProblemError
from ..model import Problem, Volunteer, interval_union
from .config import BatchConfig, redact

LIST_COLUMNS = {
    "skills", "preferred_services", "groups", "preferred_volunteers",
    "excluded_volunteers", "required_skills", "pinned", "previous_volunteers",
}
INT_COLUMNS = {
    "max_minutes", "max_tasks_per_day", "history_minutes", "history_capacity",
    "missed_visits", "tier", "duration_min", "volunteers_needed",
}
FLOAT_COLUMNS = {"lat", "lon", "max_travel_km"}
ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "communities": ("id", "name", "lat", "lon"),
    "volunteers": (
        "id", "community", "org", "lat", "lon", "skills", "max_minutes", "max_tasks_per_day",
        "max_travel_km", "preferred_services", "history_minutes", "history_capacity",
    ),
    "recipients": (
        "id", "community", "lat", "lon", "groups", "preferred_volunteers",
        "excluded_volunteers", "missed_visits",
    ),
    "tasks": (
        "id", "recipient", "service", "tier", "required_skills", "window_start", "window_end",
        "duration_min", "volunteers_needed", "pinned", "previous_volunteers",
    ),
}


@dataclass(frozen=True)
class LoadedInput:
    """The whole input problem, the hash of its raw bytes and where it came from."""

    problem: Problem
    input_hash: str
    source: str


# ------------------------------------------------------------------ hashing


def hash_input(config: BatchConfig) -> tuple[str, str]:
    """``(sha256 of the raw input, description)``; works on input that fails to
    parse, so that a failed run is recorded under its input's hash."""
    kind = config.input_kind()
    digest = hashlib.sha256()
    if kind == "database":
        return _hash_database(config), f"database {redact(config.input_url())}"
    assert config.input.path is not None
    path = config.path(config.input.path)
    if kind == "json":
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
        return digest.hexdigest(), str(path)
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_file() and not child.name.startswith("."):
                digest.update(child.name.encode() + b"\0")
                digest.update(child.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest(), str(path)


def _hash_database(config: BatchConfig) -> str:
    digest = hashlib.sha256()
    for name, rows in _read_database_rows(config).items():
        digest.update(name.encode() + b"\0")
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
    return digest.hexdigest()


# ------------------------------------------------------------------ loading


def load_input(config: BatchConfig) -> LoadedInput:
    """Load and validate the configured input; :class:`ProblemError` when bad."""
    from ..io import load

    input_hash, source = hash_input(config)
    kind = config.input_kind()
    if kind == "database":
        problem = load_database(config)
    else:
        if config.input.path is None:
            raise ProblemError([InputIssue("<config>", "input", None, None, "path", "no input path given")])
        path = config.path(config.input.path)
        if kind == "bundle" and not path.exists():
            raise ProblemError([InputIssue(str(path), "bundle", None, None, None, "folder is missing")])
        problem = load(path)
    return LoadedInput(problem, input_hash, source)


def input_tables(prefix: str = "") -> tuple[dict[str, Any], Any]:
    """SQLAlchemy tables of the database input (see the module docstring) and
    their MetaData."""
    from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

    md = MetaData()

    def col(name: str) -> Column[Any]:
        if name == "id":
            return Column("id", String(64), primary_key=True)
        if name in INT_COLUMNS:
            return Column(name, Integer)
        if name in FLOAT_COLUMNS:
            return Column(name, Float)
        return Column(name, Text)

    tables = {
        "problem": Table(
            f"{prefix}problem", md,
            Column("id", Integer, primary_key=True),
            Column("format", Text, nullable=False),
            Column("name", Text, nullable=False),
            Column("horizon_start", Text, nullable=False),
            Column("horizon_end", Text, nullable=False),
            Column("timezone", Text),
            Column("policy", Text),
        ),
        "availability": Table(
            f"{prefix}availability", md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("volunteer", String(64), nullable=False, index=True),
            Column("start", Text),
            Column("end", Text),
        ),
    }
    for section, columns in ENTITY_COLUMNS.items():
        tables[section] = Table(f"{prefix}{section}", md, *[col(name) for name in columns])
    return tables, md


def _read_database_rows(config: BatchConfig) -> dict[str, list[dict[str, Any]]]:
    from sqlalchemy import inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from .ledger import LedgerError, connect

    url = config.input_url()
    engine = connect(url, config.ledger.connect_timeout)
    tables, _ = input_tables(config.input.prefix)
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        names = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            for section in ("problem", "communities", "volunteers", "availability", "recipients", "tasks"):
                table = tables[section]
                if table.name not in names:
                    out[section] = []
                    continue
                query = select(table).order_by(*table.primary_key.columns)
                out[section] = [dict(row) for row in conn.execute(query).mappings()]
    except SQLAlchemyError as exc:
        raise LedgerError(f"cannot read the input tables at {redact(url)}: {exc}") from None
    finally:
        engine.dispose()
    return out


def load_database(config: BatchConfig) -> Problem:
    """The problem held in the database input tables, validated with located messages."""
    from ..validate import SourceMap, build_problem

    rows = _read_database_rows(config)
    prefix = config.input.prefix
    where = redact(config.input_url())

    def file(section: str) -> str:
        return f"{where} table {prefix}{section}"

    issues: list[InputIssue] = []
    for section in ("problem", "communities", "volunteers", "recipients", "tasks"):
        if not rows[section] and section in ("problem",):
            issues.append(InputIssue(file(section), section, None, None, None, "table is missing or empty"))
    if issues:
        raise ProblemError(issues)
    head = rows["problem"][0]
    raw: dict[str, Any] = {
        "format": head.get("format"),
        "name": head.get("name"),
        "horizon": {"start": head.get("horizon_start"), "end": head.get("horizon_end")},
    }
    if head.get("timezone"):
        raw["horizon"]["timezone"] = head["timezone"]
    if head.get("policy"):
        try:
            raw["policy"] = json.loads(head["policy"])
        except json.JSONDecodeError as exc:
            raise ProblemError(
                [InputIssue(file("problem"), "problem", 1, None, "policy", f"invalid JSON: {exc.msg}")]
            ) from None
    source = SourceMap(default_file=file("problem"), files={"top": file("problem")})
    for section in ("communities", "volunteers", "recipients", "tasks"):
        items = []
        for index, row in enumerate(rows[section]):
            item, row_issues = _convert(row, ENTITY_COLUMNS[section], file(section), section, index + 1)
            issues += row_issues
            items.append(item)
        raw[section] = items
        source.files[section] = file(section)
        source.rows[section] = list(range(1, len(items) + 1))
    index_of = {item.get("id"): i for i, item in enumerate(raw["volunteers"])}
    source.files["availability"] = file("availability")
    for position, row in enumerate(rows["availability"], start=1):
        vid = row.get("volunteer")
        if vid not in index_of:
            issues.append(
                InputIssue(file("availability"), "availability", position, vid, "volunteer",
                           f"unknown volunteer {vid!r}")
            )
            continue
        i = index_of[vid]
        raw["volunteers"][i].setdefault("availability", []).append([row.get("start"), row.get("end")])
        source.availability_rows.setdefault(i, []).append(position)
    try:
        problem = build_problem(raw, source)
    except ProblemError as exc:
        raise ProblemError(issues + exc.issues) from None
    if issues:
        raise ProblemError(issues)
    return problem


def _convert(
    row: Mapping[str, Any], columns: Iterable[str], file: str, section: str, position: int
) -> tuple[dict[str, Any], list[InputIssue]]:
    entity = {"communities": "community", "volunteers": "volunteer", "recipients": "recipient", "tasks": "task"}[section]
    out: dict[str, Any] = {}
    issues: list[InputIssue] = []
    for name in columns:
        value = row.get(name)
        if value is None or (isinstance(value, str) and value.strip() == "" and name != "id"):
            continue
        if name in LIST_COLUMNS:
            items = [item.strip() for item in str(value).split(";")]
            if any(item == "" for item in items):
                issues.append(
                    InputIssue(file, entity, position, row.get("id"), name,
                               f"empty item in list {value!r} (items are separated by a single ';')")
                )
            out[name] = items
        else:
            out[name] = value
    return out, issues


def save_database(problem: Problem, engine: Any, prefix: str = "") -> None:
    """Write ``problem`` into the database input tables (created if missing,
    emptied first), in one transaction. For tests, the simulator and the
    documentation's example."""
    from ..io.json_io import problem_to_dict

    tables, metadata = input_tables(prefix)
    metadata.create_all(engine, checkfirst=True)
    data = problem_to_dict(problem)
    with engine.begin() as conn:
        for section in ("availability", "tasks", "recipients", "volunteers", "communities", "problem"):
            conn.execute(tables[section].delete())
        conn.execute(
            tables["problem"].insert().values(
                id=1, format=data["format"], name=data["name"],
                horizon_start=data["horizon"]["start"], horizon_end=data["horizon"]["end"],
                timezone=data["horizon"].get("timezone"),
                policy=json.dumps(data.get("policy", {}), ensure_ascii=False, sort_keys=True),
            )
        )
        for section, columns in ENTITY_COLUMNS.items():
            records = []
            for item in data.get(section, []):
                record = {}
                for name in columns:
                    value = item.get(name)
                    if name in LIST_COLUMNS:
                        value = ";".join(value) if value else None
                    record[name] = value
                records.append(record)
            for i in range(0, len(records), 5000):
                conn.execute(tables[section].insert(), records[i : i + 5000])
        avail = [
            {"volunteer": vol["id"], "start": start, "end": end}
            for vol in data.get("volunteers", [])
            for start, end in vol.get("availability", [])
        ]
        for i in range(0, len(avail), 5000):
            conn.execute(tables["availability"].insert(), avail[i : i + 5000])


# ------------------------------------------------------------------ one date


def local_midnight(day: Any, zone: str) -> datetime:
    """``day`` (a :class:`datetime.date`) at 00:00 in ``zone``."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def horizon_bounds(day: Any, days: int, zone: str) -> tuple[datetime, datetime]:
    """``[day 00:00, day + days 00:00)`` in ``zone`` (calendar days, DST-safe)."""
    start = local_midnight(day, zone)
    end = local_midnight(day + timedelta(days=days), zone)
    return start, end


def pledge_scale(problem: Problem, horizon_days: float, pledge_days: float | None) -> float:
    """Factor applied to explicit ``max_minutes``: the input's pledge is spread
    evenly over ``pledge_days`` (default: the input's horizon length)."""
    period = pledge_days if pledge_days is not None else problem.horizon.minutes / 1440.0
    return horizon_days / period if period > 0 else 1.0


def scaled_pledge(minutes: int, scale: float) -> int:
    return int(math.floor(minutes * scale + 1e-9))


def clip(intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Intervals intersected with ``[start, end)``; empty ones dropped."""
    out = []
    for a, b in intervals:
        lo, hi = max(a, start), min(b, end)
        if lo < hi:
            out.append((lo, hi))
    return out


def horizon_problem(
    problem: Problem, start: datetime, end: datetime, horizon_days: int, pledge_days: float | None,
    zone: str, name: str,
) -> dict[str, Any]:
    """The JSON-shaped problem of one night: ``[start, end)`` cut out of the input.

    * tasks whose window lies wholly inside the horizon (a task straddling its
      end waits for a later night);
    * every volunteer, with free time clipped to the horizon and an explicit
      ``max_minutes`` scaled by ``horizon_days / pledge_days``;
    * every community and recipient; the input's history passes through.
    """
    scale = pledge_scale(problem, horizon_days, pledge_days)
    volunteers = []
    for vol in problem.volunteers:
        item = _dump(vol)
        item["availability"] = [[_iso(a), _iso(b)] for a, b in clip(vol.availability, start, end)]
        if vol.max_minutes is not None:
            item["max_minutes"] = scaled_pledge(vol.max_minutes, scale)
        volunteers.append(item)
    tasks = [_dump(t) for t in problem.tasks if t.window_start >= start and t.window_end <= end]
    base = problem.model_dump(mode="json", exclude_none=True, include={"format", "policy", "history"})
    return {
        **base,
        "name": name,
        "horizon": {"start": _iso(start), "end": _iso(end), "timezone": zone},
        "communities": [_dump(c) for c in problem.communities],
        "volunteers": volunteers,
        "recipients": [_dump(r) for r in problem.recipients],
        "tasks": tasks,
    }


def availability_minutes(vol: Volunteer, start: datetime, end: datetime) -> int:
    """Minutes of the union of a volunteer's free intervals inside ``[start, end)``."""
    total = sum((b - a).total_seconds() for a, b in interval_union(vol.availability, start, end))
    return int(total // 60)


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", exclude_none=True))


def _iso(moment: datetime) -> str:
    """Datetimes as the JSON writer writes them (offset kept, ``Z`` for UTC)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def problem_hash(raw: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def ensure_path(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
