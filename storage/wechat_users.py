"""Followers of the WeChat Official Account: numbered choices, service window, missed messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage import states
from storage.db import insert_if_absent
from storage.models import (
    CallbackNonce,
    DeliveryState,
    FollowerMessage,
    MissedMessage,
    WechatUser,
)


def _row(session: Session, openid: str) -> WechatUser:
    """The follower's row, made on first sight (one SELECT, or none when already loaded)."""
    row = session.get(WechatUser, openid)
    if row is not None:
        return row
    insert_if_absent(session, WechatUser, {"openid": openid, "choices": [], "missed": 0})
    row = session.get(WechatUser, openid)
    assert row is not None
    return row


# Prompts with numbered options kept per follower (older ones are no longer offered).
PROMPTS_KEPT = 5


def _state(row: WechatUser) -> dict[str, Any]:
    """The follower's prompts and counters; a row from before prompts were kept starts empty."""
    state = row.choices if isinstance(row.choices, dict) else {}
    return {"prompts": list(state.get("prompts", [])), "sent": int(state.get("sent", 0)),
            "read": int(state.get("read", 0))}


def offer(session: Session, openid: str, options: list[dict[str, str]],
          now: dt.datetime) -> None:
    """One answer went to this follower; with options, it is a prompt a number may answer."""
    row = _row(session, openid)
    state = _state(row)
    state["sent"] += 1
    if options:
        prompt = {"seq": state["sent"], "at": now.timestamp(), "options": options}
        state["prompts"] = [*state["prompts"], prompt][-PROMPTS_KEPT:]
        row.offered_at = now
    row.choices = state


def prompts(session: Session, openid: str) -> tuple[list[dict[str, Any]], int, int]:
    """The prompts kept for this follower, how many answers were sent to them, and how many
    of those had been sent when they last wrote."""
    row = session.get(WechatUser, openid)
    if row is None:
        return [], 0, 0
    state = _state(row)
    return state["prompts"], state["sent"], state["read"]


def seen(session: Session, openid: str, now: dt.datetime) -> int:
    """The follower wrote: open their service window; returns (and clears) the missed count."""
    row = _row(session, openid)
    row.last_seen_at = now
    state = _state(row)
    if state["read"] != state["sent"]:
        row.choices = {**state, "read": state["sent"]}
    missed, row.missed = row.missed, 0
    return missed


def last_seen(session: Session, openid: str) -> dt.datetime | None:
    row = session.get(WechatUser, openid)
    return row.last_seen_at if row is not None else None


def record_missed(session: Session, openid: str, text: str = "",
                  now: dt.datetime | None = None) -> None:
    """One message to this follower could not be delivered; its text is kept for 未读."""
    _row(session, openid)
    if text and now is not None:
        session.add(MissedMessage(platform="wechat", chat_external_id=openid, text=text[:4000],
                                  at=now))
    session.execute(update(WechatUser).where(WechatUser.openid == openid)
                    .values(missed=WechatUser.missed + 1))


def fresh_nonce(session: Session, timestamp: int, nonce: str, now: dt.datetime) -> bool:
    """Record a callback's (timestamp, nonce); False when that pair was seen before."""
    return insert_if_absent(session, CallbackNonce, {"platform": "wechat", "timestamp": timestamp,
                                                     "nonce": nonce, "seen_at": now})


def prune_nonces(session: Session, before: dt.datetime) -> None:
    """Nonces seen before `before` are outside any timestamp window now: forget them."""
    session.execute(delete(CallbackNonce).where(CallbackNonce.seen_at < before))


def missed(session: Session, platform: str, chat_id: str) -> list[MissedMessage]:
    """What could not reach this private chat, oldest first."""
    return list(session.scalars(select(MissedMessage).where(
        MissedMessage.platform == platform, MissedMessage.chat_external_id == chat_id)
        .order_by(MissedMessage.id)))


def forget_missed(session: Session, ids: list[int]) -> None:
    """Shown with 未读: not shown again."""
    session.execute(delete(MissedMessage).where(MissedMessage.id.in_(ids)))


# ---------------------------------------------------------------- past the window, as templates

# A row claimed this long ago by a sender that never reported goes back to pending.
CLAIM_LEASE = dt.timedelta(minutes=2)


def queue_message(session: Session, openid: str, text: str, now: dt.datetime) -> None:
    """A message past the follower's window, to go as a template message (its own row)."""
    session.add(FollowerMessage(platform="wechat", chat_external_id=openid, text=text[:4000],
                                state=DeliveryState.PENDING, error="", attempts=0,
                                created_at=now))


def claim_messages(session: Session, now: dt.datetime, limit: int) -> list[FollowerMessage]:
    """Up to `limit` queued messages to send now (rows of a dead sender come back after the
    lease); each is claimed by this sender alone (SKIP LOCKED on PostgreSQL)."""
    session.execute(update(FollowerMessage).where(
        FollowerMessage.state == DeliveryState.SENDING,
        FollowerMessage.claimed_at < now - CLAIM_LEASE).values(state=DeliveryState.PENDING))
    ready = FollowerMessage.not_before.is_(None) | (FollowerMessage.not_before <= now)
    rows = list(session.scalars(
        select(FollowerMessage).where(FollowerMessage.state == DeliveryState.PENDING,
                                      FollowerMessage.platform == "wechat", ready)
        .order_by(FollowerMessage.id).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        states.move(row, DeliveryState.SENDING)
        row.claimed_at, row.attempts = now, row.attempts + 1
    session.flush()
    return rows


def message_sent(session: Session, row_id: int, message_id: str) -> None:
    row = session.get(FollowerMessage, row_id)
    if row is not None and row.state == DeliveryState.SENDING:
        states.move(row, DeliveryState.SENT)
        row.message_id, row.error = message_id, ""


def message_retry(session: Session, row_id: int, not_before: dt.datetime, error: str) -> None:
    row = session.get(FollowerMessage, row_id)
    if row is not None and row.state == DeliveryState.SENDING:
        states.move(row, DeliveryState.PENDING)
        row.not_before, row.error = not_before, error[:200]


def message_failed(session: Session, row_id: int, error: str, now: dt.datetime) -> None:
    """WeChat refused it for good: recorded on the row, and kept for 未读 as missed."""
    row = session.get(FollowerMessage, row_id)
    if row is not None and row.state == DeliveryState.SENDING:
        states.move(row, DeliveryState.FAILED)
        row.error = error[:200]
        record_missed(session, row.chat_external_id, row.text, now)
