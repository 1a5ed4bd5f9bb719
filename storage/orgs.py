"""Communities, branches and the chats bound to them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Branch, Chat, Community


def ensure_chat(session: Session, platform: str, external_id: str, kind: str,
                title: str | None) -> Chat:
    """The chat row for a platform chat, created on first sight."""
    chat = find_chat(session, platform, external_id)
    if chat is None:
        try:
            with session.begin_nested():
                chat = Chat(platform=platform, external_id=external_id, kind=kind)
                session.add(chat)
        except IntegrityError:  # a concurrent update saw this chat first
            chat = find_chat(session, platform, external_id)
            assert chat is not None
    if title:
        chat.title = title[:200]
    session.flush()
    return chat


def find_chat(session: Session, platform: str, external_id: str) -> Chat | None:
    return session.scalar(
        select(Chat).where(Chat.platform == platform, Chat.external_id == external_id))


def group_chats_on(session: Session, platform: str) -> Sequence[Chat]:
    return session.scalars(select(Chat).where(
        Chat.platform == platform, Chat.kind == "group").order_by(Chat.id)).all()


def community_by_name(session: Session, name: str) -> Community | None:
    return session.scalar(select(Community).where(Community.name == name))


def create_community(session: Session, name: str) -> Community:
    community = Community(name=name)
    session.add(community)
    session.flush()
    return community


def communities(session: Session) -> Sequence[Community]:
    return session.scalars(select(Community).order_by(Community.id)).all()


def create_branch(session: Session, community_id: int, name: str) -> Branch:
    branch = Branch(community_id=community_id, name=name)
    session.add(branch)
    session.flush()
    return branch


def branches(session: Session, community_id: int | None = None) -> Sequence[Branch]:
    query = select(Branch).order_by(Branch.id)
    if community_id is not None:
        query = query.where(Branch.community_id == community_id)
    return session.scalars(query).all()


def branch(session: Session, branch_id: int) -> Branch | None:
    return session.get(Branch, branch_id)


def branch_by_name(session: Session, name: str) -> Branch | None:
    return session.scalar(select(Branch).where(Branch.name == name).order_by(Branch.id))


def bind_chat(session: Session, chat: Chat, branch_id: int) -> None:
    chat.branch_id = branch_id
    session.flush()


def chats_of_branch(session: Session, branch_id: int) -> Sequence[Chat]:
    return session.scalars(
        select(Chat).where(Chat.branch_id == branch_id).order_by(Chat.id)).all()


def chat(session: Session, chat_id: int) -> Chat | None:
    return session.get(Chat, chat_id)
