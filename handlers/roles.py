"""Roles and the permission check every command makes."""

from __future__ import annotations

from enum import IntEnum

from handlers.context import Context
from handlers.errors import DomainError
from storage import orgs, people
from storage.models import Branch, MemberStatus


class Role(IntEnum):
    """Roles in rising order: each includes what the ones below may do."""

    RESIDENT = 0
    MEMBER = 1
    BUILDING_LEADER = 2
    SECRETARY = 3
    COMMUNITY_ADMIN = 4

    @property
    def code(self) -> str:
        return self.name.lower()

    @classmethod
    def from_code(cls, code: str) -> Role:
        try:
            return cls[code.strip().upper()]
        except KeyError:
            raise DomainError("unknown_role", role=code) from None


GRANTABLE = (Role.BUILDING_LEADER, Role.SECRETARY, Role.COMMUNITY_ADMIN)


def role_in(ctx: Context, person_id: int, branch: Branch | None) -> Role:
    """The highest role `person_id` holds for `branch` (or anywhere, when branch is None)."""
    best = Role.RESIDENT
    for grant in people.grants_of(ctx.session, person_id):
        best = max(best, _grant_level(grant.role, grant.branch_id, grant.community_id, branch))
    if best < Role.MEMBER and _is_verified(ctx, person_id, branch):
        best = Role.MEMBER
    return best


def _grant_level(role: str, branch_id: int | None, community_id: int | None,
                 branch: Branch | None) -> Role:
    level = Role.from_code(role)
    if level == Role.COMMUNITY_ADMIN:
        covers = community_id is None or branch is None or branch.community_id == community_id
    else:
        covers = branch is None or branch_id == branch.id
    return level if covers else Role.RESIDENT


def _is_verified(ctx: Context, person_id: int, branch: Branch | None) -> bool:
    profiles = people.profiles_of(ctx.session, person_id)
    return any(p.status == MemberStatus.VERIFIED and (branch is None or p.branch_id == branch.id)
               for p in profiles)


def require(ctx: Context, needed: Role, branch: Branch | None) -> None:
    """Refuse with `role_required` unless the sender holds `needed` for `branch`."""
    if role_in(ctx, ctx.person.id, branch) < needed:
        raise DomainError("role_required", role=needed.code)


def home_branch(ctx: Context) -> Branch | None:
    """The branch this update is about: the group's, else (in private) the sender's own."""
    if ctx.chat.branch_id is not None:
        return orgs.branch(ctx.session, ctx.chat.branch_id)
    if ctx.in_group:
        return None
    for profile in people.profiles_of(ctx.session, ctx.person.id):
        return orgs.branch(ctx.session, profile.branch_id)
    for grant in people.grants_of(ctx.session, ctx.person.id):
        if grant.branch_id is not None:
            return orgs.branch(ctx.session, grant.branch_id)
    return _only_branch(ctx)


def _only_branch(ctx: Context) -> Branch | None:
    all_branches = orgs.branches(ctx.session)
    return all_branches[0] if len(all_branches) == 1 else None


def require_branch(ctx: Context) -> Branch:
    """The branch of this update, or a refusal saying how to get one."""
    branch = home_branch(ctx)
    if branch is None:
        raise DomainError("no_branch_group" if ctx.in_group else "no_branch_private")
    return branch
