"""Property: no request, whatever its body and headers, gets a 5xx from warroom's server.

Every hook (and /healthz, /metrics) through the real aiohttp server on loopback, with a
real App on SQLite and PostgreSQL, authenticated and not (`tests/hostile_http.py` draws
the requests). For each request:

- the status is below 500;
- a 4xx from a hook is JSON with an `error`, and leaves every table as it was;
- nothing is logged at ERROR (a malformed request is the sender's mistake, not ours).

The CI profile tries 40 requests per database; `WARROOM_FUZZ=long` many more.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import pytest
from hypothesis import event, given

from tests.hostile_http import Request, requests
from tests.web_support import SECRET, TOKEN, Hooks, hooks

pytestmark = pytest.mark.usefixtures("db_url")  # on SQLite and PostgreSQL


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _check(h: Hooks, request: Request, errors: _Errors) -> None:
    before = await h.rows()
    timeout = aiohttp.ClientTimeout(total=120)
    async with h.http.request(
        request.method,
        h.base + request.path,
        data=request.body,
        headers=request.headers,
        timeout=timeout,
        skip_auto_headers=("Content-Type",),
        compress=None,
    ) as r:
        status, content_type, text = r.status, r.content_type, await r.text(errors="replace")
    event(f"{request.path.split('/')[-1]}: {status}")  # shown by --hypothesis-show-statistics
    assert status < 500, (status, text, request)
    if request.path.startswith("/hooks/") and status >= 400:
        assert content_type == "application/json", (status, text, request)
        answer = await _json(text)
        assert isinstance(answer.get("error"), str) and answer["error"], (answer, request)
        assert await h.rows() == before, (status, answer, request)
    assert not errors.records, [errors.format(r) for r in errors.records]


async def _json(text: str) -> dict[str, object]:
    found = json.loads(text)
    assert isinstance(found, dict), text
    return found


def test_property_no_request_gets_a_5xx(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    context = hooks(tmp_path, hook_token=TOKEN, hook_hmac_secret=SECRET)
    h = loop.run_until_complete(context.__aenter__())
    errors = _Errors()
    logging.getLogger().addHandler(errors)

    @given(requests(token=TOKEN, secret=SECRET))
    def one(request: Request) -> None:
        errors.records.clear()
        loop.run_until_complete(_check(h, request, errors))

    try:
        one()
    finally:
        logging.getLogger().removeHandler(errors)
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()
