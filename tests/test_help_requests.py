"""求助: ask, take (exactly one helper), report done, confirm and rate, reopen, cancel, escalate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bot.console import ConsoleWorld, Shown
from handlers.core import Core
from handlers.help_requests import split_private
from handlers.messages import ChatKind, Incoming
from storage.db import Database
from storage.models import HelpRequest, PointsEntry
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, set_up_branch, texts, verified_member

ASKED = "求助 帮我买点菜和药，电话13812345678，3号楼502"
CARD_OPEN = "【邻里求助 #1】代买 · 3号楼\n帮我买点菜和药\n等待热心邻居接单"
NOT_HELPER = "只有接下求助 #1 的人才能报告完成。"
NOT_REQUESTER = "只有求助人本人才能确认、打分或撤销求助 #1。"


def tap(world: ConsoleWorld, name: str, where: str, data: str) -> list[Shown]:
    """`name` presses a button with this data, as a stale or hand-made tap would."""
    private = where == "private"
    chat = world.private_id(name) if private else world.group(where)
    return world.deliver(Incoming("console", chat, ChatKind.PRIVATE if private else ChatKind.GROUP,
                                  world.user(name), button_data=data, message_id="0"))


def card(world: ConsoleWorld, number: int = 1) -> Shown:
    """The request's card as the group sees it now (one per request, edited in place)."""
    cards = [s for s in world.seen(GROUP) if s.text.startswith(f"【邻里求助 #{number}】")]
    assert len(cards) == 1
    return cards[0]


def ask_in_group(world: ConsoleWorld, name: str = "刘阿姨", text: str = ASKED,
                 contact: str | None = None) -> None:
    """`name` asks in the group, answers the form that opens privately, confirms the guess
    and posts (typing `contact`, or keeping what the request text held)."""
    world.say(name, GROUP, text)
    world.press(name, "private", "对，是代买")
    if contact is None:
        world.press(name, "private", "就这些")
    else:
        world.say(name, "private", contact)
    world.press(name, "private", "发出求助")


def members(world: ConsoleWorld, *names: str) -> None:
    set_up_branch(world)
    for name in names:
        verified_member(world, name)


def _request(world: ConsoleWorld, number: int = 1) -> HelpRequest:
    with world.core.db.session() as session:
        found = session.get(HelpRequest, number)
        assert found is not None
        return found


def test_private_details_are_split_from_the_request_text() -> None:
    found = split_private("帮我买点菜和药，电话13812345678，3号楼502")
    assert (found.text, found.contact, found.building) == (
        "帮我买点菜和药", "电话13812345678 / 3号楼502", "3号楼")
    found = split_private("水管漏水 5栋2单元301室 手机 139-1234-5678")
    assert (found.text, found.contact, found.building) == (
        "水管漏水", "手机 139-1234-5678 / 5栋2单元301室", "5栋")
    assert split_private("帮忙照看孩子，家在3-2-502").text == "帮忙照看孩子"
    # A building alone, a date and a time are not private.
    assert split_private("3号楼2单元的王奶奶 11-28 9:00 要人陪").contact == ""


def test_a_request_is_taken_done_and_rated(world: ConsoleWorld) -> None:
    members(world, "张三", "李四")
    asked = world.say("刘阿姨", GROUP, ASKED)
    # Nothing in the group: the form opens privately, with a word about the group message.
    assert [s.chat_id for s in asked] == [world.private_id("刘阿姨")] * 2
    assert asked[0].text == "你在群里发的消息里有电话或门牌号，我不会转发，建议撤回那条消息。"
    confirm = asked[1]
    assert confirm.text == ("你的求助：帮我买点菜和药\n"
                            "（你写的联系方式「电话13812345678 / 3号楼502」"
                            "已单独保存，只发给接单的人）\n看起来是「代买」类，对吗？不对请选正确的类别。")
    assert [b.label for b in confirm.flat_buttons] == [
        "对，是代买", "代办", "陪诊", "维修", "照看", "其他", "上一步", "放弃"]
    assert texts(world.press("刘阿姨", "private", "对，是代买")) == [
        "已记下你的联系方式：电话13812345678 / 3号楼502\n"
        "要补充就直接发给我，不需要请点「就这些」。"]
    assert texts(world.press("刘阿姨", "private", "就这些")) == [
        "请核对「求助」：\n求助内容：帮我买点菜和药\n类别：代买\n楼栋/单元：3号楼\n"
        "联系方式：电话13812345678 / 3号楼502\n\n没问题请点「发出求助」；哪一项要改，点「修改…」。"]
    posted = world.press("刘阿姨", "private", "发出求助")
    assert texts(posted) == [CARD_OPEN, "求助 #1 已发到群里（1 个群），有人接单会私信告诉你。"]
    assert posted[0].chat_id == world.group(GROUP)

    taken = world.press("张三", GROUP, "我来帮忙")
    assert taken[0].toast
    assert taken[0].text == "谢谢！求助 #1 由你负责，联系方式已私信发给你。"
    assert world.seen("private", "张三")[-1].text == (
        "你接下了求助 #1（代买 · 3号楼）：\n帮我买点菜和药\n求助人：刘阿姨\n"
        "联系方式：电话13812345678 / 3号楼502\n请勿外传。帮完后点「已完成」或发送 /helped。")
    assert world.seen("private", "刘阿姨")[-1].text == (
        "党员 张三 接下了你的求助 #1，会通过你留的联系方式联系你。")
    assert card(world).text.endswith("党员 张三 已接单")
    assert card(world).flat_buttons == []
    late = tap(world, "李四", GROUP, "ask:take:1")
    assert [(s.text, s.toast) for s in late] == [("已有人接单，谢谢你的热心！", True)]

    assert texts(world.press("张三", "private", "已完成"))[0] == "好的，已请求助人确认 #1。"
    assert world.seen("private", "刘阿姨")[-1].text == (
        "党员 张三 说你的求助 #1（代买）已经帮完了。"
        "请确认并打分（1–5 星）；还没完成请点「还没完成」。")
    assert card(world).text.endswith("党员 张三 已帮完，等待求助人确认")
    assert texts(world.press("刘阿姨", "private", "4 星"))[0] == "谢谢确认！你给求助 #1 打了 4 星。"
    assert world.seen("private", "张三")[-1].text == (
        "求助人确认 #1 已完成，打了 4 星。你获得 9 积分，谢谢！")
    assert card(world).text == (
        "【邻里求助 #1】代买 · 3号楼\n帮我买点菜和药\n已完成，感谢党员 张三！")
    with world.core.db.session() as session:
        entries = session.scalars(select(PointsEntry)).all()
        assert [(e.points, e.source) for e in entries] == [
            (TEST_RULES.points_help_base + 4, "help:1")]
    assert _request(world).rating == 4


def test_refusals(world: ConsoleWorld) -> None:
    members(world, "张三", "李四")
    ask_in_group(world)
    assert tap(world, "路人甲", GROUP, "ask:take:1")[0].text == "这个操作需要党员权限。"
    assert texts(world.say("李四", GROUP, "求助 取消 1")) == [NOT_REQUESTER]
    world.press("张三", GROUP, "我来帮忙")
    assert texts(world.say("李四", "private", "/helped 1")) == [NOT_HELPER]
    assert texts(world.say("李四", "private", "/helped")) == ["你没有接下还没帮完的求助。"]
    assert texts(world.say("张三", "private", "/helped"))[0] == "好的，已请求助人确认 #1。"
    assert texts(world.say("张三", "private", "/helped 1")) == [
        "求助 #1 已经报告过完成了，等待求助人确认。"]
    stolen = tap(world, "李四", "private", "ask:rate:1:5")
    assert [(s.text, s.toast) for s in stolen] == [(NOT_REQUESTER, True)]
    assert tap(world, "张三", "private", "ask:undone:1")[0].text == NOT_REQUESTER
    assert _request(world).status == "done"
    # A member cannot take their own request, and an empty request is explained.
    ask_in_group(world, "李四", "求助 帮忙买米", contact="13600001111")
    assert tap(world, "李四", GROUP, "ask:take:2")[0].text == "这是你自己的求助。"
    assert "用法：求助 需要帮忙的事" in texts(world.say("李四", GROUP, "求助"))[0]
    assert texts(world.say("李四", GROUP, "求助 13812345678")) == ["求助内容不能为空，请重新输入。"]


def test_not_done_reopens_the_request_for_someone_else(world: ConsoleWorld) -> None:
    members(world, "张三", "李四")
    ask_in_group(world)
    world.press("张三", GROUP, "我来帮忙")
    world.press("张三", "private", "已完成")
    assert texts(world.press("刘阿姨", "private", "还没完成"))[0] == (
        "好的，求助 #1 已重新开放，群里可以再次接单。")
    assert world.seen("private", "张三")[-1].text == (
        "求助人说 #1 还没完成，求助已重新开放。谢谢你的付出。")
    assert card(world).text == CARD_OPEN
    world.press("李四", GROUP, "我来帮忙")
    assert card(world).text.endswith("党员 李四 已接单")
    assert world.seen("private", "刘阿姨")[-1].text == (
        "党员 李四 接下了你的求助 #1，会通过你留的联系方式联系你。")
    assert texts(world.say("张三", "private", "/helped 1")) == [NOT_HELPER]


def test_the_requester_cancels_and_the_helper_is_told(world: ConsoleWorld) -> None:
    members(world, "张三")
    ask_in_group(world)
    world.press("张三", GROUP, "我来帮忙")
    assert texts(world.press("刘阿姨", "private", "撤销求助"))[0] == "求助 #1 已撤销。"
    assert world.seen("private", "张三")[-1].text == "求助人撤销了求助 #1，不用再去了，谢谢！"
    assert card(world).text.endswith("求助人已撤销")
    assert card(world).flat_buttons == []
    assert tap(world, "张三", "private", "ask:done:1")[0].text == "求助 #1 已经结束了。"
    assert _request(world).status == "cancelled"
    assert texts(world.say("刘阿姨", GROUP, "求助 取消")) == ["你没有可以撤销的求助。"]


def test_the_category_can_be_changed_and_details_are_asked_privately(
        world: ConsoleWorld) -> None:
    members(world, "张三")
    asked = world.say("刘阿姨", "private", "求助 家里水管漏水了")
    assert asked[0].text.endswith("看起来是「维修」类，对吗？不对请选正确的类别。")
    assert texts(world.press("刘阿姨", "private", "其他")) == [
        "你住哪栋楼？（例如「3号楼」。群里只显示楼栋，不显示门牌号）"]
    building = texts(world.say("刘阿姨", "private", "5号楼301室"))[0]
    assert building.startswith("已记下你的联系方式：5号楼301室\n")
    world.say("刘阿姨", "private", "13900001111")
    posted = world.press("刘阿姨", "private", "发出求助")
    assert posted[0].text == "【邻里求助 #1】其他 · 5号楼\n家里水管漏水了\n等待热心邻居接单"
    world.press("张三", GROUP, "我来帮忙")
    assert "联系方式：5号楼301室 / 13900001111" in world.seen("private", "张三")[-1].text
    # A member's registered building is used without asking; typed category names work too.
    world.say("张三", "private", "求助 需要人陪我去医院复查")
    assert texts(world.say("张三", "private", "照看"))[0] == (
        "最后，请留下联系方式（电话、门牌号）。只会私下发给接单的党员，群里看不到。")
    world.say("张三", "private", "13700002222")
    world.press("张三", "private", "发出求助")
    assert card(world, 2).text.startswith("【邻里求助 #2】照看 · 3号楼2单元\n")


def _with_leader(world: ConsoleWorld) -> None:
    members(world, "张三", "李四")
    world.say("王书记", GROUP, "/grant building_leader", reply_to="李四")


def _pinged(shown: list[Shown], world: ConsoleWorld) -> list[tuple[str, str]]:
    return [(world.chat_name(s.chat_id), s.text.split("\n")[0]) for s in shown]


def test_an_untaken_request_escalates_once_per_step(world: ConsoleWorld, clock: Clock) -> None:
    _with_leader(world)
    ask_in_group(world)
    clock.advance(hours=1, minutes=59)
    assert world.run_timers() == []
    clock.advance(minutes=1)
    first = world.run_timers()
    assert _pinged(first, world) == [
        ("private: 李四", "求助 #1（代买 · 3号楼）已经 2 小时没人接单：")]
    assert first[0].text.endswith("能帮忙或安排人的话，请点「我来帮忙」。")
    assert "13812345678" not in first[0].text
    assert world.run_timers() == []
    clock.advance(hours=4)
    assert _pinged(world.run_timers(), world) == [
        ("private: 王书记", "求助 #1（代买 · 3号楼）已经 6 小时没人接单：")]
    clock.advance(hours=18)
    assert _pinged(world.run_timers(), world) == [
        ("private: 管理员", "求助 #1（代买 · 3号楼）已经 24 小时没人接单：")]
    clock.advance(days=7)
    assert world.run_timers() == []
    assert _request(world).escalation == 3
    # The building leader can take it from the ping.
    world.press("李四", "private", "我来帮忙")
    assert card(world).text.endswith("党员 李四 已接单")


def test_a_taken_request_does_not_escalate(world: ConsoleWorld, clock: Clock) -> None:
    _with_leader(world)
    ask_in_group(world)
    world.press("张三", GROUP, "我来帮忙")
    clock.advance(days=2)
    assert world.run_timers() == []
    assert _request(world).escalation == 0


def test_escalation_survives_a_restart(world: ConsoleWorld, clock: Clock) -> None:
    _with_leader(world)
    ask_in_group(world)
    clock.advance(hours=2)
    assert len(world.run_timers()) == 1
    restarted = ConsoleWorld(Core(world.core.db, rules=TEST_RULES, clock=clock))
    restarted.users, restarted.groups = world.users, world.groups
    clock.advance(hours=4)
    assert _pinged(restarted.run_timers(), restarted) == [
        ("private: 王书记", "求助 #1（代买 · 3号楼）已经 6 小时没人接单：")]
    assert restarted.run_timers() == []
    assert world.run_timers() == []


def test_ten_members_tap_at_once_and_one_takes_it(any_db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    names = [f"党员{n}" for n in range(10)]
    members(world, *names)
    ask_in_group(world)
    data = card(world).flat_buttons[0].data
    taps = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user(name),
                     button_data=data, message_id=card(world).message_id) for name in names]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(world.core.handle, taps))
    firsts = [shown[0] for shown in answers]
    assert all(f.toast for f in firsts)
    winners = [n for n, f in zip(names, firsts, strict=True) if f.text.startswith("谢谢！求助 #1")]
    assert len(winners) == 1
    assert sum(f.text == "已有人接单，谢谢你的热心！" for f in firsts) == 9
    details = [m for shown in answers for m in shown if "联系方式：电话13812345678" in m.text]
    assert [m.chat_id for m in details] == [world.private_id(winners[0])]
    with any_db.session() as session:
        assert session.scalar(select(HelpRequest.helper_id)) == \
            _person_of(world, session, winners[0])


def _person_of(world: ConsoleWorld, session: object, name: str) -> int:
    from sqlalchemy.orm import Session

    from storage import people

    assert isinstance(session, Session)
    account = people.find_account(session, "console", world.private_id(name))
    assert account is not None
    return account.person_id
