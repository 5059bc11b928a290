"""`repricer config check FILE`: read a configuration file as the daemon will, and say what it configures.

Everything `engine.config.load` checks is checked (environment variables resolved, the file's mode), nothing is
started and nothing is written. A valid file gets a short summary on stdout (``--json``: one JSON object) and
exit code 0; the first problem is one ``FILE:LINE: key.path: what is wrong`` line on stderr and exit code 1.
Neither ever shows a secret: a credential is shown as where it comes from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from engine.cli.args import EXIT_REJECTED, HelpFormatter

if TYPE_CHECKING:
    from engine.config import ConfigSummary, MarketSummary, SellerSummary

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser(
        "config",
        help="the configuration file of `run --config`: check it",
        description="The configuration file (TOML) that `repricer run --config FILE` reads: seller accounts, "
        "credentials, endpoints, the database, per-marketplace and per-offer settings.",
        formatter_class=HelpFormatter,
    )
    actions = config.add_subparsers(required=True, metavar="action")
    check = actions.add_parser(
        "check",
        help="validate a configuration file without starting anything",
        description="Read FILE as `run --config` would: TOML syntax, every key and value, marketplaces and "
        "regions, credentials (environment variables read), and that a file holding a secret is private. Print "
        "what it configures, never a secret. Exit code 0 when valid; 1 with FILE:LINE: key: problem on stderr "
        "when not.",
        formatter_class=HelpFormatter,
    )
    check.add_argument("file", type=Path, metavar="FILE", help="the configuration file")
    check.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    check.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    from engine.config import ConfigError, load, summarise

    try:
        config = load(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REJECTED
    summary = summarise(config)
    if args.json:
        print(msgspec.json.encode(summary).decode())
    else:
        print("\n".join(_describe(summary)))
    return 0


def _describe(summary: ConfigSummary) -> list[str]:
    sellers = len(summary.sellers)
    lines = [
        f"{summary.file}: valid, {sellers} seller account{'' if sellers == 1 else 's'}",
        f"  database: {summary.database}{' (default)' if summary.database_is_default else ''}",
        f"  control socket: {summary.control_socket or 'default'}",
        f"  log: {summary.log.level}, {summary.log.format}",
    ]
    for seller in summary.sellers:
        lines += _seller(seller)
    return lines


def _seller(seller: SellerSummary) -> list[str]:
    credentials = seller.credentials
    return [
        f"  seller {seller.id}: region {seller.region}, marketplaces {', '.join(seller.marketplaces)}",
        f"    merchant id: {seller.merchant_id}",
        f"    credentials: client_id {_from(credentials.client_id)}, client_secret {_from(credentials.client_secret)}, "
        f"refresh_token {_from(credentials.refresh_token)}",
        f"    endpoints: SP-API {seller.endpoints.sp_api}, LWA token {seller.endpoints.lwa_token}",
        _notifications(seller),
        _feeds(seller),
        *(f"    {market.marketplace}: {_market(market)}" for market in seller.markets),
    ]


def _notifications(seller: SellerSummary) -> str:
    queue = seller.notifications
    if queue is None:
        return "    notifications: none (no [seller.notifications] queue: the market is learned by polling)"
    return (
        f"    notifications: SQS queue {queue.queue_url}, AWS key {_from(queue.access_key_id)}, "
        f"secret {_from(queue.secret_access_key)}"
    )


def _feeds(seller: SellerSummary) -> str:
    from engine.config import FeedSettings

    feeds = seller.feeds
    default = " (default)" if feeds == FeedSettings() else ""
    return (
        f"    feeds{default}: {feeds.least:,} to {feeds.most:,} updates a feed (fewer go as patches), polled every "
        f"{feeds.poll_every_s:g} s, given up after {feeds.give_up_after_s:g} s"
    )


def _from(source: str) -> str:
    """A credential's source ("literal" or "env NAME") in words."""
    return "in the file" if source == "literal" else f"from {source.replace('env ', 'environment variable ', 1)}"


def _market(market: MarketSummary) -> str:
    settings = ", ".join(f"{name}={_shown(value)}" for name, value in market.settings.items())
    said = settings or "default settings"
    if market.offer_overrides:
        offers = market.offer_overrides
        said += f"; {offers} offer{'' if offers == 1 else 's'} with settings of {'its' if offers == 1 else 'their'} own"
    return said


def _shown(value: Any) -> str:
    """A value as in a TOML file, more or less: booleans in lower case, arrays with brackets."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return f"[{', '.join(_shown(item) for item in value)}]"
    return "none" if value is None else str(value)
