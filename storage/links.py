"""Linking accounts: one-time codes, joining two people into one, and detaching an account.

Joining re-points every row that references the second person (found generically through
the foreign keys to `persons.id` in the metadata, so tables added later are covered too) to
the first. Where that would give the first person two rows under one unique key, one row is
kept, on these rules:

- check-ins, sign-ins, acknowledgements, no-shows, points: the earlier row (one check-in a
  day, one sign-in per activity, points from one source once);
- sign-ups: the stronger place (confirmed before waitlisted before cancelled), then the
  earlier one; a seat given up this way stays free for the next to sign up;
- anything else (a role held twice, a form in progress on both): the first person's row;
- two registrations (亮身份) with the same branch: the join is refused — the person must
  choose which one to keep (删除我的数据 on the other account) before linking.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    PrimaryKeyConstraint,
    RowMapping,
    Table,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import Account, Base, LinkCode, Person, SignupStatus

CODE_DIGITS = 6
# Spent and expired codes are kept this long, so a late try hears "used" or "expired".
KEEP_SPENT = dt.timedelta(days=1)
_SIGNUP_RANK = {SignupStatus.CONFIRMED: 0, SignupStatus.WAITLISTED: 1,
                SignupStatus.CANCELLED: 2}
# Tables where the earlier of two rows is kept, by the column that says when.
_EARLIER_BY = {"checkins": "at", "attendances": "signed_in_at", "acks": "at",
               "no_shows": "recorded_at", "points_entries": "at"}
# Tables where two rows under one key are a conflict the person must resolve.
_REFUSE = {"member_profiles"}


class LinkRefused(Exception):
    """A code cannot be used, or the two people cannot be joined; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Joined:
    """The outcome of a join: the person kept, and the platforms the person now has."""

    person_id: int
    platforms: tuple[str, ...]


def new_code(session: Session, person_id: int, now: dt.datetime,
             lifetime: dt.timedelta) -> str:
    """A fresh code for this person; their earlier unused codes stop working."""
    session.execute(delete(LinkCode).where(LinkCode.expires_at < now - KEEP_SPENT))
    session.execute(delete(LinkCode).where(LinkCode.person_id == person_id,
                                           LinkCode.used_at.is_(None)))
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if insert_if_absent(session, LinkCode, {"person_id": person_id, "code": code,
                                                "created_at": now,
                                                "expires_at": now + lifetime}):
            return code


def redeem(session: Session, code: str, person_id: int, now: dt.datetime) -> Joined:
    """Join `person_id` (who typed the code) into the person who asked for it."""
    row = session.scalar(select(LinkCode).where(LinkCode.code == code).with_for_update())
    if row is None:
        raise LinkRefused("link_code_wrong")
    if row.used_at is not None:
        raise LinkRefused("link_code_used")
    if row.expires_at <= now:
        raise LinkRefused("link_code_expired")
    if row.person_id == person_id:
        raise LinkRefused("link_same_person")
    keep_platforms = {a.platform for a in _accounts(session, row.person_id)}
    if keep_platforms & {a.platform for a in _accounts(session, person_id)}:
        raise LinkRefused("link_same_platform")
    taken = session.execute(update(LinkCode).where(LinkCode.id == row.id,
                                                   LinkCode.used_at.is_(None))
                            .values(used_at=now))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkRefused("link_code_used")
    join(session, row.person_id, person_id)
    platforms = tuple(sorted({a.platform for a in _accounts(session, row.person_id)}))
    return Joined(row.person_id, platforms)


def join(session: Session, keep: int, absorb: int) -> None:
    """Move everything of person `absorb` to person `keep`, then remove `absorb`."""
    persons = Base.metadata.tables["persons"]
    for table in Base.metadata.sorted_tables:
        for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            if key.column.table is persons:
                _repoint(session, table, key.parent, keep, absorb)
    kept, gone = session.get(Person, keep), session.get(Person, absorb)
    assert kept is not None
    assert gone is not None
    kept.lang = kept.lang or gone.lang
    # The more private choice wins.
    kept.ranked_publicly = kept.ranked_publicly and gone.ranked_publicly
    session.flush()
    session.expunge(gone)
    session.execute(delete(persons).where(persons.c.id == absorb))
    # Objects loaded before the statements above still show the old person ids.
    session.expire_all()


def detach(session: Session, account_id: int, now: dt.datetime) -> int:
    """Give one account a person of its own (with the same language); returns its id."""
    account = session.get(Account, account_id)
    assert account is not None
    old = session.get(Person, account.person_id)
    assert old is not None
    person = Person(created_at=now, lang=old.lang, ranked_publicly=old.ranked_publicly)
    session.add(person)
    session.flush()
    account.person_id = person.id
    session.flush()
    return person.id


def _accounts(session: Session, person_id: int) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.person_id == person_id)))


def _unique_keys(table: Table, column: Column[Any]) -> list[set[str]]:
    """The other columns of each unique key (or primary key) of `table` that has `column`."""
    keys = [{c.name for c in constraint.columns} for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)]
    return [key - {column.name} for key in keys if column.name in key]


def _repoint(session: Session, table: Table, column: Column[Any], keep: int,
             absorb: int) -> None:
    keys = _unique_keys(table, column)
    if not keys:
        session.execute(update(table).where(column == absorb).values({column.name: keep}))
        return
    for row in session.execute(select(table).where(column == absorb)).mappings().all():
        rival = _rival(session, table, column, keep, row, keys)
        if rival is None:
            session.execute(update(table).where(*_same_row(table, row))
                            .values({column.name: keep}))
        elif _prefer_absorbed(table, rival, row):
            session.execute(delete(table).where(*_same_row(table, rival)))
            session.execute(update(table).where(*_same_row(table, row))
                            .values({column.name: keep}))
        else:
            session.execute(delete(table).where(*_same_row(table, row)))


def _rival(session: Session, table: Table, column: Column[Any], keep: int,
           row: RowMapping, keys: list[set[str]]) -> RowMapping | None:
    """The kept person's row that `row` would duplicate under one of the unique keys."""
    for others in keys:
        found = session.execute(select(table).where(
            column == keep, *(_equal(table.c[name], row[name]) for name in others))
        ).mappings().first()
        if found is not None:
            if table.name in _REFUSE:
                raise LinkRefused("link_conflict")
            if _referenced(table):
                # Removing either row would break rows that point at it.
                raise LinkRefused("link_conflict")
            return found
    return None


def _prefer_absorbed(table: Table, kept: RowMapping, absorbed: RowMapping) -> bool:
    """Whether the absorbed person's row should win over the kept person's."""
    if table.name == "signups":
        def rank(r: RowMapping) -> tuple[int, dt.datetime]:
            return _SIGNUP_RANK.get(r["status"], 9), r["queued_at"]
        return rank(absorbed) < rank(kept)
    when = _EARLIER_BY.get(table.name)
    if when is not None:
        return bool(absorbed[when] < kept[when])
    return False


def _same_row(table: Table, row: RowMapping) -> list[ColumnElement[bool]]:
    return [c == row[c.name] for c in table.primary_key.columns]


def _equal(column: Column[Any], value: object) -> ColumnElement[bool]:
    # Unique keys with NULLs (a role for no particular branch) still mean the same thing.
    return column.is_(None) if value is None else column == value


def _referenced(table: Table) -> bool:
    return any(key.column.table is table for other in Base.metadata.sorted_tables
               for key in other.foreign_keys)
