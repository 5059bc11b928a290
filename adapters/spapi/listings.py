"""Our listing as the Listings Items API shows it: getListingsItem read back, and patchListingsItem's reply.

An update Amazon ACCEPTED is accepted for processing, not applied: the engine verifies it by reading the listing
back and comparing the price shoppers are offered with the price it sent. So the read-back's `price` is the live
B2C offer (``offers``), not the ``purchasable_offer`` attribute, which says what Amazon accepted last; both are
kept, with the bounds, the sale price, the quantity and Amazon's issues with the listing in this marketplace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import msgspec

from adapters.spapi.items import INVALID_RESPONSE, amount_minor, invalid, minor, unreadable
from adapters.spapi.wire.common import errors_of
from adapters.spapi.wire.listings import Issue, ListingsItem, PriceSchedule, PurchasableOffer, SubmissionResponse
from engine.model import ListingState, OfferKey, OfferUpdate, SubmissionResult, SubmissionStatus
from engine.money import MoneyError
from engine.ports import ItemFailure

__all__ = ["ListingReadBack", "listings_item", "patch_failure", "patch_result"]

_ITEM: Final = msgspec.json.Decoder(ListingsItem)
_SUBMISSION: Final = msgspec.json.Decoder(SubmissionResponse)
_STATUSES: Final[dict[str, SubmissionStatus]] = {"ACCEPTED": "accepted", "INVALID": "invalid"}


class ListingReadBack(msgspec.Struct, frozen=True, gc=False):
    """Our listing in one marketplace, as getListingsItem showed it at ``as_of``.

    ``price`` is what shoppers are offered (None: no offer in this marketplace) and ``live`` whether the listing is
    buyable; ``our_price``, ``min_price``, ``max_price`` and ``sale_price`` are the ``purchasable_offer`` as Amazon
    holds it, ``quantity`` the stock of the seller's own channel (None for an offer Amazon fulfils), ``issues``
    Amazon's for this marketplace. The engine's port takes the `state`.
    """

    key: OfferKey
    as_of: float
    price: int | None
    live: bool
    our_price: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    sale_price: int | None = None
    quantity: int | None = None
    issues: tuple[Issue, ...] = ()

    @property
    def state(self) -> ListingState:
        return ListingState(self.key, self.as_of, self.price, self.live)


def listings_item(
    reply: bytes, key: OfferKey, *, at: float, marketplace_id: str, currency: str
) -> ListingReadBack | ItemFailure:
    """getListingsItem's reply (with summaries, attributes, issues, offers and fulfillment availability) for
    ``key``: what it says about ``marketplace_id``. A reply that cannot be read, or with an amount that is not one
    of ``currency``, is the key's failure: transient when the reply is not JSON at all (cut short on the way), for
    good when it is JSON of another shape."""
    try:
        item = _ITEM.decode(reply)
    except msgspec.ValidationError as error:  # a subclass of DecodeError: JSON, of another shape
        return invalid(key, at, str(error))
    except msgspec.DecodeError as error:
        return unreadable(key, at, str(error))
    try:
        price = _offered_price(item, marketplace_id, currency)
        terms = _terms(item, marketplace_id, currency)
    except MoneyError as error:
        return invalid(key, at, str(error))
    own_stock = [f.quantity for f in item.fulfillment_availability if f.fulfillment_channel_code == "DEFAULT"]
    return ListingReadBack(
        key=key,
        as_of=at,
        price=price,
        live=any(s.marketplace_id == marketplace_id and "BUYABLE" in s.status for s in item.summaries),
        our_price=terms.our_price,
        min_price=terms.min_price,
        max_price=terms.max_price,
        sale_price=terms.sale_price,
        quantity=own_stock[0] if own_stock else None,
        issues=tuple(i for i in item.issues if not i.marketplace_ids or marketplace_id in i.marketplace_ids),
    )


def _offered_price(item: ListingsItem, marketplace_id: str, currency: str) -> int | None:
    """The consumer offer's price in the marketplace (B2C, for every audience), or None."""
    for index, offer in enumerate(item.offers):
        audience = None if offer.audience is None else offer.audience.value
        if offer.marketplace_id == marketplace_id and offer.offer_type == "B2C" and audience in (None, "ALL"):
            return minor(offer.price, currency, f"$.offers[{index}].price")
    return None


class _Terms(NamedTuple):
    our_price: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    sale_price: int | None = None


def _terms(item: ListingsItem, marketplace_id: str, currency: str) -> _Terms:
    """The prices of the marketplace's ``purchasable_offer`` for every audience (none where it has none)."""
    for index, offer in enumerate(item.attributes.purchasable_offer):
        if offer.marketplace_id == marketplace_id and offer.audience in (None, "ALL"):
            where = f"$.attributes.purchasable_offer[{index}]"
            return _Terms(
                our_price=_first(offer.our_price, offer, currency, f"{where}.our_price"),
                min_price=_first(
                    offer.minimum_seller_allowed_price, offer, currency, f"{where}.minimum_seller_allowed_price"
                ),
                max_price=_first(
                    offer.maximum_seller_allowed_price, offer, currency, f"{where}.maximum_seller_allowed_price"
                ),
                sale_price=_first(offer.discounted_price, offer, currency, f"{where}.discounted_price"),
            )
    return _Terms()


def _first(prices: tuple[PriceSchedule, ...], offer: PurchasableOffer, currency: str, where: str) -> int | None:
    """The first scheduled value of one of the offer's prices, or None when it has none."""
    for n, price in enumerate(prices):
        if price.schedule:
            value = price.schedule[0].value_with_tax
            return amount_minor(value, offer.currency, currency, f"{where}[{n}].schedule[0].value_with_tax")
    return None


def patch_result(reply: bytes, update: OfferUpdate, *, at: float) -> SubmissionResult:
    """patchListingsItem's 200 reply for ``update``: ``accepted`` (which is not applied: verify by reading back),
    or ``invalid`` with Amazon's issues. A reply that cannot be read says nothing of what Amazon did: the update
    ``failed`` and is sent again (the latest price of a SKU wins, so a repeat does no harm)."""
    try:
        response = _SUBMISSION.decode(reply)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return _result(update, at, "failed", (f"{INVALID_RESPONSE}: {error}",))
    issues = tuple(str(issue) for issue in response.issues)
    status = _STATUSES.get(response.status)
    if status is None:
        # VALID answers a validation preview, which submits nothing; the adapter never asks for one.
        issues = (f"Amazon answered {response.status}: nothing was submitted", *issues)
        status = "invalid" if response.status == "VALID" else "failed"
    return _result(update, at, status, issues, response.submission_id)


def patch_failure(update: OfferUpdate, *, at: float, status: int, reply: bytes) -> SubmissionResult:
    """A patchListingsItem call for ``update`` that Amazon answered with an error ``status`` (not an authorization
    error, which concerns the seller, not the update): ``throttled`` for a 429, ``failed`` (sent again) for a 5xx,
    ``invalid`` with Amazon's errors for any other (a SKU Amazon does not know, a body it refuses)."""
    errors = errors_of(reply)
    issues = tuple(str(error) for error in errors) or (f"HTTP {status}",)
    outcome: SubmissionStatus = "throttled" if status == 429 else "failed" if status >= 500 else "invalid"
    return _result(update, at, outcome, issues)


def _result(
    update: OfferUpdate,
    at: float,
    status: SubmissionStatus,
    issues: Sequence[str],
    submission_id: str | None = None,
) -> SubmissionResult:
    return SubmissionResult(update.key, update.update_id, status, at, update.price, tuple(issues), submission_id)
