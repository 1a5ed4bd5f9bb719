"""Rendering `Outgoing` for WeChat: one bundle per follower, buttons as numbered replies.

An Official Account has no buttons under a message in a one-to-one chat, so each button
becomes a line "回复 1：报名" and the options are kept in SQL (`wechat_users.choices`); a
reply "1" is then turned back into that button. Links are shown as text. Numbers run on
across the messages of one answer; which answer a typed number is for is decided in
bot/wechat_numbers.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.wechat_numbers import excerpt
from handlers.i18n import Catalogs, Translator, normalize_lang
from handlers.messages import Outgoing
from storage import people, wechat_users
from storage.db import Database
from storage.models import Person

PLATFORM = "wechat"
# WeChat's text messages take 2048 bytes; keep a margin.
MAX_TEXT_BYTES = 2000


@dataclass
class Bundle:
    """Everything one answer holds for one follower."""

    openid: str
    texts: list[str] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)
    # (label, payload): each code image follows its own label, so 签到 and 签退 are told apart.
    qr_payloads: list[tuple[str, str]] = field(default_factory=list)


def render(db: Database, catalogs: Catalogs, messages: list[Outgoing],
           now: dt.datetime) -> list[Bundle]:
    """Bundles for the WeChat messages among `messages`; remembers each one's options."""
    with db.session() as session:
        return render_in(session, catalogs, messages, now)


def render_in(session: Session, catalogs: Catalogs, messages: list[Outgoing],
              now: dt.datetime) -> list[Bundle]:
    """`render` inside a transaction already open."""
    bundles: dict[str, Bundle] = {}
    choices: dict[str, list[dict[str, str]]] = {}
    for out in messages:
        if out.platform != PLATFORM:
            continue
        bundle = bundles.setdefault(out.chat_id, Bundle(out.chat_id))
        offered = choices.setdefault(out.chat_id, [])
        lines = [out.text] if out.text else []
        numbered: list[tuple[int, str]] = []
        # The reader's language, looked up only for a message with buttons (the common answer
        # has none, and the lookup is a good share of a callback's time under load).
        t = catalogs.get(_lang(session, out.chat_id)) if out.buttons else catalogs.get(None)
        for button in (b for row in out.buttons for b in row):
            if button.url is not None:
                lines.append(t("wechat.link", label=button.label, url=button.url))
                continue
            target = ({"start": button.start_payload} if button.start_payload is not None
                      else {"data": button.data or ""})
            offered.append({**target, "label": button.label,
                            "about": excerpt(out.text)})
            lines.append(t("wechat.option", number=len(offered), label=button.label))
            numbered.append((len(offered), button.label))
        if lines and numbered:
            lines[0] = _reply_not_tap(t, lines[0], numbered)
        if lines:
            bundle.texts.append("\n".join(lines))
        if out.image is not None:
            bundle.images.append(out.image)
        if out.qr_payload is not None:
            bundle.qr_payloads.append((excerpt(out.text), out.qr_payload))
    for openid, offered in choices.items():
        wechat_users.offer(session, openid, offered, now)
    return list(bundles.values())


def _reply_not_tap(t: Translator, text: str, numbered: list[tuple[int, str]]) -> str:
    """"点「提交」" where 提交 is one of the message's own options: "回复 6（提交）" (there is
    nothing to tap on WeChat)."""
    for number, label in numbered:
        instead = t("wechat.reply_instead", number=number, label=label)
        for tap in ("wechat.tap_once", "wechat.tap"):
            text = text.replace(t(tap, label=label), instead)
    return text


def _lang(session: Session, openid: str) -> str | None:
    account = people.find_account(session, PLATFORM, openid)
    if account is None:
        return None
    person = session.get(Person, account.person_id)
    return (person.lang if person else None) or normalize_lang(account.language_code)


def chunks(texts: list[str]) -> list[str]:
    """The texts joined into as few messages as WeChat's size limit allows."""
    out: list[str] = []
    for text in texts:
        for piece in _split(text):
            joined = f"{out[-1]}\n\n{piece}" if out else piece
            if out and len(joined.encode()) <= MAX_TEXT_BYTES:
                out[-1] = joined
            else:
                out.append(piece)
    return out


def _split(text: str) -> list[str]:
    """One text cut at line ends (or, for a very long line, anywhere) to fit the limit."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > MAX_TEXT_BYTES:
            cut = _fit(line)
            pieces += [current] if current else []
            pieces.append(line[:cut])
            current, line = "", line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > MAX_TEXT_BYTES:
            pieces.append(current)
            candidate = line
        current = candidate
    return [*pieces, current] if current else pieces


def _fit(line: str) -> int:
    """How many characters of `line` fit in the limit."""
    size = 0
    for index, char in enumerate(line):
        size += len(char.encode())
        if size > MAX_TEXT_BYTES:
            return index
    return len(line)
