"""Reading a request body no larger than a limit, without holding a bigger one in memory."""

from __future__ import annotations

from starlette.requests import Request

# Telegram updates and WeChat callbacks are a few kilobytes; 1 MB leaves room for long texts.
MAX_BODY_BYTES = 1024 * 1024


class TooLarge(Exception):
    """The body is over the limit (answer 413)."""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body; TooLarge as soon as the declared length or the bytes read pass `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        parts.append(chunk)
    return b"".join(parts)
