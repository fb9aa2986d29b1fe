"""Compare solver strategies side by side on synthetic counties (assign/synth.py).

For every scenario, strategy and repetition a fresh *worker* subprocess
generates the problem (``generate(load_scenario(name), seed)``), compiles it,
builds its candidates and runs the strategy exactly as :func:`assign.solve`
does (strategy, then the greedy ``fill``), then scores the schedule
(:func:`assign.score.evaluate`), validates it (:func:`assign.check.violations`)
and prints one JSON line. A small *measuring* process starts the worker as its
only child and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the worker's
peak resident memory, generation included. A worker that outlives
``--kill-after`` times the time limit (plus a minute) is killed and reported.

Columns: ``U`` is the uncovered weight per tier (SPEC §6), ``soft`` the soft
score, ``bound U`` / ``bound soft`` the bound the strategy proved, ``gap``
``(soft - bound soft) / max(1, |soft|)`` once U equals the bound's U (SPEC §6;
``-`` otherwise), ``solve s`` the wall time of the strategy plus the fill,
``total s`` the worker's wall time after generation (compile, candidates,
strategy, fill, scoring and validation), ``peak MiB`` the largest peak RSS of
the worker and of the children it forks (each counting the pages it shares
with the worker), ``tree MiB`` the peak of the worker's process tree's
proportional set size (PSS: shared pages split between the processes sharing
them), sampled every :data:`TREE_SAMPLE_SECONDS` — the memory the run takes
from the machine, forked children included (since 2026-12-01),
``status`` optimal when the score equals the bound (as :func:`assign.solve`
decides), feasible otherwise, INVALID when the validator finds a violation,
error when the worker failed (e.g. over ``--memory-limit`` GiB of address
space, 12 by default, so that one run cannot take the machine down).
With ``--repeat N`` every number is the median of N runs (status: the worst).

Usage (from the repository root)::

    python benchmarks/solve.py                                   # laocheng, shiquan; greedy, cpsat, auto
    python benchmarks/solve.py --scenarios laocheng --strategies auto --time-limit 10 --repeat 3
    python benchmarks/solve.py --json results.jsonl              # also keep the raw rows
    python benchmarks/solve.py --scenarios shiquan:shiquan-c12 --strategies auto --time-limit 30

A scenario ``NAME:COMMUNITY`` is one community cut out of the generated
county (:func:`one_community`): its recipients and their tasks, the
volunteers registered with it, and the references among them — a community
that plans alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

DEFAULT_SCENARIOS = ("laocheng", "shiquan")
DEFAULT_STRATEGIES = ("greedy", "cpsat", "auto")
STATUS_ORDER = ("optimal", "feasible", "INVALID", "killed", "error")


# ------------------------------------------------------------------- worker


def one_community(problem: Any, community: str) -> Any:
    """The problem of one community planning alone: its recipients and their
    tasks, the volunteers registered with it (and their history), every
    reference to someone outside dropped — a pin that names an outsider is
    dropped whole (a team's pin is all or nothing)."""
    if community not in {x.id for x in problem.communities}:
        raise SystemExit(f"no community {community!r} in {problem.name}")
    vols = tuple(v for v in problem.volunteers if v.community == community)
    vid = {v.id for v in vols}
    recs = tuple(
        r.model_copy(update={
            "preferred_volunteers": tuple(x for x in r.preferred_volunteers if x in vid),
            "excluded_volunteers": tuple(x for x in r.excluded_volunteers if x in vid),
        })
        for r in problem.recipients if r.community == community
    )
    rid = {r.id for r in recs}
    tasks = tuple(
        t.model_copy(update={
            "pinned": t.pinned if set(t.pinned) <= vid else (),
            "previous_volunteers": tuple(x for x in t.previous_volunteers if x in vid),
        })
        for t in problem.tasks if t.recipient in rid
    )
    past = tuple(a for a in problem.history.assignments if a.volunteer in vid and a.recipient in rid)
    return problem.model_copy(update={
        "name": f"{problem.name}:{community}",
        "communities": tuple(x for x in problem.communities if x.id == community),
        "volunteers": vols, "recipients": recs, "tasks": tasks,
        "history": problem.history.model_copy(update={"assignments": past}),
    })



def scenario_problem(scenario: str, seed: int) -> Any:
    """The problem of ``NAME`` (the generated county) or ``NAME:COMMUNITY``
    (one community of it, :func:`one_community`) for ``seed``."""
    sys.path.insert(0, str(REPO))
    from assign.synth import generate, load_scenario

    name, _, community = scenario.partition(":")
    problem = generate(load_scenario(name), seed)
    if community:
        problem = one_community(problem, community)
    return problem


def _worker(scenario: str, strategy: str, seed: int, time_limit: float, workers: int | None, memory_gib: float) -> None:
    """Generate, solve, score and check one problem; print one JSON line."""
    if memory_gib > 0:  # fail alone rather than take the machine down
        limit = int(memory_gib * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, str(REPO))
    problem = scenario_problem(scenario, seed)
    began = time.perf_counter()
    from assign.candidates import build_candidates
    from assign.check import violations
    from assign.clock import resolve_workers
    from assign.compile import compile_problem
    from assign.score import evaluate
    from assign.solve import OPTIMAL_TOLERANCE
    from assign.solvers import get_strategy
    from assign.solvers.greedy import fill

    c = compile_problem(problem)
    cands = build_candidates(c, workers=resolve_workers(workers))
    run = get_strategy(strategy)
    prepared = time.perf_counter()
    sol, bound = run(c, cands, time_limit, seed, workers)
    if strategy != "greedy":
        sol = fill(c, cands, sol)
    solved = time.perf_counter()
    score = evaluate(c, sol)
    bad = violations(c, sol)
    row: dict[str, object] = {
        "uncovered": list(score.uncovered),
        "soft": score.soft,
        "bound_uncovered": None if bound is None else list(bound.uncovered),
        "bound_soft": None if bound is None else bound.soft,
        "prep_s": prepared - began,
        "solve_s": solved - prepared,
        "total_s": time.perf_counter() - began,
        "violations": len(bad),
        "tasks": c.n_tasks,
        "pairs": len(cands),
    }
    gap = None
    status = "feasible"
    if bound is not None and tuple(bound.uncovered) == tuple(score.uncovered):
        gap = (score.soft - bound.soft) / max(1.0, abs(score.soft))
        if abs(score.soft - bound.soft) <= OPTIMAL_TOLERANCE * max(1.0, abs(score.soft)):
            status = "optimal"
    row["gap"] = gap
    row["status"] = "INVALID" if bad else status
    print(json.dumps(row))


#: how often the measuring process samples the worker's process tree
TREE_SAMPLE_SECONDS = 0.2


def _tree_pss_kib(pid: int) -> int:
    """The proportional set size (KiB) of ``pid`` and its descendants now
    (Linux ``/proc``; 0 where unreadable): forked children share the
    parent's pages, which PSS counts once over the tree and RSS once each."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(x) for x in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _measure(
    scenario: str, strategy: str, seed: int, time_limit: float, workers: int | None, kill: float, memory_gib: float
) -> None:
    """Run one worker as this process's only child; add its wall time and peak RSS."""
    command = [
        sys.executable, __file__, "--worker", scenario, "--strategy-name", strategy, "--seed", str(seed),
        "--time-limit", str(time_limit), "--memory-limit", str(memory_gib),
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    import threading

    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    tree_peak = [0]
    done = threading.Event()

    def sample() -> None:  # the worker's process tree (forked children too), by PSS
        while not done.is_set():
            tree_peak[0] = max(tree_peak[0], _tree_pss_kib(proc.pid))
            done.wait(TREE_SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=kill)
        killed = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        killed = True
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    row: dict[str, object] = {"wall_s": wall, "peak_rss_mib": peak_kib / 1024, "tree_pss_mib": tree_peak[0] / 1024}
    if killed:
        row["status"] = "killed"
        row["note"] = f"killed after {kill:.0f} s"
    elif proc.returncode != 0 or not out.strip():
        row["status"] = "error"
        row["note"] = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:200]
    else:
        row.update(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(row))


def run(
    scenario: str, strategy: str, seed: int, time_limit: float, workers: int | None, kill: float, memory_gib: float
) -> dict[str, object]:
    """One measured run (generation, solve, scoring, validation) in fresh processes."""
    command = [
        sys.executable, __file__, "--measure", scenario, "--strategy-name", strategy, "--seed", str(seed),
        "--time-limit", str(time_limit), "--kill", str(kill), "--memory-limit", str(memory_gib),
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return {"scenario": scenario, "strategy": strategy, "status": "error", "note": done.stderr.strip()[-200:]}
    return {"scenario": scenario, "strategy": strategy, **json.loads(done.stdout.strip().splitlines()[-1])}


# ------------------------------------------------------------------- table


def _median(rows: list[dict[str, object]], key: str) -> object:
    values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None  # type: ignore[type-var]


def _median_list(rows: list[dict[str, object]], key: str) -> list[float] | None:
    lists = [r[key] for r in rows if isinstance(r.get(key), list)]
    if not lists:
        return None
    return [statistics.median(col) for col in zip(*lists, strict=True)]  # type: ignore[arg-type]


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    """One row of medians (the worst status) over repetitions."""
    statuses = [str(r.get("status", "error")) for r in rows]
    worst = max(statuses, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else len(STATUS_ORDER))
    gaps = [r["gap"] for r in rows if isinstance(r.get("gap"), int | float)]
    return {
        "scenario": rows[0]["scenario"],
        "strategy": rows[0]["strategy"],
        "uncovered": _median_list(rows, "uncovered"),
        "soft": _median(rows, "soft"),
        "bound_uncovered": _median_list(rows, "bound_uncovered"),
        "bound_soft": _median(rows, "bound_soft"),
        "gap": statistics.median(gaps) if len(gaps) == len(rows) else None,
        "solve_s": _median(rows, "solve_s"),
        "total_s": _median(rows, "total_s"),
        "peak_rss_mib": _median(rows, "peak_rss_mib"),
        "tree_pss_mib": _median(rows, "tree_pss_mib"),
        "status": worst,
        "runs": len(rows),
        "note": "; ".join(sorted({str(r["note"]) for r in rows if r.get("note")})),
    }


def _fmt_list(values: object) -> str:
    if not isinstance(values, list):
        return "-"
    return " / ".join(f"{v:,.0f}" for v in values)


def _fmt(value: object, spec: str) -> str:
    return "-" if not isinstance(value, int | float) else format(value, spec)


def table(summaries: list[dict[str, object]]) -> str:
    lines = [
        "| scenario | strategy | U per tier | soft | bound U | bound soft | gap | solve s | total s | peak MiB | tree MiB | status |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        gap = "-" if not isinstance(s["gap"], int | float) else f"{100 * s['gap']:.2f} %"
        status = str(s["status"]) + (f" ({s['note']})" if s.get("note") else "")
        lines.append(
            f"| {s['scenario']} | {s['strategy']} | {_fmt_list(s['uncovered'])} | {_fmt(s['soft'], ',.1f')} "
            f"| {_fmt_list(s['bound_uncovered'])} | {_fmt(s['bound_soft'], ',.1f')} | {gap} "
            f"| {_fmt(s['solve_s'], '.1f')} | {_fmt(s['total_s'], '.1f')} | {_fmt(s['peak_rss_mib'], ',.0f')} | {_fmt(s['tree_pss_mib'], ',.0f')} | {status} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES))
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="solver workers (default: the strategy's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the table shows medians")
    parser.add_argument("--kill-after", type=float, default=3.0, help="kill a run after this many time limits + 60 s")
    parser.add_argument("--memory-limit", type=float, default=12.0, help="GiB of address space per run (0: none)")
    parser.add_argument("--json", help="append the raw rows (JSON lines) to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--strategy-name", help=argparse.SUPPRESS)
    parser.add_argument("--kill", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        _worker(args.worker, args.strategy_name, args.seed, args.time_limit, args.workers, args.memory_limit)
        return 0
    if args.measure:
        _measure(args.measure, args.strategy_name, args.seed, args.time_limit, args.workers, args.kill, args.memory_limit)
        return 0

    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
        f"numpy {info['numpy']}, OR-Tools {info['ortools']}; {info['date']}"
    )
    print(f"command: python benchmarks/solve.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    kill = args.kill_after * args.time_limit + 60.0
    summaries = []
    for scenario in args.scenarios:
        for strategy in args.strategies:
            rows = []
            for _ in range(args.repeat):
                row = run(scenario, strategy, args.seed, args.time_limit, args.workers, kill, args.memory_limit)
                rows.append(row)
                if args.json:
                    with open(args.json, "a", encoding="utf-8") as handle:
                        handle.write(json.dumps(row) + "\n")
                print(
                    f"  {scenario} {strategy}: {row.get('status')} U={row.get('uncovered')} "
                    f"soft={row.get('soft')} {row.get('wall_s', 0):.1f} s {row.get('peak_rss_mib', 0):.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
            summaries.append(summarise(rows))
    print()
    print(table(summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
