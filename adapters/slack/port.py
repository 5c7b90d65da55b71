"""The chat port over Slack's Web API (`AsyncWebClient`). Every capability is supported."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from bot.port import (
    ALL_CAPABILITIES,
    ChannelNameTaken,
    ChannelRef,
    ChatError,
    MessageRef,
    RichMessage,
    UserRef,
)

RETRYABLE = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# A channel's member list is trusted this long; joins and leaves (events) keep it current.
MEMBERS_TTL_S = 300.0
# A "not a member" answer re-reads the list unless it was read this recently (a join event
# may arrive after the reaction it made possible).
MEMBERS_RECHECK_S = 5.0


def make_client(token: str, *, base_url: str, rate_limit_retries: int = 3) -> AsyncWebClient:
    """A web client that honours 429 Retry-After and retries connection and server errors."""
    return AsyncWebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "unknown_error")
    except Exception:
        return "unknown_error"


@asynccontextmanager
async def _api(method: str) -> AsyncIterator[None]:
    """Map Slack failures to `ChatError` (retryable for rate limits and server trouble)."""
    try:
        yield
    except SlackApiError as exc:
        code = error_code(exc)
        status = getattr(exc.response, "status_code", 200)
        raise ChatError(
            f"{method}: {code}", retryable=code in RETRYABLE or status == 429 or status >= 500
        ) from exc
    except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
        raise ChatError(f"{method}: {type(exc).__name__}: {exc}", retryable=True) from exc


class SlackPort:
    platform = "slack"
    capabilities = ALL_CAPABILITIES

    def __init__(self, client: AsyncWebClient, *, bot_user_id: str = "") -> None:
        self.client = client
        self.bot_user_id = bot_user_id
        self._channels: dict[str, ChannelRef] = {}
        self._users: dict[str, UserRef | None] = {}
        self._names: dict[str, str] | None = None
        self._members: dict[str, tuple[float, set[str]]] = {}  # channel -> (read at, users)
        self._lock = asyncio.Lock()

    async def bot_id(self) -> str:
        if not self.bot_user_id:
            async with _api("auth.test"):
                response = await self.client.auth_test()
            self.bot_user_id = str(response.get("user_id") or "")
        return self.bot_user_id

    # --- channels --------------------------------------------------------------------

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        try:
            async with _api("conversations.create"):
                response = await self.client.conversations_create(name=name, is_private=private)
        except ChatError as exc:
            if isinstance(exc.__cause__, SlackApiError) and error_code(exc.__cause__) in (
                "name_taken",
                "name_taken_by_user",
            ):
                raise ChannelNameTaken(name) from exc.__cause__
            raise
        data = response.get("channel") or {}
        ref = ChannelRef(id=str(data.get("id", "")), name=str(data.get("name") or name))
        self._channels[ref.name] = ref
        return ref

    async def _load_channels(self) -> None:
        found: dict[str, ChannelRef] = {}
        cursor = ""
        while True:
            async with _api("conversations.list"):
                response = await self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor or None,
                )
            for c in response.get("channels") or []:
                found[str(c.get("name"))] = ChannelRef(id=str(c.get("id")), name=str(c.get("name")))
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        self._channels = found

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        name = name.lstrip("#")
        if name not in self._channels:  # cached; a miss refreshes the list once
            async with self._lock:
                if name not in self._channels:
                    await self._load_channels()
        return self._channels.get(name)

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        bot = await self.bot_id()
        users = [u for u in dict.fromkeys(user_ids) if u and u != bot]
        if not users:
            return
        try:
            async with _api("conversations.invite"):
                await self.client.conversations_invite(
                    channel=channel_id, users=",".join(users), force=True
                )
        except ChatError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, SlackApiError) and error_code(cause) == "already_in_channel"):
                raise
        self.member_joined(channel_id=channel_id, user_ids=users)

    # --- membership (cached per channel) -------------------------------------------------

    def member_joined(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        """A join seen (event or our own invite): update a cached list, if there is one."""
        cached = self._members.get(channel_id)
        if cached is not None:
            cached[1].update(user_ids)

    def member_left(self, *, channel_id: str, user_id: str) -> None:
        cached = self._members.get(channel_id)
        if cached is not None:
            cached[1].discard(user_id)

    async def _read_members(self, channel_id: str) -> set[str]:
        members: set[str] = set()
        cursor = ""
        while True:
            async with _api("conversations.members"):
                response = await self.client.conversations_members(
                    channel=channel_id, limit=200, cursor=cursor or None
                )
            members.update(str(m) for m in response.get("members") or [])
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        self._members[channel_id] = (time.monotonic(), members)
        return members

    async def is_member(self, *, channel_id: str, user_id: str) -> bool:
        read_at, members = self._members.get(channel_id, (-MEMBERS_TTL_S, set()))
        age = time.monotonic() - read_at
        if age < MEMBERS_TTL_S and (user_id in members or age < MEMBERS_RECHECK_S):
            return user_id in members
        return user_id in await self._read_members(channel_id)

    async def set_topic(self, *, channel_id: str, topic: str) -> None:
        async with _api("conversations.setTopic"):
            await self.client.conversations_setTopic(channel=channel_id, topic=render.topic(topic))

    async def archive(self, *, channel_id: str) -> None:
        self._members.pop(channel_id, None)
        try:
            async with _api("conversations.archive"):
                await self.client.conversations_archive(channel=channel_id)
        except ChatError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, SlackApiError) and error_code(cause) == "already_archived"):
                raise

    # --- messages --------------------------------------------------------------------

    async def post_message(self, *, channel_id: str, message: RichMessage) -> MessageRef:
        async with _api("chat.postMessage"):
            response = await self.client.chat_postMessage(
                channel=channel_id, unfurl_links=False, **render.render(message)
            )
        return MessageRef(
            channel_id=str(response.get("channel") or channel_id), id=str(response["ts"])
        )

    async def update_message(self, *, ref: MessageRef, message: RichMessage) -> None:
        async with _api("chat.update"):
            await self.client.chat_update(
                channel=ref.channel_id, ts=ref.id, **render.render(message)
            )

    async def reply_privately(self, *, channel_id: str, user_id: str, message: RichMessage) -> None:
        """An ephemeral in the channel; to someone not in it (Slack refuses those), a DM."""
        try:
            async with _api("chat.postEphemeral"):
                await self.client.chat_postEphemeral(
                    channel=channel_id, user=user_id, **render.render(message)
                )
        except ChatError as exc:
            cause = exc.__cause__
            if not (
                isinstance(cause, SlackApiError) and error_code(cause) == "user_not_in_channel"
            ):
                raise
            async with _api("chat.postMessage"):
                await self.client.chat_postMessage(
                    channel=user_id, unfurl_links=False, **render.render(message)
                )

    async def permalink(self, *, ref: MessageRef) -> str | None:
        async with _api("chat.getPermalink"):
            response = await self.client.chat_getPermalink(
                channel=ref.channel_id, message_ts=ref.id
            )
        return str(response.get("permalink") or "") or None

    async def pin(self, *, ref: MessageRef) -> None:
        try:
            async with _api("pins.add"):
                await self.client.pins_add(channel=ref.channel_id, timestamp=ref.id)
        except ChatError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, SlackApiError) and error_code(cause) == "already_pinned"):
                raise

    async def upload_file(
        self, *, channel_id: str, filename: str, content: bytes, title: str
    ) -> None:
        # files_upload_v2: files.getUploadURLExternal + upload + files.completeUploadExternal.
        async with _api("files.completeUploadExternal"):
            await self.client.files_upload_v2(
                channel=channel_id,
                filename=filename,
                content=content,
                title=title,
                request_file_info=False,
            )

    # --- people ----------------------------------------------------------------------

    def _user_ref(self, data: dict[str, Any]) -> UserRef | None:
        if data.get("deleted") or data.get("is_bot") or data.get("id") == self.bot_user_id:
            return None
        profile = data.get("profile") or {}
        name = profile.get("display_name") or data.get("name") or profile.get("real_name") or ""
        return UserRef(id=str(data["id"]), name=str(name))

    async def _user_by_id(self, user_id: str) -> UserRef | None:
        if user_id not in self._users:
            try:
                async with _api("users.info"):
                    response = await self.client.users_info(user=user_id)
            except ChatError as exc:
                cause = exc.__cause__
                if isinstance(cause, SlackApiError) and error_code(cause) == "user_not_found":
                    return None
                raise
            self._users[user_id] = self._user_ref(dict(response.get("user") or {}))
        return self._users[user_id]

    async def _user_by_name(self, name: str) -> UserRef | None:
        if self._names is None or name not in self._names:
            names: dict[str, str] = {}
            cursor = ""
            while True:
                async with _api("users.list"):
                    response = await self.client.users_list(limit=200, cursor=cursor or None)
                for data in response.get("members") or []:
                    ref = self._user_ref(dict(data))
                    self._users[str(data.get("id"))] = ref
                    if ref is None:
                        continue
                    profile = data.get("profile") or {}
                    for label in (data.get("name"), profile.get("display_name")):
                        if label:
                            names.setdefault(str(label).lower(), ref.id)
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    break
            self._names = names
        user_id = self._names.get(name)
        return self._users.get(user_id) if user_id else None

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        ref = ref.strip()
        await self.bot_id()
        m = _MENTION.match(ref)
        if m or _USER_ID.match(ref):
            user_id = m.group(1) if m else ref
            return None if user_id == self.bot_user_id else await self._user_by_id(user_id)
        name = ref.lstrip("@").lower()
        return await self._user_by_name(name) if name else None
