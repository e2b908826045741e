from celery import shared_task

from .services import agreements_flag_overdue


@shared_task(name="procedure.agreements_watch", time_limit=300, soft_time_limit=240)
def agreements_watch() -> int:
    """Flag mediation agreements not performed by their payment day (once each, as a case event)."""
    return agreements_flag_overdue()
