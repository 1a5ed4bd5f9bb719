"""The Telegram adapter: Telegram updates to `Incoming`, `Outgoing` to Bot API calls."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    Update,
    User,
    WebAppInfo,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url

from bot import qr
from bot.delivery import Registry
from bot.ordering import ChatLocks
from bot.ratelimit import retry_seconds
from bot.settings import Settings
from bot.telegram_http import AiohttpRequest
from handlers.core import Core
from handlers.i18n import DEFAULT_LANG
from handlers.messages import Button, ChatKind, Document, Incoming, Outgoing, Sender
from handlers.roles import Role

log = logging.getLogger(__name__)
Part = TypeVar("Part")

PLATFORM = "telegram"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
MAX_CONCURRENT_UPDATES = 64
SQLITE_CORE_THREADS = 1
# Updates handled in one transaction at most (see TelegramAdapter._handle).
MAX_BATCH = 16
# A kept answer the network did not deliver is tried again after this pause.
KEPT_RETRY_SECONDS = 2.0
# Two, not four: each thread waits for the interpreter lock after every round trip, and with
# four a scan's transaction took 15-21 ms in a 500-scan burst against 8-10 ms with two, at the
# same or better throughput (bench.checkin_burst, issue 12).
POSTGRES_CORE_THREADS = 2
# Menu languages: (Telegram language_code, our catalog); "" is the default menu.
MENU_LANGUAGES = (("", DEFAULT_LANG), ("en", "en"))
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# What may separate a leading "@ourbot" from the rest: "@bot 签到", "@bot，签到".
_AFTER_MENTION = " \t\n:：,，"


class ConfigError(RuntimeError):
    """A setting the Telegram adapter needs is missing or malformed."""


# ---------------------------------------------------------------- Telegram -> Incoming


def to_incoming(update: Update, bot_username: str,
                document: Document | None = None) -> Incoming | None:
    """Translate a message, a file (already downloaded) or a button press; None when it is
    not for this bot."""
    if update.callback_query is not None:
        return _from_callback(update, update.callback_query)
    message = update.message
    written = message.text if message else None
    if document is not None and message is not None:
        written = message.caption or ""
    if message is None or written is None or message.from_user is None:
        return None
    text = _command_for_us(written, bot_username)
    if text is None:
        return None
    text, leading = _strip_leading_mention(text, bot_username)
    mentions = _mentions(message)
    reply_author = _reply_author(message)
    return Incoming(
        platform=PLATFORM, chat_id=str(message.chat.id), chat_kind=_chat_kind(message.chat),
        sender=_sender(message.from_user), text=text, message_id=str(message.message_id),
        update_key=str(update.update_id),
        mentioned=leading or bot_username.lower() in {m.lower() for m in mentions},
        reply_to_bot=_is_us(reply_author, bot_username),
        reply_to=_sender(reply_author) if reply_author else None,
        reply_to_message_id=str(message.reply_to_message.message_id)
        if reply_author and message.reply_to_message else None,
        mentions=tuple(m for m in mentions if m.lower() != bot_username.lower()),
        chat_title=message.chat.title, document=document)


def _from_callback(update: Update, query: CallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or query.data is None:
        return None  # an inline-mode message or a game button: not ours
    return Incoming(
        platform=PLATFORM, chat_id=str(message.chat.id), chat_kind=_chat_kind(message.chat),
        sender=_sender(query.from_user), button_data=query.data,
        message_id=str(message.message_id), update_key=str(update.update_id),
        chat_title=message.chat.title)


def _sender(user: User) -> Sender:
    return Sender(PLATFORM, str(user.id), user.full_name, user.username, user.language_code)


def _chat_kind(chat: Chat) -> ChatKind:
    return ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP


def _command_for_us(text: str, bot_username: str) -> str | None:
    """`/cmd@ourbot args` -> `/cmd args`; None for a command addressed to another bot."""
    if not text.startswith("/"):
        return text
    head, sep, rest = text.partition(" ")
    name, at, target = head.partition("@")
    if not at:
        return text
    if target.lower() != bot_username.lower():
        return None
    return name + sep + rest


def _strip_leading_mention(text: str, bot_username: str) -> tuple[str, bool]:
    handle = "@" + bot_username.lower()
    if not text.lower().startswith(handle):
        return text, False
    rest = text[len(handle):]
    if rest and rest[0] not in _AFTER_MENTION:
        return text, False  # "@ourbotfan" is somebody else
    return rest.lstrip(_AFTER_MENTION), True


def _mentions(message: Message) -> list[str]:
    found = message.parse_entities([MessageEntity.MENTION]).values()
    return [text.removeprefix("@") for text in found]


def _reply_author(message: Message) -> User | None:
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        # In a forum every topic message "replies" to the topic's opening service message.
        return None
    return replied.from_user


def _is_us(user: User | None, bot_username: str) -> bool:
    return bool(user and user.is_bot and user.username
                and user.username.lower() == bot_username.lower())


# ---------------------------------------------------------------- Outgoing -> Telegram


def keyboard(buttons: list[list[Button]], bot_username: str) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a message's buttons, or None when it has none."""
    rows = [[_button(b, bot_username) for b in row] for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button, bot_username: str) -> InlineKeyboardButton:
    if button.start_payload is not None:
        url = create_deep_linked_url(bot_username, button.start_payload)
        return InlineKeyboardButton(button.label, url=url)
    if button.web_app is not None:
        return InlineKeyboardButton(button.label, web_app=WebAppInfo(button.web_app))
    if button.url is not None:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.data or "")


def _chat_ref(chat_id: str) -> int | str:
    """Numeric ids as int, so the rate limiter can tell private chats from groups."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


async def deliver(app: Application, messages: Iterable[Outgoing],
                  query: CallbackQuery | None = None, core: Core | None = None) -> None:
    """Send, edit or toast each message; one failed chat does not stop the others.

    With `core`, a message carrying a `ref` is reported back through `Core.record_posted`,
    and what became of kept answers (`outbox_id`, handlers/replies.py) through
    `Core.replies_settle`. Messages for other platforms go through the Application's delivery
    registry.
    """
    messages = list(messages)
    if query is not None:
        # Telegram shows a spinner until each button press is answered, exactly once, and
        # drops an answer that comes late: it goes first, held back by nothing else.
        toast = next((out.text for out in messages if out.toast and out.platform == PLATFORM),
                     None)
        await _guarded(query.answer(toast, show_alert=toast is not None), "callback")
    elsewhere: list[Outgoing] = []
    fell_back: set[str] = set()
    settled = _Settled()
    for out in messages:
        if out.platform != PLATFORM:
            elsewhere.append(out)
        elif out.toast and query is not None:
            continue
        elif _is_card_edit(out):
            card_edits(app).put(out)
            settled.done(out)  # a card shows its latest state; a lost edit waits for the next
        else:
            if out.outbox_id is None:
                sent = await _guarded(_send_or_fall_back(app, out, fell_back), out.chat_id)
            else:
                sent = await _send_kept(app, out, fell_back, settled)
            if core is not None and out.ref is not None and isinstance(sent, Message):
                await _record_posted(core, out, sent)
    if core is not None:
        settled.report(app, core)
    if elsewhere:
        await registry_of(app).deliver(elsewhere)


class _Settled:
    """What became of kept answers: sent or refused for good (their rows are deleted), or to
    be tried again after a pause."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.again: list[tuple[int, float]] = []

    def done(self, out: Outgoing) -> None:
        if out.outbox_id is not None:
            self.sent.append(out.outbox_id)

    def retry(self, out: Outgoing, seconds: float) -> None:
        if out.outbox_id is not None:
            self.again.append((out.outbox_id, seconds))

    def report(self, app: Application, core: Core) -> None:
        if self.sent or self.again:
            reply_settles(app, core).put(self.sent, self.again)


REPLY_SETTLES = "jinlin.reply_settles"
# Seconds a settled answer waits for others to share its transaction. Only a crash within
# them sends an answer twice (as between a send and its settling anyway).
SETTLE_LINGER = 0.05


def reply_settles(app: Application, core: Core) -> ReplySettles:
    """The application's writer of what became of kept answers, made on first use."""
    return _made_once(app, REPLY_SETTLES, ReplySettles, lambda: ReplySettles(core))


class ReplySettles:
    """What became of kept answers, written for many deliveries at once: those settled
    within `SETTLE_LINGER`, or while a transaction records others, go together in one. A
    burst of answers then costs a few commits instead of one per answer."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._sent: list[int] = []
        self._again: list[tuple[int, float]] = []
        self._writing: asyncio.Task[None] | None = None

    def put(self, sent: list[int], again: list[tuple[int, float]]) -> None:
        self._sent += sent
        self._again += again
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="reply-settles")

    async def _write(self) -> None:
        while self._sent or self._again:
            await asyncio.sleep(SETTLE_LINGER)  # let the rest of a burst's answers join
            sent, again, self._sent, self._again = self._sent, self._again, [], []
            try:
                await asyncio.to_thread(self.core.replies_settle, sent, again)
            except Exception:
                # The rows stay claimed by this process: sent again only if it dies.
                log.exception("could not record what became of %d kept answers",
                              len(sent) + len(again))

    async def flush(self) -> None:
        """Wait until everything settled so far is written (before the process stops)."""
        if self._writing is not None:
            await self._writing


async def _send_kept(app: Application, out: Outgoing, fell_back: set[str],
                     settled: _Settled) -> Message | bool | None:
    """Send a kept answer, noting in `settled` what became of it; None when not sent."""
    try:
        sent = await _send_or_fall_back(app, out, fell_back)
    except RetryAfter as error:
        log.warning("Telegram asked to wait; an answer to %s is sent later", out.chat_id)
        settled.retry(out, retry_seconds(error))
        return None
    except (BadRequest, Forbidden) as error:  # BadRequest is a NetworkError: first
        log.warning("Telegram refused a call for %s: %s", out.chat_id, error)
        settled.done(out)
        return None
    except (NetworkError, TimeoutError) as error:
        log.warning("an answer to %s did not get through (%s); trying again", out.chat_id,
                    error)
        settled.retry(out, KEPT_RETRY_SECONDS)
        return None
    except TelegramError as error:
        log.warning("Telegram refused a call for %s: %s", out.chat_id, error)
        settled.done(out)
        return None
    except Exception:  # a bug, not Telegram: give the answer up rather than hold it
        log.exception("sending an answer to %s failed", out.chat_id)
        settled.done(out)
        return None
    settled.done(out)
    return sent


# Seconds between two edits of one card: a group takes 20 messages a minute (and the rate
# limiter keeps a 3% margin), so a card edited no faster never has to wait for the group.
CARD_EDIT_INTERVAL = 60 * 1.03 / 20
CARD_EDITS = "jinlin.card_edits"


def _is_card_edit(out: Outgoing) -> bool:
    """An edit of a message in a group (a card everyone taps), not of a private message."""
    return out.edit_message_id is not None and out.chat_id.startswith("-")


def card_edits(app: Application) -> CardEdits:
    """The application's coalescer of card edits, made on first use."""
    return _made_once(app, CARD_EDITS, CardEdits, lambda: CardEdits(app))


class CardEdits:
    """Edits of one card coalesced: at most one every `interval` seconds, carrying the latest
    state. A tap storm on a card then costs a few edits instead of one per tap, and button
    answers never queue behind edits the group's flood limit holds back."""

    def __init__(self, app: Application, interval: float = CARD_EDIT_INTERVAL) -> None:
        self._app = app
        self.interval = interval
        self._latest: dict[tuple[str, str], Outgoing] = {}  # card -> state not yet shown
        self._shown: dict[tuple[str, str], tuple[float, str, object]] = {}  # when, text, keys
        self._draining: dict[tuple[str, str], asyncio.Task[None]] = {}

    def put(self, out: Outgoing) -> None:
        """Show `out` on its card now, or with the card's next edit if one went out lately."""
        assert out.edit_message_id is not None
        card = (out.chat_id, out.edit_message_id)
        self._latest[card] = out
        if card not in self._draining:
            # A running Application's `stop` waits for the tasks it made: nothing is lost.
            drain = self._drain(card)
            self._draining[card] = (self._app.create_task(drain) if self._app.running
                                    else asyncio.get_running_loop().create_task(drain))

    async def _until(self, moment: float) -> None:
        """Sleep until `moment`, or less while the Application stops (edits go out at once)."""
        loop = asyncio.get_running_loop()
        # python-telegram-bot offers no event for "stopping": look every 0.1 s.
        while loop.time() < moment and self._app.running:  # noqa: ASYNC110
            await asyncio.sleep(min(moment - loop.time(), 0.1))

    async def _drain(self, card: tuple[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            while card in self._latest:
                shown_at, text, buttons = self._shown.get(card, (float("-inf"), "", None))
                await self._until(shown_at + self.interval)
                out = self._latest.pop(card)
                if (out.text, out.buttons) == (text, buttons):
                    continue  # Telegram refuses an edit that changes nothing
                self._shown[card] = (loop.time(), out.text, out.buttons)
                await _guarded(_send(self._app, out), out.chat_id)
        finally:
            del self._draining[card]
            self._forget_old(loop.time())

    def _forget_old(self, now: float) -> None:
        if len(self._shown) > 1000:
            self._shown = {card: shown for card, shown in self._shown.items()
                           if shown[0] > now - self.interval or card in self._draining}


REGISTRY = "jinlin.registry"


def registry_of(app: Application) -> Registry:
    """The delivery registry this Application was built with."""
    return _made_once(app, REGISTRY, Registry, Registry)


def _made_once(app: Application, key: str, kind: type[Part], make: Callable[[], Part]) -> Part:
    """The application's one `kind` kept under `key` in its bot_data, made on first use."""
    part = app.bot_data.get(key)
    if part is None:
        part = app.bot_data[key] = make()
    assert isinstance(part, kind)
    return part


async def _send_or_fall_back(app: Application, out: Outgoing,
                             fell_back: set[str]) -> Message | bool:
    """Send; when a person never opened a chat with the bot (403), post the message's short
    group line instead, once per person and batch."""
    try:
        return await _send(app, out)
    except Forbidden:
        if out.fallback is None or out.chat_id in fell_back:
            raise
        fell_back.add(out.chat_id)
        return await _send(app, out.fallback)


async def send_one(app: Application, out: Outgoing) -> Message | bool:
    """Send (or edit) one message; Telegram's refusals are raised to the caller."""
    return await _send(app, out)


async def _send(app: Application, out: Outgoing) -> Message | bool:
    bot, chat_id = app.bot, _chat_ref(out.chat_id)
    markup = keyboard(out.buttons, bot.username)
    if out.edit_message_id is not None:
        return await bot.edit_message_text(out.text, chat_id=chat_id,
                                           message_id=int(out.edit_message_id),
                                           reply_markup=markup)
    image = out.image
    if out.qr_payload is not None:
        image = qr.png(create_deep_linked_url(bot.username, out.qr_payload))
    if image is not None:
        return await bot.send_photo(chat_id, image, caption=out.text or None,
                                    reply_markup=markup)
    if out.document is not None:
        return await bot.send_document(
            chat_id, InputFile(out.document.data, filename=out.document.file_name),
            caption=out.text or None, reply_markup=markup)
    return await bot.send_message(chat_id, out.text, reply_markup=markup)


async def _record_posted(core: Core, out: Outgoing, sent: Message) -> None:
    """Tell the core where its card landed, so that it can edit the card later."""
    assert out.ref is not None
    try:
        await asyncio.to_thread(core.record_posted, out.ref, out.platform, out.chat_id,
                                str(sent.message_id))
    except Exception:
        # The message is out; losing its address only means a later edit posts anew.
        log.exception("could not record where card %s was posted", out.ref)


async def _guarded(call: Awaitable[Any], where: str) -> Any:
    """The call's result, or None when Telegram refused it (logged)."""
    try:
        return await call
    except TelegramError as error:
        # Blocked by a user, kicked from a group, message gone: log and go on with the rest.
        log.warning("Telegram refused a call for %s: %s", where, error)
        return None


# ---------------------------------------------------------------- ordering


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently and those of one chat in arrival order."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = ChatLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's coroutine while holding its chat's lock."""
        async with self._chats.held(chat_key(update)):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (its order is kept per chat), if any."""
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat is not None else None


# ---------------------------------------------------------------- application


class TelegramAdapter:
    """Hands each Telegram update to the core and renders the answer."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # SQLite takes one writer at a time: more threads only fight over it and over the
        # interpreter lock (measured: bench.checkin_burst). PostgreSQL gains from two.
        self._workers = SQLITE_CORE_THREADS if core.db.is_sqlite else POSTGRES_CORE_THREADS
        self._threads = ThreadPoolExecutor(self._workers, thread_name_prefix="jinlin-core")
        self._busy = 0
        self._waiting: list[tuple[Incoming, asyncio.Future[list[Outgoing]]]] = []

    async def _handle(self, incoming: Incoming) -> list[Outgoing]:
        """The core's answer, worked out on one of the adapter's threads; updates that came
        while every thread was busy are handled together, in one transaction (a burst of
        scans then costs one commit per batch instead of one per scan)."""
        answer: asyncio.Future[list[Outgoing]] = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, answer))
        self._start_batches()
        return await answer

    def _start_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and self._busy < self._workers:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            self._busy += 1
            call = functools.partial(contextvars.copy_context().run, self.core.handle_batch,
                                     [incoming for incoming, _ in batch])
            done = loop.run_in_executor(self._threads, call)
            done.add_done_callback(functools.partial(self._finished, batch))

    def _finished(self, batch: list[tuple[Incoming, asyncio.Future[list[Outgoing]]]],
                  done: asyncio.Future[list[list[Outgoing]]]) -> None:
        self._busy -= 1
        for n, (_, answer) in enumerate(batch):
            if answer.done():
                continue  # its update was cancelled meanwhile (the bot is stopping)
            if done.cancelled() or done.exception() is not None:
                answer.set_exception(done.exception() or asyncio.CancelledError())
            else:
                answer.set_result(done.result()[n])
        self._start_batches()

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Translate one message, let the core act on it, send what it says."""
        incoming = to_incoming(update, context.bot.username)
        if incoming is None:
            return
        answers = await self._handle(incoming)
        await deliver(context.application, answers, core=self.core)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A file sent privately (a needs-list import): download it, then as `on_message`."""
        message = update.message
        if message is None or message.document is None:
            return
        try:
            file = await context.bot.get_file(message.document.file_id)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:  # over the Bot API's 20 MB, or gone
            log.warning("could not download a file: %s", error)
            data = b""  # the core answers that the file is empty or unusable
        name = message.document.file_name or "file"
        incoming = to_incoming(update, context.bot.username, Document(name, data))
        if incoming is None:
            return
        answers = await self._handle(incoming)
        await deliver(context.application, answers, core=self.core)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Like `on_message` for a button press, which is always answered."""
        query = update.callback_query
        assert query is not None
        incoming = to_incoming(update, context.bot.username)
        answers = [] if incoming is None else await self._handle(incoming)
        await deliver(context.application, answers, query, self.core)

    async def set_menus(self, app: Application) -> None:
        """Publish the command menu in each language, for private chats and for groups."""
        scopes = (BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats())
        for language_code, lang in MENU_LANGUAGES:
            commands = menu(self.core, lang)
            for scope in scopes:
                await app.bot.set_my_commands(commands, scope=scope,
                                              language_code=language_code or None)


def menu(core: Core, lang: str) -> list[BotCommand]:
    """A member's commands described in `lang`; commands without a description are left out."""
    t = core.catalogs.get(lang)
    entries = []
    for command in core.commands_for(Role.MEMBER):
        key = f"menu.{command.name}"
        if t.has(key) and _COMMAND_NAME.match(command.name):
            entries.append(BotCommand(command.name, t(key)[:256]))
    return entries


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("update %r failed", update, exc_info=context.error)


def rate_limiter(max_retries: int, scale: float = 1.0, *, redis_url: str | None = None,
                 token: str = "") -> BaseRateLimiter[int]:
    """Telegram's flood limits, about 30 messages a second overall and 20 a minute per group,
    kept evenly (`scale` times them, for benchmarks against a fake server with scaled limits);
    with `redis_url`, kept for all processes of `token` together."""
    if redis_url:
        from bot.shared_limit import RedisRateLimiter, key_for

        return RedisRateLimiter(redis_url, key_for(token), 30 * scale, 20 * scale,
                                max_retries=max_retries)
    from bot.ratelimit import SmoothRateLimiter

    return SmoothRateLimiter(30 * scale, 20 * scale, max_retries=max_retries)


def build_application(settings: Settings, core: Core, *,
                      limiter: BaseRateLimiter[Any] | None = None,
                      registry: Registry | None = None) -> Application:
    """The python-telegram-bot Application wired to the core (no updater in webhook mode),
    registered in `registry` as the way to Telegram; `limiter` replaces the rate limiter for
    Telegram's limits."""
    if settings.telegram_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    adapter = TelegramAdapter(core)
    token = settings.telegram_token.get_secret_value()
    limiter = limiter or rate_limiter(settings.telegram_max_retries,
                                      redis_url=settings.redis_url, token=token)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_file_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .rate_limiter(limiter)
        .concurrent_updates(ChatOrderedProcessor(settings.telegram_concurrent_updates))
        .post_init(adapter.set_menus)
    )
    if settings.telegram_mode == "webhook":
        builder = builder.updater(None)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, adapter.on_message))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL,
                                   adapter.on_document))
    app.add_handler(CallbackQueryHandler(adapter.on_button))
    app.add_error_handler(_log_error)
    registry = registry if registry is not None else Registry()
    app.bot_data[REGISTRY] = registry
    registry.register(PLATFORM, functools.partial(deliver, app, core=core))
    return app


def run_polling(settings: Settings, core: Core) -> None:
    """Long-poll Telegram and serve the web pages (QR display, /healthz) until interrupted."""
    from bot.services import serve_polling

    asyncio.run(serve_polling(settings, core))


def run_webhook(settings: Settings, core: Core) -> None:
    """Serve Telegram's webhook (and the web pages) until interrupted."""
    from bot.services import serve_webhook

    asyncio.run(serve_webhook(settings, core))
