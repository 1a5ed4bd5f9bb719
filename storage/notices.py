"""Notices, their runs, the delivery outbox and 收到 acknowledgements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from storage import states
from storage.db import insert_if_absent
from storage.models import (
    Ack,
    Delivery,
    DeliveryState,
    Notice,
    NoticeRun,
    NoticeState,
    RunState,
)


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.sent + self.failed >= self.total


def create(session: Session, **fields: object) -> Notice:
    notice = Notice(**fields)
    session.add(notice)
    session.flush()
    return notice


def get(session: Session, notice_id: int) -> Notice | None:
    return session.get(Notice, notice_id)


def of_branch(session: Session, branch_id: int) -> Sequence[Notice]:
    """A branch's notices that are still to be sent, newest first."""
    return session.scalars(select(Notice).where(Notice.branch_id == branch_id,
                                                Notice.state == NoticeState.ACTIVE)
                           .order_by(Notice.id.desc())).all()


def planned_with_rule(session: Session, rule: str) -> list[tuple[Notice, NoticeRun]]:
    """Every active notice on `rule`, in every branch, with its next planned run (one query)."""
    rows = session.execute(select(Notice, NoticeRun).join(NoticeRun)
                           .where(Notice.rule == rule, Notice.state == NoticeState.ACTIVE,
                                  NoticeRun.state == RunState.PLANNED)
                           .order_by(Notice.id, NoticeRun.planned_at)).all()
    first: dict[int, tuple[Notice, NoticeRun]] = {}
    for item, run in rows:
        first.setdefault(item.id, (item, run))
    return list(first.values())


def plan_run(session: Session, notice_id: int, planned_at: dt.datetime,
             fallback: bool = False) -> NoticeRun | None:
    """The run of a notice at `planned_at`, created once."""
    insert_if_absent(session, NoticeRun, {"notice_id": notice_id, "planned_at": planned_at,
                                          "state": RunState.PLANNED, "fallback": fallback})
    return session.scalar(select(NoticeRun).where(NoticeRun.notice_id == notice_id,
                                                  NoticeRun.planned_at == planned_at))


def run(session: Session, run_id: int) -> NoticeRun | None:
    return session.get(NoticeRun, run_id)


def runs(session: Session, run_ids: Collection[int]) -> Sequence[NoticeRun]:
    return session.scalars(select(NoticeRun).where(NoticeRun.id.in_(run_ids))).all()


def planned_run(session: Session, notice_id: int) -> NoticeRun | None:
    """The next run not sent yet, if any."""
    return session.scalar(select(NoticeRun).where(NoticeRun.notice_id == notice_id,
                                                  NoticeRun.state == RunState.PLANNED)
                          .order_by(NoticeRun.planned_at).limit(1))


def planned_of_branch(session: Session, branch_id: int) -> list[tuple[Notice, NoticeRun]]:
    """A branch's notices still to be sent with their next planned run, newest notice first
    (one query; a notice with no run planned is left out)."""
    rows = session.execute(select(Notice, NoticeRun).join(NoticeRun)
                           .where(Notice.branch_id == branch_id,
                                  Notice.state == NoticeState.ACTIVE,
                                  NoticeRun.state == RunState.PLANNED)
                           .order_by(Notice.id.desc(), NoticeRun.planned_at)).all()
    first: dict[int, tuple[Notice, NoticeRun]] = {}
    for item, planned in rows:
        first.setdefault(item.id, (item, planned))
    return list(first.values())


def latest_sent_run(session: Session, notice_id: int) -> NoticeRun | None:
    return session.scalar(select(NoticeRun).where(
        NoticeRun.notice_id == notice_id, NoticeRun.state.in_((RunState.SENDING, RunState.DONE)))
        .order_by(NoticeRun.planned_at.desc()).limit(1))


def sent_runs(session: Session, branch_id: int, limit: int,
              ) -> Sequence[tuple[Notice, NoticeRun]]:
    """A branch's latest sendings (runs sending or done), newest first, with their notice."""
    sent_at = func.coalesce(NoticeRun.started_at, NoticeRun.planned_at)
    rows = session.execute(select(Notice, NoticeRun).join(NoticeRun)
                           .where(Notice.branch_id == branch_id,
                                  NoticeRun.state.in_((RunState.SENDING, RunState.DONE)))
                           .order_by(sent_at.desc(), NoticeRun.id.desc()).limit(limit)).all()
    return [(item, run) for item, run in rows]


def enqueue(session: Session, run_id: int, targets: list[tuple[str, str]]) -> int:
    """One outbox row per target chat; returns how many were added."""
    return sum(insert_if_absent(session, Delivery, {
        "run_id": run_id, "platform": platform, "chat_external_id": chat_id,
        "state": DeliveryState.PENDING})
        for platform, chat_id in targets)


def claim(session: Session, platform: str, now: dt.datetime, limit: int,
          claimed_by: int | None = None) -> list[Delivery]:
    """Take up to `limit` pending rows for one sender (marked with its lock's id).

    PostgreSQL: rows another sender holds are skipped (FOR UPDATE SKIP LOCKED), so several
    processes drain one outbox without sending anything twice. SQLite: the transaction is
    IMMEDIATE, so claims are serialized.
    """
    ready = (Delivery.not_before.is_(None)) | (Delivery.not_before <= now)
    rows = list(session.scalars(
        select(Delivery).where(Delivery.platform == platform,
                               Delivery.state == DeliveryState.PENDING, ready)
        .order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        states.move(row, DeliveryState.SENDING)
        row.claimed_at, row.claimed_by, row.attempts = now, claimed_by, row.attempts + 1
    session.flush()
    return rows


def mark_sent_many(session: Session, sent: Sequence[tuple[int, str]],
                   now: dt.datetime) -> None:
    """Mark many rows sent in one statement: (delivery id, message id) each.

    Objects of these rows already loaded into the session are not updated: expire them."""
    if not sent:
        return
    states.check(Delivery, (DeliveryState.SENDING,), DeliveryState.SENT)
    table = cast(Table, Delivery.__table__)
    statement = (update(table)
                 .where(table.c.id == bindparam("row"), table.c.state == DeliveryState.SENDING)
                 .values(state=DeliveryState.SENT, message_id=bindparam("message"), sent_at=now,
                         error=""))
    session.connection().execute(statement, [{"row": row, "message": message}
                                             for row, message in sent])


def _move_sending(session: Session, new: DeliveryState, *conditions: Any,
                  **values: object) -> int:
    """Move rows a sender claimed (sending) to `new`; returns how many moved."""
    states.check(Delivery, (DeliveryState.SENDING,), new)
    result = session.execute(update(Delivery).where(Delivery.state == DeliveryState.SENDING,
                                                    *conditions).values(state=new, **values))
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(session: Session, delivery_id: int, error: str) -> None:
    _move_sending(session, DeliveryState.FAILED, Delivery.id == delivery_id, error=error[:200])


def retry_later(session: Session, delivery_id: int, not_before: dt.datetime,
                error: str) -> None:
    _move_sending(session, DeliveryState.PENDING, Delivery.id == delivery_id,
                  not_before=not_before, error=error[:200])


def release_stale(session: Session, claimed_before: dt.datetime) -> int:
    """Rows claimed by a sender that died: back to pending (they were not marked sent)."""
    return _move_sending(session, DeliveryState.PENDING, Delivery.claimed_at < claimed_before)


def release_of_dead_senders(session: Session, me: int | None) -> int:
    """Rows claimed by a sender whose lock is free (its process is gone): back to pending at
    once. PostgreSQL only; the probe takes the dead sender's lock for this transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    others: list[ColumnElement[bool]] = [Delivery.claimed_by.is_not(None)]
    if me is not None:
        others.append(Delivery.claimed_by != me)
    # The same key as bot/singleton.py's sender locks.
    sender_free = func.pg_try_advisory_xact_lock(
        func.hashtext(func.concat("jinlin-sender:", func.current_schema())), Delivery.claimed_by)
    return _move_sending(session, DeliveryState.PENDING, *others, sender_free, claimed_by=None)


def progress(session: Session, run_id: int) -> Progress:
    rows = {state: count for state, count in session.execute(
        select(Delivery.state, func.count()).where(Delivery.run_id == run_id)
        .group_by(Delivery.state))}
    return Progress(sum(rows.values()), rows.get(DeliveryState.SENT, 0),
                    rows.get(DeliveryState.FAILED, 0))


def failed_rows(session: Session, run_id: int) -> Sequence[Delivery]:
    return session.scalars(select(Delivery).where(Delivery.run_id == run_id,
                                                  Delivery.state == DeliveryState.FAILED)
                           .order_by(Delivery.id)).all()


def deliveries(session: Session, ids: Sequence[int]) -> Sequence[Delivery]:
    """Outbox rows by id."""
    return session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()


def finish_run(session: Session, run_id: int, now: dt.datetime) -> bool:
    """Mark a run done once all its rows are final; False when it already was."""
    states.check(NoticeRun, (RunState.SENDING,), RunState.DONE)
    result = session.execute(update(NoticeRun).where(NoticeRun.id == run_id,
                                                     NoticeRun.state == RunState.SENDING)
                             .values(state=RunState.DONE, finished_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def acknowledge(session: Session, run_id: int, person_id: int, chat_id: int | None,
                now: dt.datetime) -> bool:
    """Record a 收到 tap; False when this person had already acknowledged."""
    return insert_if_absent(session, Ack, {"run_id": run_id, "person_id": person_id,
                                           "chat_id": chat_id, "at": now})


def run_of_message(session: Session, platform: str, chat_id: str,
                   message_id: str) -> int | None:
    """The run whose notice was sent to this chat as this message, if it was one."""
    return session.scalar(select(Delivery.run_id).where(
        Delivery.platform == platform, Delivery.chat_external_id == chat_id,
        Delivery.message_id == message_id, Delivery.state == DeliveryState.SENT).limit(1))


def latest_sent(session: Session, platform: str,
                chat_id: str) -> tuple[int, dt.datetime] | None:
    """(run id, sent at) of the newest notice sent to this chat, if any."""
    row = session.execute(select(Delivery.run_id, Delivery.sent_at).where(
        Delivery.platform == platform, Delivery.chat_external_id == chat_id,
        Delivery.state == DeliveryState.SENT, Delivery.sent_at.is_not(None))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None and row[1] is not None else None


def reached(session: Session, run_id: int, chats: Collection[tuple[str, str]]) -> bool:
    """Whether the run had a row for one of these (platform, chat id)."""
    if not chats:
        return False
    rows = session.execute(select(Delivery.platform, Delivery.chat_external_id).where(
        Delivery.run_id == run_id,
        Delivery.chat_external_id.in_([chat for _platform, chat in chats])))
    return any((platform, chat) in chats for platform, chat in rows)


def latest_to(session: Session, platform: str, chat_id: str) -> int | None:
    """The run of the newest notice addressed to this chat, delivered or not."""
    return session.scalar(select(Delivery.run_id).where(
        Delivery.platform == platform, Delivery.chat_external_id == chat_id)
        .order_by(Delivery.id.desc()).limit(1))


def by_channel(session: Session, run_id: int) -> list[tuple[str, str, int]]:
    """(platform, state, count) of a run's rows; a template message counts as its own
    channel ("wechat_template", from the message id its sender recorded)."""
    return by_channel_of(session, [run_id])[run_id]


def by_channel_of(session: Session,
                  run_ids: Collection[int]) -> dict[int, list[tuple[str, str, int]]]:
    """`by_channel` of several runs, in one query for all of them."""
    template = func.coalesce(Delivery.message_id, "").like(f"{TEMPLATE}%")
    rows = session.execute(select(Delivery.run_id, Delivery.platform, Delivery.state, template,
                                  func.count()).where(Delivery.run_id.in_(run_ids))
                           .group_by(Delivery.run_id, Delivery.platform, Delivery.state,
                                     template))
    counts: dict[int, dict[tuple[str, str], int]] = {run_id: {} for run_id in run_ids}
    for run_id, platform, state, by_template, count in rows:
        channel = f"{platform}_template" if by_template else platform
        of_run = counts[run_id]
        of_run[channel, str(state)] = of_run.get((channel, str(state)), 0) + count
    return {run_id: [(channel, state, count) for (channel, state), count in sorted(of.items())]
            for run_id, of in counts.items()}


def progress_of(rows: Sequence[tuple[str, str, int]]) -> Progress:
    """A run's progress from its `by_channel` rows."""
    def count(state: DeliveryState) -> int:
        return sum(n for _channel, shown, n in rows if shown == state)

    return Progress(sum(n for *_, n in rows), count(DeliveryState.SENT),
                    count(DeliveryState.FAILED))


# The message id a sender records for a notice that went as a template message.
TEMPLATE = "template:"


def fail_pending(session: Session, run_id: int, platforms: Collection[str],
                 error: str) -> int:
    """Rows of a run on platforms no sender serves: failed at once, never left pending."""
    rows = session.scalars(select(Delivery).where(
        Delivery.run_id == run_id, Delivery.platform.in_(platforms),
        Delivery.state == DeliveryState.PENDING)).all()
    for row in rows:
        states.move(row, DeliveryState.SENDING)
        states.move(row, DeliveryState.FAILED)
        row.error = error[:200]
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class Tap:
    """Who tapped 收到, and in which chat (None: privately)."""

    person_id: int
    chat_id: int | None


def taps_of(session: Session, run_ids: Collection[int]) -> dict[int, list[Tap]]:
    """Each run's 收到 taps, oldest first, in one query for all of the runs."""
    found: dict[int, list[Tap]] = {run_id: [] for run_id in run_ids}
    for run_id, person_id, chat_id in session.execute(
            select(Ack.run_id, Ack.person_id, Ack.chat_id).where(Ack.run_id.in_(run_ids))
            .order_by(Ack.at, Ack.id)):
        found[run_id].append(Tap(person_id, chat_id))
    return found


def acks(session: Session, run_id: int) -> Sequence[Ack]:
    return session.scalars(select(Ack).where(Ack.run_id == run_id).order_by(Ack.at)).all()
