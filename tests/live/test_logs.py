"""Log lines: plain or JSON, UTC times, extra fields kept, and no credential ever written out."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from engine.logs import LIVE_LOGGER, LogSettings, configure, redact

SECRETS = [
    ("refresh_token=Atzr|IwEBIAbc-123_x&grant_type=refresh_token", "Atzr|IwEBIAbc"),
    ("access token Atza|IwEBIJ0hgs8Gd", "IwEBIJ0hgs8Gd"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGciOiJIUzI1NiJ9"),
    ("headers {'authorization': 'AWS4-HMAC-SHA256 Credential=AKIA/2024', 'x': 1}", "Credential=AKIA"),
    ("x-amz-access-token: Atza|secretvalue", "secretvalue"),
    ('{"x-amz-access-token": "tok-123456"}', "tok-123456"),
    ("client_secret=amzn1.oa2-cs.v1.0123456789abcdef", "0123456789abcdef"),
    ("{'client_secret': 'shhh-its-secret'}", "shhh-its-secret"),
    ('{"clientSecret": "s3cr3t-value"}', "s3cr3t-value"),
    ("LWA secret amzn1.oa2-cs.v1.deadbeefcafe in a sentence", "deadbeefcafe"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_redact_masks_every_kind_of_credential(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_redact_leaves_ordinary_lines_alone() -> None:
    line = "SIM/DE: 198/200 offers live, share of views 54%, token bucket refilled, authorization pending review"
    assert redact(line) == line


class Stderr:
    """What was written to stderr: the handler writes to `sys.stderr` as it is at each record, capsys's here."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        return self.capsys.readouterr().err


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    root, live = logging.getLogger(), logging.getLogger(LIVE_LOGGER)
    handlers, level, live_level = list(root.handlers), root.level, live.level
    yield Stderr(capsys)
    root.handlers[:] = handlers
    root.setLevel(level)
    live.setLevel(live_level)


def test_json_lines_carry_utc_time_level_logger_message_and_extra_fields(stderr: Stderr) -> None:
    configure("info", "json")
    logging.getLogger("engine.test").info("DE: %d offers", 200, extra={"marketplace": "DE", "share": 0.54})
    logging.getLogger("engine.test").debug("not at info")
    [line] = stderr.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert {k: entry[k] for k in ("level", "logger", "message", "marketplace", "share")} == {
        "level": "info",
        "logger": "engine.test",
        "message": "DE: 200 offers",
        "marketplace": "DE",
        "share": 0.54,
    }


def test_no_secret_reaches_the_log_in_the_message_arguments_extras_or_traceback(stderr: Stderr) -> None:
    configure("info", "json")
    log = logging.getLogger("engine.test")
    log.warning(
        "token refresh failed: %s",
        "refresh_token=Atzr|IwEBI-long-secret",
        extra={"header": "Authorization: Bearer abc.def"},
    )
    try:
        raise RuntimeError("x-amz-access-token: Atza|from-the-exception")
    except RuntimeError:
        log.exception("call failed")
    out = stderr.getvalue()
    assert out.count("\n") == 2
    assert "IwEBI-long-secret" not in out and "abc.def" not in out and "from-the-exception" not in out
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries[0]["message"] == "token refresh failed: refresh_token=***"
    assert "RuntimeError" in entries[1]["exception"]


def test_plain_lines_are_utc_level_logger_message(stderr: Stderr) -> None:
    configure("warning", "plain")
    logging.getLogger("engine.test").warning("Authorization: Bearer abc")
    [line] = stderr.getvalue().splitlines()
    time, level, rest = line.split(" ", 2)
    assert time.endswith("Z") and level == "WARNING"
    assert rest == "engine.test: Authorization: Bearer ***"


def test_the_handler_writes_to_stderr_as_it_is_at_each_record(stderr: Stderr, monkeypatch: pytest.MonkeyPatch) -> None:
    configure("info", "plain")
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)  # as the live view redirects it above its frame
    logging.getLogger("engine.test").info("after")
    assert "after" in later.getvalue()
    monkeypatch.undo()
    assert stderr.getvalue() == ""


def test_the_live_summaries_show_at_warning_but_not_at_error(stderr: Stderr) -> None:
    configure("warning", "plain")
    logging.getLogger(LIVE_LOGGER).info("DE: summary")
    logging.getLogger("engine.test").info("hidden")
    out = stderr.getvalue()
    assert out.count("summary") == 1 and "hidden" not in out
    configure("error", "plain")
    logging.getLogger(LIVE_LOGGER).info("DE: hidden too")
    assert stderr.getvalue() == ""


def test_log_settings_refuse_a_typo() -> None:
    import msgspec

    assert msgspec.json.decode(b'{"format": "json"}', type=LogSettings).format == "json"
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"fromat": "json"}', type=LogSettings)
