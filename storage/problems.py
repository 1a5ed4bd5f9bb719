"""Problem reports (反映): the secretary's triage steps, each a conditional status change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import states
from storage.models import PROBLEM_PENDING, ProblemReport, ProblemStatus


def create(session: Session, *, branch_id: int, reporter_id: int, text: str,
           now: dt.datetime) -> ProblemReport:
    report = ProblemReport(branch_id=branch_id, reporter_id=reporter_id, text=text,
                           status=ProblemStatus.NEW, created_at=now, updated_at=now)
    session.add(report)
    session.flush()
    return report


def open_of_branch(session: Session, branch_id: int) -> Sequence[ProblemReport]:
    """A branch's reports still waiting for an outcome, oldest first."""
    return session.scalars(select(ProblemReport).where(
        ProblemReport.branch_id == branch_id, ProblemReport.status.in_(PROBLEM_PENDING))
        .order_by(ProblemReport.created_at, ProblemReport.id)).all()


def get(session: Session, report_id: int) -> ProblemReport | None:
    """The report as stored now (never a stale copy from earlier in the transaction)."""
    return session.get(ProblemReport, report_id, populate_existing=True)


def move(session: Session, report_id: int, olds: tuple[ProblemStatus, ...], new: ProblemStatus,
         now: dt.datetime, **values: Any) -> bool:
    """Move a report from one of `olds` to `new`; False when it was in none of them.
    IllegalMove when the model does not allow the move."""
    states.check(ProblemReport, olds, new)
    result = session.execute(
        update(ProblemReport)
        .where(ProblemReport.id == report_id, ProblemReport.status.in_(olds))
        .values(status=new, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_followed_up(session: Session, report_id: int, now: dt.datetime) -> bool:
    """Note that the reporter was asked "解决了吗?"; False when they were asked before."""
    result = session.execute(
        update(ProblemReport)
        .where(ProblemReport.id == report_id, ProblemReport.status == ProblemStatus.RESOLVED,
               ProblemReport.followed_up_at.is_(None))
        .values(followed_up_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def open_of(session: Session, reporter_id: int) -> Sequence[ProblemReport]:
    """A reporter's reports not yet closed or rejected."""
    return session.scalars(select(ProblemReport).where(
        ProblemReport.reporter_id == reporter_id,
        ProblemReport.status.in_((*PROBLEM_PENDING, ProblemStatus.RESOLVED)))
        .order_by(ProblemReport.id)).all()
