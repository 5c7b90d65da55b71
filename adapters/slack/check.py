"""`warroom check` for Slack: is the bot token valid, and does it have the manifest's scopes?"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack.port import error_code, make_client
from bot.config import Settings

MANIFEST = Path(__file__).with_name("manifest.yaml")


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(s) for s in data["oauth_config"]["scopes"]["bot"]]


@dataclass
class SlackCheck:
    ok: bool
    lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


async def check(settings: Settings) -> SlackCheck:
    assert settings.slack_bot_token is not None
    client = make_client(
        settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        rate_limit_retries=1,
    )
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return SlackCheck(ok=False, lines=[f"Slack auth.test failed: {error_code(exc)}"])
    except (SlackClientError, OSError, TimeoutError) as exc:
        return SlackCheck(ok=False, lines=[f"Slack is unreachable: {type(exc).__name__}: {exc}"])
    finally:
        session = getattr(client, "session", None)
        if session is not None:
            await session.close()
    header = response.headers.get("x-oauth-scopes") or response.headers.get("X-OAuth-Scopes")
    granted = {s.strip() for s in str(header or "").split(",") if s.strip()}
    missing = [s for s in manifest_scopes() if s not in granted]
    who = f"{response.get('user', '?')} ({response.get('user_id', '?')})"
    lines = [f"Slack: connected to {response.get('team', '?')} as {who}"]
    if header is None:
        lines.append("Slack: the response had no x-oauth-scopes header; scopes not checked")
    elif missing:
        lines.append(f"Slack: the bot token lacks scopes: {', '.join(missing)}")
        lines.append(
            "  add them in the app's OAuth & Permissions page (or adapters/slack/manifest.yaml)"
        )
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        lines.append(
            "Slack: set WARROOM_SLACK_APP_TOKEN (Socket Mode) or WARROOM_SLACK_SIGNING_SECRET"
        )
        return SlackCheck(ok=False, lines=lines, missing=missing)
    return SlackCheck(ok=not missing, lines=lines, missing=missing)
