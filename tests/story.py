"""Shared openings for conversation tests: the organisation set up the way people do it."""

from __future__ import annotations

from bot.cli import grant
from bot.console import ConsoleWorld

GROUP = "阳光小区群"
BRANCH = "阳光小区党支部"


def texts(shown: list) -> list[str]:
    """Just the texts of the messages the bot showed."""
    return [s.text for s in shown]


def set_up_branch(world: ConsoleWorld) -> None:
    """The deployer grants an admin; the admin creates a branch, binds the group and names
    王书记 its secretary by replying to her message."""
    grant(world.core.db, f"console:{world.user('管理员').external_id}", "community_admin")
    world.say("王书记", GROUP, "大家好，我是王书记")
    world.say("管理员", "private", "/community new 鹭江社区")
    world.say("管理员", "private", f"/branch new {BRANCH}")
    world.say("管理员", GROUP, "/bind")
    world.say("管理员", GROUP, "/grant secretary", reply_to="王书记")


def register(world: ConsoleWorld, name: str, building: str = "3号楼2单元",
             kind: str = "离退休", registered: str = "在册") -> None:
    """`name` shows their identity from the group and fills in the form that opens privately."""
    world.say(name, GROUP, "亮身份")
    fill_form(world, name, building, kind, registered)


def fill_form(world: ConsoleWorld, name: str, building: str, kind: str = "离退休",
              registered: str = "在册", skills: str | None = None) -> None:
    """Answer the 亮身份 form in the private chat (no skills means tapping 暂无) and submit."""
    world.say(name, "private", name)
    world.say(name, "private", building)
    world.press(name, "private", kind)
    world.press(name, "private", registered)
    if skills is None:
        world.press(name, "private", "暂无")
    else:
        world.say(name, "private", skills)
    world.press(name, "private", "提交")


def verified_member(world: ConsoleWorld, name: str, building: str = "3号楼2单元") -> None:
    """`name` registers and 王书记 verifies them with the button."""
    register(world, name, building)
    world.press("王书记", "private", "核实")


def publish(world: ConsoleWorld, title: str = "清扫楼道", start: str = "11-28 9:00",
            end: str = "11:00", place: str = "3号楼大堂", capacity: int = 2,
            points: int = 5) -> list:
    """王书记 publishes an activity through the private form; returns what the bot showed."""
    world.say("王书记", GROUP, "活动 new")
    for answer in (title, start, end, place, str(capacity), str(points)):
        world.say("王书记", "private", answer)
    world.press("王书记", "private", "无")
    return world.press("王书记", "private", "发布")


def notice(world: ConsoleWorld, text: str) -> None:
    """王书记 sends `text` to every group of the branch, now."""
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", text)
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "立即发送")
    world.press("王书记", "private", "确定")


def card(world: ConsoleWorld, title: str = "清扫楼道") -> object:
    """The activity's card as the group sees it now."""
    cards = [s for s in world.seen(GROUP) if "【志愿活动" in s.text and title in s.text]
    assert len(cards) == 1, "one card per activity, edited in place"
    return cards[0]


def codes(world: ConsoleWorld, title: str = "清扫楼道") -> tuple[str, str]:
    """王书记 asks for the sign-in and sign-out codes; returns their payloads."""
    shown = world.say("王书记", "private", f"签到码 {title}")
    payloads = [s.qr_payload for s in shown if s.qr_payload]
    assert len(payloads) == 2
    return payloads[0], payloads[1]
