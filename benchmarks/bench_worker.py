"""The watcher at scale: 1,000,000 open incidents, 1,000 of which become due.

Builds the data set by bulk-inserting incident rows with their cached deadlines and
`next_change_at` precomputed (as `refresh` would store them), then measures with a real worker
(`escalade.worker.Watcher`, real clock) delivering to a local SMTP server (aiosmtpd):

  A. throughput — 1,000 incidents already due: time to find them (the indexed query) and to
     process them (evaluate with the core, record each crossing once, write the alerts to the
     outbox), then to deliver the alerts;
  B. latency — 1,000 other incidents whose take-charge deadline passes while the worker runs,
     spread over a few seconds: crossing-to-delivery latency (the alert's `sent_at`, set after the
     SMTP server accepted it, minus the crossing instant), p50 / p99 / max.

    .venv/bin/python benchmarks/bench_worker.py                        # SQLite file, 1,000,000 open
    .venv/bin/python benchmarks/bench_worker.py --open 100000          # quicker
    .venv/bin/python benchmarks/bench_worker.py --database-url postgresql://postgres@127.0.0.1/bench

With --database-url the database is a scratch one: it is dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1_000_000, help="open incidents (default 1,000,000)")
    parser.add_argument("--due", type=int, default=1_000, help="incidents that become due (default 1,000)")
    parser.add_argument("--database-url", help="PostgreSQL scratch database (default: a temporary SQLite file)")
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which B's crossings fall")
    parser.add_argument("--senders", type=int, default=4,
                        help="sender threads in B (measured against 0, the loop delivering between passes)")
    return parser.parse_args()


def setup_django(args: argparse.Namespace, tmp: Path, port: int) -> str:
    os.environ["ESCALADE_DATA_DIR"] = str(tmp)
    os.environ["ESCALADE_DATABASE_URL"] = support.scratch_database(args.database_url, tmp)
    os.environ["ESCALADE_EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.setdefault("ESCALADE_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "escalade.settings"
    os.environ.setdefault("ESCALADE_DEV", "1")  # a throwaway local database: the development profile
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def build(open_count: int, due_count: int, now: datetime) -> tuple[list[int], list[int], float]:
    """Bulk-insert `open_count` high-priority incidents. The first `due_count` are due now (breached
    30 s ago); the others are not due for hours or days."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from escalade.incidents.models import Customer, Incident

    started = time.perf_counter()
    # A scratch database: erased whole (history is never deleted row by row; the database refuses it).
    call_command("flush", interactive=False, verbosity=0)
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(code="bench", defaults={"name": "Client banc d'essai"})
    take_charge = timedelta(minutes=30)
    batch = 20_000
    for first in range(0, open_count, batch):
        rows = []
        for i in range(first, min(first + batch, open_count)):
            if i < due_count:
                due_at = now - timedelta(seconds=30)
            else:  # (B's incidents are moved close to their crossing when B starts)
                due_at = now + timedelta(minutes=120 + (i * 7919) % (60 * 24 * 30))
            opened = due_at - take_charge
            rows.append(Incident(
                request_number=f"REQ-{i + 1}", customer=customer, priority="high", track="support",
                gtr=False, opened_at=opened, status="open", take_charge_due_at=due_at,
                take_charge_state="breached" if due_at <= now else "running", evaluated_at=now,
                # The breach (or the pre-breach warning, 15 min before, for the far ones).
                next_change_at=due_at if i < due_count else due_at - timedelta(minutes=15),
                created_at=opened,
            ))
        with transaction.atomic():
            Incident.objects.bulk_create(rows, batch_size=2_000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE incidents_incident")
    ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[: 3 * due_count])
    return ids[:due_count], ids[due_count:], time.perf_counter() - started


def explain_due(now: datetime) -> str:
    from escalade.incidents.models import Incident

    plan = Incident.objects.filter(next_change_at__lte=now).order_by("next_change_at")[:100].explain()
    return " ".join(plan.split())[:160]


def run_a(due_ids: list[int]) -> dict[str, float]:
    from django.utils import timezone

    from escalade.incidents.models import Incident
    from escalade.notifications.models import Notification
    from escalade.worker import TickReport, Watcher

    now = timezone.now()
    started = time.perf_counter()
    # Ordered by the due instant as the worker claims them (and so that the planner walks that index).
    found = list(Incident.objects.filter(next_change_at__lte=now).order_by("next_change_at")
                 .values_list("pk", flat=True))
    find_s = time.perf_counter() - started
    assert len(found) == len(due_ids), (len(found), len(due_ids))

    watcher = Watcher(batch=100)
    report = TickReport()
    started = time.perf_counter()
    watcher.watch(report)
    process_s = time.perf_counter() - started
    alerts = Notification.objects.filter(incident_id__in=due_ids).count()

    started = time.perf_counter()
    while Notification.objects.filter(incident_id__in=due_ids, status="sent").count() < alerts:
        watcher.deliver(TickReport())
    deliver_s = time.perf_counter() - started
    return {"find": find_s, "process": process_s, "incidents": report.incidents,
            "crossings": len(report.crossings), "alerts": alerts, "deliver": deliver_s}


def run_b(late_ids: list[int], spread: float, senders: int) -> dict[str, float]:
    from escalade.incidents.audit import append_to_timeline
    from escalade.incidents.models import Incident, TimelineEvent
    from escalade.notifications.models import Notification
    from escalade.worker import Watcher

    expected = len(late_ids)
    def should_stop() -> bool:
        return Notification.objects.filter(incident_id__in=late_ids, kind="breach", status="sent").count() >= expected

    # Their take-charge deadline now falls 1 s to 1 s + spread from now, while the worker runs.
    start = datetime.now(UTC) + timedelta(seconds=1)
    moved, warned = [], []
    for n, incident in enumerate(Incident.objects.filter(pk__in=late_ids).order_by("pk")):
        incident.take_charge_due_at = start + timedelta(seconds=spread * n / expected)
        incident.opened_at = incident.take_charge_due_at - timedelta(minutes=30)
        incident.next_change_at = incident.take_charge_due_at
        moved.append(incident)
        # Their pre-breach warning (15 min before) is past: as if a worker had handled it then.
        warned.append(TimelineEvent(incident=incident, kind="warning", crossing_key="warning:take_charge",
                                    occurred_at=incident.take_charge_due_at - timedelta(minutes=15)))
    Incident.objects.bulk_update(moved, ["take_charge_due_at", "opened_at", "next_change_at"], batch_size=500)
    append_to_timeline(warned)  # sealed in the hash chain, as every entry is
    watcher = Watcher(batch=100, senders=senders)
    started = time.perf_counter()
    watcher.run(interval=1.0, should_stop=should_stop)
    wall = time.perf_counter() - started
    due = dict(Incident.objects.filter(pk__in=late_ids).values_list("pk", "take_charge_due_at"))
    latencies = sorted(
        (sent_at - due[incident_id]).total_seconds()
        for incident_id, sent_at in Notification.objects.filter(
            incident_id__in=late_ids, kind="breach").values_list("incident_id", "sent_at")
    )
    cut = statistics.quantiles(latencies, n=100)
    return {"count": len(latencies), "p50": cut[49], "p99": cut[98], "max": latencies[-1], "wall": wall}


def main() -> int:
    args = parse_args()
    smtp, port = support.start_smtp()
    try:  # the SMTP server is its own process: stopped whatever happens
        with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
            vendor = setup_django(args, Path(tmp), port)
            now = datetime.now(UTC)
            due_ids, late_ids, build_s = build(args.open, args.due, now)
            plan = explain_due(datetime.now(UTC))
            a = run_a(due_ids)
            half = len(late_ids) // 2
            b0 = run_b(late_ids[:half], args.spread, 0)
            b = run_b(late_ids[half:], args.spread, args.senders)
    finally:
        smtp.terminate()
        smtp.wait()

    rows = [
        ("database", vendor),
        ("open incidents", f"{args.open:,}"),
        ("due incidents (A, B)", f"{args.due:,} + {args.due:,}"),
        ("build data set", f"{build_s:.1f} s"),
        ("A. find due (indexed next_change_at)", f"{a['find'] * 1000:.1f} ms"),
        ("A. process due (core, timeline, outbox)", f"{a['process']:.2f} s for {a['incidents']:,} incidents, "
                                                  f"{a['crossings']:,} crossings"),
        ("A. deliver alerts (SMTP)", f"{a['deliver']:.2f} s for {a['alerts']:,} e-mails"),
        ("B. crossings while running", f"{b['count']:,} over {args.spread:.0f} s (each run)"),
        ("B. crossing → inbox p50, 0 senders (baseline)", f"{b0['p50']:.3f} s"),
        ("B. crossing → inbox p99, 0 senders (baseline)", f"{b0['p99']:.3f} s"),
        (f"B. crossing → inbox p50, {args.senders} senders", f"{b['p50']:.3f} s ({b['p50'] / b0['p50']:.2f}×)"),
        (f"B. crossing → inbox p99, {args.senders} senders",
         f"{b['p99']:.3f} s ({b['p99'] / b0['p99']:.2f}×; goal ≤ 5 s)"),
        (f"B. crossing → inbox max, {args.senders} senders", f"{b['max']:.3f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\nbench_worker — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 40}")
    for key, value in rows:
        print(f"{key.ljust(width)} | {value}")
    print(f"\nquery plan for the due scan: {plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
