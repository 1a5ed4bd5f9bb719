"""需求清单: the branch's service items, and members' 承诺 · 践诺 · 评诺 on them.

The secretary adds items with `/newitem` (a private form) or `/importitems` and then a CSV or
.xlsx file (handlers/needs_import.py). `/items` shows the list with who holds what.
`/claim <name>` 认领 is a promise (承诺), optionally with a pledge: `认领 A段绿化 承诺：每周二浇水`;
claiming an item one already holds with a new pledge replaces the pledge. `/unclaim` 放弃认领
gives an item back. `/done` 践诺 reports the deed with a note; the secretaries get 1–5 buttons
(or type `评诺 A段绿化 5 很好`), and each point of the rating is worth `points_per_star` points.
A claim without 践诺 after `claim_stale_days` is reminded once, privately; after as many days
again it returns to the list, and the member and the secretaries are told.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process

from handlers import desk, forms, points
from handlers.addressing import any_of, free_text, needs_item, subcommands
from handlers.context import ButtonSpec, Context, Keyboard, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.i18n import Phrase
from handlers.messages import Document
from handlers.moments import short
from handlers.needs_import import (
    MAX_DESCRIPTION,
    MAX_HOLDERS,
    MAX_NAME,
    RECURRENCES,
    ImportRejected,
    import_items,
    parse_holders,
    parse_recurrence,
)
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, CommandHandler, Feature, On, normalize, run_subcommand
from handlers.text import clean_field
from storage import needs, orgs, people, timers
from storage.models import Branch, Claim, ClaimStatus, NeedItem

MAX_PLEDGE, MAX_NOTE, MAX_COMMENT, MAX_SHOWN_PROBLEMS = 100, 200, 100, 20
MATCH_CUTOFF, MAX_BUTTONS = 60, 8
# "认领 <name> 承诺：<pledge>": the pledge marker, in either language.
PLEDGE = re.compile(r"\s*(?:承诺|pledge)\s*[:：]?\s*", re.IGNORECASE)
# "评诺 <name> 5 很好" / "<name> 5分 很好": the name, a lone 1–5 (a unit may follow), a comment.
RATED = re.compile(r"^(?P<name>.+?)\s+(?P<rating>[1-5])\s*(?:分|星|stars?)?(?:\s+|$|(?<=[分星]))"
                   r"(?P<comment>.*)$", re.IGNORECASE | re.DOTALL)

Data = dict[str, Any]


# ---------------------------------------------------------------- the list


def items(ctx: Context, args: str) -> None:
    """`/items` shows the list; `/items new` and `/items import` are the secretary's."""
    if run_subcommand(ctx, args, SUBCOMMANDS, "items"):
        return
    branch = require_branch(ctx)
    listed = needs.items(ctx.session, branch.id)
    if not listed:
        ctx.reply("needs.empty", branch=branch.name)
        return
    holding = holdings(ctx, branch)
    done = done_once(ctx, branch, holding)
    lines = [_line(ctx, n, item, holding.get(item.id, []), item.id in done)
             for n, item in enumerate(listed, 1)]
    free = [i for i in listed if len(holding.get(i.id, [])) < i.holders
            and i.id not in done][:MAX_BUTTONS]
    ctx.reply("needs.list", [[ButtonSpec.of("needs.button.claim", ClaimItem(i.id), name=i.name)]
                             for i in free], branch=branch.name, lines="\n".join(lines))


def holdings(ctx: Context, branch: Branch) -> dict[int, list[Claim]]:
    held: dict[int, list[Claim]] = {}
    for claim in needs.open_claims(ctx.session, branch.id):
        held.setdefault(claim.item_id, []).append(claim)
    return held


def done_once(ctx: Context, branch: Branch, holding: dict[int, list[Claim]]) -> set[int]:
    """One-off items fulfilled and nobody holding them: done, not "待认领" again."""
    one_off = {i.id for i in needs.items(ctx.session, branch.id) if not i.recurrence}
    return {i for i in needs.finished(ctx.session, branch.id) & one_off if not holding.get(i)}


def _line(ctx: Context, number: int, item: NeedItem, claims: list[Claim],
          done: bool = False) -> str:
    facts = [item.name, item.place, recurrence_words(ctx, item.recurrence)]
    names = [ctx.t("needs.holder_pledge" if c.pledge else "needs.holder",
                   name=ctx.name_of(c.person_id, item.branch_id),
                   pledge=c.pledge) for c in claims]
    held = ctx.t("list.separator").join(names) or ctx.t("needs.done" if done
                                                         else "needs.nobody")
    description = ctx.t("needs.description_line", description=item.description) \
        if item.description else ""
    return ctx.t("needs.line", number=number, facts=" · ".join(f for f in facts if f),
                 taken=len(claims), holders=item.holders, held=held, description=description)


def recurrence_words(ctx: Context, code: str) -> str:
    return ctx.t(f"needs.recurrence.{code}") if code else ""


# ---------------------------------------------------------------- adding items: the form


def start_form(ctx: Context, _args: str) -> None:
    """`/newitem`: the secretary's form, in the private chat wherever it was asked."""
    branch = _secretary_branch(ctx)
    forms.start(ctx, FORM, {"branch_id": branch.id})


def start_import(ctx: Context, _args: str) -> None:
    """`/importitems`: a file sent with this caption (or uploaded on the desk) is imported;
    else the bot waits for one, or, where nobody can send it a file, links the upload page."""
    branch = _secretary_branch(ctx)
    document = ctx.incoming.document
    if document is not None and not ctx.in_group:
        _import(ctx, branch, document, wait=False)
        return
    if ctx.incoming.platform in desk.NO_FILES:
        ctx.reply_private("needs.upload_link", branch=branch.name, minutes=desk.LINK_MINUTES,
                          url=desk.login_url(ctx, desk.UPLOAD_PATH))
        return
    forms.start(ctx, IMPORT, {"branch_id": branch.id})


def _secretary_branch(ctx: Context) -> Branch:
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    return branch


def start_from_link(ctx: Context, link: ItemsLink) -> None:
    """The deep link from a group: a new item or an import, for the group's branch."""
    branch = orgs.branch(ctx.session, link.branch_id)
    if branch is None:
        raise DomainError("bad_start_payload")
    require(ctx, Role.SECRETARY, branch)
    forms.start(ctx, FORM if link.what == "new" else IMPORT, {"branch_id": branch.id})


def _branch_prompt(key: str, **params: object) -> Callable[[Context, Data], Prompt]:
    def prompt(ctx: Context, data: Data) -> Prompt:
        branch = orgs.branch(ctx.session, data["branch_id"])
        return key, {"branch": branch.name if branch else "", **params}
    return prompt


def _name(ctx: Context, text: str, data: Data) -> Data:
    name = clean_field(text, MAX_NAME, "item_name")
    taken = {normalize(n) for n in needs.names(ctx.session, data["branch_id"])}
    if normalize(name) in taken:
        raise DomainError("item_exists", name=name)
    return {"name": name}


def _place(ctx: Context, text: str, _data: Data) -> Data:
    return {"place": clean_field(text, ctx.rules.max_field_length, "place")}


def _description(ctx: Context, text: str, _data: Data) -> Data:
    return {"description": clean_field(text, MAX_DESCRIPTION, "description")}


def _holders(ctx: Context, text: str, _data: Data) -> Data:
    holders = parse_holders(text)
    if holders is None:
        raise DomainError("bad_number", field="holders", low=1, high=MAX_HOLDERS)
    return {"holders": holders}


def _typed_recurrence(ctx: Context, text: str, _data: Data) -> Data:
    recurrence = parse_recurrence(text)
    if recurrence is None:
        raise DomainError("pick_an_option")
    return {"recurrence": recurrence}


def _add(ctx: Context, data: Data) -> None:
    branch = orgs.branch(ctx.session, data["branch_id"])
    assert branch is not None
    require(ctx, Role.SECRETARY, branch)
    _name(ctx, data["name"], data)  # someone may have added the same name meanwhile
    needs.create_item(ctx.session, branch_id=branch.id, name=data["name"], place=data["place"],
                      description=data.get("description", ""), holders=data["holders"],
                      recurrence=data["recurrence"], created_by=ctx.person.id,
                      created_at=ctx.now)
    forms.done(ctx, "needs.item_added", name=data["name"], branch=branch.name)


FORM = Form("items_new", "form.title.item", (
    Step("name", _branch_prompt("needs.ask_name", limit=MAX_NAME), _name,
         label="field.item_name"),
    Step("place", "needs.ask_place", _place),
    Step("description", "needs.ask_description", _description, skip="needs.button.none"),
    Step("holders", lambda _c, _d: ("needs.ask_holders", {"limit": MAX_HOLDERS}), _holders,
         numeric=True),
    Step("recurrence", "needs.ask_recurrence", _typed_recurrence,
         options=lambda _c, _d: [Option(c, f"needs.recurrence_choice.{c}") for c in RECURRENCES],
         pick=lambda _c, code, _d: {"recurrence": "" if code == "none" else code},
         show=lambda _c, d: Phrase(f"needs.recurrence_choice.{d['recurrence'] or 'none'}")),
), _add, submit_label="needs.button.add")


# ---------------------------------------------------------------- adding items: a file


def _file(ctx: Context, _text: str, data: Data) -> Data:
    """Inside the import form: the file, else a reminder to send one."""
    if ctx.incoming.document is None:
        raise DomainError("import_needs_file")
    return {"file": ctx.incoming.document.file_name}


def _import_file(ctx: Context, data: Data) -> None:
    branch = orgs.branch(ctx.session, data["branch_id"])
    document = ctx.incoming.document
    if branch is None or document is None:
        raise DomainError("import_needs_file")
    require(ctx, Role.SECRETARY, branch)
    _import(ctx, branch, document)


IMPORT = Form("items_import", "form.title.import", (
    Step("file", _branch_prompt("needs.send_file"), _file),
), _import_file)


def _import(ctx: Context, branch: Branch, document: Document, wait: bool = True) -> None:
    """Import the file; after a refusal, `wait` for a better one in the form (a file that
    came with its command, or from the desk's upload page, is sent again the same way)."""
    try:
        added = import_items(ctx, branch, document.file_name, document.data, ctx.person.id)
    except ImportRejected as rejected:
        # Nothing was written: the rows are all checked before the first is stored.
        shown = [ctx.t("needs.problem_line", line=p.line, problem=p.shown())
                 for p in rejected.problems[:MAX_SHOWN_PROBLEMS]]
        hidden = len(rejected.problems) - len(shown)
        ctx.reply("needs.import_rejected", file=document.file_name, problems="\n".join(shown),
                  more=Phrase.of("needs.more_problems", count=hidden) if hidden else "")
        if wait:
            forms.start(ctx, IMPORT, {"branch_id": branch.id}, ask=False)  # a better file
        return
    ctx.reply("needs.imported", count=len(added), branch=branch.name,
              names=ctx.t("list.separator").join(i.name for i in added))


# ---------------------------------------------------------------- 认领


def claim(ctx: Context, args: str) -> None:
    """`认领 <name> [承诺：<pledge>]`: the item picked by name (asked when unclear);
    `认领 逾期` lists the claims past the stale limit."""
    if run_subcommand(ctx, args, CLAIM_SUBCOMMANDS, "claim"):
        return
    branch = require_branch(ctx)
    require(ctx, Role.MEMBER, branch)
    wanted, pledge = ([*PLEDGE.split(args, maxsplit=1), ""])[:2]
    pledge = clean_field(pledge, MAX_PLEDGE, "pledge") if pledge.strip() else ""
    listed = list(needs.items(ctx.session, branch.id))
    if not listed:
        raise DomainError("no_items")
    if not wanted.strip():
        holding = holdings(ctx, branch)
        listed = [i for i in listed if len(holding.get(i.id, [])) < i.holders]
        if not listed:
            raise DomainError("no_free_items")
    chosen = _pick(ctx, wanted, {i.id: i.name for i in listed}, "claim", pledge=pledge)
    if chosen is not None:
        _claim(ctx, chosen, pledge)


@dataclass(frozen=True)
class ClaimItem(ButtonData, prefix="needclaim"):
    """认领 on the needs list."""

    item_id: int


@dataclass(frozen=True)
class GiveBack(ButtonData, prefix="needgive"):
    """Give a claim back (from a reminder)."""

    claim_id: int


@dataclass(frozen=True)
class Deed(ButtonData, prefix="needdeed"):
    """践诺: report a claim fulfilled (from a reminder)."""

    claim_id: int


@dataclass(frozen=True)
class RateDeed(ButtonData, prefix="needrate"):
    """评诺: the secretary's 1–5 stars for a fulfilled claim."""

    claim_id: int
    stars: int


@dataclass(frozen=True)
class ItemsLink(StartPayload, prefix="items"):
    """The deep link from a group: a new item (new) or an import (imp) for a branch."""

    what: Literal["new", "imp"]
    branch_id: int


def overdue(ctx: Context, _args: str) -> None:
    """`认领 逾期`: open claims older than the stale limit, with who holds them; privately."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    since = ctx.now - dt.timedelta(days=ctx.rules.claim_stale_days)
    rows = [c for c in needs.open_claims(ctx.session, branch.id) if c.claimed_at <= since]
    lines = []
    for row in rows:
        item = needs.item(ctx.session, row.item_id)
        lines.append(ctx.t("claim.overdue_line", name=people.shown_name(
            ctx.session, row.person_id, branch.id), item=item.name if item else "",
            since=short(row.claimed_at, ctx.local_now),
            count=(ctx.now - row.claimed_at).days))
    ctx.reply_private("claim.overdue_list" if rows else "claim.none_overdue",
                      count=len(rows), days=f"{ctx.rules.claim_stale_days:g}",
                      lines="\n".join(lines))


CLAIM_SUBCOMMANDS: dict[str, CommandHandler] = {"overdue": overdue}


def claim_button(ctx: Context, tapped: ClaimItem) -> None:
    """认领 from the list's buttons (no pledge: add one by typing it)."""
    _claim(ctx, tapped.item_id, "")


def _pick(ctx: Context, wanted: str, options: dict[int, str], action: str,
          **kept: object) -> int | None:
    """The id whose name `wanted` means; None after asking which one (a one-step form that
    keeps what else was typed, the pledge say, for when the person has picked)."""
    found = best_matches(wanted, options)
    if not found:
        raise DomainError("unknown_item", name=wanted[:30])
    if len(found) == 1:
        return found[0]
    _ask_which(ctx, action, {i: options[i] for i in found}, **kept)
    return None


def _ask_which(ctx: Context, action: str, options: dict[int, str], **kept: object) -> None:
    choices = [[str(i), name] for i, name in list(options.items())[:MAX_BUTTONS]]
    forms.start(ctx, PICK, {"action": action, "choices": choices, **kept})


def _picked(ctx: Context, data: Data) -> None:
    """The person chose one item: do what they asked, with what they had written."""
    chosen = int(data["which"])
    action = data["action"]
    if action == "claim":
        _claim(ctx, chosen, data.get("pledge", ""))
    elif action == "give":
        _give_back(ctx, chosen)
    elif action in _REMOVALS:
        _REMOVALS[action](ctx, chosen)
    elif action == "deed":
        held = _own_claim(ctx, chosen)
        note = data.get("note", "")
        if note:
            _fulfil(ctx, held, clean_field(note, MAX_NOTE, "deed_note"))
        else:
            _ask_note(ctx, held)
    else:
        _rate_picked(ctx, chosen, data.get("rating"), data.get("comment", ""))


PICK = Form("need_pick", "form.title.pick", (
    Step("which", "needs.which", options=lambda _c, d: [
        Option.of(i, "needs.button.pick", name=name) for i, name in d["choices"]], per_row=1,
         label="field.item"),
), _picked)


def best_matches(wanted: str, options: dict[int, str]) -> list[int]:
    """Ids that fit `wanted` best: the exact name, else the best fuzzy scores (ties kept)."""
    folded = normalize(wanted)
    if not folded:
        return list(options)
    names = {key: normalize(name) for key, name in options.items()}
    exact = [key for key, name in names.items() if name == folded]
    if exact:
        return exact
    scored = process.extract(folded, names, scorer=fuzz.partial_ratio,
                             score_cutoff=MATCH_CUTOFF, limit=None)
    return [key for _, score, key in scored if score == scored[0][1]] if scored else []


def _claim(ctx: Context, item_id: int, pledge: str) -> None:
    found = needs.item(ctx.session, item_id)
    if found is None or found.archived_at is not None:
        raise DomainError("button_expired")
    require(ctx, Role.MEMBER, orgs.branch(ctx.session, found.branch_id))
    # Lock order: the member, then the item. The member's lock keeps two of their claims on
    # different items from both passing the per-member limit; the item's, the holder count.
    needs.lock_person(ctx.session, ctx.person.id)
    item = needs.locked_item(ctx.session, item_id)
    assert item is not None
    if not item.recurrence and item.id in needs.finished(ctx.session, item.branch_id) \
            and not needs.open_count_of_item(ctx.session, item.id):
        raise DomainError("item_done", name=item.name)
    mine = needs.open_claim(ctx.session, item.id, ctx.person.id)
    if mine is not None:
        if not pledge:
            raise DomainError("already_claimed", name=item.name)
        mine.pledge = pledge
        _answer(ctx, "needs.pledge_updated", name=item.name, pledge=pledge)
        return
    if needs.open_count_of_person(ctx.session, ctx.person.id) >= ctx.rules.claim_limit:
        raise DomainError("claim_limit", limit=ctx.rules.claim_limit)
    if needs.open_count_of_item(ctx.session, item.id) >= item.holders:
        raise DomainError("item_full", name=item.name, count=item.holders)
    made = needs.add_claim(ctx.session, item, ctx.person.id, pledge, ctx.now)
    _set_timers(ctx, made)
    _answer(ctx, "needs.claimed_pledge" if pledge else "needs.claimed", name=item.name,
            pledge=pledge, days=f"{ctx.rules.claim_stale_days:g}")


def _set_timers(scope: Scope, made: Claim) -> None:
    stale = dt.timedelta(days=scope.rules.claim_stale_days)
    timers.schedule(scope.session, "claim_reminder", str(made.id), made.claimed_at + stale)
    timers.schedule(scope.session, "claim_expire", str(made.id), made.claimed_at + 2 * stale)


def _answer(ctx: Context, key: str, **params: object) -> None:
    """A button press gets a pop-up; a typed command a reply."""
    if ctx.incoming.button_data is not None:
        ctx.toast(key, **params)
    else:
        ctx.reply(key, **params)


# ---------------------------------------------------------------- 放弃认领


def unclaim(ctx: Context, args: str) -> None:
    """`放弃认领 [name]`: give back one of one's open claims."""
    branch = require_branch(ctx)
    mine = _my_claims(ctx, branch)
    chosen = _pick(ctx, args, _claim_names(ctx, mine), "give")
    if chosen is not None:
        _give_back(ctx, chosen)


def give_back_button(ctx: Context, tapped: GiveBack) -> None:
    _give_back(ctx, tapped.claim_id)


def _give_back(ctx: Context, claim_id: int) -> None:
    held = _own_claim(ctx, claim_id)
    if not needs.move(ctx.session, held.id, ClaimStatus.OPEN, ClaimStatus.RELEASED,
                      closed_at=ctx.now):
        raise DomainError("claim_not_open")
    _answer(ctx, "needs.released", name=_item_name(ctx, held))


def _my_claims(ctx: Context, branch: Branch) -> list[Claim]:
    mine = list(needs.claims_of(ctx.session, ctx.person.id, branch.id))
    if not mine:
        raise DomainError("nothing_claimed")
    return mine


def _claim_names(ctx: Context, claims: list[Claim]) -> dict[int, str]:
    return {c.id: _item_name(ctx, c) for c in claims}


def _item_name(ctx: Scope, held: Claim) -> str:
    found = needs.item(ctx.session, held.item_id)
    assert found is not None
    return found.name


def _own_claim(ctx: Context, claim_id: int) -> Claim:
    held = needs.claim(ctx.session, claim_id)
    if held is None:
        raise DomainError("button_expired")
    if held.person_id != ctx.person.id:
        raise DomainError("not_your_claim")
    if held.status != ClaimStatus.OPEN:
        raise DomainError("claim_not_open")
    return held


# ---------------------------------------------------------------- 践诺


def done(ctx: Context, args: str) -> None:
    """`践诺 [name] <note>`: with one open claim the whole text is the note."""
    branch = require_branch(ctx)
    mine = _my_claims(ctx, branch)
    names = _claim_names(ctx, mine)
    chosen, note = _claim_and_note(mine, names, args)
    if chosen is None:
        _ask_which(ctx, "deed", names, note=note)
        return
    if not note:
        _ask_note(ctx, chosen)
        return
    _fulfil(ctx, chosen, clean_field(note, MAX_NOTE, "deed_note"))


def _claim_and_note(mine: list[Claim], names: dict[int, str],
                    args: str) -> tuple[Claim | None, str]:
    """Which claim the text is about and the note; (None, note) when the claim is unclear."""
    text = args.strip()
    for held in mine:  # the full item name first, exactly as listed
        if normalize(text).startswith(normalize(names[held.id])):
            return held, text[len(names[held.id]):].strip(" :：，,")
    first, _, rest = text.partition(" ")
    found = best_matches(first, names) if len(mine) > 1 and first else []
    if len(found) == 1:
        return next(c for c in mine if c.id == found[0]), rest.strip()
    if len(mine) == 1:
        return mine[0], text
    # Unclear which: whatever reads as the note is kept for after the person has picked.
    return None, rest.strip() if found else text


def deed_button(ctx: Context, tapped: Deed) -> None:
    """践诺 from a reminder or the which-one question: the note is asked privately."""
    _ask_note(ctx, _own_claim(ctx, tapped.claim_id))


def _ask_note(ctx: Context, held: Claim) -> None:
    forms.start(ctx, DEED, {"claim_id": held.id, "name": _item_name(ctx, held)})
    if ctx.in_group and ctx.incoming.button_data is not None:
        ctx.toast("needs.asked_privately")


def _deed_note(ctx: Context, text: str, _data: Data) -> Data:
    return {"note": clean_field(text, MAX_NOTE, "deed_note")}


def _deed_submit(ctx: Context, data: Data) -> None:
    _fulfil(ctx, _own_claim(ctx, data["claim_id"]), data["note"])


DEED = Form("need_deed", "form.title.deed", (
    Step("note", lambda _c, d: ("needs.ask_note", {"name": d["name"]}), _deed_note,
         label="field.deed_note"),
), _deed_submit)


def _fulfil(ctx: Context, held: Claim, note: str) -> None:
    if not needs.move(ctx.session, held.id, ClaimStatus.OPEN, ClaimStatus.DONE, done_at=ctx.now,
                      done_note=note):
        raise DomainError("claim_not_open")
    name = _item_name(ctx, held)
    _answer(ctx, "needs.fulfilled", name=name)
    member = ctx.name_of(held.person_id, held.branch_id)
    for secretary in people.holders(ctx.session, "secretary", branch_id=held.branch_id):
        ctx.tell(secretary, "needs.deed_notice", _stars(held.id), member=member, name=name,
                 note=note, pledge=held.pledge or ctx.t("needs.none"))


def _stars(claim_id: int) -> Keyboard:
    return [[ButtonSpec.of("needs.button.stars", RateDeed(claim_id, n), n=n)
             for n in range(1, 6)]]


# ---------------------------------------------------------------- 评诺


def rate(ctx: Context, args: str) -> None:
    """`评诺 <name> <1–5> [comment]`, or just the name to get the 1–5 buttons."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    waiting = list(needs.claims_with(ctx.session, branch.id, ClaimStatus.DONE))
    if not waiting:
        raise DomainError("nothing_to_rate")
    wanted, rating, comment = _split_rating(args)
    labels = {c.id: _rated_label(ctx, c) for c in waiting}
    found = best_matches(wanted, {c.id: _item_name(ctx, c) for c in waiting})
    if not found:
        raise DomainError("unknown_item", name=wanted[:30])
    if len(found) > 1:
        _ask_which(ctx, "rate", {i: labels[i] for i in found}, rating=rating, comment=comment)
        return
    _rate_picked(ctx, found[0], rating, comment)


def _rate_picked(ctx: Context, claim_id: int, rating: int | None, comment: str) -> None:
    """With a rating typed: rated now; without one: the 1–5 buttons."""
    if rating is None:
        held = _claim_to_rate(ctx, claim_id)
        _answer_or_edit(ctx, "needs.ask_rating", _stars(held.id), name=_rated_label(ctx, held))
        return
    _rate(ctx, claim_id, rating, clean_field(comment, MAX_COMMENT, "comment") if comment else "")


def _split_rating(args: str) -> tuple[str, int | None, str]:
    """Name, rating and comment from `A段绿化 5 很好`; no rating when none is given."""
    matched = RATED.match(unicodedata.normalize("NFKC", args).strip())
    if matched is None:
        return args.strip(), None, ""
    return matched["name"], int(matched["rating"]), matched["comment"].strip()


def _rated_label(ctx: Context, held: Claim) -> str:
    return ctx.t("needs.claim_label", name=_item_name(ctx, held),
                 member=ctx.name_of(held.person_id, held.branch_id))


def rating_button(ctx: Context, tapped: RateDeed) -> None:
    """A 1–5 button: the rating is kept, then an optional comment is asked."""
    held = _claim_to_rate(ctx, tapped.claim_id)
    rating = tapped.stars
    if not 1 <= rating <= 5:
        raise DomainError("button_expired")
    forms.start(ctx, RATING, {"claim_id": held.id, "rating": rating})
    if ctx.in_group:
        ctx.toast("needs.asked_privately")


def _claim_to_rate(ctx: Context, claim_id: int) -> Claim:
    held = needs.claim(ctx.session, claim_id)
    if held is None:
        raise DomainError("button_expired")
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, held.branch_id))
    if held.status == ClaimStatus.RATED:
        raise DomainError("already_rated", name=_item_name(ctx, held), rating=held.rating)
    if held.status != ClaimStatus.DONE:
        raise DomainError("button_expired")
    return held


def _comment(ctx: Context, text: str, _data: Data) -> Data:
    return {"comment": clean_field(text, MAX_COMMENT, "comment")}


def _rating_submit(ctx: Context, data: Data) -> None:
    _rate(ctx, data["claim_id"], data["rating"], data["comment"])


# A command typed here (another 评诺, say) runs as a command: the comment waits (forms.py).
RATING = Form("need_rate", "form.title.rating", (
    Step("comment", lambda _c, d: ("needs.ask_comment", {"rating": d["rating"]}), _comment,
         skip="needs.button.no_comment"),
), _rating_submit)


def _answer_or_edit(ctx: Context, key: str, keyboard: Keyboard, **params: object) -> None:
    if ctx.incoming.button_data is not None:
        ctx.edit(key, keyboard, **params)
    else:
        ctx.reply(key, keyboard, **params)


def _rate(ctx: Context, claim_id: int, rating: int, comment: str) -> None:
    held = _claim_to_rate(ctx, claim_id)
    if not needs.move(ctx.session, held.id, ClaimStatus.DONE, ClaimStatus.RATED, rating=rating,
                      rating_comment=comment, rated_by=ctx.person.id, rated_at=ctx.now,
                      closed_at=ctx.now):
        raise DomainError("already_rated", name=_item_name(ctx, held), rating=rating)
    earned = points.for_deed(ctx, held, rating)
    name, member = _item_name(ctx, held), ctx.name_of(held.person_id,
                                                            held.branch_id)
    _answer_or_edit(ctx, "needs.rated", [], member=member, name=name, rating=rating,
                    points=earned)
    ctx.tell(held.person_id, "needs.rated_told", name=name, rating=rating, points=earned,
             comment=Phrase.of("needs.comment_line", comment=comment) if comment else "")


# ---------------------------------------------------------------- timers


def remind_stale(scope: Scope, ref: str) -> None:
    """A claim silent for `claim_stale_days`: one private reminder."""
    held = needs.claim(scope.session, int(ref))
    if held is None or held.status != ClaimStatus.OPEN:
        return
    held.reminded_at = scope.now
    scope.tell(held.person_id, "needs.stale_reminder",
               [[ButtonSpec.of("needs.button.deed", Deed(held.id)),
                 ButtonSpec.of("needs.button.give_back", GiveBack(held.id))]],
               name=_item_name(scope, held), days=f"{scope.rules.claim_stale_days:g}")


def expire_stale(scope: Scope, ref: str) -> None:
    """Still silent after as long again: the item returns to the list; the secretaries hear."""
    held = needs.claim(scope.session, int(ref))
    if held is None or not needs.move(scope.session, held.id, ClaimStatus.OPEN, ClaimStatus.EXPIRED,
                                      closed_at=scope.now):
        return
    name = _item_name(scope, held)
    scope.tell(held.person_id, "needs.expired_told", name=name)
    member = scope.name_of(held.person_id, held.branch_id)
    for secretary in people.holders(scope.session, "secretary", branch_id=held.branch_id):
        scope.tell(secretary, "needs.expired_notice", member=member, name=name,
                   days=f"{2 * scope.rules.claim_stale_days:g}")


def close_item(ctx: Context, args: str) -> None:
    """`事项 关闭 <名称>`: off the list for good; its claims and deeds stay in the ledger."""
    _removal(ctx, args, "close")


def delete_item(ctx: Context, args: str) -> None:
    """`事项 删除 <名称>`: gone, if nobody ever claimed it; otherwise closed instead."""
    _removal(ctx, args, "delete")


def _removal(ctx: Context, args: str, action: str) -> None:
    branch = _secretary_branch(ctx)
    if not args.strip():
        raise DomainError("item_removal_usage")
    chosen = _pick(ctx, args, needs.item_names(ctx.session, branch.id), action)
    if chosen is not None:
        _REMOVALS[action](ctx, chosen)


def _removable(ctx: Context, item_id: int) -> NeedItem:
    found = needs.item(ctx.session, item_id)
    if found is None or found.archived_at is not None:
        raise DomainError("button_expired")
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, found.branch_id))
    return found


def _close(ctx: Context, item_id: int) -> None:
    found = _removable(ctx, item_id)
    found.archived_at = ctx.now
    forms.done(ctx, "needs.closed", name=found.name)


def _delete(ctx: Context, item_id: int) -> None:
    found = _removable(ctx, item_id)
    if needs.has_claims(ctx.session, found.id):
        found.archived_at = ctx.now
        forms.done(ctx, "needs.closed_not_deleted", name=found.name)
        return
    ctx.session.delete(found)
    forms.done(ctx, "needs.deleted", name=found.name)


_REMOVALS: dict[str, Callable[[Context, int], None]] = {"close": _close, "delete": _delete}

SUBCOMMANDS: dict[str, CommandHandler] = {"new": start_form, "import": start_import,
                                          "close": close_item, "delete": delete_item}

def release_all(scope: Scope, person_id: int) -> None:
    """Erasure: open claims go back to the list; their reminders will not fire."""
    for held in needs.open_claims_of(scope.session, person_id):
        needs.move(scope.session, held.id, ClaimStatus.OPEN, ClaimStatus.RELEASED,
                   closed_at=scope.now)
        timers.cancel(scope.session, ("claim_reminder", "claim_expire"), str(held.id))


# Promises, deed notes and rating comments are the person's words (often with their name).
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("claims", Claim, "person_id", ("pledge", "done_note", "rating_comment"),
                 Erase.BLANK, close=release_all, shown="pledge"),
    Reference(Claim, "rated_by"),
    Reference(NeedItem, "created_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("items", items, takes=subcommands("items")),
              Command("claim", claim, role=Role.MEMBER,
                      takes=any_of(subcommands("claim"), needs_item)),
              Command("unclaim", unclaim, role=Role.MEMBER, takes=needs_item),
              Command("done", done, role=Role.MEMBER, takes=free_text),
              Command("rate", rate, role=Role.SECRETARY, takes=free_text),
              Command("newitem", start_form, role=Role.SECRETARY),
              Command("importitems", start_import, role=Role.SECRETARY)],
    buttons=[On(ClaimItem, claim_button), On(GiveBack, give_back_button),
             On(Deed, deed_button), On(RateDeed, rating_button)],
    forms=[FORM, IMPORT, DEED, RATING, PICK],
    start_payloads=[On(ItemsLink, start_from_link)],
    timers={"claim_reminder": remind_stale, "claim_expire": expire_stale},
)
