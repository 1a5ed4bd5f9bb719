"""导出台账: the branch's ledger for a month or a date range, as an .xlsx workbook (or CSV).

`/export [2026-11 | 2026-11-01 2026-11-30] [branch]` — the secretary (or a community admin)
gets privately one sheet each of roster, check-ins, activities and who took part, claims,
help requests (never contact details), problem reports, notices with acknowledgement rates
and points; headers in the secretary's language, fitted widths, frozen header rows. Without
dates it is last month. Rows are streamed from the database into write-only sheets.
"""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from handlers import desk
from handlers.addressing import first_word
from handlers.context import Context
from handlers.errors import DomainError
from handlers.i18n import Translator, complain
from handlers.messages import Document, Outgoing
from handlers.roles import Role, home_branch, require, role_in
from handlers.router import Command, Feature
from storage import ledger, orgs
from storage.ledger import Period
from storage.models import Branch, SignupStatus

# "2026-11", "2026-11-01", also with "/" or "."; a range may be joined by 至, 到, ~ or "--".
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?$")
_RANGE_JOINERS = re.compile(r"\s*(?:至|到|~|～|--)\s*")
# A word meant as a date starts with a year; anything else is part of a branch name.
_DATE_WORD = re.compile(r"^\d{4}(?:\D|$)")
MAX_DAYS = 366
MAX_WIDTH = 50
# Keeps small sheets in memory while they are measured; larger ones spill to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
# Reasons shown first in the points sheet, in this order; any others follow alphabetically.
REASON_ORDER = ("checkin", "activity", "hours", "no_show", "claim", "help", "problem", "adjust")


class Percent(float):
    """A share shown as a percentage."""


@dataclass
class Sheet:
    """One table of the ledger: a file-safe code, its title, headers and display rows."""

    code: str
    title: str
    headers: list[str]
    rows: Iterable[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    """How stored values are shown: the reader's language and the branch's time zone."""

    t: Translator
    timezone: ZoneInfo

    def when(self, moment: dt.datetime | None) -> dt.datetime | None:
        """Local wall-clock time without a zone (spreadsheets have none)."""
        return moment.astimezone(self.timezone).replace(tzinfo=None) if moment else None

    def label(self, prefix: str, code: str | None) -> str:
        """The words for a stored code (the code itself, logged, when it has none)."""
        if code is None or code == "":
            return ""
        key = f"{prefix}{code}"
        if self.t.has(key):
            return self.t(key)
        complain(self.t.strict, f"ledger: no words for the code {key!r}")
        return code

    def yes(self, flag: bool) -> str:
        return self.t("ledger.yes") if flag else ""

    def headers(self, code: str) -> list[str]:
        return self.t(f"ledger.head.{code}").split("|")

    def sheet(self, code: str, rows: Iterable[list[Any]]) -> Sheet:
        return Sheet(code, self.t(f"ledger.sheet.{code}"), self.headers(code), rows)


# ---------------------------------------------------------------- the command


def export(ctx: Context, args: str) -> None:
    """`/export [period] [branch]`: the workbook, sent privately; where the platform carries
    no files, a link to download it (made when it is opened, for a secretary of the branch)."""
    words, branch_name = _split(args)
    branch = _branch(ctx, branch_name)
    require(ctx, Role.SECRETARY, branch)
    period = parse_period(words, ctx.today, ctx.rules.timezone)
    first, last = period.first.isoformat(), period.last.isoformat()
    if ctx.incoming.platform in desk.NO_FILES:
        url = desk.file_url(ctx, f"ledger:{branch.id}:{first}:{last}")
        ctx.reply_private("ledger.link", branch=branch.name, first=first, last=last, url=url,
                          minutes=desk.FILE_MINUTES)
        return
    caption = ctx.t("ledger.sent", branch=branch.name, first=first, last=last)
    ctx.outbox.append(Outgoing(ctx.incoming.platform, ctx.account.external_id, caption,
                               document=ledger_file(ctx, branch, period)))


def ledger_file(ctx: Context, branch: Branch, period: Period) -> Document:
    """The workbook of `branch` over `period`, for a secretary of it (as the chat checks)."""
    require(ctx, Role.SECRETARY, branch)
    view = View(ctx.t, ctx.rules.timezone)
    data = workbook_bytes(sheets(ctx.session, branch, period, view))
    return Document(ctx.t("ledger.file_name", branch=branch.name,
                          period=_period_words(period)), data)


def download(ctx: Context, what: str) -> Document:
    """The file a download link names (`ledger:<branch>:<first day>:<last day>`), made now:
    the person must still be a secretary of the branch."""
    try:
        kind, branch_id, first, last = what.split(":")
        branch = orgs.branch(ctx.session, int(branch_id))
        days = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        raise DomainError("desk_file_forged") from None
    if kind != "ledger" or branch is None:
        raise DomainError("desk_file_forged")
    return ledger_file(ctx, branch, period_of(*days, ctx.rules.timezone))


def month_file(ctx: Context, branch: Branch, year: int, month: int) -> Document:
    """The ledger of one calendar month (the desk's month page)."""
    first = dt.date(year, month, 1)
    return ledger_file(ctx, branch, period_of(first, _span(f"{first:%Y-%m}")[1],
                                              ctx.rules.timezone))


def _split(args: str) -> tuple[list[str], str]:
    """The date words and, after them, a branch name (for those over several branches)."""
    words = _RANGE_JOINERS.sub(" ", args).split()
    dates = [w for w in words if _DATE_WORD.match(w)]
    name = " ".join(w for w in words if not _DATE_WORD.match(w))
    return dates, name


def _branch(ctx: Context, name: str) -> Branch:
    branch = orgs.branch_by_name(ctx.session, name) if name else home_branch(ctx)
    if branch is not None:
        return branch
    if role_in(ctx, ctx.person.id, None) < Role.SECRETARY:
        raise DomainError("role_required", role=Role.SECRETARY.code)
    if name:
        raise DomainError("ledger_no_such_branch", branch=name[:50])
    raise DomainError("ledger_which_branch")


def parse_period(words: list[str], today: dt.date, timezone: ZoneInfo) -> Period:
    """A month ("2026-11"), one day, or two dates; nothing means last month."""
    if not words:
        this_month = today.replace(day=1)
        first = (this_month - dt.timedelta(days=1)).replace(day=1)
        return period_of(first, this_month - dt.timedelta(days=1), timezone)
    if len(words) > 2:
        raise DomainError("ledger_bad_dates", given=" ".join(words)[:50])
    spans = [_span(word) for word in words]
    first, last = spans[0][0], spans[-1][1]
    if last < first:
        raise DomainError("ledger_backwards", first=first.isoformat(), last=last.isoformat())
    if (last - first).days >= MAX_DAYS:
        raise DomainError("ledger_too_long", days=MAX_DAYS)
    return period_of(first, last, timezone)


def _span(word: str) -> tuple[dt.date, dt.date]:
    """The first and last day a date word names."""
    found = _DATE.match(word)
    try:
        if found is None:
            raise ValueError(word)
        year, month, day = int(found[1]), int(found[2]), found[3]
        if day is not None:
            one = dt.date(year, month, int(day))
            return one, one
        first = dt.date(year, month, 1)
    except ValueError:
        raise DomainError("ledger_bad_dates", given=word[:30]) from None
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def period_of(first: dt.date, last: dt.date, timezone: ZoneInfo) -> Period:
    """Local days first..last as UTC instants from first's midnight to the day after last."""
    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), timezone).astimezone(dt.UTC)

    return Period(first, last, midnight(first), midnight(last + dt.timedelta(days=1)))


def _period_words(period: Period) -> str:
    first, last = period.first, period.last
    whole_month = first.day == 1 and (last + dt.timedelta(days=1)).day == 1 and (
        first.year, first.month) == (last.year, last.month)
    return f"{first:%Y-%m}" if whole_month else f"{first.isoformat()}_{last.isoformat()}"


# ---------------------------------------------------------------- the sheets


def sheets(session: Session, branch: Branch, period: Period, view: View) -> list[Sheet]:
    """Every sheet of the ledger, in order; rows are read when the sheet is written."""
    builders: list[Callable[[Session, int, Period, View], Sheet]] = [
        _roster, _checkins, _activities, _attendance, _claims, _help, _problems, _notices,
        _points]
    return [build(session, branch.id, period, view) for build in builders]


def _roster(session: Session, branch_id: int, _period: Period, view: View) -> Sheet:
    return view.sheet("roster", (
        [name, building, view.label("kind.", kind), view.t(f"registered.{'yes' if here else 'no'}"),
         skills, view.label("status.", status), view.when(submitted), view.when(decided)]
        for name, building, kind, here, skills, status, submitted, decided
        in ledger.roster(session, branch_id)))


def _checkins(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    return view.sheet("checkins", (
        [r.name, r.building, len(r.days), " ".join(f"{day:%m-%d}" for day in r.days)]
        for r in ledger.checkins(session, branch_id, period)))


def _activities(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    def rows() -> Iterator[list[Any]]:
        for record in ledger.activities(session, branch_id, period):
            item = record.activity
            yield [item.title, view.when(item.starts_at), view.when(item.ends_at), item.place,
                   item.capacity, item.points, record.count(SignupStatus.CONFIRMED),
                   record.count(SignupStatus.WAITLISTED), record.attended, record.walk_ins,
                   record.no_shows, round(record.hours, 2),
                   view.t("ledger.cancelled") if item.cancelled_at else ""]
    return view.sheet("activities", rows())


def _attendance(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    def rows() -> Iterator[list[Any]]:
        for record in ledger.activities(session, branch_id, period):
            for p in record.participants:
                yield [record.activity.title, view.when(record.activity.starts_at), p.name,
                       p.building, view.label("ledger.signup.", p.signup_status),
                       view.yes(p.walk_in), view.when(p.signed_in_at),
                       view.when(p.signed_out_at), round(p.hours, 2),
                       view.label("ledger.no_show.", p.no_show)]
    return view.sheet("attendance", rows())


def _claims(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    return view.sheet("claims", (
        [item, name, pledge, view.when(claimed), view.when(done), note, rating, comment,
         view.when(rated), view.label("ledger.claim.", status)]
        for item, name, pledge, claimed, done, note, rating, comment, rated, status
        in ledger.claims(session, branch_id, period)))


def _help(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    return view.sheet("help", (
        [number, view.when(created), view.label("ask.category.", category), building, text,
         requester, view.label("ledger.help.", status), helper, view.when(taken),
         view.when(done), rating, escalation]
        for number, created, category, building, text, requester, status, helper, taken,
        done, rating, escalation in ledger.help_requests(session, branch_id, period)))


def _problems(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    return view.sheet("problems", (
        [number, view.when(created), reporter, text, view.label("problem.status.", status),
         assignee, note, view.when(resolved)]
        for number, created, reporter, text, status, assignee, note, resolved
        in ledger.problem_reports(session, branch_id, period)))


def _notices(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    return view.sheet("notices", (
        [n.notice_id, view.when(n.sent_at), n.text, view.label("notice.target.", n.target),
         view.label("notice.rule.", n.rule), n.groups_sent, n.groups, n.acked, n.members,
         Percent(n.acked / n.members) if n.members else None]
        for n in ledger.notices(session, branch_id, period)))


def _points(session: Session, branch_id: int, period: Period, view: View) -> Sheet:
    records = ledger.points(session, branch_id, period)
    reasons = sorted({r for record in records for r in record.by_reason},
                     key=lambda r: (REASON_ORDER.index(r) if r in REASON_ORDER
                                    else len(REASON_ORDER), r))
    name, building, in_period, total = view.headers("points")
    headers = [name, building, in_period,
               *[view.label("points.reason.", r) for r in reasons], total]
    rows = ([r.name, r.building, r.in_period, *[r.by_reason.get(x) for x in reasons],
             r.total] for r in records)
    return Sheet("points", view.t("ledger.sheet.points"), headers, rows)


# ---------------------------------------------------------------- writing


def workbook_bytes(tables: list[Sheet]) -> bytes:
    """The sheets as an .xlsx file."""
    with tempfile.TemporaryFile() as out:
        write_workbook(tables, out)
        out.seek(0)
        return out.read()


def write_workbook(tables: list[Sheet], target: IO[bytes] | Path) -> None:
    """Write-only workbook: each sheet's rows are measured in a spool, then streamed out."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.title))
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as buffer:
            spool = _Spool(buffer)
            widths = [_width(h) for h in table.headers]
            for row in table.rows:
                spool.add(row)
                widths = [max(w, _width(v)) for w, v in zip(widths, row, strict=False)]
            for column, width in enumerate(widths, start=1):
                sheet.column_dimensions[get_column_letter(column)].width = min(
                    width, MAX_WIDTH) + 2
            sheet.freeze_panes = "A2"
            sheet.append([_header_cell(sheet, h) for h in table.headers])
            styled = _StyledCells(sheet)
            for row in spool:
                # Empty cells are left out of the file altogether.
                sheet.append([None if value == "" else styled.cell(column, value)
                              for column, value in enumerate(row)])
    book.save(target)


def write_csv(tables: list[Sheet], directory: Path) -> list[Path]:
    """One CSV per sheet, UTF-8 with a byte-order mark so that Excel reads Chinese right."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, table in enumerate(tables, start=1):
        path = directory / f"{number:02d}-{table.code}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(table.headers)
            writer.writerows([_csv_value(v) for v in row] for row in table.rows)
        written.append(path)
    return written


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of []:*?/\\ in a sheet name."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]


def _header_cell(sheet: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


class _StyledCells:
    """One formatted cell per column, reused row after row: a write-only sheet writes each row
    out as it is appended, and making a styled cell costs more than writing it."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.cells: dict[tuple[int, str], WriteOnlyCell] = {}

    def cell(self, column: int, value: Any) -> Any:
        number_format = _number_format(value)
        if number_format is None:
            return value
        cell = self.cells.get((column, number_format))
        if cell is None:
            cell = self.cells[column, number_format] = WriteOnlyCell(self.sheet)
            cell.number_format = number_format
        cell.value = value
        return cell


def _number_format(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    if isinstance(value, Percent):
        return PERCENT_FORMAT
    return None


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Percent):
        return f"{value:.1%}"
    return "" if value is None else value


def _width(value: Any) -> int:
    """Columns a value needs: a wide (CJK) character counts two."""
    if isinstance(value, dt.datetime):
        return len("2026-01-01 00:00")
    if not isinstance(value, str):
        value = "" if value is None else str(_csv_value(value))
    if "\n" in value:
        return max(_width(line) for line in value.splitlines())
    # CJK characters take three bytes in UTF-8, ASCII one: two extra bytes, one extra column.
    return len(value) + (len(value.encode()) - len(value)) // 2


class _Spool:
    """Rows written to a file and read back in order (a spooled file: memory, then disk)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def add(self, row: list[Any]) -> None:
        pickle.dump(row, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[list[Any]]:
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # noqa: S301 (our own rows, just written)
            except EOFError:
                return



def export_files(session: Session, branch: Branch, period: Period, view: View, *,
                 xlsx: Path | None = None, csv_dir: Path | None = None) -> list[Path]:
    """The ledger written to an .xlsx file and/or a folder of CSV files (the command line)."""
    written = []
    if xlsx is not None:
        write_workbook(sheets(session, branch, period, view), xlsx)
        written.append(xlsx)
    if csv_dir is not None:
        written += write_csv(sheets(session, branch, period, view), csv_dir)
    return written


# "台账 2026-11", "台账 2026-11-04至2026-11-10", "台账 11月": a period first.
_PERIOD = re.compile(r"[\d./\-年月日至到~—]+|上月|本月|上个月|这个月")

FEATURE = Feature(commands=[Command("export", export, role=Role.SECRETARY,
                                    takes=first_word(_PERIOD))])
