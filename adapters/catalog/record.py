"""One record of a catalog file: the flat fields of an offer, and the `CatalogRow` they make.

A record is what one CSV line or one JSONL object holds once the file's framing is gone: a mapping from column name
to value. Each field is read on its own (`adapters.catalog.fields`: a price parses in the marketplace's currency
and is not negative, a share is below 1); the fields that only mean something together are combined here: fees
exist when any fee is given, a margin level needs both margins. Whether the row then gives bounds the engine can
price with is `engine.catalog.settings`'s question, asked separately, because a catalog row may be imported
before its bounds are known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final, NamedTuple, TypeVar

from adapters.catalog import fields
from engine.catalog import CatalogRow
from engine.marketplaces import MARKETPLACES, by_code
from engine.model import Condition, Fees, Fulfilment, MarginLevel, OfferKey
from engine.money import format_minor

__all__ = ["COLUMNS", "Record", "format_record", "parse_record"]

COLUMNS: Final[tuple[str, ...]] = (
    "seller",
    "marketplace",
    "sku",
    "asin",
    "product_id",
    "product_id_type",
    "title",
    "condition",
    "fulfilment",
    "cost",
    "variable_fee",
    "fixed_fee",
    "fulfilment_fee_merchant",
    "fulfilment_fee_amazon",
    "vat_rate",
    "min_margin",
    "max_margin",
    "min_price",
    "max_price",
    "price",
    "sale_price",
    "stock",
    "lead_time_days",
    "shipping_group",
    "repricing",
    "attributes",
)
_KNOWN: Final = frozenset(COLUMNS)
_FEE_AMOUNTS: Final = ("fixed_fee", "fulfilment_fee_merchant", "fulfilment_fee_amazon")
_PRICES: Final = ("min_price", "max_price", "price", "sale_price")

T = TypeVar("T")

_condition = fields.choice(Condition)
_fulfilment = fields.choice(Fulfilment)


class Record(NamedTuple):
    """What one record made: a row, or the problems that kept it out (each naming its field and value).

    ``key`` is set whenever seller, marketplace and SKU were readable, even if another field was not, so the
    caller can still tell that a SKU repeats; ``sku`` is the SKU as given, for the error report.
    """

    row: CatalogRow | None
    key: OfferKey | None
    sku: str | None
    problems: list[str]


class _Reader:
    """The values of one record, read field by field; every problem is collected rather than the first raised."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values = values
        self.problems: list[str] = []
        self.failed: set[str] = set()

    def take(self, name: str, parse: Callable[[object], T]) -> T | None:
        """The field's value, or None when it is absent (no key, null, an empty cell) or unusable (a problem)."""
        value = self.values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse(value)
        except fields.FieldError as exc:
            self.problems.append(f"{name} {fields.shown(value)} {exc.reason}")
            self.failed.add(name)
            return None

    def required(self, name: str, value: str | None, default: str | None) -> str | None:
        if value is not None or name in self.failed:
            return value
        if default is None:
            hint = "" if name == "sku" else f": add a {name} column, or give a default {name}"
            self.problems.append(f"no {name}{hint}")
        return default


def parse_record(
    values: Mapping[str, object], *, cells: bool, seller: str | None = None, marketplace: str | None = None
) -> Record:
    """Read one record; ``cells`` says its values are CSV text. ``seller`` and ``marketplace`` fill absent ones.

    The defaults must already be checked (``marketplace`` a known code): they are the caller's, not the file's.
    """
    reader = _Reader(values)
    unknown = [name for name in values if name not in _KNOWN]
    if unknown:
        reader.problems.append(f"unknown field {', '.join(map(repr, unknown))}; known: {', '.join(COLUMNS)}")
    sku = reader.required("sku", reader.take("sku", fields.text), None)
    seller_name = reader.required("seller", reader.take("seller", fields.text), seller)
    code = reader.required("marketplace", reader.take("marketplace", fields.marketplace), marketplace)
    key = None if sku is None or seller_name is None or code is None else OfferKey(seller_name, code, sku)

    # Without a currency no amount can be read; the marketplace is then the row's problem already.
    currency = None if code is None else MARKETPLACES[code].currency_code

    def money(name: str) -> int | None:
        return None if currency is None else reader.take(name, fields.money(currency))

    count = fields.count_cell if cells else fields.count_json
    asin = reader.take("asin", fields.text)
    product_id = reader.take("product_id", fields.text)
    product_id_type = reader.take("product_id_type", fields.text)
    title = reader.take("title", fields.text)
    condition = reader.take("condition", _condition)
    fulfilment = reader.take("fulfilment", _fulfilment)
    cost = money("cost")
    variable_fee = reader.take("variable_fee", fields.share)
    fixed_fee, merchant_fee, amazon_fee = (money(name) for name in _FEE_AMOUNTS)
    vat_rate = reader.take("vat_rate", fields.share)
    min_margin = reader.take("min_margin", fields.margin)
    max_margin = reader.take("max_margin", fields.margin)
    min_price, max_price, price, sale_price = (money(name) for name in _PRICES)
    stock = reader.take("stock", count)
    lead_time_days = reader.take("lead_time_days", count)
    shipping_group = reader.take("shipping_group", fields.text)
    repricing = reader.take("repricing", fields.flag_cell if cells else fields.flag_json)
    attributes = reader.take("attributes", fields.attributes_cell if cells else fields.attributes_json)

    fees = None
    if any(value is not None for value in (variable_fee, fixed_fee, merchant_fee, amazon_fee)):
        fees = Fees(
            variable_fee=Decimal(0) if variable_fee is None else variable_fee,
            fixed_fee=fixed_fee or 0,
            fulfilment_fee_merchant=merchant_fee or 0,
            fulfilment_fee_amazon=amazon_fee or 0,
        )
    margins = None
    if min_margin is not None and max_margin is not None:
        margins = MarginLevel(min_margin, max_margin)
    elif (min_margin is None) != (max_margin is None) and not reader.failed & {"min_margin", "max_margin"}:
        given, missing = ("min_margin", "max_margin") if min_margin is not None else ("max_margin", "min_margin")
        reader.problems.append(f"{given} is set but {missing} is not: give both, or neither")

    if reader.problems or key is None:
        return Record(None, key, sku, reader.problems)
    row = CatalogRow(
        key=key,
        asin=asin,
        product_id=product_id,
        product_id_type=product_id_type,
        title=title,
        condition=condition or Condition.NEW,
        fulfilment=fulfilment or Fulfilment.MERCHANT,
        cost=cost,
        fees=fees,
        vat_rate=vat_rate,
        margins=margins,
        min_price=min_price,
        max_price=max_price,
        price=price,
        sale_price=sale_price,
        stock=stock,
        lead_time_days=lead_time_days,
        shipping_group=shipping_group,
        repricing=True if repricing is None else repricing,
        attributes=attributes or (),
    )
    return Record(row, key, sku, [])


def format_record(row: CatalogRow) -> dict[str, object]:
    """The fields of ``row`` as `parse_record` reads them back, in `COLUMNS` order; absent ones are left out.

    Money is text in the marketplace's currency ("12.99") and shares are plain decimals ("0.15"), exact in both
    formats. Raises ValueError, naming the SKU, for a row no file can hold as it is: an unknown marketplace (no
    currency to write its money in), attribute names given twice (a JSON object keeps one), or text that is not
    Unicode (a lone surrogate cannot be encoded as UTF-8).
    """
    key = row.key
    try:
        currency = by_code(key.marketplace).currency_code
    except KeyError:
        raise ValueError(f"SKU {key.sku!r}: unknown marketplace {key.marketplace!r}, so no currency") from None

    def amount(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, currency)

    fees, margins = row.fees, row.margins
    attributes = dict(row.attributes)
    if len(attributes) != len(row.attributes):
        raise ValueError(f"SKU {key.sku!r} on {key.marketplace}: an attribute name is given twice")
    record: dict[str, object | None] = {
        "seller": key.seller,
        "marketplace": key.marketplace,
        "sku": key.sku,
        "asin": row.asin,
        "product_id": row.product_id,
        "product_id_type": row.product_id_type,
        "title": row.title,
        "condition": row.condition.value,
        "fulfilment": row.fulfilment.value,
        "cost": amount(row.cost),
        "variable_fee": None if fees is None else fields.plain(fees.variable_fee),
        "fixed_fee": None if fees is None else amount(fees.fixed_fee),
        "fulfilment_fee_merchant": None if fees is None else amount(fees.fulfilment_fee_merchant),
        "fulfilment_fee_amazon": None if fees is None else amount(fees.fulfilment_fee_amazon),
        "vat_rate": None if row.vat_rate is None else fields.plain(row.vat_rate),
        "min_margin": None if margins is None else fields.plain(margins.min_margin),
        "max_margin": None if margins is None else fields.plain(margins.max_margin),
        "min_price": amount(row.min_price),
        "max_price": amount(row.max_price),
        "price": amount(row.price),
        "sale_price": amount(row.sale_price),
        "stock": row.stock,
        "lead_time_days": row.lead_time_days,
        "shipping_group": row.shipping_group,
        "repricing": row.repricing,
        "attributes": attributes or None,
    }
    texts = [v for v in record.values() if isinstance(v, str)] + [t for pair in row.attributes for t in pair]
    if fields.has_surrogate("".join(texts)):
        raise ValueError(f"SKU {key.sku!r} on {key.marketplace}: a text field holds a lone surrogate, not Unicode")
    return {name: value for name, value in record.items() if value is not None}
