"""Time ``assign explain`` against ``assign solve`` and check what it reports.

For each scenario (default ``laocheng`` and ``shiquan``, seed 1):

1. ``python -m assign generate SCENARIO --seed N --out DIR/problem`` (a bundle);
2. ``python -m assign solve DIR/problem --out DIR/out --strategy greedy``, timed
   (wall time of the process, interpreter start and loading included; the
   schedule's ``solver.seconds`` is the time inside ``solve()``);
3. ``python -m assign explain DIR/problem DIR/out/schedule.json``, timed the
   same way (``--repeat`` runs of each command; the table shows the median);
4. in this process, the report is checked: every uncovered need's code holds by
   its SPEC §7/§10 definition (tested with :mod:`assign.rules` against every
   volunteer), ``--sample`` counterfactuals are applied to the *pydantic*
   problem (availability interval added, radius or pledge changed), their visit
   added to the schedule, and :func:`assign.check` must accept the result and
   find the need covered; the recruitment list is checked the same way (every
   recruit added as a volunteer, every visit added).

The load average is printed before and after: the machine may be shared.

Usage (from the repository root)::

    python benchmarks/explain.py                      # laocheng and shiquan
    python benchmarks/explain.py shiquan --repeat 3 --sample 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assign.explain import Explanation
    from assign.model import Problem, Schedule

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def run(argv: list[str], out: Path | None = None) -> float:
    """Wall seconds of ``python -m assign ARGV`` (stdout to ``out``)."""
    clock = time.perf_counter()
    with open(out or os.devnull, "w") as sink:
        subprocess.run([sys.executable, "-m", "assign", *argv], cwd=REPO, stdout=sink, check=True)
    return time.perf_counter() - clock


def check_reasons(problem: Problem, schedule: Schedule, report: Explanation) -> int:
    """Every need's code against its definition; returns the number checked."""
    import numpy as np

    from assign import rules
    from assign.compile import compile_problem

    c = compile_problem(problem)
    everyone = np.arange(c.n_volunteers)
    index = {tid: i for i, tid in enumerate(c.task_ids)}
    for need in report.needs:
        t = index[need.task]
        tt = np.full(c.n_volunteers, t)
        skilled = rules.skills_ok(c, tt, everyone)
        in_range = skilled & rules.radius_ok(c, tt, everyone)
        eligible = rules.eligible(c, tt, everyone)
        free = eligible & rules.free(c, tt, everyone)
        expected = (
            "no_skill" if not skilled.any()
            else "out_of_range" if not in_range.any()
            else "excluded" if not eligible.any()
            else "no_availability" if not free.any()
            else "team_too_small" if free.sum() < c.t_needed[t]
            else "capacity"
        )
        assert need.reason == expected, (need, expected)
    return len(report.needs)


def check_counterfactuals(problem: Problem, schedule: Schedule, report: Explanation, sample: int) -> int:
    """Apply ``sample`` fixes (spread over the list) to the model and check them."""
    import assign
    from assign.model import Assignment

    items = report.counterfactuals.items
    chosen = items[:: max(1, len(items) // sample)][:sample] if items else ()
    durations = {t.id: t.duration_min for t in problem.tasks}
    covered = {a.task for a in schedule.assignments}
    checked = 0
    for item in chosen:
        for fix in item.options:
            change = fix.change
            volunteers = []
            for v in problem.volunteers:
                if v.id == change.volunteer:
                    if change.kind == "availability":
                        assert change.free_from and change.free_to
                        span = (datetime.fromisoformat(change.free_from), datetime.fromisoformat(change.free_to))
                        v = v.model_copy(update={"availability": (*v.availability, span)})
                    elif change.kind == "radius":
                        v = v.model_copy(update={"max_travel_km": change.radius_to_km})
                    else:
                        v = v.model_copy(update={"max_minutes": change.pledge_to})
                volunteers.append(v)
            start = datetime.fromisoformat(fix.start)
            added = tuple(
                Assignment(task=item.task, volunteer=m, start=start, end=start + timedelta(minutes=durations[item.task]))
                for m in fix.team
            )
            changed = problem.model_copy(update={"volunteers": tuple(volunteers)})
            extended = schedule.model_copy(update={"assignments": schedule.assignments + added})
            verdict = assign.check(changed, extended)
            assert verdict.valid, (item.task, fix, [str(x) for x in verdict.violations[:3]])
            assert {a.task for a in extended.assignments} == covered | {item.task}
            checked += 1
    return checked


def check_supply(problem: Problem, schedule: Schedule, report: Explanation) -> bool:
    import assign
    from assign.model import Assignment, Volunteer

    supply = report.supply
    recruits = tuple(Volunteer.model_validate(v) for v in supply.recruit_list)
    added = tuple(
        Assignment(task=t, volunteer=v, start=datetime.fromisoformat(s)) for t, v, s in supply.assignments
    )
    bigger = problem.model_copy(update={"volunteers": problem.volunteers + recruits})
    longer = schedule.model_copy(update={"assignments": schedule.assignments + added})
    verdict = assign.check(bigger, longer)
    assert verdict.valid, [str(x) for x in verdict.violations[:3]]
    newly = {a.task for a in added}
    return len(newly) == supply.covered_tasks


def bench(scenario: str, seed: int, repeat: int, sample: int, work: Path) -> dict[str, Any]:
    import assign
    from assign.explain import explain

    problem_dir = work / f"{scenario}-{seed}"
    out_dir = work / f"{scenario}-{seed}-out"
    run(["generate", scenario, "--seed", str(seed), "--out", str(problem_dir)])
    schedule_file = out_dir / "schedule.json"
    load_before = loadavg()
    solve_s = [run(["solve", str(problem_dir), "--out", str(out_dir), "--strategy", "greedy"]) for _ in range(repeat)]
    explain_s = [
        run(["explain", str(problem_dir), str(schedule_file)], work / f"{scenario}-report.txt") for _ in range(repeat)
    ]
    load_after = loadavg()

    problem = assign.load(problem_dir)
    schedule = assign.load_schedule(schedule_file)
    report = explain(problem, schedule)
    reasons = check_reasons(problem, schedule, report)
    fixes = check_counterfactuals(problem, schedule, report, sample)
    supply_ok = check_supply(problem, schedule, report)
    cf = report.counterfactuals
    solver = schedule.solver
    return {
        "scenario": scenario,
        "tasks": report.tasks,
        "uncovered": len(report.needs),
        "solve_wall": statistics.median(solve_s),
        "solver_seconds": solver.seconds if solver else float("nan"),
        "explain_wall": statistics.median(explain_s),
        "stages": {k: round(v, 2) for k, v in report.seconds.items()},
        "targets": cf.targets,
        "with_fix": len(cf.items),
        "minimal": sum(item.best.minimal for item in cf.items),
        "by_kind": cf.by_kind,
        "rejected": cf.rejected,
        "recruits": report.supply.recruits,
        "groups": len(report.supply.groups),
        "supply_covered": f"{report.supply.covered_tasks}/{report.supply.uncovered_tasks}",
        "reasons_checked": reasons,
        "fixes_checked": fixes,
        "supply_checked": supply_ok and report.supply.confirmed,
        "load": f"{load_before} -> {load_after}",
        "runs": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=["laocheng", "shiquan"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (median shown)")
    parser.add_argument("--sample", type=int, default=25, help="counterfactuals checked through the model")
    args = parser.parse_args()
    import numpy

    print(f"date {datetime.now(UTC).isoformat(timespec='seconds')}; nproc {os.cpu_count()}; "
          f"python {sys.version.split()[0]}; numpy {numpy.__version__}; load {loadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios:
            row = bench(scenario, args.seed, args.repeat, args.sample, Path(tmp))
            rows.append(row)
            print(row, flush=True)
    print()
    print("| scenario | tasks | uncovered | solve wall s | solver.seconds | explain wall s | explain / solve |"
          " counterfactuals (with fix / tiers 1-2 uncovered) | recruits (groups) | load avg before -> after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['tasks']:,} | {r['uncovered']:,} | {r['solve_wall']:.1f} | "
            f"{r['solver_seconds']:.1f} | {r['explain_wall']:.1f} | {r['explain_wall'] / r['solve_wall']:.2f} | "
            f"{r['with_fix']:,} / {r['targets']:,} | {r['recruits']:,} ({r['groups']:,}) | {r['load']} |"
        )


if __name__ == "__main__":
    main()
