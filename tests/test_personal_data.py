"""The registry of personal data against the models: a table or column that could identify a
person and that no feature declared (with what erasure does to it) fails here."""

from __future__ import annotations

from sqlalchemy import JSON, String

from handlers.core import FEATURES
from handlers.i18n import Catalogs
from handlers.router import Router
from storage.models import Base

# Column names that hold who someone is, how to reach them, or what they wrote.
IDENTIFYING = {"name", "display_name", "username", "phone", "contact", "openid", "external_id",
               "chat_external_id", "text", "note", "building", "address", "key", "pledge",
               "comment", "skills", "title", "description", "place", "data", "choices"}
# Columns with such names that are not about a person, and why.
NOT_PERSONAL = {
    ("communities", "name"): "the community's name",
    ("branches", "name"): "the branch's name",
    ("chats", "external_id"): "group chats only: private chats are never stored",
    ("chats", "title"): "a group's title",
    ("activities", "title"): "the branch's activity",
    ("activities", "place"): "the branch's activity",
    ("activities", "note"): "the branch's activity",
    ("deliveries", "error"): "the platform's answer to a send",
    ("follower_messages", "error"): "the platform's answer to a send",
    ("need_items", "name"): "an item of the branch's needs list",
    ("need_items", "place"): "an item of the branch's needs list",
    ("need_items", "description"): "an item of the branch's needs list",
    ("notices", "text"): "the secretary's notice to the branch",
    ("notice_runs", "text"): "the notice as sent to the branch",
    ("problem_reports", "note"): "the secretary's record of the branch's work",
    ("wecom_robots", "name"): "the name of a group's robot",
    ("wecom_robots", "webhook_key"): "the branch's robot, not a person's",
    ("timers", "ref"): "a row id of the thing the timer is for",
    ("callback_nonces", "nonce"): "WeChat's random nonce, no person in it",
    ("day_overrides", "kind"): "a day's kind",
    ("replies", "chat_external_id"): "an answer on its way (PostgreSQL): deleted once sent, "
                                     "within seconds, or given up after five tries",
}


def registry() -> Router:
    catalogs = Catalogs()
    return Router(FEATURES, catalogs.keywords, catalogs.words)


def test_every_column_naming_a_person_is_declared() -> None:
    router = registry()
    owners = {(e.table.__tablename__, e.owner) for e in router.personal}
    references = {(r.table.__tablename__, r.column) for r in router.references}
    undeclared = [f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables
                  for column in table.columns
                  if any(fk.column.table.name == "persons" for fk in column.foreign_keys)
                  and (table.name, column.name) not in owners | references]
    assert undeclared == [], "say in the feature's PERSONAL_DATA what /forget does with these"


def test_every_identifying_column_is_declared_or_explained() -> None:
    router = registry()
    declared = {(e.table.__tablename__, c) for e in router.personal
                for c in (e.owner, *e.columns)}
    owned = {e.table.__tablename__ for e in router.personal}
    undeclared = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            key = (table.name, column.name)
            free_text = isinstance(column.type, JSON) or (
                isinstance(column.type, String) and (column.type.length or 0) >= 200)
            suspect = any(word in column.name.split("_") or word == column.name
                          for word in IDENTIFYING) or (table.name in owned and free_text)
            if suspect and key not in declared and key not in NOT_PERSONAL:
                undeclared.append(f"{table.name}.{column.name}")
    assert undeclared == []


def test_every_kind_has_words_in_each_language() -> None:
    router = registry()
    catalogs = Catalogs()
    for lang in ("zh_CN", "en"):
        t = catalogs.get(lang)
        for entry in router.personal:
            assert t(f"privacy.kind.{entry.kind}") != f"privacy.kind.{entry.kind}"
