"""One entry point for every monitoring format: `parse(source, body)`."""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts import alertmanager, generic, grafana
from bot.alerts.fields import MAX_ALERTS_PER_DELIVERY
from bot.alerts.model import SOURCES, Alert, AlertPayloadError
from bot.sanitize import clean_value

__all__ = ["MAX_ALERTS_PER_DELIVERY", "PARSERS", "parse"]

PARSERS: dict[str, Callable[[object], list[Alert]]] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "generic": generic.parse,
}


def parse(source: str, body: object) -> list[Alert]:
    """The alerts in `body` (decoded JSON) sent by `source`, one of `SOURCES`.

    Every string in the body goes through the one sanitiser (`bot.sanitize`) before any
    parser reads it: JSON can carry lone surrogates (`"\\ud800"`) and control characters,
    which nothing downstream (hashing a key, the database, a chat platform) accepts. So
    the parsers check lengths and emptiness on the text that will be kept.

    Raises `KeyError` for a source that is not one of `SOURCES`, and `AlertPayloadError`
    for a body that does not follow the source's format, is nested too deeply, or carries
    more than `MAX_ALERTS_PER_DELIVERY` alerts.
    """
    try:
        parser = PARSERS[source]
    except KeyError:
        raise KeyError(f"unknown alert source {source!r}; expected one of {SOURCES}") from None
    try:
        cleaned = clean_value(body)
    except RecursionError:  # no format nests more than a few levels
        raise AlertPayloadError("body", "is nested too deeply") from None
    return parser(cleaned)
