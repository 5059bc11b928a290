"""The control server: the daemon's Unix-domain socket for `repricer ctl`.

A daemon service (`engine.daemon.Service`): `Daemon.add_service` takes it in, supervision restarts it if it fails,
and `finish` closes the socket and removes its file at the stop (after the sellers saved their state, so an
operator can watch a stop to the end).

Who may connect: the socket is mode 0600 in a directory only its owner can enter (`engine.control.paths`), and
each peer's uid, read from the kernel (SO_PEERCRED), must be the daemon's own; anyone else gets ``forbidden`` and
is disconnected. A socket file left by a daemon that died is replaced; one a daemon still listens on is refused
with an error, so two daemons never share one socket. A reloaded configuration may name another path: `move` binds
it first (refused, it changes nothing) and then lets the old one go.

Nothing a client does can stall the daemon: every handler runs between the daemon's checkpoints without waiting on
a client, and every wait on a client has a deadline in real time (the daemon's clock may run faster, under
``run --sim``; ``time_scale`` converts): a connection that stays silent is closed after ``idle_timeout_s``, a
request that has not been answered after ``request_timeout_s`` is answered ``timeout``, and a client that does not
read its answers within ``send_timeout_s`` is dropped. A line longer than ``max_line_bytes`` is not read further:
the client gets ``line_too_long`` and is disconnected. At most ``max_connections`` are served at once; the next
gets ``busy``. A watcher that falls behind loses decisions (counted, and told) rather than holding anything up.

A bug in a handler answers ``internal`` and the connection carries on; a bug in a connection closes that
connection; neither reaches the daemon.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import math
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import trio

from engine.actors.recorder import Recorder
from engine.control.commands import CommandError, Commands
from engine.control.paths import (
    MAX_PATH_BYTES,
    ControlSocketError,
    default_socket_path,
    peer_uid,
    private_directory,
)
from engine.control.protocol import (
    Code,
    Dropped,
    ErrorReply,
    Event,
    Ok,
    Request,
    Watch,
    decode_request,
    encode,
    error_reply,
)
from engine.control.rates import Rates
from engine.control.results import ControlCounters, ReloadResult, WatchStarted
from engine.daemon.daemon import Daemon
from engine.model import Decision

if TYPE_CHECKING:
    from engine.live import Board

__all__ = ["ControlConfig", "ControlServer", "peer_uid"]

log = logging.getLogger(__name__)

_READ_CHUNK = 65_536
_SOCKET_MODE = 0o600
# Errors of accept() that say the process is short of something, not that the listener broke: wait, and go on.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class ControlConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The control socket's place and limits; every ``*_s`` is in real seconds, whatever the daemon's clock."""

    socket: str | None = None  # None: `engine.control.paths.default_socket_path`
    max_connections: int = 32
    max_line_bytes: int = 65_536
    idle_timeout_s: float = 120.0  # a connection silent this long between requests is closed
    request_timeout_s: float = 10.0
    send_timeout_s: float = 5.0
    # Once the daemon has stopped, requests in flight get this long to answer before the socket closes (within
    # the daemon's own deadline for its services' last words, whichever is shorter).
    stop_grace_s: float = 2.0
    watch_buffer: int = 1_000  # decisions held for one slow watcher before they are dropped (and counted)
    rate_window_s: float = 60.0
    sample_interval_s: float = 5.0
    backlog: int = 64

    def __post_init__(self) -> None:
        counts = ("max_connections", "max_line_bytes", "watch_buffer", "backlog")
        spans = (
            "idle_timeout_s",
            "request_timeout_s",
            "send_timeout_s",
            "stop_grace_s",
            "rate_window_s",
            "sample_interval_s",
        )
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"control socket: {name} must be 1 or more, not {getattr(self, name)!r}")
        for name in spans:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"control socket: {name} must be a positive number of seconds, not {value!r}")


class _LineTooLong(Exception):
    pass


class _Lines:
    """Lines from a stream, each at most ``limit`` bytes (without its newline); reading stops at a longer one."""

    __slots__ = ("_buffer", "_eof", "_limit", "_scanned", "_stream")

    def __init__(self, stream: trio.abc.ReceiveStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no newline
        self._eof = False

    async def next(self) -> bytes | None:
        """The next line; None at the end of the stream (a last line without a newline still counts)."""
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline >= 0:
                if newline > self._limit:
                    raise _LineTooLong
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                self._scanned = 0
                return line
            if len(self._buffer) > self._limit:
                raise _LineTooLong
            if self._eof:
                line = bytes(self._buffer)
                self._buffer.clear()
                return line or None
            self._scanned = len(self._buffer)
            data = await self._stream.receive_some(_READ_CHUNK)
            if data:
                self._buffer += data
            else:
                self._eof = True


class ControlServer:
    """See the module docstring. ``time_scale``: the daemon's seconds per real second (the ``--sim`` speed, or 1).
    ``peer_uid`` and ``uid`` say who is at the other end and who may be; tests fake them, as they cannot switch
    users. ``boards`` makes the board `repricer ctl top` shows (default: `engine.live.board` of the daemon);
    ``reload`` is what `repricer ctl reload` does (`engine.control.commands.Commands`; default: refused)."""

    name = "control server"

    def __init__(
        self,
        daemon: Daemon,
        config: ControlConfig | None = None,
        *,
        time_scale: float = 1.0,
        peer_uid: Callable[[trio.socket.SocketType], int | None] = peer_uid,
        uid: int | None = None,
        boards: Callable[[], Board] | None = None,
        reload: Callable[[float], Awaitable[ReloadResult]] | None = None,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"the control server's time scale must be a positive number, not {time_scale!r}")
        self.config = config = config or ControlConfig()
        self.daemon = daemon
        self.time_scale = time_scale
        self.path = Path(config.socket) if config.socket else default_socket_path()
        self.uid = os.geteuid() if uid is None else uid
        self._peer_uid = peer_uid
        self.counters = ControlCounters()
        self.rates = Rates(config.rate_window_s)
        # Handlers wait on the store or the marketplace a little less than the request deadline, so they can
        # still say what happened.
        self.commands = Commands(
            daemon,
            time_scale=time_scale,
            wait_s=0.8 * config.request_timeout_s,
            rates=self.rates,
            counters=self.counters,
            boards=boards,
            reload=reload,
        )
        self._bound: _Bound | None = None  # the socket it listens on
        self._retired: list[_Bound] = []  # sockets it listened on before a `move`, until the accept loop is off them
        self._accepting: trio.CancelScope | None = None  # the accept loop's, on the socket it is on
        self._stopping = False  # the daemon has stopped: requests are answered `stopping`
        self._in_flight = 0  # requests being answered now
        self._drained = trio.Event()  # set when the last of them has answered, once stopping
        self._scope: trio.CancelScope | None = None
        self._refusing = 0
        self._closed = False

    def _deadline(self, real_s: float) -> float:
        return real_s * self.time_scale

    # --- the socket ----------------------------------------------------------------------------------------------

    def bind(self) -> None:
        """Listen on the socket (once; `run` does it if the caller did not). A caller that binds first learns
        before starting the daemon that the socket cannot be had: `ControlSocketError` naming the path."""
        if self._bound is not None:
            return
        if self._closed:
            raise ControlSocketError(f"the control server on {self.path} is closed")
        self._bound = _listen(self.path, self.uid, self.config.backlog)
        log.info("control socket listening on %s", self.path)

    def move(self, path: Path | None) -> None:
        """Listen on ``path`` (None: the default) from now on: a reloaded configuration moved the socket. The new
        one is bound first, so a path that cannot be had changes nothing (`ControlSocketError` naming it); then the
        old socket's file and lock go. Connections open on the old one are served until their clients hang up."""
        target = path if path is not None else default_socket_path()
        if self._closed:
            raise ControlSocketError(f"the control server on {self.path} is closed")
        if target == self.path:
            return
        before = self._bound
        if before is None:  # not listening yet: `bind` takes the new path
            self.path = target
            return
        self._bound = _listen(target, self.uid, self.config.backlog)
        self.path = target
        if self._accepting is None:
            before.release()
        else:
            # The accept loop lets it go once it is off it: a listener closed under a waiting accept would raise
            # there rather than end the wait.
            self._retired.append(before)
            self._accepting.cancel()
        log.info("control socket moved from %s to %s", before.path, target)

    def close(self) -> None:
        """Stop serving, close the socket and remove its file (if it is still the one this server made)."""
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()
        for bound in [*self._retired, self._bound]:
            if bound is not None:
                bound.release()
        self._retired.clear()
        self._bound = None

    async def finish(self) -> None:
        """The daemon has stopped: no new request is served (each is answered `stopping`, nothing done), and those
        in flight get `ControlConfig.stop_grace_s` to answer, so a client is told what happened rather than cut
        off; then the socket closes."""
        self._stopping = True
        if self._in_flight:
            grace = min(self._deadline(self.config.stop_grace_s), self.daemon.config.persist_timeout_s / 2)
            with trio.move_on_after(grace):
                await self._drained.wait()
        self.close()

    # --- serving -------------------------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self._closed:
            task_status.started()
            return
        self.bind()
        if self.commands.started_at is None:  # started as the daemon's service: with it
            self.commands.started_at = trio.current_time()
        self._scope = trio.CancelScope()
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._sample)
                task_status.started()
                while (bound := self._bound) is not None:
                    with trio.CancelScope() as self._accepting:  # cancelled by `move`
                        await self._accept(trio.SocketListener(bound.listener), nursery)
                    self._accepting = None
                    for retired in self._retired:
                        retired.release()
                    self._retired.clear()

    async def _accept(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        limit = self.config.max_connections
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:
                if error.errno not in _RESOURCE_ERRNOS:
                    raise
                log.warning("control socket: cannot accept a connection (%s); trying again shortly", error)
                await trio.sleep(self._deadline(0.1))
                continue
            self.counters.accepted += 1
            if self.counters.connections < limit:
                self.counters.connections += 1  # counted here, so the limit holds before the task runs
                nursery.start_soon(self._connection, stream)
            elif self._refusing < limit:
                self._refusing += 1
                nursery.start_soon(self._refuse, stream)
            else:  # a flood: not even a word
                await stream.aclose()

    async def _sample(self) -> None:
        interval = self._deadline(self.config.sample_interval_s)
        while True:
            self.rates.sample(self.commands.real_now(), self.commands.counts())
            await trio.sleep(interval)

    async def _refuse(self, stream: trio.SocketStream) -> None:
        try:
            async with stream:
                self.counters.refused_busy += 1
                limit = self.config.max_connections
                await self._send(stream, error_reply(None, Code.BUSY, f"{limit} connections are open: try again later"))
        finally:
            self._refusing -= 1

    async def _connection(self, stream: trio.SocketStream) -> None:
        try:
            async with stream:
                await self._serve(stream)
        except Exception:
            log.exception("control connection failed; closed it")
        finally:
            self.counters.connections -= 1

    async def _serve(self, stream: trio.SocketStream) -> None:
        try:
            uid = self._peer_uid(stream.socket)
        except OSError:  # gone before it could be asked who it is
            return
        if uid is not None and uid != self.uid:
            self.counters.refused_user += 1
            log.warning("control socket: refused a client running as uid %d", uid)
            message = f"the control socket serves uid {self.uid} only, not uid {uid}"
            await self._send(stream, error_reply(None, Code.FORBIDDEN, message))
            return
        config = self.config
        lines = _Lines(stream, config.max_line_bytes)
        while True:
            too_long = False
            with trio.move_on_after(self._deadline(config.idle_timeout_s)) as idle:
                try:
                    line = await lines.next()
                except _LineTooLong:
                    too_long = True
                except trio.BrokenResourceError:  # the client reset the connection
                    return
            if too_long:
                limit = config.max_line_bytes
                message = f"a request line may be {limit} bytes long at most: closing the connection"
                await self._send(stream, error_reply(None, Code.LINE_TOO_LONG, message))
                return
            if idle.cancelled_caught:
                self.counters.dropped_idle += 1
                message = f"idle for {config.idle_timeout_s:g}s: closing the connection"
                await self._send(stream, error_reply(None, Code.TIMEOUT, message))
                return
            if line is None:
                return
            if not line.strip():
                continue
            self.counters.requests += 1
            request = decode_request(line)
            if self._stopping and not isinstance(request, ErrorReply):
                message = f"{type(request).__struct_config__.tag}: the daemon has stopped; nothing was done"
                await self._send(stream, error_reply(request.id, Code.STOPPING, message))
                return
            if isinstance(request, Watch):
                if await self._watch(stream, lines, request):
                    return
                continue
            # In flight from here until the answer is sent: a stop waits for it (`finish`).
            self._in_flight += 1
            try:
                reply = request if isinstance(request, ErrorReply) else await self._answer(request)
                sent = await self._send(stream, reply)
            finally:
                self._in_flight -= 1
                if self._stopping and not self._in_flight:
                    self._drained.set()
            if not sent:
                return

    async def _answer(self, request: Request) -> Ok | ErrorReply:
        timeout = self.config.request_timeout_s
        command = type(request).__struct_config__.tag
        with trio.move_on_after(self._deadline(timeout)):
            try:
                result = await self.commands.handle(request)
            except CommandError as error:
                return error_reply(request.id, error.code, error.message)
            except Exception as error:
                log.exception("control command %s failed", command)
                message = f"{command} failed: {type(error).__name__}: {error}; the daemon carries on"
                return error_reply(request.id, Code.INTERNAL, message)
            return Ok(request.id, result)
        message = f"{command}: no answer within {timeout:g}s; it may have taken effect (see status)"
        return error_reply(request.id, Code.TIMEOUT, message)

    async def _send(self, stream: trio.SocketStream, reply: ErrorReply | Ok | Event | Dropped) -> bool:
        """Send one line within the send deadline; False when the client is gone or too slow (then dropped)."""
        try:
            data = encode(reply)
        except (TypeError, ValueError, msgspec.EncodeError) as error:
            log.exception("control reply could not be encoded")
            request_id = None if isinstance(reply, ErrorReply) else reply.id
            reply = error_reply(request_id, Code.INTERNAL, f"the answer could not be encoded: {error}")
            data = encode(reply)
        if isinstance(reply, ErrorReply):
            code = reply.error.code.value
            self.counters.errors[code] = self.counters.errors.get(code, 0) + 1
        with trio.move_on_after(self._deadline(self.config.send_timeout_s)):
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return False
            return True
        self.counters.dropped_slow += 1
        return False

    # --- watch ---------------------------------------------------------------------------------------------------

    async def _watch(self, stream: trio.SocketStream, lines: _Lines, request: Watch) -> bool:
        """Stream decisions until the client hangs up or stops reading: True once done (the connection ends with
        it); False when the watch was refused (the connection goes on). Decisions reach the watcher through a
        bounded buffer the recorder fills without waiting; when it is full they are dropped and counted."""
        try:
            watching, wanted = self.commands.watch_filter(request)
        except CommandError as error:
            return not await self._send(stream, error_reply(request.id, error.code, error.message))
        send, receive = trio.open_memory_channel[Decision](self.config.watch_buffer)
        dropped = 0

        def hear(decision: Decision) -> None:
            nonlocal dropped
            if wanted(decision):
                try:
                    send.send_nowait(decision)
                except trio.WouldBlock:
                    dropped += 1
                    self.counters.watch_dropped += 1

        with send, receive:
            # The listeners go before the channels close: the recorder never sends into a closed one.
            stops = [recorder.listen(hear) for recorder in self._recorders()]
            try:
                await self._stream_decisions(stream, lines, request, receive, watching, lambda: dropped)
            finally:
                for stop in stops:
                    stop()
        return True

    async def _stream_decisions(
        self,
        stream: trio.SocketStream,
        lines: _Lines,
        request: Watch,
        receive: trio.MemoryReceiveChannel[Decision],
        watching: str,
        dropped: Callable[[], int],
    ) -> None:
        started = WatchStarted(watching=watching, buffer=self.config.watch_buffer)
        if not await self._send(stream, Ok(request.id, started)):
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._until_hangup, lines, nursery.cancel_scope)
            told = 0
            async for decision in receive:
                market = self.commands.market_of(decision.key)
                if market is None:
                    continue
                view = self.commands.view(market, decision, trio.current_time())
                if not await self._send(stream, Event(request.id, view)):
                    break
                if dropped() > told:
                    told = dropped()
                    if not await self._send(stream, Dropped(request.id, told)):
                        break
            nursery.cancel_scope.cancel()

    @staticmethod
    async def _until_hangup(lines: _Lines, scope: trio.CancelScope) -> None:
        """Read (and ignore) what a watcher sends, until it hangs up; then end the watch."""
        with contextlib.suppress(_LineTooLong, trio.BrokenResourceError):
            while await lines.next() is not None:
                pass
        scope.cancel()

    def _recorders(self) -> list[Recorder]:
        recorders: dict[int, Recorder] = {}
        for market in self.daemon.markets:
            recorders.setdefault(id(market.recorder), market.recorder)
        return list(recorders.values())


class _Bound:
    """A socket the server listens on: its path, its file (told from one another process put there by device and
    inode) and the lock that makes the path this server's."""

    __slots__ = ("identity", "listener", "lock", "path")

    def __init__(self, path: Path, listener: trio.socket.SocketType, identity: tuple[int, int], lock: int) -> None:
        self.path = path
        self.listener = listener
        self.identity = identity
        self.lock = lock

    def release(self) -> None:
        """Close the socket and remove its file (if it is still the one this server made), then the lock."""
        self.listener.close()
        with contextlib.suppress(OSError):
            info = os.stat(self.path)
            if (info.st_dev, info.st_ino) == self.identity:
                os.unlink(self.path)
        os.close(self.lock)  # released last: the path is free once the next daemon can take it


def _listen(path: Path, uid: int, backlog: int) -> _Bound:
    """Listen on ``path``, in a directory only ``uid`` may enter, replacing a stale socket there; a path that cannot
    be had is a `ControlSocketError` naming it, and leaves nothing behind."""
    size = len(os.fsencode(path))
    if size > MAX_PATH_BYTES:
        raise ControlSocketError(
            f"the control socket path {path} is {size} bytes long; a Unix socket's path may have {MAX_PATH_BYTES}"
        )
    private_directory(path.parent, uid)
    # The lock, held for the server's life, makes "stale" mean stale: a daemon that has bound but not yet
    # listened refuses connections as a dead one does, and two daemons starting at once could each take the
    # other's socket for stale and reprice the same offers. Only the lock's holder clears or binds the path.
    lock = _lock(path)
    try:
        _clear_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.fspath(path))
            # Before listen(): until then a connection is refused, so the mode is right before anyone gets in.
            os.chmod(path, _SOCKET_MODE)
            sock.listen(backlog)
            info = os.stat(path)
        except OSError as error:
            sock.close()
            raise ControlSocketError(f"cannot listen on {path}: {error.strerror or error}") from None
    except BaseException:
        os.close(lock)
        raise
    return _Bound(path, trio.socket.from_stdlib_socket(sock), (info.st_dev, info.st_ino), lock)


def _clear_stale(path: Path) -> None:
    """Remove a socket file no daemon listens on; refuse one a daemon does, and anything that is not a socket."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise ControlSocketError(f"cannot use the control socket {path}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ControlSocketError(f"{path} is a symbolic link: not following it, nor replacing it")
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlSocketError(f"{path} exists and is not a socket: not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except ConnectionRefusedError:
        pass  # nobody listens: a daemon that died left it
    except FileNotFoundError:
        return
    except OSError as error:
        raise ControlSocketError(
            f"cannot tell whether a daemon listens on {path} ({error}): not replacing it"
        ) from None
    else:
        raise ControlSocketError(
            f"a daemon listens on {path} already: stop it first, or give this one another control socket"
        )
    finally:
        probe.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    log.warning("control socket: replaced the stale %s (its daemon had gone)", path)


def _lock(path: Path) -> int:
    """An exclusive lock on ``path`` + ".lock" (created 0600 beside the socket), as an open descriptor: released
    when it is closed, or when the process dies however it dies, so a crash leaves no lock behind.
    `ControlSocketError` when another process holds it."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise ControlSocketError(f"cannot open the lock {lock_path}: {error.strerror or error}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ControlSocketError(
            f"another repricer daemon holds {path} (its lock {lock_path} is taken): stop it, or give this one "
            "another --control-socket"
        ) from None
    return fd
