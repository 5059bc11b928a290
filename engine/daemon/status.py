"""What a marketplace runtime reports: its status at a glance, and what its stop saved."""

from __future__ import annotations

import msgspec

__all__ = ["MarketStatus", "PersistReport", "RestoreReport"]


class PersistReport(msgspec.Struct, frozen=True):
    """What the store confirmed at a stop: each count is taken after the store's call returned."""

    states_saved: int = 0
    outbox_saved: int = 0
    complete: bool = False  # every save returned within its deadline


class MarketStatus(msgspec.Struct, frozen=True):
    """One marketplace of one seller at a glance, for the live view and `repricer ctl status`."""

    seller: str
    marketplace: str
    offers: int
    live: int
    holding: int
    converged: int
    quarantined: int
    paused: bool
    decisions: int
    intents: int
    updates_sent: int
    accepted: int
    rejected: int
    throttled: int
    polls: int
    observations: int
    command_overflow: int
    transient_errors: int
    service_restarts: int
    # Observations dropped where they entered the engine, by cause (`engine.actors.validate.InvalidReason`), and
    # those whose times were moved back from the future to now.
    invalid_observations: dict[str, int] = msgspec.field(default_factory=dict)
    clamped_observations: int = 0
    stopped: str | None = None  # why the seller's runtimes stopped (a permanent failure), None while running
    # Our estimated share of the page views of the live offers, 0..1 (None with no offer live): per live offer,
    # Amazon's featured-offer share where its last competitive summary (at most an hour old) gave one, else 1 while
    # we hold the Buy Box and 0 while we do not. `holding / live` counts offers; this weighs a shared Buy Box.
    share_of_views: float | None = None
    queued: int = 0  # updates waiting in the batcher for a submit slot
    awaiting: int = 0  # updates sent in a feed, whose outcome Amazon has not given yet (it takes minutes)
    failed: int = 0  # updates Amazon answered with a failure (retried, then given up)
    unapplied: int = 0  # accepted updates whose price a read-back did not find live
    # Seconds on the daemon's clock since the newest observation was taken in (None before the first one).
    last_observation_age_s: float | None = None


class RestoreReport(msgspec.Struct, frozen=True):
    """What a start took over from the last process, per marketplace."""

    states_resumed: int = 0
    states_unreadable: int = 0
    updates_resent: int = 0
    updates_to_verify: int = 0
    updates_given_up: int = 0  # unanswered updates of offers no longer repriced here: not sent, marked given up
    updates_followed: int = 0  # submitted in a feed not yet answered for: followed by the feed's id, not resent
