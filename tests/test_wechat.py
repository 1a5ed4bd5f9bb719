"""The WeChat Official Account adapter: callbacks signed and encrypted as WeChat sends them,
posted over HTTP to the running app, its API calls answered by a fake WeChat server."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.routing import BaseRoute

from bot.cli import grant
from bot.console import ConsoleWorld
from bot.settings import Settings
from bot.web import Server, create_web_app, server_config
from bot.wechat import ConfigError, WechatAdapter, build_adapter
from handlers.core import Core
from handlers.messages import Incoming, Outgoing
from storage import people, points
from storage.db import Database
from storage.models import Account, CheckIn, ProcessedUpdate, WechatUser
from tests.conftest import TEST_RULES, Clock
from tests.fake_wechat import AES_KEY, APP_ID, APP_SECRET, TOKEN, FakeWechat, Follower
from tests.story import BRANCH

ZHANG = "oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M"
WANG = "oVbq06AbCdEfGhIjKlMnOpQrStUv"


@pytest.fixture
def fake_wx() -> Iterator[FakeWechat]:
    server = FakeWechat()
    server.start()
    yield server
    server.stop()


def wechat_settings(fake: FakeWechat, **overrides: object) -> Settings:
    """Settings pointing the adapter at the fake server, every WeChat setting pinned."""
    values: dict[str, object] = {
        "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SecretStr(APP_SECRET),
        "WECHAT_TOKEN": SecretStr(TOKEN), "WECHAT_AES_KEY": SecretStr(AES_KEY),
        "WECHAT_API_BASE_URL": fake.base_url, "WECHAT_REPLY_BUDGET_SECONDS": 3.0,
        "TELEGRAM_BOT_TOKEN": None, "JINLIN_WEB_HOST": "127.0.0.1", **overrides}
    return Settings.model_validate(values)


@dataclass
class Running:
    """The app serving /wechat on loopback, and a way to talk to it."""

    adapter: WechatAdapter
    url: str
    http: httpx.AsyncClient
    fake: FakeWechat
    core: Core

    followers: dict[str, Follower] = field(default_factory=dict)
    # Every passive reply a follower read, in order.
    said: list[str] = field(default_factory=list)

    def follower(self, openid: str) -> Follower:
        """The same follower each time (their message ids and clock run on)."""
        if openid not in self.followers:
            self.followers[openid] = Follower(
                openid, self.url, aes=self.adapter.crypto is not None,
                clock=lambda: self.core.clock().timestamp(), wrote=self.fake.saw)
        return self.followers[openid]

    async def say(self, who: Follower, text: str, msg_id: int | None = None) -> str:
        """`who` writes `text`; returns the passive reply ("" for "success")."""
        reply = who.read_reply(await who.post(self.http, who.text(text, msg_id)))
        self.said.append(reply)
        return reply

    def read(self) -> list[str]:
        """Everything the followers read: passive replies and customer-service messages."""
        return self.said + [text for openid in self.followers
                            for text in self.fake.texts_to(openid)]

    async def settle(self) -> None:
        """Wait until every answer has been sent through the service API."""
        await asyncio.wait_for(self.adapter.drain(), 10)


async def serve(adapter: WechatAdapter, settings: Settings, core: Core,
                fake: FakeWechat, routes: Sequence[BaseRoute] = (),
                port: int | None = None) -> AsyncIterator[Running]:
    """The callback (and `routes`) served on loopback, on `port` or a free one."""
    if port is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
    settings = settings.model_copy(update={"web_port": port})
    fake.clock = lambda: core.clock().timestamp()  # WeChat's 48-hour window, on our clock
    server = Server(server_config(create_web_app([*adapter.routes(), *routes]), settings))
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.listening.wait(), 5)
    async with httpx.AsyncClient(timeout=10) as http:
        yield Running(adapter, f"http://127.0.0.1:{port}/wechat", http, fake, core)
        await asyncio.wait_for(adapter.drain(), 10)
    server.should_exit = True
    await task


@pytest.fixture
async def running(fake_wx: FakeWechat, core: Core) -> AsyncIterator[Running]:
    settings = wechat_settings(fake_wx)
    async for value in serve(build_adapter(settings, core), settings, core, fake_wx):
        yield value


def zh(core: Core, key: str, **params: object) -> str:
    return core.catalogs.get("zh_CN")(key, **params)


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def branch_with_wechat_secretary(world: ConsoleWorld) -> None:
    """A community and branch set up on the console; 王书记 is its secretary on WeChat."""
    grant(world.core.db, f"console:{world.user('管理员').external_id}", "community_admin")
    world.say("管理员", "private", "/community new 鹭江社区")
    world.say("管理员", "private", f"/branch new {BRANCH}")
    grant(world.core.db, f"wechat:{WANG}", "secretary", branch=BRANCH)


# ------------------------------------------------------------------ the whole story


async def test_the_whole_story_on_wechat(running: Running, world: ConsoleWorld,
                                         clock: Clock) -> None:
    """亮身份 by numbered replies → verified by the secretary → 签到 → 活动 and "1" to sign up
    → the secretary's parametric code is scanned → signed in; then a console account is
    linked and sees the same points."""
    core, fake = running.core, running.fake
    branch_with_wechat_secretary(world)
    zhang, wang = running.follower(ZHANG), running.follower(WANG)
    await running.say(wang, "帮助")  # opens 王书记's 48-hour service window

    assert BRANCH in await running.say(zhang, "亮身份")
    await running.say(zhang, "张三")
    kinds = await running.say(zhang, "3号楼2单元")
    assert "回复 2：离退休" in kinds
    registered = await running.say(zhang, "2")
    assert "回复 1：在册" in registered
    skills = await running.say(zhang, "1")
    assert "回复 1：暂无" in skills
    assert "回复 1：提交" in await running.say(zhang, "1")
    assert zh(core, "iam.submitted", branch=BRANCH) in await running.say(zhang, "1")
    await running.settle()
    to_wang = fake.texts_to(WANG)[-1]
    assert "张三" in to_wang
    assert "回复 1：核实" in to_wang

    await running.say(wang, "1")
    await running.settle()
    assert any("核实" in text for text in fake.texts_to(ZHANG)), "told privately, by the API"

    checked = await running.say(zhang, "签到")
    assert checked == zh(core, "checkin.done", name="张三", where="3号楼2单元", count=1)

    await running.say(wang, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "2", "5"):
        await running.say(wang, answer)
    assert "回复 1：发布" in await running.say(wang, "1")  # 1 = no note
    await running.say(wang, "1")

    listed = await running.say(zhang, "活动")
    assert "回复 1：报名：清扫楼道" in listed
    assert "清扫楼道" in await running.say(zhang, "1")

    codes_text = await running.say(wang, "签到码 清扫楼道")
    assert "http://127.0.0.1:8080/qr/" in codes_text, "the rotating page shown as a link"
    await running.settle()
    sign_in, sign_out = fake.scenes()
    assert sign_in.startswith("ci_")
    assert sign_out.startswith("ci_")
    assert [_decoded(png) for png in fake.images_to(WANG)] == fake.qr_urls

    clock.set(2026, 11, 28, 8, 45)
    scanned = zhang.read_reply(await zhang.post(running.http, zhang.scan(sign_in)))
    assert scanned == "「清扫楼道」签到成功（08:45），参加可得 5 积分。离开时别忘了扫签退码。"
    again = zhang.read_reply(await zhang.post(running.http, zhang.scan(sign_in)))
    assert again == zh(core, "error.already_signed_in", title="清扫楼道", time="08:45")

    code_reply = await running.say(zhang, "绑定账号")
    code = next(word for word in code_reply.replace("：", " ").split() if word.isdigit()
                and len(word) == 6)
    earned = points_of(core, ZHANG)
    assert earned >= 5, "the activity's points at least"
    linked = world.say("张三", "private", f"绑定账号 {code}")
    assert linked[-1].text == ("绑定成功：你在 控制台、微信 上是同一个人了，"
                               "身份、报名、认领和积分都合在一起。"
                               f"你现在共有 {earned} 积分。")
    with core.db.session() as session:
        console = people.find_account(session, "console", world.user("张三").external_id)
        wechat = people.find_account(session, "wechat", ZHANG)
        assert console is not None
        assert wechat is not None
        assert console.person_id == wechat.person_id


def points_of(core: Core, openid: str) -> int:
    """The points total of the person behind a WeChat follower."""
    with core.db.session() as session:
        account = people.find_account(session, "wechat", openid)
        assert account is not None
        return points.total(session, account.person_id)


def _decoded(png: bytes) -> str:
    """What a phone reads from a QR image."""
    import zxingcpp
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return str(results[0].text)


# ------------------------------------------------------------------ the callback's edges


async def test_url_verification_echoes_only_when_signed(running: Running) -> None:
    query, _ = running.follower(ZHANG).text("x")
    echoed = await running.http.get(running.url, params={**query, "echostr": "5738219437"})
    assert (echoed.status_code, echoed.text) == (200, "5738219437")
    forged = await running.http.get(running.url, params={**query, "signature": "0" * 40,
                                                          "echostr": "5738219437"})
    assert forged.status_code == 403
    assert forged.text == ""


async def test_bad_signature_is_refused_and_nothing_is_stored(running: Running) -> None:
    zhang = running.follower(ZHANG)
    before = [count(running.core.db, m) for m in (Account, ProcessedUpdate, WechatUser)]
    query, body = zhang.text("亮身份")
    refused = await running.http.post(running.url, params={**query, "signature": "f" * 40},
                                      content=body)
    assert refused.status_code == 403
    query, body = zhang.text("亮身份")
    tampered = await running.http.post(running.url, params={**query, "msg_signature": "0" * 40},
                                       content=body)
    assert tampered.status_code == 403
    query, _ = zhang.text("亮身份")
    plaintext = await running.http.post(running.url, params={
        k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")},
        content=b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType></xml>")
    assert plaintext.status_code == 403, "with an AES key, plaintext is not accepted"
    await running.settle()
    assert [count(running.core.db, m) for m in (Account, ProcessedUpdate, WechatUser)] == before
    assert running.fake.calls == []


async def test_malformed_xml_is_a_bad_request(running: Running) -> None:
    zhang = running.follower(ZHANG)
    sealed_garbage = zhang.seal("<xml><MsgType>text</MsgType><Content>签到")
    assert (await zhang.post(running.http, sealed_garbage)).status_code == 400
    query, _ = zhang.text("签到")
    not_xml = await running.http.post(running.url, params=query, content=b"{not xml")
    assert not_xml.status_code == 400
    assert count(running.core.db, ProcessedUpdate) == 0


async def test_plaintext_mode_without_an_aes_key(fake_wx: FakeWechat, core: Core) -> None:
    with pytest.raises(ConfigError, match="WECHAT_ALLOW_PLAINTEXT"):
        build_adapter(wechat_settings(fake_wx, WECHAT_AES_KEY=None), core)
    settings = wechat_settings(fake_wx, WECHAT_AES_KEY=None, WECHAT_ALLOW_PLAINTEXT=True)
    async for run in serve(build_adapter(settings, core), settings, core, fake_wx):
        zhang = run.follower(ZHANG)
        assert not zhang.aes
        assert zh(core, "start.welcome", name=zh(core, "person.anonymous")) in (
            await run.say(zhang, "/start"))
        garbage = await run.http.post(run.url, params=zhang.text("x")[0], content=b"<xml>")
        assert garbage.status_code == 400


async def test_the_same_msgid_three_times_has_one_effect(running: Running,
                                                         world: ConsoleWorld) -> None:
    await _verified_on_wechat(running, world)
    zhang = running.follower(ZHANG)
    # WeChat's retries carry the same MsgId, each signed afresh.
    replies = [zhang.read_reply(await zhang.post(
        running.http, zhang.text("签到", msg_id=24789999000000001))) for _ in range(3)]
    done = zh(running.core, "checkin.done", name="张三", where="3号楼2单元", count=1)
    assert replies == [done] * 3, "a retry whose answer was lost gets the same answer"
    await running.settle()
    assert count(running.core.db, CheckIn) == 1
    assert running.fake.texts_to(ZHANG)[-1:] != [done]


async def test_a_slow_answer_goes_out_through_the_service_api(
        fake_wx: FakeWechat, db: Database, clock: Clock, world: ConsoleWorld) -> None:
    """Past the budget the callback answers "success"; the retries WeChat then sends while
    the first is still running are answered "success" too; the answer follows by the API."""
    slow = SlowCore(db, rules=TEST_RULES, clock=clock)
    settings = wechat_settings(fake_wx, WECHAT_REPLY_BUDGET_SECONDS=0.3)
    async for run in serve(build_adapter(settings, slow), settings, slow, fake_wx):
        await _verified_on_wechat(run, world)
        zhang = run.follower(ZHANG)
        slow.delay = 1.0
        started = time.monotonic()
        first = asyncio.create_task(zhang.post(run.http, zhang.text("签到", msg_id=2478901)))
        await asyncio.sleep(0.1)
        # WeChat's retry: the same MsgId, signed afresh.
        retry = await zhang.post(run.http, zhang.text("签到", msg_id=2478901))
        assert zhang.read_reply(retry) == ""
        assert zhang.read_reply(await first) == ""
        assert time.monotonic() - started < 0.9, "answered before the core was done"
        await run.settle()
        done = zh(slow, "checkin.done", name="张三", where="3号楼2单元", count=1)
        assert run.fake.texts_to(ZHANG)[-1] == done
        assert run.fake.texts_to(ZHANG).count(done) == 1
        assert slow.handled.count("签到") == 1


class SlowCore(Core):
    """A core that takes `delay` seconds per update, as a busy database would."""

    delay = 0.0
    handled: list[str]

    def handle(self, incoming: Incoming) -> list[Outgoing]:
        if not hasattr(self, "handled"):
            self.handled = []
        self.handled.append(incoming.text)
        time.sleep(self.delay)
        return super().handle(incoming)


async def apply(run: Running, openid: str, name: str, building: str = "5号楼") -> None:
    """`name` shows their identity on WeChat with numbered replies (离退休, 在册, 暂无,
    提交); the card goes to 王书记 through the API."""
    who = run.follower(openid)
    for answer in ("亮身份", name, building, "2", "1", "1", "1"):
        await run.say(who, answer)
    await run.settle()


async def _verified_on_wechat(run: Running, world: ConsoleWorld) -> None:
    """张三 registers on WeChat (numbered replies) and the WeChat secretary verifies him."""
    branch_with_wechat_secretary(world)
    wang = run.follower(WANG)
    await run.say(wang, "帮助")
    await apply(run, ZHANG, "张三", "3号楼2单元")
    await run.say(wang, "1")
    await run.settle()


# ------------------------------------------------------------------ numbered choices


async def test_numbered_choices_survive_a_restart(running: Running, fake_wx: FakeWechat,
                                                  core: Core, world: ConsoleWorld) -> None:
    branch_with_wechat_secretary(world)
    zhang = running.follower(ZHANG)
    await running.say(zhang, "亮身份")
    await running.say(zhang, "张三")
    assert "回复 4：其他" in await running.say(zhang, "3号楼2单元")
    settings = wechat_settings(fake_wx)
    async for restarted in serve(build_adapter(settings, core), settings, core, fake_wx):
        zhang.url = restarted.url  # the same follower, writing to the new process
        assert "回复 1：在册" in await restarted.say(zhang, "2")


async def test_a_number_without_options_is_plain_text(running: Running) -> None:
    reply = await running.say(running.follower(ZHANG), "7")
    assert reply == zh(running.core, "error.unknown_text")


async def test_pictures_are_answered_with_what_works(running: Running) -> None:
    zhang = running.follower(ZHANG)
    reply = zhang.read_reply(await zhang.post(running.http, zhang.image()))
    assert reply == zh(running.core, "wechat.text_only")


# ------------------------------------------------------------------ scans and the window


async def test_a_new_follower_scanning_the_code_is_signed_in(running: Running,
                                                             world: ConsoleWorld,
                                                             clock: Clock) -> None:
    """`subscribe` with `qrscene_…`: wechatpy strips the prefix, the same rules apply."""
    await _verified_on_wechat(running, world)
    wang = running.follower(WANG)
    await running.say(wang, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "2", "5", "1", "1"):
        await running.say(wang, answer)
    await running.say(wang, "签到码 清扫楼道")
    await running.settle()
    sign_in, _ = running.fake.scenes()
    clock.set(2026, 11, 28, 9, 5)
    newcomer = running.follower(ZHANG)
    reply = newcomer.read_reply(await newcomer.post(running.http,
                                                    newcomer.subscribe_by_scan(sign_in)))
    assert reply == "「清扫楼道」现场报名并签到成功（09:05），参加可得 5 积分。"


async def test_outside_the_48_hour_window_messages_are_recorded_and_told_later(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    branch_with_wechat_secretary(world)
    zhang = running.follower(ZHANG)
    await running.say(zhang, "帮助")
    clock.advance(hours=49)
    await running.adapter.deliver([Outgoing("wechat", ZHANG, "late news")])
    running.fake.refuse[WANG] = 45015
    await running.say(running.follower(WANG), "7")  # a short answer: all of it passive
    await running.adapter.deliver([Outgoing("wechat", WANG, "refused by WeChat")])
    assert "late news" not in running.fake.texts_to(ZHANG), "not even tried"
    told = await running.say(zhang, "帮助")
    assert zh(running.core, "wechat.missed", count=1) in told
    assert zh(running.core, "wechat.missed", count=1) in await running.say(
        running.follower(WANG), "7")
    assert zh(running.core, "wechat.missed", count=1) not in await running.say(zhang, "帮助")
