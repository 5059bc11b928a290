"""Persistence behind the `engine.ports.Store` protocol.

`MemoryStore` serves virtual time (demo, bench, most actor tests): nothing in it waits on a thread or a socket,
so it runs under trio's MockClock. The SQLite store for the daemon joins it with its own issue, held to the same
contract tests.
"""

from engine.store.memory import MemoryStore

__all__ = ["MemoryStore"]
