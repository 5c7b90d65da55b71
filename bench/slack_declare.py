"""Slack declare-to-ready with Web API latency: `/incident declare` until the reply is
delivered and the card is posted and pinned, the topic set, people invited and the
announcement posted.

Real slack_bolt/slack_sdk in Socket Mode against the loopback FakeSlack (`tests/`), which
delays every Web API answer by `latency_ms` (default 50) as a distant Slack would. Each
declare is timed from sending the slash-command envelope until the bridge has no work
left (`SlackBridge.idle`: the reply went out and every effect ran). The first declare
also pays the one-off lookups (auth.test, conversations.list); it is reported as
`cold_s`. The `declares` that follow are timed and their median is `wall_s`.

Baseline, measured in the same run on the same fake and latency: the same Web API calls
made directly with AsyncWebClient, with what depends on nothing run concurrently:
conversations.create -> chat.postMessage (card) -> pins.add | setTopic | invite |
announcement. `ratio` = wall_s / baseline_parallel_s. Also reported: the sequential
baseline (each call after the previous one), the calls per declare, and the Web API
calls in the order warroom made them with their offsets (ms) in the last declare.

Options (key=value or BENCH_<KEY>): declares (default 5), latency_ms (default 50).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import build_slack
from adapters.slack.server import connect
from bench.measure import meets
from bench.registry import Options
from bot.clock import SystemClock
from bot.config import Settings
from tests.slack_fake import FakeSlack

REPO = Path(__file__).resolve().parent.parent
TARGET = {"wall_s": "<= 0.4"}
READY_METHODS = (
    "conversations.create",
    "chat.postMessage",
    "pins.add",
    "conversations.setTopic",
    "conversations.invite",
)

log = logging.getLogger("bench.slack_declare")


async def _baseline(fake: FakeSlack, n: int, *, parallel: bool) -> float:
    """The calls a declare needs, made directly; the median seconds of `n` runs."""
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    announce = fake.channel_id("incidents")
    assert announce
    people = [u for u in fake.members(announce) if u != "UBOT"][:1]
    times = []
    for i in range(n):
        start = time.perf_counter()
        name = f"base-{'p' if parallel else 's'}-{i}"
        created = await client.conversations_create(name=name, is_private=False)
        cid = created["channel"]["id"]
        card = await client.chat_postMessage(channel=cid, text="card")
        rest = [
            client.pins_add(channel=cid, timestamp=card["ts"]),
            client.conversations_setTopic(channel=cid, topic="SEV2 · investigating"),
            client.conversations_invite(channel=cid, users=",".join(people), force=True),
            client.chat_postMessage(channel=announce, text="announcement"),
        ]
        if parallel:
            await asyncio.gather(*rest)
        else:
            for call in rest:
                await call
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def run(opts: Options) -> dict[str, Any]:
    declares = opts.int("declares", 5, minimum=1)
    latency = opts.int("latency_ms", 50) / 1000
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with FakeSlack() as fake:
            alice, bob = fake.add_user("alice"), fake.add_user("bob")
            general = fake.add_channel("general", members=[alice, bob])
            fake.add_channel("incidents", members=[alice, bob])
            settings = Settings(
                _env_file=None,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'warroom.db'}",
                playbooks_dir=REPO / "playbooks",
                postmortem_dir=Path(tmp) / "postmortems",
                slack_bot_token=fake.bot_token,
                slack_app_token=fake.app_token,
                slack_api_url=fake.api_url,
            )
            bridge = await build_slack(settings, clock=SystemClock())
            connection = await connect(bridge)
            try:
                await fake.wait_connected()
                await bridge.port.bot_id()  # as `warroom run` does before connecting
                fake.latency = latency

                async def declare(i: int) -> tuple[float, int, int]:
                    calls, responses = len(fake.calls), len(fake.responses)
                    payload = fake.slash_command(f"declare SEV2 Bench outage {i}", alice, general)
                    start = time.perf_counter()
                    await fake.send_envelope(
                        "slash_commands", payload, accepts_response_payload=True, timeout_s=10
                    )
                    await bridge.idle()
                    took = time.perf_counter() - start
                    new = fake.calls[calls:]
                    cid = fake.channel_id(f"inc-{i + 1}-bench-outage-{i}")
                    ready = (
                        cid is not None
                        and len(fake.responses) > responses
                        and "Declared" in str(fake.responses[-1])
                        and len(fake.pins(cid)) == 1
                        and fake.topic(cid)
                        and alice in fake.members(cid)
                        and all(any(c.method == m for c in new) for m in READY_METHODS)
                    )
                    if not ready:
                        raise RuntimeError(f"declare {i} did not reach ready: {fake.violations}")
                    return took, len(new), calls

                cold, cold_calls, _ = await declare(0)
                walls, counts = [], []
                first = 0
                for i in range(1, declares + 1):
                    took, count, first = await declare(i)
                    walls.append(took)
                    counts.append(count)
                last = fake.calls[first:]
                t0 = last[0].at if last else 0.0
                sequence = [f"{c.method}@{(c.at - t0) * 1000:.0f}" for c in last]
                base_par = await _baseline(fake, declares, parallel=True)
                base_seq = await _baseline(fake, declares, parallel=False)
                fake.assert_clean()
            finally:
                await connection.close()
                await bridge.core.stop()
    wall = statistics.median(walls)
    figures: dict[str, Any] = {
        "declares": declares,
        "latency_ms": round(latency * 1000),
        "wall_s": round(wall, 3),
        "walls_s": [round(w, 3) for w in walls],
        "cold_s": round(cold, 3),
        "calls_per_declare": statistics.median(counts),
        "cold_calls": cold_calls,
        "round_trips": round(wall / latency, 1) if latency else None,
        "baseline_parallel_s": round(base_par, 3),
        "baseline_sequential_s": round(base_seq, 3),
        "ratio": round(wall / base_par, 2),
        "calls_ms": sequence,
        "target": TARGET,
    }
    figures["ok"] = meets(TARGET, figures)
    return figures
