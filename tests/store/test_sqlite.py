"""What only the SQLite store promises: wall time in the file, and what its writer's group commits do when an
operation or the commit itself fails, and when the store closes or is cancelled with work queued.

These run on the real clock: the store waits on aiosqlite's thread (trio#456).
"""

from __future__ import annotations

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
from engine.store.sqlite import SqliteConfig, SqliteStore
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
def files_cannot_grow_past(size: int) -> Iterator[None]:
    """A write that would take any file of this process past ``size`` bytes fails (EFBIG), as on a full disk.

    Python ignores SIGXFSZ, so the write returns an error instead of the signal killing the process."""
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


async def test_a_failed_commit_fails_every_caller_of_its_group_and_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        commits = store.commits
        # A group's pages go to the write-ahead log when it commits: the log cannot grow, so the commit fails.
        with files_cannot_grow_past((tmp_path / "store.db-wal").stat().st_size):
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
    from engine.store.schema import MIGRATIONS
    from engine.store.sqlite import _Job, _Rows, _run_writes

    def remove(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM search_state WHERE sku = 'SKU-1'")

    with closing(sqlite3.connect(":memory:")) as conn:
        for script in MIGRATIONS:
            conn.executescript(script)
        save = "INSERT OR REPLACE INTO search_state"
        jobs = [
            _Job(_Rows(save, [("S1", "DE", "SKU-1", b"old")]), write=True, wait=True),
            _Job(remove, write=True, wait=True),
            _Job(_Rows(save, [("S1", "DE", "SKU-1", b"new")]), write=True, wait=True),
        ]
        _run_writes(conn, jobs)
        assert conn.execute("SELECT state FROM search_state").fetchall() == [(b"new",)]


def test_the_gil_turns_are_paced_in_real_time_under_a_fast_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While SQLite works the trio thread hands the GIL over about once a real millisecond, also under a simulated
    clock 60 times faster than real time (`run --sim --db`), where a trio millisecond is 17 µs."""
    import threading
    import time as real_time

    import engine.store.sqlite as module

    main = threading.get_ident()
    turns: list[float] = []

    class Time:
        perf_counter = staticmethod(real_time.perf_counter)
        time = staticmethod(real_time.time)

        @staticmethod
        def sleep(seconds: float) -> None:
            if threading.get_ident() == main:
                turns.append(seconds)
            real_time.sleep(seconds)

    monkeypatch.setattr(module, "time", Time)

    async def main_task() -> None:
        async with SqliteStore.open(str(tmp_path / "store.db")) as store:
            await store._run(lambda conn: real_time.sleep(0.2))

    trio.run(main_task, clock=trio.testing.MockClock(rate=60))
    assert 0 < len(turns) <= 0.2 / module._GIL_TURN_EVERY_S * 1.5


@pytest.mark.trio
async def test_a_call_on_a_closed_connection_raises_at_once(tmp_path: Path) -> None:
    """A call into aiosqlite's thread after its connection closed raises `StoreClosed` instead of waiting for an
    answer that never comes (the thread is gone, and would drop it silently)."""
    from engine.store.sqlite import StoreClosed, _in_thread

    async with SqliteStore.open(str(tmp_path / "store.db")) as store:
        conn = store._conn
    with trio.fail_after(5), pytest.raises(StoreClosed, match="closed"):
        await _in_thread(conn, lambda c: c.execute("SELECT 1"))
