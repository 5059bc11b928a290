"""The daemon: services and seller accounts, one nursery per lifetime (DESIGN.md's actor tree).

```
daemon
├── services                 the recorder today; the store writer, control server, notification reader later
└── per seller account       SellerRuntime: one set of quota pacers per region
    └── per marketplace      MarketRuntime: intake, router, offer actors, batcher
```

Stop (SIGTERM, `stop.set()`, the end of a demo): every marketplace stops deciding, its submits in flight get the
grace period, and what is left goes to the outbox with every search state (each runtime does that in a `finally`,
so also when the daemon is cancelled); then each service finishes (the recorder flushes). The store is opened and
closed by the composition root, not here. `stop_report` then says what the store confirmed.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Sequence
from typing import Protocol

import msgspec
import trio

from engine.actors.supervisor import ServiceState, supervise
from engine.daemon.config import RuntimeConfig
from engine.daemon.market import MarketRuntime, freeze
from engine.daemon.seller import SellerRuntime
from engine.daemon.status import MarketStatus, RestoreReport
from engine.daemon.switch import Switch, throw
from engine.ports import Clock, Store

__all__ = ["Daemon", "Service", "StopReport"]

log = logging.getLogger(__name__)


class Service(Protocol):
    """A long-lived task of the daemon beside the sellers: started with `trio.Nursery.start` and restarted with
    backoff if it raises; ``finish`` runs once at the stop, shielded, after every seller has saved its state."""

    @property
    def name(self) -> str: ...

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...

    async def finish(self) -> None: ...


class StopReport(msgspec.Struct, frozen=True):
    """What a stop saved, as the store confirmed it."""

    persistent: bool
    states_saved: int
    outbox_saved: int
    marketplaces: int
    complete: bool  # every marketplace saved within its deadline, and every service finished
    stopped_sellers: tuple[str, ...] = ()

    def describe(self) -> str:
        sellers = f"; stopped earlier: seller {', '.join(self.stopped_sellers)}" if self.stopped_sellers else ""
        if not self.persistent:
            return (
                f"stopped: nothing persisted ({self.states_saved} search states and {self.outbox_saved} unsent "
                f"updates kept in memory only: --sim keeps its state in memory){sellers}"
            )
        saved = f"{self.states_saved} search states and {self.outbox_saved} unsent updates saved"
        if not self.complete:
            return f"stopped, but saving was cut short: {saved} of {self.marketplaces} marketplaces{sellers}"
        return f"stopped: {saved}{sellers}"


class Daemon:
    """Runs the services and every seller's runtimes until ``stop`` is set, then shuts down cleanly."""

    def __init__(
        self,
        sellers: Sequence[SellerRuntime],
        *,
        config: RuntimeConfig | None = None,
        services: Sequence[Service] = (),
        switch: Switch | None = None,
        store: Store | None = None,
    ) -> None:
        seen: set[str] = set()
        for seller in sellers:
            if seller.seller in seen:
                raise ValueError(f"seller {seller.seller} is configured twice")
            seen.add(seller.seller)
        self.sellers = list(sellers)
        self.config = config or RuntimeConfig()
        self.services = list(services)
        self.service_states = [ServiceState(service.name) for service in self.services]
        self.switch = switch or Switch()
        self.store = store
        self.persistent = store is not None and store.persistent
        self.restored: list[RestoreReport] = []
        # Wall time anchored to trio's clock, made at start unless given (a test pins the wall anchor).
        self.clock: Clock | None = None
        self.stop = trio.Event()
        self.stop_report: StopReport | None = None

    @property
    def markets(self) -> list[MarketRuntime]:
        return [market for seller in self.sellers for market in seller.markets]

    @property
    def stopped_cleanly(self) -> bool:
        return self.stop_report is not None and self.stop_report.complete

    def seller(self, seller: str) -> SellerRuntime:
        for runtime in self.sellers:
            if runtime.seller == seller:
                return runtime
        raise KeyError(f"no seller {seller!r} (known: {', '.join(s.seller for s in self.sellers)})")

    def add_service(self, service: Service) -> None:
        """One more service, before `run`: the control server, which needs the daemon it serves, joins the daemon
        this way after the composition made it."""
        self.services.append(service)
        self.service_states.append(ServiceState(service.name))

    def pause_all(self) -> None:
        """The kill switch: no offer of any seller decides or sends until `resume_all`."""
        throw(self.switch, self.markets, on=True)

    def resume_all(self) -> None:
        throw(self.switch, self.markets, on=False)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        thresholds = gc.get_threshold()
        finished: bool | None = None  # whether the services finished; None until they were asked to
        if self.store is not None:
            await self._restore(self.store)
        try:
            async with trio.open_nursery() as outer:
                for service, state in zip(self.services, self.service_states, strict=True):
                    await outer.start(functools.partial(supervise, service.run, state))
                async with trio.open_nursery() as sellers:
                    for seller in self.sellers:
                        await sellers.start(functools.partial(seller.run, spawned=freeze))
                    freeze()  # and what the services started with
                    gc.set_threshold(*self.config.gc_thresholds)
                    task_status.started()
                    log.info(
                        "started: offers %d, marketplaces %d, sellers %d",
                        sum(len(m.actors) for m in self.markets),
                        len(self.markets),
                        len(self.sellers),
                    )
                    await self.stop.wait()
                    log.info(
                        "stopping: deciding ends, submits in flight get %.0fs, then the state goes to the store",
                        self.config.shutdown_grace_s,
                    )
                    for seller in self.sellers:
                        seller.stop()
                    # Each marketplace drains and saves by itself; this only bounds the whole.
                    sellers.cancel_scope.deadline = (
                        trio.current_time() + self.config.shutdown_grace_s + self.config.persist_timeout_s
                    )
                finished = await _finish(self.services, self.config.persist_timeout_s)
                outer.cancel_scope.cancel()
        finally:
            if finished is None:  # cancelled from outside: the services still get their last words
                finished = await _finish(self.services, self.config.persist_timeout_s)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            self.stop_report = self._report(bool(finished))
            log.info("%s", self.stop_report.describe())

    async def _restore(self, store: Store) -> None:
        """Take over from the last process: update ids continue above the stored ones, and every marketplace
        resumes its searches and its outbox."""
        clock = self.clock = self.clock or Clock()
        last = await store.last_update_id()
        for market in self.markets:
            market.batcher.ids.continue_after(last)
        self.restored = [await market.restore(clock) for market in self.markets]
        resumed = sum(r.states_resumed for r in self.restored)
        resent = sum(r.updates_resent for r in self.restored)
        followed = sum(r.updates_followed for r in self.restored)
        if resumed or resent or followed:
            log.info(
                "resumed %d search states; %d unanswered updates sent again, %d followed in their feeds",
                resumed,
                resent,
                followed,
            )

    def _report(self, services_finished: bool) -> StopReport:
        markets = self.markets
        reports = [m.persisted for m in markets]
        return StopReport(
            persistent=self.persistent,
            states_saved=sum(r.states_saved for r in reports if r is not None),
            outbox_saved=sum(r.outbox_saved for r in reports if r is not None),
            marketplaces=len(markets),
            complete=services_finished and all(r is not None and r.complete for r in reports),
            stopped_sellers=tuple(s.seller for s in self.sellers if s.stopped is not None),
        )

    def status(self) -> list[MarketStatus]:
        return [status for seller in self.sellers for status in seller.status()]


async def _finish(services: Sequence[Service], timeout_s: float) -> bool:
    """Each service's last words (the recorder's flush), shielded and bounded; whether all of them finished."""
    done = True
    with trio.move_on_after(timeout_s, shield=True) as scope:
        for service in services:
            try:
                await service.finish()
            except Exception:
                log.exception("%s failed to finish", service.name)
                done = False
    return done and not scope.cancelled_caught
