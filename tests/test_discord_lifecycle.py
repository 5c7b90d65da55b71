"""Declare -> card (embed) posted and pinned -> update -> resolve, through discord.py
against the loopback FakeDiscord (REST + gateway)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import yarl

from adapters.discord import server
from adapters.discord.app import build_discord
from bot.config import Settings
from storage import repository as repo
from tests import waiting
from tests.discord_fake import FakeDiscord

REPO = Path(__file__).resolve().parent.parent


async def until(check: Callable[[], Any], within: float = waiting.WITHIN) -> Any:
    return await waiting.until("the fake Discord to show it", check, within=within, every=0.02)


def _command(fake: FakeDiscord, text: str) -> dict[str, Any]:
    known = [c for c in fake.commands if c.get("name") == "incident"]
    return {
        "id": known[0]["id"],
        "name": "incident",
        "type": 1,
        "guild_id": fake.guild_id,
        "options": [
            {"name": "run", "type": 1, "options": [{"name": "text", "type": 3, "value": text}]}
        ],
    }


async def test_declare_update_resolve(tmp_path: Path) -> None:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as fake:
        fake.add_category("incidents")
        announce = fake.add_channel("incidents")
        alice = fake.add_member("alice")
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
            playbooks_dir=REPO / "playbooks",
            discord_token="test-token",
            discord_guild_ids=fake.guild_id,
            discord_api_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        server.point_at(settings)
        bridge = await build_discord(settings)
        runner: asyncio.Task[None] | None = None
        try:
            runner = await server.connect(bridge, "test-token")
            await fake.wait_ready()
            await until(lambda: fake.commands)

            ix = await fake.interaction(
                2,
                _command(fake, "declare Checkout is down sev1"),
                user_id=alice,
                channel_id=announce,
            )
            await until(lambda: any(r["token"] == ix["token"] for r in fake.interaction_responses))
            channel = await until(
                lambda: next(
                    (
                        c
                        for c in fake.channels.values()
                        if str(c.get("name", "")).startswith("inc-")
                    ),
                    None,
                )
            )
            pinned = await until(lambda: fake.pins(channel["id"]))
            card = pinned[0]
            assert card["embeds"] and "Checkout is down" in card["embeds"][0]["title"]
            posts = fake.requests_to("POST", "/channels/{channel_id}/messages")
            assert posts and all(r.body["allowed_mentions"]["parse"] == [] for r in posts)

            await fake.interaction(
                2,
                _command(fake, "update Rolled back the deploy"),
                user_id=alice,
                channel_id=channel["id"],
            )
            await until(
                lambda: any(
                    "Rolled back the deploy" in str(m.get("embeds"))
                    for m in fake.messages(channel["id"])
                )
            )

            await fake.interaction(
                2,
                _command(fake, "resolve Fixed by the rollback"),
                user_id=alice,
                channel_id=channel["id"],
            )

            async def resolved() -> bool:
                async with bridge.app.db.reader() as tx:
                    row = await repo.incident_by_channel(tx, channel_id=channel["id"])
                return row is not None and row.status == "resolved"

            await waiting.until("the incident to be resolved", resolved)
        finally:
            await bridge.close()
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await runner
            await bridge.app.stop()
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
