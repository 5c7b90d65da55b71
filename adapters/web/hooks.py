"""POST /hooks/<source>: a monitoring delivery becomes one `AlertsReceived` for the core.

In order: credentials (401), size (413), JSON (400), the payload's shape (400), then
`Bot.handle`. Nothing reaches the core, so nothing is recorded, before the last step.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.web import auth
from bot.alerts import formats
from bot.alerts.model import SOURCES, AlertPayloadError
from bot.app import App
from bot.events import AlertsReceived
from bot.port import ChannelRef, UserRef

log = logging.getLogger("warroom.web.hooks")

SOURCE_NAMES = {"alertmanager": "Alertmanager", "grafana": "Grafana", "generic": "generic webhook"}
CHUNK = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.Response]]


class TooLarge(Exception):
    pass


def error(status: int, message: str, **extra: object) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


async def read_capped(request: web.Request, cap: int) -> bytes:
    """The whole body, or `TooLarge` as soon as it passes `cap` bytes."""
    if request.content_length is not None and request.content_length > cap:
        raise TooLarge
    body = bytearray()
    while chunk := await request.content.read(CHUNK):
        body += chunk
        if len(body) > cap:
            raise TooLarge
    return bytes(body)


def hook(app: App, source: str) -> Handler:
    settings = app.settings
    cap = settings.hook_max_bytes

    async def handle(request: web.Request) -> web.Response:
        creds = auth.credentials(settings, source)
        if creds.token is None and creds.hmac_secret is None:
            return error(401, auth.nothing_configured(source))
        headers = request.headers
        trusted = auth.bearer_ok(creds, headers)
        if not trusted and not auth.has_signature(creds, headers):
            return error(401, auth.refusal(creds, headers))
        try:
            body = await read_capped(request, cap)
        except TooLarge:
            return error(413, f"the body is larger than {cap} bytes (WARROOM_HOOK_MAX_BYTES)")
        if not trusted:
            problem = auth.signature_problem(creds, headers, body)
            if problem is not None:
                return error(401, problem)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return error(400, f"body is not valid JSON: {exc}", field=None)
        except RecursionError:
            return error(400, "body is not valid JSON: nested too deeply", field=None)
        try:
            alerts = formats.parse(source, payload)
        except AlertPayloadError as exc:
            return error(400, str(exc), field=exc.field)
        delivery = uuid.uuid4().hex
        outcome = await app.bot.handle(
            AlertsReceived(
                key=delivery,
                user=UserRef(id=source, name=SOURCE_NAMES[source]),
                channel=ChannelRef(""),
                at=None,
                source=source,
                alerts=tuple(alerts),
            )
        )
        if outcome.report is not None:
            return web.json_response(outcome.report.as_json())
        reply = outcome.reply.plain() if outcome.reply is not None else ""
        log.error("delivery %s from %s failed in the core: %s", delivery, source, reply)
        return web.json_response({"error": reply or "the alert could not be handled"}, status=500)

    return handle


def routes(app: App) -> list[web.RouteDef]:
    return [web.post(f"/hooks/{source}", hook(app, source)) for source in SOURCES]
