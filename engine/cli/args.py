"""Argument types and the refusals every command group shares.

Every type here raises `argparse.ArgumentTypeError` with a message that names the value it refuses: argparse then
prints "argument --skus: must be a positive whole number, not '0'" and exits 2. A type that let a `ValueError`
escape would make argparse name the function instead ("invalid positive_int value"), which tells a user nothing.
Lookups of known names (marketplaces, scenarios) import their tables here, only when the option is given, so
`repricer --help` stays fast.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

__all__ = [
    "DEFAULT_SELLER",
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "HelpFormatter",
    "check_scenario",
    "counts",
    "durations",
    "marketplace_code",
    "marketplace_codes",
    "non_negative_floats",
    "non_negative_int",
    "output_dir",
    "output_file",
    "positive_float",
    "positive_int",
    "refuse",
    "scenarios",
    "seller_id",
    "split",
]

EXIT_USAGE = 2
EXIT_REJECTED = 1  # the command ran, but refused some of its input (rows of a file, an unknown offer)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away
# The seller account a catalog belongs to when none is named: a seller with one account never has to name it.
DEFAULT_SELLER = "default"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (a flag, or a default that depends on
    another option, which the help text then states itself)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def refuse(prog: str, message: str) -> int:
    """A refusal found after parsing: one line on stderr, exit code 2, as argparse's own errors."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, not {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def seller_id(text: str) -> str:
    """A seller account's id, as part of every offer's key: not empty, and no whitespace anywhere."""
    if not text or any(char.isspace() for char in text):
        raise argparse.ArgumentTypeError(f"a seller id must be non-empty and without whitespace, not {text!r}")
    return text


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def marketplace_codes(text: str) -> tuple[str, ...]:
    """Country codes like DE,FR,GB (any case)."""
    from engine.marketplaces import MARKETPLACES

    codes = tuple(code.upper() for code in split(text))
    unknown = [code for code in codes if code not in MARKETPLACES]
    if unknown or not codes:
        raise argparse.ArgumentTypeError(
            f"unknown marketplace {', '.join(unknown) or repr(text)}; known: {', '.join(MARKETPLACES)}"
        )
    return codes


def marketplace_code(text: str) -> str:
    """One country code, like DE."""
    codes = marketplace_codes(text)
    if len(codes) != 1:
        raise argparse.ArgumentTypeError(f"one marketplace, not {text!r}")
    return codes[0]


def scenarios(text: str) -> tuple[str, ...]:
    """Scenario names like S1a,S2, or all."""
    from sim.scenarios import SCENARIOS

    if text.strip().lower() == "all":
        return tuple(SCENARIOS)
    names = tuple(split(text))
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown) or repr(text)}; known: {', '.join(SCENARIOS)}"
        )
    return names


def check_scenario(name: str) -> str | None:
    """The refusal for one unknown scenario name, or None."""
    from sim.scenarios import SCENARIOS

    if name not in SCENARIOS:
        return f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
    return None


def durations(text: str) -> tuple[float, ...]:
    """Durations like 2m,90s,1h as seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    values = []
    for part in split(text):
        scale = units.get(part[-1].lower())
        try:
            value = float(part[:-1]) * scale if scale is not None else float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a duration: {part!r} (say 2m, 90s or 1h)") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"a duration must be positive, not {part!r}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError(f"no duration in {text!r}")
    return tuple(values)


def non_negative_floats(text: str) -> tuple[float, ...]:
    """Numbers like 0,0.005."""
    values = []
    for part in split(text):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {part!r}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be zero or more, not {part!r}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError(f"no number in {text!r}")
    return tuple(values)


def counts(text: str) -> tuple[int, ...]:
    """Counts like 10k,100k,1500."""
    values = []
    for part in split(text):
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1].lower(), 1)
        digits = part[:-1] if scale > 1 else part
        try:
            number = float(digits) * scale
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a count: {part!r} (say 10k or 1500)") from None
        if not math.isfinite(number) or number < 1 or number != int(number):
            raise argparse.ArgumentTypeError(f"a count must be a positive whole number, not {part!r}")
        values.append(int(number))
    if not values:
        raise argparse.ArgumentTypeError(f"no count in {text!r}")
    return tuple(values)


def output_file(text: str) -> Path:
    """A file to write at the end of a command: refused up front when it could not be written, so a long run
    never ends in an error about its output."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    _check_writable_parent(text, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: not writable")
    return path


def output_dir(text: str) -> Path:
    """A directory to write into (created if missing, but its parent must exist)."""
    path = Path(text)
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"cannot write into {text!r}: not writable")
        return path
    _check_writable_parent(text, path)
    return path


def _check_writable_parent(text: str, path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: directory {str(parent)!r} is not writable")
