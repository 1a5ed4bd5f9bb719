"""SQLAlchemy models: organisations, people and their accounts, roles, check-ins, dialogs."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.states import Moves, moves

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC; SQLite's naive values come back marked UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class StateType(TypeDecorator[StrEnum]):
    """A state enum stored as its value; rows come back as members of the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 20) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> StrEnum | None:
        return None if value is None else self.enum(value)


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """The CHECK constraint that keeps a state column to the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Branch(Base):
    __tablename__ = "branches"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    name: Mapped[str] = mapped_column(String(100))

    community: Mapped[Community] = relationship()


class Chat(Base):
    """A chat the bot is in; a group chat may be bound to one branch."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(String(200))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)


class Person(Base):
    """A human, whichever platforms they use. Erased people keep an empty row for counts."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    lang: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # False when the person asked not to be named in public rankings (still counted).
    ranked_publicly: Mapped[bool] = mapped_column(Boolean, default=True,
                                                  server_default=true())


class Account(Base):
    """One platform identity of a person: (platform, external id)."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(100), index=True)
    language_code: Mapped[str | None] = mapped_column(String(20))


class MemberStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    MOVED = "moved"  # 迁出: moved away; no longer counted, the history kept


class MemberProfile(Base):
    """What a Party member registered with a branch (亮身份); verified by its secretary."""

    __tablename__ = "member_profiles"
    __table_args__ = (UniqueConstraint("person_id", "branch_id"), one_of("status", MemberStatus))
    # The secretary decides once; changing who one is (name, building…) asks again.
    MOVES: ClassVar[Moves[MemberStatus]] = moves("status", {
        MemberStatus.PENDING: {MemberStatus.VERIFIED, MemberStatus.REJECTED},
        MemberStatus.VERIFIED: {MemberStatus.PENDING, MemberStatus.MOVED},
        MemberStatus.REJECTED: {MemberStatus.PENDING},
        MemberStatus.MOVED: {MemberStatus.PENDING}})

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    building: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    registered_here: Mapped[bool] = mapped_column(Boolean)
    skills: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[MemberStatus] = mapped_column(StateType(MemberStatus),
                                                 default=MemberStatus.PENDING)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    # A verified member's re-registration waiting for review: the changed fields, applied
    # when the secretary verifies them; the profile stays as it was meanwhile.
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # The reason given with 驳回, told to the applicant.
    decision_note: Mapped[str] = mapped_column(String(200), default="", server_default="")


class RoleGrant(Base):
    """A role above member: building leader or secretary of a branch, admin of a community.

    A community admin with no community is an admin of every community (the deployer's).
    """

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("person_id", "role", "branch_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CheckIn(Base):
    """An identity-showing check-in: once per person, branch and local day."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("person_id", "branch_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))


class Dialog(Base):
    """A multi-step conversation in progress with one person (kept in SQL across restarts)."""

    __tablename__ = "dialogs"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    step: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ProcessedUpdate(Base):
    """Platform updates already handled, so a redelivered update is not acted on twice."""

    __tablename__ = "processed_updates"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    # Indexed: keys older than the retention period are pruned (storage/dialogs.py).
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class CallbackNonce(Base):
    """A signed callback's (timestamp, nonce) seen within the freshness window: the same pair
    again is a replay. Kept in SQL so that every worker refuses it."""

    __tablename__ = "callback_nonces"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)




class MissedMessage(Base):
    """A private message that could not reach its person (past WeChat's 48-hour window, no
    template): shown again by 未读 when they next ask."""

    __tablename__ = "missed_messages"
    __table_args__ = (Index("ix_missed_messages_platform_chat", "platform", "chat_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(4000))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Activity(Base):
    """A volunteer activity published by a branch (志愿活动)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Why the secretary called it off, shown on its cards ("已取消：下雨").
    cancel_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class HandAddedPerson(Base):
    """Someone the secretary signed up by hand (a paper sign-up, 代报名): a person of the
    branch's rosters without any platform account. The phone, when given, is for reaching
    them about the activities they are signed up for."""

    __tablename__ = "hand_added_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    building: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SignupStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Signup(Base):
    """One person's place on an activity: confirmed, waitlisted or cancelled."""

    __tablename__ = "signups"
    __table_args__ = (UniqueConstraint("activity_id", "person_id"), one_of("status", SignupStatus))
    # A freed seat goes to the first on the waitlist; a cancelled place may be taken again.
    MOVES: ClassVar[Moves[SignupStatus]] = moves("status", {
        SignupStatus.CONFIRMED: {SignupStatus.CANCELLED},
        SignupStatus.WAITLISTED: {SignupStatus.CONFIRMED, SignupStatus.CANCELLED},
        SignupStatus.CANCELLED: {SignupStatus.CONFIRMED, SignupStatus.WAITLISTED}})

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[SignupStatus] = mapped_column(StateType(SignupStatus))
    # Order on the waitlist: first come, first promoted (re-joining goes to the back).
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)


class Attendance(Base):
    """On-site sign-in and sign-out by QR scan; hours are capped at the activity's length."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("activity_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    signed_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)


class NoShow(Base):
    """A confirmed place not used (or cancelled too late); enough of them block sign-up."""

    __tablename__ = "no_shows"
    __table_args__ = (UniqueConstraint("activity_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    excused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    excused_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class PostedMessage(Base):
    """Where a card the bot posted lives on a platform, so it can be edited in place."""

    __tablename__ = "posted_messages"
    __table_args__ = (UniqueConstraint("ref", "platform", "chat_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(50), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(100))


class TimerState(StrEnum):
    PENDING = "pending"
    DONE = "done"


class Timer(Base):
    """Something a feature must do at a moment (a reminder, closing an activity).

    A timer fires once: claiming it flips `state` from pending to done in one statement.
    """

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("kind", "ref"), one_of("state", TimerState))
    # Moving a timer to another moment sets it pending again, fired or not.
    MOVES: ClassVar[Moves[TimerState]] = moves("state", {
        TimerState.PENDING: {TimerState.DONE}, TimerState.DONE: {TimerState.PENDING}})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[TimerState] = mapped_column(StateType(TimerState, 10),
                                              default=TimerState.PENDING, index=True)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PointsEntry(Base):
    """One line of the append-only points log; a source awards a person once."""

    __tablename__ = "points_entries"
    # Rankings, summaries and the ledger sum one branch over one period: person and points are
    # in the index too, so those sums never visit the table (a city has millions of entries).
    __table_args__ = (UniqueConstraint("person_id", "source"),
                      Index("ix_points_entries_branch_id_at_person_id_points", "branch_id", "at",
                            "person_id", "points"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    points: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(60))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Why a correction was made, in the secretary's words (empty for automatic entries).
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")


class NeedItem(Base):
    """A service item on a branch's needs list (需求清单), for members to claim."""

    __tablename__ = "need_items"
    __table_args__ = (UniqueConstraint("branch_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    holders: Mapped[int] = mapped_column(default=1)
    recurrence: Mapped[str] = mapped_column(String(20), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ClaimStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    RATED = "rated"
    RELEASED = "released"
    EXPIRED = "expired"


class Claim(Base):
    """A member's promise on a needs-list item (承诺), its fulfilment (践诺) and rating (评诺)."""

    __tablename__ = "claims"
    __table_args__ = (one_of("status", ClaimStatus),)
    # Open until fulfilled (践诺), given back, or left silent too long; a fulfilled one is rated.
    MOVES: ClassVar[Moves[ClaimStatus]] = moves("status", {
        ClaimStatus.OPEN: {ClaimStatus.DONE, ClaimStatus.RELEASED, ClaimStatus.EXPIRED},
        ClaimStatus.DONE: {ClaimStatus.RATED}})

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("need_items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(StateType(ClaimStatus), index=True)
    pledge: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_note: Mapped[str] = mapped_column(String(500), default="")
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str] = mapped_column(String(200), default="")
    rated_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class HelpStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    DONE = "done"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class HelpRequest(Base):
    """A neighbour's request for help (求助 / 红色代办); contact details stay private."""

    __tablename__ = "help_requests"
    __table_args__ = (one_of("status", HelpStatus),)
    # One helper takes it and reports it done; the requester confirms (closed) or says it is
    # not done (open again); it can be withdrawn until it is done.
    MOVES: ClassVar[Moves[HelpStatus]] = moves("status", {
        HelpStatus.OPEN: {HelpStatus.TAKEN, HelpStatus.CANCELLED},
        HelpStatus.TAKEN: {HelpStatus.DONE, HelpStatus.CANCELLED},
        HelpStatus.DONE: {HelpStatus.CLOSED, HelpStatus.OPEN}})

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    building: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[HelpStatus] = mapped_column(StateType(HelpStatus), index=True)
    helper_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column()
    escalation: Mapped[int] = mapped_column(default=0)


class ProblemStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CLOSED = "closed"
    REOPENED = "reopened"


# Statuses in which the secretary can still act on a report.
PROBLEM_PENDING = (ProblemStatus.NEW, ProblemStatus.ACCEPTED, ProblemStatus.ASSIGNED,
                   ProblemStatus.REOPENED)
_TRIAGED = {ProblemStatus.ASSIGNED, ProblemStatus.RESOLVED, ProblemStatus.REJECTED}


class ProblemReport(Base):
    """A problem in the compound reported by a resident (反映), tracked until resolved."""

    __tablename__ = "problem_reports"
    __table_args__ = (one_of("status", ProblemStatus),)
    # The secretary accepts, assigns (again), resolves or rejects a pending report; the
    # reporter closes a resolved one or reopens it; a reporter who erases their data closes
    # any report still open.
    MOVES: ClassVar[Moves[ProblemStatus]] = moves("status", {
        ProblemStatus.NEW: {ProblemStatus.ACCEPTED, ProblemStatus.CLOSED, *_TRIAGED},
        ProblemStatus.REOPENED: {ProblemStatus.ACCEPTED, ProblemStatus.CLOSED, *_TRIAGED},
        ProblemStatus.ACCEPTED: {ProblemStatus.CLOSED, *_TRIAGED},
        ProblemStatus.ASSIGNED: {ProblemStatus.CLOSED, *_TRIAGED},
        ProblemStatus.RESOLVED: {ProblemStatus.CLOSED, ProblemStatus.REOPENED}})

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    status: Mapped[ProblemStatus] = mapped_column(StateType(ProblemStatus), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NoticeState(StrEnum):
    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"


class Notice(Base):
    """A secretary's notice (通知): its text, where it goes and when (once or by a rule)."""

    __tablename__ = "notices"
    __table_args__ = (one_of("state", NoticeState),)
    MOVES: ClassVar[Moves[NoticeState]] = moves("state", {
        NoticeState.ACTIVE: {NoticeState.DONE, NoticeState.CANCELLED},
        # A secretary may still take a sent one-off notice off the list.
        NoticeState.DONE: {NoticeState.CANCELLED}})

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    text: Mapped[str] = mapped_column(String(2000))
    # "chat" (one group), "branch" (every group of the branch), "community" (every branch's).
    target: Mapped[str] = mapped_column(String(20))
    target_chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    # Who within the target, for notices sent to people privately: "" (the groups), "members"
    # (verified members), "buildings" (members of the buildings in `audience_detail`),
    # "activity" (those signed up for the activity numbered in `audience_detail`).
    audience: Mapped[str] = mapped_column(String(20), default="", server_default="")
    audience_detail: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # "now", "once", "monthly_first_workday", "monthly_day", "weekly", "daily".
    rule: Mapped[str] = mapped_column(String(30))
    rule_time: Mapped[str] = mapped_column(String(5), default="")
    rule_day: Mapped[int] = mapped_column(default=0)
    rule_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[NoticeState] = mapped_column(StateType(NoticeState), default=NoticeState.ACTIVE,
                                               index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RunState(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class NoticeRun(Base):
    """One sending of a notice (a repeating notice has one per occurrence)."""

    __tablename__ = "notice_runs"
    __table_args__ = (UniqueConstraint("notice_id", "planned_at"), one_of("state", RunState))
    # A run cancelled when its rule moved comes back if the rule moves back to its moment.
    MOVES: ClassVar[Moves[RunState]] = moves("state", {
        RunState.PLANNED: {RunState.SENDING, RunState.MISSED, RunState.CANCELLED},
        RunState.SENDING: {RunState.DONE},
        RunState.CANCELLED: {RunState.PLANNED}})

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    planned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    state: Mapped[RunState] = mapped_column(StateType(RunState), default=RunState.PLANNED,
                                            index=True)
    text: Mapped[str] = mapped_column(String(2000), default="")
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(Base):
    """The outbox: one row per (notice run, target chat), sent exactly once."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("run_id", "platform", "chat_external_id"),
                      one_of("state", DeliveryState),
                      # A typed 收到 finds the notice it answers by chat (handlers/notices.py).
                      Index("ix_deliveries_platform_chat_external_id_sent_at", "platform",
                            "chat_external_id", "sent_at"))
    # Claimed by a sender, then sent or failed; back to pending to retry, or when the sender
    # that claimed it died.
    MOVES: ClassVar[Moves[DeliveryState]] = moves("state", {
        DeliveryState.PENDING: {DeliveryState.SENDING},
        DeliveryState.SENDING: {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.PENDING}})

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[DeliveryState] = mapped_column(StateType(DeliveryState, 10),
                                                 default=DeliveryState.PENDING, index=True)
    message_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The id of the claiming sender's lock (bot/singleton.py SenderLock), on PostgreSQL.
    claimed_by: Mapped[int | None] = mapped_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReplyState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"


class Reply(Base):
    """The reply outbox (PostgreSQL): an update's answers, kept in the transaction that
    records the update as handled and deleted once sent (handlers/replies.py)."""

    __tablename__ = "replies"
    __table_args__ = (one_of("state", ReplyState), Index("ix_replies_state_id", "state", "id"))
    # Claimed by a sender (the process that handled the update, at once); back to pending to
    # retry, or when that sender died.
    MOVES: ClassVar[Moves[ReplyState]] = moves("state", {
        ReplyState.PENDING: {ReplyState.SENDING}, ReplyState.SENDING: {ReplyState.PENDING}})

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(100))
    # The message as handlers/replies.py `encode` writes it.
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[ReplyState] = mapped_column(StateType(ReplyState, 10),
                                              default=ReplyState.SENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The id of the claiming sender's lock (bot/singleton.py SenderLock).
    claimed_by: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Ack(Base):
    """A 收到 tap on a notice: once per person and run."""

    __tablename__ = "acks"
    __table_args__ = (UniqueConstraint("run_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class FollowerMessage(Base):
    """A one-to-one message to a follower past WeChat's 48-hour window, waiting to go as a
    template message (模板消息): the outbox row of a reminder, a promotion, a result. Claimed by
    the WeChat sender, then sent, or failed (and kept for 未读 as a missed message)."""

    __tablename__ = "follower_messages"
    __table_args__ = (Index("ix_follower_messages_state_platform", "state", "platform"),
                      one_of("state", DeliveryState))
    MOVES: ClassVar[Moves[DeliveryState]] = Delivery.MOVES

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(4000))
    state: Mapped[DeliveryState] = mapped_column(StateType(DeliveryState, 10),
                                                 default=DeliveryState.PENDING)
    error: Mapped[str] = mapped_column(String(200), default="")
    message_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LinkCode(Base):
    """A short one-time code that joins a second platform account to a person."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WecomRobot(Base):
    """A WeCom group robot (企业微信群机器人) through which a branch's notices reach a group.

    The webhook key is a secret: stored, never logged or shown back in full.
    """

    __tablename__ = "wecom_robots"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    webhook_key: Mapped[str] = mapped_column(String(200))
    # Each notice is followed by a text mentioning everyone (@all), so phones ring.
    mention_all: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DayKind(StrEnum):
    """What a local override makes of a day."""

    HOLIDAY = "holiday"  # a day off (放假)
    WORKDAY = "workday"  # a working day, e.g. a weekend day that makes up for a holiday (调休)


class DayOverride(Base):
    """A day a community admin declared a holiday or a working day in chat (`/holidays`).

    These win over the computed calendar (official, or estimated from the statutory holidays
    for a year not yet published) and over the override file.
    """

    __tablename__ = "day_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # a DayKind
    set_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WechatUser(Base):
    """What the WeChat adapter keeps per follower of the Official Account.

    `choices` holds the latest prompts with numbered options ("回复 1 报名") and how many
    answers the follower was sent and had read, so that a reply "1" means the same after a
    restart and is never guessed (bot/wechat_numbers.py); `last_seen_at` opens the 48-hour
    customer-service window;
    `missed` counts messages that could not be delivered, told to the follower when they write.
    """

    __tablename__ = "wechat_users"

    openid: Mapped[str] = mapped_column(String(100), primary_key=True)
    choices: Mapped[Any] = mapped_column(JSON, default=list)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    missed: Mapped[int] = mapped_column(default=0)


__all__ = [
    "PROBLEM_PENDING",
    "Account",
    "Ack",
    "Activity",
    "Attendance",
    "Base",
    "Branch",
    "CallbackNonce",
    "Chat",
    "CheckIn",
    "Claim",
    "ClaimStatus",
    "Community",
    "DayKind",
    "DayOverride",
    "Delivery",
    "DeliveryState",
    "Dialog",
    "HandAddedPerson",
    "HelpRequest",
    "HelpStatus",
    "LinkCode",
    "MemberProfile",
    "MemberStatus",
    "MissedMessage",
    "NeedItem",
    "NoShow",
    "Notice",
    "NoticeRun",
    "NoticeState",
    "Person",
    "PointsEntry",
    "PostedMessage",
    "ProblemReport",
    "ProblemStatus",
    "ProcessedUpdate",
    "Reply",
    "ReplyState",
    "RoleGrant",
    "RunState",
    "Signup",
    "SignupStatus",
    "Timer",
    "TimerState",
    "WechatUser",
    "WecomRobot",
]
