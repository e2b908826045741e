"""Reference tables read once per process and kept until they change.

The rule table and the working-day calendar are read by every create, transition and clock, and change a few
times a year (an administrator enters next year's schedule or a new rule version). A `Snapshot` keeps what
its loader built in the process, under a *generation* token held in the shared cache: a save or delete of a
row of those tables replaces the token (at once, and again when its transaction commits, so a snapshot read
meanwhile from the old rows is not kept under the new token), and every process then reads the table again.
The token is read before the table, so a change that lands during a read is never hidden; what the
changing process reads inside its own transaction (committed or not yet) is never kept; it is compared
at most once a second per process (TOKEN_CHECK_SECONDS), so another process sees a change within a second,
the changing process at once. A snapshot is also read again after `max_age` seconds, for changes made
around the application (SQL by hand).

Only with a shared cache (Redis) and KAMENG_REFERENCE_SNAPSHOTS on (the default): with the embedded
default's per-process memory cache, a process would not see another's change, so every call reads the
table, as before.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

T = TypeVar("T")
SHARED_BACKENDS = ("django.core.cache.backends.redis.RedisCache",)
# The shared token is compared at most this often per process (a round trip to Redis costs about what
# reading the table does): another process's change is seen within this time, the changing process's at once.
TOKEN_CHECK_SECONDS = 1.0


def shared_cache() -> bool:
    """The default cache is one every process shares (Redis), so a generation token means the same to all."""
    return settings.CACHES["default"]["BACKEND"] in SHARED_BACKENDS


class Generation:
    """A token in the shared cache that every change of some data replaces: what was kept under the old
    token is no longer reachable. Replaced at once (a reader in flight cannot keep something from before the
    change under it for long) and again when the changing transaction commits (what was read meanwhile from
    the old rows is left behind). Used by the snapshots below and by the statistics answers (stats/answers.py)."""

    def __init__(self, key: str):
        self.key = key

    def current(self) -> str:
        token = cache.get(self.key)
        if token is None:
            cache.add(self.key, uuid.uuid4().hex, None)
            token = cache.get(self.key) or ""
        return token

    def renew(self, *, committed: Callable[[], None] | None = None) -> None:
        cache.set(self.key, uuid.uuid4().hex, None)

        def after_commit():
            cache.set(self.key, uuid.uuid4().hex, None)
            if committed is not None:
                committed()

        transaction.on_commit(after_commit)


class Snapshot(Generic[T]):
    def __init__(self, name: str, load: Callable[[], T], *, max_age: float = 300.0):
        self.generation = Generation(f"snapshot:{name}:generation")
        self.load = load
        self.max_age = max_age
        self._held: tuple[str, float, T] | None = None
        self._checked_at = 0.0
        self._dirty = False
        self._lock = threading.Lock()

    @staticmethod
    def enabled() -> bool:
        return getattr(settings, "KAMENG_REFERENCE_SNAPSHOTS", True) and shared_cache()

    def get(self) -> T:
        if not self.enabled():
            return self.load()
        if self._dirty:  # this process changed the table in a transaction not yet committed (or rolled back)
            if connection.in_atomic_block:
                return self.load()  # what this transaction sees, never kept
            self._dirty = False
        held = self._held
        now = time.monotonic()
        if held is not None and now - self._checked_at < TOKEN_CHECK_SECONDS:
            return held[2]  # the token was compared less than a second ago
        token = self.generation.current()
        if held is not None and held[0] == token and now - held[1] < self.max_age:
            self._checked_at = now
            return held[2]
        value = self.load()
        with self._lock:
            self._held = (token, time.monotonic(), value)
            self._checked_at = time.monotonic()
        return value

    def renew(self, **_signal_kwargs) -> None:
        """Signal receiver: the table changed."""
        self._held = None
        if not self.enabled():
            return
        self._dirty = True

        def committed():
            self._held, self._dirty = None, False

        self.generation.renew(committed=committed)
