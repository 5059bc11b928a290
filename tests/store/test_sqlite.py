"""What only the SQLite store promises: wall time in the file, what its writer's group commits do when an
operation or the commit itself fails, when the store closes or is cancelled with work queued, and when its writer
process dies.

These run on the real clock: the store waits on its writer process's pipe (trio#456).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from engine.model import Decision, OfferKey, OfferUpdate, OutboxMark, OutboxState, PricePoint, Reason
from engine.ports import Clock
from engine.store.schema import VERSION, SchemaError
from engine.store.sqlite import SqliteConfig, SqliteStore, StoreClosed, WriterDied
from tests.store.conftest import KEEP_EVERYTHING

A = OfferKey("s1", "DE", "A")
B = OfferKey("s1", "DE", "B")
C = OfferKey("s1", "DE", "C")


def update(key: OfferKey, update_id: int) -> OfferUpdate:
    return OfferUpdate(key, update_id, "EUR", 1500, 1000, 2000)


def decisions(count: int, start: int = 0) -> list[Decision]:
    return [Decision(A, float(n), 1000 + n % 1000, Reason.SEARCH_UP) for n in range(start, start + count)]


async def together(*calls: Callable[[], Awaitable[object]]) -> list[object]:
    """Each call's result or error, the calls started at the same moment (so they queue for one group)."""
    outcomes: list[object] = [None] * len(calls)

    async def one(index: int, call: Callable[[], Awaitable[object]]) -> None:
        try:
            outcomes[index] = await call()
        except Exception as error:
            outcomes[index] = error

    async with trio.open_nursery() as nursery:
        for index, call in enumerate(calls):
            nursery.start_soon(one, index, call)
    return outcomes


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute(query).fetchall()


# --- time -----------------------------------------------------------------------------------------------------


async def test_times_are_kept_as_wall_time_and_read_back_on_the_readers_clock(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    noon = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    writer = Clock(wall_anchor=noon)
    decided, sent, accepted, live = (writer.now() + dt for dt in (1.0, 2.0, 3.5, 4.25))
    async with SqliteStore.open(str(path), clock=writer, config=KEEP_EVERYTHING) as store:
        await store.record_decisions([Decision(A, decided, 1500, Reason.SEARCH_UP)])
        await store.record_prices([PricePoint(A, live, 1500)])
        await store.outbox_put([update(A, 1)], at=sent)
        await store.outbox_mark([OutboxMark(A, 1, OutboxState.ACCEPTED, accepted)])

    # The file holds Unix seconds: the wall moments of the writer's readings.
    unix = noon.timestamp()
    assert rows(path, "SELECT at FROM decision") == [(pytest.approx(unix + 1.0, abs=1e-3),)]
    assert rows(path, "SELECT at FROM price") == [(pytest.approx(unix + 4.25, abs=1e-3),)]
    assert rows(path, "SELECT at FROM outbox") == [(pytest.approx(unix + 3.5, abs=1e-3),)]

    # Another process's clock, whose trio time began elsewhere: one wall moment is another reading on it.
    reader = Clock(wall_anchor=noon + timedelta(hours=3))

    def on_reader(at: float) -> float:
        return reader.from_utc(writer.to_utc(at))

    assert on_reader(decided) == pytest.approx(decided - 3 * 3600, abs=60)
    async with SqliteStore.open(str(path), clock=reader, config=KEEP_EVERYTHING) as store:
        (decision,) = await store.recent_decisions(A, 10)
        (point,) = await store.price_history(A, 10)
        (entry,) = await store.outbox_entries("s1", "DE", {OutboxState.ACCEPTED})
    assert decision.at == pytest.approx(on_reader(decided), abs=1e-3)
    assert point.at == pytest.approx(on_reader(live), abs=1e-3)
    assert entry.at == pytest.approx(on_reader(accepted), abs=1e-3)


# --- failures inside a group --------------------------------------------------------------------------------------


async def test_a_failing_operation_fails_only_its_caller_and_its_group_commits(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        commits = store.commits
        outcomes = await together(
            lambda: store.outbox_put([update(B, 2)], at=2.0),
            # Would supersede A's update 1 and take id 3, but id 1 is used: nothing of it may stay.
            lambda: store.outbox_put([update(A, 3), update(C, 1)], at=2.0),
            lambda: store.save_search_states({A: b"a"}),
            lambda: store.outbox_mark([OutboxMark(A, 1, OutboxState.SUBMITTED, 2.0, submission_id="feed-1")]),
        )
        assert store.commits == commits + 1, "the four calls did not share one group"
        assert outcomes[0] is None and outcomes[2] is None and outcomes[3] == 1
        assert isinstance(outcomes[1], ValueError)

        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.key, e.update.update_id, e.state) for e in entries] == [
            (A, 1, OutboxState.SUBMITTED),
            (B, 2, OutboxState.STORED),
        ]
        assert await store.last_update_id() == 2
        assert await store.load_search_states("s1", "DE") == {A: b"a"}


async def test_an_operation_sqlite_rolls_back_whole_fails_only_its_caller(tmp_path: Path) -> None:
    """On some errors (SQLITE_FULL when a statement needs a page the disk has not got) SQLite ends the whole
    transaction itself. A trigger does the same here, for one seller's market state."""
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING):
        pass
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON market_state WHEN NEW.seller = 'full'"
            " BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END"
        )
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        commits = store.commits
        outcomes = await together(
            lambda: store.save_market_state("s1", "DE", b"kept"),
            lambda: store.save_market_state("full", "DE", b"lost"),
            lambda: store.outbox_put([update(A, 1)], at=1.0),
        )
        assert store.commits == commits + 1, "the three calls did not share one group"
        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], sqlite3.Error) and "disk is full" in str(outcomes[1])
        assert await store.load_market_state("s1", "DE") == b"kept"
        assert await store.load_market_state("full", "DE") is None
        assert await store.last_update_id() == 1


@contextmanager
def files_cannot_grow_past(size: int, writer: int | None) -> Iterator[None]:
    """A write that would take any file of the store's writer process past ``size`` bytes fails (EFBIG), as on a
    full disk.

    Python ignores SIGXFSZ (the writer is Python too), so the write returns an error instead of the signal killing
    the process."""
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    assert writer is not None
    soft, hard = resource.prlimit(writer, resource.RLIMIT_FSIZE)
    resource.prlimit(writer, resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (soft, hard))


async def test_a_failed_commit_fails_every_caller_of_its_group_and_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        commits = store.commits
        # A group's pages go to the write-ahead log when it commits: the log cannot grow, so the commit fails.
        with files_cannot_grow_past((tmp_path / "store.db-wal").stat().st_size, store.writer_pid):
            outcomes = await together(
                lambda: store.outbox_put([update(A, 2), update(B, 3)], at=2.0),
                lambda: store.outbox_mark([OutboxMark(A, 1, OutboxState.SUBMITTED, 2.0)]),
                lambda: store.save_search_states({A: b"a"}),
                lambda: store.save_market_state("s1", "DE", b"weights"),
            )
        assert store.commits == commits + 1, "the four calls did not share one group"
        assert all(isinstance(outcome, sqlite3.Error) for outcome in outcomes), outcomes

        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.update_id, e.state) for e in entries] == [(1, OutboxState.STORED)]
        assert await store.last_update_id() == 1
        assert await store.load_search_states("s1", "DE") == {}
        assert await store.load_market_state("s1", "DE") is None

        # The disk has room again: the store goes on.
        await store.outbox_put([update(A, 2)], at=3.0)
        await store.save_market_state("s1", "DE", b"weights")
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(path, "SELECT update_id, state FROM outbox ORDER BY 1") == [(1, "superseded"), (2, "stored")]
    assert rows(path, "SELECT state FROM market_state") == [(b"weights",)]


# --- closing ----------------------------------------------------------------------------------------------------


async def test_traces_handed_over_while_the_writer_is_busy_are_written_by_close(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    # A short queue: later hand-overs wait for room while the writer commits the earlier ones.
    async with SqliteStore.open(str(path), config=SqliteConfig(retention_days=1e9, queue_limit=4)) as store:
        await store.record_decisions(decisions(5_000))
        await trio.testing.wait_all_tasks_blocked()  # the writer is committing them
        for n in range(5_000, 5_050):
            await store.record_decisions(decisions(1, start=n))
        await store.aclose()
        assert store.lost_rows == 0
    assert rows(path, "SELECT count(*), max(at) FROM decision") == [(5_050, 5_049.0)]


async def test_closing_waits_for_the_group_the_writer_is_committing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        await store.record_decisions(decisions(5_000))
        # The writer took them: nothing is queued any more, but the commit is still under way.
        await trio.testing.wait_all_tasks_blocked()
        await store.aclose()
    assert rows(path, "SELECT count(*) FROM decision") == [(5_000,)]


async def test_a_cancelled_store_writes_what_it_was_handed_before_it_closes(tmp_path: Path) -> None:
    """The daemon is cancelled (Ctrl-C, a failing sibling) with traces queued: closing still writes them, and the
    cancellation does not make closing wait forever for a writer it cancelled."""
    path = tmp_path / "store.db"

    async def cancelled_daemon() -> None:
        with trio.CancelScope() as scope:
            async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
                for n in range(0, 200, 20):
                    await store.record_decisions(decisions(20, start=n))
                scope.cancel()
                await trio.sleep_forever()

    # In a trio run of its own, on a thread: a store that hangs on close fails this test instead of hanging it.
    with trio.fail_after(10):
        await trio.to_thread.run_sync(trio.run, cancelled_daemon, abandon_on_cancel=True)
    assert rows(path, "SELECT count(*) FROM decision") == [(200,)]


@pytest.mark.trio
async def test_traces_of_many_sizes_are_written_whole_and_in_order(tmp_path: Path) -> None:
    """Rows go in many to a statement, in halving chunks (4,096, 2,048, ..., 1), and the rows of the traces queued
    together go in together: every row of every size arrives once, in the order it was handed over."""
    key = OfferKey("S1", "DE", "SKU-1")
    sizes = [1, 3, 4_095, 4_096, 4_097, 9_001]
    async with SqliteStore.open(str(tmp_path / "store.db")) as store:
        expected: list[int] = []
        for size in sizes:
            points = [PricePoint(key, float(i), 1_000 + len(expected) + i) for i in range(size)]
            expected.extend(p.price for p in points)
            await store.record_prices(points)
        history = await store.price_history(key, len(expected) + 10)
        assert store.lost_rows == 0
    assert [p.price for p in reversed(history)] == expected


@pytest.mark.trio
async def test_a_failing_trace_loses_its_own_rows_alone(tmp_path: Path) -> None:
    """A trace SQLite refuses (a price past 64 bits) is rolled back and counted row by row; a trace queued beside it
    in the same group is kept."""
    key = OfferKey("S1", "DE", "SKU-1")
    async with SqliteStore.open(str(tmp_path / "store.db")) as store:
        await store.record_prices([PricePoint(key, 1.0, 100), PricePoint(key, 2.0, 101)])
        await store.record_prices([PricePoint(key, 3.0, 2**70), PricePoint(key, 4.0, 102), PricePoint(key, 5.0, 103)])
        await store.record_prices([PricePoint(key, 6.0, 104)])
        history = await store.price_history(key, 10)
        assert store.lost_rows == 3
    assert [p.price for p in reversed(history)] == [100, 101, 104]


def test_a_group_keeps_the_order_of_writes_whose_callers_wait() -> None:
    """Only traces handed over (tables only appended to) go in merged: a search state saved, removed and saved
    again in one group ends as the last save left it."""
    from engine.store import wire
    from engine.store.schema import MIGRATIONS
    from engine.store.writer import Writer

    with closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
        for script in MIGRATIONS:
            conn.executescript(script)
        reply = Writer(conn, offset=0.0).run(
            [
                wire.SaveStates([("S1", "DE", "SKU-1", b"old")]),
                wire.RemoveOffers([("S1", "DE", "SKU-1")]),
                wire.SaveStates([("S1", "DE", "SKU-1", b"new")]),
                wire.LoadStates("S1", "DE"),
            ]
        )
        assert reply.errors == []
        assert reply.values[-1] == [("SKU-1", b"new")]


# --- the writer process -----------------------------------------------------------------------------------------


async def killed(pid: int | None) -> int:
    """SIGKILL the writer process and wait until it has died (without reaping it: the store does that, and may
    have done it already when it was waiting for the writer's answer)."""
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        await trio.to_thread.run_sync(os.waitid, os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    return pid


async def test_a_call_after_close_raises_at_once_and_the_writer_closed_the_file(tmp_path: Path) -> None:
    async with SqliteStore.open(str(tmp_path / "store.db")) as store:
        await store.record_decisions(decisions(3))
    assert store.writer_pid is None
    # The writer closed its connection, which checkpoints the write-ahead log and deletes it: it was not killed.
    assert not (tmp_path / "store.db-wal").exists()
    with trio.fail_after(5), pytest.raises(StoreClosed, match="closed"):
        await store.last_update_id()


async def test_a_writer_killed_between_groups_is_replaced_and_the_next_call_goes_through(tmp_path: Path) -> None:
    async with SqliteStore.open(str(tmp_path / "store.db"), config=KEEP_EVERYTHING) as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        first = await killed(store.writer_pid)
        # The dead writer never got this group: a new one takes it, and the caller sees nothing.
        await store.outbox_put([update(B, 2)], at=2.0)
        assert store.restarts == 1 and store.writer_pid != first
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.update_id, e.state) for e in entries] == [(1, OutboxState.STORED), (2, OutboxState.STORED)]


async def test_a_writer_that_dies_with_a_group_fails_its_callers_and_the_next_group_gets_a_new_one(
    tmp_path: Path,
) -> None:
    """Its callers cannot know whether the group committed (here it did not): they get `WriterDied`, never a
    silent loss, and the traces of the group count as lost."""
    path = tmp_path / "store.db"
    # The writer waits for the lock below as long as the test needs, never giving up by itself.
    config = SqliteConfig(retention_days=1e9, busy_timeout_ms=600_000)
    async with SqliteStore.open(str(path), config=config) as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        outcomes: list[object] = []
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # the writer's next transaction waits for this one

            async def calls() -> None:
                outcomes.extend(
                    await together(
                        lambda: store.outbox_put([update(B, 2)], at=2.0),
                        lambda: store.record_decisions(decisions(3)),
                        lambda: store.save_market_state("s1", "DE", b"weights"),
                    )
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(calls)
                await trio.testing.wait_all_tasks_blocked()  # the group went: the writer task waits for the answer
                await killed(store.writer_pid)
            other.execute("ROLLBACK")
        assert isinstance(outcomes[0], WriterDied) and isinstance(outcomes[2], WriterDied), outcomes
        assert outcomes[1] is None  # handed over before the writer died
        assert store.lost_rows == 3

        await store.outbox_put([update(C, 3)], at=3.0)
        assert store.restarts == 1
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.update_id, e.state) for e in entries] == [(1, OutboxState.STORED), (3, OutboxState.STORED)]
        assert await store.load_market_state("s1", "DE") is None


async def test_a_writer_that_cannot_open_the_file_again_fails_the_group_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        await killed(store.writer_pid)
        with closing(sqlite3.connect(path)) as db:
            db.execute(f"PRAGMA user_version = {VERSION + 1}")  # a newer repricer wrote to it meanwhile
        with pytest.raises(SchemaError, match="newer"):
            await store.outbox_put([update(A, 1)], at=1.0)
        with closing(sqlite3.connect(path)) as db:
            db.execute(f"PRAGMA user_version = {VERSION}")
        await store.outbox_put([update(A, 1)], at=1.0)
        assert await store.last_update_id() == 1


async def test_the_writer_ignores_the_signals_meant_for_the_daemon(tmp_path: Path) -> None:
    """A service manager's stop (and reload) signal every process of the unit, and a terminal's Ctrl-C and hang-up
    every process of its foreground group; the daemon still saves into the store as it stops, so the writer must
    outlive them, and it is in no terminal's group."""
    async with SqliteStore.open(str(tmp_path / "store.db"), config=KEEP_EVERYTHING) as store:
        pid = store.writer_pid
        assert pid is not None
        assert os.getsid(pid) == pid != os.getsid(0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            os.kill(pid, signum)
        await store.outbox_put([update(A, 1)], at=1.0)
        assert store.writer_pid == pid and store.restarts == 0
