"""Periodic work of the privacy app (beat entry `privacy-retention` in kameng_api/settings/base.py)."""

from celery import shared_task

from . import services


@shared_task(name="privacy.retention_run", time_limit=3600, soft_time_limit=3500)
def retention_run() -> list[int]:
    """Nightly: anonymize what is due, purge the audit log past its period; returns the RetentionRun ids."""
    return [run.pk for run in services.retention_run()]
