"""小结 / 本月小结 / 上月小结: a branch's month in figures, privately to the secretary.

The automatic monthly summary (handlers/points.py) still goes to the groups on the first
working day; this one is asked for, any day, and carries what only the secretary needs.
"""

from __future__ import annotations

import datetime as dt

from handlers.addressing import subcommands
from handlers.attendance import hours
from handlers.context import Context
from handlers.points import month_bounds
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, subcommand
from storage import points as log
from storage import summaries


def summary(ctx: Context, args: str) -> None:
    """`小结` is this month; `小结 上月` (or `上月小结`) the month before."""
    words = args.split()
    if words and subcommand(ctx.catalogs, "summary", words[0]) == "last":
        last_month(ctx, "")
    else:
        this_month(ctx, "")


def this_month(ctx: Context, _args: str) -> None:
    _send(ctx, ctx.local_now.year, ctx.local_now.month)


def last_month(ctx: Context, _args: str) -> None:
    year, month = ctx.local_now.year, ctx.local_now.month
    _send(ctx, *((year - 1, 12) if month == 1 else (year, month - 1)))


def _send(ctx: Context, year: int, month: int) -> None:
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    tz = ctx.rules.timezone
    start, end = month_bounds(year, month, tz)
    last_day = (end.astimezone(tz) - dt.timedelta(days=1)).date()
    done = log.month(ctx.session, branch.id, start, end, start.date(), last_day)
    made = summaries.filed(ctx.session, branch.id, start, end)
    members = summaries.members(ctx.session, branch.id)
    reach = made.notices * members
    ctx.reply_private(
        "summary.text", branch=branch.name, year=year, month=month, checkins=done.checkins,
        activities=done.activities,
        hours=f"{sum(hours(row, item) for row, item in done.attendances):.1f}",
        claims=made.claims, deeds=done.deeds, asked=made.asked, errands=done.errands,
        reported=made.reported, problems=done.problems, notices=made.notices,
        rate=f"{100 * made.acks / reach:.0f}%" if reach else "-", members=members)


FEATURE = Feature(commands=[
    Command("summary", summary, role=Role.SECRETARY, takes=subcommands("summary")),
    Command("last_summary", last_month, role=Role.SECRETARY, in_menu=False),
])
