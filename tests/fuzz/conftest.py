"""The fuzz suite's report: with ``REPRICER_FUZZ_REPORT=1``, what every example of the session added up to."""

from __future__ import annotations

import os

import pytest

from tests.fuzz.play import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get("REPRICER_FUZZ_REPORT"):
        for line in TALLY.lines():
            terminalreporter.write_line(line)
