"""The web desk's endpoints: login, pages, and actions that press the chat's own buttons.

A page is read inside one database session, with the Context a private message of the person
would have, so the role checks are the chat's (handlers/desk_pages.py). An action is run as a
private update from the person's own account through `Core.handle`: what the bot would answer
them privately is shown on the page, everything else (the applicant told, a group card edited)
is delivered as the chat would deliver it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.bodies import TooLarge, read_body
from bot.desk.render import Pages
from bot.qrpage import page_language
from handlers import desk, desk_pages
from handlers.context import Context
from handlers.core import Core
from handlers.errors import DomainError
from handlers.i18n import DEFAULT_LANG, normalize_lang
from handlers.messages import ChatKind, Incoming, Outgoing, Sender
from storage import dialogs
from storage.models import Account, Chat, Person

log = logging.getLogger(__name__)
Deliver = Callable[[list[Outgoing]], Awaitable[None]]
View = Callable[[Context], Mapping[str, object]]

COOKIE = "jinlin_desk"
FLASH = "jinlin_flash"
MAX_FLASH = 3000
# Pages show names and addresses: keep them out of caches, Referer headers and search engines.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex", "X-Frame-Options": "SAMEORIGIN"}
STATUS = {"desk_link_expired": 410, "desk_link_used": 410, "desk_not_found": 404}


@dataclass(frozen=True)
class Visitor:
    """A signed-in person: their account and the cookie that says so."""

    account_id: int
    cookie: str


class Desk:
    """The desk's routes; `deliver` sends what an action says to others (set by the service
    once its senders run)."""

    def __init__(self, core: Core, deliver: Deliver | None = None) -> None:
        self.core = core
        self.deliver = deliver
        self.pages = Pages(core.catalogs)
        self.secure = core.rules.public_url.startswith("https://")

    @property
    def secret(self) -> bytes:
        return self.core.rules.secret

    def routes(self) -> list[Route]:
        return [Route(desk.LOGIN_PATH, self.login, methods=["GET"]),
                Route("/desk", self.page_of(home), methods=["GET"]),
                Route("/desk/pending", self.page_of(pending), methods=["GET"]),
                Route("/desk/act", self.act, methods=["POST"])]

    # ------------------------------------------------------------------ signing in

    async def login(self, request: Request) -> Response:
        """The one-time link: a session cookie, then the home page."""
        token = request.query_params.get("t", "")
        lang = page_language(request)
        result = await asyncio.to_thread(self._use_link, token)
        if isinstance(result, DomainError):
            owner = self._owner_lang(token)
            return self.refusal(owner or lang, result)
        return self.signed_in(result, "/desk")

    def signed_in(self, account_id: int, to: str) -> Response:
        """A redirect to `to` that sets a fresh session cookie for `account_id`."""
        response = RedirectResponse(to, status_code=303, headers=PRIVATE)
        cookie = desk.session_token(self.secret, account_id, self.core.clock())
        response.set_cookie(COOKIE, cookie, max_age=desk.SESSION_HOURS * 3600, path="/",
                            httponly=True, secure=self.secure, samesite="lax")
        return response

    def _use_link(self, token: str) -> int | DomainError:
        now = self.core.clock()
        try:
            signed = desk.check_login(self.secret, token, now)
        except (DomainError, ValueError) as error:
            return error if isinstance(error, DomainError) else DomainError("desk_forged")
        with self.core.db.session() as session:
            if session.get(Account, signed.account_id) is None:
                return DomainError("desk_forged")
            if not dialogs.first_time(session, "desk", f"login:{signed.nonce}", now):
                return DomainError("desk_link_used")
        return signed.account_id

    def _owner_lang(self, token: str) -> str | None:
        """The language of the account a signed (if refused) link was made for."""
        try:
            signed = desk.read_login(self.secret, token)
        except (DomainError, ValueError):
            return None
        with self.core.db.reading() as session:
            account = session.get(Account, signed.account_id)
            person = session.get(Person, account.person_id) if account else None
            return _lang(person, account) if person else None

    def visitor(self, request: Request) -> Visitor | DomainError:
        """Who the session cookie says is here, or why it says nobody."""
        cookie = request.cookies.get(COOKIE, "")
        if not cookie:
            return DomainError("desk_signed_out")
        try:
            signed = desk.read_session(self.secret, cookie)
        except (DomainError, ValueError):
            return DomainError("desk_forged")
        if signed.expired(self.core.clock()):
            return DomainError("desk_signed_out")
        return Visitor(signed.account_id, cookie)

    # ------------------------------------------------------------------ pages

    def page_of(self, view: View, template: str | None = None
                ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint showing `view`'s values in `template` (the view's name by default)."""
        name = template or f"{view.__name__}.html"

        async def endpoint(request: Request) -> Response:
            return await self.show(request, view, name)

        return endpoint

    async def show(self, request: Request, view: View, template: str,
                   status: int = 200) -> Response:
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        flash = unquote(request.cookies.get(FLASH, ""))
        html, code = await asyncio.to_thread(self._render, found, request, view, template)
        response = HTMLResponse(html, status_code=code if code != 200 else status,
                                headers=PRIVATE)
        if flash:
            response.delete_cookie(FLASH, path="/")
        return response

    def _render(self, visitor: Visitor, request: Request, view: View,
                template: str) -> tuple[str, int]:
        with self.core.db.session() as session:
            ctx = self._context(session, visitor.account_id)
            if ctx is None:
                return self._refusal_html(page_language(request),
                                          DomainError("desk_signed_out"))
            lang = ctx.t.lang
            try:
                values = dict(view(ctx))
            except DomainError as error:
                session.rollback()
                return self._refusal_html(lang, error)
            me = desk_pages.overview(ctx)
            values |= {"me": me, "csrf": desk.csrf_token(self.secret, visitor.cookie),
                       "flash": [line for line in
                                 unquote(request.cookies.get(FLASH, "")).split("\n") if line],
                       "here": request.url.path + (f"?{request.url.query}"
                                                   if request.url.query else "")}
            return self.pages.render(lang, template, values), 200

    def _context(self, session: Session, account_id: int) -> Context | None:
        """The Context a private message from this account would have, or None if it is gone."""
        account = session.get(Account, account_id)
        person = session.get(Person, account.person_id) if account else None
        if account is None or person is None or person.erased_at is not None:
            return None
        sender = Sender(account.platform, account.external_id, account.display_name,
                        account.username, account.language_code)
        incoming = Incoming(account.platform, account.external_id, ChatKind.PRIVATE, sender)
        chat = Chat(platform=account.platform, external_id=account.external_id,
                    kind=ChatKind.PRIVATE.value)
        core = self.core
        return Context(session, core.catalogs, core.rules, core.clock(), core,
                       incoming=incoming, account=account, person=person, chat=chat)

    def refusal(self, lang: str, error: DomainError) -> Response:
        html, status = self._refusal_html(lang, error)
        return HTMLResponse(html, status_code=status, headers=PRIVATE)

    def _refusal_html(self, lang: str, error: DomainError) -> tuple[str, int]:
        t = self.core.catalogs.get(lang)
        params = {key: Core._shown(key, value) for key, value in error.params.items()}
        status = STATUS.get(error.code, 403)
        text = t(f"error.{error.code}", **params)
        return self.pages.render(lang, "refusal.html", {"text": text, "status": status}), status

    # ------------------------------------------------------------------ actions

    async def act(self, request: Request) -> Response:
        """A form's button: run as the person's own tap in their private chat."""
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        given = await _form(request)
        if not desk.csrf_valid(self.secret, found.cookie, given.get("csrf", "")):
            lang = await asyncio.to_thread(self._lang_of, found.account_id)
            return self.refusal(lang, DomainError("desk_csrf"))
        mine, others = await asyncio.to_thread(self._act, found.account_id, given)
        await self.send(others)
        back = given.get("back", "/desk")
        response = RedirectResponse(back if _local(back) else "/desk", status_code=303,
                                    headers=PRIVATE)
        shown = "\n".join(m.text for m in mine)[:MAX_FLASH]
        response.set_cookie(FLASH, quote(shown), max_age=60, path="/", httponly=True,
                            secure=self.secure, samesite="lax")
        return response

    async def send(self, messages: list[Outgoing]) -> None:
        if not messages:
            return
        if self.deliver is None:
            log.warning("the desk has no sender for %d messages", len(messages))
            return
        await self.deliver(messages)

    def _act(self, account_id: int, given: Mapping[str, str]
             ) -> tuple[list[Outgoing], list[Outgoing]]:
        """Press `data` (then answer `text`, for a button that asks), as the account."""
        with self.core.db.reading() as session:
            account = session.get(Account, account_id)
            if account is None:
                return [], []
            sender = Sender(account.platform, account.external_id, account.display_name,
                            account.username, account.language_code)
        incoming = Incoming(sender.platform, sender.external_id, ChatKind.PRIVATE, sender)
        steps: list[dict[str, Any]] = []
        if given.get("data"):
            steps.append({"button_data": given["data"]})
        if given.get("text", "").strip():
            steps.append({"text": given["text"].strip()})
        mine: list[Outgoing] = []
        others: list[Outgoing] = []
        for step in steps:
            out = self.core.handle(_with(incoming, step))
            mine = [m for m in out if _to(m, sender)]
            others += [m for m in out if not _to(m, sender)]
        return mine, others

    def _lang_of(self, account_id: int) -> str:
        with self.core.db.reading() as session:
            account = session.get(Account, account_id)
            person = session.get(Person, account.person_id) if account else None
            return _lang(person, account) if person else DEFAULT_LANG


async def _form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form post (the desk's forms send nothing else)."""
    try:
        body = await read_body(request)
    except TooLarge:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _with(incoming: Incoming, changes: dict[str, Any]) -> Incoming:
    from dataclasses import replace

    return replace(incoming, **changes)


def _to(message: Outgoing, sender: Sender) -> bool:
    """Whether `message` is the bot's answer in this person's own private chat."""
    return message.platform == sender.platform and message.chat_id == sender.external_id


def _local(path: str) -> bool:
    """Only a path of the desk itself: a redirect never leaves the site."""
    return path.startswith("/desk") and not path.startswith("//") and "\\" not in path


def _lang(person: Person, account: Account | None) -> str:
    return person.lang or normalize_lang(account.language_code if account else None) \
        or DEFAULT_LANG


# ---------------------------------------------------------------------- the views


def home(ctx: Context) -> Mapping[str, object]:
    return {}


def pending(ctx: Context) -> Mapping[str, object]:
    branch, rows = desk_pages.pending(ctx)
    return {"branch": branch, "rows": rows}
