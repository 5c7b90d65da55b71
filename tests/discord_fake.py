"""A loopback Discord for adapter tests: REST API (v10) and the gateway websocket.

    async with FakeDiscord() as fake:
        discord.http.Route.BASE = fake.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        ...

Every REST request is recorded in `fake.requests` and checked against
`tests/discord_endpoints.py`; misuse lands in `fake.violations`, and leaving the context
without an exception asserts there is none. JSON answers carry exactly
`Content-Type: application/json` (discord.py parses nothing else). The gateway speaks plain
JSON text frames, or zlib-stream binary frames when the URL asks `compress=zlib-stream`
(discord.py 2.7.1 always asks unless zstd is installed; it reads text frames either way).
"""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests import discord_gateway as gw
from tests import discord_guilds as dg
from tests.discord_endpoints import check_request, match
from tests.discord_gateway import JSON
from tests.discord_interactions import Interactions
from tests.loopback import Loopback
from tests.waiting import WITHIN

__all__ = ["DiscordError", "FakeDiscord", "Request"]


@dataclass
class Request:
    method: str
    path: str  # relative to /api/v10, without the query
    body: Any  # parsed JSON (multipart: payload_json), or None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


class _Socket:
    def __init__(self, ws: web.WebSocketResponse, zlib_stream: bool) -> None:
        self.ws = ws
        self.deflate = zlib.compressobj() if zlib_stream else None

    async def send(self, payload: JSON) -> None:
        text = json.dumps(payload)
        if self.deflate is None:
            await self.ws.send_str(text)
        else:
            data = self.deflate.compress(text.encode()) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)


class FakeDiscord(Loopback, Interactions):
    """One guild (more with `add_guild`), one bot application, served on loopback like
    Discord v10. REST calls must carry `Authorization: Bot <token>` and IDENTIFY the same
    token; `app_flags` are the application's flags (by default the Message Content intent
    is on, as the portal's toggle sets it for a bot in fewer than 100 servers)."""

    platform = "Discord"

    def __init__(
        self,
        *,
        guild_name: str = "warroom-test",
        bot_name: str = "warroom",
        token: str = "test-token",
        app_flags: int = dg.GATEWAY_MESSAGE_CONTENT_LIMITED,
    ) -> None:
        self._ids = gw.Snowflakes()
        self.guild_id = self._ids()  # the first guild
        self.application_id = self._ids()
        self.bot_user_id = self.application_id  # as for every modern Discord bot
        self.token = token
        # what IDENTIFY must carry, when it differs (a token reset between REST and gateway)
        self.gateway_token: str | None = None
        self.app_flags = app_flags
        self.users: dict[str, JSON] = {
            self.bot_user_id: gw.user(self.bot_user_id, bot_name, bot=True)
        }
        self.guilds: dict[str, dg.Guild] = {
            self.guild_id: dg.Guild(self.guild_id, guild_name, [self.bot_user_id])
        }
        self.identify_payloads: list[JSON] = []  # every IDENTIFY's `d`, token included
        self.member_requests: list[JSON] = []  # every REQUEST_GUILD_MEMBERS' `d`
        self.channels: dict[str, JSON] = {}
        self._messages: dict[str, list[JSON]] = {}
        self._files: dict[str, list[tuple[str, bytes]]] = {}
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.commands: list[JSON] = []
        self.interactions: dict[str, JSON] = {}  # token -> INTERACTION_CREATE data
        self.interaction_responses: list[JSON] = []  # {interaction_id, token, type, data}
        self.followups: list[JSON] = []  # {token, message}
        self._originals: dict[str, JSON] = {}  # token -> original response message
        self.reactions: list[tuple[str, str, str]] = []  # (channel, message, emoji) by the bot
        self.intents: int | None = None
        self.identifies = 0
        self.resumes = 0
        self.gateway_queries: list[dict[str, str]] = []
        self.session_id = "fake-session-1"
        self._seq = 0
        self._backlog: list[JSON] = []
        self._socket: _Socket | None = None
        self._ready = asyncio.Event()
        self._resumed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # lifecycle -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/gateway", self._gateway),
            web.route("*", "/api/v10/{tail:.*}", self._rest),
        ]

    async def close_sockets(self) -> None:
        if self._socket is not None:
            await self._socket.ws.close()
            self._socket = None

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/gateway"

    # the guild ---------------------------------------------------------------------------

    @property
    def member_ids(self) -> list[str]:
        """The first guild's members (the bot first, the owner last)."""
        return self.guilds[self.guild_id].member_ids

    @property
    def everyone_permissions(self) -> str:
        """The first guild's @everyone permissions (the bot has no role of its own)."""
        return self.guilds[self.guild_id].everyone_permissions

    @everyone_permissions.setter
    def everyone_permissions(self, value: str) -> None:
        self.guilds[self.guild_id].everyone_permissions = value

    def add_guild(self, name: str) -> str:
        """Another guild the bot is in (it sees it at the next IDENTIFY)."""
        guild_id = self._ids()
        self.guilds[guild_id] = dg.Guild(guild_id, name, [self.bot_user_id])
        return guild_id

    def add_member(self, name: str, *, guild_id: str | None = None) -> str:
        user_id = self._ids()
        self.users[user_id] = gw.user(user_id, name)
        self.join_guild(user_id, guild_id or self.guild_id)
        return user_id

    def join_guild(self, user_id: str, guild_id: str) -> None:
        self.guilds[guild_id].member_ids.append(user_id)

    def add_channel(
        self,
        name: str,
        *,
        category_id: str | None = None,
        kind: int = gw.TEXT,
        guild_id: str | None = None,
    ) -> str:
        channel_id = self._ids()
        self.channels[channel_id] = gw.channel(
            channel_id, guild_id or self.guild_id, name, kind=kind, parent_id=category_id
        )
        self.channels[channel_id]["position"] = len(self.channels)
        self._messages[channel_id] = []
        return channel_id

    def add_category(self, name: str, *, guild_id: str | None = None) -> str:
        return self.add_channel(name, kind=gw.CATEGORY, guild_id=guild_id)

    def channel_named(self, name: str) -> JSON:
        found = [c for c in self.channels.values() if c.get("name") == name]
        assert len(found) == 1, f"{len(found)} channels named {name!r}"
        return found[0]

    def messages(self, channel_id: str) -> list[JSON]:
        return list(self._messages.get(channel_id, []))

    def pins(self, channel_id: str) -> list[JSON]:
        return [m for m in self._messages.get(channel_id, []) if m["pinned"]]

    def files(self, channel_id: str) -> list[tuple[str, bytes]]:
        return list(self._files.get(channel_id, []))

    def requests_to(self, method: str, template: str) -> list[Request]:
        return [
            r for r in self.requests if (m := match(r.method, r.path)) and m[0].path == template
        ]

    def member(self, user_id: str) -> JSON:
        return gw.member(self.users[user_id])

    def guild(self, guild_id: str | None = None, *, all_members: bool = True) -> JSON:
        return dg.guild_payload(
            self._guild(guild_id or self.guild_id),
            list(self.channels.values()),
            self.member,
            all_members=all_members,
            bot_user_id=self.bot_user_id,
        )

    def _guild(self, guild_id: str) -> dg.Guild:
        if guild_id not in self.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        return self.guilds[guild_id]

    def guild_of(self, channel_id: str) -> str | None:
        """The guild a channel is in (None for a DM or an unknown channel)."""
        chan = self.channels.get(channel_id)
        return str(chan["guild_id"]) if chan and chan.get("guild_id") else None

    def _channel(self, channel_id: str) -> JSON:
        if channel_id not in self.channels:
            raise DiscordError(404, 10003, "Unknown Channel")
        return self.channels[channel_id]

    def _message(self, channel_id: str, message_id: str) -> JSON:
        for msg in self._messages.get(self._channel(channel_id)["id"], []):
            if msg["id"] == message_id:
                return msg
        raise DiscordError(404, 10008, "Unknown Message")

    def _new_message(
        self, channel_id: str, author: JSON, body: JSON, files: list[tuple[str, bytes]]
    ) -> JSON:
        msg = gw.message(self._ids(), channel_id, self.guild_of(channel_id), author)
        self._apply_message_body(msg, body)
        for name, data in files:
            url = f"http://127.0.0.1:{self._port}/attachments/{channel_id}/{name}"
            msg["attachments"].append(
                {
                    "id": self._ids(),
                    "filename": name,
                    "size": len(data),
                    "url": url,
                    "proxy_url": url,
                }
            )
            self._files.setdefault(channel_id, []).append((name, data))
        return msg

    @staticmethod
    def _apply_message_body(msg: JSON, body: JSON) -> None:
        for key in ("content", "embeds", "components", "flags", "tts"):
            if body.get(key) is not None:
                msg[key] = body[key]

    # REST ------------------------------------------------------------------------------------

    async def _read(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            form = await request.post()
            raw = form.get("payload_json")
            body = json.loads(str(raw)) if raw is not None else None
            files = [
                (v.filename, v.file.read()) for v in form.values() if isinstance(v, web.FileField)
            ]
            return body, files
        text = await request.text()
        if not text:
            return None, []
        if request.content_type != "application/json":
            raise ValueError(f"unsupported content type {request.content_type}")
        return json.loads(text), []

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        try:
            body, files = await self._read(request)
        except ValueError as exc:
            self.violations.append(f"{method} {path}: unreadable body ({exc})")
            return _json({"message": "400: Bad Request", "code": 50109}, 400)
        self.requests.append(Request(method, path, body, files, dict(request.query)))
        if not path.startswith(("/webhooks/", "/interactions/")):  # the token is the auth
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Bot":
                self.violations.append(f"{method} {path}: no bot Authorization header")
            if secret != self.token:
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
        problems = check_request(method, path, body)
        self.violations.extend(problems)
        found = match(method, path)
        if found is None:
            return _json({"message": "404: Not Found", "code": 0}, 404)
        ep, params = found
        handler = getattr(self, "_h_" + _handler_name(ep.method, ep.path), None)
        try:
            if handler is None:
                raise DiscordError(405, 0, f"FakeDiscord does not serve {ep.method} {ep.path}")
            result = await handler(params, body or {}, files, request)
        except DiscordError as exc:
            return _json({"message": exc.message, "code": exc.code}, exc.status)
        except Exception as exc:  # a bug in the fake: make it loud
            self.violations.append(f"{method} {path}: FakeDiscord crashed: {exc!r}")
            return _json({"message": "500: Internal Server Error", "code": 0}, 500)
        return web.Response(status=204) if result is None else _json(result)

    async def _h_get_users_me(self, p: Any, b: Any, f: Any, r: Any) -> JSON:
        return self.users[self.bot_user_id]

    async def _h_get_oauth2_applications_me(self, p: Any, b: Any, f: Any, r: Any) -> JSON:
        owner = self.users[self.member_ids[-1]]
        return {
            "id": self.application_id,
            "name": self.users[self.bot_user_id]["username"],
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": owner,
            "verify_key": "0" * 64,
            "flags": self.app_flags,
            "team": None,
        }

    async def _h_get_users(self, p: dict[str, str], b: Any, f: Any, r: Any) -> JSON:
        if p["user_id"] not in self.users:
            raise DiscordError(404, 10013, "Unknown User")
        return self.users[p["user_id"]]

    async def _h_get_guilds(self, p: dict[str, str], b: Any, f: Any, r: Any) -> JSON:
        """The guild object as REST returns it (no channels, members or other state)."""
        state = ("channels", "members", "member_count", "threads", "voice_states", "presences")
        full = self.guild(self._guild(p["guild_id"]).id)
        rest = {k: v for k, v in full.items() if k not in (*state, "large", "joined_at")}
        return {**rest, "unavailable": False}

    async def _h_get_gateway(self, p: Any, b: Any, f: Any, r: Any) -> JSON:
        return {"url": self.gateway_url}

    async def _h_get_gateway_bot(self, p: Any, b: Any, f: Any, r: Any) -> JSON:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _h_get_guilds_channels(self, p: dict[str, str], b: Any, f: Any, r: Any) -> list[JSON]:
        return self.guild(self._guild(p["guild_id"]).id)["channels"]  # type: ignore[no-any-return]

    async def _h_post_guilds_channels(self, p: dict[str, str], body: JSON, f: Any, r: Any) -> JSON:
        guild = self._guild(p["guild_id"])
        kind = int(body.get("type") or gw.TEXT)
        parent = body.get("parent_id")
        if parent is not None and self.guild_of(str(parent)) != guild.id:
            raise DiscordError(400, 50035, "Invalid Form Body (parent_id: not in this guild)")
        cid = self.add_channel(
            str(body["name"]), kind=kind, category_id=parent and str(parent), guild_id=guild.id
        )
        self._update_channel(self.channels[cid], body)
        await self._echo("CHANNEL_CREATE", self.channels[cid])
        return self.channels[cid]

    async def _h_get_guilds_members_search(
        self, p: dict[str, str], b: Any, f: Any, r: web.Request
    ) -> list[JSON]:
        """Members whose username or global name starts with `query` (case-insensitive).
        The spec: `query` 1 to 100 characters (required), `limit` 1 to 1000."""
        query = r.query.get("query", "").casefold()
        limit = r.query.get("limit", "1")
        if not 1 <= len(query) <= 100 or not limit.isdecimal() or not 1 <= int(limit) <= 1000:
            self.violations.append(f"GET {r.path}: bad query {dict(r.query)}")
            raise DiscordError(400, 50035, "Invalid Form Body")
        found = []
        for user_id in self._guild(p["guild_id"]).member_ids:
            user = self.users[user_id]
            names = (user.get("username"), user.get("global_name"))
            if any(str(n).casefold().startswith(query) for n in names if n):
                found.append(self.member(user_id))
        return found[: int(limit)]

    async def _h_get_guilds_members(self, p: dict[str, str], b: Any, f: Any, r: Any) -> JSON:
        if p["user_id"] not in self._guild(p["guild_id"]).member_ids:
            raise DiscordError(404, 10007, "Unknown Member")
        return self.member(p["user_id"])

    async def _h_get_channels(self, p: dict[str, str], b: Any, f: Any, r: Any) -> JSON:
        return self._channel(p["channel_id"])

    async def _h_patch_channels(self, p: dict[str, str], body: JSON, f: Any, r: Any) -> JSON:
        chan = self._channel(p["channel_id"])
        self._update_channel(chan, body)
        await self._echo("CHANNEL_UPDATE", chan)
        return chan

    @staticmethod
    def _update_channel(chan: JSON, body: JSON) -> None:
        for key in ("name", "topic", "position", "nsfw", "rate_limit_per_user", "parent_id"):
            if key in body:
                value = body[key]
                chan[key] = str(value) if key == "parent_id" and value is not None else value
        if "permission_overwrites" in body:
            chan["permission_overwrites"] = [
                {
                    "id": str(o["id"]),
                    "type": int(o.get("type", 0)),
                    "allow": str(o.get("allow", 0)),
                    "deny": str(o.get("deny", 0)),
                }
                for o in body["permission_overwrites"]
            ]

    async def _h_put_channels_permissions(
        self, p: dict[str, str], body: JSON, f: Any, r: Any
    ) -> None:
        chan = self._channel(p["channel_id"])
        target = p["overwrite_id"]
        rest = [o for o in chan["permission_overwrites"] if o["id"] != target]
        new = {
            "id": target,
            "type": int(body.get("type") or 0),
            "allow": str(body.get("allow") or 0),
            "deny": str(body.get("deny") or 0),
        }
        chan["permission_overwrites"] = [*rest, new]
        await self._echo("CHANNEL_UPDATE", chan)

    async def _h_delete_channels_permissions(
        self, p: dict[str, str], b: Any, f: Any, r: Any
    ) -> None:
        chan = self._channel(p["channel_id"])
        ows = chan["permission_overwrites"]
        chan["permission_overwrites"] = [o for o in ows if o["id"] != p["overwrite_id"]]

    async def _h_post_channels_messages(
        self, p: dict[str, str], body: JSON, files: Any, r: Any
    ) -> JSON:
        cid = self._channel(p["channel_id"])["id"]
        if not (body.get("content") or body.get("embeds") or files or body.get("components")):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        msg = self._new_message(cid, self.users[self.bot_user_id], body, files)
        self._messages[cid].append(msg)
        await self._echo("MESSAGE_CREATE", msg)
        return msg

    async def _h_get_channels_messages(self, p: dict[str, str], b: Any, f: Any, r: Any) -> JSON:
        return self._message(p["channel_id"], p["message_id"])

    async def _h_patch_channels_messages(
        self, p: dict[str, str], body: JSON, f: Any, r: Any
    ) -> JSON:
        msg = self._message(p["channel_id"], p["message_id"])
        if msg["author"]["id"] != self.bot_user_id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_message_body(msg, body)
        msg["edited_timestamp"] = gw.now()
        await self._echo("MESSAGE_UPDATE", msg)
        return msg

    async def _h_put_channels_messages_pins(
        self, p: dict[str, str], b: Any, f: Any, r: Any
    ) -> None:
        self._message(p["channel_id"], p["message_id"])["pinned"] = True

    async def _h_put_channels_messages_reactions_me(
        self, p: dict[str, str], b: Any, f: Any, r: Any
    ) -> None:
        self._message(p["channel_id"], p["message_id"])
        self.reactions.append((p["channel_id"], p["message_id"], p["emoji_name"]))

    async def _h_post_users_me_channels(self, p: Any, body: JSON, f: Any, r: Any) -> JSON:
        user_id = str(body["recipient_id"])
        if user_id not in self.users:
            raise DiscordError(400, 50033, "Invalid Recipient(s)")
        for chan in self.channels.values():
            if chan["type"] == gw.DM and chan["recipients"][0]["id"] == user_id:
                return chan
        cid = self._ids()
        self.channels[cid] = {
            "id": cid,
            "type": gw.DM,
            "recipients": [self.users[user_id]],
            "last_message_id": None,
            "flags": 0,
        }
        self._messages[cid] = []
        return self.channels[cid]

    async def _put_commands(self, body: list[JSON]) -> list[JSON]:
        self.commands = [
            {
                "id": self._ids(),
                "application_id": self.application_id,
                "version": self._ids(),
                "type": 1,
                "description": "",
                "options": [],
                **cmd,
            }
            for cmd in body
        ]
        return self.commands

    async def _h_put_applications_commands(self, p: Any, body: Any, f: Any, r: Any) -> list[JSON]:
        return await self._put_commands(body or [])

    async def _h_put_applications_guilds_commands(
        self, p: Any, body: Any, f: Any, r: Any
    ) -> list[JSON]:
        return await self._put_commands(body or [])

    # interactions ------------------------------------------------------------------------

    def _interaction(self, token: str) -> JSON:
        if token not in self.interactions:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return self.interactions[token]

    async def _h_post_interactions_callback(
        self, p: dict[str, str], body: JSON, files: Any, r: Any
    ) -> JSON:
        inter = self._interaction(p["interaction_token"])
        if inter["id"] != p["interaction_id"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if inter.get("_responded"):
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        kind, data = int(body["type"]), body.get("data") or {}
        if (kind == gw.AUTOCOMPLETE_RESULT) != (inter["type"] == gw.AUTOCOMPLETE):
            raise DiscordError(400, 50035, "Invalid Form Body")
        inter["_responded"] = True
        self.interaction_responses.append(
            {"interaction_id": inter["id"], "token": inter["token"], "type": kind, "data": data}
        )
        flags = int(data.get("flags") or 0)
        result: JSON = {
            "interaction": {
                "id": inter["id"],
                "type": inter["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & gw.EPHEMERAL),
            }
        }
        msg: JSON | None = None
        if kind == 4:
            msg = self._new_message(inter["channel_id"], self.users[self.bot_user_id], data, files)
            msg.update(
                interaction_metadata={
                    "id": inter["id"],
                    "type": inter["type"],
                    "user": inter["member"]["user"],
                    "authorizing_integration_owners": {},
                }
            )
            if not flags & gw.EPHEMERAL:
                self._messages.setdefault(inter["channel_id"], []).append(msg)
        elif kind == 7 and inter.get("message"):
            msg = self._message(inter["channel_id"], inter["message"]["id"])
            self._apply_message_body(msg, data)
        if kind in (4, 5) and msg is None:
            msg = gw.message(
                self._ids(),
                inter["channel_id"],
                inter.get("guild_id"),
                self.users[self.bot_user_id],
                flags=flags | 128,
            )
        if msg is not None:
            self._originals[inter["token"]] = msg
            result["interaction"]["response_message_id"] = msg["id"]
            result["resource"] = {"type": kind, "message": msg}
        return result

    async def _h_post_webhooks(self, p: dict[str, str], body: JSON, files: Any, r: Any) -> JSON:
        inter = self._interaction(p["interaction_token"])
        msg = self._new_message(inter["channel_id"], self.users[self.bot_user_id], body, files)
        msg.update(webhook_id=self.application_id, application_id=self.application_id)
        self.followups.append({"token": inter["token"], "message": msg})
        if not int(body.get("flags") or 0) & gw.EPHEMERAL:
            self._messages.setdefault(inter["channel_id"], []).append(msg)
        return msg

    def _original(self, token: str) -> JSON:
        self._interaction(token)
        if token not in self._originals:
            raise DiscordError(404, 10008, "Unknown Message")
        return self._originals[token]

    async def _h_get_webhooks_messages_original(
        self, p: dict[str, str], b: Any, f: Any, r: Any
    ) -> JSON:
        return self._original(p["interaction_token"])

    async def _h_patch_webhooks_messages_original(
        self, p: dict[str, str], body: JSON, f: Any, r: Any
    ) -> JSON:
        msg = self._original(p["interaction_token"])
        self._apply_message_body(msg, body)
        msg["flags"] = int(msg.get("flags") or 0) & ~128  # no longer "thinking"
        msg["edited_timestamp"] = gw.now()
        return msg

    # gateway -----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        sock = _Socket(ws, request.query.get("compress") == "zlib-stream")
        self._socket = sock
        await sock.send({"op": gw.HELLO, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                await self._gateway_op(sock, json.loads(msg.data))
            except Exception as exc:  # a bug in the fake: make it loud
                self.violations.append(f"gateway: FakeDiscord crashed: {exc!r}")
        if self._socket is sock:
            self._socket = None
        return ws

    async def _gateway_op(self, sock: _Socket, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d") or {}
        if op == gw.HEARTBEAT:
            await sock.send({"op": gw.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == gw.IDENTIFY:
            await self._identify(sock, data)
        elif op == gw.RESUME:
            if data.get("session_id") != self.session_id:
                await sock.send({"op": gw.INVALID_SESSION, "d": False, "s": None, "t": None})
                return
            self.resumes += 1
            backlog, self._backlog = self._backlog, []
            for event in backlog:
                if event["s"] > (data.get("seq") or 0):
                    await sock.send(event)
            await self._send_dispatch(sock, "RESUMED", {})
            self._resumed.set()
        elif op == gw.REQUEST_MEMBERS:
            self.member_requests.append(data)
            guild = self.guilds.get(str(data.get("guild_id")))
            found = dg.member_search(guild, self.users, data) if guild else []
            chunk = {
                "guild_id": str(data.get("guild_id")),
                "members": [self.member(u) for u in found],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            }
            await self._send_dispatch(sock, "GUILD_MEMBERS_CHUNK", chunk)

    async def _identify(self, sock: _Socket, data: JSON) -> None:
        """READY and a GUILD_CREATE per guild; a wrong token closes with 4004, a privileged
        intent the application lacks with 4014, as on Discord."""
        self.identifies += 1
        self.identify_payloads.append(data)
        if data.get("token") != (self.gateway_token or self.token):
            await sock.ws.close(code=dg.AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        if dg.refused_intents(intents, self.app_flags):
            await sock.ws.close(code=dg.DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        self.intents = intents
        self._seq = 0
        self._backlog.clear()
        guilds = [g for g in self.guilds.values() if self.bot_user_id in g.member_ids]
        ready = {
            "v": 10,
            "user": self.users[self.bot_user_id],
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "session_id": self.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": self.app_flags},
            "private_channels": [],
            "relationships": [],
        }
        await self._send_dispatch(sock, "READY", ready)
        members = bool(intents & dg.GUILD_MEMBERS_INTENT)
        for g in guilds:
            await self._send_dispatch(sock, "GUILD_CREATE", self.guild(g.id, all_members=members))
        self._ready.set()

    async def _send_dispatch(self, sock: _Socket | None, event: str, data: JSON) -> None:
        self._seq += 1
        payload = {"op": gw.DISPATCH, "s": self._seq, "t": event, "d": data}
        if sock is None or sock.ws.closed:
            self._backlog.append(payload)  # replayed on RESUME, like Discord
            return
        await sock.send(payload)

    async def _echo(self, event: str, data: JSON) -> None:
        """The gateway event Discord sends for a REST write (only to a connected client)."""
        if self._socket is not None and self._ready.is_set():
            await self.dispatch(event, json.loads(json.dumps(data)))

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send one op 0 event with the next sequence number (kept for RESUME if offline)."""
        await self._send_dispatch(self._socket, event, data)

    async def wait_ready(self, within: float = WITHIN) -> None:
        await asyncio.wait_for(self._ready.wait(), within)

    async def wait_resumed(self, within: float = WITHIN) -> None:
        """Until the client has RESUMEd (after `drop_connection(wait=False)`)."""
        await asyncio.wait_for(self._resumed.wait(), within)

    async def close_gateway(self, code: int) -> None:
        """Close the gateway socket with `code`, as Discord does (4004: token no longer
        valid, so not resumable)."""
        sock, self._socket = self._socket, None
        if sock is not None:
            await sock.ws.close(code=code, message=b"fake close")

    async def drop_connection(self, *, wait: bool = True, within: float = WITHIN) -> None:
        """Close the gateway socket with a resumable code; by default wait for the RESUME."""
        sock, self._socket = self._socket, None
        self._resumed.clear()
        if sock is not None:
            await sock.ws.close(code=4000, message=b"fake drop")
        if wait:
            await asyncio.wait_for(self._resumed.wait(), within)

    # inbound events ----------------------------------------------------------------------

    def _visible(self, msg: JSON) -> JSON:
        shown = dict(msg)
        if not (self.intents or 0) & gw.MESSAGE_CONTENT_INTENT:
            shown.update(content="", embeds=[], attachments=[], components=[])
        if msg.get("guild_id"):
            shown["member"] = {
                k: v for k, v in self.member(msg["author"]["id"]).items() if k != "user"
            }
        return shown

    async def message_create(self, channel_id: str, author_id: str, content: str) -> str:
        msg = gw.message(
            self._ids(),
            channel_id,
            self.guild_of(channel_id),
            self.users[author_id],
            content=content,
        )
        self._messages.setdefault(channel_id, []).append(msg)
        await self.dispatch("MESSAGE_CREATE", self._visible(msg))
        return str(msg["id"])

    async def message_update(self, channel_id: str, message_id: str, content: str) -> None:
        msg = self._message(channel_id, message_id)
        msg.update(content=content, edited_timestamp=gw.now())
        await self.dispatch("MESSAGE_UPDATE", self._visible(msg))

    async def message_delete(self, channel_id: str, message_id: str) -> None:
        msgs = self._messages.get(channel_id, [])
        self._messages[channel_id] = [m for m in msgs if m["id"] != message_id]
        await self.dispatch(
            "MESSAGE_DELETE",
            {"id": message_id, "channel_id": channel_id, "guild_id": self.guild_of(channel_id)},
        )

    async def reaction_add(
        self, channel_id: str, message_id: str, user_id: str, emoji: str
    ) -> None:
        data = self._reaction(channel_id, message_id, user_id, emoji)
        data["member"] = self.member(user_id)
        data["message_author_id"] = self._message(channel_id, message_id)["author"]["id"]
        await self.dispatch("MESSAGE_REACTION_ADD", data)

    async def reaction_remove(
        self, channel_id: str, message_id: str, user_id: str, emoji: str
    ) -> None:
        await self.dispatch(
            "MESSAGE_REACTION_REMOVE", self._reaction(channel_id, message_id, user_id, emoji)
        )

    def _reaction(self, channel_id: str, message_id: str, user_id: str, emoji: str) -> JSON:
        return {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_id": message_id,
            "guild_id": self.guild_of(channel_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }

    async def member_join(self, name: str, *, guild_id: str | None = None) -> str:
        guild_id = guild_id or self.guild_id
        user_id = self.add_member(name, guild_id=guild_id)
        await self.dispatch("GUILD_MEMBER_ADD", {**self.member(user_id), "guild_id": guild_id})
        return user_id


def _handler_name(method: str, template: str) -> str:
    """`PUT /channels/{channel_id}/messages/pins/{message_id}` -> `put_channels_messages_pins`."""
    words = [s.strip("@") for s in template.split("/") if s and not s.startswith("{")]
    return "_".join([method.lower(), *words]).replace("-", "_")
