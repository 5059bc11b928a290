"""Reading a configuration file: decode, check what no single table can, resolve into a `Config`.

The checks across tables, each a `ConfigError` at the key it is about:

- at least one ``[[seller]]``, each with a unique ``id`` (an offer's key holds it) without whitespace, and a
  ``merchant_id`` of letters and digits only, as Amazon's merchant tokens are (it goes into request paths);
- a seller's marketplaces are known country codes (upper case, as Amazon writes them), each named once, all in the
  seller's region: one refresh token serves one region, so a seller on Amazon.com and Amazon.de is two
  ``[[seller]]`` tables;
- a ``[seller.channel.XX]`` table only for one of that seller's marketplaces (a table for another would be
  silently unused);
- endpoints are http(s) URLs, and plain http only to this machine (a local fake): credentials never cross a
  network in clear;
- every credential resolves (`engine.config.credentials`), and a file holding a secret literally is private;
- a ``[seller.notifications]`` queue is a queue URL whose region is known, read with a well-formed AWS key, and
  sellers sharing a queue read it with the same key (`engine.config.queues`).

Relative paths (``database``, ``control_socket``) are taken from the file's directory, so a configuration means
the same whatever directory the daemon starts in; ``~`` is the user's home.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from engine.config.channels import market_settings
from engine.config.credentials import check_private, literal_secrets, resolve_credentials
from engine.config.decode import Source
from engine.config.errors import ConfigError
from engine.config.locate import KeyPath
from engine.config.queues import QueueSettings, literal_queue_secrets, resolve_queue
from engine.config.resolved import LWA_TOKEN_URL, Config, Endpoints, FeedSettings, SellerAccount, default_database
from engine.config.schema import ConfigFile, EndpointsTable, SellerTable
from engine.config.urls import service_url
from engine.marketplaces import ENDPOINTS, MARKETPLACES, Region

__all__ = ["load"]


def load(file: Path | str, environ: Mapping[str, str] | None = None, *, refresh_tokens: bool = True) -> Config:
    """The configuration in ``file``, checked and resolved; environment variables from ``environ`` (default: this
    process's). Raises `ConfigError` (``FILE:LINE: key.path: what is wrong``) on the first problem. With
    ``refresh_tokens`` False a refresh token variable that is not set yet is no error (`repricer amazon
    authorize`, which sets it)."""
    file = Path(file)
    try:
        with file.open("rb") as opened:
            mode = os.fstat(opened.fileno()).st_mode  # of the file read, not of whatever the name means later
            data = opened.read()
    except OSError as exc:
        raise ConfigError(file, None, (), f"cannot read it: {exc.strerror or exc}") from None
    source = Source(file, data)
    parsed = source.parse()
    document = source.convert(parsed, ConfigFile, ())
    raw_sellers = parsed["seller"]
    if not document.seller:
        raise source.error(("seller",), "no seller account: add a [[seller]] table")
    secrets: list[KeyPath] = []
    for index, seller in enumerate(document.seller):
        secrets.extend(("seller", index, "credentials", name) for name in literal_secrets(seller.credentials))
        secrets.extend(("seller", index, "notifications", name) for name in literal_queue_secrets(seller.notifications))
    check_private(source, mode, secrets)
    environ = os.environ if environ is None else environ
    sellers: list[SellerAccount] = []
    queues: dict[str, tuple[KeyPath, QueueSettings]] = {}
    for index, seller in enumerate(document.seller):
        at: KeyPath = ("seller", index)
        _check_id(source, seller, at, sellers)
        _check_merchant_id(source, seller, at)
        account = _seller(source, seller, raw_sellers[index], at, environ, refresh_tokens)
        if seller.notifications is not None:
            where = (*at, "notifications")
            queue = resolve_queue(source, seller.notifications, where, environ, queues)
            queues.setdefault(queue.url, ((*where, "queue_url"), queue))
            account = msgspec.structs.replace(account, notifications=queue)
        sellers.append(account)
    base = file.absolute().parent
    database, control_socket = document.database, document.control_socket
    return Config(
        file=file,
        database=default_database() if database is None else _file(source, base, database, "database"),
        control_socket=None if control_socket is None else _file(source, base, control_socket, "control_socket"),
        log=document.log,
        sellers=tuple(sellers),
    )


def _check_id(source: Source, seller: SellerTable, at: KeyPath, before: list[SellerAccount]) -> None:
    where = (*at, "id")
    if not seller.id or any(char.isspace() for char in seller.id):
        raise source.error(where, f"a seller id must be non-empty and without whitespace, not {seller.id!r}")
    for index, other in enumerate(before):
        if other.id == seller.id:
            raise source.error(
                where,
                f"{seller.id!r} is already the id of seller[{index}] (line {source.line(('seller', index, 'id'))}): "
                "each seller account needs its own id (say acme-eu and acme-na)",
            )


def _check_merchant_id(source: Source, seller: SellerTable, at: KeyPath) -> None:
    merchant_id = seller.merchant_id
    # ASCII only: str.isalnum would let other scripts' letters and digits through, which no merchant token holds.
    if not merchant_id or not (merchant_id.isascii() and merchant_id.isalnum()):
        raise source.error(
            (*at, "merchant_id"),
            f"{merchant_id!r} is not a merchant id: Amazon's merchant tokens are letters and digits only, no spaces "
            "or punctuation (Seller Central: Settings > Account Info > Merchant Token, as in A2EUQ1WTGCTBG2)",
        )


def _seller(
    source: Source,
    seller: SellerTable,
    raw: dict[str, object],
    at: KeyPath,
    environ: Mapping[str, str],
    refresh_token: bool,
) -> SellerAccount:
    region: Region = "NA" if seller.region == "na" else "EU" if seller.region == "eu" else "FE"
    codes = _marketplaces(source, seller, region, at)
    channels = raw.get("channel", {})
    assert isinstance(channels, dict)  # msgspec made a SellerTable of it
    for code in channels:
        if code not in codes:
            raise source.error(
                (*at, "channel", code),
                f"{code!r} is not one of this seller's marketplaces ({', '.join(codes)}): its settings would never "
                "be used",
            )
    return SellerAccount(
        id=seller.id,
        merchant_id=seller.merchant_id,
        region=region,
        credentials=resolve_credentials(
            source, seller.credentials, (*at, "credentials"), environ, refresh_token=refresh_token
        ),
        endpoints=_endpoints(source, seller.endpoints, region, (*at, "endpoints")),
        markets=tuple(market_settings(source, code, channels.get(code), (*at, "channel", code)) for code in codes),
        feeds=FeedSettings(**msgspec.structs.asdict(seller.feeds)),
    )


def _marketplaces(source: Source, seller: SellerTable, region: Region, at: KeyPath) -> list[str]:
    codes: list[str] = []
    for index, code in enumerate(seller.marketplaces):
        where = (*at, "marketplaces", index)
        info = MARKETPLACES.get(code)
        if info is None:
            hint = f" (write it as {code.upper()})" if code.upper() in MARKETPLACES else ""
            raise source.error(where, f"unknown marketplace {code!r}{hint}; known: {', '.join(MARKETPLACES)}")
        if info.region != region:
            raise source.error(
                where,
                f"{code} is in region {info.region.lower()}, this seller's region is {seller.region}: one refresh "
                f"token serves one region, so give the {info.region.lower()} marketplaces a [[seller]] of their own",
            )
        if code in codes:
            raise source.error(where, f"{code} is named twice")
        codes.append(code)
    if not codes:
        raise source.error((*at, "marketplaces"), 'no marketplace: name at least one, as in ["DE"]')
    return codes


def _endpoints(source: Source, table: EndpointsTable, region: Region, at: KeyPath) -> Endpoints:
    sp_api = ENDPOINTS[region] if table.sp_api is None else _url(source, table.sp_api, (*at, "sp_api"))
    lwa_token = LWA_TOKEN_URL if table.lwa_token is None else _url(source, table.lwa_token, (*at, "lwa_token"))
    return Endpoints(sp_api=sp_api.rstrip("/"), lwa_token=lwa_token)


def _url(source: Source, text: str, where: KeyPath) -> str:
    service_url(source, text, where, "an http(s) URL such as https://host[:port][/path]")
    return text


def _file(source: Source, base: Path, text: str, key: str) -> Path:
    """The path of a file the daemon creates (the database, the control socket): no directory."""
    if not text.strip():
        raise source.error((key,), "is empty: leave it out for the default, or name a file")
    try:
        path = base / Path(text).expanduser()  # an absolute path stays itself
        is_dir = path.is_dir()
    except (OSError, RuntimeError) as error:  # a name too long, a directory we may not look into, ~nobody
        raise source.error((key,), f"cannot use {text!r}: {getattr(error, 'strerror', None) or error}") from None
    if is_dir:
        raise source.error((key,), f"{str(path)!r} is a directory, not a file")
    return path
