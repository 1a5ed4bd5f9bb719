"""What a feature sees of one incoming update: who, where, when, and how to answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from handlers.i18n import Catalogs, Translator, normalize_lang
from handlers.messages import Button, ChatKind, Incoming, Outgoing
from handlers.payloads import ButtonData, StartPayload
from handlers.rules import Rules
from storage import people
from storage.models import Account, Chat, Dialog, Person

if TYPE_CHECKING:
    from handlers.core import Core


@dataclass(frozen=True)
class ButtonSpec:
    """A button to be labelled in the reader's language: `key` names its label in locales/."""

    key: str
    data: str | None = None
    start_payload: str | None = None
    params: tuple[tuple[str, object], ...] = ()
    url: str | None = None
    web_app: str | None = None

    @classmethod
    def of(cls, key: str, data: ButtonData | None = None, *,
           start_payload: StartPayload | None = None, url: str | None = None,
           web_app: str | None = None, **params: object) -> ButtonSpec:
        """A button sending `data` back, or opening a private chat with `start_payload`, or
        a page (`url`; `web_app` inside the chat app where the platform can)."""
        return cls(key, data.pack() if data else None,
                   start_payload.pack() if start_payload else None, tuple(params.items()), url,
                   web_app)

    def render(self, t: Translator) -> Button:
        return Button(t(self.key, **dict(self.params)), data=self.data,
                      start_payload=self.start_payload, url=self.url, web_app=self.web_app)


Keyboard = list[list[ButtonSpec]]


@dataclass
class Scope:
    """A unit of work inside one database transaction: a timer firing, or one update."""

    session: Session
    catalogs: Catalogs
    rules: Rules
    now: dt.datetime
    core: Core
    outbox: list[Outgoing] = field(default_factory=list)

    @property
    def platform_hint(self) -> str | None:
        """The platform to prefer when a person has accounts on several."""
        return None

    @property
    def today(self) -> dt.date:
        return self.local_now.date()

    @property
    def local_now(self) -> dt.datetime:
        return self.now.astimezone(self.rules.timezone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.rules.timezone)

    def translator_for(self, person: Person, account: Account | None = None) -> Translator:
        lang = person.lang or normalize_lang(account.language_code if account else None)
        return self.catalogs.get(lang, account.platform if account else None)

    def name_of(self, person_id: int, branch_id: int | None = None) -> str:
        """How a person is named to others: the 亮身份 name, the platform name, else "一位邻居"
        (a WeChat follower has no platform name): never blank."""
        return people.shown_name(self.session, person_id, branch_id) \
            or self.group_t("person.anonymous")

    @property
    def group_t(self) -> Translator:
        """The translator for messages to a whole group (the default language)."""
        return self.catalogs.get(None)

    def tell(self, person_id: int, key: str, keyboard: Keyboard | None = None, /,
             **params: object) -> bool:
        """Message a person privately in their language; False when they have no account."""
        account = self._preferred_account(person_id)
        if account is None:
            return False
        person = self.session.get(Person, person_id)
        assert person is not None
        t = self.translator_for(person, account)
        self.outbox.append(Outgoing(account.platform, account.external_id, t(key, **params),
                                    self._render(keyboard, t)))
        return True

    def post(self, platform: str, chat_id: str, key: str, keyboard: Keyboard | None = None,
             params: dict[str, object] | None = None, *, ref: str | None = None,
             edit_message_id: str | None = None) -> None:
        """A message to a group chat, in the group's language; `ref` names a card to edit later."""
        t = self.group_t
        params = params or {}
        self.outbox.append(Outgoing(platform, chat_id, t(key, **params),
                                    self._render(keyboard, t), ref=ref,
                                    edit_message_id=edit_message_id))

    @staticmethod
    def _render(keyboard: Keyboard | None, t: Translator) -> list[list[Button]]:
        return [[b.render(t) for b in row] for row in keyboard or []]

    def _preferred_account(self, person_id: int) -> Account | None:
        accounts = sorted(people.accounts_of(self.session, person_id),
                          key=lambda a: a.platform != self.platform_hint)
        return accounts[0] if accounts else None

@dataclass
class Context(Scope):
    """One update being handled: who sent it, where, and how to answer."""

    incoming: Incoming = field(kw_only=True)
    account: Account = field(kw_only=True)
    person: Person = field(kw_only=True)
    chat: Chat = field(kw_only=True)
    # The form the sender had open when the update arrived (read with the account).
    open_form: Dialog | None = field(kw_only=True, default=None)

    @property
    def platform_hint(self) -> str | None:
        return self.incoming.platform

    @property
    def in_group(self) -> bool:
        return self.incoming.chat_kind == ChatKind.GROUP

    @property
    def t(self) -> Translator:
        """The translator for the person who sent this update."""
        return self.translator_for(self.person, self.account)

    def reply(self, key: str, keyboard: Keyboard | None = None, /, **params: object) -> None:
        """Answer the sender: in a private chat there, from a group privately (quiet groups:
        refusals, usage and confirmations are nobody else's business)."""
        if self.in_group:
            self.reply_private(key, keyboard, **params)
        else:
            self._send(self.incoming.chat_id, self.t, key, keyboard, params)

    def announce(self, key: str, keyboard: Keyboard | None = None, /,
                 **params: object) -> None:
        """Say something the whole chat needs to see (a check-in's identity line, a summary)."""
        self._send(self.incoming.chat_id, self.t if not self.in_group else self.group_t, key,
                   keyboard, params)

    def reply_private(self, key: str, keyboard: Keyboard | None = None, /,
                      **params: object) -> None:
        """Answer the sender in their private chat with the bot."""
        self._send(self.account.external_id, self.t, key, keyboard, params,
                   fallback=self._open_private_line() if self.in_group else None)

    def _open_private_line(self) -> Outgoing:
        """What the group sees if the private answer cannot be delivered: a link, no content."""
        t = self.group_t
        from handlers.forms import Resume

        button = ButtonSpec.of("quiet.button.open_private", start_payload=Resume())
        return Outgoing(self.incoming.platform, self.incoming.chat_id,
                        t("quiet.open_private", name=self.account.display_name
                          or t("person.anonymous")), self._render([[button]], t))

    def toast(self, key: str, **params: object) -> None:
        """A short answer to a button press, seen only by the one who pressed it."""
        self.outbox.append(Outgoing(self.incoming.platform, self.incoming.chat_id,
                                    self.t(key, **params), toast=True))

    def edit(self, key: str, keyboard: Keyboard | None = None, /, **params: object) -> None:
        """Replace the text of the message whose button was pressed."""
        if self.incoming.message_id is None:
            self.reply(key, keyboard, **params)
            return
        self._send(self.incoming.chat_id, self.t, key, keyboard, params,
                   edit_message_id=self.incoming.message_id)

    def _send(self, chat_id: str, t: Translator, key: str, keyboard: Keyboard | None,
              params: dict[str, object], edit_message_id: str | None = None,
              fallback: Outgoing | None = None) -> None:
        self.outbox.append(Outgoing(self.incoming.platform, chat_id, t(key, **params),
                                    self._render(keyboard, t),
                                    edit_message_id=edit_message_id, fallback=fallback))
