"""The SQLite store's writer: a process of its own that owns the one connection to the file.

`engine.store.sqlite.SqliteStore` starts it and sends it groups of operations over its stdin (`engine.store.wire`);
for each group it runs the writes in one transaction and commits, then the reads, and answers on its stdout with a
result or an error per operation. When one write of a group fails (a constraint, a bug), the group is rolled back
and its writes run again one transaction each, so only that operation fails; when the commit itself fails (a full
disk), every write of the group fails and nothing of it is kept. The traces (decisions, prices: tables only
appended to, which no other write touches) of one table in a group go in together, where the first of them stood.

Why a process: beside a daemon deciding at full speed, SQLite's thread in the daemon's process had to win the GIL
back around every statement, and the daemon's thread had to hand it over (`bench/README.md`, "What limits the
writer"); here SQLite and the Python work around it (building rows, encoding records, moving outbox entries) have
a GIL of their own, and the daemon only encodes each call once and reads the answers.

Why plain `sqlite3` here, not aiosqlite under an event loop: this process does one thing at a time (read a group,
run it, answer) and has nothing else to keep responsive while SQLite works. aiosqlite would put the connection on a
second thread, and every statement would again cross a GIL between two threads, the cost this process removes. The
daemon's side (`engine.store.sqlite`) is trio's own pipes, so neither side needs asyncio any more.

It ends when its stdin closes (the store closing: it closes the connection, which checkpoints the write-ahead log),
and, on Linux, with the thread of the daemon that started it (``PR_SET_PDEATHSIG``): a writer must not commit a
killed daemon's last group after the daemon's successor read the file. Elsewhere it ends at the end of the group in
hand, when it finds its stdin closed. It runs in a session of its own (out of the terminal's job control) and
ignores SIGINT, SIGTERM and SIGHUP: a service manager's stop (and reload) reach every process of the unit, and the
daemon still saves into the store as it stops.

Start: ``python -c BOOT ROOT PARENT_PID`` (`engine.store.sqlite`), with the directory holding the ``engine``
package first on ``sys.path``; stderr is the daemon's. It imports only the models and the schema, to start fast.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import IO, Any, Final

from engine.model import OutboxState
from engine.store import wire
from engine.store.outbox import move
from engine.store.schema import MIGRATIONS, VERSION, SchemaError

__all__ = ["Writer", "describe", "main"]

_UNANSWERED_SQL: Final = "('stored', 'submitted', 'failed')"

# The most rows one INSERT carries; fewer are sent in halving chunks (2048, 1024, ..., 1), so a table needs at most
# thirteen statement texts, all kept in sqlite3's statement cache. 4,096 rows of the widest table (7 values) is
# 28,672 parameters, under SQLite's limit (32,766 since 3.32).
_CHUNK: Final = 4096

_WRITES: Final = (
    wire.SaveCatalog,
    wire.RemoveOffers,
    wire.SaveStates,
    wire.SaveMarketState,
    wire.RecordDecisions,
    wire.RecordPrices,
    wire.PutOutbox,
    wire.MarkOutbox,
)
_DECISION_HEAD: Final = "INSERT INTO decision (seller, marketplace, sku, at, record)"
_PRICE_HEAD: Final = "INSERT INTO price (seller, marketplace, sku, at, price)"

_PR_SET_PDEATHSIG: Final = 1


class Writer:
    """The connection and what runs on it: `run` takes one group and gives its `wire.Reply`."""

    def __init__(self, conn: sqlite3.Connection, offset: float) -> None:
        self.conn = conn
        self.offset = offset

    @classmethod
    def open(cls, opening: wire.Open) -> Writer:
        """Connect, set the pragmas, migrate to this version, and delete what is past the retention."""
        # Statement texts: nine templates (five tables' inserts, four outbox statements), each in up to 13 chunk
        # sizes (`_each_chunk`), beside the single statements.
        conn = sqlite3.connect(opening.path, isolation_level=None, cached_statements=256)
        try:
            _prepare(conn, opening)
            _prune(conn, opening.retention_days)
        except BaseException:
            conn.close()
            raise
        return cls(conn, opening.offset)

    def close(self) -> None:
        self.conn.close()

    def run(self, ops: Sequence[wire.Op]) -> wire.Reply:
        """The group's writes in one transaction, then its reads."""
        conn = self.conn
        values: list[Any] = [None] * len(ops)
        errors: dict[int, BaseException] = {}
        writes = [index for index, op in enumerate(ops) if isinstance(op, _WRITES)]
        if writes:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._run_writes(ops, writes, values)
                except Exception:
                    _rollback(conn)  # SQLite may have ended it itself (SQLITE_FULL, an I/O error)
                    self._one_by_one(ops, writes, values, errors)
                else:
                    conn.execute("COMMIT")
            except Exception as error:  # BEGIN or COMMIT failed: a full disk, an I/O error, a lock held too long
                _rollback(conn)
                for index in writes:
                    values[index] = None
                    errors[index] = error
        for index, op in enumerate(ops):
            if not isinstance(op, _WRITES):
                try:
                    values[index] = self._read(op)
                except Exception as error:
                    errors[index] = error
        return wire.Reply(values, [(index, *describe(error)) for index, error in sorted(errors.items())])

    def _run_writes(self, ops: Sequence[wire.Op], writes: Sequence[int], values: list[Any]) -> None:
        """Each write in order, its value kept; the traces of one table go in together, where the first of them
        stood. Every other write runs in its place: a search state saved, removed and saved again in one group ends
        as the last save left it."""
        decisions = [ops[i] for i in writes if isinstance(ops[i], wire.RecordDecisions)]
        prices = [ops[i] for i in writes if isinstance(ops[i], wire.RecordPrices)]
        for index in writes:
            op = ops[index]
            if isinstance(op, wire.RecordDecisions):
                if op is decisions[0]:
                    _insert(self.conn, _DECISION_HEAD, self._decision_rows(decisions))
            elif isinstance(op, wire.RecordPrices):
                if op is prices[0]:
                    _insert(self.conn, _PRICE_HEAD, self._price_rows(prices))
            else:
                values[index] = self._write(op)

    def _one_by_one(
        self, ops: Sequence[wire.Op], writes: Sequence[int], values: list[Any], errors: dict[int, BaseException]
    ) -> None:
        conn = self.conn
        for index in writes:
            op = ops[index]
            values[index] = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                if isinstance(op, wire.RecordDecisions):
                    _insert(conn, _DECISION_HEAD, self._decision_rows([op]))
                elif isinstance(op, wire.RecordPrices):
                    _insert(conn, _PRICE_HEAD, self._price_rows([op]))
                else:
                    values[index] = self._write(op)
                conn.execute("COMMIT")
            except Exception as error:
                _rollback(conn)
                values[index] = None
                errors[index] = error

    def _decision_rows(self, ops: Sequence[wire.Op]) -> list[tuple[Any, ...]]:
        offset, encode = self.offset, wire.ENCODER.encode
        return [
            (d.key.seller, d.key.marketplace, d.key.sku, d.at + offset, encode(d))
            for op in ops
            if isinstance(op, wire.RecordDecisions)
            for d in op.decisions
        ]

    def _price_rows(self, ops: Sequence[wire.Op]) -> list[tuple[Any, ...]]:
        offset = self.offset
        return [
            (p.key.seller, p.key.marketplace, p.key.sku, p.at + offset, p.price)
            for op in ops
            if isinstance(op, wire.RecordPrices)
            for p in op.points
        ]

    # --- writes ------------------------------------------------------------------------------------------------

    def _write(self, op: wire.Op) -> Any:
        conn = self.conn
        match op:
            case wire.SaveCatalog(rows):
                return _save_catalog(conn, rows)
            case wire.RemoveOffers(keys):
                where = "WHERE seller = ? AND marketplace = ? AND sku = ?"
                conn.executemany(f"DELETE FROM catalog {where}", keys)
                conn.executemany(f"DELETE FROM search_state {where}", keys)
                return None
            case wire.SaveStates(rows):
                _insert(conn, "INSERT OR REPLACE INTO search_state", rows)
                return None
            case wire.SaveMarketState(seller, marketplace, state):
                conn.execute("INSERT OR REPLACE INTO market_state VALUES (?, ?, ?)", (seller, marketplace, state))
                return None
            case wire.PutOutbox(updates, at):
                _put_outbox(conn, updates, at + self.offset)
                return None
            case wire.MarkOutbox(marks):
                return _mark_outbox(conn, marks, self.offset)
        raise TypeError(f"not a write: {op!r}")

    # --- reads -------------------------------------------------------------------------------------------------

    def _read(self, op: wire.Op) -> Any:
        conn = self.conn
        match op:
            case wire.Markets():
                return _fetchall(conn, "SELECT DISTINCT seller, marketplace FROM catalog ORDER BY 1, 2")
            case wire.LoadCatalog(seller, marketplace):
                rows = _fetchall(
                    conn,
                    "SELECT row FROM catalog WHERE seller = ? AND marketplace = ? ORDER BY sku",
                    (seller, marketplace),
                )
                return [row for (row,) in rows]
            case wire.LoadStates(seller, marketplace):
                return _fetchall(
                    conn,
                    "SELECT sku, state FROM search_state WHERE seller = ? AND marketplace = ?",
                    (seller, marketplace),
                )
            case wire.LoadMarketState(seller, marketplace):
                rows = _fetchall(
                    conn, "SELECT state FROM market_state WHERE seller = ? AND marketplace = ?", (seller, marketplace)
                )
                return bytes(rows[0][0]) if rows else None
            case wire.RecentDecisions(key, limit):
                return _fetchall(
                    conn,
                    "SELECT at, record FROM decision WHERE seller = ? AND marketplace = ? AND sku = ?"
                    " ORDER BY id DESC LIMIT ?",
                    (*key, max(limit, 0)),
                )
            case wire.PriceHistory(key, limit):
                return _fetchall(
                    conn,
                    "SELECT at, price FROM price WHERE seller = ? AND marketplace = ? AND sku = ?"
                    " ORDER BY id DESC LIMIT ?",
                    (*key, max(limit, 0)),
                )
            case wire.LastUpdateId():
                rows = _fetchall(conn, "SELECT value FROM sequence WHERE name = 'update_id'")
                return int(rows[0][0]) if rows else 0
            case wire.OutboxEntries(seller, marketplace, states):
                if not states:
                    return []
                marks = ", ".join("?" * len(states))
                return _fetchall(
                    conn,
                    "SELECT body, state, at, submission_id, failures, issues FROM outbox"
                    f" WHERE seller = ? AND marketplace = ? AND state IN ({marks}) ORDER BY update_id",
                    (seller, marketplace, *states),
                )
            case wire.Flush():
                return None
        raise TypeError(f"not a read: {op!r}")


def _save_catalog(conn: sqlite3.Connection, rows: Sequence[tuple[str, str, str, bytes]]) -> list[int]:
    """Created, updated and unchanged, as `engine.ports.CatalogChange` counts them (one row a key)."""
    existing: dict[tuple[str, str, str], bytes] = {}
    for seller, marketplace in {(seller, marketplace) for seller, marketplace, _, _ in rows}:
        found = _fetchall(
            conn, "SELECT sku, row FROM catalog WHERE seller = ? AND marketplace = ?", (seller, marketplace)
        )
        existing.update(((seller, marketplace, sku), row) for sku, row in found)
    changed = [row for row in rows if existing.get(row[:3]) != row[3]]
    _insert(conn, "INSERT OR REPLACE INTO catalog", changed)
    created = sum(1 for row in rows if row[:3] not in existing)
    return [created, len(changed) - created, len(rows) - len(changed)]


def _put_outbox(conn: sqlite3.Connection, updates: Sequence[Any], when: float) -> None:
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
            wire.ENCODER.encode(u),
        )
        for u in updates
    ]
    highest = max((u.update_id for u in updates), default=0)
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


def _mark_outbox(conn: sqlite3.Connection, marks: Sequence[Any], offset: float) -> int:
    """The marks apply one after another, as `MemoryStore.outbox_mark` applies them, but in a few statements: the
    rows they name are read at once and moved here; an acceptance supersedes the older accepted updates of its
    offer, those among the rows here as it happens and the others in spans of update ids (each offer's ids from the
    highest accepted before in this call up to the new one), written first. How many marks applied."""
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


# --- opening -------------------------------------------------------------------------------------------------------


def _prepare(conn: sqlite3.Connection, opening: wire.Open) -> None:
    """Pragmas, then the migrations this file still needs, each in the transaction that records it."""
    conn.execute(f"PRAGMA busy_timeout = {int(opening.busy_timeout_ms)}")
    # A file this version cannot use is refused before anything writes to it (switching to WAL rewrites its header).
    version = _fetchall(conn, "PRAGMA user_version")[0][0]
    if version > VERSION:
        raise SchemaError(f"the store's schema is version {version}, newer than this repricer's ({VERSION})")
    if version == 0:
        tables = _fetchall(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
        if tables:
            raise SchemaError(f"not a repricer store: it holds other tables ({', '.join(t[0] for t in tables)})")
    mode = _fetchall(conn, "PRAGMA journal_mode = WAL")
    if mode[0][0].lower() != "wal":
        raise SchemaError("SQLite refused the WAL journal (a network file system?)")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{int(opening.cache_mib) * 1024}")
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


def _prune(conn: sqlite3.Connection, retention_days: float) -> None:
    """Delete traces and settled outbox entries past the retention (when the store opens)."""
    before = time.time() - retention_days * 86_400
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM decision WHERE at < ?", (before,))
    conn.execute("DELETE FROM price WHERE at < ?", (before,))
    conn.execute(
        f"DELETE FROM outbox WHERE at < ? AND state NOT IN {_UNANSWERED_SQL} AND state != 'accepted'", (before,)
    )
    conn.execute("COMMIT")


# --- statements ----------------------------------------------------------------------------------------------------


def _insert(conn: sqlite3.Connection, head: str, params: Sequence[tuple[Any, ...]]) -> None:
    """``head VALUES (...), (...), ...``: many rows a statement (`_each_chunk`)."""
    _each_chunk(conn, head + " {values}", params)


def _each_chunk(conn: sqlite3.Connection, template: str, params: Sequence[tuple[Any, ...]]) -> list[Any]:
    """``template`` with ``{values}`` as ``VALUES (?, ...), (?, ...)`` for as many of ``params`` (one tuple a row,
    all of one width) as one statement takes, run until every row went; the rows the statements return.

    A statement a row (`executemany`) pays sqlite3's per-statement work (reset, step, the GIL let go and taken
    back) for each row; 4,096 rows a statement pay it once for all of them."""
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


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _fetchall(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def describe(error: BaseException) -> tuple[str, str]:
    """An error as it crosses the pipe: its kind (``sqlite3.OperationalError``, a builtin's name, ``SchemaError``)
    and its message; `engine.store.sqlite` raises the same kind again."""
    if isinstance(error, sqlite3.Error):
        return f"sqlite3.{type(error).__name__}", str(error)
    return type(error).__name__, str(error)


# --- the process ---------------------------------------------------------------------------------------------------


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None at the end of the input (a frame cut short counts as the end: its sender died)."""
    head = stream.read(wire.HEADER)
    if len(head) < wire.HEADER:
        return None
    size = int.from_bytes(head, "big")
    body = stream.read(size)
    return body if len(body) == size else None


def _write_frame(stream: IO[bytes], reply: wire.Reply) -> None:
    body = wire.ENCODER.encode(reply)
    stream.write(len(body).to_bytes(wire.HEADER, "big"))
    stream.write(body)
    stream.flush()


def _die_with(parent: int) -> None:
    """Be killed when the daemon's thread that started this process ends (Linux), and ignore the signals meant
    for the daemon (the module docstring says why)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the daemon died before this process could ask to follow it
        os._exit(1)


def main() -> None:
    _die_with(int(sys.argv[2]))
    inbox = sys.stdin.buffer
    # The replies go to a copy of stdout, and stdout itself to stderr: nothing printed by accident can cut a frame.
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    frame = _read_frame(inbox)
    if frame is None:
        return
    try:
        writer = Writer.open(wire.OPEN.decode(frame))
    except Exception as error:
        _write_frame(outbox, wire.Reply([None], [(0, *describe(error))]))
        return
    try:
        _write_frame(outbox, wire.Reply([None], []))
        while (frame := _read_frame(inbox)) is not None:
            _write_frame(outbox, writer.run(wire.GROUP.decode(frame)))
    finally:
        writer.close()


if __name__ == "__main__":
    main()
