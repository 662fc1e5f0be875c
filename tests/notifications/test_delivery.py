"""Delivery: at least once, with backoff, dead letters, leases, the task path, and apprise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from escalade.escalations.models import Escalation
from escalade.incidents.models import EventKind, IncidentPause
from escalade.notifications import conf, delivery
from escalade.notifications.models import DeliveryStatus, Notification, NotificationKind
from escalade.notifications.outbox import enqueue
from escalade.worker import TickReport, Watcher

from .support import FakeClock, SMTPSink, WebhookReceiver, free_port, now_utc, open_incident, policy_with


def _breached(world: Any, number: str = "REQ-1") -> tuple[Any, Any]:
    now = now_utc()
    return open_incident(world.customer_a, number, now - timedelta(minutes=31), now=now), now


def test_backoff_doubles_from_30_seconds_and_is_capped() -> None:
    assert [conf.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert conf.backoff(20) == timedelta(hours=1)


def test_backoff_stays_at_the_cap_however_many_attempts_are_allowed() -> None:
    """A two-minute outage with a 2 s cap means ~60 attempts; 2**60 × 30 s overflowed timedelta."""
    assert conf.backoff(60) == conf.backoff(1_000_000) == timedelta(hours=1)


@pytest.mark.django_db
def test_a_chat_webhook_receives_the_alert_through_apprise(world: Any, smtp: SMTPSink, tmp_path: Path) -> None:
    with WebhookReceiver() as hook, policy_with(tmp_path, apprise={"escalade@hipcom.fr": hook.url}):
        _incident, now = _breached(world, "REQ-55")
        Watcher(FakeClock(now)).tick()
        [body] = hook.bodies
        assert body["title"] == "[Escalade] REQ-55 — délai de prise en charge dépassé"
        assert "REQ-55" in body["message"] and "04 26 78 10 67" in body["message"]
        assert len(smtp.to("escalade@hipcom.fr")) == 1  # and by email too
        assert Notification.objects.filter(channel="apprise", status=DeliveryStatus.SENT).count() == 1


@pytest.mark.django_db
def test_a_failed_send_is_retried_with_backoff_then_dead_after_the_last_attempt(
    world: Any, settings: Any
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
    settings.ESCALADE_DELIVERY_MAX_ATTEMPTS = 3
    _incident, now = _breached(world)
    clock = FakeClock(now)
    watcher = Watcher(clock)
    watcher.tick()
    row = Notification.objects.get(kind=NotificationKind.BREACH)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    assert timedelta(seconds=29) < row.next_attempt_at - now < timedelta(seconds=32)

    watcher.tick()  # not yet due: no new attempt
    assert Notification.objects.get(pk=row.pk).attempts == 1
    for _ in range(2):
        clock.advance(timedelta(minutes=2))
        watcher.tick()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.DEAD, 3)


@pytest.mark.django_db
def test_a_claim_whose_worker_died_goes_back_to_pending_once_the_lease_expires(world: Any, smtp: SMTPSink) -> None:
    _incident, now = _breached(world)
    Watcher(FakeClock(now)).watch(TickReport())  # the alert is written, not sent yet
    now += timedelta(seconds=1)
    row = Notification.objects.get(kind=NotificationKind.BREACH)
    assert delivery.claim(row.pk, now)  # a worker took it… and died
    assert not delivery.claim(row.pk, now)  # nobody else may take it meanwhile
    assert delivery.requeue_expired(now + timedelta(seconds=10)) == 0
    assert delivery.requeue_expired(now + conf.lease() + timedelta(seconds=1)) == 1
    Watcher(FakeClock(now + conf.lease() + timedelta(seconds=2)), run_tasks=False).tick()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(smtp.to("escalade@hipcom.fr")) == 1


@pytest.mark.django_db
def test_enqueueing_the_same_cause_twice_adds_nothing(world: Any) -> None:
    incident, _now = _breached(world)
    first = enqueue(kind="breach", key="x", recipient="a@b.fr", incident=incident)
    again = enqueue(kind="breach", key="x", recipient="a@b.fr", incident=incident)
    assert first is not None and again is not None and first.pk == again.pk


@pytest.mark.django_db(transaction=True)
def test_notifications_are_queued_as_a_durable_task_once_their_cause_commits(world: Any, smtp: SMTPSink) -> None:
    """An escalation granted through the API or the portal: its rows travel in one durable task."""
    from django_tasks_db.models import DBTaskResult

    from escalade.escalations.services import request_escalation

    now = now_utc()
    open_incident(world.customer_a, "REQ-1", now - timedelta(minutes=65), now=now)  # level 1 is open
    assert request_escalation(user=None, request_number="REQ-1", reason="coupure", now=now).created
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "escalade.notifications.tasks.deliver_notifications"
    assert sorted(task.args_kwargs["args"][0]) == sorted(Notification.objects.values_list("pk", flat=True))
    Watcher(FakeClock(now + timedelta(seconds=1))).tick()  # runs the task in-process
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and task.return_value["sent"] == len(task.args_kwargs["args"][0])


@pytest.mark.django_db(transaction=True)
def test_a_grant_s_task_is_written_in_its_transaction_and_rolled_back_with_it(world: Any) -> None:
    """One commit for the escalation, its rows and their task (the task was a second commit); a grant
    rolled back leaves no task behind, as it leaves no row."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from escalade.escalations.services import request_escalation

    now = now_utc()
    open_incident(world.customer_a, "REQ-1", now - timedelta(minutes=65), now=now)  # level 1 is open
    open_incident(world.customer_a, "REQ-2", now - timedelta(minutes=65), now=now)
    with transaction.atomic():
        assert request_escalation(user=None, request_number="REQ-1", reason="coupure", now=now).created
        [task] = DBTaskResult.objects.all()  # before the commit, in the same transaction
        assert sorted(task.args_kwargs["args"][0]) == sorted(Notification.objects.values_list("pk", flat=True))

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        assert request_escalation(user=None, request_number="REQ-2", reason="coupure", now=now).created
        assert DBTaskResult.objects.count() == 2
        raise Abandoned
    assert DBTaskResult.objects.count() == 1
    assert not Notification.objects.filter(incident__request_number="REQ-2").exists()


def test_the_watchers_own_alerts_are_sent_by_its_sweep_without_a_task(world: Any, smtp: SMTPSink) -> None:
    """A mass outage writes its alerts in bulk; the worker that wrote them sends them (no task each)."""
    from django_tasks_db.models import DBTaskResult

    _incident, now = _breached(world)
    report = Watcher(FakeClock(now)).tick()
    assert report.alerts == 1 and report.delivered == 1
    assert not DBTaskResult.objects.exists()
    assert Notification.objects.get(kind=NotificationKind.BREACH).status == DeliveryStatus.SENT
    assert len(smtp.to("escalade@hipcom.fr")) == 1


@pytest.mark.django_db
def test_a_warning_goes_out_15_minutes_before_a_24_7_deadline(world: Any, smtp: SMTPSink) -> None:
    now = now_utc()
    incident = open_incident(world.customer_a, "REQ-9", now - timedelta(minutes=15), now=now)
    Watcher(FakeClock(now)).tick()
    [mail] = smtp.to("escalade@hipcom.fr")
    assert mail["Subject"] == "[Escalade] REQ-9 — délai de prise en charge bientôt dépassé"
    assert incident.timeline.filter(kind=EventKind.WARNING, crossing_key="warning:take_charge").count() == 1


@pytest.mark.django_db
def test_a_late_entered_incident_gets_one_alert_per_current_fact_not_a_burst(world: Any, smtp: SMTPSink) -> None:
    now = now_utc()
    incident = open_incident(world.customer_a, "REQ-3", now - timedelta(minutes=150), now=now)  # level 3
    Watcher(FakeClock(now)).tick()
    subjects = sorted(m["Subject"] for m in smtp.to("escalade@hipcom.fr"))
    assert subjects == ["[Escalade] REQ-3 — délai de prise en charge dépassé",
                        "[Escalade] REQ-3 — escalade de niveau 3 désormais possible"]
    # Every crossing is still in the timeline, once.
    keys = sorted(incident.timeline.exclude(crossing_key="").values_list("crossing_key", flat=True))
    assert keys == ["breach:take_charge", "level:1", "level:2", "level:3", "warning:take_charge"]


@pytest.mark.django_db
def test_auto_escalate_raises_the_escalation_as_the_system(world: Any, smtp: SMTPSink, tmp_path: Path) -> None:
    with policy_with(tmp_path, auto_escalate=True):
        now = now_utc()
        incident = open_incident(world.customer_a, "REQ-77", now - timedelta(minutes=29), now=now)
        clock = FakeClock(now)
        watcher = Watcher(clock)
        watcher.tick()
        assert not Escalation.objects.exists()
        clock.advance(timedelta(minutes=31))  # level 1 opens at 60 min
        watcher.tick()
        [escalation] = Escalation.objects.all()
        assert escalation.level == 1 and escalation.requested_by is None and escalation.channel == "system"
        assert escalation.reason.startswith("Escalade automatique : le délai de prise en charge est dépassé")
        assert incident.timeline.filter(kind=EventKind.ESCALATION_GRANTED).count() == 1
        assert [m for m in smtp.to("escalade@hipcom.fr") if "à prendre en compte" in m["Subject"]]


@pytest.mark.django_db
def test_worker_once_processes_what_is_due_and_exits(world: Any, smtp: SMTPSink) -> None:
    _breached(world, "REQ-11")
    call_command("worker", "--once")
    assert [m["Subject"] for m in smtp.to("escalade@hipcom.fr")] == [
        "[Escalade] REQ-11 — délai de prise en charge dépassé"
    ]


def test_a_message_sent_as_the_database_went_away_is_recorded_when_it_returns_not_sent_twice(
    world: Any, smtp: SMTPSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError
    from django.db.models import QuerySet

    _incident, now = _breached(world)
    Watcher(FakeClock(now)).watch(TickReport())
    now += timedelta(seconds=1)
    row = Notification.objects.get(kind=NotificationKind.BREACH)
    [claimed] = delivery.claim_due(now, 10)
    real_update = QuerySet.update

    def database_gone(self: Any, **values: Any) -> int:
        if values.get("status") == DeliveryStatus.SENT:
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(self, **values)

    monkeypatch.setattr(QuerySet, "update", database_gone)
    with pytest.raises(OperationalError):
        delivery.send_all_claimed([claimed], now)  # the message left; recording it failed
    monkeypatch.setattr(QuerySet, "update", real_update)
    assert len(smtp.to("escalade@hipcom.fr")) == 1
    delivery.claim_due(now + timedelta(seconds=5), 10)  # the database answers: first what was left
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    # Its lease expiring later sends nothing again.
    assert delivery.requeue_expired(now + conf.lease() + timedelta(seconds=1)) == 0
    assert len(smtp.to("escalade@hipcom.fr")) == 1


def test_a_claimed_message_not_sent_when_the_database_went_away_is_released_at_once(
    world: Any, smtp: SMTPSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    _incident, now = _breached(world)
    Watcher(FakeClock(now)).watch(TickReport())
    now += timedelta(seconds=1)
    claimed = delivery.claim_due(now, 10)
    assert claimed

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(delivery, "render", unreachable)
    with pytest.raises(OperationalError):
        delivery.send_all_claimed(claimed, now)
    monkeypatch.undo()
    assert delivery.claim_due(now + timedelta(seconds=2), 10) == claimed  # released, taken again at once


@pytest.mark.django_db
def test_due_rows_are_claimed_most_urgent_kind_first_then_longest_due(world: Any) -> None:
    """An escalation and a level opening, then breaches, reminders, other rows, then warnings;
    within a kind the longest due first. Rows not yet due or not pending are not taken."""
    incident, now = _breached(world)
    kinds = [NotificationKind.WARNING, NotificationKind.CONFIRMATION, NotificationKind.REMINDER,
             NotificationKind.BREACH, NotificationKind.LEVEL_AVAILABLE, NotificationKind.ESCALATION]
    for i, kind in enumerate(kinds * 2):
        Notification.objects.create(kind=kind, channel="email", recipient="escalade@hipcom.fr", incident=incident,
                                    idempotency_key=f"order:{i}", next_attempt_at=now - timedelta(minutes=i))
    Notification.objects.create(kind=NotificationKind.ESCALATION, channel="email", recipient="escalade@hipcom.fr",
                                incident=incident, idempotency_key="order:later", next_attempt_at=now + timedelta(minutes=1))
    Notification.objects.create(kind=NotificationKind.ESCALATION, channel="email", recipient="escalade@hipcom.fr",
                                incident=incident, idempotency_key="order:sent", status=DeliveryStatus.SENT,
                                next_attempt_at=now - timedelta(hours=1))
    order = [Notification.objects.get(pk=pk) for pk in delivery.claim_due(now, 5) + delivery.claim_due(now, 50)]
    taken = [(n.kind, n.idempotency_key) for n in order]
    assert taken == [
        (NotificationKind.ESCALATION, "order:11"), (NotificationKind.LEVEL_AVAILABLE, "order:10"),
        (NotificationKind.ESCALATION, "order:5"), (NotificationKind.LEVEL_AVAILABLE, "order:4"),
        (NotificationKind.BREACH, "order:9"), (NotificationKind.BREACH, "order:3"),
        (NotificationKind.REMINDER, "order:8"), (NotificationKind.REMINDER, "order:2"),
        (NotificationKind.CONFIRMATION, "order:7"), (NotificationKind.CONFIRMATION, "order:1"),
        (NotificationKind.WARNING, "order:6"), (NotificationKind.WARNING, "order:0"),
    ]
    assert {n.rank for n in order[:4]} == {0} and order[-1].rank == 4


def _columns(obj: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(obj).items() if not name.startswith("_")}


@pytest.mark.django_db
def test_claimed_rows_are_loaded_with_what_rendering_reads_as_django_loads_them(
    world: Any, django_assert_num_queries: Any
) -> None:
    """The senders' read (compiled once per number of rows): each row, its incident with its
    customer and pauses, its escalation, equal to Django's own read, in two queries, and nothing
    more read by what rendering looks at."""
    now = now_utc()
    paused = open_incident(world.customer_a, "REQ-61", now - timedelta(hours=3), now=now)
    IncidentPause.objects.create(incident=paused, start=now - timedelta(hours=2), end=now - timedelta(hours=1))
    IncidentPause.objects.create(incident=paused, start=now - timedelta(minutes=30))
    escalated = open_incident(world.customer_b, "REQ-62", now - timedelta(hours=3), now=now)
    escalation = Escalation.objects.create(incident=escalated, level=1, requester_role="customer", channel="web",
                                           reason="Service toujours coupé.")
    plain = open_incident(world.customer_a, "REQ-63", now - timedelta(hours=1), now=now)
    rows = [enqueue(kind="breach", key="p1", recipient="a@b.fr", incident=paused),
            enqueue(kind="breach", key="p2", recipient="c@d.fr", incident=paused),  # one incident, two rows
            enqueue(kind="escalation", key="e", recipient="a@b.fr", incident=escalated, escalation=escalation),
            enqueue(kind="breach", key="n", recipient="a@b.fr", incident=plain)]
    ids = [row.pk for row in rows if row is not None]
    expected = {row.pk: row for row in Notification.objects.select_related(
        "incident", "incident__customer", "escalation", "escalation__incident",
    ).prefetch_related("incident__pauses").filter(pk__in=ids)}
    with django_assert_num_queries(2):
        loaded = delivery._loaded(ids)
    assert sorted(loaded) == sorted(ids)
    with django_assert_num_queries(0):
        for pk, row in loaded.items():
            want = expected[pk]
            assert _columns(row) == _columns(want)
            assert _columns(row.incident) == _columns(want.incident)
            assert _columns(row.incident.customer) == _columns(want.incident.customer)
            assert [_columns(p) for p in row.incident.pauses.all()] == [_columns(p) for p in want.incident.pauses.all()]
            if want.escalation is None:
                assert row.escalation is None
            else:
                assert _columns(row.escalation) == _columns(want.escalation)
                assert _columns(row.escalation.incident) == _columns(want.escalation.incident)
    assert len(loaded[ids[0]].incident.pauses.all()) == 2
    assert delivery._loaded([]) == {}
