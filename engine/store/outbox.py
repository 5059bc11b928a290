"""The outbox's state machine, shared by every store so they cannot disagree on it (`engine.model.OutboxState`)."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from engine.model import OutboxEntry, OutboxMark, OutboxState

__all__ = ["Moved", "apply_mark", "move", "superseded_by_put"]


def superseded_by_put(state: OutboxState) -> bool:
    """Whether a newer update of the same offer ends an update in ``state``: one not answered yet, or failed and
    waiting to be sent again (the newer one carries the price now). An accepted one stays, to be verified or
    superseded by the next acceptance."""
    return state in (OutboxState.STORED, OutboxState.SUBMITTED, OutboxState.FAILED)


class Moved(NamedTuple):
    """What a transition leaves of an update's own fields."""

    state: OutboxState
    submission_id: str | None
    failures: int
    issues: tuple[str, ...]


def move(
    state: OutboxState, submission_id: str | None, failures: int, issues: tuple[str, ...], mark: OutboxMark
) -> Moved | None:
    """An update's fields after ``mark``, or None where the state machine does not allow the move."""
    if not state.may_become(mark.state):
        return None
    return Moved(
        mark.state,
        mark.submission_id or submission_id,
        failures + (mark.state is OutboxState.FAILED),
        mark.issues or issues,
    )


def apply_mark(entry: OutboxEntry, mark: OutboxMark) -> OutboxEntry | None:
    """The entry after ``mark``, or None where the state machine does not allow the move."""
    moved = move(entry.state, entry.submission_id, entry.failures, entry.issues, mark)
    if moved is None:
        return None
    return msgspec.structs.replace(
        entry,
        state=moved.state,
        at=mark.at,
        submission_id=moved.submission_id,
        failures=moved.failures,
        issues=moved.issues,
    )
