"""`warroom console`: an interactive chat workspace in the terminal.

Lines are read from standard input, so it also runs from a script:
    printf '/incident declare SEV2 Checkout errors\n' | warroom console

What appeared since the last line (channel messages, private replies) is printed in the
order it happened. Ctrl-C stops at once with "bye". Whatever goes wrong is logged (to
`LOG_FILE`, which `warroom console` names when it starts) and shows as an apology with a
reference, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO

from adapters.console import terminal
from adapters.console.render import render
from adapters.console.session import ConsoleError, ConsoleSession
from adapters.console.workspace import Message
from bot import failures
from bot.port import RichMessage

log = logging.getLogger("warroom.console")
LOG_FILE = Path("warroom.log")  # in the working directory, beside warroom.db

HELP = """\
Console commands:
  /incident …            run an incident command (try /incident help)
  anything else          post a chat message in the current channel
  #channel               switch channel          :channels   list channels
  /as @name              act as another user     :join #chan join a channel
  :react <emoji> <id>    react to a message      :unreact <emoji> <id>
  :press <id> <label>    press a button          :edit <id> <text>, :delete <id>
  :transcript [#chan]    print a channel         :help, :quit
"""


class Repl:
    def __init__(self, session: ConsoleSession, out: TextIO) -> None:
        self.s = session
        self.out = out
        self._seen = len(session.ws.feed)
        self.interrupts = 0

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def prompt(self) -> str:
        return f"{self.s.user.name} in #{self.s.channel.name}> "

    async def run(self, stdin: TextIO) -> None:
        """Read and run lines until the input ends, `:quit`, or Ctrl-C."""
        reading = asyncio.ensure_future(self._read(stdin, interactive=stdin.isatty()))

        def interrupt() -> None:
            self.interrupts += 1
            reading.cancel()  # later ones, while the console shuts down, change nothing

        terminal.on_interrupt(interrupt)
        try:
            await reading
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self.interrupts or (task is not None and task.cancelling()):
                raise  # cancelled by the program, not by Ctrl-C
            self.say("")
        self.say("bye")

    async def _read(self, stdin: TextIO, *, interactive: bool) -> None:
        lines = terminal.Lines(stdin)
        self.say(HELP if interactive else "")
        while True:
            if interactive:
                print(self.prompt(), end="", file=self.out, flush=True)
            line = await lines.readline()
            if line is None:
                break
            line = line.rstrip("\n")
            if not interactive and line.strip():
                self.say(self.prompt() + line)
            if not await self.step(line.strip()):
                break

    async def step(self, line: str) -> bool:
        """Run one line. Returns False to quit."""
        if not line:
            return True
        try:
            if line in (":quit", ":q", ":exit"):
                return False
            if line == ":help":
                self.say(HELP)
            elif line == ":channels":
                for c in self.s.ws.channels.values():
                    self.say(
                        f"  #{c.name}{' 🔒' if c.private else ''}"
                        f"{' (archived)' if c.archived else ''} — {len(c.messages)} msgs"
                    )
            elif line.startswith("/as "):
                self.say(f"(you are now @{self.s.as_user(line[4:].strip()).name})")
            elif line.startswith("#") and " " not in line:
                self.say(f"(now in #{self.s.go(line).name})")
            elif line.startswith(":join "):
                await self.s.join(line[6:].strip())
            elif line.startswith((":react ", ":unreact ")):
                verb, emoji, mid = ([*line.split(), "", ""])[:3]
                await self.s.react(emoji, mid, remove=verb == ":unreact")
            elif line.startswith(":press "):
                mid, label = _arguments(line, ":press <message id> <button label>")
                await self.s.press(mid, label)
            elif line.startswith(":edit "):
                mid, text = _arguments(line, ":edit <message id> <new text>")
                await self.s.edit(mid, text)
            elif line.startswith(":delete "):
                await self.s.delete(line.split()[1])
            elif line.startswith(":transcript"):
                name = line.split()[1] if len(line.split()) > 1 else self.s.channel.name
                self.say(self.s.transcript(name.lstrip("#")))
            elif line.startswith(":"):
                self.say(f"(unknown console command {line.split()[0]}; :help lists them)")
            else:
                await self.s.send(line)
        except ConsoleError as exc:  # the console's own, worded for people
            self.say(f"(console: {exc})")
        except Exception as exc:
            self.flush()
            failure = failures.logged(log, exc, f"the console failed running {line[:80]!r}")
            self.say(self._private(self.s.apology(failure)))
        self.flush()
        return True

    def flush(self) -> None:
        """Print what appeared since the last line, in the order it happened: channel
        messages (but your own) and your private replies."""
        feed = self.s.ws.feed
        for item in feed[self._seen :]:
            if isinstance(item, Message):
                if item.author_id != self.s.user.id:
                    self.say(self._message(item))
            elif item.user_id == self.s.user.id:
                self.say(self._private(item.message))
        self._seen = len(feed)

    def _message(self, msg: Message) -> str:
        channel = self.s.ws.channels[msg.channel_id]
        author = self.s.ws.users.get(msg.author_id)
        head = f"#{channel.name} [{msg.id}] {author.name if author else msg.author_id}:"
        return "\n".join([head, *(f"    {line}" for line in msg.text.splitlines())])

    def _private(self, message: RichMessage) -> str:
        body = render(message, self.s.ws)
        return "(only you can see this)\n" + "\n".join(f"    {x}" for x in body.splitlines())


def _arguments(line: str, usage: str) -> tuple[str, str]:
    """The two arguments of `:press` and `:edit` (the second one may hold spaces)."""
    parts = line.split(maxsplit=2)
    if len(parts) < 3:
        raise ConsoleError(f"usage: {usage}")
    return parts[1], parts[2]


async def run_repl(
    session: ConsoleSession, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> None:
    await Repl(session, out).run(stdin)
