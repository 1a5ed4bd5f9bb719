"""Which message a typed number answers on WeChat, where options are numbered lines.

A number answers the newest prompt only when nothing else was sent to the follower since,
no other prompt arrived since they last wrote, and the prompt is recent; otherwise the bot
asks which message it answers ("你是要回复哪一条？") instead of guessing. (An open form takes
numbers before any of this: handlers/forms.py numbers its steps' options the same way.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from handlers.forms import FormButton
from handlers.text import excerpt as text_excerpt

# A prompt older than this is not answered by a bare number without asking.
RECENT = dt.timedelta(minutes=30)
# Prompts older than this are no longer offered when asking which one.
KEPT = dt.timedelta(hours=24)
# The longest excerpt of a message shown when asking which one it was.
EXCERPT_CHARS = 24
Option = dict[str, str]
FORM_DATA = FormButton.prefix + FormButton.separator


@dataclass(frozen=True)
class Picked:
    """The number stands for this option."""

    option: Option


@dataclass(frozen=True)
class Ambiguous:
    """The number could answer any of these options: ask which."""

    options: list[Option]


def pick(prompts: list[dict[str, Any]], sent: int, read: int, number: int,
         now: dt.datetime) -> Picked | Ambiguous | None:
    """What `number` answers, given the follower's kept prompts; None: it is plain text."""
    live = [p for p in prompts if now.timestamp() - p["at"] <= KEPT.total_seconds()]
    if not any(number <= len(p["options"]) for p in live) or number < 1:
        return None
    newest = prompts[-1]
    unread = [p for p in prompts if p["seq"] > read]
    if (newest["seq"] == sent and len(unread) <= 1 and number <= len(newest["options"])
            and now.timestamp() - newest["at"] <= RECENT.total_seconds()
            and not _of_a_form(newest["options"][number - 1])):
        return Picked(newest["options"][number - 1])
    still = [option for p in live for option in p["options"] if not _of_a_form(option)]
    return Ambiguous(still) if still else None


def _of_a_form(option: Option) -> bool:
    """A form's button: an open form takes numbers itself (before any kept prompt), so one
    kept here belongs to a form that has ended and is never offered again."""
    return option.get("data", "").startswith(FORM_DATA)


def excerpt(text: str) -> str:
    """The start of a message on one line, to recognise it by."""
    return text_excerpt(" ".join(text.split()), EXCERPT_CHARS)
