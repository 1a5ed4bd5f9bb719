"""The reply outbox: answers to updates kept until they are sent (PostgreSQL workers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage import states
from storage.db import execute_core
from storage.models import Reply, ReplyState


def keep(session: Session, messages: Sequence[tuple[str, str, dict[str, Any]]],
         claimed_by: int | None, now: dt.datetime) -> list[int]:
    """Rows for (platform, chat, message) each, already claimed by sender `claimed_by` (the
    process that handled the update sends them at once); returns their ids, in order."""
    if not messages:
        return []
    rows = [{"platform": platform, "chat_external_id": chat, "message": message,
             "state": ReplyState.SENDING, "attempts": 1, "claimed_by": claimed_by,
             "created_at": now} for platform, chat, message in messages]
    return list(execute_core(session, _KEEP, rows).scalars())


# Built once, run on every update that is answered: one statement for all its answers.
_KEEP = insert(Reply).returning(Reply.id, sort_by_parameter_order=True)


def claim(session: Session, platform: str, now: dt.datetime, limit: int,
          claimed_by: int | None, max_attempts: int) -> list[Reply]:
    """Up to `limit` pending rows, oldest first, for sender `claimed_by`; rows another sender
    is claiming are skipped (FOR UPDATE SKIP LOCKED), so nothing goes out twice. A row
    already tried `max_attempts` times is deleted instead (given up)."""
    ready = (Reply.not_before.is_(None)) | (Reply.not_before <= now)
    rows = list(session.scalars(
        select(Reply).where(Reply.platform == platform, Reply.state == ReplyState.PENDING,
                            ready)
        .order_by(Reply.id).limit(limit).with_for_update(skip_locked=True)))
    spent = [row for row in rows if row.attempts >= max_attempts]
    for row in spent:
        session.delete(row)
    rows = [row for row in rows if row.attempts < max_attempts]
    for row in rows:
        states.move(row, ReplyState.SENDING)
        row.claimed_by, row.attempts = claimed_by, row.attempts + 1
    session.flush()
    return rows


def settle(session: Session, done: Sequence[int],
           retry: Sequence[tuple[int, dt.datetime]]) -> None:
    """Forget the rows that went out (or were refused for good); put the others back to be
    tried again after their moment."""
    if done:
        session.execute(delete(Reply).where(Reply.id.in_(done)))
    states.check(Reply, (ReplyState.SENDING,), ReplyState.PENDING)
    for row_id, not_before in retry:
        session.execute(update(Reply).where(Reply.id == row_id)
                        .values(state=ReplyState.PENDING, claimed_by=None,
                                not_before=not_before))


def release_of_dead_senders(session: Session, me: int | None) -> int:
    """Rows claimed by a sender whose lock is free (its process is gone): back to pending at
    once. PostgreSQL only; the same probe as the notices' outbox (storage/notices.py)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    states.check(Reply, (ReplyState.SENDING,), ReplyState.PENDING)
    conditions = [Reply.state == ReplyState.SENDING, Reply.claimed_by.is_not(None)]
    if me is not None:
        conditions.append(Reply.claimed_by != me)
    sender_free = func.pg_try_advisory_xact_lock(
        func.hashtext(func.concat("jinlin-sender:", func.current_schema())), Reply.claimed_by)
    result = session.execute(update(Reply).where(*conditions, sender_free)
                             .values(state=ReplyState.PENDING, claimed_by=None))
    return int(result.rowcount)  # type: ignore[attr-defined]
