"""How the server treats clients that do not speak HTTP properly.

- `json_errors`: an `HTTPException` aiohttp raises for a route (404 unknown path, 405
  wrong method, 413 ...) is answered with `{"error": ...}`, like every other error.
- `ClientErrorLog`: aiohttp refuses a request that is not valid HTTP (a header line over
  8190 bytes, more than 128 headers, a body that does not match its Content-Encoding or
  its chunked framing) with 400 before any route sees it, and logs that as an ERROR with
  a traceback. It is the client's mistake, so it becomes one WARNING line here; anything
  else aiohttp logs stays an ERROR with its traceback.
- `HEADER_TIMEOUT_S`: aiohttp has no setting for how long a client may take to send its
  request head (a slowloris sends a header byte every few seconds and holds the
  connection forever). Its keep-alive timer is that bound: it starts when the connection
  opens and again after each response, and closes the connection if no complete request
  head has arrived when it runs out. So a connection gets `HEADER_TIMEOUT_S` to send each
  request head, which is also how long an idle keep-alive connection is kept.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError

HEADER_TIMEOUT_S = 5.0


def reason(exc: BaseException) -> str:
    """aiohttp's reason for refusing a request, on one line, without `400, message:`."""
    if isinstance(exc, RequestPayloadError) and exc.__cause__ is not None:
        exc = exc.__cause__  # the decoding error the body reader re-raised
    text = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
    return " ".join(str(text).split())[:300]


class ClientErrorLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's connection log, with malformed requests as one WARNING line."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError | RequestPayloadError):
            self.logger.warning("refused a malformed request: %s", reason(exc))
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kw)


def handler_args() -> dict[str, Any]:
    """aiohttp's per-connection settings (`web.AppRunner(**handler_args())`)."""
    return {
        "keepalive_timeout": HEADER_TIMEOUT_S,
        "auto_decompress": False,  # the hooks inflate bodies themselves (`body.py`)
        "logger": ClientErrorLog(logging.getLogger("aiohttp.server")),
    }


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return web.json_response(
            {"error": exc.text or exc.reason}, status=exc.status, headers=headers
        )


_BODY_HEADERS = {"content-type", "content-length", "content-encoding"}
