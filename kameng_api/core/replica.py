"""Statistics reads on a streaming read replica (DATABASE_REPLICA_URL), everything else on the primary.

Only code that asks for it reads from the replica: `replica_reads` wraps a view (the analysts' statistics)
and routes that view's reads there; writes, refreshes, authentication and every other request use the
primary. Before using the replica a node checks, at most every KAMENG_REPLICA_CHECK_INTERVAL seconds,
that it answers and how far behind the primary it is; a replica that does not answer, lags more than
KAMENG_REPLICA_MAX_LAG seconds, or fails in the middle of a request is skipped and the primary answers,
with a warning in the log."""

import contextvars
import functools
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
CATCH_UP_WAIT = 0.5  # seconds: WAL written just before the check normally reaches the replica in ms

logger = logging.getLogger("kameng.replica")
_read_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar("kameng_read_alias", default=None)
_lock = threading.Lock()
_state: dict[str, Any] = {"checked_at": float("-inf"), "usable": False, "reason": ""}


class ReplicaRouter:
    """Reads go where `replica_reads` says (the primary by default); writes and migrations to the primary."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


def configured() -> bool:
    return REPLICA in settings.DATABASES


def read_connection():
    """The connection raw SQL of a read should use (the replica inside `replica_reads`)."""
    return connections[_read_alias.get() or DEFAULT_DB_ALIAS]


def replica_lag() -> float:
    """Seconds of the primary's data the replica has not replayed yet (0 when it has everything)."""
    primary, replica = connections[DEFAULT_DB_ALIAS], connections[REPLICA]
    if replica.vendor != "postgresql" or primary.vendor != "postgresql":
        with replica.cursor() as cursor:
            cursor.execute("SELECT 1")
        return 0.0
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        if cursor.fetchone()[0]:
            raise DatabaseError("DATABASE_URL points at a server in recovery, not at the primary")
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    waited_until = time.monotonic() + CATCH_UP_WAIT
    with replica.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false), "
                "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8",
                [target],
            )
            in_recovery, caught_up, age = cursor.fetchone()
            if not in_recovery or caught_up:
                return 0.0
            if time.monotonic() >= waited_until:
                return max(CATCH_UP_WAIT, age or float("inf"))
            time.sleep(0.05)


def _mark(usable: bool, reason: str) -> None:
    was = _state["usable"]
    _state.update(checked_at=time.monotonic(), usable=usable, reason=reason)
    if not usable:
        logger.warning("read replica not used, statistics read from the primary: %s", reason)
    elif not was:
        logger.info("read replica in use for statistics")


def replica_usable() -> bool:
    if not configured():
        return False
    interval = getattr(settings, "KAMENG_REPLICA_CHECK_INTERVAL", 5.0)
    with _lock:
        if time.monotonic() - _state["checked_at"] < interval:
            return _state["usable"]
        try:
            lag = replica_lag()
        except Exception as exc:  # down, refusing connections, wrong server: the primary answers
            connections[REPLICA].close()
            _mark(False, f"unavailable ({exc.__class__.__name__}: {str(exc).strip()[:200]})")
            return False
        limit = settings.KAMENG_REPLICA_MAX_LAG
        if lag > limit:
            _mark(False, f"lagging {lag:.1f} s behind (KAMENG_REPLICA_MAX_LAG {limit:g} s)")
            return False
        _mark(True, "")
        return True


def replica_failed(exc: Exception) -> None:
    with _lock:
        connections[REPLICA].close()
        _mark(False, f"failed during a request ({exc.__class__.__name__}: {str(exc).strip()[:200]})")


def replica_reads(view_method):
    """Run a read-only view's queries on the replica when it is usable; on a replica error, again on the
    primary. Used by the statistics endpoints only."""

    @functools.wraps(view_method)
    def wrapper(*args, **kwargs):
        if not replica_usable():
            return view_method(*args, **kwargs)
        token = _read_alias.set(REPLICA)
        try:
            return view_method(*args, **kwargs)
        except DatabaseError as exc:
            replica_failed(exc)
        finally:
            _read_alias.reset(token)
        return view_method(*args, **kwargs)

    return wrapper
