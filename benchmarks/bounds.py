"""Bounds of single tiers, measured alone: the figures behind strategy auto's choices.

Usage (from the repository root; seed 0 of the scenario)::

    python benchmarks/bounds.py lp shiquan --tier 2 --pdlp 10 30 60 [--highs-ipm 300] [--cg 10 20]
    python benchmarks/bounds.py lp shiquan --seed 1 --tier 2 --limit 1=26285 --pdlp 4 5.1 6 --glop-min 100
    python benchmarks/bounds.py fixed shiquan --tier 1 --levels 1 2 --time-limit 120
    python benchmarks/bounds.py timeindexed laocheng --tiers 2 --mode relax --step 15 --time-limit 40
    python benchmarks/bounds.py weeks laocheng --tier 2 --limit 1=3264 --time-limit 30

* ``lp``: the pair LP of one tier (:class:`assign.solvers.auto.Relaxation`,
  no fairness rows; unrestricted, or with the tiers of ``--limit J=U`` and
  ``U_J <= U``) — the valid bound from PDLP's multipliers after each number
  of seconds (glop presolving from ``--glop-min`` seconds on whatever the
  LP's size, default :func:`assign.solvers.lpdual.use_glop`; restarts from
  ``--restart-min`` seconds, default :func:`assign.solvers.lpdual.use_restarts`),
  by column generation
  (``--cg``, as strategy auto's later tiers), and optionally HiGHS' interior point.
* ``fixed``: the exact fixed-time model of a tier as auto builds it (the
  restriction with the greedy's pins and pinned visits, then the relaxation
  with the surely-kept pins, hinted by it), at each CP-SAT
  ``linearization_level``: value, bound, proven, seconds.
* ``timeindexed``: :func:`assign.solvers.timeindexed.solve_tiers` on the
  tiers up to ``--tiers``: stages (tier, value, bound, proven), options, seconds.
* ``weeks``: the week bound of one tier (:class:`assign.solvers.weeks.WeekBound`;
  tasks of that tier and of the tiers given ``--limit J=U``, i.e. ``U_J <= U``),
  its size forecast, enumeration and column generation, beside the pair LP
  (HiGHS) with the same tasks and limits.

Each line printed is one measurement; nothing is cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import machine  # noqa: E402

from assign import rules  # noqa: E402
from assign.candidates import build_candidates  # noqa: E402
from assign.compile import Compiled, compile_problem  # noqa: E402
from assign.solvers import auto  # noqa: E402
from assign.solvers.greedy import solve_greedy  # noqa: E402
from assign.solvers.timeindexed import solve_tiers, surely_kept_pins  # noqa: E402
from assign.synth import generate, load_scenario  # noqa: E402


def _problem(name: str, seed: int) -> tuple[Compiled, object]:
    c = compile_problem(generate(load_scenario(name), seed))
    return c, build_candidates(c)


def lp(
    c: Compiled, cands: object, tier: int, pdlp: list[float], ipm: float | None, cg: list[float] | None = None,
    limits: dict[int, float] | None = None,
) -> None:
    limits = limits or {}
    t0 = time.perf_counter()
    mask = (c.t_tier == tier) | np.isin(c.t_tier, list(limits))
    relax = auto.Relaxation(c, cands, mask, fairness=False)  # type: ignore[arg-type]
    nnz = int(relax.a_ub.nnz) + int(relax.a_eq.nnz)
    print(f"tier {tier}: {relax.n} columns, {nnz} nonzeros, {relax.n_span} energy rows, "
          f"built in {time.perf_counter() - t0:.1f} s", flush=True)
    total = int(c.t_weight[c.t_tier == tier].sum())
    saved = auto.PDLP_COLUMNS
    for seconds in pdlp:
        auto.PDLP_COLUMNS = 0  # PDLP whatever the size
        t0 = time.perf_counter()
        value = relax.tier_bound(tier, limits, seconds)
        print(f"  PDLP {seconds:g} s: bound U{tier} >= {value} of {total} ({time.perf_counter() - t0:.1f} s)", flush=True)
    auto.PDLP_COLUMNS = saved
    for seconds in cg or []:
        # column generation (strategy auto's later tiers): a simplex-sized LP too
        auto.PDLP_COLUMNS = 0
        t0 = time.perf_counter()
        value = relax.tier_bound(tier, limits, seconds, converge=True)
        print(f"  column generation {seconds:g} s: bound U{tier} >= {value} of {total} ({time.perf_counter() - t0:.1f} s)", flush=True)
    auto.PDLP_COLUMNS = saved
    if ipm is not None:
        from scipy.optimize import linprog

        mine = np.flatnonzero(c.t_tier[relax.cov_tasks] == tier)
        cost = np.zeros(relax.n)
        cost[relax.n_p + mine] = -c.t_weight[relax.cov_tasks[mine]].astype(float)
        t0 = time.perf_counter()
        a_ub, b_ub = relax._restrictions(limits)
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=relax.a_eq, b_eq=relax.b_eq,
                      bounds=np.column_stack((relax.lo, relax.hi)), method="highs-ipm",
                      options={"time_limit": ipm, "presolve": True})
        took = time.perf_counter() - t0
        if res.status == 0:
            optimum = relax.forced()[tier] + float(c.t_weight[relax.cov_tasks[mine]].sum()) + res.fun
            print(f"  HiGHS interior point: LP optimum U{tier} = {optimum:.1f} ({took:.1f} s)")
        else:
            print(f"  HiGHS interior point: status {res.status} after {took:.1f} s")


def fixed(c: Compiled, cands: object, tier: int, levels: list[int], limit: float) -> None:
    best = solve_greedy(c, cands)  # type: ignore[arg-type]
    model = c.t_tier == tier
    pinned_task = np.diff(c.t_pin_ptr) > 0
    kept = np.flatnonzero(rules.is_pinned(c, best.task, best.volunteer))
    extra_r = np.zeros(c.n_tasks, dtype=bool)
    extra_r[best.task[kept]] = True
    extra_r &= ~model & (c.t_needed == 1)
    model_r = model | extra_r
    obst = np.flatnonzero(~model_r[best.task] & pinned_task[best.task])
    sure = surely_kept_pins(c, cands)  # type: ignore[arg-type]
    p_task = np.repeat(np.arange(c.n_tasks, dtype=np.int64), np.diff(c.t_pin_ptr))
    p_vol = c.t_pin.astype(np.int64)
    extra_x = np.zeros(c.n_tasks, dtype=bool)
    extra_x[p_task[sure]] = True
    extra_x &= ~model
    rows = np.flatnonzero(model_r[best.task])
    hint = (best.task[rows], best.volunteer[rows], best.start[rows])
    for level in levels:
        r = solve_tiers(c, cands, model_r, mode="restrict", time_limit=limit, hint=hint, tiers=(tier,),  # type: ignore[arg-type]
                        pins=(best.task[kept], best.volunteer[kept]), pinned_only=extra_r,
                        obstacles=(best.task[obst], best.volunteer[obst], best.start[obst]),
                        params={"linearization_level": level})
        print(f"  level {level} restriction: {r.stages} {r.options} options {r.seconds:.1f} s", flush=True)
        x = solve_tiers(c, cands, model | extra_x, mode="relax", time_limit=limit, tiers=(tier,),  # type: ignore[arg-type]
                        hint=(r.task, r.volunteer, r.start), pins=(p_task[sure], p_vol[sure]),
                        pinned_only=extra_x, params={"linearization_level": level})
        print(f"  level {level} relaxation:  {x.stages} {x.options} options {x.seconds:.1f} s", flush=True)


def weeks(c: Compiled, cands: object, tier: int, limits: dict[int, float], limit: float) -> None:
    from assign.solvers.weeks import WeekBound, block_pairs

    mask = (c.t_tier == tier) | np.isin(c.t_tier, list(limits))
    print(f"  tasks {int(mask.sum())}, pairs {int(np.diff(cands.ptr)[mask].sum())}, "  # type: ignore[attr-defined]
          f"two-visit sets forecast {block_pairs(c, cands, mask)}", flush=True)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    relax = auto.Relaxation(c, cands, mask, fairness=False)  # type: ignore[arg-type]
    value = relax.tier_bound(tier, limits, limit)
    print(f"  pair LP: U{tier} >= {value} ({time.perf_counter() - t0:.1f} s)", flush=True)
    t0 = time.perf_counter()
    wb = WeekBound(c, cands, mask)  # type: ignore[arg-type]
    built = time.perf_counter() - t0
    if not wb.ok:
        print(f"  week bound: enumeration too big ({built:.1f} s)")
        return
    print(f"  week bound: {wb.n_states} visit sets of {len(wb.vols)} volunteers enumerated in {built:.1f} s", flush=True)
    t0 = time.perf_counter()
    value = wb.tier_bound(tier, limits, limit)
    print(f"  week bound: U{tier} >= {value} after {wb.iterations} pricing rounds, "
          f"{len(wb.columns)} columns ({time.perf_counter() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("lp", "fixed", "timeindexed", "weeks"))
    ap.add_argument("scenario")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tier", type=int, default=1)
    ap.add_argument("--tiers", type=int, default=2, help="timeindexed: tiers 1..N")
    ap.add_argument("--pdlp", type=float, nargs="*", default=[10.0])
    ap.add_argument("--cg", type=float, nargs="*", default=[], help="seconds for column generation (lp)")
    ap.add_argument("--highs-ipm", type=float, default=None, help="seconds for HiGHS' interior point (lp)")
    ap.add_argument("--levels", type=int, nargs="*", default=[2])
    ap.add_argument("--mode", choices=("relax", "restrict"), default="relax")
    ap.add_argument("--step", type=int, default=15)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--limit", nargs="*", default=[], help="lp, weeks: J=U holds U_J <= U (more urgent tiers)")
    ap.add_argument("--glop-min", type=float, default=None,
                    help="lp: glop presolves PDLP's LP from this budget (s), whatever its size")
    ap.add_argument("--restart-min", type=float, default=None, help="lp: PDLP restarts from this budget (s), whatever its size")
    args = ap.parse_args(argv)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
          f"OR-Tools {info['ortools']}; {info['date']}")
    print("command: python benchmarks/bounds.py " + " ".join(sys.argv[1:] if argv is None else argv), flush=True)
    c, cands = _problem(args.scenario, args.seed)
    limits = {int(a.split("=")[0]): float(a.split("=")[1]) for a in args.limit}
    if args.what == "lp":
        from assign.solvers import lpdual

        if args.glop_min is not None:
            lpdual.GLOP_MIN_SECONDS = args.glop_min
            lpdual.GLOP_SECONDS_PER_NONZERO = 0.0
        if args.restart_min is not None:
            lpdual.NO_RESTART_MAX_SECONDS = args.restart_min
            lpdual.RESTART_SECONDS_PER_NONZERO = 0.0
        lp(c, cands, args.tier, args.pdlp, args.highs_ipm, args.cg, limits)
    elif args.what == "fixed":
        fixed(c, cands, args.tier, args.levels, args.time_limit)
    elif args.what == "weeks":
        weeks(c, cands, args.tier, limits, args.time_limit)
    else:
        r = solve_tiers(c, cands, c.t_tier <= args.tiers, mode=args.mode, step=args.step,  # type: ignore[arg-type]
                        time_limit=args.time_limit)
        print(f"  {args.mode} step {args.step}: {r.stages} {r.options} options {r.seconds:.1f} s {r.status}")


if __name__ == "__main__":
    main()
