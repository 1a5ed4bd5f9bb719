"""The secretary's notices pages: the latest sendings with their delivery and acknowledgement
rates and a chart of the rates; one sending with who has not acknowledged. Reads only; the
figures are the chat's (handlers/desk_notices.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import QueryParams

from bot.desk import charts
from bot.desk.views import Values
from handlers import desk_notices
from handlers.context import Context


def notices(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    branch, rows, planned = desk_notices.sendings(ctx)
    # Labelled by number (the list says which notice it is); newest at the top as in the
    # list: a horizontal bar chart draws its first label at the bottom.
    rates = [(f"#{row.number}", row.rate) for row in reversed(rows)]
    return {"branch": branch, "rows": rows, "planned": planned,
            "chart": charts.acks(ctx.t, rates) if rows else None}


def sending(ctx: Context, _query: QueryParams, path: Mapping[str, Any]) -> Values:
    return {"it": desk_notices.sending(ctx, int(path["run_id"]))}
