"""Points on the web desk: the branch's ranking (this month, last month, this year) as `排行`
ranks it, and the person's own points with their history as `积分` explains them
(handlers/points.py), the whole history rather than the chat's newest few lines."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Context
from handlers.points import competition_places, entry_line, month_bounds, public_name, rank_period
from handlers.roles import home_branch, require_branch
from storage import points as log
from storage.models import Branch

PERIODS = ("month", "last", "year")
RANK_PAGE = 100
HISTORY_PAGE = 200


@dataclass(frozen=True)
class Place:
    place: int
    name: str
    points: int
    me: bool


@dataclass(frozen=True)
class Ranking:
    branch: Branch
    period: str
    shown: str
    rows: list[Place]
    counted: int
    mine: Place | None


def ranking(ctx: Context, period: str) -> Ranking:
    """The branch's ranking for `period` (one of PERIODS): the first RANK_PAGE places, and
    the person's own place wherever it is."""
    branch = require_branch(ctx)
    start, end, named = rank_period(ctx, period, "")
    ranked = log.totals(ctx.session, branch.id, start, end)
    places = competition_places(ranked)
    rows = [Place(places[pid], ctx.t.words(public_name(ctx, pid, branch)),
                  total, pid == ctx.person.id) for pid, total in ranked[:RANK_PAGE]]
    mine = dict(ranked).get(ctx.person.id)
    return Ranking(branch, period, ctx.t.words(named), rows, len(ranked),
                   Place(places[ctx.person.id], "", mine, True) if mine is not None else None)


@dataclass(frozen=True)
class MyPoints:
    total: int
    month: int
    entries: list[str]
    branch: Branch | None


def my_points(ctx: Context) -> MyPoints:
    """积分 as a page: the total, this month's, and every entry, newest first."""
    start, end = month_bounds(ctx.local_now.year, ctx.local_now.month, ctx.rules.timezone)
    entries = log.latest(ctx.session, ctx.person.id, HISTORY_PAGE)
    return MyPoints(log.total(ctx.session, ctx.person.id),
                    log.total(ctx.session, ctx.person.id, start, end),
                    [entry_line(ctx, ctx.t, entry) for entry in entries], home_branch(ctx))
