"""GET /healthz and GET /metrics over a real server, on the console platform."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from adapters.web.metrics_page import CONTENT_TYPE
from adapters.web.server import start_http
from bot.app import App
from bot.clock import ManualClock
from tests.conftest import make_settings

SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})?'
    r" (?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


@dataclass
class Served:
    app: App
    session: ConsoleSession
    clock: ManualClock
    base: str
    http: aiohttp.ClientSession
    db_file: Path


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = make_settings(tmp_path, http_port=0)
    clock = ManualClock()
    app, session = await build_console(config, clock=clock)
    runner, port = await start_http(app, config)
    try:
        async with aiohttp.ClientSession() as http:
            yield Served(
                app, session, clock, f"http://127.0.0.1:{port}", http, tmp_path / "warroom.db"
            )
    finally:
        await runner.cleanup()
        await app.stop()


def parse_exposition(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """A small 0.0.4 checker: HELP and TYPE come first, then that family's samples; every
    sample line is `name{labels} value`. Returns the samples per family."""
    assert text.endswith("\n")
    families: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    types: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split(" ", 3)[2]
            assert current not in families, f"{current} appears twice"
            families[current] = []
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current, f"TYPE {name} without its HELP first"
            assert kind in ("counter", "gauge", "histogram")
            types[name] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name = match["name"]
            assert current in types, f"sample {name} before its TYPE"
            suffixes = ("_bucket", "_sum", "_count") if types[current] == "histogram" else ("",)
            assert any(name == current + s for s in suffixes), f"{name} outside {current}"
            labels = dict(LABEL.findall(match["labels"] or ""))
            families[current].append((name, labels, float(match["value"])))
    return families


async def test_healthz_is_ok_when_the_database_answers(tmp_path: Path):
    async with served(tmp_path) as s, s.http.get(f"{s.base}/healthz") as r:
        assert r.status == 200
        assert await r.json() == {"status": "ok"}


async def test_healthz_is_503_when_the_database_fails(tmp_path: Path):
    async with served(tmp_path) as s:
        await s.app.db.dispose()  # drop pooled connections, then take the file away
        for leftover in s.db_file.parent.glob("warroom.db*"):
            leftover.unlink()
        s.db_file.mkdir()  # a directory cannot be opened as a database
        try:
            async with s.http.get(f"{s.base}/healthz") as r:
                assert r.status == 503
                answer = await r.json()
            assert answer["status"] == "error" and answer["error"].startswith("database: ")
        finally:
            shutil.rmtree(s.db_file)


async def test_metrics_lists_every_family_in_the_text_format(tmp_path: Path):
    async with served(tmp_path) as s:
        s.session.as_user("alice")
        await s.session.send("/incident declare SEV2 Checkout errors")
        s.session.go("inc-1-checkout-errors")
        s.clock.advance(timedelta(minutes=4))
        await s.session.send("/incident status identified")
        s.clock.advance(timedelta(minutes=26))
        await s.session.send("/incident resolve Rolled back")
        s.session.go("general")
        await s.session.send("/incident declare SEV1 Database down")
        await s.session.send("/incident declare SEV1 Game day --drill")
        async with s.http.get(f"{s.base}/healthz"):
            pass
        async with s.http.get(f"{s.base}/nowhere"):
            pass
        async with s.http.get(f"{s.base}/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == CONTENT_TYPE
            families = parse_exposition(await r.text())

    for name in (
        "warroom_commands_total",
        "warroom_reminders_sent_total",
        "warroom_reminder_lateness_seconds",
        "warroom_alerts_received_total",
        "warroom_alerts_total",
        "warroom_http_requests_total",
        "warroom_open_incidents",
        "warroom_time_to_acknowledge_seconds",
        "warroom_time_to_resolve_seconds",
    ):
        assert name in families, name

    open_now = {labels["severity"]: v for _, labels, v in families["warroom_open_incidents"]}
    assert open_now == {"SEV1": 1, "SEV2": 0, "SEV3": 0, "SEV4": 0}  # the drill is left out

    def series(family: str, suffix: str) -> dict[str, float]:
        return {
            labels.get("le", ""): v
            for name, labels, v in families[family]
            if name == family + suffix and labels["severity"] == "SEV2"
        }

    ack = "warroom_time_to_acknowledge_seconds"
    assert series(ack, "_count") == {"": 1} and series(ack, "_sum") == {"": 240}
    assert series(ack, "_bucket")["60"] == 0 and series(ack, "_bucket")["300"] == 1
    resolve = "warroom_time_to_resolve_seconds"
    assert series(resolve, "_sum") == {"": 1800}
    assert series(resolve, "_bucket")["900"] == 0 and series(resolve, "_bucket")["+Inf"] == 1

    requests = {
        (labels["path"], labels["status"]): v
        for _, labels, v in families["warroom_http_requests_total"]
    }
    assert requests[("/healthz", "200")] == 1
    assert requests[("unmatched", "404")] == 1
