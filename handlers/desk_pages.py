"""What the web desk's pages show, read with the chat's own role checks.

Each function takes the Context of the person looking (as a private message of theirs would
have) and returns plain rows for a template; actions are not here: the desk presses the same
buttons as the chat does (bot/desk/), so every rule stays in its feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Context
from handlers.errors import DomainError
from handlers.identity import Reject, Verify
from handlers.identity import _review as review_card
from handlers.roles import Role, home_branch, require, require_branch, role_in
from storage import people
from storage.models import Branch


@dataclass(frozen=True)
class Overview:
    """Who is looking, and what they may open."""

    name: str
    role: Role
    branch: Branch | None

    @property
    def secretary(self) -> bool:
        return self.role >= Role.SECRETARY


def overview(ctx: Context) -> Overview:
    branch = home_branch(ctx)
    name = (people.shown_name(ctx.session, ctx.person.id, branch.id if branch else None)
            or ctx.account.display_name)
    return Overview(name, role_in(ctx, ctx.person.id, branch), branch)


@dataclass(frozen=True)
class Application:
    """A registration or change waiting for the secretary: the card the chat shows her, and
    the buttons she would press."""

    name: str
    text: str
    verify: str
    reject: str


def secretary_branch(ctx: Context) -> Branch:
    """The branch the sender is secretary of; refused as the chat would refuse."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    return branch


def pending(ctx: Context) -> tuple[Branch, list[Application]]:
    """待核实 as a page: the same rows the chat lists, the sender's own left out."""
    branch = secretary_branch(ctx)
    rows = []
    for profile in people.awaiting_review(ctx.session, branch.id):
        if profile.person_id != ctx.person.id:
            key, _keyboard, params = review_card(profile, branch)
            rows.append(Application(profile.name, ctx.t(key, **params),
                                    Verify(profile.id).pack(), Reject(profile.id).pack()))
    return branch, rows


def not_found() -> DomainError:
    return DomainError("desk_not_found")
