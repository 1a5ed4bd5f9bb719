"""求助: a neighbour asks for help; the first member to tap 我来帮忙 takes it.

`/ask <text>` guesses a category from keywords (locales/help_categories.toml) and continues in
a private chat: the category is confirmed with buttons, then the building and the contact
details (phone, door number) are asked. A phone or door number written in the request itself
is moved into the private contact details. Every group of the branch gets an anonymised card
(building, category, text) with a 我来帮忙 button, edited in place as the request moves on.

Only the member who takes it gets the contact details, privately; the requester is told who
is coming. The helper reports it done (button or `/helped`); the requester confirms with a
rating, which gives the helper points, or says it is not done, which opens it again. Nobody
taking it escalates: building leaders, then the secretary, then the community admins.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from handlers import forms, points
from handlers.addressing import free_text, number
from handlers.context import ButtonSpec, Context, Keyboard, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.i18n import LANGUAGES, Phrase
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import (
    Command,
    Feature,
    On,
    TimerHandler,
    normalize,
    run_subcommand,
    typed_number,
)
from handlers.text import clean_field
from storage import help_requests, orgs, people, posted, timers
from storage.models import Branch, HelpRequest, HelpStatus

CATEGORIES = ("buy", "errand", "escort", "repair", "care", "other")
MAX_CONTACT = 200
MAX_CHOICES = 8

# ---------------------------------------------------------------- private details in text

# Mobile numbers (with or without +86 and separators), landlines, other long digit runs;
# a label such as "电话：" in front goes with the number.
_PHONE = re.compile(
    r"(?:(?:联系电话|电话号码|电话|手机号码|手机号|手机|联系方式|tel|phone|mobile)\s*[:：]?\s*)?"
    r"(?<!\d)(?:\+?86[-\s]?)?(?:1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}|0\d{2,3}-?\d{7,8}|\d{7,12})"
    r"(?!\d)", re.IGNORECASE)
# Door numbers: "3号楼502", "3栋2单元502室", "502室", "3-2-502", "Room 502".
_DOOR = re.compile(
    r"(?:(?:门牌号|门牌|房号|房间号|住址|地址|家住|住在|家在|住)\s*[:：]?\s*)?"
    r"(?:(?<!\d)(?P<building>\d+\s*(?:号楼|栋|幢|座))\s*(?:\d+\s*(?:单元|门)\s*)?"
    r"(?:\d+\s*(?:楼|层)\s*)?\d{2,4}\s*(?:室|号|房)?"
    r"|(?<!\d)\d{2,4}\s*(?:室|房间|房)"
    r"|(?<!\d)\d{1,2}-(?:\d{1,2}-)?\d{3,4}(?!\d)"
    r"|\b(?:room|flat|apt\.?|apartment)\s*#?\s*\d+[a-z]?\b)", re.IGNORECASE)
_LEFTOVER = re.compile(r"[\s,;:，；：、。.]*([,;，；、。])[\s,;:，；：、。.]*")
_EDGES = re.compile(r"^[\s,;:.，；：、。]+|[\s,;:.，；：、。]+$")


@dataclass(frozen=True)
class Found:
    """A request's text split into what may be public and what must stay private."""

    text: str
    contact: str
    building: str


def split_private(text: str) -> Found:
    """Move phone and door numbers out of `text`; a door number also gives the building."""
    contact: list[str] = []
    building = ""
    for pattern in (_PHONE, _DOOR):
        for match in pattern.finditer(text):
            contact.append(_EDGES.sub("", match.group(0)))
            if pattern is _DOOR and match.group("building") and not building:
                building = re.sub(r"\s+", "", match.group("building"))
        text = pattern.sub(" ", text)
    public = _EDGES.sub("", _LEFTOVER.sub(r"\1", text))
    return Found(re.sub(r"\s{2,}", " ", public), join_contact(*contact), building)


def join_contact(*parts: str) -> str:
    return " / ".join(p for p in parts if p)


# ---------------------------------------------------------------- categories


@cache
def _keywords(path: Path) -> dict[str, tuple[str, ...]]:
    with path.open("rb") as fh:
        listed = tomllib.load(fh)
    return {code: tuple(normalize(w) for w in words) for code, words in listed.items()}


def guess_category(scope: Scope, text: str) -> str:
    """The category with most keyword hits (the first listed on a tie), else "other"."""
    words = _keywords(scope.catalogs.locales_dir / "help_categories.toml")
    folded = normalize(text)
    hits = {code: sum(w in folded for w in words.get(code, ())) for code in CATEGORIES}
    best = max(CATEGORIES, key=lambda code: hits[code])
    return best if hits[best] else "other"


def _category(code: str) -> Phrase:
    return Phrase(f"ask.category.{code}")


# ---------------------------------------------------------------- asking


def ask(ctx: Context, args: str) -> None:
    """`/ask <text>`: start a request (continued privately); `/ask cancel [n]` withdraws one."""
    if run_subcommand(ctx, args, SUBCOMMANDS, "ask"):
        return
    words = args.split()
    if words and _is_cancel_word(ctx, words[0]) and len(words) <= 2 and (
            len(words) == 1 or words[1].lstrip("#").isdigit()):
        cancel_command(ctx, words[1:])
        return
    branch = require_branch(ctx)
    if not args.strip():
        raise DomainError("help_usage")
    found = _request_text(ctx, args)
    if ctx.in_group and found.contact:
        ctx.reply_private("ask.recall_hint")
    data = {"branch_id": branch.id, "text": found.text, "found": found.contact,
            "guess": guess_category(ctx, found.text)}
    building = found.building or known_building(ctx, branch)
    if building:
        data["building"] = building
    forms.start(ctx, FORM, data)


def list_open(ctx: Context, _args: str) -> None:
    """`求助 列表`: the branch's requests still open or being helped, for members."""
    branch = require_branch(ctx)
    require(ctx, Role.MEMBER, branch)
    rows = help_requests.open_of_branch(ctx.session, branch.id)
    if not rows:
        ctx.reply_private("ask.none_open", branch=branch.name)
        return
    lines = [ctx.t("ask.queue_line", id=r.id, category=_category(r.category),
                   building=r.building, text=r.text, state=request_card(ctx, r)[2]["state"])
             for r in rows]
    takeable = [r for r in rows if r.status == HelpStatus.OPEN][:8]
    ctx.reply_private("ask.open_list", [[ButtonSpec.of("ask.button.take_n", AskButton("take", r.id),
                                                       id=r.id)] for r in takeable],
                      branch=branch.name, count=len(rows), lines="\n".join(lines))


SUBCOMMANDS = {"list": list_open}


def _request_text(ctx: Context, typed: str) -> Found:
    """The request's public text, with phone and door numbers moved out of it."""
    raw = clean_field(typed, ctx.rules.max_text_length, "request")
    found = split_private(raw)
    return Found(clean_field(found.text, ctx.rules.max_text_length, "request"), found.contact,
                 found.building)


def _is_cancel_word(ctx: Context, word: str) -> bool:
    aliases = {a.strip().casefold() for lang in LANGUAGES
               for a in ctx.catalogs.get(lang)("ask.aliases.cancel").split(",")}
    return normalize(word) in aliases


def known_building(ctx: Context, branch: Branch) -> str:
    """The building from the requester's registration, without any door number."""
    profile = people.profile(ctx.session, ctx.person.id, branch.id)
    return split_private(profile.building).text if profile else ""


def continue_from_link(ctx: Context, link: AskLink) -> None:
    """The deep link from a group: carry on with the request in private."""
    if link.owner != ctx.person.id:
        raise DomainError("not_your_button")
    if forms.current(ctx, FORM.name) is None:
        raise DomainError("help_gone")
    forms.resume(ctx, "")


# ---------------------------------------------------------------- the form

Data = dict[str, Any]


def _text(ctx: Context, typed: str, data: Data) -> Data:
    found = _request_text(ctx, typed)
    return {"text": found.text, "found": join_contact(data.get("found", ""), found.contact)}


def _ask_category(ctx: Context, data: Data) -> Prompt:
    hidden = Phrase.of("ask.hidden_note", contact=data["found"]) if data["found"] else ""
    return "ask.confirm_category", {"text": data["text"], "category": _category(data["guess"]),
                                    "hidden": hidden}


def _categories(_ctx: Context, data: Data) -> list[Option]:
    guess = data["guess"]
    return [Option.of(guess, "ask.button.right_category", category=_category(guess)),
            *[Option(c, f"ask.category.{c}") for c in CATEGORIES if c != guess]]


def _category_named(ctx: Context, text: str, _data: Data) -> Data:
    typed = normalize(text)
    for code in CATEGORIES:
        if typed in {normalize(ctx.catalogs.get(lang)(f"ask.category.{code}"))
                     for lang in LANGUAGES}:
            return {"category": code}
    raise DomainError("pick_an_option")


def _building(ctx: Context, text: str, data: Data) -> Data:
    found = split_private(text)
    building = found.building or clean_field(found.text, ctx.rules.max_field_length,
                                             "building")
    return {"building": building, "found": join_contact(data.get("found", ""), found.contact)}


def _ask_contact(_ctx: Context, data: Data) -> Prompt:
    if data["found"]:
        return "ask.ask_contact_more", {"contact": data["found"]}
    return "ask.ask_contact", {}


def _contact(ctx: Context, text: str, data: Data) -> Data:
    typed = clean_field(text, MAX_CONTACT, "contact")
    contact = join_contact(data.get("found", ""), typed)
    if len(contact) > MAX_CONTACT:
        raise DomainError("text_too_long", field="contact", limit=MAX_CONTACT,
                          length=len(contact))
    return {"contact": contact}


def _publish(ctx: Context, data: Data) -> None:
    branch = orgs.branch(ctx.session, int(data["branch_id"]))
    if branch is None:
        raise DomainError("help_gone")
    request = help_requests.create(
        ctx.session, branch_id=branch.id, requester_id=ctx.person.id,
        category=str(data["category"]), text=str(data["text"]), building=str(data["building"]),
        contact=str(data["contact"]), created_at=ctx.now)
    for step, hours in enumerate(ctx.rules.escalation_hours, start=1):
        timers.schedule(ctx.session, f"help_escalate_{step}", str(request.id),
                        ctx.now + dt.timedelta(hours=hours))
    groups = [c for c in orgs.chats_of_branch(ctx.session, branch.id) if c.kind == "group"]
    key, keyboard, params = request_card(ctx, request)
    for chat in groups:
        ctx.post(chat.platform, chat.external_id, key, keyboard, params, ref=_ref(request))
    cancel = ButtonSpec.of("ask.button.cancel", AskButton("cancel", request.id))
    if groups:
        forms.done(ctx, "ask.posted", [[cancel]], id=request.id, count=len(groups))
    else:
        forms.done(ctx, "ask.posted_nowhere", [[cancel]], id=request.id,
                   hours=ctx.rules.escalation_hours[0])


# Personal details stay in this private form and reach only the helper who takes it.
FORM = Form("ask", "form.title.ask", (
    Step("text", "ask.ask_text", _text, label="field.request"),
    Step("category", _ask_category, _category_named, options=_categories, per_row=3,
         show=lambda _c, d: _category(d["category"])),
    Step("building", "ask.ask_building", _building, skip_known=True),
    Step("contact", _ask_contact, _contact,
         skip=lambda d: "ask.button.no_more" if d.get("found") else None,
         skipped=lambda d: {"contact": d["found"]}),
), _publish, submit_label="ask.button.post")


# ---------------------------------------------------------------- the card


def _ref(request: HelpRequest) -> str:
    return f"help:{request.id}"


def request_card(scope: Scope, request: HelpRequest) -> tuple[str, Keyboard, dict[str, object]]:
    helper = scope.name_of(request.helper_id, request.branch_id) \
        if request.helper_id else ""
    keyboard = [[ButtonSpec.of("ask.button.take", AskButton("take", request.id))]] \
        if request.status == HelpStatus.OPEN else []
    return "ask.card", keyboard, {
        "id": request.id, "category": _category(request.category),
        "building": request.building, "text": request.text,
        "state": Phrase.of(f"ask.state.{request.status}", helper=helper)}


def refresh_cards(scope: Scope, request: HelpRequest) -> None:
    """Edit every posted card of the request to show where it stands."""
    key, keyboard, params = request_card(scope, request)
    for where in posted.messages(scope.session, _ref(request)):
        scope.post(where.platform, where.chat_external_id, key, keyboard, params,
                   edit_message_id=where.message_id)


# ---------------------------------------------------------------- taking and finishing


@dataclass(frozen=True)
class AskButton(ButtonData, prefix="ask"):
    """Every 求助 button: the card's (take), the helper's (done) and the requester's (rate
    with 1–5 stars, undone, cancel)."""

    action: Literal["take", "done", "rate", "undone", "cancel"]
    request_id: int
    stars: int | None = None


@dataclass(frozen=True)
class AskLink(StartPayload, prefix="ask"):
    """The deep link from a group: the requester carries on with the request in private."""

    owner: int


def button(ctx: Context, tapped: AskButton) -> None:
    """Every 求助 button: the card's, the helper's and the requester's."""
    request = _request(ctx, tapped.request_id)
    if tapped.action == "rate":
        _rate(ctx, request, tapped.stars)
    else:
        _ACTIONS[tapped.action](ctx, request)


def _request(ctx: Context, request_id: int) -> HelpRequest:
    request = help_requests.get(ctx.session, request_id)
    if request is None:
        raise DomainError("button_expired")
    return request


def _take(ctx: Context, request: HelpRequest) -> None:
    """我来帮忙: the first member to tap takes it; the others are thanked."""
    require(ctx, Role.MEMBER, orgs.branch(ctx.session, request.branch_id))
    if request.requester_id == ctx.person.id:
        raise DomainError("help_own")
    if not help_requests.take(ctx.session, request.id, ctx.person.id, ctx.now):
        now = help_requests.get(ctx.session, request.id)
        taken = now is not None and now.status in (HelpStatus.TAKEN, HelpStatus.DONE)
        raise DomainError("help_taken" if taken else "help_closed", id=request.id)
    request = _request(ctx, request.id)
    ctx.toast("ask.taken_toast", id=request.id)
    done = ButtonSpec.of("ask.button.done", AskButton("done", request.id))
    ctx.tell(ctx.person.id, "ask.helper_details", [[done]], **_details(ctx, request))
    ctx.tell(request.requester_id, "ask.helper_coming", id=request.id,
             helper=ctx.name_of(ctx.person.id, request.branch_id))
    refresh_cards(ctx, request)


def _details(ctx: Context, request: HelpRequest) -> dict[str, object]:
    return {"id": request.id, "category": _category(request.category),
            "building": request.building, "text": request.text, "contact": request.contact,
            "requester": ctx.name_of(request.requester_id,
                                           request.branch_id)}


def helped(ctx: Context, args: str) -> None:
    """`/helped [n]`: the helper reports a request done (asked which, when holding several)."""
    number = args.strip().lstrip("#")
    if number:
        _done(ctx, _request(ctx, typed_number(number, "help_usage_helped")))
        return
    held = help_requests.held_by(ctx.session, ctx.person.id)
    if not held:
        raise DomainError("help_none_held")
    if len(held) == 1:
        _done(ctx, held[0])
        return
    ctx.reply("ask.which_done", [[ButtonSpec.of("ask.button.pick", AskButton("done", r.id),
                                                id=r.id, text=r.text[:20])]
                                 for r in held[:MAX_CHOICES]])


def _done(ctx: Context, request: HelpRequest) -> None:
    if request.helper_id != ctx.person.id:
        raise DomainError("help_not_helper", id=request.id)
    if not help_requests.mark_done(ctx.session, request.id, ctx.person.id, ctx.now):
        reported = request.status == HelpStatus.DONE
        raise DomainError("help_already_reported" if reported else "help_closed", id=request.id)
    ctx.reply("ask.done_sent", id=request.id)
    stars = [ButtonSpec.of("ask.button.stars", AskButton("rate", request.id, n), n=n)
             for n in range(1, 6)]
    ctx.tell(request.requester_id, "ask.confirm_done",
             [stars, [ButtonSpec.of("ask.button.not_done", AskButton("undone", request.id))]],
             id=request.id, category=_category(request.category),
             helper=ctx.name_of(ctx.person.id, request.branch_id))
    refresh_cards(ctx, _request(ctx, request.id))


def _only_requester(ctx: Context, request: HelpRequest) -> None:
    if request.requester_id != ctx.person.id:
        raise DomainError("help_not_requester", id=request.id)


def _rate(ctx: Context, request: HelpRequest, stars: int | None) -> None:
    """The requester confirms and rates 1–5; the helper gets the points."""
    _only_requester(ctx, request)
    if stars is None or not 1 <= stars <= 5:
        raise DomainError("button_expired")
    helper = request.helper_id
    if helper is None or not help_requests.confirm(ctx.session, request.id, stars, ctx.now):
        raise DomainError("help_not_done", id=request.id)
    earned = points.for_help(ctx, request, helper, stars)
    ctx.edit("ask.rated", id=request.id, count=stars)
    ctx.tell(helper, "ask.rated_helper", id=request.id, count=stars, points=earned)
    refresh_cards(ctx, _request(ctx, request.id))


def _undone(ctx: Context, request: HelpRequest) -> None:
    """The requester says it is not done: the request is open again."""
    _only_requester(ctx, request)
    helper = request.helper_id
    if helper is None or not help_requests.reopen(ctx.session, request.id):
        raise DomainError("help_not_done", id=request.id)
    ctx.edit("ask.reopened", id=request.id)
    ctx.tell(helper, "ask.reopened_helper", id=request.id)
    refresh_cards(ctx, _request(ctx, request.id))


def _cancel(ctx: Context, request: HelpRequest) -> None:
    """The requester withdraws the request; a helper who took it is told."""
    _only_requester(ctx, request)
    helper = request.helper_id
    if not help_requests.cancel(ctx.session, request.id, ctx.now):
        raise DomainError("help_closed", id=request.id)
    if ctx.incoming.button_data is not None:
        ctx.edit("ask.cancelled", id=request.id)
    else:
        ctx.reply("ask.cancelled", id=request.id)
    if helper is not None:
        ctx.tell(helper, "ask.cancelled_helper", id=request.id)
    refresh_cards(ctx, _request(ctx, request.id))


def cancel_command(ctx: Context, words: list[str]) -> None:
    """`/ask cancel [n]`: withdraw a request (asked which, when there are several)."""
    if words:
        _cancel(ctx, _request(ctx, typed_number(words[0].lstrip("#"), "button_expired")))
        return
    mine = help_requests.active_of(ctx.session, ctx.person.id)
    if not mine:
        raise DomainError("help_none_active")
    if len(mine) == 1:
        _cancel(ctx, mine[0])
        return
    ctx.reply("ask.which_cancel", [[ButtonSpec.of("ask.button.pick", AskButton("cancel", r.id),
                                                  id=r.id, text=r.text[:20])]
                                   for r in mine[:MAX_CHOICES]])


_ACTIONS = {"take": _take, "done": _done, "undone": _undone, "cancel": _cancel}


# ---------------------------------------------------------------- escalation


def escalation(step: int) -> TimerHandler:
    """The timer for escalation step 1, 2 or 3 (ref = the request id)."""
    def fire(scope: Scope, ref: str) -> None:
        escalate(scope, int(ref), step)
    return fire


def escalate(scope: Scope, request_id: int, step: int) -> None:
    """Nobody has taken the request yet: ping the next level up, once."""
    request = help_requests.get(scope.session, request_id)
    if request is None or not help_requests.escalate(scope.session, request_id, step):
        return
    branch = orgs.branch(scope.session, request.branch_id)
    assert branch is not None
    keyboard = [[ButtonSpec.of("ask.button.take", AskButton("take", request.id))]]
    for person_id in _escalation_targets(scope, branch, step):
        scope.tell(person_id, "ask.escalated", keyboard, id=request.id,
                   hours=f"{scope.rules.escalation_hours[step - 1]:g}",
                   category=_category(request.category), building=request.building,
                   text=request.text)


def _escalation_targets(scope: Scope, branch: Branch, step: int) -> list[int]:
    """Step 1: the branch's building leaders; 2: its secretaries; 3: the community admins
    (the deployment's admins when the community has none)."""
    if step == 1:
        return people.holders(scope.session, "building_leader", branch_id=branch.id)
    if step == 2:
        return people.holders(scope.session, "secretary", branch_id=branch.id)
    return (people.holders(scope.session, "community_admin", community_id=branch.community_id)
            or people.global_admins(scope.session))


def withdraw_all(scope: Scope, person_id: int) -> None:
    """Erasure: open requests are withdrawn, their cards say 已撤回, their escalations will
    not fire, and a helper who took one is told."""
    for request in help_requests.active_of(scope.session, person_id):
        helper = request.helper_id
        if not help_requests.cancel(scope.session, request.id, scope.now):
            continue
        timers.cancel(scope.session, [f"help_escalate_{step}" for step in (1, 2, 3)],
                      str(request.id))
        if helper is not None:
            scope.tell(helper, "ask.cancelled_helper", id=request.id)
        for where in posted.messages(scope.session, _ref(request)):
            scope.post(where.platform, where.chat_external_id, "ask.card_withdrawn", [],
                       {"id": request.id}, edit_message_id=where.message_id)


PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("help_requests", HelpRequest, "requester_id", ("text", "building"),
                 Erase.BLANK, close=withdraw_all),
    PersonalData("help_contacts", HelpRequest, "requester_id", ("contact",), Erase.BLANK,
                 shown="contact", only_held=True),
    Reference(HelpRequest, "helper_id"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("ask", ask, takes=free_text),
              Command("helped", helped, role=Role.MEMBER, takes=number)],
    buttons=[On(AskButton, button)],
    forms=[FORM],
    start_payloads=[On(AskLink, continue_from_link)],
    timers={f"help_escalate_{step}": escalation(step) for step in (1, 2, 3)},
)
