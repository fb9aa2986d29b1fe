"""Four weeks of nightly batches, simulated: the effect of the ledger's history.

A synthetic county (default: ``shiquan``) is generated over ``nights +
horizon_days - 1`` days, cold (no history, no pins), and written into the
database input tables. Then, for each arm -- ``history`` (the ledger feeds
history back: history minutes and capacity, missed visits, continuity) and
``nohistory`` (only pins, declines and the previous plan) -- the real job
(:func:`assign.batch.run_batch`) runs once per night, and after each night the
volunteers answer the assignments of the next ``respond_days`` days: each
(task, volunteer) is accepted with probability ``accept`` and declined
otherwise, by a seeded hash of the pair, so both arms see the same answers for
the same proposals. Accepted assignments become pins of later nights; a
declined visit is planned again (with someone else) if a night remains before
it.

At the end, over the simulated days, from the ledger's final plans:

* the utilisation Gini: Gini index, over volunteers with pledged minutes, of
  served minutes / pledged minutes over the whole period;
* recipients missed twice or more: recipients with at least two tasks left
  uncovered or declined;
* coverage of tasks and of tier-1 tasks, and seconds per night.

Run (``--db`` takes ``sqlite`` for a file in ``--out``, or a SQLAlchemy URL)::

    python benchmarks/simulate.py --scenario shiquan --nights 28 --db sqlite --out runs/sim-sqlite
    python benchmarks/simulate.py --scenario shiquan --nights 28 \
        --db "$(cat .ci/pg_url)" --out runs/sim-pg
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date as Date
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assign.batch.config import BatchConfig, config_from_dict  # noqa: E402
from assign.batch.history import look_back, pledged_minutes  # noqa: E402
from assign.batch.inputs import horizon_bounds, input_tables, save_database  # noqa: E402
from assign.batch.ledger import ACCEPTED, DECLINED, Ledger, connect, ledger_tables  # noqa: E402
from assign.batch.log import BatchLog  # noqa: E402
from assign.batch.run import run_batch  # noqa: E402
from assign.metrics import gini  # noqa: E402
from assign.model import Problem  # noqa: E402

ARMS = ("history", "nohistory")
INPUT_PREFIX = "sim_in_"


def build_input(scenario: str, seed: int, days: int, tasks_per_week: int | None = None) -> Problem:
    """A synthetic county over ``days`` days, cold: no history, pins or previous plan.

    Pledges (``max_minutes``) are the scenario's weekly pledges (the job reads
    them with ``pledge_days = 7``); tasks keep the scenario's weekly rate.
    """
    from assign.synth import generate, load_scenario

    sc = load_scenario(scenario)
    weekly = tasks_per_week if tasks_per_week is not None else sc.counts.tasks * 7 // sc.horizon.days
    counts = sc.counts.model_copy(update={"tasks": int(round(weekly * days / 7))})
    horizon = sc.horizon.model_copy(update={"days": days})
    sc = sc.model_copy(update={"counts": counts, "horizon": horizon})
    problem = generate(sc, seed)
    raw = problem.model_dump(mode="json", exclude_none=True)
    for vol in raw["volunteers"]:
        vol["history_minutes"] = 0
        vol["history_capacity"] = 0
    for rec in raw["recipients"]:
        rec["missed_visits"] = 0
    for task in raw["tasks"]:
        task["pinned"] = []
        task["previous_volunteers"] = []
    raw["history"] = {"assignments": []}
    return Problem.model_validate(raw)


def arm_config(out: Path, db_url: str, arm: str, horizon_days: int, strategy: str, outputs: bool,
               time_limit: float | None = None) -> BatchConfig:
    return config_from_dict(
        {
            "job": {"name": f"sim-{arm}", "horizon_days": horizon_days, "timezone": "Asia/Shanghai"},
            "input": {"kind": "database", "url": db_url, "prefix": INPUT_PREFIX, "pledge_days": 7},
            "ledger": {"url": db_url, "prefix": f"sim_{arm}_"},
            "solve": {"strategy": strategy, "time_limit": time_limit, "seed": 0},
            "history": {"enabled": arm == "history", "window_days": 28},
            "output": {"dir": str(out / arm), "dispatch": outputs, "calendars": outputs, "report": outputs},
        },
        base=out,
    )


def decide(seed: int, task: str, volunteer: str, accept: float) -> str:
    """The volunteer's answer, the same in every arm for the same proposal."""
    digest = hashlib.sha256(f"{seed}|{task}|{volunteer}".encode()).digest()
    return ACCEPTED if int.from_bytes(digest[:8], "big") / 2**64 < accept else DECLINED


def respond(ledger: Ledger, run_id: int, start_ts: int, end_ts: int, seed: int, accept: float) -> tuple[int, int]:
    """Answer the run's unanswered assignments whose window starts in [start, end)."""
    from sqlalchemy import select

    a, acc = ledger.t.assignments, ledger.t.acceptances
    query = (
        select(a.c.task, a.c.volunteer)
        .select_from(a.outerjoin(acc, (acc.c.task == a.c.task) & (acc.c.volunteer == a.c.volunteer)))
        .where((a.c.run_id == run_id) & (a.c.window_ts >= start_ts) & (a.c.window_ts < end_ts) & acc.c.status.is_(None))
    )
    with ledger.engine.connect() as conn:
        pairs = conn.execute(query).all()
    rows = [{"task": t, "volunteer": v, "status": decide(seed, t, v, accept), "note": "simulated"} for t, v in pairs]
    if rows:
        acc_table = ledger.t.acceptances
        with ledger.engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                conn.execute(acc_table.insert(), rows[i : i + 5000])
    accepted = sum(1 for r in rows if r["status"] == ACCEPTED)
    return accepted, len(rows) - accepted


def reset(engine: Any) -> None:
    """Drop the simulation's tables (a rerun starts from scratch)."""
    for arm in ARMS:
        ledger_tables(f"sim_{arm}_").metadata.drop_all(engine, checkfirst=True)
    _, metadata = input_tables(INPUT_PREFIX)
    metadata.drop_all(engine, checkfirst=True)


def evaluate(ledger: Ledger, problem: Problem, first: Date, nights: int, horizon_days: int) -> dict[str, Any]:
    """The period's figures from the ledger's final plans."""
    import numpy as np

    zone = "Asia/Shanghai"
    start, end = horizon_bounds(first, nights, zone)
    past = look_back(ledger, start, end, horizon_days)
    pledged = pledged_minutes(problem, start, end, 7)
    explicit = [v.id for v in problem.volunteers if v.max_minutes and pledged.get(v.id, 0) > 0]
    share = np.array([past.served_minutes.get(v, 0) / pledged[v] for v in explicit], dtype=float)
    minutes = np.array([past.served_minutes.get(v.id, 0) for v in problem.volunteers], dtype=float)
    missed = past.missed
    tasks_in = [t for t in problem.tasks if start <= t.window_start < end]
    tier1 = [t for t in tasks_in if problem.task_tier(t) == 1]
    needs: dict[str, int] = {}
    for t in tasks_in:
        needs[t.recipient] = needs.get(t.recipient, 0) + 1
    missed_share = np.array([missed.get(r, 0) / n for r, n in sorted(needs.items())], dtype=float)
    return {
        "tasks": past.tasks,
        "tasks_in_period": len(tasks_in),
        "served_tasks": past.served_tasks,
        "missed_tasks": past.missed_tasks,
        "served_share": past.served_tasks / past.tasks if past.tasks else None,
        "tier1_tasks": len(tier1),
        "tier1_missed": past.missed_by_tier.get(1, 0),
        "utilisation_gini": gini(share),
        "served_minutes_gini": gini(minutes),
        "volunteers_with_pledge": len(explicit),
        "idle_volunteers": int((minutes == 0).sum()),
        "recipients_missed_once_or_more": sum(1 for n in missed.values() if n >= 1),
        "recipients_missed_twice_or_more": sum(1 for n in missed.values() if n >= 2),
        "recipients_missed_3_or_more": sum(1 for n in missed.values() if n >= 3),
        "max_missed_per_recipient": max(missed.values(), default=0),
        "recipients_with_needs": len(needs),
        "recipients_never_served": sum(1 for r, n in needs.items() if missed.get(r, 0) >= n),
        "missed_share_p90": float(np.percentile(missed_share, 90)) if len(missed_share) else None,
        "missed_share_max": float(missed_share.max()) if len(missed_share) else None,
    }


def simulate(
    *, scenario: str, seed: int, nights: int, horizon_days: int, db: str, out: Path, arms: tuple[str, ...] = ARMS,
    accept: float = 0.85, respond_days: int = 2, strategy: str = "greedy", outputs: bool = True,
    tasks_per_week: int | None = None, time_limit: float | None = None, quiet: bool = False,
) -> dict[str, Any]:
    """Run the simulation; returns the figures per arm (also written to ``out/results.json``)."""
    out.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{(out / 'sim.sqlite').resolve()}" if db == "sqlite" else db
    engine = connect(db_url)
    reset(engine)
    clock = time.perf_counter()
    problem = build_input(scenario, seed, nights + horizon_days - 1, tasks_per_week)
    save_database(problem, engine, INPUT_PREFIX)
    setup_seconds = time.perf_counter() - clock
    first = problem.horizon.start.date()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    say(f"input: {len(problem.volunteers)} volunteers, {len(problem.recipients)} recipients, "
        f"{len(problem.tasks)} tasks over {nights + horizon_days - 1} days ({setup_seconds:.1f} s)")
    results: dict[str, Any] = {
        "scenario": scenario, "seed": seed, "nights": nights, "horizon_days": horizon_days,
        "accept": accept, "respond_days": respond_days, "strategy": strategy, "tasks_per_week": tasks_per_week,
        "database": "sqlite" if db == "sqlite" else db.split("://")[0],
        "volunteers": len(problem.volunteers), "recipients": len(problem.recipients),
        "tasks": len(problem.tasks), "arms": {},
    }
    for arm in arms:
        config = arm_config(out, db_url, arm, horizon_days, strategy, outputs, time_limit)
        ledger = Ledger(engine, config.ledger.prefix)
        seconds = []
        answered = [0, 0]
        for night in range(nights):
            day = first + timedelta(days=night)
            mark = time.perf_counter()
            result = run_batch(config, day, BatchLog("text", quiet=True))
            if result.exit_code != 0:
                raise SystemExit(f"{arm} {day}: exit {result.exit_code}: {result.message}")
            seconds.append(time.perf_counter() - mark)
            lo, _ = horizon_bounds(day, 1, "Asia/Shanghai")
            _, hi = horizon_bounds(day, respond_days, "Asia/Shanghai")
            assert result.run_id is not None
            yes, no = respond(ledger, result.run_id, int(lo.timestamp()), int(hi.timestamp()), seed, accept)
            answered[0] += yes
            answered[1] += no
            say(f"{arm} {day}: {result.message.split(';')[0]}; {yes} accepted, {no} declined; {seconds[-1]:.1f} s")
        figures = evaluate(ledger, problem, first, nights, horizon_days)
        figures.update(
            accepted=answered[0], declined=answered[1],
            seconds_per_night=sum(seconds) / len(seconds), seconds_max=max(seconds), seconds_total=sum(seconds),
        )
        results["arms"][arm] = figures
        say(f"{arm}: " + json.dumps(figures))
    engine.dispose()
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def reevaluate(out: Path, db: str) -> dict[str, Any]:
    """The figures of an earlier simulation, recomputed from its ledgers and ``results.json``."""
    results = json.loads((out / "results.json").read_text())
    db_url = f"sqlite:///{(out / 'sim.sqlite').resolve()}" if db == "sqlite" else db
    engine = connect(db_url)
    problem = build_input(results["scenario"], results["seed"], results["nights"] + results["horizon_days"] - 1,
                          results.get("tasks_per_week"))
    first = problem.horizon.start.date()
    for arm, figures in results["arms"].items():
        ledger = Ledger(engine, f"sim_{arm}_")
        figures.update(evaluate(ledger, problem, first, results["nights"], results["horizon_days"]))
    engine.dispose()
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table (for benchmarks/README.md)."""
    arms = results["arms"]
    rows = [
        ("utilisation Gini (served / pledged minutes, whole period)", "utilisation_gini", "{:.3f}"),
        ("Gini of served minutes", "served_minutes_gini", "{:.3f}"),
        ("recipients missed twice or more", "recipients_missed_twice_or_more", "{:,}"),
        ("recipients missed 3 times or more", "recipients_missed_3_or_more", "{:,}"),
        ("recipients missed at least once", "recipients_missed_once_or_more", "{:,}"),
        ("most misses of one recipient", "max_missed_per_recipient", "{:,}"),
        ("recipients with no need served", "recipients_never_served", "{:,}"),
        ("share of a recipient's needs missed: 90th percentile", "missed_share_p90", "{:.1%}"),
        ("share of a recipient's needs missed: worst", "missed_share_max", "{:.1%}"),
        ("tasks planned (final plans)", "tasks", "{:,}"),
        ("tasks served", "served_tasks", "{:,}"),
        ("tasks missed (uncovered or declined)", "missed_tasks", "{:,}"),
        ("tier-1 tasks missed", "tier1_missed", "{:,}"),
        ("idle volunteers over the period", "idle_volunteers", "{:,}"),
        ("answers: accepted / declined", None, None),
        ("seconds per night (mean / max)", None, None),
    ]
    names = list(arms)
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, fmt in rows:
        cells = []
        for arm in names:
            f = arms[arm]
            if key is not None and fmt is not None:
                value = f.get(key)
                cells.append("–" if value is None else fmt.format(value))
            elif label.startswith("answers"):
                cells.append(f"{f['accepted']:,} / {f['declined']:,}")
            else:
                cells.append(f"{f['seconds_per_night']:.1f} / {f['seconds_max']:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="shiquan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nights", type=int, default=28)
    parser.add_argument("--horizon-days", type=int, default=2)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a file in --out) or a SQLAlchemy URL")
    parser.add_argument("--out", default="runs/simulate")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--accept", type=float, default=0.85, help="probability that a volunteer accepts")
    parser.add_argument("--respond-days", type=int, default=2, help="volunteers answer visits of the next N days")
    parser.add_argument("--strategy", default="greedy")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--tasks-per-week", type=int, default=None)
    parser.add_argument("--no-outputs", action="store_true", help="skip dispatch sheets, calendars and the report")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="recompute the figures from the ledgers of an earlier run with the same arguments")
    args = parser.parse_args(argv)
    if args.evaluate_only:
        results = reevaluate(Path(args.out), args.db)
        print(markdown(results))
        return 0
    results = simulate(
        scenario=args.scenario, seed=args.seed, nights=args.nights, horizon_days=args.horizon_days, db=args.db,
        out=Path(args.out), arms=tuple(a for a in args.arms.split(",") if a), accept=args.accept,
        respond_days=args.respond_days, strategy=args.strategy, outputs=not args.no_outputs,
        tasks_per_week=args.tasks_per_week, time_limit=args.time_limit,
    )
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
