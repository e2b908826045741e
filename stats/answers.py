"""Statistics answers kept between refreshes.

The figures change only when the summary tables do (a refresh or a rebuild, every few minutes) or when a
platform or merchant is renamed; between those, the same question has the same answer. So an answer of
`stats/platforms/` or `stats/platforms/{id}/trend/` (JSON, CSV or XLSX, as sent) is kept in the shared cache
under its question (path, every query parameter, the resolved period and filters, the scope, the format,
the language) and the current *generation*: a token that the refresh, the rebuild and every platform or
merchant change replace — right away and again when their transaction commits. A new generation makes
every kept answer unreachable; they expire after KAMENG_STATS_ANSWER_SECONDS (300 by default, the refresh
interval) in any case, which also bounds how long an answer computed on a lagging read replica can lag.

Kept only with a shared cache (Redis: every web node and the worker see the same generation); with the
embedded default's per-process memory cache, or KAMENG_STATS_ANSWER_SECONDS=0, every request computes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

from kameng_api.core.snapshots import Generation, shared_cache

GENERATION = Generation("stats:answers:generation")


def enabled() -> bool:
    return getattr(settings, "KAMENG_STATS_ANSWER_SECONDS", 300) > 0 and shared_cache()


def renew() -> None:
    """The figures changed: every kept answer becomes unreachable (now, and again on commit)."""
    if enabled():
        GENERATION.renew()


def key_for(request, **question: Any) -> str:
    """The cache key of a question: the path, every query parameter, what the view resolved from them
    (period, filters, scope, format, language) and the generation."""
    params = sorted((k, sorted(v)) for k, v in request.query_params.lists())
    raw = json.dumps([request.path, params, request.accepted_media_type or "",
                      {k: str(v) for k, v in sorted(question.items())}, GENERATION.current()],
                     ensure_ascii=False, separators=(",", ":"))
    return "stats:answer:" + hashlib.sha256(raw.encode()).hexdigest()


def kept(key: str) -> HttpResponse | None:
    stored = cache.get(key)
    if stored is None:
        return None
    content, content_type, disposition = stored
    response = HttpResponse(content, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    response["X-Stats-Answer"] = "kept"
    return response


def keep(key: str, view, request, response):
    """Render the response as it will be sent and keep it; returns it rendered."""
    response.accepted_renderer = request.accepted_renderer
    response.accepted_media_type = request.accepted_media_type
    response.renderer_context = view.get_renderer_context()
    response.render()
    if response.status_code == 200:
        cache.set(key, (response.content, response["Content-Type"], response.get("Content-Disposition")),
                  getattr(settings, "KAMENG_STATS_ANSWER_SECONDS", 300))
    response["X-Stats-Answer"] = "computed"
    return response
