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
from urllib.parse import quote

from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.links import is_public
from handlers.router import Command, Feature

LINK_MINUTES = 10
SESSION_HOURS = 12
# A download link (the ledger, where the platform cannot carry a file) works this long.
FILE_MINUTES = 15
LOGIN_PATH = "/desk/login"
# The page a Telegram Mini App opens: it signs in with the initData Telegram gives it.
MINI_APP_PATH = "/desk/tg"
FILE_PATH = "/desk/file"
UPLOAD_PATH = "/desk/items/import"
# Platforms on which the bot and a person exchange no files (a WeChat Official Account can
# neither send a follower a file nor receive one): the desk downloads and uploads them.
NO_FILES = ("wechat",)
# Distinct keys from the one secret: a login token is never a valid cookie, nor the reverse.
_LOGIN, _SESSION, _CSRF = b"desk-login", b"desk-session", b"desk-csrf"
_FILE = b"desk-file"


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


def sign(secret: bytes, purpose: bytes, account_id: int, expires: dt.datetime,
         nonce: str | None = None) -> str:
    """`account.expiry.nonce.mac`: URL- and cookie-safe (`nonce` must have no dot)."""
    body = f"{account_id}.{int(expires.timestamp())}.{nonce or secrets.token_urlsafe(12)}"
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


def file_token(secret: bytes, account_id: int, what: str, now: dt.datetime) -> str:
    """A download link's token: whose, until when, and what file (`what`, in the nonce)."""
    nonce = base64.urlsafe_b64encode(what.encode()).decode().rstrip("=")
    return sign(secret, _FILE, account_id, now + dt.timedelta(minutes=FILE_MINUTES), nonce)


def check_file(secret: bytes, token: str, now: dt.datetime) -> tuple[int, str]:
    """(account, what) of a download link that is ours and fresh; DomainError otherwise."""
    try:
        found = unsign(secret, _FILE, token)
        what = base64.urlsafe_b64decode(found.nonce + "=" * (-len(found.nonce) % 4)).decode()
    except (DomainError, ValueError):
        raise DomainError("desk_file_forged") from None
    if found.expired(now):
        raise DomainError("desk_file_expired", minutes=FILE_MINUTES)
    return found.account_id, what


def file_owner(secret: bytes, token: str) -> int | None:
    """The account a (perhaps expired) download link was made for; None if not ours."""
    try:
        return unsign(secret, _FILE, token).account_id
    except (DomainError, ValueError):
        return None


def file_url(ctx: Context, what: str) -> str:
    """A link for the sender to download `what` for FILE_MINUTES (no sign-in needed)."""
    token = file_token(ctx.rules.secret, ctx.account.id, what, ctx.now)
    return f"{ctx.rules.public_url}{FILE_PATH}?t={token}"


def csrf_token(secret: bytes, session: str) -> str:
    """The token every form of this session carries back (bound to the cookie)."""
    return _mac(secret, _CSRF, session)


def csrf_valid(secret: bytes, session: str, given: str) -> bool:
    return hmac.compare_digest(given.encode(), csrf_token(secret, session).encode())


def login_url(ctx: Context, to: str | None = None) -> str:
    """A fresh one-time link for the sender's account (opening the desk's page `to`)."""
    token = login_token(ctx.rules.secret, ctx.account.id, ctx.now)
    then = f"&to={quote(to, safe='/')}" if to else ""
    return f"{ctx.rules.public_url}{LOGIN_PATH}?t={token}{then}"


def desk(ctx: Context, _args: str) -> None:
    """工作台: the link to the web desk, privately; it works once, for ten minutes. On a
    public https address its button opens the desk as a Telegram Mini App (Telegram signs the
    person in; other platforms open the link)."""
    url = login_url(ctx)
    if is_public(url):
        mini_app = f"{ctx.rules.public_url}{MINI_APP_PATH}"
        ctx.reply_private("desk.link", [[ButtonSpec.of("desk.button.open", url=url,
                                                       web_app=mini_app)]],
                          url=url, minutes=LINK_MINUTES)
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
