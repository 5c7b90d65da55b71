"""Slack HTTP mode: how fast warroom acknowledges slash commands under a burst.

warroom's own aiohttp server (`adapters/slack/server.py`, on loopback) takes `rounds`
bursts of `concurrency` (default 50) concurrent signed `/incident note …` requests, sent
from an incident channel declared first. Each request is timed from sending it to its
HTTP response (the ack); the notes themselves are written after the ack, and the next
burst starts only once they are all done (each round checks that every note landed).

Baseline, in the same run and the same process: a bare `slack_bolt` AsyncApp served by the
same aiohttp adapter (`to_bolt_request` / `to_aiohttp_response`), same signing secret and
web client, whose command listener only acks. Bursts alternate between the two.
Latencies of all rounds are pooled; `ratio` = p99 / baseline_p99.

The Web API behind both is the loopback FakeSlack (`tests/`), without added latency.
Options (key=value or BENCH_<KEY>): concurrency (default 50), rounds (default 6).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func
from sqlmodel import col, select

from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import EVENTS_PATH, connect
from bench.measure import meets
from bench.registry import Options
from bot.clock import SystemClock
from bot.config import Settings
from storage.tables import TimelineEntry
from tests.slack_fake import FakeSlack
from tests.slack_payloads import form_body, signed_request

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-0123456789ab"
TARGET = {"ratio": "<= 1.5"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

log = logging.getLogger("bench.slack_ack")

Burst = Callable[[], Awaitable[list[float]]]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return round(ordered[min(rank, len(ordered)) - 1] * 1000, 2)


async def _bare_bolt(client: AsyncWebClient) -> tuple[web.AppRunner, str]:
    bolt = AsyncApp(
        name="bare",
        client=client,
        signing_secret=SECRET,
        process_before_response=False,
        logger=logging.getLogger("bench.slack_ack.bare"),
    )

    @bolt.command("/incident")
    async def only_ack(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}{EVENTS_PATH}"


async def _notes(bridge: SlackBridge) -> int:
    async with bridge.core.db.reader() as tx:
        found = await tx.exec(select(func.count()).where(col(TimelineEntry.kind) == "note"))
        return int(found.one())


async def run(opts: Options) -> dict[str, Any]:
    concurrency = opts.int("concurrency", 50, minimum=1)
    rounds = opts.int("rounds", 6, minimum=1)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with (
            FakeSlack() as fake,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
        ):
            alice = fake.add_user("alice")
            general = fake.add_channel("general", members=[alice])
            fake.add_channel("incidents", members=[alice])
            settings = Settings(
                _env_file=None,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'warroom.db'}",
                playbooks_dir=REPO / "playbooks",
                postmortem_dir=Path(tmp) / "postmortems",
                slack_bot_token=fake.bot_token,
                slack_signing_secret=SECRET,
                slack_api_url=fake.api_url,
                http_host="127.0.0.1",
                http_port=0,
            )
            bridge = await build_slack(settings, clock=SystemClock())
            connection = await connect(bridge)
            bare, bare_url = await _bare_bolt(bridge.client)
            url = f"http://127.0.0.1:{connection.port}{EVENTS_PATH}"
            try:

                async def post(target: str, text: str, channel: str) -> float:
                    body = form_body(fake.slash_command(text, alice, channel))
                    headers = {**FORM, **signed_request(body, SECRET)}
                    start = time.perf_counter()
                    async with http.post(target, data=body, headers=headers) as response:
                        await response.read()
                        took = time.perf_counter() - start
                        if response.status != 200:
                            raise RuntimeError(f"{target}: HTTP {response.status}")
                    return took

                await post(url, "declare SEV2 Bench: ack latency", general)
                await bridge.idle()
                incident = fake.channel_id("inc-1-bench-ack-latency")
                if incident is None:
                    raise RuntimeError(f"declare failed: {fake.responses[-1:]}")

                seq = iter(range(1, 1_000_000))

                async def burst(target: str) -> list[float]:
                    texts = [
                        f"note step {next(seq)}: checked the dashboards" for _ in range(concurrency)
                    ]
                    return list(
                        await asyncio.gather(*(post(target, text, incident) for text in texts))
                    )

                async def ours() -> list[float]:
                    before = await _notes(bridge)
                    took = await burst(url)
                    await bridge.idle()
                    if await _notes(bridge) - before != concurrency:
                        raise RuntimeError("not every note of the burst was recorded")
                    return took

                async def baseline() -> list[float]:
                    return await burst(bare_url)

                await ours()  # warm-up of both
                await baseline()
                warroom: list[float] = []
                base: list[float] = []
                for r in range(rounds):
                    pair: list[tuple[list[float], Burst]] = [(warroom, ours), (base, baseline)]
                    for into, go in pair if r % 2 == 0 else pair[::-1]:
                        into.extend(await go())
                fake.assert_clean()
            finally:
                await bare.cleanup()
                await connection.close()
                await bridge.core.stop()
    figures: dict[str, Any] = {
        "concurrency": concurrency,
        "rounds": rounds,
        "requests": len(warroom),
        "p50_ms": percentile(warroom, 50),
        "p99_ms": percentile(warroom, 99),
        "baseline_p50_ms": percentile(base, 50),
        "baseline_p99_ms": percentile(base, 99),
    }
    figures["ratio"] = round(figures["p99_ms"] / figures["baseline_p99_ms"], 2)
    figures["p50_ratio"] = round(figures["p50_ms"] / figures["baseline_p50_ms"], 2)
    figures["target"] = TARGET
    figures["ok"] = meets(TARGET, figures)
    return figures
