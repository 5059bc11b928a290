"""Offers batches (getListingOffersBatch, getItemOffersBatch) become one `OfferSnapshot` or `ItemFailure` per key:
our offer told from the others, every Buy Box winner with its segment, suppression and `NoBuyableOffers` told
apart, money exact, and a failed item failing alone."""

from __future__ import annotations

import pytest

from adapters.spapi import INVALID_RESPONSE, NO_RESPONSE, WireError, condition_of, item_offers, listing_offers
from engine.model import (
    BuyBoxPrice,
    ChannelSettings,
    Condition,
    Fulfilment,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
)
from engine.ports import ItemFailure
from engine.pricing.policy import filter_competitors, segment_winner
from tests.adapters.spapi.replies import (
    batch,
    buybox_price,
    failed_item,
    money,
    offer,
    offers_item,
    payload,
    text,
)

ME = "A2SNBFWOFW4SWG"  # the seller of `MyOffer` in Amazon's examples
AT = 1234.5


def us(sku: str) -> OfferKey:
    return OfferKey("acme", "US", sku)


def de(sku: str) -> OfferKey:
    return OfferKey("acme", "DE", sku)


def read_de(
    reply: bytes, *skus: str, amazon_seller_ids: frozenset[str] = frozenset()
) -> list[OfferSnapshot | ItemFailure]:
    keys = [de(sku) for sku in skus]
    return listing_offers(reply, keys, at=AT, currency="EUR", seller_id="A1OURS", amazon_seller_ids=amazon_seller_ids)


def snapshot(answer: OfferSnapshot | ItemFailure) -> OfferSnapshot:
    assert isinstance(answer, OfferSnapshot), answer
    return answer


def our_price(answer: OfferSnapshot | ItemFailure) -> int | None:
    our = snapshot(answer).our
    return None if our is None else our.listing_price


def failure(answer: OfferSnapshot | ItemFailure) -> ItemFailure:
    assert isinstance(answer, ItemFailure), answer
    return answer


# --- Amazon's own examples ------------------------------------------------------------------------------------


def test_listing_offers_example_finds_my_offer_the_winner_and_the_competitors() -> None:
    first, fourth = listing_offers(
        payload("listing_offers_batch.json"),
        [us("GC-QTMS-SV2I"), us("RL-JVOC-MBSL")],
        at=AT,
        currency="USD",
        seller_id=ME,
    )
    seen = snapshot(first)
    assert seen.key == us("GC-QTMS-SV2I")
    assert (seen.source, seen.as_of, seen.received_at) == ("poll", AT, AT)
    assert seen.our is not None
    assert (seen.our.listing_price, seen.our.shipping, seen.our.live, seen.our.is_buybox_winner) == (
        3000,
        0,
        True,
        False,
    )
    assert seen.our.handling_max_hours == 24
    assert [(c.seller_id, c.listing_price, c.shipping) for c in seen.competitors] == [
        ("A21GPS04ENK3GH", 50, 0),
        ("A1EZPZGQPCQEQR", 1000, 0),
        ("A29DD74D3MDLD3", 1000, 500),
        ("A1OHOT6VONX3KA", 1799, 0),
    ]
    prime = seen.competitors[3]
    assert (prime.fulfilment, prime.prime, prime.condition) == (Fulfilment.AMAZON, True, Condition.NEW)
    assert seen.buybox == (BuyBoxPrice(1000, 1000, 0, None, "A1EZPZGQPCQEQR"),)
    assert seen.buybox_state == "available"
    # Offers but no winner and no Buy Box price: the Buy Box is suppressed for everyone.
    assert snapshot(fourth).buybox == ()
    assert snapshot(fourth).buybox_state == "suppressed"


def test_item_offers_example_tells_no_buyable_offers_from_a_suppressed_buybox() -> None:
    asins = ["B000P6Q7MY", "B001Q3KU9Q", "B000OQA3N4", "B00KFRNZY6"]
    offers = [OfferSettings(us(f"SKU-{asin}"), asin, "USD", OfferBounds(100, 9000)) for asin in asins]
    ours_wins, prime_wins, suppressed, nothing = (
        snapshot(answer)
        for answer in item_offers(payload("item_offers_batch.json"), offers, at=AT, currency="USD", seller_id=ME)
    )
    # getItemOffers has no MyOffer: our offer is the one with our seller id.
    assert ours_wins.our is not None and ours_wins.our.is_buybox_winner
    assert ours_wins.competitors == ()
    assert ours_wins.buybox == (BuyBoxPrice(2100, 2100, 0, None, ME),)
    assert prime_wins.our is None
    assert prime_wins.buybox == (BuyBoxPrice(2499, 2499, 0, None, "A1OHOT6VONX3KA"),)
    assert suppressed.buybox_state == "suppressed"
    assert (nothing.our, nothing.competitors, nothing.buybox, nothing.buybox_state) == (None, (), (), "available")


# --- the Buy Box ------------------------------------------------------------------------------------------------


def two_winners(*, seller_ids: bool) -> bytes:
    """Our Prime (FBA) offer wins the Prime shoppers, a cheaper merchant-fulfilled rival the others: Amazon marks both
    winners and gives a Buy Box price for each."""
    return batch(
        offers_item(
            "MUG-1",
            [
                offer("A1RIVAL", "18.49", "0.00", winner=True),
                offer("A1OURS", "19.99", fba=True, prime=True, winner=True, mine=True),
                offer("A1THIRD", "21.00", "3.99"),
            ],
            [
                buybox_price("18.49", seller="A1RIVAL" if seller_ids else None),
                buybox_price("19.99", seller="A1OURS" if seller_ids else None),
            ],
        )
    )


@pytest.mark.parametrize("seller_ids", [True, False], ids=["by seller id", "by price"])
def test_two_buybox_winners_each_carry_their_segment(seller_ids: bool) -> None:
    (answer,) = read_de(two_winners(seller_ids=seller_ids), "MUG-1")
    seen = snapshot(answer)
    assert seen.buybox == (
        BuyBoxPrice(1849, 1849, 0, "non_prime", "A1RIVAL"),
        BuyBoxPrice(1999, 1999, 0, "prime", "A1OURS"),
    )
    # The engine competes with the winner its own shoppers see: ours is a Prime offer.
    assert seen.our is not None and seen.our.prime
    winner = segment_winner(seen.buybox, seen.our)
    assert winner is not None and winner.seller_id == "A1OURS"


def test_a_winner_the_summary_leaves_out_is_added_from_its_offer() -> None:
    reply = batch(
        offers_item(
            "MUG-1",
            [
                offer("A1RIVAL", "18.49", "2.50", winner=True),
                offer("A1PRIME", "20.99", fba=True, prime=True, winner=True),
            ],
            [buybox_price("18.49", "2.50", seller="A1RIVAL")],
        )
    )
    (answer,) = read_de(reply, "MUG-1")
    assert snapshot(answer).buybox == (
        BuyBoxPrice(2099, 1849, 250, "non_prime", "A1RIVAL"),
        BuyBoxPrice(2099, 2099, 0, "prime", "A1PRIME"),
    )


def test_b2b_and_quantity_tier_prices_are_not_the_consumer_buybox() -> None:
    reply = batch(
        offers_item(
            "MUG-1",
            [offer("A1RIVAL", "18.49", winner=True)],
            [
                buybox_price("17.00", seller="A1B2B", offerType="B2B"),
                buybox_price("16.00", seller="A1RIVAL", offerType="B2C", quantityTier=20),
                buybox_price("18.49", seller="A1RIVAL", offerType="B2C"),
                buybox_price("9.99", seller="A1USED", condition="used"),
            ],
        )
    )
    (answer,) = read_de(reply, "MUG-1")
    assert snapshot(answer).buybox == (BuyBoxPrice(1849, 1849, 0, None, "A1RIVAL"),)


def test_the_competitive_price_threshold_is_read() -> None:
    reply = batch(offers_item("MUG-1", [offer("A1RIVAL", "18.49", winner=True)], [], threshold=money("21.50")))
    (answer,) = read_de(reply, "MUG-1")
    assert snapshot(answer).competitive_price_threshold == 2150
    assert snapshot(answer).buybox_state == "available"  # a winner is marked even where the summary has no price


# --- whose offer, which condition ---------------------------------------------------------------------------------


def test_our_offer_by_seller_id_is_never_a_competitor_and_amazon_retail_is_marked() -> None:
    reply = batch(
        offers_item(
            "MUG-1",
            [
                offer("A3JWKAKR8XB7XF", "18.00", fba=True, prime=True, rating=None, hours=0),
                offer("A1OURS", "19.99"),
                offer("A1OURS", "21.99", fba=True, prime=True),  # our other offer of the ASIN
                offer("A1RIVAL", "20.50", rating="91.4", count=33, hours=72),
            ],
        )
    )
    (answer,) = read_de(reply, "MUG-1", amazon_seller_ids=frozenset({"A3JWKAKR8XB7XF"}))
    seen = snapshot(answer)
    assert seen.our is not None and seen.our.listing_price == 1999 and seen.our.feedback_pct == 99
    amazon, rival = seen.competitors
    assert (amazon.is_amazon, amazon.feedback_pct, amazon.feedback_count, amazon.handling_max_hours) == (
        True,
        None,
        0,
        0,
    )
    assert (rival.is_amazon, rival.feedback_pct, rival.feedback_count, rival.handling_max_hours) == (False, 91, 33, 72)


def test_where_we_sell_an_asin_twice_the_offer_of_the_keys_fulfilment_is_ours() -> None:
    item = offers_item("ignored", [offer("A1OURS", "19.99"), offer("A1OURS", "21.99", fba=True, prime=True)])
    item["request"] = {"Asin": "B000MUG001", "MarketplaceId": "A1PA6795UKMFR9", "ItemCondition": "New"}
    fba = OfferSettings(de("MUG-FBA"), "B000MUG001", "EUR", OfferBounds(1000, 3000), fulfilment=Fulfilment.AMAZON)
    (answer,) = item_offers(batch(item), [fba], at=AT, currency="EUR", seller_id="A1OURS")
    seen = snapshot(answer)
    assert seen.our is not None and (seen.our.listing_price, seen.our.fulfilment) == (2199, Fulfilment.AMAZON)
    assert seen.competitors == ()


@pytest.mark.parametrize(
    ("item_condition", "sub_condition", "expected"),
    [
        ("New", "new", Condition.NEW),
        ("new", "New", Condition.NEW),
        ("New", "Open Box", Condition.NEW_OPEN_BOX),
        ("New", "OpenBox", Condition.NEW_OPEN_BOX),
        ("New", "OEM", Condition.NEW_OEM),
        ("Used", "mint", Condition.USED_LIKE_NEW),
        ("used", "Very Good", Condition.USED_VERY_GOOD),
        ("Used", "VeryGood", Condition.USED_VERY_GOOD),
        ("USED", "good", Condition.USED_GOOD),
        ("Used", "Poor", Condition.USED_ACCEPTABLE),  # no engine grade: the class's lowest
        ("Collectible", "like_new", Condition.COLLECTIBLE_LIKE_NEW),
        ("Refurbished", "Refurbished Warranty", Condition.REFURBISHED),
        ("Club", "club", Condition.CLUB),
    ],
)
def test_conditions_are_read_whatever_their_case_and_spacing(
    item_condition: str, sub_condition: str, expected: Condition
) -> None:
    assert condition_of(item_condition, sub_condition) is expected


def test_used_competitors_are_filtered_by_the_engine_as_used() -> None:
    reply = batch(
        offers_item(
            "BOOK-1",
            [offer("A1OURS", "9.99", sub="like_new"), offer("A1RIVAL", "8.50", sub="acceptable")],
            condition="used",
        )
    )
    (answer,) = read_de(reply, "BOOK-1")
    seen = snapshot(answer)
    assert seen.competitors[0].condition is Condition.USED_ACCEPTABLE
    ours = OfferSettings(de("BOOK-1"), "B000BOOK01", "EUR", OfferBounds(500, 2000), condition=Condition.USED_GOOD)
    assert filter_competitors(seen.competitors, ours, ChannelSettings()) == seen.competitors


def test_an_item_condition_the_engine_does_not_know_fails_that_item() -> None:
    (answer,) = read_de(batch(offers_item("MUG-1", [offer("A1RIVAL", "9.99")], condition="Hologram")), "MUG-1")
    assert failure(answer).code == INVALID_RESPONSE
    assert "Hologram" in failure(answer).message


# --- money ----------------------------------------------------------------------------------------------------


def test_amounts_are_exact_whether_numbers_or_strings() -> None:
    reply = batch(
        offers_item(
            "MUG-1",
            [offer("A1OURS", "19.99", "4.90"), offer("A1RIVAL", text("19.99"), text("0.1"))],
            threshold=money(text("25")),
        )
    )
    seen = snapshot(read_de(reply, "MUG-1")[0])
    assert seen.our is not None and (seen.our.listing_price, seen.our.shipping) == (1999, 490)
    assert (seen.competitors[0].listing_price, seen.competitors[0].shipping) == (1999, 10)
    assert seen.competitive_price_threshold == 2500


def test_an_amount_with_more_decimals_than_its_currency_fails_its_item_alone() -> None:
    reply = batch(
        offers_item("MUG-1", [offer("A1OURS", "19.99"), offer("A1RIVAL", "18.499")]),
        offers_item("MUG-2", [offer("A1OURS", "29.99")]),
    )
    bad, good = read_de(reply, "MUG-1", "MUG-2")
    assert (failure(bad).code, failure(bad).transient) == (INVALID_RESPONSE, False)
    assert "$.responses[0].body.payload.Offers[1].ListingPrice" in failure(bad).message
    assert "more than 2 decimals for EUR" in failure(bad).message
    assert snapshot(good).our is not None


def test_an_amount_in_another_currency_fails_its_item() -> None:
    (answer,) = read_de(batch(offers_item("MUG-1", [offer("A1RIVAL", "19.99", code="GBP")])), "MUG-1")
    assert "'GBP' where EUR was asked for" in failure(answer).message


# --- failures ---------------------------------------------------------------------------------------------------


def test_a_failed_item_keeps_its_status_and_amazons_errors_and_the_others_answer() -> None:
    reply = batch(
        offers_item("MUG-1", [offer("A1OURS", "19.99")]),
        failed_item("NOPE", 400, "Bad Request", ("InvalidInput", "Invalid SellerSKU"), ("Other", "And more")),
        failed_item("BUSY", 429, "Too Many Requests", ("QuotaExceeded", "You exceeded your quota")),
        failed_item("DOWN", 503, "Service Unavailable"),
    )
    good, bad, busy, down = read_de(reply, "MUG-1", "NOPE", "BUSY", "DOWN")
    assert snapshot(good).our is not None
    assert failure(bad) == ItemFailure(
        de("NOPE"),
        AT,
        "InvalidInput",
        "HTTP 400 Bad Request: InvalidInput: Invalid SellerSKU; Other: And more",
        transient=False,
    )
    assert (failure(busy).code, failure(busy).transient) == ("QuotaExceeded", True)
    assert (failure(down).code, failure(down).message, failure(down).transient) == (
        "HTTP 503",
        "HTTP 503 Service Unavailable",
        True,
    )


def test_offers_amazon_has_not_processed_yet_are_a_transient_failure() -> None:
    (answer,) = read_de(batch(offers_item("NEW-1", [], status="ActiveButTooSoonForProcessing")), "NEW-1")
    assert (failure(answer).code, failure(answer).transient) == ("ActiveButTooSoonForProcessing", True)


def test_a_missing_required_field_fails_its_item_naming_the_path() -> None:
    broken = offers_item("MUG-1", [offer("A1OURS", "19.99")])
    del broken["body"]["payload"]["Offers"][0]["ListingPrice"]
    bad, good = read_de(batch(broken, offers_item("MUG-2", [])), "MUG-1", "MUG-2")
    assert failure(bad).message == (
        "Object missing required field `ListingPrice` - at `$.responses[0].body.payload.Offers[0]`"
    )
    assert snapshot(good).our is None


def test_answers_are_matched_by_the_request_they_echo_and_a_missing_one_fails_its_key() -> None:
    reply = batch(offers_item("MUG-2", [offer("A1OURS", "29.99")]), offers_item("MUG-1", [offer("A1OURS", "19.99")]))
    first, second, third = read_de(reply, "MUG-1", "MUG-2", "MUG-3")
    assert [our_price(first), our_price(second)] == [1999, 2999]
    assert (failure(third).code, failure(third).transient) == (NO_RESPONSE, True)


def test_a_broken_envelope_raises_naming_the_operation_and_path() -> None:
    with pytest.raises(WireError, match=r"getListingOffersBatch: Expected `array`, got `object` - at `\$.responses`"):
        read_de(b'{"responses": {}}', "MUG-1")
    with pytest.raises(WireError, match="getListingOffersBatch: "):
        read_de(b"<html>Bad Gateway</html>", "MUG-1")


def test_an_item_that_is_not_an_object_fails_the_key_in_its_place() -> None:
    reply = batch(offers_item("MUG-1", [offer("A1OURS", "19.99")]))
    reply = reply.replace(b'{"responses":[', b'{"responses":[42,', 1)
    broken, good = read_de(reply, "MUG-0", "MUG-1")
    assert failure(broken).message == "Expected `object`, got `int` - at `$.responses[0]`"
    assert our_price(good) == 1999


def test_an_item_without_a_status_line_answers_by_its_body() -> None:
    item = offers_item("MUG-1", [offer("A1OURS", "19.99")])
    del item["status"]
    errors = failed_item("NOPE", 400, "Bad Request", ("InvalidInput", "Invalid SellerSKU"))
    del errors["status"]
    good, bad = read_de(batch(item, errors), "MUG-1", "NOPE")
    assert our_price(good) == 1999
    assert (failure(bad).code, failure(bad).transient) == ("InvalidInput", False)
