"""`repricer ctl reload`, and the control socket moving to another path when a reloaded configuration says so: the
new socket answers, the old one's file and lock go, a client connected before the move is still served, and a path
that cannot be had changes nothing. Real sockets, so trio's real clock (see `tests.control.harness`)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import trio

from engine.control import ControlConfig, ControlServer, ControlSocketError
from engine.control.protocol import Status
from engine.control.results import ReloadResult
from tests.control.harness import Lines, build, call, serving, socket_dir
from tests.control.test_commands import ctl

CONFIGURATION = "reloaded the configuration /etc/repricer/repricer.toml: applied log.level"
CATALOG = "reloaded the catalog: 0 added, 0 removed, 0 changed, 2 unchanged"


async def test_ctl_reload_says_what_the_reload_did(capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[float] = []

    async def reload(timeout_s: float) -> ReloadResult:
        asked.append(timeout_s)
        return ReloadResult(configuration=CONFIGURATION, applied=("log.level",), catalog=CATALOG)

    daemon, _ = build()
    async with serving(daemon, reload=reload) as server:
        code, out, _ = await ctl(server, capsys, "reload")
        assert (code, out) == (0, f"{CONFIGURATION}\n{CATALOG}\n")
        code, out, _ = await ctl(server, capsys, "reload", "--json")
        assert code == 0 and json.loads(out)["applied"] == ["log.level"]
    # The store may be waited on a little less than the request's deadline, so the answer still comes.
    assert asked and all(0 < timeout_s < server.config.request_timeout_s for timeout_s in asked)


async def test_ctl_reload_exits_1_when_the_configuration_was_refused(capsys: pytest.CaptureFixture[str]) -> None:
    refused = "configuration not reloaded: /etc/repricer/repricer.toml:8: seller[0].marketplaces: ..."

    async def reload(timeout_s: float) -> ReloadResult:
        return ReloadResult(configuration=refused, refused=True, catalog=CATALOG)

    daemon, _ = build()
    async with serving(daemon, reload=reload) as server:
        code, out, _ = await ctl(server, capsys, "reload")
    assert (code, out) == (1, f"{refused}\n{CATALOG}\n")


async def test_a_daemon_that_cannot_reload_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        code, _, err = await ctl(server, capsys, "reload")
    assert code == 1 and "cannot reload" in err


async def test_the_control_socket_moves_to_its_new_path_and_lets_the_old_one_go() -> None:
    daemon, _ = build()
    elsewhere = socket_dir()
    try:
        async with serving(daemon) as server:
            before = server.path
            connected = await trio.open_unix_socket(str(before))
            async with connected:
                server.move(elsewhere / "moved.sock")
                assert server.path == elsewhere / "moved.sock"
                assert (await call(server, Status(id=1)))["markets"][0]["offers"] == 2
                # The old path is free: its file and its lock are gone, so another daemon could take it.
                assert not before.exists()
                other = ControlServer(daemon, ControlConfig(socket=str(before)))
                other.bind()
                other.close()
                # A client connected before the move is still answered on its connection.
                await connected.send_all(b'{"cmd": "status", "id": 7}\n')
                line = await Lines(connected).next()
                assert line is not None and json.loads(line)["id"] == 7
        assert not (elsewhere / "moved.sock").exists()  # the stop removes the socket the server is on
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


async def test_a_move_to_a_path_another_daemon_holds_changes_nothing() -> None:
    daemon, _ = build()
    elsewhere = socket_dir()
    taken = ControlServer(daemon, ControlConfig(socket=str(elsewhere / "taken.sock")))
    taken.bind()
    try:
        async with serving(daemon) as server:
            before = server.path
            with pytest.raises(ControlSocketError, match="another repricer daemon holds"):
                server.move(elsewhere / "taken.sock")
            assert server.path == before and before.exists()
            assert (await call(server, Status(id=1)))["markets"][0]["offers"] == 2
            os.stat(elsewhere / "taken.sock")  # the other daemon's socket is untouched
    finally:
        taken.close()
        shutil.rmtree(elsewhere, ignore_errors=True)
