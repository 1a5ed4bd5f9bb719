"""Settings from the environment or `.env`, each declared once; `.env.example` documents them.

The rules the features use are declared in handlers/rules.py and read here with the rest;
`load()` refuses a value that makes no sense with one sentence naming the setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BeforeValidator, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import datadir
from handlers.rules import MIN_SECRET_BYTES, Rules, RuleSettings, rule

# A template's fields: "first=branch,keyword1=text,…" (each filled with one of four values).
_FIELD = r"[A-Za-z0-9_.]+=(branch|text|time|action)"
_FIELDS = rf"^{_FIELD}(,{_FIELD})*$"


class SettingsError(Exception):
    """A setting that makes no sense, said in one sentence naming it and what it accepts."""


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"],
                     BeforeValidator(lambda value: str(value).upper())]


class Settings(BaseSettings, RuleSettings):
    """Every setting of a deployment. None has a secret default."""

    # Empty values in .env count as unset, so copying .env.example as it is works; lists
    # such as JINLIN_REMINDER_HOURS=24,1 are comma-separated, not JSON.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", env_ignore_empty=True,
                                      enable_decoding=False)

    data_dir: Path = rule(Path("data"), "JINLIN_DATA_DIR",
                          "Folder for the SQLite database and the generated key (private).")
    database_url: str | None = rule(None, "DATABASE_URL", "PostgreSQL instead of SQLite.")
    log_level: LogLevel = rule("INFO", "JINLIN_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR.")
    secret_key: SecretStr | None = rule(
        None, "JINLIN_SECRET_KEY", "Key that signs QR sign-in codes and display links.",
        accepts=f"a key of at least {MIN_SECRET_BYTES} bytes", min_length=MIN_SECRET_BYTES)

    telegram_token: SecretStr | None = rule(None, "TELEGRAM_BOT_TOKEN",
                                            "The token BotFather gave you.")
    telegram_api_base_url: str = rule("https://api.telegram.org/bot", "TELEGRAM_API_BASE_URL",
                                      "A self-hosted Bot API server instead of Telegram's.")
    telegram_api_base_file_url: str = rule("https://api.telegram.org/file/bot",
                                           "TELEGRAM_API_BASE_FILE_URL",
                                           "Where files are downloaded from.")
    telegram_mode: Literal["polling", "webhook"] = rule(
        "polling", "TELEGRAM_MODE", "polling (works behind NAT) or webhook (public HTTPS).")
    telegram_webhook_url: str | None = rule(None, "TELEGRAM_WEBHOOK_URL",
                                            "The public URL Telegram posts to.")
    telegram_webhook_secret: SecretStr | None = rule(
        None, "TELEGRAM_WEBHOOK_SECRET", "The secret Telegram sends back in a header.")
    telegram_max_retries: int = rule(3, "TELEGRAM_MAX_RETRIES",
                                     "Retries of a send Telegram answered 429.", ge=0)
    telegram_concurrent_updates: int = rule(32, "TELEGRAM_CONCURRENT_UPDATES",
                                            "Updates handled at once (different chats).", ge=1)

    wechat_app_id: str | None = rule(None, "WECHAT_APP_ID", "The Official Account's AppID.")
    wechat_app_secret: SecretStr | None = rule(None, "WECHAT_APP_SECRET",
                                               "The Official Account's AppSecret.")
    wechat_token: SecretStr | None = rule(None, "WECHAT_TOKEN",
                                          "The Token chosen on the Official Account's page.")
    wechat_aes_key: SecretStr | None = rule(None, "WECHAT_AES_KEY",
                                            "The EncodingAESKey for safe mode.")
    wechat_allow_plaintext: bool = rule(
        False, "WECHAT_ALLOW_PLAINTEXT",
        "true to run without WECHAT_AES_KEY (plaintext mode: bodies are not signed).")
    wechat_api_base_url: str = rule("https://api.weixin.qq.com/cgi-bin/", "WECHAT_API_BASE_URL",
                                    "WeChat's API (a proxy or a test server).")
    wechat_oauth_base_url: str = rule(
        "https://open.weixin.qq.com/connect/", "WECHAT_OAUTH_BASE_URL",
        "WeChat's OAuth pages, where the web desk sends a browser to learn who it is.")
    wechat_reply_budget_seconds: float = rule(
        4.0, "WECHAT_REPLY_BUDGET_SECONDS",
        "Seconds to wait before answering through the customer-service API.", gt=0, le=4.5)

    wechat_notice_template_id: str | None = rule(
        None, "WECHAT_NOTICE_TEMPLATE_ID",
        "Template message id for notices past the 48-hour window.")
    wechat_notice_template_fields: str = rule(
        "first=branch,keyword1=text,keyword2=time,remark=action",
        "WECHAT_NOTICE_TEMPLATE_FIELDS",
        "The template's fields, each filled with branch, text, time or action.",
        pattern=_FIELDS)
    wechat_message_template_id: str | None = rule(
        None, "WECHAT_MESSAGE_TEMPLATE_ID",
        "Template message id for other messages past the 48-hour window (reminders, results).")
    wechat_message_template_fields: str = rule(
        "first=branch,keyword1=text,keyword2=time,remark=action",
        "WECHAT_MESSAGE_TEMPLATE_FIELDS",
        "That template's fields, each filled with branch, text, time or action.",
        pattern=_FIELDS)

    wecom_api_base_url: str = rule("https://qyapi.weixin.qq.com", "WECOM_API_BASE_URL",
                                   "WeCom's API (a test server).")

    redis_url: str | None = rule(None, "JINLIN_REDIS_URL",
                                 "Redis shared by several processes (one Telegram rate limit).")
    web_worker: bool = rule(True, "JINLIN_WEB_WORKER",
                            "false: `run` only stores webhook updates; `worker`s handle them.")

    web_host: str = rule("127.0.0.1", "JINLIN_WEB_HOST", "Address the web server listens on.")
    web_port: int = rule(8080, "JINLIN_WEB_PORT", "Port the web server listens on.",
                         ge=1, le=65535)

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
        for url in (self.database_url, self.redis_url):
            if url and "@" in url:
                password = url.split("@", 1)[0].rpartition(":")[2]
                if password and "/" not in password:
                    found.append(password)
        return found

    def rules(self) -> Rules:
        """The part of the settings the features use."""
        declared = {name: getattr(self, name) for name in RuleSettings.model_fields}
        return Rules(**declared, secret=self.secret(),
                     holidays_file=str(self.data_dir / "holidays.toml"))


def load(**values: Any) -> Settings:
    """The settings from the environment and `.env` (`values` on top), or SettingsError."""
    try:
        return Settings(**values)
    except ValidationError as error:
        raise SettingsError(_sentence(error)) from None


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable a field is read from."""
    return field.validation_alias if isinstance(field.validation_alias, str) else name.upper()


def _sentence(error: ValidationError) -> str:
    """"JINLIN_ESCALATION_HOURS must be …, not '2'." for the first refused setting."""
    first = error.errors()[0]
    by_env = {env_name(name, field): field for name, field in Settings.model_fields.items()}
    name = str(first["loc"][0]) if first["loc"] else ""
    field = by_env.get(name) or Settings.model_fields.get(name)
    shown = name if name in by_env else env_name(name, field) if field else name
    accepts = describe(field) if field else first["msg"]
    if field is not None and "SecretStr" in str(field.annotation):
        return f"{shown} must be {accepts}."  # never the secret itself, not even in an error
    return f"{shown} must be {accepts}, not {first['input']!r}."


def describe(field: FieldInfo) -> str:
    """What a setting accepts, in words: declared with the rule, else read from its type."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("accepts"), str):
        return str(extra["accepts"])
    kind = field.annotation
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(kind))
    noun = "a whole number" if kind is int else "a number" if kind is float else "a valid value"
    limits = [phrase for limit in field.metadata if (phrase := _limit(limit))]
    return " ".join([noun, " and ".join(limits)]) if limits else noun


def _limit(limit: object) -> str:
    if isinstance(limit, Ge):
        return f"of at least {limit.ge}"
    if isinstance(limit, Gt):
        return f"above {limit.gt}"
    if isinstance(limit, Le):
        return f"no more than {limit.le}"
    if isinstance(limit, Lt):
        return f"below {limit.lt}"
    return ""
