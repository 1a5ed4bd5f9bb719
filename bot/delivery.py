"""The one delivery registry: how adapters, timers and senders reach each platform.

Each running platform registers one `Send` (Telegram's `deliver`, the WeChat adapter's
`deliver`, …). Whoever holds messages for several platforms — a Telegram update whose answer
goes to a WeChat member, a timer, an outbox follow-up — hands them to `Registry.deliver`, which
gives each platform its own messages, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from handlers.messages import Outgoing

log = logging.getLogger(__name__)

Send = Callable[[list[Outgoing]], Awaitable[None]]


class Registry:
    """The platforms this process can send to, each with its sender."""

    def __init__(self, senders: Mapping[str, Send] | None = None) -> None:
        self._senders: dict[str, Send] = dict(senders or {})

    def register(self, platform: str, send: Send) -> None:
        """From now on, messages for `platform` go through `send`."""
        self._senders[platform] = send

    def reaches(self, platform: str) -> bool:
        """Whether a sender is registered for `platform`."""
        return platform in self._senders

    async def deliver(self, messages: Iterable[Outgoing]) -> None:
        """Hand each platform its messages; one platform failing does not stop the others."""
        by_platform: dict[str, list[Outgoing]] = {}
        for out in messages:
            by_platform.setdefault(out.platform, []).append(out)
        for platform, outs in by_platform.items():
            send = self._senders.get(platform)
            if send is None:
                log.warning("no sender for %d %s message(s); not delivered", len(outs), platform)
                continue
            try:
                await send(outs)
            except Exception:
                log.exception("delivering %d %s message(s) failed", len(outs), platform)
