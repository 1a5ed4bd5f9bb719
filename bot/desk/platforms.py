"""Signing in to the desk from the platforms: a Telegram Mini App (its `initData` signed with
the bot token) and WeChat's 网页授权 (OAuth `snsapi_base`, the code exchanged for the openid
with wechatpy). Either ends as the one-time link does: the session cookie of the account the
person uses in chat.

A WeChat URL QR code for sign-in opens `/desk/ci/<payload>`: OAuth says who scanned, and the
scan is run as that follower's own message, so the code's rules (signature, window, rotation,
once per person) are the chat's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from bot import qr
from bot.desk.forms import read_form
from bot.qrpage import page_language
from bot.settings import Settings
from handlers import desk, qrcodes
from handlers.errors import DomainError
from handlers.text import clean_name
from storage.people import SenderInfo

if TYPE_CHECKING:
    from bot.desk.app import Desk

log = logging.getLogger(__name__)
# How old a Mini App's initData may be (Telegram signs it when the app opens).
INIT_DATA_SECONDS = 3600
TG_PATH = desk.MINI_APP_PATH
WX_PATH = "/desk/wx"
STATE_COOKIE = "jinlin_oauth"


# ---------------------------------------------------------------- Telegram Mini App


def check_init_data(token: str, init_data: str, now: dt.datetime,
                    max_age: int = INIT_DATA_SECONDS) -> SenderInfo:
    """The Telegram user an `initData` string vouches for, checked as Telegram's Web App
    rules say: HMAC-SHA256 of the sorted fields with a key derived from the bot token, and
    `auth_date` no older than `max_age`. DomainError otherwise."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True))
    given = fields.pop("hash", "")
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise DomainError("desk_forged")
    try:
        signed_at = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise DomainError("desk_forged") from None
    if not 0 <= now.timestamp() - signed_at <= max_age:
        raise DomainError("desk_init_data_stale")
    name = " ".join(str(user.get(k, "")) for k in ("first_name", "last_name")).strip()
    username = user.get("username")
    return SenderInfo("telegram", str(user_id), clean_name(name),
                      clean_name(str(username)) if username else None,
                      user.get("language_code"))


def sign_init_data(token: str, fields: dict[str, str]) -> str:
    """initData as Telegram would sign it (for tests and local trials)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


class MiniApp:
    """GET /desk/tg (a page that posts the initData Telegram gave it) and POST /desk/tg."""

    def __init__(self, desk_app: Desk, token: str) -> None:
        self.desk = desk_app
        self.token = token

    def routes(self) -> list[Route]:
        return [Route(TG_PATH, self.page, methods=["GET"]),
                Route(TG_PATH, self.sign_in, methods=["POST"])]

    async def page(self, request: Request) -> Response:
        html = self.desk.pages.render(page_language(request), "miniapp.html", {})
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def sign_in(self, request: Request) -> Response:
        fields = await read_form(request)
        lang = page_language(request)
        try:
            sender = check_init_data(self.token, fields.get("init_data", ""),
                                     self.desk.core.clock())
        except DomainError as error:
            return self.desk.refusal(lang, error)
        account_id = await asyncio.to_thread(self.desk.account_for, sender)
        return self.desk.signed_in(account_id, "/desk")


# ---------------------------------------------------------------- WeChat OAuth


class _OAuth(WeChatOAuth):
    """wechatpy's OAuth client with both its addresses configurable (a test server)."""

    def __init__(self, app_id: str, secret: str, redirect_uri: str, state: str,
                 api_base: str, oauth_base: str) -> None:
        super().__init__(app_id, secret, redirect_uri, scope="snsapi_base", state=state)
        self.API_BASE_URL = api_base
        self.OAUTH_BASE_URL = oauth_base


class WechatLogin:
    """GET /desk/wx?next=…: off to WeChat's 网页授权 and back with a code, which wechatpy
    exchanges for the openid; GET /desk/ci/<payload>: a URL QR code's sign-in page."""

    def __init__(self, desk_app: Desk, app_id: str, secret: str, api_base: str,
                 oauth_base: str) -> None:
        self.desk = desk_app
        self.app_id, self.app_secret = app_id, secret
        self.api_base, self.oauth_base = api_base, oauth_base

    def routes(self) -> list[Route]:
        return [Route(WX_PATH, self.oauth, methods=["GET"]),
                Route("/desk/ci/{payload}", self.sign_in_code, methods=["GET"]),
                Route("/desk/live/{activity_id:int}/wx.svg", self.code, methods=["GET"])]

    async def code(self, request: Request) -> Response:
        svg = wechat_code_svg(self.desk, int(request.path_params["activity_id"]),
                              request.query_params.get("key", ""))
        if svg is None:
            return Response(status_code=403)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    def client(self, state: str = "") -> _OAuth:
        redirect = f"{self.desk.core.rules.public_url}{WX_PATH}"
        return _OAuth(self.app_id, self.app_secret, redirect, state, self.api_base,
                      self.oauth_base)

    def authorize(self, next_path: str) -> Response:
        """Off to WeChat to learn who this is; back at `next_path` afterwards. The state is a
        nonce the browser also keeps in a cookie, so a code meant for another browser is
        refused (WeChat allows only a-z A-Z 0-9 in it)."""
        state = secrets.token_hex(8)
        response = RedirectResponse(self.client(state).authorize_url, status_code=302,
                                    headers={"Cache-Control": "no-store"})
        response.set_cookie(STATE_COOKIE, quote(f"{state}|{next_path}"), max_age=600,
                            path="/desk", httponly=True, secure=self.desk.secure,
                            samesite="lax")
        return response

    async def oauth(self, request: Request) -> Response:
        code = request.query_params.get("code", "")
        lang = page_language(request)
        if not code:
            wanted = request.query_params.get("next", "/desk")
            return self.authorize(wanted if wanted.startswith("/desk") else "/desk")
        state, _, next_path = unquote(request.cookies.get(STATE_COOKIE, "")).partition("|")
        given = request.query_params.get("state", "")
        if not state or not hmac.compare_digest(state.encode(), given.encode()):
            return self.desk.refusal(lang, DomainError("desk_forged"))
        openid = await asyncio.to_thread(self._openid, code)
        if openid is None:
            return self.desk.refusal(lang, DomainError("desk_forged"))
        sender = SenderInfo("wechat", openid, "", None, None)
        account_id = await asyncio.to_thread(self.desk.account_for, sender)
        response = self.desk.signed_in(account_id, next_path)
        response.delete_cookie(STATE_COOKIE, path="/desk")
        return response

    def _openid(self, code: str) -> str | None:
        try:
            answer = self.client().fetch_access_token(code)
        except WeChatOAuthException as error:
            log.warning("WeChat refused an OAuth code: %s", error.errcode)
            return None
        openid = answer.get("openid")
        return str(openid) if openid else None

    async def sign_in_code(self, request: Request) -> Response:
        """A scanned URL QR code: who it is (OAuth once), then the scan as their message."""
        payload = request.path_params["payload"]
        found = self.desk.visitor(request)
        if isinstance(found, DomainError):
            return self.authorize(f"/desk/ci/{quote(payload)}")
        said = await self.desk.run(found.account_id, {"text": f"/start {payload}"})
        return await self.desk.show_said(request, said)




def wechat_code_svg(desk_app: Desk, activity_id: int, key: str) -> str | None:
    """The rotating sign-in code of the live screen as a URL QR code for WeChat (its camera
    opens /desk/ci/<payload>), or None for a display key that is not valid now."""
    core = desk_app.core
    now = core.clock()
    try:
        if not qrcodes.display_key_valid(desk_app.secret, activity_id, key, now):
            return None
    except (OverflowError, OSError, ValueError):
        return None
    slot = qrcodes.current_slot(now, core.rules.qr_period_seconds)
    payload = qrcodes.make(desk_app.secret, activity_id, "i", slot)
    return qr.svg(f"{core.rules.public_url}/desk/ci/{payload}")


def oauth_api_base(api_base_url: str) -> str:
    """Where wechatpy's OAuth client finds sns/oauth2/…: the API's root (WECHAT_API_BASE_URL
    names its cgi-bin/ folder)."""
    return api_base_url.rstrip("/").removesuffix("/cgi-bin") + "/"


def platform_routes(desk_app: Desk, settings: Settings | None) -> list[Route]:
    """The sign-in routes of the platforms this deployment runs on."""
    if settings is None:
        return []
    routes: list[Route] = []
    if settings.telegram_token is not None:
        routes += MiniApp(desk_app, settings.telegram_token.get_secret_value()).routes()
    if settings.wechat_enabled:
        assert settings.wechat_app_id is not None
        assert settings.wechat_app_secret is not None
        login = WechatLogin(desk_app, settings.wechat_app_id,
                            settings.wechat_app_secret.get_secret_value(),
                            oauth_api_base(settings.wechat_api_base_url),
                            settings.wechat_oauth_base_url)
        routes += login.routes()
        desk_app.wechat = True
    return routes
