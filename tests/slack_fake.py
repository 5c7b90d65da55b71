"""A loopback Slack for adapter tests: Web API, file uploads, response_url and Socket Mode.

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        ...
        fake.assert_clean()

Every Web API request is recorded in `fake.calls` and checked against
`tests/slack_methods.py`; misuse lands in `fake.violations`. Answers follow Slack: HTTP 200
with `{"ok": false, "error": ...}` for API errors, 429 + `Retry-After` for rate limits.
The workspace itself (users, channels, messages and the methods on them) is
`tests/slack_workspace.py`; this module is the server around it. Payload builders live in
`tests/slack_payloads.py`; the methods of the same name here fill in names, response URLs
and trigger ids from the fake workspace.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests import slack_payloads as payloads
from tests.loopback import Loopback
from tests.slack_methods import METHODS, RETIRED, Args, SlackError, check_blocks, check_call
from tests.slack_payloads import BOT_ID, BOT_USER_ID, TEAM_ID, signed_request
from tests.slack_workspace import (
    DEFAULT_SCOPES,
    JSON,
    SlackWorkspace,
    shown_fields,
)
from tests.waiting import WITHIN

__all__ = ["DEFAULT_SCOPES", "Call", "FakeSlack", "Hang", "SlackError", "signed_request"]

ENVELOPE_TYPES = ("slash_commands", "events_api", "interactive")


@dataclass
class Upload:
    id: str
    filename: str
    length: int
    data: bytes | None = None


@dataclass
class Hang:
    """A request that gets no answer until `FakeSlack.release` (or the fake stops): the
    server stays silent *before* doing anything, or *after* doing it (`after`), as a
    Slack whose answer never arrives would."""

    method: str
    after: bool
    match: Callable[[dict[str, Any]], bool] | None
    seen: asyncio.Event = field(default_factory=asyncio.Event)
    call: Call | None = None
    go: asyncio.Event = field(default_factory=asyncio.Event)  # set by `release(this)`


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str | None = None
    at: float = 0.0  # time.perf_counter() when the request arrived


class FakeSlack(Loopback, SlackWorkspace):
    """The workspace (see `SlackWorkspace`) served on loopback, behaving like Slack:

    - tokens: `bot_token` for the Web API, `app_token` only for apps.connections.open
      (else `not_allowed_token_type`); anything else `invalid_auth`; every bot-token answer
      carries `x-oauth-scopes`, and a method none of whose scopes is in `scopes` answers
      `missing_scope`.
    - `latency` (seconds, default 0) delays every Web API answer, as a distant Slack would.
    - a shared file also posts a `file_share` message.
    - views.open takes only a trigger_id this fake issued (via `slash_command`,
      `block_action`, `view_submission`), once (`exchanged_trigger_id`).
    """

    platform = "Slack"

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        bot_name: str = "warroom",
        latency: float = 0.0,
    ) -> None:
        super().__init__(scopes=scopes, bot_name=bot_name)
        self.bot_token = bot_token
        self.app_token = app_token
        self.latency = latency
        self.calls: list[Call] = []
        self.views: list[JSON] = []
        self.responses: list[JSON] = []
        self.envelopes: list[JSON] = []
        self.acks: list[JSON] = []
        self._uploads: dict[str, Upload] = {}
        self._faults: dict[str, deque[tuple[str, Any]]] = {}
        self._hangs: list[Hang] = []
        self._released = asyncio.Event()
        self._triggers: dict[str, bool] = {}  # issued trigger_id -> used
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self._new_socket = asyncio.Event()  # set on every new Socket Mode connection
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._handlers.update(
            {
                "apps.connections.open": lambda a: {"url": f"ws://127.0.0.1:{self._port}/socket"},
                "files.getUploadURLExternal": self._upload_url,
                "files.completeUploadExternal": self._complete_upload,
                "views.open": self._view_open,
                "views.update": self._view_update,
            }
        )

    # lifecycle -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.post("/upload/{file_id}", self._upload),
            web.post("/response/{response_id}", self._response),
            web.get("/socket", self._socket),
        ]

    async def close_sockets(self) -> None:
        self.release()
        for ws in list(self._sockets):
            await ws.close()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # inspection -------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # fault injection -------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._queue_fault(method, times, ("rate", retry_after))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        self._queue_fault(method, times, ("fail", error))

    def unavailable(self, method: str, times: int = 1, status: int = 503) -> None:
        """Answer the next calls with a transient server error (no JSON body)."""
        self._queue_fault(method, times, ("status", status))

    def hang(
        self,
        method: str,
        *,
        after: bool = False,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Hang:
        """Leave the next call of `method` (whose arguments `match`, if given) unanswered:
        before handling it, or `after` handling it (the channel is made, the message is
        posted, but the caller never hears so). `await hang.seen.wait()` to know it came."""
        if method not in METHODS:
            raise ValueError(f"{method} is not in tests/slack_methods.METHODS")
        hang = Hang(method, after, match)
        self._hangs.append(hang)
        return hang

    def release(self, hang: Hang | None = None) -> None:
        """Let every hung request go on, or only `hang` (a caller that is still there gets
        its answer)."""
        (hang.go if hang is not None else self._released).set()

    def _take_hang(self, method: str, args: dict[str, Any]) -> Hang | None:
        for hang in self._hangs:
            if hang.method == method and (hang.match is None or hang.match(args)):
                self._hangs.remove(hang)
                return hang
        return None

    async def _stall(self, hang: Hang, call: Call) -> None:
        hang.call = call
        hang.seen.set()
        waits = [asyncio.ensure_future(e.wait()) for e in (self._released, hang.go)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _queue_fault(self, method: str, times: int, fault: tuple[str, Any]) -> None:
        if method not in METHODS:
            raise ValueError(f"{method} is not in tests/slack_methods.METHODS")
        self._faults.setdefault(method, deque()).extend([fault] * times)

    # the Web API -----------------------------------------------------------------------

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if not request.can_read_body:
            return args
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                args[key] = value.file.read() if isinstance(value, web.FileField) else value
        elif await request.read():
            raise ValueError(f"unsupported content type {request.content_type}")
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await self._read_args(request)
        except ValueError as exc:
            self.violations.append(f"{method}: unreadable request ({exc})")
            return web.json_response({"ok": False, "error": "invalid_form_data"})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        token = token or (str(args["token"]) if args.get("token") else None)
        call = Call(method, args, token, time.perf_counter())
        self.calls.append(call)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        hang = self._take_hang(method, args)
        if hang is not None and not hang.after:
            await self._stall(hang, call)
        self.violations.extend(check_call(method, args))
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if token == self.bot_token else {}
        try:
            if method in RETIRED:
                raise SlackError("method_deprecated")
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            self._authorize(method, token)
            faults = self._faults.get(method)
            if faults:
                kind, value = faults.popleft()
                if kind == "rate":
                    body = {"ok": False, "error": "ratelimited"}
                    headers["Retry-After"] = str(value)
                    return web.json_response(body, status=429, headers=headers)
                if kind == "status":
                    return web.Response(status=value, text="upstream unavailable")
                raise SlackError(value)
            missing = [n for n in sorted(METHODS[method].required) if args.get(n) in (None, "")]
            if missing:
                messages = [f"[ERROR] missing required field: {n}" for n in missing]
                raise SlackError("invalid_arguments", response_metadata={"messages": messages})
            result: JSON = {"ok": True, **handler(Args(args))}
        except SlackError as exc:
            result = {"ok": False, "error": exc.error, **exc.extra}
        except Exception as exc:  # a bug in the fake: make it loud
            self.violations.append(f"{method}: FakeSlack crashed: {exc!r}")
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        if hang is not None and hang.after:
            await self._stall(hang, call)
        return web.json_response(result, headers=headers)

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token not in (self.bot_token, self.app_token):
            raise SlackError("invalid_auth")
        if (token == self.app_token) != (method == "apps.connections.open"):
            raise SlackError("not_allowed_token_type")
        needed = METHODS[method].scopes
        if needed and not needed & set(self.scopes):
            raise SlackError(
                "missing_scope", needed=",".join(sorted(needed)), provided=",".join(self.scopes)
            )

    # file uploads (files_upload_v2: get URL, POST bytes, complete) ---------------------

    def _upload_url(self, a: Args) -> JSON:
        length = a.number("length", 0)
        if length < 0:
            raise SlackError("invalid_arguments")
        fid = self._new_id("F")
        self._uploads[fid] = Upload(fid, a.get("filename"), length)
        return {"upload_url": f"{self.base_url}/upload/{fid}", "file_id": fid}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self._uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [v.file.read() if isinstance(v, web.FileField) else v for v in form.values()]
            data = next((p for p in parts if isinstance(p, bytes)), str(parts[0]).encode())
        else:
            data = await request.read()
        if len(data) != upload.length:
            self.violations.append(
                f"upload {upload.id}: {len(data)} bytes sent, {upload.length} declared"
            )
        upload.data = data
        return web.Response(text=f"OK - {len(data)}")

    def _complete_upload(self, a: Args) -> JSON:
        items = a.parsed("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", detail="files: a non-empty JSON array")
        uploads: list[tuple[Upload, str]] = []
        for item in items:
            upload = self._uploads.get(str(item.get("id")) if isinstance(item, dict) else "")
            if upload is None or upload.data is None:
                raise SlackError("file_not_found")
            uploads.append((upload, str(item.get("title") or upload.filename)))
        ch = self._writable(a, "channel_id") if a.get("channel_id") else None
        files = []
        for upload, title in uploads:
            assert upload.data is not None
            shared = [ch.id] if ch else []
            files.append(
                {
                    "id": upload.id,
                    "name": upload.filename,
                    "title": title,
                    "user": BOT_USER_ID,
                    "size": len(upload.data),
                    "channels": shared,
                }
            )
            if ch:
                ch.files.append((title, upload.filename, upload.data))
        if ch:
            text = a.get("initial_comment")
            ch.messages.append(
                {
                    "type": "message",
                    "subtype": "file_share",
                    "user": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "ts": self._new_ts(),
                    "thread_ts": a.get("thread_ts") or None,
                    "text": text,
                    "blocks": [],
                    "attachments": [],
                    "files": files,
                }
            )
        return {"files": files}

    # modals ----------------------------------------------------------------------------

    def _modal(self, a: Args, view_id: str) -> JSON:
        view = a.parsed("view")
        if not isinstance(view, dict) or view.get("type") != "modal" or "title" not in view:
            raise SlackError("invalid_arguments", detail="view: a modal with a title")
        problems = check_blocks(view.get("blocks", []))
        if problems:
            self.violations.extend(f"invalid_blocks (view): {p}" for p in problems)
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        return {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "hash": f"{next(self._ts)}.fakehash",
            "state": {"values": {}},
            "app_id": payloads.APP_ID,
            "bot_id": BOT_ID,
        }

    def _view_open(self, a: Args) -> JSON:
        trigger = a.get("trigger_id")
        if trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        if self._triggers[trigger]:
            raise SlackError("exchanged_trigger_id")
        self._triggers[trigger] = True
        view = self._modal(a, self._new_id("V"))
        self.views.append(view)
        return {"view": view}

    def _view_update(self, a: Args) -> JSON:
        index = next((i for i, v in enumerate(self.views) if v["id"] == a.get("view_id")), None)
        if index is None:
            raise SlackError("not_found")
        if a.get("hash") and a.get("hash") != self.views[index]["hash"]:
            raise SlackError("hash_conflict")
        self.views[index] = self._modal(a, self.views[index]["id"])
        return {"view": self.views[index]}

    # response_url ----------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            self.violations.append("response_url: body is not JSON")
            return web.Response(status=400, text="invalid_payload")
        self.responses.append(body)
        return web.Response(text="ok")

    # Socket Mode -----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": payloads.APP_ID},
        }
        await ws.send_json(hello)
        self._connected.set()
        self._new_socket.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(msg.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._connected.clear()
        return ws

    def _on_ack(self, data: str) -> None:
        try:
            ack = json.loads(data)
        except ValueError:
            ack = None
        future = self._pending.get(ack.get("envelope_id", "")) if isinstance(ack, dict) else None
        if ack is None or future is None or future.done():
            self.violations.append(f"socket: unexpected message {data[:200]!r}")
            return
        self.acks.append(ack)
        future.set_result(ack)

    async def wait_connected(self, timeout_s: float = WITHIN) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode connection within {timeout_s}s") from None

    @property
    def connections(self) -> int:
        """How many Socket Mode connections are open (each `warroom run` opens one)."""
        return len(self._sockets)

    async def wait_connections(self, count: int, timeout_s: float = WITHIN) -> None:
        """Wait until at least `count` Socket Mode connections are open."""
        try:
            async with asyncio.timeout(timeout_s):
                while len(self._sockets) < count:
                    self._new_socket.clear()
                    await self._new_socket.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{len(self._sockets)} of {count} Socket Mode connections within {timeout_s}s"
            ) from None

    async def send_envelope(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout_s: float = WITHIN,
        connection: int | None = None,
    ) -> JSON:
        """Deliver one envelope and return the client's ack.

        As Slack spreads events over an app's open connections, `connection` picks one:
        an index into the open connections in the order they connected, taken modulo
        their number (so a counter sends round-robin). None: the newest connection.
        Slack sets accepts_response_payload for slash commands and view submissions."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope_type must be one of {ENVELOPE_TYPES}")
        await self.wait_connected(timeout_s)
        eid = envelope_id or f"00000000-0000-4000-8000-{next(self._ids['E']):012d}"
        envelope = {
            "envelope_id": eid,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason or ("timeout" if retry_attempt else ""),
        }
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[eid] = future
        self.envelopes.append(envelope)
        try:
            socket = self._sockets[-1 if connection is None else connection % len(self._sockets)]
            await socket.send_json(envelope)
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no ack for {envelope_type} {eid} within {timeout_s}s") from None
        finally:
            self._pending.pop(eid, None)

    async def request_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's periodic `disconnect` message: the client should reconnect."""
        await self.wait_connected()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        await self._sockets[-1].send_json(message)

    # payloads filled from this workspace -----------------------------------------------

    def _trigger(self) -> str:
        trigger = payloads.new_trigger_id()
        self._triggers[trigger] = False
        return trigger

    def _names(self, user_id: str, channel_id: str) -> JSON:
        user, ch = self._users.get(user_id), self._channels.get(channel_id)
        return {"user_name": user.name if user else None, "channel_name": ch.name if ch else None}

    def _response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._ids['R'])}"

    def slash_command(
        self,
        text: str,
        user_id: str,
        channel_id: str,
        command: str = "/incident",
        response_url: str | None = None,
    ) -> dict[str, str]:
        return payloads.slash_command(
            text,
            user_id,
            channel_id,
            command,
            response_url or self._response_url(),
            trigger_id=self._trigger(),
            **self._names(user_id, channel_id),
        )

    def event_callback(self, event: JSON, event_id: str | None = None) -> JSON:
        return payloads.event_callback(event, event_id)

    def block_action(
        self, action_id: str, value: str, user_id: str, channel_id: str, message_ts: str
    ) -> JSON:
        """A button press on a message; the message (with its blocks) comes from the fake."""
        try:
            message: JSON | None = shown_fields(self._get(channel_id).message(message_ts))
        except (KeyError, SlackError):
            message = None
        return payloads.block_action(
            action_id,
            value,
            user_id,
            channel_id,
            message_ts,
            message=message,
            response_url=self._response_url(),
            trigger_id=self._trigger(),
            **self._names(user_id, channel_id),
        )

    def view_submission(
        self, callback_id: str, values: JSON, user_id: str, private_metadata: str = ""
    ) -> JSON:
        """A modal submitted; id and blocks come from the newest opened view with callback_id."""
        view = next((v for v in reversed(self.views) if v.get("callback_id") == callback_id), {})
        user = self._users.get(user_id)
        return payloads.view_submission(
            callback_id,
            values,
            user_id,
            private_metadata,
            view_id=view.get("id", "V000"),
            blocks=view.get("blocks"),
            trigger_id=self._trigger(),
            user_name=user.name if user else None,
        )
