"""The live sign-in screen on a tablet: the rotating code, and each sign-in appearing by
itself (server-sent events) within two seconds of the member's scan."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from handlers import qrcodes
from handlers.core import Core
from storage import activities
from tests.conftest import Clock
from tests.desk_fixtures import browser, core, desk_link, dialog, phone, port, service
from tests.fake_telegram import private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_pages import FANG, person_of, seed_members
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name


def seed_starting_activity(core: Core, branch_id: int) -> int:
    """楼道清扫 starting in ten minutes (sign-in is open), 张建国 and 王芳 signed up."""
    starts = core.clock() + dt.timedelta(minutes=10)
    who = [person_of(core, user) for user in (WANG, ZHANG, FANG)]
    with core.db.session() as session:
        item = activities.create(
            session, branch_id=branch_id, title="楼道清扫", starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2), place="3号楼", capacity=10, points=5,
            created_by=who[0], created_at=core.clock())
        for person in who[1:]:
            activities.join(session, item, person, core.clock())
        return item.id


async def test_a_sign_in_shows_on_the_screen_within_two_seconds(
        dialog: Dialog, core: Core, clock: Clock, browser: Browser, port: int) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    activity_id = seed_starting_activity(core, branch_id)
    tablet = await phone(browser)
    await tablet.goto(await desk_link(dialog, WANG))
    await tablet.goto(f"http://127.0.0.1:{port}/desk/live/{activity_id}")
    assert await tablet.locator("#count").inner_text() == "0"
    code = tablet.locator("#code img").first
    assert await code.evaluate("img => img.complete && img.naturalWidth > 0")

    payload = qrcodes.make(core.rules.secret, activity_id, "i")
    scanned = time.monotonic()
    (answer,) = await dialog.say(ZHANG, private_chat(ZHANG), f"/start {payload}")
    assert "签到成功" in answer.params["text"]
    await tablet.locator("#count").filter(has_text="1").wait_for(timeout=2000)
    assert "张建国" in await tablet.locator("#names").inner_text()

    clock.advance(minutes=1)
    await dialog.say(FANG, private_chat(FANG), f"/start {payload}")
    await tablet.locator("#count").filter(has_text="2").wait_for(timeout=2000)
    assert (await tablet.locator("#names li").all_inner_texts())[:2] == ["王芳", "张建国"]
    assert time.monotonic() - scanned < 10
