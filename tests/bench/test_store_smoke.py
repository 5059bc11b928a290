"""The store benchmarks, run tiny from the command line so they never rot: the JSON shapes and the invariants that
do not depend on the machine (an import re-imported changes nothing; no row is lost), no timing assertions.

They run on trio's real clock: the SQLite store's thread does not work under an autojump clock.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.cli import main

IMPORT_FIELDS = {
    "rows",
    "open_s",
    "parse_s",
    "stored_s",
    "rows_s",
    "save_s",
    "import_s",
    "created",
    "reimport_parse_s",
    "reimport_stored_s",
    "reimport_rows_s",
    "reimport_save_s",
    "reimport_s",
    "unchanged",
    "parse_errors",
    "warnings",
}
STORE_FIELDS = {
    "batch",
    "rows_per_s",
    "load_rows_per_s",
    "daemon_decisions_per_s",
    "load_decision_rows_per_s",
    "state_rows_per_s",
    "daemon_rows_per_s",
    "commits_per_s",
    "writer_busy",
    "lost_rows",
    "overall_rows_per_s",
    "drain_s",
    "calls",
}
STORE_RATE_FIELDS = {"actors", "store", "decisions_per_s", "obs_per_s", "ratio", "rounds", "commits_per_s"}


def test_bench_import_reimports_every_row_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    assert main(["bench", "import", "--rows", "2000", "--encoding", "cp1252", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    run = result["run"]
    assert run.keys() >= IMPORT_FIELDS
    assert (run["rows"], run["parse_errors"], run["created"], run["unchanged"]) == (2000, 0, 2000, 2000)
    assert 0 < run["fba_rows"] < 2000 and 0 < run["b2b_rows"] < 2000
    assert run["warnings"] == 2000  # an export gives no bounds: no row can be priced yet
    assert run["import_s"] >= run["parse_s"] + run["stored_s"] + run["rows_s"] + run["save_s"]
    assert result["plan"] == {"rows": 2000, "encoding": "cp1252", "seed": 1}


def test_bench_store_writes_one_run_per_batch_size(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    argv = ["bench", "store", "--actors", "200", "--seconds", "0.5", "--warmup", "0.3", "--batch", "10,50"]
    assert main([*argv, "--in-process", "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [run["batch"] for run in runs] == [10, 50]
    for run in runs:
        assert run.keys() >= STORE_FIELDS
        assert run["lost_rows"] == 0
        assert abs(run["rows_per_s"] - run["load_rows_per_s"] - run["daemon_rows_per_s"]) <= 0.2
        assert run["load_rows_per_s"] >= 0 and run["daemon_decisions_per_s"] >= 0 and run["overall_rows_per_s"] > 0
        assert {"record_decisions", "save_search_states", "_commit"} <= run["calls"].keys()


def test_bench_store_without_the_daemon_measures_the_load_alone(tmp_path: Path) -> None:
    out = tmp_path / "alone.json"
    argv = ["bench", "store", "--seconds", "0.3", "--warmup", "0.2", "--batch", "100", "--load", "states"]
    assert main([*argv, "--no-daemon", "--in-process", "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert (run["daemon_decisions_per_s"], run["load_decision_rows_per_s"]) == (0, 0)
    assert run["state_rows_per_s"] > 0


def test_bench_throughput_runs_on_the_sqlite_store(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main(["bench", "throughput", "--quick", "--in-process", "--store", "sqlite", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (run,) = result["runs"]
    assert run["store"] == "sqlite" and result["plan"]["stores"] == ["sqlite"]
    assert run["obs_per_s"] > 0 and run["latency_samples"] > 0


def test_bench_throughput_compares_stores_round_by_round(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    argv = ["bench", "throughput", "--actors", "500", "--seconds", "0.3", "--warmup", "0.2", "--rounds", "2"]
    assert main([*argv, "--store", "memory,sqlite", "--in-process", "--json", str(out)]) == 0
    memory, sqlite = json.loads(out.read_text())["stores"]
    for rate in (memory, sqlite):
        assert rate.keys() >= STORE_RATE_FIELDS
        assert rate["actors"] == 500 and len(rate["rounds"]) == 2 and rate["decisions_per_s"] > 0
    assert (memory["store"], memory["ratio"], memory["commits_per_s"]) == ("memory", 1.0, None)
    assert sqlite["store"] == "sqlite" and sqlite["ratio"] > 0 and sqlite["commits_per_s"] is not None
