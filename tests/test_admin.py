"""Setting up in chat: communities, branches, binding groups, giving and taking roles."""

from __future__ import annotations

import subprocess
import sys

from bot.cli import grant
from bot.console import ConsoleWorld
from tests.story import BRANCH, GROUP, set_up_branch, texts, verified_member


def test_admin_sets_up_a_compound_in_chat(world: ConsoleWorld) -> None:
    grant(world.core.db, f"console:{world.user('管理员').external_id}", "community_admin")
    created = texts(world.say("管理员", "private", "/community new 鹭江社区"))
    assert created == ["已新建社区「鹭江社区」。"]
    assert "已在「鹭江社区」新建党支部「阳光小区党支部」" in texts(
        world.say("管理员", "private", f"/branch new {BRANCH}"))[0]
    bound = texts(world.say("管理员", GROUP, "/bind"))[0]
    assert bound.startswith("本群已绑定到「阳光小区党支部」")
    world.say("王书记", GROUP, "大家好")
    shown = world.say("管理员", GROUP, "/grant secretary", reply_to="王书记")
    assert [s.text for s in shown] == ["已任命 王书记 为阳光小区党支部书记。",
                                       "你已被任命为「阳光小区党支部」书记。发送「帮助」查看新的命令。"]
    assert shown[1].chat_id == world.private_id("王书记")


def test_bind_picks_among_several_branches(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("管理员", "private", "/branch new 海景花园党支部")
    offer = world.say("管理员", "海景群", "/bind")[0]
    assert [b.label for b in offer.flat_buttons] == [BRANCH, "海景花园党支部"]
    world.press("管理员", "海景群", "海景花园党支部")
    assert offer.text == "本群已绑定到「海景花园党支部」。党员可以在这里「亮身份」和「签到」了。"
    # A name typed loosely is matched when one branch clearly fits.
    assert "海景花园党支部" in texts(world.say("管理员", "新群", "/bind 海景"))[0]
    assert "没有找到" in texts(world.say("管理员", "新群2", "/bind 山顶"))[0]


def test_secretary_names_a_building_leader_only_among_verified_members(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("路人", GROUP, "大家好")
    assert "不是本支部已核实的党员" in texts(
        world.say("王书记", GROUP, "/grant building_leader", reply_to="路人"))[0]
    verified_member(world, "张三")
    username = world.user("张三").username
    assert "楼栋长" in texts(world.say("王书记", GROUP, f"/grant building_leader @{username}"))[0]
    again = texts(world.say("王书记", GROUP, f"/grant building_leader @{username}"))
    assert "已经是楼栋长" in again[0]
    assert "撤销" in texts(world.say("王书记", GROUP, f"/revoke building_leader @{username}"))[0]
    assert "（3号楼2单元）" in texts(world.say("张三", GROUP, "签到"))[0]


def test_a_secretary_cannot_name_secretaries_or_reach_another_branch(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("张三", GROUP, "你好")
    assert texts(world.say("王书记", GROUP, "/grant secretary", reply_to="张三")) == [
        "这个操作需要社区管理员权限。"]
    world.say("管理员", "private", "/branch new 海景花园党支部")
    world.say("管理员", "海景群", "/bind 海景花园党支部")
    assert texts(world.say("王书记", "海景群", "名册")) == ["这个操作需要书记权限。"]


def test_grant_from_the_command_line(tmp_path: object) -> None:
    env = {"JINLIN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "grant", "telegram:123456789", "community_admin"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "telegram:123456789 is now community_admin of all communities" in result.stdout
    again = subprocess.run(
        [sys.executable, "-m", "bot", "grant", "telegram:123456789", "community_admin"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=60)
    assert "already was" in again.stdout
    upgrade = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True,
                             text=True, env=env, cwd=tmp_path, check=False, timeout=60)
    assert upgrade.returncode == 0
    assert "up to date" in upgrade.stdout
