"""Typed numbers on WeChat never answer the wrong message: the open form takes them, else
only the newest prompt when nothing came since; otherwise the bot asks which. Cards carry a
short code (`核实 3`, `驳回 3 原因`) and `待核实` brings them back. The real wechatpy client
against the fake WeChat API, callbacks AES-encrypted as WeChat sends them."""

from __future__ import annotations

from sqlalchemy import select

from bot.console import ConsoleWorld
from handlers.messages import Outgoing
from storage.models import MemberProfile, MemberStatus
from tests.conftest import Clock
from tests.test_wechat import (
    WANG,
    Running,
    apply,
    branch_with_wechat_secretary,
    fake_wx,
    running,
)

__all__ = ["fake_wx", "running"]  # fixtures used by name below

ZHAO = "oVbq06ZhaoLiu000000000000001"
QIAN = "oVbq06QianQi0000000000000002"


def status_of(run: Running, name: str) -> str:
    with run.core.db.session() as session:
        profile = session.scalar(select(MemberProfile).where(MemberProfile.name == name))
        assert profile is not None
        return str(profile.status)


def code_of(run: Running, name: str) -> int:
    with run.core.db.session() as session:
        profile = session.scalar(select(MemberProfile).where(MemberProfile.name == name))
        assert profile is not None
        return profile.id


async def test_a_number_typed_in_a_form_answers_the_form_not_the_card_that_arrived(
        running: Running, world: ConsoleWorld) -> None:
    branch_with_wechat_secretary(world)
    wang = running.follower(WANG)
    await running.say(wang, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂"):
        await running.say(wang, answer)
    await apply(running, ZHAO, "赵六")
    card = running.fake.texts_to(WANG)[-1]
    assert "赵六" in card
    assert "回复 2：驳回" in card
    asked = await running.say(wang, "2")
    assert "积分" in asked, "the form's next step (points) is asked: 2 was the places"
    assert status_of(running, "赵六") == MemberStatus.PENDING
    await running.settle()
    assert not any("驳回" in text for text in running.fake.texts_to(ZHAO))


async def test_a_form_given_up_is_not_offered_again_when_the_bot_asks_which(
        running: Running, world: ConsoleWorld) -> None:
    """王书记 starts an activity and gives it up; two cards come; her "1" is asked about,
    and the question lists the two cards' choices only, not the form she left."""
    branch_with_wechat_secretary(world)
    wang = running.follower(WANG)
    await running.say(wang, "活动 new")
    await running.say(wang, "清扫楼道")
    await running.say(wang, "取消")
    await apply(running, ZHAO, "赵六")
    await apply(running, QIAN, "钱七")
    which = await running.say(wang, "1")
    assert which.startswith("你是要回复哪一条？")
    offered = [line for line in which.splitlines() if line.startswith("回复 ")]
    assert len(offered) == 4, which  # 核实 and 驳回 of each card
    assert all("亮身份申请" in line for line in offered), which


async def test_two_cards_in_a_row_make_the_bot_ask_which(running: Running,
                                                         world: ConsoleWorld) -> None:
    branch_with_wechat_secretary(world)
    wang = running.follower(WANG)
    await running.say(wang, "帮助")
    await apply(running, ZHAO, "赵六")
    await apply(running, QIAN, "钱七")
    which = await running.say(wang, "1")
    assert which.startswith("你是要回复哪一条？")
    assert "回复 1：核实（新的亮身份申请（阳光小区党支部）： 姓名：赵六" in which
    assert "回复 3：核实（新的亮身份申请（阳光小区党支部）： 姓名：钱七" in which
    assert status_of(running, "赵六") == status_of(running, "钱七") == MemberStatus.PENDING
    decided = await running.say(wang, "3")
    assert "钱七" in decided
    assert status_of(running, "钱七") == MemberStatus.VERIFIED
    assert status_of(running, "赵六") == MemberStatus.PENDING


async def test_a_card_followed_by_another_message_is_not_answered_by_a_number(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    """A reply the secretary wrote since the card is fine; a message the bot sent since the
    card is not; nor is a card from an hour ago."""
    branch_with_wechat_secretary(world)
    wang = running.follower(WANG)
    await running.say(wang, "帮助")
    await apply(running, ZHAO, "赵六")
    await running.adapter.deliver([world_notice()])
    asked = await running.say(wang, "1")
    assert asked.startswith("你是要回复哪一条？")
    await running.say(wang, "帮助")
    await apply(running, QIAN, "钱七")
    clock.advance(minutes=31)
    stale = await running.say(wang, "1")
    assert stale.startswith("你是要回复哪一条？")
    assert status_of(running, "钱七") == MemberStatus.PENDING


def world_notice() -> Outgoing:
    return Outgoing("wechat", WANG, "明天上午停水")


async def test_short_codes_decide_at_any_time_and_pending_brings_cards_back(
        running: Running, world: ConsoleWorld) -> None:
    branch_with_wechat_secretary(world)
    wang = running.follower(WANG)
    await running.say(wang, "帮助")
    await apply(running, ZHAO, "赵六")
    await apply(running, QIAN, "钱七")
    zhao, qian = code_of(running, "赵六"), code_of(running, "钱七")
    card = running.fake.texts_to(WANG)[-1]
    assert f"编号 {qian}：也可以随时回复「核实 {qian}」或「驳回 {qian} 原因」" in card
    listed = await running.say(wang, "待核实")
    assert "有 2 份待核实的申请" in listed
    assert f"编号 {zhao}" in listed
    rejected = await running.say(wang, f"驳回 {zhao} 不住本小区")
    assert "赵六" in rejected
    assert status_of(running, "赵六") == MemberStatus.REJECTED
    await running.settle()
    assert any("不住本小区" in text for text in running.fake.texts_to(ZHAO))
    assert "钱七" in await running.say(wang, f"核实 {qian}")
    assert status_of(running, "钱七") == MemberStatus.VERIFIED
    again = await running.say(wang, f"核实 {qian}")
    assert "已" in again
    assert status_of(running, "钱七") == MemberStatus.VERIFIED
    usage = await running.say(wang, "核实")
    assert usage == ("请在「核实」后写上申请卡片上的编号，例如「核实 3」；"
                     "发送「待核实」查看所有待核实的申请。")
