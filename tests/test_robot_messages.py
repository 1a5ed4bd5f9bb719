"""WeCom robots as the branch's notices reach them: markdown with a link to the notice's page
on the desk, an optional @all after it, and the sign-in code as an image when the secretary
asks. httpx against the fake WeCom robot API on loopback."""

from __future__ import annotations

import base64
import hashlib
import io

import zxingcpp
from PIL import Image

from bot.console import ConsoleWorld
from bot.wecom import RobotClient, RobotPoster, WecomSender
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from tests.fake_wecom import FakeWecom
from tests.story import notice, publish, set_up_branch
from tests.test_wecom_sender import KEY, Told, fake

URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"

__all__ = ["fake"]  # the fake WeCom robot API with KEY's robot, a fixture used by name


async def test_a_notice_is_markdown_with_its_page_and_an_optional_at_all(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    added = world.say("王书记", "private", f"/robot add 三期业主群 {URL} @所有人")
    assert "「三期业主群」发通知时会 @所有人。" in [s.text for s in added]
    assert "@所有人" in world.say("王书记", "private", "/robot list")[0].text
    notice(world, "周六上午清扫楼道")
    sender = WecomSender(core, RobotClient(fake.base_url), Told())
    await sender.drain_once()
    await sender.client.aclose()
    posted, everyone = fake.bodies(KEY)
    assert posted["msgtype"] == "markdown"
    content = posted["markdown"]["content"]
    assert content.startswith("**【通知】**周六上午清扫楼道")
    assert f"[点这里确认收到]({core.rules.public_url}/desk/notice/1)" in content
    assert everyone["msgtype"] == "text"
    assert everyone["text"]["mentioned_list"] == ["@all"]
    assert everyone["text"]["content"] == "请大家看上面的通知，看完确认收到。"


async def test_the_sign_in_code_goes_to_the_robots_as_an_image(
        world: ConsoleWorld, core: Core, fake: FakeWecom) -> None:
    set_up_branch(world)
    world.say("王书记", "private", f"/robot add 三期业主群 {URL}")
    publish(world)
    said = core.handle(Incoming("console", world.private_id("王书记"), ChatKind.PRIVATE,
                                world.user("王书记"), text="群机器人 签到码"))
    assert "已把「清扫楼道」的签到码发到 1 个企业微信群机器人。" in [m.text for m in said]
    poster = RobotPoster(core, RobotClient(fake.base_url))
    await poster.deliver([m for m in said if m.platform == "wecom"])
    await poster.client.aclose()
    caption, image = fake.bodies(KEY)
    assert caption["msgtype"] == "markdown"
    assert "「清扫楼道」" in caption["markdown"]["content"]
    assert image["msgtype"] == "image"
    png = base64.b64decode(image["image"]["base64"])
    assert hashlib.md5(png).hexdigest() == image["image"]["md5"]  # noqa: S324
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert decoded.text.startswith(f"{core.rules.public_url}/desk/ci/ci_")
