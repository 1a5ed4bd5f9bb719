"""Sign-in on WeChat alone: the two code images each follow their label, the on-site page is
served in WeChat-only mode and shows a fresh temporary parametric code each period, and a
LOCATION event in the same second as a SCAN does not swallow the scan."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx

from bot.console import ConsoleWorld
from bot.wechat_service import WechatService
from tests.conftest import Clock
from tests.test_wechat import (
    WANG,
    ZHANG,
    Running,
    _verified_on_wechat,
    fake_wx,
    running,
    wechat_settings,
)

__all__ = ["fake_wx", "running"]  # fixtures used by name below


async def publish_and_codes(run: Running) -> str:
    """王书记 publishes 清扫楼道 and asks for its codes; returns the passive reply."""
    wang = run.follower(WANG)
    await run.say(wang, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "2", "5", "1", "1"):
        await run.say(wang, answer)
    codes = await run.say(wang, "签到码 清扫楼道")
    await run.settle()
    return codes


async def test_each_code_image_follows_its_label(running: Running,
                                                 world: ConsoleWorld) -> None:
    await _verified_on_wechat(running, world)
    await publish_and_codes(running)
    sent = running.fake.sent(WANG)
    kinds = [m["msgtype"] for m in sent[-4:]]
    assert kinds == ["text", "image", "text", "image"]
    assert sent[-4]["text"]["content"].startswith("「清扫楼道」签到码")
    assert sent[-2]["text"]["content"].startswith("「清扫楼道」签退码")


async def test_a_location_in_the_same_second_as_a_scan_leaves_the_scan_handled(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    await _verified_on_wechat(running, world)
    await publish_and_codes(running)
    sign_in, _ = running.fake.scenes()
    clock.set(2026, 11, 28, 8, 50)
    zhang = running.follower(ZHANG)
    scan = zhang.scan(sign_in)
    location = zhang.location(same_second=True)
    assert location[1] != scan[1]
    await zhang.post(running.http, location)  # WeChat sends it as the chat opens
    reply = zhang.read_reply(await zhang.post(running.http, scan))
    assert reply == "「清扫楼道」现场报名并签到成功（08:50），参加可得 5 积分。"


async def test_the_on_site_page_runs_in_wechat_only_mode_and_rotates(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    await _verified_on_wechat(running, world)
    codes = await publish_and_codes(running)
    page = re.search(r"http://127\.0\.0\.1:8080(/qr/\S+d=i)", codes)
    assert page is not None, codes
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = wechat_settings(running.fake, JINLIN_WEB_PORT=port)
    service = WechatService(settings, running.core)
    task = asyncio.create_task(service.run())
    try:
        clock.set(2026, 11, 28, 8, 50)
        before = len(running.fake.scenes())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(50):
                try:
                    shown = await http.get(page[1])
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert shown.status_code == 200
            assert "<svg" in shown.text
            clock.advance(seconds=running.core.rules.qr_period_seconds)
            assert (await http.get(page[1])).status_code == 200
    finally:
        service.stop()
        await asyncio.wait_for(task, 15)
    made = running.fake.calls_to("qrcode/create")[before:]
    assert len(made) == 2, "one temporary code per period"
    scenes = [call.body["action_info"]["scene"]["scene_str"] for call in made]
    assert scenes[0] != scenes[1]
    period = running.core.rules.qr_period_seconds
    assert {call.body["expire_seconds"] for call in made} == {2 * period + 60}
