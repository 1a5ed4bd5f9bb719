"""A typed 收到 acknowledges a notice like the button: as a reply to it, or in its window."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.console import ConsoleWorld, Shown
from handlers.core import Core
from storage.db import Database
from storage.models import Ack, Base
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, notice, set_up_branch, texts, verified_member


def _rows(world: ConsoleWorld) -> dict[str, int]:
    """How many rows each table holds."""
    with world.core.db.session() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables}


def _acks(world: ConsoleWorld) -> int:
    with world.core.db.session() as session:
        return session.scalar(select(func.count()).select_from(Ack)) or 0


def _notice_now(world: ConsoleWorld, text: str) -> None:
    """王书记 sends a notice to every group of the branch at once; the outbox delivers it."""
    notice(world, text)
    world.drain_outbox()


def _notice_in_group(world: ConsoleWorld) -> Shown:
    return next(s for s in world.seen(GROUP) if s.text.startswith("【通知】"))


def test_a_typed_reply_to_a_notice_counts_once_and_says_nothing(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    _notice_now(world, "本周五主题党日")
    notice = _notice_in_group(world)
    assert world.say("张三", GROUP, "收到", reply_to_message=notice) == []
    assert world.say("张三", GROUP, "收到！", reply_to_message=notice) == []
    assert _acks(world) == 1
    status = texts(world.say("王书记", "private", "通知 状态 1"))[0]
    assert "收到：1/2 名党员" in status
    assert "还没点收到：李四" in status
    # The button after a typed 收到 is still one.
    assert texts(world.press("张三", GROUP, "收到")) == ["你已经点过收到了。"]


def test_a_typed_acknowledgement_in_the_window_counts(any_db: Database,
                                                      clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    _notice_now(world, "明天停水")
    clock.advance(hours=2)
    assert world.say("李四", GROUP, "好的，收到👌") == []
    assert "收到：1/2 名党员" in texts(world.say("王书记", "private", "通知 状态 1"))[0]
    # After the nudge time the notice is no longer open: chatter again, nothing counted.
    clock.advance(hours=23)
    assert world.say("张三", GROUP, "收到") == []
    assert _acks(world) == 1


def test_a_reply_to_something_else_is_not_an_acknowledgement(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    _notice_now(world, "明天停水")
    check_in = world.say("张三", GROUP, "签到")[0]
    assert world.say("王书记", GROUP, "收到", reply_to_message=check_in) == []
    assert world.say("王书记", GROUP, "收到", reply_to="张三") == []
    assert _acks(world) == 0


def test_received_with_no_open_notice_is_silence_and_writes_nothing(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    before = _rows(world)
    assert world.say("张三", GROUP, "收到") == []
    assert world.say("新邻居", "另一个群", "收到！") == []
    assert world.say("张三", GROUP, "收到",
                     reply_to_message=world.seen(GROUP)[0]) == []
    assert _rows(world) == before
