"""The report's groups: newest month first, then by customer code (not by the order the customers were
created in), then by priority; each group named after its own customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=PARIS)
LEVELS = (1, 2, 3)

pytestmark = pytest.mark.django_db


def test_groups_come_by_month_then_customer_code_then_priority_with_their_customer_s_name(world):
    from escalade.incidents.models import Contract, Customer, Incident
    from escalade.incidents.services import IncidentInput, upsert_incident
    from escalade.reports import compute

    zeta = Customer.objects.create(code="zeta", name="Zêta Télécom")  # created first: the lower id
    alpha = Customer.objects.create(code="alpha", name="Alpha Réseaux")
    for customer in (zeta, alpha):
        Contract.objects.create(customer=customer, gtr=False)
    opened = [datetime(2026, 2, 10, 9, 0, tzinfo=PARIS), datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)]
    n = 1000
    for at in opened:
        for customer in ("zeta", "alpha"):
            for priority in ("medium", "high"):
                n += 1
                upsert_incident(IncidentInput(request_number=f"REQ-{n}", customer=customer, priority=priority,
                                              opened_at=at.isoformat(),
                                              acknowledged_at=(at + timedelta(minutes=20)).isoformat()),
                                user=None, channel="api", now=NOW)

    rows = compute.report(Incident.objects.filter(opened_at__gte=datetime(2026, 2, 1, tzinfo=PARIS)), NOW, LEVELS)

    assert [(r.month.month, r.customer_code, r.customer_name, r.priority, r.incidents) for r in rows] == [
        (3, "alpha", "Alpha Réseaux", "high", 1), (3, "alpha", "Alpha Réseaux", "medium", 1),
        (3, "zeta", "Zêta Télécom", "high", 1), (3, "zeta", "Zêta Télécom", "medium", 1),
        (2, "alpha", "Alpha Réseaux", "high", 1), (2, "alpha", "Alpha Réseaux", "medium", 1),
        (2, "zeta", "Zêta Télécom", "high", 1), (2, "zeta", "Zêta Télécom", "medium", 1),
    ]
