"""Every `Store` implementation, for the contract tests: each test taking ``open_store`` runs once per store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from engine.ports import Store
from engine.store import MemoryStore
from engine.store.sqlite import SqliteConfig, SqliteStore

KEEP_EVERYTHING = SqliteConfig(retention_days=1e9)

OpenStore = Callable[[], AbstractAsyncContextManager[Store]]


@pytest.fixture(params=["memory", "sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens the store under test; a SQLite store opened again sees what the last one committed."""
    if request.param == "memory":

        @asynccontextmanager
        async def memory() -> AsyncIterator[Store]:
            async with MemoryStore() as store:
                yield store

        return memory

    @asynccontextmanager
    async def sqlite() -> AsyncIterator[Store]:
        # No clock: times are stored as given, so they compare exactly (test_sqlite.py checks the conversion).
        async with SqliteStore.open(str(tmp_path / "store.db"), config=KEEP_EVERYTHING) as store:
            yield store

    return sqlite
