"""Settings shared by every environment, read from the environment with typed readers.

Embedded defaults (SQLite, Celery on kombu's filesystem transport) let `make run` work on a
fresh machine; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

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
    "rest_framework.authtoken",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "cases.User"
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if env.str("S3_BUCKET", default=""):
    # Any S3-compatible store (MinIO, OSS, COS) through django-storages.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "access_key": env.str("S3_ACCESS_KEY", default=None),
            "secret_key": env.str("S3_SECRET_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Kameng API <noreply@kameng.local>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "kameng_api.core.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kameng_api.core.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kameng_api.core.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "kameng_api.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "kameng_api.core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "kameng_api.core.errors.KamengExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "415", "429", "500"],
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
        "RoleEnum": "cases.codes.Role.choices",
        "CaseOutcomeEnum": "cases.codes.Outcome.choices",
        "CaseEventKindEnum": "cases.codes.EventKind.choices",
        "EvidenceKindEnum": "evidence.codes.EvidenceKind.choices",
        "DeadlineKindEnum": "escalation.codes.DeadlineKind.choices",
        "EscalationOutcomeEnum": "escalation.codes.EscalationOutcome.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "kameng_api.core.openapi.generic_validation_errors",
    ],
}

# Celery: JSON only, acks late, time limits (STYLE.md, Background work).
REDIS_URL = env.str("REDIS_URL", default="")
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
CELERY_TIMEZONE = TIME_ZONE
# Periodic tasks, one entry per line so each app's stay separate.
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["notifications-deadline-scan"] = {"task": "notifications.deadlines_scan", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["notifications-delivery-sweep"] = {"task": "notifications.deliveries_sweep", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["stats-refresh"] = {"task": "stats.refresh", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["stats-rebuild"] = {"task": "stats.rebuild", "schedule": crontab(hour=3, minute=17)}
CELERY_BEAT_SCHEDULE["stats-detect-spikes"] = {"task": "stats.detect_spikes", "schedule": 900.0}
CELERY_BEAT_SCHEDULE["stats-quarterly-report"] = {
    "task": "stats.quarterly_report", "schedule": crontab(minute=30, hour=4, day_of_month=1, month_of_year="1,4,7,10")}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

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
KAMENG_SPIKE_BASELINE_DAYS = env.int("KAMENG_SPIKE_BASELINE_DAYS", default=28)
KAMENG_SPIKE_MIN_COUNT = env.int("KAMENG_SPIKE_MIN_COUNT", default=10)
KAMENG_SPIKE_SIGMAS = env.float("KAMENG_SPIKE_SIGMAS", default=3.0)

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
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
