"""Settings: .env.example documents every setting and, copied as it is, starts the console."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert documented == aliases


def test_copied_example_has_no_token_and_uses_sqlite(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "JINLIN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.telegram_token is None
    assert settings.db_url.startswith("sqlite:///")
    assert settings.db_url.endswith("jinlin.sqlite3")
