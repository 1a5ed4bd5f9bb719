"""Who a command names: `@用户名`, `@姓名` (or a bare name), or the author of the replied message.

One resolver for every command that acts on a person (/grant, /revoke, 活动 解除限制,
积分 调整, assigning a problem report). A name is looked up among the people of the branch
the update is about: the name a member registered (verified), or the platform name of anyone
registered with the branch or holding a role in it. Two people of that name: ask which.
"""

from __future__ import annotations

import re

from handlers.context import Context
from handlers.errors import DomainError
from handlers.roles import home_branch
from handlers.text import clean_name
from storage import people
from storage.models import Account, Branch
from storage.people import SenderInfo

MAX_NAME_SHOWN = 20
# Punctuation typed after a name ("@张三，辛苦了") is not part of it (full-width forms too).
TRAILING = re.compile(r"[,.:;!?，。：；！？、]+$")


def target_account(ctx: Context, words: list[str], usage: str = "name_someone", *,
                   in_branch: Branch | None = None, **usage_params: object) -> Account:
    """The person meant by the command's words (a name looked up in `in_branch`, else in the
    update's branch), else by the reply; `usage` when neither."""
    named = _named(ctx, words)
    if named is not None:
        return _by_name(ctx, named, in_branch)
    if ctx.incoming.reply_to is not None:
        # The person replied to may never have spoken to the bot (chatter leaves no trace):
        # the platform says who they are, so they are known from now on.
        author = ctx.incoming.reply_to
        account, _ = people.ensure_account(ctx.session, SenderInfo(
            author.platform, author.external_id, clean_name(author.display_name),
            author.username,
            author.language_code), ctx.now)
        return account
    raise DomainError(usage, **usage_params)


def _named(ctx: Context, words: list[str]) -> str | None:
    """`@someone` among the words, else a platform mention, else the first word as a name."""
    tagged = [w for w in words if w.startswith("@") and len(w) > 1]
    if tagged:
        return tagged[0]
    if ctx.incoming.mentions:
        return "@" + ctx.incoming.mentions[0]
    if ctx.incoming.reply_to is not None:
        return None
    return words[0] if words else None


def _by_name(ctx: Context, named: str, in_branch: Branch | None = None) -> Account:
    """A platform username first (it is unique), else a name in the branch."""
    name = TRAILING.sub("", named.removeprefix("@").strip())
    account = people.find_account_by_username(ctx.session, ctx.incoming.platform, name)
    if account is not None:
        return account
    branch = in_branch or home_branch(ctx)
    found = people.named_in_branch(ctx.session, branch.id, branch.community_id,
                                   name) if branch else []
    if not found:
        raise DomainError("no_such_person", name=name[:MAX_NAME_SHOWN])
    if len(found) > 1:
        lines = [_candidate(ctx, person_id, branch.id if branch else None)
                 for person_id in found]
        raise DomainError("which_person", name=name, count=len(found),
                          people=ctx.t("list.separator").join(lines))
    return _account_of(ctx, found[0])


def _account_of(ctx: Context, person_id: int) -> Account:
    """The person's account on this platform, else any of their accounts."""
    accounts = people.accounts_of(ctx.session, person_id)
    here = [a for a in accounts if a.platform == ctx.incoming.platform]
    return (here or list(accounts))[0]


def _candidate(ctx: Context, person_id: int, branch_id: int | None) -> str:
    """One of several people of the same name, told apart by building and username."""
    name = ctx.name_of(person_id, branch_id)
    profile = people.profile(ctx.session, person_id, branch_id) if branch_id else None
    details = [profile.building] if profile is not None else []
    details += [f"@{a.username}" for a in people.accounts_of(ctx.session, person_id)
                if a.platform == ctx.incoming.platform and a.username]
    if not details:
        return name
    return ctx.t("mention.candidate", name=name,
                 details=ctx.t("list.separator").join(details))
