"""Hostile requests to the real server: each gets a 4xx with a JSON error (or, for a
request that is not HTTP at all, aiohttp's 400), never a 5xx, and leaves every table as
it was. A delivery whose text is odd but whose shape is right is taken, cleaned.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from adapters.web import body, protocol
from bot.alerts.fields import MAX_KEY
from storage.tables import AlertRecord, Incident
from tests.alert_payloads import (
    alertmanager_alert,
    alertmanager_payload,
    generic_payload,
    grafana_payload,
)
from tests.web_support import SECRET, TOKEN, Hooks, bearer, grafana_signed, hooks, raw

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

SOURCES = ("alertmanager", "grafana", "generic")


async def refused(h: Hooks, source: str, data: bytes, headers: dict[str, str]) -> Any:
    """Post; the answer must be a 4xx with a JSON error, and no table may change."""
    before = await h.rows()
    async with h.http.post(f"{h.base}/hooks/{source}", data=data, headers=headers) as r:
        assert 400 <= r.status < 500, (r.status, await r.text())
        answer = await r.json()
    assert isinstance(answer["error"], str) and answer["error"], answer
    assert await h.rows() == before
    return r.status, answer


async def test_an_integer_of_thousands_of_digits_is_400(tmp_path: Path) -> None:
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        for source in SOURCES:
            data = b'{"version": "4", "orgId": ' + b"9" * 5000 + b"}"
            status, answer = await refused(h, source, data, bearer())
            assert status == 400
            assert answer["error"] == "body is not valid JSON: a number has more than 4300 digits"


async def test_lone_surrogates_and_control_characters_are_cleaned_not_a_500(
    tmp_path: Path,
) -> None:
    """In every member the tools send, including keys, fingerprints, label names and a
    label set hashed into a key: the delivery is taken and the text stored cleaned."""
    odd = "\ud800\x00\x1b\udfff"
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        generic = generic_payload(
            title=f"Disk {odd} full",
            dedup_key=f"disk-{odd}",
            summary=odd,
            labels={f"team{odd}": f"ops{odd}"},
            links=[{"label": f"Dash{odd}", "url": f"https://grafana.example.com/{odd}"}],
        )
        no_fingerprint = alertmanager_alert(
            labels={f"pod{odd}": odd},
            annotations={"summary": f"Pod {odd} down", "description": odd},
            fingerprint=None,
        )
        delivery = alertmanager_payload([no_fingerprint], group_key=f"{{}}:{odd}")
        grafana = grafana_payload(title=odd)
        grafana["alerts"][0]["fingerprint"] = f"fp-{odd}"
        for source, payload in (
            ("generic", generic),
            ("alertmanager", delivery),
            ("grafana", grafana),
        ):
            # ensure_ascii (the default) writes each lone surrogate as a \\ud800 escape
            async with h.http.post(
                f"{h.base}/hooks/{source}", data=json.dumps(payload), headers=bearer()
            ) as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["received"] == 1
        async with h.app.db.reader() as tx:
            keys = sorted(a.key for a in (await tx.exec(select(AlertRecord))).all())
            titles = sorted(i.title for i in (await tx.exec(select(Incident))).all())
        assert "disk-\ufffd\ufffd" in keys and "fp-\ufffd\ufffd" in keys
        assert any(k.startswith("labels-sha256:") for k in keys)
        assert "Disk \ufffd\ufffd full" in titles and "Pod \ufffd\ufffd down" in titles


async def test_a_key_made_only_of_control_characters_is_empty_and_refused(
    tmp_path: Path,
) -> None:
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        status, answer = await refused(
            h, "generic", raw(generic_payload(dedup_key="\x01\x02\x7f")), bearer()
        )
        assert status == 400 and answer["field"] == "dedup_key", answer
        too_long = raw(generic_payload(dedup_key="k" * (MAX_KEY + 1)))
        status, answer = await refused(h, "generic", too_long, bearer())
        assert answer["field"] == "dedup_key"


async def test_a_body_that_does_not_match_its_content_encoding_is_400(tmp_path: Path) -> None:
    plain = raw(generic_payload())
    packed = gzip.compress(plain)
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        for coding, data in (
            ("gzip", plain),  # not compressed at all
            ("deflate", plain),
            ("gzip", packed[:-12]),  # cut short
            ("gzip", packed + b"trailing"),
            ("x-gzip", b""),
            ("deflate", zlib.compress(plain)[:5]),
        ):
            status, answer = await refused(
                h, "generic", data, {**bearer(), "Content-Encoding": coding}
            )
            assert status == 400 and answer["field"] is None, answer
            assert answer["error"].startswith("the body is not valid "), answer
        for coding in ("br", "zstd", "compress", "gzip, gzip", "foo"):
            status, answer = await refused(
                h, "generic", plain, {**bearer(), "Content-Encoding": coding}
            )
            assert status == 415 and "gzip, deflate or none" in answer["error"], answer


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # no zlib header, as some clients send
    return packer.compress(data) + packer.flush()


def unpacked(data: bytes) -> bytes:
    return data


async def test_compressed_bodies_are_read(tmp_path: Path) -> None:
    packings: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("identity", unpacked),
    )
    for n, (coding, pack) in enumerate(packings):
        async with hooks(tmp_path / str(n), hook_token=TOKEN) as h:
            data = pack(raw(generic_payload(dedup_key=f"packed-{n}")))
            headers = {**bearer(), "Content-Encoding": coding}
            async with h.http.post(f"{h.base}/hooks/generic", data=data, headers=headers) as r:
                assert r.status == 200, (coding, await r.text())


async def test_a_zip_bomb_is_413_after_inflating_no_more_than_the_limit(tmp_path: Path) -> None:
    cap = 10_000
    bomb = gzip.compress(b" " * (1000 * cap))  # ~10 KB that unpacks to 10 MB
    assert len(bomb) < cap
    async with hooks(tmp_path, hook_token=TOKEN, hook_max_bytes=cap) as h:
        status, answer = await refused(h, "generic", bomb, {**bearer(), "Content-Encoding": "gzip"})
        assert status == 413 and "WARROOM_HOOK_MAX_BYTES" in answer["error"]


async def test_grafana_timestamps_that_are_not_short_ascii_numbers_are_401(
    tmp_path: Path,
) -> None:
    data = raw(grafana_payload())
    async with hooks(tmp_path, hook_hmac_secret=SECRET) as h:
        for stamp in ("9" * 5000, "١٧٠٠٠٠٠٠٠٠", "１７００００００００", "-1", "1e9", "", "0x10"):
            headers = {**grafana_signed(data, None), "X-Grafana-Alerting-Timestamp": stamp}
            status, answer = await refused(h, "grafana", data, headers)
            assert status == 401, answer


async def test_headers_too_long_or_too_many_are_400_without_an_error_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        before = await h.rows()
        heads = (
            b"X-Long: " + b"a" * 20_000 + b"\r\n",
            b"X-" + b"n" * 20_000 + b": 1\r\n",
            b"".join(b"X-%d: a\r\n" % n for n in range(500)),
            f"Authorization: Bearer {TOKEN}{'x' * 20_000}\r\n".encode(),
        )
        for head in heads:
            with caplog.at_level(logging.WARNING):
                reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
                writer.write(
                    b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\n"
                    + head
                    + b"Content-Length: 2\r\n\r\n{}"
                )
                status_line = await asyncio.wait_for(reader.readline(), 30)
                writer.close()
            assert status_line.split()[1] == b"400", status_line
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert "refused a malformed request" in caplog.text
        assert await h.rows() == before


async def test_a_connection_that_never_finishes_its_headers_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slowloris: a header byte now and then, never the blank line. The server closes
    it once `HEADER_TIMEOUT_S` has passed since it connected, whatever it keeps sending
    (here shortened so the test is quick; the real bound is a few seconds)."""
    assert protocol.HEADER_TIMEOUT_S <= 10
    monkeypatch.setattr(protocol, "HEADER_TIMEOUT_S", 0.5)
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
        writer.write(b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        closed = False
        for _ in range(600):  # 60 s of trickling (one byte of one header), far past the bound
            try:
                writer.write(b"a")
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            try:
                if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
        writer.close()
        assert closed, "the server still held the connection after 60 s of trickled headers"
        # and it serves everyone else as before
        status, _, _ = await h.post("generic", generic_payload(), bearer())
        assert status == 200


async def test_a_body_that_never_arrives_is_408(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body, "BODY_TIMEOUT_S", 0.5)
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        before = await h.rows()
        reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
        writer.write(
            b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"title": '
        )
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b'"error": "the body took longer than 0.5 s to arrive"' in answer
        assert await h.rows() == before


async def test_wrong_methods_and_unknown_paths_answer_json(tmp_path: Path) -> None:
    async with hooks(tmp_path, hook_token=TOKEN) as h:
        for method, path, status in (
            ("GET", "/hooks/generic", 405),
            ("PUT", "/hooks/alertmanager", 405),
            ("POST", "/healthz", 405),
            ("DELETE", "/metrics", 405),
            ("GET", "/hooks/nagios", 404),
            ("POST", "/nowhere", 404),
        ):
            async with h.http.request(method, h.base + path, headers=bearer()) as r:
                assert r.status == status, (method, path)
                assert r.content_type == "application/json"
                assert (await r.json())["error"], (method, path)
