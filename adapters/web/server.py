"""warroom's one HTTP server: alert hooks, health, metrics, and a platform's own routes.

`warroom run` starts it for every platform on WARROOM_HTTP_HOST:WARROOM_HTTP_PORT;
Slack's HTTP mode adds POST /slack/events to it (`extra_routes`). See docs/http.md.

Hostile clients are answered, not served: an error aiohttp raises for a route (404, 405)
is JSON like every other error; a request that is not valid HTTP (over-long or too many
headers, a body that does not match its Content-Encoding) gets aiohttp's 400 and one
WARNING line, not an ERROR traceback (`protocol.ClientErrorLog`); and a connection that
has not sent a whole request head within `protocol.HEADER_TIMEOUT_S` is closed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from adapters.web import hooks, metrics_page, protocol
from bot.app import App
from bot.config import Settings
from bot.metrics import Counter

log = logging.getLogger("warroom.web")

REQUESTS: web.AppKey[Counter] = web.AppKey("requests", Counter)


class HttpBindError(Exception):
    """The server could not listen on the configured host and port."""


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _counting(requests: Counter) -> Middleware:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            requests.inc(_route_label(request), str(status))

    return count


def build_web_app(app: App, *, extra_routes: Iterable[web.RouteDef] = ()) -> web.Application:
    requests = metrics_page.http_requests()
    web_app = web.Application(middlewares=[_counting(requests), protocol.json_errors])
    web_app[REQUESTS] = requests
    web_app.add_routes(hooks.routes(app))
    web_app.add_routes(metrics_page.handlers(app, requests))
    web_app.add_routes(list(extra_routes))
    return web_app


async def start_http(
    app: App, settings: Settings, extra_routes: Iterable[web.RouteDef] = ()
) -> tuple[web.AppRunner, int]:
    """Listen on the configured address; return the runner and the port bound (useful
    with WARROOM_HTTP_PORT=0). Raises `HttpBindError` when the address is unavailable."""
    runner = web.AppRunner(
        build_web_app(app, extra_routes=extra_routes), access_log=None, **protocol.handler_args()
    )
    await runner.setup()
    host, port = settings.http_host, settings.http_port
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise HttpBindError(
            f"cannot serve HTTP on {host}:{port} ({exc.strerror or exc}); set "
            "WARROOM_HTTP_HOST / WARROOM_HTTP_PORT to a free address (port 0 picks any free port)"
        ) from None
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    log.info("serving HTTP on http://%s:%s (hooks, /healthz, /metrics)", host, bound)
    return runner, bound


@asynccontextmanager
async def serving(
    app: App, settings: Settings, extra_routes: Iterable[web.RouteDef] = ()
) -> AsyncIterator[int]:
    """`start_http` for the length of a `with` block; yields the bound port."""
    runner, port = await start_http(app, settings, extra_routes)
    try:
        yield port
    finally:
        await runner.cleanup()
