"""`warroom check` on a platform: the channels and people the playbooks name, looked up
through the platform as a declare or an escalation would.

- Announcement channels (each public playbook's `announce_channel`, else the default)
  must exist: an announcement to a missing channel fails. A missing one is a problem.
- People (`roles.*.default_assignee`, `responders`, `reminders.escalate_to` entries that
  are not role names, alert rules' `commander` / `comms`) that do not resolve are
  skipped at declare, or printed as plain text that notifies nobody: a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from bot.checkup import NoAnswer, Report, answer_within
from bot.playbook import Playbook
from bot.playbooks import PlaybookSet
from bot.port import ChannelRef, ChatError, UserRef


class Directory(Protocol):
    """The part of the chat port that finds channels and people."""

    async def find_channel(self, *, name: str) -> ChannelRef | None: ...

    async def resolve_user(self, *, ref: str) -> UserRef | None: ...


def people(pb: Playbook) -> Iterator[tuple[str, str]]:
    """(field, entry) for every reference to a person or group in the playbook."""
    for key, spec in pb.roles.items():
        if spec.default_assignee:
            yield f"roles.{key}.default_assignee", spec.default_assignee
    for entry in pb.responders:
        yield "responders", entry
    for entry in pb.reminders.escalate_to:
        if entry not in pb.roles:  # a role name: whoever holds the role then
            yield "reminders.escalate_to", entry
    for i, rule in enumerate(pb.alerts):
        for role, assignee in (("commander", rule.commander), ("comms", rule.comms)):
            if assignee:
                yield f"alerts[{i}].{role}", assignee


def announce_channels(playbooks: PlaybookSet, default: str) -> dict[str, list[str]]:
    """Announcement channel name → the playbooks that announce there (private ones never do)."""
    found: dict[str, list[str]] = {}
    for pb in playbooks.by_name.values():
        name = (pb.announce_channel or default).lstrip("#")
        if name and not pb.channel.private:
            found.setdefault(name, []).append(pb.name)
    return found


async def resolve_targets(
    directory: Directory,
    *,
    where: str,
    playbooks: PlaybookSet,
    announce_channel: str,
    report: Report,
    seconds: float,
) -> None:
    """Look every announcement channel and person up in `where` ("Slack", "Discord: server
    123") and report what is missing."""
    missing = 0
    try:
        for name, users in announce_channels(playbooks, announce_channel).items():
            async with answer_within(f"{where} (looking up #{name})", seconds):
                channel = await directory.find_channel(name=name)
            if channel is None:
                missing += 1
                report.problem(
                    f"{where}: the announcement channel #{name} (playbooks {', '.join(users)}) "
                    "does not exist or the bot cannot see it; create it and invite the bot"
                )
        resolved: dict[str, bool] = {}
        for pb in playbooks.by_name.values():
            for place, entry in people(pb):
                if entry not in resolved:
                    async with answer_within(f"{where} (looking up {entry})", seconds):
                        resolved[entry] = await directory.resolve_user(ref=entry) is not None
                if not resolved[entry]:
                    missing += 1
                    report.warn(
                        f"{where}: playbook {pb.name}: {place} `{entry}` is not a user here; "
                        "it will notify nobody"
                    )
    except (NoAnswer, ChatError) as exc:
        report.problem(f"{where}: could not look up the playbooks' channels and people: {exc}")
        return
    if not missing:
        report.ok(f"{where}: every announcement channel and person the playbooks name exists")
