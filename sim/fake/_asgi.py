"""The little of ASGI the fake needs: read a request's body, send one complete reply.

The app is a plain ASGI callable (no framework), so any ASGI server can run it and `httpx.ASGITransport` can call
it in-process, under trio and its `MockClock`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

__all__ = ["JSON", "MAX_BODY", "BodyTooLarge", "Receive", "Scope", "Send", "read_body", "reply"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JSON: Final = b"application/json"
# A request body larger than this is refused before it is read further: no batch Amazon takes comes close.
MAX_BODY: Final = 1 << 20


class BodyTooLarge(Exception):
    """The request's body exceeds the limit its route reads."""


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes:
    """The whole body of an HTTP request, however many messages it comes in; `BodyTooLarge` past ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def reply(
    send: Send, status: int, body: bytes, *, content_type: bytes = JSON, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """One complete response: status, headers and the whole body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
