"""Branches and roles on WeChat alone: with two branches a resident chooses hers at 亮身份 (or
scans the branch's 报到码); the admin names a secretary in a private chat, naming the
branch; the secretary names a building leader there too."""

from __future__ import annotations

from sqlalchemy import select

from bot.cli import grant
from handlers.core import Core
from storage.models import MemberProfile
from tests.test_wechat import WANG, ZHANG, Running, fake_wx, running

__all__ = ["fake_wx", "running"]  # fixtures used by name below

ADMIN = "oVbq06AdminOfTheCommunity0001"
NEWCOMER = "oVbq06NewcomerScansTheCode01"
SUNNY, SEAVIEW = "阳光小区党支部", "海景花园党支部"


async def two_branches(run: Running) -> None:
    """The deployer makes the WeChat follower ADMIN the first admin; ADMIN sets up both."""
    grant(run.core.db, f"wechat:{ADMIN}", "community_admin")
    admin = run.follower(ADMIN)
    for line in ("/community new 鹭江社区", f"/branch new {SUNNY}", f"/branch new {SEAVIEW}"):
        await run.say(admin, line)


async def register(run: Running, openid: str, name: str, branch_number: str) -> None:
    """亮身份 one to one: choose the branch by number, then the form."""
    who = run.follower(openid)
    offered = await run.say(who, "亮身份")
    assert "你住在哪个小区？" in offered
    assert f"回复 1：{SUNNY}" in offered
    assert f"回复 2：{SEAVIEW}" in offered
    for answer in (branch_number, name, "3号楼", "2", "1", "1", "1"):
        await run.say(who, answer)
    await run.settle()


def branch_of(core: Core, name: str) -> str:
    from storage import orgs

    with core.db.session() as session:
        profile = session.scalar(select(MemberProfile).where(MemberProfile.name == name))
        assert profile is not None
        branch = orgs.branch(session, profile.branch_id)
        assert branch is not None
        return branch.name


async def test_roles_and_branches_on_wechat_alone(running: Running) -> None:
    await two_branches(running)
    await register(running, WANG, "王芳", "1")
    assert branch_of(running.core, "王芳") == SUNNY
    admin = running.follower(ADMIN)
    assert "王芳" in await running.say(admin, "1"), "no secretary yet: the admin verifies"
    vague = await running.say(admin, "/grant 书记 @王芳")
    assert vague.startswith("请在最后写上支部名称")
    named = await running.say(admin, f"/grant 书记 @王芳 {SUNNY}")
    assert "王芳" in named
    assert SUNNY in named
    await running.settle()
    assert any("书记" in text for text in running.fake.texts_to(WANG))

    wang = running.follower(WANG)
    await register(running, ZHANG, "张三", "1")
    verified = await running.say(wang, "1")  # 核实, the newest card, nothing else since
    assert "张三" in verified
    leader = await running.say(wang, "/grant 楼栋长 @张三")
    assert "张三" in leader
    assert "楼栋长" in leader

    await running.say(wang, "报到码")
    await running.settle()
    scene = running.fake.scenes()[-1]
    assert scene.startswith("iam_")
    newcomer = running.follower(NEWCOMER)
    started = newcomer.read_reply(await newcomer.post(running.http,
                                                      newcomer.subscribe_by_scan(scene)))
    assert SUNNY in started
    assert "第 1 步" in started or "姓名" in started
