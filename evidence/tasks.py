"""Celery tasks of the evidence app: thin wrappers that take ids and call services (JSON arguments only)."""

from celery import shared_task

from . import services


@shared_task(name="evidence.timestamp_stamp", soft_time_limit=120, time_limit=180)
def timestamp_stamp(timestamp_id: int) -> str:
    """Ask the configured TSAs for one token; idempotent (a stamped or locked row is skipped)."""
    return services.timestamp_attempt(timestamp_id=timestamp_id)


@shared_task(name="evidence.timestamps_sweep", soft_time_limit=120, time_limit=180)
def timestamps_sweep() -> int:
    """Beat, every minute: re-enqueue due rows and request tokens for anything not yet requested."""
    return services.timestamps_sweep()
