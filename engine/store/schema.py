"""The SQLite store's schema and its migrations, by ``PRAGMA user_version``.

Each migration takes the database from the version before it to its own, inside the transaction that sets the
new version, so a crash mid-migration leaves the previous version whole. A database newer than this code is
refused (an older repricer must not write rows it does not understand). Each migration is tested from the
version before it (tests/store/test_migrations.py).

Keys are the offer's (seller, marketplace, sku) as columns, so one seller's marketplace is one index range. Rows
the engine reads whole (catalog rows, search states, decisions, outbox updates) are msgpack blobs beside the
columns that are queried; times are Unix seconds (wall time), so they mean the same in every process.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MIGRATIONS", "VERSION", "SchemaError"]


class SchemaError(RuntimeError):
    """The file is not a store this version can use (newer schema, or not a repricer database)."""


_V1 = """
CREATE TABLE catalog (
    seller TEXT NOT NULL, marketplace TEXT NOT NULL, sku TEXT NOT NULL,
    row BLOB NOT NULL,
    PRIMARY KEY (seller, marketplace, sku)
) WITHOUT ROWID;
CREATE TABLE search_state (
    seller TEXT NOT NULL, marketplace TEXT NOT NULL, sku TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (seller, marketplace, sku)
) WITHOUT ROWID;
CREATE TABLE decision (
    id INTEGER PRIMARY KEY,
    seller TEXT NOT NULL, marketplace TEXT NOT NULL, sku TEXT NOT NULL,
    at REAL NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX decision_offer ON decision (seller, marketplace, sku, id);
CREATE INDEX decision_at ON decision (at);
CREATE TABLE outbox (
    update_id INTEGER PRIMARY KEY,
    seller TEXT NOT NULL, marketplace TEXT NOT NULL, sku TEXT NOT NULL,
    state TEXT NOT NULL,
    at REAL NOT NULL,
    submission_id TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    issues TEXT NOT NULL DEFAULT '[]',
    body BLOB NOT NULL
);
CREATE INDEX outbox_market_state ON outbox (seller, marketplace, state);
CREATE INDEX outbox_offer ON outbox (seller, marketplace, sku, update_id);
CREATE TABLE sequence (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Version 2: the price history, and what a marketplace learned as a whole (its Buy Box weights).
_V2 = """
CREATE TABLE price (
    id INTEGER PRIMARY KEY,
    seller TEXT NOT NULL, marketplace TEXT NOT NULL, sku TEXT NOT NULL,
    at REAL NOT NULL,
    price INTEGER NOT NULL
);
CREATE INDEX price_offer ON price (seller, marketplace, sku, id);
CREATE TABLE market_state (
    seller TEXT NOT NULL, marketplace TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (seller, marketplace)
) WITHOUT ROWID;
"""

# MIGRATIONS[n] takes a database at version n to version n + 1.
MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2)
VERSION: Final = len(MIGRATIONS)
