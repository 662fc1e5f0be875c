"""The Request Tracker sync: back-fill speed, and the delay from an RT change to the updated
deadline in Escalade through RT's scrip and the webhook.

Starts a real Request Tracker 5 (the tests' harness: Debian's request-tracker5, its own SQLite
database in a temporary directory), creates N tickets with RT's own Perl API
(`rt_create_tickets.pl`: one REST call each would take hours), then measures in process on a
temporary SQLite database:

  - back-fill: `escalade sync rt --since …` over the N tickets (tickets/s), against reading the same
    tickets and transactions from RT with the same REST 2 calls without applying anything (the
    helpdesk's own read speed, the baseline of the same run);
  - change → deadline: K tickets moved new → open in an RT whose scrip calls Escalade's webhook
    (Escalade served by a WSGI thread), the time from the RT call to the take-charge stored in
    Escalade (p50, p99), against the same RT call on the RT without the scrip.

    .venv/bin/python benchmarks/bench_sync.py                  # 10,000 tickets, 200 changes
    .venv/bin/python benchmarks/bench_sync.py --tickets 500 --changes 50
    .venv/bin/python benchmarks/bench_sync.py --keep-rt /tmp/rt10k.sqlite3     # keep RT's database…
    .venv/bin/python benchmarks/bench_sync.py --rt-database /tmp/rt10k.sqlite3 # …to measure again without
                                                                               # creating the tickets (~45 min)
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
TOKEN = "bench-webhook"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def setup(tmp: Path) -> None:
    os.environ.update(ESCALADE_DATA_DIR=str(tmp), ESCALADE_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
                      DJANGO_SETTINGS_MODULE="escalade.settings", ESCALADE_LOG_LEVEL="WARNING")
    os.environ.setdefault("ESCALADE_DEV", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from escalade.incidents.models import Contract, Customer

    customer = Customer.objects.create(code="bench", name="Client banc d'essai")
    Contract.objects.create(customer=customer)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def serve_escalade() -> str:
    from django.core.wsgi import get_wsgi_application

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, get_wsgi_application(), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--keep-rt", type=Path, help="copy the RT database with its tickets there (for --rt-database)")
    parser.add_argument("--rt-database", type=Path,
                        help="an RT database kept by --keep-rt: its tickets instead of creating --tickets new ones")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        setup(tmp)
        from django.conf import settings
        from django.utils import timezone
        from sync.conftest import RTServer, free_port, start_rt
        from sync.test_rt import admin

        from escalade.incidents.models import Incident
        from escalade.sync import services
        from escalade.sync.models import AppliedChange
        from escalade.sync.rt import RequestTracker, RTSettings

        base = serve_escalade()
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018  every view imported now, not on the first webhook call
        if args.rt_database:
            plain = RTServer(tmp / "rt-plain", free_port())
            plain.home.mkdir()
            shutil.copy(args.rt_database, plain.home / "rt.sqlite3")
            plain.write_config()
            plain.start()
        else:
            plain = start_rt(tmp / "rt-plain")
        hooked = start_rt(tmp / "rt-hooked", webhook=(f"{base}/api/v1/hooks/rt", TOKEN))
        try:
            rows = []
            client = admin(plain)
            created = 0.0
            if not args.rt_database:
                client.create_queue("bench")
                step(f"creating {args.tickets:,} tickets in RT (RT's own Perl API)")
                started = time.perf_counter()
                subprocess.run(["perl", str(ROOT / "benchmarks" / "rt_create_tickets.pl"), str(args.tickets), "bench"],
                               env=plain.env(), check=True, capture_output=True, timeout=6 * 3600)
                created = args.tickets / (time.perf_counter() - started)
                if args.keep_rt:
                    shutil.copy(plain.home / "rt.sqlite3", args.keep_rt)
            step("reading them back through REST 2 (the sync's own calls, nothing applied), then the back-fill")
            rt = RequestTracker(RTSettings(url=plain.url, user="root", password="password"))
            started = time.perf_counter()
            seen = 0
            for page in rt.changed(None):
                rt.histories([int(t["id"]) for t in page])
                seen += len(page)
            read = seen / (time.perf_counter() - started)
            started = time.perf_counter()
            report = services.poll(rt, timezone.now(), since=None)
            backfill = report.tickets / (time.perf_counter() - started)
            args.tickets = report.tickets
            assert Incident.objects.count() == args.tickets and not report.errors, report.errors[:3]
            step(f"back-fill: {report.tickets:,} tickets, {read:,.1f}/s read, {backfill:,.1f}/s applied")
            rows.append([f"back-fill {args.tickets:,} tickets (half taken in charge, an eighth paused)",
                         f"{read:,.1f} tickets/s read",
                         f"{backfill:,.1f} tickets/s", f"{backfill / read:.2f}", "—"])

            step("changes through the scrip and the webhook")
            settings.ESCALADE_RT_URL, settings.ESCALADE_RT_USER, settings.ESCALADE_RT_PASSWORD = hooked.url, "root", "password"
            settings.ESCALADE_RT_WEBHOOK_TOKEN = TOKEN
            settings.ESCALADE_RT_NUMBER_PREFIX = "RTH-"
            # A second RT under the same connector: its transaction ids start over (one RT per connector).
            AppliedChange.objects.all().delete()
            hooked_client = admin(hooked)
            hooked_client.create_queue("bench")
            plain_ids = [client.create_ticket("bench", subject="t", content="x", Priority=80) for _ in range(args.changes)]
            hooked_ids = [hooked_client.create_ticket("bench", subject="t", content="x", Priority=80)
                          for _ in range(args.changes)]
            baseline, delays = [], []
            for ticket_id in plain_ids:
                started = time.perf_counter()
                client.edit_ticket(ticket_id, Status="open")
                baseline.append(time.perf_counter() - started)
            for ticket_id in hooked_ids:
                started = time.perf_counter()
                hooked_client.edit_ticket(ticket_id, Status="open")
                found = Incident.objects.filter(request_number=f"RTH-{ticket_id}", acknowledged_at__isnull=False)
                while not found.exists():
                    if time.perf_counter() - started > 30:
                        raise SystemExit(f"RTH-{ticket_id}: not updated within 30 s (is RT's scrip calling {base}?)")
                    time.sleep(0.005)
                delays.append(time.perf_counter() - started)
            rows.append([f"RT change → take-charge stored ({args.changes} changes)",
                         f"p50 {statistics.median(baseline) * 1000:.0f} ms, p99 {percentile(baseline, 0.99) * 1000:.0f} ms (RT alone)",
                         f"p50 {statistics.median(delays) * 1000:.0f} ms, p99 {percentile(delays, 0.99) * 1000:.0f} ms",
                         f"{statistics.median(delays) / statistics.median(baseline):.2f}", "p99 ≤ 5 s"])
            if created:
                rows.append([f"RT ticket creation ({args.tickets:,}, RT's Perl API)", "—", f"{created:,.1f} tickets/s",
                             "—", "—"])
            support.table("Request Tracker sync (RT 5 standalone on SQLite, Escalade on SQLite, in process)",
                          ["measure", "baseline", "Escalade", "ratio", "goal"], rows)
        finally:
            plain.stop()
            hooked.stop()


if __name__ == "__main__":
    main()
