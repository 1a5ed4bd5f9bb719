"""Privacy: across the help and problem stories, no group message ever carries a phone or
door number a requester gave, whether typed in the request itself or privately."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.console import ConsoleWorld, Shown
from handlers.core import Core
from handlers.messages import Outgoing
from storage.db import Database
from storage.models import HelpRequest, ProblemReport
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, set_up_branch, verified_member
from tests.test_help_requests import tap

PHONES = ("13812345678", "13900001111", "13600001111", "021-62345678", "139-1234-5678")
DOORS = ("3号楼502", "502", "5号楼301室", "301", "2单元1203", "1203", "8-2-601", "601")


class RecordingWorld(ConsoleWorld):
    """A console world that keeps every text sent to a group: posts, edits and toasts."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.group_texts: list[str] = []

    def _show(self, out: Outgoing) -> Shown:
        if out.chat_id in self.groups.values():
            self.group_texts.append(out.text)
            self.group_texts += [b.label for row in out.buttons for b in row]
        return super()._show(out)


@pytest.fixture
def recording(db: Database, clock: Clock) -> RecordingWorld:
    world = RecordingWorld(Core(db, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    for name in ("张三", "李四"):
        verified_member(world, name)
    world.say("王书记", GROUP, "/grant building_leader", reply_to="李四")
    return world


def _ask(world: ConsoleWorld, name: str, text: str, *answers: str) -> None:
    """`name` asks in the group and answers the private questions (typed or a button)."""
    world.say(name, GROUP, text)
    world.press(name, "private", 1)  # the guessed category
    for answer in answers:
        if answer == "就这些":
            world.press(name, "private", answer)
        else:
            world.say(name, "private", answer)
    world.press(name, "private", "发出求助")


def _stories(world: ConsoleWorld, clock: Clock) -> None:
    # Inline phone and door number, kept as they are.
    _ask(world, "刘阿姨", "求助 帮我买点菜和药，电话13812345678，3号楼502", "就这些")
    # Building and contact given privately; a door number typed as the building.
    _ask(world, "赵大爷", "求助 家里水管漏水了", "5号楼301室", "13900001111")
    # A landline, a spaced mobile and a dashed door number inline, plus more privately.
    _ask(world, "钱奶奶", "求助 陪我去医院复查 021-62345678 家在8-2-601", "8号楼",
         "139-1234-5678")
    # A member with a registered building adds a door number privately.
    _ask(world, "张三", "我要求助 帮忙照看一下孩子", "2单元1203 13600001111")
    # Take, escalate, report done, say not done, take again, rate, cancel.
    tap(world, "张三", GROUP, "ask:take:1")
    tap(world, "李四", GROUP, "ask:take:1")
    clock.advance(hours=2)
    world.run_timers()
    world.press("李四", "private", "我来帮忙")
    world.press("张三", "private", "已完成")
    world.press("刘阿姨", "private", "还没完成")
    tap(world, "李四", GROUP, "ask:take:1")
    world.say("李四", "private", "/helped 1")
    world.press("刘阿姨", "private", "5 星")
    world.press("钱奶奶", "private", "撤销求助")
    clock.advance(days=2)
    world.run_timers()
    # Problem reports with personal details go to the secretary only.
    world.say("孙阿姨", GROUP, "反映 3号楼502门口漏水，电话13812345678")
    world.press("王书记", "private", "已解决")
    world.say("王书记", "private", "已修好")
    clock.advance(days=3)
    world.run_timers()
    world.press("孙阿姨", "private", "没解决")


def test_no_group_message_carries_a_phone_or_door_number(recording: RecordingWorld,
                                                          clock: Clock) -> None:
    _stories(recording, clock)
    cards = [t for t in recording.group_texts if t.startswith("【邻里求助")]
    assert len(cards) >= 8, "the stories posted and edited cards"
    assert any("已完成，感谢党员 李四" in t for t in cards)
    with recording.core.db.session() as session:
        statuses = session.execute(select(HelpRequest.id, HelpRequest.status)
                                   .order_by(HelpRequest.id)).all()
        assert session.scalar(select(ProblemReport.status)) == "reopened"
    assert [tuple(row) for row in statuses] == [
        (1, "closed"), (2, "open"), (3, "cancelled"), (4, "taken")]
    leaks = [(given, text) for text in recording.group_texts
             for given in PHONES + DOORS if given in text]
    assert leaks == []
    assert not [t for t in recording.group_texts if re.search(r"\d{7,}|\d{3,}\s*室", t)]


def test_only_the_requester_and_the_helper_see_the_details(recording: RecordingWorld,
                                                          clock: Clock) -> None:
    _stories(recording, clock)
    # Request 2 was never taken, 3 was withdrawn untaken, 4 (张三's) was taken by 李四.
    allowed = {"13900001111": {"赵大爷"}, "021-62345678": {"钱奶奶"},
               "139-1234-5678": {"钱奶奶"}, "13600001111": {"张三", "李四"}}
    for given, readers in allowed.items():
        saw = {name for name in recording.users
               if any(given in s.text for s in recording.seen("private", name))}
        assert saw <= readers, given
        if given == "13600001111":
            assert "李四" in saw
    assert any("联系方式：电话13812345678 / 3号楼502" in s.text
               for s in recording.seen("private", "李四"))
