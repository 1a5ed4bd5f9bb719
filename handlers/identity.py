"""亮身份 / 报到: a member registers with the branch where they live; the secretary verifies.

The registration is a private form (name, building, kind, 在册 or not, skills). Started in
a group, it opens in the person's private chat, so nobody's details land in the group.
The branch's secretaries get 核实 / 驳回 buttons; the member is told the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers import forms
from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.i18n import Phrase
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, home_branch, require, require_branch
from handlers.router import Command, Feature, On
from handlers.text import clean_field
from storage import orgs, people
from storage.models import Branch, MemberProfile, MemberStatus

KINDS = ("employed", "retired", "mobile", "other")
MAX_SKILLS = 200
Data = dict[str, Any]


def register(ctx: Context, _args: str) -> None:
    """Start registering, in the private chat: with the group's branch, else one's own."""
    branch = require_branch(ctx) if ctx.in_group else home_branch(ctx)
    if branch is None:
        raise DomainError("iam_needs_group")
    forms.start(ctx, FORM, {"branch_id": branch.id})


@dataclass(frozen=True)
class RegisterLink(StartPayload, prefix="iam"):
    """The deep link from a group: register with that group's branch."""

    branch_id: int


@dataclass(frozen=True)
class Verify(ButtonData, prefix="verify"):
    """核实: the secretary confirms a registration."""

    profile_id: int


@dataclass(frozen=True)
class Reject(ButtonData, prefix="reject"):
    """驳回: the secretary turns a registration down."""

    profile_id: int


def register_from_link(ctx: Context, link: RegisterLink) -> None:
    """The deep link from a group: register with that group's branch."""
    branch = orgs.branch(ctx.session, link.branch_id)
    if branch is None:
        raise DomainError("bad_start_payload")
    forms.start(ctx, FORM, {"branch_id": branch.id})


def _ask_name(ctx: Context, data: Data) -> Prompt:
    branch = orgs.branch(ctx.session, data["branch_id"])
    return "iam.ask_name", {"branch": branch.name if branch else "",
                            "limit": ctx.rules.max_name_length}


def _name(ctx: Context, text: str, _data: Data) -> Data:
    return {"name": clean_field(text, ctx.rules.max_name_length, "name")}


def _building(ctx: Context, text: str, _data: Data) -> Data:
    return {"building": clean_field(text, ctx.rules.max_field_length, "building")}


def _skills(_ctx: Context, text: str, _data: Data) -> Data:
    return {"skills": clean_field(text, MAX_SKILLS, "skills")}


def _submit(ctx: Context, data: Data) -> None:
    fields = {"name": data["name"], "building": data["building"], "kind": data["kind"],
              "registered_here": data["registered"] == "yes", "skills": data["skills"]}
    profile, needs_check = people.save_profile(ctx.session, ctx.person.id, data["branch_id"],
                                               fields, ctx.now)
    if not needs_check:
        forms.done(ctx, "iam.updated")
        return
    branch = orgs.branch(ctx.session, profile.branch_id)
    assert branch is not None
    told = _ask_approvers(ctx, profile, branch)
    forms.done(ctx, "iam.submitted" if told else "iam.submitted_no_secretary",
               branch=branch.name)


FORM = Form("iam", "form.title.iam", (
    Step("name", _ask_name, _name),
    Step("building", lambda c, _d: ("iam.ask_building", {"limit": c.rules.max_field_length}),
         _building),
    Step("kind", "iam.ask_kind", options=lambda _c, _d: [Option(k, f"kind.{k}") for k in KINDS],
         show=lambda _c, d: Phrase(f"kind.{d['kind']}")),
    Step("registered", "iam.ask_registered",
         options=lambda _c, _d: [Option("yes", "registered.yes"), Option("no", "registered.no")],
         show=lambda _c, d: Phrase(f"registered.{d['registered']}")),
    Step("skills", "iam.ask_skills", _skills, skip="iam.button.no_skills"),
), _submit, submit_label="iam.button.submit")


def _ask_approvers(ctx: Context, profile: MemberProfile, branch: Branch) -> int:
    """Send the registration to the branch's secretaries (else the community's admins)."""
    approvers = (people.holders(ctx.session, "secretary", branch_id=branch.id)
                 or people.holders(ctx.session, "community_admin",
                                   community_id=branch.community_id)
                 or people.global_admins(ctx.session))
    keyboard = [[ButtonSpec.of("iam.button.verify", Verify(profile.id)),
                 ButtonSpec.of("iam.button.reject", Reject(profile.id))]]
    told = 0
    for person_id in approvers:
        told += ctx.tell(person_id, "iam.review", keyboard, **_card(profile, branch))
    return told


def _card(profile: MemberProfile, branch: Branch) -> dict[str, object]:
    return {"name": profile.name, "building": profile.building, "branch": branch.name,
            "kind": Phrase(f"kind.{profile.kind}"),
            "registered": Phrase("registered.yes" if profile.registered_here else "registered.no"),
            "skills": profile.skills or Phrase("iam.no_skills")}


def verify(ctx: Context, tapped: Verify) -> None:
    """核实: the secretary confirms a registration."""
    _decide(ctx, tapped.profile_id, MemberStatus.VERIFIED)


def reject(ctx: Context, tapped: Reject) -> None:
    """驳回: the secretary turns a registration down."""
    _decide(ctx, tapped.profile_id, MemberStatus.REJECTED)


def _decide(ctx: Context, profile_id: int, status: MemberStatus) -> None:
    found = people.branch_of_profile(ctx.session, profile_id)
    if found is None:
        raise DomainError("button_expired")
    profile, branch = found
    require(ctx, Role.SECRETARY, branch)
    if not people.decide_profile(ctx.session, profile_id, status, ctx.person.id, ctx.now):
        raise DomainError("already_decided", status=Phrase(f"status.{profile.status}"))
    ctx.edit(f"iam.decided.{status}", **_card(profile, branch))
    ctx.tell(profile.person_id, f"iam.outcome.{status}", branch=branch.name)


def roster(ctx: Context, _args: str) -> None:
    """The branch's members with their verification state, sent privately to the secretary."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    rows = people.roster(ctx.session, branch.id)
    lines = [ctx.t("members.line", number=n, status=Phrase(f"status.{p.status}"),
                   **_card(p, branch)) for n, p in enumerate(rows, start=1)]
    body = "\n".join(lines) if lines else ctx.t("members.empty")
    ctx.reply_private("members.list", branch=branch.name, count=len(rows), lines=body)


# 亮身份: who the member is. The secretary who decided stays a reference.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("name", MemberProfile, "person_id", ("name",), shown="name"),
    PersonalData("building", MemberProfile, "person_id", ("building",), shown="building"),
    PersonalData("skills", MemberProfile, "person_id", ("skills", "kind", "registered_here"),
                 shown="skills"),
    # A change waiting for the secretary, and the reason given with a refusal.
    PersonalData("pending_change", MemberProfile, "person_id",
                 ("pending_change", "decision_note")),
    Reference(MemberProfile, "decided_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("iam", register), Command("members", roster, role=Role.SECRETARY)],
    buttons=[On(Verify, verify), On(Reject, reject)],
    forms=[FORM],
    start_payloads=[On(RegisterLink, register_from_link)],
)
