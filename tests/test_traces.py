"""What the bot keeps of people who did not talk to it, of handled updates, and of the names
platforms hand over."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.core import Core
from handlers.messages import ChatKind, Incoming, Sender
from storage.db import Database
from storage.models import Account, Chat, Person, ProcessedUpdate
from tests.conftest import TEST_RULES, Clock

CHATTER = ["今天天气真好", "签到的时候要带身份证吗", "谁家的快递放门口了？", "报名 要交钱吗",
           "明天停水吗", "楼下的车挡路了", "哈哈哈", "收到了谢谢", "晚上一起跳广场舞",
           "电梯又坏了吗"]


def rows(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def said(core: Core, who: Sender, text: str, key: str, *,
         chat: str = "-100200300", kind: ChatKind = ChatKind.GROUP) -> list[str]:
    shown = core.handle(Incoming(who.platform, chat, kind, who, text=text, update_key=key,
                                 chat_title="阳光花园3号楼邻里群"))
    return [o.text for o in shown]


def test_a_thousand_group_messages_not_for_the_bot_leave_nothing(core: Core) -> None:
    """100 neighbours chatting, 1,000 messages: tried 1000, answered 0, stored 0 rows."""
    answers = []
    for n in range(1000):
        who = Sender("telegram", str(7000000 + n % 100), f"邻居{n % 100}")
        answers += said(core, who, CHATTER[n % len(CHATTER)], str(50000 + n))
    assert answers == []
    assert [rows(core.db, m) for m in (Person, Account, ProcessedUpdate, Chat)] == [0, 0, 0, 0]


def test_handled_updates_are_forgotten_after_the_retention_period(db: Database,
                                                                    clock: Clock) -> None:
    core = Core(db, rules=TEST_RULES.model_copy(update={"processed_retention_days": 7}),
                clock=clock)
    zhang = Sender("wechat", "oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M", "")
    said(core, zhang, "帮助", "msg:oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M:1", chat=zhang.external_id,
         kind=ChatKind.PRIVATE)
    clock.advance(days=6)
    said(core, zhang, "帮助", "msg:oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M:2", chat=zhang.external_id,
         kind=ChatKind.PRIVATE)
    core.run_due()
    assert rows(db, ProcessedUpdate) == 2, "both within the week"
    clock.advance(days=1, hours=2)
    core.run_due()
    with db.session() as session:
        assert session.scalars(select(ProcessedUpdate.key)).all() == [
            "msg:oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M:2"]


def test_names_are_cleaned_before_they_are_stored_or_shown(core: Core) -> None:
    trick = "\u202e三张\u202c\x00\u200b王\u200d五\x07 \t 老师" + "很" * 100
    shown = said(core, Sender("telegram", "5203391870", trick), "/start", "1",
                 chat="5203391870", kind=ChatKind.PRIVATE)
    with core.db.session() as session:
        stored = session.scalars(select(Account.display_name)).one()
    assert stored.startswith("三张王五 老师很")
    assert len(stored) == 64
    assert f"你好，{stored}！" in shown[0]
    for invisible in ("\u202e", "\u202c", "\x00", "\u200b", "\u200d", "\x07", "\t"):
        assert invisible not in stored


def test_a_nul_in_a_name_works_on_postgresql_too(any_db: Database, clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    shown = said(core, Sender("telegram", "5203391871", "李\x00四"), "/start", "2",
                 chat="5203391871", kind=ChatKind.PRIVATE)
    assert "你好，李四！" in shown[0]
