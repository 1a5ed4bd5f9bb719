"""亮身份 / 报到: a member registers with the branch where they live; the secretary verifies.

The registration is a private dialog (name, building, kind, 在册 or not, skills). Started in
a group, the bot answers with a link to continue privately, so nobody's details land in the
group. The branch's secretaries get 核实 / 驳回 buttons; the member is told the outcome.
"""

from __future__ import annotations

from handlers.context import Btn, Context
from handlers.errors import DomainError
from handlers.i18n import L
from handlers.roles import Role, home_branch, require, require_branch
from handlers.router import Command, Feature, int_arg
from handlers.text import clean_field
from storage import dialogs, orgs, people
from storage.models import Branch, Dialog, MemberProfile

DIALOG = "iam"
KINDS = ("employed", "retired", "mobile", "other")
MAX_SKILLS = 200


def register(ctx: Context, _args: str) -> None:
    """Start registering; from a group, point to a private chat."""
    if ctx.in_group:
        group_branch = require_branch(ctx)
        ctx.reply("iam.continue_privately",
                  [[Btn.of("iam.button.continue", start_payload=f"iam_{group_branch.id}")]],
                  branch=group_branch.name)
        return
    own_branch = home_branch(ctx)
    if own_branch is None:
        raise DomainError("iam_needs_group")
    _begin(ctx, own_branch)


def register_from_link(ctx: Context, payload: str) -> None:
    """The deep link from a group: register with that group's branch."""
    branch_id = int_arg(payload.split("_"), 1, "bad_start_payload")
    branch = orgs.branch(ctx.session, branch_id)
    if branch is None:
        raise DomainError("bad_start_payload")
    _begin(ctx, branch)


def _begin(ctx: Context, branch: Branch) -> None:
    dialogs.start(ctx.session, ctx.person.id, DIALOG, "name", {"branch_id": branch.id}, ctx.now)
    ctx.reply("iam.ask_name", branch=branch.name, limit=ctx.rules.max_name_length)


def answer(ctx: Context, text: str) -> None:
    """The next answer in the registration dialog."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    assert dialog is not None
    if dialog.step == "name":
        name = clean_field(text, ctx.rules.max_name_length, "name")
        dialogs.advance(ctx.session, dialog, "building", ctx.now, name=name)
        ctx.reply("iam.ask_building", limit=ctx.rules.max_field_length)
    elif dialog.step == "building":
        building = clean_field(text, ctx.rules.max_field_length, "building")
        dialogs.advance(ctx.session, dialog, "kind", ctx.now, building=building)
        _ask_kind(ctx)
    elif dialog.step == "kind":
        _take_kind(ctx, _choice(ctx, text, {k: f"kind.{k}" for k in KINDS}))
    elif dialog.step == "registered":
        _take_registered(ctx, _choice(ctx, text, {"yes": "registered.yes",
                                                  "no": "registered.no"}))
    elif dialog.step == "skills":
        _submit(ctx, clean_field(text, MAX_SKILLS, "skills"))


def _choice(ctx: Context, text: str, options: dict[str, str]) -> str:
    """The option whose label (in either language) or number the person typed."""
    typed = text.strip()
    for number, (code, key) in enumerate(options.items(), start=1):
        labels = {ctx.catalogs.get(lang)(key) for lang in ("zh_CN", "en")}
        if typed == str(number) or typed.casefold() in {label.casefold() for label in labels}:
            return code
    raise DomainError("pick_an_option")


def _ask_kind(ctx: Context) -> None:
    ctx.reply("iam.ask_kind", [[Btn.of(f"kind.{k}", f"iam:kind:{k}") for k in KINDS]])


def _take_kind(ctx: Context, kind: str) -> None:
    dialog = _dialog_at(ctx, "kind")
    dialogs.advance(ctx.session, dialog, "registered", ctx.now, kind=kind)
    ctx.reply("iam.ask_registered", [[Btn.of("registered.yes", "iam:registered:yes"),
                                      Btn.of("registered.no", "iam:registered:no")]])


def _take_registered(ctx: Context, registered: str) -> None:
    dialog = _dialog_at(ctx, "registered")
    dialogs.advance(ctx.session, dialog, "skills", ctx.now, registered=registered == "yes")
    ctx.reply("iam.ask_skills", [[Btn.of("iam.button.no_skills", "iam:skills:-")]])


def _dialog_at(ctx: Context, step: str) -> Dialog:
    dialog = dialogs.current(ctx.session, ctx.person.id)
    if dialog is None or dialog.name != DIALOG or dialog.step != step:
        raise DomainError("button_expired")
    return dialog


def wizard_button(ctx: Context, args: list[str]) -> None:
    """A button pressed inside the registration dialog."""
    step, value = [*args, "", ""][:2]
    if step == "kind" and value in KINDS:
        _take_kind(ctx, value)
    elif step == "registered" and value in {"yes", "no"}:
        _take_registered(ctx, value)
    elif step == "skills":
        _dialog_at(ctx, "skills")
        _submit(ctx, "")
    else:
        raise DomainError("button_expired")


def _submit(ctx: Context, skills: str) -> None:
    dialog = _dialog_at(ctx, "skills")
    data = dialog.data
    fields = {"name": data["name"], "building": data["building"], "kind": data["kind"],
              "registered_here": data["registered"], "skills": skills}
    profile, needs_check = people.save_profile(ctx.session, ctx.person.id, data["branch_id"],
                                               fields, ctx.now)
    dialogs.finish(ctx.session, ctx.person.id)
    if not needs_check:
        ctx.reply("iam.updated")
        return
    branch = orgs.branch(ctx.session, profile.branch_id)
    assert branch is not None
    told = _ask_approvers(ctx, profile, branch)
    ctx.reply("iam.submitted" if told else "iam.submitted_no_secretary", branch=branch.name)


def _ask_approvers(ctx: Context, profile: MemberProfile, branch: Branch) -> int:
    """Send the registration to the branch's secretaries (else the community's admins)."""
    approvers = (people.holders(ctx.session, "secretary", branch_id=branch.id)
                 or people.holders(ctx.session, "community_admin",
                                   community_id=branch.community_id)
                 or people.global_admins(ctx.session))
    keyboard = [[Btn.of("iam.button.verify", f"verify:{profile.id}"),
                 Btn.of("iam.button.reject", f"reject:{profile.id}")]]
    told = 0
    for person_id in approvers:
        told += ctx.tell(person_id, "iam.review", keyboard, **_card(profile, branch))
    return told


def _card(profile: MemberProfile, branch: Branch) -> dict[str, object]:
    return {"name": profile.name, "building": profile.building, "branch": branch.name,
            "kind": L(f"kind.{profile.kind}"),
            "registered": L("registered.yes" if profile.registered_here else "registered.no"),
            "skills": profile.skills or L("iam.no_skills")}


def verify(ctx: Context, args: list[str]) -> None:
    """核实: the secretary confirms a registration."""
    _decide(ctx, int_arg(args, 0), "verified")


def reject(ctx: Context, args: list[str]) -> None:
    """驳回: the secretary turns a registration down."""
    _decide(ctx, int_arg(args, 0), "rejected")


def _decide(ctx: Context, profile_id: int, status: str) -> None:
    found = people.branch_of_profile(ctx.session, profile_id)
    if found is None:
        raise DomainError("button_expired")
    profile, branch = found
    require(ctx, Role.SECRETARY, branch)
    if not people.decide_profile(ctx.session, profile_id, status, ctx.person.id, ctx.now):
        raise DomainError("already_decided", status=L(f"status.{profile.status}"))
    ctx.edit(f"iam.decided.{status}", **_card(profile, branch))
    ctx.tell(profile.person_id, f"iam.outcome.{status}", branch=branch.name)


def roster(ctx: Context, _args: str) -> None:
    """The branch's members with their verification state, sent privately to the secretary."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    rows = people.roster(ctx.session, branch.id)
    lines = [ctx.t("members.line", number=n, status=L(f"status.{p.status}"),
                   **_card(p, branch)) for n, p in enumerate(rows, start=1)]
    body = "\n".join(lines) if lines else ctx.t("members.empty")
    ctx.reply_private("members.list", branch=branch.name, count=len(rows), lines=body)
    if ctx.in_group:
        ctx.reply("members.sent_privately")


FEATURE = Feature(
    commands=[Command("iam", register), Command("members", roster, role=Role.SECRETARY)],
    buttons={"iam": wizard_button, "verify": verify, "reject": reject},
    dialogs={DIALOG: answer},
    start_payloads={"iam": register_from_link},
)
