"""Bounds are promises: check them across runs on problems too large for the brute force.

A bound is a tuple no valid schedule beats (SPEC §6, §8). On tiny problems the
tests compare every bound with a brute-force optimum; on mid-size generated
problems nothing knows the optimum, but every valid schedule any run finds
is a witness: no run's bound may be lexicographically above any run's
schedule. For each problem this script solves it with every strategy, worker
count and time limit asked (``assign.solve``, in this process, one after the
other), checks every schedule with :func:`assign.check.check` (valid, and
the reported score equals the recomputed one) and then, across the runs:

* every bound ``<=`` (lexicographically, soft within SPEC §10's relative
  1e-6) the best schedule found by any run;
* every run that says ``optimal`` scores that best schedule's key.

It prints one row per run and one verdict per problem, and exits non-zero
when any check fails.

Usage (from the repository root)::

    python benchmarks/crosscheck.py                                   # the default set below
    python benchmarks/crosscheck.py --scenarios laocheng-grid --seeds 0 1 2 --time-limits 3 10
    python benchmarks/crosscheck.py --scenarios shiquan:shiquan-c12 --strategies auto cpsat --time-limits 20

A scenario ``NAME:COMMUNITY`` is one community of the generated county
planning alone (as in ``benchmarks/solve.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import machine  # noqa: E402
from solve import scenario_problem  # noqa: E402

from assign import solve  # noqa: E402
from assign.check import check  # noqa: E402
from assign.solve import OPTIMAL_TOLERANCE  # noqa: E402

DEFAULT_SCENARIOS = ("laocheng-grid", "laocheng-grid-25")
DEFAULT_STRATEGIES = ("greedy", "cpsat", "auto")


def lex_le(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """``a <= b`` lexicographically, the last (soft) entry within SPEC §10's
    tolerance (``OPTIMAL_TOLERANCE`` relative to ``b``, at least absolute);
    the tiers' entries exactly."""
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        last = i == len(a) - 1
        tol = OPTIMAL_TOLERANCE * max(1.0, abs(y)) if last else 0.0
        if x < y - tol:
            return True
        if x > y + tol:
            return False
    return True


def _fmt(key: tuple[float, ...] | None) -> str:
    if key is None:
        return "-"
    return " / ".join(f"{v:,.0f}" for v in key[:-1]) + f"; {key[-1]:,.1f}"


def crosscheck(problem: Any, runs: list[tuple[str, int, float]], seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Solve ``problem`` with each (strategy, workers, time limit) of ``runs``;
    returns the rows and the failures found (empty: every check held)."""
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for strategy, workers, limit in runs:
        t0 = time.perf_counter()
        schedule = solve(problem, strategy=strategy, time_limit=limit or None, seed=seed, workers=workers)
        seconds = time.perf_counter() - t0
        report = check(problem, schedule)
        name = f"{strategy} w{workers} {limit:g}s"
        key = schedule.score.key() if schedule.score is not None else None
        recomputed = (*report.score.uncovered, report.score.soft) if report.score is not None else None
        if not report.valid:
            failures.append(f"{name}: invalid schedule ({report.violations[0].message} ...)")
        if key is None or recomputed is None or not (lex_le(key, recomputed) and lex_le(recomputed, key)):
            failures.append(f"{name}: reported score {_fmt(key)} is not the recomputed {_fmt(recomputed)}")
        bound = schedule.bound.key() if schedule.bound is not None else None
        rows.append({"run": name, "key": recomputed, "bound": bound, "status": schedule.status,
                     "valid": report.valid, "seconds": seconds})
    keys = [r["key"] for r in rows if r["valid"] and r["key"] is not None]
    if keys:
        best = min(keys)
        for r in rows:
            if r["bound"] is not None and not lex_le(r["bound"], best):
                failures.append(f"{r['run']}: bound {_fmt(r['bound'])} above a valid schedule's {_fmt(best)}")
            if r["status"] == "optimal" and r["key"] is not None and not lex_le(r["key"], best):
                failures.append(f"{r['run']}: says optimal at {_fmt(r['key'])}, a valid schedule scores {_fmt(best)}")
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-limits", type=float, nargs="+", default=[3.0, 15.0])
    args = ap.parse_args(argv)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
          f"OR-Tools {info['ortools']}; {info['date']}")
    print("command: python benchmarks/crosscheck.py " + " ".join(sys.argv[1:] if argv is None else argv), flush=True)
    runs = [(s, w, t) for s in args.strategies for w in args.workers for t in args.time_limits]
    # the greedy ignores workers and the limit: once
    runs = [r for r in runs if r[0] != "greedy"] + ([("greedy", 1, 0.0)] if "greedy" in args.strategies else [])
    failed = 0
    print("| problem | run | U per tier; soft | bound | status | s |")
    print("|---|---|---|---|---|---:|")
    for name in args.scenarios:
        for seed in args.seeds:
            problem = scenario_problem(name, seed)
            rows, failures = crosscheck(problem, runs, seed)
            for r in rows:
                print(f"| {name} seed {seed} | {r['run']} | {_fmt(r['key'])} | {_fmt(r['bound'])} | "
                      f"{r['status']}{'' if r['valid'] else ' INVALID'} | {r['seconds']:.1f} |", flush=True)
            for f in failures:
                print(f"FAIL {name} seed {seed}: {f}", flush=True)
            failed += bool(failures)
    print(f"{failed} problem(s) failed" if failed else "every bound at most every valid schedule; every 'optimal' at the best")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
