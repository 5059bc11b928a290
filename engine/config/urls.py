"""The one check of a URL the daemon sends credentials or signed requests to: http(s), a host, no query or
fragment, and https unless the host is this machine (a fake such as `repricer sim serve`)."""

from __future__ import annotations

import ipaddress
import urllib.parse

from engine.config.decode import Source
from engine.config.locate import KeyPath

__all__ = ["service_url"]


def service_url(source: Source, text: str, where: KeyPath, example: str) -> tuple[urllib.parse.SplitResult, str]:
    """``text`` split, and its host; `ConfigError` naming ``where`` otherwise (``example``: the shape expected)."""
    try:
        url = urllib.parse.urlsplit(text)
        host, _ = url.hostname, url.port  # a port that is no number, or out of range, raises here
    except ValueError:
        host = None
    if host is None or url.scheme not in ("http", "https") or url.query or url.fragment:
        raise source.error(where, f"{text!r} is not {example}")
    if url.scheme == "http" and not _loopback(host):
        raise source.error(
            where,
            f"{text!r} would send credentials in clear over the network: use https (plain http is for a fake on "
            "this machine only, such as `repricer sim serve` on 127.0.0.1)",
        )
    return url, host


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
