"""Button data and start payloads: typed kinds that pack and unpack themselves, within
Telegram's 64 bytes, and a router that refuses two features claiming one key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.console import ConsoleWorld
from handlers.context import Context
from handlers.forms import FormButton
from handlers.help_requests import AskButton
from handlers.payloads import ButtonData, StartPayload
from handlers.qrcodes import SignInCode
from handlers.router import Command, DuplicateKey, Feature, On, Router
from tests.story import GROUP, set_up_branch, texts, verified_member
from tests.test_help_requests import tap


def test_a_button_comes_back_as_the_object_that_made_it() -> None:
    stars = AskButton("rate", 12, 5)
    assert stars.pack() == "ask:rate:12:5"
    assert AskButton.unpack(stars.pack()) == stars
    take = AskButton("take", 12)
    assert take.pack() == "ask:take:12"  # a field left at its default is not sent
    assert AskButton.unpack("ask:take:12") == take


def test_the_last_field_keeps_separators_a_signature_may_hold() -> None:
    code = SignInCode(7, "i0", "ab_cd-ef_gh-ij_k")
    assert code.pack() == "ci_7_i0_ab_cd-ef_gh-ij_k"
    assert SignInCode.unpack(code.pack()) == code


def test_button_data_must_fit_telegrams_64_bytes() -> None:
    fits = FormButton("items_new", "c", "place", "x" * 41)
    assert len(fits.pack().encode()) == 64
    with pytest.raises(ValueError, match="65 bytes"):
        FormButton("items_new", "c", "place", "x" * 42).pack()
    with pytest.raises(ValueError, match="bytes"):
        FormButton("items_new", "c", "place", "楼" * 14).pack()  # 3 bytes each in UTF-8


def test_a_deep_link_takes_only_its_own_characters() -> None:
    @dataclass(frozen=True)
    class Named(StartPayload, prefix="named"):
        name: str

    assert Named("abc-1").pack() == "named_abc-1"
    with pytest.raises(ValueError, match="A-Za-z0-9_-"):
        Named("张三").pack()


def test_a_forged_or_stale_tap_is_refused_in_words(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    for forged in ("ask:take:abc", "ask:fly:1", "ask", "ask:take:1:2:3", "nothing:1"):
        assert texts(tap(world, "张三", GROUP, forged)) == ["这个按钮已经失效了。"], forged


def test_a_made_up_link_is_refused_in_words(world: ConsoleWorld) -> None:
    for forged in ("iam_x", "iam", "nt_1_2", "unknown_1"):
        shown = texts(world.say("张三", "private", f"/start {forged}"))
        assert shown == ["这个链接无效或已过期。发送「帮助」看看我能做什么。"], forged


@dataclass(frozen=True)
class Ping(ButtonData, prefix="ping"):
    times: int


@dataclass(frozen=True)
class Pong(ButtonData, prefix="ping"):
    note: str


def nothing(_ctx: Context, _payload: object) -> None:
    """A handler that is never called: these routers are refused before any update."""


def test_two_features_claiming_one_button_prefix_are_refused_at_start_up() -> None:
    with pytest.raises(DuplicateKey, match="button 'ping'"):
        Router([Feature(buttons=[On(Ping, nothing)]), Feature(buttons=[On(Pong, nothing)])], {})


def test_two_features_claiming_one_command_or_keyword_are_refused_at_start_up() -> None:
    first, second = Command("checkin", nothing), Command("attend", nothing)
    with pytest.raises(DuplicateKey, match="command 'checkin'"):
        Router([Feature(commands=[first]), Feature(commands=[first])], {})
    with pytest.raises(DuplicateKey, match="keyword '签到'"):
        Router([Feature(commands=[first, second])], {"checkin": ["签到"], "attend": ["签到"]})


def test_two_features_claiming_one_start_payload_prefix_are_refused_at_start_up() -> None:
    @dataclass(frozen=True)
    class Here(StartPayload, prefix="here"):
        place: int

    @dataclass(frozen=True)
    class There(StartPayload, prefix="here"):
        place: int

    with pytest.raises(DuplicateKey, match="start payload 'here'"):
        Router([Feature(start_payloads=[On(Here, nothing)]),
                Feature(start_payloads=[On(There, nothing)])], {})

