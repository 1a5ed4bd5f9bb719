"""Settings from the environment or `.env`; `.env.example` documents each one."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.context import Rules


class Settings(BaseSettings):
    """Every setting of a deployment. None has a secret default."""

    # Empty values in .env count as unset, so copying .env.example as it is works.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default=Path("data"), alias="JINLIN_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    timezone: str = Field(default="Asia/Shanghai", alias="JINLIN_TIMEZONE")
    log_level: str = Field(default="INFO", alias="JINLIN_LOG_LEVEL")
    max_name_length: int = Field(default=20, alias="JINLIN_MAX_NAME_LENGTH")

    telegram_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(default="https://api.telegram.org/bot",
                                       alias="TELEGRAM_API_BASE_URL")
    telegram_api_base_file_url: str = Field(default="https://api.telegram.org/file/bot",
                                            alias="TELEGRAM_API_BASE_FILE_URL")
    telegram_mode: str = Field(default="polling", alias="TELEGRAM_MODE")
    telegram_webhook_url: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(default=None,
                                                      alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_max_retries: int = Field(default=3, alias="TELEGRAM_MAX_RETRIES")

    web_host: str = Field(default="127.0.0.1", alias="JINLIN_WEB_HOST")
    web_port: int = Field(default=8080, alias="JINLIN_WEB_PORT")

    @property
    def db_url(self) -> str:
        """DATABASE_URL, or the SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'jinlin.sqlite3').resolve()}"

    def rules(self) -> Rules:
        """The part of the settings the features use."""
        return Rules(timezone=ZoneInfo(self.timezone), max_name_length=self.max_name_length)
