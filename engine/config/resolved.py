"""A checked configuration, as the engine uses it: every default filled in, every reference resolved.

`engine.config.load` builds it; nothing here parses or checks. Paths are absolute, regions are the engine's
(`engine.marketplaces.Region`), every marketplace of a seller has its settings (the defaults where the file gives
none), and each per-offer override is already merged over its marketplace's settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

from engine.config.credentials import Credentials
from engine.config.feeds import MAX_FEED_MESSAGES, FeedSettings
from engine.config.queues import QueueSettings
from engine.logs import LogSettings
from engine.marketplaces import Region
from engine.model import ChannelSettings

__all__ = [
    "LWA_TOKEN_URL",
    "MAX_FEED_MESSAGES",
    "Config",
    "Endpoints",
    "FeedSettings",
    "MarketSettings",
    "QueueSettings",
    "SellerAccount",
    "default_database",
]

# Login with Amazon's token endpoint, the same for every region.
LWA_TOKEN_URL: Final = "https://api.amazon.com/auth/o2/token"


def default_database() -> Path:
    """``repricer.db`` in the user's data directory (platformdirs; XDG_DATA_HOME is honoured on Linux): the
    database every command uses unless told otherwise."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("repricer")) / "repricer.db"


class Endpoints(msgspec.Struct, frozen=True):
    """Where this seller's calls go: the region's SP-API host and Login with Amazon, unless overridden."""

    sp_api: str
    lwa_token: str


class MarketSettings(msgspec.Struct, frozen=True):
    """One marketplace's repricer settings, and the offers whose settings differ (merged, per SKU)."""

    marketplace: str
    channel: ChannelSettings
    offers: dict[str, ChannelSettings] = {}

    def for_sku(self, sku: str) -> ChannelSettings:
        return self.offers.get(sku, self.channel)


class SellerAccount(msgspec.Struct, frozen=True):
    """One seller account in one region: the unit of Amazon's quotas and of a refresh token.

    ``id`` is our name for the account (in offer keys, status and history); ``merchant_id`` is Amazon's: the
    merchant token (the selling partner id), letters and digits, which the Listings API's paths hold and by which
    our offer is told from the others in Amazon's replies. ``notifications`` is the SQS queue its notifications
    arrive in (None: none are read; the engine learns the market from its polls alone); ``feeds`` when its updates
    go by feed.
    """

    id: str
    merchant_id: str
    region: Region
    credentials: Credentials
    endpoints: Endpoints
    markets: tuple[MarketSettings, ...]  # in the order the file names the marketplaces
    notifications: QueueSettings | None = None
    feeds: FeedSettings = FeedSettings()

    @property
    def marketplaces(self) -> tuple[str, ...]:
        return tuple(market.marketplace for market in self.markets)


class Config(msgspec.Struct, frozen=True):
    """A whole configuration file, checked. Its repr shows no secret."""

    file: Path
    database: Path
    control_socket: Path | None  # None: the default (`engine.control.default_socket_path`)
    log: LogSettings
    sellers: tuple[SellerAccount, ...]
