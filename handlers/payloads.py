"""Button data and start payloads: a small class per kind that packs and unpacks itself.

A kind is a frozen dataclass declared in the feature that uses it, with a prefix no other
kind has (the router refuses two at start-up):

    @dataclass(frozen=True)
    class Take(ButtonData, prefix="take"):
        request_id: int

`Take(7).pack()` is "take:7"; a tap brings "take:7" back and the handler is given `Take(7)`.
Button data travel as `prefix:field:…` within Telegram's 64 bytes; start payloads as
`prefix_field_…` within a deep link's 64 characters of A-Za-z0-9_-. Fields are whole numbers,
text, a fixed set of words (Literal) or `int | None` (None travels as nothing); trailing
fields left at their defaults are not sent, and the last field takes the rest of the text.
Something that does not unpack (forged, or from an older version) is refused with the kind's
`refusal` code.
"""

from __future__ import annotations

import dataclasses
import re
import types
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

from handlers.errors import DomainError

MAX_BYTES = 64
# Ids are never this long; a longer run of digits is not a number we made.
MAX_DIGITS = 12
_START_TEXT = re.compile(r"[A-Za-z0-9_-]*")


class Payload:
    """What a kind of button data or start payload shares; see the module's docstring."""

    prefix: ClassVar[str]
    separator: ClassVar[str]
    refusal: ClassVar[str]
    _types: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, prefix: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if prefix is not None:
            cls.prefix = prefix

    def pack(self) -> str:
        """The text that carries this payload; ValueError if it would not fit or not parse."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        values = [getattr(self, f.name) for f in fields]
        while fields and values[-1] == fields[-1].default:
            fields, values = fields[:-1], values[:-1]
        parts = [_text(value) for value in values]
        if any(self.separator in part for part in parts[:-1]):
            raise ValueError(f"{type(self).__name__}: a field holds {self.separator!r}")
        packed = self.separator.join([self.prefix, *parts])
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__}: {len(packed.encode())} bytes > {MAX_BYTES}")
        self._check(packed)
        return packed

    def _check(self, packed: str) -> None:
        """A kind's own rule for its text (start payloads: deep-link characters only)."""

    @classmethod
    def unpack(cls, text: str) -> Self:
        """The payload `text` carries; DomainError(cls.refusal) when it carries none."""
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        prefix, *parts = text.split(cls.separator, len(fields))
        if prefix != cls.prefix or len(parts) > len(fields):
            raise DomainError(cls.refusal)
        hints = cls._hints()
        values: dict[str, object] = {}
        for field, part in zip(fields, parts, strict=False):
            values[field.name] = _parse(hints[field.name], part, cls.refusal)
        try:
            return cls(**values)
        except TypeError:  # a required field was not sent
            raise DomainError(cls.refusal) from None

    @classmethod
    def _hints(cls) -> dict[str, Any]:
        if "_types" not in cls.__dict__:
            cls._types = get_type_hints(cls)
        return cls._types


class ButtonData(Payload):
    """What a button sends back when tapped."""

    separator = ":"
    refusal = "button_expired"


class StartPayload(Payload):
    """What a deep link (/start <payload>) or a QR code brings into a private chat."""

    separator = "_"
    refusal = "bad_start_payload"

    def _check(self, packed: str) -> None:
        if not _START_TEXT.fullmatch(packed):
            raise ValueError(f"{type(self).__name__}: only A-Za-z0-9_- in a deep link")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _parse(kind: Any, part: str, refusal: str) -> object:
    """`part` as a value of the field's type, or DomainError(refusal)."""
    if get_origin(kind) in (Union, types.UnionType):
        if part == "":
            return None
        kind = next(k for k in get_args(kind) if k is not type(None))
    if kind is int:
        if not (part.isascii() and part.isdigit() and len(part) <= MAX_DIGITS):
            raise DomainError(refusal)
        return int(part)
    if get_origin(kind) is Literal:
        if part not in get_args(kind):
            raise DomainError(refusal)
        return part
    return part

