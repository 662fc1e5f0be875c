"""The staff dashboard with many open incidents: flat in the open count?

Bulk-inserts N open incidents (cached deadlines as `refresh` stores them, `next_due_at` included)
and as many resolved ones, then measures, in process (Django's test client, a staff session):

  - the dashboard page (`/tableau-de-bord/`, its first page of the most urgent rows, `DASHBOARD_ROWS`,
    and the total),
  - the urgency query alone, as stored today (`next_due_at`, partial index) and as computed before
    (the nested CASE over every open incident), on the same data,
  - a trivial page of the same server (`/procedure/`, no database) as the baseline.

    .venv/bin/python benchmarks/bench_dashboard.py                      # 20,000 and 200,000 open, SQLite
    .venv/bin/python benchmarks/bench_dashboard.py --open 2000 20000    # quicker
    .venv/bin/python benchmarks/bench_dashboard.py --database-url postgresql://postgres@127.0.0.1/bench

With --database-url the database is a scratch one: it is erased.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 15


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, nargs="+", default=[20_000, 200_000], help="open incidents")
    parser.add_argument("--database-url", help="PostgreSQL scratch database (default: a temporary SQLite file)")
    return parser.parse_args()


def setup_django(url: str, tmp: Path) -> str:
    os.environ.update(ESCALADE_DATA_DIR=str(tmp), ESCALADE_DATABASE_URL=url, DJANGO_SETTINGS_MODULE="escalade.settings")
    os.environ.setdefault("ESCALADE_DEV", "1")  # a throwaway local database: the development profile
    os.environ.setdefault("ESCALADE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def build(open_count: int, now: datetime) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from escalade.accounts.models import User
    from escalade.incidents.models import Customer, Incident, pending_deadline, triage_key

    call_command("flush", interactive=False, verbosity=0)
    User.objects.create_user("support", password="bench-support", role="staff")
    customer = Customer.objects.create(code="bench", name="Client banc d'essai")
    batch = 20_000
    for first in range(0, 2 * open_count, batch):
        rows = []
        for i in range(first, min(first + batch, 2 * open_count)):
            opened = now - timedelta(minutes=(i * 7919) % (60 * 24 * 60))
            take_charge = opened + timedelta(minutes=30)
            resolution = opened + timedelta(hours=4)
            acknowledged = opened + timedelta(minutes=10) if i % 3 else None
            resolved = opened + timedelta(hours=3) if i >= open_count else None
            rows.append(Incident(
                request_number=f"REQ-{i + 1}", customer=customer, priority="high", track="support", gtr=True,
                opened_at=opened, acknowledged_at=acknowledged, resolved_at=resolved,
                status="resolved" if resolved else ("acknowledged" if acknowledged else "open"),
                take_charge_due_at=take_charge, resolution_due_at=resolution, evaluated_at=now,
                next_due_at=pending_deadline(take_charge, acknowledged, resolution), created_at=opened,
                triage=triage_key(False, 0, 0, True),  # as refresh stores it: high priority, a deadline pending
            ))
        with transaction.atomic():
            Incident.objects.bulk_create(rows, batch_size=2_000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE incidents_incident")


def computed_urgency(now: datetime):
    """The order as it was computed before the stored key (for the comparison only)."""
    from django.db import models

    from escalade.incidents.models import Incident

    pending_tc = models.Case(models.When(acknowledged_at__isnull=True, then=models.F("take_charge_due_at")),
                             default=None)
    next_due = models.Case(
        models.When(pending_tc__isnull=True, then=models.F("resolution_due_at")),
        models.When(resolution_due_at__isnull=True, then=models.F("pending_tc")),
        models.When(pending_tc__lt=models.F("resolution_due_at"), then=models.F("pending_tc")),
        default=models.F("resolution_due_at"),
    )
    breached = models.Case(models.When(next_due__lte=now, then=models.Value(0)), default=models.Value(1),
                           output_field=models.IntegerField())
    return (Incident.objects.filter(resolved_at__isnull=True).annotate(pending_tc=pending_tc)
            .annotate(next_due=next_due).annotate(breached=breached)
            .order_by("breached", models.F("next_due").asc(nulls_last=True), "opened_at"))


def measure(open_count: int) -> dict[str, float]:
    from django.test import Client

    from escalade.accounts.models import User
    from escalade.incidents.models import Incident

    now = datetime.now(UTC)
    build(open_count, now)
    client = Client(SERVER_NAME="localhost")  # a host the development profile allows
    client.force_login(User.objects.get(username="support"))
    for path in ("/procedure/", "/tableau-de-bord/"):
        assert client.get(path).status_code == 200, path
    stored = Incident.objects.filter(resolved_at__isnull=True).urgency_ordered(now)
    # The same order: compared on the sort keys (rows that tie may come in either order).
    keys = ("next_due_at", "opened_at")
    assert list(stored.values_list(*keys)[:200]) == list(computed_urgency(now).values_list(*keys)[:200]), \
        "the two orders differ"
    return {
        "baseline": support.timed(lambda: client.get("/procedure/"), RUNS),
        "dashboard": support.timed(lambda: client.get("/tableau-de-bord/"), RUNS),
        "stored": support.timed(lambda: list(stored.values_list("pk", flat=True)[:200]), RUNS),
        "computed": support.timed(lambda: list(computed_urgency(now).values_list("pk", flat=True)[:200]), RUNS),
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
        vendor = setup_django(args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", Path(tmp))
        results = {n: measure(n) for n in args.open}
    print(f"\nbench_dashboard — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {vendor}, medians of {RUNS} runs")
    print("open incidents | /procedure/ (baseline) | dashboard | ratio | urgency query, stored key | "
          "computed (before) | stored/computed | goal")
    print("---|---|---|---|---|---|---|---")
    for n, r in results.items():
        print(f"{n:,} | {r['baseline']:.1f} ms | {r['dashboard']:.1f} ms | {r['dashboard'] / r['baseline']:.1f}× | "
              f"{r['stored']:.1f} ms | {r['computed']:.1f} ms | {r['stored'] / r['computed']:.2f} | ≤ 150 ms, flat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
