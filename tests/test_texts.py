"""No broken text reaches a person: the strict test mode, plural forms, and sentences once seen
wrong."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from bot.console import PLATFORM, ConsoleWorld
from handlers.core import Core
from handlers.i18n import BrokenText, Catalogs, Phrase, Words, take_broken
from storage import dialogs, people
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, card, codes, publish, set_up_branch, texts, verified_member

_ZH_PO = r'''msgid ""
msgstr ""
"Language: zh_CN\n"
"Plural-Forms: nplurals=1; plural=0;\n"
"Content-Type: text/plain; charset=utf-8\n"

msgid "points.limit"
msgstr "分数最多 ±{limit}"

msgid "grant.unknown"
msgstr "不认识「{role}」这个身份。"

msgid "role.secretary"
msgstr "书记"

msgid "checkin.count"
msgid_plural "checkin.count"
msgstr[0] "本月第 {count} 次"

msgid "only.zh"
msgstr "只有中文"
'''

_EN_PO = r'''msgid ""
msgstr ""
"Language: en\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"Content-Type: text/plain; charset=utf-8\n"

msgid "points.limit"
msgstr "at most ±{limit} points"

msgid "grant.unknown"
msgstr "Unknown role \"{role}\"."

msgid "role.secretary"
msgstr "secretary"

msgid "checkin.count"
msgid_plural "checkin.count"
msgstr[0] "{count} time this month"
msgstr[1] "{count} times this month"
'''


def _fake_catalogs(tmp_path: Path, *, strict: bool) -> Catalogs:
    """A tiny catalog on disk, with mistakes to be caught."""
    for lang, text in (("zh_CN", _ZH_PO), ("en", _EN_PO)):
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(text, encoding="utf-8")
    return Catalogs(tmp_path, strict=strict)


def _fails(render: object, *words: str) -> None:
    """Rendering fails the test with a message naming what is broken."""
    with pytest.raises(BrokenText) as caught:
        render()  # type: ignore[operator]
    for word in words:
        assert word in str(caught.value)
    # Consumed here, so the deliberate mistake does not fail this test at its end.
    assert take_broken() == [str(caught.value)]


def test_strict_mode_fails_on_a_missing_key(tmp_path: Path) -> None:
    zh = _fake_catalogs(tmp_path, strict=True).get("zh_CN")
    _fails(lambda: zh("points.nothing"), "missing message key", "'points.nothing'")
    en = _fake_catalogs(tmp_path / "again", strict=True).get("en")
    _fails(lambda: en("only.zh"), "missing message key", "'only.zh'", "en")


def test_strict_mode_fails_on_an_unfilled_placeholder(tmp_path: Path) -> None:
    zh = _fake_catalogs(tmp_path, strict=True).get("zh_CN")
    _fails(lambda: zh("points.limit"), "{limit}", "'points.limit'")
    assert zh("points.limit", limit=100) == "分数最多 ±100"


def test_strict_mode_fails_on_an_internal_code_shown_raw(tmp_path: Path) -> None:
    zh = _fake_catalogs(tmp_path, strict=True).get("zh_CN")
    assert zh("grant.unknown", role=Phrase("role.secretary")) == "不认识「书记」这个身份。"
    _fails(lambda: zh("grant.unknown", role=Phrase("role.楼栋长")), "'role.楼栋长'")
    _fails(lambda: zh("grant.unknown", role="checkin.count"), "internal code 'checkin.count'")
    # A person's own words that merely contain a dot are not codes.
    assert zh("grant.unknown", role="v1.2") == "不认识「v1.2」这个身份。"


def test_a_broken_text_the_code_swallows_is_still_reported(tmp_path: Path) -> None:
    zh = _fake_catalogs(tmp_path, strict=True).get("zh_CN")
    with contextlib.suppress(Exception):  # as Core.handle does with any failure
        zh("points.limit")
    [problem] = take_broken()
    assert "{limit}" in problem


def test_in_production_a_broken_text_is_logged_and_reads_sensibly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    catalogs = _fake_catalogs(tmp_path, strict=False)
    zh, en = catalogs.get("zh_CN"), catalogs.get("en")
    with caplog.at_level(logging.WARNING, logger="handlers.i18n"):
        assert zh("grant.unknown", role=Phrase("role.楼栋长")) == "不认识「楼栋长」这个身份。"
        assert zh("points.limit") == "分数最多 ±…"
        assert en("only.zh") == "只有中文"  # the other language rather than a key
        # A person's own words are theirs to write, even when they look like a key.
        assert zh("grant.unknown", role="checkin.count") == "不认识「checkin.count」这个身份。"
    assert len(caplog.records) == 3
    assert "role.楼栋长" in caplog.records[0].getMessage()
    assert take_broken() == []


def test_plural_forms_follow_count(tmp_path: Path) -> None:
    catalogs = _fake_catalogs(tmp_path, strict=True)
    en, zh = catalogs.get("en"), catalogs.get("zh_CN")
    assert en("checkin.count", count=1) == "1 time this month"
    assert en("checkin.count", count=3) == "3 times this month"
    assert zh("checkin.count", count=3) == "本月第 3 次"
    _fails(lambda: en("checkin.count"), "plural forms", "count=")


def test_console_and_web_words_are_strict_too() -> None:
    words = Words("console.toml [zh_CN]", {"usage": "用法：{usage}"}, {"gone": "gone"},
                  strict=True)
    _fails(lambda: words("usage"), "{usage}", "console.toml")
    _fails(lambda: words("gone"), "missing key 'gone'")
    lenient = Words("web.toml [en]", {}, {"title": "活动签到码"}, strict=False)
    assert lenient("title") == "活动签到码"


def test_the_real_catalogs_render_every_message_strictly() -> None:
    """Every message of both catalogs fills with values for its placeholders and shows no
    internal code (as it would fail a conversation test)."""
    import string

    catalogs = Catalogs(strict=True)
    for lang in ("zh_CN", "en"):
        t = catalogs.get(lang)
        for key in _message_ids():
            template = t._template(key, 2)
            names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            t(key, **dict.fromkeys(names | {"count"}, 2))


def _message_ids() -> list[str]:
    from babel.messages.pofile import read_po

    from handlers.i18n import LOCALES_DIR

    with (LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return [m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id]


# ------------------------------------------------------------- in conversations


def test_an_english_member_reads_1_time_then_2_times(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "Anna")
    world.say("Anna", "private", "/lang en")
    # Checking in from her private chat, Anna reads the line in her own language.
    assert texts(world.say("Anna", "private", "/checkin")) == [
        "Member Anna (3号楼2单元) checked in, 1 time this month"]
    clock.advance(days=1)
    assert texts(world.say("Anna", "private", "/checkin")) == [
        "Member Anna (3号楼2单元) checked in, 2 times this month"]


def test_points_adjust_usage_says_the_limit(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert texts(world.say("王书记", GROUP, "积分 adjust 张三")) == [
        "格式：积分 调整 @姓名 -3 原因（也可以回复那个人的消息）。"
        "分数不能为 0，最多加减 100 分，原因必填。"]
    # A number and a reason but nobody named: the same usage, not /grant's.
    assert texts(world.say("王书记", GROUP, "积分 adjust 5 辛苦了")) == [
        "格式：积分 调整 @姓名 -3 原因（也可以回复那个人的消息）。"
        "分数不能为 0，最多加减 100 分，原因必填。"]


def test_an_unknown_role_is_quoted_as_typed(world: ConsoleWorld) -> None:
    set_up_branch(world)
    answer = texts(world.say("王书记", GROUP, "/grant 国王"))[0]
    assert answer.startswith("不认识「国王」这个身份。")


def test_an_unknown_role_in_production_shows_no_key(db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(db, Catalogs(strict=False), TEST_RULES, clock))
    set_up_branch(world)
    answer = texts(world.say("王书记", GROUP, "/grant 国王"))[0]
    assert "role." not in answer
    assert "国王" in answer


def test_lift_without_a_person_answers_with_its_own_usage(world: ConsoleWorld) -> None:
    set_up_branch(world)
    usage = "用法：活动 解除限制 @姓名（也可以回复那个人的消息）。"
    assert texts(world.say("王书记", GROUP, "活动 lift")) == [usage]
    assert "grant" not in texts(world.say("王书记", GROUP, "活动 lift 李四"))[0]


def test_a_verified_member_is_told_what_to_do_next(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert world.seen("private", "张三")[-1].text == (
        "「阳光小区党支部」书记已核实你的党员身份。"
        "现在可以在小区群里发送「签到」，向邻居亮出党员身份了。")


def test_the_report_mentions_walk_ins_only_when_there_were_some(world: ConsoleWorld,
                                                                 clock: Clock) -> None:
    set_up_branch(world)
    for name in ("张三", "李四"):
        verified_member(world, name)
    publish(world, capacity=3)
    world.press("张三", GROUP, "报名")
    sign_in, _ = codes(world)
    clock.set(2026, 11, 28, 9, 0)
    world.scan("张三", sign_in)
    report = texts(world.say("王书记", "private", "活动 report"))[0]
    assert "\n签到：1\n" in report
    world.scan("路人甲", sign_in)
    assert "报名 2/3" in card(world).text
    report = texts(world.say("王书记", "private", "活动 report"))[0]
    assert "\n签到：2（其中现场报名 1 人：路人甲）\n" in report


def test_the_needs_summary_uses_the_buttons_word_for_no_recurrence(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", GROUP, "新增事项")
    world.say("王书记", "private", "A段绿化养护")
    world.say("王书记", "private", "小区东侧绿地")
    world.press("王书记", "private", "无")
    world.say("王书记", "private", "2")
    summary = texts(world.press("王书记", "private", "不重复"))[-1]
    assert "认领人数：2\n周期：不重复" in summary


# No argument, a number, a person, junk; each subcommand bare and with a number and a reason.
_STRAY_ARGUMENTS = ["", " 2", " @nobody 5 原因", " xyz", *[
    f" {sub}{rest}" for sub in ("new", "report", "lift", "adjust", "list", "cancel", "edit",
                                "status", "add", "remove", "year", "hide")
    for rest in ("", " 3", " 5 原因")]]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_command_bare_or_with_stray_words_reads_cleanly(world: ConsoleWorld,
                                                              lang: str) -> None:
    """Each command, as the secretary and as a resident, in the group and privately, with no
    argument or with words it cannot use: whatever it answers passes the strict checks."""
    set_up_branch(world)
    verified_member(world, "张三")
    world.user("赵六", lang=lang)
    world.users["王书记"] = replace(world.users["王书记"], language_code=lang)
    world.say("王书记", "private", "/lang en" if lang == "en" else "/lang zh")
    answered = 0
    for name in sorted(world.core.router.commands):
        for who in ("王书记", "赵六"):
            for where in (GROUP, "private"):
                for args in _STRAY_ARGUMENTS:
                    answered += len(world.say(who, where, f"/{name}{args}"))
                    if _in_a_form(world, who):
                        world.say(who, where, "取消")
    assert answered > 400


def _in_a_form(world: ConsoleWorld, name: str) -> bool:
    """Whether `name` has a form open (取消 would otherwise cancel a sign-up: a slow no-op)."""
    with world.core.db.session() as session:
        account = people.find_account(session, PLATFORM, world.users[name].external_id)
        return account is not None and dialogs.current(session, account.person_id) is not None


def test_a_value_that_does_not_fit_its_format_is_broken_not_a_crash() -> None:
    words = Words("web.toml [zh_CN]", {"hours": "服务 {hours:.1f} 小时"}, {}, strict=True)
    assert words("hours", hours=2) == "服务 2.0 小时"
    _fails(lambda: words("hours", hours="两"), "cannot be filled")
    lenient = Words("web.toml [zh_CN]", {"hours": "服务 {hours:.1f} 小时"}, {}, strict=False)
    assert lenient("hours") == "服务 … 小时"
