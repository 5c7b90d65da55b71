"""Locks by key, made when first asked for and dropped when nobody holds or awaits them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class KeyedLocks:
    """One `asyncio.Lock` per key, for work that must not interleave per key (for
    instance the chat calls that refresh one incident's card) in this process."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def waiting(self, key: Hashable) -> int:
        """How many are waiting for `key` while someone holds it."""
        lock, users = self._locks.get(key) or (None, 0)
        return users - 1 if lock is not None and lock.locked() else 0
