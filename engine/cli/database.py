"""The database the store-using commands share: where it is by default, the ``--db`` option, and opening it.

By default one SQLite file in the user's data directory (platformdirs: ``~/.local/share/repricer/repricer.db``
on Linux), so `repricer catalog import`, `repricer import`, `repricer history` and the daemon meet in the same
place without being told; ``--db PATH`` points any of them elsewhere. The directory is created, readable by its
owner only, when a command first writes there; a command that only reads never creates a database.

Whatever keeps the file from opening (a directory that is not there or not writable, a file that is not a
repricer database, a schema newer than this repricer, a lock another process holds too long, another daemon on
it) is one line naming the path, raised as `StoreUnavailable` for the command to refuse with exit code 2.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.ports import Clock
    from engine.store.sqlite import SqliteStore

__all__ = [
    "StoreUnavailable",
    "add_db_option",
    "daemon_lock",
    "database_exists",
    "db_path",
    "default_db_path",
    "open_store",
]

_OWNER_ONLY = 0o700


class StoreUnavailable(Exception):
    """The database cannot be used; the message names its path and why."""


def default_db_path() -> Path:
    """``repricer.db`` in the user's data directory (XDG_DATA_HOME is honoured on Linux): the configuration
    file's default too, so both name one place."""
    from engine.config.resolved import default_database

    return default_database()


def db_path(text: str) -> Path:
    """A ``--db`` value: refused up front when it names a directory or lies in a directory that does not exist."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError(f"not a database path: {text!r}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a database file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot use {text!r}: directory {str(path.parent)!r} does not exist")
    return path


def add_db_option(parser: argparse.ArgumentParser, what: str = "the database") -> None:
    parser.add_argument(
        "--db", type=db_path, metavar="PATH", help=f"{what} (default: {default_db_path()}, created when first written)"
    )


def database_exists(path: Path | None) -> bool:
    """Whether there is a database at ``path`` (None: the default) to read from."""
    return (path or default_db_path()).exists()


@asynccontextmanager
async def open_store(path: Path | None, *, create: bool, clock: Clock | None = None) -> AsyncIterator[SqliteStore]:
    """The SQLite store at ``path`` (None: the default), opened inside `trio.run`.

    ``create``: the command writes, so a missing database is created (and the default directory with it, owner
    only); otherwise a missing database is `StoreUnavailable`, so a read never leaves an empty file behind.
    ``clock`` maps the stored wall times onto this process's trio clock (default: a new one; pass the one that
    will turn the times read back into wall time).
    """
    from engine.ports import Clock
    from engine.store.sqlite import SchemaError, SqliteStore

    path = _usable(path, create=create)
    opened = False
    try:
        async with SqliteStore.open(str(path), clock=clock or Clock()) as store:
            opened = True
            yield store
    except BaseException as exc:
        if opened:
            raise
        cause = _first(exc, (sqlite3.Error, SchemaError, OSError))
        if cause is None:
            raise
        raise StoreUnavailable(f"cannot open the database {path}: {cause}") from None


@contextmanager
def daemon_lock(path: Path) -> Iterator[None]:
    """Held while a daemon runs on the database at ``path``: an exclusive lock on ``PATH.lock`` beside it (made
    0600), released when the process ends however it ends. A second daemon on one database would reprice the same
    offers and send the same unanswered updates again: it is refused, `StoreUnavailable` naming the path. The
    commands that import or read take no lock, and run beside the daemon (WAL lets them)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise StoreUnavailable(f"cannot open the lock {lock_path} of the database {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreUnavailable(
                f"another repricer daemon runs on the database {path} (its lock {lock_path} is taken): stop it first"
            ) from None
        yield
    finally:
        os.close(fd)


def _usable(path: Path | None, *, create: bool) -> Path:
    """Checks that SQLite would otherwise report only as "unable to open database file", done before opening."""
    if path is None:
        path = default_db_path()
        if create and not path.parent.exists():
            try:
                path.parent.mkdir(mode=_OWNER_ONLY, parents=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the directory of the database {path}: {exc.strerror}") from None
    if path.is_dir():
        raise StoreUnavailable(f"the database {path} is a directory")
    if not path.exists():
        if not create:
            raise StoreUnavailable(f"no database at {path}: nothing stored there yet (give --db PATH for another)")
        if not path.parent.is_dir():
            raise StoreUnavailable(f"cannot create the database {path}: its directory does not exist")
    # SQLite keeps its journal beside the file, so even reading needs a writable directory.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreUnavailable(f"cannot open the database {path}: its directory is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreUnavailable(f"cannot open the database {path}: the file is not readable and writable")
    return path


def _first(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` in ``exc``, looking inside the exception groups trio's nurseries make."""
    if isinstance(exc, kinds):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _first(inner, kinds)) is not None:
                return found
    return None
