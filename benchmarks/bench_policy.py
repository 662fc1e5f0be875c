"""The cost of evaluating each incident with its pinned policy version.

Before versions, every incident was evaluated with the one policy of the process. Now each one is
evaluated with `incident.policy`: the commitments of the version it is pinned to, with the people of
that policy's latest version (a dictionary lookup, and at most one small query every 2 s). This
measures, in process, on the same loaded HIPCOM incidents, pinned to version 1 while version 2 is the
latest (the costliest path: version 1's commitments with version 2's people), a second policy loaded:

  - baseline: `incident.evaluate(file_policy(), now)`, the process's one cached policy (as before),
  - pinned: `incident.evaluate(incident.policy, now)` (as the API, pages and worker do now),
  - the lookup alone: `incident.policy`.

    .venv/bin/python benchmarks/bench_policy.py                 # 2,000 and 20,000 incidents
    .venv/bin/python benchmarks/bench_policy.py --n 5000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 7


def setup(tmp: Path) -> None:
    os.environ.update(ESCALADE_DATA_DIR=str(tmp), ESCALADE_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
                      DJANGO_SETTINGS_MODULE="escalade.settings")
    os.environ.setdefault("ESCALADE_DEV", "1")
    os.environ.setdefault("ESCALADE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(n: int, now: datetime) -> list:  # type: ignore[type-arg]
    from django.core.management import call_command

    from escalade.incidents.models import Contract, Customer, Incident
    from escalade.policies import services, store

    call_command("flush", interactive=False, verbosity=0)
    gold_text = resources.files("escalade.policies").joinpath("example-gold.toml").read_text(encoding="utf-8")
    services.save_version("gold", gold_text)
    hipcom_v1 = store.latest("hipcom")
    services.save_version("hipcom", store.text_of(hipcom_v1).replace('name = "Guillaume MASUIT"', 'name = "Nouveau"'))
    gold = store.latest("gold")
    a = Customer.objects.create(code="hipcom-client", name="A")
    Contract.objects.create(customer=a, gtr=True)
    b = Customer.objects.create(code="gold-client", name="B")
    Contract.objects.create(customer=b, policy="gold")
    rows = []
    for i in range(n):
        opened = now - timedelta(minutes=(i * 7919) % (60 * 24 * 30))
        hipcom = True  # the baseline has one policy only: HIPCOM's (gold's contract exists, unused here)
        rows.append(Incident(request_number=f"REQ-{i + 1}" if hipcom else f"INC{i + 1:07d}", customer=a if hipcom else b,
                             priority=("low", "medium", "high")[i % 3] if hipcom else ("p1", "p2", "p3", "p4")[i % 4],
                             track="support" if hipcom else "service-desk", gtr=hipcom, opened_at=opened,
                             acknowledged_at=opened + timedelta(minutes=10) if i % 3 else None, created_at=opened,
                             policy_version_id=hipcom_v1.id if hipcom else gold.id))
    Incident.objects.bulk_create(rows, batch_size=2_000)
    return list(Incident.objects.prefetch_related("pauses"))


def per_second(call: object, count: int) -> float:
    return count / (support.timed(call, RUNS) / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[2_000, 20_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp))
        from escalade.policies import file_policy

        now = datetime.now(UTC)
        rows = []
        for n in args.n:
            incidents = build(n, now)
            def baseline(incidents=incidents) -> None:  # type: ignore[no-untyped-def]
                for incident in incidents:  # as before versions: the process's one policy, cached
                    incident.evaluate(file_policy(), now)

            def pinned(incidents=incidents) -> None:  # type: ignore[no-untyped-def]
                for incident in incidents:
                    incident.evaluate(incident.policy, now)

            def lookup(incidents=incidents) -> None:  # type: ignore[no-untyped-def]
                for incident in incidents:
                    incident.policy  # noqa: B018

            base, mine, alone = per_second(baseline, n), per_second(pinned, n), per_second(lookup, n)
            rows.append([f"{n:,}", f"{base:,.0f}", f"{mine:,.0f}", f"{mine / base:.3f}", f"{alone:,.0f}", "≥ 0.95"])
        support.table("Evaluating with the pinned policy version (in process, SQLite, medians of 7)",
                      ["incidents", "one policy per process (baseline) /s", "incident.policy /s", "ratio", "lookup alone /s",
                       "goal"], rows)


if __name__ == "__main__":
    main()
