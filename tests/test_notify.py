"""`sd_notify`: the datagram systemd reads, and nothing at all outside systemd."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest

from engine.daemon.notify import notify


def test_notify_sends_one_datagram_to_the_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        path = str(Path(directory) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
            listener.bind(path)
            monkeypatch.setenv("NOTIFY_SOCKET", path)
            assert notify("READY=1", "STATUS=pricing 200 offers")
            assert listener.recv(4096) == b"READY=1\nSTATUS=pricing 200 offers"


def test_notify_outside_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")


def test_notify_to_a_vanished_manager_logs_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify")
    assert not notify("STOPPING=1")
    assert "could not notify systemd at /nonexistent/notify" in caplog.text
