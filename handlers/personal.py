"""The registry of personal data: each feature declares what it stores about a person and what
erasing does to it. `/privacy` lists every kind present for the person from it, `/forget`
applies every entry, and a test walks it against the models, so no table is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, and_, delete, false, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import Base, Person

if TYPE_CHECKING:
    from handlers.context import Scope


class Erase(StrEnum):
    """What `/forget` does to a kind of personal data."""

    DELETE = "delete"  # the rows go
    BLANK = "blank"  # the declared columns are emptied; the rows stay for the branch's counts
    KEEP = "keep"  # anonymous counts: the rows stay, pointing only at the emptied person


@dataclass(frozen=True)
class Whose:
    """The person being listed or erased: their id and their platform accounts."""

    person_id: int
    accounts: tuple[tuple[str, str], ...]

    @property
    def openids(self) -> list[str]:
        return [external for platform, external in self.accounts if platform == "wechat"]


Match = Callable[[Whose], ColumnElement[bool]]
# Closes what is still open before the data goes: cards edited, timers cancelled, others told.
Close = Callable[["Scope", int], None]


@dataclass(frozen=True)
class PersonalData:
    """One kind of personal data a feature stores: where, whose, and what erasure does."""

    kind: str  # its line in /privacy: privacy.kind.<kind>
    table: type[Base]
    owner: str  # the column that says whose it is
    columns: tuple[str, ...] = ()  # the columns holding the person's data (BLANK empties them)
    erase: Erase = Erase.DELETE
    close: Close | None = None
    shown: str | None = None  # a column /privacy shows the values of, not only how many
    # The shown values are codes, said in words by this catalog key ("role.{}": the value
    # secretary is said as role.secretary, 书记), not shown raw.
    shown_as: str | None = None
    # Rows found otherwise than `owner == person id` (by openid, by private chat).
    match: Match | None = None
    # Listed only for rows where one of `columns` holds something: a profile with no change
    # waiting holds no "pending change". Erasing still covers every row `where` finds.
    only_held: bool = False

    def where(self, whose: Whose) -> ColumnElement[bool]:
        if self.match is not None:
            return self.match(whose)
        column: ColumnElement[bool] = getattr(self.table, self.owner) == whose.person_id
        return column

    def listed(self, whose: Whose) -> ColumnElement[bool]:
        """The rows /privacy counts for the person."""
        if not self.only_held:
            return self.where(whose)
        table = self.table.__table__.c
        return and_(self.where(whose), or_(*(_holds(table[name]) for name in self.columns)))


def _holds(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """The column holds a value: not NULL, and for text not empty either."""
    if isinstance(column.type, String):
        return func.coalesce(column, "") != ""
    return column.is_not(None)


@dataclass(frozen=True)
class Reference:
    """A column naming a person who acted on something of others (the secretary who verified,
    the member who helped): kept, pointing at the emptied person once they are erased."""

    table: type[Base]
    column: str


def of_accounts(platform: InstrumentedAttribute[str], external_id: InstrumentedAttribute[str]
                ) -> Match:
    """Rows whose (platform, id) is one of the person's accounts, e.g. their private chat."""
    def match(whose: Whose) -> ColumnElement[bool]:
        if not whose.accounts:
            return false()
        return or_(*(and_(platform == p, external_id == e) for p, e in whose.accounts))
    return match


def present(session: Session, registry: Iterable[PersonalData],
            whose: Whose) -> list[tuple[PersonalData, int, list[str]]]:
    """Each kind stored for the person: how many rows, and the values of its shown column."""
    found = []
    for entry in registry:
        where = entry.listed(whose)
        rows = session.scalar(select(func.count()).select_from(entry.table).where(where)) or 0
        if not rows:
            continue
        values: list[str] = []
        if entry.shown:
            column = getattr(entry.table, entry.shown)
            values = [str(v) for v in session.scalars(
                select(column).where(where).distinct().limit(5)) if v]
        found.append((entry, rows, values))
    return found


def erase(scope: Scope, registry: Sequence[PersonalData], whose: Whose) -> None:
    """Apply every entry: close what is open, then empty, then delete; the person row last."""
    for entry in registry:
        if entry.close is not None:
            entry.close(scope, whose.person_id)
    for entry in sorted(registry, key=lambda e: e.erase != Erase.BLANK):
        if entry.erase == Erase.BLANK:
            scope.session.execute(update(entry.table).where(entry.where(whose))
                                  .values(_blanks(entry))
                                  .execution_options(synchronize_session=False))
        elif entry.erase == Erase.DELETE:
            scope.session.execute(delete(entry.table).where(entry.where(whose))
                                  .execution_options(synchronize_session=False))
    scope.session.execute(update(Person).where(Person.id == whose.person_id)
                          .values(lang=None, erased_at=scope.now, ranked_publicly=True))


def _blanks(entry: PersonalData) -> dict[str, Any]:
    columns = entry.table.__table__.c
    return {name: None if columns[name].nullable else "" for name in entry.columns}


