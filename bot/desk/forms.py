"""Reading the desk's form posts (urlencoded, size-limited, no multipart library needed)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from bot.bodies import TooLarge, read_body

MAX_FORM_BYTES = 64 * 1024
# A file a page uploads (the needs list) and its few fields.
MAX_UPLOAD_BYTES = 1_100_000


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form post; nothing for one too large to be ours."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except TooLarge:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def read_upload(request: Request, limit: int = MAX_UPLOAD_BYTES,
                      ) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The fields of a multipart form post and its one file (name, bytes), if it has one;
    TooLarge for a body over `limit`, read no further than that."""
    body = await read_body(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    fields: dict[str, str] = {}
    upload = None
    async with Request(request.scope, replay).form(max_files=1, max_fields=10) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename:
                    upload = (value.filename, await value.read())
            else:
                fields[key] = value
    return fields, upload
