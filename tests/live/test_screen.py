"""Where boards go: frames on a terminal; on a pipe or a journal, a summary line per marketplace per minute."""

from __future__ import annotations

import io
import logging
import re

import msgspec
import pytest
from rich.console import Console

from engine.live import Screen
from tests.live.boards import wide_board

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _pipe() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80), out


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, height=24, force_terminal=True, color_system=None), out


def test_without_a_terminal_a_summary_a_minute_and_never_a_frame(caplog: pytest.LogCaptureFixture) -> None:
    console, out = _pipe()
    caplog.set_level(logging.INFO, logger="repricer.live")
    with Screen("repricer --sim", detail="building 30 offers", console=console) as screen:
        assert [r.getMessage() for r in caplog.records] == ["starting: repricer --sim (building 30 offers)"]
        caplog.clear()
        board = wide_board()
        screen.show(board, at=1000.0)  # the first board: a line per marketplace at once
        assert [r.getMessage().split(":")[0] for r in caplog.records] == ["running DE", "running GB", "running SE"]
        caplog.clear()
        for second in range(1002, 1060, 2):
            screen.show(board, at=float(second))
        assert caplog.records == []  # not before a minute has passed
        screen.show(board, at=1060.0)
        assert len(caplog.records) == 3
        record = caplog.records[0]
        assert record.__dict__["marketplace"] == "DE" and record.__dict__["at_min"] == 12_345
        assert "share of views 54%" in record.getMessage() and "holding 96000 (96%)" in record.getMessage()
        caplog.clear()
        screen.stopping()
        screen.stopping()  # said once
        assert [r.getMessage().split(":")[0] for r in caplog.records] == ["stopping"]
        caplog.clear()
        screen.show(msgspec.structs.replace(board, phase="stopped"), at=1061.0)  # the last board, at once
        assert [r.getMessage().split(":")[0] for r in caplog.records] == ["stopped DE", "stopped GB", "stopped SE"]
    assert out.getvalue() == ""


def test_on_a_terminal_starting_at_once_then_frames_that_fit_80_columns() -> None:
    console, out = _terminal()
    with Screen("repricer --sim", detail="building 30 offers", console=console) as screen:
        assert "starting… 0s" in _CONTROL.sub("", out.getvalue())  # drawn on entering, before any board
        screen.show(wide_board())
        screen.stopping()
        assert "stopping…" in _CONTROL.sub("", out.getvalue())
        screen.show(msgspec.structs.replace(wide_board(), phase="stopped"))
    text = _CONTROL.sub("", out.getvalue())
    lines = re.split(r"\r\n|\n|\r", text)
    assert max(len(line) for line in lines) <= 80
    assert "views:" in text and "hold > views" in " ".join(text.split())
    last = text[text.rindex("repricer --sim") :]
    assert "stopped" in last.splitlines()[0]
