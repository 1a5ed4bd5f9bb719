"""工作台 / /desk: a signed one-time link, sent privately, that opens the web desk.

The link carries the account, an expiry and a nonce, signed with the deployment's secret;
the web desk (bot/desk/) accepts it once (the nonce is recorded like a handled update) and
sets a session cookie signed the same way. Below a public https address the link is only in
the text (handlers/links.py says why).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.links import is_public
from handlers.router import Command, Feature

LINK_MINUTES = 10
SESSION_HOURS = 12
LOGIN_PATH = "/desk/login"
# Distinct keys from the one secret: a login token is never a valid cookie, nor the reverse.
_LOGIN, _SESSION, _CSRF = b"desk-login", b"desk-session", b"desk-csrf"


@dataclass(frozen=True)
class Signed:
    """What a login token or a session cookie says: whose, until when, and its nonce."""

    account_id: int
    expires: int
    nonce: str

    def expired(self, now: dt.datetime) -> bool:
        return now.timestamp() >= self.expires


def _mac(secret: bytes, purpose: bytes, text: str) -> str:
    key = hmac.new(secret, purpose, hashlib.sha256).digest()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def sign(secret: bytes, purpose: bytes, account_id: int, expires: dt.datetime) -> str:
    """`account.expiry.nonce.mac`: URL- and cookie-safe."""
    body = f"{account_id}.{int(expires.timestamp())}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(secret: bytes, purpose: bytes, token: str) -> Signed:
    """The signed content of `token`; DomainError("desk_forged") when it is not ours."""
    body, _, mac = token.rpartition(".")
    if not body or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        raise DomainError("desk_forged")
    account, expires, nonce = body.split(".", 2)
    return Signed(int(account), int(expires), nonce)


def login_token(secret: bytes, account_id: int, now: dt.datetime) -> str:
    return sign(secret, _LOGIN, account_id, now + dt.timedelta(minutes=LINK_MINUTES))


def read_login(secret: bytes, token: str) -> Signed:
    return unsign(secret, _LOGIN, token)


def session_token(secret: bytes, account_id: int, now: dt.datetime) -> str:
    return sign(secret, _SESSION, account_id, now + dt.timedelta(hours=SESSION_HOURS))


def read_session(secret: bytes, token: str) -> Signed:
    return unsign(secret, _SESSION, token)


def csrf_token(secret: bytes, session: str) -> str:
    """The token every form of this session carries back (bound to the cookie)."""
    return _mac(secret, _CSRF, session)


def csrf_valid(secret: bytes, session: str, given: str) -> bool:
    return hmac.compare_digest(given.encode(), csrf_token(secret, session).encode())


def login_url(ctx: Context) -> str:
    """A fresh one-time link for the sender's account."""
    token = login_token(ctx.rules.secret, ctx.account.id, ctx.now)
    return f"{ctx.rules.public_url}{LOGIN_PATH}?t={token}"


def desk(ctx: Context, _args: str) -> None:
    """工作台: the link to the web desk, privately; it works once, for ten minutes."""
    url = login_url(ctx)
    if is_public(url):
        ctx.reply_private("desk.link", [[ButtonSpec.of("desk.button.open", url=url)]], url=url,
                          minutes=LINK_MINUTES)
    else:
        ctx.reply_private("desk.link_local", url=url, minutes=LINK_MINUTES)


def expired_or_forged(error: DomainError) -> int:
    """The HTTP status a refused token gets: 410 for one that was good once, 403 otherwise."""
    return 410 if error.code in ("desk_link_expired", "desk_link_used") else 403


def check_login(secret: bytes, token: str, now: dt.datetime) -> Signed:
    """A login token that is ours and still fresh (whether it was used is storage's to say)."""
    found = read_login(secret, token)
    if found.expired(now):
        raise DomainError("desk_link_expired", minutes=LINK_MINUTES)
    return found


FEATURE = Feature(commands=[Command("desk", desk)])
