"""The durable delivery task (django-tasks-db stores it in the same database as the outbox)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.tasks import task

logger = logging.getLogger("escalade.delivery")


@task()
def deliver_notification(notification_id: int) -> str:
    from escalade.notifications.delivery import deliver

    return deliver(notification_id)


def schedule(notification_id: int, run_after: datetime | None = None) -> None:
    """Queue the delivery. A lost task loses nothing: the worker also sweeps due rows."""
    try:
        if run_after is None:
            deliver_notification.enqueue(notification_id)
        else:
            deliver_notification.using(run_after=run_after).enqueue(notification_id)
    except Exception:  # the sweep will deliver it; enqueueing must never fail the caller
        logger.exception("tâche de livraison non créée pour la notification %s", notification_id)


def schedule_on_commit(notification_id: int) -> None:
    transaction.on_commit(lambda: schedule(notification_id))
