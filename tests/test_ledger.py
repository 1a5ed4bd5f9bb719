"""导出台账: a month of the branch's life replayed in chat, exported, and read back cell by cell."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select

from bot import cli
from bot.console import ConsoleWorld, Shown
from bot.telegram import build_application, deliver
from handlers.core import Core
from handlers.messages import Document, Outgoing
from storage import people
from storage.models import PointsEntry
from tests.conftest import Clock
from tests.fake_telegram import FakeTelegram, TgUser, private_chat
from tests.story import GROUP, codes, publish, set_up_branch, texts, verified_member
from tests.telegram_fixtures import fake_tg, settings_for
from tests.test_help_requests import ask_in_group

__all__ = ["fake_tg"]  # the fixture, imported for the Telegram test

SHEETS = ["党员名册", "签到", "志愿活动", "活动参与", "承诺践诺评诺", "邻里求助", "问题反映",
          "通知", "积分"]


def _month_of_november(world: ConsoleWorld, clock: Clock) -> None:
    """November in 阳光小区: check-ins, an activity, a deed, a help request, a problem and a
    notice, each carried through to the end."""
    clock.set(2026, 11, 2, 9, 0)
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四", "5号楼1单元")
    for day, who in ((3, "张三"), (4, "张三"), (4, "李四"), (10, "张三")):
        clock.set(2026, 11, day, 8, 0)
        world.say(who, GROUP, "签到")

    clock.set(2026, 11, 5, 10, 0)
    publish(world, start="11-14 9:00", end="11:00", capacity=2, points=5)
    world.press("张三", GROUP, "报名")
    world.press("李四", GROUP, "报名")
    sign_in, sign_out = codes(world)
    clock.set(2026, 11, 14, 8, 55)
    world.scan("张三", sign_in)
    clock.set(2026, 11, 14, 10, 30)
    world.scan("张三", sign_out)
    clock.set(2026, 11, 14, 11, 31)
    world.run_timers()  # the activity closes: 李四 never came

    clock.set(2026, 11, 16, 9, 0)
    world.say("王书记", "private", "导入需求清单")
    world.send_file("王书记", "private", "items.csv", "名称,地点,人数\nA段绿化养护,东侧,1".encode())
    world.say("张三", GROUP, "认领 A段绿化养护 承诺：每周二浇水")
    clock.set(2026, 11, 17, 18, 0)
    world.say("张三", GROUP, "践诺 浇了水")
    world.press("王书记", "private", "5 分")
    world.press("王书记", "private", "不写评语")

    clock.set(2026, 11, 18, 9, 0)
    ask_in_group(world)
    world.press("李四", GROUP, "我来帮忙")
    world.press("李四", "private", "已完成")
    world.press("刘阿姨", "private", "4 星")

    clock.set(2026, 11, 19, 9, 0)
    world.say("刘阿姨", GROUP, "反映 5号楼门口的路灯坏了")
    world.press("王书记", "private", "已解决")
    world.say("王书记", "private", "已换新灯泡")

    clock.set(2026, 11, 20, 9, 0)
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "本周五主题党日")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "立即发送")
    world.press("王书记", "private", "确定")
    world.drain_outbox()
    world.press("张三", GROUP, "收到")


def _workbook(shown: Shown) -> Workbook:
    assert shown.document is not None
    return load_workbook(io.BytesIO(shown.document.data))


def _rows(sheet: Worksheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _points_in_log(world: ConsoleWorld, name: str) -> int:
    with world.core.db.session() as session:
        account = people.find_account(session, "console", world.user(name).external_id)
        assert account is not None
        return session.scalar(select(func.sum(PointsEntry.points))
                              .where(PointsEntry.person_id == account.person_id)) or 0


def test_a_month_exported_from_the_group_arrives_privately(world: ConsoleWorld,
                                                          clock: Clock) -> None:
    _month_of_november(world, clock)
    clock.set(2026, 12, 1, 9, 0)
    shown = world.say("王书记", GROUP, "导出台账")
    assert texts(shown) == ["台账：阳光小区党支部，2026-11-01 至 2026-11-30。"]
    (sent,) = shown
    assert sent.chat_id == world.private_id("王书记"), "the group sees nothing"
    assert sent.document is not None
    assert sent.document.file_name == "台账_阳光小区党支部_2026-11.xlsx"
    assert f"[file] 台账_阳光小区党支部_2026-11.xlsx ({len(sent.document.data)} bytes)" in (
        sent.render())

    book = _workbook(sent)
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.bold

    roster = _rows(book["党员名册"])
    assert roster[0] == ["姓名", "楼栋", "类别", "在册", "技能", "状态", "提交时间", "核实时间"]
    assert [r[:3] + r[5:6] for r in roster[1:]] == [["张三", "3号楼2单元", "离退休", "已核实"],
                                                     ["李四", "5号楼1单元", "离退休", "已核实"]]

    checkins = _rows(book["签到"])
    assert checkins == [["姓名", "楼栋", "签到次数", "签到日期"],
                        ["张三", "3号楼2单元", 3, "11-03 11-04 11-10"],
                        ["李四", "5号楼1单元", 1, "11-04"]]

    (activity,) = _rows(book["志愿活动"])[1:]
    assert activity[0] == "清扫楼道"
    assert f"{activity[1]:%m-%d %H:%M}" == "11-14 09:00"
    # places, points, signed up, waitlist, came, walk-ins, no-shows, hours
    assert activity[4:12] == [2, 5, 2, 0, 1, 0, 1, 1.58]
    attendance = {r[2]: r for r in _rows(book["活动参与"])[1:]}
    assert attendance["张三"][4:] == ["已报名", None, attendance["张三"][6],
                                    attendance["张三"][7], 1.58, None]
    assert f"{attendance['张三'][6]:%H:%M}–{attendance['张三'][7]:%H:%M}" == "08:55–10:30"
    assert attendance["李四"][8:] == [0, "缺席"]

    (claim,) = _rows(book["承诺践诺评诺"])[1:]
    assert [claim[0], claim[1], claim[2], claim[5], claim[6], claim[9]] == [
        "A段绿化养护", "张三", "每周二浇水", "浇了水", 5, "已评诺"]

    help_sheet = _rows(book["邻里求助"])
    assert help_sheet[0][:8] == ["编号", "求助时间", "类别", "楼栋", "内容", "求助人", "状态",
                                 "接单人"]
    (request,) = help_sheet[1:]
    assert [request[0], request[2], request[3], request[4], request[5], request[6], request[7],
            request[10]] == [1, "代买", "3号楼", "帮我买点菜和药", "刘阿姨", "已完成", "李四", 4]
    cells = " ".join(str(c) for row in help_sheet for c in row)
    assert "13812345678" not in cells  # no contact details
    assert "502" not in cells

    (problem,) = _rows(book["问题反映"])[1:]
    assert [problem[0], problem[2], problem[3], problem[4], problem[6]] == [
        1, "刘阿姨", "5号楼门口的路灯坏了", "已解决", "已换新灯泡"]

    notices = book["通知"]
    (notice,) = _rows(notices)[1:]
    assert [notice[0], notice[2], notice[3], notice[4]] == [1, "本周五主题党日", "本支部所有群",
                                                            "立即发送"]
    assert notice[5:] == [1, 1, 1, 2, 0.5]  # 1 of 1 group reached; 1 of 2 members acknowledged
    assert notices.cell(row=2, column=10).number_format == "0.0%"

    points = _rows(book["积分"])
    assert points[0][:3] == ["姓名", "楼栋", "本期积分"]
    assert points[0][-1] == "累计积分"
    by_name = {r[0]: dict(zip(points[0], r, strict=True)) for r in points[1:]}
    for name in ("张三", "李四"):
        assert by_name[name]["本期积分"] == by_name[name]["累计积分"] == _points_in_log(world, name)
    assert by_name["张三"]["践诺"] == 10
    assert by_name["李四"]["邻里求助"] == 9
    assert by_name["张三"]["参加志愿活动"] == 5


def test_widths_fit_the_longest_value(world: ConsoleWorld, clock: Clock) -> None:
    _month_of_november(world, clock)
    sent = world.say("王书记", "private", "导出台账 2026-11")[0]
    sheet = _workbook(sent)["问题反映"]
    # "5号楼门口的路灯坏了": one narrow digit and nine wide characters, plus a margin of two.
    assert sheet.column_dimensions["D"].width == 1 + 9 * 2 + 2
    assert sheet.column_dimensions["A"].width == len("编号") * 2 + 2


def test_a_date_range_and_an_english_workbook(world: ConsoleWorld, clock: Clock) -> None:
    _month_of_november(world, clock)
    world.say("王书记", "private", "/lang en")
    sent = world.say("王书记", "private", "/export 2026-11-04 2026-11-10")[0]
    assert sent.text == "Ledger of 阳光小区党支部, 2026-11-04 to 2026-11-10."
    assert sent.document is not None
    assert sent.document.file_name == "ledger_阳光小区党支部_2026-11-04_2026-11-10.xlsx"
    book = _workbook(sent)
    assert book.sheetnames[:3] == ["Roster", "Check-ins", "Activities"]
    assert _rows(book["Check-ins"]) == [["Name", "Building", "Check-ins", "Days"],
                                        ["张三", "3号楼2单元", 2, "11-04 11-10"],
                                        ["李四", "5号楼1单元", 1, "11-04"]]
    assert _rows(book["Activities"])[1:] == []  # the activity was on the 14th
    assert _rows(book["Roster"])[1][5] == "verified"


@pytest.mark.parametrize(("words", "answer"), [
    ("导出台账 2026-13", "看不懂日期「2026-13」。"),
    ("导出台账 2026-02-30", "看不懂日期「2026-02-30」。"),
    ("导出台账 2026-11-30 2026-11-01", "开始日期 2026-11-30 晚于结束日期 2026-11-01。"),
    ("导出台账 2025-01-01 2026-11-30", "一次最多导出 366 天，请分段导出。"),
    ("导出台账 2026-11 2026-12 2027-01", "看不懂日期「2026-11 2026-12 2027-01」。"),
    ("导出台账 2026-11 东方小区党支部", "没有叫「东方小区党支部」的支部。"),
])
def test_bad_dates_and_names_are_explained(world: ConsoleWorld, words: str, answer: str) -> None:
    set_up_branch(world)
    (reply,) = world.say("王书记", "private", words)
    assert reply.text.startswith(answer)
    assert reply.document is None


def _refused(shown: list[Shown]) -> bool:
    """One answer, the role refusal, and no file."""
    return [(s.text, s.document) for s in shown] == [("这个操作需要书记权限。", None)]


def test_who_may_export(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("管理员", "private", "/branch new 东方小区党支部")
    world.say("管理员", "东方群", "/bind 东方小区党支部")
    world.say("赵书记", "东方群", "你好")
    world.say("管理员", "东方群", "/grant secretary", reply_to="赵书记")

    # A member and a resident cannot export at all, in the group or privately.
    for who, where in (("张三", GROUP), ("张三", "private"), ("刘阿姨", GROUP),
                       ("刘阿姨", "private")):
        assert _refused(world.say(who, where, "导出台账")), (who, where)
    # Another branch's secretary: not in this branch's group, nor by naming it.
    assert _refused(world.say("赵书记", GROUP, "导出台账"))
    assert _refused(world.say("赵书记", "private", "导出台账 2026-10 阳光小区党支部"))
    # Her own branch is fine; so is any branch for the community admin, named privately.
    assert world.say("赵书记", "private", "导出台账")[0].document is not None
    sent = world.say("管理员", "private", "台账 2026-10 阳光小区党支部")[0]
    assert sent.text == "台账：阳光小区党支部，2026-10-01 至 2026-10-31。"
    # With several branches and none named, the admin is asked which.
    assert world.say("管理员", "private", "导出台账")[0].text.startswith("请写明导出哪个支部")


def test_command_line_writes_the_workbook_and_csv_files(world: ConsoleWorld, clock: Clock,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    _month_of_november(world, clock)
    monkeypatch.setattr(cli, "open_database", lambda _settings: world.core.db)
    xlsx, folder = tmp_path / "ledger.xlsx", tmp_path / "csv"
    assert cli.main(["export", "--branch", "阳光小区党支部", "--from", "2026-11-01",
                     "--to", "2026-11-30", "-o", str(xlsx), "--csv", str(folder)]) == 0
    assert str(xlsx) in capsys.readouterr().out
    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == SHEETS
    assert len(list(book["签到"].iter_rows(values_only=True))) == 1 + 2

    files = sorted(p.name for p in folder.iterdir())
    assert files == ["01-roster.csv", "02-checkins.csv", "03-activities.csv",
                     "04-attendance.csv", "05-claims.csv", "06-help.csv", "07-problems.csv",
                     "08-notices.csv", "09-points.csv"]
    raw = (folder / "02-checkins.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["姓名", "楼栋", "签到次数", "签到日期"],
                    ["张三", "3号楼2单元", "3", "11-03 11-04 11-10"],
                    ["李四", "5号楼1单元", "1", "11-04"]]
    notices = list(csv.reader(io.StringIO((folder / "08-notices.csv").read_text("utf-8-sig"))))
    assert notices[1][-1] == "50.0%"

    with pytest.raises(SystemExit, match="no branch called"):
        cli.main(["export", "--branch", "东方", "-o", str(xlsx)])
    with pytest.raises(SystemExit, match="看不懂日期「2026-11-31」"):
        cli.main(["export", "--branch", "阳光小区党支部", "--from", "2026-11-31",
                  "-o", str(xlsx)])


def test_a_range_written_the_chinese_way_and_a_whole_month(world: ConsoleWorld) -> None:
    set_up_branch(world)
    sent = world.say("王书记", "private", "导出台账 2026-11-04至2026-11-10")[0]
    assert sent.text == "台账：阳光小区党支部，2026-11-04 至 2026-11-10。"
    sent = world.say("王书记", "private", "导出台账 2026/2")[0]
    assert sent.text == "台账：阳光小区党支部，2026-02-01 至 2026-02-28。"


async def test_telegram_uploads_the_workbook_as_a_document(fake_tg: FakeTelegram,
                                                           core: Core) -> None:
    secretary = TgUser(5203391870, "王秀英", username="wang_xiuying", language_code="zh-hans")
    fake_tg.send_text(secretary, private_chat(secretary), "hello")  # the fake knows the chat
    workbook = b"PK\x03\x04 not really a workbook"
    app = build_application(settings_for(fake_tg), core)
    async with app:
        await deliver(app, [Outgoing("telegram", str(secretary.id), "台账：阳光小区党支部",
                                     document=Document("台账_阳光小区党支部_2026-11.xlsx",
                                                       workbook))])
    (call,) = fake_tg.calls_to("sendDocument", failed_too=True)
    assert call.params["document"] == workbook  # uploaded as a file, not as text
    assert call.params["caption"] == "台账：阳光小区党支部"
    assert int(call.params["chat_id"]) == secretary.id
