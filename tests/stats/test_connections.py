"""Production keeps database connections between requests, with a health check before reuse."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = ("from kameng_api.settings import production as p; import json; "
         "d = p.DATABASES['default']; print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS']]))")


def _production_database(**env):
    base = {"DJANGO_SECRET_KEY": "x" * 60, "PATH": "/usr/bin:/bin", "DJANGO_ALLOWED_HOSTS": "api.example.cn",
            "DATABASE_URL": "postgres://check@127.0.0.1:5432/check", "REDIS_URL": "redis://127.0.0.1:6379/0",
            "EMAIL_URL": "smtp+tls://check:check@smtp.example.cn:587", "KAMENG_ENV_FILE": "/dev/null",
            "DJANGO_DEFAULT_FROM_EMAIL": "Kameng API <noreply@example.cn>",
            "KAMENG_DATA_KEYS": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "KAMENG_BLIND_INDEX_KEY": "check-only-blind-index-key-0123456789"}
    out = subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env={**base, **env}, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_production_keeps_connections_with_health_checks():
    assert _production_database() == [600, True]


def test_connection_lifetime_is_a_setting():
    assert _production_database(DJANGO_CONN_MAX_AGE="0") == [0, True]
