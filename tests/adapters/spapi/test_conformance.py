"""Against Amazon's complete models: every example reply of the operations the adapter reads decodes into an answer
for every key asked, and every body the adapter writes is valid by the model's own JSON schema.

The models are not part of the repository (`payloads/README.md`): these tests read them from
``../shared/reference/spapi-models`` beside it, and skip, saying so, where that folder is absent.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator

from adapters.spapi import (
    INVALID_RESPONSE,
    NO_RESPONSE,
    ListingReadBack,
    competitive_summary_request,
    create_feed_document_request,
    create_feed_request,
    featured_offer_price_request,
    featured_offer_prices,
    featured_shares,
    feed_document,
    item_offers,
    item_offers_request,
    listing_offers,
    listing_offers_request,
    listings_item,
    patch_failure,
    patch_request,
    patch_result,
)
from engine.model import Condition, Fulfilment, OfferBounds, OfferKey, OfferSettings, OfferUpdate
from engine.ports import ItemFailure
from tests.adapters.spapi.replies import MODELS, example

pytestmark = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS.resolve()})"
)

PRICING_V0 = "models/productPricingV0.json"
PRICING_2022 = "models/productPricing_2022-05-01.json"
LISTINGS = "models/listingsItems_2021-08-01.json"
FEEDS = "models/feeds_2021-06-30.json"


def load(path: str) -> Any:
    return json.loads((MODELS / path).read_text(encoding="utf-8"))


def examples(path: str, operation: str, status: str = "200") -> list[tuple[Any, Any]]:
    """(request parameters, response) of each sandbox example of ``operation``'s ``status`` reply."""
    for methods in load(path)["paths"].values():
        for spec in methods.values():
            if isinstance(spec, dict) and spec.get("operationId") == operation:
                sandbox = spec["responses"][status]["x-amzn-api-sandbox"]
                return [(e["request"]["parameters"], e["response"]) for e in sandbox.get("static", [])]
    raise LookupError(f"{operation} is not in {path}")


def validator(path: str, definition: str) -> Draft4Validator:
    """A Swagger 2.0 definition as a JSON schema (draft 4), its ``$ref``s resolved among the model's definitions."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": load(path)["definitions"]}
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def settings(key: OfferKey, asin: str = "B000MUG001", **more: Any) -> OfferSettings:
    return OfferSettings(key, asin, "USD", OfferBounds(100, 100_000), **more)


UPDATES = [
    OfferUpdate(OfferKey("acme", "DE", "MUG-1"), 1, "EUR", 1999, 1500, 2999, quantity=10, lead_time_days=2),
    OfferUpdate(OfferKey("acme", "DE", "MUG-2"), 2, "EUR", 1999, 1500, 2999, sale_price=1749, shipping_group="g-1"),
    OfferUpdate(OfferKey("acme", "SE", "MUG-3"), 3, "SEK", 19900, 15000, 29900, fulfilment=Fulfilment.AMAZON),
    OfferUpdate(OfferKey("acme", "US", "MUG-4"), 4, "USD", 1999, 1500, 2999, quantity=5, prices_only=True),
]


# --- Amazon's examples decode ---------------------------------------------------------------------------------------


def assert_all_answered(answers: list[Any]) -> None:
    unanswered = [a for a in answers if isinstance(a, ItemFailure) and a.code in (INVALID_RESPONSE, NO_RESPONSE)]
    assert not unanswered


@pytest.mark.parametrize("operation", ["getItemOffersBatch", "getListingOffersBatch"])
def test_every_offers_batch_example_answers_every_key(operation: str) -> None:
    for request, response in examples(PRICING_V0, operation):
        # The ASIN or SKU in each request's path.
        ids = [each["uri"].split("/")[-2] for each in request["body"]["value"]["requests"]]
        reply = json.dumps(response).encode()
        if operation == "getItemOffersBatch":
            offers = [settings(OfferKey("acme", "US", f"SKU-{n}"), asin) for n, asin in enumerate(ids)]
            answers = item_offers(reply, offers, at=0.0, currency="USD", seller_id="A2SNBFWOFW4SWG")
        else:
            keys = [OfferKey("acme", "US", sku) for sku in ids]
            answers = listing_offers(reply, keys, at=0.0, currency="USD", seller_id="A2SNBFWOFW4SWG")
        assert len(answers) == len(ids)
        assert_all_answered(answers)


def test_every_featured_offer_example_answers_every_key() -> None:
    for request, response in examples(PRICING_2022, "getFeaturedOfferExpectedPriceBatch"):
        keys = [OfferKey("acme", "US", r["sku"]) for r in request["body"]["value"]["requests"]]
        answers = featured_offer_prices(json.dumps(response).encode(), keys, at=0.0, currency="USD", seller_id="X")
        assert_all_answered(answers)
    for request, response in examples(PRICING_2022, "getCompetitiveSummary"):
        offers = [settings(OfferKey("acme", "US", r["asin"]), r["asin"]) for r in request["body"]["value"]["requests"]]
        answers = featured_shares(json.dumps(response).encode(), offers, at=0.0, currency="USD", seller_id="X")
        assert_all_answered(answers)


def test_every_listings_example_decodes() -> None:
    key = OfferKey("acme", "US", "GM-ZDPI-9B4E")
    for _, response in examples(LISTINGS, "getListingsItem"):
        back = listings_item(json.dumps(response).encode(), key, at=0.0, marketplace_id="ATVPDKIKX0DER", currency="USD")
        assert isinstance(back, ListingReadBack)
    update = UPDATES[3]
    for _, response in examples(LISTINGS, "patchListingsItem"):
        assert patch_result(json.dumps(response).encode(), update, at=0.0).status in ("accepted", "invalid")
    for _, response in examples(LISTINGS, "patchListingsItem", "400"):
        assert patch_failure(update, at=0.0, status=400, reply=json.dumps(response).encode()).status == "invalid"


def test_the_payload_copies_are_amazons_examples() -> None:
    whole = {
        "foep_batch.json": (PRICING_2022, "getFeaturedOfferExpectedPriceBatch", "200"),
        "competitive_summary_batch.json": (PRICING_2022, "getCompetitiveSummary", "200"),
        "listings_item.json": (LISTINGS, "getListingsItem", "200"),
        "patch_error.json": (LISTINGS, "patchListingsItem", "400"),
    }
    for name, (path, operation, status) in whole.items():
        assert example(name) in [response for _, response in examples(path, operation, status)], name
    for name, operation in (
        ("item_offers_batch.json", "getItemOffersBatch"),
        ("listing_offers_batch.json", "getListingOffersBatch"),
    ):
        ((_, original),) = examples(PRICING_V0, operation)
        for item in example(name)["responses"]:
            (source,) = [r for r in original["responses"] if r["request"] == item["request"]]
            offers = source["body"]["payload"]["Offers"]
            assert all(o in offers for o in item["body"]["payload"]["Offers"]), name


# --- what the adapter writes is valid ---------------------------------------------------------------------------


def test_every_patch_body_is_a_valid_listings_item_patch_request() -> None:
    schema = validator(LISTINGS, "ListingsItemPatchRequest")
    for update in UPDATES:
        schema.validate(json.loads(patch_request(update), parse_float=Decimal))


def test_a_feed_document_is_valid_by_the_listings_feed_schema() -> None:
    document = json.loads(feed_document(UPDATES, seller_id="A1OURS"), parse_float=Decimal)
    feed = json.loads((MODELS / "schemas/listings-feed-schema-v2.json").read_text(encoding="utf-8"))
    message = json.loads((MODELS / "schemas/listings-feed-message-schema-v2.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(feed)
    Draft7Validator(feed).validate(document)
    for each in document["messages"]:
        Draft7Validator(message).validate(each)


def test_the_request_bodies_are_valid_by_their_models() -> None:
    offers = [
        settings(OfferKey("acme", "DE", "MUG/1 blue")),
        settings(OfferKey("acme", "FR", "BOOK-1"), "B000BOOK01", condition=Condition.USED_GOOD),
    ]
    bodies: list[tuple[str, str, bytes]] = [
        (PRICING_V0, "GetListingOffersBatchRequest", listing_offers_request(offers)),
        (PRICING_V0, "GetItemOffersBatchRequest", item_offers_request(offers)),
        (
            PRICING_2022,
            "GetFeaturedOfferExpectedPriceBatchRequest",
            featured_offer_price_request([o.key for o in offers]),
        ),
        (PRICING_2022, "CompetitiveSummaryBatchRequest", competitive_summary_request(offers)),
        (FEEDS, "CreateFeedDocumentSpecification", create_feed_document_request()),
        (FEEDS, "CreateFeedSpecification", create_feed_request("doc-1", ["A1PA6795UKMFR9"])),
    ]
    for path, definition, body in bodies:
        validator(path, definition).validate(json.loads(body))
