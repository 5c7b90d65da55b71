"""warroom's own alert shape, for any tool that can send a JSON webhook.

One alert, or a JSON list of them (a batch)::

    {"title": "Checkout error rate above 5%",     # required, trimmed to 200 characters
     "dedup_key": "checkout-5xx",                  # required, at most 255 characters
     "status": "firing",                           # or "resolved"; "firing" when absent
     "severity": "critical",                       # optional, the raw level
     "summary": "...",                             # optional
     "source": "datadog",                          # optional, kept as annotations["source"]
     "labels": {"service": "checkout"},            # optional, string values
     "links": [{"label": "Dashboard", "url": "https://..."}, "https://..."]}

Unknown top-level members are ignored. Paths in errors start at the alert for a single
object (`labels.team`) and with its index for a batch (`[2].dedup_key`).
"""

from __future__ import annotations

from bot.alerts import fields
from bot.alerts.model import Alert, AlertPayloadError, Link

LINK_LABEL = "Link"


def parse(body: object) -> list[Alert]:
    """The alerts of one generic delivery: a single object or a list of them."""
    if isinstance(body, list):
        items = fields.alert_list(body, "body")
        return [_alert(item, f"[{index}]") for index, item in enumerate(items)]
    if isinstance(body, dict):
        return [_alert(body, "")]
    raise AlertPayloadError(
        "body", f"must be an object or a list of objects, got {fields.describe(body)}"
    )


def _alert(item: object, path: str) -> Alert:
    raw = fields.as_object(item, path or "body")
    title = fields.nonempty(raw, "title", path)
    key = fields.nonempty(raw, "dedup_key", path, limit=fields.MAX_KEY)
    status = fields.status(raw, "status", path, default="firing")
    severity = _short(raw, "severity", path)
    summary = fields.string(raw, "summary", path).strip()
    source = _short(raw, "source", path)
    labels = fields.string_map(raw, "labels", path, limit=fields.MAX_LABEL_VALUE)
    return Alert(
        source="generic",
        key=key,
        status=status,
        title=fields.title(title, fallback=""),
        severity=severity,
        summary=fields.trim(summary, fields.MAX_TEXT),
        labels=labels,
        annotations={"source": source} if source else {},
        links=_links(raw, path),
    )


def _short(raw: fields.JsonObject, name: str, path: str) -> str:
    """An optional one-word-ish string (severity, source), at most a label value long."""
    value = fields.string(raw, name, path).strip()
    if len(value) > fields.MAX_LABEL_VALUE:
        raise AlertPayloadError(
            fields.member(path, name),
            f"must be at most {fields.MAX_LABEL_VALUE} characters, got {len(value)}",
        )
    return value


def _links(raw: fields.JsonObject, path: str) -> tuple[Link, ...]:
    """`links`: URLs or `{"label"?, "url"}` objects; each URL must be http(s)."""
    where = fields.member(path, "links")
    found = raw.get("links")
    if found is None:
        return ()
    if not isinstance(found, list):
        raise AlertPayloadError(where, f"must be a list, got {fields.describe(found)}")
    result: list[Link] = []
    for index, entry in enumerate(found):
        at = f"{where}[{index}]"
        if isinstance(entry, str):
            label, url, url_at = LINK_LABEL, entry, at
        elif isinstance(entry, dict):
            label = fields.string(entry, "label", at).strip() or LINK_LABEL
            url, url_at = fields.string(entry, "url", at, required=True), f"{at}.url"
        else:
            raise AlertPayloadError(
                at, f"must be a URL or an object with a url, got {fields.describe(entry)}"
            )
        link = fields.web_link(fields.trim(label, fields.MAX_TITLE), url)
        if link is None:
            raise AlertPayloadError(
                url_at, f"must be an http(s) URL of at most {fields.MAX_URL} characters"
            )
        result.append(link)
    return tuple(result)
