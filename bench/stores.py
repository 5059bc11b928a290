"""The stores a benchmark can put under the daemon, by name, and what the SQLite one committed.

``null`` keeps nothing (`bench.noop.NullStore`, the throughput benchmark's default: it measures the actors),
``memory`` is `engine.store.MemoryStore` (the daemon's store under virtual time), ``sqlite`` the daemon's own
`engine.store.sqlite.SqliteStore` in a fresh file of a directory the caller owns, on trio's real clock.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, Final

import msgspec
import trio

from bench.noop import NullStore
from engine.ports import Clock, Store
from engine.store import MemoryStore
from engine.store.sqlite import SqliteStore

__all__ = ["STORES", "CallTimes", "Committed", "committed", "open_store", "thread_cpu", "time_calls"]

STORES: Final = ("null", "memory", "sqlite")

_files = itertools.count(1)


@asynccontextmanager
async def open_store(kind: str, directory: Path | None) -> AsyncIterator[Store]:
    """A store of ``kind``; a SQLite store gets a new file in ``directory`` each time, closed (after everything
    queued has committed) on exit."""
    if kind == "null":
        yield NullStore()
    elif kind == "memory":
        async with MemoryStore() as memory:
            yield memory
    elif kind == "sqlite":
        if directory is None:
            raise ValueError("a SQLite store needs a directory")
        path = directory / f"store-{next(_files)}.db"
        async with SqliteStore.open(str(path), clock=Clock()) as sqlite:
            yield sqlite
    else:
        raise ValueError(f"unknown store {kind!r}; known: {', '.join(STORES)}")


class Committed(msgspec.Struct, frozen=True):
    """The newest row ids of the tables that only grow, as committed: read beside the writer, on a connection
    of its own (WAL: it sees the last commit and blocks nobody). Differences of two readings count rows."""

    decision: int
    price: int
    outbox: int

    def minus(self, earlier: Committed) -> Committed:
        return Committed(self.decision - earlier.decision, self.price - earlier.price, self.outbox - earlier.outbox)


def _read_committed(path: str) -> Committed:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        (decision,), (price,), (outbox,) = (
            conn.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()
            for table, column in (("decision", "id"), ("price", "id"), ("outbox", "update_id"))
        )
    return Committed(decision, price, outbox)


async def committed(store: Store) -> Committed | None:
    """What a SQLite store has committed so far (None for the other stores), read in a worker thread."""
    if not isinstance(store, SqliteStore):
        return None
    return await trio.to_thread.run_sync(_read_committed, store.path)


class CallTimes(msgspec.Struct):
    """How long the callers of one store method waited: calls, the sum and the longest, in seconds, and when
    the latest call began if it is still running (`perf_counter`)."""

    calls: int = 0
    total_s: float = 0.0
    longest_s: float = 0.0
    running_since: float | None = None

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.total_s += seconds
        self.longest_s = max(self.longest_s, seconds)

    def busy_s(self, now: float) -> float:
        """Time spent in calls up to ``now``, the running one included (for a method called one at a time)."""
        return self.total_s + (0.0 if self.running_since is None else now - self.running_since)


def time_calls(store: object, names: Iterable[str]) -> dict[str, CallTimes]:
    """Time every call of the named coroutine methods of this one ``store`` object from now on (the instance's
    attributes are replaced, its class is untouched). For a `SqliteStore`, ``_commit`` times the writer's groups
    (sent, committed and answered): the writer is busy for their sum."""
    times: dict[str, CallTimes] = {}
    for name in names:
        method = getattr(store, name, None)
        if method is None:
            continue
        times[name] = CallTimes()
        timed = _timed(method, times[name]) if inspect.iscoroutinefunction(method) else _timed_sync(method, times[name])
        setattr(store, name, timed)
    return times


def _timed_sync(method: Callable[..., Any], into: CallTimes) -> Callable[..., Any]:
    """The same for a plain method."""

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = into.running_since = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            into.running_since = None
            into.add(time.perf_counter() - started)

    return timed


def _timed(method: Callable[..., Awaitable[Any]], into: CallTimes) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = into.running_since = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            into.running_since = None
            into.add(time.perf_counter() - started)

    return timed


def thread_cpu(writer_pid: int | None = None) -> dict[str, float]:
    """CPU seconds used so far (Linux /proc; empty elsewhere) by each thread of this process, ``trio`` (the main
    thread) and ``other``, and by the SQLite store's writer process (``writer``, given its id). Differences of two
    readings over a window say how busy each was, in cores."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"trio": 0.0, "other": 0.0}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return {}
    for task in tasks:
        seconds = _cpu_seconds(f"/proc/self/task/{task}/stat", tick)
        if seconds is not None:  # None: the thread ended meanwhile
            used["trio" if int(task) == os.getpid() else "other"] += seconds
    if writer_pid is not None:
        seconds = _cpu_seconds(f"/proc/{writer_pid}/stat", tick)
        if seconds is not None:
            used["writer"] = seconds
    return used


def _cpu_seconds(stat_path: str, tick: int) -> float | None:
    """utime + stime of a /proc ``stat`` file, or None when it is gone."""
    try:
        with open(stat_path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / tick
