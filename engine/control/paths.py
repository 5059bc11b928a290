"""Where the control socket lives, and the checks on its directory.

By default ``control.sock`` in the user's runtime directory (platformdirs: ``$XDG_RUNTIME_DIR/repricer``, which is
``/run/user/UID/repricer`` on a systemd machine, or ``/tmp/runtime-UID/repricer`` where there is none), so
`repricer run` and `repricer ctl` meet there without being told. Where platformdirs cannot offer a usable one (its
fallback is taken by another user), ``repricer-UID`` in the temporary directory. Either way the daemon makes the
directory owner-only and refuses one that others can enter: the directory, not only the socket's own mode, is
what keeps other users out on every system.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

__all__ = [
    "MAX_PATH_BYTES",
    "SOCKET_NAME",
    "ControlSocketError",
    "default_socket_path",
    "peer_uid",
    "private_directory",
]

SOCKET_NAME = "control.sock"
# sockaddr_un holds 108 bytes with the terminating NUL on Linux; a longer path cannot be bound at all.
MAX_PATH_BYTES = 107
_OWNER_ONLY = 0o700


class ControlSocketError(Exception):
    """The control socket cannot be set up; the message names the path and why."""


def default_socket_path() -> Path:
    """The socket both `repricer run` and `repricer ctl` use unless told otherwise."""
    from platformdirs import user_runtime_dir

    try:
        # platformdirs warns when it falls back from an unset XDG_RUNTIME_DIR: the fallback is fine here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            directory = Path(user_runtime_dir("repricer"))
    except OSError:  # its fallback exists but belongs to someone else, or is open to others
        directory = Path(tempfile.gettempdir()) / f"repricer-{os.geteuid()}"
    return directory / SOCKET_NAME


class _Socket(Protocol):
    def getsockopt(self, level: int, optname: int, buflen: int, /) -> bytes: ...


def peer_uid(sock: _Socket) -> int | None:
    """The uid of the process at the other end of a connected Unix socket, from the kernel; None where the system
    cannot say (no SO_PEERCRED: the directory's permissions are then the only check). The daemon asks it of each
    client, and `repricer ctl` of the daemon."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    credentials = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def private_directory(directory: Path, owner: int) -> None:
    """Make ``directory`` (and any missing parent) owner-only, or check that it already is: owned by ``owner``
    (this process's user; a test fakes it), closed to group and others, and no symbolic link (whoever may change
    the link could move the socket where others can reach it). `ControlSocketError` naming it otherwise; nothing
    that exists is changed."""
    missing: list[Path] = []
    for path in (directory, *directory.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            path.mkdir(mode=_OWNER_ONLY)
        except FileExistsError:
            pass  # another process made it meanwhile: checked below like any other
        except OSError as error:
            raise ControlSocketError(f"cannot create the control socket's directory {path}: {error.strerror}") from None
    try:
        info = os.lstat(directory)
    except OSError as error:
        raise ControlSocketError(f"cannot use the control socket's directory {directory}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ControlSocketError(
            f"the control socket's directory {directory} is a symbolic link: not following it; give the real "
            "directory, one only you can enter"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ControlSocketError(f"the control socket's directory {directory} is not a directory")
    if info.st_uid != owner:
        raise ControlSocketError(
            f"the control socket's directory {directory} belongs to uid {info.st_uid}, not to this user (uid {owner})"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ControlSocketError(
            f"the control socket's directory {directory} is open to other users (mode {mode:04o}): make it 0700, or "
            "put the socket in a directory only you can enter"
        )
