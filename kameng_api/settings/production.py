"""Production: every service named in the environment, or the process refuses to start.

base.py falls back to SQLite, kombu's filesystem broker, console e-mail and a per-process cache so that
`make run` works on a bare machine; none of those may serve real complaints (a per-process cache lets
each gunicorn worker count login attempts on its own, console e-mail never reaches anyone). So each
missing variable is named here and the settings fail to load: `manage.py`, gunicorn and Celery all stop
with the list (README, "Security").
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

_missing: list[str] = []


def _need(name: str, why: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        _missing.append(f"{name} ({why})")
    return value


DEBUG = False
SECRET_KEY = _need("DJANGO_SECRET_KEY", "a long random string; 50+ characters")
if SECRET_KEY and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("insecure", "change-me"))):
    _missing.append("DJANGO_SECRET_KEY (set, but shorter than 50 characters or a placeholder)")
if _need("DJANGO_ALLOWED_HOSTS", "the host names the API is served under, comma-separated"):
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
_need("DATABASE_URL", "PostgreSQL, e.g. postgres://user:password@host:5432/kameng; "
                      "without it the service would write to a local SQLite file")
_need("REDIS_URL", "Celery's broker and the cache the throttles and login limits share across workers, "
                   "e.g. redis://host:6379/0")

# E-mail: EMAIL_URL (smtp://, smtp+tls://, smtp+ssl://user:password@host:port) or the separate variables.
_email_url = env.str("EMAIL_URL", default="").strip()
if _email_url:
    _email = env.email_url_config(_email_url)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "")
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
else:
    EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = env.str("EMAIL_HOST", default="")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
if any(f".{kind}." in f".{EMAIL_BACKEND}" for kind in ("console", "locmem", "dummy", "filebased")):
    _missing.append(f"EMAIL_URL or EMAIL_HOST (the e-mail backend {EMAIL_BACKEND} delivers nothing)")
elif EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend" and not EMAIL_HOST:
    _missing.append("EMAIL_URL or EMAIL_HOST (the SMTP server alerts are sent through, "
                    "e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.cn:587)")
_need("KAMENG_DATA_KEYS", "the keys personal data is encrypted with (PIPL art. 51), comma-separated Fernet "
                         "keys, the first encrypts; make one with `manage.py rotate_data_keys --new-key`")
_need("KAMENG_BLIND_INDEX_KEY", "the key of the search indexes of personal data, 32+ random characters")
DEFAULT_FROM_EMAIL = _need("DJANGO_DEFAULT_FROM_EMAIL", "the sender of alert e-mails, "
                                                        "e.g. Kameng API <noreply@example.cn>")

if _missing:
    raise ImproperlyConfigured(
        "Production settings (kameng_api.settings.production) are missing: " + "; ".join(_missing)
        + ". See .env.example and README, 'Security'."
    )

# HTTPS. The scheme a proxy reports is believed only when a proxy is declared (KAMENG_TRUSTED_PROXIES):
# otherwise any client could claim https with one header.
if KAMENG_TRUSTED_PROXIES > 0:  # noqa: F405
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Keep database connections between requests (opening a PostgreSQL connection costs ~20 ms, as much as
# a whole statistics request); a health check before reuse replaces a connection the server dropped.
# DJANGO_CONN_MAX_AGE=0 closes after each request (e.g. behind PgBouncer in transaction mode).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
