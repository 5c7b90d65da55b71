"""Shared helpers for the HTTP tests: a real warroom App (console platform, SQLite or the
`db_url` variant's database) behind its real aiohttp server on loopback, a client, and
the row count of every table (a refused request must leave them all as they were)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from sqlmodel import SQLModel, func, select

import storage.tables  # noqa: F401  (every table registered in the metadata)
from adapters.console.app import build_console
from adapters.web.server import start_http
from bot.app import App
from bot.clock import ManualClock
from tests.conftest import make_settings

TOKEN = "s3cret-token"
SECRET = "hmac-secret"


@dataclass
class Hooks:
    app: App
    base: str
    port: int
    http: aiohttp.ClientSession

    async def post(
        self, source: str, body: bytes | str | Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        async with self.http.post(
            f"{self.base}/hooks/{source}", data=data, headers=headers or {}
        ) as r:
            return r.status, await r.json(), r.headers

    async def rows(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async with self.app.db.reader() as tx:
            for table in SQLModel.metadata.sorted_tables:
                stmt = select(func.count()).select_from(table)
                counts[table.name] = int((await tx.exec(stmt)).one())
        return counts


@asynccontextmanager
async def hooks(tmp_path: Path, **settings: object) -> AsyncIterator[Hooks]:
    config = make_settings(tmp_path, http_port=0, **settings)
    app, _ = await build_console(config, clock=ManualClock())
    runner, port = await start_http(app, config)
    try:
        async with aiohttp.ClientSession() as http:
            yield Hooks(app=app, base=f"http://127.0.0.1:{port}", port=port, http=http)
    finally:
        await runner.cleanup()
        await app.stop()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Warroom-Signature": f"sha256={digest}"}


def grafana_signed(body: bytes, stamp: int | None, secret: str = SECRET) -> dict[str, str]:
    message = body if stamp is None else f"{stamp}:".encode() + body
    headers = {
        "X-Grafana-Alerting-Signature": hmac.new(secret.encode(), message, "sha256").hexdigest()
    }
    if stamp is not None:
        headers["X-Grafana-Alerting-Timestamp"] = str(stamp)
    return headers


def raw(payload: Any) -> bytes:
    return json.dumps(payload).encode()
