"""Failed sign-ins and bad API keys, counted per client and per account, and slow checks bounded.

Checking a password or a key's secret costs an argon2 hash (64 MiB, tens of milliseconds) on
purpose, so an attacker who could ask for any number of them would exhaust memory and CPU.
``Throttle`` stops that before any hash is computed:

- failures are counted (``limits``, a moving window) per client address and per account (the
  user name, or the key id); once either count is full, the next attempt is refused with 429
  and the seconds until a slot frees, even with the right password;
- at most ``concurrency`` hashes are checked at once in the process (``slot``), others wait,
  each in a thread of lower priority (nice 10), so that the event loop, which answers /healthz
  and every other request, keeps its CPU under a flood.

The counts are kept in memory by each server process: with N workers an attacker gets N times
the attempts, and a restart forgets them. That bounds the cost; it is not a global lockout.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

T = TypeVar("T")
NICE = 10

# What a caller sees when a count is full; ``{seconds}`` is filled in.
TOO_MANY = (
    "too many failed attempts from this address or for this account; "
    "try again in {seconds} s (Retry-After)"
)


class Throttle:
    """Counts failed credential checks and bounds the concurrent hash checks of this process."""

    def __init__(
        self,
        per_client: str = "30/minute",
        per_account: str = "10/15 minutes",
        concurrency: int = 2,
    ) -> None:
        self.per_client: RateLimitItem = parse(per_client)
        self.per_account: RateLimitItem = parse(per_account)
        self.concurrency = concurrency
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._semaphore: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._threads = ThreadPoolExecutor(
            concurrency, thread_name_prefix="casewise-hash", initializer=_lower_priority
        )

    def _counts(self, client: str, account: str | None) -> list[tuple[RateLimitItem, str]]:
        counts = [(self.per_client, f"client:{client}")]
        if account:
            counts.append((self.per_account, f"account:{account}"))
        return counts

    def retry_after(self, client: str, account: str | None) -> int | None:
        """Give the seconds to wait if a count of ``client`` or ``account`` is full, else None."""
        waits = []
        for item, name in self._counts(client, account):
            if not self._limiter.test(item, name):
                reset = self._limiter.get_window_stats(item, name).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, client: str, account: str | None) -> None:
        """Count a failed attempt against ``client`` and ``account``."""
        for item, name in self._counts(client, account):
            self._limiter.hit(item, name)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``concurrency`` slots for a hash check while the block runs."""
        # A semaphore of the running loop: a test may run the same app in several loops.
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore[0] is not loop:
            self._semaphore = (loop, asyncio.Semaphore(self.concurrency))
        async with self._semaphore[1]:
            yield

    async def hash_check(self, check: Callable[..., T], *args: object) -> T:
        """Run ``check(*args)`` (an argon2 check) in a hashing thread; call it inside ``slot``."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, check, *args)


def _lower_priority() -> None:
    # Linux: a thread's nice value is its own, and libargon2's lane threads inherit it.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        pass


def too_many(seconds: int) -> str:
    """Give the message of a 429 for ``seconds``."""
    return TOO_MANY.format(seconds=seconds)
