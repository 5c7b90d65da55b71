"""POST /hooks/<source>: a monitoring delivery becomes one `AlertsReceived` for the core.

In order: credentials (401), the body (`body.read`: 413 too large, 415 unknown
Content-Encoding, 408 too slow, 400 unreadable), JSON (400), the payload's shape (400),
then `Bot.handle`. Every step before the core turns any failure to read the request into
a 4xx with a JSON error, never a 5xx: monitoring tools retry a 5xx, so one malformed
delivery would block its whole notification group. Nothing reaches the core, so nothing
is recorded, before the last step.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.web import auth, protocol
from adapters.web import body as body_of
from bot.alerts import formats
from bot.alerts.model import SOURCES, Alert, AlertPayloadError
from bot.app import App
from bot.events import AlertsReceived
from bot.port import ChannelRef, UserRef

log = logging.getLogger("warroom.web.hooks")

SOURCE_NAMES = {"alertmanager": "Alertmanager", "grafana": "Grafana", "generic": "generic webhook"}

Handler = Callable[[web.Request], Awaitable[web.Response]]


class Refused(Exception):
    """The request cannot be taken: answered with `status` and a JSON error. `close`: the
    body was not read to its end, so the connection cannot carry another request."""

    def __init__(self, status: int, message: str, *, close: bool = False, **extra: object):
        super().__init__(message)
        self.status, self.message, self.close, self.extra = status, message, close, extra


def error(status: int, message: str, **extra: object) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


def decode(body: bytes) -> object:
    """The body as JSON, or `Refused` (400) saying why it is not."""
    try:
        return json.loads(body)
    except RecursionError:
        problem = "nested too deeply"
    except json.JSONDecodeError as exc:
        problem = str(exc)
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 ({exc.reason} at byte {exc.start})"
    except ValueError as exc:  # the one other: an integer longer than Python converts
        limit = sys.get_int_max_str_digits()
        problem = f"a number has more than {limit} digits" if limit else protocol.reason(exc)
    raise Refused(400, f"body is not valid JSON: {problem}", field=None)


def parse(source: str, payload: object) -> list[Alert]:
    """The delivery's alerts, or `Refused` (400). An error the format does not foresee is
    a bug to log, but still the sender's request that cannot be read: a 5xx would only
    make the sender retry it, forever, holding up the rest of its group."""
    try:
        return formats.parse(source, payload)
    except AlertPayloadError as exc:
        raise Refused(400, str(exc), field=exc.field) from None
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("reading a %s payload failed (ref %s)", source, reference)
        raise Refused(
            400,
            f"the body could not be read as a {SOURCE_NAMES[source]} payload (ref {reference})",
            field=None,
        ) from None


def hook(app: App, source: str) -> Handler:
    settings = app.settings
    cap = settings.hook_max_bytes

    async def alerts_of(request: web.Request) -> list[Alert]:
        creds = auth.credentials(settings, source)
        if creds.token is None and creds.hmac_secret is None:
            raise Refused(401, auth.nothing_configured(source))
        headers = request.headers
        trusted = auth.bearer_ok(creds, headers)
        if not trusted and not auth.has_signature(creds, headers):
            raise Refused(401, auth.refusal(creds, headers))
        try:
            body = await body_of.read(request, cap)
        except body_of.BodyRefused as refused:
            extra = {"field": None} if refused.status == 400 else {}
            raise Refused(refused.status, refused.message, close=True, **extra) from None
        if not trusted:
            problem = auth.signature_problem(creds, headers, body)
            if problem is not None:
                raise Refused(401, problem)
        return parse(source, decode(body))

    async def handle(request: web.Request) -> web.Response:
        try:
            alerts = await alerts_of(request)
        except Refused as refused:
            response = error(refused.status, refused.message, **refused.extra)
            if refused.close:
                response.force_close()
            return response
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
        # The core could not record the delivery (the database is down, or a bug): a 5xx,
        # so that the sender tries again; nothing of it was kept.
        reply = outcome.reply.plain() if outcome.reply is not None else ""
        log.error("delivery %s from %s failed in the core: %s", delivery, source, reply)
        return web.json_response({"error": reply or "the alert could not be handled"}, status=500)

    return handle


def routes(app: App) -> list[web.RouteDef]:
    return [web.post(f"/hooks/{source}", hook(app, source)) for source in SOURCES]
