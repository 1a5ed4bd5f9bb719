"""Durable, ordered intake on PostgreSQL: every update is a procrastinate job.

The webhook stores each update as a job before answering 200 (Telegram never resends an
update it saw acknowledged), so a worker's death loses nothing. A job carries the lock
`chat:<platform>:<chat>`: procrastinate runs jobs sharing a lock one at a time and never
fetches a job while an older one with its lock waits, so each chat's updates are handled in
arrival order by whichever worker is free, and different chats side by side.

A worker killed in the middle of a job leaves it "doing", holding its chat's lock. Every
worker beats its heart into the database; each looks every few seconds for jobs of workers
whose heart stopped and puts them back, first in their chat's line (the update-id dedupe in
SQL keeps a job that had already been handled from counting twice).

The embedded SQLite set-up has no intake: its one process handles updates as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
from procrastinate import jobs, manager

log = logging.getLogger(__name__)

QUEUE = "updates"
TASK = "jinlin.update"
# A worker whose heart has not beaten for STALLED_SECONDS is taken for dead.
HEARTBEAT_SECONDS = 2.0
STALLED_SECONDS = 10.0
RESCUE_SECONDS = 3.0
# At shutdown, jobs under way get this long to finish (then they are put back).
DRAIN_SECONDS = 20.0
CONCURRENCY = 8

Handler = Callable[[dict[str, Any]], Awaitable[None]]
# What a worker listens for; sent again when a job ends, so that the next job of its chat
# (which waited for this one's lock) is fetched at once rather than at the next poll.
_WAKE = ("SELECT pg_notify('procrastinate_queue_v1#' || %(queue)s, "
         "json_build_object('type', 'job_inserted', 'job_id', %(job)s)::text)")


def conninfo(database_url: str) -> str:
    """The libpq form of DATABASE_URL (SQLAlchemy's `postgresql+psycopg://` scheme)."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url.removeprefix(prefix)
    return database_url


class Intake:
    """The job queue of updates: `put` from the web server, `work` in a worker."""

    def __init__(self, database_url: str, *, jobs: int = CONCURRENCY) -> None:
        # A job holds a connection only while it is fetched or finished: a few more than
        # CONCURRENCY are enough however many `jobs` run at once, and several workers stay
        # well within PostgreSQL's 100 connections.
        pool_size = min(jobs, CONCURRENCY) + 4
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url),
                                                   min_size=1, max_size=pool_size)
        self.queue = procrastinate.App(connector=connector)
        self.queue.job_manager = _ChainedJobs(connector)  # before any task is declared
        self._handlers: dict[str, Handler] = {}
        self._task = self.queue.task(name=TASK, queue=QUEUE)(self._run)
        self._opened = False

    def handle(self, platform: str, handler: Handler) -> None:
        """Updates from `platform` are handed to `handler` in the worker."""
        self._handlers[platform] = handler

    async def open(self) -> None:
        """Connect (once)."""
        if not self._opened:
            await self.queue.open_async()
            self._opened = True

    async def close(self) -> None:
        if self._opened:
            await self.queue.close_async()
            self._opened = False

    async def put(self, platform: str, chat: object, update: dict[str, Any]) -> None:
        """Store one update; it is handled after every earlier one of its chat."""
        lock = None if chat is None else f"chat:{platform}:{chat}"
        await self._task.configure(lock=lock).defer_async(platform=platform, update=update)

    async def reachable(self) -> bool:
        """Whether the queue's database answers."""
        try:
            return await self.queue.check_connection_async()
        except Exception:
            return False

    async def _run(self, platform: str, update: dict[str, Any]) -> None:
        handler = self._handlers.get(platform)
        if handler is None:
            raise RuntimeError(f"no handler for {platform} updates in this worker")
        await handler(update)

    async def work(self, *, concurrency: int = CONCURRENCY,
                   install_signal_handlers: bool = False) -> None:
        """Handle updates until cancelled (or a signal, if installed); jobs under way finish
        first, for at most DRAIN_SECONDS."""
        rescuer = asyncio.create_task(self._rescue_loop(), name="intake-rescuer")
        try:
            await self.queue.run_worker_async(
                queues=[QUEUE], concurrency=concurrency, name="jinlin",
                install_signal_handlers=install_signal_handlers, delete_jobs="successful",
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=STALLED_SECONDS,
                shutdown_graceful_timeout=DRAIN_SECONDS)
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer

    async def _rescue_loop(self) -> None:
        while True:
            await asyncio.sleep(RESCUE_SECONDS)
            try:
                await self.rescue()
            except Exception:
                log.exception("looking for jobs of dead workers failed")

    async def rescue(self) -> int:
        """Put back the jobs of workers whose heart stopped; returns how many."""
        manager = self.queue.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
        count = 0
        for job in stalled:
            await manager.retry_job(job)
            count += 1
        if count:
            log.warning("put back %d update(s) a dead worker had taken", count)
        return count


class _ChainedJobs(manager.JobManager):
    """procrastinate's job manager, waking the workers when a job of a chat ends: a worker
    is otherwise woken only when a job is deferred, and the chat's next job, deferred while
    this one ran, would wait for the next poll."""

    async def finish_job(self, job: jobs.Job, status: jobs.Status, delete_job: bool) -> None:
        await super().finish_job(job, status, delete_job)
        if job.lock is not None:
            await self.connector.execute_query_async(query=_WAKE, queue=job.queue, job=job.id)
