"""Settings from the environment and `.env` (prefix `WARROOM_`). Read only in the entry point."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.durations import parse_duration
from bot.domain.severity import DEFAULT_LEVELS, SeverityScale
from bot.reactions import DEFAULT_SPEC, ReactionAction, parse_reactions

# The playbooks that come with warroom (package data: a link to the repo's playbooks/).
SHIPPED_PLAYBOOKS = Path(__file__).with_name("shipped_playbooks")
LOCAL_PLAYBOOKS = Path("playbooks")


def default_playbooks_dir() -> Path:
    """`./playbooks` when the working directory has one, else the shipped playbooks."""
    return LOCAL_PLAYBOOKS if LOCAL_PLAYBOOKS.is_dir() else SHIPPED_PLAYBOOKS.resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WARROOM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # sqlite:///path, postgresql://… or postgres://… (storage/urls.py picks the driver).
    database_url: str = "sqlite+aiosqlite:///warroom.db"
    # Seconds a connection (the database; Slack and Discord in `warroom check`) may take
    # before it counts as no answer.
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    # Unset: ./playbooks if there is one, else the playbooks shipped with warroom.
    playbooks_dir: Path = Field(default_factory=default_playbooks_dir)
    severities: str = DEFAULT_LEVELS
    announce_channel: str = "incidents"
    command_name: str = "incident"
    timezone: str = "UTC"
    log_level: str = "INFO"
    postmortem_dir: Path = Path("postmortems")
    reactions: str = DEFAULT_SPEC

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # Alert webhooks (docs/http.md): a bearer token and/or an HMAC-SHA256 secret. With
    # neither configured for a hook, every request to it is refused (401).
    hook_token: SecretStr | None = None
    hook_hmac_secret: SecretStr | None = None
    hook_alertmanager_token: SecretStr | None = None
    hook_grafana_token: SecretStr | None = None
    hook_generic_token: SecretStr | None = None
    hook_max_bytes: int = Field(default=1024 * 1024, ge=1)
    discord_token: SecretStr | None = None
    discord_guild_ids: str = ""
    discord_category: str = "incidents"
    discord_announce_channel: str = ""
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"

    # How long a process may take to open a declared incident's channel before another
    # process (a restart, a replica) takes over and finishes the declare. A duration: 60s, 2m.
    setup_lease: str = "60s"

    demo_speed: float = Field(default=0.0, ge=0.0)

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, v: str) -> str:
        from storage.urls import BadDatabaseUrl, async_url

        try:
            async_url(v)
        except BadDatabaseUrl as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("severities")
    @classmethod
    def _valid_levels(cls, v: str) -> str:
        SeverityScale.parse(v)
        return v

    @field_validator("reactions")
    @classmethod
    def _valid_reactions(cls, v: str) -> str:
        parse_reactions(v)
        return v

    @field_validator("setup_lease")
    @classmethod
    def _valid_lease(cls, v: str) -> str:
        if parse_duration(v) is None:
            raise ValueError("give a duration longer than zero, like 60s or 2m")
        return v

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {v!r}; use an IANA name like Europe/Paris"
            ) from None
        return v

    @field_validator("command_name")
    @classmethod
    def _valid_command(cls, v: str) -> str:
        v = v.lstrip("/")
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError("use letters, digits, '-' and '_'")
        return v

    @field_validator("discord_guild_ids")
    @classmethod
    def _valid_guild_ids(cls, v: str) -> str:
        if not all(p.strip().isdecimal() for p in v.split(",") if p.strip()):
            raise ValueError("use comma-separated numeric guild (server) ids")
        return v

    @property
    def playbooks_chosen(self) -> bool:
        """Whether WARROOM_PLAYBOOKS_DIR was set, rather than found (`default_playbooks_dir`)."""
        return "playbooks_dir" in self.model_fields_set

    @property
    def discord_guilds(self) -> list[int]:
        return [int(p) for p in self.discord_guild_ids.split(",") if p.strip()]

    @property
    def severity_scale(self) -> SeverityScale:
        return SeverityScale.parse(self.severities)

    @property
    def reaction_map(self) -> dict[str, ReactionAction]:
        return parse_reactions(self.reactions)

    @property
    def setup_lease_delta(self) -> timedelta:
        lease = parse_duration(self.setup_lease)
        assert lease is not None
        return lease

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None

    def hook_token_for(self, source: str) -> SecretStr | None:
        """The bearer token for one hook: its own `WARROOM_HOOK_<SOURCE>_TOKEN`, else the
        shared `WARROOM_HOOK_TOKEN`. An empty value counts as unset."""
        own = getattr(self, f"hook_{source}_token", None)
        for token in (own, self.hook_token):
            if isinstance(token, SecretStr) and token.get_secret_value():
                return token
        return None

    @property
    def http_asked(self) -> bool:
        """Whether HTTP was asked for: WARROOM_HTTP_HOST or _PORT set, or a hook credential.

        Chat platforms always serve it; the console (no chat token) only when asked, so
        that trying warroom out binds no port."""
        if {"http_host", "http_port"} & self.model_fields_set or self.hook_hmac is not None:
            return True
        from bot.alerts.model import SOURCES

        return any(self.hook_token_for(source) for source in SOURCES)

    @property
    def hook_hmac(self) -> SecretStr | None:
        secret = self.hook_hmac_secret
        return secret if secret is not None and secret.get_secret_value() else None

    @property
    def has_discord(self) -> bool:
        return self.discord_token is not None
