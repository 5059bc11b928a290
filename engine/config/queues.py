"""``[seller.notifications]``: the SQS queue a seller's notifications arrive in, checked and resolved.

Amazon delivers ANY_OFFER_CHANGED and PRICING_HEALTH to an SQS queue the application owns: the seller names its URL
(``https://sqs.eu-west-1.amazonaws.com/123456789012/repricer``), from which the rest follows: the queue's ARN (which
the Notifications API's destination names), its region (from the host; ``aws_region`` where the host does not say
it, as a local fake's does not), and where the SQS calls go (the URL's scheme, host and port). The AWS access key
that reads it is given literally or by environment variable, as the LWA credentials are, and its secret is a
`Secret`.

Several sellers may share one queue (one per application is usual): they must then read it with the same access
key, since one reader serves a queue (`adapters.spapi.inbox`), and a second key for it would be silently unused.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Final

import msgspec

from engine.config.credentials import Secret, resolve_value
from engine.config.decode import Source
from engine.config.errors import dotted
from engine.config.locate import KeyPath
from engine.config.schema import NotificationsTable
from engine.config.urls import service_url

__all__ = ["QueueSettings", "literal_queue_secrets", "resolve_queue"]

_REGION: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_ACCOUNT: Final = re.compile(r"\d{12}")
_QUEUE_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ACCESS_KEY_ID: Final = re.compile(r"[A-Z0-9]{16,128}")
# sqs.<region>.amazonaws.com, and the legacy <region>.queue.amazonaws.com
_SQS_HOST: Final = re.compile(r"sqs\.(?P<a>[a-z0-9-]+)\.amazonaws\.com(\.cn)?|(?P<b>[a-z0-9-]+)\.queue\.amazonaws\.com")


class QueueSettings(msgspec.Struct, frozen=True):
    """Where a seller's notifications arrive. ``endpoint`` is where the SQS calls go (the queue URL's scheme, host
    and port); ``sources`` says where the key and its secret came from (``"literal"`` or ``"env NAME"``)."""

    url: str
    arn: str
    region: str
    endpoint: str
    access_key_id: str
    secret_access_key: Secret
    sources: tuple[str, str]


def literal_queue_secrets(table: NotificationsTable | None) -> list[str]:
    """The names of the secrets ``table`` gives literally."""
    return [] if table is None or table.aws_secret_access_key is None else ["aws_secret_access_key"]


def resolve_queue(
    source: Source,
    table: NotificationsTable,
    at: KeyPath,
    environ: Mapping[str, str],
    earlier: Mapping[str, tuple[KeyPath, QueueSettings]],
) -> QueueSettings:
    """The queue of the ``[seller.notifications]`` table at ``at``; ``earlier`` are the queues of the sellers before
    this one, by URL, with where they were named (`ConfigError` for one read here with another key)."""
    url, account, name, host = _queue_url(source, table.queue_url, (*at, "queue_url"))
    region = _region(source, table, host, at)
    key_id, key_from = resolve_value(source, table, "aws_access_key_id", at, environ)
    if not _ACCESS_KEY_ID.fullmatch(key_id):
        # Not echoed: it may be the secret, pasted in the wrong place.
        raise source.error(
            (*at, "aws_access_key_id" if key_from == "literal" else "aws_access_key_id_env"),
            "is not an AWS access key id (16 or more capital letters and digits, as AKIAIOSFODNN7EXAMPLE): is it the "
            "secret access key?",
        )
    secret, secret_from = resolve_value(source, table, "aws_secret_access_key", at, environ)
    parts = urllib.parse.urlsplit(url)
    queue = QueueSettings(
        url=url,
        arn=f"arn:aws:sqs:{region}:{account}:{name}",
        region=region,
        endpoint=f"{parts.scheme}://{parts.netloc}",
        access_key_id=key_id,
        secret_access_key=Secret(secret),
        sources=(key_from, secret_from),
    )
    before = earlier.get(url)
    if before is not None and (before[1].access_key_id, before[1].region) != (key_id, region):
        where, _ = before
        raise source.error(
            (*at, "queue_url"),
            f"{url} is also {dotted(where)}'s (line {source.line(where)}), read there with "
            "another access key or region: one queue is read once, with one key, so give both sellers the same",
        )
    return queue


def _queue_url(source: Source, text: str, where: KeyPath) -> tuple[str, str, str, str]:
    """The queue URL, its account, queue name and host; `ConfigError` for anything else."""
    shape = "https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE (the queue's URL in the SQS console)"
    url, host = service_url(source, text, where, f"a queue URL such as {shape}")
    parts = url.path.strip("/").split("/")
    if len(parts) != 2 or not _ACCOUNT.fullmatch(parts[0]) or not _QUEUE_NAME.fullmatch(parts[1]):
        raise source.error(
            where,
            f"{text!r} does not name a queue: its path must be /ACCOUNT/QUEUE, a 12-digit AWS account and the "
            f"queue's name (letters, digits, - and _; a FIFO queue cannot take Amazon's notifications), as {shape}",
        )
    return text.rstrip("/"), parts[0], parts[1], host


def _region(source: Source, table: NotificationsTable, host: str, at: KeyPath) -> str:
    found = _SQS_HOST.fullmatch(host)
    from_host = None if found is None else found["a"] or found["b"]
    if table.aws_region is not None:
        if not _REGION.fullmatch(table.aws_region):
            raise source.error((*at, "aws_region"), f"{table.aws_region!r} is not an AWS region such as eu-west-1")
        if from_host is not None and from_host != table.aws_region:
            raise source.error(
                (*at, "aws_region"),
                f"{table.aws_region} contradicts the queue URL, whose host {host} is in {from_host}: leave it out",
            )
        return table.aws_region
    if from_host is None:
        raise source.error(
            (*at, "queue_url"),
            f"the host {host} does not say the queue's AWS region: add aws_region (as eu-west-1), which the "
            "requests are signed for",
        )
    return from_host
