"""What a checked configuration says, short enough to read at a glance and free of secrets.

`repricer config check` prints it as text or, with ``--json``, as one JSON object of these structs. A credential
appears only as where it comes from (``"literal"`` or ``"env NAME"``); a marketplace's settings only where they
differ from the defaults, named as in the file (``competitors.include_amazon``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from engine.config.credentials import CredentialSources
from engine.config.feeds import FeedSettings
from engine.config.resolved import Config, Endpoints, MarketSettings, SellerAccount, default_database
from engine.logs import LogSettings
from engine.model import ChannelSettings

__all__ = ["ConfigSummary", "MarketSummary", "QueueSummary", "SellerSummary", "changed_settings", "summarise"]


class MarketSummary(msgspec.Struct, frozen=True):
    marketplace: str
    settings: dict[str, Any]  # what differs from the defaults, by key path
    offer_overrides: int  # SKUs with settings of their own


class QueueSummary(msgspec.Struct, frozen=True):
    """The notifications' queue: where, and where its key and secret come from (never the secret)."""

    queue_url: str
    arn: str
    access_key_id: str  # "literal" or "env NAME", as every credential here
    secret_access_key: str


class SellerSummary(msgspec.Struct, frozen=True):
    id: str
    merchant_id: str  # Amazon's merchant token: no secret, it is in every Listings API path
    region: str
    marketplaces: list[str]
    credentials: CredentialSources
    endpoints: Endpoints
    markets: list[MarketSummary]
    notifications: QueueSummary | None = None  # None: no queue, the market is learned by polling
    feeds: FeedSettings = FeedSettings()


class ConfigSummary(msgspec.Struct, frozen=True):
    file: str
    database: str
    database_is_default: bool
    control_socket: str | None  # None: the default
    log: LogSettings
    sellers: list[SellerSummary]


def summarise(config: Config) -> ConfigSummary:
    return ConfigSummary(
        file=str(config.file),
        database=str(config.database),
        database_is_default=config.database == default_database(),
        control_socket=None if config.control_socket is None else str(config.control_socket),
        log=config.log,
        sellers=[_seller(seller) for seller in config.sellers],
    )


def changed_settings(settings: ChannelSettings, defaults: ChannelSettings | None = None) -> dict[str, Any]:
    """The settings that differ from ``defaults`` (the model's), by key path, as JSON-ready values."""
    # Decimals stay Decimals, so 0.1 and 0.10 are the same step cap; JSON writes them as strings.
    return _differences(_builtins(settings), _builtins(defaults or ChannelSettings()), "")


def _builtins(settings: ChannelSettings) -> dict[str, Any]:
    values: dict[str, Any] = msgspec.to_builtins(settings, builtin_types=(Decimal,))
    return values


def _seller(seller: SellerAccount) -> SellerSummary:
    return SellerSummary(
        id=seller.id,
        merchant_id=seller.merchant_id,
        region=seller.region.lower(),
        marketplaces=list(seller.marketplaces),
        credentials=seller.credentials.sources,
        endpoints=seller.endpoints,
        markets=[_market(market) for market in seller.markets],
        notifications=None
        if (queue := seller.notifications) is None
        else QueueSummary(queue.url, queue.arn, *queue.sources),
        feeds=seller.feeds,
    )


def _market(market: MarketSettings) -> MarketSummary:
    return MarketSummary(market.marketplace, changed_settings(market.channel), len(market.offers))


def _differences(values: dict[str, Any], defaults: dict[str, Any], prefix: str) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name, value in values.items():
        default = defaults.get(name)
        if isinstance(value, dict) and isinstance(default, dict):
            changed |= _differences(value, default, f"{prefix}{name}.")
        elif value != default:
            changed[f"{prefix}{name}"] = value
    return changed
