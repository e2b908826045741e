"""Production settings refuse to load half-configured, naming what is missing (README, "Security")."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

FULL = {
    "DJANGO_SECRET_KEY": "a-production-secret-key-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "api.example.cn",
    "DATABASE_URL": "postgres://kameng:pw@db.example.cn:5432/kameng",
    "REDIS_URL": "redis://redis.example.cn:6379/0",
    "EMAIL_URL": "smtp+tls://alerts:pw@smtp.example.cn:587",
    "DJANGO_DEFAULT_FROM_EMAIL": "Kameng API <noreply@example.cn>",
    "KAMENG_DATA_KEYS": "hX4Y8QJ0d6b7n1o2m3l4k5j6i7h8g9f0e1d2c3b4a5Y=",
    "KAMENG_BLIND_INDEX_KEY": "a-production-blind-index-key-0123456789",
}
SHOW = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'proxy': s.SECURE_PROXY_SSL_HEADER, 'cache': s.CACHES['default']['BACKEND'], "
    "'broker': s.CELERY_BROKER_URL, 'db': s.DATABASES['default']['ENGINE'], 'email': s.EMAIL_BACKEND, "
    "'email_host': s.EMAIL_HOST, 'email_port': s.EMAIL_PORT, 'tls': s.EMAIL_USE_TLS, 'hosts': s.ALLOWED_HOSTS}))"
)


def run(env: dict, code: str = SHOW, *args: str) -> subprocess.CompletedProcess:
    """A fresh interpreter with only these variables (and no .env file) loading the production settings."""
    clean = {"PATH": os.environ.get("PATH", ""), "KAMENG_ENV_FILE": os.devnull,
             "DJANGO_SETTINGS_MODULE": "kameng_api.settings.production", **env}
    command = [sys.executable, *args] if args else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False)


def test_nothing_set_names_every_missing_variable():
    result = run({})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL or EMAIL_HOST",
                 "DJANGO_DEFAULT_FROM_EMAIL", "KAMENG_DATA_KEYS", "KAMENG_BLIND_INDEX_KEY"):
        assert name in result.stderr, name


@pytest.mark.parametrize("name", sorted(FULL))
def test_each_missing_variable_is_named_alone(name):
    env = {k: v for k, v in FULL.items() if k != name}
    result = run(env)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert name.replace("EMAIL_URL", "EMAIL_URL or EMAIL_HOST") in message
    assert [other for other in FULL if other != name and f"{other} (" in message] == []


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY (set, but shorter than 50"),
    ("DJANGO_SECRET_KEY", "insecure-local-key-change-me" + "x" * 40, "a placeholder"),
    ("EMAIL_URL", "", "EMAIL_URL or EMAIL_HOST"),
])
def test_unusable_values_are_refused(variable, value, expected):
    result = run({**FULL, variable: value})
    assert result.returncode != 0 and expected in result.stderr


def test_a_console_email_backend_is_refused():
    env = {k: v for k, v in FULL.items() if k != "EMAIL_URL"}
    result = run({**env, "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"})
    assert result.returncode != 0 and "delivers nothing" in result.stderr


def test_complete_settings_use_the_real_services_and_no_proxy_header_by_default():
    result = run(FULL)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["proxy"] is None
    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["broker"] == FULL["REDIS_URL"]
    assert shown["db"] == "django.db.backends.postgresql"
    assert shown["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (shown["email_host"], shown["email_port"], shown["tls"]) == ("smtp.example.cn", 587, True)
    assert shown["hosts"] == ["api.example.cn"]


def test_separate_email_variables_are_enough():
    env = {k: v for k, v in FULL.items() if k != "EMAIL_URL"}
    result = run({**env, "EMAIL_HOST": "smtp.example.cn", "EMAIL_PORT": "465", "EMAIL_USE_SSL": "true"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["email_port"] == 465


def test_proxy_ssl_header_only_with_a_declared_proxy():
    result = run({**FULL, "KAMENG_TRUSTED_PROXIES": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_check_deploy_passes_with_the_variables_given():
    result = run(FULL, "", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
