"""The frame an operator reads: it fits 80 columns, says what every column means, and shows prices with currency."""

from __future__ import annotations

import io

import msgspec
import pytest
from rich.console import Console

from engine.live import COLUMNS, LEGEND, Board, PerMinute, Rates, frame, starting_frame
from tests.live.boards import status, wide_board


def _console(width: int = 80, height: int | None = None) -> Console:
    # A terminal of a known size when a height is given (the frame then fits it); else a file, as in a pipe.
    return Console(
        width=width, height=height or 25, file=io.StringIO(), force_terminal=height is not None, color_system=None
    )


def _lines(renderable: object, console: Console) -> list[str]:
    with console.capture() as captured:
        console.print(renderable)
    return captured.get().rstrip("\n").split("\n")


def _rates(board: Board) -> dict[tuple[str, str], PerMinute]:
    return {(m.status.seller, m.status.marketplace): PerMinute(12_345.6, 789.0) for m in board.markets}


def test_frame_fits_80_columns_and_keeps_every_column_there() -> None:
    board = wide_board()
    console = _console()
    lines = _lines(frame(board, _rates(board), console), console)
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    header = next(line for line in lines if line.startswith("mkt"))
    assert header.split() == [
        "mkt",
        "offers",
        "live",
        "views",
        "hold",
        "conv",
        "min",
        "<min",
        "dec/m",
        "upd/m",
        "queue",
        "thr",
        "fail",
        "quar",
    ]


def test_legend_explains_every_column_and_tells_share_of_views_from_holding() -> None:
    board = wide_board()
    console = _console()
    text = "\n".join(_lines(frame(board, _rates(board), console), console))
    flat = " ".join(text.split())
    assert " ".join(LEGEND.split()) in flat
    for header in ["views", "hold", "conv", "min", "<min", "dec/m", "upd/m", "thr", "quar", "BB", "ago"]:
        assert f"{header}:" in LEGEND or f"{header} " in LEGEND, header
        assert any(header in name for name in COLUMNS), header
    # The complaint: 96% "buy box" next to the demo's 54% "Buy Box share", unexplained.
    assert "hold > views" in LEGEND
    assert "per real minute" in LEGEND


def test_offers_show_sku_prices_in_their_currency_and_the_buy_box() -> None:
    board = wide_board()
    console = _console()
    text = "\n".join(_lines(frame(board, _rates(board), console), console))
    assert "12345.99" in text and "12299.99" in text  # EUR, two decimals
    assert "128.00" in text and "127.00" in text
    assert "SEK" in text and "GBP" in text
    assert "12345.99*" in text  # the winner was us
    assert "A-VERY-LONG-SKU" in text  # cut to fit, still recognisable
    assert "beaten below min" in text and "at min, holding" in text
    assert "12.3k" in text  # at-min count, abbreviated
    assert "12.3k" in text and "789" in text  # the rates


def test_narrow_terminal_drops_the_stated_columns_first_and_keeps_the_market_views_and_hold() -> None:
    board = wide_board()
    for width in (70, 60, 50, 40, 30):
        console = _console(width)
        lines = _lines(frame(board, _rates(board), console), console)
        assert max(len(line) for line in lines) <= width, (width, "\n".join(lines))
        kept = next(line for line in lines if line.startswith("mkt")).split()
        assert {"mkt", "views", "hold"} <= set(kept)
    console = _console(70)
    header = next(line for line in _lines(frame(board, _rates(board), console), console) if line.startswith("mkt"))
    assert "fail" not in header.split() and "quar" in header.split()


def test_a_24_line_terminal_gets_the_whole_frame_with_its_legend() -> None:
    board = wide_board(sellers=2)
    console = _console(80, 24)
    lines = _lines(frame(board, _rates(board), console), console)
    assert len(lines) <= 24, "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "views:" in "\n".join(lines)
    assert "seller-1/GB" in "\n".join(lines)  # several sellers: each marketplace says whose


def test_a_tiny_terminal_still_gets_one_offer_each_and_a_pointer_to_the_legend() -> None:
    board = wide_board()
    console = _console(80, 14)
    text = "\n".join(_lines(frame(board, _rates(board), console), console))
    assert "repricer ctl top --help" in text
    assert "A-VERY-LONG" in text and "DE-LOSING" in text


def test_starting_shows_at_once_with_the_legend_and_stopping_says_so() -> None:
    console = _console()
    text = "\n".join(
        _lines(starting_frame("repricer --sim", "building 300000 simulated offers", 12.4, console), console)
    )
    assert "starting… 12s" in text and "building 300000" in text and "views:" in text
    board = wide_board()
    text = "\n".join(_lines(frame(board, {}, console, stopping_for=3.2), console))
    assert "stopping… 3s" in text
    stopped = msgspec.structs.replace(board, phase="stopped")
    assert "stopped" in _lines(frame(stopped, {}, console, stopping_for=9.0), console)[0]


def test_rates_are_per_real_minute_whatever_the_daemon_clock_runs_at() -> None:
    board = wide_board()
    rates = Rates()
    rates.observe(board, at=100.0)
    assert rates.per_minute() == {}  # one board: no rate yet, shown as "–"
    later = msgspec.structs.replace(
        board,
        markets=tuple(
            msgspec.structs.replace(
                m,
                status=msgspec.structs.replace(
                    m.status, decisions=m.status.decisions + 500, updates_sent=m.status.updates_sent + 10
                ),
            )
            for m in board.markets
        ),
    )
    rates.observe(later, at=130.0)  # 30 real seconds later, whatever the simulated time did
    assert rates.per_minute()[("SIM", "DE")] == PerMinute(1000.0, 20.0)
    console = _console()
    text = "\n".join(_lines(frame(board, {}, console), console))
    assert "  –  " in text or " – " in text


def test_rates_span_the_last_minute_only() -> None:
    rates = Rates(window_s=60.0)
    for second in range(0, 181, 2):
        decisions = 0 if second < 120 else (second - 120) * 10  # quiet for two minutes, then 600 a minute
        board = wide_board()
        board = msgspec.structs.replace(
            board, markets=(msgspec.structs.replace(board.markets[0], status=status("DE", decisions=decisions)),)
        )
        rates.observe(board, at=float(second))
    assert rates.per_minute()[("SIM", "DE")].decisions == pytest.approx(600.0, rel=0.05)


def test_rates_start_again_when_the_daemon_does() -> None:
    board = wide_board()
    rates = Rates()
    rates.observe(board, at=0.0)
    restarted = msgspec.structs.replace(
        board, markets=(msgspec.structs.replace(board.markets[0], status=status("DE", decisions=100)),)
    )
    rates.observe(restarted, at=30.0)
    assert ("SIM", "DE") not in rates.per_minute()  # not a negative rate
    rates.observe(
        msgspec.structs.replace(
            board, markets=(msgspec.structs.replace(board.markets[0], status=status("DE", decisions=200)),)
        ),
        at=60.0,
    )
    assert rates.per_minute()[("SIM", "DE")].decisions == 200.0


def test_a_board_crosses_the_control_socket_as_json_unchanged() -> None:
    board = wide_board()
    assert msgspec.json.decode(msgspec.json.encode(board), type=Board) == board


def test_a_marketplace_with_nothing_live_shows_dashes_not_zero_percent() -> None:
    board = wide_board()
    console = _console()
    sweden = next(line for line in _lines(frame(board, {}, console), console) if line.startswith("SE "))
    assert sweden.split()[2:5] == ["0", "–", "–"]


def test_a_currency_this_version_does_not_know_still_shows_its_minor_units() -> None:
    board = wide_board()
    board = msgspec.structs.replace(board, moves=(msgspec.structs.replace(board.moves[0], currency="XYZ"),))
    console = _console()
    assert "1234599 XYZ" in "\n".join(_lines(frame(board, {}, console), console))
