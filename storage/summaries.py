"""What a branch did in a period beyond the points log: claims made, requests and reports
filed, notices sent and how many people tapped 收到."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Ack,
    Claim,
    HelpRequest,
    MemberProfile,
    MemberStatus,
    Notice,
    NoticeRun,
    ProblemReport,
)


@dataclass(frozen=True)
class Filed:
    claims: int
    asked: int
    reported: int
    notices: int
    acks: int


def filed(session: Session, branch_id: int, start: dt.datetime, end: dt.datetime) -> Filed:
    """Counts of claims, help requests and problem reports made in [start, end), notice runs
    started then and the 收到 taps on them."""
    def count(model: type, *where: ColumnElement[bool]) -> int:
        found: int | None = session.scalar(select(func.count()).select_from(model).where(*where))
        return found or 0

    runs = select(NoticeRun.id).join(Notice, Notice.id == NoticeRun.notice_id).where(
        Notice.branch_id == branch_id, NoticeRun.started_at >= start, NoticeRun.started_at < end)
    return Filed(
        claims=count(Claim, Claim.branch_id == branch_id, Claim.claimed_at >= start,
                     Claim.claimed_at < end),
        asked=count(HelpRequest, HelpRequest.branch_id == branch_id,
                    HelpRequest.created_at >= start, HelpRequest.created_at < end),
        reported=count(ProblemReport, ProblemReport.branch_id == branch_id,
                       ProblemReport.created_at >= start, ProblemReport.created_at < end),
        notices=count(NoticeRun, NoticeRun.id.in_(runs)),
        acks=count(Ack, Ack.run_id.in_(runs)))


def members(session: Session, branch_id: int) -> int:
    """Verified members of the branch now (those who moved away are not counted)."""
    return session.scalar(select(func.count()).select_from(MemberProfile).where(
        MemberProfile.branch_id == branch_id,
        MemberProfile.status == MemberStatus.VERIFIED)) or 0
