"""Hypothesis strategies for hostile HTTP requests to warroom's server.

A request is a method, a path, headers and a body. Bodies range from random bytes and
arbitrary JSON to deliveries shaped like each monitoring format whose every string may
carry lone surrogates, control characters, mention syntax or template syntax; then the
bytes may be truncated, padded, nested deeply, given a number too long to convert, or
written in another encoding, and compressed (or only said to be). Headers are any names
and values HTTP allows, plus the ones warroom reads (credentials, Content-Encoding,
Grafana's timestamp) with hostile values.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.alert_payloads import STARTS_AT, ZERO_TIME

HOSTILE = (
    "\ud800",
    "\udfff",
    "\x00",
    "\x02@U123\x03",
    "\x02#C1\x03",
    "<@U123>",
    "<!here>",
    "<!channel>",
    "@everyone",
    "<@&123>",
    "<#C1>",
    "\u202e",
    "\u200b",
    "\x1b[31m",
    "{{ 7*7 }}",
    "{% raw %}",
    "%s%n",
    "' OR 1=1 --",
    "\\",
    '"',
    "\n",
    "\r\n",
    "\t",
    "**",
    "`",
    "[x](https://evil.example)",
    "🔥",
    "ﷺ",
    "a" * 300,
)

text = st.one_of(
    st.text(max_size=20),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=5)), max_size=4).map("".join),
)
urls = st.one_of(
    st.sampled_from(
        [
            "https://grafana.example.com/d/1",
            "http://prom:9090/graph?g0.expr=up",
            "http://a/<@U123>",
            "https://x/?a=<!here>&b=@everyone",
            "javascript:alert(1)",
            "",
            "https://" + "h" * 9000,
        ]
    ),
    text.map(lambda t: "https://h.example/" + t),
    text,
)
times = st.one_of(
    st.sampled_from(
        [
            STARTS_AT,
            ZERO_TIME,
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+01:00",
            "2024-02-30T00:00:00Z",
            "2024-01-01T00:00:00.1234567891234Z",
            "2024-01-01 00:00:00z",
        ]
    ),
    text,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**4000),
    st.floats(),
    text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=12,
)


def _sometimes_wrong(strategy: st.SearchStrategy[Any], wrong: bool) -> st.SearchStrategy[Any]:
    """With `wrong`, now and then any JSON value in place of the right type."""
    return st.one_of(strategy, strategy, strategy, json_values) if wrong else strategy


name = text.filter(bool)  # label names must not be empty


def _prometheus_alert(wrong: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "status": _sometimes_wrong(st.sampled_from(["firing", "resolved"]), wrong),
            "labels": _sometimes_wrong(st.dictionaries(name, text, max_size=4), wrong),
            "annotations": _sometimes_wrong(
                st.dictionaries(
                    st.one_of(st.sampled_from(["summary", "description", "runbook_url"]), name),
                    st.one_of(text, urls),
                    max_size=3,
                ),
                wrong,
            ),
            "startsAt": times if wrong else st.sampled_from([STARTS_AT, "2024-01-01T00:00:00Z"]),
        },
        optional={
            "endsAt": times if wrong else st.just(ZERO_TIME),
            "fingerprint": _sometimes_wrong(text, wrong),
            "generatorURL": urls,
            "dashboardURL": urls,
            "panelURL": urls,
            "silenceURL": urls,
            "values": st.dictionaries(text, st.one_of(st.none(), st.floats(), st.integers())),
        },
    )


def _envelope(version: str, wrong: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "version": _sometimes_wrong(st.just(version), wrong),
            "groupKey": _sometimes_wrong(text, wrong),
            "status": _sometimes_wrong(st.sampled_from(["firing", "resolved"]), wrong),
            "alerts": _sometimes_wrong(st.lists(_prometheus_alert(wrong), max_size=3), wrong),
        },
        optional={
            "truncatedAlerts": st.integers(min_value=-1 if wrong else 0),
            "receiver": text,
            "externalURL": urls,
            "groupLabels": st.dictionaries(name, text, max_size=2),
            "commonLabels": st.dictionaries(name, text, max_size=2),
            "commonAnnotations": st.dictionaries(name, text, max_size=2),
            "orgId": st.integers(min_value=-1 if wrong else 0),
            "title": text,
            "state": text,
            "message": text,
        },
    )


def _generic_alert(wrong: bool) -> st.SearchStrategy[dict[str, Any]]:
    link = st.one_of(urls, st.fixed_dictionaries({"url": urls}, optional={"label": text}))
    if not wrong:
        link = st.one_of(
            st.sampled_from(["https://grafana.example.com/d/1", "http://a/<@U123>"]),
            st.fixed_dictionaries(
                {"url": text.map(lambda t: "https://h.example/" + t)}, optional={"label": text}
            ),
        )
    return st.fixed_dictionaries(
        {"title": _sometimes_wrong(name, wrong), "dedup_key": _sometimes_wrong(name, wrong)},
        optional={
            "status": _sometimes_wrong(st.sampled_from(["firing", "resolved"]), wrong),
            "severity": text,
            "summary": text,
            "source": text,
            "labels": _sometimes_wrong(st.dictionaries(name, text, max_size=4), wrong),
            "links": _sometimes_wrong(st.lists(link, max_size=3), wrong),
        },
    )


def documents(source: str) -> st.SearchStrategy[Any]:
    """Mostly `source`'s own shape with hostile text; sometimes broken, or anything."""

    def shaped(wrong: bool) -> st.SearchStrategy[Any]:
        if source == "alertmanager":
            return _envelope("4", wrong)
        if source == "grafana":
            return _envelope("1", wrong)
        return st.one_of(_generic_alert(wrong), st.lists(_generic_alert(wrong), max_size=3))

    return st.one_of(*[shaped(False)] * 6, shaped(True), json_values)


@st.composite
def bodies(draw: st.DrawFn, source: str) -> bytes:
    """Bytes that are mostly JSON, often broken on purpose."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    doc = draw(documents(source))
    how = draw(st.sampled_from(["ascii", "ascii", "utf-8", "utf-16", "surrogatepass"]))
    if how == "ascii":  # lone surrogates become \\ud800 escapes
        data = json.dumps(doc).encode()
    elif how == "surrogatepass":  # ... or raw bytes that are not UTF-8
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        data = json.dumps(doc, ensure_ascii=False).encode(how, "replace")
    mutation = draw(st.sampled_from(["none"] * 6 + ["cut", "pad", "deep", "number", "bom"]))
    if mutation == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mutation == "pad":
        data += draw(st.binary(max_size=20))
    elif mutation == "deep":
        depth = draw(st.sampled_from([50, 500, 990, 5000, 100_000]))
        data = b"[" * depth + data + b"]" * depth
    elif mutation == "number":
        digits = draw(st.sampled_from([4300, 4301, 10_000]))
        data = b'{"version": "4", "groupKey": ' + b"9" * digits + b', "x": ' + data + b"}"
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    return data


HEADER_NAMES = (
    "Authorization",
    "X-Warroom-Signature",
    "X-Grafana-Alerting-Signature",
    "X-Grafana-Alerting-Timestamp",
    "Content-Type",
    "Content-Encoding",
    "Accept",
    "Accept-Encoding",
    "User-Agent",
    "X-Forwarded-For",
    "Cookie",
)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.text(st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF), max_size=10),
    st.sampled_from(
        [
            "9" * 5000,
            "١٧٠٠٠٠٠٠٠٠",
            "-1",
            "gzip",
            "deflate",
            "br",
            "gzip, deflate",
            "identity",
            "Bearer",
            "Bearer ",
            "sha256=",
            "sha256=" + "0" * 64,
            "application/json; charset=utf-16",
            "text/plain",
            "multipart/form-data; boundary=x",
        ]
    ),
)
headers = st.dictionaries(
    st.one_of(st.sampled_from(HEADER_NAMES), st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z")),
    header_values,
    max_size=5,
)
HOOKS = ("/hooks/alertmanager", "/hooks/grafana", "/hooks/generic")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@st.composite
def requests(draw: st.DrawFn, *, token: str, secret: str) -> Request:
    """One request to a hook (mostly) or to /healthz or /metrics, signed or not."""
    path = draw(st.sampled_from(HOOKS + HOOKS + ("/healthz", "/metrics")))
    method = draw(st.sampled_from(["POST"] * 18 + ["GET", "PUT"]))
    if not path.startswith("/hooks/"):
        method = draw(st.sampled_from(["GET", "GET", "POST", "HEAD"]))
    source = path.rsplit("/", 1)[-1]
    if source not in ("alertmanager", "grafana") or draw(st.integers(0, 9)) == 0:
        source = "generic"  # now and then the wrong format for the hook
    body = draw(bodies(source))
    sent = dict(draw(headers))
    auth = draw(st.sampled_from(["bearer"] * 12 + ["none", "wrong", "hmac", "grafana"]))
    if auth == "bearer":
        sent["Authorization"] = f"Bearer {token}"
    elif auth == "wrong":
        sent["Authorization"] = f"Bearer {draw(text.filter(str.isprintable))[:40]}"
    elif auth == "hmac":
        sent["X-Warroom-Signature"] = "sha256=" + _mac(secret, body)
    elif auth == "grafana":
        stamp = draw(st.one_of(st.none(), header_values))
        message = body if stamp is None else stamp.encode() + b":" + body
        sent["X-Grafana-Alerting-Signature"] = _mac(secret, message)
        if stamp is not None:
            sent["X-Grafana-Alerting-Timestamp"] = stamp
    packing = draw(st.sampled_from(["none"] * 10 + ["gzip", "deflate", "claimed", "other"]))
    if packing == "gzip":
        body, sent["Content-Encoding"] = gzip.compress(body), "gzip"
    elif packing == "deflate":
        body, sent["Content-Encoding"] = zlib.compress(body), "deflate"
    elif packing == "claimed":  # says it is compressed, is not
        sent["Content-Encoding"] = draw(st.sampled_from(["gzip", "deflate", "x-gzip"]))
    elif packing == "other":
        sent["Content-Encoding"] = draw(header_values)
    return Request(method=method, path=path, headers=sent, body=body)


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
