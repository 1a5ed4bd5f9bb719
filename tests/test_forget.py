"""/privacy lists everything the bot stores about a person, and /forget erases all of it:
afterwards a dump of every table shows nothing of them but anonymous counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.console import ConsoleWorld
from storage import people
from storage.models import (
    Account,
    Base,
    Claim,
    HelpRequest,
    ProblemReport,
    ProcessedUpdate,
    Signup,
    Timer,
    WechatUser,
)
from tests.story import GROUP, fill_form, publish, set_up_branch, texts, verified_member

OPENID = "oVbq06ZhangSanOpenId00000001"
# Everything of 张三's that must be gone afterwards.
TRACES = ["张三", "7号楼1单元", "水电维修", "13812345678", "3号楼502", "每周二浇水", "扫完了",
          "路灯", "买点菜", OPENID]


def dump(world: ConsoleWorld) -> str:
    """Every row of every table, as text."""
    lines = []
    with world.core.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                lines.append(f"{table.name}: {tuple(row)}")
    return "\n".join(lines)


def rows(world: ConsoleWorld, model: Any, **where: Any) -> list[Any]:
    with world.core.db.session() as session:
        query = select(model).filter_by(**where)
        return list(session.scalars(query).all())


def zhang_everywhere(world: ConsoleWorld) -> int:
    """张三 registers with skills, checks in, claims, promises and fulfils, signs up (one place,
    one waitlist spot), asks for help with a phone number, reports a problem, and also
    follows the Official Account on WeChat. Returns his person id."""
    set_up_branch(world)
    verified_member(world, "李四")
    world.say("张三", GROUP, "亮身份")
    fill_form(world, "张三", "7号楼1单元", skills="水电维修")
    world.press("王书记", "private", "核实")
    world.say("张三", GROUP, "签到")
    world.say("王书记", "private", "导入需求清单")
    world.send_file("王书记", "private", "items.csv",
                    "名称,地点,人数\nA段绿化养护,东侧,2\n楼道清扫,5号楼,1".encode())
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("张三", GROUP, "践诺 张三扫完了5号楼楼道")
    world.say("张三", GROUP, "认领 A段绿化养护 承诺：张三每周二浇水")
    publish(world, "清扫楼道", capacity=1)
    publish(world, "义诊", capacity=1)
    world.say("张三", GROUP, "报名 清扫楼道")
    world.say("李四", GROUP, "报名 清扫楼道")
    world.say("李四", GROUP, "报名 义诊")
    world.say("张三", GROUP, "报名 义诊")
    world.say("张三", GROUP, "求助 帮我买点菜，电话13812345678，3号楼502")
    world.press("张三", "private", "对，是代买")
    world.press("张三", "private", "就这些")
    world.press("张三", "private", "发出求助")
    world.say("张三", GROUP, "反映 7号楼张三家门口的路灯坏了")
    with world.core.db.session() as session:
        person = people.find_account(session, "console", world.user("张三").external_id)
        assert person is not None
        session.add(Account(person_id=person.person_id, platform="wechat", external_id=OPENID,
                            display_name=""))
        session.add(WechatUser(openid=OPENID, choices=[{"data": "x"}], missed=0))
        session.add(ProcessedUpdate(platform="wechat", key=f"msg:{OPENID}:2478000001",
                                    at=world.core.clock()))
        return person.person_id


def test_privacy_lists_every_kind_stored(world: ConsoleWorld) -> None:
    zhang_everywhere(world)
    (shown,) = texts(world.say("张三", "private", "隐私"))
    for line in ("· 姓名：1 条（张三）", "· 楼栋：1 条（7号楼1单元）",
                 "· 特长：1 条（水电维修）", "· 身份类别：1 条（离退休）",
                 "· 求助时留的电话和门牌：1 条（电话13812345678",
                 "· 活动报名：2 条", "· 认领和承诺：2 条", "· 反映的问题：1 条",
                 "· 积分记录：", "· 每日签到：1 条", "· 关联的聊天账号：2 条",
                 "· 微信服务号关注记录：1 条", "· 已处理消息的编号：1 条", "· 求助：1 条"):
        assert line in shown, line
    assert "谁能看到" in shown


def test_forget_erases_every_kind_and_closes_what_is_open(world: ConsoleWorld) -> None:
    person_id = zhang_everywhere(world)
    help_card = [s for s in world.seen(GROUP) if "【邻里求助" in s.text]
    assert help_card
    assert "买点菜" in help_card[-1].text

    world.say("张三", "private", "/forget")
    erased = world.press("张三", "private", "确定删除")
    assert "已删除" in erased[0].text

    # The group's help card now says only that it was withdrawn.
    (card_now,) = [s for s in world.seen(GROUP) if "【邻里求助" in s.text]
    assert card_now.text == "【邻里求助 #1】已撤回"
    # The secretary hears that the report was closed; 李四 moves up from the waitlist.
    assert "反映 #1 的反映人删除了自己的数据，这条反映已关闭。" in texts(
        world.seen("private", "王书记"))
    assert any("清扫楼道" in t and "从候补转为正式报名" in t
               for t in texts(world.seen("private", "李四")))

    assert [r.status for r in rows(world, HelpRequest)] == ["cancelled"]
    assert [r.status for r in rows(world, ProblemReport)] == ["closed"]
    assert sorted(c.status for c in rows(world, Claim, person_id=person_id)) == [
        "done", "released"]
    assert {s.status for s in rows(world, Signup, person_id=person_id)} == {"cancelled"}
    assert [s.status for s in rows(world, Signup, person_id=rows(
        world, Account, display_name="李四")[0].person_id)] == ["confirmed", "confirmed"]
    pending = [(t.kind, t.ref) for t in rows(world, Timer, state="pending")]
    open_claim = max(c.id for c in rows(world, Claim, person_id=person_id))
    withdrawn = {(f"help_escalate_{step}", "1") for step in (1, 2, 3)} | {
        ("claim_reminder", str(open_claim)), ("claim_expire", str(open_claim))}
    assert withdrawn & set(pending) == set(), "their timers will not fire"

    everything = dump(world)
    left = [trace for trace in TRACES if trace in everything]
    assert left == [], [line for line in everything.splitlines()
                        if any(t in line for t in left)][:5]
    assert rows(world, Account, person_id=person_id) == []
    # Anonymous counts stay: the check-in and the points of the deed.
    assert "checkins:" in everything

    (after,) = texts(world.say("张三", "private", "隐私"))
    listed = after.split("谁能看到")[0]
    assert listed == "我存了你的这些数据：\n· 关联的聊天账号：1 条（控制台）\n\n", "a fresh start"
