"""The SPEC §9 table bundle: a folder with ``problem.toml`` and CSV tables.

Layout (see ``docs/formats.md``)::

    problem.toml      format, name, [horizon], [policy] (+ [policy.service_tiers] ...)
    communities.csv   id, name, lat, lon
    volunteers.csv    id, community, org, lat, lon, skills, max_minutes, ...
    availability.csv  volunteer, start, end        (one row per free interval)
    recipients.csv    id, community, lat, lon, groups, ...
    tasks.csv         id, recipient, service, tier, required_skills, ...
    history.csv       task, volunteer, recipient, start, minutes   (optional)

Reading turns the tables into the JSON-shaped dict of SPEC §3 plus a
:class:`~assign.validate.SourceMap` (file and CSV line of every entity) and hands
both to :func:`~assign.validate.build_problem`, so every message names the file,
the entity, the line, the id and the field. Table-level problems (missing file,
invalid UTF-8, bad header, wrong number of cells, a number that is not one, an
empty list item) are found here and reported the same way.

Writing states every value the :class:`~assign.model.Problem` holds (floats with
``repr``, datetimes exactly as the JSON form writes them, ``None`` as an empty
cell), so JSON -> bundle -> JSON changes nothing.
"""

from __future__ import annotations

import csv
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import tomli_w

from ..errors import InputIssue, ProblemError
from ..model import Problem
from ..validate import SourceMap, build_problem
from .atomic import write_texts_atomic
from .json_io import problem_to_dict

Kind = Literal["str", "int", "float", "list"]

TOML_NAME = "problem.toml"
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Table:
    """One CSV file of the bundle: its section in the JSON form and its columns."""

    section: str
    file: str
    entity: str
    columns: tuple[tuple[str, Kind], ...]
    required: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


TABLES: tuple[Table, ...] = (
    Table(
        "communities",
        "communities.csv",
        "community",
        (("id", "str"), ("name", "str"), ("lat", "float"), ("lon", "float")),
    ),
    Table(
        "volunteers",
        "volunteers.csv",
        "volunteer",
        (
            ("id", "str"),
            ("community", "str"),
            ("org", "str"),
            ("lat", "float"),
            ("lon", "float"),
            ("skills", "list"),
            ("max_minutes", "int"),
            ("max_tasks_per_day", "int"),
            ("max_travel_km", "float"),
            ("preferred_services", "list"),
            ("history_minutes", "int"),
            ("history_capacity", "int"),
        ),
    ),
    Table(
        "availability",
        "availability.csv",
        "availability",
        (("volunteer", "str"), ("start", "str"), ("end", "str")),
    ),
    Table(
        "recipients",
        "recipients.csv",
        "recipient",
        (
            ("id", "str"),
            ("community", "str"),
            ("lat", "float"),
            ("lon", "float"),
            ("groups", "list"),
            ("preferred_volunteers", "list"),
            ("excluded_volunteers", "list"),
            ("missed_visits", "int"),
        ),
    ),
    Table(
        "tasks",
        "tasks.csv",
        "task",
        (
            ("id", "str"),
            ("recipient", "str"),
            ("service", "str"),
            ("tier", "int"),
            ("required_skills", "list"),
            ("window_start", "str"),
            ("window_end", "str"),
            ("duration_min", "int"),
            ("volunteers_needed", "int"),
            ("pinned", "list"),
            ("previous_volunteers", "list"),
        ),
    ),
    Table(
        "history",
        "history.csv",
        "history assignment",
        (
            ("task", "str"),
            ("volunteer", "str"),
            ("recipient", "str"),
            ("start", "str"),
            ("minutes", "int"),
        ),
        required=False,
    ),
)
TABLE_BY_SECTION: dict[str, Table] = {table.section: table for table in TABLES}
#: every file a bundle folder may hold
BUNDLE_FILES: tuple[str, ...] = (TOML_NAME, *(table.file for table in TABLES))
ENTITY_SECTIONS = ("communities", "volunteers", "recipients", "tasks")


@dataclass
class _Row:
    line: int
    cells: dict[str, str]


def _path(folder: Path, name: str) -> str:
    return str(folder / name)


def _is_blank(cells: list[str]) -> bool:
    """An empty line, a line of white space, or a line of empty cells (``,,,``)."""
    if len(cells) == 1:
        return cells[0].strip() == ""
    return not any(cells)


def _decode(data: bytes, file: str, entity: str) -> tuple[str | None, list[InputIssue]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            InputIssue(file, entity, line, None, None, f"invalid UTF-8 at byte {exc.start} (line {line})")
        ]


def _read_bytes(path: Path, file: str, entity: str) -> tuple[bytes | None, list[InputIssue]]:
    try:
        return path.read_bytes(), []
    except FileNotFoundError:
        return None, [InputIssue(file, entity, None, None, None, "file is missing")]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [InputIssue(file, entity, None, None, None, f"cannot read file: {reason}")]


def _read_table(folder: Path, table: Table) -> tuple[list[_Row] | None, list[InputIssue]]:
    """The rows of one CSV file, or the structural issues that stop reading it.

    A missing optional table gives ``None`` and no issue.
    """
    file = _path(folder, table.file)
    path = folder / table.file
    if not table.required and not path.exists():
        return None, []
    data, issues = _read_bytes(path, file, table.entity)
    if data is None:
        return None, issues
    text, issues = _decode(data, file, table.entity)
    if text is None:
        return None, issues

    reader = csv.reader(StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[_Row] = []
    issues = []
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if _is_blank(cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                issues.extend(_check_header(header, table, file, line))
                if issues:
                    return None, issues
                continue
            if len(cells) != len(header):
                ident = cells[header.index("id")] if "id" in header and len(cells) > header.index("id") else None
                issues.append(
                    InputIssue(
                        file, table.entity, line, ident or None, None,
                        f"expected {len(header)} cells (one per header column), found {len(cells)}",
                    )
                )
                continue
            rows.append(_Row(line, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        issues.append(InputIssue(file, table.entity, reader.line_num, None, None, f"unreadable CSV: {exc}"))
        return None, issues
    if header is None:
        issues.append(
            InputIssue(
                file, table.entity, 1, None, None,
                f"empty file: expected a header row with {', '.join(table.names)}",
            )
        )
        return None, issues
    return (rows if not issues else None), issues


def _check_header(header: list[str], table: Table, file: str, line: int) -> list[InputIssue]:
    issues = []
    known = set(table.names)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            issues.append(InputIssue(file, table.entity, line, None, name, f"duplicate column {name!r}"))
        elif name not in known:
            issues.append(
                InputIssue(
                    file, table.entity, line, None, name or None,
                    f"unknown column {name!r}; the columns are {', '.join(table.names)}",
                )
            )
        seen.add(name)
    for name in table.names:
        if name not in seen:
            issues.append(InputIssue(file, table.entity, line, None, name, f"missing column {name!r}"))
    return issues


def _number(text: str, kind: Kind) -> int | float | None:
    """Parse a numeric cell; ``None`` when it is not a number.

    Integer columns take whole numbers and integral floats (``"120.0"``); what is
    left of a float (``"1.5"``, ``"nan"``) goes on to the model, which says why it
    is no whole number. ``"nan"``/``"inf"`` parse as floats for the model to refuse.
    Only ASCII without ``_`` is a number: Python's own parsers also take
    ``"6_0"`` and other scripts' digits as 60 (the audit of stop 47).
    """
    if not text.isascii() or "_" in text:
        return None
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        return None


def _convert_row(
    row: _Row, table: Table, file: str
) -> tuple[dict[str, Any], list[InputIssue]]:
    """The JSON-shaped dict of one CSV row; empty cells are left out (= default)."""
    out: dict[str, Any] = {}
    issues: list[InputIssue] = []
    # (a history row is named by its past task, as the model names it; an
    # availability row by its volunteer)
    ident = row.cells.get("id") or row.cells.get("task") or row.cells.get("volunteer") or None
    for name, kind in table.columns:
        cell = row.cells[name]
        if kind == "str":
            if cell != "":
                out[name] = cell
            continue
        text = cell.strip()
        if text == "":
            continue
        if kind == "list":
            items = [item.strip() for item in text.split(LIST_SEPARATOR)]
            if any(item == "" for item in items):
                issues.append(
                    InputIssue(
                        file, table.entity, row.line, ident, name,
                        f"empty item in list {cell!r} (items are separated by a single "
                        f"{LIST_SEPARATOR!r}, none may be empty)",
                    )
                )
            out[name] = items
            continue
        value = _number(text, kind)
        if value is None:
            what = "a whole number" if kind == "int" else "a number"
            issues.append(InputIssue(file, table.entity, row.line, ident, name, f"expected {what}, got {cell!r}"))
            out[name] = cell
        else:
            out[name] = value
    return out, issues


_TOML_LINE = re.compile(r"line (\d+)")


def _read_toml(folder: Path) -> tuple[dict[str, Any] | None, list[InputIssue]]:
    file = _path(folder, TOML_NAME)
    data, issues = _read_bytes(folder / TOML_NAME, file, "problem")
    if data is None:
        return None, issues
    text, issues = _decode(data, file, "problem")
    if text is None:
        return None, issues
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        return None, [InputIssue(file, "problem", line, None, None, f"invalid TOML: {exc}")]


_INTERVAL = re.compile(r"availability interval (\d+)")
_HISTORY_FIELD = re.compile(r"history\.assignments\.(\d+)(?:\.(.*))?$")


def _relocate(
    issue: InputIssue,
    source: SourceMap,
    raw: Mapping[str, Any],
    volunteer_index: Mapping[str, int],
    history_from_csv: bool,
) -> InputIssue:
    """Point issues that validate.py reports coarsely at the exact CSV line."""
    avail_file = source.file("availability")
    if issue.file == avail_file:
        issue = replace(issue, entity="availability")
        match = _INTERVAL.search(issue.message)
        if match and issue.ident is not None and issue.ident in volunteer_index:
            rows = source.availability_rows.get(volunteer_index[issue.ident], [])
            k = int(match.group(1))
            if k < len(rows):
                issue = replace(issue, row=rows[k], field="end")
        return issue
    if history_from_csv and issue.file == source.file("top") and issue.field:
        match = _HISTORY_FIELD.match(issue.field)
        if match:
            index = int(match.group(1))
            items = raw.get("history", {}).get("assignments", [])
            task = items[index].get("task") if index < len(items) else None
            return replace(
                issue,
                file=source.file("history"),
                entity="history assignment",
                row=source.row("history", index),
                ident=task if isinstance(task, str) else None,
                field=match.group(2),
            )
    return issue


def load_bundle(folder: str | os.PathLike[str]) -> Problem:
    """Read and validate a table bundle folder; raises ProblemError on bad input."""
    root = Path(folder)
    toml_file = _path(root, TOML_NAME)
    structural: list[InputIssue] = []

    top, issues = _read_toml(root)
    structural += issues
    tables: dict[str, list[_Row] | None] = {}
    for table in TABLES:
        rows, issues = _read_table(root, table)
        structural += issues
        tables[table.section] = rows
    if structural:
        raise ProblemError(structural)
    assert top is not None

    source = SourceMap(default_file=toml_file)
    source.files["top"] = toml_file
    raw: dict[str, Any] = dict(top)
    cell_issues: list[InputIssue] = []
    # entities in problem.toml were silently replaced by the CSV tables' (the
    # audit of stop 47)
    for section in ENTITY_SECTIONS:
        if section in top:
            csv_name = TABLE_BY_SECTION[section].file
            cell_issues.append(
                InputIssue(toml_file, "problem", None, None, section,
                           f"the {section} of a bundle belong in {csv_name}, not here")
            )

    for section in ENTITY_SECTIONS:
        table = TABLE_BY_SECTION[section]
        file = _path(root, table.file)
        source.files[section] = file
        items = []
        lines = []
        for row in tables[section] or []:
            item, issues = _convert_row(row, table, file)
            cell_issues += issues
            items.append(item)
            lines.append(row.line)
        raw[section] = items
        source.rows[section] = lines

    # availability rows join their volunteer, in file order
    table = TABLE_BY_SECTION["availability"]
    avail_file = _path(root, table.file)
    source.files["availability"] = avail_file
    volunteer_index: dict[str, int] = {}
    for index, vol in enumerate(raw["volunteers"]):
        vid = vol.get("id")
        if isinstance(vid, str):
            volunteer_index.setdefault(vid, index)
    for row in tables["availability"] or []:
        vid = row.cells["volunteer"]
        where = (avail_file, "availability", row.line, vid or None)
        if vid == "":
            cell_issues.append(InputIssue(*where, "volunteer", "required field is missing"))
            continue
        if vid not in volunteer_index:
            cell_issues.append(InputIssue(*where, "volunteer", f"unknown volunteer {vid!r}"))
            continue
        for name in ("start", "end"):
            if row.cells[name].strip() == "":
                cell_issues.append(InputIssue(*where, name, "required field is missing"))
        index = volunteer_index[vid]
        raw["volunteers"][index].setdefault("availability", []).append(
            [row.cells["start"] or None, row.cells["end"] or None]
        )
        source.availability_rows.setdefault(index, []).append(row.line)

    # history: history.csv when it has rows, else [[history.assignments]] in problem.toml
    history_rows = tables["history"] or []
    toml_history = top.get("history")
    in_toml = isinstance(toml_history, dict) and bool(toml_history.get("assignments"))
    history_from_csv = bool(history_rows)
    if history_from_csv:
        table = TABLE_BY_SECTION["history"]
        file = _path(root, table.file)
        source.files["history"] = file
        if in_toml:
            cell_issues.append(
                InputIssue(
                    toml_file, "problem", None, None, "history",
                    f"history is given both here and in {table.file}; keep one",
                )
            )
        items = []
        for row in history_rows:
            item, issues = _convert_row(row, table, file)
            cell_issues += issues
            items.append(item)
        raw["history"] = {"assignments": items}
        source.rows["history"] = [row.line for row in history_rows]

    try:
        problem = build_problem(raw, source)
    except ProblemError as exc:
        located = [_relocate(i, source, raw, volunteer_index, history_from_csv) for i in exc.issues]
        seen = {(i.file, i.row, i.field) for i in cell_issues}
        merged = cell_issues + [i for i in located if (i.file, i.row, i.field) not in seen]
        raise ProblemError(merged) from None
    if cell_issues:
        raise ProblemError(cell_issues)
    return problem


# --------------------------------------------------------------------------- writing


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # no bool columns exist; kept explicit for safety
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def _list_problems(items: Iterable[Any]) -> str | None:
    for item in items:
        text = str(item)
        if text == "":
            return "an empty list item"
        if LIST_SEPARATOR in text:
            return f"list item {text!r} contains {LIST_SEPARATOR!r}"
        if text != text.strip():
            return f"list item {text!r} starts or ends with white space"
    return None


def _csv_cell(text: str) -> str:
    """One CSV cell, quoted when needed (RFC 4180; a lone ``\r`` is quoted too,
    which the stdlib writer does not do with ``\n`` line ends)."""
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_text(table: Table, records: list[dict[str, Any]], issues: list[InputIssue], file: str) -> str:
    lines = [",".join(table.names)]
    for index, record in enumerate(records):
        for name, kind in table.columns:
            value = record.get(name)
            if kind == "list" and value:
                problem = _list_problems(value)
                if problem:
                    issues.append(
                        InputIssue(
                            file, table.entity, index + 2,
                            record.get("id") or record.get("volunteer") or record.get("task"),
                            name, f"cannot be written as a table cell: {problem}",
                        )
                    )
        lines.append(",".join(_csv_cell(_cell(record.get(name))) for name in table.names))
    return "\n".join(lines) + "\n"


#: the command line's headline when a valid problem cannot be written as tables
UNWRITABLE = "the problem cannot be written as a table bundle"


def bundle_texts(problem: Problem) -> dict[str, str]:
    """The text of every file of the bundle of ``problem``, by file name.

    Raises ProblemError when a list item cannot be written to a ``;``-separated
    cell (it contains ``;``, is empty or has surrounding white space).
    """
    data = problem_to_dict(problem)
    issues: list[InputIssue] = []
    head: dict[str, Any] = {key: data[key] for key in ("format", "name", "horizon", "policy") if key in data}
    texts = {
        TOML_NAME: "# assign problem bundle (format, horizon, policy); the tables are the CSV files\n"
        + tomli_w.dumps(head)
    }
    availability = [
        {"volunteer": vol["id"], "start": start, "end": end}
        for vol in data.get("volunteers", [])
        for start, end in vol.get("availability", [])
    ]
    records: dict[str, list[dict[str, Any]]] = {
        "communities": data.get("communities", []),
        "volunteers": data.get("volunteers", []),
        "availability": availability,
        "recipients": data.get("recipients", []),
        "tasks": data.get("tasks", []),
        "history": data.get("history", {}).get("assignments", []),
    }
    for table in TABLES:
        texts[table.file] = _csv_text(table, records[table.section], issues, table.file)
    if issues:
        raise ProblemError(issues, UNWRITABLE)
    return texts


def save_bundle(problem: Problem, folder: str | os.PathLike[str]) -> None:
    """Write ``problem`` as a table bundle into ``folder`` (created if needed).

    Every file is written atomically, all of them before the first replaces an
    old one (:func:`~.atomic.write_texts_atomic`); nothing is written when the problem cannot
    be represented as tables (see :func:`bundle_texts`). ``history.csv`` is always
    written (header only when there is no history) so that an old one never lingers.
    """
    root = Path(folder)
    try:
        texts = bundle_texts(problem)
    except ProblemError as exc:
        raise ProblemError([replace(i, file=_path(root, i.file)) for i in exc.issues], exc.headline) from None
    write_texts_atomic([(root / name, text) for name, text in texts.items()])
