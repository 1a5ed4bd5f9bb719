"""Reading the desk's form posts (urlencoded, size-limited, no multipart library needed)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from bot.bodies import TooLarge, read_body

MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form post; nothing for one too large to be ours."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except TooLarge:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
