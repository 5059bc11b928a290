"""Our listings' attributes as Amazon holds them, and JSON Patch operations on them: what patchListingsItem and a
JSON_LISTINGS_FEED message do.

Each offer (a row of one marketplace's market) holds the attributes it was last given, starting from the
simulator's catalog: ``purchasable_offer`` (our price, the minimum and maximum seller-allowed prices, a sale price),
``fulfillment_availability`` (quantity and lead time of the offer's channel) and ``condition_type``; any other
top-level attribute a patch sets is held as given. A patch (``add``, ``replace``, ``merge``, ``delete`` on
``/attributes/<name>``) is tried on a copy and checked as Amazon checks a submission; a patch it would refuse gives
the issues (``ERROR``) that make the submission INVALID, one it takes a `Plan`: the attributes to hold and the price
and quantity to hand to the simulator's submit path (`sim.market.Market.submit`). ``merge`` updates the entries a
patch names (a purchasable offer by marketplace, currency and audience; an availability by channel) and keeps the
others; ``replace`` and ``add`` set the attribute to the entries given for the marketplace.

The simulator's offers are in one condition, with one price per marketplace, fulfilled through the channel they
have: a patch that leaves an offer without ``our_price``, or moves it between the seller's warehouse and Amazon's,
is refused with an issue that says so.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import msgspec

from engine.marketplaces import MARKETPLACES
from engine.money import MoneyError, parse_minor, to_decimal
from sim.fake._index import Place

__all__ = [
    "Issue",
    "ListingBook",
    "PatchOperation",
    "PatchRequest",
    "Plan",
    "channel_code",
    "initial_attributes",
    "plan_patch",
    "price_sent",
]

Json = dict[str, Any]
Attributes = dict[str, list[Json]]

OUR_PRICE: Final = "our_price"
MIN_PRICE: Final = "minimum_seller_allowed_price"
MAX_PRICE: Final = "maximum_seller_allowed_price"
SALE_PRICE: Final = "discounted_price"
OWN_CHANNEL: Final = "DEFAULT"
_REGION_CHANNELS: Final = {"NA": "AMAZON_NA", "EU": "AMAZON_EU", "FE": "AMAZON_FE"}
_SELECTORS: Final[dict[str, tuple[str, ...]]] = {
    "purchasable_offer": ("marketplace_id", "currency", "audience"),
    "fulfillment_availability": ("fulfillment_channel_code",),
}
_DEFAULT_SELECTOR: Final = ("marketplace_id", "language_tag")


class PatchOperation(msgspec.Struct, frozen=True, gc=False):
    """The model's ``PatchOperation``: ``op`` and ``path`` required, ``value`` an array of objects."""

    op: Literal["add", "replace", "merge", "delete"]
    path: str
    value: list[Json] | None = None


class PatchRequest(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``ListingsItemPatchRequest``: a product type and at least one patch."""

    product_type: str
    patches: tuple[PatchOperation, ...]


class Issue(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """The model's ``Issue`` (``code``, ``message``, ``severity`` and ``categories`` required)."""

    code: str
    message: str
    severity: Literal["ERROR", "WARNING", "INFO"]
    categories: tuple[str, ...]
    attribute_names: tuple[str, ...] = ()


class Plan(msgspec.Struct, frozen=True, gc=False):
    """A patch Amazon takes: the attributes the offer then holds, its price (minor units) and the quantity sent
    (None: left as it is)."""

    attributes: Attributes
    price: int
    quantity: int | None


def channel_code(place: Place) -> str:
    """The offer's ``fulfillment_channel_code``: DEFAULT for the seller's own warehouse, AMAZON_<region> for FBA."""
    market, row = place.market, place.row
    if not market.spec.our_fba[row]:
        return OWN_CHANNEL
    code = market.spec.marketplace[row]
    region = MARKETPLACES[code].region if code in MARKETPLACES else "EU"
    return _REGION_CHANNELS[region]


def initial_attributes(place: Place, marketplace_id: str) -> Attributes:
    """The attributes of a catalog row before any patch: its start price within its bounds, its stock and handling
    time, new condition."""
    market, row = place.market, place.row
    spec = market.spec
    currency = spec.currency[row]

    def price(minor: int) -> list[Json]:
        return [{"schedule": [{"value_with_tax": to_decimal(minor, currency)}]}]

    offer = {
        "marketplace_id": marketplace_id,
        "currency": currency,
        "audience": "ALL",
        OUR_PRICE: price(int(spec.start_price[row])),
        MIN_PRICE: price(int(spec.min_price[row])),
        MAX_PRICE: price(int(spec.max_price[row])),
    }
    availability: Json = {"fulfillment_channel_code": channel_code(place)}
    if not spec.our_fba[row]:
        availability["quantity"] = int(spec.our_stock[row])
        availability["lead_time_to_ship_max_days"] = int(spec.our_handling_days[row])
    return {
        "condition_type": [{"value": "new_new", "marketplace_id": marketplace_id}],
        "purchasable_offer": [offer],
        "fulfillment_availability": [availability],
    }


class ListingBook:
    """The attributes each offer holds, and when a patch last changed them (trio time), created on first use."""

    def __init__(self) -> None:
        self._attributes: dict[Place, Attributes] = {}
        self.updated_at: dict[Place, float] = {}

    def attributes(self, place: Place, marketplace_id: str) -> Attributes:
        held = self._attributes.get(place)
        if held is None:
            held = self._attributes[place] = initial_attributes(place, marketplace_id)
        return held

    def hold(self, place: Place, attributes: Attributes, at: float) -> None:
        self._attributes[place] = attributes
        self.updated_at[place] = at


def plan_patch(
    patches: Sequence[PatchOperation], place: Place, marketplace_id: str, held: Attributes
) -> Plan | list[Issue]:
    """``patches`` tried on the offer's ``held`` attributes in ``marketplace_id``: the `Plan`, or the issues that
    make Amazon refuse it."""
    attributes = copy.deepcopy(held)
    issues: list[Issue] = []
    touched: set[str] = set()
    for index, patch in enumerate(patches):
        name = _attribute(patch.path)
        if name is None:
            issues.append(
                _invalid(
                    "90000900",
                    f"patches[{index}]: path {patch.path!r} is not a top-level attribute (/attributes/<name>); "
                    "nested attributes cannot be patched",
                    (),
                )
            )
            continue
        if patch.op != "delete" and not patch.value:
            issues.append(
                _invalid("4000001", f"The provided value for '{name}' is invalid: {patch.op} needs a value.", (name,))
            )
            continue
        entries = patch.value or []
        strangers = sorted(
            {str(e["marketplace_id"]) for e in entries if e.get("marketplace_id", marketplace_id) != marketplace_id}
        )
        if strangers:
            issues.append(
                _invalid(
                    "4000001",
                    f"The provided value for '{name}' is invalid: marketplace_id {', '.join(strangers)} is not "
                    f"{marketplace_id}, the marketplace patched.",
                    (name,),
                )
            )
            continue
        _apply(attributes, patch.op, name, entries)
        touched.add(name)
    if issues:
        return issues
    return _checked(attributes, touched, place, marketplace_id)


def price_sent(patches: Sequence[PatchOperation], marketplace_id: str, currency: str) -> int | None:
    """The price the last patch of ``purchasable_offer`` sets for every audience in ``marketplace_id``, when it
    sets one that can be read (what `FakeStats.prices_outside_bounds` checks, whether the patch is taken or not)."""
    sent = None
    for patch in patches:
        if _attribute(patch.path) != "purchasable_offer" or patch.op == "delete":
            continue
        for entry in patch.value or []:
            if entry.get("audience", "ALL") == "ALL" and entry.get("marketplace_id", marketplace_id) == marketplace_id:
                try:
                    sent = _amount(entry.get(OUR_PRICE), currency, OUR_PRICE)
                except ValueError:
                    continue
    return sent


def _attribute(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) != 3 or parts[0] or parts[1] != "attributes" or not parts[2]:
        return None
    return parts[2]


def _selector(name: str, entry: Json) -> tuple[Any, ...]:
    keys = _SELECTORS.get(name, _DEFAULT_SELECTOR)
    return tuple(entry.get(key, "ALL" if key == "audience" else None) for key in keys)


def _apply(attributes: Attributes, op: str, name: str, entries: list[Json]) -> None:
    if op in ("add", "replace"):
        attributes[name] = copy.deepcopy(entries)
    elif op == "merge":
        merged = attributes.get(name, [])
        for entry in entries:
            key = _selector(name, entry)
            same = [held for held in merged if _selector(name, held) == key]
            if same:
                same[0].update(copy.deepcopy(entry))
            else:
                merged.append(copy.deepcopy(entry))
        attributes[name] = merged
    elif not entries:  # delete the whole attribute
        attributes.pop(name, None)
    else:  # delete the entries named
        gone = {_selector(name, entry) for entry in entries}
        kept = [held for held in attributes.get(name, []) if _selector(name, held) not in gone]
        if kept:
            attributes[name] = kept
        else:
            attributes.pop(name, None)


def _checked(attributes: Attributes, touched: set[str], place: Place, marketplace_id: str) -> Plan | list[Issue]:
    market, row = place.market, place.row
    currency = market.spec.currency[row]
    issues: list[Issue] = []
    price: int | None = None
    offers = [
        offer
        for offer in attributes.get("purchasable_offer", [])
        if offer.get("audience", "ALL") == "ALL" and offer.get("marketplace_id", marketplace_id) == marketplace_id
    ]
    if not offers or offers[0].get(OUR_PRICE) is None:
        issues.append(
            Issue(
                "90220",
                "'purchasable_offer.our_price' is required but not supplied.",
                "ERROR",
                ("MISSING_ATTRIBUTE",),
                ("purchasable_offer",),
            )
        )
    else:
        offer = offers[0]
        if offer.get("currency", currency) != currency:
            issues.append(_price_issue(f"currency {offer.get('currency')!r} is not {currency}, the marketplace's."))
        else:
            amounts: dict[str, int | None] = {}
            for field in (OUR_PRICE, MIN_PRICE, MAX_PRICE, SALE_PRICE):
                try:
                    amounts[field] = _amount(offer.get(field), currency, field)
                except ValueError as error:
                    issues.append(_price_issue(str(error)))
            if not issues:
                price = amounts[OUR_PRICE]
                issues.extend(_bounds(amounts, currency, market.tick))
    quantity, channel_issues = _availability(attributes, place)
    issues.extend(channel_issues)
    for group in attributes.get("merchant_shipping_group", []):
        if not isinstance(group.get("value"), str):
            issues.append(
                _invalid(
                    "4000001",
                    "The provided value for 'merchant_shipping_group' is invalid: value must be a template id.",
                    ("merchant_shipping_group",),
                )
            )
    if issues or price is None:
        return issues
    return Plan(attributes, price, quantity if "fulfillment_availability" in touched else None)


def _amount(prices: object, currency: str, field: str) -> int | None:
    """The first scheduled value of one of the offer's prices in minor units (None when the offer has none)."""
    if prices is None:
        return None
    try:
        value = prices[0]["schedule"][0]["value_with_tax"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        raise ValueError(f'{field} must be [{{"schedule": [{{"value_with_tax": <amount>}}]}}]') from None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"{field}'s value_with_tax must be a number, not {value!r}")
    try:
        return parse_minor(value, currency)
    except MoneyError as error:
        raise ValueError(f"{field}: {error}") from None


def _bounds(amounts: dict[str, int | None], currency: str, tick: int) -> list[Issue]:
    our, low, high, sale = (amounts[f] for f in (OUR_PRICE, MIN_PRICE, MAX_PRICE, SALE_PRICE))
    assert our is not None  # checked by the caller

    def shown(minor: int) -> str:
        return f"{to_decimal(minor, currency)} {currency}"

    issues = []
    if our <= 0:
        issues.append(_price_issue(f"our_price {shown(our)} must be above zero."))
    elif our % tick:
        issues.append(_price_issue(f"our_price {shown(our)} is not a multiple of the price step {shown(tick)}."))
    if low is not None and high is not None and low > high:
        issues.append(_price_issue(f"{MIN_PRICE} {shown(low)} is above {MAX_PRICE} {shown(high)}."))
    if low is not None and our < low:
        issues.append(
            Issue(
                "18155",
                f"The 'minimum price' ({shown(low)}) is greater than the selling price ({shown(our)}) for the "
                "listing. Review and update your price and/or minimum price.",
                "ERROR",
                ("INVALID_PRICE",),
                ("purchasable_offer",),
            )
        )
    if high is not None and our > high:
        issues.append(_price_issue(f"our_price {shown(our)} is above the {MAX_PRICE} {shown(high)}."))
    if sale is not None and not 0 < sale <= our:
        issues.append(
            _price_issue(f"{SALE_PRICE} {shown(sale)} must be above zero and at most our_price {shown(our)}.")
        )
    return issues


def _availability(attributes: Attributes, place: Place) -> tuple[int | None, list[Issue]]:
    """The quantity the offer's own channel is given (None: not given), and what is wrong with the availability."""
    expected = channel_code(place)
    quantity = None
    issues = []
    for entry in attributes.get("fulfillment_availability", []):
        code = entry.get("fulfillment_channel_code")
        problems = []
        if not isinstance(code, str):
            problems.append("fulfillment_channel_code is required")
        elif code != expected:
            problems.append(
                f"channel {code} is not the offer's ({expected}): the simulator does not move an offer between the "
                "seller's warehouse and Amazon's"
            )
        for field in ("quantity", "lead_time_to_ship_max_days"):
            value = entry.get(field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append(f"{field} must be a whole number of at least 0, not {value!r}")
        if problems:
            message = "The provided value for 'fulfillment_availability' is invalid: " + "; ".join(problems) + "."
            issues.append(_invalid("4000001", message, ("fulfillment_availability",)))
        elif code == OWN_CHANNEL and entry.get("quantity") is not None:
            quantity = int(entry["quantity"])
    return quantity, issues


def _price_issue(detail: str) -> Issue:
    return Issue(
        "4000001",
        f"The provided value for 'purchasable_offer' is invalid: {detail}",
        "ERROR",
        ("INVALID_PRICE",),
        ("purchasable_offer",),
    )


def _invalid(code: str, message: str, names: tuple[str, ...]) -> Issue:
    return Issue(code, message, "ERROR", ("INVALID_ATTRIBUTE",), names)
