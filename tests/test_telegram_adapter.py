"""The Telegram adapter driven through the real python-telegram-bot against a fake Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.ext import Application

from bot.delivery import Registry
from bot.services import WebhookService
from bot.telegram import ChatOrderedProcessor, ConfigError, build_application, deliver
from bot.telegram import to_incoming as telegram_to_incoming
from bot.telegram_web import SECRET_HEADER, webhook_routes, webhook_secret
from bot.web import create_web_app
from handlers.core import Core
from handlers.links import is_public
from handlers.messages import Button, ChatKind, Outgoing
from storage import activities, orgs, people
from storage.people import SenderInfo
from tests.fake_telegram import (
    BOT_USERNAME,
    Call,
    FakeTelegram,
    TgUser,
    group_chat,
    load_fixture,
    private_chat,
)
from tests.loopback import free_port
from tests.telegram_fixtures import Dialog, Handled, dialog, fake_tg, polling_bot, settings_for

__all__ = ["dialog", "fake_tg", "polling_bot"]  # fixtures used by name below

CJK = re.compile(r"[\u4e00-\u9fff]")
ZHANG = TgUser(5203391870, "张建国", username="zhang_jianguo", language_code="zh-hans")
WANG = TgUser(5100000002, "王书记", username="wang_shuji", language_code="zh-hans")
ALICE = TgUser(5100000003, "Alice", username="alice", language_code="en")
GROUP = group_chat(-1002081543210, "阳光花园3号楼邻里群")
SECRET = "s3cret-Token_for-tests"


def incoming_of(update: dict[str, Any]) -> Any:
    """The adapter's translation of a raw update payload."""
    return telegram_to_incoming(Update.de_json(update, None), BOT_USERNAME)


def with_text(text: str, **message: Any) -> dict[str, Any]:
    """The group-message fixture with another text (entities recomputed by the fake)."""
    fake = FakeTelegram()
    update = fake.text_update(ZHANG, GROUP, text)
    update["message"].update(message)
    return {**update, "update_id": 42}


def zh(core: Core, key: str, **params: object) -> str:
    """A message as the Chinese catalog words it."""
    return core.catalogs.get("zh_CN")(key, **params)


# ------------------------------------------------------------------ translation


def test_real_group_payload_becomes_incoming() -> None:
    """The stored real payload: ids as strings, group kind, `@ourbot` suffix stripped."""
    incoming = incoming_of(load_fixture("telegram_group_message.json"))
    assert (incoming.platform, incoming.chat_id, incoming.chat_kind) == (
        "telegram", "-1002081543210", ChatKind.GROUP)
    assert (incoming.text, incoming.update_key, incoming.message_id) == (
        "/checkin", "521734981", "2817")
    assert (incoming.sender.external_id, incoming.sender.display_name,
            incoming.sender.language_code) == ("5203391870", "建国 张", "zh-hans")
    assert incoming.chat_title == "阳光花园3号楼邻里群"


def test_command_for_another_bot_is_not_ours() -> None:
    assert incoming_of(with_text("/help@other_bot")) is None
    assert incoming_of(with_text("/help@Jinlin_Test_Bot 1")).text == "/help 1"


def test_leading_mention_is_stripped_and_other_mentions_kept() -> None:
    incoming = incoming_of(with_text(f"@{BOT_USERNAME}，求助 @li_si 楼道灯坏了"))
    assert (incoming.text, incoming.mentioned) == ("求助 @li_si 楼道灯坏了", True)
    assert incoming.mentions == ("li_si",)
    plain = incoming_of(with_text(f"@{BOT_USERNAME}fan 你好"))
    assert (plain.mentioned, plain.mentions) == (False, (f"{BOT_USERNAME}fan",))


def test_mention_inside_the_text_marks_the_bot_addressed() -> None:
    incoming = incoming_of(with_text(f"今天几点 @{BOT_USERNAME} 开会"))
    assert incoming.mentioned
    assert incoming.mentions == ()


def test_reply_to_the_bot_and_to_a_person() -> None:
    bot_message = {"message_id": 7, "date": 1718931600, "chat": GROUP, "text": "通知",
                   "from": {"id": 123456789, "is_bot": True, "first_name": "近邻",
                            "username": BOT_USERNAME}}
    to_bot = incoming_of(with_text("收到", reply_to_message=bot_message))
    assert (to_bot.reply_to_bot, to_bot.reply_to_message_id) == (True, "7")
    wang_message = {**bot_message, "from": WANG.to_dict()}
    to_wang = incoming_of(with_text("/grant secretary", reply_to_message=wang_message))
    assert not to_wang.reply_to_bot
    assert (to_wang.reply_to.external_id, to_wang.reply_to.username) == (
        str(WANG.id), WANG.username)


def test_button_press_carries_data_and_the_pressed_message() -> None:
    incoming = incoming_of(load_fixture("telegram_callback_query.json"))
    assert (incoming.button_data, incoming.message_id, incoming.chat_kind) == (
        "verify:1", "2818", ChatKind.PRIVATE)
    assert incoming.text == ""


# ------------------------------------------------------------------ private chat


async def test_start_and_help_in_chinese(dialog: Dialog, core: Core) -> None:
    chat = private_chat(ZHANG)
    started = await dialog.say(ZHANG, chat, "/start")
    assert {c.params["chat_id"] for c in started} == {str(ZHANG.id)}
    texts = [c.params["text"] for c in started]
    assert zh(core, "start.welcome", name="张建国") in texts
    assert not any("parse_mode" in c.params for c in started)
    (again,) = await dialog.say(ZHANG, chat, "帮助")
    assert "/iam（亮身份、报到）" in again.params["text"]
    assert again.params["text"] in texts  # /start showed the same help


async def test_help_in_english_for_an_english_user(dialog: Dialog, core: Core) -> None:
    (reply,) = await dialog.say(ALICE, private_chat(ALICE), f"/help@{BOT_USERNAME}")
    text = reply.params["text"]
    assert "/iam" in text
    english = core.catalogs.get("en")
    assert english("menu.help") in text
    assert zh(core, "menu.help") not in text


async def test_menus_are_set_per_language_and_scope(polling_bot: Application,
                                                    fake_tg: FakeTelegram) -> None:
    menus = {(c.params.get("language_code", ""), c.params["scope"]["type"]):
             {cmd["command"]: cmd["description"] for cmd in c.params["commands"]}
             for c in fake_tg.calls_to("setMyCommands")}
    assert set(menus) == {(lang, scope) for lang in ("", "en")
                          for scope in ("all_private_chats", "all_group_chats")}
    default, english = menus["", "all_private_chats"], menus["en", "all_private_chats"]
    assert {"help", "iam", "checkin"} <= default.keys()
    assert "start" not in default
    assert CJK.search(default["help"])
    assert not CJK.search(english["help"])


# ------------------------------------------------------------------ the group


def seed_secretary(core: Core) -> int:
    """A community with one branch whose secretary is WANG; returns the branch id."""
    with core.db.session() as session:
        community = orgs.create_community(session, "阳光社区")
        branch = orgs.create_branch(session, community.id, "阳光花园党支部")
        account, _ = people.ensure_account(session, SenderInfo(
            "telegram", str(WANG.id), WANG.first_name, WANG.username, WANG.language_code),
            core.clock())
        people.grant(session, account.person_id, "secretary", branch_id=branch.id,
                     now=core.clock())
        return branch.id


async def register_zhang(dialog: Dialog, branch_id: int) -> Call:
    """ZHANG registers privately through the deep link; returns the secretary's review card."""
    chat = private_chat(ZHANG)
    await dialog.say(ZHANG, chat, f"/start iam_{branch_id}")
    for answer in ("张建国", "3号楼2单元", "1", "1", "理发"):
        await dialog.say(ZHANG, chat, answer)
    sent = await dialog.say(ZHANG, chat, "提交")
    (review,) = [c for c in sent if int(c.params["chat_id"]) == WANG.id]
    return review


async def test_identity_and_checkin_in_a_bound_group(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core) -> None:
    branch_id = seed_secretary(core)
    await dialog.say(WANG, private_chat(WANG), "/start")  # so that the bot may write to him
    (bound,) = await dialog.say(WANG, GROUP, f"/bind@{BOT_USERNAME}")
    assert bound.params["text"] == zh(core, "bind.done", branch="阳光花园党支部")

    # The form opens in ZHANG's private chat (he has opened the bot); the group gets nothing.
    await dialog.say(ZHANG, private_chat(ZHANG), "/start")
    (asked,) = await dialog.say(ZHANG, GROUP, "亮身份")
    assert int(asked.params["chat_id"]) == ZHANG.id
    assert asked.params["text"].startswith("向「阳光花园党支部」亮身份。")

    review = await register_zhang(dialog, branch_id)
    verify_data = review.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    answered = await dialog.press(WANG, review, verify_data)
    assert "text" not in answered.params  # a plain acknowledgement, no pop-up
    (edited,) = fake_tg.calls_to("editMessageText")
    assert edited.params["message_id"] == str(fake_tg.sent_message(review)["message_id"])
    assert "张建国" in edited.params["text"]
    told = fake_tg.sent_texts(ZHANG.id)[-1]
    assert told == zh(core, "iam.outcome.verified", branch="阳光花园党支部")

    (checked,) = await dialog.say(ZHANG, GROUP, "签到")
    assert int(checked.params["chat_id"]) == GROUP["id"]
    assert "张建国" in checked.params["text"]
    assert "签到" in checked.params["text"]
    (again,) = await dialog.say(ZHANG, GROUP, "签到")
    polite = zh(core, "error.already_checked_in", time="{time}").split("{time}")[0]
    assert again.params["text"].startswith(polite)

    second_press = await dialog.press(WANG, review, verify_data)
    assert second_press.params["show_alert"] == "true"
    assert second_press.params["text"] == zh(core, "error.already_decided",
                                             status=zh(core, "status.verified"))
    assert len(fake_tg.calls_to("answerCallbackQuery")) == 2


async def test_command_for_another_bot_is_ignored_in_a_group(dialog: Dialog) -> None:
    assert await dialog.say(ZHANG, GROUP, "/help@other_bot") == []
    assert await dialog.say(ZHANG, GROUP, "今天天气不错 @other_bot") == []
    (reply,) = await dialog.say(ZHANG, GROUP, f"/help@{BOT_USERNAME}")
    assert reply.params["text"] == "我是「近邻」小助手。点下面的按钮，我私聊发给你能用的命令。"
    (button,) = reply.params["reply_markup"]["inline_keyboard"][0]
    assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=help"


async def test_button_press_with_no_answer_is_still_acknowledged(
        dialog: Dialog, fake_tg: FakeTelegram) -> None:
    (offer,) = await dialog.say(ZHANG, private_chat(ZHANG), "/lang")
    data = offer.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    answered = await dialog.press(ZHANG, offer, data)
    assert "text" not in answered.params  # answered, without a pop-up
    (edited,) = fake_tg.calls_to("editMessageText")
    assert not CJK.search(edited.params["text"])  # switched to English
    expired = await dialog.press(ZHANG, offer, "nonsense:1")
    assert expired.params["show_alert"] == "true"
    assert expired.params["text"]


# ------------------------------------------------------------------ delivery


async def test_429_is_retried_after_retry_after(dialog: Dialog, fake_tg: FakeTelegram) -> None:
    fake_tg.fail_next("sendMessage", retry_after=1)
    started = time.monotonic()
    (reply,) = await dialog.say(ALICE, private_chat(ALICE), "/help")
    assert "/iam" in reply.params["text"]
    assert time.monotonic() - started >= 1.0
    attempts = fake_tg.calls_to("sendMessage", failed_too=True)
    assert [(c.ok, c.params["text"]) for c in attempts] == [
        (False, reply.params["text"]), (True, reply.params["text"])]


async def test_a_refused_chat_does_not_stop_the_others(fake_tg: FakeTelegram,
                                                       core: Core) -> None:
    fake_tg.send_text(ALICE, private_chat(ALICE), "hello")  # the fake now knows this chat
    app = build_application(settings_for(fake_tg), core)
    async with app:
        await deliver(app, [Outgoing("telegram", "404", "lost"),
                            Outgoing("wechat", "oWx1", "not ours"),
                            Outgoing("telegram", str(ALICE.id), "<b>Alice</b>")])
    sent = fake_tg.calls_to("sendMessage", failed_too=True)
    assert [(c.params["chat_id"], c.ok) for c in sent] == [("404", False), (str(ALICE.id), True)]
    assert sent[-1].params["text"] == "<b>Alice</b>"
    assert "parse_mode" not in sent[-1].params


async def test_image_and_every_kind_of_button(fake_tg: FakeTelegram, core: Core) -> None:
    fake_tg.send_text(ALICE, private_chat(ALICE), "hello")  # the fake now knows this chat
    buttons = [[Button("报名", data="signup:7"), Button("签到", start_payload="ci_abc-1")],
               [Button("地图", url="https://example.org/map")]]
    png = b"\x89PNG\r\n\x1a\n fake image"
    app = build_application(settings_for(fake_tg), core)
    async with app:
        await deliver(app, [Outgoing("telegram", str(ALICE.id), "签到码", buttons, image=png)])
    (photo,) = fake_tg.calls_to("sendPhoto")
    assert (photo.params["photo"], photo.params["caption"]) == (png, "签到码")
    assert photo.params["reply_markup"]["inline_keyboard"] == [
        [{"text": "报名", "callback_data": "signup:7"},
         {"text": "签到", "url": f"https://t.me/{BOT_USERNAME}?start=ci_abc-1"}],
        [{"text": "地图", "url": "https://example.org/map"}]]


# ------------------------------------------------------------------ ordering


def update_in(chat_id: int, update_id: int) -> Update:
    """A minimal real Update from chat `chat_id`."""
    payload = load_fixture("telegram_group_message.json")
    payload["update_id"] = update_id
    payload["message"]["chat"] = group_chat(chat_id, "t")
    return Update.de_json(payload, None)


async def test_one_chat_in_order_while_other_chats_run() -> None:
    processor = ChatOrderedProcessor()
    events: list[str] = []
    other_chat_ran = asyncio.Event()

    async def work(name: str, wait_for_other: bool = False) -> None:
        events.append(f"{name} start")
        if wait_for_other:
            # Only finishes if chat B runs while chat A's first update is still open.
            await other_chat_ran.wait()
        await asyncio.sleep(0)
        if name == "B1":
            other_chat_ran.set()
        events.append(f"{name} end")

    async with asyncio.timeout(2), processor:
        await asyncio.gather(
            processor.process_update(update_in(-1, 1), work("A1", wait_for_other=True)),
            processor.process_update(update_in(-1, 2), work("A2")),
            processor.process_update(update_in(-2, 3), work("B1")))
    assert events.index("A1 end") < events.index("A2 start")
    assert events.index("B1 end") < events.index("A1 end")


# ------------------------------------------------------------------ webhook


@pytest.fixture
async def webhook_bot(fake_tg: FakeTelegram, core: Core) -> AsyncIterator[Application]:
    """The Application as webhook mode runs it: no updater, updates arrive by POST."""
    app = build_application(settings_for(fake_tg, TELEGRAM_MODE="webhook"), core)
    assert app.updater is None
    app.bot_data["handled"] = Handled(app)
    async with app:
        await app.start()
        yield app
        await app.stop()


@pytest.fixture
async def web(webhook_bot: Application) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the webhook app in-process."""
    transport = httpx.ASGITransport(app=create_web_app(webhook_routes(webhook_bot, SECRET)))
    async with httpx.AsyncClient(transport=transport, base_url="http://jinlin.test") as client:
        yield client


async def test_webhook_requires_the_secret(webhook_bot: Application, web: httpx.AsyncClient,
                                           fake_tg: FakeTelegram) -> None:
    update = {**fake_tg.text_update(ALICE, private_chat(ALICE), "/help"), "update_id": 900}
    assert (await web.post("/telegram", json=update)).status_code == 403
    wrong = {SECRET_HEADER: SECRET + "x"}
    assert (await web.post("/telegram", json=update, headers=wrong)).status_code == 403
    assert webhook_bot.update_queue.empty()
    right = {SECRET_HEADER: SECRET}
    assert (await web.post("/telegram", json=update, headers=right)).status_code == 200
    await webhook_bot.bot_data["handled"].wait(900)
    (reply,) = fake_tg.calls_to("sendMessage")
    assert "/iam" in reply.params["text"]


async def test_webhook_redelivery_is_acted_on_once(webhook_bot: Application,
                                                   web: httpx.AsyncClient,
                                                   fake_tg: FakeTelegram) -> None:
    chat = private_chat(ALICE)
    update = {**fake_tg.text_update(ALICE, chat, "/help"), "update_id": 901}
    later = {**fake_tg.text_update(ALICE, chat, "/lang"), "update_id": 902}
    for body in (update, update, later):
        sent = await web.post("/telegram", json=body, headers={SECRET_HEADER: SECRET})
        assert sent.status_code == 200
    # One chat's updates are handled in order, so after 902 both copies of 901 are done.
    await webhook_bot.bot_data["handled"].wait(902)
    help_reply, lang_reply = fake_tg.calls_to("sendMessage")
    assert "/iam" in help_reply.params["text"]
    assert "reply_markup" in lang_reply.params


async def test_webhook_health_and_bad_body(web: httpx.AsyncClient) -> None:
    health = await web.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    bad = await web.post("/telegram", content=b"{not json", headers={SECRET_HEADER: SECRET})
    assert bad.status_code == 400


def test_webhook_refuses_to_start_without_a_secret() -> None:
    fake_tg = FakeTelegram()  # not started: only its URLs are needed
    url = "https://jinlin.example/telegram"
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_secret(settings_for(fake_tg, TELEGRAM_WEBHOOK_URL=url))
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_secret(settings_for(fake_tg, TELEGRAM_WEBHOOK_URL=url,
                                    TELEGRAM_WEBHOOK_SECRET="has spaces"))
    ok = settings_for(fake_tg, TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET=SECRET)
    assert webhook_secret(ok) == SECRET


async def test_webhook_service_over_loopback(fake_tg: FakeTelegram, core: Core) -> None:
    """run_webhook's service: registers the webhook with its secret, serves, stops cleanly."""
    port = free_port()
    service = WebhookService(settings_for(
        fake_tg, TELEGRAM_WEBHOOK_URL="https://jinlin.example/tg/hook",
        TELEGRAM_WEBHOOK_SECRET=SECRET, JINLIN_WEB_PORT=port), core)
    running = asyncio.create_task(service.run())
    (registered,) = await fake_tg.wait_for("setWebhook", 1)
    assert (registered.params["url"], registered.params["secret_token"]) == (
        "https://jinlin.example/tg/hook", SECRET)
    assert fake_tg.calls_to("setMyCommands")
    update = {**fake_tg.text_update(ALICE, private_chat(ALICE), "/help"), "update_id": 903}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        await asyncio.wait_for(service.server.listening.wait(), 5)
        refused = await client.post("/tg/hook", json=update)
        accepted = await client.post("/tg/hook", json=update, headers={SECRET_HEADER: SECRET})
    assert (refused.status_code, accepted.status_code) == (403, 200)
    (reply,) = await fake_tg.wait_for("sendMessage", 1)
    assert "/iam" in reply.params["text"]
    service.stop()
    await asyncio.wait_for(running, 5)


async def test_messages_for_people_on_other_platforms_are_forwarded(core: Core) -> None:
    """A secretary on Telegram verifies a WeChat member: the news goes out through WeChat."""
    fake = FakeTelegram()
    forwarded: list[Outgoing] = []

    async def wechat_send(messages: list[Outgoing]) -> None:
        forwarded.extend(messages)

    registry = Registry({"wechat": wechat_send})
    app = build_application(settings_for(fake), core, registry=registry)
    news = Outgoing("wechat", "openid-1", "你的党员身份已核实")
    await deliver(app, [news])
    assert forwarded == [news]
    assert fake.calls == []  # nothing went to Telegram
    await deliver(app, [Outgoing("wecom", "1", "x")])  # no sender: logged, not raised


async def test_a_secretary_imports_the_needs_list_by_sending_a_file(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core) -> None:
    from pathlib import Path

    seed_secretary(core)
    chat = private_chat(WANG)
    await dialog.say(WANG, chat, "/start")
    data = (Path(__file__).parent / "fixtures" / "needs_items_utf8_bom.csv").read_bytes()
    before = len(fake_tg.calls_to("sendMessage"))
    update = fake_tg.send_document(WANG, chat, "清单.csv", data, caption="导入需求清单")
    await dialog.handled.wait(update["update_id"])
    replies = [c.params["text"] for c in fake_tg.calls_to("sendMessage")[before:]]
    assert len(replies) == 1
    assert "导入" in replies[0]
    listed = await dialog.say(WANG, chat, "需求清单")
    for row in data.decode("utf-8-sig").splitlines()[1:]:
        assert row.split(",")[0] in listed[0].params["text"]


async def test_sign_in_codes_arrive_when_the_public_address_is_this_machine(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core) -> None:
    """The tests' public address is http://127.0.0.1: Telegram refuses a button to it (and the
    whole message with it), so the codes come without one and the secretary learns why."""
    branch_id = seed_secretary(core)
    with core.db.session() as session:
        (wang,) = people.holders(session, "secretary", branch_id=branch_id)
        start = core.clock() + dt.timedelta(minutes=10)
        activities.create(session, branch_id=branch_id, title="楼道清扫", starts_at=start,
                          ends_at=start + dt.timedelta(hours=2), place="5号楼", capacity=5,
                          created_by=wang, created_at=core.clock())
    chat = private_chat(WANG)
    await dialog.say(WANG, chat, "/start")
    told = await dialog.say(WANG, chat, "签到码")
    photos = fake_tg.calls_to("sendPhoto")
    assert [p.params["caption"][:9] for p in photos] == ["「楼道清扫」签到码", "「楼道清扫」签退码"]
    assert not [p for p in photos if p.params.get("reply_markup")]
    assert not fake_tg.calls_to("sendPhoto", failed_too=True)[len(photos):], "none refused"
    (pages,) = [c.params["text"] for c in told]
    assert "签到：http://127.0.0.1" in pages
    assert "签退：http://127.0.0.1" in pages
    assert "JINLIN_PUBLIC_URL" in pages
    assert "公网 https 地址" in pages


@pytest.mark.parametrize(("address", "button"), [
    ("https://jinlin.example.org", True), ("https://jinlin.example.org:8443/x", True),
    ("http://jinlin.example.org", False), ("https://localhost:8080", False),
    ("https://127.0.0.1:8080", False), ("https://192.168.1.20", False), ("https://jinlin", False),
    ("https://nas.local", False)])
def test_a_link_is_a_button_only_at_a_public_https_address(address: str, button: bool) -> None:
    assert is_public(address) is button


async def test_quiet_group_answers_privately_and_falls_back_to_a_link_line(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core) -> None:
    """A resident who is not a member writes 签到 in the group: the refusal is his alone.
    Wang has opened the bot, so his refusal arrives privately and the group sees nothing;
    Zhang never has, so the group gets one short line with a link, not the refusal."""
    seed_secretary(core)
    await dialog.say(WANG, private_chat(WANG), "/start")
    await dialog.say(WANG, GROUP, f"/bind@{BOT_USERNAME}")

    assert await dialog.say(ZHANG, GROUP, "签到的时候要带身份证吗？") == []

    before = len(fake_tg.sent_texts(GROUP["id"]))
    (line,) = await dialog.say(ZHANG, GROUP, "签到")
    assert int(line.params["chat_id"]) == GROUP["id"]
    assert line.params["text"].startswith("张建国，我有一条消息要私下发给你")
    assert "亮身份" not in line.params["text"], "the refusal itself stays private"
    (button,) = line.params["reply_markup"]["inline_keyboard"][0]
    assert button["text"] == "点我私聊查看"
    assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=resume"

    (private,) = await dialog.say(WANG, GROUP, "/fly")
    assert int(private.params["chat_id"]) == WANG.id
    assert "没有 /fly 这个命令" in private.params["text"]
    assert len(fake_tg.sent_texts(GROUP["id"])) == before + 1
