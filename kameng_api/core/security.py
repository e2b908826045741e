"""Who is asking, and how often: the client's real address, the throttles and the login lockout.

One function decides the client address for the throttles, the lockout (django-axes) and the audit
log, so a header any client can set (`X-Forwarded-For`) never decides a throttle bucket unless the
deployment declares how many proxies in front of it append to that header
(`KAMENG_TRUSTED_PROXIES`).
"""

import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from rest_framework import throttling

from kameng_api.core.actors import Actor


def _valid_ip(value: str) -> str | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:5678"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str:
    """The address of the client as the last trusted proxy saw it.

    With `KAMENG_TRUSTED_PROXIES = 0` (the default) the socket's peer (`REMOTE_ADDR`) is the client and
    `X-Forwarded-For` is ignored. With N trusted proxies, each appends the address it received the
    request from, so the client is the N-th address from the right; anything to its left was written
    by the client and is ignored. A header shorter than N (a request that bypassed a proxy) or an entry
    that is not an address falls back to the peer.
    """
    meta = getattr(request, "META", {})
    remote = _valid_ip(meta.get("REMOTE_ADDR", "")) or "0.0.0.0"  # noqa: S104 (a key, not a bind)
    proxies = int(getattr(settings, "KAMENG_TRUSTED_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return _valid_ip(forwarded[-proxies]) or remote


class _RateFromSettings:
    """Read the rate when the throttle runs, not when the class is imported, so settings changes apply."""

    scope: str | None

    def get_rate(self):
        rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
        return rates.get(self.scope)

    def get_ident(self, request):
        return client_address(request)


class AnonThrottle(_RateFromSettings, throttling.AnonRateThrottle):
    """Anonymous requests, per client address."""


class StaffThrottle(_RateFromSettings, throttling.UserRateThrottle):
    """Signed-in staff, per user. Partner keys have their own scope."""

    scope = "user"

    def get_cache_key(self, request, view):
        if Actor.of(request.user).is_partner:
            return None
        return super().get_cache_key(request, view)


class PartnerThrottle(_RateFromSettings, throttling.SimpleRateThrottle):
    """Partner apps (API keys), per key: a partner's volume never eats into staff's allowance."""

    scope = "partner"

    def get_cache_key(self, request, view):
        if not Actor.of(request.user).is_partner:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}


class _AtomicWindowThrottle(_RateFromSettings, throttling.SimpleRateThrottle):
    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate (not called without one)
    duration: int

    """A fixed window counted with one atomic increment (Redis INCR), so requests arriving at the same
    moment in different workers cannot all read the same history and all pass, as DRF's read-modify-write
    history allows. For the scopes where the exact count matters: logins and expensive work."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        self.cache.add(key, 0, timeout=int(self.duration) + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.add(key, 1, timeout=int(self.duration) + 1)
            count = 1
        return count <= self.num_requests

    def wait(self):
        return max(0.0, self.window_ends - self.timer())


class LoginThrottle(_AtomicWindowThrottle):
    """Login attempts per client address (the token login and the admin login share the bucket)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class DeepVerifyThrottle(_AtomicWindowThrottle):
    """`verify/?deep=true` queues a re-hash of every file: per caller (user or key)."""

    scope = "deep_verify"

    def get_cache_key(self, request, view):
        if request.query_params.get("deep", "").lower() not in ("true", "1", "yes"):
            return None
        user = request.user
        who = Actor.of(user)
        ident = who.api_key.pk if who.is_partner else f"u{user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _error_response(status: int, code: str, detail: str, *, api: bool, wait: float | None) -> HttpResponse:
    response: HttpResponse
    if api:
        response = JsonResponse(
            {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status
        )
    else:
        response = HttpResponse(
            f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(detail)}</p>", status=status,
            content_type="text/html; charset=utf-8",
        )
    if wait:
        response["Retry-After"] = str(int(wait) + 1)
    return response


def _minutes(wait: float | None) -> int:
    return max(1, round((wait or 60) / 60))


def throttled_response(wait: float | None, *, api: bool) -> HttpResponse:
    detail = _("Too many attempts. Try again in %(minutes)d minute(s).") % {"minutes": _minutes(wait)}
    return _error_response(429, "throttled", detail, api=api, wait=wait)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes: an account locked after repeated failures. API: the error format; admin: a page."""
    wait = settings.AXES_COOLOFF_TIME.total_seconds() if settings.AXES_COOLOFF_TIME else None
    detail = _("Too many failed logins for this account. Try again in %(minutes)d minute(s).") % {
        "minutes": _minutes(wait)
    }
    return _error_response(429, "locked_out", detail, api=request.path.startswith("/api/"), wait=wait)


class AdminLoginThrottleMiddleware:
    """The admin login form is throttled per client address like the token login (the `login` scope)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == self._login_path():
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):
                return throttled_response(throttle.wait(), api=False)
        return self.get_response(request)

    @staticmethod
    def _login_path():
        from django.urls import reverse

        return reverse("admin:login")
