"""`warroom console`: an interactive chat workspace in the terminal.

Lines are read from standard input, so it also runs from a script:
    printf '/incident declare SEV2 Checkout errors\n' | warroom console
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from adapters.console.render import render
from adapters.console.session import ConsoleSession
from bot.port import RichMessage

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
        self._seen: dict[str, int] = {}
        self._private_seen = len(session.ws.private)
        for channel in session.ws.channels.values():
            self._seen[channel.id] = len(channel.messages)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def prompt(self) -> str:
        return f"{self.s.user.name} in #{self.s.channel.name}> "

    async def run(self, stdin: TextIO) -> None:
        interactive = stdin.isatty()
        self.say(HELP if interactive else "")
        while True:
            if interactive:
                print(self.prompt(), end="", file=self.out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not interactive and line.strip():
                self.say(self.prompt() + line)
            if not await self.step(line.strip()):
                break
        self.say("bye")

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
                _, mid, label = line.split(" ", 2)
                await self.s.press(mid, label)
            elif line.startswith(":edit "):
                _, mid, text = line.split(" ", 2)
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
        except (KeyError, ValueError) as exc:
            self.say(f"(console: {exc.args[0] if exc.args else exc})")
        self.flush()
        return True

    def flush(self) -> None:
        """Print what appeared since the last line: channel messages and private replies."""
        for channel in self.s.ws.channels.values():
            seen = self._seen.get(channel.id, 0)
            for msg in channel.messages[seen:]:
                author = self.s.ws.users.get(msg.author_id)
                head = f"#{channel.name} [{msg.id}] {author.name if author else msg.author_id}"
                if msg.author_id == self.s.user.id:
                    continue
                self.say(f"{head}:")
                for text_line in msg.text.splitlines():
                    self.say(f"    {text_line}")
            self._seen[channel.id] = len(channel.messages)
        for reply in self.s.ws.private[self._private_seen :]:
            if reply.user_id == self.s.user.id:
                self.say(self._private(reply.message))
        self._private_seen = len(self.s.ws.private)

    def _private(self, message: RichMessage) -> str:
        body = render(message, self.s.ws)
        return "(only you can see this)\n" + "\n".join(f"    {x}" for x in body.splitlines())


async def run_repl(
    session: ConsoleSession, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> None:
    await Repl(session, out).run(stdin)
