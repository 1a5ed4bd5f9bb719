"""The desk's pages: each takes the person's Context and the request's query, and returns
what its template shows. Reads only; the rules live in handlers/ (desk_pages and features)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import QueryParams

from bot.desk import charts
from handlers import desk_pages
from handlers.context import Context
from handlers.errors import DomainError
from handlers.roles import Role
from storage.models import MemberStatus

Values = Mapping[str, object]
View = Callable[[Context, QueryParams, Mapping[str, Any]], Values]
ROLES = ("resident", "member", "building_leader", "secretary")
STATES = tuple(MemberStatus)


def home(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {}


def profile(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {"it": desk_pages.my_profile(ctx)}


def pending(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    branch, rows = desk_pages.pending(ctx)
    return {"branch": branch, "rows": rows}


def activities(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    branch, rows = desk_pages.upcoming(ctx)
    return {"branch": branch, "rows": rows}


def manage(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    branch, rows = desk_pages.recent(ctx)
    return {"branch": branch, "rows": rows}


def activity(ctx: Context, _query: QueryParams, path: Mapping[str, Any]) -> Values:
    return {"it": desk_pages.participants(ctx, int(path["activity_id"]))}


def live(ctx: Context, _query: QueryParams, path: Mapping[str, Any]) -> Values:
    shown = desk_pages.participants(ctx, int(path["activity_id"]))
    return {"it": shown, "now": desk_pages.live_figures(ctx, shown.item),
            "period": ctx.rules.qr_period_seconds}


def roster(ctx: Context, query: QueryParams, _path: Mapping[str, Any]) -> Values:
    wanted = desk_pages.RosterFilter(
        text=query.get("q", "")[:50], status=_one_of(query.get("status", ""), STATES),
        building=query.get("building", "")[:50], role=_one_of(query.get("role", ""), ROLES))
    branch, rows, total = desk_pages.roster(ctx, wanted)
    return {"branch": branch, "rows": rows, "total": total, "wanted": wanted,
            "states": STATES, "roles": ROLES}


def month(ctx: Context, query: QueryParams, _path: Mapping[str, Any]) -> Values:
    year, number = month_of(ctx, query.get("m", ""))
    branch, figures = desk_pages.month(ctx, year, number)
    return {"branch": branch, "figures": figures, "m": f"{year:04d}-{number:02d}",
            "charts": charts.draw(ctx.t, figures)}


def items_import(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {"branch": desk_pages.secretary_branch(ctx), "said": []}


def month_of(ctx: Context, given: str) -> tuple[int, int]:
    """`YYYY-MM` from the query, else this month."""
    try:
        year, number = (int(part) for part in given.split("-"))
        if 2000 <= year <= 2100 and 1 <= number <= 12:
            return year, number
    except ValueError:
        pass
    return ctx.local_now.year, ctx.local_now.month


def _one_of(given: str, allowed: tuple[str, ...]) -> str:
    return given if given in allowed else ""


def secretary_only(view: View) -> View:
    """A page for secretaries: anyone else is refused as the chat refuses them."""
    def checked(ctx: Context, query: QueryParams, path: Mapping[str, Any]) -> Values:
        desk_pages.secretary_branch(ctx)
        return view(ctx, query, path)

    checked.__name__ = view.__name__
    return checked


def must_be(role: Role) -> DomainError:
    return DomainError("role_required", role=role.code)
