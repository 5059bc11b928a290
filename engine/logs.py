"""Logging for every command: plain lines for a person, JSON lines for a log shipper, and never a secret.

`configure` installs one handler on the root logger. Plain: ``2025-01-31T12:00:00.123Z INFO engine.daemon.daemon:
started: ...``. JSON: one object per line with ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
record's extra fields (``log.info(..., extra={"marketplace": "DE"})``) and ``exception`` when there is one.

The handler writes to whatever `sys.stderr` is at each record, not to the stream of the moment it was made:
the live view redirects stderr above its frame while it runs, and pytest swaps it per test.

Secrets: every record passes `Redact` on its way out, which masks what looks like a credential in the message,
its arguments, its extra fields and its traceback: Login with Amazon refresh and access tokens (``Atzr|…``,
``Atza|…``), client secrets (``amzn1.oa2-cs.v1.…``, ``client_secret=…``), ``Authorization:`` headers and
``x-amz-access-token`` values. It is a net under the rule, not the rule: code does not log credentials.

Levels: ``info`` says what happens to the daemon (start, stop, reload, throttling, quarantines, failures), ``debug``
adds every decision (`engine.actors.recorder`). The live view's summary lines (logger ``repricer.live``) show at
``warning`` too: without a terminal they are the view.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any, Literal, TextIO

import msgspec

__all__ = ["LogFormat", "LogSettings", "Redact", "configure", "redact"]

LogFormat = Literal["plain", "json"]
LEVELS = ("debug", "info", "warning", "error")
LIVE_LOGGER = "repricer.live"


class LogSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[log]`` part of a configuration file; the command line's ``--log-level`` and ``--log-format`` win."""

    level: Literal["debug", "info", "warning", "error"] = "warning"
    format: LogFormat = "plain"


_MASK = "***"
_VALUE = r"[^\s\"',;&}\]]+"  # a credential runs to the next space, quote, separator or closing bracket
_SECRETS = [
    # Login with Amazon tokens: refresh (Atzr|...) and access (Atza|...).
    (re.compile(r"\b(Atz[ar]\|)" + _VALUE), rf"\g<1>{_MASK}"),
    # An LWA client secret by its shape.
    (re.compile(r"\b(amzn1\.oa2-cs\.v1\.)" + _VALUE), rf"\g<1>{_MASK}"),
    # Authorization headers, with or without a scheme.
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|aws4-hmac-sha256)\s+)?)" + _VALUE),
        rf"\g<1>{_MASK}",
    ),
    # Named credentials in headers, query strings, reprs and JSON: x-amz-access-token, client_secret, ...
    (
        re.compile(
            r"(?i)\b((?:x-amz-access-token|x-amz-security-token|client[_-]?secret|refresh[_-]?token|access[_-]?token"
            r"|aws[_-]?secret[_-]?access[_-]?key|secret[_-]?key|password)[\"']?\s*[:=]\s*[\"']?)" + _VALUE
        ),
        rf"\g<1>{_MASK}",
    ),
]


def redact(text: str) -> str:
    """``text`` with every credential it seems to contain masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


# Attributes every LogRecord has: anything else on a record came in through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class Redact(logging.Filter):
    """Masks credentials in a record before any formatter sees it (`redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the handler reports that (handleError)
            message = None
        if message is not None:
            record.msg, record.args = redact(message), None
        for name, value in _extra(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info is not None and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {name: value for name, value in record.__dict__.items() if name not in _STANDARD}


def _utc(record: logging.LogRecord) -> str:
    at = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlainFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message>``, then the traceback if any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    _encoder = msgspec.json.Encoder()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extra(record).items():
            entry.setdefault(name, value)
        if record.exc_info is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        try:
            encoded = self._encoder.encode(entry)
        except (TypeError, ValueError, OverflowError):  # an extra field msgspec cannot encode: as its text
            encoded = self._encoder.encode({key: _plain(value) for key, value in entry.items()})
        return encoded.decode()


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes to the current `sys.stderr` (see the module's docstring), as the standard
    library's last-resort handler does."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Ignored: the stream is always the current stderr."""


def configure(level: str = "warning", fmt: LogFormat = "plain") -> logging.Handler:
    """Log at ``level`` and above, as ``fmt``, to stderr; replaces the handler an earlier call installed (and no
    other: a test runner's capture stays). Returns the handler."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    handler.addFilter(Redact())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _StderrHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Without a terminal the live view's summaries are the view (`engine.live.screen`): they show at warning too.
    logging.getLogger(LIVE_LOGGER).setLevel(
        min(logging.INFO, root.level) if root.level <= logging.WARNING else root.level
    )
    return handler
