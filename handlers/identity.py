"""亮身份 / 报到: a member registers with the branch where they live; the secretary verifies.

The registration is a private form (name, building, kind, 在册 or not, skills). Started in
a group, it opens in the person's private chat, so nobody's details land in the group.
The branch's secretaries get 核实 / 驳回 buttons; the member is told the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers import forms
from handlers.addressing import first_word, subcommands
from handlers.context import ButtonSpec, Context, Keyboard
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.fuzzy import best_matches
from handlers.i18n import Phrase
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, home_branch, require, require_branch
from handlers.router import Command, Feature, On, run_subcommand
from handlers.text import clean_field
from storage import orgs, people
from storage.models import Branch, MemberProfile, MemberStatus

KINDS = ("employed", "retired", "mobile", "other")
MAX_SKILLS = 200
MAX_REASON = 100
MAX_CODE_DIGITS = 9
# Branches offered to choose from at 亮身份 one to one (beyond, the printed 报到码).
MAX_BRANCHES_OFFERED = 20
Data = dict[str, Any]


def register(ctx: Context, _args: str) -> None:
    """Start registering, in the private chat: with the group's branch, else one's own."""
    branch = require_branch(ctx) if ctx.in_group else home_branch(ctx)
    if branch is None:
        _offer_branches(ctx)
        return
    forms.start(ctx, FORM, {"branch_id": branch.id})


def _offer_branches(ctx: Context) -> None:
    """One to one with several branches (WeChat has no groups): choose where one lives."""
    branches = orgs.branches(ctx.session)
    if not branches:
        raise DomainError("iam_no_branch")
    ctx.reply("iam.choose_branch", [[ButtonSpec.of("iam.button.branch", name=b.name,
                                                   start_payload=RegisterLink(b.id))]
                                    for b in branches[:MAX_BRANCHES_OFFERED]])


def registration_code(ctx: Context, _args: str) -> None:
    """报到码: the branch's code to print; scanning it starts 亮身份 with this branch."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    ctx.reply_private("iam.code_caption", branch=branch.name)
    ctx.outbox[-1].qr_payload = RegisterLink(branch.id).pack()


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
    if profile.pending_change is not None:
        forms.done(ctx, "iam.change_submitted", branch=branch.name)
        return
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


def _approvers(ctx: Context, branch: Branch) -> list[int]:
    """Who decides the sender's registration: the branch's secretaries, but never the
    applicant; a secretary's own goes to the community's admins (else the deployer's)."""
    me = ctx.person.id
    secretaries = people.holders(ctx.session, "secretary", branch_id=branch.id)
    admins = people.holders(ctx.session, "community_admin", community_id=branch.community_id)
    chosen = [] if me in secretaries else secretaries
    for group in (chosen, admins, people.global_admins(ctx.session)):
        others = [p for p in group if p != me]
        if others:
            return others
    return []


def _ask_approvers(ctx: Context, profile: MemberProfile, branch: Branch) -> int:
    """Send the registration (or a verified member's change) to those who decide it."""
    key, keyboard, params = review_card(profile, branch)
    told = 0
    for person_id in _approvers(ctx, branch):
        told += ctx.tell(person_id, key, keyboard, **params)
    return told


def review_card(profile: MemberProfile, branch: Branch) -> tuple[str, Keyboard, dict[str, object]]:
    keyboard = [[ButtonSpec.of("iam.button.verify", Verify(profile.id)),
                 ButtonSpec.of("iam.button.reject", Reject(profile.id))]]
    key = "iam.review_change" if profile.pending_change is not None else "iam.review"
    return key, keyboard, {**_card(profile, branch, proposed=True), "code": profile.id}


def _card(profile: MemberProfile, branch: Branch, *,
          proposed: bool = False) -> dict[str, object]:
    """What is shown of a registration; with `proposed`, a pending change as it would be."""
    shown: dict[str, Any] = {"name": profile.name, "building": profile.building,
                             "kind": profile.kind, "registered_here": profile.registered_here,
                             "skills": profile.skills}
    if proposed and profile.pending_change:
        shown.update(profile.pending_change)
    return {"name": shown["name"], "building": shown["building"], "branch": branch.name,
            "kind": Phrase(f"kind.{shown['kind']}"),
            "registered": Phrase("registered.yes" if shown["registered_here"]
                                 else "registered.no"),
            "skills": shown["skills"] or Phrase("iam.no_skills")}


def verify(ctx: Context, tapped: Verify) -> None:
    """核实: the secretary confirms a registration (or a verified member's change)."""
    _decide(ctx, tapped.profile_id, MemberStatus.VERIFIED)


def reject(ctx: Context, tapped: Reject) -> None:
    """驳回: asks the reason first, which the applicant receives."""
    profile, _branch = _reviewable(ctx, tapped.profile_id)
    forms.start(ctx, REJECT_FORM, {"profile_id": profile.id, "name": profile.name})


def _reviewable(ctx: Context, profile_id: int) -> tuple[MemberProfile, Branch]:
    """A registration the sender may decide, still undecided."""
    found = people.branch_of_profile(ctx.session, profile_id)
    if found is None:
        raise DomainError("button_expired")
    profile, branch = found
    require(ctx, Role.SECRETARY, branch)
    if profile.person_id == ctx.person.id:
        raise DomainError("own_application")
    if profile.status != MemberStatus.PENDING and profile.pending_change is None:
        raise DomainError("already_decided", status=Phrase(f"status.{profile.status}"))
    return profile, branch


def verify_by_code(ctx: Context, args: str) -> None:
    """`核实 3`: the registration whose card says 编号 3, at any time."""
    code, _rest = _code_of(args, "verify_usage")
    _decide(ctx, code, MemberStatus.VERIFIED)


def reject_by_code(ctx: Context, args: str) -> None:
    """`驳回 3 原因`: turn down the registration numbered 3; without a reason, ask for it."""
    code, reason = _code_of(args, "reject_usage")
    profile, _branch = _reviewable(ctx, code)
    if not reason:
        forms.start(ctx, REJECT_FORM, {"profile_id": profile.id, "name": profile.name})
        return
    _decide(ctx, profile.id, MemberStatus.REJECTED, _reason(ctx, reason, {})["reason"])


def _code_of(args: str, usage: str) -> tuple[int, str]:
    """The card's number first, then the rest of the words."""
    first, _, rest = args.strip().partition(" ")
    if not (first.isascii() and first.isdigit() and len(first) <= MAX_CODE_DIGITS):
        raise DomainError(usage)
    return int(first), rest.strip()


def _rejected(ctx: Context, data: Data) -> None:
    _decide(ctx, data["profile_id"], MemberStatus.REJECTED, data["reason"])


def _reason(_ctx: Context, text: str, _data: Data) -> Data:
    return {"reason": clean_field(text, MAX_REASON, "reason")}


REJECT_FORM = Form("iam_reject", "form.title.iam_reject", (
    Step("reason", lambda _c, d: ("iam.ask_reject_reason", {"name": d["name"]}), _reason),
), _rejected)


def _decide(ctx: Context, profile_id: int, status: MemberStatus, reason: str = "") -> None:
    profile, branch = _reviewable(ctx, profile_id)
    change = profile.pending_change is not None
    card = _card(profile, branch, proposed=True)
    if not people.decide_profile(ctx.session, profile_id, status, ctx.person.id, ctx.now,
                                 reason):
        raise DomainError("already_decided", status=Phrase(f"status.{profile.status}"))
    forms.done(ctx, f"iam.decided.{status}", **card, reason=reason)
    outcome = f"iam.outcome.{'change_' if change else ''}{status}"
    ctx.tell(profile.person_id, outcome, branch=branch.name, reason=reason)


def awaiting(ctx: Context, _args: str) -> None:
    """待核实: every registration and change still to decide, each with its buttons."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    rows = [p for p in people.awaiting_review(ctx.session, branch.id)
            if p.person_id != ctx.person.id]
    if not rows:
        ctx.reply_private("iam.none_waiting", branch=branch.name)
        return
    ctx.reply_private("iam.waiting", branch=branch.name, count=len(rows))
    for profile in rows:
        key, keyboard, params = review_card(profile, branch)
        ctx.reply_private(key, keyboard, **params)


def roster(ctx: Context, _args: str) -> None:
    """The branch's members with their verification state, sent privately to the secretary."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    rows = people.roster(ctx.session, branch.id)
    lines = [ctx.t("members.line", number=n, status=Phrase(f"status.{p.status}"),
                   role=_role_tag(ctx, p.person_id, branch), **_card(p, branch))
             for n, p in enumerate(rows, start=1)]
    body = "\n".join(lines) if lines else ctx.t("members.empty")
    ctx.reply_private("members.list", branch=branch.name, count=len(rows), lines=body)


def _role_tag(ctx: Context, person_id: int, branch: Branch) -> object:
    """"（楼栋长）" after the name of someone holding a role in the branch."""
    held = {g.role for g in people.grants_of(ctx.session, person_id)
            if g.branch_id == branch.id}
    for role in ("secretary", "building_leader"):
        if role in held:
            return Phrase.of("members.role_tag", role=Phrase(f"role.{role}"))
    return ""


# ---------------------------------------------------------------- 党员 修改 / 迁出


@dataclass(frozen=True)
class EditMember(ButtonData, prefix="memberedit"):
    """The member picked for 党员 修改."""

    profile_id: int


@dataclass(frozen=True)
class MoveMember(ButtonData, prefix="membermove"):
    """The member picked for 党员 迁出."""

    profile_id: int


def member(ctx: Context, args: str) -> None:
    """`党员 修改 <姓名>` (building, kind) and `党员 迁出 <姓名>`."""
    if not run_subcommand(ctx, args, MEMBER_SUBCOMMANDS, "member"):
        raise DomainError("member_usage")


def _find(ctx: Context, name: str,
          action: type[EditMember] | type[MoveMember]) -> MemberProfile | None:
    """The branch's member called `name` (fuzzy); None after asking which one."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    if not name.strip():
        raise DomainError("member_usage")
    rows = {p.id: p for p in people.roster(ctx.session, branch.id)
            if p.status == MemberStatus.VERIFIED}
    fits = best_matches(name, {i: p.name for i, p in rows.items()})
    if not fits:
        raise DomainError("unknown_member", name=name[:30])
    if len(fits) == 1:
        return rows[fits[0]]
    ctx.reply("members.which", [[ButtonSpec.of("members.button.pick", action(i),
                                               name=rows[i].name, building=rows[i].building)]
                                for i in fits[:8]])
    return None


def _picked_member(ctx: Context, profile_id: int) -> MemberProfile:
    found = people.branch_of_profile(ctx.session, profile_id)
    if found is None or found[0].status != MemberStatus.VERIFIED:
        raise DomainError("button_expired")
    require(ctx, Role.SECRETARY, found[1])
    return found[0]


def edit_member(ctx: Context, args: str) -> None:
    profile = _find(ctx, args, EditMember)
    if profile is not None:
        _start_edit(ctx, profile)


def edit_button(ctx: Context, tapped: EditMember) -> None:
    _start_edit(ctx, _picked_member(ctx, tapped.profile_id))


def _start_edit(ctx: Context, profile: MemberProfile) -> None:
    forms.start(ctx, EDIT_FORM, {"profile_id": profile.id, "name": profile.name,
                                 "building": profile.building, "kind": profile.kind})


def _edited(ctx: Context, data: Data) -> None:
    profile = _picked_member(ctx, data["profile_id"])
    profile.building, profile.kind = data["building"], data["kind"]
    forms.done(ctx, "members.edited", name=profile.name, building=profile.building,
               kind=Phrase(f"kind.{profile.kind}"))


EDIT_FORM = Form("member_edit", "form.title.member_edit", (
    Step("building", lambda c, _d: ("iam.ask_building", {"limit": c.rules.max_field_length}),
         _building),
    Step("kind", "iam.ask_kind", options=lambda _c, _d: [Option(k, f"kind.{k}") for k in KINDS],
         show=lambda _c, d: Phrase(f"kind.{d['kind']}")),
), _edited, submit_label="members.button.save")


def move_member(ctx: Context, args: str) -> None:
    profile = _find(ctx, args, MoveMember)
    if profile is not None:
        _move(ctx, profile)


def move_button(ctx: Context, tapped: MoveMember) -> None:
    _move(ctx, _picked_member(ctx, tapped.profile_id))


def _move(ctx: Context, profile: MemberProfile) -> None:
    people.move_away(ctx.session, profile, ctx.now)
    ctx.reply("members.moved", name=profile.name)


MEMBER_SUBCOMMANDS = {"edit": edit_member, "move": move_member}

# 亮身份: who the member is. The secretary who decided stays a reference.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("name", MemberProfile, "person_id", ("name",), shown="name"),
    PersonalData("building", MemberProfile, "person_id", ("building",), shown="building"),
    # Skills are optional: listed only when given (an empty line would say "1 条" of nothing).
    PersonalData("skills", MemberProfile, "person_id", ("skills",), shown="skills",
                 only_held=True),
    PersonalData("kind", MemberProfile, "person_id", ("kind", "registered_here"), shown="kind",
                 shown_as="kind.{}"),
    # A change waiting for the secretary, and the reason given with a refusal: listed only
    # while they hold something (erasing deletes the profile with the name).
    PersonalData("pending_change", MemberProfile, "person_id", ("pending_change",),
                 only_held=True),
    PersonalData("decision_note", MemberProfile, "person_id", ("decision_note",),
                 shown="decision_note", only_held=True),
    Reference(MemberProfile, "decided_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("iam", register), Command("members", roster, role=Role.SECRETARY),
              Command("pending", awaiting, role=Role.SECRETARY),
              Command("regcode", registration_code, role=Role.SECRETARY),
              Command("verify", verify_by_code, role=Role.SECRETARY, in_menu=False,
                      takes=first_word(r"\d{1,9}")),
              Command("reject", reject_by_code, role=Role.SECRETARY, in_menu=False,
                      takes=first_word(r"\d{1,9}")),
              Command("member", member, role=Role.SECRETARY, takes=subcommands("member"))],
    buttons=[On(Verify, verify), On(Reject, reject), On(EditMember, edit_button),
             On(MoveMember, move_button)],
    forms=[FORM, REJECT_FORM, EDIT_FORM],
    start_payloads=[On(RegisterLink, register_from_link)],
)
