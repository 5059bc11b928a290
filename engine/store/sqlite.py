"""The daemon's `Store`: one SQLite file, written by one task that commits in groups.

aiosqlite runs SQLite in a thread of its own and speaks asyncio; trio-asyncio runs that inside trio, and only
here: the rest of the engine sees trio coroutines.

One connection, owned by one writer task. A caller's operation (a write, or a read that must see every write queued
before it) goes into the writer's queue. The writer takes everything queued and hands it to aiosqlite's thread in
one call, which runs the writes in one transaction and commits, then runs the reads: at 100,000 offers a burst of
decisions, state saves and outbox moves costs one fsync-free commit, not thousands. A caller that needs the outcome
(the outbox before a price goes out, a save at stop) waits for its group's commit and gets its result or its error;
the traces (`record_decisions`, `record_prices`) are handed over and the caller goes on, and the writer logs and
counts what it could not write (`lost_rows`). When one operation of a group fails (a constraint, a bug), the group
is rolled back and its operations are run again one transaction each, so only that caller sees the error; when the
commit itself fails (a full disk), every caller of the group gets the error and nothing of the group is kept.

WAL journal with ``synchronous=NORMAL``: a commit survives the process being killed at any moment (a power cut may
lose the last commits, never corrupt the file); readers in other processes (`repricer history`) never block the
writer. The schema and its migrations are in `engine.store.schema`.

Times are the daemon's `Clock` readings in the API and Unix seconds in the file, so a history written by one
process reads right in another.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from itertools import chain
from typing import Any, Final, Generic, TypeVar

import aiosqlite
import msgspec
import outcome
import trio
import trio_asyncio

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
from engine.store.outbox import move
from engine.store.schema import MIGRATIONS, VERSION

__all__ = ["SchemaError", "SqliteConfig", "SqliteStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], T]


class SchemaError(RuntimeError):
    """The file is not a store this version can use (newer schema, or not a repricer database)."""


class SqliteConfig(msgspec.Struct, frozen=True):
    # Rows waiting for the writer at most; a trace handed over beyond this waits for room (backpressure).
    queue_limit: int = 200_000
    # SQLite's page cache: the default 2 MiB lets inserts into a table of millions of decisions fall to about half
    # the rate (`repricer bench store`).
    cache_mib: int = 64
    # Decisions, prices and settled outbox entries older than this are deleted when the store opens.
    retention_days: float = 30.0
    busy_timeout_ms: int = 5_000


class _Job(Generic[T]):
    __slots__ = ("done", "error", "op", "result", "rows", "write")

    def __init__(self, op: Op[T], *, write: bool, wait: bool, rows: int = 1) -> None:
        self.op = op
        self.rows = rows
        self.write = write
        self.done: trio.Event | None = trio.Event() if wait else None
        self.result: T | None = None
        self.error: BaseException | None = None


class StoreClosed(RuntimeError):
    """The store was used after it closed."""


_UNANSWERED_SQL: Final = "('stored', 'submitted', 'failed')"


class SqliteStore:
    """See the module docstring. Open it with `SqliteStore.open` (an async context manager)."""

    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Clock | None, config: SqliteConfig) -> None:
        self._conn = conn
        self.path = path
        self.config = config
        # Unix seconds at trio time 0 of this process: a time goes in as ``at + offset`` and comes out less it.
        self._offset = 0.0 if clock is None else clock.to_utc(0.0).timestamp()
        self._queue: list[_Job[Any]] = []
        self._queued_rows = 0  # rows of the traces handed over and not yet taken by the writer
        self._work = trio.Event()
        self._room = trio.Event()
        self._closing = False
        self._closed = False
        self.commits = 0
        self.lost_rows = 0
        # The writer's scope: shielded, so a cancelled caller's `aclose` still gets the queue written; `open`
        # cancels it once `aclose` returned.
        self._stop = trio.CancelScope(shield=True)

    @property
    def persistent(self) -> bool:
        return True

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
            # trio-asyncio's loop and the writer's nursery wrap what ends the store (a `SchemaError`, the caller's
            # own error) in groups of one: the caller gets it as it was raised.
            error = _alone(group)
            if error is group:
                raise
        else:
            return
        raise error

    @classmethod
    @asynccontextmanager
    async def _open(cls, path: str, clock: Clock | None, config: SqliteConfig) -> AsyncIterator[SqliteStore]:
        async with trio_asyncio.open_loop():
            conn = await _connect(path)
            try:
                await _in_thread(conn, _prepare, config)
                store = cls(conn, path, clock, config)
                await _in_thread(conn, store._prune)
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
                    await _aio(conn.close)()

    # --- the writer --------------------------------------------------------------------------------------------

    async def _run(self, op: Op[T], *, write: bool = True) -> T:
        """Queue ``op`` and wait for its group's commit; its result, or its error."""
        if self._closing:
            raise StoreClosed(f"the store {self.path} is closed")
        job = _Job(op, write=write, wait=True)
        self._queue.append(job)
        self._work.set()
        assert job.done is not None
        await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    async def _hand_over(self, rows: _Rows) -> None:
        """Queue a trace's rows and go on (waiting only while the queue holds too many rows)."""
        if self._closing:
            raise StoreClosed(f"the store {self.path} is closed")
        while self._queued_rows >= self.config.queue_limit:
            if self._room.is_set():
                self._room = trio.Event()
            await self._room.wait()
        self._queued_rows += len(rows.params)
        self._queue.append(_Job(rows, write=True, wait=False, rows=len(rows.params)))
        self._work.set()
        await trio.lowlevel.checkpoint()

    async def _writer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self._stop:
            # Waiting before the store is handed out: the first calls, made together, go in one group.
            self._work = trio.Event()
            task_status.started()
            while True:
                if not self._queue:
                    await self._work.wait()
                    self._work = trio.Event()
                    continue
                group, self._queue = self._queue, []
                self._queued_rows = 0
                self._room.set()
                await _in_thread(self._conn, self._commit, group)
                self.commits += 1
                for job in group:
                    if job.done is not None:
                        job.done.set()
                    elif job.error is not None:
                        self.lost_rows += job.rows
                        log.error("the store could not write %d rows of a trace: %s", job.rows, job.error)

    def _commit(self, conn: sqlite3.Connection, group: list[_Job[Any]]) -> None:
        """In aiosqlite's thread, in one call: the group's writes in one transaction, then its reads. The rows of
        every trace of one table go in together (`_run_writes`), where the first of them was queued."""
        writes = [job for job in group if job.write]
        if writes:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    _run_writes(conn, writes)
                except Exception:
                    _rollback(conn)  # SQLite may have ended it itself (SQLITE_FULL, an I/O error)
                    self._one_by_one(conn, writes)
                else:
                    conn.execute("COMMIT")
            except Exception as error:  # BEGIN or COMMIT failed: a full disk, an I/O error
                _rollback(conn)
                for job in writes:
                    job.result, job.error = None, error
        for job in group:
            if not job.write:
                try:
                    job.result = job.op(conn)
                except Exception as error:
                    job.error = error

    def _one_by_one(self, conn: sqlite3.Connection, writes: list[_Job[Any]]) -> None:
        for job in writes:
            job.result = job.error = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                job.result = job.op(conn)
                conn.execute("COMMIT")
            except Exception as error:
                _rollback(conn)
                job.result, job.error = None, error

    async def aclose(self) -> None:
        """Stop taking operations and wait until everything queued has committed."""
        if self._closed:
            return
        self._closing = True
        # At least one round, even with nothing queued: the writer may hold a group it has not committed yet.
        while True:
            flushed = _Job(_nothing, write=False, wait=True)
            self._queue.append(flushed)
            self._work.set()
            assert flushed.done is not None
            await flushed.done.wait()
            if not self._queue:  # hand-overs that were waiting for room when closing began
                break
        self._closed = True

    # --- the catalog ---------------------------------------------------------------------------------------------

    async def markets(self) -> list[tuple[str, str]]:
        def op(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            rows = _fetchall(conn, "SELECT DISTINCT seller, marketplace FROM catalog ORDER BY 1, 2")
            return [(seller, marketplace) for seller, marketplace in rows]

        return await self._run(op, write=False)

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        def op(conn: sqlite3.Connection) -> list[CatalogRow]:
            rows = _fetchall(
                conn, "SELECT row FROM catalog WHERE seller = ? AND marketplace = ? ORDER BY sku", (seller, marketplace)
            )
            return [_CATALOG.decode(row) for (row,) in rows]

        return await self._run(op, write=False)

    async def save_catalog(self, rows: Sequence[CatalogRow]) -> CatalogChange:
        encoded = {row.key: _ENCODER.encode(row) for row in rows}  # a key given twice: the later row wins

        def op(conn: sqlite3.Connection) -> CatalogChange:
            existing: dict[OfferKey, bytes] = {}
            for seller, marketplace in {(k.seller, k.marketplace) for k in encoded}:
                found = _fetchall(
                    conn, "SELECT sku, row FROM catalog WHERE seller = ? AND marketplace = ?", (seller, marketplace)
                )
                existing.update((OfferKey(seller, marketplace, sku), row) for sku, row in found)
            changed = [(k.seller, k.marketplace, k.sku, row) for k, row in encoded.items() if existing.get(k) != row]
            _insert(conn, "INSERT OR REPLACE INTO catalog", changed)
            created = sum(1 for k in encoded if k not in existing)
            return CatalogChange(created, len(changed) - created, len(encoded) - len(changed))

        return await self._run(op)

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        params = [(k.seller, k.marketplace, k.sku) for k in keys]

        def op(conn: sqlite3.Connection) -> None:
            where = "WHERE seller = ? AND marketplace = ? AND sku = ?"
            conn.executemany(f"DELETE FROM catalog {where}", params)
            conn.executemany(f"DELETE FROM search_state {where}", params)

        await self._run(op)

    # --- what the engine learned -------------------------------------------------------------------------------

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        def op(conn: sqlite3.Connection) -> dict[OfferKey, bytes]:
            rows = _fetchall(
                conn, "SELECT sku, state FROM search_state WHERE seller = ? AND marketplace = ?", (seller, marketplace)
            )
            return {OfferKey(seller, marketplace, sku): state for sku, state in rows}

        return await self._run(op, write=False)

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        params = [(k.seller, k.marketplace, k.sku, state) for k, state in states.items()]

        await self._run(_Rows("INSERT OR REPLACE INTO search_state", params))

    async def load_market_state(self, seller: str, marketplace: str) -> bytes | None:
        def op(conn: sqlite3.Connection) -> bytes | None:
            rows = list(
                _fetchall(
                    conn, "SELECT state FROM market_state WHERE seller = ? AND marketplace = ?", (seller, marketplace)
                )
            )
            return bytes(rows[0][0]) if rows else None

        return await self._run(op, write=False)

    async def save_market_state(self, seller: str, marketplace: str, state: bytes) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO market_state VALUES (?, ?, ?)", (seller, marketplace, state))

        await self._run(op)

    # --- traces ----------------------------------------------------------------------------------------------

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        offset = self._offset
        params = [(d.key.seller, d.key.marketplace, d.key.sku, d.at + offset, _ENCODER.encode(d)) for d in decisions]

        await self._hand_over(_Rows("INSERT INTO decision (seller, marketplace, sku, at, record)", params))

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        def op(conn: sqlite3.Connection) -> list[Decision]:
            rows = _fetchall(
                conn,
                "SELECT at, record FROM decision WHERE seller = ? AND marketplace = ? AND sku = ?"
                " ORDER BY id DESC LIMIT ?",
                (key.seller, key.marketplace, key.sku, max(limit, 0)),
            )
            return [msgspec.structs.replace(_DECISION.decode(record), at=at - self._offset) for at, record in rows]

        return await self._run(op, write=False)

    async def record_prices(self, points: Sequence[PricePoint]) -> None:
        offset = self._offset
        params = [(p.key.seller, p.key.marketplace, p.key.sku, p.at + offset, p.price) for p in points]

        await self._hand_over(_Rows("INSERT INTO price (seller, marketplace, sku, at, price)", params))

    async def price_history(self, key: OfferKey, limit: int) -> list[PricePoint]:
        def op(conn: sqlite3.Connection) -> list[PricePoint]:
            rows = _fetchall(
                conn,
                "SELECT at, price FROM price WHERE seller = ? AND marketplace = ? AND sku = ? ORDER BY id DESC LIMIT ?",
                (key.seller, key.marketplace, key.sku, max(limit, 0)),
            )
            return [PricePoint(key, at - self._offset, price) for at, price in rows]

        return await self._run(op, write=False)

    # --- the outbox ----------------------------------------------------------------------------------------------

    async def last_update_id(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            rows = list(_fetchall(conn, "SELECT value FROM sequence WHERE name = 'update_id'"))
            return int(rows[0][0]) if rows else 0

        return await self._run(op, write=False)

    async def outbox_put(self, updates: Sequence[OfferUpdate], at: float) -> None:
        when = at + self._offset
        # As if put one by one: an update followed in this call by a newer one of the same offer is superseded.
        last = {u.key: u.update_id for u in updates}
        supersede = [(k.seller, k.marketplace, k.sku, when) for k in last]
        insert = [
            (
                u.update_id,
                u.key.seller,
                u.key.marketplace,
                u.key.sku,
                (OutboxState.STORED if last[u.key] == u.update_id else OutboxState.SUPERSEDED).value,
                when,
                _ENCODER.encode(u),
            )
            for u in updates
        ]
        highest = max((u.update_id for u in updates), default=0)

        def op(conn: sqlite3.Connection) -> None:
            _each_chunk(
                conn,
                "UPDATE outbox SET state = 'superseded', at = v.column4 FROM ({values}) AS v"
                " WHERE outbox.seller = v.column1 AND outbox.marketplace = v.column2 AND outbox.sku = v.column3"
                f" AND outbox.state IN {_UNANSWERED_SQL}",
                supersede,
            )
            try:
                _insert(conn, "INSERT INTO outbox (update_id, seller, marketplace, sku, state, at, body)", insert)
            except sqlite3.IntegrityError:
                raise ValueError("an update id is in the outbox already") from None
            conn.execute(
                "INSERT INTO sequence VALUES ('update_id', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
                (highest,),
            )

        await self._run(op)

    async def outbox_mark(self, marks: Sequence[OutboxMark]) -> int:
        offset = self._offset

        def op(conn: sqlite3.Connection) -> int:
            # The marks apply one after another, as `MemoryStore.outbox_mark` applies them, but in a few statements:
            # the rows they name are read at once and moved here; an acceptance supersedes the older accepted
            # updates of its offer, those among the rows here as it happens and the others in spans of update ids
            # (each offer's ids from the highest accepted before in this call up to the new one), written first.
            rows = {
                row[0]: _Marked(*row)
                for row in _each_chunk(
                    conn,
                    "SELECT update_id, seller, marketplace, sku, state, submission_id, failures, issues FROM outbox"
                    " WHERE update_id IN (SELECT column1 FROM ({values}))",
                    [(update_id,) for update_id in {m.update_id for m in marks}],
                )
            }
            by_key: dict[tuple[str, str, str], list[_Marked]] = {}
            for marked in rows.values():
                by_key.setdefault(marked.key, []).append(marked)
            accepted_below: dict[tuple[str, str, str], int] = {}
            spans: list[tuple[str, str, str, int, int, float]] = []
            changed: dict[int, _Marked] = {}
            applied = 0
            for mark in marks:
                key = (mark.key.seller, mark.key.marketplace, mark.key.sku)
                row = rows.get(mark.update_id)
                if row is None or row.key != key:
                    continue
                moved = move(row.state, row.submission_id, row.failures, row.issues, mark)
                if moved is None:
                    continue
                applied += 1
                when = mark.at + offset
                row.state, row.submission_id, row.failures, row.issues = moved
                row.at = when
                changed[row.update_id] = row
                if moved.state is OutboxState.ACCEPTED:
                    for older in by_key[key]:
                        if older.update_id < row.update_id and older.state is OutboxState.ACCEPTED:
                            older.state, older.at = OutboxState.SUPERSEDED, when
                            changed[older.update_id] = older
                    below = accepted_below.get(key, 0)
                    if row.update_id > below:
                        spans.append((*key, below, row.update_id, when))
                        accepted_below[key] = row.update_id
            _each_chunk(
                conn,
                "UPDATE outbox SET state = 'superseded', at = v.column6 FROM ({values}) AS v"
                " WHERE outbox.seller = v.column1 AND outbox.marketplace = v.column2 AND outbox.sku = v.column3"
                " AND outbox.state = 'accepted' AND outbox.update_id >= v.column4 AND outbox.update_id < v.column5",
                spans,
            )
            _each_chunk(
                conn,
                "UPDATE outbox SET state = v.column2, at = v.column3, submission_id = v.column4, failures = v.column5,"
                " issues = v.column6 FROM ({values}) AS v WHERE outbox.update_id = v.column1",
                [
                    (r.update_id, r.state.value, r.at, r.submission_id, r.failures, json.dumps(r.issues))
                    for r in changed.values()
                ],
            )
            return applied

        return await self._run(op)

    def _outbox_entry(self, row: Any) -> OutboxEntry:
        body, state, at, submission_id, failures, issues = row
        return OutboxEntry(
            _UPDATE.decode(body),
            OutboxState(state),
            at - self._offset,
            submission_id,
            failures,
            tuple(json.loads(issues)),
        )

    async def outbox_entries(self, seller: str, marketplace: str, states: Collection[OutboxState]) -> list[OutboxEntry]:
        wanted = sorted(OutboxState(s).value for s in states)

        def op(conn: sqlite3.Connection) -> list[OutboxEntry]:
            if not wanted:
                return []
            marks = ", ".join("?" * len(wanted))
            rows = _fetchall(
                conn,
                "SELECT body, state, at, submission_id, failures, issues FROM outbox"
                f" WHERE seller = ? AND marketplace = ? AND state IN ({marks}) ORDER BY update_id",
                (seller, marketplace, *wanted),
            )
            return [self._outbox_entry(row) for row in rows]

        return await self._run(op, write=False)

    # --- housekeeping ------------------------------------------------------------------------------------------

    def _prune(self, conn: sqlite3.Connection) -> None:
        """Delete traces and settled outbox entries past the retention (when the store opens)."""
        before = time.time() - self.config.retention_days * 86_400
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM decision WHERE at < ?", (before,))
        conn.execute("DELETE FROM price WHERE at < ?", (before,))
        conn.execute(
            f"DELETE FROM outbox WHERE at < ? AND state NOT IN {_UNANSWERED_SQL} AND state != 'accepted'", (before,)
        )
        conn.execute("COMMIT")


def _prepare(conn: sqlite3.Connection, config: SqliteConfig) -> None:
    """Pragmas, then the migrations this file still needs, each in the transaction that records it."""
    conn.execute(f"PRAGMA busy_timeout = {int(config.busy_timeout_ms)}")
    # A file this version cannot use is refused before anything writes to it (switching to WAL rewrites its header).
    version = next(iter(_fetchall(conn, "PRAGMA user_version")))[0]
    if version > VERSION:
        raise SchemaError(f"the store's schema is version {version}, newer than this repricer's ({VERSION})")
    if version == 0:
        tables = list(_fetchall(conn, "SELECT name FROM sqlite_master WHERE type = 'table'"))
        if tables:
            raise SchemaError(f"not a repricer store: it holds other tables ({', '.join(t[0] for t in tables)})")
    mode = _fetchall(conn, "PRAGMA journal_mode = WAL")
    if next(iter(mode))[0].lower() != "wal":
        raise SchemaError("SQLite refused the WAL journal (a network file system?)")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{int(config.cache_mib) * 1024}")
    conn.execute("PRAGMA foreign_keys = ON")
    for target in range(version + 1, VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[target - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")


async def _connect(path: str) -> aiosqlite.Connection:
    """aiosqlite's connection; when it fails, its thread is let finish while the loop it answers to is open (else
    it reports "Event loop is closed" on stderr after the caller has long handled the error)."""
    # Statement texts: nine templates (five tables' inserts, four outbox statements), each in up to 13 chunk sizes
    # (`_each_chunk`), beside the single statements.
    pending = aiosqlite.connect(path, isolation_level=None, cached_statements=256)
    try:
        return await _aio(_awaited)(pending)
    except BaseException:
        thread = getattr(pending, "_thread", None)
        if thread is not None and thread.is_alive():
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(thread.join, 5.0)
        raise


async def _awaited(pending: aiosqlite.Connection) -> aiosqlite.Connection:
    return await pending


class _Rows:
    """Rows for one table, as a write operation: ``head`` (``INSERT ... INTO table (columns)``) and one tuple of
    values per row. The writer runs the rows of every `_Rows` of one head in a group as one (`_run_writes`)."""

    __slots__ = ("head", "params")

    def __init__(self, head: str, params: list[tuple[Any, ...]]) -> None:
        self.head = head
        self.params = params

    def __call__(self, conn: sqlite3.Connection) -> None:
        _insert(conn, self.head, self.params)


def _run_writes(conn: sqlite3.Connection, writes: Sequence[_Job[Any]]) -> None:
    """Each job's operation in order, its result kept; the rows of the traces handed over for one table (decisions,
    prices: tables only appended to, which no other write touches) go in together, where the first of them stood.
    A write whose caller waits runs in its place, rows or not: a search state saved, removed and saved again in one
    group must end as the last save left it."""
    first: dict[str, _Rows] = {}
    steps: list[_Job[Any] | _Rows] = []
    for job in writes:
        op = job.op
        if not isinstance(op, _Rows) or job.done is not None:
            steps.append(job)
        elif op.head in first:
            first[op.head].params.extend(op.params)
        else:
            first[op.head] = _Rows(op.head, list(op.params))
            steps.append(first[op.head])
    for step in steps:
        if isinstance(step, _Rows):
            step(conn)
        else:
            step.result = step.op(conn)


# While a call is in aiosqlite's thread, the trio thread lets go of the GIL for `_GIL_TURN_S` every
# `_GIL_TURN_EVERY_S` (see `_in_thread`): at most a tenth of the trio thread's time, and only while the store works.
_GIL_TURN_EVERY_S: Final = 0.001
_GIL_TURN_S: Final = 0.0001

# The most rows one INSERT carries; fewer are sent in halving chunks (2048, 1024, ..., 1), so a table needs at most
# thirteen statement texts, all kept in sqlite3's statement cache (128 a connection). 4,096 rows of the widest table
# (7 values) is 28,672 parameters, under SQLite's limit (32,766 since 3.32).
_CHUNK: Final = 4096


def _insert(conn: sqlite3.Connection, head: str, params: Sequence[tuple[Any, ...]]) -> None:
    """``head VALUES (...), (...), ...``: many rows a statement (`_each_chunk`)."""
    _each_chunk(conn, head + " {values}", params)


def _each_chunk(conn: sqlite3.Connection, template: str, params: Sequence[tuple[Any, ...]]) -> list[Any]:
    """``template`` with ``{values}`` as ``VALUES (?, ...), (?, ...)`` for as many of ``params`` (one tuple a row,
    all of one width) as one statement takes, run until every row went; the rows the statements return.

    Each statement lets go of the GIL and must win it back (`_in_thread`: about a millisecond beside a busy daemon),
    so the statements a commit runs, not its rows, set the writer's pace there: a statement a row (`executemany`)
    committed a few hundred rows a second; 4,096 rows a statement commit tens of thousands.
    """
    out: list[Any] = []
    i, n = 0, len(params)
    while i < n:
        size = _CHUNK
        while size > n - i:
            size //= 2
        sql = _values_sql(template, len(params[i]), size)
        out.extend(conn.execute(sql, list(chain.from_iterable(params[i : i + size]))).fetchall())
        i += size
    return out


@lru_cache(maxsize=256)
def _values_sql(template: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return template.replace("{values}", "VALUES " + ", ".join([row] * rows))


class _Marked:
    """An outbox row an `outbox_mark` call names, as it moves through the call's marks."""

    __slots__ = ("at", "failures", "issues", "key", "state", "submission_id", "update_id")

    def __init__(
        self,
        update_id: int,
        seller: str,
        marketplace: str,
        sku: str,
        state: str,
        submission_id: str | None,
        failures: int,
        issues: str,
    ) -> None:
        self.update_id = update_id
        self.key = (seller, marketplace, sku)
        self.state = OutboxState(state)
        self.submission_id = submission_id
        self.failures = failures
        self.issues: tuple[str, ...] = tuple(json.loads(issues))
        self.at = 0.0


def _alone(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one exception inside nested groups of one, or the group itself."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _fetchall(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _nothing(_: sqlite3.Connection) -> None:
    return None


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(connection, *args)`` in aiosqlite's thread, in one round trip: a commit group's every statement costs a
    call into SQLite there, not a hop each.

    The call goes straight onto the queue aiosqlite's thread serves (with no asyncio future: the thread then tells
    asyncio nothing) and its outcome comes back through trio's own token, not through turns of trio-asyncio's loop.
    aiosqlite's ``_tx`` queue and ``_conn`` are its own (it is pinned to its minor version for them, and tests/store
    covers them); the connection stays aiosqlite's, opened and closed through its API.

    While the call runs, this task lets go of the GIL for a moment every millisecond. Without that, beside a daemon
    deciding at full speed, the writer starved (`repricer bench store`: under 200 rows/s committed, the thread busy
    6% of a core): SQLite's thread lets go of the GIL around every statement and must win it back, and CPython's
    GIL asks its holder to let go only when the holder kept it a whole switch interval (5 ms). The trio thread lets
    go at every scheduling round (its I/O poll) and takes it straight back, so the waiting thread is never helped
    and only wins a race now and then. `time.sleep` hands the GIL over for long enough for it to be taken.

    A cancelled caller stops waiting; the call itself still runs, in order, before anything queued after it."""
    if not conn._running:
        raise StoreClosed("the store's connection is closed")
    token = trio.lowlevel.current_trio_token()
    # The turns are paced in real time: under a fast simulated clock (`run --sim --speed 60 --db`) a millisecond of
    # trio's time is 17 µs, and a turn each would stop the trio thread most of the time.
    rate = getattr(trio.lowlevel.current_clock(), "rate", 1.0) or 1.0
    done = trio.Event()
    box: list[outcome.Outcome[T]] = []

    def deliver(result: outcome.Outcome[T]) -> None:
        box.append(result)
        done.set()

    def call() -> None:
        result = outcome.capture(lambda: fn(conn._conn, *args))
        token.run_sync_soon(deliver, result)  # a run that has ended raises here, in aiosqlite's thread: dropped

    conn._tx.put_nowait((None, call))
    turned = time.perf_counter()
    while not done.is_set():
        with trio.move_on_after(_GIL_TURN_EVERY_S * rate):
            await done.wait()
        if not done.is_set() and time.perf_counter() - turned >= _GIL_TURN_EVERY_S:
            time.sleep(_GIL_TURN_S)  # noqa: ASYNC251 (blocking on purpose: it hands the GIL over)
            turned = time.perf_counter()
    return box[0].unwrap()


def _aio(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """An asyncio coroutine function, callable from trio."""
    return trio_asyncio.aio_as_trio(fn)  # type: ignore[no-any-return]


_ENCODER = msgspec.msgpack.Encoder()
_CATALOG = msgspec.msgpack.Decoder(CatalogRow)
_DECISION = msgspec.msgpack.Decoder(Decision)
_UPDATE = msgspec.msgpack.Decoder(OfferUpdate)
