"""Reading the configuration file again into a running daemon (SIGHUP, `repricer ctl reload`).

What a running daemon takes from the file at once: the ``[log]`` settings, the control socket's path, and each
marketplace's channel settings with its per-offer tables. What it cannot take without a restart: the seller accounts
(one added or removed, a merchant id, a region, the marketplaces), their credentials and endpoints (the clients were
made with them), and the database. A file that changes any of those is refused whole, each such key logged with its
line, and the daemon runs on as configured before; so is a file that no longer loads (its one error, ``FILE:LINE:
key: what is wrong``, as `repricer config check` prints it). What the command line sets (``--log-level``,
``--log-format``, ``--db``, ``--control-socket``) wins over the file, at a reload as at the start.

Nothing is half applied: the file is loaded and compared whole first; then the one step that can fail, binding the
control socket at its new path, goes first (refused, it changes nothing); then the rest changes synchronously, so
no decision sees half a reload. A change is judged against the file the daemon runs on (the last one applied), not
against the running settings: a marketplace whose table did not change keeps what `repricer ctl settings` set there.

The file is read synchronously: it is small, local and read once a reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from engine import logs
from engine.config import ConfigError, load
from engine.config.errors import dotted
from engine.config.feeds import FeedSettings
from engine.config.locate import KeyPath, key_lines, line_of
from engine.config.resolved import Config, MarketSettings, SellerAccount
from engine.control.paths import ControlSocketError
from engine.daemon.daemon import Daemon

__all__ = ["CommandLine", "Reconfigure", "Reconfigured", "config_changes"]

log = logging.getLogger(__name__)


class CommandLine(msgspec.Struct, frozen=True):
    """What the command line says over the configuration file (None: the file's word)."""

    log_level: str | None = None
    log_format: logs.LogFormat | None = None
    database: Path | None = None
    control_socket: Path | None = None

    def log_settings(self, config: Config) -> tuple[str, logs.LogFormat]:
        return self.log_level or config.log.level, self.log_format or config.log.format

    def socket(self, config: Config) -> Path | None:
        """The control socket's path (None: the default)."""
        return self.control_socket or config.control_socket

    def database_of(self, config: Config) -> Path:
        return self.database or config.database


class Reconfigured(msgspec.Struct, frozen=True):
    """What one reload of the file did. ``applied``: the keys taken in (``log.level``, ``control_socket``,
    ``seller[0].channel.DE``, ``seller[0].channel.DE.offers."SKU-1"``...); ``restart``: the keys that changed and need
    a restart, each with its line (then nothing was applied); ``failed``: why the file could not be used at all
    (then nothing was applied); ``kept``: changed keys the command line overrides (not applied, not refused)."""

    file: str
    applied: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    failed: str | None = None
    kept: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.restart) or self.failed is not None

    def describe(self) -> str:
        if self.failed is not None:
            return f"configuration not reloaded: {self.failed}; the daemon runs on as configured before"
        if self.restart:
            return (
                f"configuration not reloaded: {'; '.join(self.restart)}: a restart takes that in "
                "(`systemctl restart`); the daemon runs on as configured before, nothing of the file applied"
            )
        said = f"reloaded the configuration {self.file}: "
        said += f"applied {', '.join(self.applied)}" if self.applied else "nothing changed"
        if self.kept:
            said += f"; the command line overrides {', '.join(self.kept)}"
        return said


# What changed, by kind: taken in live, needing a restart (with why), or overridden by the command line.
_Changes = tuple[list[KeyPath], list[tuple[KeyPath, str]], list[KeyPath]]


def config_changes(old: Config, new: Config, command_line: CommandLine | None = None) -> _Changes:
    """What changed from ``old`` to ``new``: the keys a running daemon takes in, those that need a restart (each with
    what changed, never a value of a credential), and those the command line overrides. Sellers are matched by id,
    and named by their index in ``new``."""
    command_line = command_line or CommandLine()
    live: list[KeyPath] = []
    restart: list[tuple[KeyPath, str]] = []
    kept: list[KeyPath] = []

    def changed(key: KeyPath, fixed: object) -> None:
        (kept if fixed is not None else live).append(key)

    if old.log.level != new.log.level:
        changed(("log", "level"), command_line.log_level)
    if old.log.format != new.log.format:
        changed(("log", "format"), command_line.log_format)
    if old.control_socket != new.control_socket:
        changed(("control_socket",), command_line.control_socket)
    if old.database != new.database:
        if command_line.database is not None:
            kept.append(("database",))
        else:
            restart.append((("database",), f"changed from {old.database} to {new.database}"))
    before = {seller.id: seller for seller in old.sellers}
    now = {seller.id for seller in new.sellers}
    for index, seller in enumerate(new.sellers):
        at: KeyPath = ("seller", index)
        was = before.get(seller.id)
        if was is None:
            restart.append(((*at, "id"), f"seller {seller.id} is new"))
            continue
        restart += _account_changes(was, seller, at)
        if was.marketplaces == seller.marketplaces:
            for code, market in zip(seller.marketplaces, seller.markets, strict=True):
                live += _channel_changes(was.markets[was.marketplaces.index(code)], market, (*at, "channel", code))
    for gone in (seller_id for seller_id in before if seller_id not in now):
        restart.append((("seller",), f"seller {gone} was removed"))
    return live, restart, kept


def _account_changes(old: SellerAccount, new: SellerAccount, at: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """What of one seller account changed that its clients and runtimes were made with."""
    if old.merchant_id != new.merchant_id:
        yield (*at, "merchant_id"), f"changed from {old.merchant_id} to {new.merchant_id}"
    if old.region != new.region:
        yield (*at, "region"), f"changed from {old.region.lower()} to {new.region.lower()}"
    if old.marketplaces != new.marketplaces:
        yield (*at, "marketplaces"), f"changed from {', '.join(old.marketplaces)} to {', '.join(new.marketplaces)}"
    # Values compared (`Secret` compares in constant time), never shown: whether one came from the file or the
    # environment does not matter, only what it is.
    for name in ("client_id", "client_secret", "refresh_token"):
        if getattr(old.credentials, name) != getattr(new.credentials, name):
            yield (*at, "credentials", name), "changed (the account's token and clients were made with it)"
    for name in ("sp_api", "lwa_token"):
        if getattr(old.endpoints, name) != getattr(new.endpoints, name):
            yield (
                (*at, "endpoints", name),
                f"changed from {getattr(old.endpoints, name)} to {getattr(new.endpoints, name)}",
            )
    if old.notifications != new.notifications:
        queue = "none" if new.notifications is None else new.notifications.url
        yield (*at, "notifications"), f"changed (the queue's reader was made with it; now {queue})"
    for name in FeedSettings.__struct_fields__:
        if getattr(old.feeds, name) != getattr(new.feeds, name):
            yield (
                (*at, "feeds", name),
                f"changed from {getattr(old.feeds, name):g} to {getattr(new.feeds, name):g} (each marketplace's "
                "feeder was made with it)",
            )


def _channel_changes(old: MarketSettings, new: MarketSettings, at: KeyPath) -> list[KeyPath]:
    changes: list[KeyPath] = [at] if old.channel != new.channel else []
    for sku in sorted(old.offers.keys() | new.offers.keys()):
        if old.offers.get(sku) != new.offers.get(sku):
            changes.append((*at, "offers", sku))
    return changes


class Reconfigure:
    """The configuration a running daemon runs on, and `reload`, which reads its file again (see the module
    docstring). ``move_control`` binds the control socket at a new path (None: the default) and lets the old one go,
    or raises `ControlSocketError` having changed nothing (`engine.control.ControlServer.move`; None: the daemon has
    no control socket, and a new path is merely noted)."""

    def __init__(
        self,
        daemon: Daemon,
        config: Config,
        *,
        command_line: CommandLine | None = None,
        move_control: Callable[[Path | None], None] | None = None,
    ) -> None:
        self.daemon = daemon
        self.config = config
        self.command_line = command_line or CommandLine()
        self.move_control = move_control

    def reload(self) -> Reconfigured:
        file = self.config.file
        try:
            new = load(file)
        except ConfigError as error:
            return self._refused(Reconfigured(str(file), failed=str(error)))
        live, restart, kept = config_changes(self.config, new, self.command_line)
        if restart:
            where = _lines(file)
            refusals = tuple(f"{file}:{line_of(where, key)}: {dotted(key)}: {why}" for key, why in restart)
            return self._refused(Reconfigured(str(file), restart=refusals))
        if ("control_socket",) in live and self.move_control is not None:
            try:
                self.move_control(self.command_line.socket(new))
            except ControlSocketError as error:
                return self._refused(Reconfigured(str(file), failed=f"control_socket: {error}"))
        # From here on nothing can fail: the rest changes in one step, with no checkpoint in between.
        if ("log", "level") in live or ("log", "format") in live:
            logs.configure(*self.command_line.log_settings(new))
        self._channels(new, live)
        self.config = new
        done = Reconfigured(str(file), tuple(dotted(key) for key in live), kept=tuple(dotted(key) for key in kept))
        log.info("%s", done.describe())
        return done

    def _channels(self, new: Config, live: list[KeyPath]) -> None:
        """Each marketplace whose table or per-offer tables changed gets them; one whose own table did not keeps the
        settings it runs with (`repricer ctl settings` may have changed them)."""
        touched = {(key[1], key[3]) for key in live if key[0] == "seller" and key[2] == "channel"}
        for index, code in sorted(touched, key=str):
            assert isinstance(index, int) and isinstance(code, str)
            seller = new.sellers[index]
            market = seller.markets[seller.marketplaces.index(code)]
            runtime = next(m for m in self.daemon.markets if (m.seller, m.code) == (seller.id, code))
            channel = market.channel if ("seller", index, "channel", code) in live else runtime.channel
            runtime.set_channels(channel, market.offers)

    @staticmethod
    def _refused(outcome: Reconfigured) -> Reconfigured:
        log.error("%s", outcome.describe())
        return outcome


def _lines(file: Path) -> dict[KeyPath, int]:
    """Where each key of ``file`` is, to point at a refused change; empty if it cannot be read again."""
    try:
        return key_lines(file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
