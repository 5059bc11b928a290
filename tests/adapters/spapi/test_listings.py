"""A listing read back (getListingsItem) says the live price the engine verifies against, with the offer's bounds,
sale price and Amazon's issues; a patch's reply becomes the update's `SubmissionResult` with Amazon's issues."""

from __future__ import annotations

from decimal import Decimal

from adapters.spapi import INVALID_RESPONSE, ListingReadBack, listings_item, patch_failure, patch_result
from engine.model import ListingState, OfferKey, OfferUpdate, SubmissionResult
from engine.ports import ItemFailure
from tests.adapters.spapi.replies import encode, listing, payload

AT = 7.0
US, CA, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1PA6795UKMFR9"
KEY = OfferKey("acme", "DE", "MUG-1")


def schedule(amount: str | Decimal) -> list[dict[str, object]]:
    return [{"schedule": [{"value_with_tax": amount}]}]


def read(reply: bytes, marketplace_id: str = DE, currency: str = "EUR") -> ListingReadBack:
    answer = listings_item(reply, KEY, at=AT, marketplace_id=marketplace_id, currency=currency)
    assert isinstance(answer, ListingReadBack), answer
    return answer


def test_listing_example_reads_each_marketplace_apart() -> None:
    united_states = read(payload("listings_item.json"), US, "USD")
    assert (united_states.price, united_states.live, united_states.quantity) == (10000, True, 100)
    assert [issue.code for issue in united_states.issues] == ["90220", "18027", "99300", "18155", "18742"]
    canada = read(payload("listings_item.json"), CA, "CAD")
    # Listed in Canada at CAD 130.00 but not buyable there; only the issues that name Canada are Canada's.
    assert (canada.price, canada.live) == (13000, False)
    assert [issue.code for issue in canada.issues] == ["18027", "99300"]
    assert canada.state == ListingState(KEY, AT, 13000, live=False)
    assert str(united_states.issues[0]) == "ERROR 90220: 'size' is required but not supplied. [size]"


def test_read_back_gives_the_live_price_and_the_purchasable_offer_as_amazon_holds_it() -> None:
    offer = {
        "marketplace_id": DE,
        "currency": "EUR",
        "audience": "ALL",
        "our_price": schedule(Decimal("19.99")),
        "minimum_seller_allowed_price": schedule(Decimal("15.00")),
        "maximum_seller_allowed_price": schedule("29.99"),  # a string is read as well
        "discounted_price": [
            {"schedule": [{"value_with_tax": Decimal("17.49"), "start_at": "2026-08-01", "end_at": "2026-08-31"}]}
        ],
    }
    back = read(encode(listing(price="17.49", offer=offer, quantity=3)))
    assert back == ListingReadBack(
        key=KEY,
        as_of=AT,
        price=1749,
        live=True,
        our_price=1999,
        min_price=1500,
        max_price=2999,
        sale_price=1749,
        quantity=3,
    )
    assert back.state == ListingState(KEY, AT, 1749, live=True)


def test_a_listing_without_an_offer_here_has_no_live_price() -> None:
    back = read(encode(listing(price=None, buyable=False, quantity=None)))
    assert back.state == ListingState(KEY, AT, None, live=False)
    assert (back.our_price, back.quantity) == (None, None)


def test_an_offer_for_business_buyers_is_not_the_price_shoppers_see() -> None:
    item = listing(price="19.99")
    item["offers"].insert(
        0, {"marketplaceId": DE, "offerType": "B2B", "price": {"currencyCode": "EUR", "amount": "17.00"}}
    )
    assert read(encode(item)).price == 1999


def test_an_over_precise_amount_fails_the_read_back_naming_the_attribute() -> None:
    offer = {"marketplace_id": DE, "currency": "EUR", "audience": "ALL", "our_price": schedule(Decimal("19.999"))}
    answer = listings_item(encode(listing(offer=offer)), KEY, at=AT, marketplace_id=DE, currency="EUR")
    assert isinstance(answer, ItemFailure)
    assert (answer.code, answer.transient) == (INVALID_RESPONSE, False)
    assert answer.message.startswith("$.attributes.purchasable_offer[0].our_price[0].schedule[0].value_with_tax: ")


def test_an_unreadable_read_back_is_the_keys_failure() -> None:
    answer = listings_item(b'{"offers": [{"marketplaceId": 3}]}', KEY, at=AT, marketplace_id=DE, currency="EUR")
    assert isinstance(answer, ItemFailure)
    assert answer.message == "Expected `str`, got `int` - at `$.offers[0].marketplaceId`"
    assert not answer.transient  # asking again gets the same shape


def test_a_read_back_cut_short_on_the_way_is_worth_asking_again() -> None:
    whole = encode(listing())
    answer = listings_item(whole[: len(whole) // 2], KEY, at=AT, marketplace_id=DE, currency="EUR")
    assert isinstance(answer, ItemFailure)
    assert (answer.code, answer.transient) == (INVALID_RESPONSE, True)


# --- patchListingsItem's reply -----------------------------------------------------------------------------------

UPDATE = OfferUpdate(
    key=OfferKey("acme", "US", "GM-ZDPI-9B4E"), update_id=41, currency="USD", price=1999, min_price=1500, max_price=2999
)


def test_accepted_is_accepted_with_its_submission_id() -> None:
    assert patch_result(payload("patch_accepted.json"), UPDATE, at=AT) == SubmissionResult(
        UPDATE.key, 41, "accepted", AT, 1999, (), "f1dc2914-75dd-11ea-bc55-0242ac130003"
    )


def test_invalid_keeps_amazons_issues() -> None:
    result = patch_result(payload("patch_invalid.json"), UPDATE, at=AT)
    assert (result.status, result.submission_id) == ("invalid", "a1c562c2-1695-11ee-be56-0242ac120002")
    assert result.issues == ("ERROR 90000900: The attributes are invalid. [fake_attribute]",)


def test_accepted_with_warnings_keeps_them() -> None:
    reply = encode(
        {
            "sku": "GM-ZDPI-9B4E",
            "status": "ACCEPTED",
            "submissionId": "s-1",
            "issues": [{"code": "18448", "message": "Attributes incomplete", "severity": "WARNING", "categories": []}],
        }
    )
    result = patch_result(reply, UPDATE, at=AT)
    assert (result.status, result.issues) == ("accepted", ("WARNING 18448: Attributes incomplete",))


def test_a_validation_preview_submitted_nothing_and_is_not_accepted() -> None:
    result = patch_result(b'{"sku": "X", "status": "VALID", "submissionId": "s-2", "issues": []}', UPDATE, at=AT)
    assert (result.status, result.issues) == ("invalid", ("Amazon answered VALID: nothing was submitted",))


def test_a_reply_that_cannot_be_read_is_failed_and_sent_again() -> None:
    result = patch_result(b'{"status": "ACCEPTED"}', UPDATE, at=AT)
    assert result.status == "failed"
    assert result.issues == ("InvalidResponse: Object missing required field `submissionId`",)


def test_error_replies_by_status() -> None:
    refused = patch_failure(UPDATE, at=AT, status=400, reply=payload("patch_error.json"))
    assert (refused.status, refused.issues) == ("invalid", ("BAD_REQUEST: Invalid input",))
    # Amazon's 429 body (reference/spapi.md), with its empty details.
    quota = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
    throttled = patch_failure(UPDATE, at=AT, status=429, reply=encode({"errors": [quota]}))
    assert (throttled.status, throttled.issues) == (
        "throttled",
        ("QuotaExceeded: You exceeded your quota for the requested resource.",),
    )
    down = patch_failure(UPDATE, at=AT, status=503, reply=b"<html>Service Unavailable</html>")
    assert (down.status, down.issues, down.price, down.update_id) == ("failed", ("HTTP 503",), 1999, 41)
