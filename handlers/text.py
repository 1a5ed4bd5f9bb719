"""Checks on what people type before it is stored."""

from __future__ import annotations

import unicodedata

from handlers.errors import DomainError

_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def clean_field(text: str, limit: int, field: str) -> str:
    """Trimmed text, refused when empty, longer than `limit` or holding control characters."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise DomainError("text_empty", field=field)
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise DomainError("text_control", field=field)
    if len(text) > limit:
        raise DomainError("text_too_long", field=field, limit=limit, length=len(text))
    return text


# Names platforms give us are shown to others: at most this many characters are kept.
MAX_DISPLAY_NAME = 64


def clean_name(text: str, limit: int = MAX_DISPLAY_NAME) -> str:
    """A platform's display name safe to store and echo: NUL and other control characters,
    bidi overrides and zero-width characters removed (all of Unicode's "format" and control
    categories), spaces collapsed, at most `limit` characters."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(" " if ch.isspace() else ch for ch in text
                   if unicodedata.category(ch) not in _INVISIBLE or ch.isspace())
    return " ".join(kept.split())[:limit]


def excerpt(text: str, size: int) -> str:
    """The start of `text` to recognise it by: at most `size` characters, "…" when cut."""
    return text if len(text) <= size else text[:size] + "…"
