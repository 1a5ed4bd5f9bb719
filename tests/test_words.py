"""Chinese words everywhere: subcommands and roles in Chinese, and @姓名 for a person."""

from __future__ import annotations

from bot.console import ConsoleWorld
from handlers import activities, needs, notices, robots
from handlers.i18n import Catalogs
from handlers.router import normalize
from tests.conftest import Clock
from tests.story import GROUP, publish, set_up_branch, texts, verified_member

# ---------------------------------------------------------------- roles and @姓名


def test_grant_and_revoke_with_chinese_role_words_and_a_name(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert texts(world.say("王书记", GROUP, "/grant 楼栋长 @张三")) == [
        "已任命 张三 为阳光小区党支部楼栋长。",
        "你已被任命为「阳光小区党支部」楼栋长。发送「帮助」查看新的命令。"]
    assert texts(world.say("王书记", GROUP, "/revoke 楼栋长 @张三"))[0] == (
        "已撤销 张三 的阳光小区党支部楼栋长任命。")
    world.say("张三", GROUP, "大家好")
    assert texts(world.say("王书记", GROUP, "/grant 楼栋长", reply_to="张三"))[0] == (
        "已任命 张三 为阳光小区党支部楼栋长。")
    # The English words keep working.
    world.say("王书记", GROUP, "/revoke building_leader @张三")
    assert "楼栋长" in texts(world.say("王书记", GROUP, "/grant building_leader @张三"))[0]


def test_an_unknown_role_lists_the_words_one_can_type(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert texts(world.say("王书记", GROUP, "/grant 经理 @张三")) == [
        "不认识「经理」这个身份。可以任命：楼栋长（building_leader）、书记（secretary）、"
        "社区管理员（community_admin）。"]
    assert texts(world.say("王书记", GROUP, "/grant")) == [
        "用法：/grant 身份 @姓名（或 @用户名），或回复对方的消息发送 /grant 身份。身份可以是："
        "楼栋长（building_leader）、书记（secretary）、社区管理员（community_admin）。"]


def test_two_neighbours_of_one_name_are_asked_about(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "王芳")
    # A second member registered under the same name, from another building.
    world.say("小王", GROUP, "亮身份")
    world.say("小王", "private", "王芳")
    world.say("小王", "private", "5号楼1单元")
    world.press("小王", "private", "离退休")
    world.press("小王", "private", "在册")
    world.press("小王", "private", "暂无")
    world.press("小王", "private", "提交")
    world.press("王书记", "private", "核实")
    first, second = world.user("王芳").username, world.user("小王").username
    assert texts(world.say("王书记", GROUP, "/grant 楼栋长 @王芳")) == [
        f"有 2 位叫「王芳」的邻居：王芳（3号楼2单元、@{first}）、王芳（5号楼1单元、@{second}）。"
        "请用 @用户名，或者回复对方的消息。"]
    # Named as registered (亮身份); the username only told the two apart.
    assert texts(world.say("王书记", GROUP, f"/grant 楼栋长 @{second}"))[0] == (
        "已任命 王芳 为阳光小区党支部楼栋长。")


def test_a_name_nobody_has_is_refused_clearly(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert texts(world.say("王书记", GROUP, "/grant 楼栋长 @赵六")) == [
        "没有找到「赵六」：本支部没有叫这个名字的人，我也不认识这个用户名。"
        "请对方先跟我说句话，或者回复对方的消息。"]


# ---------------------------------------------------------------- 活动 and 积分


def _two_no_shows(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "李四")
    publish(world, title="第一次", start="11-24 9:00")
    publish(world, title="第二次", start="11-25 9:00")
    world.say("李四", GROUP, "报名 第一次")
    world.say("李四", GROUP, "报名 第二次")
    clock.set(2026, 11, 26, 12, 0)
    world.run_timers()


def test_lift_in_chinese_with_a_name(world: ConsoleWorld, clock: Clock) -> None:
    _two_no_shows(world, clock)
    assert texts(world.say("王书记", "private", "活动 解除限制 @李四。"))[0] == (
        "已为 李四 免计 2 次缺席，可以重新报名了。")


def test_lift_in_english_with_a_bare_name(world: ConsoleWorld, clock: Clock) -> None:
    _two_no_shows(world, clock)
    assert texts(world.say("王书记", "private", "活动 lift 李四"))[0] == (
        "已为 李四 免计 2 次缺席，可以重新报名了。")
    assert texts(world.say("王书记", "private", "活动 解除限制")) == [
        "用法：活动 解除限制 @姓名（也可以回复那个人的消息）。"]


def test_activity_words(world: ConsoleWorld) -> None:
    set_up_branch(world)
    (asked,) = world.say("王书记", GROUP, "活动 新建")
    assert asked.chat_id == world.private_id("王书记"), "the form opens privately"
    assert asked.text.startswith("为「阳光小区党支部」发布志愿活动。\n第 1 步：活动名称")
    world.press("王书记", "private", "放弃")
    publish(world)
    listed = texts(world.say("王书记", "private", "活动 列表"))[0]
    assert "清扫楼道" in listed
    assert texts(world.say("王书记", "private", "活动")) == [listed]
    assert "清扫楼道" in texts(world.say("王书记", "private", "活动 报告 清扫楼道"))[0]


def test_adjust_points_in_chinese(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    shown = world.say("王书记", GROUP, "积分 调整 @张三 -2 迟到")
    assert [(world.chat_name(s.chat_id), s.text) for s in shown] == [
        ("private: 王书记", "已为 张三 记入 -2 分（迟到）。张三 现在累计 -2 分。"),
        ("private: 张三", "书记更正了你的积分：-2 分（迟到）。发送「积分」查看明细。")]


def test_rank_last_month_and_a_given_month(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    clock.set(2026, 10, 20, 9, 0)
    world.say("张三", GROUP, "签到")
    world.say("李四", GROUP, "签到")
    clock.set(2026, 11, 23, 9, 0)
    world.say("李四", GROUP, "签到")
    clock.set(2026, 12, 1, 9, 0)
    world.say("张三", GROUP, "签到")
    assert texts(world.say("张三", GROUP, "排行 上月")) == [
        "阳光小区党支部 积分排行 · 2026年11月\n1. 李四 1 分\n（共 1 人）"]
    assert texts(world.say("张三", GROUP, "排行 2026-11")) == [
        "阳光小区党支部 积分排行 · 2026年11月\n1. 李四 1 分\n（共 1 人）"]
    assert texts(world.say("张三", GROUP, "排行 2026年10月")) == [
        "阳光小区党支部 积分排行 · 2026年10月\n1. 张三 1 分\n1. 李四 1 分\n（共 2 人）",
        "你：第 1 名，1 分"]
    assert texts(world.say("张三", GROUP, "排行 本月")) == [
        "阳光小区党支部 积分排行 · 2026年12月\n1. 张三 1 分\n（共 1 人）", "你：第 1 名，1 分"]
    assert texts(world.say("张三", GROUP, "排行 全年"))[0].startswith(
        "阳光小区党支部 积分排行 · 2026年\n1. 张三 2 分\n1. 李四 2 分")
    assert texts(world.say("张三", GROUP, "排行 2026-13"))[0].startswith("排行：本月排行；")


# ---------------------------------------------------------------- 通知


def test_notice_subcommands_in_chinese(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "每日提醒")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "每天")
    world.say("王书记", "private", "08:00")
    world.press("王书记", "private", "确定")
    assert "下次 11月24日周二 08:00" in texts(world.say("王书记", "private", "通知 列表"))[0]
    assert texts(world.say("王书记", "private", "通知 修改 1 时间 07:30")) == ["通知 #1 已修改。"]
    assert texts(world.say("王书记", "private", "通知 修改 1 内容 每日早安")) == [
        "通知 #1 已修改。"]
    assert texts(world.say("王书记", "private", "通知 修改 1 颜色 红色")) == [
        "用法：通知 修改 编号 内容 新的文字，或 通知 修改 编号 时间 09:00"]
    listed = texts(world.say("王书记", "private", "通知 列表"))[0]
    assert "每日早安" in listed
    assert "下次 11月24日周二 07:30" in listed
    clock.set(2026, 11, 24, 7, 30)
    world.run_timers()
    world.drain_outbox()
    assert "收到：0/0 名党员" in texts(world.say("王书记", "private", "通知 状态 1"))[0]
    assert texts(world.say("王书记", "private", "通知 取消 1")) == [
        "通知 #1 已取消，不会再发送。"]


# ---------------------------------------------------------------- the word list itself


def test_each_word_names_one_subcommand_that_exists() -> None:
    words = Catalogs().words
    tables = {"activity": activities.SUBCOMMANDS, "notice": notices.SUBCOMMANDS,
              "items": needs.SUBCOMMANDS, "robot": robots.SUBCOMMANDS}
    for section, table in tables.items():
        assert set(words[section]) <= set(table), section
    for section, names in words.items():
        typed = [normalize(word) for name, others in names.items() for word in (name, *others)]
        assert len(typed) == len(set(typed)), section
