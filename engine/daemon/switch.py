"""Pause switches: an offer is paused when its marketplace's, its seller's or the daemon's switch is on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.daemon.market import MarketRuntime

__all__ = ["Switch", "throw"]


class Switch:
    """A pause switch with a parent: an offer's marketplace, its seller and the whole daemon each have one, and
    an offer is paused when any of them is (the kill switch is the daemon's)."""

    __slots__ = ("on", "parent")

    def __init__(self, parent: Switch | None = None) -> None:
        self.on = False
        self.parent = parent

    @property
    def paused(self) -> bool:
        return self.on or (self.parent is not None and self.parent.paused)


def throw(switch: Switch, markets: Sequence[MarketRuntime], on: bool) -> None:
    """Turn a seller's or the daemon's switch on or off for the marketplaces under it: on drops the waiting
    intents of every offer now paused; off lets every offer no longer paused decide again."""
    switch.on = on
    for market in markets:
        if on:
            market.dropped_paused()
        else:
            market.resumed()
