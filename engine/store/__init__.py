"""Persistence behind the `engine.ports.Store` protocol.

`MemoryStore` serves virtual time (demo, bench, most actor tests): nothing in it waits on a thread or a socket,
so it runs under trio's MockClock. The daemon's SQLite store is `engine.store.sqlite.SqliteStore`, held to the same
contract tests.

`MemoryStore` is imported when first asked for: the SQLite store's writer process imports `engine.store.writer`,
and should not pay for trio and the engine to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.store.memory import MemoryStore

__all__ = ["MemoryStore"]


def __getattr__(name: str) -> Any:
    if name == "MemoryStore":
        from engine.store.memory import MemoryStore

        return MemoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
