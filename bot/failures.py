"""Unexpected failures: logged in full under a short reference, shown to people briefly.

A person never sees an exception's text, SQL or a traceback. Whatever fails (a command,
a chat call after commit, the console itself) goes through `logged`: the log gets the
traceback with a random reference and the incident number, and the person gets a short
apology carrying both (`templates/apology.j2`, `templates/effect_failed.j2`). The one
exception's text that may be shown is a chat platform's own short reason (`ChatError`,
say `channel_not_found` or `ratelimited`): it tells people what to fix on the platform.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from bot.port import ChatError
from bot.sanitize import clean_text
from bot.views import incident_ref

REASON_LIMIT = 200  # characters of a platform's reason that a person may see


@dataclass(frozen=True, slots=True)
class Failure:
    reference: str  # the random reference logged with the traceback
    incident: str  # "INC-7", or "" when no incident is involved
    reason: str  # a chat platform's short reason (`ChatError`), else ""


def platform_reason(exc: BaseException) -> str:
    """A `ChatError`'s message, on one line and clipped; "" for anything else."""
    if not isinstance(exc, ChatError):
        return ""
    text = " ".join(clean_text(str(exc)).split())
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def logged(
    logger: logging.Logger,
    exc: BaseException,
    what: str,
    *,
    incident_number: int | None = None,
) -> Failure:
    """Log `exc` with its traceback under a new reference; what a person may be shown."""
    reference = secrets.token_hex(4)
    incident = incident_ref(incident_number) if incident_number else ""
    logger.error("%s (ref %s, incident %s)", what, reference, incident or "none", exc_info=exc)
    return Failure(reference=reference, incident=incident, reason=platform_reason(exc))
