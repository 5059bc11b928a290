"""Throttles, failures and quarantines reach the log: the first at once, then a count a minute, never a flood."""

from __future__ import annotations

import logging

import pytest

from engine.live import Watch
from tests.live.boards import status


def test_first_throttle_at_once_then_a_count_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engine.live.watch")
    watch = Watch(every_s=60.0)
    quiet = status("DE", throttled=0, transient_errors=0, rejected=0, failed=0, quarantined=0)
    watch.observe([quiet], at=0.0)
    assert caplog.records == []
    watch.observe([status("DE", throttled=3, transient_errors=0, rejected=0, failed=0, quarantined=0)], at=2.0)
    [first] = caplog.records
    assert first.levelno == logging.INFO
    assert first.getMessage() == "SIM/DE: 3 calls throttled by Amazon (the first; from now on a count a minute)"
    caplog.clear()
    for second, throttled in [(4.0, 10), (30.0, 50), (61.0, 80)]:
        watch.observe(
            [status("DE", throttled=throttled, transient_errors=0, rejected=0, failed=0, quarantined=0)], at=second
        )
    assert caplog.records == []  # less than a minute since the first line
    watch.observe([status("DE", throttled=90, transient_errors=0, rejected=0, failed=0, quarantined=0)], at=62.0)
    [count] = caplog.records
    assert count.getMessage() == "SIM/DE: 87 more calls throttled by Amazon in 60s (90 in all)"


def test_failures_and_quarantines_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engine.live.watch")
    watch = Watch()
    watch.observe([status("GB", throttled=0, transient_errors=0, rejected=0, failed=2, quarantined=1)], at=0.0)
    assert sorted((r.levelno, r.getMessage().split(" (")[0]) for r in caplog.records) == [
        (logging.WARNING, "SIM/GB: 1 offers quarantined after repeated crashes"),
        (logging.WARNING, "SIM/GB: 2 updates failed, given up after retries"),
    ]
