"""Faults on demand: each one does to a request what its name says, is drawn reproducibly from the fake's seed,
keeps to its window, is counted in the stats, and meets the real adapter as the port's errors."""

from __future__ import annotations

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import listing_offers_request
from engine.model import OfferUpdate
from engine.ports import AccountError, Throttled, TransientError
from sim.fake import FAULTS_PATH, STATS_PATH, UPDATES_PATH, Faults, ServerErrors, Slow, SpApiFake, Window
from sim.latency import LatencyParams
from tests.sim.fakes import BASE, OURS_WIN, adapter, fake_of, shop, token

LISTING_OFFERS = "/batches/products/pricing/v0/listingOffers"
SURE = LatencyParams(never_apply=0.0)


async def _statuses(fake: SpApiFake, calls: int, every_s: float) -> list[int]:
    """``calls`` getListingOffersBatch calls, one every ``every_s`` (the quota refills in between)."""
    body = listing_offers_request(catalog_settings(fake.apis[0].market, seller="acme"))
    statuses = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        for _ in range(calls):
            statuses.append((await client.post(LISTING_OFFERS, content=body, headers=headers)).status_code)
            await trio.sleep(every_s)
    return statuses


async def test_a_429_storm_refuses_its_share_for_its_window_and_charges_no_quota(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Half of all requests refused for ten minutes, then none: the storm's 429s are Amazon's, counted apart from
    the quota's, and the quota itself never runs dry (a call every 6 s, slower than getListingOffersBatch's rate)."""
    storm = Faults(throttle=Window(share=0.5, duration_s=600.0))
    fake = fake_of(shop(), faults=storm, seed=7, token_lifetime_s=86_400.0)
    statuses = await _statuses(fake, 200, 6.0)
    during, after = statuses[:100], statuses[100:]
    assert 30 < during.count(429) < 70
    assert after.count(429) == 0
    assert set(statuses) == {200, 429}
    stats = fake.read_stats()
    assert stats.throttled == during.count(429) == stats.faults["throttle"]
    assert stats.over_quota == 0
    # The same seed and the same requests: the same storm.
    again = fake_of(shop(), faults=storm, seed=7, token_lifetime_s=86_400.0)
    assert await _statuses(again, 200, 6.0) == statuses
    other = fake_of(shop(), faults=storm, seed=8, token_lifetime_s=86_400.0)
    assert await _statuses(other, 200, 6.0) != statuses


async def test_5xx_bursts_come_back_every_period(autojump_clock: trio.testing.MockClock) -> None:
    """A 503 burst of 10 s every minute: the calls in a burst fail with Amazon's body, the others answer."""
    faults = Faults(server_error=ServerErrors(duration_s=10.0, every_s=60.0, status=503))
    fake = fake_of(shop(), faults=faults)
    statuses = await _statuses(fake, 30, 5.0)  # at 0, 5, 10, ... s
    assert statuses == [503, 503, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] * 2 + [503, 503] + [200] * 4
    assert fake.stats.server_errors == statuses.count(503) == fake.read_stats().faults["server_error"]


async def test_the_adapter_sorts_injected_faults_as_the_port_s_errors(autojump_clock: trio.testing.MockClock) -> None:
    market = shop()
    keys = [offer.key for offer in catalog_settings(market, seller="acme")]
    for faults, error in (
        (Faults(server_error=ServerErrors(limit=1, status=500)), TransientError),
        (Faults(throttle=Window(limit=1)), Throttled),
        (Faults(malformed_json=Window(limit=1, operations=("getListingOffersBatch",))), TransientError),
        (Faults(expire_token=Window()), AccountError),  # every token expires at once: nothing cures it
    ):
        async with adapter(fake_of(shop()), faults=faults) as (amazon, _):
            with pytest.raises(error):
                await amazon.poll_offers(keys)
            if faults.expire_token is None:  # one fault, then (the quota refilled) the next call answers
                await trio.sleep(2.0)
                answers = await amazon.poll_offers(keys)
                assert [answer.key for answer in answers] == keys


async def test_a_token_that_expires_early_is_refused_as_expired_and_a_new_one_works(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = fake_of(shop(), faults=Faults(expire_token=Window(limit=1)))
    async with adapter(fake) as (amazon, http):
        answers = await amazon.poll_offers(
            [offer.key for offer in catalog_settings(fake.apis[0].market, seller="acme")]
        )
        stats = (await http.get(f"{BASE}{STATS_PATH}")).json()
    assert len(answers) == 4  # the adapter's one retry with a fresh token answered
    assert (stats["unauthorized"], stats["token_exchanges"], stats["faults"]) == (1, 2, {"expire_token": 1})


async def test_an_expired_token_says_so(autojump_clock: trio.testing.MockClock) -> None:
    fake = fake_of(shop(), faults=Faults(expire_token=Window(limit=1)))
    body = listing_offers_request(catalog_settings(fake.apis[0].market, seller="acme"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        first = await client.post(LISTING_OFFERS, content=body, headers=headers)
        second = await client.post(LISTING_OFFERS, content=body, headers=headers)  # the same token, now expired
    for refused in (first, second):
        assert refused.status_code == 403
        (error,) = refused.json()["errors"]
        assert (error["code"], error["details"]) == ("Unauthorized", "The access token you provided has expired.")


async def test_malformed_json_cuts_the_reply_but_the_update_is_done(autojump_clock: trio.testing.MockClock) -> None:
    market = shop(latency=SURE)
    fake = fake_of(market, faults=Faults(malformed_json=Window(operations=("patchListingsItem",))))
    offer = catalog_settings(market, [OURS_WIN], seller="acme")[0]
    update = OfferUpdate(offer.key, 1, "EUR", 1000, offer.bounds.min_price, offer.bounds.max_price)
    async with adapter(fake) as (amazon, _):
        (result,) = await amazon.submit([update])
        await trio.sleep(4 * 3600.0)
        market.advance_to(trio.current_time())
    assert result.status == "failed"  # the adapter cannot read it, so sends it again
    assert int(market.price[OURS_WIN, 0]) == 1000
    assert fake.read_stats().faults == {"malformed_json": 1}


async def test_an_update_accepted_but_never_applied(autojump_clock: trio.testing.MockClock) -> None:
    market = shop(latency=SURE)
    fake = fake_of(market, faults=Faults(never_apply=Window(limit=1)))
    offer = catalog_settings(market, [OURS_WIN], seller="acme")[0]
    updates = [OfferUpdate(offer.key, n, "EUR", price, 500, 3000) for n, price in ((1, 1000), (2, 1100))]
    async with adapter(fake) as (amazon, _):
        (first,) = await amazon.submit(updates[:1])
        await trio.sleep(4 * 3600.0)
        market.advance_to(trio.current_time())
        assert int(market.price[OURS_WIN, 0]) == 900  # accepted, never applied
        (second,) = await amazon.submit(updates[1:])
        await trio.sleep(4 * 3600.0)
        market.advance_to(trio.current_time())
    assert (first.status, second.status) == ("accepted", "accepted")
    assert int(market.price[OURS_WIN, 0]) == 1100
    stats = fake.read_stats()
    assert (stats.updates_accepted, stats.updates_applied, stats.faults) == (2, 1, {"never_apply": 1})


async def test_every_accepted_update_is_listed_with_its_submission_applied_or_not(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`GET /_sim/updates`: what a client killed with its call in flight is checked against. A refused update is
    not there; one a never-apply fault kept from going live is, marked so."""
    market = shop(latency=SURE)
    fake = fake_of(market, faults=Faults(never_apply=Window(limit=1)))
    offer = catalog_settings(market, [OURS_WIN], seller="acme")[0]
    prices = ((1, 1000), (2, 100), (3, 1100))  # the second below the offer's minimum: invalid
    updates = [OfferUpdate(offer.key, n, "EUR", price, 500, 3000) for n, price in prices]
    async with adapter(fake) as (amazon, http):
        results = [(await amazon.submit([update]))[0] for update in updates]
        listed = (await http.get(f"{BASE}{UPDATES_PATH}")).json()
    assert [result.status for result in results] == ["accepted", "invalid", "accepted"]
    sku = str(market.spec.sku[OURS_WIN])
    assert listed == [
        {
            "marketplace": "DE",
            "sku": sku,
            "submission_id": results[n].submission_id,
            "price": price,
            "currency": "EUR",
            "at": "2025-01-01T00:00:00.000Z",
            "applied": applied,
        }
        for n, price, applied in ((0, 1000, False), (2, 1100, True))
    ]


async def test_a_slow_reply_comes_late(autojump_clock: trio.testing.MockClock) -> None:
    fake = fake_of(shop(), faults=Faults(slow=Slow(delay_s=12.0, limit=1)))
    body = listing_offers_request(catalog_settings(fake.apis[0].market, seller="acme"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        sent = trio.current_time()
        assert (await client.post(LISTING_OFFERS, content=body, headers=headers)).status_code == 200
        slow = trio.current_time() - sent
        await trio.sleep(2.0)
        sent = trio.current_time()
        await client.post(LISTING_OFFERS, content=body, headers=headers)
        fast = trio.current_time() - sent
    assert (slow, fast) == (12.0, 0.0)


async def test_faults_are_set_read_and_cleared_over_http(autojump_clock: trio.testing.MockClock) -> None:
    fake = fake_of(shop())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        await trio.sleep(100.0)
        storm = {"throttle": {"share": 1.0, "start_s": 10.0, "duration_s": 5.0, "operations": ["getListingsItem"]}}
        set_reply = await client.post(FAULTS_PATH, json=storm)
        assert (set_reply.status_code, set_reply.json()) == (200, storm)
        assert fake.faults.throttle == Window(start_s=10.0, duration_s=5.0, operations=("getListingsItem",))
        refusals = [
            await client.post(FAULTS_PATH, json={"thrtotle": {}}),
            await client.post(FAULTS_PATH, json={"throttle": {"share": 2}}),
            await client.post(FAULTS_PATH, json={"slow": {"delay_s": -1}}),
            await client.post(FAULTS_PATH, json={"throttle": {"operations": ["getEverything"]}}),
            await client.post(FAULTS_PATH, json={"server_error": {"status": 404}}),
            await client.post(FAULTS_PATH, json={"throttle": {"every_s": 10}}),
            await client.post(FAULTS_PATH, content=b"not json"),
        ]
        assert [reply.status_code for reply in refusals] == [400] * 7
        assert "thrtotle" in refusals[0].json()["errors"][0]["details"]
        assert "getEverything" in refusals[3].json()["errors"][0]["details"]
        assert fake.faults.throttle is not None  # a refused set changes nothing
        cleared = await client.delete(FAULTS_PATH)
        assert (cleared.json(), (await client.get(FAULTS_PATH)).json()) == ({}, {})
