"""The console REPL: one person plays several users in group chats and private chats.

Lines starting with ":" are console commands (switch user, switch chat, …); a bare number
presses a button of the newest message; anything else is sent to the bot as the current user
in the current chat. Every answer is printed under the chat it went to, so one sees what
lands in a group and what goes privately. Piped input is echoed, so a transcript reads well.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TextIO

from bot import datadir
from bot.console import PLATFORM, ConsoleWorld, Shown
from handlers.core import Core
from handlers.i18n import Words, load_words
from storage import orgs, people

log = logging.getLogger(__name__)

PRIVATE = "private"
PRIVATE_WORDS = {"private", "dm"}
LANG_CODES = {"en": "en", "zh": "zh-CN"}


@cache
def _words(lang: str) -> Words:
    """The console chrome strings of one language, from locales/console.toml."""
    return load_words("console.toml", lang)


def chrome_lang() -> str:
    """The chrome language from LANG: English for en…, Chinese otherwise."""
    return "en" if os.environ.get("LANG", "").lower().startswith("en") else "zh_CN"


def t(key: str, **params: object) -> str:
    """A console chrome string in the chrome language."""
    return _words(chrome_lang())(key, **params)


@dataclass
class Repl:
    """Who speaks where, and how lines turn into console commands or bot messages."""

    world: ConsoleWorld
    speaker: str
    chat: str
    out: TextIO
    files: Path | None = None  # where files the bot sends are saved (the data folder's files/)

    def prompt(self) -> str:
        where = t("private") if self.chat == PRIVATE else self.chat
        return f"{self.speaker} @ {where} > "

    def handle(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.meta(line)
        if line.isdigit() and self._buttons():
            self.press(int(line))
        else:
            self.send(line)
        return True

    def send(self, text: str, reply_to: str | None = None) -> None:
        self.show(self.world.say(self.speaker, self.chat, text, reply_to=reply_to))

    def press(self, number: int) -> None:
        if number > len(self._buttons()):
            self.print(t("no_button", number=number))
            return
        opens_private = getattr(self._buttons()[number - 1], "start_payload", None) is not None
        self.show(self.world.press(self.speaker, self.chat, number))
        if opens_private:
            # A deep link opens the private chat with the bot, as it does on Telegram.
            self.chat = PRIVATE

    def _buttons(self) -> list[object]:
        """The buttons of the newest message (toasts aside) in the current chat."""
        shown = [m for m in self.world.seen(self.chat, self.speaker) if not m.toast]
        return list(shown[-1].flat_buttons) if shown else []

    def show(self, answers: list[Shown]) -> None:
        """Print each answer under the name of the chat it went to."""
        for shown in answers:
            mark = f" {t('edited')}" if shown.edited else ""
            self.print(f"  [{self.chat_label(shown.chat_id)}]{mark}")
            self.print("\n".join(f"  {row}".rstrip() for row in shown.render().splitlines()))
            if shown.document and self.files is not None:
                saved = save_file(self.files, shown.document.file_name, shown.document.data)
                self.print(f"  {t('file_saved', path=saved)}")

    def chat_label(self, chat_id: str) -> str:
        for title, group_id in self.world.groups.items():
            if group_id == chat_id:
                return title
        for name, sender in self.world.users.items():
            if sender.external_id == chat_id:
                return t("to_private", name=name)
        return chat_id

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # Console commands -------------------------------------------------------------------

    def meta(self, line: str) -> bool:
        word, _, rest = line[1:].partition(" ")
        command = META.get(word.lower())
        if command is None:
            self.print(t("unknown_meta", command=f":{word}"))
            return True
        return command(self, rest.strip()) is not False

    def usage(self, word: str) -> None:
        lines = [x.strip() for x in t("help").splitlines() if x.strip().startswith(f":{word}")]
        self.print(t("usage", usage=lines[0] if lines else f":{word}"))

    def as_user(self, name: str) -> None:
        if not name:
            self.usage("as")
            return
        self.world.user(name)
        self.speaker = name

    def go(self, title: str) -> None:
        if not title:
            self.usage("in")
            return
        self.chat = PRIVATE if title.lower() in PRIVATE_WORDS or title == t("private") else title
        if self.chat != PRIVATE:
            self.world.group(title)

    def reply(self, rest: str) -> None:
        name, _, text = rest.partition(" ")
        if not name or not text.strip():
            self.usage("reply")
        elif name not in self.world.users:
            self.print(t("unknown_user", name=name))
        else:
            self.send(text.strip(), reply_to=name)

    def send_file(self, rest: str) -> None:
        """:file PATH [caption]: the current user sends a file from this computer."""
        try:
            words = shlex.split(rest)
        except ValueError:
            words = []
        if not words:
            self.usage("file")
            return
        path = Path(words[0]).expanduser()
        try:
            data = path.read_bytes()
        except OSError as error:
            self.print(t("file_unreadable", path=path, reason=error.strerror or error))
            return
        self.show(self.world.send_file(self.speaker, self.chat, path.name, data,
                                       " ".join(words[1:])))

    def lang(self, rest: str) -> None:
        name, _, code = rest.rpartition(" ")
        if not name.strip() or code.lower() not in LANG_CODES:
            self.usage("lang")
            return
        name, code = name.strip(), LANG_CODES[code.lower()]
        if name in self.world.users:
            self.world.users[name] = replace(self.world.users[name], language_code=code)
        else:
            self.world.user(name, lang=code)
        self.print(t("lang_set", name=name, lang=code))

    def list_users(self, _rest: str) -> None:
        self.print(t("users"))
        rows = [f"  {'*' if n == self.speaker else ' '} {n} ({s.external_id})"
                for n, s in self.world.users.items()]
        self.print("\n".join(rows) or f"  {t('none')}")

    def list_groups(self, _rest: str) -> None:
        self.print(t("groups"))
        rows = [f"  {'*' if g == self.chat else ' '} {g}" for g in self.world.groups]
        self.print("\n".join(rows) or f"  {t('none')}")

    def help(self, _rest: str) -> None:
        self.print(t("help"))

    def quit(self, _rest: str) -> bool:
        return False


META: dict[str, Callable[[Repl, str], bool | None]] = {
    "as": Repl.as_user, "in": Repl.go, "dm": lambda r, _: r.go(PRIVATE),
    "reply": Repl.reply, "file": Repl.send_file, "lang": Repl.lang, "users": Repl.list_users,
    "groups": Repl.list_groups, "help": Repl.help, "h": Repl.help, "?": Repl.help,
    "quit": Repl.quit, "q": Repl.quit, "exit": Repl.quit,
}


def restore(world: ConsoleWorld) -> None:
    """Give console users and groups already in the database their old ids back."""
    # ConsoleWorld numbers users u1, u2… and groups g1, g2… in order of first use; without
    # this a later session's first user would silently take over an earlier one's account.
    with world.core.db.session() as session:
        accounts = people.accounts_on(session, PLATFORM)
        chats = orgs.group_chats_on(session, PLATFORM)
        users = {a.external_id: a.display_name for a in accounts}
        groups = {c.external_id: c.title or c.external_id for c in chats}
    for name in _numbered(users, "u"):
        world.user(name)
    for title in _numbered(groups, "g"):
        world.group(title)


def _numbered(names: dict[str, str], prefix: str) -> list[str]:
    """Names of ids prefix1, prefix2… in order, up to the first gap or repeated name."""
    found: list[str] = []
    for number in range(1, len(names) + 1):
        name = names.get(f"{prefix}{number}")
        if not name or name in found:
            break
        found.append(name)
    return found


def _read(prompt: str, interactive: bool, stdin: TextIO, out: TextIO) -> str | None:
    """One input line, or None at the end; piped lines are echoed after the prompt."""
    if interactive:
        try:
            return input(prompt)
        except EOFError:
            print(file=out)
            return None
    line = stdin.readline()
    if not line:
        return None
    line = line.rstrip("\r\n")
    print(prompt + line, file=out, flush=True)
    return line


def _start(world: ConsoleWorld, out: TextIO) -> Repl:
    """First speaker: the world's first user (else a default); first chat: its first group."""
    speaker = next(iter(world.users), None) or t("default_user")
    world.user(speaker)
    chat = next(iter(world.groups), PRIVATE)
    return Repl(world, speaker, chat, out)


def save_file(folder: Path, name: str, data: bytes) -> Path:
    """Save a file the bot sent, private (0600), without overwriting an earlier one."""
    datadir.ensure_folder(folder)
    base = Path(Path(name).name or "file")
    path, number = folder / base, 1
    while path.exists():
        number += 1
        path = folder / f"{base.stem}-{number}{base.suffix}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, datadir.FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return path.resolve()


def run(core: Core, world: ConsoleWorld | None = None, *, stdin: TextIO | None = None,
        stdout: TextIO | None = None, files: Path | None = None) -> int:
    """Read lines until :quit, end of input or Ctrl-C; returns the exit code (0).

    Files the bot sends are saved in `files` when given (the data folder's files/)."""
    stdin, out = stdin or sys.stdin, stdout or sys.stdout
    if world is None:
        world = ConsoleWorld(core)
        restore(world)
    interactive = stdin is sys.stdin and stdin.isatty()
    if interactive:
        _enable_line_editing()
    repl = _start(world, out)
    repl.files = files
    repl.print(f"{t('welcome')}\n{t('help')}\n")
    try:
        while (line := _read(repl.prompt(), interactive, stdin, out)) is not None:
            if not _safely(repl, line):
                break
    except KeyboardInterrupt:
        print(file=out)
    return 0


def _safely(repl: Repl, line: str) -> bool:
    """Handle a line; a failure is shown and the session goes on."""
    try:
        # Timers (reminders, closing an activity) fire between lines, as the clock moves.
        repl.show(repl.world.run_timers())
        repl.show(repl.world.drain_outbox())
        return repl.handle(line)
    except Exception as error:  # the console must survive anything one line does
        log.debug("console line failed: %r", line, exc_info=True)
        repl.print(t("error", error=f"{type(error).__name__}: {error}"))
        return True


def _enable_line_editing() -> None:
    """History and cursor keys for input(), where the platform has readline."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (imported for its side effect on input())

