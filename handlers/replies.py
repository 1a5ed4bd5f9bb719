"""Durable replies: an update's answers kept in the reply outbox (storage/replies.py) in the
very transaction that records the update as handled, so that the process dying before it
sent them loses none; the adapter sends them and reports what became of each (bot/replies.py).

Only what is worth keeping is kept: a button's toast is either answered at once or not at
all (Telegram drops a late answer).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from handlers.messages import Button, Document, Outgoing
from storage import replies

MAX_ATTEMPTS = 5


def keep(session: Session, answers: Sequence[Outgoing], platforms: frozenset[str],
         claimed_by: int | None, now: dt.datetime) -> None:
    """Keep each answer for one of `platforms` (its `outbox_id` set), claimed by
    `claimed_by`."""
    kept = [out for out in answers if out.platform in platforms and not out.toast]
    if not kept:
        return
    ids = replies.keep(session, [(out.platform, out.chat_id, encode(out)) for out in kept],
                       claimed_by, now)
    for out, row_id in zip(kept, ids, strict=True):
        out.outbox_id = row_id


def claim(session: Session, platform: str, now: dt.datetime, limit: int,
          claimed_by: int | None) -> list[Outgoing]:
    """Kept answers whose sender is gone or that wait for another try, oldest first; one
    tried MAX_ATTEMPTS times is given up."""
    return [_with_id(decode(row.message), row.id)
            for row in replies.claim(session, platform, now, limit, claimed_by, MAX_ATTEMPTS)]


def settle(session: Session, done: Sequence[int], retry: Sequence[tuple[int, float]],
           now: dt.datetime) -> None:
    """Forget what was sent (or refused for good); try the others again after their pause
    (in seconds)."""
    replies.settle(session, done, [(row_id, now + dt.timedelta(seconds=seconds))
                                   for row_id, seconds in retry])


def _with_id(out: Outgoing, row_id: int) -> Outgoing:
    out.outbox_id = row_id
    return out


def encode(out: Outgoing) -> dict[str, Any]:
    """A message as JSON: bytes in base64, buttons as lists."""
    return {
        "platform": out.platform, "chat_id": out.chat_id, "text": out.text,
        "buttons": [[vars(button) for button in row] for row in out.buttons],
        "image": _b64(out.image), "edit_message_id": out.edit_message_id,
        "qr_payload": out.qr_payload, "ref": out.ref,
        "document": None if out.document is None else {
            "file_name": out.document.file_name, "data": _b64(out.document.data)},
        "fallback": None if out.fallback is None else encode(out.fallback)}


def decode(data: dict[str, Any]) -> Outgoing:
    """The message `encode` made."""
    document = data["document"]
    return Outgoing(
        data["platform"], data["chat_id"], data["text"],
        buttons=[[Button(**button) for button in row] for row in data["buttons"]],
        image=_bytes(data["image"]), edit_message_id=data["edit_message_id"],
        qr_payload=data["qr_payload"], ref=data["ref"],
        document=None if document is None else Document(document["file_name"],
                                                        _bytes(document["data"]) or b""),
        fallback=None if data["fallback"] is None else decode(data["fallback"]))


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def release_of_dead_senders(session: Session, me: int | None) -> int:
    """Kept answers claimed by senders known to be dead go back to the outbox at once."""
    return replies.release_of_dead_senders(session, me)
