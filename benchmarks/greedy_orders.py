"""How auto's ordered greedy pass chooses volunteers, side by side.

For every scenario and seed the problem is generated, compiled and given its
candidates once; then :func:`assign.solvers.auto.ordered_greedy` runs in the
ratio order (:func:`~assign.solvers.auto.ratio_order`: tier, then weight per
minute of volunteer time) from the greedy's pins
(:func:`~assign.solvers.greedy.pinned_start`), with each way of choosing
among a task's candidates:

* ``cost``: the cheapest pair first (linear soft cost), as before 2026-12-01;
* ``pressure B``: :func:`~assign.solvers.greedy.pressure_preference` with
  :data:`~assign.solvers.greedy.PRESSURE_BUCKET` set to ``B`` (the least pressed
  volunteers first, the cheapest among equals; 1.0 is auto's setting).

The passes are deterministic; ``s`` is one run's wall time. ``U`` per tier
is compared lexicographically (tier 1 first); ``soft`` is SPEC §6's soft
score. Every schedule is checked with :func:`assign.check.violations`.

Usage (from the repository root)::

    python benchmarks/greedy_orders.py                                   # laocheng, shiquan; seeds 0 1
    python benchmarks/greedy_orders.py --scenarios shiquan --seeds 0 --buckets 0.25 1 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=["laocheng", "shiquan"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--buckets", nargs="+", type=float, default=[0.25, 1.0, 4.0])
    args = parser.parse_args(argv)

    import numpy as np

    from assign.candidates import build_candidates
    from assign.check import violations
    from assign.compile import compile_problem
    from assign.score import evaluate
    from assign.solvers import auto, greedy
    from assign.solvers.greedy import pinned_start
    from assign.synth import generate, load_scenario

    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
        f"numpy {info['numpy']}, OR-Tools {info['ortools']}; {info['date']}"
    )
    print(f"command: python benchmarks/greedy_orders.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print()
    print("| scenario | seed | volunteers by | U per tier | soft | s | valid |")
    print("|---|---:|---|---|---:|---:|---|")
    default_bucket = greedy.PRESSURE_BUCKET
    for name in args.scenarios:
        for seed in args.seeds:
            c = compile_problem(generate(load_scenario(name), seed))
            cands = build_candidates(c)
            base = pinned_start(c, cands)
            keep = np.ones(c.n_tasks, dtype=bool)  # (base holds only the pins)
            order = auto.ratio_order(c)
            variants: list[tuple[str, float | None]] = [("cost", None)]
            variants += [(f"pressure {b:g}", b) for b in args.buckets]
            for label, bucket in variants:
                began = time.perf_counter()
                prefer = None
                if bucket is not None:
                    greedy.PRESSURE_BUCKET = bucket
                    try:
                        prefer = greedy.pressure_preference(c, cands)
                    finally:
                        greedy.PRESSURE_BUCKET = default_bucket
                sol = auto.ordered_greedy(c, cands, base, keep, order, prefer)
                seconds = time.perf_counter() - began
                key = evaluate(c, sol).key()
                u = " / ".join(f"{x:,.0f}" for x in key[:-1])
                valid = "yes" if not violations(c, sol) else "NO"
                print(f"| {name} | {seed} | {label} | {u} | {key[-1]:,.1f} | {seconds:.1f} | {valid} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
