"""What every benchmark result says about the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_averages(values: tuple[float, ...]) -> str:
    """1, 5 and 15-minute load averages as written in result files."""
    return " ".join(f"{x:.2f}" for x in values)


def short_machine_line() -> str:
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}"
