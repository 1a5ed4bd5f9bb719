"""积分: a month replayed through the conversations, /points and /rank, corrections, opt-out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.console import ConsoleWorld
from bot.settings import Settings
from handlers.core import Core
from handlers.points import month_bounds
from handlers.rules import Rules
from storage import people
from storage import points as log
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, codes, publish, set_up_branch, texts, verified_member
from tests.test_help_requests import ask_in_group

ITEMS = "名称,地点,人数\n楼道清扫,5号楼,1\n".encode()


def _person(world: ConsoleWorld, name: str) -> int:
    with world.core.db.session() as session:
        account = people.find_account(session, "console", world.private_id(name))
        assert account is not None
        return account.person_id


def _totals(world: ConsoleWorld, year: int, month: int) -> dict[int, int]:
    """What storage.points.totals (shared with the ledger workbook) says for the branch."""
    start, end = month_bounds(year, month, TEST_RULES.timezone)
    someone = _person(world, "张三")
    with world.core.db.session() as session:
        branch_id = people.profiles_of(session, someone)[0].branch_id
        return dict(log.totals(session, branch_id, start, end))


def _members(world: ConsoleWorld, *names: str) -> None:
    set_up_branch(world)
    for name in names:
        verified_member(world, name)


def _november(world: ConsoleWorld, clock: Clock) -> None:
    """A month of the branch: check-ins, an activity, a rated deed, a help request, a problem
    report resolved by its assignee, a no-show and a correction."""
    _members(world, "张三", "李四", "王五")
    world.say("张三", GROUP, "签到")
    world.say("李四", GROUP, "签到")
    assert texts(world.say("张三", GROUP, "签到"))[0].startswith("你今天已于 08:30 签到过了")

    # 践诺 rated 4 stars: 4 × 2 points.
    world.say("王书记", "private", "导入需求清单")
    world.send_file("王书记", "private", "items.csv", ITEMS)
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("张三", GROUP, "践诺 楼道清扫 扫完了")
    assert "积分 +8" in texts(world.say("王书记", GROUP, "评诺 楼道清扫 4 很干净"))[0]

    # A help request confirmed with 5 stars: 5 + 5 points to the helper.
    ask_in_group(world)
    world.press("李四", GROUP, "我来帮忙")
    world.press("李四", "private", "已完成")
    world.press("刘阿姨", "private", "5 星")
    assert world.seen("private", "李四")[-1].text.endswith("你获得 10 积分，谢谢！")

    # A problem report assigned to 王五, who resolves it: 3 points to him, none to the reporter.
    world.say("刘阿姨", GROUP, "反映 5号楼门口的路灯坏了")
    world.press("王书记", "private", "指派")
    world.press("王书记", "private", "王五（3号楼2单元）")
    world.press("王五", "private", "已解决")
    world.say("王五", "private", "已换新灯泡")

    clock.set(2026, 11, 24, 9, 0)
    world.say("张三", GROUP, "签到")

    # The activity (5 points): 张三 comes for 2 hours, 李四 has a place and never comes.
    publish(world)
    world.press("张三", GROUP, "报名")
    world.say("李四", GROUP, "报名 清扫")
    sign_in, sign_out = codes(world)
    clock.set(2026, 11, 28, 8, 52)
    world.scan("张三", sign_in)
    clock.set(2026, 11, 28, 9, 2)
    assert texts(world.scan("张三", sign_in)) == ["你已于 08:52 签到「清扫楼道」。"]
    clock.set(2026, 11, 28, 11, 20)
    world.scan("张三", sign_out)
    clock.set(2026, 11, 28, 11, 31)
    world.run_timers()

    # The secretary corrects 张三's points; he is told privately.
    clock.set(2026, 11, 28, 12, 0)
    username = world.user("张三").username
    shown = world.say("王书记", GROUP, f"积分 adjust @{username} -3 补录错误")
    assert [(world.chat_name(s.chat_id), s.text) for s in shown] == [
        ("private: 王书记", "已为 张三 记入 -3 分（补录错误）。张三 现在累计 14 分。"),
        ("private: 张三", "书记更正了你的积分：-3 分（补录错误）。发送「积分」查看明细。")]


def test_a_month_gives_the_same_totals_everywhere(world: ConsoleWorld, clock: Clock) -> None:
    _november(world, clock)
    # 张三: 1 + 1 check-ins, 8 deed, 5 activity, 2 hours, -3 correction; 李四: 1 check-in,
    # 10 help, -2 no-show; 王五: 3 for the problem.
    expected = {_person(world, "张三"): 14, _person(world, "李四"): 9,
                _person(world, "王五"): 3}
    assert _totals(world, 2026, 11) == expected

    shown = world.say("张三", GROUP, "我的积分")
    assert [(world.chat_name(s.chat_id), s.text) for s in shown] == [
        ("private: 张三", "你的积分：累计 14 分，本月 14 分。\n最近记录：\n"
                        "11-28 书记更正 -3（补录错误）\n11-28 服务时长 +2\n11-28 参加志愿活动 +5\n"
                        "11-24 签到 +1\n11-23 践诺 +8")]
    assert world.say("李四", "private", "积分")[0].text.startswith(
        "你的积分：累计 9 分，本月 9 分。\n最近记录：\n11-28 报名未到 -2\n11-23 邻里求助 +10")

    assert texts(world.say("王五", GROUP, "排行")) == [
        "阳光小区党支部 积分排行 · 2026年11月\n1. 张三 14 分\n2. 李四 9 分\n3. 王五 3 分\n"
        "（共 3 人）", "你：第 3 名，3 分"]

    # December: this month starts afresh, the year keeps November.
    clock.set(2026, 12, 2, 9, 0)
    world.say("张三", GROUP, "签到")
    assert world.say("张三", "private", "积分")[0].text.startswith(
        "你的积分：累计 15 分，本月 1 分。")
    assert texts(world.say("李四", GROUP, "排行")) == [
        "阳光小区党支部 积分排行 · 2026年12月\n1. 张三 1 分\n（共 1 人）"]
    assert texts(world.say("李四", GROUP, "积分排行 year")) == [
        "阳光小区党支部 积分排行 · 2026年\n1. 张三 15 分\n2. 李四 9 分\n3. 王五 3 分\n"
        "（共 3 人）", "你：第 2 名，9 分"]
    assert _totals(world, 2026, 11) == expected  # the past month is unchanged


def test_a_source_awards_once_and_corrections_are_new_entries(world: ConsoleWorld,
                                                              clock: Clock) -> None:
    _members(world, "张三", "李四", "王五")
    # A problem resolved by 王五, reopened by the reporter, then given to 张三 and resolved
    # again: the report has awarded its points already.
    world.say("刘阿姨", GROUP, "反映 路灯坏了")
    world.press("王书记", "private", "指派")
    world.press("王书记", "private", "王五（3号楼2单元）")
    world.press("王五", "private", "已解决")
    world.say("王五", "private", "已换新灯泡")
    clock.advance(days=TEST_RULES.followup_days)
    world.run_timers()
    world.press("刘阿姨", "private", "没解决")
    world.press("王书记", "private", "指派")
    world.press("王书记", "private", "张三（3号楼2单元）")
    world.press("张三", "private", "已解决")
    world.say("张三", "private", "这次修好了")
    first = _totals(world, 2026, 11)
    assert first == {_person(world, "王五"): TEST_RULES.points_problem_resolved}

    # The same source written twice (a replayed update, a second worker) is one entry.
    wang = _person(world, "王五")
    with world.core.db.session() as session:
        branch_id = people.profiles_of(session, wang)[0].branch_id
        again = [log.award(session, wang, branch_id, 3, "problem", "problem:1", clock())
                 for _ in range(2)]
    assert again == [False, False]
    assert _totals(world, 2026, 11) == first

    # Corrections: only the secretary, with an amount and a reason; each is a new entry.
    username = world.user("王五").username
    assert texts(world.say("张三", GROUP, f"积分 adjust @{username} 5 辛苦")) == [
        "这个操作需要书记权限。"]
    usage = ("格式：积分 调整 @姓名 -3 原因（也可以回复那个人的消息）。"
             "分数不能为 0，最多加减 100 分，原因必填。")
    assert texts(world.say("王书记", GROUP, f"积分 adjust @{username} 5")) == [usage]
    assert texts(world.say("王书记", GROUP, f"积分 adjust @{username} 500 太多")) == [usage]
    world.say("王书记", GROUP, f"积分 adjust @{username} 2 夜里又去看了一次")
    world.say("王书记", GROUP, f"积分 adjust @{username} 2 夜里又去看了一次")
    assert _totals(world, 2026, 11) == {_person(world, "王五"): 3 + 2 + 2}
    lines = world.say("王五", "private", "积分")[0].text.splitlines()
    assert lines[2:] == ["11-26 书记更正 +2（夜里又去看了一次）"] * 2 + ["11-23 解决反映的问题 +3"]


def test_opting_out_is_counted_but_not_named_and_ties_share_a_place(
        any_db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    _members(world, "张三", "李四", "王五")
    for name in ("张三", "李四", "王五"):
        world.say(name, GROUP, "签到")
    assert texts(world.say("李四", GROUP, "排行 隐藏")) == [
        "好的，排行榜上不再显示你的名字，积分照常计入。发送「排行 显示」恢复显示。"]
    tied = "1. 张三 1 分\n1. 一位邻居 1 分\n1. 王五 1 分"
    assert texts(world.say("王五", "private", "排行")) == [
        f"阳光小区党支部 积分排行 · 2026年11月\n{tied}\n你：第 1 名，1 分\n（共 3 人）"]
    # Asking in the group, the group sees the ranking and no name; his own place goes to him.
    in_group, mine = world.say("李四", GROUP, "排行")
    assert (in_group.chat_id, mine.chat_id) == (world.group(GROUP), world.private_id("李四"))
    assert in_group.text.endswith(f"{tied}\n（共 3 人）")
    assert mine.text == "你：第 1 名，1 分"

    clock.advance(days=1)
    world.say("王五", GROUP, "签到")
    ranked = texts(world.say("张三", GROUP, "排行"))[0]
    assert "1. 王五 2 分\n2. 张三 1 分\n2. 一位邻居 1 分" in ranked
    world.say("李四", "private", "/rank show")
    assert "2. 李四 1 分" in texts(world.say("张三", GROUP, "排行"))[0]
    world.say("李四", "private", "排行 隐藏")
    world.say("李四", "private", "排行 显示")
    assert "2. 李四 1 分" in texts(world.say("张三", GROUP, "排行"))[0]
    assert world.say("张三", GROUP, "排行 明年") == [], "not a word of 排行: chatter"
    assert texts(world.say("张三", "private", "排行 明年")) == [
        "排行：本月排行；排行 上月：上月排行；排行 2026-11：指定月份的排行；排行 全年：全年排行；"
        "排行 隐藏 / 显示：不显示 / 显示我的名字。"]


def test_every_rule_is_a_setting_and_the_example_keeps_the_defaults(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text((Path(__file__).parents[1] / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JINLIN_POINTS_NO_SHOW", "-5")
    rules = Settings().rules()
    names = ("points_checkin", "points_per_hour", "points_per_star", "points_help_base",
             "points_problem_resolved")
    assert [getattr(rules, n) for n in names] == [getattr(Rules(), n) for n in names]
    assert rules.points_no_show == -5
