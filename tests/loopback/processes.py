"""`repricer sim serve` and `repricer run --config` as an operator runs them: real processes on loopback, each read
line by line from a trio task, on the real clock (real sockets and a store thread: never under `MockClock`).

The fake listens on a port of its own choosing (``--port 0``) and says which on its first line; it writes the offers
it serves as a catalog that `repricer catalog import` takes into a fresh database; the daemon's configuration names
the fake's endpoints and takes the secrets from environment variables, as examples/sim.toml does, in a file only
its owner may read. Children run the working tree's code (``cwd`` and ``PYTHONPATH``), whatever is installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import trio

from sim.fake import (
    SIM_AWS_ACCESS_KEY_ID,
    SIM_AWS_ACCOUNT,
    SIM_AWS_SECRET_ACCESS_KEY,
    SIM_QUEUE,
    SIM_REFRESH_TOKEN,
    SIM_REGION,
    STATS_PATH,
    UPDATES_PATH,
)

ROOT = Path(__file__).resolve().parents[2]
SELLER = "sim-eu"  # `repricer sim serve --catalog`'s default account, the configuration's seller
MERCHANT_ID = "A0CCVNLNJ6LRQA"  # the fake's seller 0 (`sim.ids.our_seller_id(0)`)
CLIENT_SECRET = "sim-client-secret-2718"
ENVIRON = {
    "LOOPBACK_CLIENT_SECRET": CLIENT_SECRET,
    "LOOPBACK_REFRESH_TOKEN": SIM_REFRESH_TOKEN,
    "LOOPBACK_AWS_SECRET": SIM_AWS_SECRET_ACCESS_KEY,
}
# Only guards against a child that hangs: nothing here asserts a speed. A loaded machine (two cores, a benchmark
# beside the suite) takes seconds to start a Python process.
START_GUARD_S = 60.0
STOP_GUARD_S = 60.0


class Children:
    """The processes a test starts, their output read by tasks of the test's nursery; on leaving, whatever still
    runs (the test failed half way) is killed, so no child outlives its test:

        async with trio.open_nursery() as nursery, Children(nursery) as children:
            fake = await Fake.start(children, ...)
    """

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.processes: list[trio.Process] = []

    async def open(self, argv: list[str], *, stdout: int, stderr: int) -> trio.Process:
        process = await trio.lowlevel.open_process(argv, cwd=ROOT, env=_environ(), stdout=stdout, stderr=stderr)
        self.processes.append(process)
        return process

    async def __aenter__(self) -> Children:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with trio.CancelScope(shield=True):
            for process in self.processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


def _environ() -> dict[str, str]:
    return {**os.environ, **ENVIRON, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _repricer(*argv: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *argv]


class Output:
    """A child's stream, read into lines by a task of the caller's nursery; tests wait for a line to come."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []  # when each line was read (trio's clock, the real one)
        self.ended = False
        self._stream = stream
        self._changed = trio.Event()

    async def pump(self) -> None:
        """Read the stream to its end (the child exited), then close it."""
        partial = b""
        try:
            async with self._stream:
                while chunk := await self._stream.receive_some():
                    *complete, partial = (partial + chunk).split(b"\n")
                    self.lines.extend(line.decode(errors="replace") for line in complete)
                    self.times.extend(trio.current_time() for _ in complete)
                    self._changed.set()
                    self._changed = trio.Event()
        finally:
            if partial:
                self.lines.append(partial.decode(errors="replace"))
                self.times.append(trio.current_time())
            self.ended = True
            self._changed.set()

    async def wait_for(self, wanted: Callable[[str], bool] | str, *, start: int = 0) -> int:
        """The index of the first line from ``start`` on that holds ``wanted`` (a text, or a test of a line);
        `AssertionError` when the stream ends without one."""
        test = (lambda line: wanted in line) if isinstance(wanted, str) else wanted
        seen = start
        while True:
            for index in range(seen, len(self.lines)):
                if test(self.lines[index]):
                    return index
            seen = max(seen, len(self.lines))
            if self.ended:
                raise AssertionError(f"the stream ended without {wanted!r}:\n{self.text()}")
            await self._changed.wait()

    async def finished(self) -> None:
        """Wait until the stream ends (the child closed it: it exited)."""
        while not self.ended:
            await self._changed.wait()

    def text(self) -> str:
        return "\n".join(self.lines)


class Fake:
    """`repricer sim serve` in its own process, on a free port; what it accepted, read over HTTP."""

    def __init__(self, process: trio.Process, url: str, catalog: Path, said: Output) -> None:
        self.process = process
        self.url = url
        self.catalog = catalog
        self.said = said

    @classmethod
    async def start(
        cls,
        children: Children,
        directory: Path,
        *,
        skus: int,
        marketplaces: Sequence[str],
        time_scale: float,
        seed: int = 1,
    ) -> Fake:
        catalog = directory / "sim-catalog.csv"
        argv = _repricer(
            "sim",
            "serve",
            "--port",
            "0",
            "--skus",
            str(skus),
            "--marketplaces",
            ",".join(marketplaces),
            "--time-scale",
            f"{time_scale:g}",
            "--seed",
            str(seed),
            "--catalog",
            str(catalog),
        )
        process = await children.open(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        said = Output(process.stdout)
        children.nursery.start_soon(said.pump)
        with trio.fail_after(START_GUARD_S):
            first = said.lines[await said.wait_for("repricer sim serve: ")]
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        return cls(process, url, catalog, said)

    async def get(self, path: str) -> Any:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}{path}")
        response.raise_for_status()
        return response.json()

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.get(STATS_PATH)
        return stats

    async def updates(self) -> list[dict[str, Any]]:
        """Every update the fake accepted, oldest first (`sim.fake.AcceptedUpdate` as JSON)."""
        updates: list[dict[str, Any]] = await self.get(UPDATES_PATH)
        return updates

    async def stop(self) -> int:
        """SIGTERM, and the exit code."""
        return await terminate(self.process)


class Daemon:
    """`repricer run --config FILE` as a child; its log (stderr) read line by line."""

    def __init__(self, process: trio.Process, said: Output) -> None:
        self.process = process
        self.said = said

    @classmethod
    async def start(cls, children: Children, config: Path) -> Daemon:
        process = await children.open(
            _repricer("run", "--config", str(config)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert process.stderr is not None
        said = Output(process.stderr)
        children.nursery.start_soon(said.pump)
        return cls(process, said)

    async def started(self) -> int:
        """Wait until the daemon says it runs; the index of that line."""
        with trio.fail_after(START_GUARD_S):
            return await self.said.wait_for("started: offers")

    async def kill(self) -> None:
        """SIGKILL, as the out-of-memory killer or a power cut would; it must die of it, not have exited before."""
        self.process.kill()
        with trio.fail_after(STOP_GUARD_S):
            await self.process.wait()
        assert self.process.returncode == -signal.SIGKILL, f"it ended by itself:\n{self.said.text()}"

    async def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code, once its log is read to the end."""
        code = await terminate(self.process)
        with trio.fail_after(STOP_GUARD_S):
            await self.said.finished()
        return code


async def terminate(process: trio.Process) -> int:
    process.send_signal(signal.SIGTERM)
    with trio.fail_after(STOP_GUARD_S):
        return await process.wait()


def write_config(directory: Path, url: str, *, marketplaces: Sequence[str], database: Path) -> Path:
    """The daemon's configuration for the fake at ``url``, its notifications read from the fake's SQS queue: secrets
    named by environment variable, file 0600."""
    quoted = ", ".join(f'"{code}"' for code in marketplaces)
    path = directory / "repricer.toml"
    path.write_text(
        f"""\
database = "{database}"

[log]
level = "info"

[[seller]]
id = "{SELLER}"
merchant_id = "{MERCHANT_ID}"
region = "eu"
marketplaces = [{quoted}]

[seller.credentials]
client_id = "amzn1.application-oa2-client.loopback"
client_secret_env = "LOOPBACK_CLIENT_SECRET"
refresh_token_env = "LOOPBACK_REFRESH_TOKEN"

[seller.endpoints]
sp_api = "{url}"
lwa_token = "{url}/auth/o2/token"

[seller.notifications]
queue_url = "{url}/{SIM_AWS_ACCOUNT}/{SIM_QUEUE}"
aws_region = "{SIM_REGION}"
aws_access_key_id = "{SIM_AWS_ACCESS_KEY_ID}"
aws_secret_access_key_env = "LOOPBACK_AWS_SECRET"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


async def import_catalog(catalog: Path, database: Path) -> None:
    """`repricer catalog import FILE --db PATH`, as the fake's first line tells an operator to."""
    with trio.fail_after(START_GUARD_S):
        done = await trio.run_process(
            _repricer("catalog", "import", str(catalog), "--db", str(database)),
            cwd=ROOT,
            env=_environ(),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
