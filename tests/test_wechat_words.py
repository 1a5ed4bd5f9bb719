"""Words for WeChat, read as a follower reads them: help fits one short message for every
role and ends with 回复「更多」, 更多 gives the rest; a form's summary says what to reply."""

from __future__ import annotations

from bot.cli import grant
from bot.console import ConsoleWorld
from tests.story import BRANCH
from tests.test_wechat import (
    WANG,
    ZHANG,
    Running,
    _verified_on_wechat,
    fake_wx,
    running,
)

__all__ = ["fake_wx", "running"]  # fixtures used by name below

NEWCOMER = "oVbq06JustFollowedTheAccount"
LEADER = "oVbq06BuildingLeaderOfNo3001"
ADMIN = "oVbq06CommunityAdminOfLujiang"


async def help_and_more(run: Running, openid: str) -> tuple[str, str]:
    """What `帮助` and then `更多` show this follower (更多 may take several messages)."""
    who = run.follower(openid)
    short = await run.say(who, "帮助")
    before = len(run.fake.texts_to(openid))
    more = await run.say(who, "更多")
    await run.settle()
    return short, "\n".join([more, *run.fake.texts_to(openid)[before:]])


async def test_help_fits_600_bytes_for_every_role_and_更多_gives_the_rest(
        running: Running, world: ConsoleWorld) -> None:
    await _verified_on_wechat(running, world)  # 王书记 (secretary) and 张三 (member)
    for openid in (NEWCOMER, LEADER, ADMIN):
        await running.say(running.follower(openid), "你好")
    grant(world.core.db, f"wechat:{LEADER}", "building_leader", branch=BRANCH)
    grant(world.core.db, f"wechat:{ADMIN}", "community_admin")
    seen = {}
    for openid, role in ((NEWCOMER, "居民"), (ZHANG, "党员"), (LEADER, "楼栋长"),
                         (WANG, "书记"), (ADMIN, "社区管理员")):
        short, more = await help_and_more(running, openid)
        assert f"你的身份：{role}" in short
        assert len(short.encode()) < 600, (role, len(short.encode()))
        assert short.endswith("回复「更多」")
        assert "活动" in short
        assert "群里" not in short
        assert "点「" not in short
        assert "活动、志愿活动 — " in more
        seen[role] = (short, more)
    assert "待核实" in seen["书记"][0]
    assert "/grant — " in seen["社区管理员"][1]
    assert "/grant" not in seen["社区管理员"][0]
    assert "/bind" not in seen["社区管理员"][1], "no groups to bind on WeChat"
    assert "待核实" not in seen["党员"][1]


async def test_a_form_summary_says_what_to_reply(running: Running, world: ConsoleWorld
                                                 ) -> None:
    await _verified_on_wechat(running, world)
    wang = running.follower(WANG)
    for answer in ("活动 new", "清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "5", "1"):
        await running.say(wang, answer)
    summary = await running.say(wang, "1")  # no note
    assert "请核对「发布活动」" in summary
    assert "没问题请回复「发布」前面的数字" in summary
    assert "回复 1：发布" in summary
    assert "点「" not in summary


async def test_privacy_help_a_stray_answer_and_a_cancellation_talk_of_no_groups_or_buttons(
        running: Running, world: ConsoleWorld) -> None:
    """A WeChat follower is in no group and has nothing to tap: what they read says what
    others see of them, which numbers to reply and what a cancellation tells."""
    await _verified_on_wechat(running, world)
    zhang, wang = running.follower(ZHANG), running.follower(WANG)
    privacy = await running.say(zhang, "隐私")
    assert ("谁能看到：其他人只看得到你的姓名、楼栋和签到次数；"
            "完整资料只有本支部书记和社区管理员能看到。") in privacy
    assert "群" not in privacy
    await running.say(zhang, "求助 帮忙取快递")
    assert await running.say(zhang, "随便") == "请回复选项前面的数字。"
    await running.say(zhang, "取消")
    _short, more = await help_and_more(running, WANG)
    assert "待核实 — 待核实的亮身份申请（回复「核实 编号」或「驳回 编号 原因」）" in more
    assert "按钮" not in more
    for answer in ("活动 new", "清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "5", "1", "1"):
        await running.say(wang, answer)
    published = await running.say(wang, "1")  # 发布
    assert "「清扫楼道」已发布" in published
    asked = await running.say(wang, "活动 取消")
    assert asked.startswith("取消「清扫楼道」：请写一句原因（会告诉报名和候补的人）。")
