"""One entry point for every monitoring format: `parse(source, body)`."""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts import alertmanager, generic, grafana
from bot.alerts.fields import MAX_ALERTS_PER_DELIVERY
from bot.alerts.model import SOURCES, Alert

__all__ = ["MAX_ALERTS_PER_DELIVERY", "PARSERS", "parse"]

PARSERS: dict[str, Callable[[object], list[Alert]]] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "generic": generic.parse,
}


def parse(source: str, body: object) -> list[Alert]:
    """The alerts in `body` (decoded JSON) sent by `source`, one of `SOURCES`.

    Raises `KeyError` for a source that is not one of `SOURCES`, and `AlertPayloadError`
    for a body that does not follow the source's format or carries more than
    `MAX_ALERTS_PER_DELIVERY` alerts.
    """
    try:
        parser = PARSERS[source]
    except KeyError:
        raise KeyError(f"unknown alert source {source!r}; expected one of {SOURCES}") from None
    return parser(body)
