"""Login with Amazon, as the fake plays it: refresh tokens known in advance, access tokens issued for a while.

Each refresh token is one seller account of the market (its seller index). An exchange answers a new access token
valid for ``lifetime_s`` of trio's clock; the SP-API routes accept it until then and answer 403 after. The tokens
are counters, not secrets: the fake guards nothing, it only makes the client meet Amazon's refusals.

Grantless operations (the Notifications API's destinations) take the application's own token: ``grant_type=
client_credentials`` with ``scope=sellingpartnerapi::notifications`` answers one that acts for no seller
(`GRANTLESS`), and which the seller's operations refuse. The fake has one application and takes any client id.

The website authorization workflow ends here too: a consent (`TokenBook.consent`, the fake's Seller Central page,
which consents at once) issues an ``spapi_oauth_code`` for one redirect URI; exchanged once within
`CODE_LIFETIME_S` with ``grant_type=authorization_code`` and that same ``redirect_uri``, it answers the seller's
refresh token, as Amazon does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qs, quote

import msgspec

__all__ = ["CODE_LIFETIME_S", "GRANTLESS", "NOTIFICATIONS_SCOPE", "LwaError", "TokenBook", "TokenReply"]

DEFAULT_LIFETIME_S: Final = 3600.0  # Amazon's access tokens live an hour
CODE_LIFETIME_S: Final = 300.0  # an authorization code must be exchanged within minutes
NOTIFICATIONS_SCOPE: Final = "sellingpartnerapi::notifications"
GRANTLESS: Final = -1  # the "seller" of a grantless token: the application itself


class TokenReply(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str | None = None  # none for a grantless token


class LwaError(msgspec.Struct, frozen=True, gc=False):
    """Amazon's OAuth error body (``{"error", "error_description"}``), sent with a 400."""

    error: str
    error_description: str


class TokenBook:
    """The refresh tokens of the market's seller accounts and the access tokens issued for them.

    A token lives ``lifetime_s`` of the fake's clock; the reply says ``expires_in`` seconds (by default the same),
    which differ when the fake's clock runs faster than its clients' (`repricer sim serve --time-scale`)."""

    def __init__(
        self, sellers: Mapping[str, int], *, lifetime_s: float = DEFAULT_LIFETIME_S, expires_in: int | None = None
    ) -> None:
        if not lifetime_s > 0:
            raise ValueError(f"an access token's lifetime must be positive, not {lifetime_s}")
        self._sellers = dict(sellers)
        self.lifetime_s = lifetime_s
        self.expires_in = int(lifetime_s) if expires_in is None else expires_in
        self._issued: dict[str, tuple[int, float]] = {}  # access token -> (seller, expires at)
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> (refresh token, redirect URI, expires at)
        self._count = 0

    @property
    def sellers(self) -> Mapping[str, int]:
        """Each refresh token the fake accepts, and the seller it is for."""
        return self._sellers

    def consent(self, refresh_token: str, redirect_uri: str, now: float) -> str:
        """An authorization code for the seller of ``refresh_token``, good once for ``redirect_uri``."""
        if refresh_token not in self._sellers:
            raise KeyError(f"no seller has the refresh token {refresh_token!r}")
        self._count += 1
        code = f"ANsim{self._sellers[refresh_token]}x{self._count}"
        self._codes[code] = (refresh_token, redirect_uri, now + CODE_LIFETIME_S)
        return code

    def exchange(self, form: bytes, now: float) -> TokenReply | LwaError:
        """Answer a token request's form: a new access token, or the OAuth error Amazon would send."""
        fields = {name: values[0] for name, values in parse_qs(form.decode("utf-8", "replace")).items()}
        grant = fields.get("grant_type")
        if grant == "authorization_code":
            return self._redeem(fields, now)
        if grant == "client_credentials":
            return self._grantless(fields, now)
        if grant != "refresh_token":
            return LwaError("unsupported_grant_type", f"The authorization grant type {grant!r} is not supported")
        refresh_token = fields.get("refresh_token", "")
        seller = self._sellers.get(refresh_token)
        if seller is None:
            return LwaError("invalid_grant", "The request has an invalid grant parameter : refresh_token")
        self._forget_expired(now)
        self._count += 1
        token = f"Atza|sim-{seller}-{self._count}"
        self._issued[token] = (seller, now + self.lifetime_s)
        return TokenReply(token, "bearer", self.expires_in, refresh_token)

    def _grantless(self, fields: Mapping[str, str], now: float) -> TokenReply | LwaError:
        """``grant_type=client_credentials``: the application's token for the grantless operations."""
        if fields.get("scope") != NOTIFICATIONS_SCOPE:
            return LwaError("invalid_scope", f"The scope {fields.get('scope')!r} is not one the fake grants")
        if not fields.get("client_id") or not fields.get("client_secret"):
            return LwaError("invalid_client", "Client authentication failed")
        self._forget_expired(now)
        self._count += 1
        token = f"Atza|sim-app-{self._count}"
        self._issued[token] = (GRANTLESS, now + self.lifetime_s)
        return TokenReply(token, "bearer", self.expires_in)

    def _redeem(self, fields: Mapping[str, str], now: float) -> TokenReply | LwaError:
        """``grant_type=authorization_code``: the code once, before it expires, with the redirect URI it was
        issued for; the answer carries the seller's refresh token beside a first access token."""
        issued = self._codes.pop(fields.get("code", ""), None)
        if issued is None or now >= issued[2]:
            return LwaError("invalid_grant", "The request has an invalid grant parameter : code")
        refresh_token, redirect_uri, _ = issued
        if fields.get("redirect_uri") != redirect_uri:
            return LwaError("invalid_grant", "The redirect_uri does not match the one the code was issued for")
        return self.exchange(f"grant_type=refresh_token&refresh_token={quote(refresh_token)}".encode(), now)

    def seller(self, access_token: str, now: float) -> int | None:
        """The seller an access token was issued for (`GRANTLESS` for the application's), while it is valid; None
        for one unknown or expired."""
        issued = self._issued.get(access_token)
        if issued is None or now >= issued[1]:
            return None
        return issued[0]

    def expired(self, access_token: str, now: float) -> bool:
        """Whether this token was issued here and has expired (Amazon says so in its 403's details)."""
        issued = self._issued.get(access_token)
        return issued is not None and now >= issued[1]

    def expire(self, access_token: str, now: float) -> None:
        """End a token before its time, as Amazon may: from ``now`` it is refused as expired."""
        issued = self._issued.get(access_token)
        if issued is not None:
            self._issued[access_token] = (issued[0], min(issued[1], now))

    def _forget_expired(self, now: float) -> None:
        """Drop tokens expired for a lifetime already, so a long run keeps a bounded book; a token just expired
        stays, so its 403 can say it expired."""
        stale = [token for token, (_, expires_at) in self._issued.items() if now >= expires_at + self.lifetime_s]
        for token in stale:
            del self._issued[token]
