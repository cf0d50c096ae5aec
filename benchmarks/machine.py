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


def machine_rows(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> list[str]:
    """The Markdown table rows every result file opens with: the machine, and its load."""
    return [
        "| what | value |",
        "| --- | --- |",
        f"| machine | {short_machine_line()} |",
        f"| load average before / after (1, 5, 15 min) | {load_averages(load_before)} / "
        f"{load_averages(load_after)} |",
    ]
