"""Each schema migration, from the version before it: a database written by an older repricer opens at `VERSION`
with everything it held, readable and writable through the `Store` API; a database this repricer cannot use is
refused and left as it was.

An older database is built by hand, as the older repricer left it: the migrations up to its version, its
``user_version``, and rows in the encoding the store writes (msgpack blobs, Unix seconds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from engine.catalog import CatalogRow
from engine.model import (
    Decision,
    DecisionInputs,
    Fees,
    MarginLevel,
    OfferKey,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    PricePoint,
    Reason,
)
from engine.store.schema import MIGRATIONS, VERSION
from engine.store.sqlite import SchemaError, SqliteStore
from tests.store.conftest import KEEP_EVERYTHING

A = OfferKey("s1", "DE", "A")
B = OfferKey("s1", "DE", "B")
AT = 1_750_000_000.0  # Unix seconds, as the file keeps times; the store is opened without a clock to read them as such

ROW = CatalogRow(
    key=A,
    asin="B000TEST01",
    cost=700,
    fees=Fees(Decimal("0.15"), 30),
    margins=MarginLevel(Decimal("0.1"), Decimal("0.3")),
    stock=4,
    attributes=(("b2b_price", "19.99"),),
)
DECISION = Decision(A, AT, 1234, Reason.SEARCH_UP, DecisionInputs(our_price=1200, competitors=3), signal_backed=True)
SENT = OfferUpdate(A, 6, "EUR", 1234, 1000, 2000, quantity=4)  # accepted, waiting to be verified
UNSENT = OfferUpdate(B, 7, "EUR", 1500, 1000, 2000)  # failed once, to be sent again
PRICE = PricePoint(A, AT + 5, 1234)


def write_v1(db: sqlite3.Connection) -> None:
    encode = msgspec.msgpack.encode
    db.execute("INSERT INTO catalog VALUES (?, ?, ?, ?)", ("s1", "DE", "A", encode(ROW)))
    db.execute("INSERT INTO search_state VALUES (?, ?, ?, ?)", ("s1", "DE", "A", b"search state of A"))
    db.execute(
        "INSERT INTO decision (seller, marketplace, sku, at, record) VALUES (?, ?, ?, ?, ?)",
        ("s1", "DE", "A", AT, encode(DECISION)),
    )
    db.executemany(
        "INSERT INTO outbox (update_id, seller, marketplace, sku, state, at, submission_id, failures, issues, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (6, "s1", "DE", "A", "accepted", AT + 2, "feed-1", 0, "[]", encode(SENT)),
            (7, "s1", "DE", "B", "failed", AT + 3, None, 1, '["500"]', encode(UNSENT)),
        ],
    )
    db.execute("INSERT INTO sequence VALUES ('update_id', 7)")


async def check_v1(store: SqliteStore) -> None:
    assert await store.load_catalog("s1", "DE") == [ROW]
    assert await store.load_search_states("s1", "DE") == {A: b"search state of A"}
    assert await store.recent_decisions(A, 10) == [DECISION]
    entries = await store.outbox_entries("s1", "DE", set(OutboxState))
    assert [(e.update, e.state, e.at, e.submission_id, e.failures, e.issues) for e in entries] == [
        (SENT, OutboxState.ACCEPTED, AT + 2, "feed-1", 0, ()),
        (UNSENT, OutboxState.FAILED, AT + 3, None, 1, ("500",)),
    ]
    assert await store.last_update_id() == 7
    # Usable as well as readable: the outbox moves on, and update ids continue above the old ones.
    assert await store.outbox_mark([OutboxMark(A, 6, OutboxState.VERIFIED, AT + 10)]) == 1
    await store.outbox_put([OfferUpdate(B, 8, "EUR", 1400, 1000, 2000)], AT + 11)
    assert [(e.update.update_id, e.state) for e in await store.outbox_entries("s1", "DE", set(OutboxState))] == [
        (6, OutboxState.VERIFIED),
        (7, OutboxState.SUPERSEDED),
        (8, OutboxState.STORED),
    ]
    assert await store.last_update_id() == 8
    await store.save_catalog([msgspec.structs.replace(ROW, stock=2)])
    assert await store.load_catalog("s1", "DE") == [msgspec.structs.replace(ROW, stock=2)]


def write_v2(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO price (seller, marketplace, sku, at, price) VALUES (?, ?, ?, ?, ?)",
        ("s1", "DE", "A", PRICE.at, PRICE.price),
    )
    db.execute("INSERT INTO market_state VALUES (?, ?, ?)", ("s1", "DE", b"buybox weights"))


async def check_v2(store: SqliteStore) -> None:
    assert await store.price_history(A, 10) == [PRICE]
    assert await store.load_market_state("s1", "DE") == b"buybox weights"
    await store.record_prices([PricePoint(A, AT + 20, 1300)])
    assert await store.price_history(A, 10) == [PricePoint(A, AT + 20, 1300), PRICE]
    await store.save_market_state("s1", "DE", b"new weights")
    assert await store.load_market_state("s1", "DE") == b"new weights"


# ROWS[n] writes rows into what migration n + 1 created, and checks them through the store once migrated.
ROWS: tuple[tuple[Callable[[sqlite3.Connection], None], Callable[[SqliteStore], Awaitable[None]]], ...] = (
    (write_v1, check_v1),
    (write_v2, check_v2),
)


def test_every_migration_has_rows_to_migrate() -> None:
    assert len(ROWS) == VERSION, "a new migration needs rows of its own here, written and checked"


def create_at(path: Path, version: int) -> None:
    """A database as a repricer of schema ``version`` left it, with rows in every table it had."""
    with closing(sqlite3.connect(path)) as db:
        for script in MIGRATIONS[:version]:
            db.executescript(script)
        with db:
            for write, _ in ROWS[:version]:
                write(db)
            db.execute(f"PRAGMA user_version = {version}")


def schema(path: Path) -> tuple[int, set[tuple[str, str]]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        objects = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        return version, set(objects)


@pytest.mark.parametrize("version", range(VERSION + 1))
async def test_a_database_of_each_version_opens_at_the_current_one_with_its_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "store.db"
    create_at(path, version)
    async with SqliteStore.open(str(path), config=KEEP_EVERYTHING) as store:
        for _, check in ROWS[:version]:
            await check(store)
        # Every table works, whichever migration made it.
        await store.record_decisions([DECISION])
        await store.save_market_state("s2", "FR", b"x")
        assert await store.load_market_state("s2", "FR") == b"x"
    fresh = tmp_path / "fresh.db"
    async with SqliteStore.open(str(fresh)):
        pass
    # The same schema as a database created at this version.
    assert schema(path) == schema(fresh)
    assert schema(path)[0] == VERSION


async def test_a_fresh_file_gets_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore.open(str(path)) as store:
        assert await store.last_update_id() == 0
        assert await store.markets() == []
    version, objects = schema(path)
    assert version == VERSION
    assert {name for name, _ in objects} >= {"catalog", "search_state", "decision", "outbox", "sequence", "price"}


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


async def test_a_newer_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    create_at(path, VERSION)
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")
    before = files(tmp_path)
    with pytest.raises(SchemaError, match=rf"version {VERSION + 1}\b.*\({VERSION}\)"):
        async with SqliteStore.open(str(path)):
            pass
    assert files(tmp_path) == before


async def test_a_database_of_another_program_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
        db.execute("INSERT INTO invoices (total) VALUES (100)")
    before = files(tmp_path)
    with pytest.raises(SchemaError, match=r"not a repricer store.*\binvoices\b"):
        async with SqliteStore.open(str(path)):
            pass
    assert files(tmp_path) == before
