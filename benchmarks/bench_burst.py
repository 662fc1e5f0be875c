"""A mass outage: K take-charge deadlines pass within 5 seconds; how long until each alert is in the
inbox, with one and with two `escalade worker` processes?

A scratch database holds a background of open incidents (`escalade demo --incidents`), then K
high-priority incidents (30 mn to take charge, 24/7) whose breach falls between T0 and T0 + spread,
their pre-breach warning already recorded (as a worker would have done 15 minutes earlier). Real
worker processes start before T0 and deliver to a real SMTP server (aiosmtpd, its own process).
Latency is the alert's `sent_at` (set once the SMTP server accepted it) minus the breach instant.
The baseline of each run is the same burst with one worker.

    .venv/bin/python benchmarks/bench_burst.py                                  # PostgreSQL, 1,000 and 10,000
    .venv/bin/python benchmarks/bench_burst.py --crossings 1000 --database-url sqlite   # one worker
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import support

sys.path.insert(0, str(support.ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crossings", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker processes (SQLite: 1)")
    parser.add_argument("--background", type=int, default=20_000, help="other open incidents")
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which the breaches fall")
    parser.add_argument("--database-url", default=support.PG_DEFAULT, help="'sqlite' for a temporary SQLite file")
    return parser.parse_args()


def setup(env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if k.startswith("ESCALADE_")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "escalade.settings"
    import django

    django.setup()


def burst(run: str, count: int, t0: datetime, spread: float) -> None:
    """`count` incidents breaching between t0 and t0 + spread, their warning already handled."""
    from django.db import transaction

    from escalade import bulk
    from escalade.core.escalation import crossings, evaluate
    from escalade.incidents.audit import append_to_timeline
    from escalade.incidents.evaluation import cache_evaluation
    from escalade.incidents.models import Customer, Incident
    from escalade.policies import store
    from escalade.worker import crossing_entry

    version = store.latest()  # the default policy's, as an incident of a contract without one
    policy = store.policy_of(version.id)
    now = datetime.now(UTC)
    customer, _ = Customer.objects.get_or_create(code="burst", defaults={"name": "Client panne massive"})
    incidents, warned = [], []
    for i in range(count):
        opened = t0 + timedelta(seconds=spread * i / count) - policy.priorities["high"].take_charge.target
        incident = Incident(request_number=f"BURST-{run}-{i + 1}", customer=customer, priority="high",
                            track=policy.default_track, opened_at=opened, created_at=now, updated_at=now,
                            policy_version_id=version.id)
        evaluation = evaluate(policy, incident.facts(), now)
        implied = crossings(policy, evaluation)
        cache_evaluation(incident, evaluation, now, implied=implied)
        incidents.append(incident)
        warned.extend(crossing_entry(incident, c, c.at, True) for c in implied if c.at <= now)
    with transaction.atomic():
        bulk.insert(Incident, incidents)
        append_to_timeline(warned)


def measure(env: dict[str, str], run: str, count: int, workers: int, spread: float) -> dict[str, float]:
    from django.db.models import Max, Min

    from escalade.incidents.models import Incident
    from escalade.notifications.models import Notification

    lead = 12 + count / 2_000  # seconds for the insert and the workers' start before the first breach
    t0 = datetime.now(UTC) + timedelta(seconds=lead)
    burst(run, count, t0, spread)
    # The run's alerts by their incidents' id range, one table: the join on the request number's
    # prefix, planned with the statistics of before the burst, took seconds of the database's CPU at
    # each poll (a nested loop over both sides), CPU the workers being measured then lacked.
    mine = Incident.objects.filter(request_number__startswith=f"BURST-{run}-")
    ids = mine.aggregate(lo=Min("pk"), hi=Max("pk"))
    if not Incident.objects.filter(pk__range=(ids["lo"], ids["hi"])).count() == mine.count() == count:
        raise SystemExit(f"{run}: the burst's incidents do not have consecutive ids")
    ours = Notification.objects.filter(incident__gte=ids["lo"], incident__lte=ids["hi"], kind="breach")
    processes = [subprocess.Popen([sys.executable, "-m", "escalade", "worker", "--interval", "0.2"], env=env,
                                  cwd=support.ROOT) for _ in range(workers)]
    try:
        deadline = time.monotonic() + lead + 600
        while ours.filter(status="sent").count() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{run}: only {ours.filter(status='sent').count()} of {count} alerts after 10 min")
            time.sleep(0.5)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
    late = datetime.now(UTC) < t0  # the workers were not up in time: the figure would flatter them
    due = dict(mine.values_list("pk", "take_charge_due_at"))
    latencies = sorted((sent - due[pk]).total_seconds() for pk, sent in ours.values_list("incident_id", "sent_at"))
    cut = statistics.quantiles(latencies, n=100)
    return {"p50": cut[49], "p99": cut[98], "max": latencies[-1], "late": float(late)}


def main() -> int:
    args = parse_args()
    smtp, port = support.start_smtp()
    try:
        with tempfile.TemporaryDirectory(prefix="escalade-bench-") as name:
            tmp = Path(name)
            url = support.scratch_database(None if args.database_url == "sqlite" else args.database_url, tmp)
            env = support.environment(url, tmp, ESCALADE_EMAIL_URL=f"smtp://127.0.0.1:{port}",
                                      DJANGO_SETTINGS_MODULE="escalade.settings")
            support.populate(env, args.background, args.background)
            setup(env)
            workers = args.workers if url.startswith("postgres") else [1]
            results = {}
            for count in args.crossings:
                for n in workers:
                    results[count, n] = measure(env, f"{count}x{n}", count, n, args.spread)
    finally:
        smtp.terminate()
        smtp.wait()
    rows = []
    for (count, n), r in results.items():
        base = results.get((count, 1))  # no baseline when one worker was not asked for
        rows.append([f"{count:,}", f"{args.background:,}", str(n), f"{r['p50']:.2f} s", f"{r['p99']:.2f} s",
                     f"{r['max']:.2f} s", f"{r['p99'] / base['p99']:.2f}" if base else "–", "≤ 5 s",
                     "met" if r["p99"] <= 5 else f"missed by {r['p99'] - 5:.1f} s"])
    support.table(f"bench_burst — {support.database_label(url)}, breaches within {args.spread:.0f} s, "
                  "crossing → SMTP server accepted", ["crossings", "other open", "workers", "p50", "p99", "max",
                                                      "p99 / 1 worker", "goal p99", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
