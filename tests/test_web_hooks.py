"""The alert hooks over a real server and client: credentials, size, JSON, payloads.

Every refused request must leave the database exactly as it was: the core is not
called, so no table gains (or loses) a row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tests.alert_payloads import alertmanager_payload, generic_payload, grafana_payload
from tests.web_support import SECRET, TOKEN, bearer, grafana_signed, hooks, raw, signed


async def test_no_credential_configured_refuses_everything(tmp_path: Path):
    async with hooks(tmp_path) as h:
        before = await h.rows()
        for source in ("alertmanager", "grafana", "generic"):
            status, body, headers = await h.post(source, generic_payload(), bearer())
            assert status == 401
            assert "WARROOM_HOOK_TOKEN" in body["error"]
            assert "WARROOM_HOOK_HMAC_SECRET" in body["error"]
            assert headers["WWW-Authenticate"] == "Bearer"
        assert await h.rows() == before


async def test_missing_or_wrong_credentials_are_refused(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN, hook_hmac_secret=SECRET) as h:
        before = await h.rows()
        body = raw(generic_payload())
        refused = [
            {},
            bearer("wrong"),
            {"Authorization": TOKEN},  # no scheme
            signed(body, "not-the-secret"),
            signed(b"another body"),
            {"X-Warroom-Signature": "md5=abc"},
            grafana_signed(body, None, "not-the-secret"),
            grafana_signed(body, int(time.time()) - 3600),  # stale
            {**grafana_signed(body, None), "X-Grafana-Alerting-Timestamp": "123"},
        ]
        for headers in refused:
            status, answer, got = await h.post("generic", body, headers)
            assert status == 401, headers
            assert answer["error"] and got["WWW-Authenticate"] == "Bearer"
        assert await h.rows() == before


async def test_a_hook_token_override_replaces_the_shared_token(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN, hook_grafana_token="grafana-only") as h:
        before = await h.rows()
        status, _, _ = await h.post("grafana", grafana_payload(), bearer(TOKEN))
        assert status == 401
        assert await h.rows() == before
        status, report, _ = await h.post("grafana", grafana_payload(), bearer("grafana-only"))
        assert status == 200, report
        assert report["received"] == 1


async def test_good_bearer_and_good_hmac_are_let_in(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN, hook_hmac_secret=SECRET) as h:
        status, report, _ = await h.post("alertmanager", alertmanager_payload(), bearer())
        assert status == 200, report
        assert set(report) >= {
            "received",
            "declared",
            "attached",
            "deduplicated",
            "resolved",
            "ignored",
            "incidents",
        }
        assert report["received"] == 1
        body = raw(generic_payload(dedup_key="by-hmac"))
        status, report, _ = await h.post("generic", body, signed(body))
        assert status == 200, report
        assert report["received"] == 1
        grafana = raw(grafana_payload())
        for stamp in (None, int(time.time())):
            status, report, _ = await h.post("grafana", grafana, grafana_signed(grafana, stamp))
            assert status == 200, report
        metrics = h.app.bot.deps.metrics
        assert metrics.alerts_received.get("alertmanager") == 1
        assert metrics.alerts_received.get("grafana") == 2


async def test_a_body_over_the_limit_is_refused(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN, hook_max_bytes=1000) as h:
        before = await h.rows()
        big = raw(generic_payload(summary="x" * 2000))
        status, answer, _ = await h.post("generic", big, bearer())
        assert status == 413 and "WARROOM_HOOK_MAX_BYTES" in answer["error"]

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b" " * 100

        async with h.http.post(f"{h.base}/hooks/generic", data=chunks(), headers=bearer()) as r:
            assert r.request_info.headers.get("Transfer-Encoding") == "chunked"
            assert r.status == 413
        assert await h.rows() == before


async def test_an_oversized_content_length_is_answered_without_reading(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN, hook_max_bytes=1000) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
        writer.write(
            b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100000000\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)  # no body was sent
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 413"), status_line


async def test_bad_json_and_bad_payloads_are_400(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        before = await h.rows()
        for body in (b"{not json", b"\xff\xfe", b""):
            status, answer, _ = await h.post("generic", body, bearer())
            assert status == 400
            assert answer["error"].startswith("body is not valid JSON: ")
            assert answer["field"] is None
        # nested far deeper than any alert: Python's decoder gives up with RecursionError
        status, answer, _ = await h.post("generic", b"[" * 100_000, bearer())
        assert status == 400, answer
        assert answer["error"] == "body is not valid JSON: nested too deeply"
        assert answer["field"] is None
        status, answer, _ = await h.post("generic", {"title": "No key"}, bearer())
        assert status == 400 and answer["field"] == "dedup_key", answer
        assert "dedup_key" in answer["error"]
        broken = alertmanager_payload()
        broken["alerts"][0]["labels"] = "not an object"
        status, answer, _ = await h.post("alertmanager", broken, bearer())
        assert status == 400 and answer["field"] == "alerts[0].labels", answer
        assert await h.rows() == before
        assert h.app.bot.deps.metrics.alerts_received.get("generic") == 0


async def test_a_valid_delivery_is_recorded(tmp_path: Path):
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        before = await h.rows()
        status, report, _ = await h.post("generic", generic_payload(severity="critical"), bearer())
        assert status == 200, report
        assert report["received"] == 1
        after = await h.rows()
        assert after != before
        assert report["declared"] == ["INC-1"]
        assert after["incident"] == before["incident"] + 1
