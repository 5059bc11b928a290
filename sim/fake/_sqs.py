"""Amazon SQS as the fake plays it: the queues Amazon delivers notifications to, read over SQS's JSON protocol.

botocore's SQS model speaks the JSON protocol (``awsJson1_0``): every call is ``POST /`` with ``X-Amz-Target:
AmazonSQS.<Operation>``, a body of ``application/x-amz-json-1.0``, the queue named by its ``QueueUrl`` in the body.
The fake answers ReceiveMessage, DeleteMessage and DeleteMessageBatch, in the model's shapes, and SQS's errors in
its JSON error shape (``{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": ...}`` with the
``x-amzn-query-error`` header).

Every request must carry an AWS Signature Version 4 for service ``sqs`` in the fake's region, made with a key the
fake knows: the signature is computed again here with botocore's own signer (`botocore.auth.SigV4Auth`) over the
headers the request says it signed, and compared. An unknown key is SQS's 403 ``InvalidClientTokenId``, a
signature that does not match its 403 ``SignatureDoesNotMatch``. The fake does not hold the signature's date
against its clock: its clock is the simulator's (virtual under `trio.testing.MockClock`), botocore's the wall's.

A queue behaves as SQS does for one consumer: ReceiveMessage takes up to ``MaxNumberOfMessages`` (1 to 10) of the
visible messages, oldest first, and hides each for the visibility timeout (the request's ``VisibilityTimeout``, else
the queue's 30 s), after which a message not deleted is visible again and its next receipt has a new receipt handle;
a delete with an old handle of a message received again since succeeds and deletes nothing, as SQS documents. With
``WaitTimeSeconds`` (0 to 20) a receive that finds nothing waits, on trio's clock, until a message arrives, one
becomes visible again, or the time is up (long polling). Messages arrive from the simulator's notifications through
``pump`` (`sim.fake._subscriptions.NotificationDesk.deliver`), called before each look at the queue: a long poll
wakes when the markets' next event or delivery is due, so it works with or without `SpApiFake.run`.

Faults (`sim.fake.Faults`) strike a queue's operations only when a window names them (``"operations":
["ReceiveMessage"]``): an SP-API 429 storm or 5xx burst is no outage of SQS.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import trio
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sim.fake._asgi import BodyTooLarge, Receive, Scope, Send, read_body, reply
from sim.fake._faults import FaultDice, FaultKind

__all__ = [
    "DELETE_MESSAGE",
    "DELETE_MESSAGE_BATCH",
    "JSON_1_0",
    "QUEUE_OPERATIONS",
    "RECEIVE_MESSAGE",
    "SIM_AWS_ACCESS_KEY_ID",
    "SIM_AWS_ACCOUNT",
    "SIM_AWS_SECRET_ACCESS_KEY",
    "SIM_QUEUE",
    "SIM_REGION",
    "FakeQueue",
    "QueueStats",
    "SqsEndpoint",
]

RECEIVE_MESSAGE: Final = "ReceiveMessage"
DELETE_MESSAGE: Final = "DeleteMessage"
DELETE_MESSAGE_BATCH: Final = "DeleteMessageBatch"
QUEUE_OPERATIONS: Final = (RECEIVE_MESSAGE, DELETE_MESSAGE, DELETE_MESSAGE_BATCH)
JSON_1_0: Final = b"application/x-amz-json-1.0"
TARGET_PREFIX: Final = "AmazonSQS."

# The fake's AWS account, region, queue and the one key it accepts (examples/sim.toml names them).
SIM_AWS_ACCOUNT: Final = "000000000000"
SIM_REGION: Final = "eu-west-1"
SIM_QUEUE: Final = "repricer-sim"
SIM_AWS_ACCESS_KEY_ID: Final = "AKIASIMULATEDQUEUE00"
SIM_AWS_SECRET_ACCESS_KEY: Final = "sim-aws-secret-access-key"

DEFAULT_VISIBILITY_S: Final = 30.0  # SQS's default visibility timeout
MAX_WAIT_S: Final = 20
MAX_MESSAGES: Final = 10
MAX_VISIBILITY_S: Final = 43_200
_MIN_WAKE_S: Final = 0.25  # a long poll looks at the markets at most this often
_AUTHORIZATION: Final = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(slots=True)
class _Message:
    message_id: str
    body: str
    md5: str
    sent_at: float
    visible_at: float
    handle: str | None = None  # the latest receipt's
    receives: int = 0


@dataclass(slots=True)
class QueueStats:
    """What one queue saw: messages sent to it, receipts (``redelivered``: of a message received before and not
    deleted within its visibility timeout), and deletes."""

    sent: int = 0
    received: int = 0
    redelivered: int = 0
    deleted: int = 0


class FakeQueue:
    """One standard queue: its messages in the order sent, each visible or hidden until a time."""

    def __init__(self, name: str, *, account: str = SIM_AWS_ACCOUNT, region: str = SIM_REGION) -> None:
        self.name, self.account, self.region = name, account, region
        self.arn = f"arn:aws:sqs:{region}:{account}:{name}"
        self.path = f"/{account}/{name}"
        self.visibility_s = DEFAULT_VISIBILITY_S
        self.stats = QueueStats()
        self.changed = trio.Event()  # set (and renewed) whenever a message is sent
        self._messages: dict[str, _Message] = {}
        self._by_handle: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._handles = itertools.count(1)

    def __len__(self) -> int:
        return len(self._messages)

    def send(self, body: str, now: float) -> str:
        n = next(self._ids)
        message_id = f"{n:08x}-5a5a-4e0e-8f00-{n:012x}"
        md5 = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        self._messages[message_id] = _Message(message_id, body, md5, now, now)
        self.stats.sent += 1
        self.changed.set()
        self.changed = trio.Event()
        return message_id

    def take(self, limit: int, now: float, visibility_s: float) -> list[_Message]:
        """Up to ``limit`` visible messages, oldest first, hidden from now for ``visibility_s``."""
        taken: list[_Message] = []
        for message in self._messages.values():
            if len(taken) >= limit:
                break
            if message.visible_at > now:
                continue
            if message.handle is not None:
                del self._by_handle[message.handle]
                self.stats.redelivered += 1
            message.handle = f"AQEB{self.name}-{next(self._handles):010d}"
            self._by_handle[message.handle] = message.message_id
            message.receives += 1
            message.visible_at = now + visibility_s
            taken.append(message)
        self.stats.received += len(taken)
        return taken

    def delete(self, handle: str) -> bool:
        """Delete the message of a receipt handle; False for a handle this queue never gave. A handle of a message
        received again since, or already deleted, deletes nothing and is no error (SQS's words)."""
        if not handle.startswith(f"AQEB{self.name}-"):
            return False
        message_id = self._by_handle.pop(handle, None)
        if message_id is not None:
            del self._messages[message_id]
            self.stats.deleted += 1
        return True

    def next_visible(self, now: float) -> float:
        """When the earliest hidden message becomes visible again (inf when none is hidden)."""
        return min((m.visible_at for m in self._messages.values() if m.visible_at > now), default=float("inf"))


# --- the wire (the model's shapes; the JSON protocol's names are the model's member names) ------------------------


class _Receive(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    queue_url: str
    max_number_of_messages: int = 1
    wait_time_seconds: int | None = None
    visibility_timeout: int | None = None
    attribute_names: tuple[str, ...] = ()
    message_system_attribute_names: tuple[str, ...] = ()
    message_attribute_names: tuple[str, ...] = ()
    receive_request_attempt_id: str | None = None


class _Delete(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    queue_url: str
    receipt_handle: str


class _DeleteEntry(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    id: str
    receipt_handle: str


class _DeleteBatch(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    queue_url: str
    entries: tuple[_DeleteEntry, ...]


class _OutMessage(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    message_id: str
    receipt_handle: str
    md5_of_body: str = msgspec.field(name="MD5OfBody")
    body: str = ""
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class _ReceiveResult(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    messages: tuple[_OutMessage, ...] = ()


class _Succeeded(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    id: str


class _Failed(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    id: str
    sender_fault: bool
    code: str
    message: str


class _DeleteBatchResult(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    successful: tuple[_Succeeded, ...]
    failed: tuple[_Failed, ...]


class _Error(msgspec.Struct, frozen=True, gc=False):
    type: str = msgspec.field(name="__type")
    message: str = ""


_ENCODER: Final = msgspec.json.Encoder()
_RECEIVE: Final = msgspec.json.Decoder(_Receive)
_DELETE: Final = msgspec.json.Decoder(_Delete)
_DELETE_BATCH: Final = msgspec.json.Decoder(_DeleteBatch)


class SqsError(Exception):
    """A request SQS refuses: the HTTP status, the error's name (``__type``'s), its query-protocol code (the
    ``x-amzn-query-error`` header's) and message."""

    def __init__(self, status: int, name: str, code: str, message: str, *, sender: bool = True) -> None:
        super().__init__(f"HTTP {status} {name}: {message}")
        self.status, self.name, self.code, self.message, self.sender = status, name, code, message, sender


def _invalid(message: str) -> SqsError:
    return SqsError(400, "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue", message)


_SIGNATURE_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)


def _refused_signature(message: str) -> SqsError:
    return SqsError(403, "com.amazon.coral.service#SignatureDoesNotMatch", "SignatureDoesNotMatch", message)


# --- the endpoint --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SqsEndpoint:
    """The fake's SQS: ``queues`` by path (``/{account}/{name}``, the path of a queue URL, whatever its host),
    ``credentials`` the secret of each access key id it takes, ``region`` the one a signature must be scoped to.
    ``pump(now)`` moves what the markets delivered by ``now`` into the queues; ``next_due(now)`` says when they next
    may deliver."""

    queues: Mapping[str, FakeQueue]
    credentials: Mapping[str, str]
    region: str
    pump: Callable[[float], None]
    next_due: Callable[[float], float]
    dice: FaultDice
    answered: dict[str, int] = field(default_factory=dict)  # per operation
    refused_signatures: int = 0  # requests refused for their key or signature
    _requests: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, target: str) -> None:
        request_id = f"sqs-{next(self._requests):08d}-0000-0000-0000-000000000000"
        headers = [(b"x-amzn-requestid", request_id.encode())]
        try:
            status, body = await self._answer(scope, receive, target)
        except SqsError as error:
            headers.append((b"x-amzn-query-error", f"{error.code};{'Sender' if error.sender else 'Receiver'}".encode()))
            status, body = error.status, _ENCODER.encode(_Error(error.name, error.message))
        await reply(send, status, body, content_type=JSON_1_0, headers=tuple(headers))

    async def _answer(self, scope: Scope, receive: Receive, target: str) -> tuple[int, bytes]:
        if scope["method"] != "POST" or not target.startswith(TARGET_PREFIX):
            raise SqsError(400, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", target)
        operation = target[len(TARGET_PREFIX) :]
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            raise _invalid("the request body is too large") from None
        self._check_signature(scope, body)
        now = trio.current_time()
        self._faults(operation, now)
        match operation:
            case "ReceiveMessage":
                answer = await self._receive(_decoded(_RECEIVE, body))
            case "DeleteMessage":
                answer = self._delete(_decoded(_DELETE, body))
            case "DeleteMessageBatch":
                answer = self._delete_batch(_decoded(_DELETE_BATCH, body))
            case _:
                raise SqsError(
                    400,
                    "com.amazonaws.sqs#UnsupportedOperation",
                    "AWS.SimpleQueueService.UnsupportedOperation",
                    f"{operation} is not an operation the fake serves",
                )
        self.answered[operation] = self.answered.get(operation, 0) + 1
        slow = self.dice.faults.slow
        if slow is not None and self._strikes("slow", operation, now):
            await trio.sleep(slow.delay_s)
        return 200, answer

    def _strikes(self, kind: FaultKind, operation: str, now: float) -> bool:
        window = self.dice.faults.window(kind)
        return window is not None and operation in window.operations and self.dice.strikes(kind, operation, now)

    def _faults(self, operation: str, now: float) -> None:
        if self._strikes("throttle", operation, now):
            raise SqsError(400, "com.amazonaws.sqs#RequestThrottled", "RequestThrottled", "Rate exceeded")
        burst = self.dice.faults.server_error
        if burst is not None and self._strikes("server_error", operation, now):
            name = "ServiceUnavailable" if burst.status == 503 else "InternalFailure"
            raise SqsError(burst.status, f"com.amazon.coral.service#{name}", name, "Please try again.", sender=False)

    def _queue(self, url: str) -> FakeQueue:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        queue = self.queues.get(path.rstrip("/"))
        if queue is None:
            raise SqsError(
                400,
                "com.amazonaws.sqs#QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
                "The specified queue does not exist.",
            )
        return queue

    async def _receive(self, asked: _Receive) -> bytes:
        queue = self._queue(asked.queue_url)
        limit = asked.max_number_of_messages
        if not 1 <= limit <= MAX_MESSAGES:
            raise _invalid(
                f"Value {limit} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        wait_s = 0 if asked.wait_time_seconds is None else asked.wait_time_seconds
        if not 0 <= wait_s <= MAX_WAIT_S:
            raise _invalid(
                f"Value {wait_s} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )
        visibility_s = queue.visibility_s if asked.visibility_timeout is None else asked.visibility_timeout
        if not 0 <= visibility_s <= MAX_VISIBILITY_S:
            raise _invalid(
                f"Value {visibility_s} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be >= 0 and <= 43200, if provided."
            )
        deadline = trio.current_time() + wait_s
        while True:
            now = trio.current_time()
            self.pump(now)
            taken = queue.take(limit, now, visibility_s)
            if taken or now >= deadline:
                break
            wake = min(deadline, queue.next_visible(now), max(self.next_due(now), now + _MIN_WAKE_S))
            with trio.move_on_at(wake):
                await queue.changed.wait()
        wanted = set(asked.attribute_names) | set(asked.message_system_attribute_names)
        return _ENCODER.encode(_ReceiveResult(tuple(_out(message, wanted) for message in taken)))

    def _delete(self, asked: _Delete) -> bytes:
        if not self._queue(asked.queue_url).delete(asked.receipt_handle):
            raise SqsError(
                404,
                "com.amazonaws.sqs#ReceiptHandleIsInvalid",
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{asked.receipt_handle}" is not a valid receipt handle.',
            )
        return b"{}"

    def _delete_batch(self, asked: _DeleteBatch) -> bytes:
        queue = self._queue(asked.queue_url)
        if not asked.entries:
            raise SqsError(
                400,
                "com.amazonaws.sqs#EmptyBatchRequest",
                "AWS.SimpleQueueService.EmptyBatchRequest",
                "There should be at least one DeleteMessageBatchRequestEntry in the request.",
            )
        if len(asked.entries) > MAX_MESSAGES:
            raise SqsError(
                400,
                "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent {len(asked.entries)}.",
            )
        if len({entry.id for entry in asked.entries}) < len(asked.entries):
            raise SqsError(
                400,
                "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                "Id values must be unique within a batch.",
            )
        succeeded, failed = [], []
        for entry in asked.entries:
            if queue.delete(entry.receipt_handle):
                succeeded.append(_Succeeded(entry.id))
            else:
                message = f'The input receipt handle "{entry.receipt_handle}" is not a valid receipt handle.'
                failed.append(_Failed(entry.id, True, "ReceiptHandleIsInvalid", message))
        return _ENCODER.encode(_DeleteBatchResult(tuple(succeeded), tuple(failed)))

    # --- the signature ---------------------------------------------------------------------------------------------

    def _check_signature(self, scope: Scope, body: bytes) -> None:
        """Compute the request's SigV4 signature again with botocore's signer and compare (`SqsError` 403)."""
        headers = _headers(scope)
        found = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if found is None:
            raise SqsError(
                403,
                "com.amazon.coral.service#MissingAuthenticationTokenException",
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            )
        secret = self.credentials.get(found["key"])
        if secret is None:
            self.refused_signatures += 1
            raise SqsError(
                403,
                "com.amazon.coral.service#InvalidClientTokenId",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        amz_date = headers.get("x-amz-date", "")
        if found["service"] != "sqs" or found["region"] != self.region or amz_date[:8] != found["date"]:
            self.refused_signatures += 1
            raise _refused_signature(
                f"Credential should be scoped to a valid region and service: {found['region']}/{found['service']} "
                f"(expected {self.region}/sqs), dated as X-Amz-Date"
            )
        signed = found["headers"].split(";")
        if "host" not in signed or any(name not in headers for name in signed):
            self.refused_signatures += 1
            raise _refused_signature("SignedHeaders must include host, and every header it names must be sent")
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        raw_path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{headers['host']}{raw_path}" + (f"?{query}" if query else "")
        request = AWSRequest(
            method=scope["method"], url=url, data=body, headers={name: headers[name] for name in signed}
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(found["key"], secret), "sqs", self.region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, found["signature"]):
            self.refused_signatures += 1
            raise _refused_signature(_SIGNATURE_MISMATCH)


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (repeated ones joined by a comma, as SigV4 canonicalises them)."""
    out: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        name, text = bytes(key).decode("latin-1").lower(), bytes(value).decode("latin-1")
        out[name] = f"{out[name]},{text}" if name in out else text
    return out


def _decoded(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise SqsError(400, "com.amazon.coral.validate#ValidationException", "ValidationError", str(error)) from None


def _out(message: _Message, wanted: set[str]) -> _OutMessage:
    attributes: dict[str, str] = {}
    if wanted & {"All", "ApproximateReceiveCount"}:
        attributes["ApproximateReceiveCount"] = str(message.receives)
    return _OutMessage(message.message_id, message.handle or "", message.md5, message.body, attributes)
