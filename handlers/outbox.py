"""The delivery outbox seen from the features: what to send next, and what became of it.

A sender in bot/ claims rows, sends them within the platform's limits and reports each
result at once, so a restart resends only what was not confirmed. When every row of a run
is final, the secretary gets the summary; meanwhile the progress message is edited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers import robots
from handlers.context import ButtonSpec, Scope
from handlers.messages import Outgoing
from handlers.notices import PRIVATE_ONLY, Acknowledge
from storage import notices, orgs, people, posted
from storage.models import Delivery, NoticeRun, Person, RunState

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Result:
    """What happened to one send: sent (with the message id), retry later, or failed for good."""

    delivery_id: int
    message_id: str | None = None
    retry_after: float | None = None
    error: str = ""


@dataclass(frozen=True)
class Claimed:
    """A message a sender must send now: its outbox row and notice run."""

    delivery_id: int
    run_id: int
    message: Outgoing
    # The notice's own words, for a sender that must put them in fields (a template message).
    words: str = ""


def claim(scope: Scope, platform: str, limit: int,
          claimed_by: int | None = None) -> list[Claimed]:
    """Up to `limit` notices to send now, marked as claimed by sender `claimed_by`."""
    rows = notices.claim(scope.session, platform, scope.now, limit, claimed_by)
    runs = {run.id: run for run in notices.runs(scope.session, {row.run_id for row in rows})}
    return [Claimed(row.id, row.run_id, _message(scope, row, runs[row.run_id]),
                    runs[row.run_id].text) for row in rows]


def _message(scope: Scope, row: Delivery, run: NoticeRun) -> Outgoing:
    t = scope.group_t
    if row.platform == robots.PLATFORM:
        return robots.notice_message(row.chat_external_id, t, run.text,
                                     f"{scope.rules.public_url}/desk/notice/{run.id}")
    if row.platform in PRIVATE_ONLY:
        # No buttons one to one on WeChat: the follower replies 收到.
        return Outgoing(row.platform, row.chat_external_id,
                        t("notice.text_private", text=run.text))
    keyboard = [[ButtonSpec.of("notice.button.ack", Acknowledge(run.id)).render(t)]]
    return Outgoing(row.platform, row.chat_external_id, t("notice.text", text=run.text),
                    keyboard)


def report(scope: Scope, *results: Result) -> None:
    """Record sends' outcomes; finish each run that is all done (and tell its secretary)."""
    rows = {row.id: row for row in notices.deliveries(scope.session,
                                                      [r.delivery_id for r in results])}
    sent = [(r.delivery_id, r.message_id) for r in results
            if r.message_id is not None and r.delivery_id in rows]
    notices.mark_sent_many(scope.session, sent, scope.now)
    for result in results:
        row = rows.get(result.delivery_id)
        if row is not None and result.message_id is None:
            _record(scope, row, result)
    run_ids = dict.fromkeys(row.run_id for row in rows.values())
    for row in rows.values():
        scope.session.expire(row)  # updated behind the ORM's back
    for run_id in run_ids:
        if notices.progress(scope.session, run_id).finished:
            _finish(scope, run_id)


def _record(scope: Scope, row: Delivery, result: Result) -> None:
    """A send that did not go through: try again later, or give up."""
    if result.retry_after is not None and row.attempts < MAX_ATTEMPTS:
        notices.retry_later(scope.session, row.id,
                            scope.now + dt.timedelta(seconds=result.retry_after), result.error)
    else:
        notices.mark_failed(scope.session, row.id, result.error or "gave up")


def _finish(scope: Scope, run_id: int) -> None:
    if not notices.finish_run(scope.session, run_id, scope.now):
        return
    run = notices.run(scope.session, run_id)
    assert run is not None
    item = notices.get(scope.session, run.notice_id)
    assert item is not None
    done = notices.progress(scope.session, run_id)
    _edit_progress(scope, run)
    failed = [_chat_name(scope, row) for row in notices.failed_rows(scope.session, run_id)]
    if failed:
        scope.tell(item.created_by, "notice.done_with_failures", number=item.id,
                   sent=done.sent, total=done.total,
                   failed=scope.group_t("list.separator").join(failed))
    else:
        scope.tell(item.created_by, "notice.done", number=item.id, sent=done.sent,
                   total=done.total)


def _chat_name(scope: Scope, row: Delivery) -> str:
    chat = orgs.find_chat(scope.session, row.platform, row.chat_external_id)
    title = chat.title if chat and chat.title else row.chat_external_id
    if row.platform in PRIVATE_ONLY:
        title = _person_name(scope, row)
    if row.platform == robots.PLATFORM:
        title = robots.title(scope, row.chat_external_id)
    return scope.group_t("notice.failed_chat", chat=title, error=row.error)


def _person_name(scope: Scope, row: Delivery) -> str:
    """A follower by the name they registered with, never their account id."""
    account = people.find_account(scope.session, row.platform, row.chat_external_id)
    if account is None:
        return scope.group_t("person.anonymous")
    return scope.name_of(account.person_id) or scope.group_t("person.anonymous")


def progress_edits(scope: Scope, run_ids: list[int]) -> None:
    """Edit the progress message of each run still sending to "已发送 350/1400".

    A finished run got its last edit with its summary (`_finish`); editing it again with the
    same text would only earn Telegram's "message is not modified"."""
    for run_id in dict.fromkeys(run_ids):
        run = notices.run(scope.session, run_id)
        if run is not None and run.state == RunState.SENDING:
            _edit_progress(scope, run)


def _edit_progress(scope: Scope, run: NoticeRun) -> None:
    item = notices.get(scope.session, run.notice_id)
    secretary = scope.session.get(Person, item.created_by) if item else None
    if secretary is None:
        return
    t = scope.translator_for(secretary)
    done = notices.progress(scope.session, run.id)
    for where in posted.messages(scope.session, f"notice_progress:{run.id}"):
        scope.outbox.append(Outgoing(
            where.platform, where.chat_external_id,
            t("notice.progress", number=run.notice_id, sent=done.sent, total=done.total),
            edit_message_id=where.message_id))


def release_of_dead_senders(scope: Scope, me: int | None) -> int:
    """Rows claimed by senders known to be dead go back to pending at once."""
    return notices.release_of_dead_senders(scope.session, me)


def release_stale(scope: Scope, older_than: dt.timedelta) -> int:
    """Rows a dead sender had claimed go back to pending."""
    return notices.release_stale(scope.session, scope.now - older_than)

