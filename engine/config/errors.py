"""The one error a configuration file raises: ``FILE:LINE: key.path: what is wrong``.

The shape compilers use, so an editor jumps to the line; the key path is written as TOML would write it
(``seller[0].channel.DE.offers."SKU 1".step_cap``), so it reads the same as the file. A message never holds a
secret's value: it names the key, and where an environment variable was meant to hold it, the variable.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from engine.config.locate import KeyPath

__all__ = ["ConfigError", "dotted"]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class ConfigError(Exception):
    """A configuration file that cannot be used. ``line`` is None for a file that cannot be read at all, and
    ``key`` is empty for a problem of the file as a whole (its TOML syntax)."""

    def __init__(self, file: Path, line: int | None, key: KeyPath, problem: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        return ": ".join(part for part in (where, dotted(self.key), self.problem) if part)


def dotted(path: KeyPath) -> str:
    """A key path as a reader of the file would write it: array entries as ``[i]``, odd keys quoted."""
    parts: list[str] = []
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
            continue
        shown = key if key and all(char in _BARE for char in key) else _quoted(key)
        parts.append(f".{shown}" if parts else shown)
    return "".join(parts)


def _quoted(key: str) -> str:
    # A JSON string is a TOML basic string, control characters escaped.
    return msgspec.json.encode(key).decode()
