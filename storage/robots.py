"""WeCom group robots (企业微信群机器人) registered by a branch; their webhook keys are secrets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import WecomRobot


def add(session: Session, branch_id: int, name: str, key: str, created_by: int,
        now: dt.datetime, mention_all: bool = False) -> WecomRobot:
    robot = WecomRobot(branch_id=branch_id, name=name, webhook_key=key, created_by=created_by,
                       created_at=now, mention_all=mention_all)
    session.add(robot)
    session.flush()
    return robot


def of_branches(session: Session, branch_ids: Iterable[int]) -> Sequence[WecomRobot]:
    """The robots still registered for these branches, oldest first."""
    return session.scalars(select(WecomRobot).where(
        WecomRobot.branch_id.in_(list(branch_ids)), WecomRobot.removed_at.is_(None))
        .order_by(WecomRobot.id)).all()


def named(session: Session, branch_id: int, name: str) -> WecomRobot | None:
    return session.scalar(select(WecomRobot).where(
        WecomRobot.branch_id == branch_id, WecomRobot.name == name,
        WecomRobot.removed_at.is_(None)).limit(1))


def with_key(session: Session, branch_id: int, key: str) -> WecomRobot | None:
    return session.scalar(select(WecomRobot).where(
        WecomRobot.branch_id == branch_id, WecomRobot.webhook_key == key,
        WecomRobot.removed_at.is_(None)).limit(1))


def get(session: Session, robot_id: int) -> WecomRobot | None:
    return session.get(WecomRobot, robot_id)


def keys(session: Session, robot_ids: Iterable[int]) -> dict[int, str]:
    """The webhook key of each robot that is still registered."""
    rows = session.execute(select(WecomRobot.id, WecomRobot.webhook_key).where(
        WecomRobot.id.in_(list(robot_ids)), WecomRobot.removed_at.is_(None)))
    return {robot_id: key for robot_id, key in rows}


def mentioning_all(session: Session, robot_ids: Iterable[int]) -> set[int]:
    """Which of these robots mention everyone (@all) with each notice."""
    return set(session.scalars(select(WecomRobot.id).where(
        WecomRobot.id.in_(list(robot_ids)), WecomRobot.mention_all.is_(True))))


def remove(robot: WecomRobot, now: dt.datetime) -> None:
    """Unregister a robot; its key is wiped, as nothing will use it again."""
    robot.removed_at, robot.webhook_key = now, ""
