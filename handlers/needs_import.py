"""Needs-list items from a CSV or .xlsx file sent to the bot, all or nothing.

The first non-empty row names the columns; the words accepted there (and in the recurrence
column) live in locales/import_headers.toml. CSV may be UTF-8 (with or without BOM) or
GB18030, as Excel in China saves it. Every row is checked before anything is stored: one bad
row and nothing of the file is added, and the refusal names the lines (as a spreadsheet
numbers its rows, the header being line 1).
"""

from __future__ import annotations

import csv
import io
import tomllib
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import cache

from handlers.context import Scope
from handlers.errors import DomainError
from handlers.i18n import LOCALES_DIR, Phrase
from handlers.router import normalize
from handlers.text import clean_field
from storage import needs
from storage.models import Branch, NeedItem

MAX_NAME, MAX_DESCRIPTION, MAX_HOLDERS = 30, 200, 50
MAX_FILE_BYTES, MAX_ROWS = 1_000_000, 500
ENCODINGS = ("utf-8-sig", "gb18030")
RECURRENCES = ("none", "daily", "weekly", "monthly")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one line: a message key under needs.problem and its values."""

    line: int
    key: str
    params: tuple[tuple[str, object], ...] = ()

    def shown(self) -> Phrase:
        return Phrase(f"needs.problem.{self.key}", self.params)


class ImportRejected(Exception):
    """The file had bad lines; nothing of it was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} bad lines")
        self.problems = problems


@dataclass(frozen=True)
class ItemRow:
    line: int
    name: str
    place: str
    description: str
    holders: int
    recurrence: str


Cells = list[str]


def import_items(scope: Scope, branch: Branch, filename: str, data: bytes,
                 by_person: int | None = None) -> list[NeedItem]:
    """Add every item of the file to the branch's list, or raise ImportRejected / DomainError."""
    rows = read_rows(filename, data)
    taken = {normalize(n) for n in needs.names(scope.session, branch.id)}
    checked = check_rows(rows, taken, scope.rules.max_field_length)
    return [needs.create_item(scope.session, branch_id=branch.id, name=r.name, place=r.place,
                              description=r.description, holders=r.holders,
                              recurrence=r.recurrence, created_by=by_person,
                              created_at=scope.now) for r in checked]


# ---------------------------------------------------------------- reading the file


def read_rows(filename: str, data: bytes) -> list[tuple[int, Cells]]:
    """(line number, cells) for every row of a .csv or .xlsx file."""
    if len(data) > MAX_FILE_BYTES:
        raise DomainError("import_too_big", limit=MAX_FILE_BYTES // 1000)
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "csv":
        rows = _csv_rows(data)
    elif suffix == "xlsx":
        rows = _xlsx_rows(data)
    else:
        raise DomainError("import_file_type", file=filename[:60])
    if sum(1 for _, cells in rows if _filled(cells)) > MAX_ROWS + 1:
        raise DomainError("import_too_many", limit=MAX_ROWS)
    return rows


def _csv_rows(data: bytes) -> list[tuple[int, Cells]]:
    text = _decode(data)
    return [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)]


def _decode(data: bytes) -> str:
    """The text in the first encoding every line fits; else refuse the lines that fit none."""
    failures: dict[str, list[int]] = {}
    for encoding in ENCODINGS:
        bad = [n for n, line in enumerate(data.split(b"\n"), start=1)
               if not _decodes(line, encoding)]
        if not bad:
            return data.decode(encoding)
        failures[encoding] = bad
    fewest = min(failures.values(), key=len)
    raise ImportRejected([Problem(n, "encoding") for n in fewest])


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _xlsx_rows(data: bytes) -> list[tuple[int, Cells]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise DomainError("import_unreadable") from None
    sheet = book.worksheets[0]
    rows = [(n, [_cell(v) for v in row])
            for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    book.close()
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _filled(cells: Cells) -> bool:
    return any(c.strip() for c in cells)


# ---------------------------------------------------------------- checking the rows


@cache
def vocabulary() -> tuple[dict[str, str], dict[str, str]]:
    """Header word -> column, and recurrence word -> code, from locales/import_headers.toml."""
    with (LOCALES_DIR / "import_headers.toml").open("rb") as fh:
        words = tomllib.load(fh)
    columns = {normalize(w): column for column, ws in words["columns"].items() for w in ws}
    recurrences = {normalize(w): code for code, ws in words["recurrence"].items() for w in ws}
    return columns, recurrences


def check_rows(rows: list[tuple[int, Cells]], taken: set[str],
               max_place: int) -> list[ItemRow]:
    """The rows as items; ImportRejected naming every bad line when any is bad."""
    filled = [(n, cells) for n, cells in rows if _filled(cells)]
    if len(filled) < 2:
        raise DomainError("import_empty")
    (header_line, header), body = filled[0], filled[1:]
    where = _columns(header_line, header)
    problems: list[Problem] = []
    checked: list[ItemRow] = []
    first_seen: dict[str, int] = {}
    for line, cells in body:
        row = _row(line, cells, where, max_place)
        if isinstance(row, Problem):
            problems.append(row)
            continue
        key = normalize(row.name)
        if key in taken:
            problems.append(Problem(line, "already_listed", (("name", row.name),)))
        elif key in first_seen:
            problems.append(Problem(line, "duplicate", (("name", row.name),
                                                        ("first", first_seen[key]))))
        else:
            first_seen[key] = line
            checked.append(row)
    if problems:
        raise ImportRejected(problems)
    return checked


def _columns(line: int, header: Cells) -> dict[str, int]:
    """Column -> cell index; the name column is required."""
    known, _ = vocabulary()
    where: dict[str, int] = {}
    for index, word in enumerate(header):
        column = known.get(normalize(word))
        if column is not None:
            where.setdefault(column, index)
    if "name" not in where:
        raise ImportRejected([Problem(line, "missing_column",
                                      (("column", Phrase.of("needs.column.name")),))])
    return where


def _row(line: int, cells: Cells, where: dict[str, int], max_place: int) -> ItemRow | Problem:
    def cell(column: str) -> str:
        index = where.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    try:
        name = clean_field(cell("name"), MAX_NAME, "item_name")
        place = _optional(cell("place"), max_place, "place")
        description = _optional(cell("description"), MAX_DESCRIPTION, "description")
    except DomainError as error:
        return Problem(line, error.code, _shown_params(error))
    holders = parse_holders(cell("holders") or "1")
    if holders is None:
        return Problem(line, "bad_holders", (("value", cell("holders")[:20]),
                                             ("high", MAX_HOLDERS)))
    recurrence = parse_recurrence(cell("recurrence"))
    if recurrence is None:
        return Problem(line, "bad_recurrence", (("value", cell("recurrence")[:20]),))
    return ItemRow(line, name, place, description, holders, recurrence)


def _optional(text: str, limit: int, field: str) -> str:
    return clean_field(text, limit, field) if text else ""


def _shown_params(error: DomainError) -> tuple[tuple[str, object], ...]:
    return tuple((k, Phrase.of(f"field.{v}") if k == "field" else v)
                 for k, v in error.params.items())


def parse_holders(text: str) -> int | None:
    """A holder count 1..MAX_HOLDERS, full-width digits allowed; None when it is not one."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if folded.isdigit() and 1 <= int(folded) <= MAX_HOLDERS:
        return int(folded)
    return None


def parse_recurrence(text: str) -> str | None:
    """The recurrence code ("" for none) a word names; None when it names none."""
    if not text.strip():
        return ""
    code = vocabulary()[1].get(normalize(text))
    if code is None:
        return None
    return "" if code == "none" else code
