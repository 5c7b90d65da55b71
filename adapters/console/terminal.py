"""The terminal around the console's chat pane: lines in, Ctrl-C, and where logs go.

- `Lines` reads standard input without holding up the event loop or its shutdown. A
  file descriptor is read by a daemon thread with `os.read` (no Python-level lock is
  held while it waits), so an interrupted console exits at once instead of waiting for
  a line that may never come; `asyncio.to_thread(readline)` would keep the loop's
  executor, and so the process, waiting for Enter.
- `on_interrupt` makes Ctrl-C (SIGINT) call back into the loop instead of raising
  `KeyboardInterrupt` wherever the program happens to be, for as long as the loop runs:
  the first one stops the REPL, later ones (while it shuts down) are ignored.
- `log_to_file` keeps log records, and the tracebacks some of them carry, out of the
  chat pane.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

CHUNK = 65536


class Lines:
    """Lines of `stream`, read in the background; `None` at the end of input."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._queue: asyncio.Queue[str | None] | None = None
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream
            self._fd = None

    async def readline(self) -> str | None:
        if self._fd is None:
            return self.stream.readline() or None
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(
                target=_pump, args=(self._fd, loop, self._queue), name="stdin", daemon=True
            ).start()
        return await self._queue.get()


def _pump(fd: int, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Read `fd` to its end, handing each line to the loop (which may have closed)."""

    def put(line: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except OSError:
            chunk = b""
        pending += decoder.decode(chunk, final=not chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            if not put(line + "\n"):
                return
        if not chunk:
            if pending:
                put(pending)
            put(None)
            return


def on_interrupt(callback: Callable[[], None]) -> bool:
    """Call `callback` on each SIGINT while the running loop lives (the loop removes the
    handler when it closes). False where the loop cannot take signals (not the main
    thread, or a platform without them): Ctrl-C then behaves as Python's default."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True


def log_to_file(path: Path) -> Path:
    """Send the root logger's records to `path` instead of the terminal; the file's
    absolute path. Handlers writing elsewhere (a test's capture) are left alone."""
    path = path.resolve()
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        if type(old) is logging.StreamHandler:  # the terminal, from logging.basicConfig
            root.removeHandler(old)
            with contextlib.suppress(Exception):
                old.close()
    root.addHandler(handler)
    return path
