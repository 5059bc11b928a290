"""`repricer run --sim` in a real pseudo-terminal of 80 columns: what an operator's terminal receives."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _in_a_terminal(argv: list[str], *, columns: int = 80, rows: int = 24, timeout_s: float = 120.0) -> tuple[int, str]:
    """Run ``repricer argv`` with a pseudo-terminal of ``columns`` × ``rows`` as its stdin, stdout and stderr;
    its exit code and everything it wrote. ``timeout_s`` only ends a run that hangs; no test hinges on it."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *argv], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal's other end closed: the process has gone
                    break
                if not chunk:
                    break
                received += chunk
            elif process.poll() is not None:
                break
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    return process.wait(timeout=10), received.decode(errors="replace")


def test_run_sim_in_an_80_column_terminal_fits_and_explains_its_columns() -> None:
    # Its own control socket, not the user's default one (where a daemon of theirs may listen); under /tmp, as a
    # Unix socket's path has at most 107 bytes.
    directory = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))
    try:
        sim = ["--sim", "--skus", "20", "--marketplaces", "DE,FR,GB", "--speed", "900", "--hours", "0.5"]
        code, output = _in_a_terminal(["run", *sim, "--control-socket", str(directory / "c.sock")])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert code == 0, output
    text = _CONTROL.sub("", output)
    lines = [line for line in re.split(r"\r\n|\n|\r", text) if line]
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)
    assert "starting…" in text  # before the run was built
    assert "views: est. share of shoppers' page views" in text  # the legend
    assert any(line.split()[:4] == ["mkt", "offers", "live", "views"] for line in lines)
    assert any(line.startswith("DE ") for line in lines) and "Moved last" in text
    final = text[text.rindex("repricer --sim") :]
    assert "stopped" in final.splitlines()[0]
    assert "nothing persisted" in final  # the stop report, under the last frame
