"""The fake's featured offer expected price batch: Amazon's estimate as the market holds it, in the model's shape,
with whose offer is featured; an unknown SKU its own item's 400; a batch outside the model a 400 uncharged."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import competitive_summary_request, featured_offer_price_request, featured_offer_prices
from engine.model import FoepReading
from tests.sim.fakes import BASE, DE, MODELS, OURS_WIN, SPLIT, as_json, fake_of, shop, token, validator

FOEP = "/batches/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice"
SUMMARY = "/batches/products/pricing/2022-05-01/items/competitiveSummary"
PRICING_2022 = "models/productPricing_2022-05-01.json"
needs_models = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS})"
)


async def _post(path: str, body: bytes | dict[str, object], *, wait_s: float = 0.0) -> httpx.Response:
    fake = fake_of(shop())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        await trio.sleep(wait_s)
        if isinstance(body, bytes):
            return await client.post(path, content=body, headers=headers)
        return await client.post(path, json=body, headers=headers)


def _keys() -> list[object]:
    return [offer.key for offer in catalog_settings(shop(), seller="acme")]


@needs_models
async def test_the_2022_batches_answer_in_the_shape_of_the_model(autojump_clock: trio.testing.MockClock) -> None:
    offers = catalog_settings(shop(), seller="acme")
    foep = await _post(FOEP, featured_offer_price_request([offer.key for offer in offers]), wait_s=900.0)
    validator(PRICING_2022, "GetFeaturedOfferExpectedPriceBatchResponse").validate(as_json(foep.content))
    summary = await _post(SUMMARY, competitive_summary_request(offers), wait_s=900.0)
    validator(PRICING_2022, "CompetitiveSummaryBatchResponse").validate(as_json(summary.content))


async def test_the_estimate_is_the_market_s_with_whose_offer_is_featured(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = shop()
    keys = [offer.key for offer in catalog_settings(market, seller="acme")]
    response = await _post(FOEP, featured_offer_price_request(keys), wait_s=900.0)
    readings = featured_offer_prices(response.content, keys, at=900.0, currency="EUR", seller_id=market.seller_id(0, 0))
    truths = market.foep(list(range(market.n_rows)), 900.0)
    for reading, truth in zip(readings, truths, strict=True):
        assert isinstance(reading, FoepReading)
        # Where no offer is featured at all (nothing buyable), Amazon names no current offer: not said (None).
        assert (reading.price, reading.status, bool(reading.ours_featured)) == (
            truth.price,
            truth.status.value,
            truth.ours_featured,
        )
    assert readings[OURS_WIN].ours_featured is True  # type: ignore[union-attr]
    body = response.json()["responses"][SPLIT]["body"]
    assert body["offerIdentifier"] == {
        "asin": market.spec.asin[SPLIT],
        "marketplaceId": DE,
        "sellerId": market.seller_id(SPLIT, 0),
        "fulfillmentType": "MFN",
        "sku": market.spec.sku[SPLIT],
    }
    (result,) = body["featuredOfferExpectedPriceResults"]
    assert result["currentFeaturedOffer"] == result["competingFeaturedOffer"]  # not ours: the same offer
    assert result["competingFeaturedOffer"]["offerIdentifier"]["sellerId"] != market.seller_id(SPLIT, 0)


async def test_an_unknown_sku_is_its_own_item_s_invalid_sku(autojump_clock: trio.testing.MockClock) -> None:
    body = json.loads(featured_offer_price_request(_keys()))  # type: ignore[arg-type]
    body["requests"][2]["sku"] = "NOT-OURS"
    response = await _post(FOEP, body)
    items = response.json()["responses"]
    assert [item["status"]["statusCode"] for item in items] == [200, 200, 400, 200]
    assert items[2]["request"] == {"marketplaceId": DE, "sku": "NOT-OURS"}
    assert items[2]["body"]["errors"][0]["code"] == "INVALID_SKU"


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda r: r[0].update(uri="/products/pricing/2022-05-01/offer/other"), "expected /products/pricing"),
        (lambda r: r[0].update(method="DELETE"), "GET"),
        (lambda r: r[0].pop("sku"), "sku"),
        (lambda r: r.extend(dict(r[0]) for _ in range(37)), "1 to 40"),
    ],
)
async def test_a_batch_outside_the_model_is_a_400(
    autojump_clock: trio.testing.MockClock, change: object, detail: str
) -> None:
    body = json.loads(featured_offer_price_request(_keys()))  # type: ignore[arg-type]
    change(body["requests"])  # type: ignore[operator]
    response = await _post(FOEP, body)
    assert response.status_code == 400
    assert detail in response.json()["errors"][0]["details"]
