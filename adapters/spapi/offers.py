"""getItemOffersBatch and getListingOffersBatch replies as the engine's `OfferSnapshot`s, one per key asked.

Our offer is the one Amazon marks ``MyOffer`` (getListingOffers) or that carries our seller id (getItemOffers);
any other offer of ours is neither ours for this key nor a competitor. Every other offer is a competitor, its
condition read from the item's condition class and the offer's sub-condition, whatever their case or spacing
("new"/"New", "Very Good"/"VeryGood").

The Buy Box: Amazon gives a price per condition in ``BuyBoxPrices`` and marks up to two offers
``IsBuyBoxWinner``, one Prime and one not, when the Prime and the non-Prime shoppers see different winners. Each
price is matched to its winning offer (by ``sellerId`` where Amazon gives one, else by its listing price and
shipping), and when the winners span both kinds each price carries its segment, so the engine competes with the
winner its own shoppers see. A winner among the offers whose price the summary leaves out is added from the offer
itself. Offers but no winner and no Buy Box price means the Buy Box is suppressed; ``NoBuyableOffers`` means there
is nothing to buy at all, ours included.

An item that failed (its own status code), that Amazon has not processed yet (``ActiveButTooSoonForProcessing``)
or that cannot be read (a required field missing, an amount with too many decimals) is that key's `ItemFailure`;
the others answer as usual. Only a reply whose envelope is broken raises (`WireError`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Final, NamedTuple

import msgspec

from adapters.spapi.items import Unreadable, failure, invalid, matched, minor
from adapters.spapi.wire.common import decode, located
from adapters.spapi.wire.pricing_v0 import BatchItem, BatchResponse, BuyBoxPrice, OfferDetail, OffersBody, OffersPayload
from engine import model
from engine.model import (
    CompetitorOffer,
    Condition,
    Fulfilment,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OurListing,
    Segment,
)
from engine.money import MoneyError
from engine.ports import ItemFailure

__all__ = ["condition_of", "item_offers", "listing_offers", "offers_snapshot"]

_BATCH: Final = msgspec.json.Decoder(BatchResponse)
_ITEM: Final = msgspec.json.Decoder(BatchItem)
_BODY: Final = msgspec.json.Decoder(OffersBody)

_ANSWERED: Final = frozenset({"Success", "NoBuyableOffers"})
_B2C: Final = (None, "B2C")  # a Buy Box price's offerType when it is the consumers' one
_UNKNOWN_HANDLING_HOURS: Final = 48  # what the engine assumes of an offer that does not say (`CompetitorOffer`)

# Sub-conditions by condition class. One Amazon does not list here ("Poor", "Other", "Warranty") counts as the
# class's lowest grade: a filter on better grades never takes it for better than it is.
_GRADES: Final[dict[str, dict[str, Condition]]] = {
    "new": {"new": Condition.NEW, "openbox": Condition.NEW_OPEN_BOX, "oem": Condition.NEW_OEM},
    "used": {
        "mint": Condition.USED_LIKE_NEW,
        "likenew": Condition.USED_LIKE_NEW,
        "verygood": Condition.USED_VERY_GOOD,
        "good": Condition.USED_GOOD,
        "acceptable": Condition.USED_ACCEPTABLE,
    },
    "collectible": {
        "mint": Condition.COLLECTIBLE_LIKE_NEW,
        "likenew": Condition.COLLECTIBLE_LIKE_NEW,
        "verygood": Condition.COLLECTIBLE_VERY_GOOD,
        "good": Condition.COLLECTIBLE_GOOD,
        "acceptable": Condition.COLLECTIBLE_ACCEPTABLE,
    },
    "refurbished": {},
    "club": {},
}
_LOWEST: Final[dict[str, Condition]] = {
    "new": Condition.NEW,
    "used": Condition.USED_ACCEPTABLE,
    "collectible": Condition.COLLECTIBLE_ACCEPTABLE,
    "refurbished": Condition.REFURBISHED,
    "club": Condition.CLUB,
}
_NOT_A_LETTER = re.compile(r"[^a-z0-9]")


def _word(text: str) -> str:
    return _NOT_A_LETTER.sub("", text.lower())


def condition_of(item_condition: str, sub_condition: str) -> Condition:
    """The engine's `Condition` of an offer in condition class ``item_condition`` ("New", "used") with
    ``sub_condition`` ("new", "Very Good", "OpenBox"); `ValueError` for a class the engine does not know."""
    group = _word(item_condition)
    if group not in _LOWEST:
        raise ValueError(f"unknown item condition {item_condition!r}; known: {', '.join(_LOWEST)}")
    return _grade(group, sub_condition)


def _grade(group: str, sub_condition: str) -> Condition:
    return _GRADES[group].get(_word(sub_condition), _LOWEST[group])


def listing_offers(
    reply: bytes,
    keys: Sequence[OfferKey],
    *,
    at: float,
    currency: str,
    seller_id: str,
    amazon_seller_ids: Collection[str] = frozenset(),
) -> list[OfferSnapshot | ItemFailure]:
    """getListingOffersBatch's reply for ``keys`` (the SKUs asked, in order): one answer per key, in order.

    ``at`` is when the reply arrived (Amazon does not say how old its view is); ``currency`` the marketplace's;
    ``seller_id`` our selling partner id; ``amazon_seller_ids`` the ids under which Amazon sells as a retailer
    here, so its offers count as Amazon's."""
    reader = _Reader(at, currency, seller_id, frozenset(amazon_seller_ids))
    wanted = [key.sku for key in keys]
    return reader.read("getListingOffersBatch", reply, keys, wanted, [None] * len(keys))


def item_offers(
    reply: bytes,
    offers: Sequence[OfferSettings],
    *,
    at: float,
    currency: str,
    seller_id: str,
    amazon_seller_ids: Collection[str] = frozenset(),
) -> list[OfferSnapshot | ItemFailure]:
    """getItemOffersBatch's reply for ``offers`` (the ASINs asked, in order): one answer per offer, in order, as
    `listing_offers`. Where we sell an ASIN both fulfilled by Amazon and by ourselves, the offer of the key's
    fulfilment is ours."""
    reader = _Reader(at, currency, seller_id, frozenset(amazon_seller_ids))
    keys = [offer.key for offer in offers]
    wanted = [offer.asin for offer in offers]
    return reader.read("getItemOffersBatch", reply, keys, wanted, [offer.fulfilment for offer in offers])


def offers_snapshot(
    key: OfferKey,
    payload: OffersPayload,
    *,
    at: float,
    currency: str,
    seller_id: str,
    fulfilment: Fulfilment | None,
    where: str,
    amazon_seller_ids: Collection[str] = frozenset(),
) -> OfferSnapshot | ItemFailure:
    """One item's offers as ``key``'s snapshot (``source`` "poll", as of ``at``), read as a batch item's payload is:
    what an ANY_OFFER_CHANGED notification carries, made into the same payload (`adapters.spapi.notices`). Our offer
    is the one with our ``seller_id`` (of ``fulfilment`` where we have two); ``where`` roots the paths in errors.
    Raises `MoneyError` for an amount that cannot be read exactly."""
    return _Reader(at, currency, seller_id, frozenset(amazon_seller_ids)).snapshot(key, payload, fulfilment, where)


class _Reader:
    """One reply's context: when it came, in which currency, and who we are."""

    def __init__(self, at: float, currency: str, seller_id: str, amazon_seller_ids: frozenset[str]) -> None:
        self.at, self.currency, self.seller_id, self.amazon = at, currency, seller_id, amazon_seller_ids

    def read(
        self,
        operation: str,
        reply: bytes,
        keys: Sequence[OfferKey],
        wanted: Sequence[str],
        fulfilments: Sequence[Fulfilment | None],
    ) -> list[OfferSnapshot | ItemFailure]:
        answers: list[tuple[BatchItem, OffersBody] | Unreadable] = []
        echoes: list[str | None] = []
        for index, raw in enumerate(decode(_BATCH, reply, operation).responses):
            where = f"responses[{index}]"
            try:
                item = _ITEM.decode(raw)
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                answers.append(Unreadable(located(error, where)))
                echoes.append(None)
                continue
            request = item.request
            echo = (request.seller_sku or request.asin) if request is not None else None
            try:
                body = _BODY.decode(item.body)
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                answers.append(Unreadable(located(error, f"{where}.body")))
                echoes.append(echo)
                continue
            if echo is None and body.payload is not None:
                echo = body.payload.sku or body.payload.asin
            answers.append((item, body))
            echoes.append(echo)
        results: list[OfferSnapshot | ItemFailure] = []
        for key, fulfilment, found in zip(
            keys, fulfilments, matched(keys, wanted, answers, echoes, self.at), strict=True
        ):
            if isinstance(found, ItemFailure):
                results.append(found)
                continue
            index, (item, body) = found
            status = item.status.status_code if item.status is not None else 200
            if status != 200 or body.payload is None:
                reason = item.status.reason_phrase if item.status is not None else None
                results.append(failure(key, self.at, status, reason, body.errors))
                continue
            try:
                results.append(self.snapshot(key, body.payload, fulfilment, f"$.responses[{index}].body.payload"))
            except MoneyError as error:
                results.append(invalid(key, self.at, str(error)))
        return results

    def snapshot(
        self, key: OfferKey, payload: OffersPayload, fulfilment: Fulfilment | None, where: str
    ) -> OfferSnapshot | ItemFailure:
        if payload.status not in _ANSWERED:
            message = f"Amazon has no offers to give yet (status {payload.status})"
            return ItemFailure(key, self.at, payload.status, message, transient=True)
        group = _word(payload.item_condition)
        if group not in _LOWEST:
            return invalid(key, self.at, f"unknown item condition {payload.item_condition!r} - at `{where}`")
        ours: tuple[int, OfferDetail] | None = None
        others: list[tuple[int, OfferDetail]] = []
        for index, offer in enumerate(payload.offers):
            if not (offer.my_offer or (offer.seller_id and offer.seller_id == self.seller_id)):
                others.append((index, offer))
            elif ours is None or (fulfilment is not None and _fulfilment(ours[1]) is not fulfilment):
                ours = (index, offer)
        our = None if ours is None else self.our_listing(ours[1], f"{where}.Offers[{ours[0]}]")
        competitors = tuple(self.competitor(offer, group, f"{where}.Offers[{index}]") for index, offer in others)
        winners = [
            _Winner(c.seller_id or None, c.listing_price, c.shipping, c.prime)
            for c in competitors
            if c.is_buybox_winner
        ]
        if our is not None and our.is_buybox_winner:
            winners.append(_Winner(self.seller_id, our.listing_price, our.shipping, our.prime))
        buybox = self.buybox(payload.summary.buy_box_prices, group, winners, f"{where}.Summary.BuyBoxPrices")
        threshold = payload.summary.competitive_price_threshold
        return OfferSnapshot(
            key=key,
            source="poll",
            as_of=self.at,
            received_at=self.at,
            our=our,
            competitors=competitors,
            buybox=buybox,
            buybox_state="suppressed" if payload.offers and not buybox else "available",
            competitive_price_threshold=(
                None
                if threshold is None
                else minor(threshold, self.currency, f"{where}.Summary.CompetitivePriceThreshold")
            ),
        )

    def our_listing(self, offer: OfferDetail, where: str) -> OurListing:
        rating = offer.seller_feedback_rating
        return OurListing(
            listing_price=minor(offer.listing_price, self.currency, f"{where}.ListingPrice"),
            shipping=minor(offer.shipping, self.currency, f"{where}.Shipping"),
            live=True,  # listed among the offers: buyable
            fulfilment=_fulfilment(offer),
            prime=_prime(offer),
            feedback_pct=None if rating is None else _percent(rating.seller_positive_feedback_rating),
            handling_max_hours=_handling_hours(offer),
            is_buybox_winner=offer.is_buy_box_winner,
        )

    def competitor(self, offer: OfferDetail, group: str, where: str) -> CompetitorOffer:
        rating = offer.seller_feedback_rating
        return CompetitorOffer(
            seller_id=offer.seller_id,
            listing_price=minor(offer.listing_price, self.currency, f"{where}.ListingPrice"),
            shipping=minor(offer.shipping, self.currency, f"{where}.Shipping"),
            fulfilment=_fulfilment(offer),
            condition=_grade(group, offer.sub_condition),
            is_amazon=offer.seller_id in self.amazon,
            prime=_prime(offer),
            feedback_pct=None if rating is None else _percent(rating.seller_positive_feedback_rating),
            feedback_count=0 if rating is None else rating.feedback_count,
            handling_max_hours=_handling_hours(offer),
            is_buybox_winner=offer.is_buy_box_winner,
        )

    def buybox(
        self, prices: tuple[BuyBoxPrice, ...], group: str, winners: list[_Winner], where: str
    ) -> tuple[model.BuyBoxPrice, ...]:
        """The Buy Box prices a consumer of the condition class sees, each with its winner's seller and, where the
        winners span Prime and non-Prime, its segment; then any winner the summary leaves out."""
        split = {w.prime for w in winners} == {True, False}
        out: list[model.BuyBoxPrice] = []
        shown: set[_Winner] = set()
        for index, price in enumerate(prices):
            if _word(price.condition) != group or price.quantity_tier is not None or price.offer_type not in _B2C:
                continue  # another condition, a B2B price, a quantity tier
            at = f"{where}[{index}]"
            landed = minor(price.landed_price, self.currency, f"{at}.LandedPrice")
            listing = minor(price.listing_price, self.currency, f"{at}.ListingPrice")
            shipping = minor(price.shipping, self.currency, f"{at}.Shipping")
            if price.seller_id:
                found = [w for w in winners if w.seller_id == price.seller_id]
            else:
                found = [w for w in winners if (w.listing_price, w.shipping) == (listing, shipping)]
            winner = found[0] if len(found) == 1 else None
            if winner is None:
                out.append(model.BuyBoxPrice(landed, listing, shipping, None, price.seller_id))
                continue
            shown.add(winner)
            segment = _segment(winner.prime) if split else None
            out.append(model.BuyBoxPrice(landed, listing, shipping, segment, price.seller_id or winner.seller_id))
        for w in winners:
            if w not in shown:
                segment = _segment(w.prime) if split else None
                out.append(
                    model.BuyBoxPrice(w.listing_price + w.shipping, w.listing_price, w.shipping, segment, w.seller_id)
                )
        return tuple(out)


class _Winner(NamedTuple):
    """An offer Amazon marks ``IsBuyBoxWinner``, as far as matching it to a Buy Box price goes."""

    seller_id: str | None
    listing_price: int
    shipping: int
    prime: bool


def _segment(prime: bool) -> Segment:
    return "prime" if prime else "non_prime"


def _fulfilment(offer: OfferDetail) -> Fulfilment:
    return Fulfilment.AMAZON if offer.is_fulfilled_by_amazon else Fulfilment.MERCHANT


def _prime(offer: OfferDetail) -> bool:
    return offer.prime_information is not None and offer.prime_information.is_prime


def _handling_hours(offer: OfferDetail) -> int:
    hours = offer.shipping_time.maximum_hours
    return _UNKNOWN_HANDLING_HOURS if hours is None else hours


def _percent(rating: Decimal | None) -> int | None:
    """A positive-feedback percentage as a whole per cent; None when Amazon gives none, or one that is not a
    percentage."""
    if rating is None or not rating.is_finite() or not 0 <= rating <= 100:
        return None
    return int(rating.to_integral_value())
