"""Settings from the environment or `.env`; `.env.example` documents each one."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import datadir
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
    secret_key: SecretStr | None = Field(default=None, alias="JINLIN_SECRET_KEY")
    public_url: str = Field(default="http://127.0.0.1:8080", alias="JINLIN_PUBLIC_URL")
    qr_period_seconds: int = Field(default=30, ge=5, alias="JINLIN_QR_PERIOD_SECONDS")
    signin_opens_minutes: int = Field(default=30, ge=0, alias="JINLIN_SIGNIN_OPENS_MINUTES")
    signin_closes_minutes: int = Field(default=30, ge=0, alias="JINLIN_SIGNIN_CLOSES_MINUTES")
    cancel_deadline_hours: float = Field(default=2, ge=0, alias="JINLIN_CANCEL_DEADLINE_HOURS")
    no_show_limit: int = Field(default=2, ge=1, alias="JINLIN_NO_SHOW_LIMIT")
    reminder_hours: str = Field(default="24,1", alias="JINLIN_REMINDER_HOURS")
    claim_limit: int = Field(default=2, ge=1, alias="JINLIN_CLAIM_LIMIT")
    claim_stale_days: float = Field(default=14, gt=0, alias="JINLIN_CLAIM_STALE_DAYS")
    escalation_hours: str = Field(default="2,6,24", alias="JINLIN_ESCALATION_HOURS")
    followup_days: float = Field(default=3, gt=0, alias="JINLIN_FOLLOWUP_DAYS")
    notice_grace_minutes: float = Field(default=60, ge=0, alias="JINLIN_NOTICE_GRACE_MINUTES")
    notice_nudge_hours: float = Field(default=24, gt=0, alias="JINLIN_NOTICE_NUDGE_HOURS")
    points_checkin: int = Field(default=1, ge=0, alias="JINLIN_POINTS_CHECKIN")
    points_per_hour: float = Field(default=1, ge=0, alias="JINLIN_POINTS_PER_HOUR")
    points_per_star: int = Field(default=2, ge=0, alias="JINLIN_POINTS_PER_STAR")
    points_help_base: int = Field(default=5, ge=0, alias="JINLIN_POINTS_HELP_BASE")
    points_problem_resolved: int = Field(default=3, ge=0,
                                         alias="JINLIN_POINTS_PROBLEM_RESOLVED")
    points_no_show: int = Field(default=-2, le=0, alias="JINLIN_POINTS_NO_SHOW")

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
    telegram_concurrent_updates: int = Field(default=8, ge=1,
                                             alias="TELEGRAM_CONCURRENT_UPDATES")

    wechat_app_id: str | None = Field(default=None, alias="WECHAT_APP_ID")
    wechat_app_secret: SecretStr | None = Field(default=None, alias="WECHAT_APP_SECRET")
    wechat_token: SecretStr | None = Field(default=None, alias="WECHAT_TOKEN")
    wechat_aes_key: SecretStr | None = Field(default=None, alias="WECHAT_AES_KEY")
    wechat_api_base_url: str = Field(default="https://api.weixin.qq.com/cgi-bin/",
                                     alias="WECHAT_API_BASE_URL")
    wechat_reply_budget_seconds: float = Field(default=4.0, gt=0, le=4.5,
                                               alias="WECHAT_REPLY_BUDGET_SECONDS")

    wecom_api_base_url: str = Field(default="https://qyapi.weixin.qq.com",
                                    alias="WECOM_API_BASE_URL")

    web_host: str = Field(default="127.0.0.1", alias="JINLIN_WEB_HOST")
    web_port: int = Field(default=8080, alias="JINLIN_WEB_PORT")

    @property
    def wechat_enabled(self) -> bool:
        """Whether an Official Account is configured (app id, secret and token)."""
        return bool(self.wechat_app_id and self.wechat_app_secret and self.wechat_token)

    @property
    def db_url(self) -> str:
        """DATABASE_URL, or the SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{datadir.database_file(self.data_dir).resolve()}"

    def secret(self) -> bytes:
        """JINLIN_SECRET_KEY, or a random key made once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return datadir.secret_key(self.data_dir)

    def secrets(self) -> list[str]:
        """Every configured secret, for the log filter to mask."""
        values = (self.telegram_token, self.telegram_webhook_secret, self.wechat_app_secret,
                  self.wechat_token, self.wechat_aes_key, self.secret_key)
        found = [v.get_secret_value() for v in values if v is not None]
        if self.database_url and "@" in self.database_url:
            password = self.database_url.split("@", 1)[0].rpartition(":")[2]
            if password and "/" not in password:
                found.append(password)
        return found

    def rules(self) -> Rules:
        """The part of the settings the features use."""
        hours = _floats(self.reminder_hours)
        first, second, third = (*_floats(self.escalation_hours), 0, 0, 0)[:3]
        return Rules(timezone=ZoneInfo(self.timezone), max_name_length=self.max_name_length,
                     secret=self.secret(), public_url=self.public_url.rstrip("/"),
                     qr_period_seconds=self.qr_period_seconds,
                     signin_opens_minutes=self.signin_opens_minutes,
                     signin_closes_minutes=self.signin_closes_minutes,
                     cancel_deadline_hours=self.cancel_deadline_hours,
                     no_show_limit=self.no_show_limit, reminder_hours=hours,
                     claim_limit=self.claim_limit, claim_stale_days=self.claim_stale_days,
                     escalation_hours=(first, second, third),
                     followup_days=self.followup_days,
                     notice_grace_minutes=self.notice_grace_minutes,
                     notice_nudge_hours=self.notice_nudge_hours,
                     points_checkin=self.points_checkin,
                     points_per_hour=self.points_per_hour,
                     points_per_star=self.points_per_star,
                     points_help_base=self.points_help_base,
                     points_problem_resolved=self.points_problem_resolved,
                     points_no_show=self.points_no_show,
                     holidays_file=str(self.data_dir / "holidays.toml"))


def _floats(text: str) -> tuple[float, ...]:
    """Comma-separated numbers, e.g. "24,1"."""
    return tuple(float(part) for part in text.split(",") if part.strip())
