"""Help requests (求助): one helper per request, decided by a conditional UPDATE."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import states
from storage.models import HelpRequest, HelpStatus


def create(session: Session, **fields: object) -> HelpRequest:
    request = HelpRequest(status=HelpStatus.OPEN, **fields)
    session.add(request)
    session.flush()
    return request


def open_of_branch(session: Session, branch_id: int) -> Sequence[HelpRequest]:
    """A branch's requests nobody has finished yet (waiting, or taken), oldest first."""
    return session.scalars(select(HelpRequest).where(
        HelpRequest.branch_id == branch_id,
        HelpRequest.status.in_((HelpStatus.OPEN, HelpStatus.TAKEN)))
        .order_by(HelpRequest.created_at, HelpRequest.id)).all()


def get(session: Session, request_id: int) -> HelpRequest | None:
    """The request as stored now (never a stale copy from earlier in the transaction)."""
    return session.get(HelpRequest, request_id, populate_existing=True)


def _move(session: Session, request_id: int, olds: tuple[HelpStatus, ...],
          new: HelpStatus | None, *conditions: Any, **values: object) -> bool:
    """Move a request from one of `olds` to `new` (None: keep it); False when it was not in
    one of them. IllegalMove when the model does not allow the move.

    One UPDATE … WHERE status IN (…): on PostgreSQL a concurrent change waits for the row and
    then finds the status moved on; on SQLite write transactions are serialized.
    """
    if new is not None:
        states.check(HelpRequest, olds, new)
        values["status"] = new
    result = session.execute(
        update(HelpRequest)
        .where(HelpRequest.id == request_id, HelpRequest.status.in_(olds), *conditions)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def take(session: Session, request_id: int, helper_id: int, now: dt.datetime) -> bool:
    """The helper takes an open request; False when someone was faster."""
    return _move(session, request_id, (HelpStatus.OPEN,), HelpStatus.TAKEN,
                 helper_id=helper_id, taken_at=now)


def mark_done(session: Session, request_id: int, helper_id: int, now: dt.datetime) -> bool:
    """The helper reports it done; False unless they hold it and have not reported yet."""
    return _move(session, request_id, (HelpStatus.TAKEN,), HelpStatus.DONE,
                 HelpRequest.helper_id == helper_id, done_at=now)


def confirm(session: Session, request_id: int, rating: int, now: dt.datetime) -> bool:
    """The requester confirms a reported request and rates it; False if not awaiting that."""
    return _move(session, request_id, (HelpStatus.DONE,), HelpStatus.CLOSED, rating=rating,
                 closed_at=now)


def reopen(session: Session, request_id: int) -> bool:
    """The requester says it is not done: open again, without a helper."""
    return _move(session, request_id, (HelpStatus.DONE,), HelpStatus.OPEN, helper_id=None,
                 taken_at=None, done_at=None)


def cancel(session: Session, request_id: int, now: dt.datetime) -> bool:
    """The requester withdraws a request nobody has finished yet."""
    return _move(session, request_id, (HelpStatus.OPEN, HelpStatus.TAKEN),
                 HelpStatus.CANCELLED, closed_at=now)


def escalate(session: Session, request_id: int, step: int) -> bool:
    """Record an escalation step once, and only while nobody has taken the request."""
    return _move(session, request_id, (HelpStatus.OPEN,), None, HelpRequest.escalation < step,
                 escalation=step)


def held_by(session: Session, helper_id: int) -> Sequence[HelpRequest]:
    """Requests a helper has taken and not yet reported done."""
    return session.scalars(select(HelpRequest).where(
        HelpRequest.helper_id == helper_id, HelpRequest.status == HelpStatus.TAKEN)
        .order_by(HelpRequest.id)).all()


def active_of(session: Session, requester_id: int) -> Sequence[HelpRequest]:
    """A requester's requests that can still be cancelled."""
    return session.scalars(select(HelpRequest).where(
        HelpRequest.requester_id == requester_id,
        HelpRequest.status.in_((HelpStatus.OPEN, HelpStatus.TAKEN)))
        .order_by(HelpRequest.id)).all()
