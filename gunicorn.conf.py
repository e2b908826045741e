"""gunicorn settings of a web node (read from the working directory; flags on the command line win).

Graceful shutdown: on SIGTERM gunicorn stops accepting connections and gives running requests
GUNICORN_GRACEFUL_TIMEOUT seconds to finish (an upload in progress completes or is refused cleanly);
the load balancer has already taken the node out of rotation through /readyz or its own health check.

Requests gunicorn refuses itself (a request line or headers over its limits, a malformed request line)
never reach Django; their answer is written here in the error format of API.md instead of gunicorn's HTML
page. The application's own URL limit (KAMENG_MAX_URL_LENGTH, default 4096) is below limit_request_line,
so URLs between the two get the application's 414."""

import gc
import json
import os

import gunicorn.util

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("GUNICORN_WORKERS", "3")))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Restart workers now and then so a slow leak never grows without bound; jitter keeps them from
# restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Django and the project are loaded once, in the master, before the workers fork: a worker that replaces a
# recycled one answers at once, instead of spending about a second importing while the other workers carry
# its share (those seconds were the p95 of every endpoint under load). A code change then needs a restart,
# not a HUP. GUNICORN_PRELOAD=false loads the application in each worker instead.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in ("0", "false", "no", "off")
# The proxy in front sets X-Forwarded-*; trust it only from the addresses given.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
# Worker heartbeat files in memory, so a slow disk never makes the master think a worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
limit_request_line = 8190  # gunicorn's maximum; the request line is "METHOD <url> HTTP/1.1"
limit_request_fields = 100
limit_request_field_size = 8190



def when_ready(server):
    """With the application preloaded: import every view (the URLconf is otherwise imported on a worker's
    first request), then close whatever the master opened, so no worker inherits a database or cache
    connection (each opens its own on first use)."""
    if not preload_app:
        return
    from django.core.cache import caches
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    connections.close_all()
    caches.close_all()
    # What the master loaded is never freed: moved out of the collector's reach, a worker's first
    # collections neither walk it nor write to (and so copy) the pages it shares with the master.
    gc.collect()
    gc.freeze()


_CODES = {400: "bad_request", 403: "permission_denied", 414: "uri_too_long", 417: "expectation_failed",
          431: "request_header_fields_too_large", 500: "error", 501: "not_implemented"}


def json_error(sock, status_int, reason, mesg):
    kind = "server_error" if status_int >= 500 else "client_error"
    body = json.dumps({"type": kind, "errors": [{"code": _CODES.get(status_int, "bad_request"),
                                                  "detail": reason, "attr": None}]}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin1")
    gunicorn.util.write_nonblock(sock, head + body)


gunicorn.util.write_error = json_error
