"""Commands to an offer actor. Unlike observations, commands are never conflated: each one is applied."""

from __future__ import annotations

import msgspec

from engine.model import OfferBounds, OfferKey, SubmissionResult

__all__ = ["Command", "Pause", "Resume", "SetBounds"]


class Pause(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Stop deciding for this offer (the operator's pause); observations are still kept."""

    key: OfferKey


class Resume(msgspec.Struct, frozen=True, gc=False, tag=True):
    key: OfferKey


class SetBounds(msgspec.Struct, frozen=True, gc=False, tag=True):
    """New bounds, already validated by `engine.pricing.bounds`."""

    key: OfferKey
    bounds: OfferBounds


Command = Pause | Resume | SetBounds | SubmissionResult
