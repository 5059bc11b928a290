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


class RestoreReport(msgspec.Struct, frozen=True):
    """What a start took over from the last process, per marketplace."""

    states_resumed: int = 0
    states_unreadable: int = 0
    updates_resent: int = 0
    updates_to_verify: int = 0
    updates_given_up: int = 0  # unanswered updates of offers no longer repriced here: not sent, marked given up
