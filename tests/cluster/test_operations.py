"""Liveness and readiness for a load balancer, and what lets a request land on any web node."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from cases.models import Case
from kameng_api.core import health
from kameng_api.core.models import IdempotencyRecord
from tests.cases.test_cases_api import URL
from tests.helpers import payload


def test_liveness_answers_without_touching_the_database(client):
    response = client.get("/livez")  # no django_db mark: any query would fail this test
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readiness_is_ready_when_the_database_answers_and_every_migration_is_applied(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["database"], body["migrations"]) == ("ready", "ok", "ok")


@pytest.mark.django_db(transaction=True)
def test_readiness_fails_while_a_migration_is_pending(client):
    recorder = MigrationRecorder(connection)
    row = recorder.migration_qs.get(app="evidence", name="0001_initial")
    row.delete()
    try:
        response = client.get("/readyz")
    finally:
        recorder.record_applied("evidence", "0001_initial")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "not_ready" and body["migrations"] == "pending"
    assert body["pending_migrations"] == ["evidence.0001_initial"]
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readiness_fails_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable():
        raise connection.Database.OperationalError("connection refused")

    monkeypatch.setattr(health, "pending_migrations", lambda alias="default": unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"
    assert client.get("/livez").status_code == 200


def test_readiness_is_refused_for_writes(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_readiness_fails_when_the_shared_cache_is_down(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    dead = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}})
    monkeypatch.setattr(health, "caches", {"default": dead})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["cache"] == "error: ConnectionError"


def test_with_redis_url_the_cache_is_shared_and_sessions_are_in_the_database(monkeypatch):
    """base.py as a deployment reads it: REDIS_URL makes the cache Redis; without it, local memory."""
    import importlib

    from kameng_api.settings import base

    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6379/2")
    monkeypatch.delenv("CACHE_URL", raising=False)
    shared = importlib.reload(base)
    assert shared.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert shared.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert shared.CACHES["default"]["LOCATION"] == "redis://10.0.0.5:6379/2"
    monkeypatch.setenv("REDIS_URL", "")
    alone = importlib.reload(base)
    assert alone.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    monkeypatch.undo()
    importlib.reload(base)


def test_a_retry_after_the_first_node_died_takes_over_the_stale_key(partner, platform, partner_key, settings):
    """The first request claimed the key and its node died before answering: nothing was written."""
    settings.KAMENG_IDEMPOTENCY_STALE_SECONDS = 60
    data = payload(platform)
    IdempotencyRecord.objects.create(api_key=partner_key[0], key="k-dead", fingerprint="x" * 64)
    record = IdempotencyRecord.objects.get(key="k-dead")
    first = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert first.status_code == 409  # a different body under that key
    record.fingerprint = _fingerprint_of(partner, data)
    record.save(update_fields=["fingerprint"])
    busy = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert busy.status_code == 409 and busy.json()["errors"][0]["code"] == "idempotency_in_progress"
    assert Case.objects.count() == 0

    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    retry = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert retry.status_code == 201, retry.json()
    again = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retry.json()["id"] and Case.objects.count() == 1


def test_a_failed_write_leaves_neither_the_case_nor_the_stored_answer(partner, platform, monkeypatch):
    from cases import services

    def crash(*args, **kwargs):
        raise RuntimeError("the node failed after the write")

    real = services.case_create

    def create_then_crash(*args, **kwargs):
        real(*args, **kwargs)
        crash()

    monkeypatch.setattr(services, "case_create", create_then_crash)
    partner.raise_request_exception = False
    response = partner.post(URL, payload(platform), format="json", HTTP_IDEMPOTENCY_KEY="k-crash")
    assert response.status_code == 500
    assert Case.objects.count() == 0 and not IdempotencyRecord.objects.filter(key="k-crash").exists()
    monkeypatch.undo()
    retry = partner.post(URL, payload(platform), format="json", HTTP_IDEMPOTENCY_KEY="k-crash")
    assert retry.status_code == 201 and Case.objects.count() == 1


def _fingerprint_of(partner, data) -> str:
    from rest_framework.test import APIRequestFactory

    from kameng_api.core.idempotency import _fingerprint

    request = APIRequestFactory().post(URL, data, format="json")
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    return _fingerprint(Request(request, parsers=[JSONParser()]))


def test_without_a_replica_every_read_stays_on_the_primary(analyst, platform):
    from kameng_api.core import replica

    assert not replica.configured() and not replica.replica_usable()
    router = replica.ReplicaRouter()
    assert router.db_for_read(Case) is None and router.db_for_write(Case) == "default"
    assert router.allow_migrate("replica", "cases") is False and router.allow_migrate("default", "cases") is None
    response = analyst.get("/api/v1/stats/platforms/")
    assert response.status_code == 200
    assert [row["platform"]["id"] for row in response.json()["results"]] == [platform.pk]
