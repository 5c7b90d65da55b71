"""The `warroom` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot import __version__
from bot.config import Settings

if TYPE_CHECKING:
    from bot.service.postmortems import Draft

CONNECT_HINT = """\
No chat tokens are configured, so warroom is running the local console.
To connect a chat platform, put tokens in .env (see .env.example):
  Slack:   WARROOM_SLACK_BOT_TOKEN and WARROOM_SLACK_APP_TOKEN (Socket Mode)
  Discord: WARROOM_DISCORD_TOKEN and WARROOM_DISCORD_GUILD_IDS
See docs/slack.md and docs/discord.md.
"""
HTTP_OFF_HINT = """\
The HTTP server (alert hooks, /healthz, /metrics) is off: set WARROOM_HTTP_PORT or a
hook token (WARROOM_HOOK_TOKEN) to serve it beside the console (docs/http.md).
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="warroom",
        description="Self-hosted ChatOps incident response for Slack, Discord and the terminal.",
    )
    p.add_argument("--version", action="version", version=f"warroom {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the bot (Slack/Discord when configured, else console)")
    sub.add_parser("console", help="an interactive chat workspace in the terminal")
    sub.add_parser("demo", help="play a scripted incident from declare to resolve")
    sub.add_parser("check", help="validate settings, playbooks and templates")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply database migrations")
    inc = sub.add_parser("incidents", help="inspect incidents")
    inc_sub = inc.add_subparsers(dest="incidents_command", required=True, metavar="ACTION")
    lst = inc_sub.add_parser("list", help="list incidents")
    lst.add_argument("--all", action="store_true", help="include resolved and closed")
    pm = sub.add_parser("postmortem", help="compile an incident's postmortem draft")
    pm.add_argument("incident", help="the incident, like INC-7 or 7")
    pm.add_argument("-o", "--output", help="write to this file instead of standard output")
    return p


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"])
            reason = err["msg"].removeprefix("Value error, ")
            print(f"warroom: setting WARROOM_{field.upper()}: {reason}", file=sys.stderr)
        raise SystemExit(2) from None


async def _console(settings: Settings, *, serve: bool = False) -> int:
    """The interactive console; with `serve` (`warroom run` when HTTP is asked for), also
    the HTTP server."""
    from adapters.console.app import build_console
    from adapters.console.repl import LOG_FILE, run_repl
    from adapters.console.terminal import log_to_file
    from adapters.web.server import HttpBindError, start_http

    print(f"(warroom's log: {log_to_file(LOG_FILE)})", flush=True)  # not the chat pane
    app, session = await build_console(settings)
    runner = None
    try:
        if serve:
            try:
                runner, _ = await start_http(app, settings)
            except HttpBindError as exc:
                print(f"warroom: {exc}", file=sys.stderr)
                return 2
        await app.start_scheduler()
        await run_repl(session)
    finally:
        if runner is not None:
            await runner.cleanup()
        await app.stop()
    return 0


async def _connected(running: Awaitable[int], *refusals: type[Exception]) -> int:
    """A platform's `run`; a setting it refuses (or a taken HTTP port) exits 2, in a line."""
    from adapters.web.server import HttpBindError

    caught: tuple[type[Exception], ...] = (HttpBindError, *refusals)
    try:
        return await running
    except caught as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return 2


async def _slack(settings: Settings) -> int:
    from adapters.slack.server import SlackNotConfigured, run

    return await _connected(run(settings), SlackNotConfigured)


async def _discord(settings: Settings) -> int:
    from adapters.discord.server import DiscordNotConfigured, run

    return await _connected(run(settings), DiscordNotConfigured)


async def _check(settings: Settings) -> int:
    """`warroom check`: local checks, then the database and each platform over the network."""
    from bot.checkup import PlatformCheck, Report, check_configuration, check_database

    report = Report()
    playbooks = check_configuration(settings, report)
    platforms: list[PlatformCheck] = []
    if settings.has_slack:
        from adapters.slack.check import SlackCheck

        platforms.append(SlackCheck(settings))
    if settings.has_discord:
        from adapters.discord.check import DiscordCheck

        platforms.append(DiscordCheck(settings))
    online = [platform for platform in platforms if platform.local(report)]
    await check_database(settings, report)
    for platform in online:
        await platform.network(report, playbooks)
    return report.emit()


async def _incidents_list(settings: Settings, show_all: bool) -> int:
    from bot.views import incident_ref
    from storage import migrate
    from storage import repository as repo
    from storage.database import Database

    db = Database.connect(settings.database_url, connect_timeout=settings.connect_timeout)
    try:
        await migrate.upgrade(db)
        async with db.reader() as tx:
            rows = await (repo.all_incidents(tx) if show_all else repo.open_incidents(tx))
        if not rows:
            print("no incidents" if show_all else "no open incidents")
        for r in rows:
            print(
                f"{incident_ref(r.number):8} {r.severity:5} {r.status:13} "
                f"#{r.channel_name or '-':30} {r.title}"
            )
    finally:
        await db.dispose()
    return 0


async def _compile_postmortem(settings: Settings, number: int) -> Draft | None:
    from bot.app import build
    from bot.offline import OfflinePort
    from bot.service.postmortems import generate
    from storage import repository as repo

    app = await build(settings, port=OfflinePort())
    try:
        async with app.db.reader() as tx:
            incident = await repo.incident_by_number(tx, number=number)
        if incident is None or incident.id is None:
            return None
        return await generate(app.bot.deps, incident_id=incident.id)
    finally:
        await app.stop()


def _postmortem(settings: Settings, ref: str, output: str | None) -> int:
    digits = ref.upper().removeprefix("INC-")
    if not digits.isdecimal():
        print(f"warroom: {ref!r} is not an incident; use INC-7 or 7", file=sys.stderr)
        return 2
    from bot.render import TemplateProblem

    try:
        draft = asyncio.run(_compile_postmortem(settings, int(digits)))
    except TemplateProblem as exc:
        print(f"warroom: the postmortem template failed: {exc}", file=sys.stderr)
        return 1
    if draft is None:
        print(f"warroom: there is no incident INC-{int(digits)}", file=sys.stderr)
        return 1
    if output:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(draft.content)
        print(f"wrote {path} (revision {draft.revision})")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(draft.content)
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from storage import migrate
    from storage.database import Database

    db = Database.connect(settings.database_url, connect_timeout=settings.connect_timeout)
    try:
        revision = await migrate.upgrade(db)
    except migrate.SchemaTooNew as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"database at revision {revision}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings()
    for noisy in ("alembic", "apscheduler"):  # their INFO lines drown the console
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command in ("run", "console", "demo", "postmortem"):
        from bot.checkup import configuration_problems, missing_playbooks, playbooks_source

        missing = missing_playbooks(settings)
        if missing:
            print(f"warroom: {missing}", file=sys.stderr)
            return 2 if settings.playbooks_chosen else 1
        problems = configuration_problems(settings)
        if problems:
            print(
                f"warroom: {len(problems)} problem(s) in {playbooks_source(settings)}:",
                file=sys.stderr,
            )
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
    from storage.migrate import SchemaTooNew
    from storage.urls import BadDatabaseUrl, DatabaseUnavailable

    try:
        return _dispatch(args, settings)
    except SchemaTooNew as exc:  # the database was upgraded by a newer warroom
        print(f"warroom: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:  # a URL it cannot use, or no answer in time
        print(f"warroom: setting WARROOM_DATABASE_URL: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, BadDatabaseUrl) else 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "check":
            return asyncio.run(_check(settings))
        case "run":
            if settings.has_slack:
                return asyncio.run(_slack(settings))
            if settings.has_discord:
                return asyncio.run(_discord(settings))
            print(CONNECT_HINT if settings.http_asked else CONNECT_HINT + HTTP_OFF_HINT)
            return asyncio.run(_console(settings, serve=settings.http_asked))
        case "console":
            return asyncio.run(_console(settings))
        case "demo":
            from adapters.console.demo import run_demo

            asyncio.run(run_demo(settings, sys.stdout))
            return 0
        case "db":
            return asyncio.run(_db_upgrade(settings))
        case "incidents":
            return asyncio.run(_incidents_list(settings, args.all))
        case "postmortem":
            return _postmortem(settings, args.incident, args.output)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
