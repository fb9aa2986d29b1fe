"""Does ``workers=1`` repeat? Every problem is solved twice with one worker,
each time in a fresh subprocess, and the two schedules are compared.

Problems: scenario names (``laocheng-grid``, generated with each of
``--seeds``), problem files (``.json``, seed 0) and OR-Library GAP files
(``--gap``, every instance, solved by the array core's
:func:`assign.core.solve_arcs` as ``benchmarks/gap.py`` does; strategy
``core``, seed 0). For every problem, strategy and seed: ``same`` is yes
when both runs gave the same assignments (task, volunteer, start; for GAP
the arcs chosen) and the same bound; ``solve s`` the two runs' wall
times of the strategy; ``clock`` the deterministic clock's reading at its end
(:mod:`assign.clock`); ``net`` yes when a run reached the wall-clock safety
net (then the runs may differ); ``U`` the first run's uncovered weights
(for GAP: its cost).

Usage (from the repository root)::

    python benchmarks/determinism.py                                  # laocheng-grid seeds 0-2; cpsat, auto; 8 s
    python benchmarks/determinism.py --scenarios laocheng --strategies auto --time-limit 10
    python benchmarks/determinism.py --problems some/problem.json --seeds 0
    python benchmarks/determinism.py --scenarios --gap gapc gapd --time-limit 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402


def _record_clocks() -> list[Any]:
    """From now on, every deterministic clock a solve makes is appended to
    the list returned (their readings and safety nets are reported)."""
    from assign import clock as clocks

    made: list[clocks.DeterministicClock] = []
    original = clocks.for_workers

    def recording(workers: int, limit: float | None) -> clocks.Clock:
        clock = original(workers, limit)
        if isinstance(clock, clocks.DeterministicClock):
            made.append(clock)
        return clock

    clocks.for_workers = recording  # type: ignore[assignment]
    return made


def _gap_worker(source: str, seed: int, time_limit: float) -> None:
    """One OR-Library GAP instance (``path#k``, k 1-based) through the core."""
    from gap import read_gap

    from assign.core import solve_arcs

    path, k = source.rsplit("#", 1)
    problem = read_gap(Path(path))[int(k) - 1].problem()
    made = _record_clocks()
    began = time.perf_counter()
    # benchmarks/gap.py's time split
    res = solve_arcs(problem, time_limit=time_limit, seed=seed, workers=1, main_share=0.1, final_share=0.2)
    seconds = time.perf_counter() - began
    digest = hashlib.sha1(repr((res.chosen.nonzero()[0].tolist(), res.bound)).encode()).hexdigest()[:12]
    out = {"digest": digest, "seconds": seconds, "clock": made[0].spent if made else None,
           "net": any(m.cut for m in made), "U": [int(round(res.cost))]}
    print(json.dumps(out))


def _worker(source: str, strategy: str, seed: int, time_limit: float) -> None:
    """Solve one problem with one worker; print one JSON line."""
    sys.path.insert(0, str(REPO))
    if strategy == "core":
        _gap_worker(source, seed, time_limit)
        return
    from assign.candidates import build_candidates
    from assign.compile import compile_problem
    from assign.io import load
    from assign.solvers import get_strategy
    from assign.solvers.greedy import fill
    from assign.synth import generate, load_scenario

    problem = load(source) if source.endswith(".json") else generate(load_scenario(source), seed)
    made = _record_clocks()
    c = compile_problem(problem)
    cands = build_candidates(c)
    began = time.perf_counter()
    sol, bound = get_strategy(strategy)(c, cands, time_limit, seed, 1)
    sol = fill(c, cands, sol)
    seconds = time.perf_counter() - began
    from assign.score import evaluate

    rows = sorted(zip(sol.task.tolist(), sol.volunteer.tolist(), sol.start.tolist(), strict=True))
    digest = hashlib.sha1(repr((rows, bound)).encode()).hexdigest()[:12]
    print(
        json.dumps(
            {
                "digest": digest,
                "seconds": seconds,
                "clock": made[0].spent if made else None,
                "net": any(m.cut for m in made),
                "U": [int(x) for x in evaluate(c, sol).uncovered],
            }
        )
    )


def _run(source: str, strategy: str, seed: int, time_limit: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--worker", source, strategy, str(seed), str(time_limit)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if out.returncode != 0:
        raise SystemExit(f"worker failed on {source} {strategy} seed {seed}:\n{out.stderr}")
    row: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="*", default=["laocheng-grid"])
    ap.add_argument("--problems", nargs="*", default=[], help="problem files (.json), seed 0")
    ap.add_argument("--gap", nargs="*", default=[], help="OR-Library GAP files or names (gapc), seed 0, strategy core")
    ap.add_argument("--gap-dir", type=Path, default=None, help="where GAP names are looked up (benchmarks/gap.py's default)")
    ap.add_argument("--strategies", nargs="+", default=["cpsat", "auto"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=8.0)
    args = ap.parse_args(argv)
    m = machine()
    print(f"# {m['date']}; {m['nproc']} CPUs {m['cpu']}, {m['ram']}; Python {m['python']}, OR-Tools {m['ortools']}")
    print(f"# python benchmarks/determinism.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print("| problem | seed | strategy | same | solve s | clock | net | U |")
    print("|---|---:|---|---|---|---:|---|---|")
    jobs = [(s, seed) for s in args.scenarios for seed in args.seeds] + [(p, 0) for p in args.problems]
    if args.gap:
        from gap import DEFAULT_GAP_DIR, read_gap, resolve_files

        for path in resolve_files(args.gap, args.gap_dir or DEFAULT_GAP_DIR):
            jobs += [(f"{path}#{k}", 0) for k in range(1, len(read_gap(path)) + 1)]
    n_same = n_all = 0
    for source, seed in jobs:
        for strategy in ["core"] if "#" in source else args.strategies:
            a = _run(source, strategy, seed, args.time_limit)
            b = _run(source, strategy, seed, args.time_limit)
            same = a["digest"] == b["digest"]
            n_same += same
            n_all += 1
            clock = "-" if a["clock"] is None else f"{a['clock']:.2f}"
            net = "yes" if (a["net"] or b["net"]) else "no"
            u = " / ".join(f"{x:,}" for x in a["U"])  # type: ignore[attr-defined]
            name = Path(source).name
            if "#" in name:  # gapc.txt#3 -> gapc#3
                name = name.replace(".txt#", "#")
            print(
                f"| {name} | {seed} | {strategy} | {'yes' if same else '**no**'} | "
                f"{a['seconds']:.2f} / {b['seconds']:.2f} | {clock} | {net} | {u} |",
                flush=True,
            )
    print()
    print(f"{n_same} of {n_all} repeated")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        raise SystemExit(main())
