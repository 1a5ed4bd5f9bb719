"""Followers of the WeChat Official Account: numbered choices, service window, missed messages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import CallbackNonce, WechatUser


def _row(session: Session, openid: str) -> WechatUser:
    insert_if_absent(session, WechatUser, {"openid": openid, "choices": [], "missed": 0})
    row = session.get(WechatUser, openid)
    assert row is not None
    return row


def offer(session: Session, openid: str, choices: list[dict[str, str]],
          now: dt.datetime) -> None:
    """Remember the numbered options just shown to this follower (replacing older ones)."""
    row = _row(session, openid)
    row.choices = choices
    row.offered_at = now


def choice(session: Session, openid: str, number: int) -> dict[str, str] | None:
    """Option `number` (from 1) of those last shown to this follower, if there is one."""
    row = session.get(WechatUser, openid)
    if row is None or not 0 < number <= len(row.choices):
        return None
    return row.choices[number - 1]


def seen(session: Session, openid: str, now: dt.datetime) -> int:
    """The follower wrote: open their service window; returns (and clears) the missed count."""
    row = _row(session, openid)
    row.last_seen_at = now
    missed, row.missed = row.missed, 0
    return missed


def last_seen(session: Session, openid: str) -> dt.datetime | None:
    row = session.get(WechatUser, openid)
    return row.last_seen_at if row is not None else None


def record_missed(session: Session, openid: str) -> None:
    """One message to this follower could not be delivered."""
    _row(session, openid)
    session.execute(update(WechatUser).where(WechatUser.openid == openid)
                    .values(missed=WechatUser.missed + 1))


def fresh_nonce(session: Session, timestamp: int, nonce: str, now: dt.datetime) -> bool:
    """Record a callback's (timestamp, nonce); False when that pair was seen before."""
    return insert_if_absent(session, CallbackNonce, {"platform": "wechat", "timestamp": timestamp,
                                                     "nonce": nonce, "seen_at": now})


def prune_nonces(session: Session, before: dt.datetime) -> None:
    """Nonces seen before `before` are outside any timestamp window now: forget them."""
    session.execute(delete(CallbackNonce).where(CallbackNonce.seen_at < before))
