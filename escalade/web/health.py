"""What an operator watches: `/healthz` for a load balancer or a probe (200 when the database
answers, a worker was seen recently, the outbox is not stuck, and the helpdesk sync and the
procedure's mailbox, where configured, succeeded recently; 503 saying which is wrong), and
`/metrics` in Prometheus' text format. Both read the database, so every web process and machine
answers the same."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from escalade.incidents.models import Incident, Status
from escalade.mail.imap import status as mailbox_status
from escalade.notifications.models import DeliveryStatus, Notification, WorkerHeartbeat
from escalade.sync.services import status as sync_status

LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
LATENCY_WINDOW_MINUTES = 15
# Measured in each web process (middleware.RequestMetrics). Under `escalade serve` the gunicorn
# processes share PROMETHEUS_MULTIPROC_DIR, so any of them answers for all; the route is the URL
# pattern (a bounded set), never the path.
API_LATENCY = Histogram("escalade_api_request_seconds", "API requests, by method, route and status class",
                        ["method", "route", "status"], registry=None,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def health(now: datetime) -> dict[str, Any]:
    """The checks; raises DatabaseError when the database does not answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    last_seen = WorkerHeartbeat.objects.aggregate(t=Max("seen_at"))["t"]
    waiting = Notification.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    oldest = _age(now, waiting.aggregate(t=Min("next_attempt_at"))["t"])
    worker_age = _age(now, last_seen)
    worker_ok = worker_age is not None and worker_age <= settings.HEALTH_WORKER_SECONDS
    outbox_ok = oldest is None or oldest <= settings.HEALTH_OUTBOX_SECONDS
    found = {}
    sync_ok = True
    if settings.ESCALADE_RT_URL:  # the helpdesk sync is configured: its last success must be recent
        state = sync_status("rt", now)
        sync_ok = state["ok"]
        found["sync"] = {"ok": sync_ok, "connector": "rt", "lag_seconds": state["lag_seconds"],
                         "last_error": state["last_error"][:300], "limit_seconds": state["limit_seconds"]}
    mailbox = mailbox_status(now)
    if mailbox is not None:  # the procedure's mailbox is read over IMAP: its last fetch must be recent
        found["mailbox"] = {"ok": mailbox["ok"], "lag_seconds": mailbox["lag_seconds"],
                            "last_error": mailbox["last_error"][:300], "limit_seconds": mailbox["limit_seconds"]}
    mailbox_ok = mailbox is None or mailbox["ok"]
    return {
        "status": "ok" if worker_ok and outbox_ok and sync_ok and mailbox_ok else "degraded",
        **found,
        "database": {"ok": True, "vendor": connection.vendor},
        "worker": {"ok": worker_ok, "last_seen_seconds": worker_age,
                   "limit_seconds": settings.HEALTH_WORKER_SECONDS},
        "outbox": {"ok": outbox_ok, "oldest_due_seconds": oldest, "due": waiting.count(),
                   "dead": Notification.objects.filter(status=DeliveryStatus.DEAD).count(),
                   "limit_seconds": settings.HEALTH_OUTBOX_SECONDS},
    }


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        body = health(timezone.now())
    except DatabaseError as exc:
        return JsonResponse({"status": "down", "database": {"ok": False, "error": str(exc)[:200]}}, status=503)
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


WORKER_COUNTERS = {
    "crossings": "Deadline crossings recorded",
    "alerts": "Alerts written to the outbox",
    "escalations": "Escalations raised by the worker",
    "delivered": "Notifications delivered",
    "failed": "Delivery attempts that failed",
}


class _FromDatabase:
    """The gauges and the delivery-latency histogram, computed at each scrape."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Any]:
        now = self.now
        incidents = GaugeMetricFamily("escalade_open_incidents", "Incidents not resolved, per priority",
                                      labels=["priority"])
        for priority, count in (Incident.objects.exclude(status=Status.RESOLVED).values_list("priority")
                                .annotate(n=Count("id")).order_by()):
            incidents.add_metric([priority], count)
        yield incidents
        queue = GaugeMetricFamily("escalade_notifications", "Notifications waiting, being sent or dead",
                                  labels=["status"])
        for status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.DEAD):
            queue.add_metric([status], Notification.objects.filter(status=status).count())
        yield queue
        oldest = Notification.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).aggregate(
            t=Min("next_attempt_at"))["t"]
        yield GaugeMetricFamily("escalade_outbox_oldest_due_seconds", "Age of the oldest notification due",
                                value=_age(now, oldest) or 0.0)
        workers = GaugeMetricFamily("escalade_worker_last_seen_seconds", "Seconds since each worker's heartbeat",
                                    labels=["host", "pid"])
        for host, pid, seen in WorkerHeartbeat.objects.values_list("host", "pid", "seen_at"):
            workers.add_metric([host, str(pid)], _age(now, seen) or 0.0)
        yield workers
        yield from self._worker_counters()
        yield self._latency(now)

    def _worker_counters(self) -> Iterator[CounterMetricFamily]:
        """What each worker did since it started, from its heartbeat (any machine's)."""
        rows = list(WorkerHeartbeat.objects.values_list("host", "pid", *WORKER_COUNTERS))
        for index, (name, text) in enumerate(WORKER_COUNTERS.items()):
            family = CounterMetricFamily(f"escalade_worker_{name}", text, labels=["host", "pid"])
            for row in rows:
                family.add_metric([row[0], str(row[1])], row[2 + index])
            yield family

    def _latency(self, now: datetime) -> HistogramMetricFamily:
        since = now - timedelta(minutes=LATENCY_WINDOW_MINUTES)
        latencies = [(sent - created).total_seconds() for created, sent in Notification.objects.filter(
            status=DeliveryStatus.SENT, sent_at__gte=since).values_list("created_at", "sent_at")]
        buckets = [(str(bound), sum(1 for value in latencies if value <= bound)) for bound in LATENCY_BUCKETS]
        buckets.append(("+Inf", len(latencies)))
        return HistogramMetricFamily(
            "escalade_delivery_latency_seconds",
            f"Outbox to accepted by the server, notifications sent in the last {LATENCY_WINDOW_MINUTES} min",
            buckets=buckets, sum_value=sum(latencies))


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse("authentication required\n", status=401, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FromDatabase(timezone.now()))  # type: ignore[arg-type]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every web process's API latency
    else:
        registry.register(API_LATENCY)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
