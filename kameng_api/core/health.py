"""Liveness and readiness for a load balancer or an orchestrator.

`livez` answers 200 as long as the process serves requests; it touches nothing else, so a database
outage never makes an orchestrator restart every web node at once. `readyz` answers 200 only when this
node can do its work: the database answers, every migration in the code is applied (a node started with
new code before `migrate` ran stays out of rotation), and the shared cache answers when one is
configured. Both are plain Django views: no authentication, no throttling, no OpenAPI entry."""

import logging
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("kameng.health")

_code_migrations: set[tuple[str, str]] | None = None


def code_migrations() -> set[tuple[str, str]]:
    """Every migration the code ships (read from disk once per process: code does not change under it)."""
    global _code_migrations
    if _code_migrations is None:
        loader = MigrationLoader(None, ignore_no_migrations=True)
        nodes = set(loader.graph.nodes)
        for key, migration in loader.disk_migrations.items():
            if migration.replaces:  # a squashed migration counts as applied when all it replaces are
                nodes.discard(key)
        _code_migrations = nodes
    return _code_migrations


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    applied = set(MigrationRecorder(connections[alias]).applied_migrations())
    return sorted(f"{app}.{name}" for app, name in code_migrations() - applied)


def _check_database() -> tuple[str, list[str]]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok", pending_migrations()
    except Exception as exc:  # any driver error means "down"
        return f"error: {exc.__class__.__name__}", []


def _check_cache() -> str:
    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        return "local"  # one process (make run): nothing shared to reach
    try:
        key = "kameng:readyz"
        cache.set(key, "1", timeout=10)
        return "ok" if cache.get(key) == "1" else "error: not stored"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


@never_cache
@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    started = time.monotonic()
    database, pending = _check_database()
    result: dict[str, Any] = {"database": database, "migrations": "ok" if not pending else "pending", "cache": _check_cache()}
    if pending:
        result["pending_migrations"] = pending[:20]
    ready = database == "ok" and not pending and not result["cache"].startswith("error")
    if not ready:
        logger.warning("not ready: %s", result)
    result["status"] = "ready" if ready else "not_ready"
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return JsonResponse(result, status=200 if ready else 503)
