"""The scenario run as one job, for the CLI and for the service's job runner.

A service job stores the scenario document (or a path), calls :func:`run_scenario_file` in its
worker with a progress callback (``RunProgress.done / total``) and a ``should_stop`` that reads
the job's cancel flag, and keeps the returned report paths.  The engine reports no objective
per variant, so job progress is the share of solves done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scenarios.whatif.baseline import SnapshotLoader
from scenarios.whatif.report import ReportFiles, write_report
from scenarios.whatif.runner import ProgressCallback, ScenarioResult, run_scenario
from scenarios.whatif.spec import Scenario, load_scenario, scenario_from_data


def run_scenario_file(
    source: str | Path | dict[str, Any] | Scenario,
    out_dir: str | Path,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    snapshot_loader: SnapshotLoader | None = None,
    base_dir: Path | None = None,
) -> tuple[ScenarioResult, ReportFiles]:
    """Run a scenario (a file path, a parsed document or a Scenario) and write its report.

    Raises ``ScenarioError`` (bad file or changes, before any solve) and
    ``ScenarioCancelledError`` (``should_stop`` said so).
    """
    if isinstance(source, Scenario):
        spec = source
    elif isinstance(source, dict):
        spec = scenario_from_data(source, base_dir)
    else:
        spec = load_scenario(source)
    result = run_scenario(spec, progress, should_stop, snapshot_loader)
    return result, write_report(result, out_dir)
