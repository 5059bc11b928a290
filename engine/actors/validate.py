"""The engine's own guard on what a marketplace says: each observation is checked once, where it enters.

Adapters decode strictly, so types are right; this looks at values a buggy feed or adapter can still produce and
pricing cannot live with. A time that is not finite breaks every comparison the search makes (a NaN recheck once
took the intake down); a time far ahead makes every later observation look stale, so the search freezes; a
negative price, a share of 3 or a FOEP of 0 is no market at all. Such an observation is dropped with its cause,
never passed to pricing: the sweep polls the offer again soon enough.

A time a little ahead of our clock is clock skew and passes as it is (so no sane observation changes). Further
ahead, up to ``limit_s``, it is moved back to now: the data did reach us now, so it is at most that fresh, and a
host clock running behind Amazon's then costs nothing but a count. Beyond the limit it is no skew but a broken
timestamp (a wrong unit or epoch): when the data was true cannot be told, so the observation is dropped rather
than passed off as fresh.
"""

from __future__ import annotations

import enum
import math

import msgspec

from engine.model import FoepReading, HealthEvent, Observation, OfferSnapshot, ShareReading

__all__ = ["CLOCK_SKEW_S", "FUTURE_LIMIT_S", "Invalid", "InvalidReason", "validate"]

CLOCK_SKEW_S = 5.0
FUTURE_LIMIT_S = 86_400.0  # a day: more than any time zone slip, far less than a unit or epoch error


class InvalidReason(enum.StrEnum):
    """Why an observation was dropped; the status counts each."""

    TIME_NOT_FINITE = "time_not_finite"
    TIME_FAR_FUTURE = "time_far_future"
    NEGATIVE_PRICE = "negative_price"  # a listing price, shipping or Buy Box price below 0
    THRESHOLD_NOT_POSITIVE = "threshold_not_positive"
    FOEP_NOT_POSITIVE = "foep_not_positive"
    SHARE_OUT_OF_RANGE = "share_out_of_range"
    SHARE_PRICE_NOT_POSITIVE = "share_price_not_positive"
    REFERENCE_PRICE_NOT_POSITIVE = "reference_price_not_positive"


class Invalid(msgspec.Struct, frozen=True, gc=False):
    """An observation dropped, and why."""

    reason: InvalidReason


def validate(
    observation: Observation, now: float, skew_s: float = CLOCK_SKEW_S, limit_s: float = FUTURE_LIMIT_S
) -> Observation | Invalid:
    """``observation`` itself when it is sane; a copy with its times moved back to ``now`` when they were more than
    ``skew_s`` but at most ``limit_s`` ahead of it (the caller tells by identity); else `Invalid`. Never raises."""
    match observation:
        case OfferSnapshot():
            invalid = _time(observation.as_of, now, limit_s) or _time(observation.received_at, now, limit_s)
            invalid = invalid or _snapshot_prices(observation)
            if invalid is not None:
                return invalid
            if observation.as_of > now + skew_s or observation.received_at > now + skew_s:
                return msgspec.structs.replace(
                    observation, as_of=min(observation.as_of, now), received_at=min(observation.received_at, now)
                )
            return observation
        case FoepReading():
            invalid = _time(observation.as_of, now, limit_s)
            if invalid is None and observation.price is not None and observation.price <= 0:
                invalid = Invalid(InvalidReason.FOEP_NOT_POSITIVE)
        case ShareReading():
            invalid = _time(observation.as_of, now, limit_s)
            # Written so that a NaN share fails too.
            if invalid is None and observation.share is not None and not 0.0 <= observation.share <= 1.0:
                invalid = Invalid(InvalidReason.SHARE_OUT_OF_RANGE)
            if invalid is None and observation.price is not None and observation.price <= 0:
                invalid = Invalid(InvalidReason.SHARE_PRICE_NOT_POSITIVE)
        case HealthEvent():
            invalid = _time(observation.as_of, now, limit_s)
            if invalid is None and observation.reference_price is not None and observation.reference_price <= 0:
                invalid = Invalid(InvalidReason.REFERENCE_PRICE_NOT_POSITIVE)
    if invalid is not None:
        return invalid
    if observation.as_of > now + skew_s:
        return msgspec.structs.replace(observation, as_of=now)
    return observation


def _time(at: float, now: float, limit_s: float) -> Invalid | None:
    if not math.isfinite(at):
        return Invalid(InvalidReason.TIME_NOT_FINITE)
    if at > now + limit_s:
        return Invalid(InvalidReason.TIME_FAR_FUTURE)
    return None


def _snapshot_prices(snapshot: OfferSnapshot) -> Invalid | None:
    our = snapshot.our
    if our is not None and (our.listing_price < 0 or our.shipping < 0):
        return Invalid(InvalidReason.NEGATIVE_PRICE)
    for competitor in snapshot.competitors:
        if competitor.listing_price < 0 or competitor.shipping < 0:
            return Invalid(InvalidReason.NEGATIVE_PRICE)
    for winner in snapshot.buybox:
        if winner.landed_price < 0 or winner.listing_price < 0 or winner.shipping < 0:
            return Invalid(InvalidReason.NEGATIVE_PRICE)
    threshold = snapshot.competitive_price_threshold
    if threshold is not None and threshold <= 0:
        return Invalid(InvalidReason.THRESHOLD_NOT_POSITIVE)
    return None
