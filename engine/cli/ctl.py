"""`repricer ctl`: talk to the running daemon over its control socket.

Each subcommand is one request (`engine.control.protocol`) and prints the answer readably, or as the daemon's JSON
with ``--json`` (``watch --json``: one JSON object per line). Amounts are shown with their currency, times in UTC
as the daemon gives them, rates per real minute.

Exit codes: 0 when the daemon did it; 1 when it refused (an unknown SKU, bounds it cannot use), with its message on
stderr; 2 for a usage error; 3 when no daemon answers on the socket, with one line naming the socket's path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from engine.cli.args import (
    EXIT_REJECTED,
    HelpFormatter,
    marketplace_code,
    positive_float,
    positive_int,
    refuse,
    seller_id,
)

if TYPE_CHECKING:
    from engine.control.client import ControlClient
    from engine.control.protocol import Request
    from engine.control.results import (
        BoundsResult,
        DecisionView,
        HistoryResult,
        MarketLine,
        OfferResult,
        RepriceResult,
        SettingsResult,
        StatusResult,
        SwitchResult,
    )

__all__ = ["EXIT_UNREACHABLE", "add_parser"]

EXIT_UNREACHABLE = 3

T = TypeVar("T")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from engine.control.paths import default_socket_path

    ctl = sub.add_parser(
        "ctl",
        help="talk to the running daemon: status, one offer, pause and resume, bounds, settings, watch, reload",
        description="Ask the running daemon (`repricer run`) over its control socket. Exit code 1 when the daemon "
        "refuses, 3 when nothing answers on the socket.",
        formatter_class=HelpFormatter,
    )
    ctl.add_argument(
        "--socket",
        type=Path,
        metavar="PATH",
        help=f"the daemon's control socket (default: {default_socket_path()})",
    )
    ctl.add_argument("--timeout", type=positive_float, default=15.0, help="seconds to wait for the daemon's answer")
    commands = ctl.add_subparsers(required=True, metavar="command", parser_class=_Parser)

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        parser.set_defaults(handler=handler)
        return parser

    status = command(
        "status",
        "every seller's marketplaces: offers, live, Buy Box, converged, paused, rates, updates, quota use",
        _cmd_status,
    )
    _json(status)

    offer = command(
        "offer", "one offer: settings, bounds, live price, competitors, search, recent decisions", _cmd_offer
    )
    _offer_args(offer)
    _json(offer)

    for name, verb in (("pause", "pause"), ("resume", "resume")):
        switch = command(
            name,
            f"{verb} one SKU, a marketplace, a seller, or everything (--all: the kill switch)",
            _cmd_pause if name == "pause" else _cmd_resume,
        )
        switch.add_argument("sku", nargs="?", type=_sku, metavar="SKU", help=f"the offer to {verb}")
        _place_args(
            switch,
            f"country code: the SKU's, or with no SKU the marketplace to {verb} (default: where the SKU is)",
        )
        switch.add_argument("--all", action="store_true", help=f"{verb} every offer of every seller")
        _json(switch)

    bounds = command(
        "bounds",
        "set an offer's min and max price, or derive them from a margin level",
        _cmd_bounds,
    )
    _offer_args(bounds)
    bounds.add_argument("--min", type=_amount, metavar="PRICE", help="min price, as 12.34 (default: unchanged)")
    bounds.add_argument("--max", type=_amount, metavar="PRICE", help="max price, as 12.34 (default: unchanged)")
    bounds.add_argument(
        "--min-margin", type=_margin, metavar="M", help="min margin, as 0.12 or 12%% (default: prices instead)"
    )
    bounds.add_argument(
        "--max-margin", type=_margin, metavar="M", help="max margin, as 0.30 or 30%% (default: prices instead)"
    )
    bounds.add_argument(
        "--cost", type=_amount, metavar="PRICE", help="the offer's cost for a margin level (default: the catalog's)"
    )
    _json(bounds)

    reprice = command("reprice", "observe one offer now and decide on it", _cmd_reprice)
    _offer_args(reprice)
    reprice.add_argument("--wait", type=_wait, default=5.0, help="seconds to wait for the decision (at most 60)")
    _json(reprice)

    release = command("release", "bring a quarantined offer back (its search starts afresh)", _cmd_release)
    _offer_args(release)
    _json(release)

    settings = command("settings", "show a marketplace's channel settings, and change them with --set", _cmd_settings)
    _place_args(settings, "country code of the marketplace (default: the only one)")
    settings.add_argument(
        "--set",
        action="append",
        type=_assignment,
        metavar="NAME=VALUE",
        dest="changes",
        help="change one setting, as shown by settings (repeatable; lists comma-separated; none clears "
        "max_handling_hours) (default: show only)",
    )
    _json(settings)

    watch = command("watch", "a live stream of decisions until Ctrl-C", _cmd_watch)
    watch.add_argument("sku", nargs="?", type=_sku, metavar="SKU", help="only this SKU's decisions")
    _place_args(watch, "only this marketplace's decisions, by country code (default: every marketplace)")
    watch.add_argument("--json", action="store_true", help="print each decision as one JSON object per line")

    top = commands.add_parser(
        "top",
        help="the live view of the running daemon, refreshed until Ctrl-C",
        description="The live view `repricer run --sim` shows, of the running daemon, refreshed until Ctrl-C\n(on a "
        "terminal in place; elsewhere a frame per refresh).",
        formatter_class=_RawHelpFormatter,
        epilog_from=_columns,
    )
    top.set_defaults(handler=_cmd_top)
    top.add_argument(
        "--every",
        type=_refresh_every,
        default=2.0,
        help=f"seconds between two refreshes (at least {_MIN_REFRESH_S:g}: the daemon makes a board once a second)",
    )
    top.add_argument("--once", action="store_true", help="show one frame and exit")
    top.add_argument("--json", action="store_true", help="print each board as one JSON object per line")

    history = command("history", "one offer's newest decisions and live prices, from the daemon's store", _cmd_history)
    _offer_args(history)
    history.add_argument(
        "--limit", type=_limit, default=20, help="newest decisions, and prices, to show (at most 1000)"
    )
    _json(history)

    reload = command(
        "reload",
        "read the configuration file and the catalog again, as SIGHUP does (exit 1 when the file is refused)",
        _cmd_reload,
    )
    _json(reload)


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog is made only when its help is shown: `top`'s column meanings come from the live view,
    which loads rich, and `repricer --help` stays fast without it."""

    def __init__(self, *args: Any, epilog_from: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_from = epilog_from

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog = self.epilog_from()
        return super().format_help()


class _RawHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """The project's formatter, with the epilog kept as written (one line per column)."""


def _columns() -> str:
    import textwrap

    from engine.live import COLUMNS

    width = max(len(name) for name in COLUMNS)
    return "what the columns mean:\n" + "\n".join(
        textwrap.fill(meaning, 100, initial_indent=f"  {name:<{width}}  ", subsequent_indent=" " * (width + 4))
        for name, meaning in COLUMNS.items()
    )


# --- arguments ---------------------------------------------------------------------------------------------------


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the daemon's answer as one JSON object")


def _place_args(parser: argparse.ArgumentParser, marketplace_help: str) -> None:
    parser.add_argument("--marketplace", type=marketplace_code, help=marketplace_help)
    parser.add_argument(
        "--seller", type=seller_id, metavar="ID", help="seller account (default: any seller, when only one fits)"
    )


def _offer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sku", type=_sku, metavar="SKU", help="the offer's SKU, as in the catalog")
    _place_args(parser, "country code of the offer (default: the one marketplace that has the SKU)")


def _sku(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"not a SKU: {text!r}")
    return text


def _amount(text: str) -> Decimal:
    """An amount as the daemon reads it: digits with a decimal point, no grouping (12.34, 1234)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (say 12.34)") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (say 12.34)")
    return value


def _margin(text: str) -> Decimal:
    """A margin as a share (0.12) or a percentage (12%)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.removesuffix("%").strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a margin: {text!r} (say 0.12 or 12%)") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a margin: {text!r} (say 0.12 or 12%)")
    return value / 100 if percent else value


def _wait(text: str) -> float:
    value = positive_float(text)
    if value > 60:
        raise argparse.ArgumentTypeError(f"at most 60 seconds, not {text!r}")
    return value


# The daemon makes a board at most once a second (`engine.control.commands`): asking faster shows nothing new.
_MIN_REFRESH_S = 1.0


def _refresh_every(text: str) -> float:
    value = positive_float(text)
    if value < _MIN_REFRESH_S:
        raise argparse.ArgumentTypeError(f"at least {_MIN_REFRESH_S:g} second, not {text!r}")
    return value


def _limit(text: str) -> int:
    value = positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"at most 1000, not {text!r}")
    return value


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not NAME=VALUE: {text!r}")
    return name.strip(), value.strip()


# --- talking to the daemon ---------------------------------------------------------------------------------------


def _socket(args: argparse.Namespace) -> Path:
    from engine.control.paths import default_socket_path

    path: Path | None = args.socket
    return path if path is not None else default_socket_path()


def _ask(
    args: argparse.Namespace, name: str, request: Request, result: type[T], show: Callable[[T], Iterable[str]]
) -> int:
    """Send one request and print its answer; the exit code."""
    from engine.control.client import ControlClient

    def talk() -> int:
        with ControlClient(_socket(args), timeout_s=args.timeout) as client:
            raw = client.call(request)
        if args.json:
            print(bytes(raw).decode())
        else:
            print("\n".join(show(msgspec.json.decode(raw, type=result))))
        return 0

    return _talking(f"repricer ctl {name}", talk)


def _talking(prog: str, talk: Callable[[], int], *, answered: Callable[[], bool] = lambda: False) -> int:
    """Run ``talk``, a whole exchange with the daemon, and turn what can go wrong into one line on stderr and the
    exit code: the daemon refused (1), or cannot be reached (3), unless ``answered`` says it had already answered:
    then a stream (``watch``, ``top``) ends as the daemon goes (0)."""
    from engine.control.client import RemoteError, Unreachable

    try:
        return talk()
    except Unreachable as error:
        if answered():
            print(f"{prog}: the daemon closed the connection", file=sys.stderr)
            return 0
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except RemoteError as error:
        print(f"{prog}: {error.message} ({error.code})", file=sys.stderr)
        return EXIT_REJECTED


def _where(args: argparse.Namespace) -> dict[str, Any]:
    return {"marketplace": args.marketplace, "seller": args.seller}


def _cmd_status(args: argparse.Namespace) -> int:
    from engine.control.protocol import Status
    from engine.control.results import StatusResult

    return _ask(args, "status", Status(id=1), StatusResult, _show_status)


def _cmd_offer(args: argparse.Namespace) -> int:
    from engine.control.protocol import OfferQuery
    from engine.control.results import OfferResult

    return _ask(args, "offer", OfferQuery(id=1, sku=args.sku, **_where(args)), OfferResult, _show_offer)


def _cmd_pause(args: argparse.Namespace) -> int:
    from engine.control.protocol import Pause

    return _switch(args, "pause", Pause)


def _cmd_resume(args: argparse.Namespace) -> int:
    from engine.control.protocol import Resume

    return _switch(args, "resume", Resume)


def _switch(args: argparse.Namespace, name: str, kind: Any) -> int:
    from engine.control.results import SwitchResult

    if args.all and (args.sku or args.marketplace or args.seller):
        return refuse(f"repricer ctl {name}", "--all excludes a SKU, --marketplace and --seller")
    if not (args.all or args.sku or args.marketplace or args.seller):
        return refuse(f"repricer ctl {name}", f"say what to {name}: a SKU, --marketplace, --seller, or --all")
    request = kind(id=1, sku=args.sku, all=args.all, **_where(args))
    return _ask(args, name, request, SwitchResult, lambda result: [_show_switch(name, result)])


def _cmd_bounds(args: argparse.Namespace) -> int:
    from engine.control.protocol import Bounds
    from engine.control.results import BoundsResult

    prices = args.min is not None or args.max is not None
    margins = args.min_margin is not None or args.max_margin is not None
    prog = "repricer ctl bounds"
    if prices == margins:
        return refuse(
            prog, "give --min and/or --max, or --min-margin and --max-margin" + (", not both" if prices else "")
        )
    if margins and (args.min_margin is None or args.max_margin is None):
        return refuse(prog, "a margin level needs both --min-margin and --max-margin")
    if args.cost is not None and not margins:
        return refuse(prog, "--cost only counts with --min-margin and --max-margin")
    request = Bounds(
        id=1,
        sku=args.sku,
        min_price=args.min,
        max_price=args.max,
        min_margin=args.min_margin,
        max_margin=args.max_margin,
        cost=args.cost,
        **_where(args),
    )
    return _ask(args, "bounds", request, BoundsResult, _show_bounds)


def _cmd_reprice(args: argparse.Namespace) -> int:
    from engine.control.protocol import Reprice
    from engine.control.results import RepriceResult

    request = Reprice(id=1, sku=args.sku, wait_s=args.wait, **_where(args))
    return _ask(args, "reprice", request, RepriceResult, _show_reprice)


def _cmd_release(args: argparse.Namespace) -> int:
    from engine.control.protocol import Release
    from engine.control.results import ReleaseResult

    def show(result: ReleaseResult) -> list[str]:
        return [f"offer {result.seller}/{result.marketplace}/{result.sku}: {result.note}"]

    return _ask(args, "release", Release(id=1, sku=args.sku, **_where(args)), ReleaseResult, show)


def _cmd_settings(args: argparse.Namespace) -> int:
    from engine.control.protocol import Settings, SettingsChange
    from engine.control.results import SettingsResult

    change = None
    if args.changes:
        try:
            change = _settings_change(args.changes)
        except ValueError as error:
            return refuse("repricer ctl settings", str(error))
    assert change is None or isinstance(change, SettingsChange)
    request = Settings(id=1, change=change, **_where(args))
    return _ask(args, "settings", request, SettingsResult, _show_settings)


def _settings_change(assignments: list[tuple[str, str]]) -> Any:
    """``--set`` values typed as the daemon takes them; ValueError naming the setting that is wrong."""
    from engine.control.protocol import SettingsChange

    known = SettingsChange.__struct_fields__
    raw: dict[str, Any] = {}
    lists = {"conditions", "fulfilment"}
    for name, value in assignments:
        if name not in known:
            raise ValueError(f"--set {name}: no such setting; known: {', '.join(known)}")
        if name in lists:
            raw[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif value.lower() in ("none", "null"):
            raw[name] = None
        else:
            raw[name] = value
    try:
        return msgspec.convert(raw, SettingsChange, strict=False)
    except msgspec.ValidationError as error:
        raise ValueError(f"--set: {error}") from None


def _cmd_reload(args: argparse.Namespace) -> int:
    """What the reload did, as the daemon logged it; exit code 1 when the configuration was refused (the daemon runs
    on as configured before)."""
    from engine.control.client import ControlClient
    from engine.control.protocol import Reload
    from engine.control.results import ReloadResult

    def talk() -> int:
        with ControlClient(_socket(args), timeout_s=args.timeout) as client:
            raw = client.call(Reload(id=1))
        result = msgspec.json.decode(raw, type=ReloadResult)
        if args.json:
            print(bytes(raw).decode())
        else:
            said = [result.catalog] if result.configuration is None else [result.configuration, result.catalog]
            print("\n".join(said))
        return EXIT_REJECTED if result.refused else 0

    return _talking("repricer ctl reload", talk)


def _cmd_watch(args: argparse.Namespace) -> int:
    from engine.control.client import ControlClient
    from engine.control.protocol import Watch
    from engine.control.results import DecisionView, WatchStarted

    prog = "repricer ctl watch"
    request = Watch(id=1, sku=args.sku, **_where(args))

    def talk() -> int:
        with ControlClient(_socket(args), timeout_s=args.timeout) as client:
            items = client.watch(request)
            started = msgspec.json.decode(next(items).event or b"{}", type=WatchStarted)
            print(f"watching {started.watching} (Ctrl-C stops)", file=sys.stderr)
            for item in items:
                if item.dropped is not None:
                    print(f"{prog}: {item.dropped} decisions dropped so far: this watch fell behind", file=sys.stderr)
                elif item.event is not None:
                    if args.json:
                        print(bytes(item.event).decode(), flush=True)
                    else:
                        print(
                            _decision_line(msgspec.json.decode(item.event, type=DecisionView), place=True), flush=True
                        )
        print(f"{prog}: the daemon closed the connection", file=sys.stderr)
        return 0

    return _talking(prog, talk)


def _cmd_top(args: argparse.Namespace) -> int:
    """Boards from the daemon, one per ``--every`` seconds, on one connection: drawn in place by the live view's
    screen on a terminal, printed frame by frame elsewhere, or as JSON."""
    import time

    from rich.console import Console

    from engine.control.client import ControlClient
    from engine.control.protocol import Top
    from engine.live import Board, Rates, Screen, frame

    prog = "repricer ctl top"
    console = Console()
    shown = 0

    def boards(client: ControlClient) -> Iterator[msgspec.Raw]:
        nonlocal shown
        while True:
            yield client.call(Top(id=shown + 1))
            shown += 1
            if args.once:
                return
            time.sleep(args.every)

    def talk() -> int:
        with ControlClient(_socket(args), timeout_s=args.timeout) as client:
            if args.json:
                for raw in boards(client):
                    print(bytes(raw).decode(), flush=True)
            elif console.is_terminal and not console.is_dumb_terminal and not args.once:
                with Screen(
                    "repricer ctl top", detail=f"asking the daemon at {client.path}", console=console
                ) as screen:
                    for raw in boards(client):
                        screen.show(msgspec.json.decode(raw, type=Board))
            else:
                rates = Rates()
                for raw in boards(client):
                    board = msgspec.json.decode(raw, type=Board)
                    rates.observe(board)
                    console.print(frame(board, rates.per_minute(), console))
        return 0

    # Unreachable once it has answered: the daemon has gone.
    return _talking(prog, talk, answered=lambda: shown > 0)


def _cmd_history(args: argparse.Namespace) -> int:
    from engine.control.protocol import History
    from engine.control.results import HistoryResult

    request = History(id=1, sku=args.sku, limit=args.limit, **_where(args))
    return _ask(args, "history", request, HistoryResult, _show_history)


# --- readable output ---------------------------------------------------------------------------------------------


def _money(amount: str | None, currency: str) -> str:
    return "-" if amount is None else f"{amount} {currency}"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(
            (cell.rjust(width) if index in right else cell.ljust(width))
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]


def _show_status(result: StatusResult) -> list[str]:
    lines = [
        f"kill switch {'ON: every offer is paused' if result.kill_switch else 'off'}"
        + (f"; paused sellers: {', '.join(result.paused_sellers)}" if result.paused_sellers else "")
        + f"; rates per real minute over the last {result.rate_window_s:g}s"
        + f"; daemon clock {result.time_scale:g}x real time"
    ]
    header = [
        "SELLER", "MARKET", "OFFERS", "LIVE", "BUY BOX", "VIEWS", "CONVERGED", "PAUSED", "QUARANTINED",
        "DECISIONS/MIN", "UPDATES/MIN", "QUEUED", "IN FEEDS", "SENT", "FAILED", "UNAPPLIED", "LAST OBS",
    ]  # fmt: skip
    rows = [_market_row(market) for market in result.markets]
    lines += _table(header, rows, right=set(range(2, len(header))) - {7})
    for market in result.markets:
        if market.stopped:
            lines.append(f"{market.seller}/{market.marketplace} stopped: {market.stopped}")
    if result.quotas:
        lines.append("quota use (a seller's marketplaces in one region share each bucket)")
        quota_rows = [
            [
                quota.seller,
                ",".join(quota.marketplaces),
                quota.operation,
                f"{_rate(quota.used_per_min)} {quota.unit}/min",
                f"of {quota.limit_per_min:.1f}",
                _pct(quota.use),
                f"burst {quota.burst}",
            ]
            for quota in result.quotas
        ]
        lines += [
            "  " + line
            for line in _table(["SELLER", "MARKETS", "OPERATION", "USED", "LIMIT", "USE", ""], quota_rows, {3, 4, 5})
        ]
    services = ", ".join(
        f"{s.name} {'running' if s.running else 'stopped'}"
        + (f" ({s.restarts} restarts; last: {s.last_error})" if s.restarts else "")
        for s in result.services
    )
    lines.append(f"services: {services}")
    control = result.control
    errors = ", ".join(f"{code} {count}" for code, count in sorted(control.errors.items())) or "none"
    lines.append(
        f"control socket: connections open {control.connections}, requests {control.requests}, errors: {errors}"
    )
    lines.append(f"converged: {result.definitions.get('converged', '')}")
    return lines


def _market_row(market: MarketLine) -> list[str]:
    holding = f"{market.holding} ({market.holding / market.live:.0%})" if market.live else str(market.holding)
    paused = "yes" if market.paused else "no"
    if market.paused_offers:
        paused += f" +{market.paused_offers}"
    return [
        market.seller,
        market.marketplace,
        str(market.offers),
        str(market.live),
        holding,
        _pct(market.share_of_views),
        str(market.converged),
        paused,
        str(market.quarantined),
        _rate(market.decisions_per_min),
        _rate(market.updates_per_min),
        str(market.queued),
        str(market.awaiting),
        str(market.sent),
        str(market.failed),
        str(market.unapplied),
        _age(market.last_observation_age_s),
    ]


def _show_offer(result: OfferResult) -> list[str]:
    cur = result.currency
    lines = [
        f"SKU {result.sku} of seller {result.seller} on {result.marketplace} (prices in {cur}): ASIN {result.asin}, "
        f"{result.condition}, {result.fulfilment}-fulfilled, repricing {'on' if result.repricing else 'off'}",
        f"  bounds       min {_money(result.min_price, cur)}, max {_money(result.max_price, cur)}; sale price "
        f"{_money(result.sale_price, cur)}; quantity {_or_dash(result.quantity)}; lead time "
        f"{_or_dash(result.lead_time_days)} days; shipping group {result.shipping_group or 'default'}",
        f"  state        {'paused by the ' + result.paused_by if result.paused_by else 'not paused'}; "
        f"{'QUARANTINED (repricer ctl release)' if result.quarantined else 'not quarantined'}"
        f"{f', crashes: {result.crashes}' if result.crashes else ''}; decisions: {result.decisions}; last asked "
        f"{_money(result.asked, cur)}",
    ]
    if result.live_price is None:
        lines.append(
            "  live         not listed in the latest observation"
            if result.observed_age_s is not None
            else "  live         nothing observed yet"
        )
    else:
        wins = "holding the Buy Box" if result.we_win else "not holding the Buy Box"
        lines.append(
            f"  live         {_money(result.live_price, cur)}, {'live' if result.live else 'not live yet'}, {wins}; "
            f"observed {_age(result.observed_age_s)} ago"
        )
    if result.buybox_state is not None:
        winners = ", ".join(f"{price} {cur}" for price in result.buybox) or "none reported"
        lines.append(
            f"  Buy Box      {result.buybox_state}; winner {winners}; competitive price threshold "
            f"{_money(result.competitive_price_threshold, cur)}; FOEP {_money(result.foep, cur)}; our share "
            f"{_pct(result.share)}"
        )
    lines.append(f"  competitors  {len(result.competitors)}, by landed price")
    for c in result.competitors:
        feedback = "-" if c.feedback_pct is None else f"{c.feedback_pct}% of {c.feedback_count}"
        marks = [mark for mark, on in (("Buy Box", c.buybox_winner), ("Amazon", c.amazon), ("Prime", c.prime)) if on]
        lines.append(
            f"    {c.seller_id:<16} {_money(c.landed, cur):>14} ({c.listing} + {c.shipping} shipping), "
            f"{c.fulfilment}, {c.condition}, feedback {feedback}, ships within {c.handling_max_hours}h"
            + (f" [{', '.join(marks)}]" if marks else "")
        )
    lines.append("  search       " + (", ".join(_search_fields(result.search, cur)) or "nothing learned yet"))
    lines.append(f"  recent decisions ({len(result.recent)}, newest first)")
    lines += ["    " + _decision_line(decision) for decision in result.recent]
    return lines


def _show_switch(name: str, result: SwitchResult) -> str:
    count = f"{result.offers} offer{'s' if result.offers != 1 else ''}"
    if not result.changed:
        was = "already paused" if result.paused else "not paused"
        line = f"{result.target} was {was}: nothing changed ({count})"
    else:
        line = f"{'paused' if result.paused else 'resumed'} {result.target} ({count})"
    if result.still_paused_by:
        line += f"; still paused by the {result.still_paused_by}"
    return line


def _show_bounds(result: BoundsResult) -> list[str]:
    cur = result.currency
    before = f"{result.before_min}..{result.before_max} {cur}"
    after = f"{result.min_price}..{result.max_price} {cur}"
    change = f"{before} -> {after}" if result.changed else after
    saved = {True: "saved", False: "not saved", None: "saving unconfirmed"}[result.saved]
    return [
        f"SKU {result.sku} on {result.marketplace}: bounds {change} (from {result.source}); {saved}",
        f"  {result.note}",
    ]


def _show_reprice(result: RepriceResult) -> list[str]:
    lines = [f"SKU {result.sku} of seller {result.seller} on {result.marketplace}: {result.note}"]
    if result.decision is not None:
        lines.append("  " + _decision_line(result.decision))
    return lines


def _show_settings(result: SettingsResult) -> list[str]:
    lines = [f"channel settings of seller {result.seller} on {result.marketplace}"]
    width = max((len(name) for name in result.settings), default=0)
    for name, value in result.settings.items():
        was = f"   (was {_short(result.changed[name])})" if name in result.changed else ""
        lines.append(f"  {name:<{width}}  {_short(value)}{was}")
    if result.changed or result.note != "unchanged":
        lines.append(result.note)
    return lines


def _show_history(result: HistoryResult) -> list[str]:
    cur = result.currency
    lines = [f"{result.sku} of seller {result.seller} on {result.marketplace} (prices in {cur}), newest first"]
    if not result.persistent:
        lines.append("  (the daemon's store is in memory: this is only what this run recorded)")
    lines.append(f"decisions ({len(result.decisions)})")
    lines += ["  " + _decision_line(decision) for decision in result.decisions]
    lines.append(f"prices that went live ({len(result.prices)})")
    lines += [f"  {point.at}  {_money(point.price, cur):>14}" for point in result.prices]
    return lines


def _decision_line(decision: DecisionView, *, place: bool = False) -> str:
    cur = decision.currency
    where = f"{decision.seller}/{decision.marketplace}/{decision.sku}  " if place else ""
    target = "hold" if decision.target is None else _money(decision.target, cur)
    ours = _money(decision.our_price, cur) + (" live" if decision.our_live else "")
    return (
        f"{decision.at}  {where}{target:>14}  {decision.reason:<34} ours {ours}, winner "
        f"{_money(decision.winner_landed, cur)}{' (us)' if decision.we_win else ''}, lowest "
        f"{_money(decision.lowest_landed, cur)}, FOEP {_money(decision.foep, cur)}, {decision.competitors} competitors"
    )


# The search's own times are on the daemon's clock, which means nothing to a reader: the readable view leaves them
# out (--json has them).
_TIME_FIELDS = ("_at", "_as_of", "_since", "_until", "_touches")


def _search_fields(search: dict[str, Any], currency: str) -> list[str]:
    """The strategy's state, readably: what it holds (no empty fields, no clock readings), prices as money."""
    fields = []
    for name, value in search.items():
        if value in (None, (), [], False, 0, 0.0) or name.endswith(_TIME_FIELDS):
            continue
        priced = isinstance(value, int) and not isinstance(value, bool) and ("price" in name or name == "target")
        shown = _money(_minor(value, currency), currency) if priced else _short(value)
        fields.append(f"{name}={shown}")
    return fields


def _minor(amount: int, currency: str) -> str:
    from engine.money import format_minor

    return format_minor(amount, currency)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ",".join(_short(v) for v in value) or "(none)"
    if value is None:
        return "none"
    return str(value)
