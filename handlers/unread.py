"""未读: what could not reach a person one to one (a notice, a verification result, a
promotion from the waitlist, an escalation), shown again as it was written, with its action
("回复「收到」确认", "核实 3")."""

from __future__ import annotations

from handlers.context import Context
from handlers.personal import PersonalData, Reference, of_accounts
from handlers.router import Command, Feature
from storage import wechat_users
from storage.models import FollowerMessage, MissedMessage

# The most shown at once (the rest on the next 未读).
SHOWN = 10


def unread(ctx: Context, _args: str) -> None:
    """The messages missed in this private chat, oldest first; each is shown once."""
    rows = wechat_users.missed(ctx.session, ctx.account.platform, ctx.account.external_id)
    if not rows:
        ctx.reply_private("unread.none")
        return
    shown, rest = rows[:SHOWN], rows[SHOWN:]
    ctx.reply_private("unread.header", count=len(rows))
    for row in shown:
        ctx.reply_private("unread.item", at=ctx.local(row.at).strftime("%m-%d %H:%M"),
                          text=row.text)
    if rest:
        ctx.reply_private("unread.more", count=len(rest))
    wechat_users.forget_missed(ctx.session, [row.id for row in shown])


PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("missed_messages", MissedMessage, "chat_external_id", ("text",),
                 match=of_accounts(MissedMessage.platform, MissedMessage.chat_external_id)),
    PersonalData("follower_messages", FollowerMessage, "chat_external_id", ("text",),
                 match=of_accounts(FollowerMessage.platform, FollowerMessage.chat_external_id)),
]

FEATURE = Feature(personal=PERSONAL_DATA, commands=[Command("unread", unread)])
