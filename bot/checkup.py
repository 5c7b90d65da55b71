"""`warroom check`: what it found, and the checks that need no chat platform.

Local checks come first (playbooks, templates, each platform's token shapes), then the
network (the database, each platform), every network step within
WARROOM_CONNECT_TIMEOUT, so a silent endpoint is named with how long it was given.
Findings are `ok` (standard output), `warning` or `problem` (standard error); any
problem makes the exit status 1.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TextIO

from bot.config import LOCAL_PLAYBOOKS, SHIPPED_PLAYBOOKS, Settings
from bot.playbooks import PlaybookSet

Level = Literal["ok", "warning", "problem"]


@dataclass
class Report:
    findings: list[tuple[Level, str]] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.findings.append(("ok", text))

    def warn(self, text: str) -> None:
        self.findings.append(("warning", text))

    def problem(self, text: str) -> None:
        self.findings.append(("problem", text))

    @property
    def passed(self) -> bool:
        return all(level != "problem" for level, _ in self.findings)

    @property
    def lines(self) -> list[str]:
        return [text for _, text in self.findings]

    def count(self, level: Level) -> int:
        return sum(1 for found, _ in self.findings if found == level)

    def emit(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
        """Print every finding in order, then a verdict; the exit status."""
        for level, text in self.findings:
            print(f"{level}: {text}", file=out if level == "ok" else err, flush=True)
        problems, warnings = self.count("problem"), self.count("warning")
        also = f", {_plural(warnings, 'warning')}" if warnings else ""
        if problems:
            print(f"warroom check: {_plural(problems, 'problem')}{also}", file=err)
            return 1
        print(f"warroom check: passed{also}", file=out)
        return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class PlatformCheck(Protocol):
    """One chat platform's part of `warroom check` (adapters/<platform>/check.py)."""

    def local(self, report: Report) -> bool:
        """Settings checks without the network; whether the network checks can run."""
        ...

    async def network(self, report: Report, playbooks: PlaybookSet | None) -> None:
        """Log in, check permissions, and (with playbooks) resolve their channels and people."""
        ...


async def check_alone(platform: PlatformCheck, playbooks: PlaybookSet | None) -> Report:
    """One platform's checks on their own report: local, then (if those allow) network."""
    report = Report()
    if platform.local(report):
        await platform.network(report, playbooks)
    return report


class NoAnswer(Exception):
    """A network step did not finish in time; the message says what and how long."""


@asynccontextmanager
async def answer_within(what: str, seconds: float) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise NoAnswer(f"no answer from {what} within {seconds:g} s") from None


def playbooks_source(settings: Settings) -> str:
    """The playbooks folder in use, and why that one."""
    folder = settings.playbooks_dir.absolute()
    if settings.playbooks_chosen:
        return f"{folder} (WARROOM_PLAYBOOKS_DIR)"
    if folder == SHIPPED_PLAYBOOKS.resolve():
        return f"{folder} (the playbooks shipped with warroom)"
    return f"{folder} (found in the working directory; WARROOM_PLAYBOOKS_DIR chooses another)"


def missing_playbooks(settings: Settings) -> str | None:
    """Why there is no playbooks folder to load, or None when there is one."""
    if settings.playbooks_dir.is_dir():
        return None
    if settings.playbooks_chosen:
        return (
            f"setting WARROOM_PLAYBOOKS_DIR: there is no folder {settings.playbooks_dir.absolute()}"
        )
    return (
        f"no playbooks: looked in {LOCAL_PLAYBOOKS.absolute()} and {SHIPPED_PLAYBOOKS}; "
        "set WARROOM_PLAYBOOKS_DIR to your playbooks folder"
    )


def configuration_problems(settings: Settings) -> list[str]:
    """What is wrong with the playbooks and templates, one line each ([] when nothing)."""
    from bot.app import load_configuration
    from bot.playbooks import PlaybookError
    from bot.render import TemplateProblem

    try:
        load_configuration(settings)
    except PlaybookError as exc:
        return [str(p) for p in exc.problems]
    except TemplateProblem as exc:
        return str(exc).splitlines()
    return []


def check_configuration(settings: Settings, report: Report) -> PlaybookSet | None:
    """Playbooks and templates (local). The playbooks, when they load."""
    from bot.app import load_configuration

    missing = missing_playbooks(settings)
    if missing:
        report.problem(missing)
        return None
    report.ok(f"playbooks from {playbooks_source(settings)}")
    problems = configuration_problems(settings)
    for problem in problems:
        report.problem(problem)
    if problems:
        return None
    playbooks, _ = load_configuration(settings)
    report.ok(
        f"{len(playbooks.names)} playbooks ({', '.join(playbooks.names)}), "
        f"severities {settings.severity_scale.usage}"
    )
    for pb in playbooks.by_name.values():
        if pb.channel.private and pb.announce_channel:
            report.warn(
                f"playbook {pb.name}: announce_channel `{pb.announce_channel}` is never used: "
                "its incidents are private (channel.private: true), and private incidents are "
                "not announced; remove it, or make the playbook public"
            )
    return playbooks


async def check_database(settings: Settings, report: Report) -> None:
    """The database answers within the timeout, and its schema is one this warroom knows.
    A SQLite file that does not exist yet is not created."""
    from storage import migrate
    from storage.database import Database
    from storage.urls import DatabaseUnavailable, async_url, describe

    url = async_url(settings.database_url)  # the settings validated it
    where = describe(url)
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not await asyncio.to_thread(Path(file or "").exists):
        report.ok(f"database: {where} does not exist yet; `warroom run` creates it")
        return  # checking does not create it
    db = Database.connect(settings.database_url, connect_timeout=settings.connect_timeout)
    try:
        await db.ping()
        current = await migrate.current_revision(db)
    except DatabaseUnavailable as exc:
        report.problem(f"setting WARROOM_DATABASE_URL: {exc}")
        return
    finally:
        await db.dispose()
    head = migrate.head_revision()
    if current == head:
        report.ok(f"database: {where}, schema up to date")
    elif current is None:
        report.ok(f"database: {where}, empty; `warroom run` creates the tables")
    elif current in migrate.known_revisions():
        report.ok(f"database: {where}, schema to be upgraded at the next `warroom run`")
    else:
        report.problem(
            f"database: {where} is at schema revision {current}, which this warroom does "
            "not know; upgrade warroom before starting it"
        )
