"""The benchmark's senders: a child process posting webhooks over loopback HTTP.

The senders run in a child process (`python -m bench._alert_client client`) with their
own event loop, as Alertmanager would: in the benchmark's process they would share
warroom's one event loop and so take turns with the server they measure. The child reads
one job per line on stdin and answers each with one line on stdout; its session, and so
its keep-alive connections, lasts for all the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
LINE_LIMIT = 64 * 1024 * 1024  # a job or results line: every body, or every latency
REPORTED = ("declared", "attached", "deduplicated", "ignored", "channel_pending")


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


if __name__ == "__main__" and sys.argv[1:] == ["client"]:
    asyncio.run(_client())
