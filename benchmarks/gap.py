"""GAP benchmark: OR-Library generalized assignment instances through ``assign.core``.

Every job is a must-cover item, every agent an agent with a capacity, every
(agent, job) pair an arc with its cost and resource use; the instances are
solved as minimisation problems by :func:`assign.core.solve_arcs` and compared
with the ``min`` rows of ``BEST_KNOWN.tsv``.

Usage (from the repository root)::

    python benchmarks/gap.py                       # every gap*.txt of the data folder
    python benchmarks/gap.py --time-limit 30 --workers 2 gapa gapb
    python benchmarks/gap.py ../shared/data/gap/gap1.txt --instances 1,3

A file argument is a path, or a name (``gap1``, ``gapd.txt``) looked up in
``--gap-dir`` (default ``<repo>/../shared/data/gap``).

Time split (``solve_arcs`` arguments): ``--main-share 0.1`` for the first full
CP-SAT solve, the neighbourhood search, then ``--final-share 0.2`` for a last
full solve from the search's incumbent (it keeps the proofs that a short first
solve alone would lose on type C). ``--main-share 0.3 --final-share 0`` is the
``solve_arcs`` default.
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

from assign.core import ArcProblem, solve_arcs  # noqa: E402

DEFAULT_GAP_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gap"


@dataclass(frozen=True)
class GapInstance:
    name: str  # gapK#p, p 1-based
    cost: np.ndarray  # m x n
    resource: np.ndarray  # m x n
    capacity: np.ndarray  # m

    @property
    def shape(self) -> tuple[int, int]:
        m, n = self.cost.shape
        return int(m), int(n)

    def problem(self) -> ArcProblem:
        return ArcProblem.from_gap(self.cost, self.resource, self.capacity)


def read_gap(path: Path) -> list[GapInstance]:
    """Parse an OR-Library GAP file: P, then P blocks of ``m n``, cost (m x n),
    resource (m x n), capacities (m); whitespace-separated integers."""
    tokens = np.array(path.read_text().split(), dtype=np.int64)
    stem = path.stem
    count = int(tokens[0])
    pos = 1
    out: list[GapInstance] = []
    for k in range(count):
        m, n = int(tokens[pos]), int(tokens[pos + 1])
        pos += 2
        cost = tokens[pos : pos + m * n].reshape(m, n)
        pos += m * n
        resource = tokens[pos : pos + m * n].reshape(m, n)
        pos += m * n
        capacity = tokens[pos : pos + m].copy()
        pos += m
        if capacity.shape[0] != m:
            raise ValueError(f"{path}: instance {k + 1} is truncated")
        out.append(GapInstance(f"{stem}#{k + 1}", cost, resource, capacity))
    if pos != len(tokens):
        raise ValueError(f"{path}: {len(tokens) - pos} trailing numbers after {count} instances")
    return out


def read_best_known(path: Path) -> dict[str, tuple[int, bool]]:
    """``instance -> (best known min value, proven optimal)`` from BEST_KNOWN.tsv."""
    best: dict[str, tuple[int, bool]] = {}
    if not path.exists():
        return best
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["sense"].strip() == "min":
                best[row["instance"].strip()] = (
                    int(row["best_known"]),
                    row["proven_optimal"].strip() == "yes",
                )
    return best


def _file_key(path: Path) -> tuple[int, int, str]:
    m = re.fullmatch(r"gap(\d+)", path.stem)
    return (0, int(m.group(1)), "") if m else (1, 0, path.stem)


def resolve_files(args: Sequence[str], gap_dir: Path) -> list[Path]:
    if not args:
        files = sorted(gap_dir.glob("gap*.txt"), key=_file_key)
        if not files:
            raise SystemExit(f"no gap*.txt files in {gap_dir}")
        return files
    out = []
    for a in args:
        p = Path(a)
        if not p.exists():
            p = gap_dir / (a if a.endswith(".txt") else f"{a}.txt")
        if not p.exists():
            raise SystemExit(f"no such GAP file: {a}")
        out.append(p)
    return out


@dataclass(frozen=True)
class Row:
    name: str
    shape: tuple[int, int]
    status: str
    value: float
    bound: float
    best: int | None
    seconds: float
    cpu_seconds: float

    @property
    def gap_pct(self) -> float | None:
        if self.best is None or not math.isfinite(self.value):
            return None
        return 100.0 * (self.value - self.best) / self.best


def run(
    files: Sequence[Path],
    best: dict[str, tuple[int, bool]],
    time_limit: float,
    workers: int,
    seed: int,
    instances: set[int] | None,
    main_share: float = 0.1,
    final_share: float = 0.2,
) -> Iterator[tuple[Path, list[Row]]]:
    for path in files:
        rows: list[Row] = []
        for k, inst in enumerate(read_gap(path), start=1):
            if instances and k not in instances:
                continue
            t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
            res = solve_arcs(
                inst.problem(),
                time_limit=time_limit,
                seed=seed,
                workers=workers,
                main_share=main_share,
                final_share=final_share,
            )
            seconds = time.perf_counter() - t0  # wall time including model building
            # CPU time of every thread of this process and of its finished
            # children (the core's dive runs in a forked child)
            cpu = time.process_time() - c0 + _children_cpu() - k0
            known = best.get(inst.name)
            rows.append(
                Row(
                    name=inst.name,
                    shape=inst.shape,
                    status=res.status,
                    value=res.cost,
                    bound=res.bound[-1],
                    best=None if known is None else known[0],
                    seconds=seconds,
                    cpu_seconds=cpu,
                )
            )
            yield path, rows[-1:]


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(ru.ru_utime + ru.ru_stime)


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="GAP files or names (default: all in --gap-dir)")
    ap.add_argument("--gap-dir", type=Path, default=DEFAULT_GAP_DIR)
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--instances", default="", help="comma-separated 1-based instance numbers")
    ap.add_argument(
        "--main-share",
        type=float,
        default=0.1,
        help="share of the time for the first full CP-SAT solve (solve_arcs main_share)",
    )
    ap.add_argument(
        "--final-share",
        type=float,
        default=0.2,
        help="share of the time for the last full solve after the neighbourhood search "
        "(solve_arcs final_share)",
    )
    ns = ap.parse_args(argv)
    files = resolve_files(ns.files, ns.gap_dir)
    best = read_best_known(ns.gap_dir / "BEST_KNOWN.tsv")
    wanted = {int(s) for s in ns.instances.split(",") if s.strip()} or None

    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
        f"numpy {info['numpy']}, OR-Tools {info['ortools']}; {info['date']}"
    )
    print(f"command: python benchmarks/gap.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(
        f"# assign.core.solve_arcs on OR-Library GAP (min); time limit {ns.time_limit:g} s, "
        f"workers {ns.workers}, seed {ns.seed}, main share {ns.main_share:g}, "
        f"final share {ns.final_share:g}; python {platform.python_version()}"
    )
    print(
        "| instance | m x n | value | best known | gap % | bound | seconds | cpu seconds "
        "| proven optimal |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    per_file: dict[Path, list[Row]] = {}
    for path, rows in run(
        files, best, ns.time_limit, ns.workers, ns.seed, wanted, ns.main_share, ns.final_share
    ):
        for r in rows:
            per_file.setdefault(path, []).append(r)
            print(
                f"| {r.name} | {r.shape[0]} x {r.shape[1]} | {_fmt(r.value)} | {_fmt(r.best)} "
                f"| {_fmt(r.gap_pct, 3)} | {_fmt(r.bound, 1)} | {r.seconds:.1f} | {r.cpu_seconds:.1f} "
                f"| {'yes' if r.status == 'optimal' else 'no'} |",
                flush=True,
            )
    print()
    print(
        "| file | instances | mean gap % | max gap % | proven optimal | at best known | mean seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path, rows in per_file.items():
        gaps = [g for g in (r.gap_pct for r in rows) if g is not None]
        mean = sum(gaps) / len(gaps) if gaps else None
        worst = max(gaps) if gaps else None
        proven = sum(r.status == "optimal" for r in rows)
        at_best = sum(r.best is not None and r.value <= r.best for r in rows)
        secs = sum(r.seconds for r in rows) / len(rows)
        print(
            f"| {path.stem} | {len(rows)} | {_fmt(mean, 3)} | {_fmt(worst, 3)} | {proven}/{len(rows)} "
            f"| {at_best}/{len(rows)} | {secs:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
