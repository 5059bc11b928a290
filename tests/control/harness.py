"""A daemon on scripted marketplaces with its control server, on the real clock, and real clients for it.

Real sockets stay out of autojump time (trio#456), so these tests run on trio's real clock. On a loaded machine a
client may stall for a second or more, so the server's limits on clients (`LIMITS`) are generous: only a test
about a limit tightens it (`TIGHT`), and such a test does not depend on how fast anything else is. Tests wait for
what they expect by looking again until a generous deadline, never by asserting how long something took.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import trio

from engine.actors.batcher import BatcherConfig
from engine.actors.intake import IntakeConfig
from engine.actors.recorder import Recorder, RecorderConfig
from engine.control import ControlClient, ControlConfig, ControlServer
from engine.control.protocol import Request
from engine.daemon import Daemon, DaemonPlan, MarketplacePlan, MarketRuntime, RuntimeConfig, SellerPlan, compose
from engine.model import Decision, OfferKey
from engine.ports import Quota, Store
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import QUOTAS, ScriptedMarketplace, settings

# No sweep after the first (a test asks for polls itself), no readings (the scripted market answers polls only),
# and intents sent a twentieth of a second after they come.
QUIET = RuntimeConfig(
    intake=IntakeConfig(sweep_interval_s=1800.0, foep=False, shares=False),
    batcher=BatcherConfig(flush_interval_s=0.05),
    shutdown_grace_s=1.0,
    persist_timeout_s=2.0,
)
PATIENCE_S = 10.0  # how long a test waits for something it expects before it fails
LIMITS = ControlConfig(
    idle_timeout_s=PATIENCE_S,
    request_timeout_s=PATIENCE_S / 2,  # within the client's patience, so a late answer still says "timeout"
    send_timeout_s=PATIENCE_S,
    sample_interval_s=0.1,
    rate_window_s=5.0,
    max_connections=8,
)
# For the tests of the idle and send limits themselves: short, so such a test is quick.
TIGHT = msgspec.structs.replace(LIMITS, idle_timeout_s=0.5, send_timeout_s=0.5)


class Market(ScriptedMarketplace):
    """The scripted marketplace with quota to spare: no test waits on a pacer."""

    def quota(self, operation: str) -> Quota:
        return msgspec.structs.replace(QUOTAS[operation], rate=100.0, burst=20)


def build(
    places: Sequence[tuple[str, str]] = (("SELLER", "DE"),),
    skus: Sequence[str] = ("A", "B"),
    *,
    store: Store | None = None,
    config: RuntimeConfig = QUIET,
    strategy: Any = None,
) -> tuple[Daemon, dict[tuple[str, str], Market]]:
    """A daemon over scripted marketplaces, each with offers ``skus`` (bounds 10.00..30.00 EUR), and them."""
    markets = {place: Market(place[1], place[0]) for place in places}
    sellers: dict[str, list[MarketplacePlan]] = {}
    for seller, code in places:
        sellers.setdefault(seller, []).append(MarketplacePlan(code, tuple(settings(s, code, seller) for s in skus)))
    plan = DaemonPlan(tuple(SellerPlan(seller, tuple(plans)) for seller, plans in sellers.items()))
    store = store or MemoryStore()
    daemon = compose(
        plan,
        lambda seller, code: markets[(seller, code)],
        store,
        strategy or EngineSearch(),
        config=config,
        recorder=Recorder(store, RecorderConfig(flush_interval_s=0.05)),
    )
    return daemon, markets


def socket_dir() -> Path:
    """A fresh owner-only directory with a short path (a Unix socket's path has at most 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))


@asynccontextmanager
async def serving(daemon: Daemon, config: ControlConfig = LIMITS, **options: Any) -> AsyncIterator[ControlServer]:
    """The daemon running with a control server on a fresh socket; stopped (and the socket removed) at the end."""
    directory = socket_dir()
    server = ControlServer(daemon, msgspec.structs.replace(config, socket=str(directory / "c.sock")), **options)
    daemon.add_service(server)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            yield server
            daemon.stop.set()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def market(daemon: Daemon, code: str = "DE", seller: str = "SELLER") -> MarketRuntime:
    return daemon.seller(seller).market(code)


async def call(server: ControlServer, request: Request) -> Any:
    """One request through the synchronous client (in a thread, as `repricer ctl` would be a process); the
    result as JSON values."""

    def ask() -> bytes:
        with ControlClient(server.path, timeout_s=PATIENCE_S) as client:
            return bytes(client.call(request))

    return msgspec.json.decode(await trio.to_thread.run_sync(ask))


async def exchange(server: ControlServer, data: bytes, replies: int) -> list[dict[str, Any]]:
    """Send raw bytes on a new connection and read ``replies`` lines back."""
    stream = await trio.open_unix_socket(str(server.path))
    async with stream:
        await stream.send_all(data)
        return [msgspec.json.decode(line) for line in await read_lines(stream, replies)]


class Lines:
    """The lines a client reads from one connection, kept in order across calls."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def next(self) -> bytes | None:
        """The next line; None once the daemon closed the connection."""
        with trio.fail_after(PATIENCE_S):
            while b"\n" not in self.buffer:
                try:
                    data = await self.stream.receive_some(65_536)
                except trio.BrokenResourceError:
                    data = b""
                if not data:
                    return None
                self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


async def read_lines(stream: trio.SocketStream, count: int | None) -> list[bytes]:
    """``count`` lines of a fresh connection (None: every line until the daemon closes it)."""
    lines = Lines(stream)
    read: list[bytes] = []
    while count is None or len(read) < count:
        line = await lines.next()
        if line is None:
            if count is not None:
                raise AssertionError(f"the connection closed after {len(read)} of {count} lines: {read}")
            break
        read.append(line)
    return read


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds (looking every few milliseconds), or fail saying ``what`` never happened."""
    with trio.move_on_after(PATIENCE_S):
        while not condition():  # noqa: ASYNC110 (the daemon's state has no event to wait on)
            await trio.sleep(0.005)
        return
    raise AssertionError(f"never happened: {what}")


async def push(daemon: Daemon, markets: dict[tuple[str, str], Market], key: OfferKey, rival: int = 1900) -> int:
    """A notification for ``key`` (a rival at ``rival`` holding the Buy Box); waits until its actor decided on it,
    and returns the actor's decision count before."""
    actor = market(daemon, key.marketplace, key.seller).offer(key.sku)
    before = actor.decisions
    scripted = markets[(key.seller, key.marketplace)]
    snapshot = msgspec.structs.replace(
        scripted.snapshot(key),
        competitors=tuple(msgspec.structs.replace(c, listing_price=rival) for c in scripted.snapshot(key).competitors),
    )
    await scripted.push_send.send(snapshot)
    await eventually(
        lambda: market(daemon, key.marketplace, key.seller).offer(key.sku).decisions > before, f"{key} decided"
    )
    return before


def decided(daemon: Daemon) -> Callable[[], bool]:
    """Whether every offer has made its first decision (on the poll at start)."""
    return lambda: all(actor.decisions > 0 for m in daemon.markets for actor in m.actors.values())


def settled(daemon: Daemon) -> Callable[[], bool]:
    """Whether nothing waits to be sent or is in flight anywhere."""
    return lambda: all(m.batcher.pending == 0 and m.batcher.in_flight == 0 for m in daemon.markets)


def decision(key: OfferKey, at: float) -> Decision:
    from engine.model import Reason

    return Decision(key, at, None, Reason.CONVERGED)
