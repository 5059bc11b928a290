"""A daemon composed from a configuration file and the store's catalog (`repricer run --config`): each configured
marketplace reprices the catalog's offers through the SP-API adapter at the configured endpoints, per-offer
settings apply to their offer alone, a restart resumes the searches, and a catalog with nothing to reprice is
refused with how to import it."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httpx
import msgspec
import pytest
import trio
import trio.testing

from adapters.spapi.run import compose_daemon, open_accounts
from engine.actors.batcher import BatcherConfig
from engine.actors.intake import IntakeConfig
from engine.catalog import CatalogRow
from engine.config import Config, load
from engine.daemon import Daemon, RuntimeConfig
from engine.daemon.configured import NothingToReprice, plan_daemon
from engine.model import ChannelSettings, OfferKey
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from sim.fake import SpApiFake
from tests.adapters.spapi.test_client import Lwa
from tests.adapters.spapi.test_marketplace import OURS, FakeAmazon
from tests.config.files import CLIENT_SECRET, ENVIRON, REFRESH_TOKEN, write

if TYPE_CHECKING:
    from adapters.spapi.inbox import InboxCounters
    from engine.daemon import MarketStatus
    from sim.fake import FakeStats

DATABASE = Path("/srv/repricer/r.db")  # only named in messages: the tests' stores are in memory
ENDPOINT = "http://127.0.0.1:8765"
CONFIG = f"""\
[[seller]]
id = "acme-eu"
merchant_id = "{OURS}"
region = "eu"
marketplaces = ["DE", "FR"]

[seller.credentials]
client_id = "amzn1.application-oa2-client.test"
client_secret_env = "TEST_CLIENT_SECRET"
refresh_token_env = "TEST_REFRESH_TOKEN"

[seller.endpoints]
sp_api = "{ENDPOINT}"
lwa_token = "{ENDPOINT}/auth/o2/token"

[seller.channel.DE]
step_cap = 0.05

[seller.channel.DE.offers."SKU-2"]
dry_run = true
"""
# A sweep a minute, no FOEP or share readings (the fake answers them, but they add nothing here), quick flushes.
QUICK = RuntimeConfig(
    intake=IntakeConfig(sweep_interval_s=60.0, foep=False, shares=False),
    batcher=BatcherConfig(flush_interval_s=0.05),
)


def _config(tmp_path: Path, text: str = CONFIG) -> Config:
    return load(write(tmp_path, text), ENVIRON)


def _row(sku: str, marketplace: str = "DE", seller: str = "acme-eu", **fields: object) -> CatalogRow:
    row = CatalogRow(OfferKey(seller, marketplace, sku), asin=f"B000000{sku[-1]}", min_price=900, max_price=2900)
    return msgspec.structs.replace(row, **fields)


class Amazon:
    """Login with Amazon and the SP-API on one host, as the configured endpoints put them; keeps every request."""

    def __init__(self) -> None:
        self.lwa = Lwa()
        self.sp_api = FakeAmazon()
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/auth/o2/token":
            return await self.lwa(request)
        return await self.sp_api(request)

    def patched(self) -> set[str]:
        return {
            unquote(r.url.raw_path.decode().split("?")[0].rsplit("/", 1)[1])
            for r in self.sp_api.requests
            if r.method == "PATCH"
        }


async def _run(config: Config, store: MemoryStore, amazon: Amazon, seconds: float) -> Daemon:
    """A daemon planned from ``config`` and ``store``, run for ``seconds`` against ``amazon``, then stopped."""
    planned = await plan_daemon(config, store, database=DATABASE)
    async with open_accounts(config.sellers, transport=httpx.MockTransport(amazon)) as accounts:
        daemon = compose_daemon(planned.plan, accounts, store, EngineSearch(), config=QUICK)
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            await trio.sleep(seconds)
            daemon.stop.set()
    return daemon


async def test_the_catalog_is_repriced_through_the_configured_endpoints(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    store = MemoryStore()
    await store.save_catalog([_row("SKU-1"), _row("SKU-2")])
    amazon = Amazon()
    daemon = await _run(config, store, amazon, 1800)
    assert {(r.url.scheme, r.url.host, r.url.port) for r in amazon.requests} == {("http", "127.0.0.1", 8765)}
    assert amazon.lwa.exchanges == 1  # one token for the account, shared by its marketplaces' calls
    [token_request] = [r for r in amazon.requests if r.url.path == "/auth/o2/token"]
    assert f"refresh_token={REFRESH_TOKEN.replace('|', '%7C')}" in token_request.content.decode()
    polled = [json.loads(r.content) for r in amazon.sp_api.requests if r.url.path.endswith("/listingOffers")]
    assert {unquote(item["uri"].split("/")[-2]) for body in polled for item in body["requests"]} == {"SKU-1", "SKU-2"}
    # SKU-2's own settings (dry run) keep its prices home; SKU-1 uses the marketplace's and is sent.
    assert amazon.patched() == {"SKU-1"}
    de, fr = daemon.markets
    assert (de.code, len(de.actors), fr.code, len(fr.actors)) == ("DE", 2, "FR", 0)
    assert de.channel_for(OfferKey("acme-eu", "DE", "SKU-2")).dry_run
    assert de.channel_for(OfferKey("acme-eu", "DE", "SKU-1")) == ChannelSettings(step_cap=de.channel.step_cap)
    assert daemon.stopped_cleanly


async def test_a_restart_resumes_every_search_from_the_store(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    store = MemoryStore()
    await store.save_catalog([_row("SKU-1"), _row("SKU-2")])
    await _run(config, store, Amazon(), 1800)
    again = await _run(config, store, Amazon(), 60)
    assert sum(report.states_resumed for report in again.restored) == 2


async def test_an_offer_added_to_the_catalog_is_served_by_the_adapter_at_once(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    from engine.daemon.reload import reload_catalog

    config = _config(tmp_path)
    store = MemoryStore()
    await store.save_catalog([_row("SKU-1")])
    planned = await plan_daemon(config, store, database=DATABASE)
    amazon = Amazon()
    async with open_accounts(config.sellers, transport=httpx.MockTransport(amazon)) as accounts:
        daemon = compose_daemon(planned.plan, accounts, store, EngineSearch(), config=QUICK)
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            await trio.sleep(120)
            await store.save_catalog([_row("SKU-3")])
            report = await reload_catalog(daemon, store)
            await trio.sleep(300)
            daemon.stop.set()
    assert report.added == 1
    polled = [json.loads(r.content) for r in amazon.sp_api.requests if r.url.path.endswith("/listingOffers")]
    assert "SKU-3" in {unquote(item["uri"].split("/")[-2]) for body in polled for item in body["requests"]}
    assert all(state.restarts == 0 for market in daemon.markets for state in market.services.values())


async def test_a_marketplace_without_offers_runs_empty_and_says_how_to_import_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    await store.save_catalog([_row("SKU-1"), _row("SKU-9", min_price=3000), _row("X-1", "DE", seller="default")])
    with caplog.at_level(logging.INFO):
        planned = await plan_daemon(_config(tmp_path), store, database=DATABASE)
    [seller] = planned.plan.sellers
    de, fr = seller.marketplaces
    assert ([o.key.sku for o in de.offers], fr.offers) == (["SKU-1"], ())
    assert de.overrides == {"SKU-2": ChannelSettings(step_cap=de.channel.step_cap, dry_run=True)}
    assert planned.empty == ("acme-eu/FR",)
    assert [(r.sku, r.reason) for r in planned.rejected] == [
        ("SKU-9", "min price 30.00 EUR must be below max price 29.00 EUR")
    ]
    assert planned.elsewhere == (("default", "DE"),)
    said = caplog.text
    assert "acme-eu/FR: no offers in the catalog" in said
    assert f"repricer import LISTINGS.txt --seller acme-eu --marketplace FR --db {DATABASE}" in said
    assert "acme-eu/DE SKU 'SKU-9' not repriced: min price" in said
    assert "default/DE, which the configuration does not name" in said
    assert CLIENT_SECRET not in said and REFRESH_TOKEN not in said


async def test_a_catalog_with_nothing_to_reprice_is_refused_naming_the_database_and_the_way_out(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    await store.save_catalog([_row("X-1", "DE", seller="default")])
    with pytest.raises(NothingToReprice) as refused:
        await plan_daemon(_config(tmp_path), store, database=DATABASE)
    said = str(refused.value)
    assert f"nothing to reprice: the catalog in {DATABASE} has no offer for seller acme-eu on DE, FR" in said
    assert "it holds offers for default/DE: were they imported under another --seller?" in said
    assert f"--seller acme-eu --marketplace DE --db {DATABASE}" in said


class _Fake:
    """The fake's markets advancing with trio's clock and their notifications sent to the queue, as a daemon
    service (what `repricer sim serve` runs beside the server)."""

    name = "SP-API fake"

    def __init__(self, fake: SpApiFake) -> None:
        self._fake = fake

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._fake.run(task_status=task_status)

    async def finish(self) -> None:
        return None


def test_run_config_on_the_sp_api_fake_wins_the_buy_box_with_notifications(tmp_path: Path) -> None:
    """The whole path in process: the configuration, the store's catalog, the adapter over HTTP (ASGI) onto the
    fake of Amazon over a simulated market, the seller subscribed to its notifications and the adapter reading them
    from the fake's SQS queue, two simulated hours. Run by `trio.run` here so that a failed check is an
    AssertionError, not a nursery's exception group."""
    status, stats, inbox, notified = trio.run(
        _on_the_fake, tmp_path, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    assert status.offers == status.live == 20
    assert status.holding >= 10, status  # the featured offer is drawn at each recompute: some rows rotate
    assert stats.over_quota == 0 and stats.prices_outside_bounds == 0
    assert stats.updates_applied > 0
    # Every notification the market sent reached the engine: read, handed to the adapter once (Amazon's own
    # duplicates deleted unread), deleted; each one an observation.
    assert stats.notifications_sent > 0 and stats.queue_deleted == stats.notifications_sent
    assert inbox.routed + inbox.duplicates == stats.notifications_sent and inbox.unreadable == inbox.unrouted == 0
    assert notified == inbox.routed
    assert stats.queue_refused_signatures == 0


async def _on_the_fake(tmp_path: Path) -> tuple[MarketStatus, FakeStats, InboxCounters, int]:
    from adapters.simulated.marketplace import catalog_settings
    from engine.catalog import from_settings
    from engine.ports import Clock
    from sim.api import MarketApi
    from sim.fake import DEFAULT_WALL_ORIGIN, SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY
    from sim.ids import our_seller_id
    from sim.scenarios import RunParams, build_market

    market = build_market("S1b", 1, 20, RunParams(), start_at=trio.current_time())
    fake = SpApiFake(MarketApi(market), {REFRESH_TOKEN: 0})
    notifications = f"""
[seller.notifications]
queue_url = "{ENDPOINT}/000000000000/repricer-sim"
aws_region = "eu-west-1"
aws_access_key_id = "{SIM_AWS_ACCESS_KEY_ID}"
aws_secret_access_key = "{SIM_AWS_SECRET_ACCESS_KEY}"
"""
    text = CONFIG.replace(OURS, our_seller_id(0)).replace('["DE", "FR"]', '["DE"]') + notifications
    config = _config(tmp_path, text)
    store = MemoryStore()
    await store.save_catalog([from_settings(offer) for offer in catalog_settings(market, seller="acme-eu")])
    planned = await plan_daemon(config, store, database=DATABASE)
    clock = Clock(DEFAULT_WALL_ORIGIN + timedelta(seconds=trio.current_time()))  # the fake's wall time
    async with open_accounts(config.sellers, transport=httpx.ASGITransport(app=fake), clock=clock) as accounts:
        daemon = compose_daemon(planned.plan, accounts, store, EngineSearch(), services=[_Fake(fake)])
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            await trio.sleep(2 * 3600)
            [status] = daemon.status()
            daemon.stop.set()
        [adapter] = accounts.adapters.values()
        [inbox] = accounts.inboxes.values()
    return status, fake.read_stats(), inbox.counters, adapter.notified


async def test_each_marketplace_s_feeds_follow_the_seller_s_feeds_table(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    config = _config(tmp_path, CONFIG + "\n[seller.feeds]\nleast = 40\npoll_every_s = 10\n")
    async with open_accounts(config.sellers, transport=httpx.MockTransport(Amazon())) as accounts:
        adapters = [accounts.marketplace("acme-eu", code) for code in ("DE", "FR")]
    assert [adapter.feeder.config for adapter in adapters] == [config.sellers[0].feeds] * 2
    assert config.sellers[0].feeds.least == 40 and config.sellers[0].feeds.poll_every_s == 10.0
