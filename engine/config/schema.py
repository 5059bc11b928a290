"""What a configuration file may say: its tables as msgspec Structs that refuse an unknown key.

These are the file's shape, decoded as written; `engine.config.load` checks what one table cannot check alone
(regions, references between tables, environment variables, the file's mode) and resolves them into the
`engine.config.resolved` structs the engine uses.

Tables keyed by the user (marketplace codes under ``channel``, SKUs under ``offers``) stay raw here and are
decoded one entry at a time, because msgspec's error path does not name a dictionary's key and the error must.

A channel's settings are `engine.model.ChannelSettings` itself, subclassed only to refuse unknown keys (the model
ignores them, as data read back from a store must be): its fields, defaults and ``__post_init__`` checks are the
model's, so a rule added there applies to the file at once.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from engine.config.feeds import FeedSettings
from engine.logs import LogSettings
from engine.model import ChannelSettings, CompetitorFilter

__all__ = [
    "ChannelTable",
    "CompetitorsTable",
    "ConfigFile",
    "CredentialsTable",
    "EndpointsTable",
    "FeedsTable",
    "NotificationsTable",
    "RegionName",
    "SellerTable",
    "SettingsTable",
]

RegionName = Literal["na", "eu", "fe"]


class CompetitorsTable(CompetitorFilter, frozen=True, gc=False, forbid_unknown_fields=True):
    """``[seller.channel.DE.competitors]``: which competing offers count (`engine.model.CompetitorFilter`)."""


class SettingsTable(ChannelSettings, frozen=True, gc=False, forbid_unknown_fields=True):
    """A marketplace's or an offer's repricer settings (`engine.model.ChannelSettings`)."""

    competitors: CompetitorsTable = CompetitorsTable()


class ChannelTable(SettingsTable, frozen=True, gc=False):
    """``[seller.channel.DE]``: the marketplace's settings, and per SKU the settings that differ from them
    (``[seller.channel.DE.offers."SKU-1"]``, each a partial `SettingsTable` merged over this one's)."""

    offers: dict[str, Any] = msgspec.field(default_factory=dict)


class CredentialsTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[seller.credentials]``: the Login with Amazon application's client id and secret, and the seller's
    refresh token; each given literally or as ``<name>_env``, the name of the environment variable holding it."""

    client_id: str | None = None
    client_id_env: str | None = None
    client_secret: str | None = None
    client_secret_env: str | None = None
    refresh_token: str | None = None
    refresh_token_env: str | None = None


class EndpointsTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[seller.endpoints]``: where the SP-API and the token endpoint are, when not Amazon's (a local fake)."""

    sp_api: str | None = None
    lwa_token: str | None = None


class NotificationsTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[seller.notifications]``: the SQS queue Amazon delivers the seller's notifications to, and the AWS access
    key that reads it (each part literally or as ``<name>_env``); the region when the queue's host does not say it."""

    queue_url: str
    aws_region: str | None = None
    aws_access_key_id: str | None = None
    aws_access_key_id_env: str | None = None
    aws_secret_access_key: str | None = None
    aws_secret_access_key_env: str | None = None


class FeedsTable(FeedSettings, frozen=True, forbid_unknown_fields=True):
    """``[seller.feeds]``: `engine.config.resolved.FeedSettings`, refusing unknown keys."""


class SellerTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One ``[[seller]]``: a seller account in one region, its marketplaces, credentials and settings."""

    id: str
    merchant_id: str
    region: RegionName
    marketplaces: list[str]
    credentials: CredentialsTable
    endpoints: EndpointsTable = EndpointsTable()
    notifications: NotificationsTable | None = None
    feeds: FeedsTable = FeedsTable()
    channel: dict[str, Any] = {}


class ConfigFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole file."""

    seller: list[SellerTable]
    database: str | None = None
    control_socket: str | None = None
    log: LogSettings = LogSettings()
