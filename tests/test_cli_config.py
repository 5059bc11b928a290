"""`repricer run --config FILE` as an operator meets it: every refusal one clear message before anything starts; then
the daemon on the configured database and endpoints, reloaded by SIGHUP and `repricer ctl reload`, stopped by
SIGTERM with its state saved, and resumed by the next start. No secret ever shown.

The running daemon is a real process on the real clock (the store has a thread); its endpoints are a closed port on
this machine, so its calls fail as a network outage would and it keeps running: what is tested is the daemon around
the adapter (the adapter against Amazon's shapes is `tests/actors/test_configured.py`'s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from engine.catalog import CatalogRow
from engine.cli import main
from engine.cli.database import daemon_lock
from engine.model import OfferKey
from tests.config.files import CLIENT_SECRET, ENVIRON, MERCHANT_ID, REFRESH_TOKEN, write


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials' variables set; the user's data directory (the default database) inside the test's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)


def _closed_port() -> int:
    """A port on this machine nothing listens on: a connection there is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config_text(port: int, *, socket_path: Path, step_cap: str = "0.05", marketplaces: str = '"DE", "FR"') -> str:
    return f"""\
database = "r.db"
control_socket = "{socket_path}"

[log]
level = "info"

[[seller]]
id = "acme-eu"
merchant_id = "{MERCHANT_ID}"
region = "eu"
marketplaces = [{marketplaces}]

[seller.credentials]
client_id = "amzn1.application-oa2-client.test"
client_secret_env = "TEST_CLIENT_SECRET"
refresh_token_env = "TEST_REFRESH_TOKEN"

[seller.endpoints]
sp_api = "http://127.0.0.1:{port}"
lwa_token = "http://127.0.0.1:{port}/auth/o2/token"

[seller.channel.DE]
step_cap = {step_cap}
"""


def _catalog(db: Path, rows: list[CatalogRow]) -> None:
    """Rows into a database, as `repricer catalog import` leaves them."""
    from engine.store.sqlite import SqliteStore

    async def save() -> None:
        async with SqliteStore.open(str(db)) as store:
            await store.save_catalog(rows)

    trio.run(save)


def _row(sku: str, seller: str = "acme-eu") -> CatalogRow:
    return CatalogRow(OfferKey(seller, "DE", sku), asin=f"B00000000{sku[-1]}", min_price=1000, max_price=3000)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str, str]:
    try:
        code: int | str | None = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert CLIENT_SECRET not in out + err and REFRESH_TOKEN not in out + err
    return code, out, err


# --- refusals: nothing starts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[[seller]]\nid = 'acme'\nbogus = 1\n",
        "database = \n",  # not TOML
        "",  # no seller
    ],
    ids=["unknown-key", "syntax", "no-seller"],
)
def test_a_bad_configuration_is_printed_as_config_check_prints_it_and_nothing_starts(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, text)
    checked = _cli(["config", "check", str(file)], capsys)
    ran = _cli(["run", "--config", str(file)], capsys)
    assert ran == checked and ran[0] == 1 and ran[2].startswith(f"{file}:")
    assert not (tmp_path / "data-home").exists()  # no database made, nothing opened


def test_a_configuration_that_cannot_be_read_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["run", "--config", "/etc/repricer/none.toml"], capsys)
    assert (code, err) == (1, "/etc/repricer/none.toml: cannot read it: No such file or directory\n")


def test_the_simulator_s_options_are_refused_with_a_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, _config_text(1, socket_path=tmp_path / "c.sock"))
    code, _, err = _cli(["run", "--config", str(file), "--speed", "600", "--skus", "5"], capsys)
    assert code == 2 and "--skus, --speed: only with --sim" in err


def test_a_missing_database_is_refused_with_how_to_import_into_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, _config_text(1, socket_path=tmp_path / "c.sock"))
    code, _, err = _cli(["run", "--config", str(file)], capsys)
    db = tmp_path / "r.db"
    assert code == 2 and f"no database at {db}" in err
    assert f"repricer import LISTINGS.txt --seller acme-eu --marketplace DE --db {db}" in err
    assert not db.exists()


def test_a_database_that_is_not_a_repricer_store_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, _config_text(1, socket_path=tmp_path / "c.sock"))
    (tmp_path / "r.db").write_text("just some text\n")
    code, _, err = _cli(["run", "--config", str(file)], capsys)
    [line] = err.splitlines()
    assert code == 2 and f"cannot open the database {tmp_path / 'r.db'}" in line


def test_a_database_another_daemon_runs_on_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, _config_text(1, socket_path=tmp_path / "c.sock"))
    db = tmp_path / "r.db"
    _catalog(db, [_row("SKU-1")])
    with daemon_lock(db):
        code, _, err = _cli(["run", "--config", str(file)], capsys)
    assert code == 2 and f"another repricer daemon runs on the database {db}" in err


def test_a_catalog_with_nothing_to_reprice_is_refused_naming_the_database_and_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, _config_text(1, socket_path=tmp_path / "c.sock"))
    db = tmp_path / "r.db"
    _catalog(db, [_row("SKU-1", seller="default")])  # imported without --seller
    code, _, err = _cli(["run", "--config", str(file)], capsys)
    assert code == 2
    assert f"nothing to reprice: the catalog in {db} has no offer for seller acme-eu on DE, FR" in err
    assert "it holds offers for default/DE: were they imported under another --seller?" in err


# --- the daemon -------------------------------------------------------------------------------------------------


class _Daemon:
    """`repricer run --config FILE` as a child process, its stderr read line by line."""

    def __init__(self, file: Path, *options: str) -> None:
        argv = [sys.executable, "-m", "engine.cli", *options, "run", "--config", str(file)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.said: list[str] = []

    def wait_for(self, text: str) -> str:
        """The first line from now on that holds ``text``."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.said.append(line)
            if text in line:
                return line
        raise AssertionError(f"the daemon ended without saying {text!r}: {''.join(self.said)}")

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        self.said.append(err)
        assert out == ""
        return self.process.returncode, err


@pytest.fixture
def running() -> Iterator[list[_Daemon]]:
    started: list[_Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def _ctl(socket_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine.cli", "ctl", "--socket", str(socket_path), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_daemon_runs_reloads_stops_and_resumes(tmp_path: Path, running: list[_Daemon]) -> None:
    port = _closed_port()
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    first, second = runtime / "a" / "c.sock", runtime / "b" / "c.sock"
    file = write(tmp_path, _config_text(port, socket_path=first))
    _catalog(tmp_path / "r.db", [_row("SKU-1"), _row("SKU-2")])

    daemon = _Daemon(file)
    running.append(daemon)
    # The configuration's [log] level (info) rules: the start is told.
    daemon.wait_for("started: offers 2, marketplaces 2, sellers 1")
    assert any("acme-eu/FR: no offers in the catalog" in line for line in daemon.said)
    status = _ctl(first, "status", "--json")
    assert status.returncode == 0, status.stderr

    # SIGHUP: a channel setting is taken in live, and the catalog is read again.
    write(tmp_path, _config_text(port, socket_path=first, step_cap="0.04"))
    daemon.process.send_signal(signal.SIGHUP)
    line = daemon.wait_for("reloaded the configuration")
    assert line.rstrip().endswith(f"reloaded the configuration {file}: applied seller[0].channel.DE")
    daemon.wait_for("reloaded the catalog: 0 added, 0 removed, 0 changed, 2 unchanged")
    settings = _ctl(first, "settings", "--marketplace", "DE", "--json")
    assert '"step_cap":"0.04"' in settings.stdout.replace(" ", "")

    # A file that no longer parses is refused on SIGHUP, with its line; the settings stay.
    broken = file.read_text().replace("step_cap = ", "step_cap = = ", 1)
    assert broken != file.read_text()
    file.write_text(broken)
    daemon.process.send_signal(signal.SIGHUP)
    refused_line = daemon.wait_for("configuration not reloaded")
    assert f"{file}:" in refused_line and "the daemon runs on as configured before" in refused_line
    assert '"step_cap":"0.04"' in _ctl(first, "settings", "--marketplace", "DE", "--json").stdout.replace(" ", "")

    # A change that needs a restart is refused whole: the key, its line, and the daemon runs on as it was.
    write(tmp_path, _config_text(port, socket_path=first, step_cap="0.03", marketplaces='"DE"'))
    refused = _ctl(first, "reload")
    assert refused.returncode == 1
    assert f"configuration not reloaded: {file}:11: seller[0].marketplaces: " in refused.stdout
    assert "the daemon runs on as configured before" in refused.stdout
    daemon.wait_for("configuration not reloaded")
    assert '"step_cap":"0.04"' in _ctl(first, "settings", "--marketplace", "DE", "--json").stdout.replace(" ", "")

    # The control socket moves where the file now says, asked over the socket it was on.
    write(tmp_path, _config_text(port, socket_path=second, step_cap="0.04"))
    moved = _ctl(first, "reload")
    assert moved.returncode == 0 and "applied control_socket" in moved.stdout, moved.stdout + moved.stderr
    assert _ctl(second, "status").returncode == 0
    assert not first.exists()

    code, err = daemon.stop()
    assert code == 0, err
    assert "stopped: 2 search states and 0 unsent updates saved" in err

    # The next start takes up where this one stopped.
    again = _Daemon(file)
    running.append(again)
    again.wait_for("resumed 2 search states")
    again.wait_for("started: offers 2")
    code, err = again.stop()
    assert code == 0, err
    said = "".join(daemon.said + again.said)
    assert CLIENT_SECRET not in said and REFRESH_TOKEN not in said
