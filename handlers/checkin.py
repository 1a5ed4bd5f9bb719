"""签到: a verified member shows their identity where the neighbours talk, once a day.

The group sees "党员 张三（3号楼·楼栋长）签到，本月第 5 次". A second check-in the same day is
answered with the time of the first; someone not yet verified is told to 亮身份 first.
"""

from __future__ import annotations

from handlers import points
from handlers.context import Context
from handlers.errors import DomainError
from handlers.i18n import Phrase
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require_branch, role_in
from handlers.router import Command, Feature
from storage import checkins, orgs, people
from storage.models import Branch, CheckIn, MemberProfile, MemberStatus


def check_in(ctx: Context, _args: str) -> None:
    """Record today's check-in and show the member's identity line."""
    branch = require_branch(ctx)
    profile = _verified_profile(ctx, branch)
    row, is_new = checkins.check_in(ctx.session, ctx.person.id, branch.id, ctx.today,
                                    ctx.now, ctx.chat.id)
    if not is_new:
        raise DomainError("already_checked_in", time=ctx.local(row.at).strftime("%H:%M"))
    points.for_checkin(ctx, row)
    first_of_month = ctx.today.replace(day=1)
    count = checkins.count_between(ctx.session, ctx.person.id, branch.id, first_of_month,
                                   ctx.today)
    ctx.announce("checkin.done", name=profile.name, where=_where(ctx, profile, branch),
              count=count)


def _verified_profile(ctx: Context, branch: Branch) -> MemberProfile:
    profile = people.profile(ctx.session, ctx.person.id, branch.id)
    if profile is not None and profile.status == MemberStatus.VERIFIED:
        return profile
    if profile is not None and profile.status == MemberStatus.PENDING:
        raise DomainError("not_verified_pending")
    elsewhere = [p for p in people.profiles_of(ctx.session, ctx.person.id)
                 if p.status == MemberStatus.VERIFIED]
    if elsewhere:
        other = orgs.branch(ctx.session, elsewhere[0].branch_id)
        raise DomainError("registered_elsewhere", branch=other.name if other else "")
    raise DomainError("not_verified")


def _where(ctx: Context, profile: MemberProfile, branch: Branch) -> object:
    """The building, followed by the member's office when they hold one."""
    role = role_in(ctx, ctx.person.id, branch)
    if role in (Role.BUILDING_LEADER, Role.SECRETARY):
        return Phrase.of("checkin.where_with_role", building=profile.building,
                    role=Phrase(f"role.{role.code}"))
    return profile.building


# Check-ins stay as anonymous counts: the branch's monthly totals do not change.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("checkins", CheckIn, "person_id", erase=Erase.KEEP),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,commands=[Command("checkin", check_in, role=Role.MEMBER)])
