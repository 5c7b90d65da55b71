"""Sustained Alertmanager webhooks over loopback HTTP into a real warroom App.

warroom as `warroom run` serves it: the console platform, a SQLite file in a temp dir,
the real scheduler, and the real aiohttp server (`adapters.web.server.serving`) on
127.0.0.1 port 0 with a bearer token configured (`WARROOM_HOOK_TOKEN`). A real aiohttp
client posts Alertmanager webhooks (payload version "4") to POST /hooks/alertmanager,
sending the token, from `concurrency` concurrent senders (default 8) that take the next
request of one shared sequence as soon as their previous one is answered.

Traffic (seeded, so every run sends the same sequence): each request is one delivery of
`alerts_per_request` alerts (default 1). An alert carries a NEW fingerprint with
probability 0.2, else it repeats a fingerprint sent earlier in the sequence (uniformly;
its first delivery may still be in flight). Each fingerprint belongs to one of `groups`
notification groups (default 20), picked uniformly when it is new: its labels hold
`alertname=Alert-<g>` and `severity=warning`, the delivery's groupKey is
`{}:{alertname="Alert-<g>"}`. So each group ought to get exactly ONE incident, declared by
its first alert and joined by its later new fingerprints; repeats only count. With more
than one alert per request, the first alert is drawn as above and sets the delivery's
group; the others are drawn within that group (as Alertmanager delivers one group at a time).
The first `warmup` alerts (default 300) are sent before the clock starts.

Figures: `alerts_per_s` (timed alerts over the timed wall time), `p50_ms`/`p99_ms` per
request, the report counts summed from the responses' JSON (`declared`, `attached`,
`deduplicated`, `ignored`, `failed`), `incidents` (rows in the database at the end),
`expected_incidents` (distinct groups sent), `alert_rows` (rows in the `alert` table,
which must equal `fingerprints`, the distinct fingerprints sent), and `duplicates`.

Baseline, against the same server in the same run: the same requests (same bodies, same
concurrency) without the Authorization header, which the hook refuses with 401 before it
reads the body: one raw HTTP round trip through warroom's aiohttp app and middleware,
with no parsing and no database. `baseline_roundtrip_ms` is its p50, `ratio` =
alerts_per_s / baseline_requests_per_s.

Worst case (labelled, no target of its own): a fresh App and server take `worst_alerts`
(default 1500) alerts where every new fingerprint is its own group, so a fifth of all
alerts declare an incident (a channel, card, announcement each). `worst_case_alerts_per_s`
is its throughput; its duplicate incidents are added into `duplicates`.

Options (key=value or BENCH_<KEY>): alerts (5000), warmup (300), concurrency (8), groups
(20), alerts_per_request (1), baseline_requests (2000), worst_alerts (1500), seed (1).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import dataclasses
import json
import logging
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import select

from adapters.console.app import build_console
from adapters.web.server import serving
from bench.measure import meets, rate
from bench.registry import BadOption, Options
from bot.app import App
from bot.clock import SystemClock
from bot.config import Settings
from storage.tables import AlertRecord, Incident

log = logging.getLogger("bench.alert_intake")

REPO = Path(__file__).resolve().parent.parent
TARGET = {"alerts_per_s": ">= 500", "duplicates": "<= 0"}
TOKEN = "bench-hook-token-0123456789abcdef"
PATH = "/hooks/alertmanager"
NEW_SHARE = 0.2
STARTS_AT = "2024-05-14T09:51:03.157076829Z"
ZERO_TIME = "0001-01-01T00:00:00Z"
EXTERNAL_URL = "http://alertmanager.example.com:9093"
LINE_LIMIT = 64 * 1024 * 1024  # a job or results line: every body, or every latency
REPORTED = ("declared", "attached", "deduplicated", "ignored", "failed")

Json = dict[str, Any]


# -- traffic ---------------------------------------------------------------------------


def _alert(fingerprint: int, group: str) -> Json:
    """One `alerts[]` entry of an Alertmanager v4 webhook, every documented member set."""
    instance = f"node-{fingerprint}:9100"
    return {
        "status": "firing",
        "labels": {
            "alertname": f"Alert-{group}",
            "instance": instance,
            "job": "node",
            "severity": "warning",
        },
        "annotations": {
            "summary": f"Alert-{group} firing on {instance}",
            "description": f"{instance} has been over its threshold for 5 minutes.",
            "runbook_url": f"https://runbooks.example.com/alert-{group}",
        },
        "startsAt": STARTS_AT,
        "endsAt": ZERO_TIME,
        "generatorURL": f"http://prometheus.example.com:9090/graph?g0.expr=alert_{group}&g0.tab=1",
        "fingerprint": f"{fingerprint:016x}",
    }


def _payload(group: str, alerts: list[Json]) -> Json:
    """A whole Alertmanager v4 delivery of one notification group."""
    labels = {"alertname": f"Alert-{group}", "job": "node", "severity": "warning"}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Alert-{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {"alertname": f"Alert-{group}"},
        "commonLabels": labels if len(alerts) > 1 else alerts[0]["labels"],
        "commonAnnotations": {} if len(alerts) > 1 else alerts[0]["annotations"],
        "externalURL": EXTERNAL_URL,
        "alerts": alerts,
    }


@dataclass
class Traffic:
    """The request bodies, in sending order, and what they should leave behind."""

    bodies: list[bytes] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # per request
    groups: set[str] = field(default_factory=set)
    fingerprints: int = 0

    def count(self, start: int, stop: int) -> int:
        return sum(self.alerts[start:stop])


def traffic(
    total: int, *, per_request: int, groups: int | None, rng: random.Random, prefix: str
) -> Traffic:
    """`total` alerts in requests of `per_request`. `groups=None`: each new fingerprint is
    its own group (the worst case)."""
    out = Traffic()
    group_of: list[str] = []  # by fingerprint
    members: dict[str, list[int]] = {}

    def new(group: str | None) -> int:
        if group is None:
            group = f"{prefix}{len(group_of) if groups is None else rng.randrange(groups)}"
        fp = len(group_of)
        group_of.append(group)
        members.setdefault(group, []).append(fp)
        return fp

    sent = 0
    while sent < total:
        size = min(per_request, total - sent)
        fresh = not group_of or rng.random() < NEW_SHARE
        first = new(None) if fresh else rng.randrange(len(group_of))
        group = group_of[first]
        chosen = [first]
        for _ in range(size - 1):
            pool = [fp for fp in members[group] if fp not in chosen]
            if not pool or rng.random() < NEW_SHARE:
                chosen.append(new(group))
            else:
                chosen.append(rng.choice(pool))
        body = _payload(group, [_alert(fp, group) for fp in chosen])
        out.bodies.append(json.dumps(body).encode())
        out.alerts.append(size)
        out.groups.add(group)
        sent += size
    out.fingerprints = len(group_of)
    return out


# -- sending ---------------------------------------------------------------------------
#
# The senders run in a child process (`python -m bench.alert_intake client`) with their
# own event loop, as Alertmanager would: in this process they would share warroom's one
# event loop and so take turns with the server they measure. The child reads one job per
# line on stdin and answers each with one line on stdout; its session, and so its
# keep-alive connections, lasts for all the jobs.


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    reported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORTED, 0))
    seconds: float = 0.0
    error: str | None = None


async def send(
    http: aiohttp.ClientSession,
    url: str,
    bodies: list[bytes],
    *,
    concurrency: int,
    token: str | None,
    expect: int,
) -> Results:
    """Post every body from `concurrency` senders sharing one queue, in order."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    results = Results()
    queue: Iterator[bytes] = iter(bodies)

    async def sender() -> None:
        for body in queue:
            start = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                took = time.perf_counter() - start
            if response.status != expect:
                raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
            results.latencies.append(took)
            if expect == 200:
                report = json.loads(answer)
                for key in REPORTED:
                    value = report[key]
                    results.reported[key] += len(value) if isinstance(value, list) else value

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    results.seconds = time.perf_counter() - start
    return results


class Senders:
    """The child process that sends; `run` hands it one job and waits for its results."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls) -> AsyncIterator[Senders]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            "client",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
            limit=LINE_LIMIT,
        )
        try:
            yield cls(process)
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def run(
        self, url: str, bodies: list[bytes], *, concurrency: int, token: str | None, expect: int
    ) -> Results:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        job = {
            "url": url,
            "bodies": [b.decode() for b in bodies],
            "concurrency": concurrency,
            "token": token,
            "expect": expect,
        }
        stdin.write(json.dumps(job).encode() + b"\n")
        await stdin.drain()
        line = await stdout.readline()
        if not line:
            raise RuntimeError(f"the sender process ended (exit status {self.process.returncode})")
        results = Results(**json.loads(line))
        if results.error is not None:
            raise RuntimeError(f"{url}: {results.error}")
        return results


async def _client() -> None:
    """The child's loop: a job per stdin line, its results as one stdout line."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        while line := await asyncio.to_thread(sys.stdin.buffer.readline):
            job = json.loads(line)
            try:
                results = await send(
                    http,
                    job["url"],
                    [body.encode() for body in job["bodies"]],
                    concurrency=job["concurrency"],
                    token=job["token"],
                    expect=job["expect"],
                )
            except Exception as exc:
                results = Results(error=f"{type(exc).__name__}: {exc}")
            sys.stdout.write(json.dumps(dataclasses.asdict(results)) + "\n")
            sys.stdout.flush()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return round(ordered[min(rank, len(ordered)) - 1] * 1000, 2)


# -- one server ------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet(name: str = "warroom") -> Iterator[None]:
    """warroom's info logs (one per retried delivery, per server start) off for the run."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.asynccontextmanager
async def _served(tmp: Path) -> AsyncIterator[tuple[App, str]]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp / 'warroom.db'}",
        playbooks_dir=REPO / "playbooks",
        postmortem_dir=tmp / "postmortems",
        http_host="127.0.0.1",
        http_port=0,
        hook_token=SecretStr(TOKEN),
    )
    app, _session = await build_console(settings, clock=SystemClock())
    try:
        await app.start_scheduler()
        async with serving(app, settings) as port:
            yield app, f"http://127.0.0.1:{port}{PATH}"
    finally:
        await app.stop()


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """With a path (option `profile`), cProfile this process (the server: the senders
    are in their own) and write the stats there, for `python -m pstats`."""
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)
        log.warning("server-side profile of the timed run written to %s", path)


async def _counts(app: App) -> tuple[int, int]:
    """(incidents, alert rows) in the database."""
    async with app.db.reader() as tx:
        incidents = (await tx.exec(select(func.count()).select_from(Incident))).one()
        alerts = (await tx.exec(select(func.count()).select_from(AlertRecord))).one()
    return int(incidents), int(alerts)


def _split(plan: Traffic, warmup_alerts: int) -> int:
    """How many requests the warm-up takes: whole requests up to `warmup_alerts`."""
    sent = 0
    for index, size in enumerate(plan.alerts):
        if sent >= warmup_alerts:
            return index
        sent += size
    return len(plan.alerts)


async def _check(app: App, plan: Traffic, label: str) -> dict[str, int]:
    incidents, rows = await _counts(app)
    if rows != plan.fingerprints:
        raise RuntimeError(f"{label}: {rows} alert rows for {plan.fingerprints} fingerprints")
    return {"incidents": incidents, "expected_incidents": len(plan.groups), "alert_rows": rows}


async def _main_case(senders: Senders, opts: Options, rng: random.Random) -> dict[str, Any]:
    alerts = opts.int("alerts", 5000, minimum=1)
    warmup = opts.int("warmup", 300)
    concurrency = opts.int("concurrency", 8, minimum=1)
    groups = opts.int("groups", 20, minimum=1)
    per_request = opts.int("alerts_per_request", 1, minimum=1)
    baseline_requests = opts.int("baseline_requests", 2000, minimum=1)
    plan = traffic(warmup + alerts, per_request=per_request, groups=groups, rng=rng, prefix="")
    cut = _split(plan, warmup)
    if cut >= len(plan.bodies):
        raise BadOption("alerts: nothing left to time after the warm-up")
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with _served(Path(tmp)) as (app, url):
            common = {"concurrency": concurrency}
            await senders.run(url, plan.bodies[:cut], token=TOKEN, expect=200, **common)
            with _profiled(opts.raw("profile")):
                timed = await senders.run(url, plan.bodies[cut:], token=TOKEN, expect=200, **common)
            # Baseline: the same bodies, refused at the door (cycled to the wanted count).
            refused = [plan.bodies[i % len(plan.bodies)] for i in range(baseline_requests)]
            await senders.run(
                url, refused[: min(200, len(refused))], token=None, expect=401, **common
            )
            base = await senders.run(url, refused, token=None, expect=401, **common)
            counts = await _check(app, plan, "main")
    timed_alerts = plan.count(cut, len(plan.alerts))
    alerts_per_s = rate(timed_alerts, timed.seconds)
    baseline_per_s = rate(len(refused), base.seconds)
    return {
        "alerts": timed_alerts,
        "warmup": plan.count(0, cut),
        "requests": len(timed.latencies),
        "concurrency": concurrency,
        "groups": groups,
        "alerts_per_request": per_request,
        "alerts_per_s": alerts_per_s,
        "requests_per_s": rate(len(timed.latencies), timed.seconds),
        "p50_ms": percentile(timed.latencies, 50),
        "p99_ms": percentile(timed.latencies, 99),
        **counts,
        "fingerprints": plan.fingerprints,
        **timed.reported,
        "baseline_requests": len(refused),
        "baseline_roundtrip_ms": percentile(base.latencies, 50),
        "baseline_p99_ms": percentile(base.latencies, 99),
        "baseline_requests_per_s": baseline_per_s,
        "ratio": round(alerts_per_s / baseline_per_s, 3),
    }


async def _worst_case(senders: Senders, opts: Options, rng: random.Random) -> dict[str, Any]:
    alerts = opts.int("worst_alerts", 1500)
    concurrency = opts.int("concurrency", 8, minimum=1)
    per_request = opts.int("alerts_per_request", 1, minimum=1)
    if alerts == 0:
        return {}
    plan = traffic(alerts, per_request=per_request, groups=None, rng=rng, prefix="w")
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with _served(Path(tmp)) as (app, url):
            result = await senders.run(
                url, plan.bodies, concurrency=concurrency, token=TOKEN, expect=200
            )
            counts = await _check(app, plan, "worst case")
    return {
        "worst_case_alerts": plan.count(0, len(plan.alerts)),
        "worst_case_alerts_per_s": rate(plan.count(0, len(plan.alerts)), result.seconds),
        "worst_case_p50_ms": percentile(result.latencies, 50),
        "worst_case_p99_ms": percentile(result.latencies, 99),
        "worst_case_incidents": counts["incidents"],
        "worst_case_expected_incidents": counts["expected_incidents"],
        "worst_case_declared": result.reported["declared"],
        "worst_case_duplicates": counts["incidents"] - counts["expected_incidents"],
    }


async def run(opts: Options) -> dict[str, Any]:
    rng = random.Random(opts.int("seed", 1))
    with _quiet():
        async with Senders.started() as senders:
            figures = await _main_case(senders, opts, rng)
            worst = await _worst_case(senders, opts, rng)
    figures["duplicates"] = (figures["incidents"] - figures["expected_incidents"]) + worst.get(
        "worst_case_duplicates", 0
    )
    figures.update(worst)
    figures["target"] = TARGET
    figures["ok"] = meets(TARGET, figures)
    return figures


if __name__ == "__main__" and sys.argv[1:] == ["client"]:
    asyncio.run(_client())
