"""The desk's templates carry no words of their own: every word comes from the catalogs, in
both languages, and a page renders in English as fully as in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.i18n import Catalogs
from tests.test_no_text_in_code import CJK

TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "desk" / "templates"
KEY = re.compile(r"""_\(\s*'([a-z_.]+)'\s*[,)]""")


def test_templates_hold_no_chinese() -> None:
    offenders = [f"{path.name}:{n}" for path in sorted(TEMPLATES.glob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if CJK.search(line)]
    assert offenders == []


def test_every_word_a_template_asks_for_is_in_both_catalogs() -> None:
    catalogs = Catalogs(strict=False)
    asked = {key for path in TEMPLATES.glob("*.html")
             for key in KEY.findall(path.read_text(encoding="utf-8"))}
    assert "desk.title" in asked
    missing = sorted(f"{lang}: {key}" for key in asked for lang in ("zh_CN", "en")
                     if not catalogs.get(lang).has(key))
    assert missing == []
