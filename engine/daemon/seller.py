"""One seller account: its marketplace runtimes, one set of quota pacers per region, and a permanent failure
(revoked authorization) that stops this seller, never the daemon."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import trio

from engine.daemon.market import MarketRuntime
from engine.daemon.status import MarketStatus
from engine.daemon.switch import Switch, throw
from engine.ports import AccountError

__all__ = ["SellerRuntime", "account_error"]

log = logging.getLogger(__name__)


def account_error(error: BaseException) -> AccountError | None:
    """The `AccountError` an exception (group) is made of, if it is made of nothing else but cancellations."""
    if isinstance(error, AccountError):
        return error
    if isinstance(error, BaseExceptionGroup):
        found: AccountError | None = None
        for inner in error.exceptions:
            if isinstance(inner, trio.Cancelled):
                continue
            found = account_error(inner)
            if found is None:
                return None
        return found
    return None


class SellerRuntime:
    """The runtimes of one seller account, started and stopped together.

    Their pacers are shared per region by whoever built them (`engine.daemon.compose`); ``switch`` is the seller's
    pause switch, under the daemon's.
    """

    def __init__(self, seller: str, markets: Sequence[MarketRuntime], switch: Switch) -> None:
        for market in markets:
            if market.seller != seller:
                raise ValueError(f"marketplace {market.code} of seller {market.seller} given to seller {seller}")
        self.seller = seller
        self.markets = list(markets)
        self.switch = switch
        self.stopped: str | None = None

    def market(self, code: str) -> MarketRuntime:
        for market in self.markets:
            if market.code == code.upper():
                return market
        known = ", ".join(m.code for m in self.markets)
        raise KeyError(f"seller {self.seller} has no marketplace {code!r} (it has {known})")

    def stop(self) -> None:
        for market in self.markets:
            market.stop()

    def pause(self) -> None:
        """Pause every offer of this seller on every marketplace."""
        throw(self.switch, self.markets, on=True)

    def resume(self) -> None:
        throw(self.switch, self.markets, on=False)

    async def run(
        self,
        *,
        spawned: Callable[[], None] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run every marketplace until each is stopped. An `AccountError` from any of them stops them all (each
        saves its state on the way out) and is kept in `stopped`, for the status; it does not propagate."""
        told = False
        try:
            async with trio.open_nursery() as nursery:
                for market in self.markets:
                    await nursery.start(functools.partial(market.run, spawned=spawned))
                task_status.started()
                told = True
        except BaseException as error:
            failure = account_error(error)
            if failure is None:
                raise
            self.stopped = failure.detail
            for market in self.markets:
                market.stopped = failure.detail
            log.error("seller %s stopped: %s (every other seller carries on)", self.seller, failure.detail)
            if not told:
                task_status.started()

    def status(self) -> list[MarketStatus]:
        return [market.status() for market in self.markets]
