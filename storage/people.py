"""People, their platform accounts, member profiles and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Select,
    String,
    bindparam,
    delete,
    func,
    inspect,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstanceState, Session, aliased

from storage import dialogs, states
from storage.db import counted_write, writes_to
from storage.models import (
    Account,
    Branch,
    Dialog,
    HandAddedPerson,
    MemberProfile,
    MemberStatus,
    Person,
    ProcessedUpdate,
    RoleGrant,
)


@dataclass(frozen=True)
class SenderInfo:
    platform: str
    external_id: str
    display_name: str
    username: str | None
    language_code: str | None


def ensure_account(session: Session, sender: SenderInfo,
                   now: dt.datetime) -> tuple[Account, Person]:
    """The account and person for this sender, both created on first contact."""
    account, person, _ = arriving(session, sender, now)
    return account, person


def arriving(session: Session, sender: SenderInfo,
             now: dt.datetime) -> tuple[Account, Person, Dialog | None]:
    """The sender of an update: account and person (created on first contact) and the
    dialog they have open, in one query (every update needs all three)."""
    row = session.execute(_ARRIVING, {"platform": sender.platform,
                                      "external_id": sender.external_id}).first()
    if row is None:
        return _arrived(session, sender, now, None)
    account, person, dialog = row
    return _arrived(session, sender, now, (account, person, dialog))


def arriving_once(session: Session, sender: SenderInfo, platform: str, update_key: str,
                  now: dt.datetime) -> tuple[Account, Person, Dialog | None] | None:
    """As `arriving`, and the update (`update_key` on `platform`) marked as handled
    (`dialogs.first_time`); None, and nothing read, when it was handled before. On
    PostgreSQL both in one statement: a round trip less on every update."""
    if session.get_bind().dialect.name != "postgresql":
        if not dialogs.first_time(session, platform, update_key, now):
            return None
        return arriving(session, sender, now)
    row = session.execute(_ARRIVING_ONCE, {
        "platform": sender.platform, "external_id": sender.external_id,
        "update_platform": platform, "update_key": update_key, "at": now}).first()
    if row is None:
        return None  # the mark was there: nothing was written
    counted_write(session)
    _marked, account, person, dialog = row
    return _arrived(session, sender, now, None if account is None else (account, person, dialog))


def _arrived(session: Session, sender: SenderInfo, now: dt.datetime,
             found: tuple[Account, Person, Dialog | None] | None,
             ) -> tuple[Account, Person, Dialog | None]:
    """The sender's account, person and dialog as found (None: first contact, created)."""
    if found is None:
        account = _create_account(session, sender, now)
        person = session.get(Person, account.person_id)
        assert person is not None
        dialog = session.get(Dialog, person.id)
    else:
        account, person, dialog = found
    shown = (sender.display_name[:200],
             sender.username.lower()[:100] if sender.username else None, sender.language_code)
    if shown != (account.display_name, account.username, account.language_code):
        # Written only when changed: on most updates nothing is, and nothing is flushed.
        account.display_name, account.username, account.language_code = shown
        session.flush()
    return account, person, dialog


def _sender(external_id: Any) -> Select[Account, Person, Dialog]:
    """The account with this id on `platform` (a bound parameter), its person and dialog."""
    return (select(Account, Person, Dialog).join(Person, Person.id == Account.person_id)
            .outerjoin(Dialog, Dialog.person_id == Person.id)
            .where(Account.platform == bindparam("platform"),
                   Account.external_id == external_id))


# Built once: this look-up runs on every update.
_ARRIVING = _sender(bindparam("external_id"))

# The same with the update's mark written first (a data-modifying WITH, PostgreSQL only): no
# row when the mark was there; a row without an account for a first contact.
_MARK = (postgresql.insert(ProcessedUpdate)
         .values(platform=bindparam("update_platform"), key=bindparam("update_key"),
                 at=bindparam("at"))
         .on_conflict_do_nothing().returning(ProcessedUpdate.key).cte("mark"))


def _with_sender(query: Select[Any], external_id: Any) -> Select[Any]:
    """`query` with, for each of its rows, the account with this id on `platform` (a bound
    parameter), its person and dialog: all None for a first contact. Each row's sender is
    looked up on its own, by the account's unique key: a plain join let PostgreSQL join every
    account of the platform to its person and dialog first whenever its statistics said the
    table was small (after a roster import), 9 ms a batch of 8. LIMIT 1 (there is one) keeps
    the planner from flattening the LATERAL look-up back into that join."""
    found = _sender(external_id).limit(1).lateral("sender")
    return (query.add_columns(aliased(Account, found), aliased(Person, found),
                              aliased(Dialog, found))
            .outerjoin(found, true()))


_ARRIVING_ONCE = _with_sender(select(_MARK.c.key).select_from(_MARK), bindparam("external_id"))


Arrived = tuple[Account, Person, Dialog | None]
Update = tuple[str, str, SenderInfo]  # an update's platform and key, and its sender
Key = tuple[str, str]  # an update's platform and key


class Arrivals:
    """The senders of several updates handled in one transaction, read together: on
    PostgreSQL every update is marked as handled and every sender's account, person and
    dialog read in one statement, where `arriving_once` takes one for each update.

    `take` then gives each update what `arriving_once` would have given it, in turn. A
    sender read ahead is given as read only while no update before it wrote to accounts,
    persons or dialogs; after such a write the rest are read again, each at its turn: the
    updates act as if handled one after another.
    """

    def __init__(self, session: Session, updates: list[Update], now: dt.datetime) -> None:
        """`updates`: each update's platform and key, with its sender."""
        self._read: dict[Key, Arrived | None] = {}  # as read (None: first contact)
        self._later: set[Key] = set()  # marked here, their senders read at their turn
        self._marked: set[Key] = set()  # marked here, handled before or not
        if _together(session, updates):
            self._read_all(session, updates, now)
        self._written = writes_to(session, *_PEOPLE_TABLES)

    def take(self, session: Session, sender: SenderInfo, platform: str, key: str,
             now: dt.datetime) -> Arrived | None:
        """As `arriving_once(session, sender, platform, key, now)`."""
        if (platform, key) not in self._marked:
            return arriving_once(session, sender, platform, key, now)
        if (platform, key) in self._read \
                and writes_to(session, *_PEOPLE_TABLES) != self._written:
            self._forget(session)
        if (platform, key) in self._read:
            return _arrived(session, sender, now, self._read.pop((platform, key)))
        if (platform, key) in self._later:
            self._later.discard((platform, key))
            return arriving(session, sender, now)
        return None  # the mark was there: handled before

    def _read_all(self, session: Session, updates: list[Update], now: dt.datetime) -> None:
        platform, _, sender = updates[0]
        rows = session.execute(_ARRIVING_TOGETHER, {
            "platform": sender.platform, "update_platform": platform, "at": now,
            "keys": [key for _, key, _ in updates],
            "external_ids": [sender.external_id for _, _, sender in updates]}).all()
        counted_write(session)
        self._marked = {(platform, key) for platform, key, _ in updates}
        for key, marked, account, person, dialog in rows:
            if marked is not None:
                found = None if account is None else (account, person, dialog)
                self._read[platform, key] = found

    def _forget(self, session: Session) -> None:
        """Someone's account, person or dialog was written: the senders read ahead and not
        yet taken are read again at their turn (changes are flushed first: none is lost)."""
        session.flush()
        for found in self._read.values():
            for entity in found or ():
                if entity is not None and cast(InstanceState[Any], inspect(entity)).persistent:
                    session.expire(entity)
        self._later |= set(self._read)
        self._read = {}


_PEOPLE_TABLES = ("accounts", "persons", "dialogs")


def _together(session: Session, updates: list[Update]) -> bool:
    """Whether these updates can be marked and their senders read in one statement: on
    PostgreSQL, two or more, each update and each sender once, all from one platform."""
    if len(updates) < 2 or session.get_bind().dialect.name != "postgresql":
        return False
    keys = {(platform, key) for platform, key, _ in updates}
    senders = {(sender.platform, sender.external_id) for _, _, sender in updates}
    platforms = ({platform for platform, _ in keys}, {platform for platform, _ in senders})
    return len(keys) == len(senders) == len(updates) and all(len(p) == 1 for p in platforms)


def _arriving_together() -> Select[Any]:
    """`_ARRIVING_ONCE` for many updates (their keys and senders' ids as two arrays): a row
    per update with its key, the key again when the mark was new, and the sender's account,
    person and dialog."""
    given = func.unnest(bindparam("keys", type_=postgresql.ARRAY(String)),
                        bindparam("external_ids", type_=postgresql.ARRAY(String))
                        ).table_valued("key", "external_id").render_derived()
    mark = (postgresql.insert(ProcessedUpdate)
            .from_select(["platform", "key", "at"], select(
                bindparam("update_platform", type_=String), given.c.key,
                bindparam("at", type_=ProcessedUpdate.__table__.c.at.type)))
            .on_conflict_do_nothing().returning(ProcessedUpdate.key).cte("marks"))
    return _with_sender(select(given.c.key, mark.c.key).select_from(given)
                        .outerjoin(mark, mark.c.key == given.c.key), given.c.external_id)


# Built once: this runs on every batch of updates.
_ARRIVING_TOGETHER = _arriving_together()


def _create_account(session: Session, sender: SenderInfo, now: dt.datetime) -> Account:
    """A new person with this account; if a concurrent update created it first, that one."""
    try:
        with session.begin_nested():
            person = Person(created_at=now)
            session.add(person)
            session.flush()
            account = Account(person_id=person.id, platform=sender.platform,
                              external_id=sender.external_id)
            session.add(account)
            session.flush()
    except IntegrityError:
        found = find_account(session, sender.platform, sender.external_id)
        assert found is not None
        return found
    return account


def find_account(session: Session, platform: str, external_id: str) -> Account | None:
    return session.scalar(
        select(Account).where(Account.platform == platform, Account.external_id == external_id)
    )


def accounts_on(session: Session, platform: str) -> Sequence[Account]:
    return session.scalars(
        select(Account).where(Account.platform == platform).order_by(Account.id)).all()


def find_account_by_username(session: Session, platform: str, username: str) -> Account | None:
    return session.scalar(
        select(Account).where(
            Account.platform == platform, Account.username == username.lstrip("@").lower()
        )
    )


def accounts_of(session: Session, person_id: int) -> Sequence[Account]:
    return session.scalars(
        select(Account).where(Account.person_id == person_id).order_by(Account.id)
    ).all()


def set_language(session: Session, person_id: int, lang: str) -> None:
    session.execute(update(Person).where(Person.id == person_id).values(lang=lang))


def profile(session: Session, person_id: int, branch_id: int) -> MemberProfile | None:
    return session.scalar(
        select(MemberProfile).where(
            MemberProfile.person_id == person_id, MemberProfile.branch_id == branch_id
        )
    )


def profiles_of(session: Session, person_id: int) -> Sequence[MemberProfile]:
    return session.scalars(
        select(MemberProfile).where(MemberProfile.person_id == person_id)
        .order_by(MemberProfile.id)
    ).all()


def save_profile(session: Session, person_id: int, branch_id: int, fields: dict[str, object],
                 now: dt.datetime) -> tuple[MemberProfile, bool]:
    """Create or update a registration; returns it and whether it needs (re-)verification.

    A verified member who only changes skills stays verified; a change to who they are
    (name, building, kind, registration) waits in `pending_change` for the secretary while
    the verified profile stays as it was.
    """
    existing = profile(session, person_id, branch_id)
    if existing is None:
        existing = MemberProfile(person_id=person_id, branch_id=branch_id, submitted_at=now,
                                 status=MemberStatus.PENDING, **fields)
        session.add(existing)
        session.flush()
        return existing, True
    identity_changed = any(getattr(existing, key) != value
                           for key, value in fields.items() if key != "skills")
    existing.submitted_at = now
    if existing.status == MemberStatus.VERIFIED:
        existing.skills = str(fields.get("skills", existing.skills))
        existing.pending_change = dict(fields) if identity_changed else None
        session.flush()
        return existing, identity_changed
    for key, value in fields.items():
        setattr(existing, key, value)
    states.move(existing, MemberStatus.PENDING)
    existing.decided_at = None
    existing.decided_by = None
    existing.decision_note = ""
    session.flush()
    return existing, True


def decide_profile(session: Session, profile_id: int, status: MemberStatus, by_person: int,
                   now: dt.datetime, note: str = "") -> bool:
    """Verify or reject a pending registration, or a verified member's pending change (its
    rejection leaves the member verified as before); False when someone already decided."""
    states.check(MemberProfile, (MemberStatus.PENDING,), status)
    result = session.execute(
        update(MemberProfile)
        .where(MemberProfile.id == profile_id, MemberProfile.status == MemberStatus.PENDING)
        .values(status=status, decided_at=now, decided_by=by_person, decision_note=note)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    changed = session.scalar(select(MemberProfile).where(
        MemberProfile.id == profile_id, MemberProfile.pending_change.is_not(None))
        .with_for_update().execution_options(populate_existing=True))
    if changed is None or changed.pending_change is None:
        return False
    if status == MemberStatus.VERIFIED:
        for key, value in changed.pending_change.items():
            setattr(changed, key, value)
    changed.pending_change = None
    changed.decided_at, changed.decided_by, changed.decision_note = now, by_person, note
    session.flush()
    return True


def awaiting_review(session: Session, branch_id: int) -> Sequence[MemberProfile]:
    """Registrations and changes of a branch waiting for its secretary, oldest first."""
    return session.scalars(select(MemberProfile).where(
        MemberProfile.branch_id == branch_id,
        (MemberProfile.status == MemberStatus.PENDING)
        | MemberProfile.pending_change.is_not(None))
        .order_by(MemberProfile.submitted_at, MemberProfile.id)).all()


def move_away(session: Session, profile: MemberProfile, now: dt.datetime) -> None:
    """党员迁出: no longer counted as a member of the branch; the history stays."""
    states.move(profile, MemberStatus.MOVED)
    profile.pending_change = None
    profile.decided_at = now
    session.flush()


def roster(session: Session, branch_id: int) -> Sequence[MemberProfile]:
    return session.scalars(
        select(MemberProfile).where(MemberProfile.branch_id == branch_id)
        .order_by(MemberProfile.building, MemberProfile.name)
    ).all()


def named_in_branch(session: Session, branch_id: int, community_id: int,
                    name: str) -> list[int]:
    """The people of a branch called `name`: by a verified registered name, or by the platform
    name of anyone registered with the branch or holding a role in it (or its community)."""
    of_branch = union(
        select(MemberProfile.person_id).where(MemberProfile.branch_id == branch_id),
        select(RoleGrant.person_id).where(RoleGrant.branch_id == branch_id),
        select(RoleGrant.person_id).where(RoleGrant.community_id == community_id))
    by_profile = select(MemberProfile.person_id).where(
        MemberProfile.branch_id == branch_id, MemberProfile.status == MemberStatus.VERIFIED,
        MemberProfile.name == name)
    by_account = select(Account.person_id).where(
        Account.display_name == name, Account.person_id.in_(of_branch))
    return sorted(set(session.scalars(union(by_profile, by_account)).all()))


def grants_of(session: Session, person_id: int) -> Sequence[RoleGrant]:
    return session.scalars(select(RoleGrant).where(RoleGrant.person_id == person_id)).all()


def grant(session: Session, person_id: int, role: str, *, branch_id: int | None = None,
          community_id: int | None = None, by_person: int | None = None,
          now: dt.datetime) -> bool:
    """Give a role; False when the person already has it in that scope."""
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.person_id == person_id, RoleGrant.role == role,
            RoleGrant.branch_id.is_(None) if branch_id is None
            else RoleGrant.branch_id == branch_id,
            RoleGrant.community_id.is_(None) if community_id is None
            else RoleGrant.community_id == community_id,
        )
    )
    if existing is not None:
        return False
    session.add(RoleGrant(person_id=person_id, role=role, branch_id=branch_id,
                          community_id=community_id, granted_by=by_person, granted_at=now))
    session.flush()
    return True


def revoke(session: Session, person_id: int, role: str, *, branch_id: int | None = None,
           community_id: int | None = None) -> bool:
    """Take a role away; False when the person did not have it."""
    query = delete(RoleGrant).where(RoleGrant.person_id == person_id, RoleGrant.role == role)
    if branch_id is not None:
        query = query.where(RoleGrant.branch_id == branch_id)
    if community_id is not None:
        query = query.where(RoleGrant.community_id == community_id)
    return session.execute(query).rowcount > 0  # type: ignore[attr-defined]


def holders(session: Session, role: str, *, branch_id: int | None = None,
            community_id: int | None = None) -> list[int]:
    """Person ids holding `role` in exactly this scope."""
    query = select(RoleGrant.person_id).where(RoleGrant.role == role)
    if branch_id is not None:
        query = query.where(RoleGrant.branch_id == branch_id)
    if community_id is not None:
        query = query.where(RoleGrant.community_id == community_id)
    return list(dict.fromkeys(session.scalars(query.order_by(RoleGrant.id))))


def global_admins(session: Session) -> list[int]:
    query = select(RoleGrant.person_id).where(
        RoleGrant.role == "community_admin", RoleGrant.community_id.is_(None))
    return list(dict.fromkeys(session.scalars(query.order_by(RoleGrant.id))))


def shown_name(session: Session, person_id: int, branch_id: int | None = None) -> str:
    """How a person is named to others: their registered name, else their platform name."""
    for profile in profiles_of(session, person_id):
        if branch_id is None or profile.branch_id == branch_id:
            return profile.name
    written = session.scalar(select(HandAddedPerson.name)
                             .where(HandAddedPerson.person_id == person_id))
    if written is not None:
        return written
    names = [a.display_name for a in accounts_of(session, person_id) if a.display_name]
    return names[0] if names else ""


def branch_of_profile(session: Session, profile_id: int) -> tuple[MemberProfile, Branch] | None:
    row = session.execute(
        select(MemberProfile, Branch).join(Branch, Branch.id == MemberProfile.branch_id)
        .where(MemberProfile.id == profile_id)
    ).first()
    return (row[0], row[1]) if row else None
