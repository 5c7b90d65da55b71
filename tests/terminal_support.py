"""A process on a pseudo-terminal, for tests of what a person at a keyboard sees.

    async with Terminal.start([...], cwd=..., env=...) as term:
        await term.expect("you in #general> ")
        term.proc.send_signal(signal.SIGINT)
        code = await term.exit(30)

Its standard input, output and error are the pty, so it believes it talks to a person
(`isatty()` is true). Everything it writes is collected; `expect` waits for a piece of
text, with a generous upper bound, and fails showing what was written so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EXPECT_TIMEOUT = 120.0  # an upper bound: only a hung process takes this long


@dataclass
class Terminal:
    proc: asyncio.subprocess.Process
    master: int
    output: bytearray = field(default_factory=bytearray)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, argv: Sequence[str], *, cwd: Path, env: dict[str, str]
    ) -> AsyncIterator[Terminal]:
        master, slave = pty.openpty()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
            )
        finally:
            os.close(slave)
        term = cls(proc, master)
        loop = asyncio.get_running_loop()
        loop.add_reader(master, term._read)
        try:
            yield term
        finally:
            loop.remove_reader(master)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            os.close(master)

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every copy of the slave side is closed
            chunk = b""
        if not chunk:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.master)
        self.output += chunk
        self.changed.set()

    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace").replace("\r\n", "\n")

    async def expect(self, piece: str, within: float = EXPECT_TIMEOUT) -> None:
        """Wait until the process has written `piece`."""
        try:
            async with asyncio.timeout(within):
                while piece not in self.text():
                    if self.closed:
                        break
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            pass
        if piece not in self.text():
            raise AssertionError(f"never saw {piece!r}; the terminal shows:\n{self.text()}")

    async def exit(self, within: float) -> int:
        """The exit code, once the process has ended and its output is all read."""
        try:
            async with asyncio.timeout(within):
                code = await self.proc.wait()
                while not self.closed:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"still running {within} s later; the terminal shows:\n{self.text()}"
            ) from None
        return code
