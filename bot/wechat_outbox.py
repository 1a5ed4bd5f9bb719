"""The WeChat outbox sender: notices to Official Account followers, one row each.

Inside the 48-hour window after the follower last wrote, a notice goes as a customer-service
message ending "回复「收到」确认". Outside it (or when WeChat says the window is closed) it goes
as a template message (模板消息) linking to the notice's page on the web desk, where 收到 is one
tap, when WECHAT_NOTICE_TEMPLATE_ID is set; else it is recorded as missed: the follower is told
when they next write and finds it with 未读.

Other one-to-one messages past the window (a reminder, a promotion from the waitlist, a
verification result) are queued by the adapter as rows of their own (`follower_messages`) when
WECHAT_MESSAGE_TEMPLATE_ID is set, and go as that template message linking to the desk.
WeChat's refusals are recorded on the row; only those that may pass (busy, a stale token) are
retried; a message refused for good is kept for 未读.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from wechatpy.exceptions import WeChatClientException

from bot.delivery import Registry
from bot.drain import drain_forever
from bot.wechat import PLATFORM, WINDOW_ERRORS, WechatAdapter
from bot.wechat_render import chunks
from handlers.outbox import MAX_ATTEMPTS, Claimed, Result
from storage import wechat_users
from storage.models import FollowerMessage
from storage.notices import TEMPLATE

log = logging.getLogger(__name__)

BATCH = 20
IDLE_SECONDS = 1.0
RETRY_SECONDS = 30.0
MISSED = "missed: outside the 48-hour window, no template"
# -1: WeChat busy; 40001/42001: the access token expired meanwhile (wechatpy refreshes it).
RETRY_CODES = {-1, 40001, 42001}
# Codes whose meaning is written on the row as words (the rest keep their number).
MEANINGS = {43004: "unfollowed", 43101: "refused subscribe messages",
            40037: "invalid template id", 45009: "daily API quota reached",
            40003: "invalid openid", 47003: "a template field is too long or malformed"}


# How many characters each kind of template field takes (the 模板消息 interface's table for
# category templates; 20 a field for the older library templates and any field not listed).
FIELD_LIMITS = {"thing": 20, "character_string": 32, "number": 32, "letter": 32, "symbol": 5,
                "phrase": 5, "name": 10, "const": 20, "phone_number": 17, "car_number": 8,
                "keyword": 20}
DEFAULT_FIELD_LIMIT = 20
CHINESE_ONLY = {"phrase", "name"}


@dataclass(frozen=True)
class Template:
    """A template message for messages past the window, and which field gets what (branch,
    text, time or action)."""

    template_id: str
    fields: dict[str, str]

    @classmethod
    def parse(cls, template_id: str | None, fields: str) -> Template | None:
        if not template_id:
            return None
        pairs = dict(pair.split("=", 1) for pair in fields.split(",") if "=" in pair)
        return cls(template_id, pairs)


class WechatSender:
    """One sender loop sending the outbox rows of platform "wechat"."""

    def __init__(self, adapter: WechatAdapter, registry: Registry,
                 template: Template | None = None, messages: Template | None = None, *,
                 idle: float = IDLE_SECONDS) -> None:
        self.adapter, self.core, self.registry = adapter, adapter.core, registry
        self.template, self.messages, self.idle = template, messages, idle
        self._loop: asyncio.AbstractEventLoop | None = None
        if messages is not None:
            adapter.past_window = self._wake_from_thread
        # This process's sender id (bot/singleton.py), written on the rows it claims.
        self.claimed_by: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run(), name="wechat-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    def _wake_from_thread(self) -> None:
        """The adapter queued a message (in a worker thread): look now."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Drain forever; a failure in one round is logged and the next round goes on."""
        await drain_forever(self.drain_once, self._wake, self.idle, "WeChat")

    async def drain_once(self) -> int:
        """Claim one batch, send each row, record each result; returns the batch's size."""
        batch = await asyncio.to_thread(self.core.outbox_claim, PLATFORM, BATCH,
                                        self.claimed_by)
        for item in batch:
            result = await asyncio.to_thread(self._send, item)
            await self.registry.deliver(
                await asyncio.to_thread(self.core.outbox_report, result))
        if batch:
            runs = sorted({item.run_id for item in batch})
            await self.registry.deliver(await asyncio.to_thread(self.core.outbox_progress,
                                                                runs))
        return len(batch) + await asyncio.to_thread(self._send_messages)

    def _send_messages(self) -> int:
        """Claim the queued messages past the window and send each as a template message."""
        if self.messages is None:
            return 0
        with self.core.db.session() as session:
            rows = wechat_users.claim_messages(session, self.core.clock(), BATCH)
            session.expunge_all()
        for row in rows:
            outcome = self._message(row)
            with self.core.db.session() as session:
                now = self.core.clock()
                if outcome.message_id is not None:
                    wechat_users.message_sent(session, row.id, outcome.message_id)
                elif outcome.retry_after is not None and row.attempts < MAX_ATTEMPTS:
                    wechat_users.message_retry(
                        session, row.id, now + dt.timedelta(seconds=outcome.retry_after),
                        outcome.error)
                else:
                    wechat_users.message_failed(session, row.id, outcome.error, now)
        return len(rows)

    def _message(self, row: FollowerMessage) -> Result:
        """One queued message as the generic template message, linking to the desk."""
        assert self.messages is not None
        try:
            sent = self.adapter.client.message.send_template(
                row.chat_external_id, self.messages.template_id,
                self._fields(self.messages, "message", row.text),
                url=f"{self.core.rules.public_url}/desk")
        except WeChatClientException as error:
            return _refused(row.id, error)
        except Exception as error:  # the network: worth another try
            return Result(row.id, retry_after=RETRY_SECONDS, error=type(error).__name__)
        return Result(row.id, message_id=f"{TEMPLATE}{sent.get('msgid', '')}")

    def _send(self, item: Claimed) -> Result:
        """The customer-service message, else the template message, else missed."""
        openid, row = item.message.chat_id, item.delivery_id
        if self.adapter.in_window(openid):
            try:
                for text in chunks([item.message.text]):
                    self.adapter.client.message.send_text(openid, text)
                return Result(row, message_id="service")
            except WeChatClientException as error:
                if error.errcode not in WINDOW_ERRORS:
                    return _refused(row, error)
            except Exception as error:  # the network: worth another try
                return Result(row, retry_after=RETRY_SECONDS, error=type(error).__name__)
        return self._outside_window(item)

    def _outside_window(self, item: Claimed) -> Result:
        openid, row = item.message.chat_id, item.delivery_id
        if self.template is None:
            self.adapter.record_missed_for_good(openid, item.message.text)
            return Result(row, error=MISSED)
        try:
            sent = self.adapter.client.message.send_template(
                openid, self.template.template_id,
                self._fields(self.template, "notice", item.words or item.message.text),
                url=notice_page(self.core.rules.public_url, item.run_id))
        except WeChatClientException as error:
            if error.errcode not in RETRY_CODES:
                self.adapter.record_missed_for_good(openid, item.message.text)
            return _refused(row, error)
        except Exception as error:
            return Result(row, retry_after=RETRY_SECONDS, error=type(error).__name__)
        return Result(row, message_id=f"{TEMPLATE}{sent.get('msgid', '')}")

    def _fields(self, template: Template, kind: str, text: str) -> dict[str, dict[str, str]]:
        """The template's fields filled in; `kind` is "notice" or "message"."""
        t = self.core.catalogs.get(None)
        now = self.core.clock().astimezone(self.core.rules.timezone)
        values = {"branch": t(f"{kind}.template_first"), "text": text,
                  "time": now.strftime("%Y-%m-%d %H:%M"), "action": t(f"{kind}.template_action")}
        return {name: {"value": fit_field(name, values[source])}
                for name, source in template.fields.items() if source in values}


def fit_field(name: str, value: str) -> str:
    """`value` cut to what WeChat takes in the template field `name`: a category template's
    field is typed by its name (thing01: 20 characters, else error 47003), a library
    template's keywordN holds 20 characters (the rest is folded away); the whole text is on
    the desk page the message links to."""
    limit = FIELD_LIMITS.get(name.rstrip("0123456789"), DEFAULT_FIELD_LIMIT)
    if len(value) <= limit:
        return value
    if name.rstrip("0123456789") in CHINESE_ONLY:
        return value[:limit]  # these take Chinese characters only: no room for an ellipsis
    return value[:limit - 1] + "…"


def notice_page(public_url: str, run_id: int) -> str:
    """The web desk's page of one sending of a notice, where its reader taps 收到."""
    return f"{public_url}/desk/notice/{run_id}"


def _refused(row: int, error: WeChatClientException) -> Result:
    code = error.errcode
    words = MEANINGS.get(code, str(error.errmsg or ""))[:120]
    retry = RETRY_SECONDS if code in RETRY_CODES else None
    return Result(row, retry_after=retry, error=f"wechat {code} {words}".strip())
