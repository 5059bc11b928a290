"""Amazon's 14 countries and 17 channels.

Prices, stock and orders are per country (a marketplace id); content is per channel (a country and a language).
The VAT rate is the country's standard rate: the default for bounds derived from margins, which a catalog row
overrides for goods with a reduced rate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal

import msgspec

from engine.money import Currency, currency

__all__ = [
    "CHANNELS",
    "ENDPOINTS",
    "MARKETPLACES",
    "Channel",
    "MarketplaceInfo",
    "Region",
    "by_code",
    "by_id",
]

Region = Literal["NA", "EU", "FE"]

ENDPOINTS: Final[dict[str, str]] = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}


class MarketplaceInfo(msgspec.Struct, frozen=True):
    """One Amazon country.

    ``vat_inclusive`` says whether shoppers see (and sellers send) prices with VAT: true in the EU, GB and TR;
    false in the US and CA, where sales tax is added at checkout. MX shows IVA-inclusive prices, so it is treated
    as gross at 16% (DESIGN.md groups it with the net marketplaces; the shelf price in Mexico includes IVA).
    """

    code: str
    marketplace_id: str
    region: Region
    currency_code: str
    vat_inclusive: bool
    vat_rate: Decimal
    languages: tuple[str, ...]

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.region]

    @property
    def currency(self) -> Currency:
        return currency(self.currency_code)

    @property
    def price_vat_rate(self) -> Decimal:
        """The VAT rate inside a listed price: the standard rate where prices are gross, zero where net."""
        return self.vat_rate if self.vat_inclusive else Decimal(0)


def _m(code: str, mid: str, region: Region, cur: str, vat: str | None, *langs: str) -> MarketplaceInfo:
    return MarketplaceInfo(code, mid, region, cur, vat is not None, Decimal(vat or "0"), langs)


MARKETPLACES: Final[dict[str, MarketplaceInfo]] = {
    m.code: m
    for m in (
        _m("US", "ATVPDKIKX0DER", "NA", "USD", None, "en_US", "es_US"),
        _m("CA", "A2EUQ1WTGCTBG2", "NA", "CAD", None, "en_CA", "fr_CA"),
        _m("MX", "A1AM78C64UM0Y8", "NA", "MXN", "0.16", "es_MX"),
        _m("GB", "A1F83G8C2ARO7P", "EU", "GBP", "0.20", "en_GB"),
        _m("DE", "A1PA6795UKMFR9", "EU", "EUR", "0.19", "de_DE"),
        _m("FR", "A13V1IB3VIYZZH", "EU", "EUR", "0.20", "fr_FR"),
        _m("IT", "APJ6JRA9NG5V4", "EU", "EUR", "0.22", "it_IT"),
        _m("ES", "A1RKKUPIHCS9HS", "EU", "EUR", "0.21", "es_ES"),
        _m("NL", "A1805IZSGTT6HS", "EU", "EUR", "0.21", "nl_NL"),
        _m("BE", "AMEN7PMS3EDWL", "EU", "EUR", "0.21", "fr_BE", "nl_BE"),
        _m("IE", "A28R8C7NBKEWEA", "EU", "EUR", "0.23", "en_IE"),
        _m("PL", "A1C3SOZRARQ6R3", "EU", "PLN", "0.23", "pl_PL"),
        _m("SE", "A2NODRKZP88ZB9", "EU", "SEK", "0.25", "sv_SE"),
        _m("TR", "A33AVAJ2PDY3EV", "EU", "TRY", "0.20", "tr_TR"),
    )
}

_BY_ID: Final[dict[str, MarketplaceInfo]] = {m.marketplace_id: m for m in MARKETPLACES.values()}


class Channel(msgspec.Struct, frozen=True):
    """A content channel: one marketplace in one language ("Amazon BE (FR)")."""

    marketplace: str
    language: str

    @property
    def name(self) -> str:
        info = MARKETPLACES[self.marketplace]
        if len(info.languages) == 1:
            return f"Amazon {self.marketplace}"
        return f"Amazon {self.marketplace} ({self.language.split('_')[0].upper()})"


CHANNELS: Final[tuple[Channel, ...]] = tuple(
    Channel(m.code, lang) for m in MARKETPLACES.values() for lang in m.languages
)


def by_code(code: str) -> MarketplaceInfo:
    """The marketplace for a country code ("DE"); the error lists the known codes."""
    try:
        return MARKETPLACES[code.upper()]
    except KeyError:
        raise KeyError(f"unknown marketplace {code!r}; known: {', '.join(MARKETPLACES)}") from None


def by_id(marketplace_id: str) -> MarketplaceInfo:
    """The marketplace for an Amazon marketplace id ("A1PA6795UKMFR9")."""
    try:
        return _BY_ID[marketplace_id]
    except KeyError:
        raise KeyError(f"unknown marketplace id {marketplace_id!r}") from None
