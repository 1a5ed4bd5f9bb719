"""The real bot (`python -m bot run`) at INFO and at DEBUG, on Telegram (polling and webhook)
and on WeChat at once: a secretary adds a WeCom robot and sends a notice through it, a resident
asks for help giving a phone number, a WeChat follower writes theirs. Nothing secret and no
phone number may appear in what the bot logged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import grant
from bot.settings import Settings
from storage import orgs
from storage.db import Database
from storage.migrate import upgrade
from tests.fake_telegram import TOKEN, FakeTelegram, TgUser, private_chat
from tests.fake_wechat import ACCESS_TOKEN, AES_KEY, APP_ID, APP_SECRET, FakeWechat, Follower
from tests.fake_wechat import TOKEN as WECHAT_TOKEN
from tests.fake_wecom import FakeWecom
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
ROBOT_KEY = "3f1e2d4c-5b6a-4789-9abc-def012345678"
PHONE = "13812345678"
WEBHOOK_SECRET = "log-test-webhook-secret_2026"
QR_SECRET = "log-test-qr-secret-key-0123456789"
SECRETARY = TgUser(5100000002, "王书记", username="wang_shuji", language_code="zh-hans")
RESIDENT = TgUser(5100000009, "刘阿姨", username="liu_ayi", language_code="zh-hans")
FOLLOWER = "oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M"
BRANCH = "阳光小区党支部"
SECRETS = {"bot token": TOKEN, "bot token's secret half": TOKEN.split(":")[1],
           "webhook secret": WEBHOOK_SECRET, "AppSecret": APP_SECRET,
           "WeChat Token": WECHAT_TOKEN, "EncodingAESKey": AES_KEY,
           "access_token": ACCESS_TOKEN, "robot key": ROBOT_KEY, "QR secret": QR_SECRET,
           "phone number": PHONE}


class Bot:
    """One `python -m bot run` against the fakes, logging to a file."""

    def __init__(self, folder: Path, mode: str, level: str, fakes: Fakes) -> None:
        self.log, self.port, self.fakes = folder / "bot.log", free_port(), fakes
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JINLIN_", "TELEGRAM_", "WECHAT_", "WECOM_"))
               and k != "DATABASE_URL"}
        env.update({
            "PYTHONPATH": str(ROOT), "JINLIN_DATA_DIR": str(folder / "data"),
            "JINLIN_LOG_LEVEL": level, "JINLIN_SECRET_KEY": QR_SECRET,
            "JINLIN_WEB_HOST": "127.0.0.1", "JINLIN_WEB_PORT": str(self.port),
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": mode,
            "TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
            "TELEGRAM_API_BASE_FILE_URL": fakes.telegram.base_file_url,
            "TELEGRAM_WEBHOOK_URL": "https://jinlin.example/telegram",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE_URL": fakes.wechat.base_url,
            # Every WeChat answer then goes out through the API, with its access_token.
            "WECHAT_REPLY_BUDGET_SECONDS": "0.001",
            "WECOM_API_BASE_URL": fakes.wecom.base_url})
        with self.log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=folder,
                                            env=env, stdout=log, stderr=subprocess.STDOUT)
        self.mode = mode
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, check: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {what}:\n{self.output()[-4000:]}")
            time.sleep(0.02)

    def ready(self) -> None:
        self.wait(lambda: self._listening(), "web server")
        method = "setWebhook" if self.mode == "webhook" else "getUpdates"
        self.wait(lambda: bool(self.fakes.telegram.calls_to(method)), method)

    def _listening(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def update(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot the way its mode receives them."""
        if self.mode == "polling":
            self.fakes.telegram.push_update(update)
            return
        update.setdefault("update_id", int(time.time() * 1000) % 10**9)
        posted = self.http.post("/telegram", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        assert posted.status_code == 200

    def say(self, user: TgUser, text: str) -> dict[str, Any]:
        """`user` writes privately; returns the bot's answer (the message it sent)."""
        fake = self.fakes.telegram
        before = len(fake.calls_to("sendMessage"))
        self.update(fake.text_update(user, private_chat(user), text))
        self.wait(lambda: len(fake.calls_to("sendMessage")) > before, f"answer to {text}")
        return fake.sent_message(fake.calls_to("sendMessage")[-1])

    def press(self, user: TgUser, message: dict[str, Any], label: str) -> dict[str, Any]:
        """`user` presses the button labelled `label` on `message`; returns what changed."""
        fake = self.fakes.telegram
        rows = message["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in rows for b in row if label in b["text"])
        sent = len(fake.calls_to("sendMessage")) + len(fake.calls_to("editMessageText"))
        self.update(fake.callback_update(user, message, data))
        self.wait(lambda: len(fake.calls_to("sendMessage"))
                  + len(fake.calls_to("editMessageText")) > sent, f"answer to {label}")
        last = max([*fake.calls_to("sendMessage"), *fake.calls_to("editMessageText")],
                   key=lambda c: c.at)
        return fake.sent_message(last)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.http.close()
        return self.output()


class Fakes:
    def __init__(self) -> None:
        self.telegram, self.wechat, self.wecom = FakeTelegram(), FakeWechat(), FakeWecom()


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    made = Fakes()
    made.telegram.start()
    made.wechat.start()
    made.wecom.start()
    made.wecom.add_robot(ROBOT_KEY)
    yield made
    made.wecom.stop()
    made.wechat.stop()
    made.telegram.stop()


def branch_with_secretary(folder: Path) -> None:
    settings = Settings(JINLIN_DATA_DIR=folder / "data")  # type: ignore[call-arg]
    database = Database.from_url(settings.db_url)
    upgrade(database.engine)
    with database.session() as session:
        community = orgs.create_community(session, "鹭江社区")
        orgs.create_branch(session, community.id, BRANCH)
    grant(database, f"telegram:{SECRETARY.id}", "secretary", branch=BRANCH)
    database.dispose()


def converse(bot: Bot, fakes: Fakes) -> None:
    """The conversation: robot key, notice through the robot, phone numbers on both platforms."""
    robot_url = f"{fakes.wecom.base_url}/cgi-bin/webhook/send?key={ROBOT_KEY}"
    assert "…" in bot.say(SECRETARY, f"/robot add 3号楼群 {robot_url}")["text"]
    bot.say(SECRETARY, "通知")
    asked = bot.say(SECRETARY, f"周六上午清扫楼道，有事打{PHONE}")
    confirm = bot.press(SECRETARY, bot.press(SECRETARY, asked, "本支部所有群"), "立即发送")
    bot.press(SECRETARY, confirm, "确定")
    bot.wait(lambda: bool(fakes.wecom.texts(ROBOT_KEY)), "notice through the robot")
    assert PHONE in fakes.wecom.texts(ROBOT_KEY)[0]
    bot.say(RESIDENT, f"/ask 帮我买点菜，电话{PHONE}")
    follower = Follower(FOLLOWER, f"http://127.0.0.1:{bot.port}/wechat")
    query, body = follower.text(f"我的电话是{PHONE}")
    assert bot.http.post("/wechat", params=query, content=body).status_code == 200
    bot.wait(lambda: bool(fakes.wechat.texts_to(FOLLOWER)), "answer on WeChat")
    assert fakes.wechat.calls_to("token"), "the access token was fetched (and could be logged)"


@pytest.mark.parametrize(("mode", "level"), [("polling", "INFO"), ("polling", "DEBUG"),
                                             ("webhook", "INFO"), ("webhook", "DEBUG")])
def test_no_secret_and_no_phone_number_in_the_logs(tmp_path: Path, fakes: Fakes, mode: str,
                                                   level: str) -> None:
    branch_with_secretary(tmp_path)
    bot = Bot(tmp_path, mode, level, fakes)
    try:
        bot.ready()
        converse(bot, fakes)
    finally:
        logged = bot.stop()
    assert "HTTP Request: POST" in logged, "httpx's request lines are in the log, masked"
    if level == "DEBUG":
        assert " DEBUG telegram" in logged
        assert " DEBUG urllib3" in logged
    leaked = {name: logged.count(value) for name, value in SECRETS.items() if value in logged}
    assert leaked == {}, [line for line in logged.splitlines()
                          if any(v in line for v in SECRETS.values())][:5]
