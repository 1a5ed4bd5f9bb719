"""A notice's page for its reader: the link of the template message a follower gets past
WeChat's 48-hour window. It shows the notice in full with 收到 as one tap (the chat's own 收到
button, pressed through /desk/act). Opened in WeChat without a desk session, it goes through
the desk's WeChat sign-in (网页授权, snsapi_base) and comes back here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.platforms import WX_PATH
from bot.desk.views import Values
from handlers import notices
from handlers.context import Context
from handlers.errors import DomainError
from handlers.moments import short

if TYPE_CHECKING:
    from bot.desk.app import Desk

PATH = "/desk/notice/{run_id:int}"


def notice(ctx: Context, _query: QueryParams, path: Mapping[str, Any]) -> Values:
    shown = notices.for_reader(ctx, int(path["run_id"]))
    return {"it": shown, "when": short(shown.sent_at, ctx.local_now)}


class NoticePage:
    """GET /desk/notice/<run>: the page; signed out in WeChat, off to sign in first."""

    def __init__(self, desk_app: Desk) -> None:
        self.desk = desk_app

    def routes(self) -> list[Route]:
        return [Route(PATH, self.page, methods=["GET"])]

    async def page(self, request: Request) -> Response:
        if isinstance(self.desk.visitor(request), DomainError) and self.desk.wechat:
            back = urlencode({"next": request.url.path})
            return RedirectResponse(f"{WX_PATH}?{back}", status_code=302,
                                    headers={"Cache-Control": "no-store"})
        return await self.desk.show(request, notice, "notice.html")
