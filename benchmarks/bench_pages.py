"""The pages people wait for: the staff dashboard, the 3- and 12-month reports, the portal home of a
customer and of a partner — each against a trivial view of the same process, on the same data.

The data is `escalade demo --incidents N` (two years, 200 customers, M open); requests go through
Django's full stack in process (middleware, session, templates), so the figures are the server's
time without the network. Medians of RUNS requests after one warm-up.

    .venv/bin/python benchmarks/bench_pages.py                              # 100,000 incidents, 2,000 open
    .venv/bin/python benchmarks/bench_pages.py --incidents 1000000 --open 20000 200000
    .venv/bin/python benchmarks/bench_pages.py --incidents 1000000 --open 20000 --customers 32   # the issue's portal: 31,000 incidents a customer
    .venv/bin/python benchmarks/bench_pages.py --database-url sqlite

The PostgreSQL database (default postgresql://postgres@127.0.0.1:5432/escalade_bench) is erased.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import support

RUNS = 9
GOALS = {"dashboard": 150, "reports 3 months": 300, "reports 12 months": 1000, "portal (customer)": 50,
         "portal (partner)": 50}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--open", type=int, nargs="+", default=[2_000], help="open incidents (one run each)")
    parser.add_argument("--database-url", default=support.PG_DEFAULT, help="'sqlite' for a temporary SQLite file")
    parser.add_argument("--customers", type=int, default=200,
                        help="customers the incidents are spread over (32 at 1,000,000: the issue's 31,000 a customer)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a PostgreSQL database that already holds this data set (generated once)")
    return parser.parse_args()


def measure(env: dict[str, str], incidents: int, open_count: int, customers: int) -> dict[str, tuple[float, int]]:
    from django.db import connections

    connections.close_all()
    support.populate(env, incidents, open_count, customers)
    from django.test import Client

    from escalade.accounts.models import User
    from escalade.incidents.models import Customer, Incident, Partner

    customer = Customer.objects.get(code="gen-c0001")
    partner = Partner.objects.get(code="gen-p001")
    clients = {}
    for role, extra in (("staff", {}), ("customer", {"customer": customer}), ("partner", {"partner": partner})):
        user, _ = User.objects.get_or_create(username=f"bench-{role}", defaults={"role": role, **extra})
        clients[role] = Client(SERVER_NAME="localhost")
        clients[role].force_login(user)
    pages = {
        "trivial (baseline)": ("staff", "/trivial"),
        "reports 3 months, nothing sealed": ("staff", "/rapports/?months=3"),
        "reports 12 months, nothing sealed": ("staff", "/rapports/?months=12"),
        "(the worker seals the ended months)": ("", ""),
        "dashboard": ("staff", "/tableau-de-bord/"),
        "reports 3 months": ("staff", "/rapports/?months=3"),
        "reports 12 months": ("staff", "/rapports/?months=12"),
        "portal (customer)": ("customer", "/portail/"),
        "portal (partner)": ("partner", "/portail/"),
    }
    sizes = {
        "dashboard": Incident.objects.filter(resolved_at__isnull=True).count(),
        "portal (customer)": Incident.objects.filter(customer=customer).count(),
        "portal (partner)": Incident.objects.filter(customer__partner=partner).count(),
    }
    from django.utils import timezone

    from escalade.policies import store
    from escalade.reports import summary
    from escalade.reports.models import SealedMonth

    SealedMonth.objects.all().delete()  # the reports as they were: every month from the incidents
    results = {}
    for label, (role, path) in pages.items():
        if not path:  # what the worker does within the hour (and `escalade demo` at once)
            started = time.monotonic()
            months = summary.seal_ended(timezone.now(), store.default_policy().timezone)
            results[label] = ((time.monotonic() - started) * 1000, months, 0)
            continue
        response = clients[role].get(path)
        assert response.status_code == 200, (path, response.status_code)
        ms = support.timed(lambda c=clients[role], p=path: c.get(p), RUNS)
        results[label] = (ms, sizes.get(label, incidents), len(response.content))
    return results


def main() -> int:
    args = parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as name:
        tmp = Path(name)
        url = support.scratch_database(None if args.database_url == "sqlite" else args.database_url, tmp,
                                         reuse=args.reuse)
        env = support.environment(url, tmp)
        os.environ.update(env)
        import django

        django.setup()
        for open_count in args.open:
            if open_count != args.open[0]:
                url = support.scratch_database(url if url.startswith("postgres") else None, tmp)
                if not url.startswith("postgres"):
                    Path(url.removeprefix("sqlite:///")).unlink()
            results = measure(env, args.incidents, open_count, args.customers)
            base = results["trivial (baseline)"][0]
            for label, (ms, size, length) in results.items():
                goal = GOALS.get(label)
                rows.append([label, f"{args.incidents:,}", f"{open_count:,}", f"{size:,}", f"{length / 1024:,.0f} KiB",
                             f"{ms:.1f} ms", f"{ms / base:.1f}", f"≤ {goal} ms" if goal else "–",
                             "–" if goal is None else ("met" if ms <= goal else f"missed ({ms / goal:.1f}×)")])
    support.table(f"bench_pages — {support.database_label(url)}, {args.customers} customers, in process, medians of {RUNS}",
                  ["page", "incidents", "open", "rows in scope", "HTML", "median", "× trivial", "goal", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
