"""我的数据 and 删除我的数据 on the desk: the kinds /privacy lists, and the confirmation with
the chat's own buttons (handlers/privacy.py). Pressing one runs the chat's button through
`Desk.forget`, so the checks and the erasure are the chat's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from bot.desk.views import Values
from handlers import privacy
from handlers.context import Context


@dataclass(frozen=True)
class Answer:
    """One of the chat's two buttons under "erase everything?"."""

    label: str
    data: str
    erases: bool


def mine(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    return {"kinds": privacy.stored(ctx)}


def forget(ctx: Context, _query: QueryParams, _path: Mapping[str, Any]) -> Values:
    buttons = [Answer(spec.render(ctx.t).label, spec.data or "",
                      privacy.Forget.unpack(spec.data or "").answer == "yes")
               for line in privacy.confirmation(ctx) for spec in line]
    return {"question": ctx.t("forget.confirm"), "buttons": buttons}
