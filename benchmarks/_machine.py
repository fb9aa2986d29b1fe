"""The machine a benchmark ran on, for the header of its tables (shared by
the benchmark scripts; run them from the repository root)."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path


def machine() -> dict[str, str]:
    """nproc, CPU model, RAM, Python, numpy and OR-Tools versions, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    import numpy
    import ortools

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "ortools": ortools.__version__,
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }
