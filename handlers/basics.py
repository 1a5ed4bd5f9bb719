"""Welcome, help for your role, language choice, and leaving a dialog."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.addressing import Said
from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.i18n import LANGUAGES
from handlers.payloads import ButtonData, StartPayload
from handlers.roles import Role, home_branch, role_in
from handlers.router import Command, Feature, On
from storage import orgs, people

# Where there are no groups (WeChat), help fits in one short message: strictly under this many
# UTF-8 bytes; 更多 gives each command with what it does.
SHORT_HELP_BYTES = 600
# Commands that only make sense in a group, left out of help where there are none.
GROUP_ONLY = ("bind",)
# Platforms without groups (the notices module's list, repeated to keep this module light).
GROUPLESS = ("wechat",)


@dataclass(frozen=True)
class Language(ButtonData, prefix="lang"):
    """A language to switch to, offered to one person."""

    lang: str
    owner: int


@dataclass(frozen=True)
class HelpLink(StartPayload, prefix="help"):
    """The group's help button: the list of commands, privately."""


def start(ctx: Context, _args: str) -> None:
    """Greet the person and show what they can do."""
    ctx.reply("start.welcome", name=ctx.name_of(ctx.person.id))
    if not ctx.in_group and not orgs.communities(ctx.session):
        # While nothing is set up, the account id is what the deployer needs for
        # `python -m bot grant`; afterwards it is only noise (a raw WeChat openid).
        ctx.reply("start.your_id", account=f"{ctx.account.platform}:{ctx.account.external_id}")
    show_help(ctx, "")


def show_help(ctx: Context, _args: str) -> None:
    """List the commands the sender's role allows, with their Chinese keywords; in a group,
    one line with a button that opens the list privately."""
    if ctx.in_group:
        opens = ButtonSpec.of("help.button.open", start_payload=HelpLink())
        ctx.announce("help.in_group", [[opens]])
        return
    role = role_in(ctx, ctx.person.id, home_branch(ctx))
    if ctx.incoming.platform in GROUPLESS:
        _short_help(ctx, role)
        return
    keywords = ctx.catalogs.keywords
    lines = []
    for command in ctx.core.commands_for(role):
        words = ctx.t("list.separator").join(keywords.get(command.name, []))
        key = "help.line_with_keywords" if words else "help.line"
        lines.append(ctx.t(key, command=command.name, keywords=words,
                           what=ctx.t(f"menu.{command.name}")))
    ctx.reply("help.text", role=ctx.t(f"role.{role.code}"), commands="\n".join(lines))


def _commands(ctx: Context, role: Role) -> list[Command]:
    return [c for c in ctx.core.commands_for(role)
            if c.name != "help" and not (ctx.incoming.platform in GROUPLESS
                                         and c.name in GROUP_ONLY)]


def _short_help(ctx: Context, role: Role) -> None:
    """The words one can send, as many as fit in SHORT_HELP_BYTES, ending with 回复「更多」."""
    keywords = ctx.catalogs.keywords
    words = [keywords[c.name][0] for c in _commands(ctx, role) if keywords.get(c.name)]
    role_name, separator = ctx.t(f"role.{role.code}"), ctx.t("list.separator")
    while words and len(ctx.t("help.short", role=role_name, words=separator.join(words))
                        .encode()) >= SHORT_HELP_BYTES:
        words.pop()
    ctx.reply("help.short", role=role_name, words=separator.join(words))


def more_help(ctx: Context, _args: str) -> None:
    """更多: every command one may use, each with its words and what it does."""
    role = role_in(ctx, ctx.person.id, home_branch(ctx))
    keywords = ctx.catalogs.keywords
    lines = []
    for command in _commands(ctx, role):
        words = ctx.t("list.separator").join(keywords.get(command.name, []))
        key = "help.line_words" if words else "help.line"
        lines.append(ctx.t(key, command=command.name, keywords=words,
                           what=ctx.t(f"menu.{command.name}")))
    ctx.reply("help.more", commands="\n".join(lines))


def choose_language(ctx: Context, args: str) -> None:
    """Set the language from the argument, or offer both as buttons."""
    wanted = args.strip().lower()
    if wanted:
        _set_language(ctx, _language_code(ctx, wanted))
        return
    owner = ctx.person.id
    ctx.reply("lang.choose", [[ButtonSpec.of(f"lang.name.{lang}", Language(lang, owner))
                               for lang in LANGUAGES]])


def _language_code(ctx: Context, word: str) -> str:
    """The language a typed word names: a code, or a name listed in either catalog."""
    for lang in LANGUAGES:
        names = {lang.lower(), lang.split("_")[0]}
        for reader in LANGUAGES:
            names |= {n.strip().casefold() for n in
                      ctx.catalogs.get(reader)(f"lang.aliases.{lang}").split(",")}
        if word.casefold() in names:
            return lang
    raise DomainError("unknown_language", language=word[:20])


def language_button(ctx: Context, tapped: Language) -> None:
    """A language button press; only the person who asked may use it."""
    lang = tapped.lang
    if lang not in LANGUAGES:
        raise DomainError("button_expired")
    if tapped.owner != ctx.person.id:
        raise DomainError("not_your_button")
    _set_language(ctx, lang, edit=True)


def _set_language(ctx: Context, lang: str, *, edit: bool = False) -> None:
    people.set_language(ctx.session, ctx.person.id, lang)
    ctx.person.lang = lang
    if edit:
        ctx.edit("lang.set")
    else:
        ctx.reply("lang.set")


# "语言 中文", "语言 en": a language's code or one of its names, as /lang accepts them.
_LANGUAGE_WORD = re.compile(r"zh|en|zh_cn|zh-cn|cn|中文|汉语|简体中文|英文|英语|english|chinese",
                            re.IGNORECASE)


def _language_word(said: Said) -> bool:
    return not said.args or _LANGUAGE_WORD.fullmatch(said.args.strip()) is not None


FEATURE = Feature(
    commands=[
        Command("start", start, in_menu=False),
        Command("help", show_help),
        Command("more", more_help, in_menu=False),
        Command("lang", choose_language, takes=_language_word),
    ],
    buttons=[On(Language, language_button)],
    start_payloads=[On(HelpLink, lambda ctx, _link: show_help(ctx, ""))],
)
