"""The outbox's state machine, shared by every store so they cannot disagree on it (`engine.model.OutboxState`)."""

from __future__ import annotations

import msgspec

from engine.model import OutboxEntry, OutboxMark, OutboxState

__all__ = ["apply_mark", "superseded_by_put"]


def superseded_by_put(state: OutboxState) -> bool:
    """Whether a newer update of the same offer ends an update in ``state``: one not answered yet, or failed and
    waiting to be sent again (the newer one carries the price now). An accepted one stays, to be verified or
    superseded by the next acceptance."""
    return state in (OutboxState.STORED, OutboxState.SUBMITTED, OutboxState.FAILED)


def apply_mark(entry: OutboxEntry, mark: OutboxMark) -> OutboxEntry | None:
    """The entry after ``mark``, or None where the state machine does not allow the move."""
    if not entry.state.may_become(mark.state):
        return None
    return msgspec.structs.replace(
        entry,
        state=mark.state,
        at=mark.at,
        submission_id=mark.submission_id or entry.submission_id,
        failures=entry.failures + (mark.state is OutboxState.FAILED),
        issues=mark.issues or entry.issues,
    )
