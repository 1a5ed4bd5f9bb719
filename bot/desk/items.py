"""The needs list page: items with their promises and deeds (handlers/desk_items.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import QueryParams

from bot.desk.views import Values
from handlers import desk_items
from handlers.context import Context


def items(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {"it": desk_items.items(ctx)}
