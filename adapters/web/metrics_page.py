"""GET /healthz and GET /metrics.

/metrics joins three kinds of figures: the counters this process keeps
(`bot.metrics.Metrics`), the web layer's request counter, and families read from the
database at scrape time (`storage.stats`), which stay right across restarts and replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web

from bot.app import App
from bot.metrics import DURATION_BUCKETS, Counter, Gauge, Histogram, render
from storage import stats

log = logging.getLogger("warroom.web.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def http_requests() -> Counter:
    return Counter(
        "warroom_http_requests_total",
        "HTTP requests served, by route and status code.",
        ("path", "status"),
    )


def _histogram(name: str, help: str, spans: Sequence[stats.Span]) -> Histogram:
    family = Histogram(name, help, DURATION_BUCKETS, ("severity",))
    for span in spans:
        family.observe(span.seconds, span.severity)
    return family


async def database_families(app: App) -> list[Counter | Gauge | Histogram]:
    async with app.db.reader() as tx:
        open_counts = await stats.open_by_severity(tx)
        ack = await stats.time_to_acknowledge(tx)
        resolve = await stats.time_to_resolve(tx)
    gauge = Gauge(
        "warroom_open_incidents",
        "Incidents not yet resolved or closed, by severity (drills are not counted).",
        ("severity",),
    )
    for level in app.bot.deps.severities.names:
        gauge.set(0, level)
    for severity, n in open_counts.items():
        gauge.set(n, severity)
    return [
        gauge,
        _histogram(
            "warroom_time_to_acknowledge_seconds",
            "Time from declaring an incident to marking it identified, by severity "
            "(drills are not counted).",
            ack,
        ),
        _histogram(
            "warroom_time_to_resolve_seconds",
            "Time from declaring an incident to resolving it, by severity "
            "(drills are not counted).",
            resolve,
        ),
    ]


def handlers(app: App, requests: Counter) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        try:
            async with app.db.reader() as tx:
                await stats.ping(tx)
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return web.json_response(
                {"status": "error", "error": f"database: {type(exc).__name__}: {exc}"},
                status=503,
            )
        return web.json_response({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        try:
            from_db = await database_families(app)
        except Exception as exc:
            log.warning("metrics: the database could not be read: %s", exc)
            return web.Response(
                status=503, text=f"the database could not be read: {type(exc).__name__}: {exc}\n"
            )
        families = [*app.bot.deps.metrics.families(), requests, *from_db]
        return web.Response(
            body=render(families).encode("utf-8"), headers={"Content-Type": CONTENT_TYPE}
        )

    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
