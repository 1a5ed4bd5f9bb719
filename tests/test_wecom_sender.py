"""The WeCom sender through httpx against a fake WeCom robot API on loopback.

The secretary registers robots and sends notices through the console; the console drains
its own groups, and `WecomSender` (the one `bot.background.Background` runs) posts to the robots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from bot.background import Background
from bot.console import ConsoleWorld
from bot.delivery import Registry
from bot.wecom import RobotClient, WecomSender
from handlers.core import Core
from handlers.messages import Outgoing
from storage.models import Delivery
from tests.conftest import TEST_RULES, Clock
from tests.fake_wecom import FakeWecom
from tests.story import GROUP, notice, set_up_branch

KEY = "693a91f6-7aaa-4bc4-97a0-0ec2f1fa5aaa"
BAD_KEY = "5b1e0c2d-9f8e-4a7b-b6c5-d4e3f2a1b0c9"


def posted(text: str, run: int = 1) -> str:
    """A notice as the robot posts it (markdown), with the link to its page."""
    return f"**【通知】**{text}\n\n[点这里确认收到]({TEST_RULES.public_url}/desk/notice/{run})"


@pytest.fixture
def fake() -> Iterator[FakeWecom]:
    server = FakeWecom()
    server.add_robot(KEY)
    server.start()
    yield server
    server.stop()


class Told:
    """What the sender hands back to the chat platform (summaries and progress edits)."""

    def __init__(self) -> None:
        self.messages: list[Outgoing] = []

    async def __call__(self, messages: list[Outgoing]) -> None:
        self.messages += messages

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.messages]


async def eventually(check: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        await asyncio.sleep(0.05)


def robot(world: ConsoleWorld, name: str, key: str) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"
    assert "已添加" in world.say("王书记", "private", f"/robot add {name} {url}")[0].text


def sender_for(core: Core, fake: FakeWecom, told: Told, **limits: float) -> WecomSender:
    return WecomSender(core, RobotClient(fake.base_url), told, **limits)  # type: ignore[arg-type]


def wecom_rows(core: Core) -> list[Delivery]:
    with core.db.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.platform == "wecom")
                                    .order_by(Delivery.id)))


async def test_a_notice_reaches_the_group_and_the_robot_exactly_once(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    notice(world, "周六上午清扫楼道，请大家参加")
    told = Told()
    sender = sender_for(core, fake, told)

    group = [s for s in world.drain_outbox() if s.chat_id == world.group(GROUP)]
    assert await sender.drain_once() == 1
    assert world.drain_outbox() == []
    assert await sender.drain_once() == 0
    await sender.client.aclose()

    assert [s.text for s in group] == ["【通知】周六上午清扫楼道，请大家参加"]
    assert fake.texts(KEY) == [posted("周六上午清扫楼道，请大家参加")]
    assert "通知 #1 已全部送达（2/2）。" in told.texts
    assert [(r.state, r.attempts) for r in wecom_rows(core)] == [("sent", 1)]


async def test_a_robot_error_is_recorded_on_its_row_and_the_others_are_delivered(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    robot(world, "已解散的群", BAD_KEY)  # the robot was removed from its group in WeCom
    notice(world, "停水通知")
    told = Told()
    sender = sender_for(core, fake, told)
    world.drain_outbox()
    await sender.drain_once()
    await sender.client.aclose()

    good, bad = wecom_rows(core)
    assert (good.state, bad.state) == ("sent", "failed")
    assert bad.error.startswith("wecom 93000: invalid webhook url")
    assert bad.attempts == 1  # a permanent error is not retried
    assert fake.texts(KEY) == [posted("停水通知")]
    assert told.texts[-1] == ("通知 #1 已送达 2/3，以下群没有送达：企业微信群机器人「已解散的群」"
                              "（wecom 93000: invalid webhook url, hint: [fake]）")


async def test_wecom_rate_limit_answer_puts_the_row_back_for_later(
        world: ConsoleWorld, core: Core, fake: FakeWecom, clock: Clock) -> None:
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    notice(world, "停电通知")
    fake.fail_next(KEY, 45009, "api freq out of limit")
    told = Told()
    sender = WecomSender(core, RobotClient(fake.base_url), told,
                         clock=lambda: clock().timestamp())
    await sender.drain_once()
    (row,) = wecom_rows(core)
    assert (row.state, row.error) == ("pending", "wecom 45009: api freq out of limit")
    assert await sender.drain_once() == 0  # not before a minute has passed
    clock.advance(seconds=61)
    assert await sender.drain_once() == 1
    await sender.client.aclose()
    (row,) = wecom_rows(core)
    assert (row.state, row.attempts) == ("sent", 2)
    assert fake.answers(KEY) == [45009, 0]


async def test_the_longest_notice_is_one_markdown_message_within_wecom_s_4096_bytes(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    text = "各位居民：" + "本周六上午九点在三号楼大堂集合清扫楼道。" * 49  # 1000 characters
    notice(world, text)
    sender = sender_for(core, fake, Told())
    await sender.drain_once()
    await sender.client.aclose()
    pieces = fake.texts(KEY)
    assert pieces == [posted(text)]
    assert 3000 < len(pieces[0].encode()) <= 4096
    assert fake.answers(KEY) == [0]


async def test_25_queued_notices_keep_to_the_robot_s_limit(
        world: ConsoleWorld, fake: FakeWecom) -> None:
    """The same code path as 20 a minute, scaled to 5 a second so the test takes seconds."""
    fake.limit, fake.period = 5, 1.0
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    for n in range(1, 26):
        notice(world, f"第{n}条通知")
    # The sender's core runs on real time, as its retries must wait real seconds here.
    live = Core(world.core.db, rules=TEST_RULES)
    told = Told()
    sender = WecomSender(live, RobotClient(fake.base_url), told, limit=5, period=1.0,
                         idle=0.05)
    sender.start()
    try:
        await eventually(lambda: len(fake.texts(KEY)) >= 25, seconds=15)
    finally:
        await sender.stop()

    assert fake.texts(KEY) == [posted(f"第{n}条通知", n) for n in range(1, 26)]
    assert set(fake.answers(KEY)) == {0}  # WeCom never had to refuse one
    assert fake.most_in_any_window(KEY) == 5
    assert max(r.attempts for r in wecom_rows(live)) == 2  # each deferred row came back once


async def test_the_key_never_reaches_a_log(world: ConsoleWorld, core: Core, fake: FakeWecom,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    robot(world, "已解散的群", BAD_KEY)
    notice(world, "停水通知")
    sender = sender_for(core, fake, Told())
    await sender.drain_once()
    await sender.client.aclose()

    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(requests) == 2
    assert all("/cgi-bin/webhook/send?key=***" in m for m in requests)
    for secret in (KEY, BAD_KEY):
        assert not [r for r in caplog.records if secret in r.getMessage()]
        assert not [r for r in wecom_rows(core) if secret in r.error]


async def test_background_runs_the_wecom_sender_in_the_timer_process_only(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    robot(world, "三期业主群", KEY)
    notice(world, "周六上午清扫楼道")
    told = Told()
    leader = Background(None, core, Registry({"console": told}), wecom_url=fake.base_url)
    other = Background(None, core, Registry({"console": told}), wecom_url=fake.base_url)
    leader.start()
    other.start()
    try:
        assert (leader.wecom is not None, other.wecom) == (True, None)
        await eventually(lambda: bool(fake.texts(KEY)))
    finally:
        await other.stop()
        await leader.stop()
    assert fake.texts(KEY) == [posted("周六上午清扫楼道")]
