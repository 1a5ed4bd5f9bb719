"""Deciding which feature an update is for, and whether the bot should speak at all.

In a group the bot reacts only when addressed: a slash command, a message starting with a
keyword, a mention, a reply to the bot, or a button. In a private chat an open dialog takes
plain text first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from handlers.context import Context, Scope
from handlers.roles import Role
from storage import dialogs

CommandHandler = Callable[[Context, str], None]
TimerHandler = Callable[[Scope, str], None]
ButtonHandler = Callable[[Context, list[str]], None]
StepHandler = Callable[[Context, str], None]

MAX_COMMAND_TEXT = 2000


@dataclass(frozen=True)
class Command:
    """A command: its slash name, who sees it in /help, and what it does with its arguments."""

    name: str
    handler: CommandHandler
    role: Role = Role.RESIDENT
    in_menu: bool = True


@dataclass
class Feature:
    """What one handlers/ module contributes to the router."""

    commands: list[Command] = field(default_factory=list)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    dialogs: dict[str, StepHandler] = field(default_factory=dict)
    start_payloads: dict[str, CommandHandler] = field(default_factory=dict)
    timers: dict[str, TimerHandler] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    kind: str
    target: str
    args: str = ""


class Router:
    """Matches updates to features; keyword matching prefers the longest keyword."""

    def __init__(self, features: list[Feature], keywords: dict[str, list[str]]) -> None:
        self.commands: dict[str, Command] = {}
        self.buttons: dict[str, ButtonHandler] = {}
        self.dialogs: dict[str, StepHandler] = {}
        self.start_payloads: dict[str, CommandHandler] = {}
        self.timers: dict[str, TimerHandler] = {}
        for feature in features:
            self.commands.update({c.name: c for c in feature.commands})
            self.buttons.update(feature.buttons)
            self.dialogs.update(feature.dialogs)
            self.start_payloads.update(feature.start_payloads)
            self.timers.update(feature.timers)
        pairs = [(normalize(word), name) for name, words in keywords.items() for word in words
                 if name in self.commands]
        self.keywords = sorted(pairs, key=lambda pair: -len(pair[0]))

    def route(self, ctx: Context) -> Route | None:
        """Where this update goes, or None when the bot should stay silent."""
        incoming = ctx.incoming
        if incoming.button_data is not None:
            return Route("button", incoming.button_data)
        text = incoming.text.strip()
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return Route("command", name.lower(), args.strip())
        keyword_route = self._keyword(text)
        if not ctx.in_group:
            dialog = dialogs.current(ctx.session, ctx.person.id)
            # Inside a dialog only a bare keyword leaves it: "签到王" may well be a name.
            if dialog is not None and (keyword_route is None or keyword_route.args):
                return Route("dialog", dialog.name, text)
            return keyword_route or Route("unknown", text)
        if keyword_route is not None:
            return keyword_route
        addressed = incoming.mentioned or incoming.reply_to_bot
        return Route("unknown", text) if addressed else None

    def _keyword(self, text: str) -> Route | None:
        normalized = normalize(text)
        for word, name in self.keywords:
            if normalized.startswith(word):
                return Route("command", name, text[len(word):].strip(" ：:，,"))
        return None


def normalize(text: str) -> str:
    """Full-width letters and digits folded (NFKC), case folded, outer spaces removed."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def int_arg(args: list[str], index: int, refusal: str = "button_expired") -> int:
    """A whole-number part of button data or a link; a forged or stale one is refused."""
    from handlers.errors import DomainError

    try:
        return int(args[index])
    except (IndexError, ValueError):
        raise DomainError(refusal) from None


def run_subcommand(ctx: Context, args: str, table: Mapping[str, CommandHandler]) -> bool:
    """`<word> <rest>`: run table[word] on rest; False when the first word names none of them."""
    word, _, rest = args.partition(" ")
    handler = table.get(word.lower())
    if handler is None:
        return False
    handler(ctx, rest.strip())
    return True
