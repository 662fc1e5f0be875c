"""The durable delivery task (django-tasks-db stores it in the same database as the outbox).

One task per committed transaction carries every notification that transaction wrote, so a
crossing alerting three people, or a batch of incidents, is one task and one SMTP connection. Rows
written one at a time join a task queued when their transaction commits (`schedule_on_commit`);
rows written together, as a grant's, get their task in the same transaction (`schedule`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError, transaction
from django.tasks import task

from escalade.notifications.delivery import deliver_many

logger = logging.getLogger("escalade.delivery")


@task()
def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    return deliver_many(notification_ids)


def schedule(notification_ids: list[int], run_after: datetime | None = None) -> None:
    """Queue the delivery. A lost task loses nothing: the worker also sweeps due rows. Inside a
    transaction the task is written in it: it commits with the rows (queued after their commit, it
    was a commit of its own: a second WAL flush for every grant), and is rolled back with them."""
    if not notification_ids:
        return
    try:
        queued = deliver_notifications if run_after is None else deliver_notifications.using(run_after=run_after)
        queued.enqueue(notification_ids)
    except Exception as exc:
        if isinstance(exc, DatabaseError) and transaction.get_connection().in_atomic_block:
            raise  # the transaction cannot go on: the cause fails with it, and nothing is half-written
        # The sweep will deliver them; enqueueing must never fail the caller.
        logger.exception("tâche de livraison non créée pour les notifications %s", notification_ids)


class _Batch:
    def __init__(self) -> None:
        self.ids: list[int] = []

    def flush(self) -> None:
        if self.ids:
            schedule(self.ids)


_local = threading.local()


def schedule_on_commit(notification_id: int) -> None:
    """Add the row to its transaction's task, queued when (and only if) the transaction commits."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        schedule([notification_id])
        return
    batch: _Batch | None = getattr(_local, "batch", None)
    # Django drops the callbacks of a rolled-back transaction or savepoint: if ours is gone, the
    # rows it carried are gone too, and this row starts a new batch.
    registered: list[Callable[[], None]] = [entry[1] for entry in connection.run_on_commit]
    if batch is None or not any(f == batch.flush for f in registered):
        batch = _local.batch = _Batch()
        transaction.on_commit(batch.flush)
    batch.ids.append(notification_id)
