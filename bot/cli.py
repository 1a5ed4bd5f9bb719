"""The command line: `python -m bot [run|worker|console|demo|grant|db upgrade|export]`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from bot import logsafe
from bot.settings import Settings, SettingsError, load
from handlers.core import Core
from handlers.i18n import DEFAULT_LANG, LANGUAGES, Catalogs
from handlers.roles import GRANTABLE, Role
from storage import orgs, people
from storage.db import Database
from storage.migrate import upgrade
from storage.people import SenderInfo

log = logging.getLogger("bot")


def open_database(settings: Settings) -> Database:
    """Connect and bring the schema up to date (every start does this)."""
    database = Database.from_url(settings.db_url)
    upgrade(database.engine)
    return database


def grant(database: Database, who: str, role_code: str, *, community: str | None = None,
          branch: str | None = None) -> str:
    """Give `who` ("platform:id") a role; returns a line saying what was done."""
    platform, _, external_id = who.partition(":")
    if not platform or not external_id:
        raise SystemExit("give the person as platform:id, e.g. telegram:123456789")
    role = Role.from_code(role_code)
    if role not in GRANTABLE:
        raise SystemExit("role must be one of: " + ", ".join(r.code for r in GRANTABLE))
    now = dt.datetime.now(dt.UTC)
    with database.session() as session:
        account = people.find_account(session, platform, external_id) or people.ensure_account(
            session, SenderInfo(platform, external_id, "", None, None), now)[0]
        scope = _scope(session, role, community, branch)
        added = people.grant(session, account.person_id, role.code, now=now, **scope)
    where = branch or community or "all communities"
    return f"{who} {'is now' if added else 'already was'} {role.code} of {where}"


def _scope(session: object, role: Role, community: str | None,
           branch: str | None) -> dict[str, int | None]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if role == Role.COMMUNITY_ADMIN:
        if community is None:
            return {}
        found = orgs.community_by_name(session, community) or orgs.create_community(
            session, community)
        return {"community_id": found.id}
    if branch is None:
        raise SystemExit("building_leader and secretary need --branch NAME")
    named = orgs.branch_by_name(session, branch)
    if named is None:
        raise SystemExit(f"no branch called {branch!r}")
    return {"branch_id": named.id}


def export(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    """`export`: the ledger of one branch to an .xlsx file and/or CSV files."""
    from handlers import ledger
    from handlers.errors import DomainError

    if args.output is None and args.csv is None:
        raise SystemExit("give -o FILE.xlsx and/or --csv DIR")
    rules, t = settings.rules(), Catalogs().get(args.lang)
    words = [w for w in (args.first, args.last) if w]
    with database.session() as session:
        branch = orgs.branch_by_name(session, args.branch)
        if branch is None:
            raise SystemExit(f"no branch called {args.branch!r}")
        today = dt.datetime.now(rules.timezone).date()
        try:
            period = ledger.parse_period(words, today, rules.timezone)
        except DomainError as error:
            raise SystemExit(t(f"error.{error.code}", **error.params)) from None
        view = ledger.View(t, rules.timezone)
        written = ledger.export_files(session, branch, period, view, xlsx=args.output,
                                      csv_dir=args.csv)
    for path in written:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Jinlin neighbourhood bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run on Telegram, or in the console when no token is set")
    commands.add_parser("worker", help="handle stored Telegram updates (PostgreSQL), "
                        "without a web server")
    commands.add_parser("console", help="play several users in a local console")
    commands.add_parser("demo", help="seed a sample community, then open the console")
    grant_cmd = commands.add_parser("grant", help="give a role, e.g. the first community admin")
    grant_cmd.add_argument("who", help="platform:id, e.g. telegram:123456789")
    grant_cmd.add_argument("role", choices=[r.code for r in GRANTABLE])
    grant_cmd.add_argument("--community", help="community name (admins without one: all)")
    grant_cmd.add_argument("--branch", help="branch name (secretary, building_leader)")
    wechat_cmd = commands.add_parser("wechat", help="the WeChat Official Account")
    wechat_cmd.add_argument("action", choices=["menu"],
                            help="menu: publish the custom menu (check in, activities, the desk)")
    db_cmd = commands.add_parser("db", help="database maintenance")
    db_cmd.add_argument("action", choices=["upgrade"])
    export_cmd = commands.add_parser("export", help="write a branch's ledger (.xlsx or CSV)")
    export_cmd.add_argument("--branch", required=True, help="branch name")
    export_cmd.add_argument("--from", dest="first", help="first day YYYY-MM-DD, or a month "
                            "YYYY-MM (neither --from nor --to: last month)")
    export_cmd.add_argument("--to", dest="last", help="last day YYYY-MM-DD (default: the end "
                            "of --from)")
    export_cmd.add_argument("-o", "--output", type=Path, help="the .xlsx file to write")
    export_cmd.add_argument("--csv", type=Path, metavar="DIR", help="write one CSV per sheet "
                            "into DIR (UTF-8 with BOM)")
    export_cmd.add_argument("--lang", choices=list(LANGUAGES), default=DEFAULT_LANG,
                            help="language of headers and states")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load()
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    command = args.command or "run"
    in_console = command in {"console", "demo"} or (
        command == "run" and settings.telegram_token is None and not settings.wechat_enabled)
    # In the console, log lines would break into the conversation: warnings only.
    logging.basicConfig(level="WARNING" if in_console else settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logsafe.install(settings.secrets())
    database = open_database(settings)
    if command == "db":
        print("database is up to date")
        return 0
    if command == "grant":
        print(grant(database, args.who, args.role, community=args.community,
                    branch=args.branch))
        return 0
    if command == "export":
        return export(database, settings, args)
    if command == "wechat":
        from bot import wechat, wechat_menu

        try:
            print(wechat_menu.publish(settings))
        except wechat.ConfigError as error:
            print(f"Cannot publish the menu: {error}", file=sys.stderr)
            return 2
        return 0
    rules = settings.rules()
    logsafe.install([rules.secret])
    core = Core(database, rules=rules)
    return _run(command, settings, core)


def _run(command: str, settings: Settings, core: Core) -> int:
    from bot import repl

    if command in {"demo", "console"}:
        return _run_console(settings, core, demo=command == "demo")
    if command == "worker":
        return _run_worker(settings, core)
    if settings.wechat_enabled:
        return _run_wechat(settings, core)
    if settings.telegram_token is None:
        print(repl.t("no_token"), file=sys.stderr)
        return _run_console(settings, core, demo=False)
    return _run_telegram(settings, core)


def _run_console(settings: Settings, core: Core, *, demo: bool) -> int:
    """The console, with the desk and QR pages served locally so its links open."""
    from bot import console_web, repl
    from bot.console import ConsoleWorld

    if demo:
        from bot.demo import seed

        world = seed(core)
    else:
        world = ConsoleWorld(core)
        repl.restore(world)
    console_web.start(settings, world)
    return repl.run(core, world, files=settings.data_dir / "files")


def _run_wechat(settings: Settings, core: Core) -> int:
    from bot import telegram, web, wechat, wechat_service

    try:
        wechat_service.run(settings, core)
    except (telegram.ConfigError, wechat.ConfigError, web.PortBusy) as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    return 0


def _run_worker(settings: Settings, core: Core) -> int:
    import asyncio

    from bot import services, telegram

    if core.db.is_sqlite:
        print("Cannot start a worker: workers share a PostgreSQL database (DATABASE_URL); "
              "with SQLite, `python -m bot run` handles every update itself", file=sys.stderr)
        return 2
    try:
        asyncio.run(services.serve_worker(settings, core))
    except telegram.ConfigError as error:
        print(f"Cannot start a worker: {error}", file=sys.stderr)
        return 2
    return 0


def _run_telegram(settings: Settings, core: Core) -> int:
    from bot import telegram, web

    try:
        if settings.telegram_mode == "webhook":
            telegram.run_webhook(settings, core)
        else:
            telegram.run_polling(settings, core)
    except telegram.ConfigError as error:
        print(f"Cannot start on Telegram: {error}", file=sys.stderr)
        return 2
    except web.PortBusy as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    return 0
