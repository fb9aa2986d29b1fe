"""Time reading and validating problems (``assign.io.load``), and compiling them.

Each run is a fresh subprocess (interpreter start and imports not counted):
it loads the problem, then compiles it (``assign.compile.compile_problem``),
and reports both times. With ``--repeat N`` every problem is run N times and
the medians are printed in a Markdown table.

Usage (from the repository root; bundles from ``assign generate``)::

    python benchmarks/load.py runs/ankang --repeat 5
    python benchmarks/load.py runs/shaanxi runs/shiquan.json --repeat 3 --no-compile
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

_WORKER = """
import json, sys, time
sys.path.insert(0, {repo!r})
from assign.io import load
from assign.compile import compile_problem
t0 = time.perf_counter()
problem = load({path!r})
t1 = time.perf_counter()
c = compile_problem(problem) if {compile} else None
t2 = time.perf_counter()
print(json.dumps({{"load": t1 - t0, "compile": t2 - t1 if c is not None else None, "tasks": len(problem.tasks)}}))
"""


def run_once(path: str, compile_too: bool) -> dict[str, float | None]:
    code = _WORKER.format(repo=str(REPO), path=path, compile=compile_too)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("problems", nargs="+", help="problem JSON files or bundle folders")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true", help="time the load only")
    args = ap.parse_args(argv)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print("command: python benchmarks/load.py " + " ".join(sys.argv[1:] if argv is None else argv), flush=True)
    rows = []
    for path in args.problems:
        runs = [run_once(path, not args.no_compile) for _ in range(args.repeat)]
        loads = [float(r["load"] or 0.0) for r in runs]
        comps = [float(r["compile"]) for r in runs if r["compile"] is not None]
        print(f"  {path}: load " + " / ".join(f"{x:.2f}" for x in loads)
              + ("; compile " + " / ".join(f"{x:.2f}" for x in comps) if comps else ""), flush=True)
        rows.append((path, int(runs[0]["tasks"] or 0), statistics.median(loads),
                     statistics.median(comps) if comps else None))
    print()
    print(f"| problem | tasks | load s (median of {args.repeat}) | compile s |")
    print("|---|---:|---:|---:|")
    for path, tasks, load_s, comp_s in rows:
        print(f"| {path} | {tasks:,} | {load_s:.2f} | {'-' if comp_s is None else f'{comp_s:.2f}'} |")


if __name__ == "__main__":
    main()
