"""The command line as a user meets it: refusals with clear messages, and a clean stop on SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

import engine.cli.demo
from engine.cli import _parser, main

NO_DIR = "/no/such/dir"


@pytest.fixture(autouse=True)
def _data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default database lives in the user's data directory: a test never reaches the real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


def _refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    """Run the command in-process; a refusal is either argparse's SystemExit or a command's return code."""
    try:
        code: int | str | None = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_run_with_neither_sim_nor_config_exits_2_naming_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "--sim" in err and "--config" in err


def test_run_config_refuses_a_missing_file_and_a_missing_database_each_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The configuration's mistakes exit 1, as `repricer config check` prints them; what it points at, 2.
    assert main(["run", "--config", "seller.toml"]) == 1
    assert capsys.readouterr().err == "seller.toml: cannot read it: No such file or directory\n"
    config = tmp_path / "seller.toml"
    config.write_text(
        '[[seller]]\nid = "a"\nmerchant_id = "A1"\nregion = "eu"\nmarketplaces = ["DE"]\n'
        '[seller.credentials]\nclient_id = "c"\nclient_secret_env = "S"\nrefresh_token_env = "S"\n'
    )
    monkeypatch.setenv("S", "s")
    assert main(["run", "--config", str(config)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "no database at " in line and "repricer import LISTINGS.txt --seller a --marketplace DE" in line


def test_demo_keeps_its_state_in_memory_and_has_no_db_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--db", "x.db"])
    assert exit_info.value.code == 2
    assert "--db" in capsys.readouterr().err


def test_unknown_marketplace_and_scenario_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--sim", "--marketplaces", "DE,XX"])
    assert exit_info.value.code == 2
    assert "XX" in capsys.readouterr().err
    assert main(["run", "--sim", "--scenario", "S9"]) == 2
    assert "S9" in capsys.readouterr().err


# Every value-taking option of every command, given a bad value: (arguments, the value the message must name).
BAD_VALUES: list[tuple[list[str], str]] = [
    (["--log-level", "loud", "run", "--sim"], "loud"),
    (["run", "--sim", "--skus", "0"], "0"),
    (["run", "--sim", "--skus", "x"], "x"),
    (["run", "--sim", "--skus", "2.5"], "2.5"),
    (["run", "--sim", "--marketplaces", "XX"], "XX"),
    (["run", "--sim", "--marketplaces", ","], ","),
    (["run", "--sim", "--speed", "nan"], "nan"),
    (["run", "--sim", "--speed", "0"], "0"),
    (["run", "--sim", "--scenario", "S9"], "S9"),
    (["run", "--sim", "--seed", "-1"], "-1"),
    (["run", "--sim", "--seed", "one"], "one"),
    (["run", "--sim", "--hours", "-1"], "-1"),
    (["run", "--sim", "--hours", "inf"], "inf"),
    (["run", "--sim", "--db", f"{NO_DIR}/r.db"], f"{NO_DIR}/r.db"),
    (["run", "--sim", "--db", "/"], "/"),
    (["demo", "--skus", "0"], "0"),
    (["demo", "--skus", "many"], "many"),
    (["demo", "--hours", "-1"], "-1"),
    (["demo", "--hours", "4h"], "4h"),
    (["demo", "--seed", "x"], "x"),
    (["demo", "--scenario", "S9"], "S9"),
    (["demo", "--marketplace", "XX"], "XX"),
    (["demo", "--marketplace", "DE,FR"], "DE,FR"),
    (["demo", "--json", f"{NO_DIR}/x.json"], f"{NO_DIR}/x.json"),
    (["catalog", "import", f"{NO_DIR}/c.csv"], f"{NO_DIR}/c.csv"),
    (["catalog", "import", "catalog.xlsx"], "catalog.xlsx"),
    (["catalog", "import", "c.csv", "--format", "xml"], "xml"),
    (["catalog", "import", "c.csv", "--seller", "my shop"], "my shop"),
    (["catalog", "import", "c.csv", "--seller", ""], "''"),
    (["catalog", "import", "c.csv", "--marketplace", "XX"], "XX"),
    (["catalog", "import", "c.csv", "--db", f"{NO_DIR}/r.db"], f"{NO_DIR}/r.db"),
    (["catalog", "export", "--format", "xml"], "xml"),
    (["catalog", "export", "--seller", "a\tb"], "a\\tb"),
    (["catalog", "export", "--marketplace", "DE,FR"], "DE,FR"),
    (["catalog", "export", "-o", f"{NO_DIR}/c.csv"], f"{NO_DIR}/c.csv"),
    (["catalog", "export", "-o", "catalog.xlsx"], "catalog.xlsx"),
    (["catalog", "export", "--db", f"{NO_DIR}/r.db"], f"{NO_DIR}/r.db"),
    (["import", f"{NO_DIR}/l.txt", "--marketplace", "DE"], f"{NO_DIR}/l.txt"),
    (["import", "l.txt"], "--marketplace"),
    (["import", "l.txt", "--marketplace", "XX"], "XX"),
    (["import", "l.txt", "--marketplace", "DE", "--seller", " "], "' '"),
    (["import", "l.txt", "--marketplace", "DE", "--db", f"{NO_DIR}/r.db"], f"{NO_DIR}/r.db"),
    (["history", "A-1"], "--marketplace"),
    (["history", " ", "--marketplace", "DE"], "' '"),
    (["history", "A-1", "--marketplace", "XX"], "XX"),
    (["history", "A-1", "--marketplace", "DE", "--seller", "a b"], "a b"),
    (["history", "A-1", "--marketplace", "DE", "--limit", "0"], "0"),
    (["history", "A-1", "--marketplace", "DE", "--limit", "all"], "all"),
    (["history", "A-1", "--marketplace", "DE", "--db", f"{NO_DIR}/r.db"], f"{NO_DIR}/r.db"),
    (["bench", "convergence", "--scenario", "S9"], "S9"),
    (["bench", "convergence", "--delay", "2x"], "2x"),
    (["bench", "convergence", "--delay", "0m"], "0m"),
    (["bench", "convergence", "--tau", "-1"], "-1"),
    (["bench", "convergence", "--tau", "warm"], "warm"),
    (["bench", "convergence", "--seeds", "0"], "0"),
    (["bench", "convergence", "--rows", "x"], "x"),
    (["bench", "convergence", "--hours", "nan"], "nan"),
    (["bench", "convergence", "--strategies", "nope"], "nope"),
    (["bench", "convergence", "--sellers", "many"], "many"),
    (["bench", "convergence", "--workers", "0"], "0"),
    (["bench", "convergence", "--batch", "-2"], "-2"),
    (["bench", "convergence", "--first-seed", "0"], "0"),
    (["bench", "convergence", "--resume", f"{NO_DIR}/runs"], f"{NO_DIR}/runs"),
    (["bench", "convergence", "--json", f"{NO_DIR}/x.json"], f"{NO_DIR}/x.json"),
    (["bench", "convergence", "--plots", f"{NO_DIR}/plots"], f"{NO_DIR}/plots"),
    (["bench", "throughput", "--actors", "0k"], "0k"),
    (["bench", "throughput", "--actors", "lots"], "lots"),
    (["bench", "throughput", "--seconds", "0"], "0"),
    (["bench", "throughput", "--latency-seconds", "x"], "x"),
    (["bench", "throughput", "--latency-rate", "-5"], "-5"),
    (["bench", "throughput", "--warmup", "nan"], "nan"),
    (["bench", "throughput", "--json", f"{NO_DIR}/x.json"], f"{NO_DIR}/x.json"),
]


@pytest.mark.parametrize(("argv", "bad"), BAD_VALUES, ids=[" ".join(argv) for argv, _ in BAD_VALUES])
def test_every_bad_value_exits_2_naming_it_without_traceback(
    argv: list[str], bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _refusal(argv, capsys)
    assert code == 2, output
    [message] = [line for line in output.splitlines() if "error:" in line]
    assert bad in message
    assert "Traceback" not in output
    # argparse names the type function when one lets a ValueError out: the message must be ours.
    assert "invalid" not in output or "invalid choice" in output


def test_output_paths_that_are_not_writable_as_asked_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for argv, bad in [
        (["demo", "--json", str(tmp_path)], str(tmp_path)),  # a directory where a file is wanted
        (["bench", "convergence", "--plots", str(a_file)], str(a_file)),  # a file where a directory is wanted
        (["bench", "convergence", "--resume", str(a_file)], str(a_file)),
        (["bench", "throughput", "--json", str(a_file / "x.json")], str(a_file / "x.json")),
    ]:
        code, output = _refusal(argv, capsys)
        assert (code, "Traceback" in output) == (2, False), output
        assert bad in output


def test_a_real_user_sees_one_message_and_no_traceback() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", "--marketplace", "XX", "--json", f"{NO_DIR}/x.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert "XX" in process.stderr
    assert "Traceback" not in process.stderr + process.stdout


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    """Every option of the parser and of its subcommands, named by the command it belongs to."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _options(sub)
        elif action.option_strings:
            found.append((parser.prog, action))
    return found


def test_every_option_has_a_help_text_that_gives_its_default() -> None:
    options = _options(_parser())
    assert len(options) > 30
    for prog, action in options:
        name = f"{prog} {action.option_strings[-1]}"
        assert action.help, f"{name} has no help text"
        # The formatter shows a default where there is one; where it depends on another option (or there is
        # none), the text says it, unless the option only names where to write something.
        # A required option has no default to give.
        if (
            action.nargs != 0
            and action.default is None
            and action.metavar not in ("FILE", "DIR")
            and not action.required
        ):
            assert "default" in action.help, f"{name} does not say its default"


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # as wrapped at any terminal width
    assert "(default: 200)" in out and "(default: DE,FR,GB)" in out and "(default: S1b)" in out
    with pytest.raises(SystemExit):
        main(["bench", "convergence", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 24; 6 with --quick)" in out and "(default: 2m,5m; 2m with --quick)" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("repricer ")


def test_ctrl_c_during_demo_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def interrupted(args: argparse.Namespace) -> None:
        # A real SIGINT, taken by trio's handler inside a nursery: it comes out in an exception group. Bounded, so
        # a SIGINT that never arrives fails the test instead of hanging the suite.
        async with trio.open_nursery():
            os.kill(os.getpid(), signal.SIGINT)
            await trio.sleep(10)

    # A shell that starts a job in the background (CI may) has it ignore SIGINT, and trio then leaves SIGINT
    # alone: Python's own handler, as an interactive terminal has it, is what this test is about.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(engine.cli.demo, "_demo", interrupted)
    try:
        assert main(["demo", "--skus", "1"]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    captured = capsys.readouterr()
    assert captured.err.strip() == "repricer: interrupted"
    assert captured.out == ""


def test_a_crash_inside_a_command_stays_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    async def crashing(args: argparse.Namespace) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine.cli.demo, "_demo", crashing)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["demo", "--skus", "1"])


def test_run_and_demo_load_no_bench_module() -> None:
    code = (
        "import sys\n"
        "import engine.cli.run, engine.cli.demo\n"
        "import adapters.simulated.run, engine.live, engine.pricing.search, sim.metrics, sim.scheduling\n"
        "print(sorted(name for name in sys.modules if name.startswith('bench')))\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "[]"


def test_sigterm_stops_the_daemon_cleanly_with_exit_0() -> None:
    # A real process on the real clock: the only way to see what a systemd stop does.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "--sim", "--skus", "20", "--marketplaces", "DE", "--speed", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stderr is not None
        # Without a terminal the live view is log lines: the first summary says the daemon is up.
        said = [process.stderr.readline(), process.stderr.readline()]
        assert "repricer.live: starting: repricer --sim" in said[0]
        assert "repricer.live: running DE: " in said[1]
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out == ""  # no frames into a pipe
    assert "repricer.live: stopping: " in err and "repricer.live: stopped DE: " in err
    # The in-memory store keeps nothing past the process, and the stop line says so rather than claim a save.
    assert "nothing persisted" in err
    assert "saved" not in err


def _run_sim(*options: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "engine.cli", *options]
    argv += ["run", "--sim", "--skus", "5", "--marketplaces", "DE", "--speed", "900", "--hours", "0.25"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_log_level_info_tells_the_start_and_the_stop_and_debug_every_decision() -> None:
    warning = _run_sim()
    assert warning.returncode == 0, warning.stderr
    assert "engine.daemon" not in warning.stderr  # the default: only the live summaries and the stop report
    info = _run_sim("--log-level", "info")
    assert "INFO engine.daemon.daemon: started: offers 5, marketplaces 1, sellers 1" in info.stderr
    assert "INFO engine.daemon.daemon: stopping: " in info.stderr
    assert "INFO engine.daemon.daemon: stopped: nothing persisted" in info.stderr
    assert "DEBUG" not in info.stderr
    debug = _run_sim("--log-level", "debug")
    decisions = [line for line in debug.stderr.splitlines() if "DEBUG engine.actors.recorder: SIM/DE/" in line]
    assert len(decisions) >= 5


def test_log_format_json_writes_one_object_a_line() -> None:
    done = _run_sim("--log-level", "info", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    *logged, report = done.stderr.splitlines()
    entries = [json.loads(line) for line in logged]  # every log line, the stop report after them is the output
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    summaries = [e for e in entries if e["logger"] == "repricer.live" and e.get("marketplace") == "DE"]
    assert summaries and summaries[-1]["offers"] == 5
    assert report.startswith("stopped: nothing persisted")


def test_a_demo_seed_gives_the_same_run_every_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two demos of one seed agree on every figure but the wall time: trio's order of ready tasks is seeded too."""
    runs = []
    for name in ("first.json", "second.json"):
        out = tmp_path / name
        args = ["demo", "--skus", "6", "--hours", "2", "--seed", "4", "--scenario", "S1b", "--json", str(out)]
        assert main(args) == 0
        summary = json.loads(out.read_bytes())
        summary.pop("wall_s")
        runs.append(summary)
    assert runs[0] == runs[1]
    assert runs[0]["skus"] == 6
    assert "time to Buy Box" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["bench", "convergence", "--strategies", "engine,engine"], "unknown or repeated strategy 'engine,engine'"),
        (["bench", "spapi", "--faults", "storm429,nope"], "unknown or repeated fault nope; known: "),
        (["bench", "store", "--load", "decisions,nope"], "unknown or repeated load nope; known: decisions, states"),
        (["bench", "throughput", "--store", "memory,memory"], "unknown or repeated store 'memory,memory'"),
    ],
)
def test_bench_names_are_refused_unknown_or_repeated(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err
