"""Commands to an offer actor. Unlike observations, commands are never conflated: each one is applied."""

from __future__ import annotations

import msgspec

from engine.model import OfferKey, SubmissionResult

__all__ = ["Command", "Pause", "Resume"]


class Pause(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Stop deciding for this offer (the operator's pause); observations are still kept."""

    key: OfferKey


class Resume(msgspec.Struct, frozen=True, gc=False, tag=True):
    key: OfferKey


# New settings (bounds among them) are not a command: the runtime replaces them in its catalog and in the actor at
# once (`MarketRuntime.replace_offer`), so the batcher's guard and the actor never disagree on an offer's bounds.
Command = Pause | Resume | SubmissionResult
