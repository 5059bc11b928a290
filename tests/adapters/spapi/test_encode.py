"""An `OfferUpdate` goes to Amazon as JSON Patch: the whole purchasable offer with every price, stock and lead time
only for our own warehouse and only what changes, the shipping template when named; amounts exact."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from adapters.spapi import ListingReadBack, feed_document, listings_item, offer_patches, patch_request
from adapters.spapi.encode import MAX_FEED_MESSAGES, message_id
from engine.model import Fulfilment, OfferKey, OfferUpdate
from tests.adapters.spapi.replies import encode, listing

DE = "A1PA6795UKMFR9"


def update(**changes: Any) -> OfferUpdate:
    fields: dict[str, Any] = {
        "key": OfferKey("acme", "DE", "MUG-1"),
        "update_id": 7,
        "currency": "EUR",
        "price": 1999,
        "min_price": 1500,
        "max_price": 2999,
    }
    return OfferUpdate(**{**fields, **changes})


def body(change: OfferUpdate) -> Any:
    return json.loads(patch_request(change), parse_float=Decimal)


def price(amount: str) -> list[dict[str, Any]]:
    return [{"schedule": [{"value_with_tax": Decimal(amount)}]}]


OFFER = {
    "op": "replace",
    "path": "/attributes/purchasable_offer",
    "value": [
        {
            "marketplace_id": DE,
            "currency": "EUR",
            "audience": "ALL",
            "our_price": price("19.99"),
            "minimum_seller_allowed_price": price("15.00"),
            "maximum_seller_allowed_price": price("29.99"),
        }
    ],
}


def test_a_merchant_fulfilled_update_sets_the_whole_offer_stock_lead_time_and_template() -> None:
    change = update(quantity=10, lead_time_days=2, shipping_group="Standardvorlage")
    assert body(change) == {
        "productType": "PRODUCT",
        "patches": [
            OFFER,
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10, "lead_time_to_ship_max_days": 2}],
            },
            {
                "op": "replace",
                "path": "/attributes/merchant_shipping_group",
                "value": [{"value": "Standardvorlage", "marketplace_id": DE}],
            },
        ],
    }


def test_amounts_are_written_as_exact_numbers() -> None:
    raw = patch_request(update(price=1999, min_price=1500, max_price=100000))
    assert b'"our_price":[{"schedule":[{"value_with_tax":19.99}]}]' in raw
    assert b'"minimum_seller_allowed_price":[{"schedule":[{"value_with_tax":15.00}]}]' in raw
    assert b'"maximum_seller_allowed_price":[{"schedule":[{"value_with_tax":1000.00}]}]' in raw


def test_the_price_always_travels_with_its_bounds_and_the_sale_price() -> None:
    (offer,) = body(update(sale_price=1749))["patches"]
    assert offer["value"][0]["discounted_price"] == price("17.49")
    assert offer["value"][0]["our_price"] == price("19.99")
    assert offer["value"][0]["minimum_seller_allowed_price"] == price("15.00")


def test_without_a_sale_price_none_is_sent_so_replace_ends_any() -> None:
    (offer,) = body(update())["patches"]
    assert "discounted_price" not in offer["value"][0]


def test_an_offer_amazon_fulfils_never_gets_stock_lead_time_or_template() -> None:
    change = update(fulfilment=Fulfilment.AMAZON, quantity=10, lead_time_days=2, shipping_group="Standardvorlage")
    assert body(change)["patches"] == [OFFER]


def test_prices_only_sends_the_offer_alone() -> None:
    change = update(quantity=10, lead_time_days=2, shipping_group="Standardvorlage", prices_only=True)
    assert body(change)["patches"] == [OFFER]


@pytest.mark.parametrize(
    ("quantity", "lead_time", "sent"),
    [
        (None, None, None),
        (4, None, {"fulfillment_channel_code": "DEFAULT", "quantity": 4}),
        (None, 5, {"fulfillment_channel_code": "DEFAULT", "lead_time_to_ship_max_days": 5}),
        (0, 1, {"fulfillment_channel_code": "DEFAULT", "quantity": 0, "lead_time_to_ship_max_days": 1}),
    ],
)
def test_stock_and_lead_time_send_only_what_changes(
    quantity: int | None, lead_time: int | None, sent: dict[str, Any] | None
) -> None:
    path = "/attributes/fulfillment_availability"
    patches = body(update(quantity=quantity, lead_time_days=lead_time))["patches"]
    expected = [] if sent is None else [{"op": "merge", "path": path, "value": [sent]}]
    assert [patch for patch in patches if patch["path"] == path] == expected


def test_an_encoded_offer_reads_back_as_it_was_sent() -> None:
    change = update(price=2345, min_price=1000, max_price=4000, sale_price=2000)
    (offer,) = offer_patches(change)
    item = listing(price="23.45", offer=json.loads(encode(offer.value[0]), parse_float=Decimal))
    back = listings_item(encode(item), change.key, at=0.0, marketplace_id=DE, currency="EUR")
    assert isinstance(back, ListingReadBack)
    assert (back.price, back.our_price, back.min_price, back.max_price, back.sale_price) == (
        2345,
        2345,
        1000,
        4000,
        2000,
    )


# --- JSON_LISTINGS_FEED ---------------------------------------------------------------------------------------------


def test_a_feed_names_each_message_by_its_update_id_and_carries_each_updates_patches() -> None:
    """A message's id is its update's, so a processing report read after a restart maps onto the updates still
    waiting for it, whatever else the feed carried."""
    updates = [
        update(quantity=3),
        update(key=OfferKey("acme", "DE", "MUG-2"), update_id=8, fulfilment=Fulfilment.AMAZON),
    ]
    document = json.loads(feed_document(updates, seller_id="A1OURS"), parse_float=Decimal)
    assert document["header"] == {"sellerId": "A1OURS", "version": "2.0", "issueLocale": "en_US"}
    first, second = document["messages"]
    assert {k: v for k, v in first.items() if k != "patches"} == {
        "messageId": 7,
        "sku": "MUG-1",
        "operationType": "PATCH",
        "productType": "PRODUCT",
    }
    assert first["patches"] == body(updates[0])["patches"]
    assert (second["messageId"], second["sku"], second["patches"]) == (8, "MUG-2", [OFFER])


def test_message_ids_stay_within_the_schemas_range() -> None:
    assert [message_id(update(update_id=n)) for n in (1, 2_147_483_647, 2_147_483_648, 2_147_483_650)] == [
        1,
        2_147_483_647,
        1,
        3,
    ]


def test_a_feed_takes_one_to_25000_messages_each_of_its_own_update() -> None:
    with pytest.raises(ValueError, match="1 to 25000 messages, not 0"):
        feed_document([], seller_id="A1OURS")
    with pytest.raises(ValueError, match="not 25001"):
        feed_document([update()] * (MAX_FEED_MESSAGES + 1), seller_id="A1OURS")
    with pytest.raises(ValueError, match="distinct update ids"):
        feed_document([update(), update(key=OfferKey("acme", "DE", "MUG-2"))], seller_id="A1OURS")
