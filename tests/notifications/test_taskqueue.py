"""The delivery task's row, written by Escalade's backend in one INSERT, is the row django-tasks-db
itself writes (the worker, `db_worker` and the admin read it as theirs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.tasks import task_backends
from django_tasks_db.backend import DatabaseBackend as LibraryBackend
from django_tasks_db.models import DBTaskResult

from escalade.notifications.taskqueue import DatabaseBackend
from escalade.notifications.tasks import deliver_notifications

pytestmark = pytest.mark.django_db

AS_THE_LIBRARY = LibraryBackend("default", {})


def _row(result):
    row = DBTaskResult.objects.filter(pk=result.id).values().get()
    return {name: value for name, value in row.items() if name not in ("id", "enqueued_at")}


@pytest.mark.parametrize("run_after", [None, datetime(2026, 11, 27, 11, 5, tzinfo=UTC)],
                         ids=["at once", "a retry's backoff"])
def test_the_row_written_is_the_one_the_library_writes(run_after):
    task = deliver_notifications if run_after is None else deliver_notifications.using(run_after=run_after)
    assert isinstance(task_backends["default"], DatabaseBackend)
    ours = task.enqueue([3, 1, 2])
    theirs = AS_THE_LIBRARY.enqueue(task, ([3, 1, 2],), {})
    assert _row(ours) == _row(theirs)
    assert _row(ours)["args_kwargs"] == {"args": [[3, 1, 2]], "kwargs": {}}
    stored = DBTaskResult.objects.get(pk=ours.id)
    assert stored.status == "READY" and stored.enqueued_at is not None
    assert stored.task_result.task.run_after == run_after
    assert task_backends["default"].get_result(ours.id).args == [[3, 1, 2]]


def test_the_enqueued_signal_gets_the_result_returned_once_built():
    from django.tasks.signals import task_enqueued

    seen = []

    def receiver(sender, task_result, **kwargs):
        seen.append((sender, task_result))

    task_enqueued.connect(receiver)
    try:
        result = deliver_notifications.enqueue([7])
    finally:
        task_enqueued.disconnect(receiver)
    assert seen == [(DatabaseBackend, result)]
    assert seen[0][1] is result and result.args == [[7]] and result.status == "READY"
