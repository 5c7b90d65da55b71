"""What the fake Slack and the fake Discord share: an aiohttp server on 127.0.0.1 (any
free port), started and stopped with `async with`, that collects API misuse and fails
the test on leaving if any was seen."""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar, Self

from aiohttp import web


class Loopback:
    """Mixed into a fake. It sets `violations`, `_runner = None` and `_port = 0` in its
    `__init__`, gives `routes()` and may close its own sockets in `close_sockets()`."""

    platform: ClassVar[str] = "the"
    violations: list[str]
    _runner: web.AppRunner | None
    _port: int

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def close_sockets(self) -> None:
        """Close the fake's open websockets before the server goes."""

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self.close_sockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc_type is None:
            # Every test using the fake fails on a call that breaks the method table,
            # whether or not it remembered to check. Tests that misuse the API on purpose
            # clear `violations` after asserting on them.
            self.assert_clean()

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError(f"the fake {self.platform} is not started")
        return f"http://127.0.0.1:{self._port}"

    def assert_clean(self) -> None:
        assert not self.violations, f"{self.platform} API misuse:\n" + "\n".join(self.violations)
