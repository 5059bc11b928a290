"""The control socket as the daemon relies on it: only its owner gets in, garbage and slow or silent clients get a
clear answer and never stall anything, and the daemon carries on whatever a client sends."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import stat
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio.lowlevel
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.control import ControlClient, ControlServer, ControlSocketError
from engine.control.client import Unreachable
from engine.control.protocol import COMMANDS, OfferQuery, Status
from engine.control.server import peer_uid
from engine.model import OfferKey
from tests.control.harness import (
    LIMITS,
    PATIENCE_S,
    TIGHT,
    Lines,
    build,
    call,
    decided,
    decision,
    eventually,
    exchange,
    market,
    read_lines,
    serving,
    socket_dir,
)


def _restarts(server: ControlServer) -> int:
    return next(s.restarts for s in server.daemon.service_states if s.name == server.name)


async def test_control_garbage_keeps_daemon_running() -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        garbage = [
            b"this is not json",
            b"\xff\xfe\x00binary",
            b"[1, 2, 3]",
            b'"a string"',
            b"{}",
            b'{"cmd": "status"}',
            b'{"cmd": "frobnicate", "id": 1}',
            b'{"cmd": "pause", "id": 2, "sku": 5}',
            b'{"cmd": "bounds", "id": 3, "sku": "A", "min_price": "twelve"}',
            b'{"cmd": "status", "id": 4, "verbose": true}',
            b'{"cmd": "offer", "id": 5, "sku": "NO-SUCH-SKU"}',
            b'{"cmd": "bounds", "id": 6, "sku": "A", "min_price": "35.00", "max_price": "20.00"}',
            b'{"cmd": "settings", "id": 7, "change": {"step_cap": "-1"}}',
            b'{"cmd": "status", "id": 8}',
        ]
        replies = await exchange(server, b"\n".join(garbage) + b"\n", len(garbage))
        codes = [reply.get("error", {}).get("code", "ok" if "ok" in reply else "?") for reply in replies]
        assert codes == [
            "bad_json",
            "bad_json",
            "bad_json",
            "bad_json",
            "bad_request",
            "bad_request",
            "unknown_command",
            "bad_request",
            "bad_request",
            "bad_request",
            "not_found",
            "invalid",
            "invalid",
            "ok",
        ]
        assert [reply["id"] for reply in replies[6:]] == [1, 2, 3, 4, 5, 6, 7, 8]
        assert "NO-SUCH-SKU" in replies[10]["error"]["message"]
        assert "'A'" in replies[11]["error"]["message"] and "nothing changed" in replies[11]["error"]["message"]
        assert "SELLER/DE" in replies[12]["error"]["message"]
        # Nothing changed, nothing restarted, and the daemon still decides.
        assert market(daemon).offer("A").settings.bounds.min_price == 1000
        assert _restarts(server) == 0
        assert (await call(server, Status(id=9)))["markets"][0]["offers"] == 2


async def test_hypothesis_lines_never_crash_the_server() -> None:
    daemon, _ = build(skus=("SKU-FUZZ-0001",))
    # One connection for every example: the idle limit must outlast hypothesis's pauses between them, however
    # slow the machine, or a line would be answered by the idle close meant for the silence before it.
    config = msgspec.structs.replace(LIMITS, idle_timeout_s=600.0)
    async with serving(daemon, config) as server:
        path = server.path
        connection: dict[str, Any] = {}

        def reconnect() -> socket.socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(PATIENCE_S)
            sock.connect(str(path))
            return sock

        def answer(line: bytes) -> dict[str, Any]:
            sock = connection.get("sock") or reconnect()
            connection["sock"] = sock
            sock.sendall(line + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65_536)
                assert chunk, f"the server hung up on {line!r}"
                data += chunk
            return dict(json.loads(data))

        lines = st.binary(max_size=200) | st.builds(
            lambda fields, cmd: json.dumps({**fields, "cmd": cmd}).encode(),
            st.dictionaries(
                st.sampled_from(["id", "sku", "marketplace", "seller", "all", "limit", "change", "min_price"]),
                st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats(allow_nan=False),
                max_size=5,
            ),
            st.sampled_from([c for c in COMMANDS if c not in ("watch", "reprice")]) | st.text(max_size=6),
        )

        @settings(max_examples=150, deadline=None)
        @given(lines.filter(lambda line: b"\n" not in line and b"\r" not in line and line.strip() != b""))
        def fuzz(line: bytes) -> None:
            reply = answer(line)
            assert "id" in reply and ("ok" in reply or reply["error"]["code"] != "internal"), reply

        try:
            await trio.to_thread.run_sync(fuzz)
        finally:
            if "sock" in connection:
                connection["sock"].close()
        assert _restarts(server) == 0
        assert "internal" not in server.counters.errors
        assert (await call(server, Status(id=1)))["markets"][0]["offers"] == 1


async def test_concurrent_clients_are_all_answered_while_one_stays_silent() -> None:
    daemon, _ = build()
    async with serving(daemon) as server:  # the idle limit outlasts the test: only serving the others frees them
        silent = await trio.open_unix_socket(str(server.path))
        await eventually(lambda: server.counters.connections == 1, "the silent client served")
        answers: list[Any] = []

        async def client(number: int) -> None:
            answers.append(await call(server, OfferQuery(id=number, sku="A" if number % 2 else "B")))

        async with silent:
            async with trio.open_nursery() as nursery:
                for number in range(6):
                    nursery.start_soon(client, number)
            # Answered while the silent one still held its connection: a server serving one at a time would have
            # answered them only after dropping it.
            assert server.counters.dropped_idle == 0
        assert sorted(answer["sku"] for answer in answers) == ["A", "A", "A", "B", "B", "B"]


async def test_a_client_that_connects_and_never_sends_is_closed_after_the_idle_deadline() -> None:
    daemon, _ = build()
    async with serving(daemon, TIGHT) as server:
        silent = await trio.open_unix_socket(str(server.path))
        async with silent:
            [line] = await read_lines(silent, None)  # then the server closes the connection
        reply = msgspec.json.decode(line)
        assert reply["error"]["code"] == "timeout"
        assert "idle for 0.5s" in reply["error"]["message"]
        assert server.counters.dropped_idle == 1
        assert (await call(server, Status(id=1)))["control"]["dropped_idle"] == 1


async def test_a_ten_megabyte_line_gets_line_too_long_and_is_not_read() -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        stream = await trio.open_unix_socket(str(server.path))
        async with stream, trio.open_nursery() as nursery:

            async def flood() -> None:
                # The server stops reading and hangs up, as it should.
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await stream.send_all(b"x" * (10 * 2**20))

            nursery.start_soon(flood)
            lines = await read_lines(stream, None)
            nursery.cancel_scope.cancel()
        [reply] = [msgspec.json.decode(line) for line in lines]
        assert reply["error"]["code"] == "line_too_long"
        assert str(LIMITS.max_line_bytes) in reply["error"]["message"]
        assert _restarts(server) == 0
        assert (await call(server, Status(id=1)))["control"]["errors"]["line_too_long"] == 1


async def test_connections_beyond_the_limit_get_busy() -> None:
    daemon, _ = build()
    config = msgspec.structs.replace(LIMITS, max_connections=3)
    async with serving(daemon, config) as server:
        held = [await trio.open_unix_socket(str(server.path)) for _ in range(3)]
        await eventually(lambda: server.counters.connections == 3, "three connections served")
        extra = await trio.open_unix_socket(str(server.path))
        async with extra:
            [line] = await read_lines(extra, None)
        assert msgspec.json.decode(line)["error"]["code"] == "busy"
        for stream in held:
            await stream.aclose()
        await eventually(lambda: server.counters.connections == 0, "the held connections closed")
        assert (await call(server, Status(id=1)))["control"]["refused_busy"] == 1


async def test_a_client_that_does_not_read_its_answers_is_dropped_and_others_are_served() -> None:
    daemon, _ = build()
    async with serving(daemon, TIGHT) as server:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(str(server.path))
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        async with stream, trio.open_nursery() as nursery:

            async def ask_and_never_read() -> None:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await stream.send_all(b'{"cmd": "status", "id": 1}\n' * 5000)

            nursery.start_soon(ask_and_never_read)
            await eventually(lambda: server.counters.dropped_slow == 1, "the slow reader dropped")
            assert (await call(server, Status(id=2)))["control"]["dropped_slow"] == 1
            nursery.cancel_scope.cancel()


async def test_socket_permissions() -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        # 0600 in a 0700 directory.
        assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(server.path.parent).st_mode) == 0o700
        # The kernel's word on who is at the other end: this process's user.
        left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with left, right:
            assert peer_uid(trio.socket.from_stdlib_socket(left)) == os.geteuid()
    # Another user's client is refused (the tests cannot switch users: the credential check is faked).
    stranger = os.geteuid() + 4242
    daemon, _ = build()
    async with serving(daemon, peer_uid=lambda sock: stranger) as server:
        [reply] = await exchange(server, b'{"cmd": "status", "id": 1}\n', 1)
        assert reply["error"]["code"] == "forbidden" and str(stranger) in reply["error"]["message"]
        assert server.counters.refused_user == 1
    # A directory others can enter is refused, and so is one of another user; a missing one is made 0700.
    directory = socket_dir()
    try:
        open_dir = directory / "open"
        open_dir.mkdir(mode=0o755)
        os.chmod(open_dir, 0o755)
        with pytest.raises(ControlSocketError, match=r"open to other users \(mode 0755\)"):
            _server(build()[0], open_dir / "c.sock").bind()
        with pytest.raises(ControlSocketError, match="belongs to uid"):
            _server(build()[0], directory / "c.sock", uid=stranger).bind()
        nested = directory / "a" / "b" / "c.sock"
        made = _server(build()[0], nested)
        made.bind()
        assert [stat.S_IMODE(os.stat(p).st_mode) for p in (directory / "a", directory / "a" / "b")] == [0o700, 0o700]
        made.close()
        assert not nested.exists()  # removed when the server closes
        # A symbolic link is not followed, for the directory or for the socket itself, and is left as it is.
        real = directory / "real"
        real.mkdir(mode=0o700)
        (directory / "link").symlink_to(real)
        with pytest.raises(ControlSocketError, match=r"directory .*link is a symbolic link"):
            _server(build()[0], directory / "link" / "c.sock").bind()
        (real / "c.sock").symlink_to(directory / "elsewhere.sock")
        with pytest.raises(ControlSocketError, match=r"c\.sock is a symbolic link"):
            _server(build()[0], real / "c.sock").bind()
        assert (real / "c.sock").is_symlink() and not (directory / "elsewhere.sock").exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def test_ctl_talks_only_to_a_daemon_of_its_own_user() -> None:
    """Whoever could put a socket at the path would otherwise hear what ctl sends and answer anything."""
    daemon, _ = build()
    stranger = os.geteuid() + 4242
    async with serving(daemon) as server:

        def ask(**options: Any) -> str:
            try:
                with ControlClient(server.path, timeout_s=PATIENCE_S, peer_uid=lambda sock: stranger, **options) as c:
                    c.call(Status(id=1))
            except Unreachable as error:
                return str(error)
            return "answered"

        user = stranger + 1  # not root, which the tests may run as
        message = await trio.to_thread.run_sync(lambda: ask(uid=user))
        assert f"refusing {server.path}" in message and f"uid {stranger}, not by this user (uid {user})" in message
        assert await trio.to_thread.run_sync(lambda: ask(uid=0)) == "answered"  # root may talk to any daemon
        # And the real check reads the kernel's word: the daemon here runs as this user.
        assert (await call(server, Status(id=2)))["markets"][0]["offers"] == 2


def _server(daemon: Any, path: Path, **options: Any) -> ControlServer:
    return ControlServer(daemon, msgspec.structs.replace(LIMITS, socket=str(path)), **options)


async def test_a_stale_socket_is_replaced_and_a_live_one_refused() -> None:
    directory = socket_dir()
    path = directory / "c.sock"
    try:
        # A daemon that died left its socket file: nobody listens, so a new daemon takes the path.
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(path))
        dead.close()
        assert path.exists()
        daemon, _ = build()
        first = _server(daemon, path)
        first.bind()
        # A second daemon on the same path is refused while the first holds it, and nothing of the first changes.
        with pytest.raises(ControlSocketError, match=r"another repricer daemon holds .*c\.sock"):
            _server(build()[0], path).bind()
        assert path.exists()
        first.close()
        assert not path.exists()
        # A daemon between its lock and its listen() refuses connections as a dead one does: its lock, not the
        # socket's silence, is what a second daemon goes by.
        holder = os.open(path.with_name("c.sock.lock"), os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(path))
        dead.close()
        with pytest.raises(ControlSocketError, match="another repricer daemon holds"):
            _server(build()[0], path).bind()
        assert path.exists()  # not taken for stale
        os.close(holder)
        path.unlink()
        # A file that is not a socket is never replaced.
        path.write_text("my notes")
        with pytest.raises(ControlSocketError, match="is not a socket"):
            _server(build()[0], path).bind()
        assert path.read_text() == "my notes"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def test_the_socket_goes_with_the_daemon_and_ctl_then_names_it() -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        path = server.path
    assert not path.exists()

    def ask() -> str:
        try:
            with ControlClient(path, timeout_s=1.0) as client:
                client.call(Status(id=1))
        except Exception as error:
            return str(error)
        return "answered"

    message = await trio.to_thread.run_sync(ask)
    assert str(path) in message and "nothing listens" in message


async def test_a_slow_watcher_loses_decisions_counted_and_holds_nothing_up() -> None:
    daemon, _ = build()
    config = msgspec.structs.replace(LIMITS, watch_buffer=1)
    async with serving(daemon, config) as server:
        # The daemon's own first decisions come before the watch, which hears A's only: the decisions it sees
        # are those made up below.
        await eventually(decided(daemon), "first decisions")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(str(server.path))
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        async with stream:
            await stream.send_all(b'{"cmd": "watch", "id": "w", "sku": "A"}\n')
            lines = Lines(stream)
            started = await lines.next()
            assert started is not None and msgspec.json.decode(started)["ok"]["buffer"] == 1
            # The watcher stops reading; the recorder hears of decisions as fast as actors make them.
            runtime = market(daemon)
            key = OfferKey("SELLER", "DE", "A")
            for _ in range(50):
                for _decision in range(100):
                    runtime.decision(decision(key, trio.current_time()))
                await trio.lowlevel.checkpoint()
            await eventually(lambda: server.counters.watch_dropped > 0, "decisions dropped for the slow watcher")
            # Meanwhile everyone else is answered.
            assert (await call(server, Status(id=1)))["control"]["watch_dropped"] > 0
            # Once it reads again, the watcher is told how many it lost.
            seen: list[dict[str, Any]] = []
            while not any("dropped" in item for item in seen):
                line = await lines.next()
                assert line is not None, "the watch ended before saying what it dropped"
                seen.append(msgspec.json.decode(line))
            assert all(item["id"] == "w" for item in seen)
            assert seen[-1]["dropped"] > 0 and seen[0]["event"]["sku"] == "A"
