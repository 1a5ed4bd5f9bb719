"""Setting up the organisation in chat: communities, branches, binding a group, giving roles.

The first community admin is granted from the command line; from then on roles are given in
chat by those above: an admin names secretaries, a secretary names building leaders.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.i18n import Phrase
from handlers.mentions import target_account
from handlers.payloads import ButtonData
from handlers.personal import PersonalData, Reference
from handlers.roles import GRANTABLE, Role, home_branch, require, role_in
from handlers.router import Command, Feature, On, normalize, subcommand
from handlers.text import clean_field
from storage import orgs, people
from storage.models import Account, Branch, Community, RoleGrant

MATCH_CUTOFF = 60
MAX_WORD_SHOWN = 20


def community(ctx: Context, args: str) -> None:
    """`/community new <name>` (deployment admin), or list the communities."""
    action, _, name = args.partition(" ")
    if action.lower() == "new":
        require(ctx, Role.COMMUNITY_ADMIN, None)
        if not _is_global_admin(ctx):
            raise DomainError("role_required", role="global_admin")
        name = clean_field(name, ctx.rules.max_field_length, "community")
        if orgs.community_by_name(ctx.session, name) is not None:
            raise DomainError("community_exists", name=name)
        orgs.create_community(ctx.session, name)
        ctx.reply("community.created", name=name)
        return
    names = "\n".join(c.name for c in _my_communities(ctx)) or ctx.t("community.none")
    ctx.reply("community.list", names=names)


def branch(ctx: Context, args: str) -> None:
    """`/branch new <name>` or `/branch new <community>/<name>` (community admin)."""
    action, _, rest = args.partition(" ")
    if action.lower() != "new":
        _list_branches(ctx)
        return
    home, _, name = rest.rpartition("/")
    target = _community_for_new_branch(ctx, home.strip())
    name = clean_field(name, ctx.rules.max_field_length, "branch")
    if any(b.name == name for b in orgs.branches(ctx.session, target.id)):
        raise DomainError("branch_exists", name=name)
    orgs.create_branch(ctx.session, target.id, name)
    ctx.reply("branch.created", name=name, community=target.name)


def _community_for_new_branch(ctx: Context, named: str) -> Community:
    mine = _my_communities(ctx)
    if not mine:
        raise DomainError("role_required" if not _is_global_admin(ctx) else "no_community",
                          role="community_admin")
    if named:
        found = [c for c in mine if c.name == named]
        if not found:
            raise DomainError("unknown_community", name=named)
        return found[0]
    if len(mine) > 1:
        raise DomainError("which_community", names=ctx.t("list.separator").join(
            c.name for c in mine))
    return mine[0]


def _list_branches(ctx: Context) -> None:
    lines = [ctx.t("branch.line", name=b.name, community=c.name)
             for c in _my_communities(ctx) for b in orgs.branches(ctx.session, c.id)]
    ctx.reply("branch.list", lines="\n".join(lines) or ctx.t("branch.none"))


def _is_global_admin(ctx: Context) -> bool:
    return ctx.person.id in people.global_admins(ctx.session)


def _my_communities(ctx: Context) -> list[Community]:
    """The communities the sender administers."""
    if _is_global_admin(ctx):
        return list(orgs.communities(ctx.session))
    ids = {g.community_id for g in people.grants_of(ctx.session, ctx.person.id)
           if g.role == "community_admin"}
    return [c for c in orgs.communities(ctx.session) if c.id in ids]


def bind(ctx: Context, args: str) -> None:
    """Bind this group to a branch the sender runs (secretary or admin)."""
    if not ctx.in_group:
        raise DomainError("bind_in_group")
    allowed = _bindable(ctx)
    if not allowed:
        raise DomainError("role_required", role="secretary")
    chosen = _pick_branch(allowed, args.strip())
    if chosen is None:
        ctx.announce("bind.which", [[ButtonSpec.of("bind.button", Bind(b.id), name=b.name)]
                                    for b in allowed[:10]])
        return
    _bind_to(ctx, chosen)


@dataclass(frozen=True)
class Bind(ButtonData, prefix="bind"):
    """A branch chosen from the list `/bind` offered."""

    branch_id: int


def bind_button(ctx: Context, tapped: Bind) -> None:
    """A branch chosen from the list `/bind` offered."""
    chosen = [b for b in _bindable(ctx) if b.id == tapped.branch_id]
    if not chosen:
        raise DomainError("not_your_button")
    _bind_to(ctx, chosen[0], edit=True)


def _bindable(ctx: Context) -> list[Branch]:
    return [b for b in orgs.branches(ctx.session)
            if role_in(ctx, ctx.person.id, b) >= Role.SECRETARY]


def _pick_branch(allowed: list[Branch], wanted: str) -> Branch | None:
    """The branch named (exactly, else the one clear fuzzy match); None means ask."""
    if not wanted:
        return allowed[0] if len(allowed) == 1 else None
    exact = [b for b in allowed if b.name == wanted]
    if exact:
        return exact[0]
    names = {b.id: normalize(b.name) for b in allowed}
    scored = process.extract(normalize(wanted), names, scorer=fuzz.partial_ratio,
                             score_cutoff=MATCH_CUTOFF, limit=2)
    if not scored:
        raise DomainError("unknown_branch", name=wanted)
    if len(scored) == 2 and scored[0][1] == scored[1][1]:
        return None
    return next(b for b in allowed if b.id == scored[0][2])


def _bind_to(ctx: Context, chosen: Branch, *, edit: bool = False) -> None:
    orgs.bind_chat(ctx.session, ctx.chat, chosen.id)
    # The group learns which branch it now belongs to.
    (ctx.edit if edit else ctx.announce)("bind.done", branch=chosen.name)


def grant_role(ctx: Context, args: str) -> None:
    """`/grant <role> @someone` (or as a reply to them): give a role in this group's branch."""
    role = _role(ctx, args)
    branch, args = _branch_of(ctx, args)
    scope = _scope_for(ctx, role, branch)
    target = _target(ctx, args, branch)
    if role == Role.BUILDING_LEADER and role_in(ctx, target.person_id, branch) < Role.MEMBER:
        raise DomainError("target_not_member", person=ctx.name_of(target.person_id, branch.id))
    if not people.grant(ctx.session, target.person_id, role.code, by_person=ctx.person.id,
                        now=ctx.now, **scope):
        raise DomainError("already_has_role", role=role.code)
    where = _scope_name(ctx, scope)
    ctx.reply("grant.done", person=ctx.name_of(target.person_id, branch.id),
              role=Phrase(f"role.{role.code}"), where=where)
    ctx.tell(target.person_id, "grant.told", role=Phrase(f"role.{role.code}"), where=where)


def revoke_role(ctx: Context, args: str) -> None:
    """`/revoke <role> @someone`: take a role back in this group's branch."""
    role = _role(ctx, args)
    branch, args = _branch_of(ctx, args)
    scope = _scope_for(ctx, role, branch)
    target = _target(ctx, args, branch)
    if not people.revoke(ctx.session, target.person_id, role.code, **scope):
        raise DomainError("has_no_role", role=role.code)
    ctx.reply("revoke.done", person=ctx.name_of(target.person_id, branch.id),
              role=Phrase(f"role.{role.code}"),
              where=_scope_name(ctx, scope))


def _role(ctx: Context, args: str) -> Role:
    """The role named first: its code or any of its words (楼栋长, 书记, 社区管理员)."""
    words = args.split()
    if not words:
        raise DomainError("grant_usage", roles=_role_words(ctx))
    code = subcommand(ctx.catalogs, "role", words[0])
    if code is None or Role[code.upper()] not in GRANTABLE:
        raise DomainError("unknown_role_word", word=words[0][:MAX_WORD_SHOWN],
                          roles=_role_words(ctx))
    return Role[code.upper()]


def _role_words(ctx: Context) -> str:
    """The roles a person can type, in the reader's words."""
    return ctx.t("list.separator").join(
        ctx.t("grant.role_choice", name=Phrase(f"role.{role.code}"), code=role.code)
        for role in GRANTABLE)


def _target(ctx: Context, args: str, branch: Branch) -> Account:
    return target_account(ctx, args.split()[1:], "grant_usage", in_branch=branch,
                          roles=_role_words(ctx))


def _branch_of(ctx: Context, args: str) -> tuple[Branch, str]:
    """The branch a role is given in, and the words left: in a group, the group's; in a
    private chat, the branch named last ("/grant 书记 @王芳 阳光小区党支部"), else one's own."""
    if ctx.in_group:
        branch = home_branch(ctx)
        if branch is None:
            raise DomainError("no_branch_group")
        return branch, args
    words = args.split()
    named = [b for b in orgs.branches(ctx.session) if len(words) > 2 and b.name == words[-1]]
    if named:
        return named[0], " ".join(words[:-1])
    branch = home_branch(ctx)
    if branch is None or (role_in(ctx, ctx.person.id, branch) >= Role.COMMUNITY_ADMIN
                          and len(orgs.branches(ctx.session, branch.community_id)) > 1):
        raise DomainError("grant_name_branch", branches=ctx.t("list.separator").join(
            b.name for b in orgs.branches(ctx.session)))
    return branch, args


def _scope_for(ctx: Context, role: Role, branch: Branch) -> dict[str, int | None]:
    """Where the role applies (the branch or its community); checks the sender may give it."""
    needed = Role.SECRETARY if role == Role.BUILDING_LEADER else Role.COMMUNITY_ADMIN
    require(ctx, needed, branch)
    if role == Role.COMMUNITY_ADMIN:
        return {"community_id": branch.community_id}
    return {"branch_id": branch.id}


def _scope_name(ctx: Context, scope: dict[str, int | None]) -> str:
    if scope.get("branch_id") is not None:
        found = orgs.branch(ctx.session, scope["branch_id"] or 0)
        return found.name if found else ""
    named = [c.name for c in orgs.communities(ctx.session) if c.id == scope.get("community_id")]
    return named[0] if named else ""


PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("roles", RoleGrant, "person_id", ("role",), shown="role", shown_as="role.{}"),
    Reference(RoleGrant, "granted_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[
        Command("bind", bind, role=Role.SECRETARY),
        Command("grant", grant_role, role=Role.SECRETARY),
        Command("revoke", revoke_role, role=Role.SECRETARY),
        Command("branch", branch, role=Role.COMMUNITY_ADMIN),
        Command("community", community, role=Role.COMMUNITY_ADMIN),
    ],
    buttons=[On(Bind, bind_button)],
)
