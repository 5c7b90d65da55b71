"""`warroom check` for Slack.

Local: the bot token looks like a bot token (`xoxb-`), the app token like an app-level
token (`xapp-`), and one of the app token (Socket Mode) and the signing secret (HTTP
mode) is set. Network, each step within WARROOM_CONNECT_TIMEOUT: auth.test with the bot
token (and the scopes it was granted against the manifest's), apps.connections.open
with the app token, then the playbooks' announcement channels and people.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.port import SlackPort, error_code, make_client
from bot.check_targets import resolve_targets
from bot.checkup import NoAnswer, Report, answer_within, check_alone
from bot.config import Settings
from bot.playbooks import PlaybookSet

MANIFEST = Path(__file__).with_name("manifest.yaml")
PREFIXES = {
    "xoxb-": "a bot token",
    "xapp-": "an app-level token",
    "xoxp-": "a user token",
    "xoxe-": "a refresh token",
}


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(s) for s in data["oauth_config"]["scopes"]["bot"]]


def _shape(setting: str, value: str, wanted: str, where: str) -> str | None:
    """Why `value` (stripped) is not a token starting with `wanted`, or None."""
    if not value:
        return f"{setting} is empty; copy it from {where}"
    if any(c.isspace() or not c.isprintable() for c in value):
        return f"{setting} has spaces or line breaks inside; paste the token alone"
    if value.startswith(wanted) and len(value) > len(wanted):
        return None
    kind = next((k for prefix, k in PREFIXES.items() if value.startswith(prefix)), None)
    said = f"this one is {kind}" if kind else "this one is not"
    return f"{setting} must be {PREFIXES[wanted]} ({wanted}…), {said}; copy it from {where}"


class SlackCheck:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        bot, app = settings.slack_bot_token, settings.slack_app_token
        self.bot_token = bot.get_secret_value().strip() if bot is not None else ""
        self.app_token = app.get_secret_value().strip() if app is not None else None
        self.app_token_ok = False

    def local(self, report: Report) -> bool:
        s = self.settings
        bot = _shape(
            "WARROOM_SLACK_BOT_TOKEN", self.bot_token, "xoxb-", "the app's OAuth & Permissions page"
        )
        if bot:
            report.problem(f"Slack: {bot}")
        if self.app_token is not None:
            app = _shape(
                "WARROOM_SLACK_APP_TOKEN",
                self.app_token,
                "xapp-",
                "Basic Information → App-Level Tokens (scope connections:write)",
            )
            if app:
                report.problem(f"Slack: {app}")
            self.app_token_ok = app is None
            if s.slack_signing_secret is not None:
                report.warn(
                    "Slack: WARROOM_SLACK_APP_TOKEN and WARROOM_SLACK_SIGNING_SECRET are both "
                    "set; Socket Mode is used and the signing secret is not"
                )
        elif s.slack_signing_secret is None:
            report.problem(
                "Slack: set WARROOM_SLACK_APP_TOKEN (Socket Mode) or "
                "WARROOM_SLACK_SIGNING_SECRET (HTTP mode) beside WARROOM_SLACK_BOT_TOKEN"
            )
        return bot is None

    async def network(self, report: Report, playbooks: PlaybookSet | None) -> None:
        s = self.settings
        client = make_client(self.bot_token, base_url=s.slack_api_url, rate_limit_retries=1)
        try:
            user_id = await self._auth(client, report)
            if user_id is None:
                return
            if self.app_token is not None and self.app_token_ok:
                await self._app_token(client, report)
            if playbooks is not None:
                await resolve_targets(
                    SlackPort(client, bot_user_id=user_id),
                    where="Slack",
                    playbooks=playbooks,
                    announce_channel=s.announce_channel,
                    report=report,
                    seconds=s.connect_timeout,
                )
        finally:
            session = getattr(client, "session", None)
            if session is not None:
                await session.close()

    def _url(self, method: str) -> str:
        base = self.settings.slack_api_url
        return f"{base if base.endswith('/') else base + '/'}{method}"

    async def _auth(self, client: AsyncWebClient, report: Report) -> str | None:
        """auth.test with the bot token: the bot's user id, or None (reported)."""
        url = self._url("auth.test")
        try:
            async with answer_within(url, self.settings.connect_timeout):
                response = await client.auth_test()
        except NoAnswer as exc:
            report.problem(f"Slack: {exc}; check WARROOM_SLACK_API_URL and the network")
            return None
        except SlackApiError as exc:
            report.problem(f"Slack: auth.test refused WARROOM_SLACK_BOT_TOKEN: {error_code(exc)}")
            return None
        except (SlackClientError, OSError) as exc:
            report.problem(f"Slack: cannot reach {url}: {exc or type(exc).__name__}")
            return None
        header = response.headers.get("x-oauth-scopes") or response.headers.get("X-OAuth-Scopes")
        granted = {x.strip() for x in str(header or "").split(",") if x.strip()}
        missing = [x for x in manifest_scopes() if x not in granted]
        who = f"{response.get('user', '?')} ({response.get('user_id', '?')})"
        report.ok(f"Slack: connected to {response.get('team', '?')} as {who}")
        if header is None:
            report.warn("Slack: the response had no x-oauth-scopes header; scopes not checked")
        elif missing:
            report.problem(
                f"Slack: the bot token lacks scopes: {', '.join(missing)}\n"
                "  add them in the app's OAuth & Permissions page (or adapters/slack/manifest.yaml)"
            )
        return str(response.get("user_id") or "")

    async def _app_token(self, client: AsyncWebClient, report: Report) -> None:
        """apps.connections.open with the app token: Socket Mode would work."""
        assert self.app_token is not None
        url = self._url("apps.connections.open")
        try:
            async with answer_within(url, self.settings.connect_timeout):
                await client.apps_connections_open(app_token=self.app_token)
        except NoAnswer as exc:
            report.problem(f"Slack: {exc}")
        except SlackApiError as exc:
            report.problem(
                f"Slack: apps.connections.open refused WARROOM_SLACK_APP_TOKEN: "
                f"{error_code(exc)}; it needs the connections:write scope"
            )
        except (SlackClientError, OSError) as exc:
            report.problem(f"Slack: cannot reach {url}: {exc or type(exc).__name__}")
        else:
            report.ok("Slack: the app token opens Socket Mode connections")


async def check(settings: Settings, playbooks: PlaybookSet | None = None) -> Report:
    """The Slack part of `warroom check`, on its own."""
    return await check_alone(SlackCheck(settings), playbooks)
