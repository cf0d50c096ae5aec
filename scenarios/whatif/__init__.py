"""What-if scenarios: spec files, changed problems, the runner and its reports.

``run_scenario_file(path, out_dir)`` is the whole job (what ``assigner scenario run`` and a
service job call): load and check the file, solve every (variant, sample), write
``results.json``, ``kpis.csv`` and ``report.html``.
"""

from scenarios.whatif.errors import (
    ScenarioCancelledError,
    ScenarioError,
    ScenarioIssue,
    SnapshotUnavailableError,
)
from scenarios.whatif.jobs import run_scenario_file
from scenarios.whatif.spec import Scenario, load_scenario, scenario_from_data

__all__ = [
    "Scenario",
    "ScenarioCancelledError",
    "ScenarioError",
    "ScenarioIssue",
    "SnapshotUnavailableError",
    "load_scenario",
    "run_scenario_file",
    "scenario_from_data",
]
