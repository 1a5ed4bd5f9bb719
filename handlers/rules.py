"""The rules a deployment may change, each declared once: type, default, environment name, doc.

bot/settings.py reads them from the environment (or `.env`); features see them as `Rules`,
handed over by bot/ and never read from the environment here.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# A shorter key could be guessed offline from one signed QR code.
MIN_SECRET_BYTES = 16


def rule(default: Any, env: str, doc: str, accepts: str | None = None, **limits: Any) -> Any:
    """A setting: its default, environment name, one-line doc, limits, and (when the type
    alone does not say it) what it accepts, for the sentence that refuses a bad value."""
    extra: dict[str, Any] | None = {"accepts": accepts} if accepts else None
    return Field(default, validation_alias=env, description=doc,
                 json_schema_extra=extra, **limits)


def _comma_separated(value: object) -> object:
    """"24,1" as ["24", "1"]; anything else as it is."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _zone(value: object) -> object:
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone") from None
    return value


def _three(hours: tuple[float, ...]) -> tuple[float, float, float]:
    if len(hours) != 3:
        raise ValueError("needs exactly three steps")
    return hours[0], hours[1], hours[2]


Hours = Annotated[float, Field(gt=0)]
HoursList = Annotated[tuple[Hours, ...], BeforeValidator(_comma_separated)]
ThreeSteps = Annotated[tuple[Hours, ...], BeforeValidator(_comma_separated),
                       AfterValidator(_three)]
Zone = Annotated[ZoneInfo, BeforeValidator(_zone)]


class RuleSettings(BaseModel):
    """The rules people may set in the environment; `Rules` adds what bot/ works out."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True,
                              arbitrary_types_allowed=True)

    timezone: Zone = rule(
        ZoneInfo("Asia/Shanghai"), "JINLIN_TIMEZONE",
        "Time zone for days, months and times shown to people.",
        accepts="a time zone name such as Asia/Shanghai")
    max_name_length: int = rule(20, "JINLIN_MAX_NAME_LENGTH",
                                "Longest name accepted when a member registers (characters).", ge=1)
    public_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = rule(
        "http://127.0.0.1:8080", "JINLIN_PUBLIC_URL",
        "The address people reach the web server at (for the rotating QR page).")
    qr_period_seconds: int = rule(30, "JINLIN_QR_PERIOD_SECONDS",
                                  "A rotating on-site QR code changes this often.", ge=5)
    signin_opens_minutes: int = rule(30, "JINLIN_SIGNIN_OPENS_MINUTES",
                                     "Printed sign-in codes work this long before the start.",
                                     ge=0)
    signin_closes_minutes: int = rule(30, "JINLIN_SIGNIN_CLOSES_MINUTES",
                                      "… and this long after the end (sign-out too).", ge=0)
    signup_closes_minutes: int = rule(0, "JINLIN_SIGNUP_CLOSES_MINUTES",
                                      "Sign-up closes this long before the start (0: at the "
                                      "start).", ge=0)
    cancel_deadline_hours: float = rule(
        2, "JINLIN_CANCEL_DEADLINE_HOURS",
        "Cancelling later than this before the start counts as a no-show.", ge=0)
    no_show_limit: int = rule(2, "JINLIN_NO_SHOW_LIMIT",
                              "Unexcused no-shows before sign-ups are blocked.", ge=1)
    reminder_hours: HoursList = rule(
        (24, 1), "JINLIN_REMINDER_HOURS",
        "Private reminders to those signed up, this many hours before the start.",
        accepts="positive numbers of hours separated by commas, e.g. 24,1")
    # Needs list (需求清单): open claims per member; days before a silent claim is reminded,
    # and as many again before it returns to the list.
    claim_limit: int = rule(2, "JINLIN_CLAIM_LIMIT", "Open claims a member may hold.", ge=1)
    claim_stale_days: float = rule(14, "JINLIN_CLAIM_STALE_DAYS",
                                   "Days a claim may go unfulfilled before a reminder.", gt=0)
    # Help requests (求助): hours without a helper before building leaders, then the secretary,
    # then the community admins are pinged.
    escalation_hours: ThreeSteps = rule(
        (2, 6, 24), "JINLIN_ESCALATION_HOURS",
        "Hours before an untaken help request pings building leaders, secretary, admins.",
        accepts="three positive numbers of hours separated by commas, e.g. 2,6,24")
    followup_days: float = rule(3, "JINLIN_FOLLOWUP_DAYS",
                                "Days after a problem is resolved to ask if it is.", gt=0)
    notice_grace_minutes: float = rule(
        60, "JINLIN_NOTICE_GRACE_MINUTES",
        "A notice missed by less than this goes out late; an older one is reported.", ge=0)
    notice_nudge_hours: float = rule(
        24, "JINLIN_NOTICE_NUDGE_HOURS",
        "Hours before members who have not acknowledged are nudged once.", gt=0)
    processed_retention_days: float = rule(
        7, "JINLIN_PROCESSED_RETENTION_DAYS",
        "Days the keys of handled updates are kept (longer than any platform redelivers).",
        gt=0)
    # Points (积分), applied in handlers/points.py.
    points_checkin: int = rule(1, "JINLIN_POINTS_CHECKIN", "Points for a daily check-in.", ge=0)
    points_per_hour: float = rule(1, "JINLIN_POINTS_PER_HOUR",
                                  "Points per hour served at an activity.", ge=0)
    points_per_star: int = rule(2, "JINLIN_POINTS_PER_STAR",
                                "Points per star of a rated fulfilled claim.", ge=0)
    points_help_base: int = rule(5, "JINLIN_POINTS_HELP_BASE",
                                 "Points for a confirmed help request, plus its rating.", ge=0)
    points_problem_resolved: int = rule(3, "JINLIN_POINTS_PROBLEM_RESOLVED",
                                        "Points to the assignee of a resolved report.", ge=0)
    points_no_show: int = rule(-2, "JINLIN_POINTS_NO_SHOW",
                               "Points for a confirmed place not used (zero or less).", le=0)


class Rules(RuleSettings):
    """Settings the features need: the rules above and what bot/ works out for them."""

    model_config = ConfigDict(frozen=True)

    max_field_length: int = 50
    max_text_length: int = 500
    # Signs QR codes and display links; bot/ always provides the deployment's own. Left out
    # (tests, the console), it is a random key of this process, never a fixed one.
    secret: bytes = Field(default_factory=lambda: secrets.token_bytes(MIN_SECRET_BYTES * 2),
                          min_length=MIN_SECRET_BYTES)
    # The local list of holidays and adjusted working days (TOML), if the deployer keeps one.
    holidays_file: str = ""
