"""The watcher: acts on every deadline crossing within seconds, and drives the outbox.

Each tick:
1. incidents whose stored `next_change_at` has passed (an indexed range scan: the cost follows the
   number of due incidents, not of open ones) are claimed, evaluated by the core, and every crossing
   the facts imply up to now and not yet in the timeline is recorded once, its alerts written to the
   outbox in the same transaction (and, with `auto_escalate`, the escalation requested);
2. escalations not acknowledged in time get their reminder;
3. the audit puts back notifications whose worker died while sending them;
4. queued delivery tasks run, and due outbox rows whose task was lost are swept and sent.
Then it sleeps until the earliest next instant stored in the database, at most `interval`.

Time is an argument: `clock` gives "now", so tests and benchmarks drive it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    models,
    transaction,
)
from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from escalade import bulk, compiled
from escalade.core.escalation import Crossing, CrossingKind, crossings
from escalade.core.messages import auto_escalation_reason
from escalade.escalations.models import Escalation
from escalade.escalations.services import request_escalation
from escalade.incidents.audit import append_to_timeline
from escalade.incidents.evaluation import CACHE_FIELDS, cache_evaluation, refresh
from escalade.incidents.models import Channel, EventKind, Incident, TimelineEvent
from escalade.incidents.services import with_pauses
from escalade.incidents.timeline import actor_label, record
from escalade.notifications import delivery
from escalade.notifications.models import DeliveryStatus, Notification, NotificationKind, WorkerHeartbeat
from escalade.notifications.outbox import (
    enqueue_for_contacts,
    enqueue_rows,
    recipients_named,
    rows_for_contacts,
)
from escalade.policies import store
from escalade.reports import summary

logger = logging.getLogger("escalade.worker")
# Seconds between tries while the database is unreachable (doubling from the first to the last).
DATABASE_RETRY_FIRST, DATABASE_RETRY_MAX = 0.5, 5.0
HEARTBEAT_EVERY = 5.0  # seconds between two heartbeats of a running worker
SEAL_EVERY = 3600.0  # seconds between two sealings of the reports' ended months
WATCH_BUDGET = 2.0  # seconds of claiming due incidents per pass
# Notifications claimed at once by a sender: enough for a mass outage's alerts to one address to
# leave as a few digests (`delivery.send_all_claimed`), few enough to spread the work over senders.
DELIVERY_CLAIM = 50

Clock = Callable[[], datetime]

# A row whose processing raised is tried again after this, rather than at once in a loop.
RETRY_AFTER = timedelta(seconds=60)
# On databases without SKIP LOCKED the claim is a conditional update of the due instant; the work,
# in the same transaction, then stores the real next instant.
CLAIM_LEASE = timedelta(seconds=60)

EVENT_OF = {
    CrossingKind.WARNING: EventKind.WARNING,
    CrossingKind.BREACH: EventKind.BREACH,
    CrossingKind.LEVEL: EventKind.LEVEL_AVAILABLE,
}
NOTIFICATION_OF = {
    CrossingKind.WARNING: NotificationKind.WARNING,
    CrossingKind.BREACH: NotificationKind.BREACH,
    CrossingKind.LEVEL: NotificationKind.LEVEL_AVAILABLE,
}


@dataclass
class Acted:
    """One crossing acted on: when it happened and when the watcher recorded it."""

    request_number: str
    key: str
    crossing_at: datetime
    processed_at: datetime


TOTALS = ("crossings", "alerts", "escalations", "delivered", "failed")  # counted in the heartbeat


@dataclass
class TickReport:
    incidents: int = 0
    crossings: list[Acted] = field(default_factory=list)
    alerts: int = 0
    escalations: int = 0
    reminders: int = 0
    requeued: int = 0
    tasks: int = 0
    delivered: int = 0
    failed: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.incidents or self.reminders or self.requeued or self.tasks
                    or self.delivered or self.failed)


def _recipients_for(kind: CrossingKind) -> str:
    return {
        CrossingKind.WARNING: "warning_recipients",
        CrossingKind.BREACH: "breach_recipients",
        CrossingKind.LEVEL: "level_available_recipients",
    }[kind]


def _superseded(crossing: Crossing, due: list[Crossing]) -> bool:
    """Noise a person would not want: a warning once its deadline has passed, or a level opening
    when a higher one opened in the same pass (a worker that was down, an incident entered late).
    Such crossings are still recorded in the timeline, without an alert."""
    if crossing.kind is CrossingKind.WARNING:
        return any(c.kind is CrossingKind.BREACH and c.commitment == crossing.commitment for c in due)
    if crossing.kind is CrossingKind.LEVEL:
        return any(c.kind is CrossingKind.LEVEL and c.level > crossing.level for c in due)
    return False


def crossing_data(crossing: Crossing, now: datetime, notify: bool) -> dict[str, object]:
    """What a crossing's timeline entry records (both paths: one incident, a batch)."""
    return {"commitment": crossing.commitment.value, "level": crossing.level,
            "detected_at": now.isoformat(), "notified": notify}


def crossing_entry(incident: Incident, crossing: Crossing, now: datetime, notify: bool) -> TimelineEvent:
    """A crossing's timeline entry as the worker records it at `now` (unsaved: sealed and inserted
    with the batch; the generated history records its past crossings the same way)."""
    return bulk.new(TimelineEvent, incident=incident, kind=EVENT_OF[crossing.kind], occurred_at=crossing.at,
                    recorded_at=now, actor_label=actor_label(None), channel=Channel.SYSTEM,
                    crossing_key=crossing.key, data=crossing_data(crossing, now, notify))


def _crossing_alert(policy: Any, incident: Incident, crossing: Crossing) -> dict[str, Any]:
    """Who a crossing alerts and with what (both paths: one incident, a batch)."""
    names = getattr(policy.notifications, _recipients_for(crossing.kind))
    return {
        "contacts": recipients_named(policy, names, incident.track),
        "kind": NOTIFICATION_OF[crossing.kind],
        "key": f"crossing:{incident.pk}:{crossing.key}",
        "incident": incident,
        "context": {"crossing": crossing.key, "commitment": crossing.commitment.value,
                    "level": crossing.level, "at": crossing.at.isoformat()},
    }


def act_on_incident(incident: Incident, now: datetime, report: TickReport) -> None:
    """Record and alert every crossing up to `now` not yet recorded; then move `next_change_at` on.
    Runs inside the caller's transaction, with the incident claimed."""
    policy = incident.policy
    evaluation = incident.evaluate(policy, now)
    due = [c for c in crossings(policy, evaluation) if c.at <= now]
    recorded = set(incident.timeline.exclude(crossing_key="").values_list("crossing_key", flat=True))
    opened_levels: list[Crossing] = []
    for crossing in (c for c in due if c.key not in recorded):
        notify = not _superseded(crossing, due)
        try:
            with transaction.atomic():  # savepoint: the unique constraint says another worker did it
                record(incident, EVENT_OF[crossing.kind], crossing.at, crossing_key=crossing.key,
                       **crossing_data(crossing, now, notify))
        except IntegrityError:
            continue
        report.crossings.append(Acted(incident.request_number, crossing.key, crossing.at, now))
        if crossing.kind is CrossingKind.LEVEL:
            opened_levels.append(crossing)
        if notify:
            rows = enqueue_for_contacts(**_crossing_alert(policy, incident, crossing), now=now)
            report.alerts += len(rows)
    if opened_levels and policy.notifications.auto_escalate:
        _auto_escalate(incident, max(opened_levels, key=lambda c: c.level), evaluation.escalation.level,
                       now, report)
    refresh(incident, now, evaluation)  # crossings change no fact: the same evaluation


def _recorded_crossings(*incident_ids: int) -> QuerySet[Any]:
    return (TimelineEvent.objects.filter(incident_id__in=incident_ids).exclude(crossing_key="")
            .values_list("incident_id", "crossing_key"))


def act_on_batch(incidents: list[Incident], now: datetime, report: TickReport) -> None:
    """`act_on_incident` for a claimed batch at once: the pauses and recorded crossings read for the
    batch, the timeline entries sealed and inserted together, the alerts and the cached evaluations
    written in bulk. In a mass outage the cost per incident is the core's, not a dozen queries. A
    conflict (another writer recorded a crossing) raises: the caller then goes incident by incident."""
    # Both reads compiled once per batch size (`escalade.compiled`): Django wrote their SQL again
    # for every batch of a mass outage, and its prefetch built each pause through its iterable.
    with_pauses(incidents)
    recorded: dict[int, set[str]] = {}
    for incident_id, key in compiled.fetch(("recorded crossings", len(incidents)), _recorded_crossings,
                                           *(incident.pk for incident in incidents)):
        recorded.setdefault(incident_id, set()).add(key)
    events: list[TimelineEvent] = []
    alerts: list[Notification] = []
    escalate: list[tuple[Incident, Crossing, int]] = []
    acted: list[Acted] = []
    for incident in incidents:
        policy = incident.policy  # each its own: contracts under different policies share a batch
        evaluation = incident.evaluate(policy, now)
        implied = crossings(policy, evaluation)
        due = [c for c in implied if c.at <= now]
        opened_levels = []
        for crossing in (c for c in due if c.key not in recorded.get(incident.pk, set())):
            notify = not _superseded(crossing, due)
            events.append(crossing_entry(incident, crossing, now, notify))
            acted.append(Acted(incident.request_number, crossing.key, crossing.at, now))
            if crossing.kind is CrossingKind.LEVEL:
                opened_levels.append(crossing)
            if notify:
                alerts.extend(rows_for_contacts(**_crossing_alert(policy, incident, crossing), now=now))
        if opened_levels and policy.notifications.auto_escalate:
            escalate.append((incident, max(opened_levels, key=lambda c: c.level), evaluation.escalation.level))
        # Every crossing up to now is recorded by this batch: the next change is the next future one.
        cache_evaluation(incident, evaluation, now, implied=implied)
        incident.updated_at = now
    with transaction.atomic(savepoint=False):  # the claim's savepoint already covers the batch
        append_to_timeline(events)
        report.alerts += enqueue_rows(alerts)
        bulk.update(Incident, incidents, [*CACHE_FIELDS, "updated_at"])
    for incident, crossing, allowed in escalate:
        _auto_escalate(incident, crossing, allowed, now, report)
    report.crossings.extend(acted)


def _auto_escalate(incident: Incident, crossing: Crossing, allowed: int, now: datetime,
                   report: TickReport) -> None:
    """The system raises the escalation itself, as an internal resource (policy `auto_escalate`)."""
    incident.refresh_from_db(fields=["escalated_level"])
    if allowed <= incident.escalated_level:
        return
    reason = auto_escalation_reason(crossing.commitment.value, crossing.level, crossing.at, incident.policy.timezone)
    outcome = request_escalation(user=None, request_number=incident.request_number, reason=reason,
                                 now=now, channel=Channel.SYSTEM)
    if outcome.created:
        report.escalations += 1


def send_reminder(escalation: Escalation, now: datetime, report: TickReport) -> None:
    """Not acknowledged after `ack_reminder_after`: notify that level again, up to `ack_reminder_max`."""
    incident = escalation.incident
    rules = incident.policy.notifications
    if incident.resolved_at is not None or escalation.reminders_sent >= rules.ack_reminder_max:
        # A resolved incident needs nobody any more.
        escalation.next_reminder_at = None
        escalation.save(update_fields=["next_reminder_at"])
        return
    number = escalation.reminders_sent + 1
    try:
        with transaction.atomic():
            record(incident, EventKind.ESCALATION_REMINDED, now, crossing_key=f"reminder:{escalation.pk}:{number}",
                   level=escalation.level, escalation=escalation.pk, reminder=number)
    except IntegrityError:
        pass  # recorded by a worker that then lost its claim; the outbox key keeps the rest once
    enqueue_for_contacts(
        incident.policy.contacts_for(escalation.level, incident.track),
        kind=NotificationKind.REMINDER,
        key=f"escalation:{escalation.pk}:reminder:{number}",
        incident=incident,
        escalation=escalation,
        context={"reminder": number, "level": escalation.level},
        now=now,
    )
    escalation.reminders_sent = number
    # Counted from now, not from the due instant: after an outage the remaining reminders stay
    # spaced instead of firing in a burst.
    escalation.next_reminder_at = now + rules.ack_reminder_after if number < rules.ack_reminder_max else None
    escalation.save(update_fields=["reminders_sent", "next_reminder_at"])
    report.reminders += 1


def _for_each_claimed(
    claim: str, queryset: models.QuerySet[Any], due_field: str, now: datetime, batch: int,
    act: Callable[[Any], None], act_on_all: Callable[[list[Any]], None] | None = None,
) -> int:
    """Claim a batch of due rows and act on them in one transaction (so its outbox rows make one
    delivery task): all at once with `act_on_all` if given, else (or if that fails) each in its own
    savepoint; returns how many were claimed. `claim` names the claim (the queryset and due field
    of one caller): its SQL is compiled once per process.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows.
    Elsewhere (SQLite): a conditional update of each row's due instant, which one worker only wins.
    """
    model = queryset.model
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = compiled.fetch((claim, batch), lambda at: queryset.filter(**{f"{due_field}__lte": at})
                                  .order_by(due_field).select_for_update(skip_locked=True, of=("self",))[:batch], now)
        else:
            queryset = queryset.filter(**{f"{due_field}__lte": now}).order_by(due_field)
            rows = [
                row for row in queryset[:batch]
                if model.objects.filter(pk=row.pk, **{due_field: getattr(row, due_field)})
                .update(**{due_field: now + CLAIM_LEASE})
            ]
        if act_on_all is not None and rows:
            try:
                with transaction.atomic():
                    act_on_all(rows)
                return len(rows)
            except Exception:
                logger.warning("%s : lot de %s en échec, traitement un par un", model.__name__, len(rows),
                               exc_info=True)
                rows = [model.objects.get(pk=row.pk) for row in rows]  # as they are in the database
        for row in rows:
            _guarded(model, row, due_field, now, act)
    return len(rows)


def _guarded(model: type[models.Model], row: Any, due_field: str, now: datetime,
             act: Callable[[Any], None]) -> None:
    try:
        with transaction.atomic():
            act(row)
    except Exception:
        # One bad row must not stop the others; it comes back after RETRY_AFTER.
        logger.exception("%s %s : traitement en échec, nouvel essai dans %s", model.__name__, row.pk, RETRY_AFTER)
        model.objects.filter(pk=row.pk).update(**{due_field: now + RETRY_AFTER})


class Senders:
    """Threads that deliver due notifications while the watcher records crossings, each with its own
    database connection and SMTP session: in a mass outage the first alerts leave while later
    crossings are still being recorded, several at a time. Claims are the same as the sweep's (a row
    is one sender's), so they never send twice."""

    def __init__(self, count: int, clock: Clock, batch: int = DELIVERY_CLAIM) -> None:
        self.clock, self.batch = clock, batch
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.sent = self.failed = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, name=f"escalade-sender-{i}", daemon=True)
                        for i in range(count)]

    def start(self) -> Senders:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    sent = self._send_some()
                except (OperationalError, InterfaceError) as exc:
                    logger.warning("envoi : base de données injoignable, nouvel essai : %s", exc)
                    connection.close()
                    self.stopping.wait(DATABASE_RETRY_MAX)
                    continue
                if not sent:
                    self.wake.wait(0.2)  # woken when the watcher commits new alerts
                    self.wake.clear()
        finally:
            connection.close()  # this thread's own connection

    def _send_some(self) -> int:
        total = 0
        while not self.stopping.is_set():
            now = self.clock()
            ids = delivery.claim_due(now, self.batch)
            if not ids:
                return total
            statuses = delivery.send_all_claimed(ids, now)  # one SMTP connection per claimed batch
            with self.lock:
                self.sent += statuses.count(DeliveryStatus.SENT)
                self.failed += len(statuses) - statuses.count(DeliveryStatus.SENT)
            total += len(ids)
        return total


class Watcher:
    def __init__(
        self,
        clock: Clock = timezone.now,
        *,
        batch: int = 100,
        delivery_budget: float | None = 2.0,
        run_tasks: bool = True,
        senders: int = 0,
    ) -> None:
        self.clock = clock
        self.batch = batch
        # Seconds of sending per tick, so a burst of mail never delays acting on a crossing.
        self.delivery_budget = delivery_budget
        self.run_tasks = run_tasks
        self.worker_id = get_random_string(24)
        # Sender threads while `run` loops (0: the loop delivers between its passes itself).
        self.sender_count = senders
        self.senders: Senders | None = None
        self.started_at = clock()
        self.last_beat: float | None = None
        self.last_seal: float | None = None
        self.totals = {name: 0 for name in TOTALS}

    def beat(self) -> None:
        """Say this worker is alive, at most every HEARTBEAT_EVERY seconds (/healthz reads it)."""
        if self.last_beat is not None and time.monotonic() - self.last_beat < HEARTBEAT_EVERY:
            return
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"host": socket.gethostname()[:200], "pid": os.getpid(), "started_at": self.started_at,
                      "seen_at": self.clock(), **self.totals},
        )
        self.last_beat = time.monotonic()

    def seal_reports(self) -> None:
        """Keep the reports' ended months sealed, at most every SEAL_EVERY seconds (a month changed
        since is read from its incidents until then: slower, never wrong)."""
        if self.last_seal is not None and time.monotonic() - self.last_seal < SEAL_EVERY:
            return
        self.last_seal = time.monotonic()
        summary.seal_ended(self.clock(), store.default_policy().timezone)

    def tick(self) -> TickReport:
        report = TickReport()
        self.watch(report)
        self.deliver(report)
        self.count(report)
        return report

    def count(self, report: TickReport) -> None:
        self.totals["crossings"] += len(report.crossings)
        for name in TOTALS[1:]:
            self.totals[name] += getattr(report, name)

    def watch(self, report: TickReport) -> None:
        started = time.monotonic()
        while True:
            # The clock read again for each batch: in a mass outage, a crossing that falls due while
            # earlier batches are recorded is taken by the next one, not after the whole pass.
            now = self.clock()
            claimed = _for_each_claimed(
                "due incidents", Incident.objects.all(), "next_change_at", now, self.batch,
                lambda incident, now=now: act_on_incident(incident, now, report),
                lambda incidents, now=now: act_on_batch(incidents, now, report),
            )
            report.incidents += claimed
            if self.senders is not None and claimed:
                self.senders.wake.set()  # this batch's alerts are committed: send them now
            # A pass ends once the backlog is drained, or after WATCH_BUDGET so that reminders, the
            # heartbeat and the leases are looked after during a long outage too (the next pass
            # starts at once: this one was busy).
            if claimed < self.batch or time.monotonic() - started > WATCH_BUDGET:
                break
        _for_each_claimed(
            "due reminders", Escalation.objects.filter(acknowledged_at__isnull=True).select_related("incident"),
            "next_reminder_at", now, self.batch,
            lambda escalation: send_reminder(escalation, now, report),
        )
        report.requeued += delivery.requeue_expired(now)

    def deliver(self, report: TickReport) -> None:
        started = time.monotonic()

        def budget_left() -> bool:
            return self.delivery_budget is None or time.monotonic() - started < self.delivery_budget

        if self.run_tasks:
            report.tasks += run_queued_tasks(self.worker_id, budget_left)
        if self.senders is not None:
            with self.senders.lock:  # what the sender threads sent since the last pass
                report.delivered, report.failed = self.senders.sent, self.senders.failed
                self.senders.sent = self.senders.failed = 0
            return
        while budget_left():
            now = self.clock()
            ids = delivery.claim_due(now, DELIVERY_CLAIM)
            for status in delivery.send_all_claimed(ids, now):
                report.delivered += status == DeliveryStatus.SENT
                report.failed += status != DeliveryStatus.SENT
            if not ids:
                break

    def seconds_to_next(self, interval: float) -> float:
        """Until the earliest instant something becomes due, at most `interval`."""
        now = self.clock()
        candidates = [
            Incident.objects.aggregate(t=Min("next_change_at"))["t"],
            Escalation.objects.filter(acknowledged_at__isnull=True).aggregate(t=Min("next_reminder_at"))["t"],
            Notification.objects.filter(status=DeliveryStatus.SENDING).aggregate(t=Min("claimed_until"))["t"],
        ]
        if self.senders is None:  # otherwise sending is the sender threads' business
            candidates.append(
                Notification.objects.filter(status=DeliveryStatus.PENDING).aggregate(t=Min("next_attempt_at"))["t"])
        earliest = min((t for t in candidates if t is not None), default=None)
        if earliest is None:
            return interval
        return max(0.0, min(interval, (earliest - now).total_seconds()))

    def run(
        self,
        *,
        interval: float = 1.0,
        once: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] = time.sleep,
        on_tick: Callable[[TickReport], None] | None = None,
    ) -> None:
        """Loop until `should_stop()`; with `once`, until nothing due is left. While the database is
        unreachable the loop waits and tries again (backing off to DATABASE_RETRY_MAX seconds):
        whatever a failed step had claimed comes back after its lease, nothing is lost."""
        if self.sender_count and not once and not connection.in_atomic_block:
            self.senders = Senders(self.sender_count, self.clock).start()
        try:
            self._loop(interval, once, should_stop, sleep, on_tick)
        finally:
            if self.senders is not None:
                self.senders.stop()
                self.senders = None

    def _loop(self, interval: float, once: bool, should_stop: Callable[[], bool],
              sleep: Callable[[float], None], on_tick: Callable[[TickReport], None] | None) -> None:
        outage: float | None = None
        while not should_stop():
            if not connection.in_atomic_block:  # (tests run the loop inside a transaction)
                close_old_connections()  # a long-lived process must survive a database restart
            try:
                report = self.tick()
                if not once:
                    self.beat()
                    self.seal_reports()
            except (OperationalError, InterfaceError) as exc:
                if once or connection.in_atomic_block:
                    raise
                wait = DATABASE_RETRY_FIRST if outage is None else min(outage * 2, DATABASE_RETRY_MAX)
                if outage is None:
                    logger.warning("base de données injoignable, nouvel essai dans %s s : %s", wait, exc)
                outage = wait
                connection.close()
                sleep(wait)
                continue
            if outage is not None:
                logger.info("base de données de nouveau joignable : le worker reprend")
                outage = None
            if on_tick is not None:
                on_tick(report)
            if once:
                if not report.busy:
                    return
                continue
            if report.busy:
                continue  # more may be waiting (a batch was full, delivery hit its budget)
            sleep(self.seconds_to_next(interval))


def run_queued_tasks(worker_id: str, budget_left: Callable[[], bool]) -> int:
    """Run ready django-tasks-db tasks in this process, claimed as its own `db_worker` does."""
    runner = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[])
    ran = 0
    while budget_left():
        with exclusive_transaction(DBTaskResult.objects.db):
            result = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
            if result is None:
                break
            result.claim(worker_id)
        runner.run_task(result)
        ran += 1
    return ran
