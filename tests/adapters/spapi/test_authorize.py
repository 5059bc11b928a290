"""Connecting a seller account: a pasted refresh token, or the website workflow's consent and code, tried against
Login with Amazon (the SP-API fake's) and kept in the daemon's environment file, private and never half written."""

from __future__ import annotations

import errno
import socket
import stat
import struct
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from adapters.spapi.authorize import (
    AuthorizationError,
    Redirected,
    consent_url,
    exchange_code,
    read_redirect,
    receive_redirect,
    store_in_env_file,
)
from engine.cli.amazon import Consent, authorize
from engine.config import load
from engine.config.credentials import Secret
from engine.config.resolved import SellerAccount
from sim.api import MarketApi
from sim.fake import SIM_REFRESH_TOKEN, SpApiFake
from sim.ids import our_seller_id
from tests.config.files import write
from tests.sim.fakes import shop

FAKE = "http://127.0.0.1:8765"
SELLER_CENTRAL = "http://sellercentral.fake.test"
REDIRECT = "https://repricer.example/amazon/callback"


def account(tmp_path: Path, merchant_id: str | None = None) -> SellerAccount:
    config = write(
        tmp_path,
        f"""\
        [[seller]]
        id = "sim-eu"
        merchant_id = "{merchant_id or our_seller_id(0)}"
        region = "eu"
        marketplaces = ["DE"]

        [seller.credentials]
        client_id = "amzn1.application-oa2-client.sim"
        client_secret_env = "SIM_SECRET"
        refresh_token_env = "SIM_REFRESH"

        [seller.endpoints]
        sp_api = "{FAKE}"
        lwa_token = "{FAKE}/auth/o2/token"
        """,
    )
    [seller] = load(config, {"SIM_SECRET": "sim"}, refresh_tokens=False).sellers
    return seller


def fake() -> SpApiFake:
    return SpApiFake(MarketApi(shop()), {SIM_REFRESH_TOKEN: 0})


def env_file_text(path: Path) -> str:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text()


async def test_a_pasted_refresh_token_is_tried_then_kept_private(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    env = tmp_path / "credentials"
    env.write_text("# the daemon's environment\nSIM_SECRET=sim\n")
    env.chmod(0o644)
    said: list[str] = []
    app = fake()
    await authorize(
        account(tmp_path),
        "SIM_REFRESH",
        env,
        None,
        ask_token=lambda _: SIM_REFRESH_TOKEN,
        say=said.append,
        transport=httpx.ASGITransport(app=app),
    )
    assert env_file_text(env) == f"# the daemon's environment\nSIM_SECRET=sim\nSIM_REFRESH='{SIM_REFRESH_TOKEN}'\n"
    assert app.stats.token_exchanges == 1
    assert SIM_REFRESH_TOKEN not in " ".join(said) and "SIM_REFRESH" in said[-1]


async def test_a_refresh_token_amazon_refuses_is_not_kept(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    env = tmp_path / "credentials"
    wrong = "Atzr|not-the-sellers"
    with pytest.raises(AuthorizationError, match="invalid_grant") as refused:
        await authorize(
            account(tmp_path),
            "SIM_REFRESH",
            env,
            None,
            ask_token=lambda _: wrong,
            say=lambda _: None,
            transport=httpx.ASGITransport(app=fake()),
        )
    assert wrong not in str(refused.value)
    assert not env.exists()


async def _consent_redirect(app: SpApiFake, page: str) -> str:
    """What a browser does on the consent page: follow it to the redirect (the fake consents at once)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as browser:
        response = await browser.get(page.replace(SELLER_CENTRAL, FAKE))
    assert response.status_code == 302
    return response.headers["location"]


async def test_the_website_workflow_keeps_the_consenting_sellers_refresh_token(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    app, env, pages = fake(), tmp_path / "credentials", []

    def browser(_prompt: str) -> str:  # the seller consents in a browser, then pastes where it was sent
        return trio.from_thread.run(_consent_redirect, app, pages[-1])

    def say(text: str) -> None:
        pages.extend(word for word in text.split() if word.startswith(SELLER_CENTRAL))

    consent = Consent("amzn1.sp.solution.sim", SELLER_CENTRAL, REDIRECT)
    await authorize(
        account(tmp_path),
        "SIM_REFRESH",
        env,
        consent,
        ask_line=browser,
        say=say,
        transport=httpx.ASGITransport(app=app),
    )
    assert env_file_text(env) == f"SIM_REFRESH='{SIM_REFRESH_TOKEN}'\n"
    assert pages[-1].startswith(f"{SELLER_CENTRAL}/apps/authorize/consent?application_id=amzn1.sp.solution.sim")


async def test_a_consent_by_another_seller_than_the_configured_merchant_keeps_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    app, env, pages = fake(), tmp_path / "credentials", []
    consent = Consent("amzn1.sp.solution.sim", SELLER_CENTRAL, REDIRECT)
    with pytest.raises(AuthorizationError, match="another account signed in"):
        await authorize(
            account(tmp_path, merchant_id="A2EUQ1WTGCTBG2"),
            "SIM_REFRESH",
            env,
            consent,
            ask_line=lambda _: trio.from_thread.run(_consent_redirect, app, pages[-1]),
            say=lambda text: pages.extend(w for w in text.split() if w.startswith(SELLER_CENTRAL)),
            transport=httpx.ASGITransport(app=app),
        )
    assert not env.exists()


async def test_an_authorization_code_is_good_once_and_for_its_redirect_uri(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    app = fake()
    seller = account(tmp_path)
    credentials = seller.credentials
    redirected = read_redirect(
        await _consent_redirect(app, consent_url(FAKE, "app", "s1", redirect_uri=REDIRECT)), "s1"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:

        async def exchange(code: Secret, redirect_uri: str) -> Secret:
            return await exchange_code(
                client,
                seller.endpoints.lwa_token,
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                code=code,
                redirect_uri=redirect_uri,
            )

        with pytest.raises(AuthorizationError, match="invalid_grant"):
            await exchange(redirected.code, "https://elsewhere.example/")
        second = read_redirect(
            await _consent_redirect(app, consent_url(FAKE, "app", "s2", redirect_uri=REDIRECT)), "s2"
        )
        assert (await exchange(second.code, REDIRECT)).reveal() == SIM_REFRESH_TOKEN
        with pytest.raises(AuthorizationError, match="invalid_grant") as again:
            await exchange(second.code, REDIRECT)
        assert second.code.reveal() not in str(again.value)


def test_a_redirect_is_read_only_with_its_own_state_and_a_code() -> None:
    good = f"{REDIRECT}?state=abc&selling_partner_id=A1B2C3&spapi_oauth_code=ANcode"
    assert read_redirect(good, "abc").selling_partner_id == "A1B2C3"
    with pytest.raises(AuthorizationError, match="another authorization"):
        read_redirect(good, "xyz")
    with pytest.raises(AuthorizationError, match="no spapi_oauth_code"):
        read_redirect(f"{REDIRECT}?state=abc&selling_partner_id=A1B2C3", "abc")
    with pytest.raises(AuthorizationError, match="did not authorize the application: access_denied"):
        read_redirect(f"{REDIRECT}?error=access_denied&state=abc", "abc")


def test_the_consent_page_asks_for_a_draft_application_and_a_redirect_uri() -> None:
    page = consent_url(
        "https://sellercentral.amazon.de/", "amzn1.sp.solution.x", "st", redirect_uri=REDIRECT, beta=True
    )
    assert page == (
        "https://sellercentral.amazon.de/apps/authorize/consent?application_id=amzn1.sp.solution.x&state=st"
        "&redirect_uri=https%3A%2F%2Frepricer.example%2Famazon%2Fcallback&version=beta"
    )


def test_the_env_file_keeps_its_other_lines_and_replaces_the_variable_in_place(tmp_path: Path) -> None:
    env = tmp_path / "credentials"
    env.write_text("A=1\nexport SIM_REFRESH='old'\nB=2\nSIM_REFRESH=older\n")
    env.chmod(0o640)
    store_in_env_file(env, "SIM_REFRESH", Secret("Atzr|new"))
    assert env_file_text(env) == "A=1\nexport SIM_REFRESH='Atzr|new'\nB=2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]  # no temporary file left


def test_an_env_file_on_a_full_disk_is_left_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "credentials"
    env.write_text("SIM_REFRESH='old'\n")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("adapters.spapi.authorize.os.fsync", full)
    with pytest.raises(AuthorizationError, match="No space left on device; it is unchanged"):
        store_in_env_file(env, "SIM_REFRESH", Secret("Atzr|new"))
    assert env.read_text() == "SIM_REFRESH='old'\n"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]


def test_a_token_an_env_file_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthorizationError, match="cannot hold"):
        store_in_env_file(tmp_path / "credentials", "SIM_REFRESH", Secret("Atzr|it's"))
    assert not (tmp_path / "credentials").exists()


async def test_the_loopback_listener_takes_the_redirect_with_its_state() -> None:
    """Real sockets on the real clock: a connection reset half way and a stray request (answered 404) leave the
    listener going; the redirect with this authorization's state is answered 200 and its code returned."""
    got: list[Redirected] = []

    async def listen(task_status: trio.TaskStatus[int]) -> None:
        got.append(await receive_redirect("st8", task_status=task_status))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(listen)
            reset = socket.create_connection(("127.0.0.1", port))  # connects, then resets without a request
            reset.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            reset.send(b"GET /cb?state=st8")
            reset.close()
            async with httpx.AsyncClient() as browser:
                stray = await browser.get(f"http://127.0.0.1:{port}/favicon.ico")
                done = await browser.get(
                    f"http://127.0.0.1:{port}/cb?state=st8&selling_partner_id=A1&spapi_oauth_code=c"
                )
    assert stray.status_code == 404
    assert done.status_code == 200 and "Authorized" in done.text
    [redirected] = got
    assert (redirected.selling_partner_id, redirected.code.reveal()) == ("A1", "c")


async def test_no_answer_from_login_with_amazon_keeps_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    env = tmp_path / "credentials"
    with pytest.raises(AuthorizationError, match=r"no answer from Login with Amazon .*ConnectError.*nothing stored"):
        await authorize(
            account(tmp_path),
            "SIM_REFRESH",
            env,
            None,
            ask_token=lambda _: SIM_REFRESH_TOKEN,
            say=lambda _: None,
            transport=httpx.MockTransport(unreachable),
        )
    assert not env.exists()
