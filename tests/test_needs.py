"""需求清单: items by form and by file, 认领 with a pledge, 践诺, 评诺 and points; stale claims."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.console import ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from storage.db import Database
from storage.models import Claim, NeedItem, PointsEntry
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, set_up_branch, texts, verified_member

FIXTURES = Path(__file__).parent / "fixtures"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _add_by_form(world: ConsoleWorld, name: str = "A段绿化养护", place: str = "小区东侧绿地",
                 holders: int = 2, recurrence: str = "每周") -> list:
    """王书记 adds an item through the private form, started from the group."""
    world.say("王书记", GROUP, "新增事项")
    world.say("王书记", "private", name)
    world.say("王书记", "private", place)
    world.press("王书记", "private", "无")
    world.say("王书记", "private", str(holders))
    world.press("王书记", "private", recurrence)
    return world.press("王书记", "private", "加入清单")


def _import(world: ConsoleWorld, filename: str, data: bytes | None = None) -> list[str]:
    """王书记 asks to import, then sends the file privately; returns the bot's answer."""
    world.say("王书记", "private", "导入需求清单")
    return texts(world.send_file("王书记", "private", filename,
                                 _fixture(filename) if data is None else data))


def _csv(*lines: str) -> bytes:
    return "\n".join(lines).encode("utf-8")


def _with_items(world: ConsoleWorld, *members: str) -> None:
    """A branch with verified members and three items: A段 (2 holders), B段 and 楼道 (1 each)."""
    set_up_branch(world)
    for name in members:
        verified_member(world, name)
    _import(world, "items.csv", _csv("名称,地点,人数", "A段绿化养护,东侧,2", "B段绿化养护,西侧,1",
                                     "楼道清扫,5号楼,1"))


def _points_of(world: ConsoleWorld, name: str) -> int:
    from storage import people, points

    with world.core.db.session() as session:
        account = people.find_account(session, "console", world.user(name).external_id)
        assert account is not None
        return points.total(session, account.person_id)


def _items_count(world: ConsoleWorld) -> int:
    with world.core.db.session() as session:
        return session.scalar(select(func.count()).select_from(NeedItem)) or 0


def _claims(db: Database, status: str = "open") -> list[Claim]:
    with db.session() as session:
        return list(session.scalars(select(Claim).where(Claim.status == status)))


def test_the_whole_story(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    # The secretary adds one item by the form and three from a spreadsheet.
    assert texts(_add_by_form(world)) == ["「A段绿化养护」已加入「阳光小区党支部」的需求清单。"]
    assert _import(world, "needs_items.xlsx") == [
        "已导入 3 个事项到「阳光小区党支部」的需求清单：B段绿化养护、楼道清扫、看望独居老人"]

    # A member claims with a pledge, in the group.
    claimed = texts(world.say("张三", GROUP, "认领 A段绿化养护 承诺：每周二浇水"))
    assert claimed == ["认领成功：「A段绿化养护」。\n你的承诺：每周二浇水\n"
                       "做到后发送「践诺 做了什么」；14 天内没有践诺我会提醒你。"]
    listed = world.say("李四", GROUP, "需求清单")[0]
    assert listed.text == (
        "需求清单（阳光小区党支部）：\n"
        "1. A段绿化养护 · 小区东侧绿地 · 每周\n   认领 1/2：张三（承诺：每周二浇水）\n"
        "2. B段绿化养护 · 小区西侧 · 每周\n   浇水、除草\n   认领 0/1：待认领\n"
        "3. 楼道清扫 · 5号楼\n   认领 0/1：待认领\n"
        "4. 看望独居老人 · 2号楼 · 每周\n   陪老人聊聊天\n   认领 0/2：待认领\n\n"
        "认领：发送「认领 事项名称」，可加「承诺：…」。")
    assert listed.flat_buttons[0].label == "认领：A段绿化养护"  # one place left

    # 践诺 with a note; the secretary is told privately with 1–5 buttons.
    shown = world.say("张三", GROUP, "践诺 周二浇了水，拔了草")
    assert shown[0].text == "已记录你对「A段绿化养护」的践诺，等书记评诺。"
    notice = shown[1]
    assert notice.chat_id == world.private_id("王书记")
    assert notice.text == ("张三 践诺了「A段绿化养护」。\n承诺：每周二浇水\n"
                           "做了什么：周二浇了水，拔了草\n请评诺（1–5 分）：")
    assert [b.label for b in notice.flat_buttons] == ["1 分", "2 分", "3 分", "4 分", "5 分"]

    # 评诺: five, then a comment; the member is told and earns 5 × 2 points.
    assert texts(world.press("王书记", "private", "5 分")) == [
        "评了 5 分。可以写一句评语，或点「不写评语」。"]
    rated = world.say("王书记", "private", "浇得很及时")
    assert texts(rated) == ["已评诺：张三 的「A段绿化养护」5 分，积分 +10。",
                            "书记给你的践诺「A段绿化养护」评了 5 分，积分 +10。\n评语：浇得很及时"]
    assert rated[1].chat_id == world.private_id("张三")
    assert _points_of(world, "张三") == 10
    # The deed freed the place; rating it again is refused and awards nothing more.
    assert "认领 0/2：待认领" in texts(world.say("张三", GROUP, "需求清单"))[0]
    assert texts(world.say("王书记", GROUP, "评诺 A段绿化养护 3")) == [
        "现在没有等待评诺的践诺。"]
    assert _points_of(world, "张三") == 10


def test_typed_rating_with_comment_and_a_pledge_added_later(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 楼道清扫")
    assert texts(world.say("张三", GROUP, "认领 楼道清扫 承诺：每周六扫一次")) == [
        "已更新你对「楼道清扫」的承诺：每周六扫一次"]
    assert texts(world.say("张三", GROUP, "认领 楼道清扫")) == ["你已经认领了「楼道清扫」。"]
    world.say("张三", GROUP, "践诺 楼道清扫 扫完了")
    shown = world.say("王书记", GROUP, "评诺 楼道 4 分 很干净")
    assert texts(shown)[0] == "已评诺：张三 的「楼道清扫」4 分，积分 +8。"
    assert texts(shown)[1].endswith("评语：很干净")
    with world.core.db.session() as session:
        entry = session.scalars(select(PointsEntry)).one()
        assert (entry.points, entry.source) == (8, "claim:1")


def test_the_form_refuses_a_name_already_listed_and_a_bad_count(world: ConsoleWorld) -> None:
    _with_items(world)
    world.say("王书记", "private", "新增事项")
    assert texts(world.say("王书记", "private", "楼道清扫")) == [
        "需求清单上已经有「楼道清扫」了，换个名称吧。"]
    world.say("王书记", "private", "修剪树枝")
    world.say("王书记", "private", "南门")
    world.say("王书记", "private", "剪低处的树枝")
    assert texts(world.say("王书记", "private", "0")) == ["认领人数请填 1 到 50 之间的整数。"]
    assert "最后一步" in texts(world.say("王书记", "private", "１"))[0]


def test_csv_in_gb18030_and_utf8_with_bom(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert _import(world, "needs_items_gb18030.csv") == [
        "已导入 2 个事项到「阳光小区党支部」的需求清单：垃圾分类督导、电动车充电巡查"]
    # A file sent with the command as its caption needs no second step.
    shown = world.send_file("王书记", "private", "needs_items_utf8_bom.csv",
                            _fixture("needs_items_utf8_bom.csv"), caption="/importitems")
    assert texts(shown) == ["已导入 1 个事项到「阳光小区党支部」的需求清单：快递代收"]
    listed = texts(world.say("王书记", GROUP, "需求清单"))[0]
    assert "1. 垃圾分类督导 · 3号楼 · 每天\n   早上七点到八点\n   认领 0/2：待认领" in listed
    assert "2. 电动车充电巡查 · 车棚 · 每月\n   认领 0/1" in listed
    assert "3. 快递代收 · 物业前台\n   认领 0/3" in listed


BAD_FILES = {
    "needs_bad_encoding.csv": "第 3 行：不是 UTF-8 或 GB18030 编码的文字，"
                              "请另存为「CSV UTF-8」再试",
    "needs_missing_column.csv": "第 1 行：缺少「名称」列",
    "needs_duplicates.csv": "第 3 行：「A段绿化养护」已经在需求清单上了\n"
                            "第 4 行：「修剪树枝」与第 2 行重复",
    "needs_bad_count.xlsx": "第 3 行：人数「两个」不是 1 到 50 之间的整数\n"
                            "第 4 行：人数「0」不是 1 到 50 之间的整数\n"
                            "第 5 行：事项名称为空\n"
                            "第 6 行：人数「2.5」不是 1 到 50 之间的整数",
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_a_malformed_file_names_the_lines_and_imports_nothing(world: ConsoleWorld,
                                                              filename: str) -> None:
    set_up_branch(world)
    _add_by_form(world)
    assert _import(world, filename) == [
        f"「{filename}」没有导入，清单没有任何改动：\n{BAD_FILES[filename]}\n"
        "请改好后重新发送整份文件。"]
    assert _items_count(world) == 1
    # The bot still waits for a good file.
    assert _import(world, "needs_items_utf8_bom.csv")[0].startswith("已导入 1 个事项")


def test_files_that_are_not_spreadsheets_are_refused(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert _import(world, "photo.jpg", b"\xff\xd8\xff") == [
        "「photo.jpg」不是 .csv 或 .xlsx 文件。"]
    assert _import(world, "broken.xlsx", b"PK not really") == [
        "这个 .xlsx 文件打不开，请用 Excel 或 WPS 另存后再发。"]
    assert _import(world, "empty.csv", _csv("名称,地点")) == ["文件里除了表头没有内容。"]
    assert texts(world.say("王书记", "private", "好的")) == [
        "请发送 .csv 或 .xlsx 文件；不导入了请发送「取消」。"]
    assert _items_count(world) == 0


def test_refusals(world: ConsoleWorld) -> None:
    _with_items(world, "张三", "李四")
    # Claiming needs a verified member.
    assert texts(world.say("路人甲", GROUP, "认领 楼道清扫")) == ["这个操作需要党员权限。"]
    # A full item.
    world.say("张三", GROUP, "认领 楼道清扫")
    assert texts(world.say("李四", GROUP, "认领 楼道清扫")) == [
        "「楼道清扫」已经有 1 人认领，名额满了。"]
    # Over the per-member limit (2).
    world.say("张三", GROUP, "认领 B段绿化养护")
    assert texts(world.say("张三", GROUP, "认领 A段绿化养护")) == [
        "每人最多同时认领 2 个事项。先践诺或放弃一个再来认领吧。"]
    # 践诺 by someone who claimed nothing; 评诺 by someone who is not the secretary.
    assert texts(world.say("李四", GROUP, "践诺 扫了楼道")) == [
        "你现在没有认领中的事项。发送「需求清单」看看可以认领什么。"]
    world.say("张三", GROUP, "践诺 楼道清扫 扫了")
    assert texts(world.say("李四", GROUP, "评诺 楼道清扫 5")) == ["这个操作需要书记权限。"]
    rating_data = world.seen("private", "王书记")[-1].flat_buttons[4].data
    pressed = world.deliver(Incoming("console", world.private_id("李四"), ChatKind.PRIVATE,
                                     world.user("李四"), button_data=rating_data,
                                     message_id="1"))
    assert pressed[0].toast
    assert pressed[0].text == "这个操作需要书记权限。"
    assert _points_of(world, "张三") == 0
    # An unknown name: in the group that is chatter; privately the bot says what it knows.
    assert world.say("李四", GROUP, "认领 修自行车") == []
    assert texts(world.say("李四", "private", "认领 修自行车")) == [
        "没有找到「修自行车」。发送「需求清单」看看有哪些事项。"]


def test_an_ambiguous_name_asks_which(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    asked = world.say("张三", GROUP, "认领 绿化")
    assert [(s.chat_id, s.text) for s in asked] == [(world.private_id("张三"), "是哪一项？")]
    assert [b.label for b in asked[0].flat_buttons] == ["A段绿化养护", "B段绿化养护", "放弃"]
    pressed = world.press("张三", "private", "B段绿化养护")
    assert pressed[0].toast
    assert pressed[0].text.startswith("认领成功：「B段绿化养护」。")
    assert _claims(world.core.db)[0].item_id == 2


def test_giving_an_item_back(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("张三", GROUP, "认领 B段绿化养护")
    asked = world.say("张三", GROUP, "放弃认领")[0]
    assert [b.label for b in asked.flat_buttons] == ["楼道清扫", "B段绿化养护", "放弃"]
    assert world.press("张三", "private", "楼道清扫")[0].text == (
        "已放弃「楼道清扫」，它回到了需求清单上。")
    assert texts(world.say("张三", GROUP, "放弃认领 B段")) == [
        "已放弃「B段绿化养护」，它回到了需求清单上。"]
    listed = texts(world.say("张三", GROUP, "需求清单"))[0]
    assert "3. 楼道清扫 · 5号楼\n   认领 0/1：待认领" in listed
    assert texts(world.say("张三", GROUP, "放弃认领")) == [
        "你现在没有认领中的事项。发送「需求清单」看看可以认领什么。"]


def test_a_stale_claim_is_reminded_then_returned_each_once(db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(db, rules=TEST_RULES, clock=clock))
    _with_items(world, "张三", "李四")
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("李四", GROUP, "认领 B段绿化养护")
    clock.advance(days=1)
    world.say("李四", GROUP, "践诺 浇过水了")  # a claim fulfilled in time is never reminded
    clock.advance(days=12, hours=23)
    assert world.run_timers() == []
    clock.advance(hours=2)
    reminded = world.run_timers()
    assert [(world.chat_name(s.chat_id), s.text) for s in reminded] == [
        ("private: 张三", "提醒：你认领「楼道清扫」已经 14 天了，还没有践诺。"
                        "做到了请点「践诺」；做不了可以放弃，把它还给清单。")]
    assert [b.label for b in reminded[0].flat_buttons] == ["践诺", "放弃"]
    assert world.run_timers() == []

    # The bot restarts: a new core on the same database.
    restarted = ConsoleWorld(Core(db, rules=TEST_RULES, clock=clock))
    restarted.users, restarted.groups = world.users, world.groups
    clock.advance(days=14)
    expired = restarted.run_timers()
    assert [(restarted.chat_name(s.chat_id), s.text) for s in expired] == [
        ("private: 张三", "你认领的「楼道清扫」长时间没有践诺，已回到需求清单上。"),
        ("private: 王书记", "张三 认领的「楼道清扫」28 天没有践诺，已回到需求清单上。")]
    assert restarted.run_timers() == []
    assert [c.status for c in _claims(db, "expired")] == ["expired"]
    assert "3. 楼道清扫 · 5号楼\n   认领 0/1：待认领" in texts(
        restarted.say("李四", GROUP, "需求清单"))[0]


def test_the_reminders_buttons_fulfil_privately(world: ConsoleWorld, clock: Clock) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 楼道清扫")
    clock.advance(days=15)
    world.run_timers()
    assert texts(world.press("张三", "private", "践诺")) == [
        "践诺「楼道清扫」：请写下你做了什么（一两句话即可）。"]
    assert texts(world.say("张三", "private", "楼道扫干净了"))[0] == (
        "已记录你对「楼道清扫」的践诺，等书记评诺。")
    clock.advance(days=14)
    assert world.run_timers() == []  # fulfilled: no expiry


def _claim_taps(world: ConsoleWorld, names: list[str], text: str) -> list[Incoming]:
    return [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user(name), text=text)
            for name in names]


def test_members_racing_for_the_last_places(any_db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    names = [f"党员{n}" for n in range(8)]
    _with_items(world, "张三", *names)
    world.say("张三", GROUP, "认领 A段绿化养护")  # one of its two places is taken
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [shown[0].text for shown in
                   pool.map(world.core.handle, _claim_taps(world, names, "认领 A段绿化养护"))]
    assert sum(a.startswith("认领成功") for a in answers) == 1
    assert answers.count("「A段绿化养护」已经有 2 人认领，名额满了。") == 7
    assert len(_claims(any_db)) == 2


def test_one_member_claiming_five_items_at_once_gets_two(any_db: Database,
                                                         clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    verified_member(world, "张三")
    _import(world, "five.csv", _csv("名称,人数", *(f"事项{n},1" for n in range(5))))
    taps = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user("张三"),
                     text=f"认领 事项{n}") for n in range(5)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = [shown[0].text for shown in pool.map(world.core.handle, taps)]
    assert sum(a.startswith("认领成功") for a in answers) == 2
    assert answers.count("每人最多同时认领 2 个事项。先践诺或放弃一个再来认领吧。") == 3
    assert len(_claims(any_db)) == 2
