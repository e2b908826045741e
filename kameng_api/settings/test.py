"""Tests run on whatever DATABASE_URL / REDIS_URL say; SQLite and no broker server otherwise."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=tempfile.mkdtemp(prefix="kameng-media-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test process keeps its own cache, so no throttle counter or cached value leaks between tests or runs;
# the cluster test's nodes use the shared Redis cache of base.py (tests/cluster/node_settings.py).
# (A server a test starts as several processes sets KAMENG_TEST_SHARED_CACHE=1 to share the Redis cache.)
if not env.bool("KAMENG_TEST_SHARED_CACHE", default=False):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kameng-test"}}
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": "10000/min", "user": "100000/min", "partner": "100000/min",
    "login": env.str("THROTTLE_LOGIN", default="10000/min"),  # the gunicorn test sets a real rate
    "deep_verify": "10000/min",
}
# tests/test_security.py turns these on with the production values.
KAMENG_ADMIN_OTP_ENFORCED = False
if not REDIS_URL:  # noqa: F405
    # Shared with the worker processes the end-to-end tests start (they inherit the environment).
    _broker = os.environ.setdefault("KAMENG_TEST_BROKER_DIR", tempfile.mkdtemp(prefix="kameng-broker-"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": _broker, "data_folder_out": _broker,
                                       "polling_interval": 0.2}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so worker processes started by the end-to-end tests share the test database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.setdefault("KAMENG_TEST_SQLITE",
                                      str(Path(tempfile.mkdtemp(prefix="kameng-db-")) / "test.sqlite3")),
    }
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = tempfile.mkdtemp(prefix="kameng-static-")
KAMENG_WEBHOOK_BLOCK_PRIVATE = False  # a local receiver in the end-to-end tests
# Fixed test keys (the worker processes the end-to-end tests start read the same), unless the environment
# names others.
KAMENG_DATA_KEYS = env.list("KAMENG_DATA_KEYS", default=["hX4Y8QJ0d6b7n1o2m3l4k5j6i7h8g9f0e1d2c3b4a5Y="])
KAMENG_BLIND_INDEX_KEY = env.str("KAMENG_BLIND_INDEX_KEY", default="test-blind-index-key-0123456789abcdef")
# What is kept between requests in the shared cache (stats answers, reference snapshots) is off: a server or
# worker the tests start shares Redis while the test process itself does not, so it would not see the test's
# changes. Their own tests turn them on (tests/stats/test_answers.py, tests/escalation/test_snapshots.py).
KAMENG_STATS_ANSWER_SECONDS = env.int("KAMENG_STATS_ANSWER_SECONDS", default=0)
KAMENG_REFERENCE_SNAPSHOTS = env.bool("KAMENG_REFERENCE_SNAPSHOTS", default=False)
