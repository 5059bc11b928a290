"""Product Pricing 2022-05-01 (``productPricing_2022-05-01.json``): getFeaturedOfferExpectedPriceBatch and
getCompetitiveSummary.

The model spells everything in camelCase and money as ``{"currencyCode", "amount"}``. Enumerations Amazon says it
will extend (``resultStatus``: "Additional values might be added in the future"; the example itself answers
``NO_COMPETING_OFFERS`` where the description says ``NO_COMPETING_OFFER``) are plain strings.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from adapters.spapi.wire.common import ApiError, StatusLine

__all__ = [
    "BatchResponse",
    "CompetitiveSummaryBody",
    "CompetitiveSummaryItem",
    "CompetitiveSummaryRequest",
    "CompetitiveSummaryRequests",
    "FeaturedBuyingOption",
    "FeaturedOffer",
    "FeaturedOfferExpectedPrice",
    "FeaturedOfferSegment",
    "FoepBody",
    "FoepItem",
    "FoepRequest",
    "FoepRequestEcho",
    "FoepRequests",
    "FoepResult",
    "Money",
    "OfferIdentifier",
    "SegmentDetails",
    "SegmentedFeaturedOffer",
]


class _Model(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A definition of the 2022-05-01 model: camelCase on the wire."""


class Money(_Model, frozen=True):
    currency_code: str
    amount: Decimal


class BatchResponse(_Model, frozen=True):
    responses: tuple[msgspec.Raw, ...]


# --- getFeaturedOfferExpectedPriceBatch ------------------------------------------------------------------------


class OfferIdentifier(_Model, frozen=True):
    seller_id: str | None = None
    sku: str | None = None
    fulfillment_type: str | None = None


class FeaturedOffer(_Model, frozen=True):
    """``currentFeaturedOffer`` / ``competingFeaturedOffer``: whose offer it is is all the adapter reads."""

    offer_identifier: OfferIdentifier


class FeaturedOfferExpectedPrice(_Model, frozen=True):
    listing_price: Money


class FoepResult(_Model, frozen=True):
    result_status: str
    featured_offer_expected_price: FeaturedOfferExpectedPrice | None = None
    current_featured_offer: FeaturedOffer | None = None


class FoepBody(_Model, frozen=True):
    """``FeaturedOfferExpectedPriceResponseBody``: the results for our offer, or the errors of a failed item."""

    offer_identifier: OfferIdentifier | None = None
    featured_offer_expected_price_results: tuple[FoepResult, ...] = ()
    errors: tuple[ApiError, ...] = ()


class FoepRequestEcho(_Model, frozen=True):
    sku: str | None = None


class FoepItem(_Model, frozen=True):
    """``FeaturedOfferExpectedPriceResponse``, its body left for a second decoder (optional in the model)."""

    status: StatusLine
    body: msgspec.Raw = msgspec.Raw(b"{}")
    request: FoepRequestEcho | None = None


class FoepRequest(_Model, frozen=True, kw_only=True):
    marketplace_id: str
    sku: str
    method: str = "GET"
    uri: str = "/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice"


class FoepRequests(_Model, frozen=True):
    requests: tuple[FoepRequest, ...]


# --- getCompetitiveSummary -----------------------------------------------------------------------------------------


class SegmentDetails(_Model, frozen=True):
    glance_view_weight_percentage: Decimal | None = None


class FeaturedOfferSegment(_Model, frozen=True):
    segment_details: SegmentDetails


class SegmentedFeaturedOffer(_Model, frozen=True):
    """An offer featured somewhere, with the segments that feature it; an offer featured nowhere is not listed."""

    seller_id: str
    fulfillment_type: str
    listing_price: Money
    featured_offer_segments: tuple[FeaturedOfferSegment, ...]


class FeaturedBuyingOption(_Model, frozen=True):
    segmented_featured_offers: tuple[SegmentedFeaturedOffer, ...]


class CompetitiveSummaryBody(_Model, frozen=True):
    asin: str
    featured_buying_options: tuple[FeaturedBuyingOption, ...] = ()
    errors: tuple[ApiError, ...] = ()


class CompetitiveSummaryItem(_Model, frozen=True):
    """``CompetitiveSummaryResponse``; the body carries the ASIN that matches it to its request."""

    status: StatusLine
    body: msgspec.Raw


class CompetitiveSummaryRequest(_Model, frozen=True, kw_only=True):
    asin: str
    marketplace_id: str
    included_data: tuple[str, ...] = ("featuredBuyingOptions",)
    method: str = "GET"
    uri: str = "/products/pricing/2022-05-01/items/competitiveSummary"


class CompetitiveSummaryRequests(_Model, frozen=True):
    requests: tuple[CompetitiveSummaryRequest, ...]
