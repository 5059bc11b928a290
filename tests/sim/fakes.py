"""A small shop behind the SP-API fake, and the real adapter's pieces pointed at it, for the fake's tests.

The shop is one seller's four offers in DE, each showing one of Amazon's cases: two Buy Box winners (a Prime offer
for the Prime shoppers, a cheaper merchant offer for the others), our own offer winning, nothing buyable, and a
Buy Box suppressed by the reference price.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft4Validator

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import AccessTokens, SpApiClient
from adapters.spapi.marketplace import SpApiMarketplace
from engine.config import Credentials, CredentialSources, Endpoints, Secret, SellerAccount
from sim.api import MarketApi
from sim.competitors import CompetitorSpec
from sim.fake import LWA_TOKEN_PATH, Faults, SpApiFake
from sim.latency import LatencyParams
from sim.market import Market
from sim.spec import OurSpec, RowSpec, spec_from_rows

REFRESH = "Atzr|sim-refresh-0"
BASE = "https://sellingpartnerapi-eu.amazon.com"
LWA = f"https://api.amazon.com{LWA_TOKEN_PATH}"
DE = "A1PA6795UKMFR9"
MODELS = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "spapi-models"

SPLIT, OURS_WIN, NOTHING_BUYABLE, SUPPRESSED = 0, 1, 2, 3


def shop(*, latency: LatencyParams | None = None) -> Market:
    """The four rows named above (stream keys chosen so the first draws its two winners), with page views, in DE."""
    rows = [
        RowSpec(
            OurSpec(2000, 500, 3000),
            [CompetitorSpec(price=1040, fba=True), CompetitorSpec(price=1000, handling_days=1, feedback=0.99)],
            views_per_s=0.1,
            stream_key=4,
        ),
        RowSpec(OurSpec(900, 500, 3000, shipping=100), [CompetitorSpec(price=1200, shipping=50)], views_per_s=0.1),
        RowSpec(OurSpec(1000, 500, 3000, stock=0), [CompetitorSpec(price=1000, in_stock=False)], views_per_s=0.1),
        RowSpec(OurSpec(1500, 500, 3000), [CompetitorSpec(price=1400)], ref_price=1000, views_per_s=0.1),
    ]
    return Market(spec_from_rows(rows), seed=3, latency=latency, notifications=False)


def fake_of(market: Market, **options: Any) -> SpApiFake:
    return SpApiFake(MarketApi(market), {REFRESH: 0}, **options)


def account(market: Market, *, base: str = BASE, lwa: str = LWA) -> SellerAccount:
    return SellerAccount(
        id="acme",
        merchant_id=market.seller_id(0, 0),
        region="EU",
        credentials=Credentials(
            "id", Secret("secret"), Secret(REFRESH), CredentialSources("literal", "literal", "literal")
        ),
        endpoints=Endpoints(sp_api=base, lwa_token=lwa),
        markets=(),
    )


@asynccontextmanager
async def adapter(
    fake: SpApiFake, *, faults: Faults | None = None
) -> AsyncIterator[tuple[SpApiMarketplace, httpx.AsyncClient]]:
    """The real SP-API adapter for DE over the fake, in-process; and the HTTP client it uses (for the stats)."""
    market = fake.apis[0].market
    if faults is not None:
        fake.set_faults(faults)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        seller = account(market)
        client = SpApiClient(seller, http, AccessTokens(seller, http))
        yield SpApiMarketplace(seller, "DE", client, catalog_settings(market, seller="acme")), http


async def token(client: httpx.AsyncClient) -> dict[str, str]:
    """The headers of a call with a fresh access token."""
    form = {"grant_type": "refresh_token", "refresh_token": REFRESH, "client_id": "id", "client_secret": "s"}
    reply = await client.post(LWA, data=form)
    return {"x-amz-access-token": reply.json()["access_token"]}


def load_model(path: str) -> Any:
    return json.loads((MODELS / path).read_text(encoding="utf-8"))


def validator(path: str, definition: str) -> Draft4Validator:
    """A Swagger 2.0 definition as a JSON schema (draft 4), its ``$ref``s resolved among the model's definitions."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": load_model(path)["definitions"]}
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def as_json(content: bytes) -> Any:
    """A reply as JSON, numbers as `Decimal` (what the schema sees, and exact)."""
    return json.loads(content, parse_float=Decimal)


def skus(market: Market, rows: Sequence[int]) -> list[str]:
    return [market.spec.sku[row] for row in rows]
