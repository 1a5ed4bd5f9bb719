"""Storage rules that must hold on SQLite and on PostgreSQL, under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.console import ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from storage.db import Database
from storage.migrate import current_revision
from storage.models import CheckIn, SignupStatus
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, register, set_up_branch, texts, verified_member


def test_schema_is_at_the_newest_migration_and_matches_the_models(any_db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.migrate import MIGRATIONS_DIR, alembic_config, ours
    from storage.models import Base

    head = ScriptDirectory.from_config(alembic_config(any_db.engine)).get_current_head()
    assert current_revision(any_db.engine) == head
    assert MIGRATIONS_DIR.is_dir()
    with any_db.engine.connect() as connection:
        # The job queue's own tables (procrastinate) are not our models.
        context = MigrationContext.configure(connection, opts={"include_object": ours})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "a model changed without a migration"


def test_simultaneous_check_ins_count_once(any_db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, clock=clock))
    set_up_branch(world)
    verified_member(world, "张三")
    taps = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user("张三"),
                     text="签到", update_key=f"tap-{n}") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [shown[0].text for shown in pool.map(world.core.handle, taps)]
    assert sum("本月第 1 次" in a for a in answers) == 1
    assert sum("已于 08:30 签到过了" in a for a in answers) == 7
    with any_db.session() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 1


def test_many_members_check_in_at_once(any_db: Database, clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, clock=clock))
    set_up_branch(world)
    names = [f"党员{n}" for n in range(12)]
    for name in names:
        verified_member(world, name)
    taps = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user(name),
                     text="签到") for name in names]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [shown[0].text for shown in pool.map(world.core.handle, taps)]
    assert all("签到，本月第 1 次" in a for a in answers)
    with any_db.session() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == len(names)


def test_two_secretaries_tapping_verify_at_once_decide_once(any_db: Database,
                                                            clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, clock=clock))
    set_up_branch(world)
    world.say("刘书记", GROUP, "我也来了")
    world.say("管理员", GROUP, "/grant secretary", reply_to="刘书记")
    register(world, "张三")
    data = world.seen("private", "王书记")[-1].flat_buttons[0].data
    taps = [Incoming("console", world.private_id(who), ChatKind.PRIVATE, world.user(who),
                     button_data=data, message_id="1") for who in ("王书记", "刘书记") * 3]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [shown for shown in pool.map(world.core.handle, taps)]
    told = [m for shown in answers for m in shown if "已核实你的党员身份" in m.text]
    assert len(told) == 1
    assert sum(1 for shown in answers if shown[0].toast) == 5


def test_a_restart_in_the_middle_of_the_form_loses_nothing(any_db: Database,
                                                            clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, clock=clock))
    set_up_branch(world)
    world.say("张三", GROUP, "亮身份")
    world.say("张三", "private", "张三")
    # The bot restarts: a new core on the same database, the same people.
    restarted = ConsoleWorld(Core(any_db, clock=clock))
    restarted.users = world.users
    restarted.groups = world.groups
    assert "第 3 步" in texts(restarted.say("张三", "private", "3号楼"))[0]


def test_fifty_people_sign_up_at_once_for_ten_seats(any_db: Database, clock: Clock) -> None:
    from storage import activities
    from tests.story import publish

    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    publish(world, capacity=10)
    card = next(s for s in world.seen(GROUP) if "【志愿活动】" in s.text)
    data = card.flat_buttons[0].data
    names = [f"居民{n}" for n in range(50)]
    for name in names:
        world.user(name)
    taps = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user(name),
                     button_data=data, message_id=card.message_id)
            for name in names + names[:10]]  # ten of them tap twice
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(world.core.handle, taps))
    with any_db.session() as session:
        confirmed = activities.people_with(session, 1, SignupStatus.CONFIRMED)
        waiting = activities.people_with(session, 1, SignupStatus.WAITLISTED)
    assert len(confirmed) == 10
    assert len(waiting) == 40
    assert len(set(confirmed) | set(waiting)) == 50
