"""Updates that arrive together are handled in one transaction, with the answers each would
get alone: a failing or refused one takes nothing of the others with it."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from handlers.context import Context
from handlers.core import Core
from handlers.errors import DomainError
from handlers.messages import ChatKind, Incoming, Sender
from storage import people
from storage.db import Database
from storage.models import Person
from tests.conftest import TEST_RULES, Clock

NEIGHBOURS = [Sender("telegram", str(5_200_000_000 + n), f"邻居{n}", None, "zh-hans")
              for n in range(3)]
SET_TO_ENGLISH = "OK, I will talk to you in English from now on."
INTERNAL = "抱歉，出了点问题，没有保存任何内容。请稍后再试。"
REFUSED = "这是你自己的求助。"


def lang_en(sender: Sender, key: str) -> Incoming:
    return Incoming("telegram", sender.external_id, ChatKind.PRIVATE, sender, text="/lang en",
                    update_key=key)


def texts(answers: list[list[object]]) -> list[list[str]]:
    return [[out.text for out in outs] for outs in answers]  # type: ignore[attr-defined]


def language(database: Database, sender: Sender) -> str | None:
    with database.reading() as session:
        account = people.find_account(session, "telegram", sender.external_id)
        if account is None:
            return None
        return session.scalar(select(Person.lang).where(Person.id == account.person_id))


def with_lang(core: Core, handler: object) -> Core:
    core.router.commands["lang"] = replace(core.router.commands["lang"], handler=handler)
    return core


def test_a_batch_answers_each_and_stores_each(any_db: Database, clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    answers = core.handle_batch([lang_en(n, f"u{i}") for i, n in enumerate(NEIGHBOURS)])
    assert texts(answers) == [[SET_TO_ENGLISH]] * 3
    assert [language(any_db, n) for n in NEIGHBOURS] == ["en"] * 3
    # Delivered again together, none of them is acted on twice.
    assert core.handle_batch([lang_en(n, f"u{i}") for i, n in enumerate(NEIGHBOURS)]) == \
        [[], [], []]


def test_one_update_failing_leaves_the_others_done(any_db: Database, clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    real = core.router.commands["lang"].handler

    def fails_for_the_second(ctx: Context, args: str) -> None:
        real(ctx, args)
        if ctx.account.external_id == NEIGHBOURS[1].external_id:
            raise RuntimeError("a bug")

    with_lang(core, fails_for_the_second)
    answers = core.handle_batch([lang_en(n, f"u{i}") for i, n in enumerate(NEIGHBOURS)])
    assert texts(answers) == [[SET_TO_ENGLISH], [INTERNAL], [SET_TO_ENGLISH]]
    assert [language(any_db, n) for n in NEIGHBOURS] == ["en", None, "en"]


def test_a_refusal_after_a_write_in_a_batch_is_undone_alone(any_db: Database,
                                                             clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    real = core.router.commands["lang"].handler

    def refuses_the_second_after_writing(ctx: Context, args: str) -> None:
        real(ctx, args)
        if ctx.account.external_id == NEIGHBOURS[1].external_id:
            raise DomainError("help_own")

    with_lang(core, refuses_the_second_after_writing)
    answers = core.handle_batch([lang_en(n, f"u{i}") for i, n in enumerate(NEIGHBOURS)])
    assert texts(answers) == [[SET_TO_ENGLISH], [REFUSED], [SET_TO_ENGLISH]]
    assert language(any_db, NEIGHBOURS[0]) == "en"
    assert language(any_db, NEIGHBOURS[1]) != "en"
    assert language(any_db, NEIGHBOURS[2]) == "en"


def start(sender: Sender, key: str) -> Incoming:
    return Incoming("telegram", sender.external_id, ChatKind.PRIVATE, sender, text="/start",
                    update_key=key)


def greeting(answers: list[list[object]], n: int) -> str:
    return texts(answers)[n][0]


def test_a_batch_of_old_and_new_updates_answers_only_the_new(any_db: Database,
                                                              clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    core.handle_batch([lang_en(n, f"u{i}") for i, n in enumerate(NEIGHBOURS[:2])])
    # 邻居0's update comes again, beside 邻居1's and 邻居2's new ones: only theirs are
    # answered, each once.
    answers = core.handle_batch([lang_en(NEIGHBOURS[0], "u0"), start(NEIGHBOURS[1], "u10"),
                                 start(NEIGHBOURS[2], "u11")])
    assert answers[0] == []
    assert greeting(answers, 1).startswith("Hello, 邻居1!")
    assert greeting(answers, 2).startswith("你好，邻居2！")
    assert core.handle_batch([start(NEIGHBOURS[1], "u10"), start(NEIGHBOURS[2], "u11")]) == \
        [[], []]


def test_an_update_sees_what_the_one_before_it_in_the_batch_wrote(any_db: Database,
                                                                  clock: Clock) -> None:
    """Two updates in one batch act as if one came after the other, even when the first
    changes the second sender (here a stand-in for /lang that, as a secretary's action
    would, writes to another person, with a plain statement)."""
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    core.handle_batch([start(n, f"s{i}") for i, n in enumerate(NEIGHBOURS)])
    assert language(any_db, NEIGHBOURS[1]) is None

    def sets_the_neighbours_language(ctx: Context, _args: str) -> None:
        account = people.find_account(ctx.session, "telegram", NEIGHBOURS[1].external_id)
        assert account is not None
        ctx.session.connection().execute(
            update(Person).where(Person.id == account.person_id).values(lang="en"))
        ctx.reply("lang.set")

    with_lang(core, sets_the_neighbours_language)
    answers = core.handle_batch([lang_en(NEIGHBOURS[0], "u0"), start(NEIGHBOURS[1], "u1"),
                                 start(NEIGHBOURS[2], "u2")])
    assert greeting(answers, 1).startswith("Hello, 邻居1!")
    assert greeting(answers, 2).startswith("你好，邻居2！")


def test_one_persons_two_messages_in_a_batch_are_taken_in_order(any_db: Database,
                                                                 clock: Clock) -> None:
    core = Core(any_db, rules=TEST_RULES, clock=clock)
    answers = core.handle_batch([lang_en(NEIGHBOURS[0], "u0"), start(NEIGHBOURS[0], "u1"),
                                 start(NEIGHBOURS[1], "u2")])
    assert texts(answers)[0] == [SET_TO_ENGLISH]
    assert greeting(answers, 1).startswith("Hello, 邻居0!")
    assert greeting(answers, 2).startswith("你好，邻居1！")
