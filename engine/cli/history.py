"""`repricer history SKU`: one offer's decision trace and the prices of it that went live, from the database.

Reads while the daemon writes (the store's WAL journal lets it). Times are stored as wall time and shown in the
local time zone, ISO 8601 with the offset; prices in the marketplace's currency.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from engine.cli.args import (
    DEFAULT_SELLER,
    EXIT_REJECTED,
    HelpFormatter,
    marketplace_code,
    positive_int,
    refuse,
    seller_id,
)
from engine.cli.database import StoreUnavailable, add_db_option, open_store

if TYPE_CHECKING:
    from engine.catalog import CatalogRow
    from engine.model import Decision, OfferKey, PricePoint

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = sub.add_parser(
        "history",
        help="an offer's decisions and live prices, from the database",
        description="Show one offer's newest decisions (when, the target price or hold, why, and what the engine "
        "saw) and the prices of it that went live, newest first. Exit code 1 when the database knows nothing "
        "of the offer.",
        formatter_class=HelpFormatter,
    )
    history.add_argument("sku", type=_sku, metavar="SKU", help="the offer's SKU, as in the catalog")
    history.add_argument(
        "--marketplace", type=marketplace_code, required=True, help="country code of the offer (no default)"
    )
    history.add_argument(
        "--seller",
        type=seller_id,
        default=DEFAULT_SELLER,
        metavar="ID",
        help="seller account of the offer (run --sim's is SIM)",
    )
    history.add_argument("--limit", type=positive_int, default=20, help="newest decisions, and prices, to show")
    history.add_argument("--json", action="store_true", help="print the history as one JSON object")
    add_db_option(history)
    history.set_defaults(handler=_cmd_history)


def _sku(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"not a SKU: {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class _Trace:
    row: CatalogRow | None
    decisions: list[tuple[str, Decision]]  # with the local wall time of each
    prices: list[tuple[str, PricePoint]]


def _cmd_history(args: argparse.Namespace) -> int:
    from engine.marketplaces import by_code
    from engine.model import OfferKey

    key = OfferKey(args.seller, args.marketplace, args.sku)
    try:
        trace = trio.run(_read, args, key)
    except StoreUnavailable as exc:
        return refuse("repricer history", str(exc))
    if trace.row is None and not trace.decisions and not trace.prices:
        print(
            f"repricer history: no offer {args.sku!r} of seller {args.seller} on {args.marketplace} in the database "
            "(no catalog row, decision or price)",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    currency = by_code(args.marketplace).currency_code
    if args.json:
        print(msgspec.json.encode(_as_json(key, currency, trace)).decode())
    else:
        print("\n".join(_table(key, currency, trace)))
    return 0


async def _read(args: argparse.Namespace, key: OfferKey) -> _Trace:
    from engine.ports import Clock

    # Made inside trio.run, on the real clock: the store maps its wall times onto this clock, and back here.
    clock = Clock()

    def local(at: float) -> str:
        return clock.to_utc(at).astimezone().isoformat(timespec="seconds")

    async with open_store(args.db, create=False, clock=clock) as store:
        rows = await store.load_catalog(key.seller, key.marketplace)
        decisions = await store.recent_decisions(key, args.limit)
        prices = await store.price_history(key, args.limit)
    row = next((row for row in rows if row.key == key), None)
    return _Trace(row, [(local(d.at), d) for d in decisions], [(local(p.at), p) for p in prices])


def _table(key: OfferKey, currency: str, trace: _Trace) -> list[str]:
    from engine.money import format_minor

    def money(minor: int | None) -> str:
        return "-" if minor is None else format_minor(minor, currency)

    row = trace.row
    lines = [f"{key.sku} of seller {key.seller} on {key.marketplace} (prices in {currency}), newest first"]
    if row is None:
        lines.append("  not in the catalog")
    else:
        bounds = f"min {money(row.min_price)}, max {money(row.max_price)}"
        lines.append(f"  {row.title or 'untitled'}, ASIN {row.asin or '-'}, {bounds}, listed at {money(row.price)}")
    lines.append(f"decisions ({len(trace.decisions)})")
    for at, decision in trace.decisions:
        seen = decision.inputs
        ours = money(seen.our_price) + (" live" if seen.our_live else "")
        target = "hold" if decision.target is None else money(decision.target)
        lines.append(
            f"  {at}  {target:>10}  {decision.reason.value:<34} ours {ours}, winner {money(seen.winner_landed)}"
            f"{' (us)' if seen.we_win else ''}, lowest {money(seen.lowest_landed)}, FOEP {money(seen.foep)}, "
            f"{seen.competitors} competitors"
        )
    lines.append(f"prices that went live ({len(trace.prices)})")
    lines.extend(f"  {at}  {money(point.price):>10}" for at, point in trace.prices)
    return lines


def _as_json(key: OfferKey, currency: str, trace: _Trace) -> dict[str, Any]:
    from engine.money import format_minor

    def money(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, currency)

    return {
        "seller": key.seller,
        "marketplace": key.marketplace,
        "sku": key.sku,
        "currency": currency,
        "in_catalog": trace.row is not None,
        "decisions": [
            {
                "at": at,
                "target": money(d.target),
                "reason": d.reason.value,
                "our_price": money(d.inputs.our_price),
                "our_live": d.inputs.our_live,
                "we_win": d.inputs.we_win,
                "winner_landed": money(d.inputs.winner_landed),
                "lowest_landed": money(d.inputs.lowest_landed),
                "foep": money(d.inputs.foep),
                "competitors": d.inputs.competitors,
            }
            for at, d in trace.decisions
        ],
        "prices": [{"at": at, "price": money(p.price)} for at, p in trace.prices],
    }
