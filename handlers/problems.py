"""反映: a resident reports a problem in the compound; the secretary triages it privately.

`/report <text>` goes to the branch's secretaries (else the community admins) with buttons:
受理 (accept), 指派 (assign to a verified member, or `@username`), 已解决 (resolve with a
note) and 不予处理 (reject with a reason); notes and reasons are asked in a private dialog.
The reporter is told each step privately. Some days after "resolved" the reporter is asked
once "解决了吗?"; "没解决" reopens the report and the secretaries are told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from handlers import forms, points
from handlers.addressing import free_text
from handlers.context import ButtonSpec, Context, Keyboard, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.i18n import Phrase
from handlers.mentions import target_account
from handlers.payloads import ButtonData
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch, role_in
from handlers.router import Command, Feature, On, run_subcommand
from handlers.text import clean_field
from storage import orgs, people, problems, timers
from storage.models import PROBLEM_PENDING, Branch, MemberStatus, ProblemReport, ProblemStatus

Data = dict[str, Any]
MAX_MEMBERS_SHOWN = 10


def report(ctx: Context, args: str) -> None:
    """`/report <text>`: record the problem and send it to those who triage it; `反映 列表`
    lists the open ones (a subcommand word never files a report)."""
    if run_subcommand(ctx, args, SUBCOMMANDS, "report"):
        return
    branch = require_branch(ctx)
    if not args.strip():
        raise DomainError("problem_usage")
    text = clean_field(args, ctx.rules.max_text_length, "problem")
    new = problems.create(ctx.session, branch_id=branch.id, reporter_id=ctx.person.id,
                          text=text, now=ctx.now)
    _tell_triagers(ctx, new, "problem.new")
    ctx.reply("problem.received", id=new.id)


def list_open(ctx: Context, _args: str) -> None:
    """`反映 列表`: the branch's open reports with state, assignee and triage buttons."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    rows = problems.open_of_branch(ctx.session, branch.id)
    ctx.reply_private("problem.open_list" if rows else "problem.none_open",
                      branch=branch.name, count=len(rows))
    for item in rows:
        assignee = Phrase.of("problem.assignee_line", name=people.shown_name(
            ctx.session, item.assignee_id, item.branch_id)) if item.assignee_id else ""
        ctx.reply_private("problem.queue_item", triage_keyboard(item), **_card(ctx, item),
                          assignee=assignee)


def _triagers(scope: Scope, branch_id: int) -> list[int]:
    """The branch's secretaries; the community admins (or the deployment's) when it has none."""
    branch = orgs.branch(scope.session, branch_id)
    assert branch is not None
    return (people.holders(scope.session, "secretary", branch_id=branch.id)
            or people.holders(scope.session, "community_admin", community_id=branch.community_id)
            or people.global_admins(scope.session))


def _tell_triagers(scope: Scope, item: ProblemReport, key: str) -> None:
    for person_id in _triagers(scope, item.branch_id):
        scope.tell(person_id, key, triage_keyboard(item), **_card(scope, item))


def triage_keyboard(item: ProblemReport) -> Keyboard:
    if item.status not in PROBLEM_PENDING:
        return []
    first = [ButtonSpec.of("problem.button.assign", ProblemButton("assign", item.id))]
    if item.status in (ProblemStatus.NEW, ProblemStatus.REOPENED):
        first.insert(0, ButtonSpec.of("problem.button.accept", ProblemButton("accept", item.id)))
    return [first, [ButtonSpec.of("problem.button.resolve", ProblemButton("resolve", item.id)),
                    ButtonSpec.of("problem.button.reject", ProblemButton("reject", item.id))]]


def _card(scope: Scope, item: ProblemReport) -> dict[str, object]:
    return {"id": item.id, "text": item.text, "status": _status(item),
            "reporter": scope.name_of(item.reporter_id, item.branch_id)}


def _status(item: ProblemReport) -> Phrase:
    return Phrase(f"problem.status.{item.status}")


# ---------------------------------------------------------------- triage


@dataclass(frozen=True)
class ProblemButton(ButtonData, prefix="prob"):
    """Every 反映 button: the secretary's triage (accept, assign, resolve, reject) and the
    reporter's answer to "解决了吗?" (yes, no)."""

    action: Literal["accept", "assign", "resolve", "reject", "yes", "no"]
    report_id: int


def button(ctx: Context, tapped: ProblemButton) -> None:
    """Every 反映 button: the secretary's triage and the reporter's answer to "解决了吗?"."""
    _ACTIONS[tapped.action](ctx, _report(ctx, tapped.report_id))


def _report(ctx: Context, report_id: int) -> ProblemReport:
    found = problems.get(ctx.session, report_id)
    if found is None:
        raise DomainError("button_expired")
    return found


def _branch(ctx: Context, item: ProblemReport) -> Branch:
    branch = orgs.branch(ctx.session, item.branch_id)
    assert branch is not None
    return branch


def _as_secretary(ctx: Context, item: ProblemReport) -> None:
    require(ctx, Role.SECRETARY, _branch(ctx, item))


def _pending(item: ProblemReport) -> None:
    if item.status not in PROBLEM_PENDING:
        raise DomainError("problem_state", id=item.id, status=_status(item))


def _move(ctx: Context, item: ProblemReport, olds: tuple[ProblemStatus, ...],
          new: ProblemStatus, **values: object) -> ProblemReport:
    """Change the report's status, refused when someone else moved it first."""
    if not problems.move(ctx.session, item.id, olds, new, ctx.now, **values):
        raise DomainError("problem_state", id=item.id, status=_status(_report(ctx, item.id)))
    return _report(ctx, item.id)


def _accept(ctx: Context, item: ProblemReport) -> None:
    """受理: the secretary takes the report on."""
    _as_secretary(ctx, item)
    item = _move(ctx, item, (ProblemStatus.NEW, ProblemStatus.REOPENED), ProblemStatus.ACCEPTED)
    ctx.edit("problem.card", triage_keyboard(item), **_card(ctx, item))
    ctx.tell(item.reporter_id, "problem.told_accepted", id=item.id)


def _assign(ctx: Context, item: ProblemReport) -> None:
    """指派: offer the branch's verified members, or take a typed @username."""
    _as_secretary(ctx, item)
    _pending(item)
    forms.start(ctx, ASSIGN, {"report_id": item.id})


def _members(ctx: Context, data: Data) -> list[Option]:
    item = _report(ctx, data["report_id"])
    members = [p for p in people.roster(ctx.session, item.branch_id)
               if p.status == MemberStatus.VERIFIED]
    return [Option.of(str(p.person_id), "problem.button.member", name=p.name,
                      building=p.building) for p in members[:MAX_MEMBERS_SHOWN]]


def _typed_assignee(ctx: Context, text: str, _data: Data) -> Data:
    return {"assignee": str(target_account(ctx, text.split()).person_id)}


def _assign_submit(ctx: Context, data: Data) -> None:
    _give_to(ctx, _report(ctx, data["report_id"]), int(data["assignee"]))


def _give_to(ctx: Context, item: ProblemReport, person_id: int) -> None:
    _as_secretary(ctx, item)
    name = ctx.name_of(person_id, item.branch_id)
    if role_in(ctx, person_id, _branch(ctx, item)) < Role.MEMBER:
        raise DomainError("problem_not_member", person=name)
    item = _move(ctx, item, PROBLEM_PENDING, ProblemStatus.ASSIGNED, assignee_id=person_id)
    ctx.reply("problem.assigned", id=item.id, name=name)
    resolve = ButtonSpec.of("problem.button.resolve", ProblemButton("resolve", item.id))
    ctx.tell(person_id, "problem.assigned_to_you", [[resolve]], **_card(ctx, item))
    ctx.tell(item.reporter_id, "problem.told_assigned", id=item.id, name=name)


def _resolve(ctx: Context, item: ProblemReport) -> None:
    """已解决: ask the secretary (or the assignee) for a note on what was done."""
    _may_resolve(ctx, item)
    _pending(item)
    forms.start(ctx, RESOLVE, {"report_id": item.id})


def _may_resolve(ctx: Context, item: ProblemReport) -> None:
    if item.assignee_id != ctx.person.id or item.status != ProblemStatus.ASSIGNED:
        _as_secretary(ctx, item)


def _reject(ctx: Context, item: ProblemReport) -> None:
    """不予处理: ask the secretary for the reason."""
    _as_secretary(ctx, item)
    _pending(item)
    forms.start(ctx, REJECT, {"report_id": item.id})


def _note(field: str) -> Callable[[Context, str, Data], Data]:
    def parse(ctx: Context, text: str, _data: Data) -> Data:
        return {field: clean_field(text, ctx.rules.max_text_length, field)}
    return parse


def _asking(key: str) -> Callable[[Context, Data], Prompt]:
    return lambda _ctx, data: (key, {"id": data["report_id"]})


# One-step forms: whom to assign, what was done, why not.
ASSIGN = Form("problem_assign", "form.title.problem", (
    Step("assignee", _asking("problem.pick_assignee"), _typed_assignee, options=_members,
         per_row=1),
), _assign_submit)
RESOLVE = Form("problem_resolve", "form.title.problem", (
    Step("resolution", _asking("problem.ask_resolution"), _note("resolution")),
), lambda ctx, data: _resolved(ctx, _report(ctx, data["report_id"]), data["resolution"]))
REJECT = Form("problem_reject", "form.title.problem", (
    Step("reason", _asking("problem.ask_reason"), _note("reason")),
), lambda ctx, data: _rejected(ctx, _report(ctx, data["report_id"]), data["reason"]))


def _resolved(ctx: Context, item: ProblemReport, note: str) -> None:
    _may_resolve(ctx, item)
    item = _move(ctx, item, PROBLEM_PENDING, ProblemStatus.RESOLVED, note=note,
                 resolved_at=ctx.now)
    points.for_resolved(ctx, item)
    # Set once per report: a report resolved a second time is not asked about again.
    timers.schedule(ctx.session, "problem_followup", str(item.id),
                    ctx.now + dt.timedelta(days=ctx.rules.followup_days))
    ctx.reply("problem.resolved", id=item.id)
    ctx.tell(item.reporter_id, "problem.told_resolved", id=item.id, note=note)
    if ctx.person.id not in _triagers(ctx, item.branch_id):
        _tell_triagers(ctx, item, "problem.resolved_by_assignee")


def _rejected(ctx: Context, item: ProblemReport, reason: str) -> None:
    _as_secretary(ctx, item)
    item = _move(ctx, item, PROBLEM_PENDING, ProblemStatus.REJECTED, note=reason)
    ctx.reply("problem.rejected", id=item.id)
    ctx.tell(item.reporter_id, "problem.told_rejected", id=item.id, reason=reason)


# ---------------------------------------------------------------- 解决了吗?


def follow_up(scope: Scope, ref: str) -> None:
    """Some days after "resolved": ask the reporter once whether it really is."""
    item = problems.get(scope.session, int(ref))
    if item is None or not problems.mark_followed_up(scope.session, item.id, scope.now):
        return
    scope.tell(item.reporter_id, "problem.followup",
               [[ButtonSpec.of("problem.button.yes", ProblemButton("yes", item.id)),
                 ButtonSpec.of("problem.button.no", ProblemButton("no", item.id))]],
               id=item.id, text=item.text, note=item.note)


def _only_reporter(ctx: Context, item: ProblemReport) -> None:
    if item.reporter_id != ctx.person.id:
        raise DomainError("not_your_button")


def _confirmed(ctx: Context, item: ProblemReport) -> None:
    """已解决: the reporter agrees; the report is closed."""
    _only_reporter(ctx, item)
    if not problems.move(ctx.session, item.id, (ProblemStatus.RESOLVED,), ProblemStatus.CLOSED,
                         ctx.now):
        raise DomainError("problem_answered", id=item.id)
    ctx.edit("problem.closed", id=item.id)


def _not_solved(ctx: Context, item: ProblemReport) -> None:
    """没解决: the report opens again and the secretaries are told."""
    _only_reporter(ctx, item)
    if not problems.move(ctx.session, item.id, (ProblemStatus.RESOLVED,),
                         ProblemStatus.REOPENED, ctx.now, resolved_at=None):
        raise DomainError("problem_answered", id=item.id)
    ctx.edit("problem.reopened_reporter", id=item.id)
    _tell_triagers(ctx, _report(ctx, item.id), "problem.reopened")


_ACTIONS: dict[str, Callable[[Context, ProblemReport], None]] = {
    "accept": _accept, "assign": _assign, "resolve": _resolve, "reject": _reject,
    "yes": _confirmed, "no": _not_solved}


def close_all(scope: Scope, person_id: int) -> None:
    """Erasure: reports still being handled are closed and those who triage them told."""
    for item in problems.open_of(scope.session, person_id):
        if problems.move(scope.session, item.id, (*PROBLEM_PENDING, ProblemStatus.RESOLVED),
                         ProblemStatus.CLOSED, scope.now):
            timers.cancel(scope.session, ("problem_followup",), str(item.id))
            for triager in _triagers(scope, item.branch_id):
                scope.tell(triager, "problem.closed_by_erasure", id=item.id)


# The report's text is the reporter's words; the secretary's note on it stays.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("reports", ProblemReport, "reporter_id", ("text",), Erase.BLANK,
                 close=close_all),
    Reference(ProblemReport, "assignee_id"),
]


SUBCOMMANDS = {"list": list_open}

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("report", report, takes=free_text)],
    buttons=[On(ProblemButton, button)],
    forms=[ASSIGN, RESOLVE, REJECT],
    timers={"problem_followup": follow_up},
)
