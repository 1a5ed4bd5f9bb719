"""The custom menu: `python -m bot wechat menu` publishes 签到 · 活动 · 我的, and a tap on a
CLICK item is routed like its typed keyword."""

from __future__ import annotations

from bot import wechat_menu
from bot.console import ConsoleWorld
from tests.fake_wechat import FakeWechat
from tests.test_wechat import (
    ZHANG,
    Running,
    _verified_on_wechat,
    fake_wx,
    running,
    wechat_settings,
    zh,
)

__all__ = ["fake_wx", "running"]  # fixtures used by name below


async def test_a_menu_tap_is_routed_like_its_keyword(running: Running,
                                                      world: ConsoleWorld) -> None:
    await _verified_on_wechat(running, world)
    zhang = running.follower(ZHANG)
    reply = zhang.read_reply(await zhang.post(running.http, zhang.click("checkin")))
    assert reply == zh(running.core, "checkin.done", name="张三", where="3号楼2单元", count=1)
    odd = zhang.read_reply(await zhang.post(running.http, zhang.click("Not A Command!")))
    assert odd == ""


def test_the_menu_is_published(fake_wx: FakeWechat) -> None:
    settings = wechat_settings(fake_wx, JINLIN_SECRET_KEY="menu-test-secret-key-0123456789",
                               JINLIN_PUBLIC_URL="https://jinlin.example.cn")
    assert wechat_menu.publish(settings) == "menu published: 签到 · 活动 · 我的"
    body = fake_wx.calls_to("menu/create")[0].body
    assert [b["type"] for b in body["button"]] == ["click", "click", "view"]
    assert [b.get("key") for b in body["button"][:2]] == ["checkin", "activity"]
    assert body["button"][2]["url"] == "https://jinlin.example.cn/desk/wx?next=/desk"
