"""The core: one update in, a list of messages out, inside one database transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import Session

from handlers import (
    activities,
    admin,
    attendance,
    basics,
    checkin,
    help,
    identity,
    ledger,
    linking,
    needs,
    notices,
    outbox,
    points,
    privacy,
    problems,
    robots,
    signups,
)
from handlers.context import Context, Rules, Scope
from handlers.errors import DomainError
from handlers.i18n import Catalogs, L, normalize_lang
from handlers.messages import ChatKind, Incoming, Outgoing
from handlers.roles import Role
from handlers.router import Command, Route, Router
from handlers.schedules import WorkCalendar
from storage import dialogs, orgs, people, timers
from storage.db import Database
from storage.models import Chat
from storage.people import SenderInfo

log = logging.getLogger(__name__)

FEATURES = [basics.FEATURE, identity.FEATURE, checkin.FEATURE, activities.FEATURE,
            signups.FEATURE, attendance.FEATURE, notices.FEATURE, admin.FEATURE,
            privacy.FEATURE, needs.FEATURE, help.FEATURE,
            problems.FEATURE, linking.FEATURE, robots.FEATURE,
            ledger.FEATURE, points.FEATURE]

# Parameters whose values are codes to be shown in the reader's words.
_CODED_PARAMS = {"role": "role.", "field": "field."}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Core:
    """Handles updates from any adapter; holds no platform knowledge."""

    def __init__(self, db: Database, catalogs: Catalogs | None = None,
                 rules: Rules | None = None,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.db = db
        self.catalogs = catalogs or Catalogs()
        self.rules = rules or Rules()
        self.clock = clock
        self.router = Router(FEATURES, self.catalogs.keywords)

    def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Act on one update and return what to send; a redelivered update returns nothing."""
        try:
            return self._handle(incoming)
        except Exception:
            # Everything was rolled back; say so rather than leave the person waiting.
            log.exception("update from %s in %s failed", incoming.platform, incoming.chat_id)
            lang = normalize_lang(incoming.sender.language_code)
            return [Outgoing(incoming.platform, incoming.chat_id,
                             self.catalogs.get(lang)("error.internal"),
                             toast=incoming.button_data is not None)]

    def _handle(self, incoming: Incoming) -> list[Outgoing]:
        with self.db.session() as session:
            now = self.clock()
            if incoming.update_key and not dialogs.first_time(
                    session, incoming.platform, incoming.update_key, now):
                return []
            ctx = self._context(session, incoming, now)
            route = self.router.route(ctx)
            if route is None:
                return []
            self._run(ctx, route)
            return ctx.outbox

    def run_due(self) -> list[Outgoing]:
        """Fire every timer whose moment has come, each exactly once; return what to send."""
        outbox: list[Outgoing] = []
        with self.db.session() as session:
            due = [(t.id, t.kind, t.ref) for t in timers.due(session, self.clock())]
        for timer_id, kind, ref in due:
            outbox += self._fire(timer_id, kind, ref)
        return outbox

    def _fire(self, timer_id: int, kind: str, ref: str) -> list[Outgoing]:
        try:
            with self.db.session() as session:
                scope = self._scope(session)
                if timers.claim(session, timer_id, scope.now):
                    self.router.timers[kind](scope, ref)
                return scope.outbox
        except Exception:
            # The claim was rolled back with the rest: the timer stays pending, and is retried.
            log.exception("timer %s %s failed", kind, ref)
            return []

    def ensure_recurring(self) -> None:
        """Set the timers that renew themselves (the monthly summary); run at start-up."""
        with self.db.session() as session:
            points.ensure_summary(self._scope(session))

    def next_timer(self) -> dt.datetime | None:
        """When the next pending timer is due (for the scheduler's sleep)."""
        with self.db.session() as session:
            return timers.next_due(session)

    def outbox_claim(self, platform: str, limit: int) -> list[outbox.Claimed]:
        """Notices to send now on `platform`, each with its outbox row and run."""
        with self.db.session() as session:
            return outbox.claim(self._scope(session), platform, limit)

    def outbox_report(self, *results: outbox.Result) -> list[Outgoing]:
        """Record sends' outcomes in one transaction; returns the secretary's summary (and
        the last progress edit) of each run they finish."""
        with self.db.session() as session:
            scope = self._scope(session)
            outbox.report(scope, *results)
            return scope.outbox

    def outbox_progress(self, run_ids: list[int]) -> list[Outgoing]:
        """Edits of the progress messages ("已发送 350/1400") of these runs."""
        with self.db.session() as session:
            scope = self._scope(session)
            outbox.progress_edits(scope, run_ids)
            return scope.outbox

    def outbox_release(self, older_than: dt.timedelta) -> int:
        """Rows claimed by a sender that is gone return to pending."""
        with self.db.session() as session:
            return outbox.release_stale(self._scope(session), older_than)

    def _scope(self, session: Session) -> Scope:
        return Scope(session, self.catalogs, self.rules, self.clock(), self)

    @cached_property
    def calendar(self) -> WorkCalendar:
        """Working days for notice rules: official calendar, fallback, local overrides."""
        path = Path(self.rules.holidays_file) if self.rules.holidays_file else None
        return WorkCalendar(path)

    def record_posted(self, ref: str, platform: str, chat_id: str, message_id: str) -> None:
        """An adapter reports the message id a card got, so it can be edited later."""
        with self.db.session() as session:
            timers.record_posted(session, ref, platform, chat_id, message_id)

    def commands_for(self, role: Role) -> list[Command]:
        """The commands a person with `role` may use, in menu order."""
        return [c for c in self.router.commands.values() if c.in_menu and c.role <= role]

    def _context(self, session: Session, incoming: Incoming, now: dt.datetime) -> Context:
        sender = incoming.sender
        account, person = people.ensure_account(session, SenderInfo(
            sender.platform, sender.external_id, sender.display_name, sender.username,
            sender.language_code), now)
        if incoming.chat_kind == ChatKind.GROUP:
            chat = orgs.ensure_chat(session, incoming.platform, incoming.chat_id,
                                    incoming.chat_kind.value, incoming.chat_title)
        else:
            # Private chats are never bound to a branch: no row is needed for them.
            chat = Chat(platform=incoming.platform, external_id=incoming.chat_id,
                        kind=incoming.chat_kind.value)
        return Context(session, self.catalogs, self.rules, now, self, incoming=incoming,
                       account=account, person=person, chat=chat)

    def _run(self, ctx: Context, route: Route) -> None:
        sent_before = len(ctx.outbox)
        try:
            with ctx.session.begin_nested():
                self._dispatch(ctx, route)
        except DomainError as error:
            # The savepoint undid the feature's writes; drop what it meant to say as well.
            del ctx.outbox[sent_before:]
            self._refuse(ctx, error)

    def _dispatch(self, ctx: Context, route: Route) -> None:
        if len(route.args) > 4 * self.rules.max_text_length:
            raise DomainError("too_long", limit=self.rules.max_text_length)
        if route.kind == "button":
            action, *args = route.target.split(":")
            handler = self.router.buttons.get(action)
            if handler is None:
                raise DomainError("button_expired")
            handler(ctx, args)
        elif route.kind == "command":
            self._command(ctx, route.target, route.args)
        elif route.kind == "dialog":
            step = self.router.dialogs.get(route.target)
            if step is None:
                dialogs.finish(ctx.session, ctx.person.id)
                raise DomainError("unknown_text")
            step(ctx, route.args)
        else:
            raise DomainError("unknown_text")

    def _command(self, ctx: Context, name: str, args: str) -> None:
        if name == "start" and args:
            prefix = args.split("_", 1)[0]
            payload_handler = self.router.start_payloads.get(prefix)
            if payload_handler is None:
                raise DomainError("bad_start_payload")
            payload_handler(ctx, args)
            return
        command = self.router.commands.get(name)
        if command is None:
            raise DomainError("unknown_command", command=name[:30])
        command.handler(ctx, args)

    def _refuse(self, ctx: Context, error: DomainError) -> None:
        params = {key: self._shown(key, value) for key, value in error.params.items()}
        key = f"error.{error.code}"
        if ctx.incoming.button_data is not None:
            ctx.toast(key, **params)
        else:
            ctx.reply(key, **params)

    @staticmethod
    def _shown(key: str, value: object) -> object:
        prefix = _CODED_PARAMS.get(key)
        return L(f"{prefix}{value}") if prefix else value
