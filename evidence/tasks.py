"""Celery tasks of the evidence app: thin wrappers that take ids and call services (JSON arguments only)."""

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(name="evidence.timestamp_stamp", soft_time_limit=120, time_limit=180,
             autoretry_for=(OperationalError,), retry_backoff=2, retry_jitter=True, max_retries=5)
def timestamp_stamp(timestamp_id: int) -> str:
    """Ask the configured TSAs for one token; idempotent (a stamped or locked row is skipped). A database
    hiccup (SQLite's "database is locked" in the demo) is retried by Celery; TSA failures by the service."""
    return services.timestamp_attempt(timestamp_id=timestamp_id)


@shared_task(name="evidence.timestamps_sweep", soft_time_limit=120, time_limit=180)
def timestamps_sweep() -> int:
    """Beat, every minute: re-enqueue due rows and request tokens for anything not yet requested."""
    return services.timestamps_sweep()


@shared_task(name="evidence.timestamps_stamp", soft_time_limit=240, time_limit=300,
             autoretry_for=(OperationalError,), retry_backoff=2, retry_jitter=True, max_retries=5)
def timestamps_stamp(timestamp_ids: list[int]) -> list[str]:
    """The rows one write created (an item and its chain head), sent as one message after commit."""
    return [services.timestamp_attempt(timestamp_id=pk) for pk in timestamp_ids]


@shared_task(name="evidence.file_check", soft_time_limit=3300, time_limit=3600)
def file_check(check_id: int) -> str:
    """Re-hash a case's stored files (verify/?deep=true, or the sweep). A second run of the same check exits."""
    return services.file_check_run(check_id=check_id)


@shared_task(name="evidence.file_checks_sweep", soft_time_limit=120, time_limit=180)
def file_checks_sweep() -> int:
    """Beat: queue checks for the cases whose files were checked longest ago (a bounded batch per run)."""
    return services.file_checks_sweep()
