"""Both benchmarks, run small from the command line so they never rot: the JSON contracts and sane numbers, no
timing assertions."""

from __future__ import annotations

import json
from pathlib import Path

from bench.convergence import STRATEGIES
from engine.cli import main

CELL_FIELDS = {
    "scenario",
    "delay_s",
    "tau",
    "strategy",
    "seeds",
    "p_buybox_30min",
    "median_t_buybox_s",
    "median_t_99_s",
    "median_t_998_s",
    "p_t99_60min",
    "p_t998_120min",
    "profit_ratio",
    "prices_outside_bounds",
    "unwinnable",
}
RUN_FIELDS = {
    "actors",
    "bytes_per_actor",
    "spawn_s",
    "obs_per_s",
    "noop_topology_per_s",
    "bare_channel_per_s",
    "p99_latency_ms",
    "max_gc_pause_ms",
}


def test_bench_convergence_writes_the_cells_contract_and_plots(tmp_path: Path) -> None:
    out, plots = tmp_path / "convergence.json", tmp_path / "plots"
    argv = ["bench", "convergence", "--scenario", "S1a", "--delay", "2m", "--tau", "0.005"]
    argv += ["--strategies", "engine,undercut", "--seeds", "3", "--batch", "2", "--rows", "2", "--hours", "1"]
    assert main([*argv, "--workers", "1", "--quiet", "--json", str(out), "--plots", str(plots)]) == 0
    cells = json.loads(out.read_text())["cells"]
    assert [c["strategy"] for c in cells] == ["engine", "undercut"]
    for cell in cells:
        assert cell.keys() >= CELL_FIELDS
        assert (cell["scenario"], cell["delay_s"], cell["tau"], cell["seeds"], cell["rows"]) == (
            "S1a",
            120.0,
            0.005,
            3,
            6,
        )
        assert cell["prices_outside_bounds"] == 0
        assert 0 <= cell["unwinnable"] <= 6
        for p in ("p_buybox_30min", "p_t99_60min", "p_t998_120min"):
            assert cell[p] is None or 0.0 <= cell[p] <= 1.0
        for t in ("median_t_buybox_s", "median_t_99_s", "median_t_998_s"):
            assert cell[t] is None or 0.0 <= cell[t] <= 3600.0
        assert cell["profit_ratio"] is None or cell["profit_ratio"] >= 0.0
    assert sorted(p.name for p in plots.iterdir()) == ["t99_cdf_S1a_D2m_tau0.005.png", "trajectory_S1a.png"]


def test_bench_convergence_quick_runs_every_strategy_and_keeps_every_price_in_bounds(tmp_path: Path) -> None:
    """The `--quick` plan as an evaluator would run it first (its scenarios, every strategy, its seeds and rows, two
    worker processes), over its first hour rather than its six, which made this the suite's longest test (110 s):
    every strategy moves its prices tens to hundreds of times in that hour, and each of those prices is within
    bounds. No timing asserted."""
    out = tmp_path / "quick.json"
    assert main(["bench", "convergence", "--quick", "--hours", "1", "--quiet", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    plan, cells = written["plan"], written["cells"]
    assert (plan["seeds"], plan["rows_per_seed"], plan["hours"], plan["workers"]) == (2, 10, 1.0, 2)
    assert {(c["scenario"], c["strategy"]) for c in cells} == {(s, k) for s in ("S1b", "S2") for k in STRATEGIES}
    for cell in cells:
        assert cell.keys() >= CELL_FIELDS
        assert (cell["seeds"], cell["rows"], cell["prices_outside_bounds"]) == (2, 2 * 10, 0)  # rows of all seeds
        assert cell["updates_sent"] >= cell["rows"], cell  # the bounds were put to the test: prices moved


def test_bench_convergence_resumes_from_the_runs_it_kept(tmp_path: Path) -> None:
    """A second run of the same plan over the same directory runs nothing and gives the same cells; a plan of
    more seeds runs only the new ones."""
    argv = ["bench", "convergence", "--scenario", "S2", "--delay", "2m", "--tau", "0.005", "--strategies", "engine"]
    argv += ["--rows", "1", "--hours", "1", "--batch", "1", "--workers", "1", "--quiet", "--resume", str(tmp_path)]
    first, again, more = (tmp_path / name for name in ("first.json", "again.json", "more.json"))
    assert main([*argv, "--seeds", "2", "--json", str(first)]) == 0
    kept = sorted(tmp_path.glob("*.pickle"))
    assert len(kept) == 4  # two seeds: a run and an oracle each
    assert main([*argv, "--seeds", "2", "--json", str(again)]) == 0
    assert sorted(tmp_path.glob("*.pickle")) == kept
    assert json.loads(first.read_text())["cells"] == json.loads(again.read_text())["cells"]
    assert main([*argv, "--seeds", "3", "--json", str(more)]) == 0
    assert len(list(tmp_path.glob("*.pickle"))) == 6
    assert json.loads(more.read_text())["cells"][0]["seeds"] == 3


def test_bench_throughput_writes_the_runs_contract(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main(["bench", "throughput", "--quick", "--in-process", "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert run.keys() >= RUN_FIELDS
    assert run["actors"] == 1000
    assert run["bytes_per_actor"] > 0 and run["spawn_s"] > 0
    assert run["obs_per_s"] > 0 and run["noop_topology_per_s"] > 0 and run["bare_channel_per_s"] > 0
    assert run["p99_latency_ms"] is not None and run["p99_latency_ms"] >= 0
    assert run["latency_samples"] > 0
