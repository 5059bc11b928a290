"""getCompetitiveSummary's reply in the shape of Amazon's model (productPricing 2022-05-01), and how the simulator
fills it.

The Structs mirror the model's definitions that the simulator fills (``CompetitiveSummaryBatchResponse`` down to
``SegmentDetails``), with the model's camelCase names; a field the simulator never fills is left out, and a decoder
ignores fields it does not know, as a client of Amazon's must. Money is ``{"currencyCode", "amount"}`` with the
amount a JSON number in major units: a `Decimal` here, so neither side rounds it through a float.

Amazon lists featured offers only: each with the segments it is featured in and their glance-view weights. An
offer featured nowhere, ours included, is simply absent, and an item whose Buy Box is suppressed has no featured
buying option at all. So a reader learns its share only where it has one, and in the steps the segments make.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final, Literal

import msgspec

from engine.money import to_decimal
from sim.segments import CustomerMembership

__all__ = [
    "CompetitiveSummaryBatchResponse",
    "CompetitiveSummaryResponse",
    "CompetitiveSummaryResponseBody",
    "FeaturedBuyingOption",
    "FeaturedOffer",
    "FeaturedOfferSegment",
    "HttpStatusLine",
    "MoneyType",
    "PrimeDetails",
    "ReferencePrice",
    "SegmentDetails",
    "SegmentedFeaturedOffer",
    "ShippingOption",
    "encode",
    "summary_body",
]

_BASIS_POINTS: Final = Decimal("0.01")  # one basis point of the glance views, in per cent


class _Model(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True, gc=False):
    """A definition of Amazon's model: camelCase on the wire, optional fields left out when unset."""


class MoneyType(_Model, frozen=True):
    currency_code: str
    amount: Decimal


class ShippingOption(_Model, frozen=True):
    shipping_option_type: Literal["DEFAULT"]
    price: MoneyType


class PrimeDetails(_Model, frozen=True):
    eligibility: Literal["NATIONAL", "REGIONAL", "NONE"]


class SegmentDetails(_Model, frozen=True):
    glance_view_weight_percentage: Decimal | None = None


class FeaturedOfferSegment(_Model, frozen=True):
    customer_membership: CustomerMembership
    segment_details: SegmentDetails


class SegmentedFeaturedOffer(_Model, frozen=True):
    """An ``Offer`` with the segments it is featured in (the model's allOf of the two)."""

    seller_id: str
    condition: Literal["New", "Used", "Collectible", "Refurbished", "Club"]
    fulfillment_type: Literal["AFN", "MFN"]
    listing_price: MoneyType
    featured_offer_segments: tuple[FeaturedOfferSegment, ...]
    shipping_options: tuple[ShippingOption, ...] | None = None
    prime_details: PrimeDetails | None = None


class FeaturedBuyingOption(_Model, frozen=True):
    buying_option_type: Literal["New"]
    segmented_featured_offers: tuple[SegmentedFeaturedOffer, ...]


class ReferencePrice(_Model, frozen=True):
    name: str
    price: MoneyType


class CompetitiveSummaryResponseBody(_Model, frozen=True):
    asin: str
    marketplace_id: str
    featured_buying_options: tuple[FeaturedBuyingOption, ...] | None = None
    reference_prices: tuple[ReferencePrice, ...] | None = None


class HttpStatusLine(_Model, frozen=True):
    status_code: int
    reason_phrase: str | None = None


class CompetitiveSummaryResponse(_Model, frozen=True):
    status: HttpStatusLine
    body: CompetitiveSummaryResponseBody


class CompetitiveSummaryBatchResponse(_Model, frozen=True):
    responses: tuple[CompetitiveSummaryResponse, ...]


class FeaturedOffer(msgspec.Struct, frozen=True, gc=False):
    """What the simulator knows of one featured offer: the simulator's side of a `SegmentedFeaturedOffer`
    (prices in minor units; ``segments`` as (membership, basis points of the glance views))."""

    seller_id: str
    fba: bool
    prime: bool
    listing_price: int
    shipping: int
    segments: tuple[tuple[CustomerMembership, int], ...]


_OK: Final = HttpStatusLine(200, "OK")
_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def summary_body(
    *, asin: str, marketplace_id: str, currency: str, featured: Sequence[FeaturedOffer], reference_price: int | None
) -> CompetitiveSummaryResponseBody:
    """One item's body: its featured offers (none when the Buy Box is suppressed) and its competitive price
    threshold where it has one."""

    def money(minor: int) -> MoneyType:
        return MoneyType(currency, to_decimal(minor, currency))

    offers = tuple(
        SegmentedFeaturedOffer(
            seller_id=offer.seller_id,
            condition="New",
            fulfillment_type="AFN" if offer.fba else "MFN",
            listing_price=money(offer.listing_price),
            featured_offer_segments=tuple(
                FeaturedOfferSegment(membership, SegmentDetails(Decimal(basis_points) * _BASIS_POINTS))
                for membership, basis_points in offer.segments
            ),
            shipping_options=(ShippingOption("DEFAULT", money(offer.shipping)),),
            prime_details=PrimeDetails("NATIONAL" if offer.prime else "NONE"),
        )
        for offer in featured
    )
    options = (FeaturedBuyingOption("New", offers),) if offers else ()
    references = None
    if reference_price is not None:
        references = (ReferencePrice("CompetitivePriceThreshold", money(reference_price)),)
    return CompetitiveSummaryResponseBody(asin, marketplace_id, options, references)


def encode(body: CompetitiveSummaryResponseBody) -> bytes:
    """One item's response of the batch (status 200) as JSON, as Amazon sends it."""
    return _ENCODER.encode(CompetitiveSummaryResponse(_OK, body))
