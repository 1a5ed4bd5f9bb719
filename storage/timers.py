"""Timers features set for later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import Timer, TimerState


def schedule(session: Session, kind: str, ref: str, due_at: dt.datetime) -> bool:
    """Set a timer once; False when the same (kind, ref) was already set."""
    return insert_if_absent(session, Timer, {"kind": kind, "ref": ref, "due_at": due_at,
                                             "state": TimerState.PENDING})


def move(session: Session, kind: str, ref: str, due_at: dt.datetime) -> None:
    """Set a timer to `due_at`, pending again; created when absent."""
    if not schedule(session, kind, ref, due_at):
        session.execute(update(Timer).where(Timer.kind == kind, Timer.ref == ref)
                        .values(due_at=due_at, state=TimerState.PENDING, fired_at=None))


def drop(session: Session, kind: str, ref: str) -> None:
    """A timer that must no longer fire (its moment moved into the past): done, unfired."""
    session.execute(update(Timer).where(Timer.kind == kind, Timer.ref == ref,
                                        Timer.state == TimerState.PENDING)
                    .values(state=TimerState.DONE))


def pending(session: Session, kind: str) -> Sequence[Timer]:
    """The timers of `kind` still to fire."""
    return session.scalars(select(Timer).where(Timer.kind == kind,
                                               Timer.state == TimerState.PENDING)
                           .order_by(Timer.due_at)).all()


def due(session: Session, now: dt.datetime, limit: int = 100) -> Sequence[Timer]:
    """Pending timers whose moment has come, oldest first."""
    return session.scalars(select(Timer).where(Timer.state == TimerState.PENDING,
                                               Timer.due_at <= now)
                           .order_by(Timer.due_at, Timer.id).limit(limit)).all()


def claim(session: Session, timer_id: int, now: dt.datetime) -> bool:
    """Mark a timer fired; False when another worker fired it first."""
    result = session.execute(update(Timer).where(Timer.id == timer_id,
                                                 Timer.state == TimerState.PENDING)
                             .values(state=TimerState.DONE, fired_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def next_due(session: Session) -> dt.datetime | None:
    return session.scalar(select(Timer.due_at).where(Timer.state == TimerState.PENDING)
                          .order_by(Timer.due_at).limit(1))



def cancel(session: Session, kinds: Sequence[str], ref: str) -> None:
    """Pending timers of these kinds for `ref` will not fire: what they were for is gone."""
    session.execute(delete(Timer).where(Timer.kind.in_(kinds), Timer.ref == ref,
                                        Timer.state == TimerState.PENDING))
