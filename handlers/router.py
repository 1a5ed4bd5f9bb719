"""Deciding which feature an update is for, and whether the bot should speak at all.

In a group the bot reacts only when addressed: a slash command, a message that *is* a command
(handlers/addressing.py), a mention, a reply to the bot, or a button; everything else is
chatter and is decided on before anything is written. In a private chat an open form takes
plain text and numbers; a command typed over it runs and the form waits (handlers/forms.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from handlers import addressing
from handlers.addressing import Grammar, Said
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Catalogs
from handlers.messages import Incoming
from handlers.payloads import MAX_DIGITS, ButtonData, Payload, StartPayload
from handlers.personal import PersonalData, Reference
from handlers.roles import Role

if TYPE_CHECKING:
    from handlers.forms import Form

CommandHandler = Callable[[Context, str], None]
TimerHandler = Callable[[Scope, str], None]
P = TypeVar("P", bound=Payload)
# How close a message must come to a keyword for "你是想「签到」吗？" (rapidfuzz partial ratio).
SUGGEST_CUTOFF = 80


@dataclass(frozen=True)
class Command:
    """A command: its slash name, who sees it in /help, and what it does with its arguments."""

    name: str
    handler: CommandHandler
    role: Role = Role.RESIDENT
    in_menu: bool = True
    # Which arguments make "<keyword> <argument>" a command (addressing.py); by default only
    # the keyword alone is one.
    takes: Grammar = addressing.nothing


@dataclass(frozen=True)
class On(Generic[P]):
    """A kind of button data or start payload, and the handler that is given it unpacked."""

    kind: type[P]
    handler: Callable[[Context, P], None]


class DuplicateKey(Exception):
    """Two features claim the same command, keyword, button, payload prefix, form or timer."""


@dataclass
class Feature:
    """What one handlers/ module contributes to the router."""

    commands: list[Command] = field(default_factory=list)
    buttons: list[On[Any]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    start_payloads: list[On[Any]] = field(default_factory=list)
    timers: dict[str, TimerHandler] = field(default_factory=dict)
    # What the feature stores about people, and what /forget does to it (handlers/personal.py).
    personal: list[PersonalData | Reference] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """Where an update goes; `interrupts` names the open form a command is typed over."""

    kind: str
    target: str
    args: str = ""
    interrupts: str | None = None


class Router:
    """Matches updates to features; keyword matching prefers the longest keyword."""

    def __init__(self, features: list[Feature], keywords: dict[str, list[str]],
                 vocabulary: Mapping[str, Mapping[str, list[str]]] | None = None) -> None:
        self.vocabulary = vocabulary or {}
        self.commands = _claimed("command", ((c.name, c) for f in features for c in f.commands))
        self.buttons = _claimed("button", ((on.kind.prefix, on) for f in features
                                           for on in f.buttons))
        self.start_payloads = _claimed("start payload", ((on.kind.prefix, on) for f in features
                                                         for on in f.start_payloads))
        self.forms = _claimed("form", ((form.name, form) for f in features for form in f.forms))
        self.timers = _claimed("timer", (pair for f in features for pair in f.timers.items()))
        declared = [entry for f in features for entry in f.personal]
        self.personal = [e for e in declared if isinstance(e, PersonalData)]
        self.references = [e for e in declared if isinstance(e, Reference)]
        words = _claimed("keyword", {(normalize(word), name) for name, words in keywords.items()
                                     for word in words if name in self.commands})
        self.keywords = sorted(words.items(), key=lambda pair: -len(pair[0]))

    def button(self, data: str) -> tuple[On[Any], Payload]:
        """The handler a tapped button's data is for, and the data unpacked."""
        on = self.buttons.get(data.split(ButtonData.separator, 1)[0])
        if on is None:
            raise DomainError(ButtonData.refusal)
        return on, on.kind.unpack(data)

    def start_payload(self, text: str) -> tuple[On[Any], Payload]:
        """The handler a deep link's payload (/start <payload>) is for, and it unpacked."""
        on = self.start_payloads.get(text.split(StartPayload.separator, 1)[0])
        if on is None:
            raise DomainError(StartPayload.refusal)
        return on, on.kind.unpack(text)

    def route(self, ctx: Context) -> Route | None:
        """Where this update goes, or None when the bot should stay silent."""
        incoming = ctx.incoming
        if ctx.in_group or incoming.button_data is not None:
            return self.route_group(incoming, ctx.session)
        text = incoming.text.strip()
        return self._private(ctx, text)

    def route_group(self, incoming: Incoming, session: Session | None) -> Route | None:
        """Where a group message goes, or None for chatter; reads, never writes."""
        if incoming.button_data is not None:
            return Route("button", incoming.button_data)
        text = incoming.text.strip()
        if text.startswith("/"):
            return _slash(text)
        keyword_route = self._keyword(text, incoming, session)
        if keyword_route is not None:
            return keyword_route
        if not (incoming.mentioned or incoming.reply_to_bot):
            return None
        if normalize(text) in self.commands:
            # "@bot help": a command's own name is a command when the bot is addressed.
            return Route("command", normalize(text))
        bare = normalize(addressing.strip_trailing(text))
        if not bare or _REACTION.fullmatch(bare):
            return None  # "👍", "好的", "谢谢" under one of the bot's messages
        return Route("unknown", text)

    def _private(self, ctx: Context, text: str) -> Route:
        """A private chat: the open form takes the text unless it is a command or a word
        that steers the form (上一步, 放弃, 修改, 继续)."""
        from handlers import forms

        command = _slash(text) if text.startswith("/") else self._keyword(text)
        dialog = ctx.open_form
        if dialog is None:
            return command or Route("unknown", text)
        form = self.forms.get(dialog.name)
        if form is None or not form.has_step(dialog.step):
            return Route("dead_form", dialog.name, text)
        steer = forms.control_word(ctx, text, dialog)
        if steer is not None:
            return Route("form", *steer)
        if command is not None:
            resuming = command.target == "resume" or (command.target == "start"
                                                      and command.args == "resume")
            return command if resuming else replace(command, interrupts=dialog.name)
        if forms.is_paused(dialog):
            return Route("form", "paused", text)
        return Route("form", "answer", text)

    def nearest_keyword(self, text: str) -> str | None:
        """The keyword a message not understood comes closest to ("签到的时候…" → 签到)."""
        found = process.extractOne(normalize(text), [word for word, _ in self.keywords],
                                   scorer=fuzz.partial_ratio, score_cutoff=SUGGEST_CUTOFF)
        return found[0] if found else None

    def _keyword(self, text: str, incoming: Incoming | None = None,
                 session: Session | None = None) -> Route | None:
        """The command this message *is*, if any (see handlers/addressing.py)."""
        found = addressing.split(text, self.keywords)
        if found is None:
            return None
        name, separator, args = found
        # In a group the command's grammar decides; privately the bot answers anyway, and the
        # command itself says what it could not use.
        if incoming is not None and not self.commands[name].takes(
                Said(incoming, args, separator, session, self.vocabulary)):
            return None
        return Route("command", name, args)


# Acknowledgements people write under a bot's message; they ask nothing of the bot.
_REACTION = re.compile(r"好的?|好嘞|谢谢|多谢|感谢|收到|嗯+|哦+|ok|okay|thanks?|thank you|"
                       r"了解|明白|知道了|赞|辛苦了?")


def _slash(text: str) -> Route:
    name, _, args = text[1:].partition(" ")
    return Route("command", name.lower(), args.strip())


def normalize(text: str) -> str:
    """Full-width letters and digits folded (NFKC), case folded, outer spaces removed."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


T = TypeVar("T")


def _claimed(what: str, pairs: Iterable[tuple[str, T]]) -> dict[str, T]:
    """The pairs as a dict; DuplicateKey when two claim one key."""
    table: dict[str, T] = {}
    for key, value in pairs:
        if key in table:
            raise DuplicateKey(f"two features claim the {what} {key!r}")
        table[key] = value
    return table


def typed_number(text: str, refusal: str) -> int:
    """A whole number someone typed ("/notice cancel 3"); DomainError(refusal) otherwise."""
    text = text.strip()
    if not (text.isdecimal() and len(text) <= MAX_DIGITS):
        raise DomainError(refusal)
    return int(text)


def run_subcommand(ctx: Context, args: str, table: Mapping[str, CommandHandler],
                   section: str | None = None) -> bool:
    """`<word> <rest>`: run the handler `word` names on rest; False when it names none.

    `table` is keyed by canonical (English) names; with `section`, `word` may also be any of
    that name's words in locales/words.toml ("活动 解除限制" is "activity lift")."""
    parts = args.strip().split(maxsplit=1)
    if not parts:
        return False
    name = normalize(parts[0])
    if name not in table and section is not None:
        name = subcommand(ctx.catalogs, section, parts[0]) or name
    handler = table.get(name)
    if handler is None:
        return False
    handler(ctx, parts[1].strip() if len(parts) > 1 else "")
    return True


def starts_with_subcommand(catalogs: Catalogs, command: str, args: str) -> bool:
    """Whether `args` begins with one of `command`'s subcommand words ("通知 列表")."""
    parts = args.split(maxsplit=1)
    return bool(parts) and subcommand(catalogs, command, parts[0]) is not None


def subcommand(catalogs: Catalogs, section: str, word: str) -> str | None:
    """The canonical name `word` stands for in `section` of locales/words.toml, or None."""
    folded = normalize(word)
    for name, words in catalogs.words.get(section, {}).items():
        if folded == name or folded in (normalize(w) for w in words):
            return name
    return None
