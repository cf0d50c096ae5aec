"""Tests of writing scenario and capacity reports (scenarios/report_folder.py and its callers):
a folder that cannot take the report is refused before any solve, and a report replaces the old
one whole or not at all."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assigner.search.cpsat import SearchParams
from scenarios import generate_county
from scenarios.capacity import CapacityPlan, plan_capacity, write_capacity
from scenarios.report_folder import ReportFolderError, report_folder_error, write_report_files
from scenarios.whatif.cli import scenario_app
from scenarios.whatif.report import write_report
from scenarios.whatif.runner import ScenarioResult, run_scenario
from scenarios.whatif.spec import CapacityPlanning, scenario_from_data

runner = CliRunner()
REPORT_FILES = ("results.json", "kpis.csv", "report.html")

TINY = {
    "name": "tiny report",
    "baseline": {"tier": "tiny", "seed": 3},
    "samples": 1,
    "time_limit_s": 0.5,
    "variants": [{"name": "more", "changes": [{"kind": "scale_demand", "factor": 1.2}]}],
}


@pytest.fixture(scope="module")
def result() -> ScenarioResult:
    return run_scenario(scenario_from_data(TINY))


@pytest.fixture(scope="module")
def capacity_plan() -> CapacityPlan:
    params = SearchParams(time_limit_s=0.5, workers=1, seed=0, deterministic=True)
    return plan_capacity(generate_county("tiny", 3), CapacityPlanning(), params)


def _scenario_file(tmp_path: Path) -> Path:
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return file


def _old_files(folder: Path, names: tuple[str, ...]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {name: f"old {name}\n" for name in names}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return texts


def _no_solve(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("solved although the report folder cannot take the report")


# -- before any solve ------------------------------------------------------------------------


def test_run_refuses_a_file_as_out_folder_before_solving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that `scenario run --out FILE` exits with code 2 naming the file, and solves
    nothing (the run's results would be lost at its end)."""
    monkeypatch.setattr("scenarios.whatif.runner.run_scenario", _no_solve)
    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    result = runner.invoke(
        scenario_app, ["run", str(_scenario_file(tmp_path)), "--out", str(afile)]
    )
    assert result.exit_code == 2, result.output
    assert f"{afile} is not a folder" in result.output
    assert "Traceback" not in result.output
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_run_refuses_a_folder_where_a_report_file_goes_before_solving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that `scenario run` refuses an out folder whose report.html is a folder, before
    solving, and leaves the other files of the old report as they were."""
    monkeypatch.setattr("scenarios.whatif.runner.run_scenario", _no_solve)
    out = tmp_path / "half"
    old = _old_files(out, ("results.json", "kpis.csv"))
    (out / "report.html").mkdir()
    result = runner.invoke(scenario_app, ["run", str(_scenario_file(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{out / 'report.html'} is a folder" in result.output
    for name, text in old.items():
        assert (out / name).read_text(encoding="utf-8") == text


def test_capacity_refuses_a_file_as_out_folder_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that `scenario capacity --out FILE` exits with code 2 before planning."""
    monkeypatch.setattr("scenarios.capacity.plan_capacity", _no_solve)
    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    args = ["capacity", str(_scenario_file(tmp_path)), "--out", str(afile)]
    result = runner.invoke(scenario_app, args)
    assert result.exit_code == 2, result.output
    assert f"{afile} is not a folder" in result.output
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_folder_checks_name_what_is_wrong(tmp_path: Path) -> None:
    """Tests that a missing folder (to be created) passes, and that a folder under a file, a
    link or a pipe where a report file goes are refused by name."""
    assert report_folder_error(tmp_path / "new" / "deeper", REPORT_FILES) is None
    (tmp_path / "file").write_text("x", encoding="utf-8")
    problem = report_folder_error(tmp_path / "file" / "out", REPORT_FILES)
    assert problem is not None and "is not a folder" in problem
    out = tmp_path / "out"
    out.mkdir()
    (out / "kpis.csv").symlink_to(tmp_path / "file")
    problem = report_folder_error(out, REPORT_FILES)
    assert problem is not None and "kpis.csv is a symbolic link" in problem
    (out / "kpis.csv").unlink()
    os.mkfifo(out / "report.html")
    problem = report_folder_error(out, REPORT_FILES)
    assert problem is not None and "report.html is a named pipe" in problem


# -- writing ---------------------------------------------------------------------------------


def test_report_is_written_whole_or_not_at_all(tmp_path: Path, result: ScenarioResult) -> None:
    """Tests that write_report into a folder whose report.html is a folder raises an OSError
    naming it and leaves results.json and kpis.csv as they were; and that once the folder is
    fit, the three files are replaced and no staging folder is left."""
    out = tmp_path / "out"
    old = _old_files(out, ("results.json", "kpis.csv"))
    (out / "report.html").mkdir()
    with pytest.raises(OSError, match=r"report\.html is a folder"):
        write_report(result, out)
    for name, text in old.items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)

    (out / "report.html").rmdir()
    files = write_report(result, out)
    assert json.loads(files.results_json.read_text(encoding="utf-8"))["variants"]
    assert files.kpis_csv.read_text(encoding="utf-8").startswith("variant,sample,")
    assert "<!DOCTYPE html>" in files.report_html.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)


def test_capacity_files_are_written_whole_or_not_at_all(
    tmp_path: Path, capacity_plan: CapacityPlan
) -> None:
    """Tests that write_capacity into a folder whose capacity.csv is a folder raises an
    OSError and leaves capacity.json as it was; then writes both."""
    out = tmp_path / "cap"
    old = _old_files(out, ("capacity.json",))
    (out / "capacity.csv").mkdir()
    with pytest.raises(OSError, match=r"capacity\.csv is a folder"):
        write_capacity(capacity_plan, out)
    assert (out / "capacity.json").read_text(encoding="utf-8") == old["capacity.json"]
    (out / "capacity.csv").rmdir()
    json_path, csv_path = write_capacity(capacity_plan, out)
    assert json.loads(json_path.read_text(encoding="utf-8"))["cases"] == capacity_plan.cases
    assert csv_path.read_text(encoding="utf-8").startswith("practice_area,")
    assert sorted(p.name for p in out.iterdir()) == ["capacity.csv", "capacity.json"]


def test_a_failed_rename_puts_the_old_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that when a rename fails part way, the files already replaced get their old
    text back and a file that was new is removed."""
    out = tmp_path / "out"
    old = _old_files(out, ("a.txt",))
    real_replace = os.replace
    calls: list[str] = []

    def flaky_replace(src: Any, dst: Any) -> None:
        calls.append(Path(dst).name)
        if Path(dst).name == "c.txt":
            raise OSError(errno.EIO, "Input/output error", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr("scenarios.report_folder.os.replace", flaky_replace)
    with pytest.raises(OSError, match="Input/output error"):
        write_report_files(out, {"a.txt": "new a", "b.txt": "new b", "c.txt": "new c"})
    assert calls[:3] == ["a.txt", "b.txt", "c.txt"]
    assert (out / "a.txt").read_text(encoding="utf-8") == old["a.txt"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]


def test_write_report_files_keeps_permissions(tmp_path: Path) -> None:
    """Tests that a replaced file keeps its permission bits."""
    (tmp_path / "a.txt").write_text("old", encoding="utf-8")
    os.chmod(tmp_path / "a.txt", 0o640)
    write_report_files(tmp_path, {"a.txt": "new"})
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "new"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_run_reports_a_failed_write_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a write the file system refuses at the end of `scenario run` (a full disk)
    exits with code 2 and a message naming the folder, not a traceback."""

    def full_disk(folder: Path, _texts: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "report.html"))

    monkeypatch.setattr("scenarios.whatif.report.write_report_files", full_disk)
    out = tmp_path / "out"
    result = runner.invoke(scenario_app, ["run", str(_scenario_file(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "No space left on device" in result.output and str(out) in result.output
    assert "not written" in result.output


def test_report_folder_error_is_an_oserror() -> None:
    """Tests that callers catching OSError also catch a refused report target."""
    assert issubclass(ReportFolderError, OSError)
