"""Interactions for the loopback fake (`tests/discord_fake.py`): INTERACTION_CREATE for
slash commands, autocomplete, button presses and modal submits, shaped as Discord sends
them (v10). `FakeDiscord` mixes this in; the state it uses is declared below."""

from __future__ import annotations

from typing import Any

from tests import discord_gateway as gw
from tests.discord_gateway import JSON


class Interactions:
    """The interaction side of `FakeDiscord` (which provides these)."""

    _ids: gw.Snowflakes
    application_id: str
    users: dict[str, JSON]
    commands: list[JSON]
    interactions: dict[str, JSON]

    def guild_of(self, channel_id: str) -> str | None:
        raise NotImplementedError

    def member(self, user_id: str) -> JSON:
        raise NotImplementedError

    def _channel(self, channel_id: str) -> JSON:
        raise NotImplementedError

    def _message(self, channel_id: str, message_id: str) -> JSON:
        raise NotImplementedError

    async def dispatch(self, event: str, data: JSON) -> None:
        raise NotImplementedError

    async def interaction(
        self, kind: int, data: JSON, *, user_id: str, channel_id: str, message: JSON | None = None
    ) -> JSON:
        """Dispatch INTERACTION_CREATE; returns the payload (its `id` and `token` included)."""
        inter_id = self._ids()
        payload: JSON = {
            "id": inter_id,
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "guild_id": self.guild_of(channel_id),
            "channel_id": channel_id,
            "channel": {k: v for k, v in self._channel(channel_id).items()},
            "member": {**self.member(user_id), "permissions": gw.ALL_PERMISSIONS},
            "token": f"itoken-{inter_id}",
            "version": 1,
            "app_permissions": gw.ALL_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_of(channel_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        self.interactions[payload["token"]] = payload
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def _command_data(
        self, sub: str, options: dict[str, Any], name: str, focused: str, channel_id: str
    ) -> JSON:
        """CHAT_INPUT data for `/<name> <sub> …`; USER options (`gw.UserId`) arrive as ids
        with the members and users in `resolved`, as Discord sends them."""
        known = [c for c in self.commands if c.get("name") == name]
        sub_option = {
            "name": sub,
            "type": gw.SUB_COMMAND,
            "options": gw.command_options(options, focused=focused),
        }
        data: JSON = {
            "id": known[0]["id"] if known else self._ids(),
            "name": name,
            "type": 1,
            "guild_id": self.guild_of(channel_id),
            "options": [sub_option],
        }
        ids = [str(v) for v in options.values() if isinstance(v, gw.UserId)]
        if ids:
            data["resolved"] = {
                "users": {i: self.users[i] for i in ids},
                "members": {
                    i: {
                        **{k: v for k, v in self.member(i).items() if k != "user"},
                        "permissions": gw.ALL_PERMISSIONS,
                    }
                    for i in ids
                },
            }
        return data

    async def slash_command(
        self,
        sub: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: str,
        channel_id: str,
        name: str = "incident",
    ) -> JSON:
        """`/incident <sub> …` as Discord sends it: a CHAT_INPUT command with a subcommand."""
        data = self._command_data(sub, options or {}, name, "", channel_id)
        return await self.interaction(
            gw.APPLICATION_COMMAND, data, user_id=user_id, channel_id=channel_id
        )

    async def autocomplete(
        self,
        sub: str,
        options: dict[str, Any],
        *,
        focused: str,
        user_id: str,
        channel_id: str,
        name: str = "incident",
    ) -> JSON:
        """An APPLICATION_COMMAND_AUTOCOMPLETE interaction while `focused` is typed in
        (answered with callback type 8 and `data.choices`)."""
        data = self._command_data(sub, options, name, focused, channel_id)
        return await self.interaction(gw.AUTOCOMPLETE, data, user_id=user_id, channel_id=channel_id)

    async def button_press(
        self, custom_id: str, *, user_id: str, channel_id: str, message_id: str
    ) -> JSON:
        message = self._message(channel_id, message_id)
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.interaction(
            gw.MESSAGE_COMPONENT, data, user_id=user_id, channel_id=channel_id, message=message
        )

    async def modal_submit(
        self, custom_id: str, values: dict[str, str], *, user_id: str, channel_id: str
    ) -> JSON:
        data = {"custom_id": custom_id, "components": gw.modal_components(values)}
        return await self.interaction(gw.MODAL_SUBMIT, data, user_id=user_id, channel_id=channel_id)
