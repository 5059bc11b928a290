"""Listings Items 2021-08-01: getListingsItem (the adapter's read-back) and patchListingsItem (its submit).

getListingsItem answers the listing of one SKU in the marketplaces asked, with the data sets ``includedData``
names (``summaries`` when none): the price shoppers are offered (``offers``) is the listings view of the market
(`sim.market.Market.our_listing`), which shows a new live price only a lag after it went live; ``summaries`` say
BUYABLE while the offer can be bought; ``attributes`` hold what the offer was last given (`sim.fake._patches`),
``fulfillmentAvailability`` the live stock. A SKU the seller has in none of the marketplaces asked is a 404.

patchListingsItem checks the patches on the offer of each marketplace asked and answers, one SKU a call, each call
charged on its own: ACCEPTED with a submission id, the attributes held and the price handed to the simulator's
submit path when the answer goes out (where it goes live after the market's own latency, or, for the market's
small never-apply share, not at all); or INVALID with the issues, nothing changed, for a patch Amazon would
refuse: a price outside the offer's minimum and maximum, a SKU the seller has not there, a path below the top
level, a value it cannot read. ``mode=VALIDATION_PREVIEW`` answers VALID or INVALID and changes nothing.

Both refuse a ``sellerId`` that is not the calling seller's (403), a missing or unknown ``marketplaceIds`` or an
``includedData`` value the operation does not have (400); the patch, a body outside ``ListingsItemPatchRequest``
(400). A body or parameter refused is not charged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import msgspec

from engine.marketplaces import MARKETPLACES
from engine.money import to_decimal
from sim.fake._backend import AcceptedUpdate, Answer, Backend, Call
from sim.fake._errors import DENIED, ENCODER, Refusal, listings_bad_request
from sim.fake._index import Place, merchant_id
from sim.fake._patches import OWN_CHANNEL, Issue, PatchRequest, Plan, channel_code, plan_patch, price_sent

__all__ = ["GET_LISTINGS_ITEM", "PATCH_LISTINGS_ITEM", "accept_plans", "get_listings_item", "patch_listings_item"]

GET_LISTINGS_ITEM: Final = "getListingsItem"
PATCH_LISTINGS_ITEM: Final = "patchListingsItem"
PRODUCT_TYPE: Final = "PRODUCT"  # the simulator's items have no product type of their own
_GET_DATA: Final = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
_PATCH_DATA: Final = ("identifiers", "issues")
_PREVIEW: Final = "VALIDATION_PREVIEW"
_REQUEST: Final = msgspec.json.Decoder(PatchRequest, float_hook=Decimal)  # amounts read exactly


# --- getListingsItem -----------------------------------------------------------------------------------------------


async def get_listings_item(backend: Backend, call: Call) -> Answer:
    seller_id, sku = call.params
    _check_seller(seller_id, call.seller)
    marketplaces = _marketplace_ids(backend, call.query)
    included = _listed(call.query, "includedData", _GET_DATA) or ("summaries",)
    backend.take(call)
    places = [(mid, place) for mid in marketplaces if (place := backend.index.by_sku(call.seller, mid, sku))]
    at = await backend.answered()
    if not places:
        raise Refusal(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {', '.join(marketplaces)}")
    return Answer(200, ENCODER.encode(_item(backend, sku, places, included, at)))


class _Money(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    currency_code: str
    amount: str  # the Listings API's ``Decimal`` is a string


class _Audience(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    value: str
    display_name: str


class _Offer(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    marketplace_id: str
    offer_type: str
    price: _Money
    audience: _Audience


class _Summary(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    marketplace_id: str
    asin: str
    product_type: str
    condition_type: str
    status: tuple[str, ...]
    item_name: str
    created_date: str
    last_updated_date: str


class _Availability(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    fulfillment_channel_code: str
    quantity: int


class _ProductType(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    marketplace_id: str
    product_type: str


class _Item(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    sku: str
    summaries: tuple[_Summary, ...] | None = None
    attributes: dict[str, list[dict[str, Any]]] | None = None
    issues: tuple[Issue, ...] | None = None
    offers: tuple[_Offer, ...] | None = None
    fulfillment_availability: tuple[_Availability, ...] | None = None
    procurement: tuple[()] | None = None
    relationships: tuple[()] | None = None
    product_types: tuple[_ProductType, ...] | None = None


def _item(backend: Backend, sku: str, places: Sequence[tuple[str, Place]], included: Sequence[str], at: float) -> _Item:
    summaries, offers, availability, types = [], [], [], []
    attributes: dict[str, list[dict[str, Any]]] = {}
    for mid, place in places:
        market, row = place.market, place.row
        listing = market.our_listing(row, at)
        currency = market.spec.currency[row]
        status = ("BUYABLE", "DISCOVERABLE") if listing.live else ("DISCOVERABLE",) if market.listed[row, 0] else ()
        summaries.append(
            _Summary(
                marketplace_id=mid,
                asin=market.spec.asin[row],
                product_type=PRODUCT_TYPE,
                condition_type="new_new",
                status=status,
                item_name=f"Simulated item {market.spec.asin[row]}",
                created_date=backend.wall_time(market.start_at),
                last_updated_date=backend.wall_time(backend.listings.updated_at.get(place, market.start_at)),
            )
        )
        price = _Money(currency, str(to_decimal(listing.listing_price, currency)))
        offers.append(_Offer(mid, "B2C", price, _Audience("ALL", "Sell on Amazon")))
        stock = int(market.our_stock[row])
        availability.append(_Availability(channel_code(place), stock))
        types.append(_ProductType(mid, PRODUCT_TYPE))
        for name, entries in backend.listings.attributes(place, mid).items():
            shown = [dict(entry) for entry in entries]
            if name == "fulfillment_availability":  # the stock as it is now, sales taken off
                for entry in shown:
                    if entry.get("fulfillment_channel_code") == OWN_CHANNEL and "quantity" in entry:
                        entry["quantity"] = stock
            attributes.setdefault(name, []).extend(shown)
    return _Item(
        sku=sku,
        summaries=tuple(summaries) if "summaries" in included else None,
        attributes=attributes if "attributes" in included else None,
        issues=() if "issues" in included else None,
        offers=tuple(offers) if "offers" in included else None,
        fulfillment_availability=tuple(availability) if "fulfillmentAvailability" in included else None,
        procurement=() if "procurement" in included else None,
        relationships=() if "relationships" in included else None,
        product_types=tuple(types) if "productTypes" in included else None,
    )


# --- patchListingsItem ---------------------------------------------------------------------------------------------


class _Identifier(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    marketplace_id: str
    asin: str


class _Submission(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """``ListingsItemSubmissionResponse``."""

    sku: str
    status: Literal["ACCEPTED", "INVALID", "VALID"]
    submission_id: str
    issues: tuple[Issue, ...] = ()
    identifiers: tuple[_Identifier, ...] | None = None


async def patch_listings_item(backend: Backend, call: Call) -> Answer:
    seller_id, sku = call.params
    _check_seller(seller_id, call.seller)
    marketplaces = _marketplace_ids(backend, call.query)
    included = _listed(call.query, "includedData", _PATCH_DATA) or ("issues",)
    modes = _listed(call.query, "mode", (_PREVIEW,))
    preview = bool(modes)
    if "identifiers" in included and not preview:
        raise listings_bad_request("includedData identifiers can only be requested with mode VALIDATION_PREVIEW")
    try:
        request = _REQUEST.decode(call.body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise listings_bad_request(str(error)) from None
    if not request.patches:
        raise listings_bad_request("patches must hold at least one operation")
    if not request.product_type:
        raise listings_bad_request("productType must not be empty")
    backend.take(call)
    plans: list[tuple[Place, Plan]] = []
    issues: list[Issue] = []
    for mid in marketplaces:
        place = backend.index.by_sku(call.seller, mid, sku)
        if place is None:
            issues.append(
                Issue(
                    "NOT_FOUND",
                    f"SKU '{sku}' does not exist in marketplace {mid}; a patch changes an existing listing only.",
                    "ERROR",
                    ("INVALID_ATTRIBUTE",),
                )
            )
            continue
        _count_bounds(backend, place, request, mid)
        plan = plan_patch(request.patches, place, mid, backend.listings.attributes(place, mid))
        if isinstance(plan, Plan):
            plans.append((place, plan))
        else:
            issues.extend(plan)
    at = await backend.answered()
    identifiers = None
    if "identifiers" in included:
        identifiers = tuple(
            _Identifier(mid, p.market.spec.asin[p.row])
            for mid in marketplaces
            if (p := backend.index.by_sku(call.seller, mid, sku))
        )
    if issues:
        if not preview:
            backend.stats.updates_invalid += 1
        return _submission(backend, sku, "INVALID", issues, identifiers)
    if preview:
        return _submission(backend, sku, "VALID", (), identifiers)
    submission_id = backend.submission_id()
    accept_plans(
        backend,
        plans,
        submission_id,
        applies=not backend.dice.strikes("never_apply", call.operation, call.received_at),
        at=at,
    )
    return _submission(backend, sku, "ACCEPTED", (), identifiers, submission_id)


def accept_plans(
    backend: Backend, plans: Sequence[tuple[Place, Plan]], submission_id: str, *, applies: bool, at: float
) -> None:
    """Accept the plans of one submission (a patch, a feed message) at ``at``: counted and listed (`AcceptedUpdate`),
    and, unless a never-apply fault struck (``applies`` false), applied."""
    backend.stats.updates_accepted += len(plans)
    for place, plan in plans:
        spec, row = place.market.spec, place.row
        backend.accepted.append(
            AcceptedUpdate(
                str(spec.marketplace[row]),
                str(spec.sku[row]),
                submission_id,
                plan.price,
                str(spec.currency[row]),
                backend.wall_time(at),
                applies,
            )
        )
        if applies:
            apply_plan(backend, place, plan, at)


def apply_plan(backend: Backend, place: Place, plan: Plan, at: float) -> None:
    """Hold the plan's attributes and hand its price (and quantity) to the simulator's submit path at ``at``."""
    backend.listings.hold(place, plan.attributes, at)
    quantity = None if plan.quantity is None else [plan.quantity]
    if bool(place.market.submit([place.row], [plan.price], at, quantity)[0]):
        backend.stats.updates_applied += 1


def _count_bounds(backend: Backend, place: Place, request: PatchRequest, marketplace_id: str) -> None:
    spec, row = place.market.spec, place.row
    sent = price_sent(request.patches, marketplace_id, spec.currency[row])
    if sent is not None and not int(spec.min_price[row]) <= sent <= int(spec.max_price[row]):
        backend.stats.prices_outside_bounds += 1


def _submission(
    backend: Backend,
    sku: str,
    status: Literal["ACCEPTED", "INVALID", "VALID"],
    issues: Sequence[Issue],
    identifiers: tuple[_Identifier, ...] | None,
    submission_id: str | None = None,
) -> Answer:
    reply = _Submission(sku, status, submission_id or backend.submission_id(), tuple(issues), identifiers)
    return Answer(200, ENCODER.encode(reply))


# --- what both take ------------------------------------------------------------------------------------------------


def _check_seller(seller_id: str, seller: int) -> None:
    """The path's selling partner id must be the caller's: a token opens its own seller's listings only."""
    if seller_id != merchant_id(seller):
        raise Refusal(403, "Unauthorized", DENIED, f"the access token is not for seller {seller_id}")


def _marketplace_ids(backend: Backend, query: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    asked = _csv(query, "marketplaceIds")
    if not asked:
        raise listings_bad_request("marketplaceIds is required")
    known = backend.index.marketplaces | {info.marketplace_id for info in MARKETPLACES.values()}
    if unknown := [mid for mid in asked if mid not in known]:
        raise listings_bad_request(f"marketplaceIds: {', '.join(unknown)} is not a marketplace identifier")
    return tuple(dict.fromkeys(asked))


def _listed(query: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    values = _csv(query, name)
    if unknown := [value for value in values if value not in allowed]:
        raise listings_bad_request(f"{name}: {', '.join(unknown)} is not one of {', '.join(allowed)}")
    return values


def _csv(query: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """A comma-delimited list parameter (the model's ``collectionFormat: csv``), sent once or repeated."""
    return tuple(part for value in query.get(name, ()) for part in value.split(",") if part)
