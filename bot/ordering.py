"""Per-chat order inside one process: one lock per chat, forgotten when nobody holds it.

Used by the Telegram update processor and the WeChat adapter alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class ChatLocks:
    """Runs what one chat sends one at a time, in arrival order, and chats side by side."""

    def __init__(self) -> None:
        # chat -> (its lock, how many hold or await it)
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def held(self, chat: Hashable) -> AsyncIterator[None]:
        """Hold `chat`'s lock for the block."""
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat]
            if users == 1:
                del self._locks[chat]  # nobody else is waiting: keep the table small
            else:
                self._locks[chat] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
