"""Where the bot's cards were posted on each platform, so features can edit them in place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import PostedMessage


def record(session: Session, ref: str, platform: str, chat_id: str, message_id: str) -> None:
    """Remember where a card was posted (the first posting per chat wins)."""
    insert_if_absent(session, PostedMessage, {"ref": ref, "platform": platform,
                                              "chat_external_id": chat_id,
                                              "message_id": message_id})


def messages(session: Session, ref: str) -> Sequence[PostedMessage]:
    """Every place the card `ref` was posted, in the order it was posted."""
    return session.scalars(select(PostedMessage).where(PostedMessage.ref == ref)
                           .order_by(PostedMessage.id)).all()
