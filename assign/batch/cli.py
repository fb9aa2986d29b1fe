"""``assign batch``: the nightly job on the command line.

Hooked into :mod:`assign.cli` by two calls::

    from .batch.cli import add_subparser   # in build_parser(): add_subparser(sub)
    # the sub-parser sets ``run=assign.batch.cli.run``; main() calls args.run(args, stdout)

``run`` returns the exit code (see ``docs/batch.md`` and ``assign batch --help``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

EPILOG = """\
exit codes:
  0  the night is planned and published (or was already, identically)
  1  unexpected internal error (a bug: the traceback is logged)
  2  bad input, bad configuration or bad command line; nothing was written
     (a rejected input is recorded in the ledger as a failed run)
  3  the ledger or input database is unreachable or refused an operation
  4  the output folder cannot be written (permissions, disk full)
  5  another batch job holds the output folder's lock

Logs go to stderr: text lines (with elapsed times on a terminal) or, with
--log-json, one JSON object per line. A one-line summary goes to stdout.
"""


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``batch`` sub-command to an argparse sub-parsers object."""
    p = subparsers.add_parser(
        "batch",
        help="the nightly job: plan one date from a config file, with a ledger and published outputs",
        description="Plan one night: read the input, feed back the ledger's history, solve, write the "
        "date's folder (schedule, CSV sheets, calendars, report) and record the run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, metavar="TOML", help="the job's config file (see docs/batch.md)")
    p.add_argument("--date", default=None, metavar="DATE",
                   help="YYYY-MM-DD, 'today' or 'tomorrow' (default: tomorrow in the job's time zone)")
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line on stderr")
    p.add_argument("--quiet", action="store_true", help="text logs: only warnings and errors")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Run the job for ``args`` (from :func:`add_subparser`); returns the exit code."""
    from .config import ConfigError, load_config
    from .log import BatchLog
    from .run import EXIT_BAD_INPUT, run_batch

    stdout = stdout or sys.stdout
    stderr = getattr(args, "stderr", None) or sys.stderr
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        fmt = "json" if args.log_json else "text"
        BatchLog(fmt, stderr).error("config", str(exc), exit_code=EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    fmt = "json" if args.log_json else config.log.format
    log = BatchLog(fmt, stderr, quiet=bool(args.quiet))
    result = run_batch(config, args.date, log)
    if result.exit_code == 0:
        print(f"{result.date}: {result.message}", file=stdout)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    """``python -m assign.batch.cli --config ...`` (the same as ``assign batch``)."""
    parser = argparse.ArgumentParser(prog="assign")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subparser(sub)
    try:
        args = parser.parse_args(["batch", *(argv if argv is not None else sys.argv[1:])])
    except SystemExit as exc:
        return int(exc.code or 0)
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
