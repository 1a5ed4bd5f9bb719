"""One logging filter that keeps secrets and people's details out of every log line.

It is installed once at start-up where log records are made (the record factory), so it covers
every logger — ours, httpx, httpcore, urllib3, telegram, uvicorn — and every handler, also
those uvicorn configures after start-up. Each record's message is formatted, masked and frozen
(arguments and exception text included) before any handler sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

MASK = "***"
# Configured secrets shorter than this are not masked as literal text: masking every "ab" would
# garble the log. The patterns below still catch them where they appear as parameters.
MIN_LITERAL = 6

# Values that are secrets wherever they appear, whoever configured them: Telegram bot tokens,
# WeChat's access_token and AppSecret in URLs, WeCom robot keys (`key=`), AES payloads.
_PATTERNS = (
    re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"),
    re.compile(r"(?i)((?:access_token|secret|key|appsecret|secret_token|token|encrypt)"
               r"""["']?\s*[=:]\s*["']?)[^&\s"'<>,;}]+"""),
    re.compile(r"(?i)(X-Telegram-Bot-Api-Secret-Token['\"]?\s*[:,]\s*['\"]?)[^\s'\"]+"),
)
# Mainland mobile numbers (optionally +86), and landlines written with an area code.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"
                    r"|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
# What people wrote, as the platforms' payloads carry it (JSON, form fields, XML).
_TEXTS = (
    re.compile(r"""((?:["'](?:text|content|caption|first_name|last_name|title)["']"""
               r"""\s*:\s*["']))((?:[^"'\\]|\\.)*)"""),
    re.compile(r"(<(Content|Encrypt)>(?:<!\[CDATA\[)?)(.*?)((?:\]\]>)?</\2>)", re.DOTALL),
)


class SecretFilter(logging.Filter):
    """Masks known secrets, token-like values, phone numbers and message texts in a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def add(self, *values: str | bytes | None) -> None:
        """Mask these values (configured secrets) from now on, longest first."""
        for value in values:
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            if text and len(text) >= MIN_LITERAL and text not in self._secrets:
                self._secrets.append(text)
        self._secrets.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every secret, phone number and quoted message text replaced."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _PATTERNS[0].sub(MASK, text)
        for pattern in _PATTERNS[1:]:
            text = pattern.sub(lambda m: m[1] + MASK, text)
        text = _PHONE.sub(MASK, text)
        text = _TEXTS[0].sub(lambda m: m[1] + MASK, text)
        return _TEXTS[1].sub(lambda m: m[1] + MASK + m[4], text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Freeze the record's message masked; its arguments are folded in (and so gone)."""
        if getattr(record, "_jinlin_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call still gets logged, as logging itself would try
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        record._jinlin_masked = True
        return True


FILTER = SecretFilter()
_installed: list[Callable[..., logging.LogRecord]] = []


def install(secrets: Iterable[str | bytes | None] = ()) -> SecretFilter:
    """Mask `secrets` (and the patterns) in every log record of this process from now on."""
    FILTER.add(*secrets)
    if not _installed:
        make = logging.getLogRecordFactory()
        _installed.append(make)

        def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
            record = make(*args, **kwargs)
            FILTER.filter(record)
            return record

        logging.setLogRecordFactory(masked_record)
    for handler in logging.getLogger().handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
    return FILTER
