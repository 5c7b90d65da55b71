"""A loopback Slack for adapter tests: Web API, file uploads, response_url and Socket Mode.

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        ...
        fake.assert_clean()

Every Web API request is recorded in `fake.calls` and checked against
`tests/slack_methods.py`; misuse lands in `fake.violations`. Answers follow Slack: HTTP 200
with `{"ok": false, "error": ...}` for API errors, 429 + `Retry-After` for rate limits.
Payload builders live in `tests/slack_payloads.py`; the methods of the same name here fill
in names, response URLs and trigger ids from the fake workspace.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

from tests import slack_payloads as payloads
from tests.slack_methods import METHODS, RETIRED, check_blocks, check_call
from tests.slack_payloads import BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, signed_request

__all__ = ["DEFAULT_SCOPES", "Call", "FakeSlack", "SlackError", "signed_request"]

JSON = dict[str, Any]
DEFAULT_SCOPES = [
    *("commands", "chat:write", "chat:write.public", "channels:manage", "groups:write"),
    *("channels:read", "groups:read", "pins:write", "files:write", "users:read"),
    "reactions:write",
]
ENVELOPE_TYPES = ("slash_commands", "events_api", "interactive")


class SlackError(Exception):
    """An API error: answered as HTTP 200 `{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str | None = None


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    display_name: str
    is_bot: bool = False

    def info(self) -> JSON:
        profile = {
            "real_name": self.real_name,
            "display_name": self.display_name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.display_name,
        }
        if self.is_bot:
            profile["bot_id"] = BOT_ID
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "tz": "Europe/London",
            "profile": profile,
        }


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool
    creator: str
    created: int
    members: list[str]
    is_im: bool = False
    is_archived: bool = False
    topic: str = ""
    messages: list[JSON] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)

    def info(self, *, num_members: bool = False) -> JSON:
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.members[0], "created": self.created}
        info: JSON = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "created": self.created,
            "creator": self.creator,
            "is_member": BOT_USER_ID in self.members,
            "topic": {"value": self.topic, "creator": BOT_USER_ID, "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if num_members:
            info["num_members"] = len(self.members)
        return info

    def message(self, ts: str) -> JSON:
        for m in self.messages:
            if m["ts"] == ts:
                return m
        raise SlackError("message_not_found")


@dataclass
class _Upload:
    id: str
    filename: str
    length: int
    data: bytes | None = None


class _Args:
    """One call's merged arguments, read the way Slack reads form fields."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get(self, name: str) -> str:
        value = self.raw.get(name)
        return "" if value is None else str(value)

    def flag(self, name: str) -> bool:
        return self.raw.get(name) in (True, 1, "1", "true", "True")

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.raw.get(name, default))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None

    def parsed(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError("invalid_arguments", detail=f"{name}: not JSON") from None
        return value


def _channel_name_error(name: str) -> str | None:
    if not name:
        return "invalid_name_required"
    if len(name) > 80:
        return "invalid_name_maxlength"
    if name != name.lower() or not all(c.isalnum() or c in "-_" for c in name):
        return "invalid_name_specials"
    if not any(c.isalnum() for c in name):
        return "invalid_name_punctuation"
    return None


def _public(message: JSON) -> JSON:
    return {k: v for k, v in message.items() if v not in (None, [])}


class FakeSlack:
    """One workspace (T001) with the bot UBOT/BBOT, behaving like Slack where adapters trip:

    - tokens: `bot_token` for the Web API, `app_token` only for apps.connections.open
      (else `not_allowed_token_type`); anything else `invalid_auth`; every bot-token answer
      carries `x-oauth-scopes`, and a method none of whose scopes is in `scopes` answers
      `missing_scope`.
    - channels: the bot must be a member to post (public channels also accept
      `chat:write.public`), pin, react, invite, set the topic or archive (`not_in_channel`);
      private channels it is not in are `channel_not_found`; archived ones `is_archived`.
      Names: lowercase letters, digits, `-`, `_`, at most 80 (`invalid_name_*`), taken even
      when archived (`name_taken`).
    - messages need text, blocks or attachments (`no_text`); blocks beyond Slack's limits are
      `invalid_blocks` and a violation. A shared file also posts a `file_share` message.
    - views.open takes only a trigger_id this fake issued (via `slash_command`,
      `block_action`, `view_submission`), once (`exchanged_trigger_id`).
    - invite of a member already in the channel is `already_in_channel` unless `force`.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        bot_name: str = "warroom",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.scopes = list(scopes)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.ephemerals: list[JSON] = []
        self.views: list[JSON] = []
        self.responses: list[JSON] = []
        self.envelopes: list[JSON] = []
        self.acks: list[JSON] = []
        self._users: dict[str, _User] = {
            BOT_USER_ID: _User(BOT_USER_ID, bot_name, bot_name, bot_name, is_bot=True)
        }
        self._channels: dict[str, _Channel] = {}
        self._uploads: dict[str, _Upload] = {}
        self._faults: dict[str, deque[tuple[str, Any]]] = {}
        self._triggers: dict[str, bool] = {}  # issued trigger_id -> used
        self._ids = {p: itertools.count(1) for p in "UCDFVER"}
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._handlers: dict[str, Callable[[_Args], JSON]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": lambda a: {"url": f"ws://127.0.0.1:{self._port}/socket"},
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "conversations.create": self._create,
            "conversations.invite": self._invite,
            "conversations.setTopic": self._set_topic,
            "conversations.archive": self._archive,
            "conversations.info": self._info,
            "conversations.list": self._list,
            "conversations.members": self._members,
            "pins.add": self._pin,
            "reactions.add": self._react,
            "users.info": self._user_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.open": self._view_open,
            "views.update": self._view_update,
        }

    # lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{response_id}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # workspace setup and inspection ----------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids[prefix]):03d}"

    def _new_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"

    def add_user(
        self, name: str, *, real_name: str | None = None, display_name: str | None = None
    ) -> str:
        uid = self._new_id("U")
        self._users[uid] = _User(uid, name, real_name or name.title(), display_name or name)
        return uid

    def add_channel(
        self,
        name: str,
        private: bool = False,
        *,
        members: Iterable[str] = (),
        bot_member: bool = True,
    ) -> str:
        cid = self._new_id("C")
        people = ([BOT_USER_ID] if bot_member else []) + [m for m in members if m != BOT_USER_ID]
        self._channels[cid] = _Channel(cid, name, private, BOT_USER_ID, 1_700_000_000, people)
        return cid

    def _get(self, channel_id: str) -> _Channel:
        if channel_id in self._channels:
            return self._channels[channel_id]
        for ch in self._channels.values():  # a user id names the bot's DM with that user
            if ch.is_im and ch.members[0] == channel_id:
                return ch
        raise KeyError(f"no channel {channel_id!r} in the fake workspace")

    def channel_id(self, name: str) -> str | None:
        return next((c.id for c in self._channels.values() if c.name == name), None)

    def channel_info(self, channel_id: str) -> JSON:
        return self._get(channel_id).info(num_members=True)

    def messages(self, channel_id: str) -> list[JSON]:
        """Messages in posting order; each has text, blocks, attachments, ts, thread_ts, user."""
        return list(self._get(channel_id).messages)

    def members(self, channel_id: str) -> list[str]:
        return list(self._get(channel_id).members)

    def topic(self, channel_id: str) -> str:
        return self._get(channel_id).topic

    def pins(self, channel_id: str) -> list[str]:
        return list(self._get(channel_id).pins)

    def files(self, channel_id: str) -> list[tuple[str, str, bytes]]:
        """(title, filename, bytes) of files shared into the channel."""
        return list(self._get(channel_id).files)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def assert_clean(self) -> None:
        assert not self.violations, "Slack API misuse:\n" + "\n".join(self.violations)

    # fault injection -------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._queue_fault(method, times, ("rate", retry_after))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        self._queue_fault(method, times, ("fail", error))

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
        self.calls.append(Call(method, args, token))
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
                raise SlackError(value)
            missing = [n for n in sorted(METHODS[method].required) if args.get(n) in (None, "")]
            if missing:
                messages = [f"[ERROR] missing required field: {n}" for n in missing]
                raise SlackError("invalid_arguments", response_metadata={"messages": messages})
            result: JSON = {"ok": True, **handler(_Args(args))}
        except SlackError as exc:
            result = {"ok": False, "error": exc.error, **exc.extra}
        except Exception as exc:  # a bug in the fake: make it loud
            self.violations.append(f"{method}: FakeSlack crashed: {exc!r}")
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
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

    def _channel(self, a: _Args, name: str = "channel", *, member: bool = True) -> _Channel:
        ch = self._channels.get(a.get(name))
        if ch is None or (ch.is_private and BOT_USER_ID not in ch.members):
            raise SlackError("channel_not_found")
        if member and BOT_USER_ID not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def _writable(self, a: _Args, name: str = "channel") -> _Channel:
        ch = self._channel(a, name)
        if ch.is_archived:
            raise SlackError("is_archived")
        return ch

    def _content(self, a: _Args) -> JSON:
        text, blocks, attachments = a.get("text"), a.parsed("blocks"), a.parsed("attachments")
        if not (text or blocks or attachments):
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        problems = check_blocks(blocks) if blocks is not None else []
        for i, att in enumerate(attachments if isinstance(attachments, list) else []):
            if isinstance(att, dict) and "blocks" in att:
                problems += [f"attachments/{i}/{p}" for p in check_blocks(att["blocks"])]
        if problems:
            self.violations.extend(f"invalid_blocks: {p}" for p in problems)
            raise SlackError("invalid_blocks", response_metadata={"messages": problems})
        return {"text": text, "blocks": blocks or [], "attachments": attachments or []}

    def _auth_test(self, a: _Args) -> JSON:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Warroom Test",
            "user": self._users[BOT_USER_ID].name,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_target(self, a: _Args) -> _Channel:
        target = a.get("channel").lstrip("#")
        if target in self._users and target != BOT_USER_ID:  # a user id: the bot's DM
            try:
                return self._get(target)
            except KeyError:
                dm = _Channel(self._new_id("D"), "", True, target, 1_700_000_000, [target])
                dm.is_im = True
                self._channels[dm.id] = dm
                return dm
        ch = self._channels.get(target) or next(
            (c for c in self._channels.values() if c.name == target and not c.is_im), None
        )
        if ch is None or (ch.is_private and BOT_USER_ID not in ch.members):
            raise SlackError("channel_not_found")
        if ch.is_archived:
            raise SlackError("is_archived")
        public_ok = not ch.is_private and "chat:write.public" in self.scopes
        if not (ch.is_im or BOT_USER_ID in ch.members or public_ok):
            raise SlackError("not_in_channel")
        return ch

    def _post_message(self, a: _Args) -> JSON:
        ch = self._post_target(a)
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self._new_ts(),
            "thread_ts": a.get("thread_ts") or None,
            **self._content(a),
        }
        ch.messages.append(message)
        return {"channel": ch.id, "ts": message["ts"], "message": _public(message)}

    def _update(self, a: _Args) -> JSON:
        ch = self._writable(a)
        message = ch.message(a.get("ts"))
        if message["user"] != BOT_USER_ID:
            raise SlackError("cant_update_message")
        content = self._content(a)
        for key in ("text", "blocks", "attachments"):
            if a.raw.get(key) is not None:
                message[key] = content[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._new_ts()}
        public = _public(message)
        return {"channel": ch.id, "ts": message["ts"], "text": message["text"], "message": public}

    def _post_ephemeral(self, a: _Args) -> JSON:
        ch = self._writable(a)
        user = a.get("user")
        if user not in ch.members:
            raise SlackError("user_not_in_channel")
        ts = self._new_ts()
        entry = {"channel": ch.id, "user": user, "ts": ts, "thread_ts": a.get("thread_ts") or None}
        self.ephemerals.append({**entry, **self._content(a)})
        return {"message_ts": ts}

    def _permalink(self, a: _Args) -> JSON:
        ch = self._channel(a, member=False)
        ts = ch.message(a.get("message_ts"))["ts"]
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}"
        return {"channel": ch.id, "permalink": link}

    def _create(self, a: _Args) -> JSON:
        name = a.get("name")
        error = _channel_name_error(name)
        if error:
            raise SlackError(error)
        if self.channel_id(name) is not None:
            raise SlackError("name_taken")
        cid = self.add_channel(name, private=a.flag("is_private"))
        self._channels[cid].created = 1_700_000_000 + next(self._ts)
        return {"channel": self._channels[cid].info()}

    def _invite(self, a: _Args) -> JSON:
        ch = self._writable(a)
        errors: list[JSON] = []
        invite: list[str] = []
        for user in filter(None, a.get("users").split(",")):
            error = (
                "user_not_found"
                if user not in self._users
                else "cant_invite_self"
                if user == BOT_USER_ID
                else "already_in_channel"
                if user in ch.members or user in invite
                else None
            )
            if error:
                errors.append({"user": user, "ok": False, "error": error})
            else:
                invite.append(user)
        if errors and not a.flag("force"):
            raise SlackError(errors[0]["error"], errors=errors)
        ch.members.extend(invite)
        return {"channel": ch.info(), **({"errors": errors} if errors else {})}

    def _set_topic(self, a: _Args) -> JSON:
        ch = self._writable(a)
        if len(a.get("topic")) > 250:
            raise SlackError("too_long")
        ch.topic = a.get("topic")
        return {"channel": ch.info()}

    def _archive(self, a: _Args) -> JSON:
        ch = self._channel(a)
        if ch.is_archived:
            raise SlackError("already_archived")
        ch.is_archived = True
        return {}

    def _info(self, a: _Args) -> JSON:
        ch = self._channel(a, member=False)
        return {"channel": ch.info(num_members=a.flag("include_num_members"))}

    def _page(self, a: _Args, items: list[Any]) -> tuple[list[Any], JSON]:
        limit = a.number("limit", 100)
        cursor = a.get("cursor")
        if not 1 <= limit <= 1000:
            raise SlackError("invalid_limit")
        if cursor and not (cursor.startswith("next:") and cursor[5:].isdigit()):
            raise SlackError("invalid_cursor")
        start = int(cursor[5:]) if cursor else 0
        more = start + limit < len(items)
        meta = {"next_cursor": f"next:{start + limit}" if more else ""}
        return items[start : start + limit], meta

    def _list(self, a: _Args) -> JSON:
        types = set((a.get("types") or "public_channel").split(","))
        if not types <= {"public_channel", "private_channel", "im", "mpim"}:
            raise SlackError("invalid_types")
        found = [
            ch.info()
            for ch in self._channels.values()
            if not ch.is_im
            and ("private_channel" if ch.is_private else "public_channel") in types
            and (not ch.is_private or BOT_USER_ID in ch.members)
            and not (ch.is_archived and a.flag("exclude_archived"))
        ]
        page, meta = self._page(a, found)
        return {"channels": page, "response_metadata": meta}

    def _members(self, a: _Args) -> JSON:
        page, meta = self._page(a, self._channel(a, member=False).members)
        return {"members": page, "response_metadata": meta}

    def _pin(self, a: _Args) -> JSON:
        ch = self._channel(a)
        ts = ch.message(a.get("timestamp"))["ts"]
        if ts in ch.pins:
            raise SlackError("already_pinned")
        ch.pins.append(ts)
        return {}

    def _react(self, a: _Args) -> JSON:
        ch = self._writable(a)
        message = ch.message(a.get("timestamp"))
        name = a.get("name")
        if not name or ":" in name:
            raise SlackError("invalid_name")
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        if BOT_USER_ID in entry["users"]:
            raise SlackError("already_reacted")
        entry["users"].append(BOT_USER_ID)
        entry["count"] += 1
        return {}

    def _user_info(self, a: _Args) -> JSON:
        user = self._users.get(a.get("user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.info()}

    # file uploads (files_upload_v2: get URL, POST bytes, complete) ---------------------

    def _upload_url(self, a: _Args) -> JSON:
        length = a.number("length", 0)
        if length < 0:
            raise SlackError("invalid_arguments")
        fid = self._new_id("F")
        self._uploads[fid] = _Upload(fid, a.get("filename"), length)
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

    def _complete_upload(self, a: _Args) -> JSON:
        items = a.parsed("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", detail="files: a non-empty JSON array")
        uploads: list[tuple[_Upload, str]] = []
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

    def _modal(self, a: _Args, view_id: str) -> JSON:
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

    def _view_open(self, a: _Args) -> JSON:
        trigger = a.get("trigger_id")
        if trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        if self._triggers[trigger]:
            raise SlackError("exchanged_trigger_id")
        self._triggers[trigger] = True
        view = self._modal(a, self._new_id("V"))
        self.views.append(view)
        return {"view": view}

    def _view_update(self, a: _Args) -> JSON:
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

    async def wait_connected(self, timeout_s: float = 3.0) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode connection within {timeout_s}s") from None

    async def send_envelope(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout_s: float = 3.0,
    ) -> JSON:
        """Deliver one envelope on the newest connection and return the client's ack.

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
            await self._sockets[-1].send_json(envelope)
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
            message: JSON | None = _public(self._get(channel_id).message(message_ts))
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
