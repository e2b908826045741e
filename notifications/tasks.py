"""Celery tasks: thin wrappers that take ids and call services (JSON arguments only)."""

from celery import shared_task

from . import services


@shared_task(name="notifications.deadlines_scan", soft_time_limit=240, time_limit=300)
def deadlines_scan() -> dict:
    """Beat, every minute: alert the deadlines that reached a new tier."""
    return services.deadline_alerts_scan()


@shared_task(name="notifications.deliveries_sweep", soft_time_limit=120, time_limit=180)
def deliveries_sweep() -> int:
    """Beat, every few minutes: re-enqueue pending deliveries that were never delivered."""
    return services.deliveries_sweep()


@shared_task(name="notifications.delivery_send", soft_time_limit=60, time_limit=90)
def delivery_send(delivery_id: int) -> str:
    """Idempotent: a second run of the same delivery finds it sent (or locked) and exits."""
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.deliveries_fan_out", soft_time_limit=60, time_limit=90)
def deliveries_fan_out(delivery_ids: list[int]) -> int:
    """One message per batch from the scan, one send task per delivery here."""
    for delivery_id in delivery_ids:
        delivery_send.apply_async(args=[delivery_id])
    return len(delivery_ids)
