"""Boards made by hand, as wide as a real one gets: long SKUs, six-figure counts, three currencies."""

from __future__ import annotations

from engine.daemon import MarketStatus
from engine.live import AtMin, Board, MarketBoard, Move


def status(marketplace: str, *, offers: int = 100_000, seller: str = "SIM", **figures: object) -> MarketStatus:
    base: dict[str, object] = {
        "seller": seller,
        "marketplace": marketplace,
        "offers": offers,
        "live": offers - 130,
        "holding": offers - 4_000,
        "converged": offers - 12_000,
        "quarantined": 3,
        "paused": False,
        "decisions": 1_234_567,
        "intents": 300_000,
        "updates_sent": 250_000,
        "accepted": 249_000,
        "rejected": 12,
        "throttled": 4_321,
        "polls": 90_000,
        "observations": 2_000_000,
        "command_overflow": 0,
        "transient_errors": 5,
        "service_restarts": 0,
        "share_of_views": 0.54,
        "queued": 1_234,
        "failed": 17,
    }
    base.update(figures)
    return MarketStatus(**base)  # type: ignore[arg-type]


def wide_board(*, phase: str = "running", sellers: int = 1) -> Board:
    markets = []
    for i in range(sellers):
        seller = "SIM" if sellers == 1 else f"seller-{i}"
        markets += [
            MarketBoard(status("DE", seller=seller), "EUR", at_min=12_345, below_min=678),
            MarketBoard(status("GB", seller=seller), "GBP", at_min=3, below_min=0),
            MarketBoard(status("SE", seller=seller, share_of_views=None, live=0), "SEK", at_min=0, below_min=0),
        ]
    moves = (
        Move(
            "SIM",
            "DE",
            "A-VERY-LONG-SKU-THAT-GOES-ON-AND-ON-0001",
            "EUR",
            1_234_599,
            1_229_999,
            1_234_599,
            True,
            "above_competitive_price_threshold",
            12.0,
        ),
        Move("SIM", "SE", "SE-42", "SEK", 12_800, 12_700, 12_750, False, "challenge", 3_700.0),
        Move("SIM", "GB", "GB-7", "GBP", None, 1_999, None, False, "first_probe_foep", 90_000.0),
    )
    at_min = (
        AtMin("SIM", "DE", "DE-LOSING-AT-MIN-SKU-000001", "EUR", 1_999, 1_999, 1_850, False, True, 45.0),
        AtMin("SIM", "GB", "GB-HOLDING", "GBP", 999, 999, 999, True, False, 5.0),
    )
    return Board(
        title="repricer --sim: 100000 SKUs × DE,GB,SE, S1b, Ctrl-C stops",
        phase=phase,  # type: ignore[arg-type]
        uptime_s=3 * 3600 + 25 * 60 + 7,
        clock_rate=60.0,
        markets=tuple(markets),
        moves=moves,
        at_min=at_min,
    )
