"""Message catalogs from locales/: one Translator per language, chosen per message.

Plural forms: a .po entry with `msgid_plural` and `msgstr[n]` is picked by the `count`
parameter through gettext's ngettext (zh_CN has one form, en two: "1 time", "3 times"), so
`t("checkin.done", count=3, …)` needs nothing else from the caller. `count` may only pick the
form (a float such as 1.5 is fine) while another placeholder shows the number.

Broken texts: a missing key, a `{placeholder}` left unfilled, or an internal code shown raw
("role.楼栋长", "status.verified"). In strict mode (the tests: JINLIN_STRICT_TEXTS=1) each one
raises `BrokenText` and is remembered for the test run to fail on, even where the caller
swallows the exception. Otherwise a missing key or value is logged and the person sees the
nearest sensible text: the other language's wording, the word after the key's prefix, "…" for
a missing value.
"""

from __future__ import annotations

import dataclasses
import gettext
import io
import logging
import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANG = "zh_CN"
LANGUAGES = ("zh_CN", "en")
STRICT_ENV = "JINLIN_STRICT_TEXTS"
# Shown in production in place of a value the text needs but was not given.
MISSING_VALUE = "…"

log = logging.getLogger(__name__)


class BrokenText(AssertionError):
    """A text that would reach a person broken; raised only in strict mode."""


_broken: list[str] = []


def strict_by_default() -> bool:
    """Whether texts are checked strictly: the tests set JINLIN_STRICT_TEXTS=1."""
    return os.environ.get(STRICT_ENV) == "1"


def take_broken() -> list[str]:
    """The broken texts found in strict mode since the last call (the test run checks them)."""
    found = list(_broken)
    _broken.clear()
    return found


def complain(strict: bool, problem: str) -> None:
    """Report a broken text: fail in strict mode, else log a warning and carry on."""
    if strict:
        _broken.append(problem)
        raise BrokenText(problem)
    log.warning("broken text: %s", problem)


class _Gaps(dict[str, object]):
    """Format values where a missing one shows as MISSING_VALUE instead of failing."""

    def __missing__(self, key: str) -> object:
        return MISSING_VALUE


def fill(template: str, params: Mapping[str, object], *, strict: bool, where: str) -> str:
    """`template` with its {placeholders} filled from `params`; one left unfilled is broken."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as error:
        complain(strict, f"{where}: cannot be filled ({error}): {template!r}")
        return re.sub(r"\{[^{}]*\}", MISSING_VALUE, template)
    missing = sorted({re.split(r"[.\[]", f)[0] for f in fields} - set(params))
    if missing:
        complain(strict, f"{where}: placeholder {{{missing[0]}}} left unfilled in {template!r}")
    try:
        return template.format_map(_Gaps(params))
    except (ValueError, TypeError, AttributeError, LookupError) as error:
        # "…" under a number format ("{hours:.1f}"), or a value without the asked attribute.
        complain(strict, f"{where}: cannot be filled ({error}): {template!r}")
        return re.sub(r"\{[^{}]*\}", MISSING_VALUE, template)


def key_pattern(namespaces: set[str]) -> re.Pattern[str]:
    """Text that looks like a message key of one of `namespaces` (role.x, error.y_z)."""
    names = "|".join(sorted(map(re.escape, namespaces), key=len, reverse=True))
    # A file name a text may mention ("holidays.toml") is not a key.
    files = r"(?!(?:toml|csv|xlsx|json|txt|po)\b)"
    return re.compile(rf"(?<![\w./:@#-])(?:{names})\.{files}(?:[a-z_]+|[^\x00-\x7f\s]+)")


def normalize_lang(code: str | None) -> str | None:
    """Map a platform language code ("en-US", "zh-hans") to one of ours, or None."""
    if not code:
        return None
    code = code.replace("-", "_").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return None


@dataclass(frozen=True)
class Phrase:
    """A message key as a parameter, rendered in the reader's language when the text is."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **params: object) -> Phrase:
        return cls(key, tuple(params.items()))


def _plural_n(count: object) -> int | None:
    """The number that picks a plural form: an int as it is; a fraction reads as many
    ("1.5 hours") in both our languages, like 2."""
    if isinstance(count, bool) or not isinstance(count, int | float):
        return None
    return int(count) if float(count).is_integer() else 2


def _lookup(catalog: gettext.GNUTranslations, key: str, count: object) -> str | None:
    """The entry for `key` (its plural form for `count`, if it has forms), or None."""
    n = _plural_n(count)
    if n is not None:
        text = catalog.ngettext(key, key, n)
        if text != key:
            return text
    text = catalog.gettext(key)
    return None if text == key else text


def _namespaces(catalog: gettext.GNUTranslations) -> set[str]:
    """The prefixes of the catalog's keys ("error", "role", …)."""
    # gettext keeps plural entries under (msgid, form) and the others under msgid.
    ids = [k if isinstance(k, str) else k[0]
           for k in catalog._catalog]  # type: ignore[attr-defined]
    return {i.split(".")[0] for i in ids if "." in i}


def _is_plural(catalog: gettext.GNUTranslations, key: str) -> bool:
    return catalog.ngettext(key, key, 1) != key


@dataclass(frozen=True)
class Translator:
    """Renders message keys in one language; `count` picks the plural form where there is one."""

    lang: str
    catalog: gettext.GNUTranslations
    fallback: gettext.GNUTranslations | None = None
    strict: bool = False
    raw_keys: re.Pattern[str] | None = None
    # The platform the reader is on: `<key>@<platform>` is preferred where the catalog has it
    # (WeChat has no groups and no buttons, so some texts are worded for it).
    platform: str | None = None

    def __call__(self, key: str, **params: object) -> str:
        shown = {name: self(value.key, **dict(value.params)) if isinstance(value, Phrase) else value
                 for name, value in params.items()}
        where = f"{self.lang} {key!r}"
        text = fill(self._template(key, params.get("count")), shown, strict=self.strict,
                    where=where)
        # Only in tests: in production a person's own words (report.gov.cn in a notice)
        # would trip it on every copy sent, and missing keys are caught at their source.
        raw = self.raw_keys.search(text) if self.strict and self.raw_keys else None
        if raw:
            complain(self.strict, f"{where}: internal code {raw.group()!r} shown in {text!r}")
        return text

    def words(self, value: object) -> str:
        """A Phrase in this language; any other value as it reads."""
        return self(value.key, **dict(value.params)) if isinstance(value, Phrase) else str(value)

    def has(self, key: str) -> bool:
        return self.catalog.gettext(key) != key or _is_plural(self.catalog, key)

    def _template(self, key: str, count: object) -> str:
        if count is None and _is_plural(self.catalog, key):
            complain(self.strict, f"{self.lang} {key!r} has plural forms: give it count=")
        if self.platform is not None:
            own = _lookup(self.catalog, f"{key}@{self.platform}", count)
            if own is not None:
                return own
        text = _lookup(self.catalog, key, count)
        if text is not None:
            return text
        complain(self.strict, f"missing message key {key!r} in {self.lang}")
        other = _lookup(self.fallback, key, count) if self.fallback else None
        # Never the key itself: the word after its prefix ("role.楼栋长" -> "楼栋长").
        return other if other is not None else key.split(".", 1)[-1].replace("_", " ")


class Catalogs:
    """All languages' catalogs, compiled in memory from the .po files."""

    def __init__(self, locales_dir: Path = LOCALES_DIR, *, strict: bool | None = None) -> None:
        self.locales_dir = locales_dir
        self.strict = strict_by_default() if strict is None else strict
        loaded = {lang: self._load(lang) for lang in LANGUAGES}
        namespaces = {n for catalog in loaded.values() for n in _namespaces(catalog)}
        raw_keys = key_pattern(namespaces) if namespaces else None
        self._variants: dict[tuple[str, str], Translator] = {}
        self._translators = {
            lang: Translator(lang, catalog, loaded[LANGUAGES[lang == LANGUAGES[0]]],
                             self.strict, raw_keys)
            for lang, catalog in loaded.items()}

    def _load(self, lang: str) -> gettext.GNUTranslations:
        po_path = self.locales_dir / lang / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)

    def get(self, lang: str | None, platform: str | None = None) -> Translator:
        """The translator for `lang`, or the default language's; with `platform`, one that
        prefers that platform's own wording of a text (`<key>@<platform>`)."""
        found = self._translators.get(lang or DEFAULT_LANG, self._translators[DEFAULT_LANG])
        if platform is None:
            return found
        key = (found.lang, platform)
        if key not in self._variants:
            self._variants[key] = dataclasses.replace(found, platform=platform)
        return self._variants[key]

    @cached_property
    def keywords(self) -> dict[str, list[str]]:
        """Command name -> the keywords that start it, from locales/keywords.toml."""
        with (self.locales_dir / "keywords.toml").open("rb") as fh:
            return {name: list(words) for name, words in tomllib.load(fh).items()}

    @cached_property
    def words(self) -> dict[str, dict[str, list[str]]]:
        """Section -> canonical name -> the other words for it, from locales/words.toml."""
        with (self.locales_dir / "words.toml").open("rb") as fh:
            return {section: {name: list(words) for name, words in names.items()}
                    for section, names in tomllib.load(fh).items()}

@dataclass(frozen=True)
class Words:
    """One language's table from a TOML file of words around the bot (console, web pages)."""

    source: str
    table: Mapping[str, str]
    fallback: Mapping[str, str]
    strict: bool = False

    def __call__(self, key: str, **params: object) -> str:
        return fill(self.template(key), params, strict=self.strict,
                    where=f"{self.source} {key!r}")

    def template(self, key: str) -> str:
        """The unfilled text (for a page that fills it in the browser)."""
        text = self.table.get(key)
        if text is None:
            complain(self.strict, f"missing key {key!r} in {self.source}")
            text = self.fallback.get(key, key.replace("_", " "))
        return text


def load_words(file_name: str, lang: str, *, strict: bool | None = None) -> Words:
    """The words of `lang` in locales/<file_name>, falling back to the other language's."""
    with (LOCALES_DIR / file_name).open("rb") as fh:
        tables = tomllib.load(fh)
    other = LANGUAGES[lang == LANGUAGES[0]]
    return Words(f"{file_name} [{lang}]", tables.get(lang, {}), tables.get(other, {}),
                 strict_by_default() if strict is None else strict)
