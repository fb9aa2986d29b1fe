"""The files of one night, rendered in memory and put in place atomically.

Folder ``<output dir>/<date>/``::

    schedule.json           SPEC §8 schedule (``solver.seconds`` is 0: timings live in the ledger)
    assignments.csv         task, volunteer, start, end, travel_km      (SPEC §9, machine-readable)
    unassigned.csv          task, reason, detail                        (SPEC §9, machine-readable)
    dispatch/<community>.csv  the community's visits and uncovered needs, for people
    calendars/<volunteer>.ics one calendar per volunteer with work
    report.html             the self-contained report
    manifest.json           run key and SHA-256 of every other file; written last

Every file is written to a temporary name in its folder, flushed to disk and
renamed over the old one (:func:`write_atomic`, as
:func:`assign.io.atomic.write_bytes_atomic` but with an ordinary file mode), so
a reader sees the old file or the new one, never half of one. A file whose bytes do not change is
not touched. Files of an earlier plan that the new plan no longer has (the
calendar of a volunteer with no more visits) are removed after the new files
are in place, and ``manifest.json`` is written last: when its run key is the
ledger's current run for the date, the folder is complete.

Sheets meant for people (the dispatch sheets) neutralise cells a spreadsheet
would run as a formula: text from the input that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..io.atomic import fsync_folder as _fsync_dir
from ..io.atomic import write_bytes_atomic
from ..model import Problem, Schedule

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MANIFEST = "manifest.json"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}

#: Test seam: ``ASSIGN_BATCH_KILL_AT=outputs:N`` kills the process (SIGKILL)
#: after N changed files were put in place (see tests/test_batch_crash.py).
KILL_ENV = "ASSIGN_BATCH_KILL_AT"


def kill_point(name: str) -> None:
    """Kill this process with SIGKILL when ``ASSIGN_BATCH_KILL_AT`` names ``name``
    (a test seam for the crash tests; unset in production)."""
    if os.environ.get(KILL_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def safe_cell(value: Any) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def file_name(ident: str, suffix: str) -> str:
    """A portable file name for an id: the id itself when it is plain, else a
    cleaned form with a hash (ids may hold ``/``, ``..`` or markup)."""
    if _SAFE_NAME.fullmatch(ident) and ident.lower().split(".")[0] not in _RESERVED and not ident.endswith("."):
        return ident + suffix
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", ident)[:40].strip("._") or "id"
    return f"{clean}-{hashlib.sha256(ident.encode()).hexdigest()[:10]}{suffix}"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def schedule_json(schedule: Schedule) -> bytes:
    from ..io.json_io import schedule_to_json

    return schedule_to_json(schedule).encode("utf-8")


def assignments_csv(schedule: Schedule) -> bytes:
    from ..io.json_io import iso_stamp

    return _csv(
        ("task", "volunteer", "start", "end", "travel_km"),
        [
            (a.task, a.volunteer, iso_stamp(a.start), iso_stamp(a.end) if a.end else "",
             "" if a.travel_km is None else f"{a.travel_km:.2f}")
            for a in schedule.assignments
        ],
    )


def unassigned_csv(schedule: Schedule) -> bytes:
    return _csv(("task", "reason", "detail"), [(u.task, u.reason, u.detail) for u in schedule.unassigned])


DISPATCH_HEADER = (
    "day", "start", "end", "task", "service", "tier", "recipient", "recipient_groups",
    "recipient_lat", "recipient_lon", "volunteer", "volunteer_org", "volunteer_community",
    "team_size", "travel_km", "status", "reason", "detail",
)


def dispatch_sheets(problem: Problem, schedule: Schedule) -> dict[str, bytes]:
    """``{community id: CSV bytes}``: each community's visits (one row per
    volunteer) and uncovered needs, by day and time. UTF-8 with a byte-order
    mark so that spreadsheets detect the encoding."""
    zone = problem.horizon.timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    tasks = {t.id: t for t in problem.tasks}
    recs = {r.id: r for r in problem.recipients}
    vols = {v.id: v for v in problem.volunteers}
    rows: dict[str, list[tuple[Any, ...]]] = {c.id: [] for c in problem.communities}

    def local(moment: datetime) -> datetime:
        return moment.astimezone(tz)

    for a in schedule.assignments:
        task = tasks.get(a.task)
        if task is None or task.recipient not in recs:
            continue
        rec = recs[task.recipient]
        vol = vols.get(a.volunteer)
        start = local(a.start)
        end = local(a.end) if a.end else start
        status = "accepted" if a.volunteer in task.pinned else "assigned"
        rows.setdefault(rec.community, []).append((
            (start, task.id, a.volunteer),
            start.strftime("%Y-%m-%d"), start.strftime("%H:%M"), end.strftime("%H:%M"),
            safe_cell(task.id), safe_cell(task.service), problem.task_tier(task), safe_cell(rec.id),
            safe_cell(";".join(rec.groups)), f"{rec.lat:.6f}", f"{rec.lon:.6f}",
            safe_cell(a.volunteer), safe_cell(vol.org if vol else ""), safe_cell(vol.community if vol else ""),
            task.volunteers_needed, "" if a.travel_km is None else f"{a.travel_km:.2f}", status, "", "",
        ))
    for u in schedule.unassigned:
        task = tasks.get(u.task)
        if task is None or task.recipient not in recs:
            continue
        rec = recs[task.recipient]
        ws, we = local(task.window_start), local(task.window_end)
        rows.setdefault(rec.community, []).append((
            (ws, task.id, ""),
            ws.strftime("%Y-%m-%d"), ws.strftime("%H:%M"), we.strftime("%H:%M"),
            safe_cell(task.id), safe_cell(task.service), problem.task_tier(task), safe_cell(rec.id),
            safe_cell(";".join(rec.groups)), f"{rec.lat:.6f}", f"{rec.lon:.6f}",
            "", "", "", task.volunteers_needed, "", "uncovered", u.reason, safe_cell(u.detail),
        ))
    out = {}
    for community, items in rows.items():
        items.sort(key=lambda row: row[0])
        out[community] = _csv(DISPATCH_HEADER, [row[1:] for row in items], bom=True)
    return out


def render_all(
    problem: Problem,
    schedule: Schedule,
    meta: Mapping[str, Any],
    *,
    dispatch: bool = True,
    calendars: bool = True,
    report: bool = True,
    report_rows: int = 500,
    progress: Callable[[str], None] | None = None,
) -> dict[str, bytes]:
    """Every file of the night's folder, by relative path (manifest included)."""
    files: dict[str, bytes] = {
        "schedule.json": schedule_json(schedule),
        "assignments.csv": assignments_csv(schedule),
        "unassigned.csv": unassigned_csv(schedule),
    }
    if dispatch:
        for community, data in dispatch_sheets(problem, schedule).items():
            files[f"dispatch/{file_name(community, '.csv')}"] = data
    if calendars:
        from .calendars import volunteer_calendars

        if progress:
            progress("writing calendars")
        stamp = problem.horizon.start
        for volunteer, data in volunteer_calendars(problem, schedule, stamp).items():
            files[f"calendars/{file_name(volunteer, '.ics')}"] = data
    if report:
        from .report import render_report

        if progress:
            progress("drawing the report")
        files["report.html"] = render_report(problem, schedule, meta, report_rows)
    manifest = {
        "format": "assign/batch-manifest@1",
        "date": meta.get("date"),
        "run_key": meta.get("run_key"),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[MANIFEST] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return files


def write_folder(folder: Path, files: Mapping[str, bytes]) -> dict[str, int]:
    """Put ``files`` in ``folder`` (see the module docstring); returns counts of
    files written, unchanged and removed."""
    folder.mkdir(parents=True, exist_ok=True)
    _remove_temporaries(folder)
    manifest = folder / MANIFEST
    if manifest.is_file() and manifest.read_bytes() != files.get(MANIFEST):
        manifest.unlink()  # no manifest = the folder is being replaced
    written = unchanged = removed = 0
    names = [n for n in sorted(files) if n != MANIFEST]
    for name in names:
        target = folder / name
        data = files[name]
        if target.is_file() and target.read_bytes() == data:
            unchanged += 1
        else:
            write_atomic(target, data)
            written += 1
            kill_point(f"outputs:{written}")
    keep = set(files)
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.relative_to(folder).as_posix() not in keep:
            path.unlink()
            removed += 1
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if MANIFEST in files:
        target = folder / MANIFEST
        if target.is_file() and target.read_bytes() == files[MANIFEST]:
            unchanged += 1
        else:
            write_atomic(target, files[MANIFEST])
            written += 1
    # every folder that received or lost a file (dispatch/, calendars/ ...),
    # the deepest first, then the folder and its parent (which got it): a
    # rename is durable once its folder is (only the date folder was synced:
    # the audit of stop 47)
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _fsync_dir(path)
    _fsync_dir(folder)
    _fsync_dir(folder.parent)
    return {"written": written, "unchanged": unchanged, "removed": removed}


def write_atomic(target: Path, data: bytes, mode: int | None = None) -> None:
    """:func:`assign.io.atomic.write_bytes_atomic` (ordinary file mode, not 0600)."""
    write_bytes_atomic(target, data, mode)


def _remove_temporaries(folder: Path) -> None:
    """Temporary files left by a write that was killed (``.name.XXXX.tmp``)."""
    for path in folder.rglob(".*.tmp"):
        if path.is_file():
            path.unlink()
