"""enqueue(): the one way services start background work, after the transaction commits."""

import logging

from celery import current_app, shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> None:
    """Send `task` once the current transaction commits, so a rolled-back write never sends anything.

    `task` is a task or its registered name: a module the task module itself imports (stats.spikes, read by
    stats.tasks) names it, so the two do not import each other.

    A broker outage is logged, not raised: the row that asked for the work is already committed and the
    periodic sweeps pick it up again.
    """

    def send():
        try:
            if isinstance(task, str):
                current_app.send_task(task, args=args, kwargs=kwargs)
            else:
                task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            logger.exception("could not enqueue %s%r", getattr(task, "name", task), args)

    transaction.on_commit(send)


@shared_task(name="core.idempotency_purge", ignore_result=True)
def idempotency_purge_task() -> int:
    from .idempotency import idempotency_purge

    return idempotency_purge()
