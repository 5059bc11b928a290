"""A deployment on Amazon: the SP-API adapter for every (seller account, marketplace) of a configuration, and the
daemon composed over them.

`open_accounts` opens, per seller account (a ``[[seller]]`` of the configuration: one account in one region, the
unit of a refresh token and of Amazon's quotas), one HTTP client, one `AccessTokens` and one `SpApiClient`, which
the account's marketplaces share; each marketplace is an `SpApiMarketplace`. Calls go to the account's endpoints:
Amazon's for its region unless the configuration overrides them (examples/sim.toml points them at `repricer sim
serve` on this machine). The HTTP clients close when the context exits, after the daemon has stopped.

`compose_daemon` is `engine.daemon.compose` with these adapters; each adapter then serves its runtime's own catalog
(`SpApiMarketplace.follow`), so an offer a catalog reload adds is polled and updated at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
import trio

from adapters.spapi.auth import AccessTokens
from adapters.spapi.client import MAX_IN_FLIGHT, SpApiClient
from adapters.spapi.marketplace import SpApiMarketplace
from adapters.spapi.quotas import quota
from engine.actors.pacing import Pacers
from engine.config.resolved import SellerAccount
from engine.daemon import Daemon, DaemonPlan, RuntimeConfig, Service, compose
from engine.ports import Store
from engine.pricing.view import Strategy

__all__ = ["Accounts", "compose_daemon", "open_accounts"]

# The clients' own limits stay above the adapter's: every request already has its deadline in `SpApiClient`, and
# at most `MAX_IN_FLIGHT` of an account's requests (and its one token exchange) are out at once.
_HTTP_TIMEOUT_S: Final = 120.0
_CLOSE_TIMEOUT_S: Final = 5.0


class Accounts:
    """The seller accounts' SP-API clients, and the adapters made over them (`marketplace`, one per seller and
    marketplace). Made by `open_accounts`."""

    def __init__(self, clients: dict[str, tuple[SellerAccount, SpApiClient]]) -> None:
        self._clients = clients
        self.adapters: dict[tuple[str, str], SpApiMarketplace] = {}
        # The Feeds API's buckets are the account's, whichever marketplace a feed is for: one set of pacers each.
        self._feed_pacers = {seller: Pacers(quota) for seller in clients}

    def marketplace(self, seller: str, code: str) -> SpApiMarketplace:
        """The adapter of ``seller`` on ``code`` (an `engine.daemon.MarketplaceFactory`): made once, without offers
        until it follows its runtime's catalog (`compose_daemon`)."""
        adapter = self.adapters.get((seller, code))
        if adapter is None:
            account, client = self._clients[seller]
            adapter = self.adapters[(seller, code)] = SpApiMarketplace(
                account, code, client, (), feed_pacers=self._feed_pacers[seller]
            )
        return adapter


@asynccontextmanager
async def open_accounts(
    sellers: Sequence[SellerAccount], *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Accounts]:
    """The clients of ``sellers``, closed on exit. ``transport``: where the requests go instead of the network (a
    test's `httpx.MockTransport`, or `httpx.ASGITransport` onto the SP-API fake)."""
    https: list[httpx.AsyncClient] = []
    clients: dict[str, tuple[SellerAccount, SpApiClient]] = {}
    try:
        for account in sellers:
            http = httpx.AsyncClient(
                transport=transport,
                timeout=_HTTP_TIMEOUT_S,
                limits=httpx.Limits(max_connections=MAX_IN_FLIGHT + 1),
                follow_redirects=False,
            )
            https.append(http)
            clients[account.id] = (account, SpApiClient(account, http, AccessTokens(account, http)))
        yield Accounts(clients)
    finally:
        with trio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
            for http in https:
                await http.aclose()


def compose_daemon(
    plan: DaemonPlan,
    accounts: Accounts,
    store: Store,
    strategy: Strategy[Any],
    *,
    config: RuntimeConfig | None = None,
    services: Sequence[Service] = (),
) -> Daemon:
    """The daemon of ``plan`` on Amazon through ``accounts``' adapters (see the module docstring)."""
    daemon = compose(plan, accounts.marketplace, store, strategy, config=config, services=services)
    for market in daemon.markets:
        accounts.marketplace(market.seller, market.code).follow(market.catalog)
    return daemon
