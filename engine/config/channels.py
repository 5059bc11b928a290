"""A seller's ``[seller.channel.XX]`` tables: each marketplace's settings, and the offers that differ.

A per-offer table (``[seller.channel.DE.offers."SKU-1"]``) holds only what differs for that SKU; it is merged over
its marketplace's table key by key (``competitors`` too, key by key; an array such as ``competitors.conditions``
is replaced whole), and the merged table is built as `engine.model.ChannelSettings`, so the model's checks run on
what the offer will really use. An error in it names the SKU's table and, where it can, the key.
"""

from __future__ import annotations

from typing import Any

from engine.config.decode import Source, kind
from engine.config.locate import KeyPath
from engine.config.resolved import MarketSettings
from engine.config.schema import ChannelTable, SettingsTable
from engine.model import ChannelSettings, CompetitorFilter

__all__ = ["market_settings"]


def market_settings(source: Source, code: str, raw: object, at: KeyPath) -> MarketSettings:
    """The settings of marketplace ``code`` from its table ``raw`` (as parsed, at ``at``; None: no table)."""
    if raw is None:
        return MarketSettings(code, ChannelSettings())
    table = source.convert(raw, ChannelTable, at)
    assert isinstance(raw, dict)  # msgspec made a ChannelTable of it
    base = {key: value for key, value in raw.items() if key != "offers"}
    offers: dict[str, ChannelSettings] = {}
    for sku, override in table.offers.items():
        where = (*at, "offers", sku)
        if not sku.strip():
            raise source.error(where, "a SKU cannot be empty")
        if not isinstance(override, dict):
            raise source.error(where, f"expected a table of this SKU's own settings, got {kind(override)}")
        offers[sku] = _plain(source.convert(_merge(base, override), SettingsTable, where))
    return MarketSettings(code, _plain(table), offers)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        merged[key] = _merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


def _plain(table: SettingsTable) -> ChannelSettings:
    """The model's own struct (the file's subclass only refused unknown keys): equal to settings made in code."""
    competitors = table.competitors
    values = {name: getattr(table, name) for name in ChannelSettings.__struct_fields__}
    values["competitors"] = CompetitorFilter(
        **{name: getattr(competitors, name) for name in CompetitorFilter.__struct_fields__}
    )
    return ChannelSettings(**values)
