"""A refusal undoes what the feature wrote before refusing, with or without a savepoint.

The core dispatches without a savepoint (most updates refuse before writing, or do not
refuse); when a feature refuses after it wrote, the whole update is handled again with one.
These tests put a feature that writes and then refuses in place of /lang.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from handlers.context import Context
from handlers.core import Core
from handlers.errors import DomainError
from handlers.messages import ChatKind, Incoming, Sender
from storage import people
from storage.db import Database
from storage.models import Person
from tests.conftest import TEST_RULES, Clock

ZHANG = Sender("telegram", "5100000001", "张三", None, "zh-hans")
REFUSED = "这是你自己的求助。"


def core_with_lang(database: Database, clock: Clock, handler: object) -> Core:
    core = Core(database, rules=TEST_RULES, clock=clock)
    core.router.commands["lang"] = replace(core.router.commands["lang"], handler=handler)
    return core


def say(core: Core, text: str, key: str) -> list[str]:
    return [out.text for out in core.handle(Incoming(
        "telegram", ZHANG.external_id, ChatKind.PRIVATE, ZHANG, text=text, update_key=key))]


def language_of_zhang(database: Database) -> str | None:
    with database.reading() as session:
        account = people.find_account(session, "telegram", ZHANG.external_id)
        assert account is not None
        return session.scalar(select(Person.lang).where(Person.id == account.person_id))


def test_a_write_then_a_refusal_leaves_nothing_written(any_db: Database, clock: Clock) -> None:
    def writes_then_refuses(ctx: Context, _args: str) -> None:
        people.set_language(ctx.session, ctx.person.id, "en")  # an UPDATE, sent at once
        raise DomainError("help_own")

    core = core_with_lang(any_db, clock, writes_then_refuses)
    assert say(core, "/lang en", "1") == [REFUSED]
    assert language_of_zhang(any_db) != "en"
    # The update counts as handled all the same: delivered again, it is not answered twice.
    assert say(core, "/lang en", "1") == []


def test_a_change_not_yet_written_is_dropped_with_the_refusal(any_db: Database,
                                                              clock: Clock) -> None:
    def changes_then_refuses(ctx: Context, _args: str) -> None:
        ctx.person.lang = "en"  # pending in the session, never flushed
        raise DomainError("help_own")

    core = core_with_lang(any_db, clock, changes_then_refuses)
    assert say(core, "/lang en", "1") == [REFUSED]
    assert language_of_zhang(any_db) != "en"


def test_a_feature_that_writes_and_does_not_refuse_keeps_its_write(any_db: Database,
                                                                  clock: Clock) -> None:
    def writes(ctx: Context, _args: str) -> None:
        people.set_language(ctx.session, ctx.person.id, "en")

    core = core_with_lang(any_db, clock, writes)
    assert say(core, "/lang en", "1") == []
    assert language_of_zhang(any_db) == "en"
