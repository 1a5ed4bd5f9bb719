"""The Official Account's custom menu: 签到 and 活动 run their commands (CLICK events, routed
like the typed keywords), 我的 opens the web desk through WeChat's 网页授权 (OAuth)."""

from __future__ import annotations

from typing import Any

from bot.settings import Settings
from bot.wechat import WechatClient, account_of
from handlers.i18n import Catalogs, Translator

# (label key, command) of each CLICK item; the desk is the last item.
CLICKS = (("wechat.menu.checkin", "checkin"), ("wechat.menu.activity", "activity"))
DESK_PATH = "/desk/wx?next=/desk"


def menu(t: Translator, public_url: str) -> dict[str, Any]:
    """The menu as WeChat's menu/create takes it."""
    buttons: list[dict[str, str]] = [{"type": "click", "name": t(label), "key": command}
                                     for label, command in CLICKS]
    buttons.append({"type": "view", "name": t("wechat.menu.desk"),
                    "url": public_url.rstrip("/") + DESK_PATH})
    return {"button": buttons}


def publish(settings: Settings) -> str:
    """Publish the menu on the configured Official Account; returns what was done."""
    account = account_of(settings)
    assert settings.wechat_app_secret is not None
    client = WechatClient(account.app_id, settings.wechat_app_secret.get_secret_value(),
                          settings.wechat_api_base_url)
    shown = menu(Catalogs().get(None), settings.rules().public_url)
    client.menu.create(shown)
    return "menu published: " + " · ".join(b["name"] for b in shown["button"])
