"""Who may post to an alert hook: a bearer token, an HMAC-SHA256 signature, or both.

- Bearer: `Authorization: Bearer <token>`; the token is the hook's own
  `WARROOM_HOOK_<SOURCE>_TOKEN`, else the shared `WARROOM_HOOK_TOKEN`.
- HMAC (`WARROOM_HOOK_HMAC_SECRET`), hex-encoded HMAC-SHA256 in either header:
  - `X-Warroom-Signature: sha256=<hex>`, over the raw body;
  - `X-Grafana-Alerting-Signature: <hex>`, as Grafana's webhook contact point sends it
    (its "HMAC Signature" setting, default header name). Over the raw body, or, when
    Grafana is given a timestamp header named `X-Grafana-Alerting-Timestamp`, over
    `timestamp + ":" + body`; that Unix timestamp must then be within 5 minutes of now.

Either configured credential, matching, lets the request in. With none configured for
a hook, every request is refused: the hooks are never open by default.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import Settings

WARROOM_SIGNATURE = "X-Warroom-Signature"
GRAFANA_SIGNATURE = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP = "X-Grafana-Alerting-Timestamp"
MAX_SKEW_S = 300
# A Unix time in seconds: ASCII digits only (`str.isdecimal` also takes other scripts'
# digits), and few enough of them that converting is cheap; 12 digits reach year 33658.
_STAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None
    hmac_secret: str | None


def credentials(settings: Settings, source: str) -> Credentials:
    token = settings.hook_token_for(source)
    secret = settings.hook_hmac
    return Credentials(
        token=token.get_secret_value() if token else None,
        hmac_secret=secret.get_secret_value() if secret else None,
    )


def nothing_configured(source: str) -> str:
    return (
        f"no credential is configured for /hooks/{source}, so every request is refused: "
        f"set WARROOM_HOOK_TOKEN (or WARROOM_HOOK_{source.upper()}_TOKEN) for a bearer "
        "token, or WARROOM_HOOK_HMAC_SECRET for HMAC-SHA256 signatures"
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def bearer_ok(creds: Credentials, headers: Mapping[str, str]) -> bool:
    if creds.token is None:
        return False
    scheme, _, value = headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and _same(value.strip(), creds.token)


def has_signature(creds: Credentials, headers: Mapping[str, str]) -> bool:
    """Whether an HMAC check is possible: a secret is set and a signature header sent."""
    return creds.hmac_secret is not None and (
        WARROOM_SIGNATURE in headers or GRAFANA_SIGNATURE in headers
    )


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_problem(
    creds: Credentials, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> str | None:
    """None when a signature header matches the body; else what is wrong with it."""
    secret = creds.hmac_secret
    if secret is None:
        return "no HMAC secret is configured"
    if WARROOM_SIGNATURE in headers:
        scheme, _, given = headers[WARROOM_SIGNATURE].strip().partition("=")
        if scheme != "sha256":
            return f"{WARROOM_SIGNATURE} must look like sha256=<hex>"
        if _same(given.lower(), _digest(secret, body)):
            return None
        return f"{WARROOM_SIGNATURE} does not match the body"
    given = headers.get(GRAFANA_SIGNATURE, "").strip().lower()
    message = body
    stamp = headers.get(GRAFANA_TIMESTAMP)
    if stamp is not None:
        stamp = stamp.strip()
        if not _STAMP.fullmatch(stamp):
            return f"{GRAFANA_TIMESTAMP} must be a Unix timestamp: 1 to 12 digits 0-9"
        if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_S:
            return f"{GRAFANA_TIMESTAMP} is more than {MAX_SKEW_S // 60} minutes from now"
        message = stamp.encode("ascii") + b":" + body
    if given and _same(given, _digest(secret, message)):
        return None
    return f"{GRAFANA_SIGNATURE} does not match the body"


def refusal(creds: Credentials, headers: Mapping[str, str]) -> str:
    """Why a request with no valid bearer token and no signature to check is refused."""
    if "Authorization" in headers and creds.token is not None:
        return "the bearer token is wrong"
    wanted = []
    if creds.token is not None:
        wanted.append("Authorization: Bearer <token>")
    if creds.hmac_secret is not None:
        wanted.append(f"{WARROOM_SIGNATURE}: sha256=<hex>")
    return "missing credentials: send " + " or ".join(wanted)
