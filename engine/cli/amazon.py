"""`repricer amazon authorize`: connect a seller account of the configuration to Amazon, and keep its refresh token.

By default the seller pastes the refresh token Seller Central shows when they self-authorize their private
application (Develop Apps > Authorize app), without it echoing. With ``--consent`` it runs the website authorization
workflow: the command prints Seller Central's consent page, and the redirect that follows the seller's consent is
either received on a loopback listener (``--listen PORT``) or pasted from the browser's address bar; its code is
exchanged for the refresh token. Either way the token is tried once against Login with Amazon, then kept in the
environment file the daemon is started with (``--env-file``, systemd's ``EnvironmentFile``), under the name the
configuration gives as the seller's ``refresh_token_env``. Nothing is kept that Amazon refused, and no token, code
or secret is printed (`adapters.spapi.authorize`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec

from engine.cli.args import EXIT_REJECTED, HelpFormatter, refuse

if TYPE_CHECKING:
    import httpx

    from engine.config.resolved import SellerAccount

__all__ = ["Consent", "add_parser", "authorize"]

PROG: Final = "repricer amazon authorize"
CONSENT_WAIT_S: Final = 600.0  # how long the listener waits for the seller to consent
_HTTP_TIMEOUT_S: Final = 60.0


class Consent(msgspec.Struct, frozen=True):
    """The website workflow's choices: the application, where Amazon redirects, and how the redirect comes back
    (``listen``: on this port of 127.0.0.1; None: pasted)."""

    application_id: str
    seller_central: str
    redirect_uri: str
    listen: int | None = None
    beta: bool = False


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    amazon = sub.add_parser(
        "amazon",
        help="connect the configuration's seller accounts to Amazon",
        description="Seller accounts and Amazon: authorize the application for a seller and keep its refresh token.",
        formatter_class=HelpFormatter,
    )
    actions = amazon.add_subparsers(required=True, metavar="action")
    auth = actions.add_parser(
        "authorize",
        help="get a seller's refresh token and keep it in the daemon's environment file",
        description="Get the refresh token of one seller of the configuration, try it against Login with Amazon, "
        "and keep it in the environment file the daemon is started with, as the variable the seller's "
        "refresh_token_env names (the file is rewritten whole, mode 0600, its other lines kept). By default paste "
        "the token Seller Central shows when you self-authorize your private application (Develop Apps > "
        "Authorize app); it is not echoed. --consent runs the website workflow instead. The daemon reads the new "
        "token when it is next started.",
        formatter_class=HelpFormatter,
    )
    auth.add_argument("--config", type=Path, required=True, metavar="FILE", help="the configuration file")
    auth.add_argument("--seller", required=True, metavar="ID", help="the seller's id in the configuration")
    auth.add_argument(
        "--env-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="the daemon's environment file (systemd EnvironmentFile=, or `set -a; . FILE` in a shell)",
    )
    auth.add_argument(
        "--consent",
        action="store_true",
        help="run the website authorization workflow: open Seller Central's consent page, then paste the address "
        "the browser is sent to, or let --listen receive it",
    )
    auth.add_argument(
        "--application-id",
        metavar="ID",
        help="with --consent: the application's id (amzn1.sp.solution…; no default, --consent needs it)",
    )
    auth.add_argument(
        "--redirect-uri",
        metavar="URI",
        help="with --consent: the redirect URI registered for the application (default with --listen: "
        "http://127.0.0.1:PORT/)",
    )
    auth.add_argument(
        "--listen",
        type=int,
        metavar="PORT",
        help="with --consent: receive the redirect on 127.0.0.1:PORT, for a redirect URI that reaches it (an HTTPS "
        "proxy in front, or `repricer sim serve`; default: none, the address is pasted)",
    )
    auth.add_argument("--beta", action="store_true", help="with --consent: the application is still a draft")
    auth.add_argument(
        "--seller-central",
        metavar="URL",
        help="with --consent: Seller Central's address (default: that of the seller's first marketplace)",
    )
    auth.set_defaults(handler=_cmd_authorize)


def _cmd_authorize(args: argparse.Namespace) -> int:
    import trio

    from adapters.spapi.authorize import SELLER_CENTRAL, AuthorizationError
    from engine.config import ConfigError, load

    consent_only = {
        "--application-id": args.application_id,
        "--redirect-uri": args.redirect_uri,
        "--listen": args.listen,
        "--beta": args.beta or None,
        "--seller-central": args.seller_central,
    }
    if not args.consent and (given := [flag for flag, value in consent_only.items() if value is not None]):
        return refuse(PROG, f"{', '.join(given)} only go with --consent")
    if args.consent and not args.application_id:
        return refuse(PROG, "--consent needs --application-id: the id of the application sellers consent to")
    if args.consent and args.redirect_uri is None and args.listen is None:
        return refuse(PROG, "--consent needs --redirect-uri (registered for the application), --listen, or both")
    if args.listen is not None and not 0 < args.listen < 65536:
        return refuse(PROG, f"--listen takes a port (1–65535), not {args.listen}")
    try:
        config = load(args.config, refresh_tokens=False)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REJECTED
    account = next((seller for seller in config.sellers if seller.id == args.seller), None)
    if account is None:
        known = ", ".join(seller.id for seller in config.sellers)
        return refuse(PROG, f"{args.config} has no seller {args.seller!r}; its sellers: {known}")
    source = account.credentials.sources.refresh_token
    if not source.startswith("env "):
        return refuse(
            PROG,
            f"seller {account.id}'s refresh_token is written in {args.config} itself: replace it there by "
            'refresh_token_env = "REPRICER_REFRESH_TOKEN" (any name) and authorize again, so that the token is kept '
            "in the environment file",
        )
    consent = None
    if args.consent:
        seller_central = args.seller_central or SELLER_CENTRAL[account.marketplaces[0]]
        redirect_uri = args.redirect_uri or f"http://127.0.0.1:{args.listen}/"
        consent = Consent(args.application_id, seller_central, redirect_uri, args.listen, args.beta)
    try:
        trio.run(partial(authorize, account, source.removeprefix("env "), args.env_file, consent))
    except AuthorizationError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except trio.TooSlowError:
        print(f"{PROG}: no redirect within {CONSENT_WAIT_S:g} s: nothing stored, start again", file=sys.stderr)
        return EXIT_REJECTED
    return 0


def _ask_token(prompt: str) -> str:
    """The pasted token: without echo at a terminal, the first line of stdin otherwise."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def _ask_line(prompt: str) -> str:
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def _say(text: str) -> None:
    print(text, file=sys.stderr)


async def authorize(
    account: SellerAccount,
    variable: str,
    env_file: Path,
    consent: Consent | None,
    *,
    ask_token: Callable[[str], str] = _ask_token,
    ask_line: Callable[[str], str] = _ask_line,
    say: Callable[[str], None] = _say,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Get ``account``'s refresh token (pasted, or by ``consent``), try it, and keep it as ``variable`` in
    ``env_file``. Raises `AuthorizationError` (nothing kept) or `trio.TooSlowError` (no redirect in time)."""
    import httpx
    import trio

    from adapters.spapi.authorize import (
        AuthorizationError,
        check_refresh_token,
        consent_url,
        exchange_code,
        new_state,
        read_redirect,
        receive_redirect,
        store_in_env_file,
    )
    from engine.config.credentials import Secret

    credentials, token_url = account.credentials, account.endpoints.lwa_token
    async with httpx.AsyncClient(transport=transport, timeout=_HTTP_TIMEOUT_S) as client:
        if consent is None:
            pasted = await trio.to_thread.run_sync(
                ask_token, f"Refresh token of seller {account.id} (Seller Central > Develop Apps; not shown): "
            )
            if not pasted.strip():
                raise AuthorizationError("no token given: nothing stored")
            token = Secret(pasted.strip())
        else:
            state = new_state()
            page = consent_url(
                consent.seller_central,
                consent.application_id,
                state,
                redirect_uri=consent.redirect_uri,
                beta=consent.beta,
            )
            say(f"Sign in to Seller Central as seller {account.merchant_id}, open this page and consent:\n  {page}")
            if consent.listen is not None:
                say(f"Waiting for the redirect on 127.0.0.1:{consent.listen} (up to {CONSENT_WAIT_S / 60:g} min)…")
                with trio.fail_after(CONSENT_WAIT_S):
                    redirected = await receive_redirect(state, port=consent.listen)
            else:
                address = await trio.to_thread.run_sync(ask_line, "Paste the address your browser was sent to: ")
                redirected = read_redirect(address, state)
            if redirected.selling_partner_id != account.merchant_id:
                raise AuthorizationError(
                    f"the seller who consented is {redirected.selling_partner_id}, but seller {account.id}'s "
                    f"merchant_id is {account.merchant_id} (was another account signed in?): nothing stored"
                )
            token = await exchange_code(
                client,
                token_url,
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                code=redirected.code,
                redirect_uri=consent.redirect_uri,
            )
        await check_refresh_token(
            client,
            token_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            refresh_token=token,
        )
    store_in_env_file(env_file, variable, token)
    say(
        f"Seller {account.id} is authorized: its refresh token is kept as {variable} in {env_file} (mode 0600). "
        "The daemon reads it when next started with that environment (a running one keeps its old token until "
        "restarted)."
    )
