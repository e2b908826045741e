"""Celery tasks: thin wrappers that take ids and call services (JSON arguments only)."""

from celery import shared_task

from . import services


@shared_task(name="evidence.file_check", soft_time_limit=3300, time_limit=3600)
def file_check(check_id: int) -> str:
    """Re-hash a case's stored files (verify/?deep=true, or the sweep). A second run of the same check exits."""
    return services.file_check_run(check_id=check_id)


@shared_task(name="evidence.file_checks_sweep", soft_time_limit=120, time_limit=180)
def file_checks_sweep() -> int:
    """Beat: queue checks for the cases whose files were checked longest ago (a bounded batch per run)."""
    return services.file_checks_sweep()
