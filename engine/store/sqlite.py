"""The daemon's `Store`: one SQLite file, written by a process of its own that commits in groups.

The connection lives in a writer process (`engine.store.writer`), which this store starts and feeds over a pipe
(`engine.store.wire`): SQLite, and the Python work around each statement, then run beside the daemon instead of
taking turns with it for one GIL (`bench/README.md`, "What limits the writer").

A caller's operation (a write, or a read that must see every write queued before it) is encoded when it is made and
queued for the writer task. The writer task takes everything queued and sends it as one group; the writer process
runs the group's writes in one transaction and commits, then its reads, and answers for each. At 100,000 offers a
burst of decisions, state saves and outbox moves costs one fsync-free commit, not thousands. A caller that needs the
outcome (the outbox before a price goes out, a save at stop) waits for its group's answer and gets its result or its
error; the traces (`record_decisions`, `record_prices`) are handed over and the caller goes on, waiting only while
`SqliteConfig.queue_limit` rows wait (backpressure), and the store logs and counts what could not be written
(`lost_rows`). When one operation of a group fails (a constraint, a bug), only its caller sees the error; when the
commit itself fails (a full disk), every caller of the group gets the error and nothing of the group is kept.

The writer process dying is the store's error, never a silent loss: the callers of the group it held get
`WriterDied` (their group may or may not have committed, as for a cancelled caller: an outcome that matters is read
back), the traces of that group count as lost, and the next group starts a new writer on the file. A writer found
dead before it got a group (killed while idle) is replaced and the group goes to the new one. The writer dies with
the daemon, and ignores the signals meant for the daemon (`engine.store.writer`).

WAL journal with ``synchronous=NORMAL``: a commit survives the process being killed at any moment (a power cut may
lose the last commits, never corrupt the file); readers in other processes (`repricer history`) never block the
writer. The schema and its migrations are in `engine.store.schema`.

Times are the daemon's `Clock` readings in the API and Unix seconds in the file, so a history written by one
process reads right in another.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import math
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import msgspec
import trio

from engine.catalog import CatalogRow
from engine.model import (
    Decision,
    OfferKey,
    OfferUpdate,
    OutboxEntry,
    OutboxMark,
    OutboxState,
    PricePoint,
)
from engine.ports import CatalogChange, Clock
from engine.store import wire
from engine.store.schema import SchemaError

__all__ = ["SchemaError", "SqliteConfig", "SqliteStore", "StoreClosed", "WriterDied", "WriterError"]

log = logging.getLogger(__name__)


class SqliteConfig(msgspec.Struct, frozen=True):
    # Rows of traces waiting for the writer at most; a trace handed over beyond this waits for room (backpressure).
    queue_limit: int = 200_000
    # SQLite's page cache: the default 2 MiB lets inserts into a table of millions of decisions fall to about half
    # the rate (`repricer bench store`).
    cache_mib: int = 64
    # Decisions, prices and settled outbox entries older than this are deleted when the store opens.
    retention_days: float = 30.0
    busy_timeout_ms: int = 5_000
    # While callers queue behind the group in hand (the writer is what they wait for), the next group goes no sooner
    # than this after the last one: each commit writes every page it touched to the log whole, so many small groups
    # cost the writer several times the CPU a row of fewer large ones (`bench/README.md`, "What limits the writer").
    # A caller alone, or callers one after another, are not held back.
    group_interval_s: float = 0.02


class StoreClosed(RuntimeError):
    """The store was used after it closed."""


class WriterDied(RuntimeError):
    """The writer process ended while it held the caller's group: whether the group committed is unknown."""


class WriterError(RuntimeError):
    """An error the writer process raised that has no class of its own here (its kind leads the message)."""


class _Undelivered(Exception):
    """The writer's stdin had no reader when a group was sent: the writer had ended before it got the group."""


# The writer gets this long to commit what it holds, close the file and exit when the store closes; then it is
# killed (which loses nothing committed: the file is in WAL mode).
_CLOSE_S: Final = 60.0
# A writer that closed its stdout is ending; it gets this long to be reaped before it is killed.
_REAP_S: Final = 5.0
# At most this much of the writer's stdout a read (its pipe holds 64 KiB).
_READ_BYTES: Final = 65_536
# The writer runs the `engine` package this module belongs to, not whichever one the interpreter would find.
_ROOT: Final = str(Path(__file__).resolve().parents[2])
_BOOT: Final = "import sys; sys.path.insert(0, sys.argv[1]); from engine.store.writer import main; main()"


class _Job:
    __slots__ = ("done", "error", "op", "result", "rows")

    def __init__(self, op: msgspec.Raw, *, wait: bool, rows: int = 1) -> None:
        self.op = op  # encoded when the call was made
        self.rows = rows
        self.done: trio.Event | None = trio.Event() if wait else None
        self.result: Any = None
        self.error: BaseException | None = None


class SqliteStore:
    """See the module docstring. Open it with `SqliteStore.open` (an async context manager)."""

    def __init__(self, process: _WriterProcess, opening: wire.Open, config: SqliteConfig) -> None:
        self._process: _WriterProcess | None = process
        self._opening = opening
        self.path = opening.path
        self.config = config
        # Unix seconds at trio time 0 of this process: a time goes in as ``at + offset`` and comes out less it.
        self._offset = opening.offset
        self._queue: list[_Job] = []
        self._queued_rows = 0  # rows of the traces handed over and not yet taken by the writer task
        self._work = trio.Event()
        self._room = trio.Event()
        self._closing = False
        self._closed = False
        self.commits = 0
        self.lost_rows = 0
        self.restarts = 0  # writer processes started after the first
        # The writer task's scope: shielded, so a cancelled caller's `aclose` still gets the queue written; `open`
        # cancels it once `aclose` returned.
        self._stop = trio.CancelScope(shield=True)

    @property
    def persistent(self) -> bool:
        return True

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id (None between a writer's death and the next group)."""
        return None if self._process is None else self._process.pid

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: str, *, clock: Clock | None = None, config: SqliteConfig | None = None
    ) -> AsyncIterator[SqliteStore]:
        """Open (creating it, and migrating it to this version) the store at ``path``; closed on exit, after
        everything queued has committed."""
        try:
            async with cls._open(path, clock, config or SqliteConfig()) as store:
                yield store
        except BaseExceptionGroup as group:
            # The writer task's nursery wraps what ends the store (the caller's own error) in a group of one: the
            # caller gets it as it was raised.
            error = _alone(group)
            if error is group:
                raise
        else:
            return
        raise error

    @classmethod
    @asynccontextmanager
    async def _open(cls, path: str, clock: Clock | None, config: SqliteConfig) -> AsyncIterator[SqliteStore]:
        offset = 0.0 if clock is None else clock.to_utc(0.0).timestamp()
        opening = wire.Open(path, offset, config.cache_mib, config.retention_days, config.busy_timeout_ms)
        store = cls(await _WriterProcess.start(opening), opening, config)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(store._writer)
                try:
                    yield store
                finally:
                    with trio.CancelScope(shield=True):
                        await store.aclose()
                    store._stop.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await store._end_process(gently=True)

    # --- the writer task -----------------------------------------------------------------------------------------

    async def _run(self, op: wire.Op) -> Any:
        """Queue ``op`` and wait for its group's answer: its value, or its error."""
        if self._closing:
            raise StoreClosed(f"the store {self.path} is closed")
        job = _Job(msgspec.Raw(wire.ENCODER.encode(op)), wait=True)
        self._queue.append(job)
        self._work.set()
        assert job.done is not None
        await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    async def _hand_over(self, op: wire.RecordDecisions | wire.RecordPrices, rows: int) -> None:
        """Queue a trace and go on (waiting only while the queue holds too many rows)."""
        if self._closing:
            raise StoreClosed(f"the store {self.path} is closed")
        if not rows:
            await trio.lowlevel.checkpoint()
            return
        try:
            encoded = msgspec.Raw(wire.ENCODER.encode(op))
        except Exception as error:  # a value msgpack cannot carry (an integer past 64 bits)
            self._lose(rows, error)
            await trio.lowlevel.checkpoint()
            return
        while self._queued_rows >= self.config.queue_limit:
            if self._room.is_set():
                self._room = trio.Event()
            await self._room.wait()
        self._queued_rows += rows
        self._queue.append(_Job(encoded, wait=False, rows=rows))
        self._work.set()
        await trio.lowlevel.checkpoint()

    def _lose(self, rows: int, error: BaseException) -> None:
        self.lost_rows += rows
        log.error("the store could not write %d rows of a trace: %s", rows, error)

    async def _writer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self._stop:
            # The interval is real time: under a fast simulated clock (`run --sim --speed 60 --db`) it is that much
            # more of trio's time.
            rate = getattr(trio.lowlevel.current_clock(), "rate", 1.0) or 1.0
            sent, backlog = -math.inf, False
            # Waiting before the store is handed out: the first calls, made together, go in one group.
            self._work = trio.Event()
            task_status.started()
            while True:
                if not self._queue:
                    await self._work.wait()
                    self._work = trio.Event()
                    continue
                if backlog:
                    await trio.sleep_until(sent + self.config.group_interval_s * rate)
                sent = trio.current_time()
                group, self._queue = self._queue, []
                self._queued_rows = 0
                self._room.set()
                await self._commit(group)
                self.commits += 1
                backlog = bool(self._queue)
                for job in group:
                    if job.done is not None:
                        job.done.set()
                    elif job.error is not None:
                        self._lose(job.rows, job.error)

    async def _commit(self, group: list[_Job]) -> None:
        """Send ``group`` to the writer process and set each job's result or error from its answer."""
        frame = _frame([job.op for job in group])
        error: BaseException
        for attempt in range(2):
            try:
                process = self._process or await self._restart()
                reply = await process.exchange(frame, len(group))
            except _Undelivered:
                await self._end_process(gently=False)
                if attempt == 0:
                    log.warning("the store's writer process had ended; a new one takes the group")
                    continue
                error = WriterDied("the store's writer process ended before it got the group")
            except WriterDied as died:
                await self._end_process(gently=False)
                log.error("%s with a group of %d operations in hand; the next group starts a new one", died, len(group))
                error = died
            except Exception as failed:  # a new writer could not open the file
                error = failed
            else:
                for job, value in zip(group, reply.values, strict=True):  # as many: `exchange` checked
                    job.result = value
                for index, kind, message in reply.errors:
                    group[index].error = _error(kind, message)
                return
            break
        for job in group:
            job.result, job.error = None, error

    async def _restart(self) -> _WriterProcess:
        self._process = await _WriterProcess.start(self._opening)
        self.restarts += 1
        return self._process

    async def _end_process(self, *, gently: bool) -> None:
        process, self._process = self._process, None
        if process is not None:
            await (process.close() if gently else process.kill())

    async def aclose(self) -> None:
        """Stop taking operations and wait until everything queued has committed."""
        if self._closed:
            return
        self._closing = True
        # At least one round, even with nothing queued: the writer task may hold a group not answered yet.
        while True:
            flushed = _Job(msgspec.Raw(wire.ENCODER.encode(wire.Flush())), wait=True)
            self._queue.append(flushed)
            self._work.set()
            assert flushed.done is not None
            await flushed.done.wait()
            if not self._queue:  # hand-overs that were waiting for room when closing began
                break
        self._closed = True

    # --- the catalog ---------------------------------------------------------------------------------------------

    async def markets(self) -> list[tuple[str, str]]:
        rows = await self._run(wire.Markets())
        return [(seller, marketplace) for seller, marketplace in rows]

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        rows = await self._run(wire.LoadCatalog(seller, marketplace))
        return [_CATALOG.decode(row) for row in rows]

    async def save_catalog(self, rows: Sequence[CatalogRow]) -> CatalogChange:
        encoded = {row.key: wire.ENCODER.encode(row) for row in rows}  # a key given twice: the later row wins
        op = wire.SaveCatalog([(k.seller, k.marketplace, k.sku, row) for k, row in encoded.items()])
        created, updated, unchanged = await self._run(op)
        return CatalogChange(created, updated, unchanged)

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        await self._run(wire.RemoveOffers([(k.seller, k.marketplace, k.sku) for k in keys]))

    # --- what the engine learned -------------------------------------------------------------------------------

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        rows = await self._run(wire.LoadStates(seller, marketplace))
        return {OfferKey(seller, marketplace, sku): state for sku, state in rows}

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        await self._run(wire.SaveStates([(k.seller, k.marketplace, k.sku, state) for k, state in states.items()]))

    async def load_market_state(self, seller: str, marketplace: str) -> bytes | None:
        state: bytes | None = await self._run(wire.LoadMarketState(seller, marketplace))
        return state

    async def save_market_state(self, seller: str, marketplace: str, state: bytes) -> None:
        await self._run(wire.SaveMarketState(seller, marketplace, state))

    # --- traces ----------------------------------------------------------------------------------------------

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        await self._hand_over(wire.RecordDecisions(list(decisions)), len(decisions))

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        rows = await self._run(wire.RecentDecisions((key.seller, key.marketplace, key.sku), limit))
        return [msgspec.structs.replace(_DECISION.decode(record), at=at - self._offset) for at, record in rows]

    async def record_prices(self, points: Sequence[PricePoint]) -> None:
        await self._hand_over(wire.RecordPrices(list(points)), len(points))

    async def price_history(self, key: OfferKey, limit: int) -> list[PricePoint]:
        rows = await self._run(wire.PriceHistory((key.seller, key.marketplace, key.sku), limit))
        return [PricePoint(key, at - self._offset, price) for at, price in rows]

    # --- the outbox ----------------------------------------------------------------------------------------------

    async def last_update_id(self) -> int:
        last: int = await self._run(wire.LastUpdateId())
        return last

    async def outbox_put(self, updates: Sequence[OfferUpdate], at: float) -> None:
        await self._run(wire.PutOutbox(list(updates), at))

    async def outbox_mark(self, marks: Sequence[OutboxMark]) -> int:
        applied: int = await self._run(wire.MarkOutbox(list(marks)))
        return applied

    async def outbox_entries(self, seller: str, marketplace: str, states: Collection[OutboxState]) -> list[OutboxEntry]:
        wanted = sorted(OutboxState(s).value for s in states)
        rows = await self._run(wire.OutboxEntries(seller, marketplace, wanted))
        return [
            OutboxEntry(
                _UPDATE.decode(body),
                OutboxState(state),
                at - self._offset,
                submission_id,
                failures,
                tuple(msgspec.json.decode(issues)),
            )
            for body, state, at, submission_id, failures, issues in rows
        ]


class _WriterProcess:
    """One writer process and the two pipes to it, on the daemon's side."""

    def __init__(
        self, popen: subprocess.Popen[bytes], to_writer: trio.lowlevel.FdStream, from_writer: trio.lowlevel.FdStream
    ) -> None:
        self._popen = popen
        self._to = to_writer
        self._from = from_writer
        self._buffer = bytearray()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @classmethod
    async def start(cls, opening: wire.Open) -> _WriterProcess:
        """A writer with the store open: its migrations done and the retention pruned; or the error that stopped
        it (`SchemaError`, a `sqlite3.Error`)."""
        process = cls(*_spawn())
        try:
            # When it ended at once, what it said, or how it ended, follows.
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await process._to.send_all(_frame(opening))
            reply = await process._answer()
        except BaseException:
            with trio.CancelScope(shield=True):
                await process.kill()
            raise
        if reply.errors:
            with trio.CancelScope(shield=True):
                await process.close()
            (_, kind, message), *_ = reply.errors
            raise _error(kind, message)
        return process

    async def exchange(self, frame: bytearray, operations: int) -> wire.Reply:
        """Send a group of ``operations``, and the writer's answer (`_Undelivered`: it had ended before;
        `WriterDied`: it ended while it had the group, or answered for another number of operations)."""
        try:
            await self._to.send_all(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise _Undelivered from None
        reply = await self._answer()
        if len(reply.values) != operations:
            await self.kill()
            raise WriterDied(
                f"the store's writer process answered {len(reply.values)} operations of {operations}; it was killed"
            )
        return reply

    async def _answer(self) -> wire.Reply:
        body = await self._receive()
        if body is None:
            raise WriterDied(f"the store's writer process ended ({await self._ending()})")
        try:
            return wire.REPLY.decode(body)
        except msgspec.DecodeError as error:
            await self.kill()
            raise WriterDied(f"the store's writer process answered what is no reply ({error}); it was killed") from None

    async def _receive(self) -> bytes | None:
        """The next frame, or None when the writer's stdout ended (or ended inside a frame)."""
        if not await self._fill(wire.HEADER):
            return None
        size = wire.HEADER + int.from_bytes(self._buffer[: wire.HEADER], "big")
        if not await self._fill(size):
            return None
        body = bytes(self._buffer[wire.HEADER : size])
        del self._buffer[:size]
        return body

    async def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            chunk = await self._from.receive_some(_READ_BYTES)
            if not chunk:
                return False
            self._buffer += chunk
        return True

    async def _ending(self) -> str:
        """How the writer ended, once it has (killed after `_REAP_S` if it closed its stdout and lingers)."""
        with trio.move_on_after(_REAP_S):
            await self._reaped()
        if self._popen.returncode is None:
            await self.kill()
        code = self._popen.returncode
        assert code is not None
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    async def _reaped(self) -> None:
        delay = 0.001
        while self._popen.poll() is None:
            await trio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def close(self) -> None:
        """Close its stdin, so it closes the file and exits; killed when it has not after `_CLOSE_S`."""
        with trio.move_on_after(_CLOSE_S):
            await self._to.aclose()
            while await self._from.receive_some():
                pass
            await self._reaped()
        await self.kill()

    async def kill(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
        with trio.CancelScope(shield=True):
            await self._reaped()
            await self._to.aclose()
            await self._from.aclose()


def _spawn() -> tuple[subprocess.Popen[bytes], trio.lowlevel.FdStream, trio.lowlevel.FdStream]:
    """Start a writer process with a pipe to its stdin and one from its stdout, in a session of its own.

    Started from this thread, not from a worker thread as `trio.lowlevel.open_process` would: the writer asks to be
    killed when the thread that started it ends (``PR_SET_PDEATHSIG``), and trio's worker threads end when idle.
    Starting blocks this thread for the fork and exec, once a store (or a writer after a death).

    Its own session keeps it out of the terminal's job control: Ctrl-C, Ctrl-\\ and a hang-up go to the daemon,
    which closes the store as it stops (the writer also ignores SIGINT, SIGTERM and SIGHUP, which a service manager
    sends to every process of the unit). Where the kernel groups processes by session for scheduling (autogroup:
    desktop kernels, processes outside any cgroup), the writer is thus scheduled as a group of its own, as a
    separate program would be."""
    stdin_read, stdin_write = os.pipe()
    try:
        stdout_read, stdout_write = os.pipe()
    except BaseException:
        os.close(stdin_read)
        os.close(stdin_write)
        raise
    try:
        popen = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _ROOT, str(os.getpid())],
            stdin=stdin_read,
            stdout=stdout_write,
            start_new_session=True,
        )
    except BaseException:
        os.close(stdin_write)
        os.close(stdout_read)
        raise
    finally:
        os.close(stdin_read)
        os.close(stdout_write)
    return popen, trio.lowlevel.FdStream(stdin_write), trio.lowlevel.FdStream(stdout_read)


def _frame(message: wire.Open | list[msgspec.Raw]) -> bytearray:
    """One frame: the header, then ``message`` (a group: its operations, each encoded when its call was made)."""
    frame = bytearray(wire.HEADER)
    wire.ENCODER.encode_into(message, frame, wire.HEADER)
    frame[: wire.HEADER] = (len(frame) - wire.HEADER).to_bytes(wire.HEADER, "big")
    return frame


def _error(kind: str, message: str) -> Exception:
    """The error the writer described (`engine.store.writer.describe`), raised here as its own kind."""
    if kind.startswith("sqlite3."):
        cls = getattr(sqlite3, kind.removeprefix("sqlite3."), None)
        if isinstance(cls, type) and issubclass(cls, sqlite3.Error):
            return cls(message)
        return sqlite3.Error(message)
    if kind == "SchemaError":
        return SchemaError(message)
    builtin = getattr(builtins, kind, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        return builtin(message)
    return WriterError(f"{kind}: {message}")


def _alone(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one exception inside nested groups of one, or the group itself."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


_CATALOG = msgspec.msgpack.Decoder(CatalogRow)
_DECISION = msgspec.msgpack.Decoder(Decision)
_UPDATE = msgspec.msgpack.Decoder(OfferUpdate)
