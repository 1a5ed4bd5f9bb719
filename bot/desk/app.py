"""The web desk's endpoints: signing in, pages, and actions that press the chat's own buttons.

A page is read inside one database session, with the Context a private message of the person
would have, so the role checks are the chat's (handlers/desk_pages.py). An action is run as a
private update from the person's own account through `Core.handle`: what the bot would answer
them privately is shown on the page (its buttons as buttons, a file as a download), and
everything else (the applicant told, a group card edited) is delivered as the chat would.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.bodies import TooLarge
from bot.desk import help_pages, items, notices, privacy_pages, views
from bot.desk.forms import read_form, read_upload
from bot.desk.notice import NoticePage
from bot.desk.platforms import platform_routes
from bot.desk.render import Pages
from bot.qrpage import page_language
from bot.settings import Settings
from handlers import desk, desk_pages, forms, ledger, needs_import, personal, privacy
from handlers.context import Context
from handlers.core import Core
from handlers.errors import DomainError
from handlers.i18n import DEFAULT_LANG, normalize_lang
from handlers.messages import ChatKind, Document, Incoming, Outgoing, Sender
from storage import dialogs, people
from storage.models import Account, Chat, Person
from storage.people import SenderInfo

log = logging.getLogger(__name__)
Deliver = Callable[[list[Outgoing]], Awaitable[None]]
Endpoint = Callable[[Request], Awaitable[Response]]

COOKIE = "jinlin_desk"
FLASH = "jinlin_flash"
MAX_FLASH = 3000
# A page's form never has more steps than this (and a step is answered once).
MAX_FORM_STEPS = 20
# How often the live screen looks for new sign-ins, and how long one stream lasts before the
# browser reconnects (EventSource does so by itself).
LIVE_POLL_SECONDS = 0.5
LIVE_STREAM_SECONDS = 300
# Pages show names and addresses: keep them out of caches, Referer headers and search engines.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex", "X-Frame-Options": "SAMEORIGIN"}
STATUS = {"desk_link_expired": 410, "desk_link_used": 410, "desk_file_expired": 410,
          "desk_not_found": 404, "import_too_big": 413}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Visitor:
    """A signed-in person: their account and the cookie that says so."""

    account_id: int
    cookie: str


@dataclass(frozen=True)
class Said:
    """The bot's answers to the person for one action, and what goes to others."""

    mine: list[Outgoing]
    others: list[Outgoing]


class Desk:
    """The desk's routes; `deliver` sends what an action says to others (set by the service
    once its senders run); `extra` are sign-in routes of the platforms (Mini App, OAuth)."""

    def __init__(self, core: Core, settings: Settings | None = None,
                 deliver: Deliver | None = None) -> None:
        self.core = core
        self.deliver = deliver
        self.pages = Pages(core.catalogs)
        self.secure = core.rules.public_url.startswith("https://")
        # Whether the live screen also shows a URL QR code for WeChat (OAuth configured).
        self.wechat = False
        self.extra = platform_routes(self, settings)

    @property
    def secret(self) -> bytes:
        return self.core.rules.secret

    def routes(self) -> list[Route]:
        page, secretary = self.page_of, self.secretary_page
        return [Route(desk.LOGIN_PATH, self.login, methods=["GET"]),
                Route("/desk", page(views.home), methods=["GET"]),
                Route("/desk/activities", page(views.activities), methods=["GET"]),
                Route("/desk/items", page(items.items), methods=["GET"]),
                Route("/desk/profile", page(views.profile), methods=["GET"]),
                Route("/desk/help", page(help_pages.requests, "help.html"), methods=["GET"]),
                Route("/desk/points", page(help_pages.points), methods=["GET"]),
                Route("/desk/rank", page(help_pages.rank), methods=["GET"]),
                Route("/desk/privacy", page(privacy_pages.mine), methods=["GET"]),
                Route("/desk/forget", page(privacy_pages.forget), methods=["GET"]),
                Route("/desk/forget", self.forget, methods=["POST"]),
                Route("/desk/reports", secretary(help_pages.reports), methods=["GET"]),
                Route("/desk/pending", secretary(views.pending), methods=["GET"]),
                Route("/desk/roster", secretary(views.roster), methods=["GET"]),
                Route("/desk/manage", secretary(views.manage), methods=["GET"]),
                Route("/desk/activity/{activity_id:int}", secretary(views.activity),
                      methods=["GET"]),
                Route("/desk/live/{activity_id:int}", secretary(views.live), methods=["GET"]),
                Route("/desk/live/{activity_id:int}/events", self.live_events,
                      methods=["GET"]),
                Route("/desk/month", secretary(views.month), methods=["GET"]),
                Route("/desk/notices", secretary(notices.notices), methods=["GET"]),
                Route("/desk/notices/{run_id:int}", secretary(notices.sending),
                      methods=["GET"]),
                Route(desk.FILE_PATH, self.file, methods=["GET"]),
                Route("/desk/ledger", self.ledger, methods=["GET"]),
                Route(desk.UPLOAD_PATH, secretary(views.items_import), methods=["GET"]),
                Route(desk.UPLOAD_PATH, self.upload, methods=["POST"]),
                Route("/desk/act", self.act, methods=["POST"]),
                Route("/desk/say", self.say, methods=["POST"]),
                Route("/desk/fill", self.fill, methods=["POST"]),
                *NoticePage(self).routes(), *self.extra]

    # ------------------------------------------------------------------ signing in

    async def login(self, request: Request) -> Response:
        """The one-time link: a session cookie, then the home page."""
        token = request.query_params.get("t", "")
        result = await asyncio.to_thread(self._use_link, token)
        if isinstance(result, DomainError):
            owner = await asyncio.to_thread(self._owner_lang, token)
            return self.refusal(owner or page_language(request), result)
        return self.signed_in(result, request.query_params.get("to", "/desk"))

    def signed_in(self, account_id: int, to: str) -> Response:
        """A redirect to `to` that sets a fresh session cookie for `account_id`."""
        response = RedirectResponse(to if _local(to) else "/desk", status_code=303,
                                    headers=PRIVATE)
        cookie = desk.session_token(self.secret, account_id, self.core.clock())
        response.set_cookie(COOKIE, cookie, max_age=desk.SESSION_HOURS * 3600, path="/",
                            httponly=True, secure=self.secure, samesite="lax")
        return response

    def account_for(self, sender: SenderInfo) -> int:
        """The account of a platform identity (a Mini App user, a WeChat openid), made on
        first sight as a message from it would make it."""
        with self.core.db.session() as session:
            account, _ = people.ensure_account(session, sender, self.core.clock())
            return account.id

    def _use_link(self, token: str) -> int | DomainError:
        now = self.core.clock()
        try:
            signed = desk.check_login(self.secret, token, now)
        except DomainError as error:
            return error
        except ValueError:
            return DomainError("desk_forged")
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
        return self._lang_of(signed.account_id)

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

    def page_of(self, view: views.View, template: str | None = None) -> Endpoint:
        """An endpoint showing `view`'s values in `template` (the view's name by default)."""
        name = template or f"{view.__name__}.html"

        async def endpoint(request: Request) -> Response:
            return await self.show(request, view, name)

        return endpoint

    def secretary_page(self, view: views.View) -> Endpoint:
        return self.page_of(views.secretary_only(view), f"{view.__name__}.html")

    async def show(self, request: Request, view: views.View, template: str,
                   extra: Mapping[str, object] | None = None) -> Response:
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        html, status = await asyncio.to_thread(self._render, found, request, view, template,
                                               extra or {})
        response = HTMLResponse(html, status_code=status, headers=PRIVATE)
        if request.cookies.get(FLASH):
            response.delete_cookie(FLASH, path="/")
        return response

    def _render(self, visitor: Visitor, request: Request, view: views.View, template: str,
                extra: Mapping[str, object]) -> tuple[str, int]:
        with self.core.db.session() as session:
            ctx = self._context(session, visitor.account_id)
            if ctx is None:
                return self._refusal_html(page_language(request),
                                          DomainError("desk_signed_out"))
            lang = ctx.t.lang
            try:
                values = dict(view(ctx, request.query_params, request.path_params))
            except DomainError as error:
                return self._refusal_html(lang, error)
            flash = [line for line in unquote(request.cookies.get(FLASH, "")).split("\n")
                     if line]
            values |= {"me": desk_pages.overview(ctx), "flash": flash, "wechat": self.wechat,
                       "csrf": desk.csrf_token(self.secret, visitor.cookie),
                       "here": _here(request), **extra}
            return self.pages.render(lang, template, values), 200

    def _context(self, session: Session, account_id: int) -> Context | None:
        """The Context a private message from this account would have, or None if it is gone."""
        account = session.get(Account, account_id)
        person = session.get(Person, account.person_id) if account else None
        if account is None or person is None or person.erased_at is not None:
            return None
        sender = _sender(account)
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

    # ------------------------------------------------------------------ the live screen

    async def live_events(self, request: Request) -> Response:
        """Server-sent events: the count and the newest names each time they change."""
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        activity_id = int(request.path_params["activity_id"])
        first = await asyncio.to_thread(self._live, found.account_id, activity_id)
        if isinstance(first, DomainError):
            return self.refusal(await asyncio.to_thread(self._lang_of, found.account_id), first)
        return StreamingResponse(self._stream(request, found.account_id, activity_id),
                                 media_type="text/event-stream",
                                 headers={**PRIVATE, "X-Accel-Buffering": "no"})

    async def _stream(self, request: Request, account_id: int,
                      activity_id: int) -> AsyncIterator[str]:
        last: desk_pages.Live | None = None
        loop = asyncio.get_running_loop()
        ends = loop.time() + LIVE_STREAM_SECONDS
        while loop.time() < ends and not await request.is_disconnected():
            now = await asyncio.to_thread(self._live, account_id, activity_id)
            if isinstance(now, DomainError):
                return
            if now != last:
                last = now
                yield f"data: {json.dumps({'count': now.count, 'names': now.names})}\n\n"
            await asyncio.sleep(LIVE_POLL_SECONDS)

    def _live(self, account_id: int, activity_id: int) -> desk_pages.Live | DomainError:
        with self.core.db.reading() as session:
            ctx = self._context(session, account_id)
            if ctx is None:
                return DomainError("desk_signed_out")
            try:
                return desk_pages.live(ctx, activity_id)
            except DomainError as error:
                return error

    # ------------------------------------------------------------------ actions

    async def act(self, request: Request) -> Response:
        """A button on a page: run as the person's own tap; back to the page it was on, with
        the bot's answer shown there."""
        checked = await self._checked_form(request)
        if isinstance(checked, Response):
            return checked
        visitor, given = checked
        said = await self.run(visitor.account_id, given)
        return self.back_with(given.get("back", "/desk"), said)

    async def say(self, request: Request) -> Response:
        """The chat as a page: a command, a button or an answer, and the bot's answers with
        their buttons (a form's steps, 隐私, 积分 …); a file it sends is downloaded."""
        checked = await self._checked_form(request)
        if isinstance(checked, Response):
            return checked
        visitor, given = checked
        return await self.show_said(request, await self.run(visitor.account_id, given))

    async def forget(self, request: Request) -> Response:
        """The answer to 删除我的数据 on its page, pressed as the chat's own button (its
        checks, its erasure). Kept: back to 我的数据 with the chat's answer. Erased: the
        chat's answer and what erasing did to each kind the person had (as the registry
        declares it: deleted, emptied, kept as a count); the session ends."""
        checked = await self._checked_form(request)
        if isinstance(checked, Response):
            return checked
        visitor, given = checked
        before = await asyncio.to_thread(self._stored, visitor.account_id)
        if before is None:
            return self.refusal(page_language(request), DomainError("desk_signed_out"))
        lang, kinds = before
        said = await self.run(visitor.account_id, {"data": given.get("data", "")})
        if await asyncio.to_thread(self._stored, visitor.account_id) is not None:
            return self.back_with("/desk/privacy", said)
        done = {mode.value: [kind.kind for kind in kinds if kind.erase == mode]
                for mode in personal.Erase}
        html = self.pages.render(lang, "forgotten.html",
                                 {"said": [m.text for m in said.mine], "done": done})
        response = HTMLResponse(html, headers=PRIVATE)
        response.delete_cookie(COOKIE, path="/")
        return response

    def _stored(self, account_id: int) -> tuple[str, list[privacy.Stored]] | None:
        """The person's language and the kinds of data stored about them; None once erased."""
        with self.core.db.reading() as session:
            ctx = self._context(session, account_id)
            return (ctx.t.lang, privacy.stored(ctx)) if ctx is not None else None

    async def fill(self, request: Request) -> Response:
        """A chat form filled on a page: its command (`start` and `args`) is sent, then each
        step the form asks is answered from the page's fields (`f.<step>`) as the person would
        answer in chat. Done: back to the page (`back`) with the bot's last answer; a step the
        chat refused: its answer and question as a page, to go on from there."""
        checked = await self._checked_form(request)
        if isinstance(checked, Response):
            return checked
        visitor, given = checked
        said, finished = await asyncio.to_thread(self._fill, visitor.account_id, given)
        await self.send(said.others)
        if not finished:
            return await self.show_said(request, said)
        return self.back_with(given.get("back", "/desk"), said)

    def _fill(self, account_id: int, given: Mapping[str, str]) -> tuple[Said, bool]:
        name, start = given.get("form", ""), given.get("start", "")
        fields = {key[2:]: value for key, value in given.items() if key.startswith("f.")}
        said = self._run(account_id, {"text": f"{start} {given.get('args', '')}"})
        answered: set[str] = set()
        for _ in range(MAX_FORM_STEPS):
            step = self._page_input(account_id, name, fields, answered)
            if step is None:
                break
            answered.add(step.step)
            more = self._run(account_id, {"text": step.text, "data": step.data})
            said = Said(more.mine, said.others + more.others)
        return said, not self._form_open(account_id, name)

    def _page_input(self, account_id: int, name: str, fields: dict[str, str],
                    answered: set[str]) -> forms.PageInput | None:
        with self.core.db.reading() as session:
            ctx = self._context(session, account_id)
            return forms.page_input(ctx, name, fields, answered) if ctx else None

    def _form_open(self, account_id: int, name: str) -> bool:
        with self.core.db.reading() as session:
            ctx = self._context(session, account_id)
            return ctx is not None and forms.current(ctx, name) is not None

    def back_with(self, back: str, said: Said) -> Response:
        """A redirect to the page `back` that shows the bot's answers there."""
        response = RedirectResponse(back if _local(back) else "/desk", status_code=303,
                                    headers=PRIVATE)
        shown = "\n".join(m.text for m in said.mine)[:MAX_FLASH]
        response.set_cookie(FLASH, quote(shown), max_age=60, path="/", httponly=True,
                            secure=self.secure, samesite="lax")
        return response

    async def show_said(self, request: Request, said: Said) -> Response:
        """The bot's answers as a page (with their buttons), or the file it sent."""
        for message in said.mine:
            if message.document is not None:
                return _download(message.document)
        return await self.show(request, views.home, "say.html", {"said": said.mine})

    # ------------------------------------------------------------------ files

    async def file(self, request: Request) -> Response:
        """A download link the chat gave (the ledger on WeChat): the file, made now for the
        account the link was signed for, with the chat's role check; no sign-in needed."""
        token = request.query_params.get("t", "")
        try:
            account_id, what = desk.check_file(self.secret, token, self.core.clock())
        except DomainError as error:
            owner = desk.file_owner(self.secret, token)
            lang = await asyncio.to_thread(self._lang_of, owner) if owner else None
            return self.refusal(lang or page_language(request), error)
        return await self.made(account_id, lambda ctx: ledger.download(ctx, what))

    async def ledger(self, request: Request) -> Response:
        """The month page's download: the ledger of the month asked for (`m=YYYY-MM`)."""
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        given = request.query_params.get("m", "")

        def month(ctx: Context) -> Document:
            branch = desk_pages.secretary_branch(ctx)
            return ledger.month_file(ctx, branch, *views.month_of(ctx, given))

        return await self.made(found.account_id, month)

    async def made(self, account_id: int, make: Callable[[Context], Document]) -> Response:
        """The file `make` makes as the account (read only), or the page saying why not."""
        made = await asyncio.to_thread(self._made, account_id, make)
        if isinstance(made, Document):
            return _download(made)
        return self.refusal(*made)

    def _made(self, account_id: int, make: Callable[[Context], Document],
              ) -> Document | tuple[str, DomainError]:
        with self.core.db.reading() as session:
            ctx = self._context(session, account_id)
            if ctx is None:
                return DEFAULT_LANG, DomainError("desk_signed_out")
            try:
                return make(ctx)
            except DomainError as error:
                return ctx.t.lang, error

    async def upload(self, request: Request) -> Response:
        """The needs list uploaded from the page: sent as the chat's `/importitems` with the
        file attached, so the import's rules (all or nothing, the lines named) are the chat's;
        the bot's answers are shown on the page."""
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        try:
            given, upload = await read_upload(request)
        except TooLarge:
            lang = await asyncio.to_thread(self._lang_of, found.account_id)
            return self.refusal(lang, DomainError(
                "import_too_big", limit=needs_import.MAX_FILE_BYTES // 1000))
        except HTTPException:
            given, upload = {}, None
        if not desk.csrf_valid(self.secret, found.cookie, given.get("csrf", "")):
            lang = await asyncio.to_thread(self._lang_of, found.account_id)
            return self.refusal(lang, DomainError("desk_csrf"))
        if upload is None:
            lang = await asyncio.to_thread(self._lang_of, found.account_id)
            return self.refusal(lang, DomainError("desk_no_file"))
        said = await self.run(found.account_id, {"text": "/importitems"}, Document(*upload))
        return await self.show(request, views.items_import, "items_import.html",
                               {"said": said.mine})

    async def _checked_form(self, request: Request) -> tuple[Visitor, dict[str, str]] | Response:
        """The signed-in visitor and the fields of a form carrying its CSRF token."""
        found = self.visitor(request)
        if isinstance(found, DomainError):
            return self.refusal(page_language(request), found)
        given = await read_form(request)
        if not desk.csrf_valid(self.secret, found.cookie, given.get("csrf", "")):
            lang = await asyncio.to_thread(self._lang_of, found.account_id)
            return self.refusal(lang, DomainError("desk_csrf"))
        return found, given

    async def run(self, account_id: int, given: Mapping[str, str],
                  document: Document | None = None) -> Said:
        """Press `data` and/or say `text` (with `document` attached) as the account; deliver
        what is for others."""
        said = await asyncio.to_thread(self._run, account_id, given, document)
        await self.send(said.others)
        return said

    async def send(self, messages: list[Outgoing]) -> None:
        if not messages:
            return
        if self.deliver is None:
            log.warning("the desk has no sender for %d messages", len(messages))
            return
        await self.deliver(messages)

    def _run(self, account_id: int, given: Mapping[str, str],
             document: Document | None = None) -> Said:
        with self.core.db.reading() as session:
            account = session.get(Account, account_id)
            if account is None:
                return Said([], [])
            sender = _sender(account)
        incoming = Incoming(sender.platform, sender.external_id, ChatKind.PRIVATE, sender)
        steps: list[dict[str, Any]] = []
        if given.get("data"):
            steps.append({"button_data": given["data"]})
        if given.get("text", "").strip():
            steps.append({"text": given["text"].strip(), "document": document})
        said = Said([], [])
        for step in steps:
            out = self.core.handle(replace(incoming, **step))
            said = Said([m for m in out if _to(m, sender)],
                        said.others + [m for m in out if not _to(m, sender)])
        return said

    def _lang_of(self, account_id: int) -> str:
        with self.core.db.reading() as session:
            account = session.get(Account, account_id)
            person = session.get(Person, account.person_id) if account else None
            return _lang(person, account) if person else DEFAULT_LANG


def _download(document: Document) -> Response:
    name = quote(document.file_name)
    return Response(document.data, media_type=XLSX, headers={
        **PRIVATE, "Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


def _sender(account: Account) -> Sender:
    return Sender(account.platform, account.external_id, account.display_name,
                  account.username, account.language_code)


def _to(message: Outgoing, sender: Sender) -> bool:
    """Whether `message` is the bot's answer in this person's own private chat."""
    return message.platform == sender.platform and message.chat_id == sender.external_id


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _local(path: str) -> bool:
    """Only a path of the desk itself: a redirect never leaves the site."""
    return path.startswith("/desk") and not path.startswith("//") and "\\" not in path


def _lang(person: Person, account: Account | None) -> str:
    return person.lang or normalize_lang(account.language_code if account else None) \
        or DEFAULT_LANG



