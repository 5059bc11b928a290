"""Listings Items 2021-08-01 (``listingsItems_2021-08-01.json``): patchListingsItem's body and reply, and
getListingsItem's reply.

The API's own fields are camelCase; a listing's attributes are product-type attributes in snake_case
(``purchasable_offer``, ``fulfillment_availability``, ``merchant_shipping_group``), whose shapes Amazon publishes
per product type (Product Type Definitions API), not in this model. The attribute Structs serve both ways: the
adapter writes them in a patch and reads them back from the listing, so one shape is checked from both sides.
Written Structs leave out what is unset (``omit_defaults``): ``replace`` takes what is sent literally, and an empty
``discounted_price`` is an error at Amazon, not an absent one.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = [
    "Attributes",
    "Audience",
    "FulfillmentAvailability",
    "Issue",
    "ItemOffer",
    "ItemSummary",
    "ListingFulfilment",
    "ListingsItem",
    "MerchantShippingGroup",
    "Money",
    "PatchOperation",
    "PatchRequest",
    "PriceSchedule",
    "PurchasableOffer",
    "ScheduledPrice",
    "SubmissionResponse",
]


# --- attributes (snake_case, as the product type defines them) -----------------------------------------------------


class ScheduledPrice(msgspec.Struct, frozen=True, gc=False):
    """One entry of a price's ``schedule``: the amount (gross where prices include VAT: Amazon's "with tax")."""

    value_with_tax: Decimal


class PriceSchedule(msgspec.Struct, frozen=True, gc=False):
    schedule: tuple[ScheduledPrice, ...]


class PurchasableOffer(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, kw_only=True):
    """One offer, selected by marketplace, currency and audience (the adapter always writes all three; a listing read
    back may leave the audience out, which is then ALL). ``discounted_price`` is the sale price."""

    marketplace_id: str | None = None
    currency: str | None = None
    audience: str | None = None
    our_price: tuple[PriceSchedule, ...] = ()
    minimum_seller_allowed_price: tuple[PriceSchedule, ...] = ()
    maximum_seller_allowed_price: tuple[PriceSchedule, ...] = ()
    discounted_price: tuple[PriceSchedule, ...] = ()


class FulfillmentAvailability(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, kw_only=True):
    """Stock and handling time of one fulfilment channel (``DEFAULT``: the seller's own warehouse)."""

    fulfillment_channel_code: str
    quantity: int | None = None
    lead_time_to_ship_max_days: int | None = None


class MerchantShippingGroup(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """The shipping template (its id in Seller Central) a merchant-fulfilled offer ships with."""

    value: str
    marketplace_id: str | None = None


class Attributes(msgspec.Struct, frozen=True, gc=False):
    """The attributes of a listing the adapter reads back; the many others are ignored."""

    purchasable_offer: tuple[PurchasableOffer, ...] = ()


# --- patchListingsItem ---------------------------------------------------------------------------------------------


PatchValue = tuple[PurchasableOffer, ...] | tuple[FulfillmentAvailability, ...] | tuple[MerchantShippingGroup, ...]


class PatchOperation(msgspec.Struct, frozen=True, gc=False):
    """One JSON Patch operation on a top-level attribute (``op``: add, replace, merge or delete)."""

    op: str
    path: str
    value: PatchValue


class PatchRequest(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``ListingsItemPatchRequest``."""

    product_type: str
    patches: tuple[PatchOperation, ...]


class Issue(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """An issue Amazon found with a listing or a submission; only an ``ERROR`` stops a submission."""

    code: str
    message: str
    severity: str
    attribute_names: tuple[str, ...] = ()
    marketplace_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" [{', '.join(self.attribute_names)}]" if self.attribute_names else ""
        return f"{self.severity} {self.code}: {self.message}{where}"


class SubmissionResponse(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``ListingsItemSubmissionResponse``: ACCEPTED (for processing, which is not applied), INVALID, or VALID (a
    validation preview, which the adapter never asks for)."""

    status: str
    submission_id: str
    issues: tuple[Issue, ...] = ()


# --- getListingsItem -----------------------------------------------------------------------------------------------


class Money(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """The Listings API's money: the amount is a ``Decimal`` string in the model ("100.00"); a number is read too."""

    currency_code: str
    amount: Decimal


class ItemSummary(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    marketplace_id: str
    status: tuple[str, ...] = ()


class Audience(msgspec.Struct, frozen=True, gc=False):
    value: str | None = None


class ItemOffer(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """The offer as shoppers see it in one marketplace (B2C, or B2B for Amazon Business)."""

    marketplace_id: str
    offer_type: str
    price: Money
    audience: Audience | None = None


class ListingFulfilment(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``FulfillmentAvailability`` as getListingsItem reports it (camelCase, unlike the attribute)."""

    fulfillment_channel_code: str
    quantity: int | None = None


class ListingsItem(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``Item``, with the included data the adapter asks for: summaries, attributes, issues, offers and
    fulfillment availability."""

    summaries: tuple[ItemSummary, ...] = ()
    attributes: Attributes = Attributes()
    issues: tuple[Issue, ...] = ()
    offers: tuple[ItemOffer, ...] = ()
    fulfillment_availability: tuple[ListingFulfilment, ...] = ()
