"""The secretary's notices on the web desk: each sending with its delivery (in all and per
channel) and acknowledgement rates, who has not acknowledged, and the notices still to go.

The figures are `通知 状态`'s own (handlers/notices.py `received`), read with the chat's role
check; cancelling a planned notice is the chat's `/notice cancel <n>`, pressed by the desk.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import desk_pages
from handlers.context import Context
from handlers.moments import short
from handlers.notices import (
    EXCERPT,
    Received,
    describe_rule,
    members_of,
    received,
    received_all,
    rule_data,
)
from handlers.schedules import Occurrence
from handlers.text import excerpt
from storage import notices, people
from storage.models import Branch, Notice

# How many of the latest sendings the list shows.
RECENT = 20


@dataclass(frozen=True)
class Sending:
    """One sending of a notice as the list shows it."""

    number: int
    run_id: int
    text: str
    when: str
    got: Received

    @property
    def delivered(self) -> float:
        return self.got.sent.sent / self.got.sent.total if self.got.sent.total else 0.0

    @property
    def rate(self) -> float:
        return self.got.acked_members / len(self.got.members) if self.got.members else 0.0


@dataclass(frozen=True)
class Planned:
    """A notice still to be sent, with the chat's command that calls it off."""

    number: int
    text: str
    when: str
    cancel: str


@dataclass(frozen=True)
class Missing:
    name: str
    building: str


@dataclass(frozen=True)
class Detail:
    """One sending in full: the figures, the chats where people acknowledged, and who has
    not acknowledged yet (by building)."""

    sending: Sending
    full_text: str
    per_chat: list[tuple[str, int]]
    missing: list[Missing]


def sendings(ctx: Context) -> tuple[Branch, list[Sending], list[Planned]]:
    """The branch's latest sendings, newest first, and its notices still to be sent."""
    branch = desk_pages.secretary_branch(ctx)
    sent = notices.sent_runs(ctx.session, branch.id, RECENT)
    audiences: dict[tuple[str, str, str], list[int]] = {}
    for item, _run in sent:
        # Sendings to the same audience share one reading of who its members are.
        key = (item.target, item.audience, item.audience_detail)
        if key not in audiences:
            audiences[key] = members_of(ctx, item)
    got = received_all(ctx, [(run, audiences[item.target, item.audience, item.audience_detail])
                             for item, run in sent])
    rows = [_sending(ctx, item, run.id, figures)
            for (item, run), figures in zip(sent, got, strict=True)]
    return branch, rows, _planned(ctx, branch)


def sending(ctx: Context, run_id: int) -> Detail:
    """One sending of the secretary's branch; not found for another branch's."""
    branch = desk_pages.secretary_branch(ctx)
    run = notices.run(ctx.session, run_id)
    item = notices.get(ctx.session, run.notice_id) if run is not None else None
    if run is None or item is None or item.branch_id != branch.id or run.started_at is None:
        raise desk_pages.not_found()
    got = received(ctx, item, run)
    known = {p.person_id: p for p in people.roster(ctx.session, branch.id)}
    missing = []
    for person_id in got.missing:
        profile = known.get(person_id)
        missing.append(Missing(profile.name, profile.building) if profile is not None
                       else Missing(ctx.name_of(person_id, item.branch_id), ""))
    missing.sort(key=lambda m: (m.building, m.name))
    private = ctx.t("notice.private_chat")
    return Detail(_sending(ctx, item, run.id, got), run.text or item.text,
                  [(title or private, n) for title, n in got.per_chat.items()], missing)


def _sending(ctx: Context, item: Notice, run_id: int, got: Received) -> Sending:
    at = got.run.started_at or got.run.planned_at
    return Sending(item.id, run_id, excerpt(got.run.text or item.text, EXCERPT),
                   short(at, ctx.local_now), got)


def _planned(ctx: Context, branch: Branch) -> list[Planned]:
    """`/notice list` as rows, each with its cancel command: the notices with a sending still
    planned (a notice sent at once, with nothing more to come, is not listed)."""
    rows = []
    for item, planned in notices.planned_of_branch(ctx.session, branch.id):
        when = describe_rule(ctx, rule_data(item), Occurrence(planned.planned_at, planned.fallback))
        rows.append(Planned(item.id, excerpt(item.text, EXCERPT),
                            ctx.t("desk.notices.when", when=when), f"/notice cancel {item.id}"))
    return rows
