"""Language: per person, falling back to the platform's language code; English is complete."""

from __future__ import annotations

from pathlib import Path

from bot.console import ConsoleWorld
from handlers.i18n import LOCALES_DIR, Catalogs
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
    asked = world.say("Anna", GROUP, "/iam")
    assert [(s.chat_id, s.text.split("\n")[0]) for s in asked] == [
        (world.private_id("Anna"), "Registering with 阳光小区党支部.")]
    world.say("Anna", "private", "Anna")
    world.say("Anna", "private", "3号楼2单元")
    world.press("Anna", "private", "employed")
    world.press("Anna", "private", "not registered here")
    summary = texts(world.press("Anna", "private", "None"))[-1]
    assert summary.startswith("Please check “Show your identity”:\nname: Anna\n")
    assert "Sent to the secretary" in texts(world.press("Anna", "private", "Submit"))[-1]
    review = world.seen("private", "王书记")[-1].text
    assert "类别：在职（非在册）" in review  # the secretary reads it in her own language
    world.press("王书记", "private", "核实")
    told = world.seen("private", "Anna")[-1].text
    assert told.startswith("The secretary of 阳光小区党支部 verified")
    # The group reads the identity line in the group's language; refusals reach Anna in hers.
    assert texts(world.say("Anna", GROUP, "/checkin")) == [
        "党员 Anna（3号楼2单元）签到，本月第 1 次"]
    assert texts(world.say("Anna", GROUP, "/checkin"))[0].startswith("You already checked in")
    assert "Unknown role" in texts(world.say("Anna", GROUP, "/grant king"))[0]


def test_unknown_language_is_refused_clearly(world: ConsoleWorld) -> None:
    assert "zh（中文）、en（English）" in texts(world.say("张三", "private", "/lang fr"))[0]


def _po(lang: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """msgid -> (has plural forms, its forms), read from the .po file."""
    from babel.messages.pofile import read_po

    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    return {m.id[0]: (True, tuple(m.string)) for m in catalog if isinstance(m.id, tuple)} | {
        m.id: (False, (m.string,)) for m in catalog if m.id and isinstance(m.id, str)}


def test_every_message_exists_in_every_language_with_the_same_placeholders() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    zh = _po("zh_CN")
    for lang, plural_forms in (("zh_CN", 1), ("en", 2)):
        catalog = _po(lang)
        assert set(catalog) == set(zh), lang
        for key, (plural, forms) in catalog.items():
            assert plural == zh[key][0], (lang, key)
            assert len(forms) == (plural_forms if plural else 1), (lang, key)
            for text in forms:
                assert fields(text) == fields(zh[key][1][0]), (lang, key)
                assert text.strip(), (lang, key)


def test_every_key_used_in_code_is_in_the_catalogs() -> None:
    import re

    catalog = Catalogs().get("en")
    used: set[str] = set()
    for path in [*Path("handlers").glob("*.py"), *Path("bot").glob("*.py")]:
        used |= set(re.findall(r'"((?:[a-z_]+\.)+[a-z_]+)"', path.read_text()))
    keys = {k for k in used if k.split(".")[0] in _KEY_PREFIXES}
    missing = sorted(k for k in keys if not catalog.has(k))
    assert not missing


_KEY_PREFIXES = {"start", "help", "menu", "lang", "list", "dialog", "activity", "moment",
                 "signup", "qr", "scan", "report", "notice", "person", "role", "kind",
                 "registered", "field", "status", "iam", "members", "checkin", "community",
                 "branch", "bind", "grant", "revoke", "privacy", "forget", "error", "needs",
                 "ask", "problem", "ledger", "link", "wechat", "robot", "points"}


def test_every_domain_error_code_has_a_sentence_in_both_languages() -> None:
    import re

    catalogs = Catalogs(strict=False)
    codes: set[str] = set()
    for path in _sources():
        source = path.read_text()
        # Raised directly, passed on from storage (LinkRefused), named as typed_number's
        # refusal, or as the refusal of a kind of button data or start payload.
        codes |= set(re.findall(r'(?:DomainError|LinkRefused)\(\s*"([a-z_]+)"', source))
        codes |= set(re.findall(r'typed_number\(.*?,\s*"([a-z_]+)"\)', source))
        codes |= set(re.findall(r'^\s*refusal = "([a-z_]+)"', source, re.M))
    assert len(codes) > 50  # the scan finds them: every feature refuses something
    missing = sorted(f"{lang} error.{code}" for code in codes for lang in ("zh_CN", "en")
                     if not catalogs.get(lang).has(f"error.{code}"))
    assert missing == []


def test_every_error_sentence_is_one_the_code_can_still_raise() -> None:
    """A refusal nothing raises any more is dead text: its code (or its whole key) must be
    written somewhere in the code, e.g. DomainError("no_branch_private") or a usage passed on
    as target_account(..., "lift_usage")."""
    import re

    literals: set[str] = set()
    for path in _sources():
        literals |= set(re.findall(r'"([a-z_.]+)"', path.read_text()))
    errors = {key.split("@")[0] for key in _po("zh_CN") if key.startswith("error.")}
    assert len(errors) > 50
    unraised = sorted(key for key in errors
                      if key not in literals and key.removeprefix("error.") not in literals)
    assert unraised == [], "remove these from every locale, or raise them again"


def _sources() -> list[Path]:
    """The code that can refuse: features, runtime (the desk too) and storage."""
    return [path for folder in ("handlers", "bot", "storage")
            for path in sorted(Path(folder).rglob("*.py"))]
