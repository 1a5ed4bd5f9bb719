"""绑定账号: one person on two platforms — codes, joining the records, clashes, unlinking."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.console import ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming, Sender
from storage import people, points
from storage.models import CheckIn, LinkCode, Person
from tests.conftest import Clock
from tests.story import GROUP, codes, publish, set_up_branch, verified_member

TG_ID = "5203391870"


def on_telegram(core: Core, text: str, user: str = TG_ID) -> list[str]:
    """张三 writes privately to the bot on Telegram (the core's side of the adapter)."""
    sender = Sender("telegram", user, "张三", "zhang", "zh-hans")
    return [o.text for o in core.handle(Incoming("telegram", user, ChatKind.PRIVATE, sender,
                                                 text=text))]


def zh(core: Core, key: str, **params: object) -> str:
    return core.catalogs.get("zh_CN")(key, **params)


def code_from(shown: list[object]) -> str:
    """The six-digit code in the first message shown (console Shown or a text)."""
    text = str(getattr(shown[0], "text", shown[0]))
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, text
    return found[1]


def person_of(core: Core, platform: str, external_id: str) -> int:
    with core.db.session() as session:
        account = people.find_account(session, platform, external_id)
        assert account is not None
        return account.person_id


def points_of(core: Core, person_id: int) -> int:
    with core.db.session() as session:
        return points.total(session, person_id)


@pytest.fixture
def member(world: ConsoleWorld, clock: Clock) -> ConsoleWorld:
    """张三 is a verified member on the console, signed in to an activity (5 points)."""
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", GROUP, "签到")
    publish(world)
    world.say("张三", GROUP, "报名 清扫楼道")
    sign_in, _ = codes(world)
    clock.set(2026, 11, 28, 8, 50)
    world.scan("张三", sign_in)
    return world


def test_a_telegram_account_joins_the_console_person(member: ConsoleWorld) -> None:
    core = member.core
    console_person = person_of(core, "console", member.user("张三").external_id)
    earned = points_of(core, console_person)
    code = code_from(member.say("张三", "private", "绑定账号"))
    assert on_telegram(core, f"绑定账号 {code}") == [
        "绑定成功：你在 控制台、Telegram 上是同一个人了，身份、报名、认领和积分都合在一起。"
        f"你现在共有 {earned} 积分。"]
    assert person_of(core, "telegram", TG_ID) == console_person
    # The Telegram account is the verified member now: this month's count runs on.
    assert on_telegram(core, "签到") == [zh(core, "checkin.done", name="张三",
                                          where="3号楼2单元", count=2)]


def test_checkins_on_both_keep_the_earlier_and_points_add_up(member: ConsoleWorld,
                                                             clock: Clock) -> None:
    """The Telegram account had a check-in the same day and points of its own."""
    core = member.core
    clock.set(2026, 11, 28, 10, 0)
    member.say("张三", GROUP, "签到")  # console, 10:00
    on_telegram(core, "/start")
    tg_person = person_of(core, "telegram", TG_ID)
    with core.db.session() as session:
        first_day = session.scalar(select(CheckIn.day).order_by(CheckIn.at))
        branch_id = session.scalar(select(CheckIn.branch_id))
        assert branch_id is not None
        session.add(CheckIn(person_id=tg_person, branch_id=branch_id, day=first_day,
                            at=clock().replace(year=2026, month=11, day=23, hour=0)))
        points.award(session, tg_person, branch_id, 3, "help", "help:1", clock())
    console_person = person_of(core, "console", member.user("张三").external_id)
    total = points_of(core, console_person) + 3
    code = code_from(on_telegram(core, "绑定账号"))
    assert member.say("张三", "private", f"绑定账号 {code}")[-1].text == (
        "绑定成功：你在 控制台、Telegram 上是同一个人了，身份、报名、认领和积分都合在一起。"
        f"你现在共有 {total} 积分。")
    with core.db.session() as session:
        days = session.execute(select(CheckIn.day, func.count()).group_by(CheckIn.day)).all()
        assert all(n == 1 for _, n in days), "one check-in per day is kept"
        assert session.get(Person, console_person) is None, "the code's owner is kept"
        assert session.scalar(select(func.count()).select_from(Person)
                              .where(Person.id == tg_person)) == 1


def test_wrong_expired_used_and_same_platform_codes_are_refused(member: ConsoleWorld,
                                                                clock: Clock) -> None:
    core = member.core
    assert on_telegram(core, "绑定账号 12345") == [zh(core, "error.link_code_wrong")]
    assert on_telegram(core, "绑定账号 000000") == [zh(core, "error.link_code_wrong")]
    code = code_from(member.say("张三", "private", "绑定账号"))
    assert member.say("张三", "private", f"绑定账号 {code}")[-1].text == zh(
        core, "error.link_same_person")
    assert member.say("李四", "private", f"绑定账号 {code}")[-1].text == zh(
        core, "error.link_same_platform")
    clock.advance(minutes=11)
    assert on_telegram(core, f"绑定账号 {code}") == [zh(core, "error.link_code_expired")]
    fresh = code_from(member.say("张三", "private", "绑定账号"))
    assert on_telegram(core, f"绑定账号 {fresh}")[0].startswith("绑定成功")
    assert on_telegram(core, f"绑定账号 {fresh}", user="777") == [
        zh(core, "error.link_code_used")]


def test_a_code_is_sent_privately_when_asked_in_a_group(member: ConsoleWorld) -> None:
    shown = member.say("张三", GROUP, "绑定账号")
    assert [s.chat_id for s in shown] == [member.private_id("张三")], "nothing in the group"
    with member.core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LinkCode)) == 1


def test_two_registrations_with_one_branch_are_refused(member: ConsoleWorld) -> None:
    core = member.core
    on_telegram(core, "/start iam_1")
    for answer in ("张三", "5号楼", "1", "1", "1", "1"):  # the last: the summary's 提交
        on_telegram(core, answer)
    code = code_from(member.say("张三", "private", "绑定账号"))
    assert on_telegram(core, f"绑定账号 {code}") == [zh(core, "error.link_conflict")]
    assert person_of(core, "telegram", TG_ID) != person_of(
        core, "console", member.user("张三").external_id), "nothing was joined"
    with core.db.session() as session:
        assert session.scalar(select(LinkCode.used_at)) is None, "the code is still good"


def test_unlinking_leaves_the_records_with_the_other_account(member: ConsoleWorld) -> None:
    core = member.core
    console_person = person_of(core, "console", member.user("张三").external_id)
    earned = points_of(core, console_person)
    on_telegram(core, f"绑定账号 {code_from(member.say('张三', 'private', '绑定账号'))}")
    assert on_telegram(core, "解除绑定") == [zh(core, "link.unlinked", platforms="控制台")]
    tg_person = person_of(core, "telegram", TG_ID)
    assert tg_person != console_person
    assert (points_of(core, tg_person), points_of(core, console_person)) == (0, earned)
    assert on_telegram(core, "解除绑定") == [zh(core, "error.link_not_linked")]
