"""Templates rendered with Jinja2, their words from the gettext catalogs of the reader's
language (Jinja2's i18n extension, its `_` being the project's Translator)."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from handlers.i18n import LANGUAGES, Catalogs, Translator


def _environment(t: Translator) -> Environment:
    env = Environment(loader=PackageLoader("bot.desk", "templates"),
                      autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
                      trim_blocks=True, lstrip_blocks=True)

    def gettext(key: str, **params: object) -> str:
        return t(key, **params)

    def ngettext(key: str, _plural: str, count: int, **params: object) -> str:
        return t(key, count=count, **params)

    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=False)
    return env


class Pages:
    """One Jinja2 environment per language."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs
        self.envs = {lang: _environment(catalogs.get(lang)) for lang in LANGUAGES}

    def render(self, lang: str, template: str, values: Mapping[str, object]) -> str:
        env = self.envs.get(lang) or self.envs[LANGUAGES[0]]
        return env.get_template(template).render(lang=lang, **values)
