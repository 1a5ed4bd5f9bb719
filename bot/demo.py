"""A sample community to try the bot at once: `python -m bot demo`.

It is seeded through the console conversation itself (the admin creates the community and
branches, binds the groups, names secretaries; members go through 亮身份 and are verified),
so the demo exercises the real features. Running it again on the same database keeps the data.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import TextIO

from bot.cli import grant
from bot.console import ConsoleWorld
from bot.repl import t
from handlers.core import Core
from storage import orgs

COMMUNITY = "鹭江社区"
ACTIVITY_TITLE, ACTIVITY_PLACE = "清扫楼道", "3号楼大堂"
ADMIN = "管理员"
RESIDENT = "赵六"


@dataclass(frozen=True)
class Compound:
    """One compound: its branch, its group chat and its secretary."""

    branch: str
    group: str
    secretary: str


@dataclass(frozen=True)
class Member:
    """A member who registers with a compound: 亮身份 answers, then verified."""

    name: str
    compound: Compound
    building: str
    kind: int  # the button number: 1 在职, 2 离退休, 3 流动, 4 其他
    skills: str | None = None
    leader: bool = False


SUNSHINE = Compound("阳光小区党支部", "阳光小区群", "王书记")
SEAVIEW = Compound("海景花园党支部", "海景花园群", "陈书记")
COMPOUNDS = (SUNSHINE, SEAVIEW)
MEMBERS = (
    Member("李四", SUNSHINE, "5号楼1单元", kind=1, skills="电脑维修"),
    Member("张三", SUNSHINE, "3号楼2单元", kind=2, skills="理发", leader=True),
    Member("孙丽", SEAVIEW, "8号楼3单元", kind=3),
)
# The console numbers users and groups in order of first use: this order never changes, so
# a second run maps the same names to the same accounts.
USERS = (*(m.name for m in MEMBERS), SUNSHINE.secretary, SEAVIEW.secretary, RESIDENT, ADMIN)
GROUPS = tuple(c.group for c in COMPOUNDS)


def seed(core: Core, *, out: TextIO | None = None) -> ConsoleWorld:
    """A console world with the sample community (seeded once per database); prints an intro."""
    world = ConsoleWorld(core)
    for name in USERS:
        world.user(name)
    for title in GROUPS:
        world.group(title)
    existed = _exists(core)
    if not existed:
        _seed_organisation(world)
        for member in MEMBERS:
            _register(world, member)
        _publish_activity(world, SUNSHINE)
        world.say(RESIDENT, SUNSHINE.group, "大家好！")
        world.chats.clear()
    print(intro(existed), file=out or sys.stdout)
    return world


def _exists(core: Core) -> bool:
    with core.db.session() as session:
        return orgs.community_by_name(session, COMMUNITY) is not None


def _seed_organisation(world: ConsoleWorld) -> None:
    """The first admin (as from the command line), then everything else in chat."""
    grant(world.core.db, f"console:{world.user(ADMIN).external_id}", "community_admin")
    world.say(ADMIN, "private", f"/community new {COMMUNITY}")
    for compound in COMPOUNDS:
        world.say(ADMIN, "private", f"/branch new {compound.branch}")
        world.say(compound.secretary, compound.group, "大家好，我是支部书记。")
        world.say(ADMIN, compound.group, f"/bind {compound.branch}")
        world.say(ADMIN, compound.group, "/grant secretary", reply_to=compound.secretary)


def _register(world: ConsoleWorld, member: Member) -> None:
    """亮身份 from the group, the private form, the secretary's 核实 (and 楼栋长 if so)."""
    name, group = member.name, member.compound.group
    world.say(name, group, "亮身份")
    world.say(name, "private", name)
    world.say(name, "private", member.building)
    world.press(name, "private", member.kind)
    world.press(name, "private", 1)
    if member.skills:
        world.say(name, "private", member.skills)
    else:
        world.press(name, "private", 1)
    world.press(name, "private", 1)  # the summary's 提交
    world.press(member.compound.secretary, "private", 1)
    if member.leader:
        world.say(member.compound.secretary, group, "/grant building_leader", reply_to=name)


def _publish_activity(world: ConsoleWorld, compound: Compound) -> None:
    """A volunteer activity three days from now, with two places, to sign up for."""
    now = world.core.clock().astimezone(world.core.rules.timezone)
    day = now + dt.timedelta(days=3)
    world.say(compound.secretary, "private", "/activity new")
    for answer in ACTIVITY_TITLE, f"{day:%Y-%m-%d} 09:00", "11:00", ACTIVITY_PLACE, "2", "5":
        world.say(compound.secretary, "private", answer)
    world.press(compound.secretary, "private", 1)
    world.press(compound.secretary, "private", 1)


def intro(existed: bool = False) -> str:
    """Who is who in the sample community, and three things to try."""
    people = [(ADMIN, t("demo_admin"))]
    people += [(c.secretary, t("demo_secretary", branch=c.branch)) for c in COMPOUNDS]
    people += [(m.name, t("demo_leader" if m.leader else "demo_member",
                          branch=m.compound.branch, building=m.building)) for m in MEMBERS]
    people.append((RESIDENT, t("demo_resident", group=SUNSHINE.group)))
    lines = [t("demo_exists" if existed else "demo_intro", community=COMMUNITY)]
    lines += [t("demo_person", name=name, role=role) for name, role in people]
    return "\n".join(lines) + "\n" + t("demo_try") + "\n"
