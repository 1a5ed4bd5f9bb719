"""The console platform: one person plays several users in groups and private chats.

`ConsoleWorld` is a real adapter (tests drive features through it, the same path production
takes); bot/repl.py wraps it in a prompt for people. Buttons show as numbered choices.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.core import Core
from handlers.messages import Button, ChatKind, Document, Incoming, Outgoing, Sender
from handlers.outbox import Result

PLATFORM = "console"


@dataclass
class Shown:
    """A message as it appears in one console chat."""

    chat_id: str
    message_id: str
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    toast: bool = False
    edited: bool = False
    qr_payload: str | None = None
    document: Document | None = None

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    def render(self) -> str:
        lines = [("· " if self.toast else "") + self.text]
        if self.qr_payload:
            # On a phone this is a QR code; here, the text a scan would send.
            lines.append(f"  [QR] /start {self.qr_payload}")
        if self.document:
            lines.append(f"  [file] {self.document.file_name} ({len(self.document.data)} bytes)")
        lines += [f"  [{n}] {b.label}" + (f" → {b.url}" if b.url else "")
                  for n, b in enumerate(self.flat_buttons, start=1)]
        return "\n".join(lines)


class ConsoleWorld:
    """Users, group chats and what each chat shows, around one Core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.users: dict[str, Sender] = {}
        self.groups: dict[str, str] = {}
        self.chats: dict[str, list[Shown]] = {}
        self._ids = itertools.count(1)
        self._messages: dict[str, Shown] = {}

    def user(self, name: str, *, lang: str = "zh-CN", username: str | None = None) -> Sender:
        """A console user; the same name always gives the same account."""
        if name not in self.users:
            external_id = f"u{len(self.users) + 1}"
            self.users[name] = Sender(PLATFORM, external_id, name, username or external_id,
                                      lang)
        return self.users[name]

    def group(self, title: str) -> str:
        """A group chat's id, created on first use."""
        return self.groups.setdefault(title, f"g{len(self.groups) + 1}")

    def private_id(self, name: str) -> str:
        return self.user(name).external_id

    def say(self, name: str, where: str, text: str, *, reply_to: str | None = None,
            reply_to_message: Shown | None = None) -> list[Shown]:
        """`name` writes `text` in group `where` (or "private"); returns what the bot answered.

        `reply_to` names the user whose message this replies to; `reply_to_message` is one of
        the bot's messages it replies to instead."""
        chat_id, kind, title = self._where(name, where)
        sender = self.user(name)
        reply_sender = self.user(reply_to) if reply_to else None
        mentions = tuple(w[1:] for w in text.split() if w.startswith("@") and len(w) > 1)
        return self.deliver(Incoming(
            PLATFORM, chat_id, kind, sender, text=text, reply_to=reply_sender,
            reply_to_bot=reply_to_message is not None,
            reply_to_message_id=reply_to_message.message_id if reply_to_message else None,
            mentions=mentions, chat_title=title, message_id=str(next(self._ids))))

    def send_file(self, name: str, where: str, filename: str, data: bytes,
                  caption: str = "") -> list[Shown]:
        """`name` sends a file (with an optional caption) in `where`; returns the answers."""
        chat_id, kind, title = self._where(name, where)
        return self.deliver(Incoming(PLATFORM, chat_id, kind, self.user(name), text=caption,
                                     document=Document(filename, data), chat_title=title,
                                     message_id=str(next(self._ids))))

    def press(self, name: str, where: str, label: str | int) -> list[Shown]:
        """`name` presses a button (by label or number) on the newest message that has it."""
        chat_id, kind, title = self._where(name, where)
        message, button = self._find_button(chat_id, label)
        if button.start_payload is not None:
            return self.say(name, "private", f"/start {button.start_payload}")
        if button.url is not None:
            return []  # a link opens in the browser; the bot is not involved
        return self.deliver(Incoming(PLATFORM, chat_id, kind, self.user(name),
                                     button_data=button.data, message_id=message.message_id,
                                     chat_title=title))

    def deliver(self, incoming: Incoming) -> list[Shown]:
        """Hand an update to the core and show its answers in their chats."""
        return [self._show(out) for out in self.core.handle(incoming)]

    def seen(self, where: str, name: str | None = None) -> list[Shown]:
        """Everything shown so far in a group, or in `name`'s private chat."""
        chat_id = self.private_id(name) if where == "private" and name else self.group(where)
        return self.chats.get(chat_id, [])

    def _where(self, name: str, where: str) -> tuple[str, ChatKind, str | None]:
        if where == "private":
            return self.private_id(name), ChatKind.PRIVATE, None
        return self.group(where), ChatKind.GROUP, where

    def _find_button(self, chat_id: str, label: str | int) -> tuple[Shown, Button]:
        for message in reversed(self.chats.get(chat_id, [])):
            buttons = message.flat_buttons
            if isinstance(label, int) and 0 < label <= len(buttons):
                return message, buttons[label - 1]
            for button in buttons:
                if button.label == label:
                    return message, button
        raise LookupError(f"no button {label!r} in chat {chat_id}")

    def show_all(self, messages: Iterable[Outgoing]) -> list[Shown]:
        """Show messages sent from elsewhere (the desk's pages) in their chats."""
        return [self._show(out) for out in messages]

    def _show(self, out: Outgoing) -> Shown:
        if out.edit_message_id and out.edit_message_id in self._messages:
            shown = self._messages[out.edit_message_id]
            shown.text, shown.buttons, shown.edited = out.text, out.buttons, True
            return shown
        shown = Shown(out.chat_id, str(next(self._ids)), out.text, out.buttons, out.toast,
                      qr_payload=out.qr_payload, document=out.document)
        self._messages[shown.message_id] = shown
        self.chats.setdefault(out.chat_id, []).append(shown)
        if out.ref:
            self.core.record_posted(out.ref, out.platform, out.chat_id, shown.message_id)
        return shown

    def scan(self, name: str, payload: str) -> list[Shown]:
        """`name` scans a QR code: their phone opens the bot with the code's payload."""
        return self.say(name, "private", f"/start {payload}")

    def run_timers(self) -> list[Shown]:
        """Let the core fire the timers that are due, as the scheduler would."""
        return [self._show(out) for out in self.core.run_due()]

    def drain_outbox(self, limit: int = 100) -> list[Shown]:
        """Send the pending notices for the console, as the outbox sender does on Telegram."""
        shown: list[Shown] = []
        while batch := self.core.outbox_claim(PLATFORM, limit):
            for item in batch:
                sent = self._show(item.message)
                shown.append(sent)
                result = Result(item.delivery_id, message_id=sent.message_id)
                shown += [self._show(o) for o in self.core.outbox_report(result)]
        return shown

    def chat_name(self, chat_id: str) -> str:
        """A readable name for a chat id: a group's title or "private: <user>"."""
        for title, gid in self.groups.items():
            if gid == chat_id:
                return title
        for name, sender in self.users.items():
            if sender.external_id == chat_id:
                return f"private: {name}"
        return chat_id
