"""A deployment on Amazon: the SP-API adapter for every (seller account, marketplace) of a configuration, and the
daemon composed over them.

`open_accounts` opens, per seller account (a ``[[seller]]`` of the configuration: one account in one region, the
unit of a refresh token and of Amazon's quotas), one HTTP client, one `AccessTokens` and one `SpApiClient`, which
the account's marketplaces share; each marketplace is an `SpApiMarketplace`. Calls go to the account's endpoints:
Amazon's for its region unless the configuration overrides them (examples/sim.toml points them at `repricer sim
serve` on this machine). The HTTP clients close when the context exits, after the daemon has stopped.

Notifications: a seller with a ``[seller.notifications]`` queue gets the queue's reader (`adapters.spapi.inbox.Inbox`,
one per queue URL, whichever sellers share it), subscribed at its start for the seller's marketplaces through the
seller's client and the application's grantless one (`adapters.spapi.subscribe`); each adapter of the seller drains
its own route of it. The readers join the daemon's services in `compose_daemon`.

`compose_daemon` is `engine.daemon.compose` with these adapters; each adapter then serves its runtime's own catalog
(`SpApiMarketplace.follow`), so an offer a catalog reload adds is polled and updated at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Final

import httpx
import trio

from adapters.spapi.auth import NOTIFICATIONS_SCOPE, AccessTokens
from adapters.spapi.client import MAX_IN_FLIGHT, SpApiClient
from adapters.spapi.inbox import Inbox
from adapters.spapi.marketplace import SpApiMarketplace
from adapters.spapi.quotas import quota
from adapters.spapi.sqs import SqsQueue
from adapters.spapi.subscribe import subscribe
from engine.actors.pacing import Pacers
from engine.config.resolved import SellerAccount
from engine.daemon import Daemon, DaemonPlan, RuntimeConfig, Service, compose
from engine.marketplaces import by_code
from engine.ports import Clock, Store
from engine.pricing.view import Strategy

__all__ = ["Accounts", "compose_daemon", "open_accounts"]

# The clients' own limits stay above the adapter's: every request already has its deadline in `SpApiClient`, and
# at most `MAX_IN_FLIGHT` of an account's requests (and its one token exchange) are out at once.
_HTTP_TIMEOUT_S: Final = 120.0
_CLOSE_TIMEOUT_S: Final = 5.0
DESTINATION_NAME: Final = "repricer"  # the name of a notifications destination made here


class Accounts:
    """The seller accounts' SP-API clients, the notification queues' readers (``inboxes``, by queue URL), and the
    adapters made over them (`marketplace`, one per seller and marketplace). Made by `open_accounts`."""

    def __init__(
        self,
        clients: dict[str, tuple[SellerAccount, SpApiClient]],
        inboxes: dict[str, Inbox] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clients = clients
        self.inboxes = inboxes or {}
        self.clock = clock
        self.adapters: dict[tuple[str, str], SpApiMarketplace] = {}
        # The Feeds API's buckets are the account's, whichever marketplace a feed is for: one set of pacers each.
        self._feed_pacers = {seller: Pacers(quota) for seller in clients}

    def marketplace(self, seller: str, code: str) -> SpApiMarketplace:
        """The adapter of ``seller`` on ``code`` (an `engine.daemon.MarketplaceFactory`): made once, without offers
        until it follows its runtime's catalog (`compose_daemon`)."""
        adapter = self.adapters.get((seller, code))
        if adapter is None:
            account, client = self._clients[seller]
            queue = account.notifications
            notices = None
            if queue is not None:
                notices = self.inboxes[queue.url].route(account.merchant_id, by_code(code).marketplace_id)
            adapter = self.adapters[(seller, code)] = SpApiMarketplace(
                account,
                code,
                client,
                (),
                feed_pacers=self._feed_pacers[seller],
                feeds=account.feeds,
                notices=notices,
                clock=self.clock,
            )
        return adapter


@asynccontextmanager
async def open_accounts(
    sellers: Sequence[SellerAccount], *, transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None
) -> AsyncIterator[Accounts]:
    """The clients of ``sellers``, closed on exit. ``transport``: where the requests go instead of the network (a
    test's `httpx.MockTransport`, or `httpx.ASGITransport` onto the SP-API fake). ``clock``: how Amazon's wall
    times read on trio's clock (default: the wall's now is trio's now; a fake with a wall origin of its own needs
    its own)."""
    https: list[httpx.AsyncClient] = []
    clients: dict[str, tuple[SellerAccount, SpApiClient]] = {}
    inboxes: dict[str, Inbox] = {}
    try:
        for account in sellers:
            http = httpx.AsyncClient(
                transport=transport,
                timeout=_HTTP_TIMEOUT_S,
                limits=httpx.Limits(max_connections=MAX_IN_FLIGHT + 1),
                follow_redirects=False,
            )
            https.append(http)
            client = SpApiClient(account, http, AccessTokens(account, http))
            clients[account.id] = (account, client)
            if account.notifications is not None:
                _subscribe_on(inboxes, account, client, http)
        yield Accounts(clients, inboxes, clock)
    finally:
        with trio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
            for http in https:
                await http.aclose()


def _subscribe_on(
    inboxes: dict[str, Inbox], account: SellerAccount, client: SpApiClient, http: httpx.AsyncClient
) -> None:
    """The seller's queue's reader (made for the first seller naming the queue), subscribing the seller at start."""
    queue = account.notifications
    assert queue is not None
    inbox = inboxes.get(queue.url)
    if inbox is None:
        inbox = inboxes[queue.url] = Inbox(SqsQueue(queue, http))
    grantless = SpApiClient(account, http, AccessTokens(account, http, scope=NOTIFICATIONS_SCOPE))
    marketplace_ids = [by_code(code).marketplace_id for code in account.marketplaces]
    setup = partial(subscribe, client, grantless, arn=queue.arn, marketplace_ids=marketplace_ids, name=DESTINATION_NAME)
    inbox.subscriber(account.id, setup)


def compose_daemon(
    plan: DaemonPlan,
    accounts: Accounts,
    store: Store,
    strategy: Strategy[Any],
    *,
    config: RuntimeConfig | None = None,
    services: Sequence[Service] = (),
) -> Daemon:
    """The daemon of ``plan`` on Amazon through ``accounts``' adapters, the notification queues' readers among its
    services (see the module docstring)."""
    readers: list[Service] = list(accounts.inboxes.values())
    daemon = compose(plan, accounts.marketplace, store, strategy, config=config, services=[*readers, *services])
    for market in daemon.markets:
        accounts.marketplace(market.seller, market.code).follow(market.catalog)
    return daemon
