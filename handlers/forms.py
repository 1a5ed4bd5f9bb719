"""One way to ask a person several things in a row: a declared `Form` of `Step`s.

A form is a name, a title (「发布活动」), ordered steps and what to do on submit. A step asks
(a message key, perhaps depending on the answers so far), parses the typed answer (a
DomainError re-asks it), may offer option buttons and a skip button (暂无, 无, 不写评语), and
may be left out by a condition. Every form has 上一步 and 放弃; a form with a submit button
ends in a summary listing every field with a 修改 button each. The state is the person's
`Dialog` row in SQL; the private flags live in its data under keys starting with "_".

A command typed while a form is open runs, and the form waits, paused, for 继续. A form started
while another is open keeps the other inside its data and gives it back, paused, when done.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers import basics
from handlers.context import ButtonSpec, Context, Keyboard
from handlers.errors import DomainError
from handlers.i18n import LANGUAGES, Phrase
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import PersonalData, Reference
from handlers.router import Command, Feature, On
from storage import dialogs
from storage.models import Dialog

Data = dict[str, Any]
Values = dict[str, Any]
Prompt = tuple[str, dict[str, object]]

SUMMARY = "summary"
PAUSED, EDITING, STASHED, REVISION = "_paused", "_editing", "_stashed", "_revision"
# The words a person types to steer a form, per language, in the catalog (comma-separated).
CONTROLS = ("back", "discard", "edit", "resume")


@dataclass(frozen=True)
class Option:
    """A button of a step: `code` is what pressing it (or typing its label or number) means."""

    code: str
    label: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, code: str, label: str, **params: object) -> Option:
        return cls(code, label, tuple(params.items()))


@dataclass(frozen=True)
class Step:
    """One question of a form.

    `ask` is a message key, or gives the key and its parameters from the answers so far.
    `parse` turns typed text into values (raising DomainError to ask again); `options` are
    buttons, and `pick` turns a chosen option's code into values (by default {name: code}).
    `skip` labels a button (or gives the label from the answers, None for none) that answers
    with `skipped` (by default {name: ""}). `when` leaves the step out unless it holds;
    `skip_known` passes over it going forward once it has an answer (known from the start).
    `keys` are the values the step fills (by default its name); when they change, the values
    named in `resets` are dropped and asked again. A typed number picks the button with that
    number, as WeChat shows them, unless the answer itself is a number (`numeric`).
    """

    name: str
    ask: str | Callable[[Context, Data], Prompt]
    parse: Callable[[Context, str, Data], Values] | None = None
    options: Callable[[Context, Data], list[Option]] | None = None
    pick: Callable[[Context, str, Data], Values] | None = None
    skip: str | Callable[[Data], str | None] | None = None
    skipped: Callable[[Data], Values] | None = None
    when: Callable[[Data], bool] | None = None
    skip_known: bool = False
    numeric: bool = False
    keys: tuple[str, ...] = ()
    resets: tuple[str, ...] = ()
    label: str = ""
    show: Callable[[Context, Data], object] | None = None
    per_row: int = 4

    @property
    def filled(self) -> tuple[str, ...]:
        return self.keys or (self.name,)

    def applies(self, data: Data) -> bool:
        return self.when is None or self.when(data)

    def answered(self, data: Data) -> bool:
        return all(key in data for key in self.filled)

    def skip_label(self, data: Data) -> str | None:
        return self.skip if self.skip is None or isinstance(self.skip, str) else self.skip(data)

    def prompt(self, ctx: Context, data: Data) -> Prompt:
        return (self.ask, {}) if isinstance(self.ask, str) else self.ask(ctx, data)

    def shown(self, ctx: Context, data: Data) -> object:
        if self.show is not None:
            return self.show(ctx, data)
        value = data.get(self.name)
        return value if value not in (None, "") else Phrase("form.none")


@dataclass(frozen=True)
class Form:
    """A declared multi-step dialog; `submit` gets the answers once the person confirms.

    Without `submit_label` there is no summary: the form is submitted after its last step.
    `note` adds a line under the summary (how many groups a notice goes to, say).
    """

    name: str
    title: str
    steps: tuple[Step, ...]
    submit: Callable[[Context, Data], None]
    submit_label: str | None = None
    note: Callable[[Context, Data], str] | None = None
    steps_by_name: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps_by_name", {s.name: s for s in self.steps})

    def has_step(self, name: str) -> bool:
        return name in self.steps_by_name or (name == SUMMARY and self.submit_label is not None)

    def applicable(self, data: Data) -> list[Step]:
        return [s for s in self.steps if s.applies(data)]


def registry(ctx: Context) -> dict[str, Form]:
    return ctx.core.router.forms


# ---------------------------------------------------------------- starting and asking


def start(ctx: Context, form: Form, data: Data, *, ask: bool = True) -> None:
    """Open `form` for the sender with `data` known already and ask its first open question
    (unless `ask` is false: the question was just asked in other words).

    The form runs in the private chat, wherever it was started. Another form left open is
    kept inside this one and comes back, paused, when this one ends.
    """
    previous = dialogs.current(ctx.session, ctx.person.id)
    # A revision number tells a form started afresh from the same form left as it was.
    data = {**{k: v for k, v in data.items() if not k.startswith("_")},
            REVISION: previous.data.get(REVISION, 0) + 1 if previous else 0}
    if previous is not None and previous.name != form.name and previous.name in registry(ctx):
        data[STASHED] = {"name": previous.name, "step": previous.step, "data": previous.data}
    elif previous is not None and STASHED in previous.data:
        data[STASHED] = previous.data[STASHED]
    first = next((s for s in form.applicable(data) if not s.answered(data)), None)
    step = first.name if first else SUMMARY
    dialog = dialogs.start(ctx.session, ctx.person.id, form.name, step, data, ctx.now)
    if ask:
        _ask(ctx, form, dialog)


def _ask(ctx: Context, form: Form, dialog: Dialog) -> None:
    """The question of the dialog's current step (or the summary), in the private chat."""
    if dialog.step == SUMMARY:
        _summary(ctx, form, dialog.data)
        return
    step = form.steps_by_name[dialog.step]
    key, params = step.prompt(ctx, dialog.data)
    ctx.reply_private(key, _keyboard(ctx, form, step, dialog.data), **params)


def _keyboard(ctx: Context, form: Form, step: Step, data: Data) -> Keyboard:
    buttons = [ButtonSpec(o.label, FormButton(form.name, "c", step.name, o.code).pack(),
                          params=o.params) for o in _options(ctx, step, data)]
    rows = [buttons[i:i + step.per_row] for i in range(0, len(buttons), step.per_row)]
    skip = step.skip_label(data)
    if skip:
        rows.append([ButtonSpec.of(skip, FormButton(form.name, "s", step.name))])
    nav = [ButtonSpec.of("form.button.discard", FormButton(form.name, "x"))]
    if data.get(EDITING) or _before(form, step.name, data) is not None:
        nav.insert(0, ButtonSpec.of("form.button.back", FormButton(form.name, "b")))
    return [*rows, nav]


def _options(ctx: Context, step: Step, data: Data) -> list[Option]:
    return step.options(ctx, data) if step.options else []


def _summary(ctx: Context, form: Form, data: Data) -> None:
    steps = [s for s in form.applicable(data) if s.answered(data)]
    lines = [ctx.t("form.field_line", label=Phrase(s.label or f"field.{s.name}"),
                   value=s.shown(ctx, data)) for s in steps]
    note = form.note(ctx, data) if form.note else ""
    edits = [ButtonSpec.of("form.button.edit", FormButton(form.name, "e", s.name),
                    label=Phrase(s.label or f"field.{s.name}")) for s in steps]
    assert form.submit_label is not None
    # Submitting comes first: on WeChat and the console it is "1".
    keyboard = [[ButtonSpec.of(form.submit_label, FormButton(form.name, "ok"))],
                *[edits[i:i + 3] for i in range(0, len(edits), 3)],
                [ButtonSpec.of("form.button.back", FormButton(form.name, "b")),
                 ButtonSpec.of("form.button.discard", FormButton(form.name, "x"))]]
    ctx.reply_private("form.summary", keyboard, title=Phrase(form.title), fields="\n".join(lines),
                      note=f"\n{note}" if note else "", submit=Phrase(form.submit_label))


@dataclass(frozen=True)
class FormButton(ButtonData, prefix="form"):
    """Every button of every form: choose (c) or skip (s) a step's answer, edit (e) a step,
    go back (b), discard (x), resume (r), submit (ok)."""

    form: str
    action: Literal["c", "s", "e", "b", "x", "r", "ok"]
    step: str = ""
    code: str = ""


@dataclass(frozen=True)
class Resume(StartPayload, prefix="resume"):
    """/start resume: the private chat opened from a group, back to the open form."""


# ---------------------------------------------------------------- answers


def answer(ctx: Context, text: str) -> None:
    """A typed answer (or a file) for the open form's current step or summary."""
    form, dialog = _open(ctx)
    if dialog.step == SUMMARY:
        _summary_typed(ctx, form, dialog, text)
        return
    step = form.steps_by_name[dialog.step]
    typed = _fold(text)
    if typed.isdigit() and not step.numeric:
        numbered = _numbered(ctx, form, step, dialog.data)
        if 0 < int(typed) <= len(numbered):
            numbered[int(typed) - 1](dialog)
            return
    _take(ctx, form, dialog, step, _typed(ctx, step, text, dialog.data))


def _numbered(ctx: Context, form: Form, step: Step,
              data: Data) -> list[Callable[[Dialog], None]]:
    """What each button under the step's question does, in the order they are numbered."""
    def take(values: Values) -> Callable[[Dialog], None]:
        return lambda dialog: _take(ctx, form, dialog, step, values)

    actions = [take(_picked(ctx, step, o.code, data)) for o in _options(ctx, step, data)]
    if step.skip_label(data):
        actions.append(take(_skipped(step, data)))
    if data.get(EDITING) or _before(form, step.name, data) is not None:
        actions.append(lambda dialog: _back(ctx, form, dialog))
    actions.append(lambda dialog: _discard(ctx, form, dialog))
    return actions


def _typed(ctx: Context, step: Step, text: str, data: Data) -> Values:
    """What typed text means at `step`: an option or the skip button by its label, or
    whatever `parse` makes of it."""
    typed = _fold(text)
    for option in _options(ctx, step, data):
        if typed in _labels(ctx, option.label, dict(option.params)):
            return _picked(ctx, step, option.code, data)
    skip = step.skip_label(data)
    if skip and typed and typed in _labels(ctx, skip, {}):
        return _skipped(step, data)
    if step.parse is None:
        raise DomainError("pick_an_option")
    return step.parse(ctx, text, data)


def _picked(ctx: Context, step: Step, code: str, data: Data) -> Values:
    return step.pick(ctx, code, data) if step.pick else {step.name: code}


def _skipped(step: Step, data: Data) -> Values:
    return step.skipped(data) if step.skipped else {step.name: ""}


def _labels(ctx: Context, key: str, params: dict[str, object]) -> set[str]:
    return {_fold(ctx.catalogs.get(lang)(key, **params)) for lang in LANGUAGES}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _take(ctx: Context, form: Form, dialog: Dialog, step: Step, values: Values) -> None:
    """Store the step's values and move on: the next step, or back to the summary."""
    data = dict(dialog.data)
    if any(data.get(k) != v for k, v in values.items()):
        for key in step.resets:
            data.pop(key, None)
    data.update(values)
    data.pop(PAUSED, None)
    if data.get(EDITING):
        following = next((s for s in form.applicable(data) if not s.answered(data)), None)
        if following is None:
            data.pop(EDITING)
    else:
        following = _after(form, step.name, data)
    _move(ctx, form, dialog, following.name if following else SUMMARY, data)


def _move(ctx: Context, form: Form, dialog: Dialog, step: str, data: Data) -> None:
    dialogs.update(ctx.session, dialog, step, data, ctx.now)
    if step == SUMMARY and form.submit_label is None:
        _submit(ctx, form, dialog)
        return
    _ask(ctx, form, dialog)


def _after(form: Form, name: str, data: Data) -> Step | None:
    steps = form.applicable(data)
    names = [s.name for s in steps]
    index = names.index(name) if name in names else -1
    return next((s for s in steps[index + 1:]
                 if not (s.skip_known and s.answered(data))), None)


def _before(form: Form, name: str, data: Data) -> Step | None:
    steps = form.applicable(data)
    names = [s.name for s in steps]
    if name == SUMMARY:
        return steps[-1] if steps else None
    index = names.index(name) if name in names else 0
    return steps[index - 1] if index > 0 else None


def _summary_typed(ctx: Context, form: Form, dialog: Dialog, text: str) -> None:
    """At the summary: a button's number (as WeChat shows them) or the submit label."""
    typed = _fold(text)
    assert form.submit_label is not None
    steps = [s for s in form.applicable(dialog.data) if s.answered(dialog.data)]
    numbered = ["ok", *[f"e:{s.name}" for s in steps], "b", "x"]
    if typed in _labels(ctx, form.submit_label, {}):
        typed = "1"
    if typed.isdigit() and 0 < int(typed) <= len(numbered):
        action, _, step = numbered[int(typed) - 1].partition(":")
        if action == "e":
            edit_step(ctx, form, dialog, step)
        else:
            _ACTIONS[action](ctx, form, dialog)
        return
    raise DomainError("form_use_buttons", submit=Phrase(form.submit_label))


def _submit(ctx: Context, form: Form, dialog: Dialog) -> None:
    data = {k: v for k, v in dialog.data.items() if not k.startswith("_")}
    stashed = dialog.data.get(STASHED)
    dialogs.finish(ctx.session, ctx.person.id)
    form.submit(ctx, data)
    _unstash(ctx, stashed)


def _unstash(ctx: Context, stashed: Data | None) -> None:
    """Give back the form this one was started over, paused."""
    if not stashed or dialogs.current(ctx.session, ctx.person.id) is not None:
        return
    form = registry(ctx).get(stashed["name"])
    if form is None or not form.has_step(stashed["step"]):
        return
    dialogs.start(ctx.session, ctx.person.id, form.name, stashed["step"],
                  {**stashed["data"], PAUSED: True}, ctx.now)
    ctx.reply_private("form.paused", title=Phrase(form.title))


# ---------------------------------------------------------------- buttons and words


def button(ctx: Context, tapped: FormButton) -> None:
    """Every button of every form."""
    action, step_name, code = tapped.action, tapped.step, tapped.code
    form, dialog = _open(ctx)
    if form.name != tapped.form:
        raise DomainError("button_expired")
    if action in ("c", "s"):
        step = form.steps_by_name.get(step_name)
        if step is None or dialog.step != step.name:
            raise DomainError("button_expired")
        if action == "c":
            if code not in {o.code for o in _options(ctx, step, dialog.data)}:
                raise DomainError("button_expired")
            values = _picked(ctx, step, code, dialog.data)
        elif step.skip_label(dialog.data):
            values = _skipped(step, dialog.data)
        else:
            raise DomainError("button_expired")
        _take(ctx, form, dialog, step, values)
    elif action == "e":
        edit_step(ctx, form, dialog, step_name)
    elif action in _ACTIONS:
        _ACTIONS[action](ctx, form, dialog)
    else:
        raise DomainError("button_expired")


def control(ctx: Context, word: str, args: str) -> None:
    """A typed 上一步 / 放弃 / 修改 [field] / 继续 while a form is open."""
    form, dialog = _open(ctx)
    if word == "edit":
        _edit_typed(ctx, form, dialog, args)
    else:
        _ACTIONS[{"back": "b", "discard": "x", "resume": "r"}[word]](ctx, form, dialog)


def control_word(ctx: Context, text: str, dialog: Dialog) -> tuple[str, str] | None:
    """(control, rest) when `text` is one of the words that steer a form, else None.

    "修改 地点" names a field only at the summary, where nothing else is being asked.
    """
    folded = _fold(text)
    at_summary = dialog.step == SUMMARY or bool(dialog.data.get(EDITING))
    for word in CONTROLS:
        for said in _words(ctx, word):
            if folded == said:
                return word, ""
            if word == "edit" and at_summary and folded.startswith(said):
                return word, folded[len(said):].strip(" :：")
    return None


def _words(ctx: Context, control: str) -> set[str]:
    return {w.strip() for lang in LANGUAGES
            for w in _fold(ctx.catalogs.get(lang)(f"form.words.{control}")).split(",")
            if w.strip()}


def _back(ctx: Context, form: Form, dialog: Dialog) -> None:
    data = dict(dialog.data)
    data.pop(PAUSED, None)
    if data.pop(EDITING, None) and form.submit_label is not None:
        _move(ctx, form, dialog, SUMMARY, data)
        return
    previous = _before(form, dialog.step, data)
    if previous is None:
        dialogs.update(ctx.session, dialog, dialog.step, data, ctx.now)
        ctx.reply_private("form.first_step")
        _ask(ctx, form, dialog)
        return
    _move(ctx, form, dialog, previous.name, data)


def _discard(ctx: Context, form: Form, dialog: Dialog) -> None:
    stashed = dialog.data.get(STASHED)
    dialogs.finish(ctx.session, ctx.person.id)
    if ctx.incoming.button_data is not None:
        ctx.edit("form.discarded", title=Phrase(form.title))
    else:
        ctx.reply_private("form.discarded", title=Phrase(form.title))
    _unstash(ctx, stashed)


def _resume(ctx: Context, form: Form, dialog: Dialog) -> None:
    data = dict(dialog.data)
    data.pop(PAUSED, None)
    dialogs.update(ctx.session, dialog, dialog.step, data, ctx.now)
    _ask(ctx, form, dialog)


def _submit_button(ctx: Context, form: Form, dialog: Dialog) -> None:
    if dialog.step != SUMMARY:
        raise DomainError("button_expired")
    _submit(ctx, form, dialog)


_ACTIONS: dict[str, Callable[[Context, Form, Dialog], None]] = {
    "b": _back, "x": _discard, "r": _resume, "ok": _submit_button}


def edit_step(ctx: Context, form: Form, dialog: Dialog, name: str) -> None:
    """修改: ask one field again, then return to the summary."""
    step = form.steps_by_name.get(name)
    reached = dialog.step == SUMMARY or dialog.data.get(EDITING)
    if step is None or not step.applies(dialog.data) or not reached:
        raise DomainError("button_expired")
    data = {**dialog.data, EDITING: True}
    data.pop(PAUSED, None)
    _move(ctx, form, dialog, step.name, data)


def _edit_typed(ctx: Context, form: Form, dialog: Dialog, field_name: str) -> None:
    if dialog.step != SUMMARY and not dialog.data.get(EDITING):
        raise DomainError("form_edit_at_summary")
    wanted = _fold(field_name)
    for step in form.applicable(dialog.data):
        if wanted and wanted in _labels(ctx, step.label or f"field.{step.name}", {}):
            edit_step(ctx, form, dialog, step.name)
            return
    data = {k: v for k, v in dialog.data.items() if k != EDITING}
    _move(ctx, form, dialog, SUMMARY, data)


# ---------------------------------------------------------------- pausing


def snapshot(ctx: Context) -> tuple[str, str, Data] | None:
    """The open form as it stands, to tell afterwards whether a command touched it."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    return None if dialog is None else (dialog.name, dialog.step, dict(dialog.data))


def interrupt(ctx: Context, before: tuple[str, str, Data] | None) -> None:
    """After a command typed over a form: the untouched draft waits, paused, for 继续."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    if before is None or dialog is None or before != (dialog.name, dialog.step, dialog.data):
        return
    form = registry(ctx).get(dialog.name)
    if form is None or dialog.data.get(PAUSED):
        return
    dialogs.update(ctx.session, dialog, dialog.step, {**dialog.data, PAUSED: True}, ctx.now)
    ctx.reply_private("form.paused", title=Phrase(form.title))


def is_paused(dialog: Dialog) -> bool:
    return bool(dialog.data.get(PAUSED))


def paused_hint(ctx: Context, _text: str) -> None:
    """Plain text while a form is paused: say so, and take nothing."""
    form, _dialog = _open(ctx)
    ctx.reply_private("form.paused_hint", title=Phrase(form.title))


def resume(ctx: Context, _args: str) -> None:
    """继续 (or /start resume): ask the open form's current step again; else the welcome."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    form = registry(ctx).get(dialog.name) if dialog else None
    if dialog is None or form is None or not form.has_step(dialog.step):
        basics.start(ctx, "")
        return
    _resume(ctx, form, dialog)


def _open(ctx: Context) -> tuple[Form, Dialog]:
    dialog = dialogs.current(ctx.session, ctx.person.id)
    form = registry(ctx).get(dialog.name) if dialog else None
    if dialog is None or form is None or not form.has_step(dialog.step):
        raise DomainError("button_expired")
    return form, dialog


def done(ctx: Context, key: str, keyboard: Keyboard | None = None, /,
         **params: object) -> None:
    """A submitted form's outcome: in place of the summary when its button was pressed."""
    if ctx.incoming.button_data is not None:
        ctx.edit(key, keyboard, **params)
    else:
        ctx.reply_private(key, keyboard, **params)


def current(ctx: Context, name: str) -> Data | None:
    """The answers of the sender's open form `name`, or None."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    return dict(dialog.data) if dialog is not None and dialog.name == name else None



@dataclass(frozen=True)
class PageInput:
    """What the person would send next in chat to answer the open form's step `step`: typed
    `text`, or a button's `data`."""

    step: str
    text: str = ""
    data: str = ""


def page_input(ctx: Context, name: str, given: dict[str, str],
               answered: set[str]) -> PageInput | None:
    """The form as a page: the next chat input answering the open form `name` from a page's
    fields (`given`, by step name). A field naming one of the step's options presses it; other
    text is typed; a blank field presses the step's first option (the form's own suggestion)
    or its skip button; the summary is submitted. None when the form is not open, when a step
    comes round again (the chat refused the answer and asks anew: the page shows that) or when
    a blank step has nothing to press."""
    dialog = dialogs.current(ctx.session, ctx.person.id)
    form = registry(ctx).get(name)
    if dialog is None or form is None or dialog.name != name or is_paused(dialog) \
            or dialog.step in answered or not form.has_step(dialog.step):
        return None
    if dialog.step == SUMMARY:
        return PageInput(SUMMARY, data=FormButton(name, "ok").pack())
    step = form.steps_by_name[dialog.step]
    value = given.get(step.name, "").strip()
    codes = [option.code for option in _options(ctx, step, dialog.data)]
    if value in codes or (not value and codes):
        return PageInput(step.name, data=FormButton(name, "c", step.name,
                                                    value or codes[0]).pack())
    if value:
        return PageInput(step.name, text=value)
    if step.skip_label(dialog.data):
        return PageInput(step.name, data=FormButton(name, "s", step.name).pack())
    return None

PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("drafts", Dialog, "person_id", ("name", "data")),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("resume", resume, in_menu=False)],
    buttons=[On(FormButton, button)],
    start_payloads=[On(Resume, lambda ctx, _payload: resume(ctx, ""))],
)
