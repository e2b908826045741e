"""Periodic work of the stats app (beat entries in kameng_api/settings/base.py)."""

from celery import shared_task

from . import notices, services, spikes


@shared_task(name="stats.refresh", time_limit=600, soft_time_limit=540)
def refresh_stats() -> dict:
    """Incremental: only the cases changed since the last run and their (platform, day) groups."""
    return services.stats_refresh()


@shared_task(name="stats.rebuild", time_limit=3600, soft_time_limit=3500)
def rebuild_stats() -> dict:
    """Nightly full rebuild: corrects anything an incremental run cannot see (e.g. deleted rows)."""
    return services.stats_rebuild()


@shared_task(name="stats.detect_spikes", time_limit=300, soft_time_limit=240)
def detect_spikes() -> list[int]:
    return [incident.id for incident in spikes.spikes_detect()]


@shared_task(name="stats.notify_mass_incident", autoretry_for=(OSError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def notify_mass_incident(notice_id: int) -> bool:
    return notices.mass_incident_notice_send(notice_id=notice_id)


@shared_task(name="stats.quarterly_report", time_limit=1800, soft_time_limit=1700)
def quarterly_report() -> list[int]:
    """The 1st of each quarter: the last quarter's complaint analysis (XLSX + DOCX), kept for download."""
    from django.utils import timezone

    from .reports import quarterly_reports_prepare

    return quarterly_reports_prepare(timezone.localdate())
