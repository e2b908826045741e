"""Settings shared by every environment, read from the environment with typed readers.

Embedded defaults (SQLite, Celery on kombu's filesystem transport) let `make run` work on a
fresh machine; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# KAMENG_ENV_FILE: another file than .env (the settings tests point it at an empty one).
environ.Env.read_env(env.str("KAMENG_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "kameng_api.core",
    "cases",
    "evidence",
    "escalation",
    "notifications",
    "stats",
    "privacy",
    "procedure",
    "demo",
]

MIDDLEWARE = [
    "kameng_api.core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kameng_api.core.second_factor.AdminSecondFactorMiddleware",
    "kameng_api.core.security.AdminLoginThrottleMiddleware",
    "kameng_api.core.audit.PersonalDataAuditMiddleware",
    "kameng_api.core.middleware.AdminLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kameng_api.urls"
WSGI_APPLICATION = "kameng_api.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kameng_api" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a node survives a database restart or failover
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("KAMENG_GENERIC_PLANS", True):
    # The statements the application prepares (kameng_api/core/rendered.py: list pages, a case's detail, audit
    # rows) are planned once per connection. Left to choose, PostgreSQL kept re-planning some of them on every
    # run (a filtered deep page: 1 ms of planning for 1.2 ms of running) because its custom plans looked a
    # little cheaper; their filters are equalities on indexed columns, where the generic plan is as good.
    # Only prepared statements are concerned: Django's own statements and searches are not prepared.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
# Statistics reads may go to a streaming replica (kameng_api/core/replica.py); every write and every
# refresh stays on the primary. A replica that lags more than KAMENG_REPLICA_MAX_LAG seconds or does not
# answer is skipped, with a log line, and the primary answers instead.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["kameng_api.core.replica.ReplicaRouter"]
KAMENG_REPLICA_MAX_LAG = env.float("KAMENG_REPLICA_MAX_LAG", default=30.0)  # seconds
KAMENG_REPLICA_CHECK_INTERVAL = env.float("KAMENG_REPLICA_CHECK_INTERVAL", default=5.0)  # seconds
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default is shared by the web process, the worker and beat. WAL lets readers run beside
    # the writer; a busy timeout makes a writer wait for the lock instead of failing with "database is
    # locked" (which rolled back a delivery's "sent" mark after the e-mail had left, so the sweep sent it
    # again); IMMEDIATE takes the write lock at BEGIN, so two transactions never both read and then fail
    # to upgrade to a write (SQLite has no SELECT ... FOR UPDATE; this is its equivalent).
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "cases.User"
# The organization and partner-key models core refers to (core imports no app: kameng_api/core/accounts.py).
KAMENG_ORGANIZATION_MODEL = "cases.Organization"
KAMENG_API_KEY_MODEL = "cases.ApiKey"
# django-axes first: it refuses a locked-out account before the password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}


def s3_client_config(addressing_style: str = "path"):
    """botocore settings for S3-compatible stores: checksums only where the API requires them (many
    S3-compatible servers refuse the newer default ones, and they cost a pass over every byte), bounded
    timeouts, a few retries."""
    from botocore.config import Config

    return Config(s3={"addressing_style": addressing_style}, signature_version="s3v4",
                  request_checksum_calculation="when_required", response_checksum_validation="when_required",
                  connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})


if env.str("S3_BUCKET", default=""):
    # Any S3-compatible store (SeaweedFS, MinIO, OSS, COS, AWS) through django-storages; evidence/storage.py
    # streams to and from it. Objects stay private: private ACL, and no URL to them is ever handed out.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "access_key": env.str("S3_ACCESS_KEY", default=None),
            "secret_key": env.str("S3_SECRET_KEY", default=None),
            "region_name": env.str("S3_REGION", default=None),
            "client_config": s3_client_config(env.str("S3_ADDRESSING_STYLE", default="path")),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }

# E-mail: EMAIL_URL (django-environ: smtp://user:password@host:25, smtp+tls://...:587 for STARTTLS,
# smtp+ssl://...:465 for implicit TLS, consolemail://) or the separate EMAIL_HOST / EMAIL_PORT /
# EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS / EMAIL_USE_SSL; with a host, the backend is SMTP.
_email_url = env.str("EMAIL_URL", default="")
if _email_url:
    globals().update({k: v for k, v in env.email_url_config(_email_url).items() if k.startswith("EMAIL_")})
else:
    EMAIL_HOST = env.str("EMAIL_HOST", default="")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
    EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                     else "django.core.mail.backends.console.EmailBackend")
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default=EMAIL_BACKEND)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Kameng API <noreply@kameng.local>")
SERVER_EMAIL = env.str("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kameng_api.core.tokens.StaffTokenAuthentication",
        "kameng_api.core.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "kameng_api.core.preconditions.MethodAllowed",
        "kameng_api.core.permissions.RolePermission",
        "kameng_api.core.preconditions.IfMatchRequired",
    ],
    "DEFAULT_FILTER_BACKENDS": ["kameng_api.core.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kameng_api.core.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "kameng_api.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "kameng_api.core.security.AnonThrottle",
        "kameng_api.core.security.StaffThrottle",
        "kameng_api.core.security.PartnerThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "partner": env.str("THROTTLE_PARTNER", default="300/min"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "deep_verify": env.str("THROTTLE_DEEP_VERIFY", default="6/hour"),
    },
    # The throttles take the client address from kameng_api.core.security.client_address, which reads
    # KAMENG_TRUSTED_PROXIES; NUM_PROXIES is set to match for anything else that reads DRF's setting.
    "NUM_PROXIES": env.int("KAMENG_TRUSTED_PROXIES", default=0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Request bodies are JSON (API.md); only the evidence upload takes multipart (its own parser_classes).
    "DEFAULT_PARSER_CLASSES": ["kameng_api.core.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "kameng_api.core.errors.KamengExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "409", "413", "415", "428", "429", "500"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kameng API",
    "DESCRIPTION": (
        "Complaint case management for 卡盟 (digital-goods) disputes: cases, evidence, escalation, "
        "deadlines and statistics. Staff authenticate with `Authorization: Token <token>` "
        "(from `POST /api/v1/auth/token/`), partner apps with `Authorization: Api-Key <key>`. "
        "Every 4xx/5xx body has the shape `{type, errors: [{code, detail, attr}]}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "CaseStatusEnum": "cases.codes.Status.choices",
        "DisputeTypeEnum": "cases.codes.DisputeType.choices",
        "ProductTypeEnum": "cases.codes.ProductType.choices",
        "PaymentChannelEnum": "cases.codes.PaymentChannel.choices",
        "ClaimKindEnum": "cases.codes.ClaimKind.choices",
        "RoleEnum": "kameng_api.core.roles.Role.choices",
        "CaseOutcomeEnum": "cases.codes.Outcome.choices",
        "CaseEventKindEnum": "cases.codes.EventKind.choices",
        "EvidenceKindEnum": "evidence.codes.EvidenceKind.choices",
        "DeadlineKindEnum": "escalation.codes.DeadlineKind.choices",
        "EscalationOutcomeEnum": "escalation.codes.EscalationOutcome.choices",
        "EvidenceStageEnum": "evidence.codes.Stage.choices",
        "ProcedureStageEnum": "procedure.codes.Stage.choices",
        "MediationSessionOutcomeEnum": "procedure.codes.SessionOutcome.choices",
        "ProcedureWaitingOnEnum": "procedure.codes.WaitingOn.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "kameng_api.core.openapi.generic_validation_errors",
        "kameng_api.core.openapi.add_links",
        "kameng_api.core.openapi.query_parameter_rules",
    ],
}

# Security (README "Security"): the client address, a cache shared by every worker, login lockout,
# staff tokens, the admin's second factor.
# How many reverse proxies in front of the service append to X-Forwarded-For; 0 = ignore the header.
KAMENG_TRUSTED_PROXIES = env.int("KAMENG_TRUSTED_PROXIES", default=0)
REDIS_URL = env.str("REDIS_URL", default="")
# django-axes: per-account lockout on the token login and the admin login (attempts in the database).
AXES_FAILURE_LIMIT = env.int("KAMENG_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("KAMENG_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for ip_address in the lockout parameters. Not here: per address, both logins are limited
# by the `login` throttle (kameng_api/core/security.py) on the shared cache; locking an address would let
# one wrong-password burst lock out a whole office behind one NAT.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The statistics' covering indexes (INCLUDE columns) are a PostgreSQL feature; SQLite keeps the key
    # columns only, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "kameng_api.core.security.client_address"
AXES_LOCKOUT_CALLABLE = "kameng_api.core.security.lockout_response"
AXES_VERBOSE = False
# django-rest-knox: staff tokens stored as SHA-512 digests, expiring, one per login.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("KAMENG_TOKEN_TTL_HOURS", default=10)),
    "TOKEN_LIMIT_PER_USER": env.int("KAMENG_TOKEN_LIMIT_PER_USER", default=20),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
# django-otp: TOTP for the admin (kameng_api/core/second_factor.py).
KAMENG_ADMIN_OTP_ENFORCED = env.bool("KAMENG_ADMIN_OTP_ENFORCED", default=True)
KAMENG_ADMIN_OTP_EXEMPT_ORGS = env.list("KAMENG_ADMIN_OTP_EXEMPT_ORGS", default=[])
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Kameng API")

# Celery: JSON only, acks late, time limits (STYLE.md, Background work).

# Stateless web nodes: nothing a request needs lives in one node's memory or disk. Sessions (admin) and
# staff tokens are rows in the database, idempotency records too; with REDIS_URL the cache (throttle
# counters) is shared by every node. Without it (`make run`, one process) a local-memory cache is enough.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CACHE_URL = env.str("CACHE_URL", default="") or REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "kameng",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kameng"}
}
# A pending Idempotency-Key whose request never finished (its node died) is taken over after this long.
KAMENG_IDEMPOTENCY_STALE_SECONDS = env.int("KAMENG_IDEMPOTENCY_STALE_SECONDS", default=900)
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600}
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "store_processed": False,
    }
)
if not REDIS_URL:
    for _sub in ("out", "processed"):
        (VAR_DIR / "broker" / _sub).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Graceful shutdown: on SIGTERM a worker stops taking tasks and lets running ones finish (warm shutdown);
# a task still running after the soft-shutdown window is given back to the broker, never lost (acks late).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=20.0)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic tasks, one entry per line so each app's stay separate.
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["notifications-deadline-scan"] = {"task": "notifications.deadlines_scan", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["notifications-delivery-sweep"] = {"task": "notifications.deliveries_sweep", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["stats-refresh"] = {"task": "stats.refresh", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["stats-rebuild"] = {"task": "stats.rebuild", "schedule": crontab(hour=3, minute=17)}
CELERY_BEAT_SCHEDULE["stats-detect-spikes"] = {"task": "stats.detect_spikes", "schedule": 900.0}
CELERY_BEAT_SCHEDULE["evidence-file-checks"] = {"task": "evidence.file_checks_sweep", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["core-idempotency-purge"] = {"task": "core.idempotency_purge", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["evidence-timestamps-sweep"] = {"task": "evidence.timestamps_sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["stats-quarterly-report"] = {
    "task": "stats.quarterly_report", "schedule": crontab(minute=30, hour=4, day_of_month=1, month_of_year="1,4,7,10")}
CELERY_BEAT_SCHEDULE["privacy-retention"] = {"task": "privacy.retention_run", "schedule": crontab(hour=2, minute=41)}
CELERY_BEAT_SCHEDULE["procedure-agreements-watch"] = {"task": "procedure.agreements_watch", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Idempotency-Key replays are possible for this long; older records are purged.
KAMENG_IDEMPOTENCY_TTL_HOURS = env.int("KAMENG_IDEMPOTENCY_TTL_HOURS", default=24)

# Case rules that are settings rather than law.
KAMENG_UNREASONABLE_CLAIM_RATIO = env.int("KAMENG_UNREASONABLE_CLAIM_RATIO", default=3)
KAMENG_MAX_AMOUNT = env.int("KAMENG_MAX_AMOUNT", default=100_000_000)

# Deadline alerts and webhooks (notifications/).
KAMENG_ALERT_LEAD_HOURS = env.list("KAMENG_ALERT_LEAD_HOURS", cast=int, default=[24, 2])
KAMENG_ALERT_SCAN_BATCH = env.int("KAMENG_ALERT_SCAN_BATCH", default=1000)
KAMENG_DELIVERY_MAX_ATTEMPTS = env.int("KAMENG_DELIVERY_MAX_ATTEMPTS", default=8)
KAMENG_DELIVERY_BACKOFF_BASE = env.int("KAMENG_DELIVERY_BACKOFF_BASE", default=30)  # seconds
KAMENG_DELIVERY_BACKOFF_CAP = env.int("KAMENG_DELIVERY_BACKOFF_CAP", default=3600)  # seconds
KAMENG_DELIVERY_SWEEP_GRACE = env.int("KAMENG_DELIVERY_SWEEP_GRACE", default=120)  # seconds
KAMENG_WEBHOOK_TIMEOUT = env.int("KAMENG_WEBHOOK_TIMEOUT", default=10)  # seconds
KAMENG_WEBHOOK_DISABLE_AFTER = env.int("KAMENG_WEBHOOK_DISABLE_AFTER", default=10)  # failed attempts in a row
# Refuse webhook URLs that resolve to private, loopback or link-local addresses (SSRF). Off in tests only.
KAMENG_WEBHOOK_BLOCK_PRIVATE = env.bool("KAMENG_WEBHOOK_BLOCK_PRIVATE", default=True)

# Statistics (stats/rules.py): "organization" = each organization's own cases, "national" = all.
KAMENG_STATS_SCOPE = env.str("KAMENG_STATS_SCOPE", default="organization")
KAMENG_STATS_MIN_SAMPLE = env.int("KAMENG_STATS_MIN_SAMPLE", default=10)
# Statistics answers are kept in the shared cache until the next refresh (stats/answers.py), at most this long;
# 0 computes every request.
KAMENG_STATS_ANSWER_SECONDS = env.int("KAMENG_STATS_ANSWER_SECONDS", default=300)
# The rule table and the working-day calendar are kept per process until they change (core/snapshots.py).
KAMENG_REFERENCE_SNAPSHOTS = env.bool("KAMENG_REFERENCE_SNAPSHOTS", default=True)
KAMENG_SPIKE_BASELINE_DAYS = env.int("KAMENG_SPIKE_BASELINE_DAYS", default=28)
KAMENG_SPIKE_MIN_COUNT = env.int("KAMENG_SPIKE_MIN_COUNT", default=10)
KAMENG_SPIKE_SIGMAS = env.float("KAMENG_SPIKE_SIGMAS", default=3.0)

# Personal data at rest (kameng_api/core/crypto.py; README "Personal data (PIPL)"). KAMENG_DATA_KEYS: Fernet
# keys, comma-separated, the first encrypts and all decrypt; KAMENG_BLIND_INDEX_KEY: the HMAC key of the
# search indexes (never rotated with the data keys). Unset (the embedded default): a key file under var/.
KAMENG_DATA_KEYS = env.list("KAMENG_DATA_KEYS", default=[])
KAMENG_BLIND_INDEX_KEY = env.str("KAMENG_BLIND_INDEX_KEY", default="")
KAMENG_DATA_KEY_FILE = env.str("KAMENG_DATA_KEY_FILE", default=str(VAR_DIR / "data-keys.json"))
KAMENG_ROTATE_BATCH = env.int("KAMENG_ROTATE_BATCH", default=500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Evidence uploads: streamed to disk by evidence.uploads.EvidenceUploadHandler on the evidence endpoint;
# nowhere is an uploaded file held in memory (no MemoryFileUploadHandler), other form data is capped.
EVIDENCE_MAX_UPLOAD_BYTES = env.int("EVIDENCE_MAX_UPLOAD_BYTES", default=2 * 1024**3)
EVIDENCE_UPLOAD_TEMP_DIR = env.str("EVIDENCE_UPLOAD_TEMP_DIR", default="") or None
# On S3 an upload is sent in parts of this size while the next part fills, at most this many parts being
# sent at once (memory per upload: about (n + 1) parts).
EVIDENCE_S3_PART_BYTES = env.int("EVIDENCE_S3_PART_BYTES", default=8 * 1024 * 1024)
EVIDENCE_S3_PARTS_IN_FLIGHT = env.int("EVIDENCE_S3_PARTS_IN_FLIGHT", default=1)
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Cost bounds (README "Security"): stored evidence per case, and the background re-hash of stored files.
EVIDENCE_CASE_QUOTA_BYTES = env.int("EVIDENCE_CASE_QUOTA_BYTES", default=2 * 1024**3)
KAMENG_FILE_CHECK_INTERVAL_DAYS = env.int("KAMENG_FILE_CHECK_INTERVAL_DAYS", default=7)
KAMENG_FILE_CHECK_BATCH = env.int("KAMENG_FILE_CHECK_BATCH", default=50)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Longest URL (path and query) the application serves: 414 in the error format beyond it. gunicorn's
# limit_request_line (gunicorn.conf.py) is set above it, so gunicorn's HTML page never answers first.
KAMENG_MAX_URL_LENGTH = env.int("KAMENG_MAX_URL_LENGTH", default=4096)

# RFC 3161 trusted timestamps (evidence/timestamps.py). Empty URL list = no TSA configured: evidence works
# as without it and its status says so. Several URLs are tried in order (failover).
KAMENG_TSA_URL = env.list("KAMENG_TSA_URL", default=[])
KAMENG_TSA_USERNAME = env.str("KAMENG_TSA_USERNAME", default="")
KAMENG_TSA_PASSWORD = env.str("KAMENG_TSA_PASSWORD", default="")
KAMENG_TSA_CA_FILE = env.str("KAMENG_TSA_CA_FILE", default="")  # PEM: the TSAs' root (and intermediate) CAs
KAMENG_TSA_CERT_FILE = env.str("KAMENG_TSA_CERT_FILE", default="")  # optional PEM: pin the TSA signing certs
KAMENG_TSA_TLS_CA_FILE = env.str("KAMENG_TSA_TLS_CA_FILE", default="")  # optional: CA bundle for https TSA URLs
KAMENG_TSA_TIMEOUT = env.float("KAMENG_TSA_TIMEOUT", default=10.0)  # seconds per TSA
KAMENG_TSA_MAX_SKEW = env.float("KAMENG_TSA_MAX_SKEW", default=300.0)  # seconds, plus the token's accuracy
KAMENG_TSA_MAX_ATTEMPTS = env.int("KAMENG_TSA_MAX_ATTEMPTS", default=8)
KAMENG_TSA_BACKOFF_BASE = env.float("KAMENG_TSA_BACKOFF_BASE", default=30.0)  # seconds
KAMENG_TSA_BACKOFF_CAP = env.float("KAMENG_TSA_BACKOFF_CAP", default=3600.0)  # seconds
KAMENG_TSA_FAILED_RETRY = env.float("KAMENG_TSA_FAILED_RETRY", default=3600.0)  # then a failed row is retried
KAMENG_TSA_SWEEP_GRACE = env.float("KAMENG_TSA_SWEEP_GRACE", default=60.0)  # seconds

# Lists (kameng_api/core/pagination.py): `count` is exact up to this many matching rows, PostgreSQL's
# estimate above it (`count_exact` false).
KAMENG_LIST_COUNT_EXACT_UP_TO = env.int("KAMENG_LIST_COUNT_EXACT_UP_TO", default=1000)
# ...and an estimate (a full count on SQLite) is kept this many seconds per query in each worker.
KAMENG_LIST_COUNT_ESTIMATE_TTL = env.int("KAMENG_LIST_COUNT_ESTIMATE_TTL", default=60)
