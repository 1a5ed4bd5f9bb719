"""Files on WeChat alone go through the desk: 导出台账 gives a short-lived signed link that
downloads the ledger (an .xlsx openpyxl opens), a forged link is refused (403) and an expired
one is gone (410), each with a clear page in Chinese; 导入需求清单 gives a one-time desk link
to the upload page, where the list uploaded (no JavaScript needed) is what the chat then
lists, and a file with a bad header adds nothing."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openpyxl
import pytest

from bot.console import ConsoleWorld
from bot.desk import Desk
from bot.web import Server, create_web_app, server_config
from handlers.core import Core
from tests.conftest import Clock
from tests.loopback import free_port
from tests.test_wechat import (
    WANG,
    Running,
    branch_with_wechat_secretary,
    fake_wx,
    running,
    wechat_settings,
)

__all__ = ["fake_wx", "running"]  # fixtures used by name below

FIXTURES = Path(__file__).parent / "fixtures"
# The public address in the test rules; the desk itself answers on a loopback port.
LINK = re.compile(r"http://127\.0\.0\.1:8080(/desk/\S+)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def desk(running: Running, core: Core) -> AsyncIterator[httpx.AsyncClient]:
    """The desk served as the WeChat service serves it, and a browser without JavaScript."""
    port = free_port()
    settings = wechat_settings(running.fake, JINLIN_WEB_PORT=port)
    server = Server(server_config(create_web_app(Desk(core, settings).routes()), settings))
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.listening.wait(), 5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield http
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def said_to(run: Running, openid: str, text: str) -> str:
    """Everything the bot answers `openid` for `text`: the reply and what follows it."""
    before = len(run.fake.sent(openid))
    reply = await run.say(run.follower(openid), text)
    await run.settle()
    later = [m["text"]["content"] for m in run.fake.sent(openid)[before:]
             if m["msgtype"] == "text"]
    return "\n".join([reply, *later])


def link_in(text: str) -> str:
    found = LINK.findall(text)
    assert len(found) == 1, text
    return str(found[0])


async def test_the_ledger_link_downloads_once_fresh_and_refuses_a_forged_or_stale_one(
        running: Running, world: ConsoleWorld, desk: httpx.AsyncClient,
        clock: Clock) -> None:
    branch_with_wechat_secretary(world)
    answer = await said_to(running, WANG, "导出台账 2026-11")
    assert "台账：阳光小区党支部，2026-11-01 至 2026-11-30。" in answer
    assert "15 分钟内有效" in answer
    path = link_in(answer)

    got = await desk.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(got.content), read_only=True)
    assert book.sheetnames[0] == "党员名册"

    forged = await desk.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert forged.status_code == 403
    assert "这个下载链接无效。请发送「导出台账」获取新链接。" in forged.text

    clock.advance(minutes=16)
    stale = await desk.get(path)
    assert stale.status_code == 410
    assert "这个下载链接已过期（15 分钟内有效）" in stale.text


async def test_the_needs_list_is_uploaded_on_the_desk_and_listed_in_the_chat(
        running: Running, world: ConsoleWorld, desk: httpx.AsyncClient) -> None:
    branch_with_wechat_secretary(world)
    answer = await said_to(running, WANG, "导入需求清单")
    assert "在这里不能给我发文件" in answer
    opened = await desk.get(link_in(answer), follow_redirects=True)
    assert opened.status_code == 200
    assert str(opened.url).endswith("/desk/items/import")
    csrf = re.search(r'name="csrf" value="([^"]+)"', opened.text)
    assert csrf is not None

    bad = (FIXTURES / "needs_missing_column.csv").read_bytes()
    refused = await desk.post("/desk/items/import", data={"csrf": csrf[1]},
                              files={"file": ("清单.csv", bad, "text/csv")})
    assert refused.status_code == 200
    assert "「清单.csv」没有导入，清单没有任何改动" in refused.text
    assert "还是空的" in await said_to(running, WANG, "需求清单")

    good = (FIXTURES / "needs_items_gb18030.csv").read_bytes()
    without_token = await desk.post("/desk/items/import", data={"csrf": "x"},
                                    files={"file": ("清单.csv", good, "text/csv")})
    assert without_token.status_code == 403
    assert "这个表单已失效，什么也没有改动" in without_token.text
    assert "还是空的" in await said_to(running, WANG, "需求清单")

    done = await desk.post("/desk/items/import", data={"csrf": csrf[1]},
                           files={"file": ("清单.csv", good, "text/csv")})
    assert "已导入 2 个事项到「阳光小区党支部」的需求清单：垃圾分类督导、电动车充电巡查" \
        in done.text
    listed = await said_to(running, WANG, "需求清单")
    assert "1. 垃圾分类督导" in listed
    assert "2. 电动车充电巡查" in listed
