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
    activity_admin,
    admin,
    attendance,
    basics,
    checkin,
    desk,
    forms,
    help_requests,
    holidays,
    identity,
    ledger,
    linking,
    needs,
    notices,
    outbox,
    points,
    privacy,
    problems,
    replies,
    robots,
    signups,
    summaries,
    unread,
)
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Catalogs, Phrase, normalize_lang
from handlers.messages import ChatKind, Incoming, Outgoing
from handlers.roles import Role
from handlers.router import Command, Route, Router
from handlers.rules import Rules
from handlers.schedules import WorkCalendar
from handlers.text import clean_name
from storage import day_overrides, dialogs, orgs, people, posted, timers
from storage.db import Database, discard_pending, writes
from storage.models import Account, Chat, Dialog, Person
from storage.people import SenderInfo

log = logging.getLogger(__name__)

FEATURES = [basics.FEATURE, identity.FEATURE, checkin.FEATURE, activities.FEATURE,
            activity_admin.FEATURE, summaries.FEATURE,
            signups.FEATURE, attendance.FEATURE, notices.FEATURE, admin.FEATURE,
            privacy.FEATURE, needs.FEATURE, help_requests.FEATURE,
            problems.FEATURE, linking.FEATURE, robots.FEATURE,
            ledger.FEATURE, points.FEATURE, holidays.FEATURE, unread.FEATURE, forms.FEATURE,
            desk.FEATURE]

# Parameters whose values are codes to be shown in the reader's words: the key prefix, and
# which values are codes (None: all of them).
_CODED_PARAMS: dict[str, tuple[str, frozenset[str] | None]] = {
    "role": ("role.", frozenset(role.code for role in Role)), "field": ("field.", None)}


# What the router's "form" routes do: an answer, a word while paused, else a steering word.
_FORM_ROUTES: dict[str, Callable[[Context, str, str], None]] = {
    "answer": lambda ctx, _target, text: forms.answer(ctx, text),
    "paused": lambda ctx, _target, text: forms.paused_hint(ctx, text),
}


# How often the timer loop forgets handled updates past their retention period.
PRUNE_EVERY = dt.timedelta(hours=1)


class _Replay(Exception):
    """A feature refused after writing; its update is to be handled again, carefully."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sender_info(incoming: Incoming) -> SenderInfo:
    """The sender as stored: names come from the platform as the person typed them, and are
    cleaned first."""
    sender = incoming.sender
    return SenderInfo(sender.platform, sender.external_id, clean_name(sender.display_name),
                      clean_name(sender.username) if sender.username else None,
                      sender.language_code)


class Core:
    """Handles updates from any adapter; holds no platform knowledge."""

    def __init__(self, db: Database, catalogs: Catalogs | None = None,
                 rules: Rules | None = None,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.db = db
        self.catalogs = catalogs or Catalogs()
        self.rules = rules or Rules()
        self.clock = clock
        self.router = Router(FEATURES, self.catalogs.keywords, self.catalogs.words)
        self._pruned_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        # The platforms whose outbox rows a sender in this deployment drains (set by bot/ when
        # its senders start); None: not known, every platform is taken to have one.
        self.senders: frozenset[str] | None = None
        # Answers on these platforms are kept in the reply outbox with the update's record,
        # claimed by sender `reply_sender` (set by bot/background.py on PostgreSQL).
        self.kept_replies: frozenset[str] = frozenset()
        self.reply_sender: int | None = None

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
        try:
            return self._handle_once(incoming, careful=False)
        except _Replay:
            # A refusal came after the feature wrote: all of it was rolled back; again, with
            # a savepoint to undo only the feature's writes.
            return self._handle_once(incoming, careful=True)

    def _handle_once(self, incoming: Incoming, *, careful: bool) -> list[Outgoing]:
        acknowledged = self._typed_ack(incoming)
        if self._chatter(incoming, acknowledged):
            return []  # nothing is written, not even that the update was seen
        with self.db.session() as session:
            answers = self._in_session(session, incoming, acknowledged, careful=careful)
            return self._kept(session, [answers])[0]

    def handle_batch(self, incomings: list[Incoming]) -> list[list[Outgoing]]:
        """Act on several updates in one transaction, as if one after the other (one commit
        instead of one each); when any of them fails or must be replayed, on each alone."""
        if len(incomings) < 2:
            return [self.handle(incoming) for incoming in incomings]
        try:
            return self._batch(incomings)
        except Exception:
            # The whole transaction was rolled back: nothing of the batch was kept.
            return [self.handle(incoming) for incoming in incomings]

    def _batch(self, incomings: list[Incoming]) -> list[list[Outgoing]]:
        acknowledged = [self._typed_ack(incoming) for incoming in incomings]
        for_us = [not self._chatter(incoming, ack)
                  for incoming, ack in zip(incomings, acknowledged, strict=True)]
        answers: list[list[Outgoing]] = [[] for _ in incomings]
        keyed = [(incoming.platform, incoming.update_key, _sender_info(incoming))
                 for incoming, mine in zip(incomings, for_us, strict=True)
                 if mine and incoming.update_key]
        with self.db.session() as session:
            arrivals = people.Arrivals(session, keyed, self.clock())
            for n, incoming in enumerate(incomings):
                if for_us[n]:
                    answers[n] = self._in_session(session, incoming, acknowledged[n],
                                                  careful=False, arrivals=arrivals)
            return self._kept(session, answers)

    def _chatter(self, incoming: Incoming, acknowledged: int | None) -> bool:
        """A group message not for the bot (and no typed 收到)."""
        return incoming.chat_kind == ChatKind.GROUP and acknowledged is None \
            and not self._addressed(incoming)

    def _in_session(self, session: Session, incoming: Incoming, acknowledged: int | None,
                    *, careful: bool, arrivals: people.Arrivals | None = None,
                    ) -> list[Outgoing]:
        """Act on one update inside `session`'s transaction (its sender perhaps read ahead
        with others of the transaction in `arrivals`)."""
        now = self.clock()
        info = _sender_info(incoming)
        if incoming.update_key:
            arrived = (arrivals.take(session, info, incoming.platform, incoming.update_key,
                                     now) if arrivals
                       else people.arriving_once(session, info, incoming.platform,
                                                 incoming.update_key, now))
            if arrived is None:
                return []  # handled before
        else:
            arrived = people.arriving(session, info, now)
        ctx = self._context(session, incoming, now, arrived)
        if acknowledged is not None:
            # A typed 收到 counts like the button (silently in a group).
            notices.acknowledge_typed(ctx, acknowledged)
            return ctx.outbox
        route = self.router.route(ctx)
        if route is None:
            return []
        self._run(ctx, route, careful)
        return ctx.outbox

    def _kept(self, session: Session, answers: list[list[Outgoing]]) -> list[list[Outgoing]]:
        """The answers, those to keep written to the reply outbox in this transaction (one
        statement for all of them)."""
        if self.kept_replies:
            replies.keep(session, [out for outs in answers for out in outs],
                         self.kept_replies, self.reply_sender, self.clock())
        return answers

    def _addressed(self, incoming: Incoming) -> bool:
        """Whether a group message is for the bot, decided with reads only."""
        with self.db.reading() as session:
            return self.router.route_group(incoming, session) is not None

    def _typed_ack(self, incoming: Incoming) -> int | None:
        """The notice run a typed 收到 acknowledges (in a group: replying to it, or while it is
        open; one to one: the newest sent there), else None; decided with reads only, so a
        收到 that answers nothing leaves no trace."""
        if not notices.is_typed_ack(self.catalogs, incoming):
            return None
        with self.db.reading() as session:
            return notices.acknowledged_run(session, incoming, self.rules, self.clock())

    def run_due(self) -> list[Outgoing]:
        """Fire every timer whose moment has come, each exactly once; return what to send."""
        outbox: list[Outgoing] = []
        if self.clock() - self._pruned_at >= PRUNE_EVERY:
            self.prune()
        with self.db.session() as session:
            due = [(t.id, t.kind, t.ref) for t in timers.due(session, self.clock())]
        for timer_id, kind, ref in due:
            outbox += self._fire(timer_id, kind, ref)
        return outbox

    def prune(self) -> int:
        """Forget handled updates older than the retention period; returns how many."""
        now = self.clock()
        kept = dt.timedelta(days=self.rules.processed_retention_days)
        with self.db.session() as session:
            pruned = dialogs.prune(session, now - kept)
        self._pruned_at = now
        return pruned

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
        """Set the timers that renew themselves (the monthly summary) and move planned days to
        the calendar as it is now; run at start-up."""
        with self.db.session() as session:
            scope = self._scope(session)
            points.ensure_summary(scope)
            # The override file may have changed while the bot was down.
            holidays.replan(scope, self.calendar(session))

    def next_timer(self) -> dt.datetime | None:
        """When the next pending timer is due (for the scheduler's sleep)."""
        with self.db.session() as session:
            return timers.next_due(session)

    def outbox_claim(self, platform: str, limit: int,
                     claimed_by: int | None = None) -> list[outbox.Claimed]:
        """Notices to send now on `platform`, each with its outbox row and run."""
        with self.db.session() as session:
            return outbox.claim(self._scope(session), platform, limit, claimed_by)

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

    def outbox_release_dead(self, me: int | None) -> int:
        """Rows claimed by senders whose process is gone return to pending at once."""
        with self.db.session() as session:
            return outbox.release_of_dead_senders(self._scope(session), me)

    def outbox_release(self, older_than: dt.timedelta) -> int:
        """Rows claimed by a sender that is gone return to pending."""
        with self.db.session() as session:
            return outbox.release_stale(self._scope(session), older_than)

    def replies_claim(self, platform: str, limit: int,
                      claimed_by: int | None) -> list[Outgoing]:
        """Kept answers on `platform` waiting for a sender (their own is gone, or they wait
        for another try), oldest first."""
        with self.db.session() as session:
            return replies.claim(session, platform, self.clock(), limit, claimed_by)

    def replies_settle(self, done: list[int], retry: list[tuple[int, float]]) -> None:
        """Kept answers sent (or refused for good) are forgotten; the others are tried again
        after their pause in seconds."""
        with self.db.session() as session:
            replies.settle(session, done, retry, self.clock())

    def replies_release_dead(self, me: int | None) -> int:
        """Kept answers claimed by senders whose process is gone go back to the outbox."""
        with self.db.session() as session:
            return replies.release_of_dead_senders(session, me)

    def _scope(self, session: Session) -> Scope:
        return Scope(session, self.catalogs, self.rules, self.clock(), self)

    @cached_property
    def file_calendar(self) -> WorkCalendar:
        """Working days: official calendar or estimate, and the override file (read once)."""
        path = Path(self.rules.holidays_file) if self.rules.holidays_file else None
        return WorkCalendar(path)

    def calendar(self, session: Session) -> WorkCalendar:
        """Working days for notice rules, with the days set in chat on top (one query)."""
        return self.file_calendar.with_overrides(*day_overrides.overrides(session))

    def record_posted(self, ref: str, platform: str, chat_id: str, message_id: str) -> None:
        """An adapter reports the message id a card got, so it can be edited later."""
        with self.db.session() as session:
            posted.record(session, ref, platform, chat_id, message_id)

    def form_takes_numbers(self, platform: str, external_id: str) -> bool:
        """Whether a number this account types answers its open form rather than pressing a
        button of the newest message (WeChat's numbered replies)."""
        with self.db.session() as session:
            account = people.find_account(session, platform, external_id)
            dialog = dialogs.current(session, account.person_id) if account else None
            return (dialog is not None and dialog.name in self.router.forms
                    and not forms.is_paused(dialog))

    def commands_for(self, role: Role) -> list[Command]:
        """The commands a person with `role` may use, in menu order."""
        return [c for c in self.router.commands.values() if c.in_menu and c.role <= role]

    def _context(self, session: Session, incoming: Incoming, now: dt.datetime,
                 arrived: tuple[Account, Person, Dialog | None]) -> Context:
        account, person, dialog = arrived
        if incoming.chat_kind == ChatKind.GROUP:
            title = clean_name(incoming.chat_title) if incoming.chat_title else None
            chat = orgs.ensure_chat(session, incoming.platform, incoming.chat_id,
                                    incoming.chat_kind.value, title)
        else:
            # Private chats are never bound to a branch: no row is needed for them.
            chat = Chat(platform=incoming.platform, external_id=incoming.chat_id,
                        kind=incoming.chat_kind.value)
        return Context(session, self.catalogs, self.rules, now, self, incoming=incoming,
                       account=account, person=person, chat=chat, open_form=dialog)

    def _run(self, ctx: Context, route: Route, careful: bool) -> None:
        if route.kind == "dead_form":
            # A form whose step the code no longer has: cleared for good, outside the
            # savepoint a refusal would roll back.
            dialogs.finish(ctx.session, ctx.person.id)
            ctx.reply_private("form.gone")
            return
        before = forms.snapshot(ctx) if route.interrupts else None
        sent_before = len(ctx.outbox)
        try:
            if careful:
                with ctx.session.begin_nested():
                    self._dispatch(ctx, route)
            else:
                self._dispatch_optimistically(ctx, route)
        except DomainError as error:
            # The feature's writes are undone; drop what it meant to say as well.
            del ctx.outbox[sent_before:]
            self._refuse(ctx, error)
        if route.interrupts:
            forms.interrupt(ctx, before)

    def _dispatch_optimistically(self, ctx: Context, route: Route) -> None:
        """Dispatch without a savepoint (two statements and much of a scan's time): most
        updates refuse before writing, or do not refuse. A refusal after a write replays."""
        ctx.session.flush()  # what came before the feature stays, whatever it decides
        before = writes(ctx.session)
        try:
            self._dispatch(ctx, route)
        except DomainError:
            if writes(ctx.session) != before:
                raise _Replay from None
            discard_pending(ctx.session)
            raise

    def _dispatch(self, ctx: Context, route: Route) -> None:
        if len(route.args) > 4 * self.rules.max_text_length:
            raise DomainError("too_long", limit=self.rules.max_text_length)
        if route.kind == "button":
            on, payload = self.router.button(route.target)
            on.handler(ctx, payload)
        elif route.kind == "command":
            self._command(ctx, route.target, route.args)
        elif route.kind == "form":
            _FORM_ROUTES.get(route.target, forms.control)(ctx, route.target, route.args)
        else:
            self._not_understood(route.args or route.target)

    def _not_understood(self, text: str) -> None:
        keyword = self.router.nearest_keyword(text)
        if keyword is None:
            raise DomainError("unknown_text")
        raise DomainError("unknown_text_suggest", keyword=keyword)

    def _command(self, ctx: Context, name: str, args: str) -> None:
        if name == "start" and args:
            on, payload = self.router.start_payload(args)
            on.handler(ctx, payload)
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
        """A coded value in the reader's words; a word the person typed (the unknown role of
        "不认识「国王」这个身份") as it is."""
        prefix, codes = _CODED_PARAMS.get(key, (None, None))
        if prefix is None or (codes is not None and value not in codes):
            return value
        return Phrase(f"{prefix}{value}")
