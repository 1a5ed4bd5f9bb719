"""群机器人: a secretary registers WeCom group robots, and the branch's notices reach them too.

A WeCom group robot is a webhook: whoever knows its key can post to the group. So the key
is taken only in a private chat, stored, and shown back masked ("…a1b2"), never in full.
In the outbox a robot is a target like a group: platform "wecom", its id as the chat id.
Robots cannot show buttons, so the notice they post says where 收到 can be tapped.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from handlers import qrcodes
from handlers.addressing import subcommands
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Translator
from handlers.messages import Outgoing
from handlers.moments import short
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, run_subcommand
from handlers.text import clean_field
from storage import activities, robots
from storage.models import WecomRobot

PLATFORM = "wecom"
MAX_NAME = 30
# WeCom's keys are UUIDs; anything of their alphabet and about their length is accepted.
_KEY = re.compile(r"[A-Za-z0-9-]{16,100}")
_WEBHOOK_PATH = "/cgi-bin/webhook/send"


def robot(ctx: Context, args: str) -> None:
    """`/robot add <name> <webhook URL or key>`, `/robot list`, `/robot remove <name>`."""
    if not run_subcommand(ctx, args, SUBCOMMANDS, "robot"):
        ctx.reply("robot.usage")


def add(ctx: Context, args: str) -> None:
    """Register a robot; only in private, as the key is a secret."""
    if ctx.in_group:
        # The key is already out; the bot cannot delete a member's message, so it says so.
        ctx.reply("robot.add_in_group")
        return
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    everyone = False
    words = args.split()
    if words and words[-1].casefold() in _mention_words(ctx):
        everyone, args = True, args.rstrip()[:-len(words[-1])]
    name, _, given = args.strip().rpartition(" ")
    if not name.strip():
        raise DomainError("robot_add_usage")
    name = clean_field(name, MAX_NAME, "robot_name")
    key = webhook_key(given)
    if robots.named(ctx.session, branch.id, name) is not None:
        raise DomainError("robot_name_taken", name=name)
    if robots.with_key(ctx.session, branch.id, key) is not None:
        raise DomainError("robot_key_taken")
    robots.add(ctx.session, branch.id, name, key, ctx.person.id, ctx.now, everyone)
    ctx.reply("robot.added", name=name, masked=mask(key), branch=branch.name)
    if everyone:
        ctx.reply("robot.mentions_all", name=name)


def _mention_words(ctx: Context) -> set[str]:
    """"@all", "@所有人"…: the robot mentions everyone with each notice."""
    return {w.casefold() for w in ["@all", *ctx.catalogs.words.get("mention", {}).get("all", [])]}


def webhook_key(given: str) -> str:
    """The key from a webhook URL (…/cgi-bin/webhook/send?key=…) or the key itself."""
    given = given.strip()
    if "://" in given:
        url = urlsplit(given)
        found = parse_qs(url.query).get("key", [])
        if url.scheme not in ("http", "https") or not url.path.endswith(_WEBHOOK_PATH) \
                or len(found) != 1:
            raise DomainError("robot_bad_key")
        given = found[0]
    if not _KEY.fullmatch(given):
        raise DomainError("robot_bad_key")
    return given


def mask(key: str) -> str:
    """Enough of a key to tell robots apart, never enough to use it."""
    return "…" + key[-4:]


def list_robots(ctx: Context, _args: str) -> None:
    """`/robot list`: names and masked keys."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    lines = [ctx.t("robot.line_all" if r.mention_all else "robot.line", name=r.name,
                   masked=mask(r.webhook_key))
             for r in robots.of_branches(ctx.session, [branch.id])]
    ctx.reply("robot.list", branch=branch.name,
              lines="\n".join(lines) or ctx.t("robot.none"))


def remove(ctx: Context, args: str) -> None:
    """`/robot remove <name>`: no more notices go to it."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    found = robots.named(ctx.session, branch.id, args.strip())
    if found is None:
        raise DomainError("unknown_robot", name=args.strip()[:MAX_NAME])
    robots.remove(found, ctx.now)
    ctx.reply("robot.removed", name=found.name)


# ---------------------------------------------------------------- notices through robots


def targets(scope: Scope, branch_ids: list[int]) -> list[tuple[str, str]]:
    """(platform, chat id) of the robots of these branches, as notice targets."""
    return [(PLATFORM, str(r.id)) for r in robots.of_branches(scope.session, branch_ids)]


def notice_message(chat_id: str, t: Translator, text: str, link: str) -> Outgoing:
    """A notice as a robot posts it (markdown): no button, a link to the notice's page on the
    web desk where 收到 is one tap (a WeCom group may have no Telegram group beside it)."""
    return Outgoing(PLATFORM, chat_id, t("robot.notice", text=text, link=link))


def signin_code(ctx: Context, args: str) -> None:
    """`/robot qr [activity]`: the printed sign-in code of the activity (the next one by
    default) posted as an image by each of the branch's robots, with its caption."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    coming = list(activities.recent(ctx.session, branch.id, ctx.now))
    wanted = args.strip()
    chosen = next((a for a in coming if a.title == wanted), None) if wanted else \
        (coming[0] if coming else None)
    if chosen is None:
        raise DomainError("robot_no_activity")
    found = robots.of_branches(ctx.session, [branch.id])
    if not found:
        raise DomainError("robot_none_to_send")
    for robot_row in found:
        ctx.outbox.append(Outgoing(PLATFORM, str(robot_row.id), ctx.group_t(
            "robot.signin_caption", title=chosen.title,
            when=short(chosen.starts_at, ctx.local_now)),
            qr_payload=qrcodes.make(ctx.rules.secret, chosen.id, "i")))
    ctx.reply("robot.signin_sent", title=chosen.title, count=len(found))


def title(scope: Scope, chat_id: str) -> str:
    """How a robot target is named in a secretary's summary."""
    found = robots.get(scope.session, int(chat_id)) if chat_id.isdigit() else None
    return scope.group_t("robot.title", name=found.name if found else chat_id)


SUBCOMMANDS = {"add": add, "list": list_robots, "remove": remove, "qr": signin_code}

PERSONAL_DATA: list[PersonalData | Reference] = [Reference(WecomRobot, "created_by")]

FEATURE = Feature(
    personal=PERSONAL_DATA,commands=[Command("robot", robot, role=Role.SECRETARY,
                                         takes=subcommands("robot"))])
