"""Message catalogs from locales/: one Translator per language, chosen per message."""

from __future__ import annotations

import gettext
import io
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANG = "zh_CN"
LANGUAGES = ("zh_CN", "en")


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
class L:
    """A message key as a parameter, rendered in the reader's language when the text is."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **params: object) -> L:
        return cls(key, tuple(params.items()))


@dataclass(frozen=True)
class Translator:
    """Renders message keys in one language."""

    lang: str
    catalog: gettext.GNUTranslations

    def __call__(self, key: str, **params: object) -> str:
        text = self.catalog.gettext(key)
        if not params:
            return text
        shown = {name: self(value.key, **dict(value.params)) if isinstance(value, L) else value
                 for name, value in params.items()}
        return text.format(**shown)

    def has(self, key: str) -> bool:
        return self.catalog.gettext(key) != key


class Catalogs:
    """All languages' catalogs, compiled in memory from the .po files."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self.locales_dir = locales_dir
        self._translators = {lang: Translator(lang, self._load(lang)) for lang in LANGUAGES}

    def _load(self, lang: str) -> gettext.GNUTranslations:
        po_path = self.locales_dir / lang / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)

    def get(self, lang: str | None) -> Translator:
        """The translator for `lang`, or the default language's."""
        return self._translators.get(lang or DEFAULT_LANG, self._translators[DEFAULT_LANG])

    @cached_property
    def keywords(self) -> dict[str, list[str]]:
        """Command name -> the keywords that start it, from locales/keywords.toml."""
        with (self.locales_dir / "keywords.toml").open("rb") as fh:
            return {name: list(words) for name, words in tomllib.load(fh).items()}
