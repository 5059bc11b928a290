"""Properties of the wire's money, in every currency the engine's marketplaces price in: any amount in minor units
is written and read back exactly, whether Amazon writes it as a number or a string; an amount with more decimals
than its currency has is its item's failure, never a rounded price. And answers find their keys in any order."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.spapi import INVALID_RESPONSE, ListingReadBack, listing_offers, listings_item, offer_patches
from adapters.spapi.items import pair
from engine.marketplaces import MARKETPLACES
from engine.model import OfferKey, OfferSnapshot, OfferUpdate
from engine.money import MAX_MINOR, to_decimal
from engine.ports import ItemFailure
from tests.adapters.spapi.replies import batch, encode, listing, offer, offers_item, text

marketplaces = st.sampled_from(sorted(MARKETPLACES))
amounts = st.integers(0, MAX_MINOR)


@given(marketplaces, amounts, amounts, amounts, st.none() | amounts)
def test_any_update_reads_back_exactly(code: str, price: int, low: int, high: int, sale: int | None) -> None:
    market = MARKETPLACES[code]
    key = OfferKey("acme", code, "SKU-1")
    update = OfferUpdate(key, 1, market.currency_code, price, low, high, sale_price=sale)
    (patch,) = offer_patches(update)
    # Through JSON text, as Amazon receives it (and never through a float on the way back).
    written = json.loads(encode(patch.value[0]), parse_float=Decimal)
    live = str(to_decimal(price, market.currency_code))
    reply = encode(listing(market.marketplace_id, price=live, code=market.currency_code, offer=written))
    back = listings_item(reply, key, at=0.0, marketplace_id=market.marketplace_id, currency=market.currency_code)
    assert isinstance(back, ListingReadBack)
    assert (back.price, back.our_price, back.min_price, back.max_price, back.sale_price) == (
        price,
        price,
        low,
        high,
        sale,
    )


@given(marketplaces, amounts, st.booleans())
def test_any_amazon_amount_decodes_exactly_as_number_or_string(code: str, minor: int, as_string: bool) -> None:
    currency = MARKETPLACES[code].currency_code
    amount = str(to_decimal(minor, currency))
    listed = text(amount) if as_string else amount
    reply = batch(offers_item("SKU-1", [offer("A1OURS", listed, listed, code=currency)]))
    (answer,) = listing_offers(reply, [OfferKey("acme", code, "SKU-1")], at=0.0, currency=currency, seller_id="A1OURS")
    assert isinstance(answer, OfferSnapshot) and answer.our is not None
    assert (answer.our.listing_price, answer.our.shipping) == (minor, minor)


@given(marketplaces, st.integers(0, 10**12), st.integers(1, 9))
def test_an_amount_more_precise_than_its_currency_is_an_item_failure(code: str, minor: int, digit: int) -> None:
    currency = MARKETPLACES[code].currency_code
    too_precise = f"{to_decimal(minor, currency)}{digit}"  # one decimal more than the currency has, not a zero
    reply = batch(offers_item("SKU-1", [offer("A1RIVAL", too_precise, code=currency)]), offers_item("SKU-2", []))
    keys = [OfferKey("acme", code, "SKU-1"), OfferKey("acme", code, "SKU-2")]
    bad, good = listing_offers(reply, keys, at=0.0, currency=currency, seller_id="A1OURS")
    assert isinstance(bad, ItemFailure) and (bad.code, bad.transient) == (INVALID_RESPONSE, False)
    assert isinstance(good, OfferSnapshot)


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=40), st.randoms(use_true_random=False))
def test_answers_in_any_order_each_reach_their_own_key(ids: list[str], shuffle: random.Random) -> None:
    answered = list(ids)
    shuffle.shuffle(answered)
    assert [answered[index] for index in pair(ids, answered) if index is not None] == ids
