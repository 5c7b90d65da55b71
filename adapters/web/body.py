"""Reading a hook's body: its size cap, its time limit and its Content-Encoding.

The server leaves bodies compressed (`auto_decompress=False` in `protocol.handler_args`)
and this module inflates them, so every way a body can be wrong is a JSON answer from
the hook rather than aiohttp's plain-text 400 before any route:

- `gzip` (or `x-gzip`) and `deflate` (zlib, or raw deflate as some clients send it) are
  inflated as they arrive; `identity` or no header is taken as is. Anything else,
  several codings, or a coding on top of another is 415.
- `cap` bounds both what was sent and what it inflates to: a body that unpacks past it
  (a zip bomb) is 413 as soon as it does, having inflated at most `cap` + 1 bytes.
- A body that is not the data its Content-Encoding says, ends before its compressed
  stream does, or breaks its chunked framing, is 400.
- The whole body must arrive within `BODY_TIMEOUT_S` of the headers (else 408).
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from adapters.web import protocol

CHUNK = 64 * 1024
BODY_TIMEOUT_S = 30.0
IDENTITY = ("", "identity")
_GZIP = 16 + zlib.MAX_WBITS


class BodyRefused(Exception):
    """The body cannot be taken: `status` and what to tell the sender."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Inflater:
    """One compressed stream, inflated chunk by chunk and never past the cap."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib: zlib._Decompress | None = None

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Inflate `chunk`; `BodyRefused` 413 if that makes more than `room` bytes."""
        if self._zlib is None:
            if self.coding == "deflate":  # zlib-wrapped as RFC 9110 says, or raw
                wbits = zlib.MAX_WBITS if chunk[0] & 0x0F == 8 else -zlib.MAX_WBITS
            else:
                wbits = _GZIP
            self._zlib = zlib.decompressobj(wbits)
        if self._zlib.eof:
            raise self._broken("data after the end of the compressed stream")
        try:
            # Asking for one byte more than there is room for: getting it means too large.
            # Getting less means all of `chunk` was consumed (nothing left in the tail).
            out = self._zlib.decompress(chunk, room + 1)
        except zlib.error as exc:
            raise self._broken(str(exc)) from None
        if len(out) > room:
            raise BodyRefused(413, "")
        return out

    def finish(self) -> None:
        if self._zlib is None or not self._zlib.eof:
            raise self._broken("it ends before its compressed stream does")
        if self._zlib.unused_data:
            raise self._broken("data after the end of the compressed stream")

    def _broken(self, why: str) -> BodyRefused:
        return BodyRefused(400, f"the body is not valid {self.coding} data: {why}")


def _inflater(request: web.Request) -> _Inflater | None:
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if coding in IDENTITY:
        return None
    if coding in ("gzip", "x-gzip"):
        return _Inflater("gzip")
    if coding == "deflate":
        return _Inflater("deflate")
    raise BodyRefused(
        415, f"Content-Encoding {coding[:40]!r} is not supported: send gzip, deflate or none"
    )


async def read(request: web.Request, cap: int) -> bytes:
    """The whole body, inflated; `BodyRefused` for every way it can be unusable."""
    too_large = f"the body is larger than {cap} bytes (WARROOM_HOOK_MAX_BYTES)"
    inflater = _inflater(request)
    if request.content_length is not None and request.content_length > cap:
        raise BodyRefused(413, too_large)
    body, sent = bytearray(), 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            while chunk := await request.content.read(CHUNK):
                sent += len(chunk)
                if sent > cap:
                    raise BodyRefused(413, too_large)
                body += inflater.feed(chunk, cap - len(body)) if inflater else chunk
                if len(body) > cap:
                    raise BodyRefused(413, too_large)
        if inflater is not None:
            inflater.finish()
    except BodyRefused as refused:
        if refused.status == 413:
            raise BodyRefused(413, too_large) from None
        raise
    except (HttpProcessingError, RequestPayloadError) as exc:  # broken chunked framing
        raise BodyRefused(400, f"the body could not be read: {protocol.reason(exc)}") from None
    except TimeoutError:
        raise BodyRefused(
            408, f"the body took longer than {BODY_TIMEOUT_S:g} s to arrive"
        ) from None
    return bytes(body)
