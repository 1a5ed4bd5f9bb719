"""Settings: declared once, documented in .env.example, and refused at start-up in one
sentence when they make no sense."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import cli
from bot.settings import Settings, SettingsError, env_name, load
from handlers.rules import Rules

ROOT = Path(__file__).resolve().parent.parent


def example_lines() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, re.M))


@pytest.fixture
def empty_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A folder without .env and none of the bot's variables set."""
    monkeypatch.chdir(tmp_path)
    for name in example_lines():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_env_example_lists_every_setting() -> None:
    declared = {env_name(name, field) for name, field in Settings.model_fields.items()}
    assert set(example_lines()) == declared


def test_env_example_shows_the_declared_defaults(empty_env: pytest.MonkeyPatch) -> None:
    defaults = load()
    for name, value in example_lines().items():
        if value:
            empty_env.setenv(name, value)
    assert load() == defaults


def test_copied_example_has_no_token_and_uses_sqlite(empty_env: pytest.MonkeyPatch) -> None:
    Path(".env").write_text((ROOT / ".env.example").read_text())
    settings = load()
    assert settings.telegram_token is None
    assert settings.db_url.startswith("sqlite:///")
    assert settings.db_url.endswith("jinlin.sqlite3")


def test_the_features_get_the_rules_as_set(empty_env: pytest.MonkeyPatch) -> None:
    empty_env.setenv("JINLIN_ESCALATION_HOURS", "1, 3,12")
    empty_env.setenv("JINLIN_REMINDER_HOURS", "48,2")
    empty_env.setenv("JINLIN_CLAIM_LIMIT", "5")
    rules = load().rules()
    assert rules.escalation_hours == (1, 3, 12)
    assert rules.reminder_hours == (48, 2)
    assert rules.claim_limit == 5
    assert rules.points_help_base == Rules().points_help_base


@pytest.mark.parametrize(("name", "value", "sentence"), [
    ("JINLIN_ESCALATION_HOURS", "2", "JINLIN_ESCALATION_HOURS must be three positive numbers "
     "of hours separated by commas, e.g. 2,6,24, not '2'."),
    ("JINLIN_ESCALATION_HOURS", "2,6,24,48", "JINLIN_ESCALATION_HOURS must be three positive "
     "numbers of hours separated by commas, e.g. 2,6,24, not '2,6,24,48'."),
    ("JINLIN_ESCALATION_HOURS", "2,0,24", "JINLIN_ESCALATION_HOURS must be three positive "
     "numbers of hours separated by commas, e.g. 2,6,24, not '0'."),
    ("TELEGRAM_MODE", "webhok", "TELEGRAM_MODE must be one of polling, webhook, not 'webhok'."),
    ("JINLIN_REMINDER_HOURS", "24,soon", "JINLIN_REMINDER_HOURS must be positive numbers of "
     "hours separated by commas, e.g. 24,1, not 'soon'."),
    ("JINLIN_NO_SHOW_LIMIT", "0", "JINLIN_NO_SHOW_LIMIT must be a whole number of at least 1, "
     "not '0'."),
    ("JINLIN_POINTS_NO_SHOW", "3", "JINLIN_POINTS_NO_SHOW must be a whole number no more "
     "than 0, not '3'."),
    ("JINLIN_TIMEZONE", "Beijing", "JINLIN_TIMEZONE must be a time zone name such as "
     "Asia/Shanghai, not 'Beijing'."),
    ("WECHAT_REPLY_BUDGET_SECONDS", "5", "WECHAT_REPLY_BUDGET_SECONDS must be a number above 0 "
     "and no more than 4.5, not '5'."),
])
def test_a_setting_that_makes_no_sense_is_refused_in_one_sentence(
        empty_env: pytest.MonkeyPatch, name: str, value: str, sentence: str) -> None:
    empty_env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load()
    assert str(refused.value) == sentence


def test_the_bot_does_not_start_with_a_refused_setting(
        empty_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    empty_env.setenv("TELEGRAM_MODE", "webhok")
    assert cli.main(["db", "upgrade"]) == 2
    assert capsys.readouterr().err == (
        "Cannot start: TELEGRAM_MODE must be one of polling, webhook, not 'webhok'.\n")
    assert not Path("data").exists()


def test_a_short_secret_key_is_refused_without_showing_it(empty_env: pytest.MonkeyPatch) -> None:
    empty_env.setenv("JINLIN_SECRET_KEY", "hunter2-short")
    with pytest.raises(SettingsError) as refused:
        load()
    assert str(refused.value) == "JINLIN_SECRET_KEY must be a key of at least 16 bytes."


def test_a_busy_web_port_is_said_in_one_sentence_naming_the_setting(
        empty_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Another program holds JINLIN_WEB_PORT: the bot says so, without a bind traceback."""
    import socket

    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        empty_env.setenv("TELEGRAM_BOT_TOKEN", "123:not-used")
        # Nothing listens here: the port is refused before Telegram would be called.
        empty_env.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
        empty_env.setenv("JINLIN_WEB_PORT", str(port))
        assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == (
        f"Cannot start: port {port} on 127.0.0.1 is already in use by another program: "
        f"stop it, or set JINLIN_WEB_PORT to a free port.\n")
