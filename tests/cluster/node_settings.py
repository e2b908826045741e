"""Settings of the processes the cluster and replica tests start (web nodes, workers, beats): the test
settings, with what a multi-node deployment shares put back as base.py builds it from the environment —
the Redis cache (REDIS_URL), evidence on S3 (S3_BUCKET) — and e-mail written to files the test counts."""

import os

from kameng_api.settings import base
from kameng_api.settings.test import *  # noqa: F403

CACHES = base.CACHES
STORAGES = {**base.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
if os.environ.get("KAMENG_TEST_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["KAMENG_TEST_EMAIL_DIR"]
KAMENG_WEBHOOK_BLOCK_PRIVATE = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
if os.environ.get("KAMENG_TEST_SMTP_PORT"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = int(os.environ["KAMENG_TEST_SMTP_PORT"])
    EMAIL_TIMEOUT = 10
if os.environ.get("KAMENG_TEST_FAST_BEAT"):
    # The deadline scan and the delivery sweep every second or two, so deadlines pass during a short run.
    CELERY_BEAT_SCHEDULE = {
        "notifications-deadline-scan": {"task": "notifications.deadlines_scan", "schedule": 1.5},
        "notifications-delivery-sweep": {"task": "notifications.deliveries_sweep", "schedule": 2.0},
    }
# The throttle rates a deployment has (the test settings raise them out of the way).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}  # noqa: F405
