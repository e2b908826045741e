"""Settings of the worker process in the end-to-end tests: the test settings, with email written to files
(the worker is another process, so the in-memory outbox would not reach the test)."""

import os

from kameng_api.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["KAMENG_TEST_EMAIL_DIR"]
KAMENG_WEBHOOK_BLOCK_PRIVATE = False
