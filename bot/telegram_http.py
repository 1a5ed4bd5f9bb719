"""Bot API requests over aiohttp: python-telegram-bot's request interface, a faster client.

python-telegram-bot's own HTTPXRequest spends about 1.3 ms of CPU on each sendMessage
(httpx, httpcore and anyio; measured against the fake Bot API on loopback), more than the
whole rest of a sign-in. aiohttp makes the same request in about 0.3 ms, and a burst of
replies is bound by that CPU. The bodies are the same: form fields, multipart with files.
"""

from __future__ import annotations

import functools
import urllib.parse
import urllib.request

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot's defaults (HTTPXRequest), kept.
POOL_SIZE = 256
TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
FORM = "application/x-www-form-urlencoded"

# A timeout as python-telegram-bot passes it: seconds, None (never) or "the default".
Seconds = ODVInput[float]


class AiohttpRequest(BaseRequest):
    """Makes the Bot API's HTTP requests with one aiohttp session (a pool of connections)."""

    def __init__(self, connection_pool_size: int = POOL_SIZE,
                 read_timeout: float | None = TIMEOUT, connect_timeout: float | None = TIMEOUT,
                 pool_timeout: float | None = POOL_TIMEOUT) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of requests that name none (getUpdates adds its long poll)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running event loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size))

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Seconds = BaseRequest.DEFAULT_NONE,
        write_timeout: Seconds = BaseRequest.DEFAULT_NONE,
        connect_timeout: Seconds = BaseRequest.DEFAULT_NONE,
        pool_timeout: Seconds = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one request; (status, body), or TimedOut / NetworkError."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout,
                                request_data is not None and request_data.contains_files)
        try:
            body = _body(request_data)
            headers = {"User-Agent": self.USER_AGENT}
            if isinstance(body, bytes):
                headers["Content-Type"] = FORM
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout, proxy=_proxy(url)) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    def _timeout(self, read: Seconds,
                 write: Seconds,
                 connect: Seconds,
                 pool: Seconds, files: bool) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts from python-telegram-bot's four; a write is part of the read
        (aiohttp has no write timeout), a wait for a free connection part of connecting."""
        read = self._read_timeout if isinstance(read, DefaultValue) else read
        write = (MEDIA_WRITE_TIMEOUT if files else None) if isinstance(write, DefaultValue) \
            else write
        connect = self._connect_timeout if isinstance(connect, DefaultValue) else connect
        pool = self._pool_timeout if isinstance(pool, DefaultValue) else pool
        return aiohttp.ClientTimeout(
            total=None, sock_read=_longest(read, write),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect)


def _proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, NO_PROXY…), as httpx honoured
    them; aiohttp's own `trust_env` looks them up, and ~/.netrc, on a thread per request."""
    scheme, _, rest = url.partition("://")
    return _env_proxy(scheme, rest.split("/", 1)[0])


@functools.cache
def _env_proxy(scheme: str, host: str) -> str | None:
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(scheme) or proxies.get("all")


def _longest(*seconds: float | None) -> float | None:
    given = [s for s in seconds if s is not None]
    return max(given) if given else None


def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
    """Form fields, as python-telegram-bot sends them; multipart when a file goes along.
    Plain fields are encoded here: aiohttp's FormData would also set up a multipart writer
    (and draw a random boundary) for every message."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return urllib.parse.urlencode(request_data.json_parameters).encode()
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (file_name, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=file_name, content_type=mime_type)
    return form
