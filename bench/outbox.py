"""Whether the daemon lost an update, for `bench spapi`: its outbox at the end of a run, read against what the
market did and (over HTTP) what the fake accepted.

The outbox holds every update the batcher sent or meant to send (`engine.model.OutboxState`). An update is lost
when the daemon's view and the market's disagree in a way nothing will repair:

- ``phantom``: the daemon has it accepted or verified, and the fake never answered ACCEPTED to that submission
  id for that SKU and price (over HTTP only; the in-process adapter gives no submission ids);
- ``verified_not_live``: the daemon read it back live (verified), and the market never had that price live between
  the fake's acceptance (or the run's start) and the verification;
- ``stranded``: not answered, or failed, and yet not the newest update of its offer: a newer update should have
  superseded it, so nothing will ever send it.

Not lost, and counted beside: updates the daemon gave up on (failed too often, or accepted and never live after
the batcher's resends: logged, and the search's own resend is the backstop), with those still the newest of their
offer at the end (``given_up_last``: the backstop had not sent anything newer), and the newest update of an offer
still unanswered when the daemon stopped (drained into the outbox; the next start sends it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.wiretap import Accepted
from engine.model import OfferKey, OutboxEntry, OutboxState
from sim.trajectory import RowSeries

__all__ = ["UpdateAudit", "audit_outbox"]

_UNANSWERED = frozenset({OutboxState.STORED, OutboxState.SUBMITTED, OutboxState.FAILED})
_SAID_YES = frozenset({OutboxState.ACCEPTED, OutboxState.VERIFIED})


@dataclass(slots=True)
class UpdateAudit:
    """The outbox of a run, counted (see the module docstring)."""

    updates: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    phantom: int = 0
    verified_not_live: int = 0
    stranded: int = 0
    given_up: int = 0
    given_up_last: int = 0
    unsent_at_stop: int = 0
    examples: list[str] = field(default_factory=list)  # a few of the lost, for the report

    @property
    def lost(self) -> int:
        return self.phantom + self.verified_not_live + self.stranded

    def _lose(self, what: str, entry: OutboxEntry) -> None:
        if len(self.examples) < 5:
            update = entry.update
            self.examples.append(f"{what}: {update.key} update {update.update_id} at {update.price} ({entry.state})")


def audit_outbox(
    entries: Sequence[OutboxEntry],
    series: Callable[[OfferKey], RowSeries],
    *,
    start: float,
    accepted: Mapping[str, Accepted] | None = None,
) -> UpdateAudit:
    """Count ``entries`` (every state, every offer) against each offer's recorded market (``series``, from the
    run's ``start``) and, when given, the fake's ``accepted`` patches by submission id."""
    audit = UpdateAudit(updates=len(entries))
    audit.by_state = dict(Counter(str(entry.state) for entry in entries))
    newest: dict[OfferKey, int] = {}
    for entry in entries:
        key = entry.update.key
        newest[key] = max(newest.get(key, 0), entry.update.update_id)
    for entry in entries:
        update = entry.update
        if entry.state in _UNANSWERED:
            if update.update_id != newest[update.key]:
                audit.stranded += 1
                audit._lose("stranded", entry)
            else:
                audit.unsent_at_stop += 1
            continue
        if entry.state is OutboxState.GIVEN_UP:
            audit.given_up += 1
            audit.given_up_last += update.update_id == newest[update.key]
            continue
        if entry.state not in _SAID_YES:
            continue
        since = start
        if accepted is not None:
            taken = accepted.get(entry.submission_id or "")
            if taken is None or taken.sku != update.key.sku or taken.price not in (None, update.price):
                audit.phantom += 1
                audit._lose("phantom", entry)
                continue
            since = taken.at
        if entry.state is OutboxState.VERIFIED and not _live_between(series(update.key), update.price, since, entry.at):
            audit.verified_not_live += 1
            audit._lose("verified, never live", entry)
    return audit


def _live_between(row: RowSeries, price: int, since: float, until: float) -> bool:
    """Whether ``price`` was our live price at some moment of [since, until] (value k holds on [t[k], t[k+1]))."""
    t = row.t
    ends = np.append(t[1:], row.end)
    overlaps = (t <= until) & (ends >= since)
    return bool(np.any(overlaps & (row.our_price == price)))
