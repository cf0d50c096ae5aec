"""Tests of the benchmark suite: the GAP reader, the peers, and a small end-to-end run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    LoadBand,
    OpposingSides,
    feasibility_issues,
)
from benchmarks.__main__ import app
from benchmarks.gap_instances import (
    GapDataMissing,
    load_best_known,
    read_gap,
    resolve_gap_dir,
)
from benchmarks.peers import PEERS, get_peer
from benchmarks.report import (
    COUNTY_TARGETS,
    MET,
    MISSED,
    check_beats_peers,
    check_county,
    group_runs,
    render_markdown,
)
from benchmarks.suite import (
    COLUMNS,
    FULL_COUNTY_TIME_S,
    Row,
    RunSpec,
    SuiteConfig,
    SuiteResult,
    add_reference_gaps,
    county_tiers,
    planned_runs,
    run_one,
    solver_seeds,
)

# 2 agents x 4 items: costs, then weights (row per agent), then capacities.
TINY_GAP = """2 4
 5 9 4 7
 6 3 8 2
 2 3 1 2
 3 1 2 2
 10 10
"""
TINY_GAP_OPT = 14  # items 0, 2 -> agent 0 (5 + 4); items 1, 3 -> agent 1 (3 + 2)

TINY_GAP_B = """2 3
 4 4 9
 5 6 1
 3 3 3
 3 3 3
 9 9
"""
TINY_GAP_B_OPT = 9


def write_gap_dir(root: Path) -> Path:
    """A GAP data folder with two tiny instances and their best known values."""
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "t1").write_text(TINY_GAP)
    (root / "tiny" / "t2").write_text(TINY_GAP_B)
    (root / "best_known.csv").write_text(
        "Path,Format,Dataset,Item number,Agent number,Best known bound,Optimum,"
        "Best known solution value\n"
        f"tiny/t1,orlibrary,tiny,4,2,{TINY_GAP_OPT},{TINY_GAP_OPT},{TINY_GAP_OPT}\n"
        f"tiny/t2,orlibrary,tiny,3,2,{TINY_GAP_B_OPT},,{TINY_GAP_B_OPT}\n"
    )
    return root


def side_rule_instance() -> AssignmentInstance:
    """Five optional items, three agents in two groups, every kind of side rule."""
    items = [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    agents = [0, 1, 0, 1, 2, 1, 2, 0, 2, 0, 1, 2]
    return AssignmentInstance(
        n_items=5,
        n_agents=3,
        edge_item=np.array(items, dtype=np.int32),
        edge_agent=np.array(agents, dtype=np.int32),
        edge_cost=np.array([5, 1, 2, 3, 4, 1, 6, 2, 2, 3, 1, 9], dtype=np.int64),
        edge_weight=np.array([10, 10, 20, 20, 20, 10, 10, 30, 30, 10, 10, 10], dtype=np.int64),
        capacity=np.array([40, 30, 40], dtype=np.int64),
        max_count=np.array([2, 2, 2], dtype=np.int64),
        unassigned_penalty=np.array([100, 100, 80, 120, 60], dtype=np.int64),
        bands=[LoadBand(threshold=np.array([20, 20, 20], dtype=np.int64), points=3, unit=10)],
        base_load=np.array([0, 5, 0], dtype=np.int64),
        quota_short=np.array([1, 0, 0], dtype=np.int64),
        quota_points=7,
        same_agent_cliques=[np.array([0, 1], dtype=np.int32)],
        agent_group=np.array([0, 0, 1], dtype=np.int32),
        same_group_cliques=[np.array([2, 4], dtype=np.int32)],
        opposing_sides=[OpposingSides(np.array([3], np.int32), np.array([1], np.int32))],
        fixed_agent=np.array([1, -1, -1, -1, -1], dtype=np.int32),
    )


def shared_gap_dir() -> Path:
    try:
        return resolve_gap_dir()
    except GapDataMissing:
        pytest.skip("shared GAP data not present")


def test_read_gap_tiny(tmp_path: Path) -> None:
    """Tests that the reader turns the agent-major matrices into item-sorted edges."""
    path = tmp_path / "g"
    path.write_text(TINY_GAP)
    inst = read_gap(path)
    assert (inst.n_items, inst.n_agents, inst.n_edges) == (4, 2, 8)
    assert inst.edge_item.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert inst.edge_agent.tolist() == [0, 1] * 4
    assert inst.edge_cost.tolist() == [5, 6, 9, 3, 4, 8, 7, 2]
    assert inst.edge_weight.tolist() == [2, 3, 3, 1, 1, 2, 2, 2]
    assert inst.capacity.tolist() == [10, 10]
    assert inst.max_count.tolist() == [4, 4]
    assert np.all(inst.unassigned_penalty == MUST_ASSIGN)
    assert not inst.bands and not inst.same_agent_cliques and inst.agent_group is None


def test_read_gap_refuses_short_file(tmp_path: Path) -> None:
    """Tests that a file with fewer numbers than its header promises is refused by name."""
    path = tmp_path / "short"
    path.write_text("2 4\n 1 2 3\n")
    with pytest.raises(ValueError, match="short"):
        read_gap(path)


def test_read_gap1_0() -> None:
    """Tests that OR-Library gap1-0 reads with its sizes, first costs, weights and capacities."""
    inst = read_gap(shared_gap_dir() / "cattrysse1994" / "gap1-0")
    assert (inst.n_items, inst.n_agents, inst.n_edges) == (15, 5, 75)
    # Item 0 across the five agents: the first column of the cost and weight matrices.
    assert inst.edge_cost[:5].tolist() == [17, 23, 16, 19, 18]
    assert inst.edge_weight[0] == 8
    assert inst.edge_cost[5] == 21  # agent 0, item 1
    assert inst.capacity.tolist() == [36, 34, 38, 27, 33]


def test_best_known_with_correction() -> None:
    """Tests that best_known.csv loads with proven optima and the README's d20200 correction."""
    rows = {r.path: r for r in load_best_known(shared_gap_dir())}
    assert rows["cattrysse1994/gap1-0"].optimum == 261
    assert rows["chu1997/d20200"].optimum is None
    assert rows["chu1997/d20200"].best_value == 12238
    assert rows["yagiura2004/e801600"].family == "e"


def test_missing_gap_dir_is_a_clear_error(tmp_path: Path) -> None:
    """Tests that a missing data folder names the place looked at and the way to override it."""
    with pytest.raises(GapDataMissing, match="--gap-dir"):
        resolve_gap_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_feasible_on_side_rules(name: str) -> None:
    """Tests that each peer returns a feasible vector under every kind of side rule."""
    inst = side_rule_instance()
    vector = get_peer(name)(inst, 2.0, 0)
    assert vector.shape == (inst.n_items,)
    assert feasibility_issues(inst, vector) == []


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_feasible_on_tiny_gap(name: str, tmp_path: Path) -> None:
    """Tests that each peer assigns every item of a loose must-assign GAP instance."""
    path = tmp_path / "g"
    path.write_text(TINY_GAP)
    inst = read_gap(path)
    vector = get_peer(name)(inst, 2.0, 0)
    assert feasibility_issues(inst, vector) == []


def test_unknown_peer_lists_known() -> None:
    """Tests that an unknown method name raises and lists the registered ones."""
    with pytest.raises(KeyError, match="rotation"):
        get_peer("simulated-annealing")


def test_reference_gaps_use_ours_bound() -> None:
    """Tests that peers' gap to bound is measured against the bound ours proved."""
    ours = Row("county", "x", "x", "ours", 1.0, 0, objective=110, bound=100.0, feasible=True)
    peer = Row("county", "x", "x", "rotation", 1.0, 0, objective=125, feasible=True)
    gap = Row("gap", "g", "c", "ours", 1.0, 0, objective=102, best_known=100, feasible=True)
    add_reference_gaps([ours, peer, gap])
    assert ours.gap_to_bound == pytest.approx(10 / 110)
    assert peer.gap_to_bound == pytest.approx(25 / 125)
    assert gap.gap_to_best_known == pytest.approx(0.02)


def test_beating_ours_is_reported_as_missed() -> None:
    """Tests that a peer with a lower objective than ours makes the target missed, with figures."""
    rows = [
        Row("gap", "e1", "e", "ours", 1.0, 0, objective=105, feasible=True),
        Row("gap", "e1", "e", "plain-cpsat", 1.0, 0, objective=100, feasible=True),
        Row("gap", "c1", "c", "ours", 1.0, 0, objective=50, feasible=True),
        Row("gap", "c1", "c", "rotation", 1.0, 0, objective=40, feasible=False),
    ]
    checks = {c.target.split(":")[0]: c for c in check_beats_peers(rows)}
    assert checks["GAP type e"].result == MISSED
    assert "plain-cpsat 100 < ours 105" in checks["GAP type e"].figure
    assert checks["GAP type c"].result == MET  # an infeasible peer does not count


def test_isolated_run_measures_itself(tmp_path: Path) -> None:
    """Tests that a run in a fresh process comes back as a checked row with its peak memory."""
    gap_dir = write_gap_dir(tmp_path / "gap")
    spec = RunSpec("gap", "t1", "t", "ours", 1.0, 0, str(gap_dir / "tiny" / "t1"), TINY_GAP_OPT)
    row = run_one(spec)
    assert row.status == "ok" and row.feasible
    assert row.objective == TINY_GAP_OPT
    assert row.peak_mem_mb is not None and row.peak_mem_mb > 0


def quick_tiny_run(tmp_path: Path, out: Path, *options: str) -> None:
    """``benchmarks run --quick`` at 1 s on the two tiny GAP instances, in this process."""
    gap_dir = write_gap_dir(tmp_path / "gap")
    args = ["run", "--quick", "--time-limit", "1", "--instances", "t1,t2", *options]
    args += ["--gap-dir", str(gap_dir), "--out", str(out), "--in-process"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def test_quick_run_writes_csv_and_markdown(tmp_path: Path) -> None:
    """Tests that a quick run on two tiny instances writes the CSV and Markdown results."""
    out = tmp_path / "results"
    quick_tiny_run(tmp_path, out)
    csv_files = list(out.glob("quick-*.csv"))
    assert len(csv_files) == 1
    with csv_files[0].open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert {r["instance"] for r in rows} == {"t1", "t2"}
    assert {r["method"] for r in rows} == set(PEERS)
    ours = {r["instance"]: r for r in rows if r["method"] == "ours"}
    assert int(ours["t1"]["objective"]) == TINY_GAP_OPT
    md = (out / "latest-quick.md").read_text()
    for heading in ("## Machine", "## Targets", "## GAP instances"):
        assert heading in md
    assert "| instance | items x agents | best known |" in md
    assert md == next(out.glob("quick-*.md")).read_text()


def test_only_refuses_unknown_part(tmp_path: Path) -> None:
    """Tests that --only with an unknown part is refused before anything runs."""
    result = CliRunner().invoke(app, ["run", "--only", "everything", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert not list(tmp_path.glob("*.csv"))


def test_a_county_tier_in_both_protocols_runs_once() -> None:
    """county-S is a quick and a full tier; asked for by name it is planned once."""
    config = SuiteConfig(quick=False, instances=["county-S", "county-M"])
    assert county_tiers(config) == ["county-S", "county-M"]


def test_the_provinces_run_when_named_with_their_budget() -> None:
    """Tests that both provinces (apart, and with help across borders) run only when named,
    at 600 s each."""
    assert "province" not in county_tiers(SuiteConfig(quick=False))
    named = SuiteConfig(quick=False, instances=["province-border", "province"])
    assert county_tiers(named) == ["province", "province-border"]
    assert FULL_COUNTY_TIME_S["province"] == FULL_COUNTY_TIME_S["province-border"] == 600.0


def test_repeats_run_each_method_once_per_seed(tmp_path: Path) -> None:
    """Tests that --repeats 2 runs each method on each instance with seeds S and S + 1 and adds
    a table of their mean, min and max objective computed from the rows."""
    out = tmp_path / "results"
    quick_tiny_run(tmp_path, out, "--methods", "ours,rotation", "--seed", "5", "--repeats", "2")
    (csv_path,) = out.glob("quick-*.csv")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    seeds: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        seeds.setdefault((r["instance"], r["method"]), []).append(int(r["seed"]))
    assert seeds == {
        (inst, method): [5, 6] for inst in ("t1", "t2") for method in ("ours", "rotation")
    }
    md = (out / "latest-quick.md").read_text()
    assert "Solver seeds 5 to 6" in md
    assert "## Repeated runs" in md
    for inst, method in seeds:
        objectives = [
            int(r["objective"])
            for r in rows
            if r["instance"] == inst and r["method"] == method and r["feasible"] == "True"
        ]
        mean = sum(objectives) / len(objectives)
        mean_text = f"{mean:.0f}" if mean.is_integer() else f"{mean:.1f}"
        line = (
            f"| gap | {inst} | {method} | 2 | {len(objectives)} | {mean_text} | "
            f"{min(objectives)} | {max(objectives)} |"
        )
        assert line in md, line
    assert f"| gap | t1 | ours | 2 | 2 | {TINY_GAP_OPT} | {TINY_GAP_OPT} | {TINY_GAP_OPT} |" in md
    # The per-run GAP table keeps a line per instance and seed.
    assert "| instance | seed | items x agents |" in md
    for inst in ("t1", "t2"):
        for seed in (5, 6):
            assert f"| {inst} | {seed} | " in md


def test_summary_of_repeats_gives_mean_min_max() -> None:
    """Tests that the repeated-runs table and a county target use the mean and range of the
    runs: one run within the gap does not make the target met when the mean is not."""
    runs = [
        Row(
            "county",
            "county-S",
            "county-S",
            "ours",
            5.0,
            seed,
            objective=obj,
            feasible=True,
            status="ok",
            gap_to_bound=gap,
            wall_s=wall,
            peak_mem_mb=300.0,
        )
        for seed, obj, gap, wall in (
            (0, 100, 0.0005, 1.0),
            (1, 110, 0.003, 2.0),
            (2, 120, 0.004, 3.0),
        )
    ]
    config = SuiteConfig(seed=0, repeats=3)
    result = SuiteResult(config, rows=runs)
    check = check_county(runs, COUNTY_TARGETS[0])
    assert check.result == MISSED
    assert "gap to bound mean 0.25% (range 0.05% to 0.40%)" in check.figure
    assert "mean 2.0 s (range 1.0 s to 3.0 s)" in check.figure
    md = render_markdown(result, [check])
    assert "| county | county-S | ours | 3 | 3 | 110 | 100 | 120 | 0.25% | 2.0 |" in md
    assert "| tier | method | seed | size |" in md
    (group,) = group_runs(runs)
    assert group.mean_objective == pytest.approx(110.0)


def test_planned_runs_counts_repeats(tmp_path: Path) -> None:
    """Tests that the planned number of runs is instances x methods x repeats."""
    gap_dir = write_gap_dir(tmp_path / "gap")
    config = SuiteConfig(
        instances=["t1", "t2"], methods=["ours", "rotation"], gap_dir=gap_dir, repeats=3
    )
    assert planned_runs(config) == 2 * 2 * 3
    assert list(solver_seeds(SuiteConfig(seed=4, repeats=3))) == [4, 5, 6]


def test_repeats_below_one_are_refused(tmp_path: Path) -> None:
    """Tests that repeats < 1 is refused, by name, in the library and on the command line."""
    with pytest.raises(ValueError, match="repeats must be at least 1, got 0"):
        planned_runs(SuiteConfig(repeats=0, gap_dir=write_gap_dir(tmp_path / "gap")))
    result = CliRunner().invoke(app, ["run", "--repeats", "0", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "--repeats" in result.output
    assert not (tmp_path / "out").exists()
