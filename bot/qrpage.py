"""The rotating sign-in code page for on-site display, and the SVG it refreshes itself with.

`GET /qr/{activity}?key=…&d=i|o` shows the code of the current period; the page fetches
`/qr/{activity}/code.svg` with the same query every third of a period, so a photo of the
screen sent home stops working within two periods.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable
from string import Template
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import qr
from handlers import qrcodes
from handlers.i18n import DEFAULT_LANG, LANGUAGES, Words, load_words

Clock = Callable[[], dt.datetime]
LinkFor = Callable[[str], str]
DIRECTIONS = ("i", "o")
# The key is in the URL: keep it out of caches, Referer headers and search engines.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex"}

_PAGE = Template("""<!doctype html>
<html lang="$html_lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: sans-serif; text-align: center; margin: 1.5em; background: #fff; }
h1 { color: #b71c1c; margin: 0.2em 0; }
#code svg { width: min(90vw, 68vh); height: auto; shape-rendering: crispEdges; }
#countdown { font-size: 1.4em; }
</style>
</head>
<body>
<h1>$title</h1>
<p id="activity">$activity</p>
<div id="code">$svg</div>
<p id="countdown" data-template="$countdown_template" data-offline="$offline"
   data-left="$left" data-period="$period" data-src="$src">$countdown</p>
<p id="hint">$hint</p>
<script>
(() => {
  const counter = document.getElementById("countdown");
  const box = document.getElementById("code");
  const cfg = counter.dataset;
  const period = Number(cfg.period);
  let due = Date.now() + Number(cfg.left) * 1000;
  let boundary = null;
  const show = () => {
    const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    counter.textContent = cfg.template.replace("{seconds}", String(seconds));
  };
  const refresh = async () => {
    try {
      const answer = await fetch(cfg.src, {cache: "no-store"});
      if (answer.status === 403) { location.reload(); return; }
      if (!answer.ok) throw new Error(String(answer.status));
      const left = Number(answer.headers.get("X-Seconds-Left"));
      box.innerHTML = await answer.text();
      due = Date.now() + left * 1000;
      clearTimeout(boundary);
      boundary = setTimeout(refresh, left * 1000 + 100);
      show();
    } catch (error) {
      counter.textContent = cfg.offline;
    }
  };
  boundary = setTimeout(refresh, Number(cfg.left) * 1000 + 100);
  setInterval(show, 250);
  setInterval(refresh, period * 1000 / 3);
})();
</script>
</body>
</html>
""")

_FORBIDDEN = Template("""<!doctype html>
<html lang="$html_lang">
<head><meta charset="utf-8"><title>$title</title></head>
<body><h1>$title</h1><p>$text</p></body>
</html>
""")


def load_texts() -> dict[str, Words]:
    """The page's words per language, from locales/web.toml."""
    return {lang: load_words("web.toml", lang) for lang in LANGUAGES}


def page_language(request: Request) -> str:
    """English for a browser whose first preference is English, Chinese otherwise."""
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else DEFAULT_LANG


def seconds_left(now: dt.datetime, period_seconds: int) -> float:
    """Seconds until the rotating code of `now` is replaced by the next one."""
    return period_seconds - now.timestamp() % period_seconds


class QrPages:
    """The display page and its code, for keys signed with `secret`."""

    def __init__(self, secret: bytes, period_seconds: int, link_for: LinkFor,
                 clock: Clock) -> None:
        if not secret:
            raise ValueError("QR codes need a secret")
        self.secret = secret
        self.period = period_seconds
        self.link_for = link_for
        self.clock = clock
        self.texts = load_texts()

    def routes(self) -> list[Route]:
        """GET /qr/{activity_id} (the page) and GET /qr/{activity_id}/code.svg."""
        return [Route("/qr/{activity_id:int}", self.page, methods=["GET"]),
                Route("/qr/{activity_id:int}/code.svg", self.code, methods=["GET"])]

    async def page(self, request: Request) -> Response:
        """The HTML page showing the current code, which refreshes itself."""
        checked = self._check(request)
        if isinstance(checked, Response):
            return checked
        activity_id, direction, now = checked
        words = self.texts[page_language(request)]
        query = urlencode({"key": request.query_params["key"], "d": direction})
        left = seconds_left(now, self.period)
        body = _PAGE.substitute({key: html.escape(value) for key, value in {
            "html_lang": words("html_lang"), "title": words(f"title_{direction}"),
            "activity": words("activity", activity=activity_id),
            # The page fills {seconds} itself as it counts down.
            "countdown_template": words.template("countdown"), "offline": words("offline"),
            "countdown": words("countdown", seconds=math.ceil(left)),
            "left": f"{left:.3f}", "period": str(self.period),
            "src": f"/qr/{activity_id}/code.svg?{query}",
            "hint": words(f"hint_{direction}", period=self.period)}.items()}
            | {"svg": self._svg(activity_id, direction, now)})
        return HTMLResponse(body, headers=_PRIVATE)

    async def code(self, request: Request) -> Response:
        """The current code as SVG; `X-Seconds-Left` says when the next one is due."""
        checked = self._check(request)
        if isinstance(checked, Response):
            return checked
        activity_id, direction, now = checked
        headers = {**_PRIVATE, "X-Seconds-Left": f"{seconds_left(now, self.period):.3f}"}
        return Response(self._svg(activity_id, direction, now), media_type="image/svg+xml",
                        headers=headers)

    def _svg(self, activity_id: int, direction: str, now: dt.datetime) -> str:
        slot = qrcodes.current_slot(now, self.period)
        payload = qrcodes.make(self.secret, activity_id, direction, slot)
        return qr.svg(self.link_for(payload))

    def _check(self, request: Request) -> tuple[int, str, dt.datetime] | Response:
        """(activity, direction, now) for a valid request, else the refusal to send."""
        activity_id: int = request.path_params["activity_id"]
        direction = request.query_params.get("d", "i")
        if direction not in DIRECTIONS:
            return PlainTextResponse("d must be i or o", status_code=400)
        now = self.clock()
        key = request.query_params.get("key", "")
        if not _key_valid(self.secret, activity_id, key, now):
            return self._forbidden(request)
        return activity_id, direction, now

    def _forbidden(self, request: Request) -> Response:
        words = self.texts[page_language(request)]
        body = _FORBIDDEN.substitute(html_lang=words("html_lang"),
                                     title=html.escape(words("forbidden_title")),
                                     text=html.escape(words("forbidden")))
        return HTMLResponse(body, status_code=403, headers=_PRIVATE)


def _key_valid(secret: bytes, activity_id: int, key: str, now: dt.datetime) -> bool:
    try:
        return qrcodes.display_key_valid(secret, activity_id, key, now)
    except (OverflowError, OSError, ValueError):
        return False  # an expiry stamp too large to be a date: not one of ours


def qr_routes(secret: bytes, period_seconds: int, link_for: LinkFor,
              clock: Clock) -> list[Route]:
    """Starlette routes of the rotating display page for codes signed with `secret`."""
    return QrPages(secret, period_seconds, link_for, clock).routes()
