"""How long building the candidate pairs takes, with one worker and with two.

For each scenario (generated with ``--seed``; or a problem path) and each
worker count, ``--repeat`` fresh subprocesses each compile the problem and
time :func:`assign.candidates.build_candidates` alone (with two workers a
forked child builds the second half of the task chunks). Reported: the
median build seconds, the build's peak RSS in the measuring subprocess
(``ru_maxrss``: the process, and the child it forked, each alone) and
whether every run produced the same arrays as the first of one worker (a
SHA-256 of the columns).

Usage (from the repository root)::

    python benchmarks/candidates.py                        # laocheng and shiquan, workers 1 and 2, 3 runs
    python benchmarks/candidates.py shiquan --repeat 5
    python benchmarks/candidates.py /path/to/bundle --workers 1 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import machine  # noqa: E402


def _worker(source: str, seed: int, workers: int) -> None:
    import resource
    import time

    import numpy as np

    from assign.candidates import build_candidates
    from assign.compile import compile_problem

    if Path(source).exists():
        from assign.io import load

        problem = load(source)
    else:
        from assign.synth import generate, load_scenario

        problem = generate(load_scenario(source), seed)
    c = compile_problem(problem)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    cands = build_candidates(c, workers=workers)
    seconds = time.perf_counter() - t0
    digest = hashlib.sha256()
    for name in ("task", "volunteer", "km", "start", "load", "cost", "ptr"):
        digest.update(np.ascontiguousarray(getattr(cands, name)).tobytes())
    print(json.dumps({
        "pairs": len(cands), "seconds": seconds, "sha": digest.hexdigest(),
        "rss_before": before / 1024, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="*", default=["laocheng", "shiquan"], help="scenario names or problem paths")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
          f"numpy {info['numpy']}; {info['date']}")
    print("command: python benchmarks/candidates.py " + " ".join(sys.argv[1:] if argv is None else argv), flush=True)
    rows = []
    for source in args.sources:
        reference = None
        for workers in args.workers:
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", source, str(args.seed), str(workers)],
                    check=True, capture_output=True, text=True,
                ).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
                print(f"  {source} workers {workers}: {runs[-1]['seconds']:.2f} s", flush=True)
            if reference is None:
                reference = runs[0]["sha"]
            rows.append((
                source, workers, runs[0]["pairs"], statistics.median(r["seconds"] for r in runs),
                ", ".join(f"{r['seconds']:.2f}" for r in runs), statistics.median(r["rss"] for r in runs),
                statistics.median(r["child_rss"] for r in runs), all(r["sha"] == reference for r in runs),
            ))
    print()
    print("| problem | workers | pairs | median s | runs s | peak MiB | child peak MiB | same arrays |")
    print("|---|---:|---:|---:|---|---:|---:|---|")
    for source, workers, pairs, med, runs_s, rss, child, same in rows:
        print(f"| {source} | {workers} | {pairs:,} | {med:.2f} | {runs_s} | {rss:,.0f} | {child:,.0f} | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
