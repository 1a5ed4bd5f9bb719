"""Signed sign-in codes: what a QR code carries, and checking one when it is scanned.

A code is a deep-link payload of at most 64 characters of `A-Za-z0-9_-`:

    ci_<activity id>_<direction><slot>_<signature>

`direction` is `i` (sign in) or `o` (sign out). `slot` 0 is a printed code, valid in the
window around the activity; any other slot is a rotating code for one period of N seconds
(the on-site display), accepted during its period and the one after. The signature is an
HMAC-SHA256 under the server secret over the other fields, so a code cannot be moved to
another activity, direction or period.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from handlers.errors import DomainError
from handlers.payloads import StartPayload

SIGNATURE_BYTES = 12
_SLOT = re.compile(r"([io])(\d{1,12})")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{16}")


@dataclass(frozen=True)
class SignInCode(StartPayload, prefix="ci"):
    """What a code carries, unchecked: `verify` tells whether we made it."""

    refusal = "code_forged"

    activity_id: int
    slot: str  # the direction and the slot number, e.g. "i0"
    signature: str


@dataclass(frozen=True)
class Code:
    """A verified code: which activity, which direction, printed (slot 0) or rotating."""

    activity_id: int
    direction: str
    slot: int

    @property
    def rotating(self) -> bool:
        return self.slot != 0


def _signature(secret: bytes, activity_id: int, direction: str, slot: int) -> str:
    message = f"{SignInCode.prefix}.{activity_id}.{direction}.{slot}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make(secret: bytes, activity_id: int, direction: str, slot: int = 0) -> str:
    """The payload for a code; slot 0 is printed, other slots rotate."""
    if direction not in ("i", "o"):
        raise ValueError(direction)
    return SignInCode(activity_id, f"{direction}{slot}",
                      _signature(secret, activity_id, direction, slot)).pack()


def current_slot(now: dt.datetime, period_seconds: int) -> int:
    """The rotating slot number for `now` (never 0, which means a printed code)."""
    return int(now.timestamp()) // period_seconds + 1


def verify(secret: bytes, scanned: SignInCode) -> Code:
    """The code a scan carries; refused as `code_forged` if it was not made by us."""
    match = _SLOT.fullmatch(scanned.slot)
    if match is None or not _SIGNATURE.fullmatch(scanned.signature):
        raise DomainError("code_forged")
    direction, slot = match[1], int(match[2])
    expected = _signature(secret, scanned.activity_id, direction, slot)
    if not hmac.compare_digest(expected, scanned.signature):
        raise DomainError("code_forged")
    return Code(scanned.activity_id, direction, slot)


def check_fresh(code: Code, now: dt.datetime, period_seconds: int) -> None:
    """Refuse a rotating code older than its own period and the one after (`code_expired`)."""
    if code.rotating and current_slot(now, period_seconds) - code.slot not in (0, 1):
        raise DomainError("code_expired")


def display_key(secret: bytes, activity_id: int, expires: dt.datetime) -> str:
    """The key in the secretary's link to the rotating display page."""
    stamp = int(expires.timestamp())
    message = f"display.{activity_id}.{stamp}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return f"{stamp}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def display_key_valid(secret: bytes, activity_id: int, key: str, now: dt.datetime) -> bool:
    """Whether a display-page key is ours, for this activity, and not yet expired."""
    stamp, _, _signature_part = key.partition(".")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return False
    expires = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    expected = display_key(secret, activity_id, expires)
    return hmac.compare_digest(expected, key) and now < expires
