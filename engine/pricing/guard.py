"""The last check before a price leaves the engine.

Whatever a strategy wants, the price sent is on the currency's tick and inside ``[min, max]``. A move that no
fresh signal backs (a search step, a baseline's nudge) is also capped at ``step_cap`` of the current price, so a
bug or a typo costs one step rather than the whole margin; a move backed by the Buy Box winner's price or by FOEP
is within bounds and goes through uncapped. The kill switch (dry run) keeps deciding and recording but sends
nothing.

The other price fields of an update are guarded too: min and max go as the seller configured them, and a sale
price goes only when it lies within them on the tick (`sale_price_issue` says why not, and the update goes
without it: a wrong sale price must not hold back a right price).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from engine.model import OfferBounds

__all__ = ["GuardError", "Guarded", "guard", "max_step", "on_tick", "sale_price_issue", "tick_bounds"]


class GuardError(ValueError):
    """No price on the tick grid lies within the bounds, or the tick is not a price step at all."""


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
    _check_tick(tick)
    lo = -(-bounds.min_price // tick) * tick
    hi = on_tick(bounds.max_price, tick)
    if lo > hi or lo <= 0:
        raise GuardError(f"no price on a {tick}-unit tick lies within [{bounds.min_price}, {bounds.max_price}]")
    return lo, hi


def max_step(current: int, tick: int, step_cap: Decimal) -> int:
    """The largest move from ``current`` that no fresh signal backs: ``step_cap`` of it on the tick, at least a tick."""
    return max(tick, on_tick(int(Decimal(current) * step_cap), tick))


def sale_price_issue(sale_price: int, bounds: OfferBounds, tick: int) -> str | None:
    """Why ``sale_price`` cannot travel with an update (outside ``[min, max]``, or off the tick), or None."""
    _check_tick(tick)
    if not bounds.min_price <= sale_price <= bounds.max_price:
        return f"sale price {sale_price} lies outside [{bounds.min_price}, {bounds.max_price}]"
    if sale_price % tick:
        return f"sale price {sale_price} is not on the {tick}-unit tick"
    return None


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
        max_move = max_step(current, tick, step_cap)
        limited = min(max(price, current - max_move), current + max_move)
        capped = limited != price
        price = on_tick(limited, tick)
    # Bounds are applied last: they win over the step cap (say, after the operator narrowed them).
    clamped_price = min(max(price, lo), hi)
    return Guarded(clamped_price, send=not dry_run, clamped=clamped_price != price, capped=capped)


def _check_tick(tick: int) -> None:
    # Settings checks reject such a tick; this keeps one that got past them from dividing by zero in the batcher.
    if tick < 1:
        raise GuardError(f"a price tick of {tick} minor units is not a price step: it must be 1 or more")
