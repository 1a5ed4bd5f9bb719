"""Multi-step dialog state and the record of updates already handled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import Dialog, ProcessedUpdate


def current(session: Session, person_id: int) -> Dialog | None:
    return session.get(Dialog, person_id)


def start(session: Session, person_id: int, name: str, step: str, data: dict[str, Any],
          now: dt.datetime) -> Dialog:
    """Begin a dialog, replacing any other one the person had open."""
    dialog = session.get(Dialog, person_id)
    if dialog is None:
        dialog = Dialog(person_id=person_id, name=name, step=step, data=data, updated_at=now)
        session.add(dialog)
    else:
        dialog.name, dialog.step, dialog.data, dialog.updated_at = name, step, data, now
    session.flush()
    return dialog


def advance(session: Session, dialog: Dialog, step: str, now: dt.datetime,
            **values: Any) -> None:
    """Move a dialog to `step`, remembering the answers given so far."""
    dialog.data = {**dialog.data, **values}
    dialog.step = step
    dialog.updated_at = now
    session.flush()


def finish(session: Session, person_id: int) -> None:
    session.execute(delete(Dialog).where(Dialog.person_id == person_id))


def first_time(session: Session, platform: str, key: str, now: dt.datetime) -> bool:
    """Mark a platform update as handled; False when it was handled before."""
    return insert_if_absent(session, ProcessedUpdate, {"platform": platform, "key": key,
                                                         "at": now})


def update(session: Session, dialog: Dialog, step: str, data: dict[str, Any],
           now: dt.datetime) -> None:
    """Put a dialog at `step` with `data` as all its answers (and flags) so far."""
    dialog.step, dialog.data, dialog.updated_at = step, dict(data), now
    session.flush()


def prune(session: Session, before: dt.datetime) -> int:
    """Forget handled updates older than `before` (past any redelivery); returns how many."""
    result = session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
