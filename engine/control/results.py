"""What each control command answers, as the ``ok`` of its reply; `repricer ctl` decodes them back.

Amounts are decimal strings in the stated ``currency`` ("19.99"); times are wall time, ISO 8601 in UTC, with an
age in seconds on the daemon's clock (simulated seconds under ``run --sim``); rates are per real minute.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "BoundsResult",
    "CompetitorView",
    "ControlCounters",
    "DecisionView",
    "HistoryResult",
    "MarketLine",
    "OfferResult",
    "PriceView",
    "QuotaLine",
    "ReleaseResult",
    "ReloadResult",
    "RepriceResult",
    "ServiceLine",
    "SettingsResult",
    "StatusResult",
    "SwitchResult",
    "WatchStarted",
]


class DecisionView(msgspec.Struct, frozen=True, kw_only=True):
    """One decision: the target (None: hold, nothing sent) and why, with what it saw."""

    seller: str
    marketplace: str
    sku: str
    currency: str
    at: str
    age_s: float
    target: str | None
    reason: str
    our_price: str | None = None
    our_live: bool = False
    we_win: bool = False
    winner_landed: str | None = None
    lowest_landed: str | None = None
    foep: str | None = None
    competitors: int = 0
    signal_backed: bool = False


class MarketLine(msgspec.Struct, frozen=True, kw_only=True):
    """One seller's marketplace (see `engine.daemon.status.MarketStatus` for each count's definition)."""

    seller: str
    marketplace: str
    currency: str
    offers: int
    live: int
    holding: int  # live offers holding the Buy Box
    share_of_views: float | None
    converged: int
    paused: bool  # the marketplace is paused (by itself, its seller or the kill switch)
    paused_offers: int  # offers paused one by one
    quarantined: int
    decisions: int
    decisions_per_min: float | None  # per real minute, over the rate window; None until it has a sample
    updates_per_min: float | None
    queued: int
    awaiting: int = 0
    sent: int
    failed: int
    unapplied: int
    rejected: int
    throttled: int
    last_observation_age_s: float | None
    stopped: str | None = None


class QuotaLine(msgspec.Struct, frozen=True, kw_only=True):
    """One operation's quota, shared by a seller's marketplaces in one region (Amazon's buckets are per seller)."""

    seller: str
    marketplaces: tuple[str, ...]
    operation: str
    unit: str  # what the bucket counts: "calls", or "items" where a call costs one token per item
    used_per_min: float | None  # per real minute, over the rate window
    limit_per_min: float  # the bucket's rate, per real minute
    burst: int
    use: float | None  # used / limit, 0..1 (a little above 1 right after a burst)


class ServiceLine(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    running: bool
    restarts: int
    last_error: str | None


class ControlCounters(msgspec.Struct, kw_only=True):
    """What the control server did, since it started."""

    connections: int = 0  # open now
    accepted: int = 0
    requests: int = 0
    errors: dict[str, int] = msgspec.field(default_factory=dict)  # answers by error code
    refused_busy: int = 0
    refused_user: int = 0
    dropped_idle: int = 0
    dropped_slow: int = 0  # a client that did not read its answers within the send deadline
    watch_dropped: int = 0  # decisions a watcher's full buffer dropped


class StatusResult(msgspec.Struct, frozen=True, kw_only=True):
    kill_switch: bool  # every seller paused
    paused_sellers: tuple[str, ...]
    markets: tuple[MarketLine, ...]
    quotas: tuple[QuotaLine, ...]
    services: tuple[ServiceLine, ...]
    control: ControlCounters
    rate_window_s: float  # real seconds the per-minute rates are taken over
    time_scale: float  # daemon seconds per real second (the --sim speed; 1 otherwise)
    definitions: dict[str, str]


class CompetitorView(msgspec.Struct, frozen=True, kw_only=True):
    seller_id: str
    landed: str
    listing: str
    shipping: str
    fulfilment: str
    condition: str
    prime: bool
    amazon: bool
    buybox_winner: bool
    feedback_pct: int | None
    feedback_count: int
    handling_max_hours: int


class OfferResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    sku: str
    currency: str
    asin: str
    repricing: bool
    condition: str
    fulfilment: str
    min_price: str
    max_price: str
    sale_price: str | None
    quantity: int | None
    lead_time_days: int | None
    shipping_group: str | None
    paused: bool  # paused itself
    paused_by: str | None  # what pauses it, if anything: "offer", "marketplace", "seller" or "kill switch"
    quarantined: bool
    crashes: int  # within the supervisor's window
    decisions: int
    asked: str | None  # the last price handed to the batcher
    live_price: str | None
    live: bool | None
    we_win: bool | None
    observed_age_s: float | None
    buybox_state: str | None
    buybox: tuple[str, ...]  # the winners' landed prices, per segment Amazon reports
    competitive_price_threshold: str | None
    competitors: tuple[CompetitorView, ...]
    foep: str | None
    share: float | None
    search: dict[str, Any]  # the strategy's state, as it stores it (times on the daemon's clock)
    recent: tuple[DecisionView, ...]  # newest first


class SwitchResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``pause`` or ``resume`` did: ``changed`` is False when it was already so (nothing happened)."""

    target: str
    paused: bool  # the target's own switch, now
    changed: bool
    offers: int  # offers under the target
    still_paused_by: str | None  # after a resume: a pause above it that still holds


class BoundsResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    sku: str
    currency: str
    before_min: str
    before_max: str
    min_price: str
    max_price: str
    changed: bool
    source: str  # "prices" or "margins"
    saved: bool | None  # in the catalog the daemon starts from; None: unknown (the store did not answer in time)
    note: str


class RepriceResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    sku: str
    observed: bool  # a fresh observation arrived and was decided on within the wait
    decision: DecisionView | None  # the decision on it (None when none came within the wait)
    note: str


class ReleaseResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    sku: str
    paused: bool  # it stays paused if it was
    note: str


class ReloadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a reload did, each part in the words the daemon logged: the configuration file (None for a daemon that
    has none, ``run --sim``) and the catalog. ``refused``: the file was not taken in (a key that needs a restart, or
    a file that no longer loads), and the daemon runs on as configured before."""

    configuration: str | None
    applied: tuple[str, ...] = ()  # the configuration's keys taken in
    refused: bool = False
    catalog: str


class SettingsResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    settings: dict[str, Any]  # now (after the change, if any)
    changed: dict[str, Any]  # field: its value before, for each field that changed
    note: str


class WatchStarted(msgspec.Struct, frozen=True, kw_only=True):
    watching: str
    buffer: int  # decisions held for a slow reader before they are dropped (and counted)


class PriceView(msgspec.Struct, frozen=True):
    at: str
    price: str


class HistoryResult(msgspec.Struct, frozen=True, kw_only=True):
    seller: str
    marketplace: str
    sku: str
    currency: str
    persistent: bool  # whether the store keeps anything past this process
    decisions: tuple[DecisionView, ...]
    prices: tuple[PriceView, ...]
