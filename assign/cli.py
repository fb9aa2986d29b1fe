"""The ``assign`` command line: a thin layer over the library.

Subcommands: ``solve``, ``check``, ``convert``, ``generate``, ``explain`` (``assign --help``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import AssignError, ProblemError

if TYPE_CHECKING:
    from .model import Problem, Schedule

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2

EPILOG = """\
exit codes:
  0  success (for `check`: the schedule is valid)
  1  `check` (or `explain`, which checks first) found violations of the hard
     rules (each listed with its rule number)
  2  bad input (problem, schedule or scenario rejected; every issue is printed on
     stderr and nothing is written) or bad command-line usage
"""


def _positive_seconds(text: str) -> float:
    """A time limit: a finite number of seconds above 0 (as the nightly job's
    ``[solve] time_limit``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text!r}")
    return value


def _whole(least: int) -> Any:
    """A whole number of at least ``least``, for argparse."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


# ------------------------------------------------------------------- summary


def _tier_values(values: Sequence[float]) -> str:
    """``U1=.., U2=..`` with runs of more than three equal values in a row
    written once (``U3-U1000=0``: a problem whose largest tier is 1,000)."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        if j - i >= 3:
            out.append(f"U{i + 1}-U{j + 1}={values[i]:g}")
        else:
            out.extend(f"U{k + 1}={values[k]:g}" for k in range(i, j + 1))
        i = j + 1
    return ", ".join(out) or "(no tasks)"


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def summary(problem: Problem, schedule: Schedule) -> str:
    """A readable summary of a solved schedule."""
    lines = [
        f"problem {problem.name}: {len(problem.communities)} communities, "
        f"{len(problem.volunteers)} volunteers, {len(problem.recipients)} recipients, "
        f"{len(problem.tasks)} tasks"
    ]
    metrics: dict[str, Any] = dict(schedule.metrics)
    coverage = metrics.get("coverage", {})
    by_tier: dict[str, dict[str, int]] = coverage.get("by_tier", {})
    if schedule.score is not None:
        score = schedule.score
        lines.append(
            "score: uncovered weight by tier "
            + _tier_values(score.uncovered)
            + f"; soft {score.soft:.2f}"
        )
        terms = score.terms.model_dump()
        lines.append("  soft terms: " + ", ".join(f"{name} {value:.2f}" for name, value in terms.items()))
    if by_tier:
        lines.append("coverage by tier:")
        for tier, cell in by_tier.items():
            if not cell.get("tasks"):
                continue
            lines.append(
                f"  tier {tier}: {cell['covered']}/{cell['tasks']} tasks "
                f"({_percent(cell['covered'], cell['tasks'])}), weight "
                f"{_percent(cell['covered_weight'], cell['weight'])}"
            )
    total = coverage.get("total")
    if total:
        lines.append(
            f"  all: {total['covered']}/{total['tasks']} tasks ({_percent(total['covered'], total['tasks'])}), "
            f"weight {_percent(total['covered_weight'], total['weight'])}"
        )
    util = metrics.get("utilisation", {})
    if util.get("volunteers"):
        lines.append(
            f"volunteer utilisation ({util['volunteers']} with pledged minutes): mean {util['mean']:.1%}, "
            f"max {util['max']:.1%}, Gini {util['gini']:.3f}, idle {metrics.get('idle_volunteers', 0)}"
        )
    counts: dict[str, int] = {}
    for item in schedule.unassigned:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    if counts:
        lines.append("uncovered needs by reason: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        lines.append("uncovered needs: none")
    if schedule.conflicts:
        lines.append(f"dropped pins: {len(schedule.conflicts)}")
    if schedule.bound is not None:
        bound = schedule.bound
        gap = schedule.gap
        lines.append(
            "bound: "
            + _tier_values(bound.uncovered)
            + f"; soft {bound.soft:.2f}; gap "
            + (f"{gap:.2%}" if gap is not None else "n/a (uncovered part above the bound)")
        )
        # the most urgent tiers whose uncovered weight meets the bound: proven optimal
        proven = 0
        for u, b in zip(schedule.score.uncovered if schedule.score else (), bound.uncovered, strict=False):
            if u != b:
                break
            proven += 1
        lines.append(
            "proven optimal: "
            + (f"tiers 1-{proven}" if proven > 1 else "tier 1" if proven == 1 else "no tier")
            + (" and the soft part" if proven == len(bound.uncovered) and schedule.status == "optimal" else "")
        )
        # how far each tier not proven may still be from its optimum
        score_u = schedule.score.uncovered if schedule.score else ()
        open_tiers = [
            f"U{i + 1} {u:g} vs {b:g} ({(u - b) / max(1.0, abs(u)):.1%})"
            for i, (u, b) in enumerate(zip(score_u, bound.uncovered, strict=False))
            if u != b
        ]
        if open_tiers:
            lines.append("open tiers (uncovered weight vs bound, share not proven): " + ", ".join(open_tiers))
    else:
        lines.append("bound: none")
    solver = schedule.solver
    if solver is not None:
        lines.append(f"status {schedule.status}; strategy {solver.strategy}; {solver.seconds:.2f} s")
    return "\n".join(lines)


# ------------------------------------------------------------------- outputs


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


#: the files ``solve`` writes into its ``--out`` folder
OUTPUT_NAMES = ("schedule.json", "assignments.csv", "unassigned.csv")


def writable_folder(out: Path, names: tuple[str, ...], option: str) -> None:
    """Refuse, before any work, a folder ``out`` that could not take the files
    ``names``: a file in its place or in its path, one of those names taken by
    a folder, or no permission to write (a solve used to run whole and then
    fail on such a folder, after writing part of its files)."""
    where = f"{option} {out}"
    if out.exists() and not out.is_dir():
        raise UsageError(f"{where}: it exists and is not a folder; nothing was written")
    if out.is_dir():
        for name in names:
            if (out / name).exists() and not (out / name).is_file():
                raise UsageError(f"{where}: {name} there is not a file; nothing was written")
        if not os.access(out, os.W_OK | os.X_OK):
            raise UsageError(f"{where}: the folder is not writable; nothing was written")
        return
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is not a folder; nothing was written")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: {parent} is not writable; nothing was written")


def write_outputs(schedule: Schedule, out: Path) -> None:
    """Write ``schedule.json``, ``assignments.csv`` and ``unassigned.csv``
    (each atomically, all three on disk before the first replaces its old
    version: :func:`~assign.io.atomic.write_texts_atomic`)."""
    from .io.atomic import write_texts_atomic
    from .io.json_io import iso_stamp, schedule_to_json

    assignments = _csv_text(
        ("task", "volunteer", "start", "end", "travel_km"),
        [
            (a.task, a.volunteer, iso_stamp(a.start), iso_stamp(a.end) if a.end else "",
             "" if a.travel_km is None else f"{a.travel_km:.2f}")
            for a in schedule.assignments
        ],
    )
    unassigned = _csv_text(
        ("task", "reason", "detail"), [(u.task, u.reason, u.detail) for u in schedule.unassigned]
    )
    texts = dict(zip(OUTPUT_NAMES, (schedule_to_json(schedule), assignments, unassigned), strict=True))
    out.mkdir(parents=True, exist_ok=True)
    write_texts_atomic([(out / name, texts[name]) for name in OUTPUT_NAMES])


def _writable_destination(path: Path, option: str) -> None:
    """:func:`writable_folder` for a problem written by name: a ``*.json``
    file (its folder must take it) or a bundle folder (its files)."""
    from .io.bundle import BUNDLE_FILES

    if str(path).endswith(".json"):
        writable_folder(path.parent, (path.name,), option)
    else:
        writable_folder(path, BUNDLE_FILES, option)


# ------------------------------------------------------------------- commands


class UsageError(AssignError):
    """A command-line value the library refuses (e.g. an unknown strategy)."""


def _cmd_solve(args: argparse.Namespace, stdout: TextIO) -> int:
    from .io import load
    from .solve import solve
    from .solvers import get_strategy

    try:
        get_strategy(args.strategy)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    problem = load(args.problem)
    writable_folder(Path(args.out), OUTPUT_NAMES, "--out")
    schedule = solve(
        problem,
        strategy=args.strategy,
        time_limit=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        k=args.k,
        parts=True if args.parts else None,
    )
    write_outputs(schedule, Path(args.out))
    print(summary(problem, schedule), file=stdout)
    print(f"wrote {Path(args.out) / 'schedule.json'}, assignments.csv, unassigned.csv", file=stdout)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, stdout: TextIO) -> int:
    from .check import check
    from .io import load, load_schedule

    problem = load(args.problem)
    schedule = load_schedule(args.schedule)
    report = check(problem, schedule)
    if report.score is not None:
        score = report.score
        print(
            "score: " + (_tier_values(score.uncovered) + "; " if score.uncovered else "")
            + f"soft {score.soft:.4f}",
            file=stdout,
        )
    if report.valid:
        print("valid: no hard rule is broken", file=stdout)
        return EXIT_OK
    print(f"invalid: {len(report.violations)} violation(s)", file=stdout)
    for violation in report.violations:
        print(f"  {violation}", file=stdout)
    return EXIT_INVALID


def _cmd_explain(args: argparse.Namespace, stdout: TextIO) -> int:
    import json

    from .explain import InvalidScheduleError, explain
    from .io import load, load_schedule

    problem = load(args.problem)
    schedule = load_schedule(args.schedule)
    try:
        report = explain(
            problem, schedule, time_limit=args.time_limit,
            per_volunteer=None if args.per_volunteer == 0 else args.per_volunteer,
        )
    except InvalidScheduleError as exc:
        print(f"invalid: {len(exc.violations)} violation(s); explanations need a valid schedule", file=stdout)
        for violation in exc.violations:
            print(f"  {violation}", file=stdout)
        return EXIT_INVALID
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), file=stdout)
    else:
        print(report.render(limit=args.limit), file=stdout)
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace, stdout: TextIO) -> int:
    from .io import load, save

    problem = load(args.src)
    _writable_destination(Path(args.dst), "DST")
    save(problem, args.dst)
    print(f"wrote {args.dst}", file=stdout)
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace, stdout: TextIO) -> int:
    from .synth import generate_to

    _writable_destination(Path(args.out), "--out")
    generate_to(args.scenario, args.seed, args.out)
    print(f"wrote {args.out}", file=stdout)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``assign``."""
    parser = argparse.ArgumentParser(
        prog="assign",
        description="Assign volunteers to elderly-care tasks (SPEC: problem -> schedule).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "solve", help="solve a problem and write schedule.json, assignments.csv, unassigned.csv",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("problem", metavar="PROBLEM", help="problem JSON file or table-bundle folder")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--strategy", default="auto", metavar="NAME", help="solver strategy: auto (default), cpsat or greedy")
    p.add_argument("--time-limit", type=_positive_seconds, default=None, metavar="S",
                   help="time limit in seconds, the preparation included (default: 60 for auto; cpsat runs "
                        "until it proves its schedule; greedy takes what one pass takes)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--workers", type=_whole(1), default=None, metavar="N",
                   help="solver threads (default: every CPU; 1: repeatable runs, docs/readings.md)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print the solver's steps on stderr as they end (time, step, score so far)")
    p.add_argument("--k", type=_whole(1), default=None, metavar="K",
                   help="give the strategy only each task's K nearest candidate volunteers (less "
                        "memory and time); the greedy fill of what it leaves uncovered may use any "
                        "(default: all)")
    p.add_argument("--parts", action="store_true",
                   help="solve the groups of volunteers that share no task one group at a time "
                        "(two at a time in two processes with two workers or more), memory for one "
                        "group's candidate pairs at a time (a province; without it, done only when "
                        "the whole problem's pairs would not fit the memory)")
    p.set_defaults(run=_cmd_solve)

    p = sub.add_parser(
        "check", help="validate a schedule against its problem",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("problem", metavar="PROBLEM", help="problem JSON file or table-bundle folder")
    p.add_argument("schedule", metavar="SCHEDULE", help="schedule JSON file")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser(
        "explain", help="explain a schedule: reasons, counterfactuals, recruitment list, metrics",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("problem", metavar="PROBLEM", help="problem JSON file or table-bundle folder")
    p.add_argument("schedule", metavar="SCHEDULE", help="schedule JSON file (validated first: exit 1 if invalid)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--time-limit", type=_positive_seconds, default=None, metavar="S",
                   help="seconds for the counterfactual search (default: no limit)")
    p.add_argument("--limit", type=_whole(0), default=20, metavar="N", help="rows per table in the text report (default 20)")
    p.add_argument("--per-volunteer", type=_whole(0), default=0, metavar="N",
                   help="at most N needs name the same volunteer in counterfactuals (default 0: no cap)")
    p.set_defaults(run=_cmd_explain)

    p = sub.add_parser(
        "convert", help="convert a problem between JSON and a table bundle",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("src", metavar="SRC", help="problem JSON file or table-bundle folder")
    p.add_argument("dst", metavar="DST", help="*.json for JSON, anything else for a bundle folder")
    p.set_defaults(run=_cmd_convert)

    p = sub.add_parser(
        "generate", help="generate a synthetic problem from a scenario",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario name (scenarios/NAME.toml) or TOML file")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="PATH", help="output bundle folder (or *.json)")
    p.set_defaults(run=_cmd_generate)
    from .batch.cli import add_subparser as add_batch_subparser

    add_batch_subparser(sub)
    return parser


def _return_freed_memory() -> None:
    """Ask glibc to serve blocks above 8 MiB by mmap (a fixed threshold), so the
    memory of freed candidate chunks goes back to the system: with glibc's
    dynamic threshold the heap fragments and the peak resident size of the
    250,000-task ankang solve is ~5.7 GB instead of ~4.1 GB (1 MiB would give
    ~3.5 GB at twice the page-fault time). No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, 8 << 20)
    except (OSError, AttributeError):
        pass


def _steps_to(stream: TextIO | None) -> contextlib.AbstractContextManager[None]:
    """The solver's steps (:func:`assign.solve.steps_to`) on ``stream`` while
    the command runs (nothing when None)."""
    if stream is None:
        return contextlib.nullcontext()
    from .solve import steps_to

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return steps_to(handler)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (see ``assign --help``)."""
    _return_freed_memory()
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        with warnings.catch_warnings(), _steps_to(stderr if getattr(args, "verbose", False) else None):
            # (catch_warnings restores the default display afterwards)
            warnings.showwarning = lambda message, *_: print(f"warning: {message}", file=stderr)
            return int(args.run(args, stdout))
    except ProblemError as exc:
        print(f"error: {exc.headline} ({len(exc.issues)} issue(s)); nothing was written", file=stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=stderr)
        return EXIT_BAD_INPUT
    except AssignError as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
