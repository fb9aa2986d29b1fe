"""Planted problems: every task can be covered, so the optimum leaves U = 0 in every tier.

Each problem is built around a hidden schedule: groups of one to three
volunteers (a team shares its visits) work consecutive visits near their
homes inside their availability blocks, with the travel between visits;
their pledged minutes (most of the time) and daily limits are set to what
the hidden schedule needs, so it fits exactly. Windows give 0-120 minutes
of slack on either side, some tasks are pinned to their hidden team, some
recipients exclude volunteers not in it, and a few decoy volunteers with
little time join. The hidden schedule is checked valid with
:func:`assign.check.check` before use (exit 1 if not: the generator is
wrong).

So for every strategy's run:

* its bound must be 0 in every tier, else the bound is a broken promise
  (a failure: exit 1);
* the U it leaves is its distance from the optimum on the tiers: the table
  counts the problems left at U = 0 and the U left over (the sum of the
  tiers' uncovered weight, median and largest), and the runs whose U is
  lexicographically worse than the greedy schedule's.

This is the medium scale between the brute-force tests (tiny) and the
scenarios (counties): 8-34 volunteers in groups, about 30-230 tasks (from the
seed). Each (strategy, problem) is one ``assign.solve`` in this process.

With ``--towns K`` each problem is K of them side by side, 0.5 degrees of
latitude apart (about 55 km: no volunteer reaches another town), with their
own ids, so a problem has at least K independent components of mixed sizes
(a town of many candidate pairs is one of `auto`'s large components, most
are small ones): problem ``i`` joins the towns of seeds ``i*K .. i*K+K-1``.
Pledges there never count travel (some towns' hidden schedules leave it
out), so the hidden schedule stays valid; it is checked like the others.

Usage (from the repository root)::

    python benchmarks/planted.py                                   # 20 problems, greedy/cpsat/auto, 10 s, 2 workers
    python benchmarks/planted.py --problems 60 --strategies auto --workers 1
    python benchmarks/planted.py --keep /tmp/planted               # also write each problem and its hidden schedule
    python benchmarks/planted.py --towns 8 --problems 10 --strategies greedy auto   # many components each
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import machine  # noqa: E402

from assign import solve  # noqa: E402
from assign.check import check  # noqa: E402
from assign.model import Problem, Schedule  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
SKILLS = ("medical", "care", "meals", "driving")
SERVICE_SKILLS = {"medical": ["medical"], "disability_care": ["care"], "meals": ["meals"],
                  "companionship": [], "household": [], "errands": []}
CENTRE = (33.04, 108.25)
DETOUR, SPEED = 1.3, 12.0


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h))) * DETOUR


def _travel(a: tuple[float, float], b: tuple[float, float]) -> int:
    """SPEC §2's travel minutes between two homes (a margin above the rounding)."""
    return 0 if a == b else math.ceil(60 * _km(a, b) / SPEED) + 1


def _iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, TZ).isoformat()


def planted(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A planted problem and its hidden schedule, as SPEC §3 and §8 JSON."""
    rng = random.Random(seed)
    day0 = datetime(2026, 11, 30, tzinfo=TZ)
    days = rng.choice([2, 3])
    start, end = int(day0.timestamp() // 60), int((day0 + timedelta(days=days)).timestamp() // 60)
    travel_in_pledge = rng.random() < 0.5
    n_comm = rng.choice([1, 2, 3])
    volunteers: list[dict[str, Any]] = []
    recipients: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    hidden: list[tuple[str, list[str], int, int]] = []  # task, its team, start, duration
    n_vol = rng.randint(8, 30)
    while len(volunteers) < n_vol:
        size = rng.choice([1, 2, 2, 3])
        comm = f"c{rng.randrange(n_comm)}"
        base = (CENTRE[0] + rng.gauss(0, 0.01), CENTRE[1] + rng.gauss(0, 0.01))
        homes = [(base[0] + rng.gauss(0, 0.002), base[1] + rng.gauss(0, 0.002)) for _ in range(size)]
        skills = [[k for k in SKILLS if rng.random() < 0.7] for _ in range(size)]
        shared = set.intersection(*map(set, skills))
        team = [f"v{len(volunteers) + j}" for j in range(size)]
        blocks: list[tuple[int, int]] = []
        for d in range(days):
            if rng.random() < 0.6:
                blocks.append((start + d * 1440 + 8 * 60 + rng.choice([0, 30]), start + d * 1440 + rng.choice([11, 12, 13]) * 60))
            if rng.random() < 0.4:
                blocks.append((start + d * 1440 + 14 * 60, start + d * 1440 + rng.choice([17, 18]) * 60))
        loads: list[int] = [0] * size
        per_day: dict[Any, int] = {}
        for a, b in blocks:
            now, here = a, None
            while True:
                duration = rng.choice([15, 20, 30, 45, 60, 90])
                if recipients and rng.random() < 0.25 and recipients[-1]["community"] == comm:
                    r = recipients[-1]
                else:
                    spot = (base[0] + rng.gauss(0, 0.006), base[1] + rng.gauss(0, 0.006))
                    r = {"id": f"r{len(recipients)}", "community": comm, "lat": spot[0], "lon": spot[1]}
                at = (r["lat"], r["lon"])
                if max(_km(h, at) for h in homes) > 4.9:
                    break
                begin = now + (0 if here is None else _travel(here, at)) + rng.choice([0, 0, 5, 10])
                if begin + duration > b:
                    break
                if r is not (recipients[-1] if recipients else None):
                    recipients.append(r)
                service = rng.choice(list(SERVICE_SKILLS))
                if not set(SERVICE_SKILLS[service]) <= shared:
                    service = rng.choice(["companionship", "household", "errands"])
                task: dict[str, Any] = {
                    "id": f"t{len(tasks)}", "recipient": r["id"], "service": service, "duration_min": duration,
                    "window_start": _iso(max(start, begin - rng.choice([0, 0, 10, 30, 60, 120]))),
                    "window_end": _iso(min(end, begin + duration + rng.choice([0, 0, 10, 30, 60, 120]))),
                }
                if size > 1:
                    task["volunteers_needed"] = size
                if rng.random() < 0.1:
                    task["pinned"] = rng.sample(team, rng.randint(1, size))
                tasks.append(task)
                hidden.append((task["id"], team, begin, duration))
                for j in range(size):
                    loads[j] += duration + (2 * _travel(homes[j], at) if travel_in_pledge else 0)
                day = datetime.fromtimestamp(begin * 60, TZ).date()
                per_day[day] = per_day.get(day, 0) + 1
                now, here = begin + duration, at
        for j in range(size):
            v: dict[str, Any] = {"id": team[j], "community": comm, "lat": homes[j][0], "lon": homes[j][1],
                                 "skills": skills[j], "availability": [[_iso(a), _iso(b)] for a, b in blocks]}
            if rng.random() < 0.7 or loads[j] > sum(b - a for a, b in blocks):  # (the default: the time available)
                v["max_minutes"] = loads[j]
            if per_day and rng.random() < 0.6:
                v["max_tasks_per_day"] = max(per_day.values())
            volunteers.append(v)
    on = {t: set(team) for t, team, _, _ in hidden}
    by_recipient: dict[str, set[str]] = {}
    for t in tasks:
        by_recipient.setdefault(t["recipient"], set()).update(on[t["id"]])
    everyone = [v["id"] for v in volunteers]
    for r in recipients:
        if rng.random() < 0.25:
            others = [x for x in everyone if x not in by_recipient.get(r["id"], set())]
            if others:
                r["excluded_volunteers"] = rng.sample(others, min(len(others), rng.randint(1, 3)))
        if rng.random() < 0.4:
            r["groups"] = rng.sample(["disabled_dementia", "solitary", "low_income"], 1)
    for j in range(rng.randint(0, 5)):  # decoys with little time
        a = start + rng.randrange(days) * 1440 + rng.choice([8, 9, 14]) * 60
        volunteers.append({"id": f"x{j}", "community": f"c{rng.randrange(n_comm)}",
                           "lat": CENTRE[0] + rng.gauss(0, 0.01), "lon": CENTRE[1] + rng.gauss(0, 0.01),
                           "skills": [k for k in SKILLS if rng.random() < 0.5],
                           "availability": [[_iso(a), _iso(a + rng.choice([60, 120, 180]))]],
                           "max_tasks_per_day": rng.choice([1, 2])})
    rng.shuffle(tasks)
    problem = {
        "format": "assign/problem@1", "name": f"planted-{seed}",
        "horizon": {"start": _iso(start), "end": _iso(end), "timezone": "Asia/Shanghai"},
        "policy": {"speed_kmh": SPEED, "detour_factor": DETOUR, "count_travel_in_capacity": travel_in_pledge},
        "communities": [{"id": f"c{k}", "name": f"C{k}"} for k in range(n_comm)],
        "volunteers": volunteers, "recipients": recipients, "tasks": tasks,
    }
    schedule = {
        "format": "assign/schedule@1", "problem": problem["name"],
        "assignments": [{"task": t, "volunteer": v, "start": _iso(s), "end": _iso(s + d)}
                        for t, team, s, d in hidden for v in team],
    }
    return problem, schedule


def towns(seeds: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The planted problems of ``seeds`` side by side (see the module
    docstring), with their hidden schedules joined."""
    problem: dict[str, Any] = {}
    assignments: list[dict[str, Any]] = []
    ends: list[str] = []
    for i, seed in enumerate(seeds):
        raw, hidden = planted(seed)
        p = f"k{i}"
        for v in raw["volunteers"]:
            v["id"], v["community"], v["lat"] = p + v["id"], p + v["community"], v["lat"] + 0.5 * i
        for r in raw["recipients"]:
            r["id"], r["community"], r["lat"] = p + r["id"], p + r["community"], r["lat"] + 0.5 * i
            if "excluded_volunteers" in r:
                r["excluded_volunteers"] = [p + x for x in r["excluded_volunteers"]]
        for t in raw["tasks"]:
            t["id"], t["recipient"] = p + t["id"], p + t["recipient"]
            if "pinned" in t:
                t["pinned"] = [p + x for x in t["pinned"]]
        for cm in raw["communities"]:
            cm["id"], cm["name"] = p + cm["id"], f"{p} {cm['name']}"
        for a in hidden["assignments"]:
            a["task"], a["volunteer"] = p + a["task"], p + a["volunteer"]
        assignments += hidden["assignments"]
        ends.append(raw["horizon"]["end"])
        if not problem:
            problem = raw
        else:
            for key in ("communities", "volunteers", "recipients", "tasks"):
                problem[key] += raw[key]
    # (every town starts on the same day; the longest horizon holds them all)
    problem["horizon"]["end"] = max(ends, key=lambda e: datetime.fromisoformat(e))
    problem["policy"]["count_travel_in_capacity"] = False
    problem["name"] = "planted-towns-" + "-".join(map(str, seeds))
    return problem, {"format": "assign/schedule@1", "problem": problem["name"], "assignments": assignments}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=20, help="seeds 0..N-1 (default 20)")
    ap.add_argument("--strategies", nargs="+", default=["greedy", "cpsat", "auto"])
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="the solver's seed")
    ap.add_argument("--keep", type=Path, help="write each problem and its hidden schedule here")
    ap.add_argument("--towns", type=int, default=1, help="planted problems side by side in each problem (default 1)")
    args = ap.parse_args(argv)
    if args.towns < 1:
        ap.error("--towns must be at least 1")
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
          f"OR-Tools {info['ortools']}; {info['date']}")
    print("command: python benchmarks/planted.py " + " ".join(sys.argv[1:] if argv is None else argv), flush=True)
    failures: list[str] = []
    left: dict[str, list[float]] = {s: [] for s in args.strategies}
    worse: dict[str, int] = {s: 0 for s in args.strategies}
    seconds: dict[str, list[float]] = {s: [] for s in args.strategies}
    sizes = []
    for seed in range(args.problems):
        raw, hidden_raw = planted(seed) if args.towns == 1 else towns(list(range(seed * args.towns, (seed + 1) * args.towns)))
        problem = Problem.model_validate(raw)
        hidden = Schedule.model_validate(hidden_raw)
        report = check(problem, hidden)
        if not report.valid or report.score is None or any(report.score.uncovered):
            print(f"the hidden schedule of seed {seed} is not a valid full cover: "
                  f"{report.violations[0].message if report.violations else report.score}", file=sys.stderr)
            return 1
        sizes.append((len(problem.volunteers), len(problem.tasks)))
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / f"planted-{seed}.json").write_text(json.dumps(raw, indent=1))
            (args.keep / f"planted-{seed}.hidden.json").write_text(json.dumps(hidden_raw, indent=1))
        greedy_u = None
        for strategy in sorted(args.strategies, key=lambda s: s != "greedy"):
            t0 = time.perf_counter()
            got = solve(problem, strategy=strategy, time_limit=args.time_limit, seed=args.seed, workers=args.workers)
            seconds[strategy].append(time.perf_counter() - t0)
            assert got.score is not None
            u = tuple(got.score.uncovered)
            if not check(problem, got).valid:
                failures.append(f"seed {seed} {strategy}: invalid schedule")
            if got.bound is not None and any(b > 0 for b in got.bound.uncovered):
                failures.append(f"seed {seed} {strategy}: bound U {got.bound.uncovered} above the optimum's 0")
            if strategy == "greedy":
                greedy_u = u
            elif greedy_u is not None and u > greedy_u:
                worse[strategy] += 1
            left[strategy].append(float(sum(u)))
            print(f"seed {seed} ({sizes[-1][0]} volunteers, {sizes[-1][1]} tasks) {strategy}: U {' / '.join(f'{x:g}' for x in u)}, "
                  f"{seconds[strategy][-1]:.1f} s", flush=True)
    print()
    vols, tks = zip(*sizes, strict=True)
    print(f"{args.problems} planted problems{f' of {args.towns} towns' if args.towns > 1 else ''}: "
          f"{min(vols)}-{max(vols)} volunteers, {min(tks)}-{max(tks)} tasks; "
          f"time limit {args.time_limit:g} s, {args.workers} worker(s), seed {args.seed}")
    print()
    print("| strategy | at U = 0 | U left, median | U left, max | worse than greedy | median s |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in args.strategies:
        zero = sum(1 for x in left[s] if x == 0)
        print(f"| {s} | {zero} of {len(left[s])} | {statistics.median(left[s]):,.0f} | {max(left[s]):,.0f} | "
              f"{worse[s] if s != 'greedy' and 'greedy' in args.strategies else '-'} | {statistics.median(seconds[s]):.1f} |")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
