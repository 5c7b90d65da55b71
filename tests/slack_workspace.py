"""The in-memory Slack workspace behind `tests/slack_fake.py`: users, channels, messages,
pins, reactions, ephemerals, and the Web API methods that read and change them.

`SlackWorkspace` knows nothing about HTTP: each handler takes one call's arguments
(`Args`) and returns the body of an `ok` answer or raises `SlackError`. `FakeSlack`
(the loopback server) subclasses it, checks tokens, scopes and arguments, and adds what
needs a transport: file uploads, modals (trigger ids), response_url and Socket Mode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.slack_methods import Args, SlackError, channel_name_error, check_blocks
from tests.slack_payloads import BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

__all__ = [
    "DEFAULT_SCOPES",
    "JSON",
    "Args",
    "Handler",
    "SlackError",
    "SlackWorkspace",
    "shown_fields",
]

JSON = dict[str, Any]
DEFAULT_SCOPES = [
    *("commands", "chat:write", "chat:write.public", "channels:manage", "groups:write"),
    *("channels:read", "groups:read", "pins:write", "files:write", "users:read"),
    "reactions:write",
]


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


def shown_fields(message: JSON) -> JSON:
    """A stored message as the API shows it: without empty fields."""
    return {k: v for k, v in message.items() if v not in (None, [])}


Handler = Callable[[Args], JSON]


class SlackWorkspace:
    """One workspace (T001) with the bot UBOT/BBOT; Web API semantics where adapters trip:

    - channels: the bot must be a member to post (public channels also accept
      `chat:write.public`), pin, react, invite, set the topic or archive (`not_in_channel`);
      private channels it is not in are `channel_not_found`; archived ones `is_archived`.
      Names: lowercase letters, digits, `-`, `_`, at most 80 (`invalid_name_*`), taken even
      when archived (`name_taken`).
    - messages need text, blocks or attachments (`no_text`); blocks beyond Slack's limits are
      `invalid_blocks` and a violation.
    - invite of a member already in the channel is `already_in_channel` unless `force`.
    - users.list pages like conversations.list (`limit` 1..1000, `next_cursor`) and, as
      Slack does, lists the bot user too.
    """

    def __init__(self, *, scopes: Iterable[str], bot_name: str) -> None:
        self.scopes = list(scopes)
        self.violations: list[str] = []
        self.ephemerals: list[JSON] = []
        # Events Slack sends the app because of API calls (joins after an invite), in order;
        # a test delivers them (Socket Mode or HTTP) when it wants to.
        self.events: list[JSON] = []
        self._users: dict[str, _User] = {
            BOT_USER_ID: _User(BOT_USER_ID, bot_name, bot_name, bot_name, is_bot=True)
        }
        self._channels: dict[str, _Channel] = {}
        self._ids = {p: itertools.count(1) for p in "UCDFVER"}
        self._ts = itertools.count(1)
        self.clock: Callable[[], float] | None = None
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
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
            "users.list": self._users_list,
        }

    # setup and inspection --------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids[prefix]):03d}"

    def _new_ts(self) -> str:
        """Unique, increasing; seconds from `clock` (epoch seconds) when one is set."""
        n = next(self._ts)
        return f"{int(self.clock()) if self.clock else 1_700_000_000 + n}.{n:06d}"

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

    def channel_names(self) -> list[str]:
        """Every channel's name (not direct messages), in creation order."""
        return [c.name for c in self._channels.values() if not c.is_im]

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

    # people acting: each changes the workspace and returns the event Slack sends ---------

    def join(self, channel_id: str, user_id: str, *, inviter: str = "") -> JSON:
        """`user_id` joins the channel: a `member_joined_channel` event."""
        ch = self._get(channel_id)
        if user_id not in ch.members:
            ch.members.append(user_id)
        event: JSON = {
            "type": "member_joined_channel",
            "user": user_id,
            "channel": ch.id,
            "channel_type": "G" if ch.is_private else "C",
            "team": TEAM_ID,
            "event_ts": self._new_ts(),
        }
        return {**event, "inviter": inviter} if inviter else event

    def say(self, channel_id: str, user_id: str, text: str, *, thread_ts: str = "") -> JSON:
        """A person posts `text` (escaped as Slack escapes it): a `message` event."""
        ch = self._get(channel_id)
        message: JSON = {"type": "message", "user": user_id, "text": text, "ts": self._new_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        ch.messages.append({"thread_ts": None, "blocks": [], "attachments": [], **message})
        kind = "group" if ch.is_private else "channel"
        return {
            **message,
            "team": TEAM_ID,
            "channel": ch.id,
            "event_ts": message["ts"],
            "channel_type": kind,
        }

    def edit(self, channel_id: str, ts: str, text: str) -> JSON:
        """The author edits a message: a `message_changed` event."""
        ch = self._get(channel_id)
        stored = ch.message(ts)
        before = {k: stored[k] for k in ("type", "user", "text", "ts")}
        stored["text"] = text
        stored["edited"] = {"user": stored["user"], "ts": self._new_ts()}
        after = {**before, "text": text, "edited": stored["edited"]}
        return self._hidden(ch, "message_changed", message=after, previous_message=before)

    def delete(self, channel_id: str, ts: str) -> JSON:
        """The author deletes a message: a `message_deleted` event."""
        ch = self._get(channel_id)
        stored = ch.message(ts)
        ch.messages.remove(stored)
        before = {k: stored[k] for k in ("type", "user", "text", "ts")}
        return self._hidden(ch, "message_deleted", deleted_ts=ts, previous_message=before)

    def _hidden(self, ch: _Channel, subtype: str, **fields: Any) -> JSON:
        ts = self._new_ts()
        kind = "group" if ch.is_private else "channel"
        return {
            "type": "message",
            "subtype": subtype,
            "hidden": True,
            "channel": ch.id,
            "ts": ts,
            "event_ts": ts,
            "channel_type": kind,
            **fields,
        }

    # Web API methods --------------------------------------------------------------------

    def _channel(self, a: Args, name: str = "channel", *, member: bool = True) -> _Channel:
        ch = self._channels.get(a.get(name))
        if ch is None or (ch.is_private and BOT_USER_ID not in ch.members):
            raise SlackError("channel_not_found")
        if member and BOT_USER_ID not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def _writable(self, a: Args, name: str = "channel") -> _Channel:
        ch = self._channel(a, name)
        if ch.is_archived:
            raise SlackError("is_archived")
        return ch

    def _content(self, a: Args) -> JSON:
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

    def _auth_test(self, a: Args) -> JSON:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Warroom Test",
            "user": self._users[BOT_USER_ID].name,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_target(self, a: Args) -> _Channel:
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

    def _post_message(self, a: Args) -> JSON:
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
        return {"channel": ch.id, "ts": message["ts"], "message": shown_fields(message)}

    def _update(self, a: Args) -> JSON:
        ch = self._writable(a)
        message = ch.message(a.get("ts"))
        if message["user"] != BOT_USER_ID:
            raise SlackError("cant_update_message")
        content = self._content(a)
        for key in ("text", "blocks", "attachments"):
            if a.raw.get(key) is not None:
                message[key] = content[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._new_ts()}
        public = shown_fields(message)
        return {"channel": ch.id, "ts": message["ts"], "text": message["text"], "message": public}

    def _post_ephemeral(self, a: Args) -> JSON:
        ch = self._writable(a)
        user = a.get("user")
        if user not in ch.members:
            raise SlackError("user_not_in_channel")
        ts = self._new_ts()
        entry = {"channel": ch.id, "user": user, "ts": ts, "thread_ts": a.get("thread_ts") or None}
        self.ephemerals.append({**entry, **self._content(a)})
        return {"message_ts": ts}

    def _permalink(self, a: Args) -> JSON:
        ch = self._channel(a, member=False)
        ts = ch.message(a.get("message_ts"))["ts"]
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}"
        return {"channel": ch.id, "permalink": link}

    def _create(self, a: Args) -> JSON:
        name = a.get("name")
        error = channel_name_error(name)
        if error:
            raise SlackError(error)
        if self.channel_id(name) is not None:
            raise SlackError("name_taken")
        cid = self.add_channel(name, private=a.flag("is_private"))
        self._channels[cid].created = 1_700_000_000 + next(self._ts)
        return {"channel": self._channels[cid].info()}

    def _invite(self, a: Args) -> JSON:
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
        for user in invite:
            self.events.append(self.join(ch.id, user, inviter=BOT_USER_ID))
        return {"channel": ch.info(), **({"errors": errors} if errors else {})}

    def _set_topic(self, a: Args) -> JSON:
        ch = self._writable(a)
        if len(a.get("topic")) > 250:
            raise SlackError("too_long")
        ch.topic = a.get("topic")
        return {"channel": ch.info()}

    def _archive(self, a: Args) -> JSON:
        ch = self._channel(a)
        if ch.is_archived:
            raise SlackError("already_archived")
        ch.is_archived = True
        return {}

    def _info(self, a: Args) -> JSON:
        ch = self._channel(a, member=False)
        return {"channel": ch.info(num_members=a.flag("include_num_members"))}

    def _page(self, a: Args, items: list[Any]) -> tuple[list[Any], JSON]:
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

    def _list(self, a: Args) -> JSON:
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

    def _members(self, a: Args) -> JSON:
        page, meta = self._page(a, self._channel(a, member=False).members)
        return {"members": page, "response_metadata": meta}

    def _pin(self, a: Args) -> JSON:
        ch = self._channel(a)
        ts = ch.message(a.get("timestamp"))["ts"]
        if ts in ch.pins:
            raise SlackError("already_pinned")
        ch.pins.append(ts)
        return {}

    def _react(self, a: Args) -> JSON:
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

    def _user_info(self, a: Args) -> JSON:
        user = self._users.get(a.get("user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.info()}

    def _users_list(self, a: Args) -> JSON:
        page, meta = self._page(a, [u.info() for u in self._users.values()])
        return {"members": page, "cache_ts": 1_700_000_000, "response_metadata": meta}
