"""Help requests and problem reports on the web desk: the open requests with 我来帮忙, the
ones the person is helping with (and only there the requester's contact details), their own
requests with 撤销; the secretary's open problem reports with the triage buttons. The buttons
are the chat's own (handlers/help_requests.py, handlers/problems.py), pressed by the desk."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Context
from handlers.help_requests import AskButton, request_card
from handlers.problems import ProblemButton, triage_keyboard
from handlers.roles import Role, require_branch, role_in
from storage import help_requests, people, problems
from storage.models import Branch, HelpRequest, HelpStatus

# Triage buttons that open a private dialog (who, or a note): their answer is a page.
ASKS_MORE = ("assign", "resolve", "reject")


@dataclass(frozen=True)
class Press:
    """A chat button on a page: its label, its data, and whether it asks something next."""

    label: str
    data: str
    asks: bool = False


@dataclass(frozen=True)
class RequestRow:
    """A help request as the card shows it; `contact` only for the one who took it."""

    id: int
    category: str
    building: str
    text: str
    state: str
    requester: str = ""
    contact: str = ""
    buttons: tuple[Press, ...] = ()


@dataclass(frozen=True)
class Requests:
    branch: Branch
    queue: list[RequestRow]
    helping: list[RequestRow]
    mine: list[RequestRow]
    member: bool


def requests(ctx: Context) -> Requests:
    """求助 as a page: the branch's open requests for members (as `求助 列表`), the ones the
    person took, and the person's own."""
    branch = require_branch(ctx)
    member = role_in(ctx, ctx.person.id, branch) >= Role.MEMBER
    queue = []
    if member:
        # The person's own requests, and those they are helping with, have sections of their own.
        for request in help_requests.open_of_branch(ctx.session, branch.id):
            if ctx.person.id in (request.requester_id, request.helper_id):
                continue
            takes = request.status == HelpStatus.OPEN
            queue.append(_row(ctx, request, _press(ctx, "ask.button.take",
                                                   AskButton("take", request.id))
                              if takes else ()))
    helping = [_row(ctx, r, _press(ctx, "ask.button.done", AskButton("done", r.id)),
                    private=True)
               for r in help_requests.held_by(ctx.session, ctx.person.id)]
    mine = [_row(ctx, r, _press(ctx, "ask.button.cancel", AskButton("cancel", r.id)))
            for r in help_requests.active_of(ctx.session, ctx.person.id)]
    return Requests(branch, queue, helping, mine, member)


def _row(ctx: Context, request: HelpRequest, buttons: tuple[Press, ...],
         private: bool = False) -> RequestRow:
    _key, _keyboard, params = request_card(ctx, request)
    requester = people.shown_name(ctx.session, request.requester_id, request.branch_id) \
        if private else ""
    return RequestRow(request.id, ctx.t(f"ask.category.{request.category}"), request.building,
                      request.text, ctx.t.words(params["state"]), requester,
                      request.contact if private else "", buttons)


def _press(ctx: Context, key: str, data: AskButton) -> tuple[Press, ...]:
    return (Press(ctx.t(key), data.pack()),)



# ---------------------------------------------------------------- 反映


@dataclass(frozen=True)
class ReportRow:
    id: int
    text: str
    status: str
    reporter: str
    assignee: str
    buttons: tuple[Press, ...]


def reports(ctx: Context, branch: Branch) -> list[ReportRow]:
    """`反映 列表` as a page (the secretary's, checked by the caller): open reports with the
    chat's triage buttons."""
    rows = []
    for item in problems.open_of_branch(ctx.session, branch.id):
        buttons = tuple(Press(spec.render(ctx.t).label, spec.data,
                              ProblemButton.unpack(spec.data).action in ASKS_MORE)
                        for line in triage_keyboard(item) for spec in line if spec.data)
        rows.append(ReportRow(
            item.id, item.text, ctx.t(f"problem.status.{item.status}"),
            people.shown_name(ctx.session, item.reporter_id, item.branch_id),
            people.shown_name(ctx.session, item.assignee_id, item.branch_id)
            if item.assignee_id else "", buttons))
    return rows
