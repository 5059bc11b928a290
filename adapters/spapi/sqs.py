"""The SQS queue a seller's notifications arrive in: ReceiveMessage and DeleteMessageBatch, signed, over httpx.

botocore's SQS model speaks the JSON protocol (``awsJson1_0``): ``POST /`` to the queue's endpoint with ``X-Amz-Target:
AmazonSQS.<Operation>`` and a JSON body naming the ``QueueUrl``; that is what goes out here. Each request is signed
with AWS Signature Version 4 for service ``sqs`` in the queue's region by botocore's own signer (`SigV4Auth` over an
`AWSRequest`, with the key's `Credentials`), used for that alone: the request itself goes through the adapter's
httpx client, under trio and its clock like every other call. The secret is revealed to the signer and nowhere else.

What an answer means to the caller, in the port's terms (`engine.ports`): a 5xx, a timeout or a connection that
failed is a `TransientError`; SQS's throttling (``RequestThrottled``, ``ThrottlingException``, a 429) is `Throttled`;
any other refusal (a key SQS does not know or a signature it does not take, a queue that does not exist, access
denied, a parameter out of range) is `QueueRefused`, which no retry cures until someone fixes the configuration or
the queue's policy. Errors quote SQS's error name, its message (truncated) and the request id, never a credential.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import httpx
import msgspec
import trio
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from adapters.spapi.auth import USER_AGENT
from engine.config.queues import QueueSettings
from engine.logs import redact
from engine.ports import MarketplaceError, Throttled, TransientError

__all__ = [
    "JSON_1_0",
    "MAX_MESSAGES",
    "MAX_WAIT_S",
    "QueueRefused",
    "SqsMessage",
    "SqsQueue",
    "UnDeleted",
]

JSON_1_0: Final = "application/x-amz-json-1.0"
MAX_MESSAGES: Final = 10  # SQS's limit per receive and per delete batch
MAX_WAIT_S: Final = 20  # SQS's longest long poll
TIMEOUT_S: Final = 30.0  # a call's deadline beyond its long poll
_THROTTLED: Final = frozenset({"RequestThrottled", "ThrottlingException", "Throttling"})
_QUOTED_MAX: Final = 200


class QueueRefused(MarketplaceError):
    """SQS refused a request for a reason no retry cures as things stand (HTTP 4xx): the key, its signature, the
    queue's existence or policy, or what was asked. ``name`` is SQS's error name (``QueueDoesNotExist``)."""

    def __init__(self, operation: str, name: str, detail: str) -> None:
        super().__init__(f"{operation}: {detail}")
        self.operation = operation
        self.name = name
        self.detail = detail


class SqsMessage(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """One message received: its id, the receipt handle that deletes it, its body, and the attributes asked for
    (``ApproximateReceiveCount``)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class UnDeleted(msgspec.Struct, frozen=True, gc=False):
    """A message a delete batch did not delete, and why (SQS's code and message)."""

    message_id: str
    code: str
    message: str


class _Received(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    messages: tuple[SqsMessage, ...] = ()


class _Receive(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    queue_url: str
    max_number_of_messages: int
    wait_time_seconds: int
    visibility_timeout: int
    message_system_attribute_names: tuple[str, ...] = ()


class _Entry(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    id: str
    receipt_handle: str


class _DeleteBatch(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    queue_url: str
    entries: tuple[_Entry, ...]


class _Failed(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    id: str
    code: str = ""
    message: str = ""


class _Deleted(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    failed: tuple[_Failed, ...] = ()


class _Error(msgspec.Struct, frozen=True, gc=False):
    type: str = msgspec.field(default="", name="__type")
    message: str = ""
    message_pascal: str = msgspec.field(default="", name="Message")


_ENCODER: Final = msgspec.json.Encoder()
_RECEIVED: Final = msgspec.json.Decoder(_Received)
_DELETED: Final = msgspec.json.Decoder(_Deleted)
_ERROR: Final = msgspec.json.Decoder(_Error)


class SqsQueue:
    """One queue, read with one AWS key, through ``http`` (shared with the rest of the adapter; the deadlines are
    set here). Create it inside `trio.run`."""

    __slots__ = ("_credentials", "_http", "_settings", "_url")

    def __init__(self, settings: QueueSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._url = settings.endpoint + "/"
        self._credentials = Credentials(settings.access_key_id, settings.secret_access_key.reveal())

    @property
    def url(self) -> str:
        return self._settings.url

    @property
    def arn(self) -> str:
        return self._settings.arn

    def __repr__(self) -> str:
        return f"SqsQueue({self._settings.url!r}, key {self._settings.access_key_id})"

    async def receive(
        self, *, limit: int = MAX_MESSAGES, wait_s: int = MAX_WAIT_S, visibility_s: int = 30
    ) -> list[SqsMessage]:
        """Up to ``limit`` messages, waiting up to ``wait_s`` for the first (long polling); each is hidden from
        other receipts for ``visibility_s`` and comes again after that unless deleted."""
        body = _ENCODER.encode(_Receive(self._settings.url, limit, wait_s, visibility_s, ("ApproximateReceiveCount",)))
        reply = await self._call("ReceiveMessage", body, wait_s + TIMEOUT_S)
        try:
            return list(_RECEIVED.decode(reply).messages)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise TransientError("ReceiveMessage", f"{self._settings.url}: unreadable reply ({error})") from None

    async def delete(self, messages: Sequence[SqsMessage]) -> list[UnDeleted]:
        """Delete ``messages`` (at most `MAX_MESSAGES`) in one DeleteMessageBatch; those it did not delete."""
        if not 1 <= len(messages) <= MAX_MESSAGES:
            raise ValueError(f"a delete batch holds 1 to {MAX_MESSAGES} messages, not {len(messages)}")
        entries = tuple(_Entry(str(n), message.receipt_handle) for n, message in enumerate(messages))
        reply = await self._call(
            "DeleteMessageBatch", _ENCODER.encode(_DeleteBatch(self._settings.url, entries)), TIMEOUT_S
        )
        try:
            failed = _DELETED.decode(reply).failed
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise TransientError("DeleteMessageBatch", f"{self._settings.url}: unreadable reply ({error})") from None
        by_entry = {str(n): message for n, message in enumerate(messages)}
        return [
            UnDeleted(by_entry[entry.id].message_id if entry.id in by_entry else entry.id, entry.code, entry.message)
            for entry in failed
        ]

    def signed(self, operation: str, body: bytes) -> dict[str, str]:
        """The headers of a request of ``operation`` with ``body``, signed (what `_call` sends)."""
        host = httpx.URL(self._url).netloc.decode("ascii")
        request = AWSRequest(
            method="POST",
            url=self._url,
            data=body,
            headers={"Content-Type": JSON_1_0, "X-Amz-Target": f"AmazonSQS.{operation}", "Host": host},
        )
        SigV4Auth(self._credentials, "sqs", self._settings.region).add_auth(request)
        return {**dict(request.headers.items()), "User-Agent": USER_AGENT}

    async def _call(self, operation: str, body: bytes, deadline_s: float) -> bytes:
        headers = self.signed(operation, body)
        response: httpx.Response | None = None
        with trio.move_on_after(deadline_s):
            try:
                response = await self._http.post(self._url, content=body, headers=headers)
            except httpx.TimeoutException as error:
                raise self._transient(operation, f"timed out ({type(error).__name__})") from None
            except httpx.TransportError as error:
                raise self._transient(operation, f"no connection ({type(error).__name__})") from None
            except httpx.RequestError as error:
                raise self._transient(operation, f"no usable reply ({type(error).__name__})") from None
        if response is None:
            raise self._transient(operation, f"no reply within {deadline_s:g} s")
        if response.is_success:
            return response.content
        raise self._refused(operation, response)

    def _refused(self, operation: str, response: httpx.Response) -> MarketplaceError:
        status = response.status_code
        try:
            error = _ERROR.decode(response.content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            error = _Error()
        name = error.type.rsplit("#", 1)[-1] or response.headers.get("x-amzn-query-error", "").split(";")[0]
        message = redact(error.message or error.message_pascal)
        said = f"HTTP {status}" + (f" {name}" if name else "") + (f": {message[:_QUOTED_MAX]}" if message else "")
        if request_id := response.headers.get("x-amzn-RequestId"):
            said += f", request id {redact(request_id[:100])}"
        if status == 429 or name in _THROTTLED:
            return Throttled(operation, _retry_after(response.headers))
        if status >= 500 or status == 408:
            return self._transient(operation, said)
        return QueueRefused(operation, name or f"HTTP {status}", f"{self._settings.url}: {said}")

    def _transient(self, operation: str, detail: str) -> TransientError:
        return TransientError(operation, f"{self._settings.url}: {detail}")


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
