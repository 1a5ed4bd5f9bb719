"""The pages for help requests, problem reports and points (handlers/desk_help.py,
handlers/desk_points.py): reads only; their buttons are the chat's, pressed through
/desk/act and /desk/say, and the help form is the chat's 求助 form filled through /desk/fill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import QueryParams

from bot.desk.views import Values
from handlers import desk_help, desk_pages, desk_points
from handlers.context import Context
from handlers.help_requests import CATEGORIES, known_building


def requests(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    shown = desk_help.requests(ctx)
    return {"it": shown, "categories": CATEGORIES,
            "building": known_building(ctx, shown.branch)}


def reports(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    branch = desk_pages.secretary_branch(ctx)
    return {"branch": branch, "rows": desk_help.reports(ctx, branch)}


def points(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {"it": desk_points.my_points(ctx)}


def rank(ctx: Context, query: QueryParams, _path: Mapping[str, Any]) -> Values:
    period = query.get("p", "")
    return {"it": desk_points.ranking(ctx, period if period in desk_points.PERIODS else "month"),
            "periods": desk_points.PERIODS}
