"""QR codes as people meet them: the PNG the Telegram adapter sends, decoded by a real decoder
and scanned back into the bot; the display page's answers (keys, directions, rotation)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import zxingcpp
from PIL import Image
from telegram.ext import Application

from bot import qr
from bot.qrpage import qr_routes
from bot.services import PollingService
from bot.telegram import build_application, deliver
from bot.telegram_web import webhook_routes
from bot.web import create_web_app
from handlers import qrcodes
from handlers.core import Core
from handlers.messages import Button, Outgoing
from storage import activities, orgs, people, posted
from storage.people import SenderInfo
from tests.conftest import TEST_RULES, Clock
from tests.fake_telegram import BOT_USERNAME, FakeTelegram, TgUser, private_chat
from tests.loopback import free_port
from tests.telegram_fixtures import (
    Dialog,
    Handled,
    dialog,
    fake_tg,
    polling_bot,
    settings_for,
)

__all__ = ["dialog", "fake_tg", "polling_bot"]  # fixtures used by name below

WANG = TgUser(5100000002, "王书记", username="wang_shuji", language_code="zh-hans")
ZHANG = TgUser(5203391870, "张建国", username="zhang_jianguo", language_code="zh-hans")
LI = TgUser(5100000004, "李秀英", username="li_xiuying", language_code="zh-hans")
TITLE = "楼道清扫"
SECRET = TEST_RULES.secret
LINK_PREFIX = f"https://t.me/{BOT_USERNAME}?start="


def checked(payload: str) -> qrcodes.Code:
    """The code a payload carries, checked as a scan would be."""
    return qrcodes.verify(SECRET, qrcodes.SignInCode.unpack(payload))


def decode(image: bytes) -> list[str]:
    """The texts of every QR code a real decoder finds in a PNG (or other) image."""
    with Image.open(io.BytesIO(image)) as picture:
        return [found.text for found in zxingcpp.read_barcodes(picture)]


def payload_in(image: bytes) -> str:
    """The deep-link payload of the one QR code in `image`."""
    (link,) = decode(image)
    assert link.startswith(LINK_PREFIX), link
    return link.removeprefix(LINK_PREFIX)


def zh(core: Core, key: str, **params: object) -> str:
    """A message as the Chinese catalog words it (which must have it)."""
    text = core.catalogs.get("zh_CN")(key, **params)
    assert text != key, f"{key} is missing from the zh_CN catalog"
    return text


@dataclass(frozen=True)
class Seeded:
    branch_id: int
    activity_id: int


def account_of(core: Core, user: TgUser) -> int:
    """The person behind a Telegram user (created on first sight, as the core does)."""
    with core.db.session() as session:
        return people.ensure_account(session, SenderInfo(
            "telegram", str(user.id), user.first_name, user.username, user.language_code),
            core.clock())[0].person_id


def seed_activity(core: Core, starts: dt.datetime, hours: float = 2) -> Seeded:
    """A branch whose secretary is WANG, with one activity starting at `starts`."""
    secretary = account_of(core, WANG)
    with core.db.session() as session:
        community = orgs.create_community(session, "阳光社区")
        branch = orgs.create_branch(session, community.id, "阳光花园党支部")
        people.grant(session, secretary, "secretary", branch_id=branch.id, now=core.clock())
        activity = activities.create(
            session, branch_id=branch.id, title=TITLE, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours), place="3号楼", capacity=10, points=5,
            created_by=secretary, created_at=core.clock())
        return Seeded(branch.id, activity.id)


def seed_member(core: Core, user: TgUser, seeded: Seeded) -> None:
    """`user` is a verified member of the branch with a confirmed place on the activity."""
    person = account_of(core, user)
    secretary = account_of(core, WANG)
    with core.db.session() as session:
        profile, _ = people.save_profile(session, person, seeded.branch_id, {
            "name": user.first_name, "building": "3号楼2单元", "kind": "retired",
            "registered_here": True}, core.clock())
        people.decide_profile(session, profile.id, "verified", secretary, core.clock())
        activity = activities.locked(session, seeded.activity_id)
        assert activity is not None
        activities.join(session, activity, person, core.clock())


@contextlib.asynccontextmanager
async def polling_service(fake: FakeTelegram, core: Core) -> AsyncIterator[PollingService]:
    """`run_polling`'s service: polling the fake Bot API, serving the web pages on loopback."""
    service = PollingService(settings_for(fake, JINLIN_WEB_PORT=free_port()), core,
                             poll_timeout=0.2)  # so that the fake server stops at once
    service.telegram_app.bot_data["handled"] = Handled(service.telegram_app)
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(service.server.listening.wait(), 10)
    try:
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, 10)


async def scan(dialog: Dialog, user: TgUser, payload: str) -> str:
    """What the bot answers `user` who scanned a code: Telegram sends `/start <payload>`."""
    (answer,) = await dialog.say(user, private_chat(user), f"/start {payload}")
    return str(answer.params["text"])


# ------------------------------------------------------------------ rendering


def test_png_decodes_to_the_deep_link() -> None:
    link = LINK_PREFIX + qrcodes.make(SECRET, 12345, "o", 987654321)
    assert decode(qr.png(link)) == [link]


def test_svg_is_a_standalone_document() -> None:
    drawn = qr.svg(LINK_PREFIX + "ci_1_i0_x")
    assert drawn.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert drawn.rstrip().endswith("</svg>")


# ------------------------------------------------------------------ Telegram adapter


async def test_adapter_sends_a_scannable_photo_and_records_the_card(
        fake_tg: FakeTelegram, core: Core) -> None:
    fake_tg.send_text(ZHANG, private_chat(ZHANG), "hello")  # the fake now knows this chat
    payload = qrcodes.make(SECRET, 7, "i")
    out = Outgoing("telegram", str(ZHANG.id), "签到码：楼道清扫",
                   [[Button("打开轮换码页面", url="https://jinlin.example/qr/7")]],
                   qr_payload=payload, ref="activity:7:qr")
    app = build_application(settings_for(fake_tg), core)
    async with app:
        await deliver(app, [out], core=core)
    (photo,) = fake_tg.calls_to("sendPhoto")
    assert decode(photo.params["photo"]) == [LINK_PREFIX + payload]
    assert photo.params["caption"] == "签到码：楼道清扫"
    assert photo.params["reply_markup"]["inline_keyboard"] == [
        [{"text": "打开轮换码页面", "url": "https://jinlin.example/qr/7"}]]
    with core.db.session() as session:
        (card,) = posted.messages(session, "activity:7:qr")
        assert (card.platform, card.chat_external_id, card.message_id) == (
            "telegram", str(ZHANG.id), str(fake_tg.sent_message(photo)["message_id"]))


async def test_a_refused_photo_records_nothing(fake_tg: FakeTelegram, core: Core) -> None:
    out = Outgoing("telegram", "987654", "x", qr_payload="ci_1_i0_x", ref="activity:1:qr")
    app = build_application(settings_for(fake_tg), core)
    async with app:
        await deliver(app, [out], core=core)  # the fake refuses: an unknown private chat
    assert fake_tg.calls_to("sendPhoto", failed_too=True)
    with core.db.session() as session:
        assert posted.messages(session, "activity:1:qr") == []


async def test_secretary_qr_codes_scanned_sign_in_and_out(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, clock: Clock) -> None:
    """/qr sends two photos; decoding them and scanning signs a member in, then out."""
    seeded = seed_activity(core, dt.datetime(2026, 11, 23, 9, 0, tzinfo=clock.now.tzinfo))
    seed_member(core, ZHANG, seeded)
    await dialog.say(WANG, private_chat(WANG), "/start")  # so that the bot may write to him
    await dialog.say(WANG, private_chat(WANG), f"/qr {TITLE}")
    photos = await fake_tg.wait_for("sendPhoto", 2)
    assert {int(p.params["chat_id"]) for p in photos} == {WANG.id}
    sign_in, sign_out = (payload_in(p.params["photo"]) for p in photos)
    assert [checked(p).direction for p in (sign_in, sign_out)] == ["i", "o"]

    clock.set(2026, 11, 23, 9, 2)
    signed_in = await scan(dialog, ZHANG, sign_in)
    assert signed_in == "「楼道清扫」签到成功（09:02），参加可得 5 积分。离开时别忘了扫签退码。"
    assert "签到" in signed_in
    assert TITLE in signed_in
    clock.set(2026, 11, 23, 10, 30)
    signed_out = await scan(dialog, ZHANG, sign_out)
    assert signed_out == zh(core, "scan.signed_out", title=TITLE, time="10:30", hours="1.5")
    assert "签退" in signed_out


async def test_a_forged_code_is_refused(dialog: Dialog, core: Core, clock: Clock) -> None:
    seeded = seed_activity(core, dt.datetime(2026, 11, 23, 9, 0, tzinfo=clock.now.tzinfo))
    seed_member(core, ZHANG, seeded)
    forged = qrcodes.make(b"another secret", seeded.activity_id, "i")
    assert await scan(dialog, ZHANG, forged) == zh(core, "error.code_forged")


# ------------------------------------------------------------------ display page


class Links:
    """A `link_for` that remembers the payloads it was asked to draw."""

    def __init__(self) -> None:
        self.payloads: list[str] = []

    def __call__(self, payload: str) -> str:
        self.payloads.append(payload)
        return LINK_PREFIX + payload


@pytest.fixture
def links() -> Links:
    return Links()


@pytest.fixture
async def site(links: Links, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with the QR routes (period 30 s), talked to in-process."""
    app = create_web_app(qr_routes(SECRET, 30, links, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jinlin.test") as client:
        yield client


def key_for(activity_id: int, clock: Clock, hours: float = 3) -> str:
    return qrcodes.display_key(SECRET, activity_id, clock() + dt.timedelta(hours=hours))


async def test_page_shows_the_current_code_in_chinese(site: httpx.AsyncClient, links: Links,
                                                      clock: Clock) -> None:
    page = await site.get("/qr/42", params={"key": key_for(42, clock)})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<title>活动签到码</title>" in page.text
    assert "活动编号：42" in page.text
    assert "<svg" in page.text
    (payload,) = links.payloads
    code = checked(payload)
    assert (code.activity_id, code.direction, code.slot) == (
        42, "i", qrcodes.current_slot(clock(), 30))


async def test_page_in_english_and_for_sign_out(site: httpx.AsyncClient, links: Links,
                                                clock: Clock) -> None:
    page = await site.get("/qr/42", params={"key": key_for(42, clock), "d": "o"},
                          headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "<title>Sign-out code</title>" in page.text
    assert checked(links.payloads[-1]).direction == "o"


async def test_code_rotates_with_the_clock(site: httpx.AsyncClient, links: Links,
                                           clock: Clock) -> None:
    query = {"key": key_for(42, clock), "d": "i"}
    clock.set(2026, 11, 23, 8, 30, 10)
    first = await site.get("/qr/42/code.svg", params=query)
    assert first.headers["content-type"].startswith("image/svg+xml")
    assert float(first.headers["x-seconds-left"]) == pytest.approx(20)
    clock.advance(seconds=19)
    await site.get("/qr/42/code.svg", params=query)
    clock.advance(seconds=2)
    await site.get("/qr/42/code.svg", params=query)
    slots = [checked(p).slot for p in links.payloads]
    assert slots[0] == slots[1] == slots[2] - 1


@pytest.mark.parametrize("key", ["", "nonsense", "99999999999999999999.AAAA", "other-activity",
                                 "expired"])
async def test_bad_keys_get_403(site: httpx.AsyncClient, links: Links, clock: Clock,
                                key: str) -> None:
    given = {"other-activity": key_for(43, clock),
             "expired": key_for(42, clock, hours=-0.01)}.get(key, key)
    for path in ("/qr/42", "/qr/42/code.svg"):
        refused = await site.get(path, params={"key": given})
        assert refused.status_code == 403
        assert "这个签到码链接无效或已过期" in refused.text
    assert links.payloads == []


async def test_unknown_direction_is_a_bad_request(site: httpx.AsyncClient,
                                                  clock: Clock) -> None:
    page = await site.get("/qr/42", params={"key": key_for(42, clock), "d": "x"})
    assert page.status_code == 400


def test_webhook_still_needs_its_secret(fake_tg: FakeTelegram, core: Core) -> None:
    app: Application = build_application(settings_for(fake_tg), core)
    with pytest.raises(ValueError, match="secret"):
        webhook_routes(app, "")


async def test_polling_mode_serves_the_page_beside_the_bot(fake_tg: FakeTelegram, core: Core,
                                                           clock: Clock) -> None:
    async with polling_service(fake_tg, core) as service:
        base = f"http://127.0.0.1:{service.server.config.port}"
        async with httpx.AsyncClient(base_url=base) as web:
            assert (await web.get("/healthz")).text == "ok"
            assert (await web.post("/telegram")).status_code in (404, 405)  # no webhook here
            page = await web.get("/qr/42", params={"key": key_for(42, clock)})
        assert page.status_code == 200
        assert "<svg" in page.text
        answers = await Dialog(fake_tg, service.telegram_app).say(
            ZHANG, private_chat(ZHANG), "/start")
        assert answers
