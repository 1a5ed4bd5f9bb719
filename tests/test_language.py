"""Language: per person, falling back to the platform's language code; English is complete."""

from __future__ import annotations

from bot.console import ConsoleWorld
from handlers.i18n import LANGUAGES, Catalogs
from tests.story import GROUP, set_up_branch, texts


def test_platform_language_is_used_until_the_person_chooses(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.user("Tom", lang="en-GB")
    assert texts(world.say("Tom", GROUP, "/checkin"))[0].startswith("Check-in is for verified")
    world.say("Tom", "private", "/lang zh")
    assert texts(world.say("Tom", GROUP, "/checkin"))[0].startswith("签到需要先亮身份")


def test_english_member_story(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("Anna", "private", "/lang en")
    assert "Registering asks for personal details" in texts(world.say("Anna", GROUP, "/iam"))[0]
    world.press("Anna", GROUP, "Continue privately")
    world.say("Anna", "private", "Anna")
    world.say("Anna", "private", "3号楼2单元")
    world.press("Anna", "private", "employed")
    world.press("Anna", "private", "not registered here")
    assert "Sent to the secretary" in texts(world.press("Anna", "private", "None"))[-1]
    review = world.seen("private", "王书记")[-1].text
    assert "类别：在职（非在册）" in review  # the secretary reads it in her own language
    world.press("王书记", "private", "核实")
    told = world.seen("private", "Anna")[-1].text
    assert told.startswith("The secretary of 阳光小区党支部 verified")
    assert texts(world.say("Anna", GROUP, "/checkin")) == [
        "Member Anna (3号楼2单元) checked in, 1 time(s) this month"]
    assert "Unknown role" in texts(world.say("Anna", GROUP, "/grant king"))[0]


def test_unknown_language_is_refused_clearly(world: ConsoleWorld) -> None:
    assert "zh（中文）、en（English）" in texts(world.say("张三", "private", "/lang fr"))[0]


def test_every_message_exists_in_every_language_with_the_same_placeholders() -> None:
    import string

    catalogs = Catalogs()
    zh = catalogs.get("zh_CN").catalog._catalog  # type: ignore[attr-defined]
    for lang in LANGUAGES:
        catalog = catalogs.get(lang).catalog._catalog  # type: ignore[attr-defined]
        assert set(catalog) == set(zh), lang
        for key, text in catalog.items():
            if not key:
                continue
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            zh_fields = {f for _, f, _, _ in string.Formatter().parse(zh[key]) if f}
            assert fields == zh_fields, (lang, key)
            assert text.strip(), (lang, key)


def test_every_key_used_in_code_is_in_the_catalogs() -> None:
    import re
    from pathlib import Path

    catalog = Catalogs().get("en")
    used: set[str] = set()
    for path in Path("handlers").glob("*.py"):
        used |= set(re.findall(r'"((?:[a-z_]+\.)+[a-z_]+)"', path.read_text()))
    keys = {k for k in used if k.split(".")[0] in _KEY_PREFIXES}
    missing = sorted(k for k in keys if not catalog.has(k))
    assert not missing


_KEY_PREFIXES = {"start", "help", "menu", "lang", "list", "dialog", "activity", "moment",
                 "signup", "qr", "scan", "report", "notice", "person", "role", "kind",
                 "registered", "field", "status", "iam", "members", "checkin", "community",
                 "branch", "bind", "grant", "revoke", "privacy", "forget", "error", "needs",
                 "ask", "problem", "ledger", "link", "wechat", "robot", "points"}
