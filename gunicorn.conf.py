"""gunicorn settings for the API (read by the Dockerfile's and docker-compose's `gunicorn -c gunicorn.conf.py`).

Requests gunicorn refuses itself (a request line or headers over its limits, a malformed request line)
never reach Django; their answer is written here in the error format of API.md instead of gunicorn's HTML
page. The application's own URL limit (KAMENG_MAX_URL_LENGTH, default 4096) is below limit_request_line,
so URLs between the two get the application's 414.
"""

import json
import os

import gunicorn.util

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
limit_request_line = 8190  # gunicorn's maximum; the request line is "METHOD <url> HTTP/1.1"
limit_request_fields = 100
limit_request_field_size = 8190

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
