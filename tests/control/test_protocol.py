"""The request decoder: every line a client can send becomes a request or the error that answers it, never an
exception, and the error keeps the request's id wherever one can be read."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from engine.control.protocol import (
    COMMANDS,
    Bounds,
    Code,
    ErrorReply,
    Pause,
    Settings,
    SettingsChange,
    Status,
    decode_request,
    encode,
)
from engine.model import BuyBoxAction

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
FIELDS = ["id", "sku", "marketplace", "seller", "all", "min_price", "max_price", "min_margin", "max_margin", "cost"]
FIELDS += ["wait_s", "change", "limit", "step_cap", "dry_run"]


@st.composite
def near_requests(draw: st.DrawFn) -> bytes:
    """Objects that look like requests: a known (or unknown) command, and fields of any name and value."""
    names = st.sampled_from(FIELDS) | st.text(max_size=6)
    changes = st.dictionaries(
        st.sampled_from(SettingsChange.__struct_fields__), scalars | st.lists(scalars), max_size=3
    )
    fields: dict[str, Any] = draw(st.dictionaries(names, scalars | changes, max_size=5))
    fields["cmd"] = draw(st.sampled_from(COMMANDS) | st.text(max_size=8) | scalars)
    return json.dumps(fields).encode()


def _answerable(decoded: object) -> None:
    """What the server needs of any decoded line: a request, or an error reply it can encode and send."""
    if isinstance(decoded, ErrorReply):
        line = encode(decoded)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert decoded.error.message
    else:
        assert type(decoded).__struct_config__.tag in COMMANDS  # type: ignore[attr-defined]


@given(st.binary(max_size=300))
def test_no_bytes_make_the_decoder_raise(line: bytes) -> None:
    _answerable(decode_request(line))


@given(json_values)
def test_no_json_value_makes_the_decoder_raise(value: Any) -> None:
    _answerable(decode_request(json.dumps(value).encode()))


@given(near_requests())
def test_no_near_request_makes_the_decoder_raise(line: bytes) -> None:
    _answerable(decode_request(line))


def test_each_kind_of_garbage_gets_its_code_and_keeps_the_id() -> None:
    cases: list[tuple[bytes, Code, object]] = [
        (b"not json", Code.BAD_JSON, None),
        (b"[1, 2]", Code.BAD_JSON, None),
        (b'{"cmd": "status"}', Code.BAD_REQUEST, None),
        (b'{"id": 7}', Code.BAD_REQUEST, 7),
        (b'{"cmd": "frobnicate", "id": "x"}', Code.UNKNOWN_COMMAND, "x"),
        (b'{"cmd": 5, "id": 1}', Code.UNKNOWN_COMMAND, 1),
        (b'{"cmd": "pause", "id": 2, "sku": 5}', Code.BAD_REQUEST, 2),
        (b'{"cmd": "status", "id": 3, "verbose": true}', Code.BAD_REQUEST, 3),
        (b'{"cmd": "history", "id": 4, "sku": "A", "limit": 0}', Code.BAD_REQUEST, 4),
        (b'{"cmd": "status", "id": 1.5}', Code.BAD_REQUEST, None),
        (b'{"cmd": "status", "id": 99999999999999999999999}', Code.BAD_REQUEST, None),
        (b'{"cmd": "status", "id": true}', Code.BAD_REQUEST, None),
    ]
    for line, code, request_id in cases:
        decoded = decode_request(line)
        assert isinstance(decoded, ErrorReply), line
        assert (decoded.error.code, decoded.id) == (code, request_id), (line, decoded)


def test_deep_nesting_is_bad_json_not_a_crash() -> None:
    """msgspec recurses once per level, so a short line of brackets once raised RecursionError out of the decoder
    and the client got no answer."""
    deep = b"[" * 1000 + b"]" * 1000
    cases: list[tuple[bytes, object]] = [
        (b'{"cmd": "status", "id": 1, "x": ' + deep + b"}", None),  # an ignored field, skipped by recursion
        (b'{"cmd": "status", "id": ' + deep + b"}", None),
        (b'{"id": 5, "cmd": "settings", "change": {"conditions": ' + deep + b"}}", None),
    ]
    for line, request_id in cases:
        decoded = decode_request(line)
        assert isinstance(decoded, ErrorReply), line[:40]
        assert (decoded.error.code, decoded.id) == (Code.BAD_JSON, request_id)
        assert "nested too deep" in decoded.error.message
        _answerable(decoded)


def test_requests_decode_with_exact_amounts_and_typed_settings() -> None:
    assert decode_request(b'{"cmd": "status", "id": 1}') == Status(id=1)
    assert decode_request(b'{"cmd": "pause", "id": "p", "all": true}') == Pause(id="p", all=True)
    bounds = decode_request(b'{"cmd": "bounds", "id": 2, "sku": "A", "min_price": 12.34, "max_price": "25"}')
    assert isinstance(bounds, Bounds)
    assert (bounds.min_price, bounds.max_price) == (Decimal("12.34"), Decimal("25"))
    line = (
        b'{"cmd": "settings", "id": 3, "change": {"buybox_unavailable_action": "use_max", "max_handling_hours": null}}'
    )
    settings = decode_request(line)
    assert isinstance(settings, Settings) and settings.change is not None
    assert settings.change.buybox_unavailable_action is BuyBoxAction.USE_MAX
    assert settings.change.max_handling_hours is None
    assert settings.change.step_cap is msgspec.UNSET  # left out: unchanged, unlike null
