"""Time and measure the generation of synthetic counties (assign/synth.py).

Each scenario is generated in a fresh subprocess, so that its peak memory is
its own: a small *measuring* process starts the *worker*, waits for it, and
reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the worker's peak
resident set size) and the wall time around it (interpreter start and imports
included). The table printed at the end is Markdown, ready for
``benchmarks/README.md``.

Usage::

    python benchmarks/generate.py                         # all four scenarios, bundles
    python benchmarks/generate.py laocheng shiquan --format json --seed 3
    python benchmarks/generate.py shaanxi --out /tmp/shaanxi --keep

Run from the repository root (or with ``assign`` installed).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

DEFAULT_SCENARIOS = ("laocheng", "shiquan", "ankang", "shaanxi")


def _worker(scenario: str, seed: int, out: str) -> None:
    """Generate one scenario (runs in the worker subprocess)."""
    sys.path.insert(0, str(REPO))
    start = time.perf_counter()
    from assign.synth import generate_to, load_scenario

    loaded = load_scenario(scenario)
    generate_to(loaded, seed, out)
    counts = loaded.counts  # exact: the generator splits these totals, it does not sample them
    print(json.dumps({
        "generate_s": time.perf_counter() - start,
        "volunteers": counts.volunteers, "recipients": counts.recipients, "tasks": counts.tasks,
    }))


def _measure(scenario: str, seed: int, out: str) -> None:
    """Run the worker as this process's only child; report its wall time and peak RSS."""
    command = [sys.executable, __file__, "--worker", scenario, "--seed", str(seed), "--out", out]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    inner = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({"wall_s": wall, "peak_rss_mib": peak_kib / 1024, **inner}))


def _rows(path: Path) -> dict[str, int]:
    """Data rows per CSV file of a bundle (header excluded)."""
    counts = {}
    for name in ("volunteers.csv", "availability.csv", "recipients.csv", "tasks.csv"):
        with open(path / name, "rb") as handle:
            counts[name[:-4]] = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1
    return counts


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def run(scenario: str, seed: int, out: Path) -> dict[str, object]:
    """Measure one scenario; returns the table row."""
    command = [sys.executable, __file__, "--measure", scenario, "--seed", str(seed), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{scenario}: generation failed")
    row: dict[str, object] = {"scenario": scenario, **json.loads(done.stdout.strip().splitlines()[-1])}
    row["output_mib"] = _size(out) / 1024**2
    if out.is_dir():
        row.update(_rows(out))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("bundle", "json"), default="bundle")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        _worker(args.worker, args.seed, args.out)
        return 0
    if args.measure:
        _measure(args.measure, args.seed, args.out)
        return 0

    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="assign-generate-"))
    base.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; "
        f"Python {info['python']}, numpy {info['numpy']}; {info['date']}"
    )
    print(f"command: python benchmarks/generate.py {' '.join(sys.argv[1:])}".rstrip())
    rows = []
    try:
        for name in args.scenarios:
            target = base / (f"{Path(name).stem}.json" if args.format == "json" else Path(name).stem)
            row = run(name, args.seed, target)
            rows.append(row)
            print(f"  {name}: {row['wall_s']:.1f} s, {row['peak_rss_mib']:.0f} MiB", file=sys.stderr)
            if not args.keep:
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
    finally:
        if not args.keep and not args.out:
            shutil.rmtree(base, ignore_errors=True)

    print()
    print("| scenario | volunteers | availability rows | recipients | tasks | wall s | generate s | peak RSS MiB | output MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        cells = [f"{row.get(k, '-'):,}" if isinstance(row.get(k), int) else "-" for k in ("volunteers", "availability", "recipients", "tasks")]
        print(
            f"| {row['scenario']} | {' | '.join(cells)} | {row['wall_s']:.1f} | {row['generate_s']:.1f} "
            f"| {row['peak_rss_mib']:.0f} | {row['output_mib']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
