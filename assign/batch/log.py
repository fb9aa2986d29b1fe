"""How the nightly job talks: text or JSON lines on stderr, progress on a terminal.

* ``text`` (default): one line per step, ``assign batch <date>: <message>``;
  cron mails them, journald keeps them.
* ``json``: one JSON object per line: ``time`` (UTC, ISO 8601), ``level``,
  ``event``, ``message`` and the event's fields (``date``, ``run_key``,
  ``exit_code``...). For log shippers.
* On a terminal (stderr is a TTY) the text mode also shows the elapsed time
  of every step.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO


class BatchLog:
    """A small structured logger for one job."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None, quiet: bool = False):
        self.fmt = fmt
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = time.perf_counter()
        self.date = ""

    def _emit(self, level: str, event: str, message: str, fields: dict[str, Any]) -> None:
        if self.fmt == "json":
            record = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": level,
                "event": event,
                "message": message,
                **({"date": self.date} if self.date and "date" not in fields else {}),
                **fields,
            }
            self.stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        else:
            if self.quiet and level == "info":
                return
            head = f"assign batch {self.date}".rstrip()
            elapsed = f" [{time.perf_counter() - self.clock:6.1f} s]" if self.tty else ""
            prefix = "" if level == "info" else f"{level}: "
            self.stream.write(f"{head}{elapsed}: {prefix}{message}\n")
        self.stream.flush()

    def info(self, event: str, message: str, **fields: Any) -> None:
        self._emit("info", event, message, fields)

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self._emit("warning", event, message, fields)

    def error(self, event: str, message: str, **fields: Any) -> None:
        self._emit("error", event, message, fields)

    def progress(self, message: str) -> None:
        """A step worth showing: logged in JSON mode as ``progress``."""
        self._emit("info", "progress", message, {})
