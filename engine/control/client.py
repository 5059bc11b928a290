"""A synchronous client of the control socket, for `repricer ctl` and scripts.

Plain blocking sockets: one request, one answer, with a timeout on every wait; ``watch`` yields events until the
caller stops or the daemon goes. Whatever keeps the daemon from answering (no socket, a daemon that has stopped,
another user's socket, no answer in time) is one `Unreachable` whose message names the socket's path; an answer
that is an error is a `RemoteError` with the protocol's code and the daemon's message.

The client checks whom it talks to, as the daemon checks its clients: the process at the other end (SO_PEERCRED)
must run as this user, or the client is root. Otherwise anyone who could put a socket at the path (a directory
they own on the way, a stale ``--socket``) would be told what `ctl` sends and could answer anything.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from engine.control.paths import peer_uid
from engine.control.protocol import Request, Watch

__all__ = ["ControlClient", "RemoteError", "Unreachable", "WatchItem"]

# An answer longer than this is not a control answer (the longest, a history of 1,000 decisions, is ~500 KB).
_MAX_ANSWER_BYTES = 64 * 2**20


class Unreachable(Exception):
    """The daemon could not be reached, or did not answer; the message names the socket."""


class RemoteError(Exception):
    """The daemon answered with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class _Error(msgspec.Struct, frozen=True):
    code: str
    message: str


class _Reply(msgspec.Struct, frozen=True):
    """Any line the daemon sends; which field is set says what it is (an empty `Raw`: not there)."""

    id: Any = None
    ok: msgspec.Raw = msgspec.Raw()
    error: _Error | None = None
    event: msgspec.Raw = msgspec.Raw()
    dropped: int | None = None


class WatchItem(msgspec.Struct, frozen=True):
    """One line of a watch: a decision (``event``, its JSON), or how many decisions were dropped so far."""

    event: msgspec.Raw | None = None
    dropped: int | None = None


_replies = msgspec.json.Decoder(_Reply)
_encoder = msgspec.json.Encoder()


class ControlClient:
    """One connection to the daemon's control socket; use as a context manager. ``peer_uid`` and ``uid`` say who
    is at the other end and who may be (default: this process's user); tests fake them, as they cannot switch
    users."""

    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = 15.0,
        peer_uid: Callable[[socket.socket], int | None] = peer_uid,
        uid: int | None = None,
    ) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.uid = os.geteuid() if uid is None else uid
        self._peer_uid = peer_uid
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    def __enter__(self) -> ControlClient:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        path = self.path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(os.fspath(path))
        except FileNotFoundError:
            sock.close()
            raise Unreachable(f"nothing listens on {path}: there is no socket (is `repricer run` running?)") from None
        except ConnectionRefusedError:
            sock.close()
            raise Unreachable(f"nothing listens on {path}: the daemon that made it has stopped") from None
        except PermissionError:
            sock.close()
            raise Unreachable(f"cannot connect to {path}: permission denied (a daemon of another user?)") from None
        except TimeoutError:
            sock.close()
            raise Unreachable(f"cannot connect to {path}: no answer within {self.timeout_s:g}s") from None
        except OSError as error:
            sock.close()
            raise Unreachable(f"cannot connect to {path}: {error.strerror or error}") from None
        try:
            served_by = self._peer_uid(sock)
        except OSError as error:
            sock.close()
            raise Unreachable(f"cannot tell who serves {path}: {error.strerror or error}") from None
        if served_by is not None and served_by != self.uid and self.uid != 0:
            sock.close()
            raise Unreachable(
                f"refusing {path}: it is served by uid {served_by}, not by this user (uid {self.uid}); "
                "it is not your daemon"
            )
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, request: Request) -> msgspec.Raw:
        """Send ``request``; the JSON of its result. `RemoteError` when the daemon refuses it."""
        self._send(request)
        reply = self._reply()
        if reply.error is not None:
            raise RemoteError(reply.error.code, reply.error.message)
        if not reply.ok:
            raise Unreachable(f"the daemon at {self.path} answered with something that is not an answer")
        return reply.ok

    def watch(self, request: Watch) -> Iterator[WatchItem]:
        """Start a watch; its first item is the daemon's ``ok`` (as ``event``), then decisions as they come. Waits
        without a timeout (decisions may be rare); ends when the daemon closes the connection."""
        first = self.call(request)
        yield WatchItem(event=first)
        assert self._sock is not None
        self._sock.settimeout(None)
        while True:
            try:
                reply = self._reply()
            except Unreachable:
                return
            if reply.error is not None:
                raise RemoteError(reply.error.code, reply.error.message)
            yield WatchItem(event=reply.event or None, dropped=reply.dropped)

    def _send(self, request: Request) -> None:
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        try:
            self._sock.sendall(_encoder.encode(request) + b"\n")
        except TimeoutError:
            raise Unreachable(f"the daemon at {self.path} took no request within {self.timeout_s:g}s") from None
        except OSError as error:
            raise Unreachable(f"the daemon at {self.path} closed the connection: {error.strerror or error}") from None

    def _reply(self) -> _Reply:
        line = self._line()
        try:
            return _replies.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise Unreachable(f"the daemon at {self.path} answered something unreadable: {error}") from None

    def _line(self) -> bytes:
        assert self._sock is not None
        scanned = 0
        while True:
            newline = self._buffer.find(b"\n", scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            if len(self._buffer) > _MAX_ANSWER_BYTES:
                raise Unreachable(f"the daemon at {self.path} sent an answer longer than {_MAX_ANSWER_BYTES} bytes")
            scanned = len(self._buffer)
            try:
                data = self._sock.recv(65_536)
            except TimeoutError:
                raise Unreachable(f"no answer from the daemon at {self.path} within {self.timeout_s:g}s") from None
            except OSError as error:
                raise Unreachable(
                    f"the daemon at {self.path} closed the connection: {error.strerror or error}"
                ) from None
            if not data:
                raise Unreachable(f"the daemon at {self.path} closed the connection without answering")
            self._buffer += data
