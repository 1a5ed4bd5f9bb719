"""The console as a person meets it: the demo community, the REPL, and `python -m bot`."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import httpx
import openpyxl
import pytest

from bot import demo, repl
from bot.console import ConsoleWorld, Shown
from handlers.core import Core
from handlers.i18n import LOCALES_DIR
from storage import orgs, people
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent


def names_of(core: Core, person_ids: list[int]) -> list[str]:
    with core.db.session() as session:
        return [a.display_name for pid in person_ids for a in people.accounts_of(session, pid)]


def organisation(core: Core) -> dict[str, dict[str, object]]:
    """Per branch: its bound group titles, its secretaries, its members and their status."""
    found: dict[str, dict[str, object]] = {}
    with core.db.session() as session:
        for branch in orgs.branches(session):
            found[branch.name] = {
                "groups": [c.title for c in orgs.chats_of_branch(session, branch.id)],
                "secretaries": people.holders(session, "secretary", branch_id=branch.id),
                "leaders": people.holders(session, "building_leader", branch_id=branch.id),
                "members": {p.name: (p.building, p.status)
                            for p in people.roster(session, branch.id)},
            }
        found["_communities"] = {"names": [c.name for c in orgs.communities(session)]}
    return found


def run_repl(world: ConsoleWorld, *lines: str) -> str:
    """Drive the REPL in-process with piped lines; returns the transcript."""
    out = io.StringIO()
    assert repl.run(world.core, world, stdin=io.StringIO("\n".join(lines) + "\n"),
                    stdout=out) == 0
    return out.getvalue()


@pytest.fixture
def demo_world(core: Core, capsys: pytest.CaptureFixture[str]) -> ConsoleWorld:
    world = demo.seed(core)
    assert "王书记" in capsys.readouterr().out
    return world


def test_demo_seeds_the_organisation_through_the_conversation(core: Core,
                                                              demo_world: ConsoleWorld) -> None:
    org = organisation(core)
    assert org.pop("_communities") == {"names": ["鹭江社区"]}
    sunshine, seaview = org["阳光小区党支部"], org["海景花园党支部"]
    assert set(org) == {"阳光小区党支部", "海景花园党支部"}
    assert sunshine["groups"] == ["阳光小区群"]
    assert seaview["groups"] == ["海景花园群"]
    assert names_of(core, sunshine["secretaries"]) == ["王书记"]  # type: ignore[arg-type]
    assert names_of(core, seaview["secretaries"]) == ["陈书记"]  # type: ignore[arg-type]
    assert names_of(core, sunshine["leaders"]) == ["张三"]  # type: ignore[arg-type]
    assert sunshine["members"] == {"李四": ("5号楼1单元", "verified"),
                                   "张三": ("3号楼2单元", "verified")}
    assert seaview["members"] == {"孙丽": ("8号楼3单元", "verified")}
    assert demo_world.chats == {}, "the seeding chatter is cleared"


def test_demo_members_check_in_and_the_resident_is_told_to_register(
        demo_world: ConsoleWorld) -> None:
    [li] = demo_world.say("李四", "阳光小区群", "签到")
    assert li.text == "党员 李四（5号楼1单元）签到，本月第 1 次"
    [zhang] = demo_world.say("张三", "阳光小区群", "签到")
    assert zhang.text == "党员 张三（3号楼2单元·楼栋长）签到，本月第 1 次"
    [sun] = demo_world.say("孙丽", "海景花园群", "签到")
    assert sun.text == "党员 孙丽（8号楼3单元）签到，本月第 1 次"
    [resident] = demo_world.say("赵六", "阳光小区群", "签到")
    assert "亮身份" in resident.text


def test_demo_runs_twice_without_seeding_twice(core: Core, demo_world: ConsoleWorld,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = organisation(core)
    again = demo.seed(core)
    assert "已在数据库里" in capsys.readouterr().out
    assert organisation(core) == before
    assert {n: s.external_id for n, s in again.users.items()} == {
        n: s.external_id for n, s in demo_world.users.items()}
    [li] = again.say("李四", "阳光小区群", "签到")
    assert "本月第 1 次" in li.text


def test_repl_presses_buttons_by_number_and_shows_where_answers_go(
        demo_world: ConsoleWorld) -> None:
    transcript = run_repl(demo_world, ":as 赵六", ":in 阳光小区群", "亮身份", ":dm", "3",
                          "赵六", ":as 王书记", ":dm", "名册")
    # The form opens in the private chat, not in the group.
    assert ("赵六 @ 阳光小区群 > 亮身份\n  [私聊 → 赵六]\n"
            "  向「阳光小区党支部」亮身份。") in transcript
    assert "最新的消息没有第 3 个按钮。" in transcript
    assert "赵六 @ 私聊 > 赵六\n  [私聊 → 赵六]\n  第 2 步" in transcript
    assert ("王书记 @ 私聊 > 名册\n  [私聊 → 王书记]\n"
            "  「阳光小区党支部」党员名册（2 人）") in transcript


def test_repl_reply_grants_a_role_and_meta_commands_explain_themselves(
        demo_world: ConsoleWorld) -> None:
    transcript = run_repl(demo_world, ":as 王书记", ":reply 李四 /grant building_leader",
                          ":reply 无名氏 hi", ":reply", ":lang Tom en", ":as Tom", ":dm",
                          "/checkin", ":nope", ":users", ":groups")
    assert "  [私聊 → 王书记]\n  已任命 李四 为阳光小区党支部楼栋长" in transcript
    assert "  [私聊 → 李四]\n  你已被任命为「阳光小区党支部」楼栋长" in transcript
    assert "还没有用户 无名氏" in transcript
    assert "用法：:reply <名字> <文字>" in transcript
    assert "Tom 的客户端语言设为 en。" in transcript
    assert "Tom @ 私聊 > /checkin\n  [私聊 → Tom]\n" in transcript
    assert "没有控制台命令 :nope" in transcript
    assert "  * Tom (u8)" in transcript
    assert "    阳光小区群\n    海景花园群" in transcript


def test_repl_survives_a_failing_line_and_quits_cleanly(
        core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    world = ConsoleWorld(core)
    say = world.say

    def flaky(name: str, where: str, text: str, **kw: str | None) -> list[Shown]:
        if text == "boom":
            raise RuntimeError("the core fell over")
        return say(name, where, text, **kw)

    monkeypatch.setattr(world, "say", flaky)
    transcript = run_repl(world, "boom", "帮助", ":quit", "never read")
    assert "张三 @ 私聊 > boom\n出错了：RuntimeError: the core fell over\n" in transcript
    assert "张三 @ 私聊 > 帮助\n  [私聊 → 张三]\n  你的身份：居民" in transcript
    assert "never read" not in transcript


def test_the_secretary_imports_a_needs_list_from_her_computer_and_keeps_the_ledger(
        demo_world: ConsoleWorld, tmp_path: Path) -> None:
    """:file sends a file from this computer; a file the bot sends lands in the data folder."""
    sheet = tmp_path / "需求 清单.csv"
    sheet.write_text("名称,地点,人数\n楼道扶手擦洗,5号楼,2\n", encoding="utf-8")
    files = tmp_path / "data" / "files"
    out = io.StringIO()
    script = [":as 王书记", ":dm", "导入需求清单", f":file '{sheet}'", "需求清单", "导出台账",
              "导出台账", ":file /no/such/清单.csv", ":file"]
    repl.run(demo_world.core, demo_world, stdin=io.StringIO("\n".join(script) + "\n"),
             stdout=out, files=files)
    transcript = out.getvalue()
    assert "楼道扶手擦洗" in transcript.split("> 需求清单")[1], transcript
    saved = re.findall(r"文件已保存到 (\S+)", transcript)
    assert len(saved) == 2, transcript
    first, second = (Path(p) for p in saved)
    assert first != second, "a second export does not overwrite the first"
    assert first.parent == files.resolve()
    assert first.name.startswith("台账_阳光小区党支部_")
    assert openpyxl.load_workbook(first).sheetnames, "the saved ledger opens in a spreadsheet"
    assert stat.S_IMODE(first.stat().st_mode) == 0o600, "the ledger names people: private"
    assert "读不了文件 /no/such/清单.csv" in transcript
    assert "用法：:file <路径> [说明]" in transcript


def test_console_chrome_has_the_same_keys_in_every_language() -> None:
    with (LOCALES_DIR / "console.toml").open("rb") as fh:
        catalog = tomllib.load(fh)
    assert set(catalog) == {"zh_CN", "en"}
    assert set(catalog["zh_CN"]) == set(catalog["en"])


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh checkout: no token, data in tmp, Chinese chrome."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "LANG", "LC_ALL"}}
    env.update(JINLIN_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT),
               PYTHONIOENCODING="utf-8", LANG="C.UTF-8", JINLIN_LOG_LEVEL="WARNING")
    port = free_port()  # the console serves its pages; never on a port someone else uses
    env.update(JINLIN_WEB_PORT=str(port), JINLIN_PUBLIC_URL=f"http://127.0.0.1:{port}")
    return env


def run_bot(tmp_path: Path, *args: str, script: str,
            lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in a tmp cwd (so no .env is read), fed `script` on stdin."""
    command = [sys.executable, "-m", "bot", *args]
    env = subprocess_env(tmp_path) | {"LANG": lang}
    return subprocess.run(command, input=script, capture_output=True, cwd=tmp_path,  # noqa: S603
                          env=env, timeout=60, check=False, encoding="utf-8")


def test_python_m_bot_demo_as_a_person_sees_it(tmp_path: Path) -> None:
    script = "\n".join([":as 李四", ":in 阳光小区群", "签到", "签到", ":as 赵六", "签到",
                        ":quit"]) + "\n"
    done = run_bot(tmp_path, "demo", script=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "示例社区「鹭江社区」已就绪" in out
    first = "李四 @ 阳光小区群 > 签到\n  [阳光小区群]\n  党员 李四（5号楼1单元）签到，本月第 1 次\n"
    assert first in out
    # The group saw the first; the second is only 李四's business.
    again = r"李四 @ 阳光小区群 > 签到\n  \[私聊 → 李四\]\n  你今天已于 \d\d:\d\d 签到过了"
    assert re.search(first.replace("[", r"\[").replace("]", r"\]") + again, out)
    assert "赵六 @ 阳光小区群 > 签到\n  [私聊 → 赵六]\n  签到需要先亮身份" in out
    assert "发送「亮身份」开始" in out
    assert "Traceback" not in done.stderr


def test_the_start_up_line_speaks_english_when_lang_is_english(tmp_path: Path) -> None:
    done = run_bot(tmp_path, script=":quit\n", lang="en_GB.UTF-8")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("No TELEGRAM_BOT_TOKEN is set: starting the local console "
                                  "instead. See README.md to connect Telegram.\n")
    assert "Jinlin · local console" in done.stdout


def test_python_m_bot_without_a_token_falls_back_to_the_console(tmp_path: Path) -> None:
    done = run_bot(tmp_path, script="帮助\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "没有设置 TELEGRAM_BOT_TOKEN，现在打开本地控制台。要连上 Telegram，请看 README.md。\n")
    assert "张三 @ 私聊 > 帮助\n  [私聊 → 张三]\n  你的身份：居民" in done.stdout


def test_the_secretary_opens_her_desk_link_while_the_console_runs(tmp_path: Path) -> None:
    """In the demo, 王书记 asks for 工作台; the link the console shows opens in a browser."""
    env = subprocess_env(tmp_path)
    bot = subprocess.Popen([sys.executable, "-m", "bot", "demo"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env,
                           encoding="utf-8")
    killer = threading.Timer(60, bot.kill)
    killer.start()
    try:
        assert bot.stdin is not None
        assert bot.stdout is not None
        bot.stdin.write(":as 王书记\n:dm\n工作台\n")
        bot.stdin.flush()
        link = next(found.group(0) for line in bot.stdout
                    if (found := re.search(r"http://127\.0\.0\.1:\d+/desk/login\S+", line)))
        page = httpx.get(link, follow_redirects=True, timeout=10)
        assert page.status_code == 200
        assert "你好，王书记" in page.text
        bot.stdin.write(":quit\n")
        bot.stdin.flush()
        assert bot.wait(timeout=30) == 0
    finally:
        killer.cancel()
        bot.kill()
        bot.communicate()
