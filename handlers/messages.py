"""Platform-neutral messages: what adapters hand to features and what features hand back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True)
class Sender:
    """One platform account as the platform shows it."""

    platform: str
    external_id: str
    display_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Document:
    """A file sent to the bot: its name as the sender gave it, and its bytes."""

    file_name: str
    data: bytes


@dataclass(frozen=True)
class Incoming:
    """One update from a platform, already translated by its adapter.

    `text` is what the person wrote, with the adapter's own mention of the bot removed
    and a slash command's `@botname` suffix stripped. `button_data` is set instead of
    `text` when a button was pressed; `message_id` is then the message carrying it.
    `reply_to_message_id` is the id of the message this one replies to (its author is
    `reply_to`), as the platform numbers messages in this chat.
    """

    platform: str
    chat_id: str
    chat_kind: ChatKind
    sender: Sender
    text: str = ""
    button_data: str | None = None
    message_id: str | None = None
    update_key: str | None = None
    mentioned: bool = False
    reply_to_bot: bool = False
    reply_to: Sender | None = None
    reply_to_message_id: str | None = None
    mentions: tuple[str, ...] = ()
    chat_title: str | None = None
    document: Document | None = None


@dataclass(frozen=True)
class Button:
    """A button: `data` is sent back when pressed; `start_payload` opens a private chat
    with the bot carrying that payload (a Telegram deep link); `url` opens a page;
    `web_app`, where the platform has them (a Telegram Mini App in a private chat), opens
    that page inside the chat app instead of `url`."""

    label: str
    data: str | None = None
    start_payload: str | None = None
    url: str | None = None
    web_app: str | None = None


@dataclass
class Outgoing:
    """One message to one chat (a group, or a person's private chat).

    `edit_message_id` replaces that message's text instead of sending a new one.
    `toast` marks the answer to a button press (a pop-up on Telegram).
    `qr_payload` asks the adapter for a QR code image that opens a private chat with the bot
    carrying this payload (a deep link on Telegram), with `text` as its caption.
    `ref` names a card the core will want to edit later: the adapter reports the message id
    it got back through `Core.record_posted`.
    `document` is a file to send, with `text` as its caption.
    `fallback` is the short group line to post instead when the platform refuses a private
    message (the person never opened a chat with the bot); it never carries the content.
    `outbox_id` is the reply outbox row keeping this answer until it is sent, when answers
    are kept (handlers/replies.py).
    """

    platform: str
    chat_id: str
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    image: bytes | None = None
    edit_message_id: str | None = None
    toast: bool = False
    qr_payload: str | None = None
    ref: str | None = None
    document: Document | None = None
    fallback: Outgoing | None = None
    outbox_id: int | None = None
