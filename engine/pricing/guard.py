"""The last check before a price leaves the engine.

Whatever a strategy wants, the price sent is on the currency's tick and inside ``[min, max]``. A move that no
fresh signal backs (a search step, a baseline's nudge) is also capped at ``step_cap`` of the current price, so a
bug or a typo costs one step rather than the whole margin; a move backed by the Buy Box winner's price or by FOEP
is within bounds and goes through uncapped. The kill switch (dry run) keeps deciding and recording but sends
nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from engine.model import OfferBounds

__all__ = ["GuardError", "Guarded", "guard", "on_tick", "tick_bounds"]


class GuardError(ValueError):
    """No price on the tick grid lies within the bounds."""


class Guarded(NamedTuple):
    """The price to send, and what the guard did to get it."""

    price: int
    send: bool
    clamped: bool
    capped: bool


def on_tick(price: int, tick: int) -> int:
    """The highest price on the tick grid at or below ``price``."""
    return price // tick * tick


def tick_bounds(bounds: OfferBounds, tick: int) -> tuple[int, int]:
    """The lowest and highest prices on the tick grid within the bounds."""
    lo = -(-bounds.min_price // tick) * tick
    hi = on_tick(bounds.max_price, tick)
    if lo > hi or lo <= 0:
        raise GuardError(f"no price on a {tick}-unit tick lies within [{bounds.min_price}, {bounds.max_price}]")
    return lo, hi


def guard(
    target: int,
    bounds: OfferBounds,
    tick: int,
    *,
    current: int | None,
    signal_backed: bool,
    step_cap: Decimal,
    dry_run: bool = False,
) -> Guarded:
    lo, hi = tick_bounds(bounds, tick)
    price = on_tick(target, tick)
    capped = False
    if not signal_backed and current is not None and current > 0:
        max_move = max(tick, on_tick(int(Decimal(current) * step_cap), tick))
        limited = min(max(price, current - max_move), current + max_move)
        capped = limited != price
        price = on_tick(limited, tick)
    # Bounds are applied last: they win over the step cap (say, after the operator narrowed them).
    clamped_price = min(max(price, lo), hi)
    return Guarded(clamped_price, send=not dry_run, clamped=clamped_price != price, capped=capped)
