"""Whether a message *is* a command: precision first, because a bot that answers chatter is
removed from the group on its first day.

A message is a command when it is a keyword alone ("签到", "签到！", " 签到 👍"), or a keyword,
a separator (a space, ":"/"：", "，") and an argument that the command's own grammar accepts
("报名 清扫楼道" when such an activity exists, "求助：帮忙取快递"). A keyword glued to more words
("签到的时候要带身份证吗"), a question, a keyword inside a sentence: chatter. Deciding needs at
most a read of the database, never a write.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from handlers.fuzzy import best_matches
from handlers.messages import Incoming
from storage import activities, needs, orgs

# A separator between a keyword and its argument. A colon says "here comes the argument" most
# clearly, so free text after it is taken even when it asks something.
_SEPARATOR = re.compile(r"^(?P<sep>[\s:：,，、]+)(?P<rest>.*)$", re.DOTALL)
_COLONS = set(":：")
# Question marks, sentence-final particles and question words: a line with any of them asks
# something of the neighbours, not of the bot.
_QUESTION = re.compile(r"[?？]|[吗呢]|什么|怎么|怎样|多少|为什么|谁|哪|几")
# Emoji and similar symbols, and punctuation, may trail a keyword alone ("签到！", "签到👍").
_TRAILING_CATEGORIES = ("P", "S", "Z", "C")
_QUESTION_MARKS = set("?？")


def fold(text: str) -> str:
    """Full-width letters and digits folded (NFKC), case folded, outer white space removed."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def strip_trailing(text: str) -> str:
    """`text` without trailing punctuation, emoji and spaces (question marks are kept)."""
    end = len(text)
    while end and text[end - 1] not in _QUESTION_MARKS and \
            unicodedata.category(text[end - 1])[0] in _TRAILING_CATEGORIES:
        end -= 1
    return text[:end]


def is_question(text: str) -> bool:
    return _QUESTION.search(text) is not None


@dataclass(frozen=True)
class Said:
    """A keyword message taken apart: what followed the keyword, after which separator."""

    incoming: Incoming | None
    args: str
    separator: str
    session: Session | None = None
    # Section -> subcommand -> its other words (locales/words.toml).
    vocabulary: Mapping[str, Mapping[str, list[str]]] = field(default_factory=dict)

    @property
    def after_colon(self) -> bool:
        return any(ch in _COLONS for ch in self.separator)

    @cached_property
    def branch_id(self) -> int | None:
        """The branch the group is bound to (None in private chats and unbound groups)."""
        if self.session is None or self.incoming is None:
            return None
        chat = orgs.find_chat(self.session, self.incoming.platform, self.incoming.chat_id)
        return chat.branch_id if chat is not None else None


# A command's grammar: whether it accepts this argument. Without a session (a private chat,
# where the bot answers anyway) a grammar judges by the words alone.
Grammar = Callable[[Said], bool]


def nothing(said: Said) -> bool:
    """The command takes no argument: only the keyword alone is a command."""
    return not said.args


def free_text(said: Said) -> bool:
    """Nothing (the command asks), or a request in the person's own words ("求助：帮忙取快递");
    after a space it must not ask."""
    return not said.args or said.after_colon or not is_question(said.args)


def number(said: Said) -> bool:
    """An optional whole number ("帮完了 3")."""
    return not said.args or fold(said.args).isdigit()


def subcommands(section: str) -> Grammar:
    """An optional first word naming one of the command's subcommands ("活动 新建", "通知 list"):
    a canonical name, or one of its words in `section` of locales/words.toml."""

    def grammar(said: Said) -> bool:
        if not said.args:
            return True
        first = fold(said.args).split()[0]
        names = said.vocabulary.get(section, {})
        return any(first == name or first in {fold(w) for w in others}
                   for name, others in names.items())

    return grammar


def first_word(pattern: str | re.Pattern[str]) -> Grammar:
    """An optional first word shaped like `pattern` (a period "2026-11", a language "en")."""
    shape = re.compile(pattern)

    def grammar(said: Said) -> bool:
        return not said.args or bool(shape.fullmatch(fold(said.args).split()[0]))

    return grammar


def any_of(*grammars: Grammar) -> Grammar:
    """Accepted when one of `grammars` accepts."""
    return lambda said: any(grammar(said) for grammar in grammars)


def activity_title(said: Said) -> bool:
    """An upcoming activity of the group's branch, named closely enough ("报名 清扫楼道")."""
    if not said.args:
        return True
    if is_question(said.args):
        return False
    if said.session is None:
        return True
    if said.branch_id is None:
        return False
    titles = activities.titles(said.session, said.branch_id)
    return bool(best_matches(said.args, titles))


def needs_item(said: Said) -> bool:
    """An item of the branch's needs list named first ("认领 绿化 承诺：每周浇水")."""
    if not said.args:
        return True
    if is_question(said.args) and not said.after_colon:
        return False
    if said.session is None:
        return True
    if said.branch_id is None:
        return False
    name = re.split(r"[\s:：,，]", said.args, maxsplit=1)[0]
    return bool(best_matches(name, needs.item_names(said.session, said.branch_id)))


def split(text: str, keywords: list[tuple[str, str]]) -> tuple[str, str, str] | None:
    """(command, separator, argument) of a message that starts with a keyword followed by
    nothing or a separator; None when the keyword is glued to other words. `keywords` are
    (folded keyword, command) pairs, longest first."""
    whole = text.strip()
    cleaned = strip_trailing(whole)
    for word, name in keywords:
        if fold(cleaned[:len(word)]) != word:
            continue
        rest = cleaned[len(word):]
        if not rest:
            return name, "", ""
        found = _SEPARATOR.match(rest)
        if found is not None:
            # The argument as written, trailing "！" or emoji included ("反映：灯坏了！").
            return name, found["sep"], whole[len(word) + len(found["sep"]):].strip()
    return None
