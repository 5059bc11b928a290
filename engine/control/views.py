"""The daemon's state as the protocol's results: pure functions of plain values, no trio and no daemon.

Amounts become decimal strings in the marketplace's currency, times wall-clock ISO 8601 in UTC; channel settings
are shown flat, and a change to them is checked here before the runtime sees it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec

from engine.control.protocol import SettingsChange
from engine.control.results import DecisionView
from engine.model import ChannelSettings, CompetitorFilter, Decision, Reason
from engine.money import format_minor

__all__ = ["changed_channel", "channel_view", "decision_view", "definitions", "finite", "iso", "search_state", "winner"]


def decision_view(decision: Decision, currency: str, at: str, now: float) -> DecisionView:
    def money(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, currency)

    seen = decision.inputs
    key = decision.key
    return DecisionView(
        seller=key.seller,
        marketplace=key.marketplace,
        sku=key.sku,
        currency=currency,
        at=at,
        age_s=finite(now - decision.at),
        target=money(decision.target),
        reason=decision.reason.value,
        our_price=money(seen.our_price),
        our_live=seen.our_live,
        we_win=seen.we_win,
        winner_landed=money(seen.winner_landed),
        lowest_landed=money(seen.lowest_landed),
        foep=money(seen.foep),
        competitors=seen.competitors,
        signal_backed=decision.signal_backed,
    )


def channel_view(channel: ChannelSettings) -> dict[str, Any]:
    """A marketplace's channel settings, flat (the competitor filter's fields beside the others), as JSON values."""
    view: dict[str, Any] = msgspec.to_builtins(channel)
    view.update(view.pop("competitors"))
    return view


def changed_channel(channel: ChannelSettings, change: SettingsChange, place: str) -> ChannelSettings:
    """``channel`` with ``change`` applied, checked; ValueError naming the marketplace and the field when a
    value cannot be used."""
    given = {name: value for name in change.__struct_fields__ if (value := getattr(change, name)) is not msgspec.UNSET}
    competitor_fields = set(CompetitorFilter.__struct_fields__)
    competitors = {name: value for name, value in given.items() if name in competitor_fields}
    rest = {name: value for name, value in given.items() if name not in competitor_fields}
    # The one check ChannelSettings cannot make itself: an empty filter is a legal value in code, but over the
    # socket it is a typo that would price every offer at its max. The rest `ChannelSettings.__post_init__` checks.
    if competitors.get("fulfilment") == ():
        raise ValueError(
            f"channel settings of {place}: fulfilment is empty: every competitor would be ignored, and every offer "
            "priced at its max; nothing changed"
        )
    try:
        return msgspec.structs.replace(
            channel, **rest, competitors=msgspec.structs.replace(channel.competitors, **competitors)
        )
    except ValueError as error:
        raise ValueError(f"channel settings of {place}: {error}; nothing changed") from None


def definitions(window_s: float, settled_reasons: frozenset[Reason]) -> dict[str, str]:
    """What the status's figures mean, for its legend; ``settled_reasons``: those that count as converged."""
    settled = ", ".join(sorted(reason.value for reason in settled_reasons))
    return {
        "converged": (
            "offers whose standing decision (the newest in their trace other than "
            f"{Reason.AWAIT_LIVE.value} and {Reason.INVALID_OBSERVATION.value}) is one of {settled}: the engine "
            "has found their price, or they are alone at their max"
        ),
        "holding": "live offers whose latest observation shows them holding the Buy Box",
        "share_of_views": (
            "our estimated share of the page views of the live offers: Amazon's featured-offer share where a "
            "competitive summary at most an hour old gave one, else 1 while holding the Buy Box and 0 while not"
        ),
        "queued": "updates waiting in the batcher for a submit slot",
        "awaiting": "updates sent in a feed whose outcome Amazon has not given yet (a feed takes minutes)",
        "sent": "updates sent to Amazon since the daemon started",
        "failed": "updates Amazon answered with a failure",
        "unapplied": "accepted updates whose price a read-back never found live",
        "rates": f"per real minute, over the last {window_s:g} real seconds",
        "quota use": "tokens spent per real minute over the bucket's rate; shared by a seller's marketplaces "
        "in one region",
        "last_observation_age_s": "seconds on the daemon's clock since the newest observation came in",
    }


def winner(price: Any, currency: str) -> str:
    segment = f" ({price.segment.replace('_', '-')})" if price.segment else ""
    return f"{format_minor(price.landed_price, currency)}{segment}"


def search_state(state: Any) -> dict[str, Any]:
    try:
        value = msgspec.to_builtins(state)
    except (TypeError, ValueError):
        return {"state": repr(state)}
    return value if isinstance(value, dict) else {"state": value}


def finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def iso(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "-"
